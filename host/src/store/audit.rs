//! The audit log in the store: what a row holds and how it is checked and redacted
//! (`audit/entry.rs`) in the words of `audit/vocabulary.rs`, its hash chain (`audit/chain.rs`), and its storage (`audit_log`):
//! appending under the chain lock, listing, and paging for verification; and the record of
//! where the keyed chain starts (`audit_chain_keyed`), written with the first keyed row. The
//! rules above the rows (verifying the chain, audited reads) live in [`crate::audit`], which
//! re-exports the types here. There is deliberately no update or delete.

mod chain;
mod entry;
mod vocabulary;

use sqlx::any::AnyRow;
use sqlx::{Row, Transaction};

use std::sync::atomic::Ordering;

use super::{Backend, Store, StoreError, values_lists};
#[cfg(test)]
pub(crate) use chain::test_row;
pub use chain::{ChainKey, GENESIS_HASH};
pub(crate) use chain::{KeyedFrom, RawAuditRow};
pub(crate) use entry::PreparedEntry;
pub use entry::{
    AuditEntry, AuditFilter, AuditId, ChangeAuthor, DEFAULT_LIST, MAX_DETAILS_BYTES, MAX_LIST,
    MAX_TEXT_CHARS, SECRET_KEYS,
};
pub use vocabulary::{AuditComponent, AuditEvent, AuditOutcome, UnknownWord};

/// PostgreSQL advisory lock key that serialises appends to the chain ("JXAUDIT").
const AUDIT_LOCK_KEY: i64 = 0x4a58_4155_4449_5400;

const AUDIT_COLUMNS: &str = "id, at, component, event, actor, phone, object, outcome, details, \
     source, request_id, prev_hash, hash";

impl Store {
    /// Appends one row in a transaction of its own and commits it.
    pub(crate) async fn audit_append(&self, entry: &PreparedEntry) -> Result<AuditId, StoreError> {
        let mut tx = self.begin_write().await?;
        let ids = append_rows(self, &mut tx, &[entry]).await?;
        tx.commit().await?;
        Ok(ids.first().copied().unwrap_or_default())
    }

    /// Appends several rows in one transaction (one commit, one fsync) and commits them.
    pub(crate) async fn audit_append_many(
        &self,
        entries: &[PreparedEntry],
    ) -> Result<Vec<AuditId>, StoreError> {
        let mut tx = self.begin_write().await?;
        let entries: Vec<&PreparedEntry> = entries.iter().collect();
        let ids = append_rows(self, &mut tx, &entries).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Rows matching a checked filter.
    pub(crate) async fn audit_list(
        &self,
        filter: &AuditFilter,
    ) -> Result<Vec<RawAuditRow>, StoreError> {
        enum Bind {
            Text(String),
            Int(i64),
        }
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let param = |binds: &mut Vec<Bind>, value: Bind| {
            binds.push(value);
            format!("${}", binds.len())
        };
        if let Some(phone) = &filter.phone {
            let p = param(&mut binds, Bind::Text(phone.clone()));
            conditions.push(format!("phone = {p}"));
        }
        if let Some(keyword) = &filter.keyword {
            // The keyword is letters and digits only (checked), so it holds no LIKE wildcard.
            let exact = param(&mut binds, Bind::Text(keyword.clone()));
            let prefix = param(&mut binds, Bind::Text(format!("{keyword} %")));
            conditions.push(format!("(object = {exact} OR object LIKE {prefix})"));
        }
        if let Some(event) = &filter.event {
            let p = param(&mut binds, Bind::Text(event.clone()));
            conditions.push(format!("event = {p}"));
        }
        if let Some(actor) = &filter.actor {
            let p = param(&mut binds, Bind::Text(actor.clone()));
            conditions.push(format!("actor = {p}"));
        }
        if let Some(since) = filter.since_ms {
            let p = param(&mut binds, Bind::Int(since));
            conditions.push(format!("at >= {p}"));
        }
        if let Some(until) = filter.until_ms {
            let p = param(&mut binds, Bind::Int(until));
            conditions.push(format!("at < {p}"));
        }
        if let Some(before) = filter.before_id {
            let p = param(&mut binds, Bind::Int(before));
            conditions.push(format!("id < {p}"));
        }
        let limit = param(&mut binds, Bind::Int(i64::from(filter.limit)));
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let order = if filter.oldest_first { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log {where_clause} ORDER BY id {order} LIMIT {limit}"
        );
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(t) => query.bind(t),
                Bind::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(raw_row).collect()
    }

    /// Up to `limit` rows with ids above `after_id`, in id order.
    pub(crate) async fn audit_page(
        &self,
        after_id: AuditId,
        limit: u32,
    ) -> Result<Vec<RawAuditRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(raw_row).collect()
    }

