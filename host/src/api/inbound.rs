//! Inbound SMS for API clients (issue 5; R16, R19, R20) and the networks a key may be used
//! from.
//!
//! A key with the `receive` scope gets the inbound messages whose first word is one of its
//! keywords (`jingxun apikey update --name news --keyword NEWS`), or that arrived on one of its
//! service numbers (`--inbound-number 10690110`); a key with neither gets nothing, so officers'
//! police commands never reach another system. Keywords are ASCII letters, matched like
//! command keywords (case and full-width folded, `NEWS体育` reads as `NEWS`), unique across
//! keys, and may not be `H` or a plugin's command keyword; and the router answers `H` and every
//! plugin command itself whatever number it came to. A matching message is not answered: the
//! router marks it routed and assigns it to the key in one transaction (with a webhook delivery
//! when the key has a webhook, see [`super::webhooks`]).
//!
//! The client reads its messages with `GET /api/v1/inbox?after=CURSOR&wait=SECONDS` (a
//! long-poll woken by the router through [`crate::inbox_signal::InboxSignal`], with a 1 s
//! fallback poll for messages assigned by another daemon) and/or receives them as signed webhook
//! POSTs.
//!
//! `--allow-network 10.0.0.0/8` (repeatable) limits where a key may be used from: the peer
//! address of every request is checked ([`check_source`]) and others get a 403 problem.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::Query;
use axum::extract::State;
use axum::extract::rejection::QueryRejection;
use ipnet::IpNet;
use rand::TryRng;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::ApiClient;
use super::keys::Scope;
use super::problem::Problem;
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::router::HELP_KEYWORD;
use crate::store::{ApiInboxEntry, ApiKeyRecord, Store, StoreError};

/// Longest keyword.
pub const MAX_KEYWORD_CHARS: usize = 16;
/// Longest wait of a long-poll, in seconds.
pub const MAX_WAIT_SECONDS: u32 = crate::config::INBOX_MAX_WAIT_SECONDS;
/// Most messages one inbox call returns (and the default).
pub const MAX_INBOX_LIMIT: u32 = 100;
/// How often a waiting long-poll looks at the store even without a signal (messages assigned
/// by a router in another process).
pub const FALLBACK_POLL: Duration = Duration::from_secs(1);
/// Prefix of webhook signing secrets.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// Why an inbound setting could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// A keyword is not a word of ASCII letters.
    #[error(
        "invalid keyword `{0}`: use 1 to {MAX_KEYWORD_CHARS} ASCII letters (e.g. NEWS); an SMS \
         whose first word is the keyword, in any case, goes to the key"
    )]
    InvalidKeyword(String),
    /// `H` is the help command.
    #[error("the keyword `H` is the help command of the SMS service and cannot go to an API key")]
    HelpKeyword,
    /// A plugin owns the keyword.
    #[error(
        "the keyword `{keyword}` is a command of the plugin `{plugin}` (police commands are \
         never handed to other systems); choose another keyword"
    )]
    PluginKeyword { keyword: String, plugin: String },
    /// A service number is not digits.
    #[error(
        "invalid inbound number `{0}`: use the digits of the service number as configured for \
         the modem (`service_number`, e.g. 10690110), 1 to 20 digits"
    )]
    InvalidNumber(String),
    /// A network is not CIDR.
    #[error(
        "invalid network `{0}`: use CIDR notation such as 10.0.0.0/8 or 192.168.1.7/32 (or one \
         address)"
    )]
    InvalidNetwork(String),
    /// The key lacks the receive scope.
    #[error(
        "the API key `{0}` lacks the `receive` scope, so it receives no inbound messages; \
         create a key with `--scopes receive` (or send,receive)"
    )]
    NoReceiveScope(String),
    /// The key is revoked.
    #[error("the API key `{0}` is revoked; create a new key")]
    Revoked(String),
    /// No key of that name.
    #[error("no API key is named `{0}`; `jingxun apikey list` shows them")]
    NotFound(String),
    /// The webhook URL is unusable.
    #[error("invalid webhook URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}; nothing was changed")]
    Random(String),
    /// The plugin registry could not be read.
    #[error("cannot read the installed plugins to check the keywords: {0}")]
    Plugins(String),
    /// The store failed (or refused a value another key has).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a keyword as the router reads the first word of an SMS: upper case, full-width folded.
