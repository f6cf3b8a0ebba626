//! The audit trail: an append-only log of who did what, when, from where and with what outcome
//! (issue 3 item 7; "Audit" in shared/docs/security-checklist.md).
//!
//! Every police query (answered, not found, refused or failed), every change to users, roles,
//! grants, phones and plugins, and every read of the log itself is one row. Rows are
//! - **append-only for everyone**: [`AuditLog`] offers no update or delete, and database triggers
//!   abort any `UPDATE`, `DELETE` (and on PostgreSQL `TRUNCATE`) of `audit_log`, whoever runs it;
//! - **chained and keyed**: each row stores the HMAC-SHA256, keyed with a subkey of the platform
//!   key (`[secrets] key_file`, a file outside the database; see [`crate::secrets`]), of the
//!   previous row's hash and its own fields; rows written before the key existed keep their
//!   plain SHA-256, and the chain records from which row keying starts (the encoding is
//!   documented in `audit/chain.rs`, so that an external auditor with the key file can
//!   re-implement the check). [`AuditLog::verify`] finds a row changed or removed behind the
//!   database's back (trigger dropped, file edited), even when whoever did it recomputed every
//!   later hash: without the key file they cannot compute a keyed row's;
//! - **serialised**: appends take the database's write lock (SQLite `BEGIN IMMEDIATE`,
//!   PostgreSQL an advisory transaction lock) so that concurrent writers, in this process or
//!   another, extend one chain and never fork it;
//! - **committed before use**: [`AuditLog::append`] returns only after the commit, so a caller
//!   that must not answer without an audit row (the router) can rely on it.
//!
//! Secrets stay out: codes, passwords, session ids, tokens and keys must never be passed in an
//! entry. As a safety net, `details` keys that name such things (`password`, `code`, `token`,
//! `session_id`, `api_key`, ...; see [`SECRET_KEYS`]) have their values replaced by
//! `"[redacted]"` before the row is written, with a warning in the log. Free text (`object`) cannot
//! be screened that way: callers put only the command keyword and arguments there.

mod chain;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{Store, StoreError};

pub(crate) use chain::{CanonicalRow, ChainWalker, KeyedFrom, RawAuditRow};
pub use chain::{ChainKey, GENESIS_HASH};

/// Id of an audit row; ids start at 1 and have no gaps.
pub type AuditId = i64;

/// Rows returned by [`AuditLog::list`] when the filter does not say.
pub const DEFAULT_LIST: u32 = 100;
/// The most rows one [`AuditLog::list`] call returns.
pub const MAX_LIST: u32 = 10_000;
/// Largest `details` JSON text accepted, in bytes.
pub const MAX_DETAILS_BYTES: usize = 64 * 1024;
/// Largest `actor`, `phone`, `object`, `source` or `request_id`, in characters.
pub const MAX_TEXT_CHARS: usize = 2048;

/// `details` keys (compared in lower case) whose values are replaced by `"[redacted]"`; keys
/// that contain `password`, `secret` or `token` are redacted too.
pub const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "passcode",
    "pin",
    "otp",
    "totp",
    "code",
    "sms_code",
    "verification_code",
    "session",
    "session_id",
    "sessionid",
    "cookie",
    "authorization",
    "api_key",
    "apikey",
    "secret",
    "token",
];

/// Who makes a change and from where, for the audit row the store commits with it: a
/// signed-in administrator (`admin`, `web 10.0.0.5`), the operating-system user on the command
/// line (`cli:root`, `cli`), or the daemon itself ([`ChangeAuthor::daemon`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeAuthor {
    /// [`AuditEntry::actor`].
    pub actor: String,
    /// [`AuditEntry::source`].
    pub source: String,
}

impl ChangeAuthor {
    /// `actor` acting from `source`.
    pub fn new(actor: impl Into<String>, source: impl Into<String>) -> ChangeAuthor {
        ChangeAuthor {
            actor: actor.into(),
            source: source.into(),
        }
    }

    /// The daemon's own changes (the bundled plugins and the demo datasource at first start).
    pub fn daemon() -> ChangeAuthor {
        ChangeAuthor::new("jingxun", "daemon")
    }

