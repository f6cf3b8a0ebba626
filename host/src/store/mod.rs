//! The durable message store: inbound and outbound messages, their parts and states, on SQLite
//! (the embedded default) or PostgreSQL through sqlx's `Any` driver.
//!
//! One query text serves both backends (`$1, $2` placeholders, which sqlx-sqlite binds by
//! number; a test checks it). The few places where they must differ branch on [`Backend`]:
//! write transactions (`BEGIN IMMEDIATE` on SQLite), claiming (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), row and advisory locks that serialise writers on PostgreSQL (SQLite has one
//! writer anyway), and the placeholders of the bulk INSERT of [`Store::enqueue`] (anonymous `?`
//! on SQLite, whose `$N` lookup is quadratic in large statements). Migrations live in
//! `migrations/sqlite` and `migrations/postgres` (same tables, columns and meaning) and run at
//! [`Store::connect`]. Timestamps are unix milliseconds UTC, always passed in by the caller
//! (`now_ms`), so that tests are deterministic and one clock decides.
//!
//! # Outbound states
//! ```text
//!  enqueue ──► queued ──claim──► sending ──mark_sent──► sent ──all parts reported──► delivered
//!               ▲   │              │  │                   └──a part reported failed──► failed
//!   mark_retry  │   │ valid_until  │  └─mark_failed, or mark_retry after max_attempts──► failed
//!   (attempts   └───┼──────────────┘      (dead letter: last_error says why)
//!    left)          └──► expired   (never claimed once valid_until has passed)
//! ```
//! A `sending` message carries a lease (`lease_owner`, `lease_until`). A worker that dies
//! (kill -9, power loss) simply stops renewing it; once `lease_until` has passed the message is
//! claimable again, with `attempts` counted up and the parts already sent listed, so that the
//! next worker resends only the parts that were never acknowledged by `+CMGS`. A message whose
//! holder died `max_attempts` times is dead-lettered (`failed`) instead of retried forever.
//!
//! Inbound states: `received` (complete), or `partial` (a concatenated set that stayed
//! incomplete; missing parts show as `[…]` in the text).
//!
//! # Guarantees
//! - "Accepted" means committed: [`Store::enqueue`] returns only after the commit, and SQLite
//!   runs with WAL and `synchronous=FULL`, so accepted messages survive a crash or power loss.
//! - Delivery to the network is **at least once**. The store cannot know whether a part whose
//!   `+CMGS` answer was lost in a crash reached the network; it will be sent again. The window
//!   is kept as small as the modem protocol allows: [`Store::record_part_sent`] commits right
//!   after each `+CMGS` answer, and a retry resends only parts not recorded.
//! - Claiming is exclusive: on SQLite inside `BEGIN IMMEDIATE` (one writer at a time), on
//!   PostgreSQL with `FOR UPDATE SKIP LOCKED`; sending happens outside the transaction, under the
//!   lease. Finishing calls (`mark_*`) check the lease owner and answer
//!   [`StoreError::LeaseLost`] if another worker took the message over.
//! - Inbound parts are stored before anything else happens to them (one transaction per part);
//!   exact duplicates (network resends) are recognised and stored once.
//! - Status reports are idempotent: a part's first final report (delivered or failed) wins;
//!   duplicates and out-of-order reports change nothing else.
//!
//! # Testing against PostgreSQL
//! Tests run on SQLite always and on PostgreSQL when `JINGXUN_TEST_POSTGRES_URL` is set. Each
//! PostgreSQL test creates its own schema and connects with a URL carrying
//! `options=-csearch_path%3D<schema>`: [`Store::connect`] accepts any URL that sqlx accepts, so
//! production can use the same mechanism to place the tables in a schema of its choice.

pub(crate) mod accounts;
pub(crate) mod address_book;
mod api_inbound;
mod api_keys;
pub(crate) mod audit;
pub mod backup;
mod batch;
pub(crate) mod channels;
pub(crate) mod directory;
mod inbound;
mod inbox;
pub(crate) mod members;
pub(crate) mod news_dispatch;
mod notifications;
mod open;
mod outbound;
mod plugin_events;
mod plugin_state;
mod plugins;
mod query;
pub mod retention;
pub(crate) mod subscriptions;
#[cfg(test)]
pub(crate) mod test_db;
#[cfg(test)]
mod tests;
pub(crate) mod totp;
mod web_admin;

