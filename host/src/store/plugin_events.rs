//! Events for plugins (contract 1.1, issue 13), stored so that each is delivered at least once:
//! host events as they happen (`host_events`, written in the transaction of what happened), and
//! their deliveries to plugins (`plugin_events`: one row per plugin and event, with attempts, a
//! lease and an outcome). Ticks of plugins' schedules are written straight as deliveries. A
//! delivery is finished as done in the transaction that commits the plugin's effects
//! ([`super::plugin_state`]), so an effect is never committed without its delivery being done,
//! nor a delivery done without its effects.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Row, Transaction};

use super::audit::{AuditEntry, append_audit};
use super::{Store, StoreError, duration_ms, placeholders};

jingxun_vocabulary::vocabulary! {
    /// What an event is; the text is what `host_events.kind` and `plugin_events.kind` hold and
    /// what a plugin's description names (`tick` excepted: it follows from its schedules).
    "event kind" => pub enum EventKind {
        /// A plugin's daily schedule came due.
        Tick = "tick",
        /// An office reported a citizen application's status.
        ApplicationChanged = "application-changed",
    }
}

/// What happened, as stored (JSON) with an event and handed to the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EventPayload {
    /// The schedule `schedule` came due at `due_at` (unix ms UTC).
    Tick { schedule: String, due_at: i64 },
    /// A citizen application's status as just reported (never the citizen's phone).
    ApplicationChanged {
        /// `passport`, `exit_entry` or `id_card`.
        application_kind: String,
        number: String,
        /// The stored status word (`ready_for_collection`...).
        status: String,
        updated_at: i64,
    },
}

impl EventPayload {
    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            EventPayload::Tick { .. } => EventKind::Tick,
            EventPayload::ApplicationChanged { .. } => EventKind::ApplicationChanged,
        }
    }

    fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::InvalidInput {
            field: "payload",
            reason: e.to_string(),
        })
    }

    fn from_json(text: &str) -> Result<EventPayload, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            column: "plugin_events.payload",
            value: e.to_string(),
        })
    }
}

/// How a delivery ended (`plugin_events.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Done,
    Failed,
}

impl DeliveryState {
    fn parse(text: &str) -> Result<DeliveryState, StoreError> {
        match text {
            "pending" => Ok(DeliveryState::Pending),
            "done" => Ok(DeliveryState::Done),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(StoreError::Corrupt {
                column: "plugin_events.state",
                value: other.into(),
            }),
        }
    }
}

/// A delivery handed to a worker by [`Store::plugin_events_claim`], under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedEvent {
    /// The row's id (the lease and the finish name it).
    pub id: i64,
    pub plugin: String,
    /// The id the plugin sees: the same on every delivery of the event.
    pub key: String,
    pub payload: EventPayload,
    pub occurred_at: i64,
    /// Including this one.
    pub attempts: u32,
}

/// A delivery as listed by [`Store::plugin_events`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventDelivery {
    pub id: i64,
    pub plugin: String,
    pub key: String,
    pub kind: EventKind,
    pub occurred_at: i64,
    pub state: DeliveryState,
    pub attempts: u32,
    pub due_at: i64,
    pub finished_at: Option<i64>,
    pub last_error: Option<String>,
}

/// Most host events one [`Store::host_events_fan_out`] call takes.
const FAN_OUT_BATCH: u32 = 100;

