//! `jingxun phone ...`: the registry of officer phones checked before every police command
//! (R6). Numbers may be typed in any usual form; they are stored canonical (`+8613800000001`).

use std::io::Write;

use clap::Subcommand;
use serde::Serialize;

use jingxun::config::Config;
use jingxun::directory::{Directory, PhoneRecord};

use super::user::{cli_actor, open_directory};

/// `jingxun phone` subcommands.
#[derive(Subcommand)]
pub enum PhoneAction {
    /// Register a phone (active).
    Add {
        /// The number, e.g. 13800000001 or +8613800000001.
        #[arg(long)]
        number: String,
        /// Whose phone it is.
        #[arg(long)]
        name: String,
        /// The user the phone belongs to (needed for police queries).
        #[arg(long, value_name = "LOGIN")]
        user: Option<String>,
    },
    /// List registered phones.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Disable a phone: it gets no data until enabled again.
    Disable {
        #[arg(long)]
        number: String,
    },
    /// Enable a disabled phone.
    Enable {
        #[arg(long)]
        number: String,
    },
    /// Remove a phone from the registry (its audit rows stay).
    Remove {
        #[arg(long)]
        number: String,
    },
}

/// Runs one `jingxun phone` subcommand.
pub async fn run(config: &Config, action: PhoneAction) -> anyhow::Result<()> {
    let (store, directory) = open_directory(config).await?;
    let result = execute(&directory, action).await;
    store.close().await;
    result
}

async fn execute(directory: &Directory, action: PhoneAction) -> anyhow::Result<()> {
    let actor = cli_actor();
    let mut out = std::io::stdout().lock();
    match action {
        PhoneAction::Add { number, name, user } => {
            let phone = directory
                .add_phone(&number, &name, user.as_deref(), &actor)
                .await?;
            writeln!(
                out,
                "registered {phone} ({}){}",
                name.trim(),
                user.map(|u| format!(", user {}", u.trim().to_lowercase()))
                    .unwrap_or_default()
            )?;
        }
        PhoneAction::List { json } => {
            for phone in directory.phones().await? {
                if json {
                    writeln!(out, "{}", json_line(&phone)?)?;
                } else {
                    writeln!(out, "{}", phone_line(&phone))?;
                }
            }
        }
        PhoneAction::Disable { number } => {
            directory.set_phone_active(&number, false, &actor).await?;
            writeln!(out, "{} disabled", directory.parse_phone(&number)?)?;
        }
        PhoneAction::Enable { number } => {
            directory.set_phone_active(&number, true, &actor).await?;
            writeln!(out, "{} enabled", directory.parse_phone(&number)?)?;
        }
        PhoneAction::Remove { number } => {
            directory.remove_phone(&number, &actor).await?;
            writeln!(
                out,
                "{} removed from the registry",
                directory.parse_phone(&number)?
            )?;
        }
    }
    Ok(())
}

fn phone_line(phone: &PhoneRecord) -> String {
    format!(
        "{:<16}  {:<8}  user: {:<16}  {}",
        phone.number,
        if phone.active { "active" } else { "disabled" },
        phone.user.as_deref().unwrap_or("-"),
        phone.owner_name
    )
}

/// A record as one JSON line, with its `*_at` times (unix ms) written as RFC 3339 UTC.
pub fn json_line(record: &impl Serialize) -> anyhow::Result<String> {
    let mut value = serde_json::to_value(record)?;
    if let Some(object) = value.as_object_mut() {
        for (key, field) in object.iter_mut() {
            if key.ends_with("_at")
                && let Some(ms) = field.as_i64()
            {
                *field = serde_json::Value::String(jingxun::clock::rfc3339(ms));
            }
        }
    }
    Ok(value.to_string())
}
