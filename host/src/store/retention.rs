//! Retention (issue 18 item 12): deleting what is kept no longer than `[retention]` says.
//!
//! What goes, and when ([`Store::run_retention`]):
//! - **Finished messages** created and last changed before `messages_days`: outbound ones that
//!   are `sent`, `delivered`, `failed` or `expired`, inbound ones (`received`, or `partial`: a
//!   set that stayed incomplete is closed for good) once the router has handled them. Never a
//!   message still `queued` or `sending`, an inbound one not yet routed, or one whose webhook
//!   delivery is still pending. Their outbound parts, received PDUs, API inbox entries, webhook
//!   deliveries and web-send recipient names go in the same transaction, so nothing is left
//!   pointing at a message that is gone. Undecodable PDUs (`inbound_malformed`) follow the
//!   same limit.
//! - **Idempotency records** of the API older than `idempotency_days`.
//! - **Finished webhook deliveries** (delivered or abandoned) last changed before
//!   `webhook_deliveries_days`.
//! - **Finished event deliveries to plugins** (done or given up) finished before
//!   `event_deliveries_days`, and host events fanned out before it. A pending delivery stays,
//!   and a tick's delivery is only deleted a day or more after it was due, so deleting it never
//!   lets its daily tick be scheduled again.
//! - **Audit rows: never.** The log is append-only for everyone (triggers abort every DELETE)
//!   and its hash chain runs from row 1, so removing old rows would mean dropping the triggers
//!   and breaking `audit verify`. They are kept for ever, which keeps them the year
//!   (`audit_days`, at least 365) they must be kept at least.
//!
//! The daemon runs it once an hour and `jingxun retention run` once, each run recorded in the
//! audit log when it deleted anything: [`crate::operations::retention`].
//!
//! Work is done in transactions of at most [`BATCH`] rows, so that the write lock (SQLite's
//! one writer; row locks on PostgreSQL) is never held for long and the API's commits slip in
//! between. A batch's message ids are chosen inside its write transaction (on PostgreSQL
//! locked `FOR UPDATE SKIP LOCKED`), so a message that another writer is changing at that
//! moment (a failed message being sent again) is skipped, never deleted under it.
//!
//! The idempotency and delivery tables are cut without an index on their times: rows are
//! scanned in insertion order, which is time order, and each batch stops at its 1,000th old
//! row; an index would cost every API request one more write for an hourly job.

use std::time::Duration;

use serde::Serialize;
use sqlx::Row;

use super::{Backend, Store, StoreError, duration_ms};
use crate::config::RetentionConfig;

/// Rows deleted per transaction, at most.
pub const BATCH: usize = 1_000;

/// The states of a finished message (see the module documentation).
const FINAL_STATES: &str = "'sent', 'delivered', 'failed', 'expired', 'received', 'partial'";

/// What [`Store::run_retention`] deletes: the age limits, `None` for "keep for ever".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Finished messages (and undecodable PDUs).
    pub messages: Option<Duration>,
    /// The API's idempotency records.
    pub idempotency: Option<Duration>,
    /// Finished webhook deliveries.
    pub webhook_deliveries: Option<Duration>,
    /// Finished event deliveries to plugins, and host events fanned out.
    pub event_deliveries: Option<Duration>,
    /// Rows per transaction; [`BATCH`] but in tests.
    pub batch: usize,
}

impl RetentionPolicy {
    /// The limits of `[retention]` (0 days: for ever).
    pub fn from_config(config: &RetentionConfig) -> RetentionPolicy {
        let days = |d: u32| (d > 0).then(|| Duration::from_secs(u64::from(d) * 86_400));
        RetentionPolicy {
            messages: days(config.messages_days),
            idempotency: days(config.idempotency_days),
            webhook_deliveries: days(config.webhook_deliveries_days),
            event_deliveries: days(config.event_deliveries_days),
            batch: BATCH,
        }
    }
}

/// What one run deleted, by table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Messages, inbound and outbound.
    pub messages: u64,
    /// Their outbound parts.
    pub message_parts: u64,
    /// Their received PDUs.
    pub inbound_parts: u64,
    /// Undecodable PDUs.
    pub malformed_pdus: u64,
    /// API idempotency records.
    pub idempotency_records: u64,
    /// Webhook deliveries (with their messages or past their own limit).
    pub webhook_deliveries: u64,
    /// Finished event deliveries to plugins.
    pub event_deliveries: u64,
    /// Host events fanned out.
    pub host_events: u64,
    /// Transactions committed.
    pub batches: u64,
}

impl RetentionReport {
    /// Whether anything was deleted.
    pub fn is_empty(&self) -> bool {
        self.messages
            + self.message_parts
            + self.inbound_parts
            + self.malformed_pdus
            + self.idempotency_records
            + self.webhook_deliveries
            + self.event_deliveries
            + self.host_events
            == 0
    }
}

