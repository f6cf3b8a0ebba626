//! Storage of the HTTP API (issue 5): API keys (only their SHA-256, never the key), the messages
//! each key queued, and idempotent enqueues whose first answer is stored in the same transaction
//! as the messages. The rules (key format, scopes, hashing) live in [`crate::api::keys`].

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{MessageId, MessageRecord, PartRecord, Store, StoreError, int_as};

/// An API key as stored (without its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKeyRecord {
    pub id: i64,
    /// The client system's name (`oa`); logged and audited with every call.
    pub name: String,
    /// The first characters of the key (`jx_1a2b3c4d`), to recognise it without revealing it.
    pub key_prefix: String,
    /// What the key may do (`send`, `receive`).
    pub scopes: Vec<String>,
    /// Requests per second allowed (bursts of the same size).
    pub rate_per_second: u32,
    /// Canonical numbers it may send from; empty: any.
    pub service_numbers: Vec<String>,
    pub created_at: i64,
    /// When it was revoked; a revoked key is refused.
    pub revoked_at: Option<i64>,
    /// Networks (CIDR) it may be used from; empty: any.
    pub allowed_networks: Vec<String>,
    /// Where inbound messages assigned to it are POSTed, if anywhere (its secret is not here).
    pub webhook_url: Option<String>,
}

impl ApiKeyRecord {
    /// Whether the key is still usable.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A key to store, as given to [`Store::api_key_create`].
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub name: &'a str,
    /// Hex SHA-256 of the full key text.
    pub key_hash: &'a str,
    pub key_prefix: &'a str,
    pub scopes: &'a [String],
    pub rate_per_second: u32,
    pub service_numbers: &'a [String],
}

/// What one request of [`Store::enqueue_idempotent_group`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotentOutcome {
    /// The messages were queued (committed); `response` was stored with them.
    Queued {
        ids: Vec<MessageId>,
        response: String,
    },
    /// The idempotency key was used before with the same request: its first answer, nothing
    /// queued.
    Replayed { response: String },
    /// The idempotency key was used before with a different request: nothing queued.
    Mismatch,
}

/// More writes in the transaction that queues a request's messages
/// ([`super::GroupedEnqueue::also`]), given the ids of the messages just inserted.
pub(crate) trait AlsoInTransaction: Sync {
    fn write<'a>(
        &'a self,
        tx: &'a mut sqlx::Transaction<'static, sqlx::Any>,
        ids: &'a [MessageId],
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>>;

    /// When all that [`Self::write`] does is append one audit row: that row, before
    /// [`super::audit::with_message_ids`]. The group commit then appends the rows of many
    /// requests together (one chain-head read, multi-row INSERTs). `None`, the default: the
    /// write has to run by itself.
    fn audit_row_only(&self) -> Option<&super::audit::AuditEntry> {
        None
    }
}

const KEY_COLUMNS: &str = "id, name, key_prefix, scopes, rate_per_second, service_numbers, \
     created_at, revoked_at, allowed_networks, webhook_url";

fn key_from_row(row: &AnyRow) -> Result<ApiKeyRecord, StoreError> {
    let words = |column: &str| -> Result<Vec<String>, StoreError> {
        let text: String = row.try_get(column)?;
        Ok(text.split_whitespace().map(str::to_owned).collect())
    };
    Ok(ApiKeyRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        key_prefix: row.try_get("key_prefix")?,
        scopes: words("scopes")?,
        rate_per_second: int_as(row, "rate_per_second")?,
        service_numbers: words("service_numbers")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        allowed_networks: words("allowed_networks")?,
        webhook_url: row.try_get("webhook_url")?,
    })
}

