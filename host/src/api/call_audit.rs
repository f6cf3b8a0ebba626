//! Audit rows of API calls ("Audit" in shared/docs/security-checklist.md: who, object, outcome,
//! source, request id). Every row has component `api`, the actor `api:<key name>` (the key's
//! name, never the key), the source address (the TCP peer; behind a reverse proxy that is the
//! proxy) and the request id that the response carries as `X-Request-Id` (and problem
//! documents as `request_id`).
//!
//! What is audited, and how:
//! - **State-changing calls** (`POST /api/v1/messages`, the notification endpoints): one row
//!   per call, written *in the same transaction* as the messages it queues
//!   ([`crate::api::committer`] with [`AuditInTransaction`]), so that a 202
//!   means the messages and their audit row are both committed, and neither exists without the
//!   other. One extra row in a transaction that is committed anyway costs two statements and no
//!   extra disk flush, which keeps the API's throughput. A call that changed nothing (refused,
//!   invalid, an idempotent replay, a conflict) gets its row from the asynchronous writer below.
//! - **Refused authentications** (no key, a malformed, unknown or revoked key, a key used from
//!   a network it is not allowed, a missing scope or service number: 401 and 403) get a row from
//!   a background writer fed through a bounded channel ([`AuditSink`]) and written in batches of
//!   up to [`BATCH_MAX`] rows per transaction. A flood cannot exhaust memory or the database:
//!   when the channel is full, rows are dropped, counted and logged, and the writer records
//!   how many it lost (`audit.dropped`). A source that keeps failing is limited anyway
//!   ([`super::limiter`]): it gets 429 without a row, after a single `auth.blocked` row.
//! - **Reads** (`GET`) are logged (`tracing`, with key name, path, status, time) but not audited:
//!   they only return what the key itself queued or receives, no police data. Rate-limit
//!   refusals (429) of a valid key are logged, not audited.
//!
//! What is kept out: the message text (only its length in characters and SMS parts: a text
//! may carry a code another system sends, and codes never go into audit rows) and the full
//! recipient list (only the count and the first [`SAMPLE_RECIPIENTS`] numbers, masked as
//! `+86138****0001`). The messages themselves, with every number and the text, are in the
//! message store under the batch named in the row's `object`, for as long as they are kept.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::auth::{ApiClient, CallNote};
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::store::audit::AuditInTransaction;
use crate::store::{ApiKeyRecord, IdempotentOutcome, Store, StoreError};

/// The `component` of every API audit row.
pub const COMPONENT: AuditComponent = AuditComponent::Api;
/// Rows the asynchronous writer holds at most; more are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 4096;
/// Rows written per transaction by the asynchronous writer, at most.
pub const BATCH_MAX: usize = 256;
/// Recipients shown (masked) in a send's audit row.
pub const SAMPLE_RECIPIENTS: usize = 3;
/// Longest request path kept in a row, in characters (the rest is cut; paths are chosen by
/// the caller, even unauthenticated ones).
const MAX_PATH_CHARS: usize = 200;
/// Longest problem detail kept in a row, in characters.
const MAX_DETAIL_CHARS: usize = 300;

/// A new request id: 128 random bits as 32 hex digits.
pub fn new_request_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The actor of rows about the API key `name`.
pub fn actor(name: &str) -> String {
    format!("api:{name}")
}

/// A phone number with its middle digits hidden: `+8613800000001` → `+86138****0001`; numbers
/// of 8 characters or fewer are hidden whole.
pub fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..chars.len() - 8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Where a call came from and which request it was: what every API audit row carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The id sent back as `X-Request-Id`.
    pub request_id: String,
    /// The TCP peer's address, when known.
    pub source: Option<IpAddr>,
    /// `POST`, `GET`...
    pub method: String,
    /// The request path (cut to a bounded length).
    pub path: String,
}