use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row, Transaction};

use crate::sms::Encoding;

pub use api_inbound::{
    ApiInboxEntry, ClaimedDelivery, DeliveryOutcome, DeliveryRecord, InboundRoute, RouteKind,
};
/// The extra writes of an enqueue's transaction (the API call's audit row, a notice's status).
pub(crate) use api_keys::AlsoInTransaction;
pub use api_keys::{ApiKeyRecord, IdempotentOutcome, NewApiKey};
pub use batch::GroupOutcome;
pub(crate) use batch::{Answer, GroupedEnqueue};
pub use inbound::{DUPLICATE_WINDOW, InboundOutcome, MISSING_PART, MalformedPdu, NewInboundPart};
pub(crate) use inbox::InboxCompletion;
pub use inbox::InboxMessage;
pub(crate) use notifications::CitizenStatusWrite;
pub use notifications::{CitizenApplication, CitizenStatusUpdate, OaRecipient, TemplateRecord};
pub use open::{OpenStoreError, open_store};
pub use outbound::{ClaimedMessage, DEFAULT_MAX_ATTEMPTS, MAX_CLAIM, NewOutbound, SentPart};
pub use plugin_events::{ClaimedEvent, DeliveryState, EventDelivery, EventKind, EventPayload};
pub use plugin_state::{PluginCommit, PluginCommitError, StateEntry, StateQuota, StateUsage};
pub use plugins::{
    DatasourceRecord, GrantKind, NewPluginVersion, PluginGrant, PluginRecord, PluginStoreError,
    PluginVersionRecord,
};
pub use query::{MAX_LIST, MessageFilter, QueueDepths, Traffic};
pub use web_admin::{STASH_MS, StashKind, WebSendError, WebSendRecord};

/// Database id of a message (`messages.id`).
pub type MessageId = i64;

/// How long a status report can still be matched to the part it reports on.
pub const STATUS_REPORT_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// What went wrong in the store. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL cannot be used.
    #[error(
        "the database URL `{url}` cannot be used: {reason}; use sqlite://PATH (created if \
         missing), sqlite::memory: or postgres://USER@HOST:PORT/DATABASE"
    )]
    InvalidUrl { url: String, reason: String },
    /// Connecting to the database failed.
    #[error(
        "cannot open the database `{url}`: {source}; for SQLite check that the directory exists \
         and is writable, for PostgreSQL that the server runs and accepts this user"
    )]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// Applying the schema migrations failed.
    #[error(
        "applying the database migrations failed: {0}; the database may belong to a newer \
         Jingxun or have been changed by hand: restore a backup or use a fresh database"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database failure (disk full, server gone, lock timeout...).
    #[error(
        "database error: {0}; nothing was changed by the failed call: check disk space and the \
         database server, then retry"
    )]
    Database(#[from] sqlx::Error),
    /// The message does not exist.
    #[error("message {id} does not exist; check the id (it may have been deleted by retention)")]
    NotFound { id: MessageId },
    /// The caller no longer holds the lease of the message.
    #[error(
        "message {id} is no longer leased by `{owner}` (its lease expired and another worker \
         took it over, or it was already finished); stop working on it"
    )]
    LeaseLost { id: MessageId, owner: String },
    /// The call conflicts with what the store already knows about the message.
    #[error("message {id}: {reason}")]
    Conflict { id: MessageId, reason: String },
    /// The caller passed a value the store refuses.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    /// A row holds a value this version does not understand.
    #[error(
        "the database holds an unexpected value in {column}: `{value}`; the database may belong \
         to a newer Jingxun or have been edited by hand"
    )]
    Corrupt { column: &'static str, value: String },
    /// An audit entry cannot be stored as given (a programming error of the caller).
    #[error("invalid audit entry: {field} {reason}")]
    InvalidAuditEntry { field: &'static str, reason: String },
    /// The store was opened without the platform key, which keyed audit rows need.
    #[error(
        "the audit log needs the platform key to append or verify: open the store with \
         [secrets] key_file loaded (jingxun::store::open_store)"
    )]
    NoAuditKey,
    /// The audit log was keyed with another key than the one loaded.
    #[error(
        "the audit log was keyed from row {keyed_from} with another platform key than the one \
         loaded from secrets.key_file: set secrets.key_file to the key file the log was keyed \
         with (restore it from its backup); `jingxun audit verify` shows where the chain breaks"
    )]
    AuditKeyMismatch {
        /// The first keyed row.
        keyed_from: i64,
    },
    /// The audit row of a change could not be written (the cause says why), so the change was
    /// not made: a change and its row are committed together or not at all.
    #[error("nothing was changed because its audit row could not be written: {0}")]
    AuditRow(#[source] Box<StoreError>),
}

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// SQLite file (or `:memory:` for tests): the embedded default.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Recognises the backend from the URL scheme.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::InvalidUrl {
                url: redact_url(url),
                reason: "unknown scheme".into(),
            })
        }
    }
}