impl Store {
    /// Stores a new API key with its audit row `audit`, in one transaction. Fails with
    /// [`StoreError::InvalidInput`] (field `name`) when a key of that name exists, revoked or
    /// not: names identify clients in the audit log for good.
    pub async fn api_key_create(
        &self,
        key: &NewApiKey<'_>,
        now_ms: i64,
        audit: &super::audit::AuditEntry,
    ) -> Result<ApiKeyRecord, StoreError> {
        if key.rate_per_second == 0 {
            return Err(StoreError::InvalidInput {
                field: "rate_per_second",
                reason: "must be at least 1".into(),
            });
        }
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM api_keys WHERE name = $1")
            .bind(key.name)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::InvalidInput {
                field: "name",
                reason: format!(
                    "an API key named `{}` exists (revoked keys keep their name); choose another \
                     name",
                    key.name
                ),
            });
        }
        let row = sqlx::query(&format!(
            "INSERT INTO api_keys (name, key_hash, key_prefix, scopes, rate_per_second, \
             service_numbers, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING {KEY_COLUMNS}"
        ))
        .bind(key.name)
        .bind(key.key_hash)
        .bind(key.key_prefix)
        .bind(key.scopes.join(" "))
        .bind(i64::from(key.rate_per_second))
        .bind(key.service_numbers.join(" "))
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let record = key_from_row(&row)?;
        super::audit::commit_with_audit(self, tx, audit).await?;
        Ok(record)
    }

    /// Every API key, revoked ones too, by name.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY name"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(key_from_row)
            .collect()
    }

    /// The key whose SHA-256 is `key_hash` (hex), revoked or not.
    pub async fn api_key_by_hash(
        &self,
        key_hash: &str,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"
        ))
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(key_from_row)
        .transpose()
    }

    /// Revokes the key named `name`, with the audit row `audit` makes of the key, in one
    /// transaction. Returns the key (with `revoked_at` set; a key revoked before keeps its first
    /// revocation time), or `None` when there is no such key (nothing audited).
    pub async fn api_key_revoke(
        &self,
        name: &str,
        now_ms: i64,
        audit: impl FnOnce(&ApiKeyRecord) -> super::audit::AuditEntry,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        super::api_inbound::retire_key_in(&mut tx, name, now_ms).await?;
        let record = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(key_from_row)
        .transpose()?;
        match &record {
            Some(key) => super::audit::commit_with_audit(self, tx, &audit(key)).await?,
            None => tx.rollback().await?,
        }
        Ok(record)
    }

    /// Queues `job.batch` for the API key `job.api_key` (its name) in a transaction of its own,
    /// marking each message as the key's: [`Store::enqueue_idempotent_group`] with a group of
    /// one (the API's handlers go through [`crate::api::committer`], which groups them). With
    /// an idempotency key, the answer `(job.response)(ids)` is stored in the same transaction
    /// under (`api_key`, `idempotency_key`) with the request hash; a later call with the same
    /// pair returns that answer ([`IdempotentOutcome::Replayed`]) or, if the request differs,
    /// [`IdempotentOutcome::Mismatch`], and queues nothing. Concurrent calls with the same pair
    /// queue once: the table's primary key refuses the second row, whose request then reads the
    /// first answer. `job.also` writes in the same transaction (the call's audit row, a citizen
    /// application's status); nothing of it happens on a replay. (The daemon only enqueues
    /// through the committer; the store's tests use this.)
    #[cfg(test)]
    pub(crate) async fn enqueue_idempotent(
        &self,
        job: super::GroupedEnqueue,
    ) -> Result<IdempotentOutcome, StoreError> {
        self.enqueue_idempotent_group(std::slice::from_ref(&job))
            .await
            .pop()
            .unwrap_or_else(|| {
                Err(StoreError::Database(sqlx::Error::Protocol(
                    "the group commit of one request gave no outcome".into(),
                )))
            })
    }

    /// The message `id` with its parts if the API key `api_key` queued it; `None` otherwise
    /// (whether it does not exist or belongs to someone else: a client cannot tell).
    pub async fn api_message(
        &self,
        api_key: &str,
        id: MessageId,
    ) -> Result<Option<(MessageRecord, Vec<PartRecord>)>, StoreError> {
        let owner = sqlx::query("SELECT api_key FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get::<Option<String>, _>("api_key"))
            .transpose()?
            .flatten();
        if owner.as_deref() != Some(api_key) {
            return Ok(None);
        }
        self.message(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::{AuditComponent, AuditEvent, AuditOutcome};
    use crate::store::test_db::{TestDb, grouped};
    use crate::store::{Backend, GroupedEnqueue};

    const T0: i64 = 1_767_225_600_000;

    fn key<'a>(name: &'a str, hash: &'a str, scopes: &'a [String]) -> NewApiKey<'a> {
        NewApiKey {
            name,
            key_hash: hash,
            key_prefix: "jx_00000000",
            scopes,
            rate_per_second: 10,
            service_numbers: &[],
        }
    }

    fn job(api_key: &str, idempotency_key: &str, hash: &str, batch: &str) -> GroupedEnqueue {
        grouped(
            api_key,
            Some(idempotency_key),
            hash,
            batch,
            &["+8613800000001"],
            T0,
        )
    }

    async fn keys_are_created_listed_found_by_hash_and_revoked_each_with_its_audit_row(
        db: &TestDb,
    ) {
        let store = &db.store;
        let scopes = vec!["send".to_owned()];
        let row = |event: AuditEvent| {
            crate::audit::AuditEntry::new(AuditComponent::Api, event, AuditOutcome::Ok)
                .with_object("oa")
        };
        let audit_rows = || db.raw_count("SELECT COUNT(*) FROM audit_log");
        let created = store
            .api_key_create(
                &key("oa", "h1", &scopes),
                T0,
                &row(AuditEvent::ApikeyCreate),
            )
            .await
            .expect("create");
        assert_eq!(created.scopes, scopes);
        assert!(created.is_active());
        assert_eq!(audit_rows().await, 1);
        let again = store
            .api_key_create(
                &key("oa", "h2", &scopes),
                T0,
                &row(AuditEvent::ApikeyCreate),
            )
            .await;
        assert!(matches!(
            again,
            Err(StoreError::InvalidInput { field: "name", .. })
        ));
        assert_eq!(
            audit_rows().await,
            1,
            "a refused key is not audited as made"
        );
        let found = store.api_key_by_hash("h1").await.expect("lookup");
        assert_eq!(found.as_ref().map(|k| k.name.as_str()), Some("oa"));
        assert_eq!(store.api_key_by_hash("h2").await.expect("lookup"), None);
        let revoked = store
            .api_key_revoke("oa", T0 + 5, |_| row(AuditEvent::ApikeyRevoke))
            .await
            .expect("revoke")
            .expect("exists");
        assert_eq!(revoked.revoked_at, Some(T0 + 5));
        assert_eq!(audit_rows().await, 2);
        let twice = store
            .api_key_revoke("oa", T0 + 9, |_| row(AuditEvent::ApikeyRevoke))
            .await
            .expect("revoke");
        assert_eq!(twice.and_then(|k| k.revoked_at), Some(T0 + 5));
        assert_eq!(
            store
                .api_key_revoke("nobody", T0, |_| row(AuditEvent::ApikeyRevoke))
                .await
                .expect("revoke"),
            None
        );
        assert_eq!(
            audit_rows().await,
            3,
            "no row for a key that does not exist"
        );
        assert_eq!(store.api_keys().await.expect("list").len(), 1);
    }

    /// An audit row that cannot be written takes the key change with it.
    async fn a_key_change_whose_audit_row_is_refused_is_not_made(db: &TestDb) {
        let store = &db.store;
        let scopes = vec!["send".to_owned()];
        let row = |event: AuditEvent| {
            crate::audit::AuditEntry::new(AuditComponent::Api, event, AuditOutcome::Ok)
                .with_object("oa")
        };
        store
            .api_key_create(
                &key("oa", "h1", &scopes),
                T0,
                &row(AuditEvent::ApikeyCreate),
            )
            .await
            .expect("create");
        let refuse = match db.backend() {
            Backend::Sqlite => {
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
                 BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            }
            Backend::Postgres => {
                "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$; \
                 CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
                 FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
            }
        };
        db.raw(refuse).await.expect("install the trigger");
        let created = store
            .api_key_create(
                &key("news", "h2", &scopes),
                T0,
                &row(AuditEvent::ApikeyCreate),
            )
            .await;
        assert!(created.is_err(), "{created:?}");
        assert_eq!(store.api_key_by_hash("h2").await.expect("lookup"), None);
        let revoked = store
            .api_key_revoke("oa", T0 + 5, |_| row(AuditEvent::ApikeyRevoke))
            .await;
        assert!(revoked.is_err(), "{revoked:?}");
        let oa = store.api_key_by_hash("h1").await.expect("lookup");
        assert!(oa.is_some_and(|k| k.is_active()), "the key was not revoked");
    }

    async fn the_same_idempotency_key_queues_once_and_refuses_another_request(db: &TestDb) {
        let store = &db.store;
        let first = store
            .enqueue_idempotent(job("oa", "k1", "r1", "b1"))
            .await
            .expect("first");
        let IdempotentOutcome::Queued { ids, response } = first else {
            panic!("first call must queue, got {first:?}");
        };
        let again = store
            .enqueue_idempotent(job("oa", "k1", "r1", "b2"))
            .await
            .expect("again");
        assert_eq!(again, IdempotentOutcome::Replayed { response });
        let other = store
            .enqueue_idempotent(job("oa", "k1", "r2", "b3"))
            .await
            .expect("other");
        assert_eq!(other, IdempotentOutcome::Mismatch);
        // Another API key may use the same idempotency key.
        let other_key = store
            .enqueue_idempotent(job("news", "k1", "r1", "b4"))
            .await
            .expect("other key");
        assert!(matches!(other_key, IdempotentOutcome::Queued { .. }));
        let depths = store.queue_depths().await.expect("depths");
        assert_eq!(depths.queued, 2, "one message per distinct request");
        assert!(
            store
                .api_message("oa", ids[0])
                .await
                .expect("read")
                .is_some()
        );
        assert!(
            store
                .api_message("news", ids[0])
                .await
                .expect("read")
                .is_none()
        );
        assert!(
            store
                .api_message("oa", ids[0] + 1000)
                .await
                .expect("read")
                .is_none()
        );
    }

    async fn concurrent_requests_with_one_idempotency_key_queue_once(db: &TestDb) {
        let store = &db.store;
        let calls = (0..8).map(|i| {
            let store = store.clone();
            async move {
                store
                    .enqueue_idempotent(job("oa", "same", "r", &format!("c{i}")))
                    .await
                    .expect("enqueue")
            }
        });
        let outcomes = futures::future::join_all(calls).await;
        let queued = outcomes
            .iter()
            .filter(|o| matches!(o, IdempotentOutcome::Queued { .. }))
            .count();
        assert_eq!(queued, 1, "{outcomes:?}");
        assert_eq!(store.queue_depths().await.expect("depths").queued, 1);
    }

    crate::on_both_backends!(TestDb =>
        keys_are_created_listed_found_by_hash_and_revoked_each_with_its_audit_row,
        a_key_change_whose_audit_row_is_refused_is_not_made,
        the_same_idempotency_key_queues_once_and_refuses_another_request,
        concurrent_requests_with_one_idempotency_key_queue_once,
    );
}