impl CallContext {
    /// The context of a request with a fresh request id.
    pub fn new(source: Option<IpAddr>, method: &str, path: &str) -> CallContext {
        CallContext {
            request_id: new_request_id(),
            source: source.map(|ip| ip.to_canonical()),
            method: method.to_owned(),
            path: cut(path, MAX_PATH_CHARS),
        }
    }

    /// `POST /api/v1/messages`: the object of rows about the call itself.
    pub fn call(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// A row of component `api` with this call's source and request id, by `key`'s name
    /// when there is one.
    pub fn entry(&self, event: AuditEvent, outcome: AuditOutcome, key: Option<&str>) -> AuditEntry {
        let mut entry = AuditEntry::new(COMPONENT, event, outcome)
            .with_source(self.source.map(|ip| ip.to_string()).as_deref())
            .with_request_id(self.request_id.clone());
        if let Some(name) = key {
            entry = entry.with_actor(actor(name));
        }
        entry
    }
}

/// Why an authentication was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header.
    NoKey,
    /// A header that is not `Bearer jx_<64 hex digits>`.
    MalformedKey,
    /// A well-formed key that does not exist.
    UnknownKey,
    /// A revoked key.
    RevokedKey,
    /// A key used from a network it is not allowed from.
    Network,
    /// A key without the scope or service number the call needs (403 from a handler).
    Forbidden,
}

impl Refusal {
    /// The reason as stored in the row's details.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoKey => "no_key",
            Refusal::MalformedKey => "malformed_key",
            Refusal::UnknownKey => "unknown_key",
            Refusal::RevokedKey => "revoked_key",
            Refusal::Network => "network_not_allowed",
            Refusal::Forbidden => "forbidden",
        }
    }
}

/// The row of a refused authentication (event `auth`, outcome `refused`): the key's name and
/// display prefix when the key exists, never what was presented.
pub fn refused(
    context: &CallContext,
    refusal: Refusal,
    key: Option<&ApiKeyRecord>,
    status: u16,
    detail: Option<&str>,
) -> AuditEntry {
    refused_key(
        context,
        refusal,
        key.map(|k| (k.name.as_str(), k.key_prefix.as_str())),
        status,
        detail,
    )
}

/// [`refused`] with the key as its name and display prefix.
pub fn refused_key(
    context: &CallContext,
    refusal: Refusal,
    key: Option<(&str, &str)>,
    status: u16,
    detail: Option<&str>,
) -> AuditEntry {
    let mut details = json!({ "reason": refusal.as_str(), "status": status });
    if let Some((_, prefix)) = key {
        details["key_prefix"] = Value::String(prefix.to_owned());
    }
    if let Some(detail) = detail {
        details["detail"] = Value::String(cut(detail, MAX_DETAIL_CHARS));
    }
    context
        .entry(
            AuditEvent::ApiAuth,
            AuditOutcome::Refused,
            key.map(|(name, _)| name),
        )
        .with_object(context.call())
        .with_details(details)
}

/// The row written once when a source has used up its failure budget (event `auth.blocked`):
/// its further requests get 429 without a row until the budget refills.
pub fn blocked(context: &CallContext) -> AuditEntry {
    context
        .entry(AuditEvent::ApiAuthBlocked, AuditOutcome::Refused, None)
        .with_object(context.call())
        .with_details(json!({ "reason": "too_many_failed_authentications" }))
}

/// The row of a state-changing call whose handler did not commit an audit row with its
/// changes (event `call`): one that changed nothing, for the reason the handler noted
/// (`unchanged`: `replayed`, `conflict`; details `"changed": false`), or, without a note, with
/// the outcome its status implies (`invalid` for 4xx, `error` for 5xx; `ok` only from an
/// endpoint that does not audit in its transaction).
pub fn call(
    context: &CallContext,
    key: &str,
    status: u16,
    unchanged: Option<AuditOutcome>,
) -> AuditEntry {
    let mut details = json!({ "status": status });
    let outcome = match unchanged {
        Some(outcome) => {
            details["changed"] = Value::Bool(false);
            outcome
        }
        None => match status {
            200..=299 => AuditOutcome::Ok,
            409 => AuditOutcome::Conflict,
            429 => AuditOutcome::Limited,
            400..=499 => AuditOutcome::Invalid,
            _ => AuditOutcome::Error,
        },
    };
    context
        .entry(AuditEvent::ApiCall, outcome, Some(key))
        .with_object(context.call())
        .with_details(details)
}