    /// The key this store hashes keyed audit rows with.
    pub(crate) fn audit_key(&self) -> Option<ChainKey> {
        self.audit_key.clone()
    }

    /// Where the keyed chain starts, as recorded; `None` while no row is keyed.
    pub(crate) async fn audit_keyed_record(&self) -> Result<Option<KeyedFrom>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        keyed_record(&mut conn).await
    }

    /// The first keyed row of the audit log; `None` while no row is keyed (a log written
    /// before the platform key existed, or a new one).
    pub async fn audit_keyed_from(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.audit_keyed_record().await?.map(|k| k.keyed_from))
    }

    /// Checks that the log, if keyed, was keyed with this store's key
    /// ([`StoreError::AuditKeyMismatch`] if not), so that a wrong key file stops the daemon at start
    /// rather than failing every audited action.
    pub async fn audit_check_key(&self) -> Result<(), StoreError> {
        let key = self.audit_key().ok_or(StoreError::NoAuditKey)?;
        let mut conn = self.pool.acquire().await?;
        if check_keyed_record(&key, &mut conn).await?.is_some() {
            // Without a record yet, the first append writes it and must look first.
            self.audit_key_checked.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// The `audit_chain_keyed` row, if any.
async fn keyed_record(conn: &mut sqlx::AnyConnection) -> Result<Option<KeyedFrom>, StoreError> {
    let row = sqlx::query("SELECT keyed_from, mac FROM audit_chain_keyed WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(row) => Some(KeyedFrom {
            keyed_from: row.try_get("keyed_from")?,
            mac: row.try_get("mac")?,
        }),
        None => None,
    })
}

/// Whether the keying record, if any, verifies with `key` (over the hash of the row before the
/// first keyed one); returns the record.
async fn check_keyed_record(
    key: &ChainKey,
    conn: &mut sqlx::AnyConnection,
) -> Result<Option<KeyedFrom>, StoreError> {
    let Some(record) = keyed_record(conn).await? else {
        return Ok(None);
    };
    let prev_hash = if record.keyed_from <= 1 {
        Some(GENESIS_HASH.to_owned())
    } else {
        sqlx::query("SELECT hash FROM audit_log WHERE id = $1")
            .bind(record.keyed_from - 1)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get::<String, _>("hash"))
            .transpose()?
    };
    match prev_hash {
        Some(prev) if key.keyed_from_mac(record.keyed_from, &prev) == record.mac => {
            Ok(Some(record))
        }
        _ => Err(StoreError::AuditKeyMismatch {
            keyed_from: record.keyed_from,
        }),
    }
}

/// Appends `entry` inside `tx` (which must be a write transaction of `store`: `BEGIN IMMEDIATE`
/// on SQLite), after taking the chain lock on PostgreSQL, keyed with `store`'s platform key.
/// Other store modules call this to write a change and its audit row in one transaction; a
/// failure is [`StoreError::AuditRow`]: the change must not be committed without its row.
pub(crate) async fn append_audit(
    store: &Store,
    tx: &mut Transaction<'static, sqlx::Any>,
    entry: &PreparedEntry,
) -> Result<AuditId, StoreError> {
    let ids = append_audit_batch(store, tx, &[entry]).await?;
    Ok(ids.first().copied().unwrap_or_default())
}