/// Direction of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received from a phone.
    In,
    /// Sent (or to be sent) to a phone.
    Out,
}

/// State of a message; see the module documentation for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    /// Outbound, waiting for `next_attempt_at`.
    Queued,
    /// Outbound, leased by a worker that is sending it.
    Sending,
    /// Outbound, every part accepted by the network.
    Sent,
    /// Outbound, every part reported delivered.
    Delivered,
    /// Outbound, permanently failed (or dead-lettered); `last_error` says why.
    Failed,
    /// Outbound, its validity ended before it could be sent.
    Expired,
    /// Inbound, complete.
    Received,
    /// Inbound, a concatenated set that stayed incomplete.
    Partial,
}

/// What a message's peer is. An alphanumeric sender (TP-OA type of number alphanumeric) names
/// itself as it likes: its name is kept as it came, never read as a phone number, so that it
/// cannot pass for a registered phone (issue 18 finding 6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PeerKind {
    /// A phone number or a short code (every outbound peer).
    #[default]
    Number,
    /// An inbound sender's alphanumeric name (`ICBC`): no reply can be sent to it.
    Alphanumeric,
}

/// State of one part of an outbound message (inbound parts are always `Received`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartState {
    /// Not yet accepted by the network.
    Pending,
    /// Accepted (`+CMGS`), no final report yet.
    Sent,
    /// Reported delivered.
    Delivered,
    /// Reported failed.
    Failed,
    /// An inbound part.
    Received,
}

macro_rules! string_enum {
    ($ty:ident, $column:literal, { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),* }
            }
        }
        impl FromStr for $ty {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, StoreError> {
                match s {
                    $($text => Ok($ty::$variant),)*
                    other => Err(StoreError::Corrupt { column: $column, value: other.to_owned() }),
                }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(Direction, "messages.direction", { In => "in", Out => "out" });
string_enum!(PeerKind, "messages.peer_kind", {
    Number => "number", Alphanumeric => "alphanumeric",
});
string_enum!(MessageState, "messages.state", {
    Queued => "queued", Sending => "sending", Sent => "sent", Delivered => "delivered",
    Failed => "failed", Expired => "expired", Received => "received", Partial => "partial",
});
string_enum!(PartState, "message_parts.state", {
    Pending => "pending", Sent => "sent", Delivered => "delivered", Failed => "failed",
    Received => "received",
});

/// A message as stored. Times are unix milliseconds UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRecord {
    pub id: MessageId,
    pub direction: Direction,
    /// The other party's number, or an inbound sender's alphanumeric name.
    pub peer: String,
    /// Whether `peer` is a number or an alphanumeric name.
    pub peer_kind: PeerKind,
    /// Which of our numbers sent or received it, when known.
    pub service_number: Option<String>,
    pub text: String,
    /// Unknown for outbound messages until the first part is sent.
    pub encoding: Option<Encoding>,
    pub state: MessageState,
    pub parts_total: Option<u8>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    /// The modem that sent (last) or received it.
    pub modem: Option<String>,
    pub priority: i32,
    pub status_report: bool,
    pub concat_reference: Option<u16>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Outbound: when the last part was accepted. Inbound: the service-centre time stamp (SCTS)
    /// of the earliest part.
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub valid_until: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    /// Groups the recipients of one send.
    pub batch_id: Option<String>,
}

/// One part of a message. Outbound parts fill `message_reference`, `status`, `reported_at`;
/// inbound parts fill `raw_pdu` and `text`, and `sent_at` is their SCTS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartRecord {
    pub message_id: MessageId,
    /// 1-based position in the concatenated set.
    pub seq: u8,
    pub state: PartState,
    pub modem: Option<String>,
    /// TP-MR from `+CMGS: <mr>`.
    pub message_reference: Option<u8>,
    /// TP-ST of the latest status report.
    pub status: Option<u8>,
    pub sent_at: Option<i64>,
    pub reported_at: Option<i64>,
    /// Hex of the PDU exactly as the modem gave it (inbound only).
    pub raw_pdu: Option<String>,
    /// Text of this part (inbound only).
    pub text: Option<String>,
}