    /// An `ok` row of `component` and `event` about `object`, by this author.
    pub fn entry(&self, component: &str, event: &str, object: &str) -> AuditEntry {
        AuditEntry::new(component, event, "ok")
            .with_actor(self.actor.clone())
            .with_object(object)
            .with_source(Some(&self.source))
    }
}

/// What a row says happened. Build one with [`AuditEntry::new`] and the `with_*` methods, or
/// fill every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it happened, unix milliseconds UTC.
    pub at_ms: i64,
    /// The part of the platform that writes the row: `router`, `cli`, `web`, `directory`,
    /// `plugins`, `audit`... (lower case letters, digits, `.`, `_`, `-`, `:`).
    pub component: String,
    /// What happened: `query`, `phone.add`, `user.grant`, `plugin.install`, `audit.read`...
    pub event: String,
    /// Who: a user login, `cli:<os user>`, an API client. `None` when unknown (an unregistered
    /// phone's query: the phone says who).
    pub actor: Option<String>,
    /// The phone involved, canonical (`+8613800000001`).
    pub phone: Option<String>,
    /// What it was done to. Queries: the keyword, one space and the arguments (`CP 京A12345`),
    /// which is what [`AuditFilter::keyword`] matches. Registry changes: the phone number, the
    /// login, the role.
    pub object: Option<String>,
    /// `answered`, `not_found`, `refused`, `error`, `ok` (lower case letters and `_`).
    pub outcome: String,
    /// Anything else worth keeping (plugin name and version, `latency_ms`, refusal reason),
    /// as JSON; `null` is stored as `{}`. Never secrets (see the module documentation).
    pub details: Value,
    /// Where it came from: the modem's name, `cli`, `web`.
    pub source: Option<String>,
    /// Correlates the rows of one request across components.
    pub request_id: Option<String>,
}

impl AuditEntry {
    /// An entry happening now with no actor, phone, object, source, request id or details.
    pub fn new(component: &str, event: &str, outcome: &str) -> AuditEntry {
        AuditEntry {
            at_ms: crate::clock::now_ms(),
            component: component.to_owned(),
            event: event.to_owned(),
            actor: None,
            phone: None,
            object: None,
            outcome: outcome.to_owned(),
            details: Value::Object(serde_json::Map::new()),
            source: None,
            request_id: None,
        }
    }

    /// Sets the actor.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Sets the phone.
    pub fn with_phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Sets the object.
    pub fn with_object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    /// Sets the details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Sets the source (or leaves it unset for `None`).
    pub fn with_source(mut self, source: Option<&str>) -> Self {
        self.source = source.map(str::to_owned);
        self
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Checks the entry and turns it into the row to store (without id and hashes):
    /// secrets redacted, `details` serialised.
    pub(crate) fn prepare(&self) -> Result<PreparedEntry, AuditError> {
        if self.at_ms <= 0 {
            return Err(invalid(
                "at_ms",
                "must be a positive unix time in milliseconds",
            ));
        }
        check_token("component", &self.component, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || "._-:".contains(c)
        })?;
        check_token("event", &self.event, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)
        })?;
        check_token("outcome", &self.outcome, |c| {
            c.is_ascii_lowercase() || c == '_'
        })?;
        for (field, value) in [
            ("actor", &self.actor),
            ("phone", &self.phone),
            ("object", &self.object),
            ("source", &self.source),
            ("request_id", &self.request_id),
        ] {
            if let Some(v) = value
                && v.chars().count() > MAX_TEXT_CHARS
            {
                return Err(invalid(
                    field,
                    format!("is longer than {MAX_TEXT_CHARS} characters"),
                ));
            }
        }
        let mut details = match &self.details {
            Value::Null => Value::Object(serde_json::Map::new()),
            other => other.clone(),
        };
        let redacted = redact_secrets(&mut details);
        if redacted > 0 {
            tracing::warn!(
                event = %self.event,
                component = %self.component,
                redacted,
                "audit details named secrets; their values were redacted (fix the caller)"
            );
        }
        let details = details.to_string();
        if details.len() > MAX_DETAILS_BYTES {
            return Err(invalid(
                "details",
                format!(
                    "is {} bytes of JSON, more than {MAX_DETAILS_BYTES}; keep only what identifies the event",
                    details.len()
                ),
            ));
        }
        Ok(PreparedEntry {
            at: self.at_ms,
            component: self.component.clone(),
            event: self.event.clone(),
            actor: self.actor.clone(),
            phone: self.phone.clone(),
            object: self.object.clone(),
            outcome: self.outcome.clone(),
            details,
            source: self.source.clone(),
            request_id: self.request_id.clone(),
        })
    }
}

