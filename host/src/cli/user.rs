//! `jingxun user ...`: users, their roles and the businesses granted to users and roles (R2).
//! Also the helpers the other directory commands share: the audit actor of the command line and
//! opening the directory.

use std::io::Write;

use clap::{Args, Subcommand};

use jingxun::auth::{Accounts, AuthSettings};
use jingxun::config::Config;
use jingxun::directory::{Directory, GrantTarget, RoleRecord, UserRecord};
use jingxun::store::Store;

/// `jingxun user` subcommands.
#[derive(Subcommand)]
pub enum UserAction {
    /// Create a user (active).
    Add {
        /// Sign-in name: letters, digits, '.', '_', '-', '@' (stored lower case).
        #[arg(long)]
        login: String,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// A role to put the user in (admin, operator, registrar, auditor, officer...); repeatable.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Read a web admin password from standard input (one line; 8 to 128 characters, not a
        /// common word): the user may then sign in to the web admin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's web admin password, read from standard input; ends the user's web sessions.
    Passwd {
        #[arg(long)]
        login: String,
        /// Read the new password from standard input (one line). Required: passwords are never
        /// taken from the command line, where other users could see them.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove a user's two-step sign-in (TOTP and recovery codes), for a lost phone; ends the
    /// user's web sessions. The user enrols again at the next sign-in if the role requires it.
    TotpReset {
        #[arg(long)]
        login: String,
    },
    /// List users with roles, businesses and phones.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// List roles with their businesses and members.
    Roles {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: the user's phones get no data until enabled again.
    Disable {
        #[arg(long)]
        login: String,
    },
    /// Enable a disabled user.
    Enable {
        #[arg(long)]
        login: String,
    },
    /// Grant a business (command keyword such as CP) to a user or to a role.
    Grant(GrantArgs),
    /// Take a business away from a user or a role.
    Revoke(GrantArgs),
    /// Put a user in a role, or take a role away.
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(false)))]
    Role {
        #[arg(long)]
        login: String,
        /// The role to add.
        #[arg(long, value_name = "ROLE", group = "change")]
        add: Option<String>,
        /// The role to take away.
        #[arg(long, value_name = "ROLE", group = "change")]
        remove: Option<String>,
    },
}

/// Who gets (or loses) which business.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("target").required(true).multiple(false)))]
pub struct GrantArgs {
    /// The user.
    #[arg(long, group = "target")]
    login: Option<String>,
    /// The role (every member).
    #[arg(long, group = "target")]
    role: Option<String>,
    /// The business: a command keyword such as CP, JZ, SFZ, ZT.
    #[arg(long, value_name = "KEYWORD")]
    business: String,
}

impl GrantArgs {
    fn target(&self) -> GrantTarget {
        match (&self.login, &self.role) {
            (Some(login), _) => GrantTarget::User(login.clone()),
            (None, Some(role)) => GrantTarget::Role(role.clone()),
            // clap requires one of the two.
            (None, None) => GrantTarget::User(String::new()),
        }
    }
}

/// The actor recorded in audit rows for changes made from the command line:
/// `cli:<$USER>`, else `cli:<$LOGNAME>`, else `cli:uid<N>`.
pub fn cli_actor() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|u| u.trim().to_owned())
        .find(|u| !u.is_empty() && u.len() <= 64 && !u.chars().any(char::is_control))
        .unwrap_or_else(|| {
            // The owner of /proc/self is the process's user (no libc call needed).
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata("/proc/self")
                .map(|m| format!("uid{}", m.uid()))
                .unwrap_or_else(|_| "unknown".into())
        });
    format!("cli:{user}")
}

/// Opens the configured store and the directory on it, with `cli` as the audit source.
pub async fn open_directory(config: &Config) -> anyhow::Result<(Store, Directory)> {
    let store = jingxun::store::open_store(config).await?;
    let directory =
        Directory::new(store.clone(), &config.sms.default_country_code).with_source("cli");
    Ok((store, directory))
}

/// Runs one `jingxun user` subcommand.
pub async fn run(config: &Config, action: UserAction) -> anyhow::Result<()> {
    let (store, directory) = open_directory(config).await?;
    let result = execute(config, &store, &directory, action).await;
    store.close().await;
    result
}

/// Reads one password line from standard input (the line end removed, nothing else);
/// `command` is the command to show in the hint when there is none, e.g. `user passwd --login L`.
pub(super) fn read_password_stdin(command: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        anyhow::bail!(
            "no password on standard input: pipe one line, e.g. `printf '%s\\n' \"$PASS\" | jingxun {command} --password-stdin`"
        );
    }
    Ok(password.to_owned())
}