/// [`append_rows`] for a change committed with its audit rows: a failure is
/// [`StoreError::AuditRow`] (see [`append_audit`]).
pub(crate) async fn append_audit_batch(
    store: &Store,
    tx: &mut Transaction<'static, sqlx::Any>,
    entries: &[&PreparedEntry],
) -> Result<Vec<AuditId>, StoreError> {
    append_rows(store, tx, entries)
        .await
        .map_err(|e| StoreError::AuditRow(Box::new(e)))
}

/// Takes the chain lock (PostgreSQL; on SQLite the write transaction is the lock) and reads
/// the last row's id and hash.
async fn chain_head(
    backend: Backend,
    tx: &mut Transaction<'static, sqlx::Any>,
) -> Result<(AuditId, String), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK_KEY)
            .execute(&mut **tx)
            .await?;
    }
    let head = sqlx::query("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match head {
        Some(row) => (
            row.try_get::<i64, _>("id")?,
            row.try_get::<String, _>("hash")?,
        ),
        None => (0, GENESIS_HASH.to_owned()),
    })
}

/// Rows per multi-row INSERT of [`append_rows`] (13 parameters a row).
const AUDIT_INSERT_CHUNK: usize = 256;

/// Appends `entries` in order inside `tx`, reading the chain head once and inserting them with
/// multi-row INSERTs: for single rows and the audit log's own appends, and (through
/// [`append_audit_batch`]) the router's batch commits and the API's group commits. Every row is keyed ([`StoreError::NoAuditKey`] when `store` has no
/// key). The first keyed append of a log also writes where keying starts; until this store has
/// seen that record verify with its key, it checks it ([`StoreError::AuditKeyMismatch`]), so that a
/// wrong key never extends the chain.
async fn append_rows(
    store: &Store,
    tx: &mut Transaction<'static, sqlx::Any>,
    entries: &[&PreparedEntry],
) -> Result<Vec<AuditId>, StoreError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let key = store.audit_key.as_ref().ok_or(StoreError::NoAuditKey)?;
    let backend = store.backend;
    let (mut id, mut prev_hash) = chain_head(backend, tx).await?;
    if !store.audit_key_checked.load(Ordering::Relaxed) {
        // Under the chain lock: no other writer can start keying between the read and the
        // insert.
        if check_keyed_record(key, tx).await?.is_some() {
            store.audit_key_checked.store(true, Ordering::Relaxed);
        } else {
            let keyed_from = id + 1;
            sqlx::query("INSERT INTO audit_chain_keyed (id, keyed_from, mac) VALUES (1, $1, $2)")
                .bind(keyed_from)
                .bind(key.keyed_from_mac(keyed_from, &prev_hash))
                .execute(&mut **tx)
                .await?;
            // Not marked as checked: the transaction may yet roll back; the next append reads
            // the committed record.
            tracing::info!(keyed_from, "the audit chain is keyed from this row on");
        }
    }
    let mut ids = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(AUDIT_INSERT_CHUNK) {
        let sql = values_lists(
            backend,
            &format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES "),
            "",
            13,
            chunk.len(),
        );
        let mut hashes = Vec::with_capacity(chunk.len());
        for entry in chunk {
            id += 1;
            let hash = entry.canonical(id).keyed_hash(key, &prev_hash);
            hashes.push((id, std::mem::replace(&mut prev_hash, hash.clone()), hash));
        }
        let mut query = sqlx::query(&sql);
        for (entry, (row_id, row_prev, row_hash)) in chunk.iter().zip(&hashes) {
            query = query
                .bind(*row_id)
                .bind(entry.at)
                .bind(entry.component)
                .bind(entry.event)
                .bind(&entry.actor)
                .bind(&entry.phone)
                .bind(&entry.object)
                .bind(entry.outcome)
                .bind(&entry.details)
                .bind(&entry.source)
                .bind(&entry.request_id)
                .bind(row_prev)
                .bind(row_hash);
        }
        query.execute(&mut **tx).await?;
        ids.extend(hashes.iter().map(|(row_id, _, _)| *row_id));
    }
    Ok(ids)
}

