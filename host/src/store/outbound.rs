//! Outbound messages: enqueue, claim under a lease, record each part as `+CMGS` accepts it,
//! finish (sent, retry, failed) and apply status reports.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::AnyRow;
use sqlx::{Row, Transaction};

use crate::sms::Encoding;

use super::{
    Backend, MessageId, MessageState, PartState, STATUS_REPORT_WINDOW, Store, StoreError,
    duration_ms, int_as, opt_encoding, opt_u8, parse_col, placeholders, values_lists,
};

/// Attempts a message gets when the caller has no better idea ([`NewOutbound::new`]).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Rows per multi-row INSERT in [`Store::enqueue`]: at [`ENQUEUE_COLUMNS`] parameters a row a
/// chunk stays far below SQLite's (32,766) and PostgreSQL's (65,535) limits on bind parameters.
const ENQUEUE_CHUNK: usize = 500;

/// Bound parameters per row in [`Store::enqueue`].
const ENQUEUE_COLUMNS: usize = 13;

/// Most messages one [`Store::claim_outbound`] call hands out.
pub const MAX_CLAIM: u32 = 1000;

/// How long a status report that matched no part waits for its part to be recorded. The modem
/// can hand over the `+CDS` before the driver has stored the `+CMGS` answer's reference, which
/// takes a commit (seconds at worst). Short, because a report left from a duplicate must not be
/// taken by the next part with the same TP-MR and recipient: that needs 256 more parts through
/// the same modem, which no modem sends in two minutes.
pub const EARLY_REPORT_WINDOW: Duration = Duration::from_secs(120);

/// A message to send, as given to [`Store::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbound {
    /// Recipient number, normalised by the caller.
    pub peer: String,
    pub text: String,
    /// Which of our numbers should send it (`None`: any).
    pub service_number: Option<String>,
    /// Higher is claimed first.
    pub priority: i32,
    /// Ask the network for status reports.
    pub status_report: bool,
    /// Not sent after this time (unix ms); the message becomes `expired` instead (R4).
    pub valid_until_ms: Option<i64>,
    /// Not sent before this time (unix ms); `None` means now.
    pub send_at_ms: Option<i64>,
    /// Attempts before the message is dead-lettered as `failed`; at least 1.
    pub max_attempts: u32,
    /// Groups the recipients of one send.
    pub batch_id: Option<String>,
}

impl NewOutbound {
    /// A message with default settings: priority 0, no status report, no validity limit, due
    /// now, [`DEFAULT_MAX_ATTEMPTS`] attempts, no batch.
    pub fn new(peer: impl Into<String>, text: impl Into<String>) -> NewOutbound {
        NewOutbound {
            peer: peer.into(),
            text: text.into(),
            service_number: None,
            priority: 0,
            status_report: false,
            valid_until_ms: None,
            send_at_ms: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            batch_id: None,
        }
    }
}

/// One batch of [`Store::insert_outbound_batches`]: its messages, the API key that queued them
/// (if one did) and the time they were queued.
pub(super) struct OutboundBatch<'a> {
    pub messages: &'a [NewOutbound],
    pub api_key: Option<&'a str>,
    pub now_ms: i64,
}

/// Refuses a batch that could not be sent: an empty recipient, no attempt allowed.
pub(super) fn check_outbound(batch: &[NewOutbound]) -> Result<(), StoreError> {
    for message in batch {
        if message.peer.trim().is_empty() {
            return Err(StoreError::InvalidInput {
                field: "peer",
                reason: "the recipient number is empty".into(),
            });
        }
        if message.max_attempts == 0 {
            return Err(StoreError::InvalidInput {
                field: "max_attempts",
                reason: format!("must be at least 1 (recipient {})", message.peer),
            });
        }
    }
    Ok(())
}

/// A part of a message that an earlier attempt already had accepted by the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPart {
    pub seq: u8,
    pub modem: Option<String>,
    pub message_reference: Option<u8>,
}