async fn execute(
    config: &Config,
    store: &Store,
    directory: &Directory,
    action: UserAction,
) -> anyhow::Result<()> {
    let actor = cli_actor();
    let accounts = || Accounts::new(store.clone(), AuthSettings::from_config(config));
    let mut out = std::io::stdout().lock();
    match action {
        UserAction::Add {
            login,
            name,
            roles,
            password_stdin,
        } => {
            let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
            // Read and check the password first, so that a refused one creates nothing.
            let password = if password_stdin {
                let password = read_password_stdin("user add --login L --name N")?;
                jingxun::auth::password::check_new_password(&password)?;
                Some(password)
            } else {
                None
            };
            directory.add_user(&login, &name, &roles, &actor).await?;
            if let Some(password) = password {
                accounts()
                    .set_password(&login, &password, &actor, "cli")
                    .await?;
            }
            writeln!(
                out,
                "user {} ({}) created{}",
                login.trim().to_lowercase(),
                name.trim(),
                if roles.is_empty() {
                    " without roles".to_owned()
                } else {
                    format!(" in role(s) {}", roles.join(", "))
                }
            )?;
            if password_stdin {
                writeln!(out, "web admin password set")?;
            }
        }
        UserAction::Passwd { login, .. } => {
            let password = read_password_stdin("user passwd --login L")?;
            accounts()
                .set_password(&login, &password, &actor, "cli")
                .await?;
            writeln!(
                out,
                "web admin password of {} set; the user's web sessions were ended",
                login.trim().to_lowercase()
            )?;
        }
        UserAction::TotpReset { login } => {
            accounts().totp_reset(&login, &actor, "cli").await?;
            writeln!(
                out,
                "two-step sign-in of {} removed; the user's web sessions were ended",
                login.trim().to_lowercase()
            )?;
        }
        UserAction::List { json } => {
            for user in directory.users().await? {
                if json {
                    writeln!(out, "{}", super::phone::json_line(&user)?)?;
                } else {
                    writeln!(out, "{}", user_line(&user))?;
                }
            }
        }
        UserAction::Roles { json } => {
            for role in directory.roles().await? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&role)?)?;
                } else {
                    writeln!(out, "{}", role_line(&role))?;
                }
            }
        }
        UserAction::Disable { login } => {
            directory.set_user_active(&login, false, &actor).await?;
            writeln!(out, "user {} disabled", login.trim().to_lowercase())?;
        }
        UserAction::Enable { login } => {
            directory.set_user_active(&login, true, &actor).await?;
            writeln!(out, "user {} enabled", login.trim().to_lowercase())?;
        }
        UserAction::Grant(args) => {
            let target = args.target();
            directory
                .grant(target.clone(), &args.business, &actor)
                .await?;
            writeln!(
                out,
                "{target} may use {}",
                args.business.trim().to_uppercase()
            )?;
        }
        UserAction::Revoke(args) => {
            let target = args.target();
            directory
                .revoke(target.clone(), &args.business, &actor)
                .await?;
            writeln!(
                out,
                "{target} no longer holds {}",
                args.business.trim().to_uppercase()
            )?;
        }
        UserAction::Role { login, add, remove } => {
            let (role, member) = match (add, remove) {
                (Some(role), _) => (role, true),
                (None, Some(role)) => (role, false),
                (None, None) => anyhow::bail!("give --add ROLE or --remove ROLE"),
            };
            directory
                .set_user_role(&login, &role, member, &actor)
                .await?;
            writeln!(
                out,
                "user {} {} role {}",
                login.trim().to_lowercase(),
                if member { "is in" } else { "left" },
                role.trim().to_lowercase()
            )?;
        }
    }
    Ok(())
}

fn user_line(user: &UserRecord) -> String {
    format!(
        "{:<16}  {:<8}  roles: {:<24}  businesses: {:<20}  phones: {:<16}  {}",
        user.login,
        if user.active { "active" } else { "disabled" },
        dash_if_empty(user.roles.join(",")),
        dash_if_empty(
            user.businesses
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        ),
        dash_if_empty(user.phones.join(",")),
        user.name
    )
}

pub fn role_line(role: &RoleRecord) -> String {
    format!(
        "{:<12}  businesses: {:<20}  members: {:<24}  {}",
        role.name,
        dash_if_empty(
            role.businesses
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        ),
        dash_if_empty(role.members.join(",")),
        role.description
    )
}

fn dash_if_empty(s: String) -> String {
    if s.is_empty() { "-".into() } else { s }
}