fn raw_row(row: &AnyRow) -> Result<RawAuditRow, StoreError> {
    Ok(RawAuditRow {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        component: row.try_get("component")?,
        event: row.try_get("event")?,
        actor: row.try_get("actor")?,
        phone: row.try_get("phone")?,
        object: row.try_get("object")?,
        outcome: row.try_get("outcome")?,
        details: row.try_get("details")?,
        source: row.try_get("source")?,
        request_id: row.try_get("request_id")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The audit row of an API call, appended in the transaction that queues the call's messages
/// (the group commit, [`Store::enqueue_idempotent_group`], takes it as a request's extra write), so
/// that an answer of 202 means the messages and their audit row are both committed. The row's
/// details get the new messages' first and last id; `then` runs afterwards in the same
/// transaction (a notification's own write).
pub(crate) struct AuditInTransaction {
    store: Store,
    entry: AuditEntry,
    then: Option<Box<dyn super::api_keys::AlsoInTransaction + Send>>,
}

impl AuditInTransaction {
    /// Appends `entry` (of `store`'s backend) with the call's messages, then runs `then`.
    pub(crate) fn new(
        store: &Store,
        entry: AuditEntry,
        then: Option<Box<dyn super::api_keys::AlsoInTransaction + Send>>,
    ) -> AuditInTransaction {
        AuditInTransaction {
            store: store.clone(),
            entry,
            then,
        }
    }
}

impl super::api_keys::AlsoInTransaction for AuditInTransaction {
    fn write<'a>(
        &'a self,
        tx: &'a mut Transaction<'static, sqlx::Any>,
        ids: &'a [super::MessageId],
    ) -> futures::future::BoxFuture<'a, Result<(), super::StoreError>> {
        Box::pin(async move {
            let prepared = with_message_ids(&self.entry, ids)?;
            append_audit(&self.store, tx, &prepared)
                .await
                .map_err(audit_to_store)?;
            if let Some(then) = &self.then {
                then.write(tx, ids).await?;
            }
            Ok(())
        })
    }

    fn audit_row_only(&self) -> Option<&AuditEntry> {
        self.then.is_none().then_some(&self.entry)
    }
}

/// A call's audit row as committed with its messages: `entry` with the new messages' first
/// and last id and their count in its details, checked and ready to append.
pub(crate) fn with_message_ids(
    entry: &AuditEntry,
    ids: &[super::MessageId],
) -> Result<PreparedEntry, super::StoreError> {
    let mut entry = entry.clone();
    if let (Some(first), Some(last), Some(details)) =
        (ids.first(), ids.last(), entry.details.as_object_mut())
    {
        details.insert("first_id".into(), (*first).into());
        details.insert("last_id".into(), (*last).into());
        details.insert("messages".into(), ids.len().into());
    }
    entry.prepare().map_err(audit_to_store)
}

/// Appends `entry` inside `tx` and commits it: a change and its audit row are stored together
/// or not at all (security checklist, "Audit"). For the store's functions that change
/// something an administrator must answer for (API keys and their routes).
pub(super) async fn commit_with_audit(
    store: &Store,
    mut tx: Transaction<'static, sqlx::Any>,
    entry: &AuditEntry,
) -> Result<(), super::StoreError> {
    let prepared = entry.prepare().map_err(audit_to_store)?;
    append_audit(store, &mut tx, &prepared)
        .await
        .map_err(audit_to_store)?;
    tx.commit().await?;
    Ok(())
}

/// [`commit_with_audit`] for a domain's store functions, whose errors carry a failed audit row
/// as their own variant (`audit_error`): the directory's, the members', the channels'.
pub(super) async fn commit_audited<E: From<sqlx::Error>>(
    store: &Store,
    mut tx: Transaction<'static, sqlx::Any>,
    entry: AuditEntry,
    audit_error: impl Fn(StoreError) -> E,
) -> Result<(), E> {
    let audit = |e: StoreError| match e {
        StoreError::AuditRow(cause) => audit_error(*cause),
        e => audit_error(e),
    };
    let prepared = entry.prepare().map_err(audit)?;
    append_audit(store, &mut tx, &prepared)
        .await
        .map_err(audit)?;
    tx.commit().await?;
    Ok(())
}

/// A failure to write a call's audit row as the API's store functions report it: an invalid
/// row, or a missing or wrong platform key, as invalid input that names what to fix; a
/// database failure as itself.
pub(super) fn audit_to_store(e: StoreError) -> StoreError {
    match e {
        StoreError::AuditRow(cause) => audit_to_store(*cause),
        StoreError::InvalidAuditEntry { field, reason } => StoreError::InvalidInput {
            field,
            reason: format!("the call's audit row: {reason}"),
        },
        e @ (StoreError::NoAuditKey | StoreError::AuditKeyMismatch { .. }) => {
            StoreError::InvalidInput {
                field: "secrets.key_file",
                reason: e.to_string(),
            }
        }
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditError;
    use crate::secrets::Secrets;
    use crate::store::test_db::TestDb;

    crate::on_both_backends!(TestDb =>
        a_change_whose_audit_row_cannot_be_written_is_not_made_and_says_so,
        a_change_under_another_key_says_which_key_and_the_log_answers_as_before,
    );

    fn group_row() -> AuditEntry {
        AuditEntry::new(
            AuditComponent::AddressBook,
            AuditEvent::GroupSave,
            AuditOutcome::Ok,
        )
        .with_object("值班")
    }

    /// The store's side of "a change and its audit row commit together": the failure says that
    /// nothing was changed because of the row, as sign-in and the address book always said.
    async fn a_change_whose_audit_row_cannot_be_written_is_not_made_and_says_so(db: &TestDb) {
        let refuse_inserts = match db.backend() {
            Backend::Sqlite => {
                "CREATE TRIGGER audit_log_full BEFORE INSERT ON audit_log \
                 BEGIN SELECT RAISE(ABORT, 'simulated disk full'); END"
            }
            Backend::Postgres => {
                "CREATE TRIGGER audit_log_full BEFORE INSERT ON audit_log \
                 FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()"
            }
        };
        db.raw(refuse_inserts)
            .await
            .expect("create failing trigger");
        let err = db
            .store
            .address_book_save_group(None, "值班", group_row())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("nothing was changed because its audit row could not be written: "),
            "{text}"
        );
        assert_eq!(db.raw_count("SELECT COUNT(*) FROM ab_groups").await, 0);

        let mut tx = db.store.begin_write().await.unwrap();
        let prepared = group_row().prepare().unwrap();
        let err = append_audit(&db.store, &mut tx, &prepared)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::AuditRow(cause) if matches!(**cause, StoreError::Database(_))),
            "{err:?}"
        );
        // The audit log's own append reports the database's failure as it always did.
        assert!(matches!(
            AuditError::from(err),
            AuditError::Store(StoreError::Database(_))
        ));
    }

    /// A store keyed with another key than the log's refuses a change with the reason, and the
    /// audit log turns the store's error back into its own.
    async fn a_change_under_another_key_says_which_key_and_the_log_answers_as_before(db: &TestDb) {
        db.store
            .address_book_save_group(None, "值班", group_row())
            .await
            .expect("keyed with the test key");
        let other = db
            .connect_again()
            .await
            .with_audit_key(ChainKey::from_secrets(&Secrets::from_bytes([9; 32])));
        let err = other
            .address_book_save_group(None, "夜班", group_row())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("nothing was changed"), "{text}");
        assert!(text.contains("secrets.key_file"), "{text}");
        assert_eq!(db.raw_count("SELECT COUNT(*) FROM ab_groups").await, 1);

        let mut tx = other.begin_write().await.unwrap();
        let prepared = group_row().prepare().unwrap();
        let err = append_audit(&other, &mut tx, &prepared).await.unwrap_err();
        assert!(
            matches!(
                AuditError::from(err),
                AuditError::KeyMismatch { keyed_from: 1 }
            ),
            "the audit log's own error"
        );
        drop(tx);
        other.close().await;
    }
}