/// A message handed to a worker by [`Store::claim_outbound`], under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    pub id: MessageId,
    pub peer: String,
    pub service_number: Option<String>,
    pub text: String,
    /// Including this attempt.
    pub attempts: u32,
    pub max_attempts: u32,
    /// The reference to put in the concatenation header. Assigned at enqueue: a random start per
    /// enqueue call, counting up by one per message (mod 65536), so that the messages of one
    /// batch differ and consecutive long messages to one phone do not share a reference. A codec
    /// using 8-bit references takes the low byte.
    pub concat_reference: u16,
    pub status_report: bool,
    pub priority: i32,
    pub batch_id: Option<String>,
    pub valid_until: Option<i64>,
    /// Known once a part has been sent; a retry must split the text the same way.
    pub parts_total: Option<u8>,
    pub encoding: Option<Encoding>,
    /// Parts already accepted by the network in earlier attempts: do not send them again.
    pub sent_parts: Vec<SentPart>,
}

impl ClaimedMessage {
    /// Whether an earlier attempt already sent part `seq`.
    pub fn is_part_sent(&self, seq: u8) -> bool {
        self.sent_parts.iter().any(|p| p.seq == seq)
    }
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(duration_ms)
        .unwrap_or(0)
}

fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// Lease columns read before finishing a message.
struct Leased {
    attempts: u32,
    max_attempts: u32,
    parts_total: Option<u8>,
}

impl Store {
    /// Stores a batch of messages to send, in ONE transaction, and returns their ids in the
    /// order given. The current wall-clock time is the creation time; see [`Store::enqueue_at`].
    pub async fn enqueue(&self, batch: &[NewOutbound]) -> Result<Vec<MessageId>, StoreError> {
        self.enqueue_at(batch, wall_clock_ms()).await
    }

