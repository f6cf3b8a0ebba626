//! `jingxun apikey ...`: keys of the client systems that use the HTTP API (issue 5). A key is
//! printed once, at creation; the store keeps only its SHA-256.

use std::io::Write;

use clap::Subcommand;

use jingxun::api::keys::{self, DEFAULT_RATE_PER_SECOND, KeySpec};
use jingxun::config::Config;
use jingxun::store::{ApiKeyRecord, Store};

use super::phone::json_line;
use super::user::cli_actor;

/// `jingxun apikey` subcommands.
#[derive(Subcommand)]
pub enum ApiKeyAction {
    /// Create a key for a client system and print it (once: it cannot be shown again).
    Create {
        /// The client system's name (`oa`, `news-site`); logged with every call.
        #[arg(long)]
        name: String,
        /// What it may do: send, receive, or both separated by a comma.
        #[arg(long, value_name = "SCOPES")]
        scopes: String,
        /// Requests per second it may make.
        #[arg(long, default_value_t = DEFAULT_RATE_PER_SECOND)]
        rate: u32,
        /// A service number it may send from (repeat for several; default: any).
        #[arg(long = "service-number", value_name = "NUMBER")]
        service_numbers: Vec<String>,
    },
    /// List the keys (never the keys themselves: their first characters).
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: a running daemon refuses it within a few seconds.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

/// Runs one `jingxun apikey` subcommand.
pub async fn run(config: &Config, action: ApiKeyAction) -> anyhow::Result<()> {
    let store = Store::connect(&config.database.url).await?;
    let result = execute(&store, config, action).await;
    store.close().await;
    result
}

async fn execute(store: &Store, config: &Config, action: ApiKeyAction) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match action {
        ApiKeyAction::Create {
            name,
            scopes,
            rate,
            service_numbers,
        } => {
            let spec = KeySpec {
                name: name.trim().to_owned(),
                scopes: keys::parse_scopes(&scopes)?,
                rate_per_second: rate,
                service_numbers,
            };
            let (record, key) = keys::create(
                store,
                &spec,
                &config.sms.default_country_code,
                &cli_actor(),
                "cli",
            )
            .await?;
            writeln!(out, "{}", key.secret)?;
            eprintln!(
                "created API key `{}` ({}; {}/s). It is printed above ONCE: give it to the \
                 client system now, as `Authorization: Bearer <key>`.",
                record.name,
                record.scopes.join(","),
                record.rate_per_second
            );
        }
        ApiKeyAction::List { json } => {
            for key in store.api_keys().await? {
                if json {
                    writeln!(out, "{}", json_line(&key)?)?;
                } else {
                    writeln!(out, "{}", key_line(&key))?;
                }
            }
        }
        ApiKeyAction::Revoke { name } => {
            let record = keys::revoke(store, name.trim(), &cli_actor(), "cli").await?;
            writeln!(
                out,
                "API key `{}` ({}…) revoked",
                record.name, record.key_prefix
            )?;
        }
    }
    Ok(())
}

fn key_line(key: &ApiKeyRecord) -> String {
    format!(
        "{:<16}  {}…  {:<8}  {:<13}  {:>5}/s  from: {}",
        key.name,
        key.key_prefix,
        if key.is_active() { "active" } else { "revoked" },
        key.scopes.join(","),
        key.rate_per_second,
        if key.service_numbers.is_empty() {
            "any".to_owned()
        } else {
            key.service_numbers.join(",")
        }
    )
}
