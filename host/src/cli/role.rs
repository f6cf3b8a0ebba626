//! `jingxun role ...`: the administrator's own roles (R2), named groups of users to which
//! businesses are granted (`jingxun user grant --role NAME --business CP`) and users are
//! added (`jingxun user role --login L --add NAME`). Built-in roles cannot be removed.

use std::io::Write;

use clap::Subcommand;

use super::user::{cli_actor, open_directory, role_line};
use jingxun::config::Config;

/// `jingxun role` subcommands.
#[derive(Subcommand)]
pub enum RoleAction {
    /// Create a role of your own (letters, digits, '.', '_', '-', '@'; stored lower case).
    Add {
        #[arg(long)]
        name: String,
        /// What the role is for (shown on the web admin).
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Remove a role you created: its members lose it and the businesses it gave them.
    Remove {
        #[arg(long)]
        name: String,
    },
    /// List roles with their businesses and members.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `jingxun role` subcommand.
pub async fn run(config: &Config, action: RoleAction) -> anyhow::Result<()> {
    let (store, directory) = open_directory(config).await?;
    let actor = cli_actor();
    let result = async {
        let mut out = std::io::stdout().lock();
        match action {
            RoleAction::Add { name, description } => {
                directory.add_role(&name, &description, &actor).await?;
                writeln!(out, "role {} created", name.trim().to_lowercase())?;
            }
            RoleAction::Remove { name } => {
                directory.remove_role(&name, &actor).await?;
                writeln!(out, "role {} removed", name.trim().to_lowercase())?;
            }
            RoleAction::List { json } => {
                for role in directory.roles().await? {
                    if json {
                        writeln!(out, "{}", serde_json::to_string(&role)?)?;
                    } else {
                        writeln!(out, "{}", role_line(&role))?;
                    }
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