/// Handle on the message store; cheap to clone (it wraps the connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The key of the audit chain's keyed rows ([`Store::with_secrets`]); audit appends fail
    /// without it. The library's own tests get a fixed test key from [`Store::connect`].
    audit_key: Option<audit::ChainKey>,
    /// Whether this key was found to match the log's keying record (`store/audit.rs`), so
    /// that appends check it once rather than every time.
    audit_key_checked: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The platform key, for what the store keeps sealed or keyed with its subkeys (web
    /// users' TOTP secrets and recovery codes, `auth/totp.rs`): set with
    /// [`Store::with_secrets`]; the library's own tests get the fixed test key.
    secrets: Option<crate::secrets::Secrets>,
}

/// SQLite settings applied to every connection. `synchronous=FULL`: with WAL, NORMAL may lose
/// the last commits on power loss, and an accepted message must not be lost. The others are for
/// the API's write rate (issue 5's benchmark): statement journals in memory rather than in
/// temporary files; a 16 MiB page cache (the default 2 MiB re-reads index pages on every large
/// insert); and checkpoints split in two. The daemon copies the WAL back into the database in
/// the background every [`CHECKPOINT_INTERVAL`] ([`Store::checkpoint`]), which is most of the
/// work; the writer's own automatic checkpoint, once the WAL holds 4,096 pages (16 MiB), then
/// only has the last few commits' pages left to copy, and lets the next commit start the WAL
/// from its beginning again (a background checkpoint alone never can while writes keep coming,
/// and the WAL would grow without end). The file is cut back to 64 MiB when it restarts.
/// Measured with 100-recipient requests: the default (the writer checkpoints every 1,000 pages)
/// gave a p99 of 131 ms at 36,000 recipients/s; this, 57–87 ms at 58,000–64,000.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA foreign_keys = ON",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -16384",
    "PRAGMA wal_autocheckpoint = 4096",
    "PRAGMA journal_size_limit = 67108864",
];

/// How often the daemon checkpoints the SQLite WAL ([`Store::checkpoint`]). Often, so that
/// each checkpoint's flush of the database file is small: its fsync holds up the fsync of the
/// commit running at the same time (at 250 ms, one group commit in forty took 100–200 ms).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

static INSTALL_DRIVERS: Once = Once::new();

/// The platform key of a store just connected: none (see [`default_audit_key`]), the fixed
/// test key in the library's own tests.
fn default_secrets() -> Option<crate::secrets::Secrets> {
    #[cfg(test)]
    return Some(crate::secrets::Secrets::for_tests());
    #[cfg(not(test))]
    None
}

/// The audit key of a store just connected: none (the daemon and the command line add the
/// platform key with [`Store::with_secrets`]); in the library's own tests, a fixed test key, so
/// that every test store can append audit rows.
fn default_audit_key() -> Option<audit::ChainKey> {
    #[cfg(test)]
    return Some(audit::ChainKey::from_secrets(
        &crate::secrets::Secrets::for_tests(),
    ));
    #[cfg(not(test))]
    None
}

