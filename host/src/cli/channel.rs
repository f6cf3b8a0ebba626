//! `jingxun channel ...` and `jingxun news publish`: channels (news columns) with their audience,
//! validity and digest time, and the items published on them (issue 14; R3, R4, R13). Every
//! change is audited by `cli:<user>` in the transaction that makes it; both work while
//! `jingxun serve` runs in another process or is stopped.

use std::io::Write;

use clap::Subcommand;

use jingxun::channels::{ChannelRecord, ChannelSpec, Channels};
use jingxun::clock::now_ms;
use jingxun::config::Config;

use super::phone::json_line;
use super::user::cli_actor;

/// `jingxun channel` subcommands.
#[derive(Subcommand)]
pub enum ChannelAction {
    /// Create a channel.
    Add {
        /// 2 to 16 letters or digits starting with a letter, e.g. XW01 (stored upper case).
        #[arg(long)]
        code: String,
        /// The name shown to subscribers, e.g. 焦点.
        #[arg(long)]
        name: String,
        /// Who may receive it: members, role:ROLE or group:GROUP (an address-book group).
        #[arg(long)]
        audience: String,
        /// How long an item stays valid after it is published: 10s, 30m, 24h, 7d. Without it
        /// items stay valid.
        #[arg(long)]
        validity: Option<String>,
        /// Send the day's items once a day at this local time (HH:MM) instead of as published.
        #[arg(long)]
        digest: Option<String>,
    },
    /// List the channels with their audience and number of subscribers.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// `jingxun news` subcommands.
#[derive(Subcommand)]
pub enum NewsAction {
    /// Publish an item on a channel; prints the item's id.
    Publish {
        /// The channel's code, e.g. XW01.
        #[arg(long)]
        channel: String,
        /// The item's title.
        #[arg(long)]
        title: String,
        /// The item's text.
        #[arg(long)]
        text: String,
        /// A retry with the same key publishes nothing new and prints the first item's id.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

fn channels(store: &jingxun::store::Store) -> Channels {
    Channels::new(store.clone()).with_source("cli")
}

/// Runs one `jingxun channel` subcommand.
pub async fn run(config: &Config, action: ChannelAction) -> anyhow::Result<()> {
    let store = jingxun::store::open_store(config).await?;
    let result = execute(&channels(&store), action).await;
    store.close().await;
    result
}

async fn execute(channels: &Channels, action: ChannelAction) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match action {
        ChannelAction::Add {
            code,
            name,
            audience,
            validity,
            digest,
        } => {
            let spec = ChannelSpec {
                code,
                name,
                audience,
                validity,
                digest,
            };
            let made = channels.add(&spec, &cli_actor(), now_ms()).await?;
            writeln!(out, "channel {} created: {}", made.code, describe(&made))?;
        }
        ChannelAction::List { json } => {
            for channel in channels.list().await? {
                if json {
                    writeln!(out, "{}", json_line(&channel)?)?;
                } else {
                    writeln!(out, "{}  {}", channel.code, describe(&channel))?;
                }
            }
        }
    }
    Ok(())
}

fn describe(c: &ChannelRecord) -> String {
    let validity = match c.validity_ms {
        Some(ms) => format!("items valid {}", human_duration(ms)),
        None => "items stay valid".to_owned(),
    };
    let digest = c
        .digest_at
        .as_deref()
        .map(|at| format!(", daily digest at {at}"))
        .unwrap_or_default();
    format!(
        "{} for {}, {validity}{digest}, {} subscriber(s)",
        c.name, c.audience, c.subscribers
    )
}

fn human_duration(ms: i64) -> String {
    let s = ms / 1000;
    for (unit, secs) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if s % secs == 0 {
            return format!("{}{unit}", s / secs);
        }
    }
    format!("{s}s")
}

/// Runs one `jingxun news` subcommand.
pub async fn run_news(config: &Config, action: NewsAction) -> anyhow::Result<()> {
    let store = jingxun::store::open_store(config).await?;
    let result = async {
        match action {
            NewsAction::Publish {
                channel,
                title,
                text,
                idempotency_key,
            } => {
                let published = channels(&store)
                    .publish(
                        &channel,
                        &title,
                        &text,
                        idempotency_key.as_deref(),
                        &cli_actor(),
                        now_ms(),
                    )
                    .await?;
                writeln!(std::io::stdout().lock(), "{}", published.item)?;
                if !published.created {
                    eprintln!(
                        "item {} was published before with this idempotency key; nothing new was published",
                        published.item
                    );
                }
                anyhow::Ok(())
            }
        }
    }
    .await;
    store.close().await;
    result
}