/// The details of a send's audit row: counts and a masked sample of the recipients
/// (`recipients`: the valid ones, canonical), the text's length in characters and SMS
/// `parts` (never the text), and the client's idempotency key (not a secret: it names a
/// request).
pub fn send_details<N: ToString>(
    recipients: &[N],
    invalid: usize,
    parts: usize,
    text_chars: usize,
    idempotency_key: Option<&str>,
) -> Value {
    let sample: Vec<String> = recipients
        .iter()
        .take(SAMPLE_RECIPIENTS)
        .map(|n| mask_number(&n.to_string()))
        .collect();
    let mut details = json!({
        "recipients": recipients.len(),
        "recipients_sample": sample,
        "invalid": invalid,
        "parts": parts,
        "text_chars": text_chars,
    });
    if let Some(key) = idempotency_key {
        details["idempotency_key"] = Value::String(cut(key, 64));
    }
    details
}

/// The audit row of a state-changing call by `client`, to be committed with its changes: give
/// it to the enqueue as its extra write (`then`: more writes after it, e.g. a notification's),
/// then call [`note_enqueue`]. `event` names the call (`message.send`), `object` what it
/// created (the batch id of its messages), `details` come from [`send_details`] or alike.
pub(crate) fn in_transaction(
    store: &Store,
    client: &ApiClient,
    event: AuditEvent,
    object: &str,
    details: Value,
    then: Option<Box<dyn crate::store::AlsoInTransaction + Send>>,
) -> AuditInTransaction {
    let entry = client
        .context
        .entry(event, AuditOutcome::Ok, Some(&client.key.name))
        .with_object(object)
        .with_details(details);
    AuditInTransaction::new(store, entry, then)
}

/// Tells the middleware how an enqueue given [`in_transaction`]'s row ended: queued (the row
/// is committed), or unchanged (a replay or a conflict: the middleware writes a `call` row).
pub fn note_enqueue(client: &ApiClient, outcome: &Result<IdempotentOutcome, StoreError>) {
    match outcome {
        Ok(IdempotentOutcome::Queued { .. }) => client.note(CallNote::AuditedInTransaction),
        Ok(IdempotentOutcome::Replayed { .. }) => {
            client.note(CallNote::Unchanged(AuditOutcome::Replayed))
        }
        Ok(IdempotentOutcome::Mismatch) => client.note(CallNote::Unchanged(AuditOutcome::Conflict)),
        Err(_) => {}
    }
}

enum Item {
    Entry(Box<AuditEntry>),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Default)]
struct SinkState {
    receiver: Mutex<Option<mpsc::Receiver<Item>>>,
    started: OnceLock<()>,
    /// Rows dropped since the writer last recorded a count.
    dropped: AtomicU64,
    /// Rows dropped since the start, for the log.
    dropped_total: AtomicU64,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Entry(e) => f.debug_tuple("Entry").field(&e.event).finish(),
            Item::Flush(_) => f.write_str("Flush"),
        }
    }
}

/// The asynchronous audit writer's input: a bounded channel drained by one background task
/// that appends rows in batches. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditSink {
    sender: mpsc::Sender<Item>,
    state: Arc<SinkState>,
}

impl Default for AuditSink {
    fn default() -> Self {
        AuditSink::new(QUEUE_CAPACITY)
    }
}

impl AuditSink {
    /// A sink holding at most `capacity` rows; nothing is written before [`AuditSink::start`].
    pub fn new(capacity: usize) -> AuditSink {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        AuditSink {
            sender,
            state: Arc::new(SinkState {
                receiver: Mutex::new(Some(receiver)),
                ..SinkState::default()
            }),
        }
    }

