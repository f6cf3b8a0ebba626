//! Each plugin's durable key-value state (capability `state`, contract 1.1), and the one
//! transaction that commits what a plugin call did ([`Store::plugin_commit`]): its state
//! writes (checked against its quota), the SMS it queued, their audit rows and, for an event,
//! the delivery finished as done. Either all of it is stored or none.

use serde::Serialize;
use sqlx::Row;

use super::audit::{AuditEntry, append_audit_batch};
use super::{MessageId, NewOutbound, Store, StoreError};

/// How much state a plugin may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateQuota {
    pub max_keys: u64,
    /// Bytes of values, all keys together.
    pub max_bytes: u64,
}

/// How much state a plugin keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateUsage {
    pub keys: u64,
    /// Bytes of values.
    pub bytes: u64,
}

impl StateUsage {
    /// Why this usage is past `quota`, if it is.
    pub fn over(&self, quota: &StateQuota) -> Option<String> {
        if self.keys > quota.max_keys {
            Some(format!(
                "{} keys, more than the {} allowed ([plugins] state_max_keys)",
                self.keys, quota.max_keys
            ))
        } else if self.bytes > quota.max_bytes {
            Some(format!(
                "{} bytes, more than the {} allowed ([plugins] state_max_bytes)",
                self.bytes, quota.max_bytes
            ))
        } else {
            None
        }
    }
}

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateEntry {
    pub key: String,
    pub value: Vec<u8>,
    pub updated_at: i64,
}

/// What one plugin call did, to commit with [`Store::plugin_commit`].
#[derive(Debug, Clone)]
pub struct PluginCommit<'a> {
    pub plugin: &'a str,
    /// Keys set (`Some`) or deleted (`None`), last write of each key only.
    pub state_writes: &'a [(String, Option<Vec<u8>>)],
    pub quota: StateQuota,
    /// SMS to queue.
    pub messages: &'a [NewOutbound],
    /// Audit rows: one per send, accepted or refused.
    pub audit: &'a [AuditEntry],
    /// The delivery this call handled and the lease holder, for an event.
    pub event: Option<(i64, &'a str)>,
    pub now_ms: i64,
}