/// An entry checked and ready to be stored.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEntry {
    pub at: i64,
    pub component: String,
    pub event: String,
    pub actor: Option<String>,
    pub phone: Option<String>,
    pub object: Option<String>,
    pub outcome: String,
    pub details: String,
    pub source: Option<String>,
    pub request_id: Option<String>,
}

impl PreparedEntry {
    /// The fields the hash covers, for the row that will get `id`.
    pub fn canonical(&self, id: AuditId) -> CanonicalRow<'_> {
        CanonicalRow {
            id,
            at: self.at,
            component: &self.component,
            event: &self.event,
            actor: self.actor.as_deref(),
            phone: self.phone.as_deref(),
            object: self.object.as_deref(),
            outcome: &self.outcome,
            details: &self.details,
            source: self.source.as_deref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

fn check_token(
    field: &'static str,
    value: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<(), AuditError> {
    if value.is_empty() || value.len() > 64 {
        return Err(invalid(field, "must have 1 to 64 characters"));
    }
    if let Some(c) = value.chars().find(|&c| !allowed(c)) {
        return Err(invalid(
            field,
            format!(
                "`{value}` contains `{c}`; use lower case letters, digits and the separators allowed"
            ),
        ));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: impl Into<String>) -> AuditError {
    AuditError::InvalidEntry {
        field,
        reason: reason.into(),
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&key.as_str())
        || ["password", "secret", "token"]
            .iter()
            .any(|word| key.contains(word))
}

/// Replaces the values of secret-looking keys, at any depth; returns how many.
fn redact_secrets(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, v)| {
                if is_secret_key(key) {
                    *v = Value::String("[redacted]".into());
                    1
                } else {
                    redact_secrets(v)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(redact_secrets).sum(),
        _ => 0,
    }
}

/// A stored row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: AuditId,
    /// Unix milliseconds UTC.
    pub at_ms: i64,
    pub component: String,
    pub event: String,
    pub actor: Option<String>,
    pub phone: Option<String>,
    pub object: Option<String>,
    pub outcome: String,
    pub details: Value,
    pub source: Option<String>,
    pub request_id: Option<String>,
    /// Hash of the row before (64 zeros for row 1).
    pub prev_hash: String,
    /// HMAC-SHA256 with the audit subkey (SHA-256 for rows written before the platform key
    /// existed), hex, of `prev_hash` and this row's fields (see `audit/chain.rs`).
    pub hash: String,
}

impl From<RawAuditRow> for AuditRecord {
    fn from(r: RawAuditRow) -> Self {
        // A details text that is not JSON (only possible by editing the database) is shown as
        // the string it is, rather than hiding the row.
        let details = serde_json::from_str(&r.details).unwrap_or(Value::String(r.details));
        AuditRecord {
            id: r.id,
            at_ms: r.at,
            component: r.component,
            event: r.event,
            actor: r.actor,
            phone: r.phone,
            object: r.object,
            outcome: r.outcome,
            details,
            source: r.source,
            request_id: r.request_id,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Which rows [`AuditLog::list`] returns. All conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFilter {
    /// Only rows about this phone (canonical form; see [`crate::phone::PhoneNumber`]).
    pub phone: Option<String>,
    /// Only rows whose object is this command keyword, alone or followed by a space and
    /// arguments (`CP` matches `CP 京A12345`). Letters and digits; compared in upper case.
    pub keyword: Option<String>,
    /// Only this event (`query`, `phone.add`...).
    pub event: Option<String>,
    /// Only rows by this actor.
    pub actor: Option<String>,
    /// Only rows at or after this time (unix ms).
    pub since_ms: Option<i64>,
    /// Only rows before this time (unix ms).
    pub until_ms: Option<i64>,
    /// Only rows with ids below this (paging back through the log).
    pub before_id: Option<AuditId>,
    /// At most this many rows (1 to [`MAX_LIST`]).
    pub limit: u32,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
}

impl Default for AuditFilter {
    fn default() -> Self {
        AuditFilter {
            phone: None,
            keyword: None,
            event: None,
            actor: None,
            since_ms: None,
            until_ms: None,
            before_id: None,
            limit: DEFAULT_LIST,
            oldest_first: false,
        }
    }
}

impl AuditFilter {
    /// Checks the filter; the keyword comes back in upper case.
    pub(crate) fn normalised(&self) -> Result<AuditFilter, AuditError> {
        if self.limit == 0 || self.limit > MAX_LIST {
            return Err(AuditError::InvalidFilter(format!(
                "limit {} is outside 1..={MAX_LIST}",
                self.limit
            )));
        }
        let keyword = match &self.keyword {
            None => None,
            Some(k) => {
                let k = k.trim().to_uppercase();
                if k.is_empty() || k.chars().count() > 32 || !k.chars().all(char::is_alphanumeric) {
                    return Err(AuditError::InvalidFilter(format!(
                        "keyword `{k}` must be 1 to 32 letters or digits, like CP"
                    )));
                }
                Some(k)
            }
        };
        Ok(AuditFilter {
            keyword,
            ..self.clone()
        })
    }
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// Rows walked.
    pub rows: u64,
    /// The first row whose id, link or hash is wrong; `None` when the chain is intact.
    pub first_broken: Option<i64>,
    /// What is wrong at [`ChainCheck::first_broken`].
    pub broken_because: Option<ChainBreak>,
    /// The hash of the last row walked. Writing it down elsewhere (a printed report, another
    /// system) lets a later check prove that no row at the end was removed.
    pub head_hash: Option<String>,
    /// The first row hashed with the platform key; the rows before it were written before the
    /// key existed and carry plain SHA-256. `None`: no row is keyed yet (the next one written
    /// will be).
    pub keyed_from: Option<i64>,
    /// Rows walked that are keyed.
    pub keyed_rows: u64,
}

/// Why [`ChainCheck::first_broken`] does not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainBreak {
    /// Its id does not follow the row before: rows were removed there.
    Gap,
    /// Its `prev_hash` is not the previous row's hash: the row before was changed or replaced.
    Link,
    /// An unkeyed row (from before the key) whose SHA-256 does not match its fields: changed.
    Hash,
    /// A keyed row whose HMAC does not match its fields: it was changed (and perhaps re-hashed
    /// by someone without the key), or the key file is not the one the log was keyed with.
    KeyedHash,
    /// The record of where keying starts does not verify with this key: the key file is not
    /// the one the log was keyed with, the rows before keying started were rewritten, or the
    /// log was cut off before that row.
    KeyedFrom,
}

impl ChainBreak {
    /// The reason in a sentence, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            ChainBreak::Gap => "rows before it were removed (its id does not follow)",
            ChainBreak::Link => {
                "it does not link to the row before (that row was changed or replaced)"
            }
            ChainBreak::Hash => "its fields do not match its SHA-256 (it was changed)",
            ChainBreak::KeyedHash => {
                "keyed-chain mismatch: its fields do not match its keyed hash (it was changed \
                 and re-hashed without the key, or this is not the key the log was keyed with)"
            }
            ChainBreak::KeyedFrom => {
                "keyed-chain mismatch: the record of where keying starts does not verify with \
                 this key (another key file, rows before it rewritten, or the log cut off)"
            }
        }
    }
}

impl ChainCheck {
    /// Whether every row checked out.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// What went wrong with the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The entry cannot be stored as given (a programming error of the caller).
    #[error("invalid audit entry: {field} {reason}")]
    InvalidEntry { field: &'static str, reason: String },
    /// The filter cannot be used.
    #[error("invalid audit filter: {0}")]
    InvalidFilter(String),
    /// The store was opened without the platform key, which keyed rows need.
    #[error(
        "the audit log needs the platform key to append or verify: open the store with \
         [secrets] key_file loaded (jingxun::secrets::open_store)"
    )]
    NoKey,
    /// The log was keyed with another key than the one loaded.
    #[error(
        "the audit log was keyed from row {keyed_from} with another platform key than the one \
         loaded from secrets.key_file: set secrets.key_file to the key file the log was keyed \
         with (restore it from its backup); `jingxun audit verify` shows where the chain breaks"
    )]
    KeyMismatch {
        /// The first keyed row.
        keyed_from: i64,
    },
    /// The database failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuditError {
    fn from(e: sqlx::Error) -> Self {
        AuditError::Store(StoreError::Database(e))
    }
}