/// Records `payload` as a host event inside `tx` (the transaction of what happened).
pub(super) async fn record_host_event(
    tx: &mut Transaction<'static, sqlx::Any>,
    payload: &EventPayload,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO host_events (kind, payload, occurred_at) VALUES ($1, $2, $3)")
        .bind(payload.kind().as_str())
        .bind(payload.to_json()?)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts a delivery unless the plugin already has one with that key; whether it did.
async fn insert_delivery(
    tx: &mut Transaction<'static, sqlx::Any>,
    plugin: &str,
    key: &str,
    payload: &EventPayload,
    occurred_at: i64,
    due_at: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO plugin_events (plugin, event_key, kind, payload, occurred_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (plugin, event_key) DO NOTHING",
    )
    .bind(plugin)
    .bind(key)
    .bind(payload.kind().as_str())
    .bind(payload.to_json()?)
    .bind(occurred_at)
    .bind(due_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

const DELIVERY_COLUMNS: &str = "id, plugin, event_key, kind, payload, occurred_at, state, \
     attempts, due_at, finished_at, last_error";

fn delivery_from_row(row: &AnyRow) -> Result<EventDelivery, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(EventDelivery {
        id: row.try_get("id")?,
        plugin: row.try_get("plugin")?,
        key: row.try_get("event_key")?,
        kind: kind.parse().map_err(|_| StoreError::Corrupt {
            column: "plugin_events.kind",
            value: kind.clone(),
        })?,
        occurred_at: row.try_get("occurred_at")?,
        state: DeliveryState::parse(&row.try_get::<String, _>("state")?)?,
        attempts: super::int_as(row, "attempts")?,
        due_at: row.try_get("due_at")?,
        finished_at: row.try_get("finished_at")?,
        last_error: row.try_get("last_error")?,
    })
}

impl Store {
    /// Hands host events not yet fanned out to the plugins `subscribers` names for their kind
    /// (one delivery each, due now; the key `<kind>:<host event id>`), and marks them fanned
    /// out, in one transaction. An event nobody asked for is only marked. Returns how many
    /// host events it took (at most a batch: call again while it returns a full one).
    pub async fn host_events_fan_out(
        &self,
        subscribers: &(dyn Fn(EventKind) -> Vec<String> + Sync),
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let select = "SELECT id FROM host_events WHERE fanned_out_at IS NULL \
             AND occurred_at <= $1 ORDER BY id LIMIT $2";
        let Some((mut tx, ids)) = self.due_for_claim(select, now_ms, FAN_OUT_BATCH).await? else {
            return Ok(0);
        };
        let sql = format!(
            "SELECT id, payload, occurred_at FROM host_events WHERE id IN ({}) ORDER BY id",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query(&sql);
        for id in &ids {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *tx).await? {
            let id: i64 = row.try_get("id")?;
            let payload = EventPayload::from_json(&row.try_get::<String, _>("payload")?)?;
            let occurred_at: i64 = row.try_get("occurred_at")?;
            let key = format!("{}:{id}", payload.kind());
            for plugin in subscribers(payload.kind()) {
                insert_delivery(&mut tx, &plugin, &key, &payload, occurred_at, now_ms).await?;
            }
        }
        let sql = format!(
            "UPDATE host_events SET fanned_out_at = $1 WHERE id IN ({})",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query(&sql).bind(now_ms);
        for id in &ids {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Schedules a delivery of `payload` to `plugin` under `key`, due at `due_at`, unless the
    /// plugin already has one with that key (a tick scheduled again, by another daemon or after
    /// a restart); whether it was new. `audit` is written with it when it is new (an
    /// administrator's tick).
    pub async fn plugin_event_schedule(
        &self,
        plugin: &str,
        key: &str,
        payload: &EventPayload,
        occurred_at: i64,
        due_at: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let audit = audit.map(AuditEntry::prepare).transpose()?;
        let mut tx = self.begin_write().await?;
        let inserted = insert_delivery(&mut tx, plugin, key, payload, occurred_at, due_at).await?;
        if let (true, Some(audit)) = (inserted, &audit) {
            append_audit(self, &mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Takes up to `limit` due deliveries for `owner`, oldest due first: pending ones whose
    /// `due_at` has come and that no live lease holds (a holder that died leaves its lease to
    /// expire). Each gets the lease and one more attempt.
    pub async fn plugin_events_claim(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let select = "SELECT id FROM plugin_events WHERE state = 'pending' AND due_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY due_at, id LIMIT $2";
        let Some((mut tx, ids)) = self.due_for_claim(select, now_ms, limit).await? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "UPDATE plugin_events SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN ({}) RETURNING id, plugin, event_key, payload, occurred_at, attempts",
            placeholders(3, ids.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(owner)
            .bind(now_ms.saturating_add(duration_ms(lease)));
        for id in &ids {
            query = query.bind(*id);
        }
        let mut claimed = query
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| {
                Ok(ClaimedEvent {
                    id: row.try_get("id")?,
                    plugin: row.try_get("plugin")?,
                    key: row.try_get("event_key")?,
                    payload: EventPayload::from_json(&row.try_get::<String, _>("payload")?)?,
                    occurred_at: row.try_get("occurred_at")?,
                    attempts: super::int_as(row, "attempts")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        tx.commit().await?;
        claimed.sort_by_key(|e| ids.iter().position(|id| *id == e.id));
        Ok(claimed)
    }

    /// Puts a delivery `owner` holds back to pending, due again at `due_at`, with `error`
    /// (why this attempt failed). An attempt that did not `count` (the plugin was not there to
    /// try) is given back. `Ok(false)`: the lease was no longer `owner`'s.
    pub async fn plugin_event_retry(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        due_at: i64,
        count: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE plugin_events SET lease_owner = NULL, lease_until = NULL, due_at = $1, \
             last_error = $2, attempts = attempts - $5 \
             WHERE id = $3 AND lease_owner = $4 AND state = 'pending'",
        )
        .bind(due_at)
        .bind(error)
        .bind(id)
        .bind(owner)
        .bind(i64::from(!count))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a delivery `owner` holds up as failed, with `error` and its audit row `audit`,
    /// in one transaction. `Ok(false)`: the lease was no longer `owner`'s (nothing written).
    pub async fn plugin_event_fail(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        audit: &AuditEntry,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let audit = audit.prepare()?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE plugin_events SET state = 'failed', lease_owner = NULL, lease_until = NULL, \
             finished_at = $1, last_error = $2 WHERE id = $3 AND lease_owner = $4 \
             AND state = 'pending'",
        )
        .bind(now_ms)
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        append_audit(self, &mut tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Finishes a delivery `owner` holds as done inside `tx` (the transaction committing the
    /// call's effects); [`StoreError::LeaseLost`] when the lease is no longer `owner`'s, which
    /// must roll the effects back.
    pub(super) async fn plugin_event_done(
        &self,
        tx: &mut Transaction<'static, sqlx::Any>,
        id: i64,
        owner: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE plugin_events SET state = 'done', lease_owner = NULL, lease_until = NULL, \
             finished_at = $1, last_error = NULL WHERE id = $2 AND lease_owner = $3 \
             AND state = 'pending'",
        )
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::LeaseLost {
                id,
                owner: owner.to_owned(),
            });
        }
        Ok(())
    }

    /// The newest `limit` deliveries to `plugin` (every plugin's when `None`), newest first.
    pub async fn plugin_events(
        &self,
        plugin: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventDelivery>, StoreError> {
        let rows = match plugin {
            Some(plugin) => {
                sqlx::query(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM plugin_events WHERE plugin = $1 \
                     ORDER BY id DESC LIMIT $2"
                ))
                .bind(plugin)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM plugin_events ORDER BY id DESC LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(delivery_from_row).collect()
    }
}