/// Why a call's effects were not committed.
#[derive(Debug, thiserror::Error)]
pub enum PluginCommitError {
    /// The state would pass the plugin's quota (another call of the same plugin committed
    /// first); nothing was written.
    #[error("the plugin's state would hold {0}; nothing of the call was kept")]
    OverQuota(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// The value of `key` in `plugin`'s state.
    pub async fn plugin_state_get(
        &self,
        plugin: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM plugin_state WHERE plugin = $1 AND key = $2")
                .bind(plugin)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The size of the value of `key` in `plugin`'s state, if set.
    pub async fn plugin_state_len(
        &self,
        plugin: &str,
        key: &str,
    ) -> Result<Option<u64>, StoreError> {
        let len: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(LENGTH(value) AS BIGINT) FROM plugin_state WHERE plugin = $1 AND key = $2",
        )
        .bind(plugin)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(len.map(|l| u64::try_from(l).unwrap_or(0)))
    }

    /// How much state `plugin` keeps.
    pub async fn plugin_state_usage(&self, plugin: &str) -> Result<StateUsage, StoreError> {
        let mut conn = self.pool.acquire().await?;
        usage(&mut conn, plugin).await
    }

    /// Every value of `plugin`'s state, by key.
    pub async fn plugin_state(&self, plugin: &str) -> Result<Vec<StateEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, value, updated_at FROM plugin_state WHERE plugin = $1 ORDER BY key",
        )
        .bind(plugin)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StateEntry {
                    key: row.try_get("key")?,
                    value: row.try_get("value")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Commits what a plugin call did, in one transaction: its state writes (refused whole when
    /// they take the plugin past `quota`), its messages, its audit rows, and, for an event, the
    /// delivery finished as done ([`StoreError::LeaseLost`] when another worker holds it now).
    /// Returns the queued messages' ids.
    pub async fn plugin_commit(
        &self,
        commit: &PluginCommit<'_>,
    ) -> Result<Vec<MessageId>, PluginCommitError> {
        let audit = commit
            .audit
            .iter()
            .map(AuditEntry::prepare)
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.begin_write().await?;
        if let Some((id, owner)) = commit.event {
            self.plugin_event_done(&mut tx, id, owner, commit.now_ms)
                .await?;
        }
        if !commit.state_writes.is_empty() {
            for (key, value) in commit.state_writes {
                match value {
                    Some(value) => {
                        sqlx::query(
                            "INSERT INTO plugin_state (plugin, key, value, updated_at) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (plugin, key) DO UPDATE SET \
                             value = excluded.value, updated_at = excluded.updated_at",
                        )
                        .bind(commit.plugin)
                        .bind(key.as_str())
                        .bind(value.as_slice())
                        .bind(commit.now_ms)
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::from)?;
                    }
                    None => {
                        sqlx::query("DELETE FROM plugin_state WHERE plugin = $1 AND key = $2")
                            .bind(commit.plugin)
                            .bind(key.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(StoreError::from)?;
                    }
                }
            }
            if let Some(over) = usage(&mut tx, commit.plugin).await?.over(&commit.quota) {
                return Err(PluginCommitError::OverQuota(over));
            }
        }
        let ids = self
            .insert_outbound(&mut tx, commit.messages, commit.now_ms)
            .await?;
        let audit: Vec<_> = audit.iter().collect();
        append_audit_batch(self, &mut tx, &audit).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ids)
    }
}

async fn usage(conn: &mut sqlx::AnyConnection, plugin: &str) -> Result<StateUsage, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n_keys, CAST(COALESCE(SUM(LENGTH(value)), 0) AS BIGINT) AS n_bytes \
         FROM plugin_state WHERE plugin = $1",
    )
    .bind(plugin)
    .fetch_one(&mut *conn)
    .await?;
    Ok(StateUsage {
        keys: super::int_as(&row, "n_keys")?,
        bytes: super::int_as(&row, "n_bytes")?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::audit::{AuditComponent, AuditEvent, AuditOutcome};
    use crate::store::plugin_events::record_host_event;
    use crate::store::test_db::TestDb;
    use crate::store::{DeliveryState, EventKind, EventPayload};

    const T0: i64 = 1_767_225_600_000;
    const LEASE: Duration = Duration::from_secs(60);
    const QUOTA: StateQuota = StateQuota {
        max_keys: 2,
        max_bytes: 100,
    };

    fn tick(n: i64) -> EventPayload {
        EventPayload::Tick {
            schedule: "evening".into(),
            due_at: T0 + n,
        }
    }

    fn sent(phone: &str) -> AuditEntry {
        AuditEntry::new(
            AuditComponent::Plugins,
            AuditEvent::PluginSend,
            AuditOutcome::Ok,
        )
        .with_actor("plugin:p")
        .with_phone(phone)
    }

    async fn message_count(store: &Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    /// Commits a tick's call: `writes`, one message and its audit row, for the delivery `event`
    /// held by `owner`.
    async fn commit_tick(
        store: &Store,
        writes: &[(String, Option<Vec<u8>>)],
        event: i64,
        owner: &str,
    ) -> Result<Vec<MessageId>, PluginCommitError> {
        let messages = [NewOutbound::new("+8613800000042", "第1次")];
        let audit = [sent("+8613800000042")];
        store
            .plugin_commit(&PluginCommit {
                plugin: "p",
                state_writes: writes,
                quota: QUOTA,
                messages: &messages,
                audit: &audit,
                event: Some((event, owner)),
                now_ms: T0,
            })
            .await
    }

    async fn a_call_is_committed_whole_or_not_at_all(db: &TestDb) {
        let store = &db.store;
        assert!(
            store
                .plugin_event_schedule("p", "tick:evening:1", &tick(1), T0, T0, None)
                .await
                .unwrap()
        );
        assert!(
            !store
                .plugin_event_schedule("p", "tick:evening:1", &tick(1), T0, T0, None)
                .await
                .unwrap(),
            "a tick scheduled twice is delivered once"
        );
        let claimed = store
            .plugin_events_claim("w1", 10, LEASE, T0)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        let event = &claimed[0];
        assert_eq!((event.key.as_str(), event.attempts), ("tick:evening:1", 1));
        let writes = vec![("k".to_owned(), Some(b"v".to_vec()))];
        // Another worker's lease: nothing is kept.
        let lost = commit_tick(store, &writes, event.id, "w2")
            .await
            .unwrap_err();
        assert!(
            matches!(lost, PluginCommitError::Store(StoreError::LeaseLost { .. })),
            "{lost}"
        );
        // Past the quota: nothing is kept.
        let too_many: Vec<(String, Option<Vec<u8>>)> =
            (0..3).map(|i| (format!("k{i}"), Some(vec![1]))).collect();
        let over = commit_tick(store, &too_many, event.id, "w1")
            .await
            .unwrap_err();
        assert!(matches!(over, PluginCommitError::OverQuota(_)), "{over}");
        assert_eq!(
            store.plugin_state_usage("p").await.unwrap(),
            StateUsage::default()
        );
        assert_eq!(message_count(store).await, 0);
        // Within the lease and the quota: all of it.
        let ids = commit_tick(store, &writes, event.id, "w1").await.unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(
            store.plugin_state_get("p", "k").await.unwrap(),
            Some(b"v".to_vec())
        );
        assert_eq!(store.plugin_state_get("other", "k").await.unwrap(), None);
        let deliveries = store.plugin_events(Some("p"), 10).await.unwrap();
        assert_eq!(deliveries[0].state, DeliveryState::Done);
        assert!(
            store
                .plugin_events_claim("w1", 10, LEASE, T0 + 120_000)
                .await
                .unwrap()
                .is_empty(),
            "a done delivery is not delivered again"
        );
    }

    async fn host_events_reach_each_subscriber_once_and_failures_retry_then_give_up(db: &TestDb) {
        let store = &db.store;
        let mut tx = store.begin_write().await.unwrap();
        let change = EventPayload::ApplicationChanged {
            application_kind: "passport".into(),
            number: "E1".into(),
            status: "ready_for_collection".into(),
            updated_at: T0,
        };
        record_host_event(&mut tx, &change, T0).await.unwrap();
        tx.commit().await.unwrap();
        let subscribers = |kind: EventKind| match kind {
            EventKind::ApplicationChanged => vec!["a".to_owned(), "b".to_owned()],
            EventKind::Tick => vec![],
        };
        assert_eq!(
            store.host_events_fan_out(&subscribers, T0).await.unwrap(),
            1
        );
        assert_eq!(
            store.host_events_fan_out(&subscribers, T0).await.unwrap(),
            0
        );
        let claimed = store.plugin_events_claim("w", 10, LEASE, T0).await.unwrap();
        let plugins: Vec<&str> = claimed.iter().map(|e| e.plugin.as_str()).collect();
        assert_eq!(plugins, ["a", "b"]);
        assert_eq!(claimed[0].payload, change);
        assert!(claimed[0].key.starts_with("application-changed:"));
        let a = &claimed[0];
        assert!(
            store
                .plugin_event_retry(a.id, "w", "boom", T0 + 5_000, true)
                .await
                .unwrap()
        );
        assert!(
            store
                .plugin_events_claim("w", 10, LEASE, T0 + 1_000)
                .await
                .unwrap()
                .is_empty(),
            "a is not due yet, b is leased"
        );
        let again = store
            .plugin_events_claim("w", 10, LEASE, T0 + 5_000)
            .await
            .unwrap();
        assert_eq!((again[0].plugin.as_str(), again[0].attempts), ("a", 2));
        let gave_up = AuditEntry::new(
            AuditComponent::Plugins,
            AuditEvent::PluginEvent,
            AuditOutcome::Error,
        )
        .with_actor("plugin:a");
        assert!(
            store
                .plugin_event_fail(again[0].id, "w", "boom", &gave_up, T0 + 5_000)
                .await
                .unwrap()
        );
        let a = store.plugin_events(Some("a"), 10).await.unwrap();
        assert_eq!(a[0].state, DeliveryState::Failed);
        assert_eq!(a[0].last_error.as_deref(), Some("boom"));
    }

    crate::on_both_backends!(TestDb =>
        a_call_is_committed_whole_or_not_at_all,
        host_events_reach_each_subscriber_once_and_failures_retry_then_give_up,
    );
}
