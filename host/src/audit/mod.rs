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
//!   documented in `store/audit/chain.rs`, so that an external auditor with the key file can
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

use serde::Serialize;
use serde_json::Value;

use crate::store::{Store, StoreError};

use chain::ChainWalker;
// What a row holds, how it is checked and hashed, and the filter of a listing are the store's,
// which writes the rows in the transactions of the changes they record; they are named here,
// with the rules above them.
pub use crate::store::audit::{
    AuditComponent, AuditEntry, AuditEvent, AuditFilter, AuditId, AuditOutcome, ChainKey,
    ChangeAuthor, DEFAULT_LIST, GENESIS_HASH, MAX_DETAILS_BYTES, MAX_LIST, MAX_TEXT_CHARS,
    SECRET_KEYS, UnknownWord,
};
pub(crate) use crate::store::audit::{KeyedFrom, RawAuditRow};

/// A stored row, as stored: its words are text, so that a row an older release wrote or
/// someone edited by hand is still shown (and its chain checked) as it is.
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

// The filter is the store's (it builds the query from it); what a usable filter is, is the
// audit log's rule.
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
         [secrets] key_file loaded (jingxun::store::open_store)"
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
    Store(StoreError),
}

/// The store's audit failures as the audit log's own (an invalid entry, a missing or wrong
/// key); the rest as the store's.
impl From<StoreError> for AuditError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AuditRow(cause) => AuditError::from(*cause),
            StoreError::InvalidAuditEntry { field, reason } => {
                AuditError::InvalidEntry { field, reason }
            }
            StoreError::NoAuditKey => AuditError::NoKey,
            StoreError::AuditKeyMismatch { keyed_from } => AuditError::KeyMismatch { keyed_from },
            e => AuditError::Store(e),
        }
    }
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
        Ok(self.store.audit_append(&prepared).await?)
    }

    /// Appends several rows in one transaction, in order, and returns their ids once
    /// committed: all or none. Cheaper than one [`AuditLog::append`] each when a caller
    /// handles a batch (one commit and one disk flush instead of one per row).
    pub async fn append_many(&self, entries: Vec<AuditEntry>) -> Result<Vec<AuditId>, AuditError> {
        let prepared = entries
            .iter()
            .map(AuditEntry::prepare)
            .collect::<Result<Vec<_>, StoreError>>()?;
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.audit_append_many(&prepared).await?)
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
        let entry = AuditEntry::new(
            AuditComponent::Audit,
            AuditEvent::AuditRead,
            AuditOutcome::Ok,
        )
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