impl Store {
    /// Deletes what `policy` keeps no longer, as of `now_ms`, in transactions of at most
    /// `policy.batch` rows; returns what was deleted. Audit rows are never touched. Safe to
    /// run beside the daemon's writers and while another run goes on (a row is deleted once).
    pub async fn run_retention(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> Result<RetentionReport, StoreError> {
        let batch = policy.batch.max(1);
        let cutoff = |age: Duration| now_ms.saturating_sub(duration_ms(age));
        let mut report = RetentionReport::default();
        if let Some(age) = policy.messages {
            let before = cutoff(age);
            while self
                .delete_message_batch(before, batch, &mut report)
                .await?
                == batch
            {
                tokio::task::yield_now().await;
            }
            let malformed = "DELETE FROM inbound_malformed WHERE id IN \
                 (SELECT id FROM inbound_malformed WHERE stored_at < $1 ORDER BY id LIMIT $2)";
            report.malformed_pdus += self
                .delete_in_batches(malformed, before, batch, &mut report)
                .await?;
        }
        if let Some(age) = policy.idempotency {
            // Rows are found in insertion (time) order; see the module documentation.
            let idempotency = "DELETE FROM api_idempotency WHERE (api_key, idempotency_key) IN \
                 (SELECT api_key, idempotency_key FROM api_idempotency WHERE created_at < $1 \
                  LIMIT $2)";
            report.idempotency_records += self
                .delete_in_batches(idempotency, cutoff(age), batch, &mut report)
                .await?;
        }
        if let Some(age) = policy.webhook_deliveries {
            let deliveries = "DELETE FROM api_webhook_deliveries WHERE id IN \
                 (SELECT id FROM api_webhook_deliveries WHERE state IN ('delivered', 'abandoned') \
                  AND updated_at < $1 ORDER BY id LIMIT $2)";
            report.webhook_deliveries += self
                .delete_in_batches(deliveries, cutoff(age), batch, &mut report)
                .await?;
        }
        if let Some(age) = policy.event_deliveries {
            // At least a day, so that a tick's delivery outlives the day its tick can be
            // scheduled in (its key keeps it delivered once).
            let before = cutoff(age.max(Duration::from_secs(2 * 86_400)));
            let deliveries = "DELETE FROM plugin_events WHERE id IN \
                 (SELECT id FROM plugin_events WHERE state IN ('done', 'failed') \
                  AND finished_at < $1 ORDER BY id LIMIT $2)";
            report.event_deliveries += self
                .delete_in_batches(deliveries, before, batch, &mut report)
                .await?;
            let fanned_out = "DELETE FROM host_events WHERE id IN \
                 (SELECT id FROM host_events WHERE fanned_out_at < $1 ORDER BY id LIMIT $2)";
            report.host_events += self
                .delete_in_batches(fanned_out, before, batch, &mut report)
                .await?;
        }
        Ok(report)
    }

    /// Runs `delete` (`$1`: the cutoff, `$2`: the batch size) until it deletes less than a
    /// batch, one transaction each; returns the rows deleted.
    async fn delete_in_batches(
        &self,
        delete: &str,
        before: i64,
        batch: usize,
        report: &mut RetentionReport,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let done = sqlx::query(delete)
                .bind(before)
                .bind(batch as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            report.batches += 1;
            deleted += done;
            if done < batch as u64 {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Deletes up to `batch` finished messages created and last changed before `before`, with
    /// everything that points at them, in one transaction; returns how many messages.
    async fn delete_message_batch(
        &self,
        before: i64,
        batch: usize,
        report: &mut RetentionReport,
    ) -> Result<usize, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let select = format!(
            "SELECT id FROM messages m WHERE created_at < $1 AND updated_at < $1 \
             AND state IN ({FINAL_STATES}) AND (direction = 'out' OR routed_at IS NOT NULL) \
             AND NOT EXISTS (SELECT 1 FROM api_webhook_deliveries d \
                             WHERE d.message_id = m.id AND d.state = 'pending') \
             ORDER BY created_at, id LIMIT $2{lock}"
        );
        let mut tx = self.begin_write().await?;
        let ids: Vec<i64> = sqlx::query(&select)
            .bind(before)
            .bind(batch as i64)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let list = id_list(self.backend, ids.len());
        let mut delete = async |table: &str, column: &str| -> Result<u64, StoreError> {
            let sql = format!("DELETE FROM {table} WHERE {column} IN ({list})");
            let mut query = sqlx::query(&sql);
            for id in &ids {
                query = query.bind(*id);
            }
            Ok(query.execute(&mut *tx).await?.rows_affected())
        };
        // Children first: the result is the same with or without the foreign keys' cascades,
        // and the counts are ours to report.
        let message_parts = delete("message_parts", "message_id").await?;
        let inbound_parts = delete("inbound_parts", "message_id").await?;
        let webhook_deliveries = delete("api_webhook_deliveries", "message_id").await?;
        delete("api_inbox", "message_id").await?;
        delete("web_send_names", "message_id").await?;
        let messages = delete("messages", "id").await?;
        tx.commit().await?;
        report.message_parts += message_parts;
        report.inbound_parts += inbound_parts;
        report.webhook_deliveries += webhook_deliveries;
        report.messages += messages;
        report.batches += 1;
        Ok(ids.len())
    }
}

/// `count` placeholders for an `IN (...)` list: anonymous `?` on SQLite (whose `$N` look-up is
/// quadratic in long statements, see `values_lists`), `$1, $2, ...` on PostgreSQL.
fn id_list(backend: Backend, count: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; count].join(", "),
        Backend::Postgres => super::placeholders(1, count),
    }
}

#[cfg(test)]
mod tests;
