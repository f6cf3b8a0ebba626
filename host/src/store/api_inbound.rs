//! Storage of inbound SMS for API clients (issue 5; R16, R19, R20): which key receives which
//! inbound messages (keywords and service numbers), the messages assigned to each key (its
//! inbox, read with a cursor), the webhook of each key and the deliveries to it, and the source
//! networks a key may be used from. The rules (keyword syntax and conflicts, signatures,
//! backoff) live in [`crate::api::inbound`] and [`crate::api::webhooks`].
//!
//! Assignment happens in the router's transaction that marks the message routed
//! ([`assign_in`]): the inbox row and, when the key has a webhook, the delivery row are
//! committed with it, so a crash loses neither.

use std::time::Duration;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, MessageId, Store, StoreError, duration_ms, placeholders};

/// PostgreSQL advisory lock key taken by every transaction that assigns inbound messages to
/// keys ("JXINBOX"), so that they commit in the order of their inbox cursors.
const INBOX_LOCK_KEY: i64 = 0x4a58_494e_424f_5800;

/// What an inbound route matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    /// The message's first word (upper case).
    Keyword,
    /// The service number it arrived on (digits).
    Number,
}

impl RouteKind {
    /// The text stored in `api_inbound_routes.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Keyword => "keyword",
            RouteKind::Number => "number",
        }
    }

    fn parse(text: &str) -> Result<RouteKind, StoreError> {
        match text {
            "keyword" => Ok(RouteKind::Keyword),
            "number" => Ok(RouteKind::Number),
            other => Err(StoreError::Corrupt {
                column: "api_inbound_routes.kind",
                value: other.to_owned(),
            }),
        }
    }
}

/// One inbound route: messages matching `value` go to the key `api_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboundRoute {
    pub kind: RouteKind,
    /// Upper-case keyword, or the digits of a service number.
    pub value: String,
    /// The key's name.
    pub api_key: String,
    /// Whether the key may receive now: not revoked and holding the `receive` scope.
    pub active: bool,
}

/// An inbound message assigned to a key, as its inbox shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiInboxEntry {
    /// The inbox cursor of this entry (increasing in the order entries were committed).
    pub seq: i64,
    pub message_id: MessageId,
    /// The sender, normalised; an alphanumeric sender's name as it came.
    pub sender: String,
    /// Whether the sender is a number or an alphanumeric name.
    pub sender_kind: super::PeerKind,
    /// The service number it arrived on, when the modem has one configured.
    pub service_number: Option<String>,
    pub text: String,
    /// `received` or `partial`.
    pub state: String,
    /// The network's time stamp of its first part (else when it was stored).
    pub received_at: i64,
}

/// A webhook delivery handed to a dispatcher under a lease.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub api_key: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: i64,
    /// The key's webhook now (`None`: removed since).
    pub url: Option<String>,
    /// Its signing secret.
    pub secret: Option<String>,
    /// Whether the key was revoked since.
    pub revoked: bool,
    /// The message to deliver.
    pub entry: ApiInboxEntry,
}

/// How an attempt ended, for [`Store::webhook_finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The client answered 2xx.
    Delivered { status: u16 },
    /// Failed; try again at `next_attempt_at`.
    Retry {
        status: Option<u16>,
        error: String,
        next_attempt_at: i64,
    },
    /// Failed for good (too old, key revoked, webhook removed).
    Abandoned { status: Option<u16>, error: String },
}

/// A webhook delivery as listed by `jingxun apikey deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub api_key: String,
    pub message_id: MessageId,
    /// `pending`, `delivered` or `abandoned`.
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

const ENTRY_COLUMNS: &str = "i.seq, m.id AS message_id, m.peer, m.peer_kind, m.service_number, \
     m.text, m.state, m.sent_at, m.created_at AS stored_at";