/// The audit log on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditLog {
    store: Store,
    source: Option<String>,
}

/// Rows read per query while verifying.
const VERIFY_PAGE: u32 = 1000;

impl AuditLog {
    /// The audit log kept in `store`.
    pub fn new(store: Store) -> Self {
        AuditLog {
            store,
            source: None,
        }
    }

    /// Sets the `source` of the rows this log writes itself (`audit.read`), e.g. `cli`, `web`.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Appends one row and returns its id once committed. Fails (and writes nothing) when the
    /// entry is invalid or the database fails: a caller that must not act without an audit row
    /// stops there.
    pub async fn append(&self, entry: AuditEntry) -> Result<AuditId, AuditError> {
        let prepared = entry.prepare()?;
        self.store.audit_append(&prepared).await
    }

    /// Appends several rows in one transaction, in order, and returns their ids once
    /// committed: all or none. Cheaper than one [`AuditLog::append`] each when a caller
    /// handles a batch (one commit and one disk flush instead of one per row).
    pub async fn append_many(&self, entries: Vec<AuditEntry>) -> Result<Vec<AuditId>, AuditError> {
        let prepared = entries
            .iter()
            .map(AuditEntry::prepare)
            .collect::<Result<Vec<_>, _>>()?;
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        self.store.audit_append_many(&prepared).await
    }

