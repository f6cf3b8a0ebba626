//! `jingxun apikey ...`: keys of the client systems that use the HTTP API (issue 5). A key is
//! printed once, at creation; the store keeps only its SHA-256. Also what inbound SMS a key
//! receives (keywords, service numbers), its webhook, the networks it may be used from, and its
//! webhook deliveries.

use std::io::Write;

use clap::Subcommand;

use jingxun::api::inbound::{self, InboundSpec};
use jingxun::api::keys::{self, DEFAULT_RATE_PER_SECOND, KeySpec, Scope};
use jingxun::config::Config;
use jingxun::store::{ApiKeyRecord, InboundRoute, RouteKind, Store};

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
        /// What it may do, separated by commas: `send` (queue texts through
        /// `POST /api/v1/messages` and read their state), `receive` (inbound SMS by long poll or
        /// webhook) and `notify` (OA reminders and citizen notices, and read their state).
        #[arg(long, value_name = "SCOPES")]
        scopes: String,
        /// Requests per second it may make.
        #[arg(long, default_value_t = DEFAULT_RATE_PER_SECOND)]
        rate: u32,
        /// A service number it may send from (repeat for several; default: any).
        #[arg(long = "service-number", value_name = "NUMBER")]
        service_numbers: Vec<String>,
        /// Receive inbound SMS whose first word is WORD, in any case (ASCII letters; not `H` or
        /// a plugin command; one key per keyword). Needs the receive scope. Repeat for several.
        #[arg(long = "keyword", value_name = "WORD")]
        keywords: Vec<String>,
        /// Receive every inbound SMS that arrives on this service number (the digits of a
        /// modem's `service_number`), except `H` and plugin commands. Repeat for several.
        #[arg(long = "inbound-number", value_name = "NUMBER")]
        inbound_numbers: Vec<String>,
        /// Accept the key only from this network (CIDR, e.g. 10.0.0.0/8, or one address);
        /// repeat for several; default: any.
        #[arg(long = "allow-network", value_name = "CIDR")]
        allow_networks: Vec<String>,
    },
    /// Change what inbound SMS a key receives or where it may be used from. Each list given
    /// replaces the key's list; a key with no keyword and no inbound number receives nothing.
    Update {
        #[arg(long)]
        name: String,
        /// Keywords it receives (replaces the list; repeat for several).
        #[arg(long = "keyword", value_name = "WORD")]
        keywords: Vec<String>,
        /// Remove all its keywords.
        #[arg(long, conflicts_with = "keywords")]
        clear_keywords: bool,
        /// Service numbers it receives (replaces the list; repeat for several).
        #[arg(long = "inbound-number", value_name = "NUMBER")]
        inbound_numbers: Vec<String>,
        /// Remove all its inbound numbers.
        #[arg(long, conflicts_with = "inbound_numbers")]
        clear_inbound_numbers: bool,
        /// Networks it may be used from (replaces the list; repeat for several).
        #[arg(long = "allow-network", value_name = "CIDR")]
        allow_networks: Vec<String>,
        /// Allow it from any network again.
        #[arg(long, conflicts_with = "allow_networks")]
        clear_networks: bool,
    },
    /// Set the URL that the key's inbound SMS are POSTed to (signed with HMAC-SHA256), and
    /// print a new signing secret ONCE; or remove the webhook with --clear. https:// URLs are
    /// verified against the system's CAs and [webhooks] ca_file; http:// goes in the clear.
    /// Failed deliveries are retried (1 s doubling, at most 5 min apart) for 3 days, then
    /// abandoned; `jingxun apikey deliveries` lists them.
    Webhook {
        #[arg(long)]
        name: String,
        /// The client's URL, e.g. https://oa.police.internal/sms or http://10.0.0.5:8080/sms.
        #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
        url: Option<String>,
        /// Remove the webhook (pending deliveries are abandoned; the inbox keeps the messages).
        #[arg(long)]
        clear: bool,
    },
    /// List webhook deliveries, newest first.
    Deliveries {
        /// Only this key's.
        #[arg(long)]
        name: Option<String>,
        /// Only those in this state: pending, delivered or abandoned.
        #[arg(long, value_parser = ["pending", "delivered", "abandoned"])]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
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
    let store = jingxun::store::open_store(config).await?;
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
            keywords,
            inbound_numbers,
            allow_networks,
        } => {
            let spec = KeySpec {
                name: name.trim().to_owned(),
                scopes: keys::parse_scopes(&scopes)?,
                rate_per_second: rate,
                service_numbers,
            };
            // Everything is checked before the key is made, so that a refused keyword or
            // network does not leave a half-configured key behind.
            let inbound = InboundSpec {
                keywords: (!keywords.is_empty()).then_some(keywords),
                numbers: (!inbound_numbers.is_empty()).then_some(inbound_numbers),
            };
            let receives = inbound.keywords.is_some() || inbound.numbers.is_some();
            if receives && !spec.scopes.contains(&Scope::Receive) {
                anyhow::bail!(inbound::InboundError::NoReceiveScope(spec.name.clone()));
            }
            inbound::check_inbound(store, &inbound).await?;
            inbound::check_networks(&allow_networks)?;
            let (record, key) = keys::create(
                store,
                &spec,
                &config.sms.default_country_code,
                &cli_actor(),
                "cli",
            )
            .await?;
            if receives {
                inbound::set_inbound(store, &record.name, &inbound, &cli_actor(), "cli").await?;
            }
            if !allow_networks.is_empty() {
                inbound::set_networks(store, &record.name, &allow_networks, &cli_actor(), "cli")
                    .await?;
            }
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
            let routes = store.api_inbound_routes().await?;
            for key in store.api_keys().await? {
                let keywords = route_values(&routes, &key.name, RouteKind::Keyword);
                let numbers = route_values(&routes, &key.name, RouteKind::Number);
                if json {
                    let mut value = serde_json::to_value(&key)?;
                    value["keywords"] = keywords.into();
                    value["inbound_numbers"] = numbers.into();
                    writeln!(out, "{}", json_line(&value)?)?;
                } else {
                    writeln!(out, "{}", key_line(&key))?;
                    if !keywords.is_empty() || !numbers.is_empty() || key.webhook_url.is_some() {
                        writeln!(
                            out,
                            "{:<16}  receives: keywords {}; numbers {}; webhook {}",
                            "",
                            list_or(&keywords, "none"),
                            list_or(&numbers, "none"),
                            key.webhook_url
                                .as_deref()
                                .map_or_else(|| "none".to_owned(), inbound::redact_query)
                        )?;
                    }
                    if !key.allowed_networks.is_empty() {
                        writeln!(
                            out,
                            "{:<16}  only from: {}",
                            "",
                            key.allowed_networks.join(", ")
                        )?;
                    }
                }
            }
        }
        ApiKeyAction::Update {
            name,
            keywords,
            clear_keywords,
            inbound_numbers,
            clear_inbound_numbers,
            allow_networks,
            clear_networks,
        } => {
            let name = name.trim();
            let list =
                |values: Vec<String>, clear: bool| (clear || !values.is_empty()).then_some(values);
            let inbound = InboundSpec {
                keywords: list(keywords, clear_keywords),
                numbers: list(inbound_numbers, clear_inbound_numbers),
            };
            let networks = list(allow_networks, clear_networks);
            if inbound.keywords.is_none() && inbound.numbers.is_none() && networks.is_none() {
                anyhow::bail!(
                    "nothing to change: give --keyword, --inbound-number or --allow-network \
                     (or a --clear-... flag); see `jingxun apikey update --help`"
                );
            }
            if let Some(networks) = &networks {
                inbound::check_networks(networks)?;
            }
            if inbound.keywords.is_some() || inbound.numbers.is_some() {
                inbound::set_inbound(store, name, &inbound, &cli_actor(), "cli").await?;
            }
            if let Some(networks) = &networks {
                inbound::set_networks(store, name, networks, &cli_actor(), "cli").await?;
            }
            writeln!(
                out,
                "API key `{name}` updated; a running daemon applies it within a few seconds"
            )?;
        }
        ApiKeyAction::Webhook { name, url, clear } => {
            let url = if clear { None } else { url };
            let secret =
                inbound::set_webhook(store, name.trim(), url.as_deref(), &cli_actor(), "cli")
                    .await?;
            match secret {
                Some(secret) => {
                    writeln!(out, "{secret}")?;
                    eprintln!(
                        "webhook of `{}` set. The signing secret is printed above ONCE: give it to \
                         the client system. Each POST carries `X-Jingxun-Signature: \
                         t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>` and \
                         `X-Jingxun-Delivery: <id>`.",
                        name.trim()
                    );
                }
                None => writeln!(
                    out,
                    "webhook of `{}` removed; its pending deliveries were abandoned (the \
                     messages stay in its inbox)",
                    name.trim()
                )?,
            }
        }
        ApiKeyAction::Deliveries {
            name,
            state,
            limit,
            json,
        } => {
            let deliveries = store
                .webhook_deliveries(name.as_deref().map(str::trim), state.as_deref(), limit)
                .await?;
            for d in deliveries {
                if json {
                    writeln!(out, "{}", json_line(&d)?)?;
                } else {
                    writeln!(
                        out,
                        "{:>8}  {:<16}  message {:<8}  {:<9}  {} attempts  {}",
                        d.id,
                        d.api_key,
                        d.message_id,
                        d.state,
                        d.attempts,
                        d.last_error.as_deref().unwrap_or("")
                    )?;
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

fn route_values(routes: &[InboundRoute], key: &str, kind: RouteKind) -> Vec<String> {
    routes
        .iter()
        .filter(|r| r.api_key == key && r.kind == kind)
        .map(|r| r.value.clone())
        .collect()
}

fn list_or(values: &[String], none: &str) -> String {
    if values.is_empty() {
        none.to_owned()
    } else {
        values.join(",")
    }
}