pub fn normalise_keyword(word: &str) -> Result<String, InboundError> {
    let parsed = crate::router::command::parse(word)
        .filter(|c| c.arguments.is_empty())
        .ok_or_else(|| InboundError::InvalidKeyword(word.trim().to_owned()))?;
    if parsed.keyword.len() > MAX_KEYWORD_CHARS {
        return Err(InboundError::InvalidKeyword(word.trim().to_owned()));
    }
    if parsed.keyword == HELP_KEYWORD {
        return Err(InboundError::HelpKeyword);
    }
    Ok(parsed.keyword)
}

/// The digits of a service number (`+`, spaces and dashes dropped).
pub fn normalise_number(text: &str) -> Result<String, InboundError> {
    let digits: String = text
        .trim()
        .trim_start_matches('+')
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect();
    if digits.is_empty() || digits.len() > 20 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(InboundError::InvalidNumber(text.trim().to_owned()));
    }
    Ok(digits)
}

/// Reads a network: CIDR (`10.0.0.0/8`, host bits dropped) or one address (a /32 or /128).
pub fn parse_network(text: &str) -> Result<IpNet, InboundError> {
    crate::net::client_address::parse_network(text)
        .ok_or_else(|| InboundError::InvalidNetwork(text.trim().to_owned()))
}

/// Whether `peer` is inside one of `networks` (stored CIDR texts); an empty list allows any.
/// IPv4 peers seen as IPv4-mapped IPv6 addresses (a listener on `[::]`) count as IPv4. A stored
/// network that cannot be read allows nothing.
pub fn source_allowed(networks: &[String], peer: IpAddr) -> bool {
    if networks.is_empty() {
        return true;
    }
    let peer = peer.to_canonical();
    networks
        .iter()
        .filter_map(|n| parse_network(n).ok())
        .any(|net| net.contains(&peer))
}

/// The source check of the auth middleware: refuses with 403 a key limited to some networks
/// when the request comes from elsewhere (or from an unknown address).
pub fn check_source(key: &ApiKeyRecord, client: Option<IpAddr>) -> Result<(), Problem> {
    if key.allowed_networks.is_empty() {
        return Ok(());
    }
    match client {
        Some(client) if source_allowed(&key.allowed_networks, client) => Ok(()),
        _ => Err(Problem::forbidden(format!(
            "the API key `{}` may only be used from {}; this request came from {}",
            key.name,
            key.allowed_networks.join(", "),
            client.map_or_else(
                || "an unknown address".to_owned(),
                |c| c.to_canonical().to_string()
            )
        ))),
    }
}

/// Draws a webhook signing secret (`whsec_` and 64 hex digits) from the operating system.
pub fn generate_webhook_secret() -> Result<String, InboundError> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| InboundError::Random(e.to_string()))?;
    Ok(format!("{WEBHOOK_SECRET_PREFIX}{}", hex::encode(bytes)))
}