impl Store {
    /// Opens the database and brings its schema up to date.
    ///
    /// `url` is `sqlite://PATH` (the file is created if missing; its directory must exist),
    /// `sqlite::memory:` (tests only: a private database that lives as long as the store), or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` with any parameter sqlx accepts
    /// (e.g. `options=-csearch_path%3Dmyschema` to use a schema).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        INSTALL_DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::from_url(url)?;
        let redacted = redact_url(url);
        let (connect_url, in_memory) = match backend {
            Backend::Sqlite => sqlite_connect_url(url),
            Backend::Postgres => (url.to_owned(), false),
        };
        let options =
            AnyConnectOptions::from_str(&connect_url).map_err(|e| StoreError::InvalidUrl {
                url: redacted.clone(),
                reason: e.to_string(),
            })?;
        let mut pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        pool_options = match backend {
            Backend::Sqlite => pool_options
                // WAL lets readers run beside the one writer; writers queue on busy_timeout.
                .max_connections(if in_memory { 1 } else { 4 })
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        for pragma in SQLITE_PRAGMAS {
                            conn.execute(*pragma).await?;
                        }
                        Ok(())
                    })
                }),
            Backend::Postgres => pool_options.max_connections(8),
        };
        if in_memory {
            // Every connection to `:memory:` is a database of its own: keep exactly one, forever.
            pool_options = pool_options
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool =
            pool_options
                .connect_with(options)
                .await
                .map_err(|source| StoreError::Connect {
                    url: redacted.clone(),
                    source,
                })?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await?,
        }
        tracing::info!(url = %redacted, ?backend, "message store ready");
        Ok(Store {
            pool,
            backend,
            audit_key: default_audit_key(),
            audit_key_checked: Default::default(),
            secrets: default_secrets(),
        })
    }

    /// This store, keying the audit chain with the platform key's audit subkey (see
    /// [`open_store`], which every writer uses).
    pub fn with_secrets(mut self, secrets: &crate::secrets::Secrets) -> Store {
        self.secrets = Some(secrets.clone());
        self.with_audit_key(audit::ChainKey::from_secrets(secrets))
    }

    /// The platform key this store was given ([`Store::with_secrets`]), if any.
    pub(crate) fn secrets(&self) -> Option<&crate::secrets::Secrets> {
        self.secrets.as_ref()
    }

    /// This store, keying the audit chain with `key`.
    pub fn with_audit_key(mut self, key: audit::ChainKey) -> Store {
        self.audit_key = Some(key);
        self.audit_key_checked = Default::default();
        self
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Copies the pages committed to SQLite's write-ahead log back into the database file,
    /// beside the writer and the readers rather than inside a commit
    /// (`PRAGMA wal_checkpoint(PASSIVE)`: it takes no lock that they wait for, and copies what
    /// no reader still needs); nothing on PostgreSQL. Returns the WAL pages not yet copied.
    pub async fn checkpoint(&self) -> Result<i64, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(0);
        }
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&self.pool)
            .await?;
        // (busy, pages in the WAL, pages copied); -1 when the database is not in WAL mode.
        let logged: i64 = row.try_get(1)?;
        let copied: i64 = row.try_get(2)?;
        Ok((logged - copied).max(0))
    }

    /// Closes every connection, waiting for those in use to be returned; when it returns, none
    /// is open (a restore then takes the file out of WAL mode, which needs it to itself).
    pub async fn close(&self) {
        // sqlx 0.8's `Pool::close` alone can return with a connection still open
        // (launchbadge/sqlx#3217, fixed after 0.8.6): a connection whose return to the pool
        // began before the close lands in the idle queue after the close emptied it for the last
        // time, and stays open, its SQLite file locked, for as long as the pool lives. Closing
        // again empties the queue once more; `size` counts every connection not yet closed, and
        // sqlx offers nothing to await, hence the short sleeps.
        self.pool.close().await;
        while self.pool.size() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.pool.close().await;
        }
    }

    /// Starts a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock
    /// is taken (waiting up to `busy_timeout`) before anything is read, so a read-then-write
    /// transaction can never fail half-way with SQLITE_BUSY.
    async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// The ids that the claim query `select` (`$1`: now, `$2`: the limit; no row locks, they
    /// are added here on PostgreSQL) finds, inside a write transaction for the caller to lease
    /// them in; `None` when nothing is due. Whether anything is due is asked outside any
    /// transaction first, so that an idle poll (router, webhooks) never takes SQLite's write
    /// lock: a writer that finds it taken sleeps in SQLite's busy handler, up to 100 ms at a
    /// time, and under load the API's group commits are writing nearly all the time.
    async fn due_for_claim(
        &self,
        select: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Option<(Transaction<'static, sqlx::Any>, Vec<i64>)>, StoreError> {
        let probe = sqlx::query(select)
            .bind(now_ms)
            .bind(1_i64)
            .fetch_optional(&self.pool)
            .await?;
        if probe.is_none() {
            return Ok(None);
        }
        let lock_clause = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let mut tx = self.begin_write().await?;
        let ids: Vec<i64> = sqlx::query_scalar(&format!("{select}{lock_clause}"))
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(None);
        }
        Ok(Some((tx, ids)))
    }

    /// Serialises writers of one message on PostgreSQL (SQLite already has one writer).
    async fn lock_message(
        &self,
        tx: &mut Transaction<'static, sqlx::Any>,
        id: MessageId,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM messages WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// Adds `mode=rwc` (create if missing) to a SQLite file URL that does not choose a mode.
fn sqlite_connect_url(url: &str) -> (String, bool) {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory || url.contains("mode=") {
        return (url.to_owned(), in_memory);
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    (format!("{url}{separator}mode=rwc"), false)
}

/// Query parameters whose value is a secret (compared without regard to case): libpq's and
/// sqlx's `password` and `sslpassword`, and the names other drivers use for passwords, tokens
/// and keys (SQLCipher's `key`).
const SECRET_PARAMETERS: [&str; 7] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "sslpassword",
];

/// Hides the secrets of a database URL so that it can be logged and shown in errors and
/// listings: the password of its user (`scheme://user:***@host/...`) and the value of every
/// query parameter named like a secret ([`SECRET_PARAMETERS`]: `?password=***`). URLs
/// without either are returned as they are.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..scheme_end + 3]);
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            out.push_str(&authority[..colon]);
            out.push_str(":***");
            out.push_str(&authority[at..]);
        }
        _ => out.push_str(authority),
    }
    let after = &rest[authority_end..];
    let Some(query_start) = after.find('?') else {
        out.push_str(after);
        return out;
    };
    out.push_str(&after[..=query_start]);
    let query_and_fragment = &after[query_start + 1..];
    let query_end = query_and_fragment
        .find('#')
        .unwrap_or(query_and_fragment.len());
    let (query, fragment) = query_and_fragment.split_at(query_end);
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, _)) if is_secret_parameter(name) => {
                out.push_str(name);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
    out.push_str(fragment);
    out
}