    /// Starts the background writer on `store` (once; later calls do nothing). Needs a Tokio
    /// runtime; without one it does nothing and rows wait (or are dropped when the channel is
    /// full).
    pub fn start(&self, store: &Store) {
        if self.state.started.get().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.state.started.get_or_init(|| {
            let receiver = self
                .state
                .receiver
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(receiver) = receiver {
                runtime.spawn(write_rows(store.clone(), receiver, self.state.clone()));
            }
        });
    }

    /// Queues `entry` for the writer without waiting. When the channel is full the row is
    /// dropped and counted (logged at the first drop and every 1,000th); returns whether it
    /// was queued.
    pub fn submit(&self, entry: AuditEntry) -> bool {
        match self.sender.try_send(Item::Entry(Box::new(entry))) {
            Ok(()) => true,
            Err(_) => {
                self.state.dropped.fetch_add(1, Ordering::Relaxed);
                let total = self.state.dropped_total.fetch_add(1, Ordering::Relaxed) + 1;
                if total == 1 || total.is_multiple_of(1000) {
                    tracing::warn!(
                        dropped_total = total,
                        capacity = QUEUE_CAPACITY,
                        "API audit rows dropped: the audit writer is behind (a flood?); the count \
                         is recorded in an audit.dropped row"
                    );
                }
                false
            }
        }
    }

    /// Rows dropped since the start.
    pub fn dropped_total(&self) -> u64 {
        self.state.dropped_total.load(Ordering::Relaxed)
    }

    /// Waits until every row queued before this call is written (or failed). Returns at once
    /// when the writer is gone.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Item::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// The background writer: appends queued rows in batches, one transaction each, and records
/// how many rows were dropped. Ends when every sender is gone.
async fn write_rows(store: Store, mut receiver: mpsc::Receiver<Item>, state: Arc<SinkState>) {
    let mut items = Vec::with_capacity(BATCH_MAX);
    loop {
        items.clear();
        if receiver.recv_many(&mut items, BATCH_MAX).await == 0 {
            return;
        }
        let mut prepared = Vec::with_capacity(items.len());
        let mut flushes = Vec::new();
        for item in items.drain(..) {
            match item {
                Item::Entry(entry) => match entry.prepare() {
                    Ok(row) => prepared.push(row),
                    Err(e) => tracing::error!(error = %e, "an API audit row is invalid; skipped"),
                },
                Item::Flush(done) => flushes.push(done),
            }
        }
        let dropped = state.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let entry = AuditEntry::new(COMPONENT, AuditEvent::AuditDropped, AuditOutcome::Error)
                .with_details(
                    json!({ "rows": dropped, "reason": "the audit writer's queue was full" }),
                );
            match entry.prepare() {
                Ok(row) => prepared.push(row),
                Err(e) => tracing::error!(error = %e, "cannot record dropped audit rows"),
            }
        }
        if !prepared.is_empty()
            && let Err(e) = store.audit_append_many(&prepared).await
        {
            tracing::error!(error = %e, rows = prepared.len(), "cannot write API audit rows; they are lost");
            // The rows are lost; so is the row that counted earlier losses: count both again.
            let lost = prepared.len() as u64 - u64::from(dropped > 0);
            state.dropped.fetch_add(lost + dropped, Ordering::Relaxed);
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditFilter, AuditLog};

    fn context() -> CallContext {
        CallContext::new(
            Some("::ffff:192.0.2.10".parse().expect("ip")),
            "POST",
            "/api/v1/messages",
        )
    }

    #[test]
    fn request_ids_are_128_random_bits_in_hex() {
        let a = new_request_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_request_id());
    }

    #[test]
    fn numbers_are_masked_in_the_middle() {
        assert_eq!(mask_number("+8613800000001"), "+86138****0001");
        assert_eq!(mask_number("10086"), "*****");
    }