/// Checks a webhook URL: absolute `https://` (verified, [`super::webhook_tls`]) or `http://`
/// (in the clear), with a host.
pub fn check_webhook_url(url: &str) -> Result<String, InboundError> {
    let invalid = |reason: &str| InboundError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: hyper::Uri = url.trim().parse().map_err(|_| invalid("not a URL"))?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) {
        return Err(invalid(
            "it must be absolute and start with https:// (or http:// inside the police network)",
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it names no host"));
    }
    Ok(url.trim().to_owned())
}

async fn find_key(store: &Store, name: &str) -> Result<ApiKeyRecord, InboundError> {
    store
        .api_keys()
        .await?
        .into_iter()
        .find(|k| k.name == name)
        .ok_or_else(|| InboundError::NotFound(name.to_owned()))
}

fn require_receiver(key: &ApiKeyRecord) -> Result<(), InboundError> {
    if !key.is_active() {
        return Err(InboundError::Revoked(key.name.clone()));
    }
    if !key.scopes.iter().any(|s| s == Scope::Receive.as_str()) {
        return Err(InboundError::NoReceiveScope(key.name.clone()));
    }
    Ok(())
}

/// Refuses keywords that an installed plugin (enabled or not) uses.
async fn check_plugin_keywords(store: &Store, keywords: &[String]) -> Result<(), InboundError> {
    if keywords.is_empty() {
        return Ok(());
    }
    let plugins = store
        .plugins()
        .await
        .map_err(|e| InboundError::Plugins(e.to_string()))?;
    for keyword in keywords {
        for plugin in &plugins {
            let versions = std::iter::once(&plugin.current).chain(plugin.previous.as_ref());
            if versions
                .flat_map(|v| v.keywords.iter())
                .any(|k| k.eq_ignore_ascii_case(keyword))
            {
                return Err(InboundError::PluginKeyword {
                    keyword: keyword.clone(),
                    plugin: plugin.name.clone(),
                });
            }
        }
    }
    Ok(())
}

/// What inbound messages a key receives; `None` leaves that list as it is.
#[derive(Debug, Clone, Default)]
pub struct InboundSpec {
    /// Keywords as typed.
    pub keywords: Option<Vec<String>>,
    /// Service numbers as typed.
    pub numbers: Option<Vec<String>>,
}

/// Checks an [`InboundSpec`] without changing anything: keyword and number syntax, `H` and
/// plugin keywords. Returns the normalised lists. (Uniqueness across keys is checked when they
/// are stored.)
pub async fn check_inbound(
    store: &Store,
    spec: &InboundSpec,
) -> Result<(Option<Vec<String>>, Option<Vec<String>>), InboundError> {
    let keywords = spec
        .keywords
        .as_ref()
        .map(|list| {
            let mut out: Vec<String> = list
                .iter()
                .map(|k| normalise_keyword(k))
                .collect::<Result<_, _>>()?;
            out.sort();
            out.dedup();
            Ok::<_, InboundError>(out)
        })
        .transpose()?;
    if let Some(keywords) = &keywords {
        check_plugin_keywords(store, keywords).await?;
    }
    let numbers = spec
        .numbers
        .as_ref()
        .map(|list| {
            let mut out: Vec<String> = list
                .iter()
                .map(|n| normalise_number(n))
                .collect::<Result<_, _>>()?;
            out.sort();
            out.dedup();
            Ok::<_, InboundError>(out)
        })
        .transpose()?;
    Ok((keywords, numbers))
}

/// Sets what inbound messages the key `name` receives, and audits it (`apikey.inbound`).
pub async fn set_inbound(
    store: &Store,
    name: &str,
    spec: &InboundSpec,
    actor: &str,
    source: &str,
) -> Result<(), InboundError> {
    let key = find_key(store, name).await?;
    let (keywords, numbers) = check_inbound(store, spec).await?;
    let adds_any = keywords.as_ref().is_some_and(|k| !k.is_empty())
        || numbers.as_ref().is_some_and(|n| !n.is_empty());
    if adds_any {
        require_receiver(&key)?;
    }
    let audit = audit_row(
        AuditEvent::ApikeyInbound,
        name,
        actor,
        source,
        serde_json::json!({ "keywords": keywords, "inbound_numbers": numbers }),
    );
    if !store
        .api_key_set_inbound(name, keywords.as_deref(), numbers.as_deref(), &audit)
        .await?
    {
        return Err(InboundError::NotFound(name.to_owned()));
    }
    Ok(())
}

/// Checks network texts and returns them normalised (host bits dropped).
pub fn check_networks(networks: &[String]) -> Result<Vec<String>, InboundError> {
    let mut out: Vec<String> = networks
        .iter()
        .map(|n| parse_network(n).map(|net| net.to_string()))
        .collect::<Result<_, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Sets the networks the key `name` may be used from (empty: any), and audits it
/// (`apikey.networks`). A running daemon applies it within the key cache's lifetime.
pub async fn set_networks(
    store: &Store,
    name: &str,
    networks: &[String],
    actor: &str,
    source: &str,
) -> Result<Vec<String>, InboundError> {
    let networks = check_networks(networks)?;
    let audit = audit_row(
        AuditEvent::ApikeyNetworks,
        name,
        actor,
        source,
        serde_json::json!({ "allowed_networks": networks }),
    );
    if !store.api_key_set_networks(name, &networks, &audit).await? {
        return Err(InboundError::NotFound(name.to_owned()));
    }
    Ok(networks)
}

/// Sets the webhook of the key `name` to `url` with a new signing secret, which is returned
/// (to be shown once), or removes it (`None`; pending deliveries are abandoned). Audited as
/// `apikey.webhook` (never the secret).
pub async fn set_webhook(
    store: &Store,
    name: &str,
    url: Option<&str>,
    actor: &str,
    source: &str,
) -> Result<Option<String>, InboundError> {
    let key = find_key(store, name).await?;
    let (url, secret) = match url {
        Some(url) => {
            require_receiver(&key)?;
            (
                Some(check_webhook_url(url)?),
                Some(generate_webhook_secret()?),
            )
        }
        None => (None, None),
    };
    let webhook = url.as_deref().zip(secret.as_deref());
    let audit = audit_row(
        AuditEvent::ApikeyWebhook,
        name,
        actor,
        source,
        serde_json::json!({ "url": url.as_deref().map(redact_query) }),
    );
    if !store
        .api_key_set_webhook(name, webhook, crate::clock::now_ms(), &audit)
        .await?
    {
        return Err(InboundError::NotFound(name.to_owned()));
    }
    Ok(secret)
}

/// A URL without its query string (which may carry a token), for logs and audit rows.
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_owned(),
    }
}