/// Whether a query parameter's (percent-encoded) name is one of [`SECRET_PARAMETERS`].
fn is_secret_parameter(name: &str) -> bool {
    let decoded = percent_decode(name).to_ascii_lowercase();
    SECRET_PARAMETERS.contains(&decoded.as_str())
}

/// `%XX` escapes and `+` decoded, enough to recognise a parameter's name; invalid escapes are
/// kept as they are. (Hand-written: ten lines, where a crate would add a dependency for one
/// comparison.)
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `head` followed by `rows` value lists of `columns` bound parameters each, every list
/// starting with the literal `prefix` (`'out', 'queued', 0, `, or empty): a multi-row INSERT, or
/// the `IN (VALUES ...)` of a look-up by several keys. The one place where a
/// query's text differs by backend: sqlx-sqlite looks up the number of every `$N` with a
/// linear scan (sqlite3_bind_parameter_name), so a statement of thousands of parameters costs
/// O(n^2); anonymous `?` binds in order at once (10,000 rows: ~50 ms instead of ~1 s).
fn values_lists(backend: Backend, head: &str, prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + rows * (prefix.len() + columns * 6 + 4));
    sql.push_str(head);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(prefix);
        match backend {
            Backend::Sqlite => {
                for column in 0..columns {
                    sql.push_str(if column == 0 { "?" } else { ", ?" });
                }
            }
            Backend::Postgres => sql.push_str(&placeholders(1 + row * columns, columns)),
        }
        sql.push(')');
    }
    sql
}