    /// The rows matching `filter`, newest first unless it says otherwise. Reading the log is
    /// itself audited: an `audit.read` row by `reader` (with the filter in its details) is
    /// committed before the rows are returned, and without it nothing is returned.
    pub async fn list(
        &self,
        filter: &AuditFilter,
        reader: &str,
    ) -> Result<Vec<AuditRecord>, AuditError> {
        let filter = filter.normalised()?;
        let rows = self.store.audit_list(&filter).await?;
        let entry = AuditEntry::new("audit", "audit.read", "ok")
            .with_actor(reader)
            .with_object("audit_log")
            .with_source(self.source.as_deref())
            .with_details(serde_json::json!({ "filter": filter, "rows": rows.len() }));
        self.append(entry).await?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }

    /// Walks the whole chain from row 1 and reports the first row that does not check out.
    /// Reads in pages, so it runs in bounded memory beside appends (rows appended while it runs
    /// may or may not be included).
    ///
    /// Keyed rows are checked with the store's platform key ([`AuditError::NoKey`] without one).
    pub async fn verify(&self) -> Result<ChainCheck, AuditError> {
        let key = self.store.audit_key().ok_or(AuditError::NoKey)?;
        let keyed = self.store.audit_keyed_record().await?;
        let check = self.walk(key.clone(), keyed.clone()).await?;
        if keyed.is_none() && !check.is_intact() {
            // Keying may have started while the walk ran (the first keyed rows, taken for
            // unkeyed ones): walk once more with the record as it is now.
            let now = self.store.audit_keyed_record().await?;
            if now.is_some() {
                return self.walk(key, now).await;
            }
        }
        Ok(check)
    }

    async fn walk(
        &self,
        key: ChainKey,
        keyed: Option<KeyedFrom>,
    ) -> Result<ChainCheck, AuditError> {
        let mut walker = ChainWalker::new(key, keyed);
        loop {
            let page = self.store.audit_page(walker.last_id(), VERIFY_PAGE).await?;
            let full = page.len() == VERIFY_PAGE as usize;
            page.iter().for_each(|row| walker.check(row));
            if !full {
                break;
            }
        }
        Ok(walker.finish())
    }
}

#[cfg(test)]
mod tests;