    /// [`Store::enqueue`] with the creation time given (unix ms). Messages without `send_at_ms`
    /// are due at `now_ms`. When this returns `Ok`, the batch is committed (durable); on error
    /// nothing of it is stored.
    pub async fn enqueue_at(
        &self,
        batch: &[NewOutbound],
        now_ms: i64,
    ) -> Result<Vec<MessageId>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let ids = self.insert_outbound(&mut tx, batch, now_ms).await?;
        tx.commit().await?;
        tracing::debug!(count = ids.len(), "enqueued outbound messages");
        Ok(ids)
    }

    /// Inserts `batch` as queued outbound messages inside `tx` and
    /// returns their ids in the order given; shared by [`Store::enqueue_at`] and the inbound
    /// router, which queues replies in the same transaction that marks a message handled.
    pub(super) async fn insert_outbound(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        batch: &[NewOutbound],
        now_ms: i64,
    ) -> Result<Vec<MessageId>, StoreError> {
        let batches = [OutboundBatch {
            messages: batch,
            api_key: None,
            now_ms,
        }];
        let mut ids = self.insert_outbound_batches(tx, &batches).await?;
        Ok(ids.pop().unwrap_or_default())
    }

    /// Inserts several batches (the requests of one API group commit) with as few multi-row
    /// INSERTs as their total size allows, and returns each batch's ids in the order given.
    /// Every batch gets its own concatenation references (a random start, counting up).
    pub(super) async fn insert_outbound_batches(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        batches: &[OutboundBatch<'_>],
    ) -> Result<Vec<Vec<MessageId>>, StoreError> {
        for batch in batches {
            check_outbound(batch.messages)?;
        }
        // (batch, message, concatenation reference) in insertion order.
        let mut rows = Vec::with_capacity(batches.iter().map(|b| b.messages.len()).sum());
        for (index, batch) in batches.iter().enumerate() {
            let first_reference: u16 = rand::random();
            for (position, message) in batch.messages.iter().enumerate() {
                // Wrapping on purpose: the reference only has to differ from its neighbours.
                rows.push((
                    index,
                    message,
                    first_reference.wrapping_add(position as u16),
                ));
            }
        }
        let mut ids: Vec<Vec<MessageId>> = batches
            .iter()
            .map(|b| Vec::with_capacity(b.messages.len()))
            .collect();
        for chunk in rows.chunks(ENQUEUE_CHUNK) {
            let mut sql = values_lists(
                self.backend,
                "INSERT INTO messages (direction, state, attempts, created_at, updated_at, peer, \
                 service_number, text, max_attempts, next_attempt_at, priority, status_report, \
                 valid_until, concat_reference, batch_id, api_key) VALUES ",
                "'out', 'queued', 0, ",
                ENQUEUE_COLUMNS,
                chunk.len(),
            );
            if self.backend == Backend::Postgres {
                sql.push_str(" RETURNING id");
            }
            let mut query = sqlx::query(&sql);
            for &(index, message, reference) in chunk {
                let batch = &batches[index];
                query = query
                    .bind(batch.now_ms)
                    .bind(batch.now_ms)
                    .bind(message.peer.as_str())
                    .bind(message.service_number.as_deref())
                    .bind(message.text.as_str())
                    .bind(i64::from(message.max_attempts))
                    .bind(message.send_at_ms.unwrap_or(batch.now_ms))
                    .bind(i64::from(message.priority))
                    .bind(i64::from(message.status_report))
                    .bind(message.valid_until_ms)
                    .bind(i64::from(reference))
                    .bind(message.batch_id.as_deref())
                    .bind(batch.api_key);
            }
            // Ids of one statement are handed out in VALUES order (SQLite: one writer,
            // AUTOINCREMENT gives max+1 to each row; PostgreSQL: nextval per row), so ascending
            // order is the order given.
            let chunk_ids: Vec<MessageId> = match self.backend {
                // The last id and the count say them all. RETURNING would hand every row to
                // the async side on its own, each a wake-up of another thread: at 100
                // recipients a request that was most of the writer's time. (sqlx's `Any`
                // driver drops SQLite's last rowid from its result, hence the SELECT.)
                Backend::Sqlite => {
                    let done = query.execute(&mut **tx).await?;
                    let count = chunk.len() as i64;
                    if done.rows_affected() != count as u64 {
                        return Err(StoreError::Database(sqlx::Error::Protocol(format!(
                            "inserting {count} messages stored {} rows",
                            done.rows_affected()
                        ))));
                    }
                    let last: i64 = sqlx::query("SELECT last_insert_rowid() AS id")
                        .fetch_one(&mut **tx)
                        .await?
                        .try_get("id")?;
                    (last - count + 1..=last).collect()
                }
                Backend::Postgres => {
                    let fetched = query.fetch_all(&mut **tx).await?;
                    let mut ids = fetched
                        .iter()
                        .map(|r| r.try_get::<i64, _>("id"))
                        .collect::<Result<Vec<_>, _>>()?;
                    // RETURNING order is unspecified.
                    ids.sort_unstable();
                    ids
                }
            };
            for (&(index, _, _), id) in chunk.iter().zip(chunk_ids) {
                ids[index].push(id);
            }
        }
        Ok(ids)
    }

    /// Atomically takes up to `limit` (at most [`MAX_CLAIM`]) due messages for `owner`, highest
    /// priority first, then oldest: queued ones whose `next_attempt_at` has come, and sending ones
    /// whose lease expired (their holder died). Each gets state `sending`, the lease, and one
    /// more attempt. Messages past `valid_until` become `expired`, and those whose holders died
    /// `max_attempts` times become `failed`; neither is returned.
    ///
    /// `owner` must identify one worker incarnation (e.g. host, pid, modem and a random part):
    /// the finishing calls check it.
    pub async fn claim_outbound(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let limit = limit.min(MAX_CLAIM) as usize;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lease_until = now_ms.saturating_add(duration_ms(lease));
        let lock_clause = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let select = format!(
            "SELECT id, state, attempts, max_attempts, valid_until, lease_owner FROM messages \
             WHERE direction = 'out' AND ((state = 'queued' AND next_attempt_at <= $1) \
             OR (state = 'sending' AND lease_until < $1)) \
             ORDER BY priority DESC, id LIMIT $2{lock_clause}"
        );
        let mut tx = self.begin_write().await?;
        let mut claimed: Vec<ClaimedMessage> = Vec::new();
        // Each round retires what it cannot hand out; a few rounds fill `limit` in practice and
        // the bound keeps one call short.
        for _round in 0..8 {
            let want = limit - claimed.len();
            if want == 0 {
                break;
            }
            let rows = sqlx::query(&select)
                .bind(now_ms)
                .bind(want as i64)
                .fetch_all(&mut *tx)
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut take = Vec::with_capacity(rows.len());
            let mut retired = 0usize;
            for row in &rows {
                let id: i64 = row.try_get("id")?;
                let state: MessageState = parse_col(row, "state")?;
                let attempts: i64 = row.try_get("attempts")?;
                let max_attempts: i64 = row.try_get("max_attempts")?;
                let valid_until: Option<i64> = row.try_get("valid_until")?;
                let previous_owner: Option<String> = row.try_get("lease_owner")?;
                if let Some(valid_until) = valid_until.filter(|v| *v < now_ms) {
                    let error = format!(
                        "validity ended at {} before the message could be sent",
                        format_ms(valid_until)
                    );
                    finish(&mut tx, id, MessageState::Expired, &error, now_ms).await?;
                    tracing::info!(id, "outbound message expired unsent");
                    retired += 1;
                } else if state == MessageState::Sending && attempts >= max_attempts {
                    let error = format!(
                        "gave up after {attempts} attempts: worker `{}` stopped without \
                         finishing the message (its lease expired)",
                        previous_owner.as_deref().unwrap_or("?")
                    );
                    finish(&mut tx, id, MessageState::Failed, &error, now_ms).await?;
                    tracing::warn!(id, attempts, "outbound message dead-lettered");
                    retired += 1;
                } else {
                    if state == MessageState::Sending {
                        tracing::warn!(
                            id,
                            previous_owner = previous_owner.as_deref().unwrap_or("?"),
                            new_owner = owner,
                            "lease expired; taking the message over"
                        );
                    }
                    take.push(id);
                }
            }
            if !take.is_empty() {
                let sql = format!(
                    "UPDATE messages SET state = 'sending', lease_owner = $1, lease_until = $2, \
                     attempts = attempts + 1, updated_at = $3 WHERE id IN ({}) \
                     RETURNING id, peer, service_number, text, attempts, max_attempts, \
                     concat_reference, status_report, priority, batch_id, valid_until, \
                     parts_total, encoding",
                    placeholders(4, take.len())
                );
                let mut query = sqlx::query(&sql).bind(owner).bind(lease_until).bind(now_ms);
                for id in &take {
                    query = query.bind(*id);
                }
                let mut by_id: HashMap<i64, ClaimedMessage> = HashMap::with_capacity(take.len());
                for row in query.fetch_all(&mut *tx).await? {
                    let message = claimed_from_row(&row)?;
                    by_id.insert(message.id, message);
                }
                // Keep the priority order of the SELECT (RETURNING order is unspecified).
                claimed.extend(take.iter().filter_map(|id| by_id.remove(id)));
            }
            if retired == 0 {
                break;
            }
        }
        if !claimed.is_empty() {
            let sql = format!(
                "SELECT message_id, seq, modem, message_reference FROM message_parts \
                 WHERE state <> 'pending' AND message_id IN ({}) ORDER BY message_id, seq",
                placeholders(1, claimed.len())
            );
            let mut query = sqlx::query(&sql);
            for message in &claimed {
                query = query.bind(message.id);
            }
            let mut parts: HashMap<i64, Vec<SentPart>> = HashMap::new();
            for row in query.fetch_all(&mut *tx).await? {
                parts
                    .entry(row.try_get("message_id")?)
                    .or_default()
                    .push(SentPart {
                        seq: super::req_u8(&row, "seq")?,
                        modem: row.try_get("modem")?,
                        message_reference: opt_u8(&row, "message_reference")?,
                    });
            }
            for message in &mut claimed {
                message.sent_parts = parts.remove(&message.id).unwrap_or_default();
            }
        }
        tx.commit().await?;
        if !claimed.is_empty() {
            tracing::debug!(owner, count = claimed.len(), "claimed outbound messages");
        }
        Ok(claimed)
    }

    /// Extends the lease of a message `owner` is still sending. `Ok(false)`: the lease is gone
    /// (taken over or finished); stop working on the message.
    pub async fn renew_lease(
        &self,
        id: MessageId,
        owner: &str,
        lease: Duration,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE messages SET lease_until = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'sending' AND lease_owner = $4",
        )
        .bind(now_ms.saturating_add(duration_ms(lease)))
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Records that the network accepted part `seq` of `parts_total` (`+CMGS: <mr>`). Call it
    /// right after each answer: it commits at once, which keeps the window of duplicates after a
    /// crash to the part in flight. The first call also fixes the message's `parts_total` and
    /// `encoding`; later calls must agree with them.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_part_sent(
        &self,
        id: MessageId,
        seq: u8,
        parts_total: u8,
        modem: &str,
        message_reference: u8,
        encoding: Encoding,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if parts_total == 0 || seq == 0 || seq > parts_total {
            return Err(StoreError::InvalidInput {
                field: "seq",
                reason: format!("part {seq} of {parts_total} is not a valid part number"),
            });
        }
        let mut tx = self.begin_write().await?;
        // Before the message's lock, in the order apply_status_report takes them.
        self.lock_status_reports(&mut tx, modem).await?;
        self.lock_message(&mut tx, id).await?;
        let row = sqlx::query("SELECT direction, parts_total FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { id })?;
        let direction: super::Direction = parse_col(&row, "direction")?;
        if direction != super::Direction::Out {
            return Err(StoreError::Conflict {
                id,
                reason: "is an inbound message; parts can only be sent for outbound ones".into(),
            });
        }
        match opt_u8(&row, "parts_total")? {
            Some(known) if known != parts_total => {
                return Err(StoreError::Conflict {
                    id,
                    reason: format!(
                        "was split into {known} parts before, now into {parts_total}; a retry \
                         must split the text the same way"
                    ),
                });
            }
            Some(_) => {}
            None => {
                let sql = format!(
                    "INSERT INTO message_parts (message_id, seq, state) VALUES {} \
                     ON CONFLICT DO NOTHING",
                    (1..=parts_total)
                        .map(|s| format!("($1, {s}, 'pending')"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                sqlx::query(&sql).bind(id).execute(&mut *tx).await?;
            }
        }
        sqlx::query(
            "UPDATE messages SET parts_total = $1, encoding = $2, modem = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(i64::from(parts_total))
        .bind(encoding.as_str())
        .bind(modem)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE message_parts SET state = 'sent', modem = $1, message_reference = $2, \
             status = NULL, sent_at = $3, reported_at = NULL WHERE message_id = $4 AND seq = $5",
        )
        .bind(modem)
        .bind(i64::from(message_reference))
        .bind(now_ms)
        .bind(id)
        .bind(i64::from(seq))
        .execute(&mut *tx)
        .await?;
        apply_early_reports(&mut tx, id, seq, modem, message_reference, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// All parts are sent: the message becomes `sent` (or `delivered`/`failed` if every report
    /// already arrived) and its lease is released. Fails with [`StoreError::Conflict`] if a part
    /// was never recorded as sent, and [`StoreError::LeaseLost`] if `owner` lost the lease.
    pub async fn mark_sent(
        &self,
        id: MessageId,
        owner: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let leased = self.check_lease(&mut tx, id, owner).await?;
        let Some(parts_total) = leased.parts_total else {
            return Err(StoreError::Conflict {
                id,
                reason: "no part was recorded as sent; call record_part_sent for each part first"
                    .into(),
            });
        };
        let pending: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM message_parts WHERE message_id = $1 AND state = 'pending'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if pending > 0 {
            return Err(StoreError::Conflict {
                id,
                reason: format!(
                    "{pending} of {parts_total} parts were not recorded as sent; send them or \
                     call mark_retry"
                ),
            });
        }
        sqlx::query(
            "UPDATE messages SET state = 'sent', sent_at = $1, updated_at = $1, last_error = NULL, \
             lease_owner = NULL, lease_until = NULL, next_attempt_at = NULL WHERE id = $2",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        apply_part_outcomes(&mut tx, id, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a claimed message back untouched: it was not attempted (no ready modem could take
    /// it), so the attempt the claim counted is undone and `reason` is shown as its last error
    /// until it goes out. It is due again at `next_attempt_at_ms`.
    pub async fn release_claim(
        &self,
        id: MessageId,
        owner: &str,
        reason: &str,
        next_attempt_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        self.check_lease(&mut tx, id, owner).await?;
        sqlx::query(
            "UPDATE messages SET state = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
             last_error = $1, next_attempt_at = $2, updated_at = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4",
        )
        .bind(reason)
        .bind(next_attempt_at_ms)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// This attempt failed with `error`: the message is queued again for `next_attempt_at_ms`,
    /// or, if it has used its `max_attempts`, dead-lettered as `failed` with `last_error` saying
    /// so. Parts already sent stay recorded and will not be sent again.
    pub async fn mark_retry(
        &self,
        id: MessageId,
        owner: &str,
        error: &str,
        next_attempt_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let leased = self.check_lease(&mut tx, id, owner).await?;
        if leased.attempts >= leased.max_attempts {
            let error = format!("gave up after {} attempts: {error}", leased.attempts);
            finish(&mut tx, id, MessageState::Failed, &error, now_ms).await?;
            tracing::warn!(
                id,
                attempts = leased.attempts,
                "outbound message dead-lettered"
            );
        } else {
            sqlx::query(
                "UPDATE messages SET state = 'queued', last_error = $1, next_attempt_at = $2, \
                 updated_at = $3, lease_owner = NULL, lease_until = NULL WHERE id = $4",
            )
            .bind(error)
            .bind(next_attempt_at_ms)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            // A part already reported failed makes retrying pointless.
            apply_part_outcomes(&mut tx, id, now_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The message cannot be sent (e.g. the number is refused): `failed`, with `error` as
    /// `last_error`.
    pub async fn mark_failed(
        &self,
        id: MessageId,
        owner: &str,
        error: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        self.check_lease(&mut tx, id, owner).await?;
        finish(&mut tx, id, MessageState::Failed, error, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies a status report (TP-ST `status`) from `modem` for TP-MR `message_reference` and
    /// TP-RA `recipient` (normalised as message peers are) to the most recent part sent by that
    /// modem with that reference to that recipient within [`STATUS_REPORT_WINDOW`]: TP-MR is one
    /// byte and wraps, so the recipient keeps a late report off a newer part to someone else.
    /// `delivered`: `Some(true)` delivered, `Some(false)` failed permanently, `None` still
    /// pending. The message becomes `delivered` once all its parts are, `failed` as soon as one
    /// part failed. A part's first final report wins, so duplicate and out-of-order reports are
    /// harmless.
    ///
    /// A report is never dropped. One that matches no part, or only a part that already has its
    /// final report, is kept in `unmatched_status_reports`: the modem can deliver it before the
    /// driver has recorded the part's reference, and [`Store::record_part_sent`] applies it
    /// then, within [`EARLY_REPORT_WINDOW`]; otherwise it stays there for inspection.
    /// Returns the message whose part the report matched, `None` if it was kept to wait.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_status_report(
        &self,
        modem: &str,
        message_reference: u8,
        recipient: &str,
        status: u8,
        delivered: Option<bool>,
        now_ms: i64,
    ) -> Result<Option<MessageId>, StoreError> {
        let mut tx = self.begin_write().await?;
        self.lock_status_reports(&mut tx, modem).await?;
        let found = sqlx::query(
            "SELECT p.message_id, p.seq, p.state FROM message_parts p \
             JOIN messages m ON m.id = p.message_id \
             WHERE p.modem = $1 AND p.message_reference = $2 AND p.sent_at >= $3 \
             AND p.state <> 'pending' AND m.peer = $4 \
             ORDER BY p.sent_at DESC, p.message_id DESC, p.seq DESC LIMIT 1",
        )
        .bind(modem)
        .bind(i64::from(message_reference))
        .bind(now_ms.saturating_sub(duration_ms(STATUS_REPORT_WINDOW)))
        .bind(recipient)
        .fetch_optional(&mut *tx)
        .await?;
        let matched = match &found {
            Some(row) => Some((
                row.try_get::<i64, _>("message_id")?,
                row.try_get::<i64, _>("seq")?,
                parse_col::<PartState>(row, "state")? == PartState::Sent,
            )),
            None => None,
        };
        let (id, seq) = match matched {
            Some((id, seq, true)) => (id, seq),
            // No such part yet, or the latest one already has its final report: the report of
            // a part whose reference is not recorded yet (or a duplicate). Kept for that part.
            other => {
                keep_unmatched_report(
                    &mut tx,
                    modem,
                    message_reference,
                    recipient,
                    status,
                    delivered,
                    now_ms,
                )
                .await?;
                tx.commit().await?;
                tracing::info!(
                    modem,
                    message_reference,
                    status,
                    "status report matches no part awaiting one; kept for its part"
                );
                return Ok(other.map(|(id, _, _)| id));
            }
        };
        self.lock_message(&mut tx, id).await?;
        set_part_report(&mut tx, id, seq, status, delivered, now_ms).await?;
        apply_part_outcomes(&mut tx, id, now_ms).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Serialises matching status reports with recording parts on PostgreSQL, per modem: without
    /// it a report could miss a part being recorded while that part's transaction misses the
    /// report being kept, and the report would wait for nothing. (SQLite has one writer anyway.)
    async fn lock_status_reports(
        &self,
        tx: &mut Transaction<'static, sqlx::Any>,
        modem: &str,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("jingxun.status_reports.{modem}"))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Checks that `owner` holds the lease of `id` (state `sending`), locking the row.
    async fn check_lease(
        &self,
        tx: &mut Transaction<'static, sqlx::Any>,
        id: MessageId,
        owner: &str,
    ) -> Result<Leased, StoreError> {
        self.lock_message(tx, id).await?;
        let row = sqlx::query(
            "SELECT state, lease_owner, attempts, max_attempts, parts_total FROM messages \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound { id })?;
        let state: MessageState = parse_col(&row, "state")?;
        let lease_owner: Option<String> = row.try_get("lease_owner")?;
        if state != MessageState::Sending || lease_owner.as_deref() != Some(owner) {
            return Err(StoreError::LeaseLost {
                id,
                owner: owner.to_owned(),
            });
        }
        Ok(Leased {
            attempts: int_as(&row, "attempts")?,
            max_attempts: int_as(&row, "max_attempts")?,
            parts_total: opt_u8(&row, "parts_total")?,
        })
    }
}

/// Sets a sent part's report. Only a part without a final report changes: the first final
/// report wins.
async fn set_part_report(
    tx: &mut Transaction<'static, sqlx::Any>,
    id: MessageId,
    seq: i64,
    status: u8,
    delivered: Option<bool>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let part_state = match delivered {
        Some(true) => PartState::Delivered,
        Some(false) => PartState::Failed,
        None => PartState::Sent,
    };
    sqlx::query(
        "UPDATE message_parts SET state = $1, status = $2, reported_at = $3 \
         WHERE message_id = $4 AND seq = $5 AND state = 'sent'",
    )
    .bind(part_state.as_str())
    .bind(i64::from(status))
    .bind(now_ms)
    .bind(id)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a status report that no part awaiting one matched.
async fn keep_unmatched_report(
    tx: &mut Transaction<'static, sqlx::Any>,
    modem: &str,
    message_reference: u8,
    recipient: &str,
    status: u8,
    delivered: Option<bool>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let outcome = match delivered {
        Some(true) => "delivered",
        Some(false) => "failed",
        None => "pending",
    };
    sqlx::query(
        "INSERT INTO unmatched_status_reports \
         (modem, message_reference, recipient, status, outcome, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(modem)
    .bind(i64::from(message_reference))
    .bind(recipient)
    .bind(i64::from(status))
    .bind(outcome)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Applies, in the order they arrived, the kept reports that were waiting for part `seq` of `id`,
/// just recorded as sent by `modem` with `message_reference`: same modem, reference and recipient,
/// received within [`EARLY_REPORT_WINDOW`]. Applied reports are removed (the part holds them
/// now). The message is `sending` here; `mark_sent` derives its state from its parts.
async fn apply_early_reports(
    tx: &mut Transaction<'static, sqlx::Any>,
    id: MessageId,
    seq: u8,
    modem: &str,
    message_reference: u8,
    now_ms: i64,
) -> Result<(), StoreError> {
    let waiting = sqlx::query(
        "SELECT r.id, r.status, r.outcome, r.received_at FROM unmatched_status_reports r \
         JOIN messages m ON m.id = $1 AND m.peer = r.recipient \
         WHERE r.modem = $2 AND r.message_reference = $3 AND r.received_at >= $4 \
         ORDER BY r.received_at, r.id",
    )
    .bind(id)
    .bind(modem)
    .bind(i64::from(message_reference))
    .bind(now_ms.saturating_sub(duration_ms(EARLY_REPORT_WINDOW)))
    .fetch_all(&mut **tx)
    .await?;
    for row in &waiting {
        let report: i64 = row.try_get("id")?;
        let status = opt_u8(row, "status")?.unwrap_or(0);
        let delivered = match row.try_get::<String, _>("outcome")?.as_str() {
            "delivered" => Some(true),
            "failed" => Some(false),
            _ => None,
        };
        let received_at: i64 = row.try_get("received_at")?;
        set_part_report(tx, id, i64::from(seq), status, delivered, received_at).await?;
        sqlx::query("DELETE FROM unmatched_status_reports WHERE id = $1")
            .bind(report)
            .execute(&mut **tx)
            .await?;
        tracing::info!(
            id,
            seq,
            modem,
            message_reference,
            status,
            "status report that arrived before its part was recorded applied"
        );
    }
    Ok(())
}

/// Ends a message in `state` (failed or expired) with `error`, releasing any lease.
async fn finish(
    tx: &mut Transaction<'static, sqlx::Any>,
    id: MessageId,
    state: MessageState,
    error: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE messages SET state = $1, last_error = $2, updated_at = $3, lease_owner = NULL, \
         lease_until = NULL, next_attempt_at = NULL WHERE id = $4",
    )
    .bind(state.as_str())
    .bind(error)
    .bind(now_ms)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Derives the message state from its parts' reports: a `sent` message becomes `delivered` when
/// every part is, and a `sent` or `queued` one `failed` as soon as a part failed. A `sending`
/// message is left to its lease holder (`mark_sent` calls this again).
async fn apply_part_outcomes(
    tx: &mut Transaction<'static, sqlx::Any>,
    id: MessageId,
    now_ms: i64,
) -> Result<(), StoreError> {
    let Some(row) = sqlx::query("SELECT state FROM messages WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(());
    };
    let state: MessageState = parse_col(&row, "state")?;
    if !matches!(state, MessageState::Sent | MessageState::Queued) {
        return Ok(());
    }
    let parts = sqlx::query(
        "SELECT seq, state, status FROM message_parts WHERE message_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    if parts.is_empty() {
        return Ok(());
    }
    let mut all_delivered = true;
    for part in &parts {
        match parse_col::<PartState>(part, "state")? {
            PartState::Failed => {
                let status = opt_u8(part, "status")?.unwrap_or(0);
                let seq: i64 = part.try_get("seq")?;
                let error = format!(
                    "delivery failed: status 0x{status:02X} (part {seq} of {})",
                    parts.len()
                );
                finish(tx, id, MessageState::Failed, &error, now_ms).await?;
                tracing::info!(id, status, "outbound message failed delivery");
                return Ok(());
            }
            PartState::Delivered => {}
            _ => all_delivered = false,
        }
    }
    if all_delivered && state == MessageState::Sent {
        sqlx::query(
            "UPDATE messages SET state = 'delivered', delivered_at = $1, updated_at = $1 \
             WHERE id = $2",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn claimed_from_row(row: &AnyRow) -> Result<ClaimedMessage, StoreError> {
    Ok(ClaimedMessage {
        id: row.try_get("id")?,
        peer: row.try_get("peer")?,
        service_number: row.try_get("service_number")?,
        text: row.try_get("text")?,
        attempts: int_as(row, "attempts")?,
        max_attempts: int_as(row, "max_attempts")?,
        concat_reference: int_as(row, "concat_reference")?,
        status_report: row.try_get::<i64, _>("status_report")? != 0,
        priority: int_as(row, "priority")?,
        batch_id: row.try_get("batch_id")?,
        valid_until: row.try_get("valid_until")?,
        parts_total: opt_u8(row, "parts_total")?,
        encoding: opt_encoding(row, "encoding")?,
        sent_parts: Vec::new(),
    })
}