/// `$first, $first+1, ...` for `count` parameters.
fn placeholders(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 5);
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&(first + i).to_string());
    }
    out
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn opt_u8(row: &AnyRow, column: &'static str) -> Result<Option<u8>, StoreError> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|v| {
            u8::try_from(v).map_err(|_| StoreError::Corrupt {
                column,
                value: v.to_string(),
            })
        })
        .transpose()
}

fn req_u8(row: &AnyRow, column: &'static str) -> Result<u8, StoreError> {
    opt_u8(row, column)?.ok_or(StoreError::Corrupt {
        column,
        value: "NULL".into(),
    })
}

fn int_as<T: TryFrom<i64>>(row: &AnyRow, column: &'static str) -> Result<T, StoreError> {
    let v: i64 = row.try_get(column)?;
    T::try_from(v).map_err(|_| StoreError::Corrupt {
        column,
        value: v.to_string(),
    })
}

fn opt_int_as<T: TryFrom<i64>>(
    row: &AnyRow,
    column: &'static str,
) -> Result<Option<T>, StoreError> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|v| {
            T::try_from(v).map_err(|_| StoreError::Corrupt {
                column,
                value: v.to_string(),
            })
        })
        .transpose()
}

fn parse_col<T: FromStr<Err = StoreError>>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse()
}

/// The columns [`message_from_row`] reads.
const MESSAGE_COLUMNS: &str = "id, direction, peer, peer_kind, service_number, text, encoding, \
     state, parts_total, attempts, max_attempts, last_error, modem, priority, status_report, \
     concat_reference, created_at, updated_at, sent_at, delivered_at, next_attempt_at, \
     valid_until, lease_owner, lease_until, batch_id";

fn message_from_row(row: &AnyRow) -> Result<MessageRecord, StoreError> {
    Ok(MessageRecord {
        id: row.try_get("id")?,
        direction: parse_col(row, "direction")?,
        peer: row.try_get("peer")?,
        peer_kind: parse_col(row, "peer_kind")?,
        service_number: row.try_get("service_number")?,
        text: row.try_get("text")?,
        encoding: opt_encoding(row, "encoding")?,
        state: parse_col(row, "state")?,
        parts_total: opt_u8(row, "parts_total")?,
        attempts: int_as(row, "attempts")?,
        max_attempts: int_as(row, "max_attempts")?,
        last_error: row.try_get("last_error")?,
        modem: row.try_get("modem")?,
        priority: int_as(row, "priority")?,
        status_report: row.try_get::<i64, _>("status_report")? != 0,
        concat_reference: opt_int_as(row, "concat_reference")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        sent_at: row.try_get("sent_at")?,
        delivered_at: row.try_get("delivered_at")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        valid_until: row.try_get("valid_until")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: row.try_get("lease_until")?,
        batch_id: row.try_get("batch_id")?,
    })
}

/// The encoding stored in `column` (by [`Encoding::as_str`]), if any.
fn opt_encoding(row: &AnyRow, column: &'static str) -> Result<Option<Encoding>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| Encoding::from_name(&t).ok_or(StoreError::Corrupt { column, value: t }))
        .transpose()
}

/// The encoding stored in `column`, which the schema requires.
fn encoding_col(row: &AnyRow, column: &'static str) -> Result<Encoding, StoreError> {
    opt_encoding(row, column)?.ok_or(StoreError::Corrupt {
        column,
        value: "NULL".into(),
    })
}