fn entry_from_row(row: &AnyRow) -> Result<ApiInboxEntry, StoreError> {
    let sent_at: Option<i64> = row.try_get("sent_at")?;
    Ok(ApiInboxEntry {
        seq: row.try_get("seq")?,
        message_id: row.try_get("message_id")?,
        sender: row.try_get("peer")?,
        sender_kind: super::parse_col(row, "peer_kind")?,
        service_number: row.try_get("service_number")?,
        text: row.try_get("text")?,
        state: row.try_get("state")?,
        received_at: match sent_at {
            Some(t) => t,
            None => row.try_get("stored_at")?,
        },
    })
}

fn opt_u16(row: &AnyRow, column: &'static str) -> Result<Option<u16>, StoreError> {
    super::opt_int_as(row, column)
}

fn delivery_from_row(row: &AnyRow) -> Result<DeliveryRecord, StoreError> {
    Ok(DeliveryRecord {
        id: row.try_get("id")?,
        api_key: row.try_get("api_key")?,
        message_id: row.try_get("message_id")?,
        state: row.try_get("state")?,
        attempts: super::int_as(row, "attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_status: opt_u16(row, "last_status")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

/// Assigns inbound messages to keys inside the router's transaction `tx` (which has marked
/// them routed): one inbox row each and, for keys that have a webhook, a pending delivery due
/// at once. On PostgreSQL the inbox lock is taken first, so that inbox cursors commit in order.
pub(super) async fn assign_in(
    backend: Backend,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    assignments: &[(MessageId, &str)],
    now_ms: i64,
) -> Result<(), StoreError> {
    if assignments.is_empty() {
        return Ok(());
    }
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INBOX_LOCK_KEY)
            .execute(&mut **tx)
            .await?;
    }
    for chunk in assignments.chunks(200) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, $1)", 2 + 2 * i, 3 + 2 * i))
            .collect();
        let sql = format!(
            "INSERT INTO api_inbox (api_key, message_id, created_at) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now_ms);
        for (id, key) in chunk {
            query = query.bind(*key).bind(*id);
        }
        query.execute(&mut **tx).await?;
        let sql = format!(
            "INSERT INTO api_webhook_deliveries (api_key, message_id, state, attempts, \
             next_attempt_at, created_at, updated_at) \
             SELECT i.api_key, i.message_id, 'pending', 0, $1, $1, $1 FROM api_inbox i \
             JOIN api_keys k ON k.name = i.api_key \
             WHERE k.webhook_url IS NOT NULL AND k.revoked_at IS NULL AND i.message_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(now_ms);
        for (id, _) in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Every inbound route, by key, kind and value; `active` says whether its key may receive.
    pub async fn api_inbound_routes(&self) -> Result<Vec<InboundRoute>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.kind, r.value, r.api_key, k.scopes, k.revoked_at FROM api_inbound_routes r \
             JOIN api_keys k ON k.name = r.api_key ORDER BY r.api_key, r.kind, r.value",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let scopes: String = row.try_get("scopes")?;
                let revoked: Option<i64> = row.try_get("revoked_at")?;
                Ok(InboundRoute {
                    kind: RouteKind::parse(&row.try_get::<String, _>("kind")?)?,
                    value: row.try_get("value")?,
                    api_key: row.try_get("api_key")?,
                    active: revoked.is_none() && scopes.split_whitespace().any(|s| s == "receive"),
                })
            })
            .collect()
    }

    /// Replaces the key `name`'s keyword routes with `keywords` and its number routes with
    /// `numbers` (each already normalised; `None` leaves that kind alone), with the audit row
    /// `audit`, in one transaction. Refuses ([`StoreError::InvalidInput`]) a value another key
    /// has, and answers `Ok(false)` when there is no such key.
    pub async fn api_key_set_inbound(
        &self,
        name: &str,
        keywords: Option<&[String]>,
        numbers: Option<&[String]>,
        audit: &super::audit::AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !key_exists(&mut tx, name).await? {
            return Ok(false);
        }
        for (kind, values) in [(RouteKind::Keyword, keywords), (RouteKind::Number, numbers)] {
            if let Some(values) = values {
                set_routes_in(&mut tx, name, kind, values).await?;
            }
        }
        super::audit::commit_with_audit(self, tx, audit).await?;
        Ok(true)
    }

    /// Sets the networks (CIDR texts, already checked) the key `name` may be used from (empty:
    /// any), with the audit row `audit`, in one transaction. `Ok(false)`: no such key.
    pub async fn api_key_set_networks(
        &self,
        name: &str,
        networks: &[String],
        audit: &super::audit::AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query("UPDATE api_keys SET allowed_networks = $1 WHERE name = $2")
            .bind(networks.join(" "))
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        super::audit::commit_with_audit(self, tx, audit).await?;
        Ok(true)
    }

    /// Sets (`Some((url, secret))`) or removes (`None`) the webhook of the key `name`, with the
    /// audit row `audit`, in one transaction. Removing it abandons the key's pending deliveries
    /// (the messages stay in its inbox). `Ok(false)`: no such key.
    pub async fn api_key_set_webhook(
        &self,
        name: &str,
        webhook: Option<(&str, &str)>,
        now_ms: i64,
        audit: &super::audit::AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE api_keys SET webhook_url = $1, webhook_secret = $2 WHERE name = $3",
        )
        .bind(webhook.map(|w| w.0))
        .bind(webhook.map(|w| w.1))
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        if webhook.is_none() {
            abandon_pending(&mut tx, name, "the key's webhook was removed", now_ms).await?;
        }
        super::audit::commit_with_audit(self, tx, audit).await?;
        Ok(true)
    }

    /// Up to `limit` inbox entries of the key `api_key` after the cursor `after_seq`, oldest
    /// first.
    pub async fn api_inbox(
        &self,
        api_key: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ApiInboxEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM api_inbox i JOIN messages m ON m.id = i.message_id \
             WHERE i.api_key = $1 AND i.seq > $2 ORDER BY i.seq LIMIT $3"
        );
        sqlx::query(&sql)
            .bind(api_key)
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(entry_from_row)
            .collect()
    }

    /// The key an inbound message was assigned to, if any.
    pub async fn api_inbox_owner(
        &self,
        message_id: MessageId,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT api_key FROM api_inbox WHERE message_id = $1")
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Takes up to `limit` webhook deliveries that are due and not leased, and leases them to
    /// `owner` until `now + lease` (exclusive: `BEGIN IMMEDIATE` on SQLite, `FOR UPDATE SKIP
    /// LOCKED` on PostgreSQL). The POST happens outside the transaction, under the lease.
    pub async fn webhook_claim(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let select = "SELECT id FROM api_webhook_deliveries WHERE state = 'pending' \
             AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
             ORDER BY next_attempt_at, id LIMIT $2";
        let Some((mut tx, ids)) = self.due_for_claim(select, now_ms, limit).await? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "UPDATE api_webhook_deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN ({})",
            placeholders(3, ids.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(owner)
            .bind(now_ms.saturating_add(duration_ms(lease)));
        for id in &ids {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await?;
        let sql = format!(
            "SELECT d.id AS delivery_id, d.api_key, d.attempts, d.created_at AS delivery_created, \
             k.webhook_url, k.webhook_secret, k.revoked_at, {ENTRY_COLUMNS} \
             FROM api_webhook_deliveries d JOIN api_keys k ON k.name = d.api_key \
             JOIN messages m ON m.id = d.message_id \
             JOIN api_inbox i ON i.message_id = d.message_id \
             WHERE d.id IN ({}) ORDER BY d.id",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query(&sql);
        for id in &ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedDelivery {
                    id: row.try_get("delivery_id")?,
                    api_key: row.try_get("api_key")?,
                    attempts: super::int_as(row, "attempts")?,
                    created_at: row.try_get("delivery_created")?,
                    url: row.try_get("webhook_url")?,
                    secret: row.try_get("webhook_secret")?,
                    revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
                    entry: entry_from_row(row)?,
                })
            })
            .collect()
    }

    /// Records the end of an attempt on the delivery `id`, if `owner` still holds its lease;
    /// `Ok(false)` otherwise (another dispatcher took it over: its record wins).
    pub async fn webhook_finish(
        &self,
        id: i64,
        owner: &str,
        outcome: &DeliveryOutcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (state, status, error, next, delivered_at) = match outcome {
            DeliveryOutcome::Delivered { status } => {
                ("delivered", Some(*status), None, None, Some(now_ms))
            }
            DeliveryOutcome::Retry {
                status,
                error,
                next_attempt_at,
            } => (
                "pending",
                *status,
                Some(error.as_str()),
                Some(*next_attempt_at),
                None,
            ),
            DeliveryOutcome::Abandoned { status, error } => {
                ("abandoned", *status, Some(error.as_str()), None, None)
            }
        };
        let updated = sqlx::query(
            "UPDATE api_webhook_deliveries SET state = $1, attempts = attempts + 1, \
             last_status = $2, last_error = $3, next_attempt_at = COALESCE($4, next_attempt_at), \
             delivered_at = $5, lease_owner = NULL, lease_until = NULL, updated_at = $6 \
             WHERE id = $7 AND lease_owner = $8 AND state = 'pending'",
        )
        .bind(state)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(next)
        .bind(delivered_at)
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    /// Webhook deliveries, newest first: of one key and/or in one state, at most `limit`.
    pub async fn webhook_deliveries(
        &self,
        api_key: Option<&str>,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        sqlx::query(
            "SELECT id, api_key, message_id, state, attempts, next_attempt_at, last_status, \
             last_error, created_at, updated_at, delivered_at FROM api_webhook_deliveries \
             WHERE ($1 IS NULL OR api_key = $1) AND ($2 IS NULL OR state = $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(api_key)
        .bind(state)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery_from_row)
        .collect()
    }
}

/// Replaces the routes of `kind` of the key `name` with `values` inside `tx`, refusing a value
/// another key has.
async fn set_routes_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &str,
    kind: RouteKind,
    values: &[String],
) -> Result<(), StoreError> {
    for value in values {
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT api_key FROM api_inbound_routes WHERE kind = $1 AND value = $2 \
             AND api_key <> $3",
        )
        .bind(kind.as_str())
        .bind(value.as_str())
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(owner) = owner {
            return Err(StoreError::InvalidInput {
                field: if kind == RouteKind::Keyword {
                    "keyword"
                } else {
                    "inbound number"
                },
                reason: format!(
                    "`{value}` already routes inbound messages to the API key `{owner}`; \
                     each keyword and number goes to one key: remove it there first \
                     (`jingxun apikey update --name {owner} ...`)"
                ),
            });
        }
    }
    sqlx::query("DELETE FROM api_inbound_routes WHERE api_key = $1 AND kind = $2")
        .bind(name)
        .bind(kind.as_str())
        .execute(&mut **tx)
        .await?;
    for value in values {
        sqlx::query("INSERT INTO api_inbound_routes (kind, value, api_key) VALUES ($1, $2, $3)")
            .bind(kind.as_str())
            .bind(value.as_str())
            .bind(name)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn key_exists(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT id FROM api_keys WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

/// Abandons the pending deliveries of the key `name` (revoked, or its webhook removed).
pub(super) async fn abandon_pending(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &str,
    reason: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE api_webhook_deliveries SET state = 'abandoned', last_error = $1, \
         lease_owner = NULL, lease_until = NULL, updated_at = $2 \
         WHERE api_key = $3 AND state = 'pending'",
    )
    .bind(reason)
    .bind(now_ms)
    .bind(name)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes the inbound routes of the key `name` (it was revoked: its keywords and numbers are
/// free for other keys) and abandons its pending deliveries.
pub(super) async fn retire_key_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM api_inbound_routes WHERE api_key = $1")
        .bind(name)
        .execute(&mut **tx)
        .await?;
    abandon_pending(tx, name, "the key was revoked", now_ms).await
}
