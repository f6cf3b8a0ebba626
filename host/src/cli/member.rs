//! `jingxun member ...` and `jingxun billing`: the website's members, the phones they bound,
//! their caps on news SMS, and what was sent to them per month (issue 14; R9-R12). Every change
//! is audited by `cli:<user>` in the transaction that makes it.

use std::io::Write;

use clap::Subcommand;

use jingxun::clock::now_ms;
use jingxun::config::Config;
use jingxun::members::{CapPeriod, MemberRecord, Members};

use super::phone::json_line;
use super::user::{cli_actor, read_password_stdin};

/// `jingxun member` subcommands.
#[derive(Subcommand)]
pub enum MemberAction {
    /// Add a member of the website.
    Add {
        /// 1 to 64 letters, digits, '.', '_', '-' or '@' (stored lower case).
        #[arg(long)]
        login: String,
        /// The member's name.
        #[arg(long)]
        name: String,
        /// Read the member's password from one line of standard input. Without it the member
        /// cannot sign in until they recover the account through their bound phone.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Bind a phone to a member without a code: the import of a member who bound it on the
    /// website before (audited with the phone). A phone binds one member only.
    Bind {
        #[arg(long)]
        login: String,
        /// The phone, e.g. 13800000001.
        #[arg(long)]
        phone: String,
    },
    /// Set a member's cap on news SMS per day or per calendar month (`none` removes it).
    Cap {
        #[arg(long)]
        login: String,
        /// SMS a day, or `none`.
        #[arg(long, required_unless_present = "monthly", conflicts_with = "monthly")]
        daily: Option<String>,
        /// SMS a month, or `none`.
        #[arg(long)]
        monthly: Option<String>,
    },
    /// List the members with their bound phones and caps.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// `jingxun billing` arguments.
#[derive(clap::Args)]
pub struct BillingArgs {
    /// Only this month, YYYY-MM (in the platform's time zone).
    #[arg(long)]
    month: Option<String>,
    /// One JSON object per line: login, month, messages, parts.
    #[arg(long)]
    json: bool,
}

fn members(config: &Config, store: &jingxun::store::Store) -> Members {
    Members::new(store.clone(), &config.sms.default_country_code).with_source("cli")
}

/// Runs one `jingxun member` subcommand.
pub async fn run(config: &Config, action: MemberAction) -> anyhow::Result<()> {
    let store = jingxun::store::open_store(config).await?;
    let result = execute(&members(config, &store), action).await;
    store.close().await;
    result
}

async fn execute(members: &Members, action: MemberAction) -> anyhow::Result<()> {
    let actor = cli_actor();
    let mut out = std::io::stdout().lock();
    match action {
        MemberAction::Add {
            login,
            name,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password_stdin("member add --login L --name N")?)
            } else {
                None
            };
            let made = members
                .add(&login, &name, password.as_deref(), &actor, now_ms())
                .await?;
            writeln!(
                out,
                "member {} ({}) created {}",
                made.login,
                made.name,
                if made.has_password {
                    "with a password"
                } else {
                    "without a password"
                }
            )?;
        }
        MemberAction::Bind { login, phone } => {
            let member = members.bind(&login, &phone, &actor, now_ms()).await?;
            writeln!(
                out,
                "phone {} bound to member {}",
                member.phone.unwrap_or_default(),
                member.login
            )?;
        }
        MemberAction::Cap {
            login,
            daily,
            monthly,
        } => {
            let (period, value) = match (daily, monthly) {
                (Some(daily), _) => (CapPeriod::Daily, daily),
                (None, Some(monthly)) => (CapPeriod::Monthly, monthly),
                (None, None) => anyhow::bail!("give --daily N or --monthly N (or `none`)"),
            };
            let cap = parse_cap(&value)?;
            members
                .set_cap(&login, period, cap, &actor, now_ms())
                .await?;
            let period = match period {
                CapPeriod::Daily => "daily",
                CapPeriod::Monthly => "monthly",
            };
            match cap {
                Some(n) => writeln!(out, "{period} cap of {} set to {n} SMS", login.trim())?,
                None => writeln!(out, "{period} cap of {} removed", login.trim())?,
            }
        }
        MemberAction::List { json } => {
            for member in members.list().await? {
                if json {
                    writeln!(out, "{}", json_line(&member)?)?;
                } else {
                    writeln!(out, "{}", describe(&member))?;
                }
            }
        }
    }
    Ok(())
}

fn parse_cap(value: &str) -> anyhow::Result<Option<i64>> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    value.parse::<i64>().map(Some).map_err(|_| {
        anyhow::anyhow!("invalid cap `{value}`: give a number of SMS, or `none` to remove the cap")
    })
}

fn describe(m: &MemberRecord) -> String {
    let cap = |c: Option<i64>| c.map_or_else(|| "none".to_owned(), |n| n.to_string());
    format!(
        "{}  {}  phone {}  caps daily {} monthly {}{}",
        m.login,
        m.name,
        m.phone.as_deref().unwrap_or("(not bound)"),
        cap(m.daily_cap),
        cap(m.monthly_cap),
        if m.active { "" } else { "  (disabled)" }
    )
}

/// Runs `jingxun billing`.
pub async fn run_billing(config: &Config, args: BillingArgs) -> anyhow::Result<()> {
    let store = jingxun::store::open_store(config).await?;
    let result = async {
        let rows = members(config, &store)
            .billing(args.month.as_deref())
            .await?;
        let mut out = std::io::stdout().lock();
        for row in rows {
            if args.json {
                writeln!(out, "{}", json_line(&row)?)?;
            } else {
                writeln!(
                    out,
                    "{}  {}  {} message(s), {} part(s)",
                    row.month, row.login, row.messages, row.parts
                )?;
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