/// The audit row of a change to the key `name`, committed with the change.
fn audit_row(
    event: AuditEvent,
    name: &str,
    actor: &str,
    source: &str,
    details: serde_json::Value,
) -> AuditEntry {
    AuditEntry::new(AuditComponent::Api, event, AuditOutcome::Ok)
        .with_actor(actor)
        .with_object(name.to_owned())
        .with_source(Some(source))
        .with_details(details)
}

/// An inbound SMS as the inbox and webhooks show it. Times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboundMessage {
    /// The message id.
    pub id: i64,
    /// This message's position in the key's inbox: pass it as `after` to read what follows.
    pub cursor: String,
    /// The sender (`+8613800000000`, a short code, or an alphanumeric name such as `ICBC`).
    pub from: String,
    /// `number`, or `alphanumeric` for a sender's name: a name is whatever the sender chose
    /// (`13800000001` too), never proof of a phone, and cannot be answered.
    pub from_kind: crate::store::PeerKind,
    /// The service number it arrived on, when the modem has one configured.
    pub to: Option<String>,
    /// The whole text (parts joined).
    pub text: String,
    /// `received`, or `partial` when parts never came (missing ones show as `[…]`).
    pub state: String,
    /// When the network received it.
    pub received_at: String,
}

impl From<ApiInboxEntry> for InboundMessage {
    fn from(entry: ApiInboxEntry) -> InboundMessage {
        InboundMessage {
            id: entry.message_id,
            cursor: entry.seq.to_string(),
            from: entry.sender,
            from_kind: entry.sender_kind,
            to: entry.service_number,
            text: entry.text,
            state: entry.state,
            received_at: crate::clock::rfc3339(entry.received_at),
        }
    }
}

/// A page of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxPage {
    /// Oldest first.
    pub messages: Vec<InboundMessage>,
    /// Pass as `after` next time: the last message's cursor, or `after` when there was none.
    pub next_cursor: String,
}

/// `GET /api/v1/inbox` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Return messages after this cursor (`next_cursor` of the previous call); default: from
    /// the start.
    pub after: Option<String>,
    /// When there is nothing yet, wait up to this many seconds for a message (long-poll);
    /// default 0.
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u32>,
    /// At most this many messages; default 100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Inbound SMS for this key (its keywords and service numbers), oldest first; long-polls with