    /// Checklist "Audit": who (the key's name, not the key), object, outcome, source and
    /// request id; a long path chosen by the caller is cut so that the row stays valid.
    #[test]
    fn a_refusal_row_names_the_key_source_and_request_but_not_the_key() {
        let context = context();
        let entry = refused_key(
            &context,
            Refusal::RevokedKey,
            Some(("oa", "jx_1a2b3c4d")),
            401,
            Some("revoked"),
        );
        assert_eq!(entry.component, AuditComponent::Api);
        assert_eq!(entry.event, AuditEvent::ApiAuth);
        assert_eq!(entry.outcome, AuditOutcome::Refused);
        assert_eq!(entry.actor.as_deref(), Some("api:oa"));
        assert_eq!(entry.source.as_deref(), Some("192.0.2.10"));
        assert_eq!(
            entry.request_id.as_deref(),
            Some(context.request_id.as_str())
        );
        assert_eq!(entry.object.as_deref(), Some("POST /api/v1/messages"));
        assert_eq!(entry.details["reason"], "revoked_key");
        assert_eq!(entry.details["key_prefix"], "jx_1a2b3c4d");
        entry.prepare().expect("a valid row");
        let long = CallContext::new(None, "GET", &format!("/api/v1/{}", "x".repeat(5000)));
        let unknown = refused(&long, Refusal::UnknownKey, None, 401, None);
        assert_eq!(unknown.actor, None);
        unknown.prepare().expect("a long path is cut");
    }

    /// The send row keeps counts and a masked sample: never the text or the whole list.
    #[test]
    fn send_details_have_counts_and_a_masked_sample_only() {
        let recipients: Vec<String> = (0..10_000).map(|n| format!("+86138{n:08}")).collect();
        let details = send_details(&recipients, 2, 1, 12, Some("req-1"));
        assert_eq!(details["recipients"], 10_000);
        assert_eq!(
            details["recipients_sample"],
            json!(["+86138****0000", "+86138****0001", "+86138****0002"])
        );
        assert_eq!(details["idempotency_key"], "req-1");
        let text = details.to_string();
        assert!(text.len() < 300, "{text}");
        assert!(!text.contains("+8613800000001"));
        let row = context()
            .entry(AuditEvent::MessageSend, AuditOutcome::Ok, Some("oa"))
            .with_details(details);
        row.prepare().expect("a valid row");
    }

    /// Checklist "bursts get 429, memory stays bounded": a full queue drops and counts rows
    /// instead of growing.
    #[test]
    fn a_full_queue_drops_and_counts_rows() {
        let sink = AuditSink::new(3);
        let context = context();
        let sent: Vec<bool> = (0..10)
            .map(|_| sink.submit(refused(&context, Refusal::NoKey, None, 401, None)))
            .collect();
        assert_eq!(sent.iter().filter(|s| **s).count(), 3);
        assert_eq!(sink.dropped_total(), 7);
    }

    async fn queued_rows_are_written_with_the_count_of_dropped_ones(
        db: &crate::store::test_db::TestDb,
    ) {
        let sink = AuditSink::new(2);
        let context = context();
        for _ in 0..5 {
            sink.submit(refused(&context, Refusal::UnknownKey, None, 401, None));
        }
        sink.start(&db.store);
        sink.flush().await;
        let log = AuditLog::new(db.store.clone());
        let rows = log
            .list(
                &AuditFilter {
                    oldest_first: true,
                    ..AuditFilter::default()
                },
                "test",
            )
            .await
            .expect("list");
        let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["auth", "auth", "audit.dropped"], "{rows:?}");
        assert_eq!(rows[2].details["rows"], 3);
        assert!(log.verify().await.expect("verify").is_intact());
    }

    crate::on_both_backends!(crate::store::test_db::TestDb =>
        queued_rows_are_written_with_the_count_of_dropped_ones
    );
}