/// `wait`.
#[utoipa::path(
    get,
    path = "/api/v1/inbox",
    tag = "inbox",
    params(InboxQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The messages after the cursor (possibly none once the wait ended)", body = InboxPage),
        (status = 400, description = "Unreadable parameters or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key lacks the receive scope, or the request comes from a network the key may not be used from", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "wait or limit out of range", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_inbox(
    State(state): State<ApiState>,
    Extension(client): Extension<Arc<ApiClient>>,
    query: Result<Query<InboxQuery>, QueryRejection>,
) -> Result<axum::Json<InboxPage>, Problem> {
    client.require(Scope::Receive)?;
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let after_text = query.after.as_deref().map(str::trim).unwrap_or("");
    let after: i64 = if after_text.is_empty() {
        0
    } else {
        after_text
            .parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "`after` must be a cursor from a previous answer (`next_cursor`), not \
                     `{after_text}`"
                ))
            })?
    };
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(Problem::unprocessable(format!(
            "`wait` is at most {MAX_WAIT_SECONDS} seconds; call again after an empty answer"
        )));
    }
    let limit = query.limit.unwrap_or(MAX_INBOX_LIMIT);
    if !(1..=MAX_INBOX_LIMIT).contains(&limit) {
        return Err(Problem::unprocessable(format!(
            "`limit` must be 1 to {MAX_INBOX_LIMIT}"
        )));
    }
    // Subscribe before the first look, so that an assignment between the look and the wait
    // still wakes this call.
    let mut changes = state.inbox.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(wait));
    loop {
        changes.borrow_and_update();
        let entries = state
            .store
            .api_inbox(client.name(), after, limit)
            .await
            .map_err(|e| {
                tracing::error!(api_key = client.name(), error = %e, "cannot read the API inbox");
                Problem::unavailable()
            })?;
        let now = tokio::time::Instant::now();
        if !entries.is_empty() || now >= deadline || state.inbox.closing().is_cancelled() {
            let next_cursor = entries
                .last()
                .map_or_else(|| after.to_string(), |e| e.seq.to_string());
            return Ok(axum::Json(InboxPage {
                messages: entries.into_iter().map(InboundMessage::from).collect(),
                next_cursor,
            }));
        }
        let nap = FALLBACK_POLL.min(deadline - now);
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(nap).await;
                }
            }
            _ = tokio::time::sleep(nap) => {}
            _ = state.inbox.closing().cancelled() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_read_like_sms_commands_and_h_is_refused() {
        assert_eq!(normalise_keyword("news").unwrap(), "NEWS");
        assert_eq!(normalise_keyword(" ｎｅｗｓ ").unwrap(), "NEWS");
        assert!(matches!(
            normalise_keyword("h"),
            Err(InboundError::HelpKeyword)
        ));
        for bad in ["", "12", "NEWS 2", "新闻", &"A".repeat(17)] {
            assert!(
                matches!(normalise_keyword(bad), Err(InboundError::InvalidKeyword(_))),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn inbound_numbers_keep_their_digits_only() {
        assert_eq!(
            normalise_number("+86 139-0000-0000").unwrap(),
            "8613900000000"
        );
        assert_eq!(normalise_number("10690110").unwrap(), "10690110");
        assert!(normalise_number("abc").is_err());
        assert!(normalise_number("").is_err());
        assert!(normalise_number(&"1".repeat(21)).is_err());
    }

    #[test]
    fn a_peer_is_allowed_only_inside_the_key_networks() {
        let nets = check_networks(&["10.1.2.3/8".into(), "192.168.1.7".into(), "fd00::/8".into()])
            .unwrap();
        assert_eq!(nets, vec!["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(source_allowed(&nets, ip("10.200.0.1")));
        assert!(source_allowed(&nets, ip("192.168.1.7")));
        assert!(source_allowed(&nets, ip("fd12::1")));
        // An IPv4 client of a listener on [::] shows as ::ffff:a.b.c.d.
        assert!(source_allowed(&nets, ip("::ffff:10.0.0.9")));
        assert!(!source_allowed(&nets, ip("127.0.0.1")));
        assert!(!source_allowed(&nets, ip("192.168.1.8")));
        assert!(source_allowed(&[], ip("127.0.0.1")), "no list: any source");
        assert!(!source_allowed(&["garbage".into()], ip("127.0.0.1")));
        assert!(check_networks(&["10.0.0.0/33".into()]).is_err());
        assert!(check_networks(&["example.org".into()]).is_err());
    }

    #[test]
    fn a_key_limited_to_other_networks_is_refused_with_403() {
        let key = ApiKeyRecord {
            id: 1,
            name: "oa".into(),
            key_prefix: "jx_00000000".into(),
            scopes: vec!["receive".into()],
            rate_per_second: 1,
            service_numbers: vec![],
            created_at: 0,
            revoked_at: None,
            allowed_networks: vec!["10.0.0.0/8".into()],
            webhook_url: None,
        };
        let from = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(check_source(&key, from("10.9.9.9")).is_ok());
        assert_eq!(
            check_source(&key, from("127.0.0.1")).map_err(|p| p.status),
            Err(403)
        );
        assert_eq!(check_source(&key, None).map_err(|p| p.status), Err(403));
    }

    #[test]
    fn webhook_urls_are_absolute_https_or_http_with_a_host() {
        assert!(check_webhook_url("http://10.0.0.5:8080/sms").is_ok());
        assert!(check_webhook_url("https://oa.example/sms").is_ok());
        let relative = check_webhook_url("/relative").unwrap_err().to_string();
        assert!(relative.contains("https://"), "{relative}");
        assert!(check_webhook_url("https:///sms").is_err());
        assert!(check_webhook_url("ftp://x/").is_err());
        let secret = generate_webhook_secret().unwrap();
        assert!(secret.starts_with(WEBHOOK_SECRET_PREFIX) && secret.len() == 6 + 64);
        assert_eq!(redact_query("http://h/p?token=x"), "http://h/p?…");
    }

    async fn keywords_are_unique_across_keys_and_plugin_keywords_are_refused(
        db: &crate::store::test_db::TestDb,
    ) {
        use crate::api::keys::{self, KeySpec};
        let spec = |name: &str, scopes: Vec<Scope>| KeySpec {
            name: name.into(),
            scopes,
            rate_per_second: 5,
            service_numbers: vec![],
        };
        keys::create(
            &db.store,
            &spec("news", vec![Scope::Receive]),
            "86",
            "t",
            "t",
        )
        .await
        .unwrap();
        keys::create(&db.store, &spec("oa", vec![Scope::Receive]), "86", "t", "t")
            .await
            .unwrap();
        keys::create(
            &db.store,
            &spec("sender", vec![Scope::Send]),
            "86",
            "t",
            "t",
        )
        .await
        .unwrap();
        let words = |list: &[&str]| InboundSpec {
            keywords: Some(list.iter().map(|s| s.to_string()).collect()),
            numbers: None,
        };
        set_inbound(&db.store, "news", &words(&["news", "TQ"]), "t", "t")
            .await
            .unwrap();
        let taken = set_inbound(&db.store, "oa", &words(&["NEWS"]), "t", "t").await;
        assert!(
            matches!(&taken, Err(InboundError::Store(StoreError::InvalidInput { field: "keyword", reason })) if reason.contains("news")),
            "{taken:?}"
        );
        assert!(matches!(
            set_inbound(&db.store, "oa", &words(&["h"]), "t", "t").await,
            Err(InboundError::HelpKeyword)
        ));
        assert!(matches!(
            set_inbound(&db.store, "sender", &words(&["OA"]), "t", "t").await,
            Err(InboundError::NoReceiveScope(_))
        ));
        assert!(matches!(
            set_inbound(&db.store, "nobody", &words(&["OA"]), "t", "t").await,
            Err(InboundError::NotFound(_))
        ));
        // A plugin's keyword, installed or not enabled, is refused.
        let version = crate::store::NewPluginVersion {
            name: "vehicles",
            version: "1.0.0",
            sha256: "00",
            keywords: &["CP".to_owned()],
            datasources: &[],
            manifest_json: "{}",
            component: b"",
            bundled: false,
        };
        db.store
            .plugin_install_version(&version, 1, &crate::audit::ChangeAuthor::new("t", "test"))
            .await
            .expect("install a plugin record");
        assert!(matches!(
            set_inbound(&db.store, "oa", &words(&["cp"]), "t", "t").await,
            Err(InboundError::PluginKeyword { .. })
        ));
        // Revoking frees the keywords for another key.
        keys::revoke(&db.store, "news", "t", "t").await.unwrap();
        set_inbound(&db.store, "oa", &words(&["NEWS"]), "t", "t")
            .await
            .unwrap();
        let routes = db.store.api_inbound_routes().await.unwrap();
        assert_eq!(
            routes
                .iter()
                .map(|r| (r.value.as_str(), r.api_key.as_str()))
                .collect::<Vec<_>>(),
            vec![("NEWS", "oa")]
        );
    }

    crate::on_both_backends!(crate::store::test_db::TestDb =>
        keywords_are_unique_across_keys_and_plugin_keywords_are_refused
    );
}
