//! Inbound messages: store every received part (raw PDU included), recognise network resends,
//! reassemble concatenated sets, and close sets that stay incomplete.
//!
//! A set is identified by (sender, sender kind, concatenation reference, parts total), as in
//! TS 23.040 (the alphanumeric name "10086" is not the number 10086); the
//! modem is not part of it, so a set survives a modem being renamed after a reset. Among parts
//! not yet assembled, each slot (seq) of a set holds at most one part (a unique index). Once a
//! set is assembled its slots are free again, so a sender reusing the reference later starts a
//! new set. If a new part arrives for a slot that is still taken by a different part, the old
//! set can no longer be completed correctly: it is closed as `partial` first.

use std::time::Duration;

use sqlx::{Row, Transaction};

use crate::sms::Encoding;

use super::{
    Backend, MessageId, MessageState, PeerKind, Store, StoreError, duration_ms, placeholders,
};

/// How far back an incoming part is compared with earlier ones to recognise a network resend
/// (the same PDU delivered again, e.g. after a slow `+CNMA`).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Text standing for a part that never arrived, in a `partial` message.
pub const MISSING_PART: &str = "[…]";

/// PostgreSQL advisory lock key taken by every transaction that assembles inbound sets, so that
/// two parts of one set stored at the same moment cannot both miss (or both make) the message.
/// Inbound volume is a few messages per second at most, so one key costs nothing.
const INBOUND_LOCK_KEY: i64 = 0x4a58_494e_424f_554e; // "JXINBOUN"

/// One received PDU, decoded by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboundPart {
    /// The modem that received it.
    pub modem: String,
    /// The sender's number, normalised by the caller; an alphanumeric sender's name as it came.
    pub sender: String,
    /// Whether `sender` is a number or an alphanumeric name (which is never read as a number).
    pub sender_kind: PeerKind,
    /// Which of our numbers received it, when known.
    pub service_number: Option<String>,
    /// Concatenation header: (reference, parts total, seq 1-based); `None` for a single SMS.
    pub concat: Option<(u16, u8, u8)>,
    /// Hex of the PDU exactly as the modem gave it.
    pub raw_pdu: String,
    /// Decoded text of this part.
    pub text: String,
    /// The alphabet of its user data.
    pub encoding: Encoding,
    /// Service-centre time stamp (SCTS), unix ms.
    pub sent_at_ms: i64,
    /// Now, unix ms.
    pub now_ms: i64,
}

/// What [`Store::insert_inbound_part`] did with a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    /// The part completed a message (or was a single SMS): the message is stored.
    Complete(MessageId),
    /// The part is stored; its set has `have` of `total` parts.
    Waiting { have: u8, total: u8 },
    /// The same part was stored before (a network resend); nothing changed.
    Duplicate,
}

/// A PDU that could not be decoded, kept as received ([`Store::insert_malformed_inbound`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MalformedPdu {
    pub id: i64,
    pub modem: String,
    /// Hex of the PDU exactly as the modem gave it.
    pub raw_pdu: String,
    /// Why it could not be decoded.
    pub error: String,
    pub stored_at: i64,
}

/// An unassembled part, as needed to build a message.
struct OpenPart {
    id: i64,
    seq: i64,
    modem: String,
    service_number: Option<String>,
    raw_pdu: String,
    text: String,
    encoding: Encoding,
    received_at: i64,
}

impl Store {
    /// Stores a received part in ONE transaction: an exact duplicate (same sender, set, seq, and
    /// the same PDU, or the same SCTS and text) is ignored; a single SMS, or a part that
    /// completes its set, creates the `received` message with the texts joined in seq order.
    /// Acknowledge the PDU to the modem only after this returns `Ok`.
    pub async fn insert_inbound_part(
        &self,
        part: &NewInboundPart,
    ) -> Result<InboundOutcome, StoreError> {
        if part.sender.trim().is_empty() {
            return Err(StoreError::InvalidInput {
                field: "sender",
                reason: "the sender number is empty".into(),
            });
        }
        if part.modem.is_empty() {
            return Err(StoreError::InvalidInput {
                field: "modem",
                reason: "the modem name is empty".into(),
            });
        }
        let (reference, total, seq) = match part.concat {
            Some((reference, total, seq)) => {
                if total == 0 || seq == 0 || seq > total {
                    return Err(StoreError::InvalidInput {
                        field: "concat",
                        reason: format!("part {seq} of {total} is not a valid part number"),
                    });
                }
                (Some(i64::from(reference)), total, seq)
            }
            None => (None, 1, 1),
        };
        let mut tx = self.begin_write().await?;
        self.lock_inbound(&mut tx).await?;

        let reference_clause = match reference {
            Some(_) => "concat_reference = $2",
            None => "(concat_reference IS NULL AND $2 IS NULL)",
        };
        let duplicate = sqlx::query(&format!(
            "SELECT id FROM inbound_parts WHERE sender = $1 AND {reference_clause} \
             AND parts_total = $3 AND seq = $4 AND stored_at >= $5 \
             AND (raw_pdu = $6 OR (received_at = $7 AND text = $8)) AND sender_kind = $9 LIMIT 1"
        ))
        .bind(part.sender.as_str())
        .bind(reference)
        .bind(i64::from(total))
        .bind(i64::from(seq))
        .bind(part.now_ms.saturating_sub(duration_ms(DUPLICATE_WINDOW)))
        .bind(part.raw_pdu.as_str())
        .bind(part.sent_at_ms)
        .bind(part.text.as_str())
        .bind(part.sender_kind.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if duplicate.is_some() {
            tx.rollback().await?;
            tracing::info!(
                modem = %part.modem,
                seq,
                total,
                "duplicate inbound part ignored (network resend)"
            );
            return Ok(InboundOutcome::Duplicate);
        }

        if let Some(reference) = reference {
            let taken = sqlx::query(
                "SELECT id FROM inbound_parts WHERE sender = $1 AND concat_reference = $2 \
                 AND parts_total = $3 AND seq = $4 AND message_id IS NULL AND sender_kind = $5",
            )
            .bind(part.sender.as_str())
            .bind(reference)
            .bind(i64::from(total))
            .bind(i64::from(seq))
            .bind(part.sender_kind.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                let old =
                    open_set(&mut tx, &part.sender, part.sender_kind, reference, total).await?;
                let id = create_message(
                    &mut tx,
                    &old,
                    total,
                    Some(reference),
                    MessageState::Partial,
                    part.now_ms,
                )
                .await?;
                tracing::warn!(
                    message_id = id,
                    reference,
                    total,
                    "concatenation reference reused before its set completed; old set closed as partial"
                );
            }
        }

        let part_id: i64 = sqlx::query(
            "INSERT INTO inbound_parts (modem, sender, service_number, concat_reference, \
             parts_total, seq, raw_pdu, text, encoding, received_at, stored_at, sender_kind) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(part.modem.as_str())
        .bind(part.sender.as_str())
        .bind(part.service_number.as_deref())
        .bind(reference)
        .bind(i64::from(total))
        .bind(i64::from(seq))
        .bind(part.raw_pdu.as_str())
        .bind(part.text.as_str())
        .bind(part.encoding.as_str())
        .bind(part.sent_at_ms)
        .bind(part.now_ms)
        .bind(part.sender_kind.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;

        let outcome = match reference {
            None => {
                let single = OpenPart {
                    id: part_id,
                    seq: 1,
                    modem: part.modem.clone(),
                    service_number: part.service_number.clone(),
                    raw_pdu: part.raw_pdu.clone(),
                    text: part.text.clone(),
                    encoding: part.encoding,
                    received_at: part.sent_at_ms,
                };
                let id = create_message(
                    &mut tx,
                    &[single],
                    1,
                    None,
                    MessageState::Received,
                    part.now_ms,
                )
                .await?;
                InboundOutcome::Complete(id)
            }
            Some(reference) => {
                let parts =
                    open_set(&mut tx, &part.sender, part.sender_kind, reference, total).await?;
                if parts.len() >= usize::from(total) {
                    let id = create_message(
                        &mut tx,
                        &parts,
                        total,
                        Some(reference),
                        MessageState::Received,
                        part.now_ms,
                    )
                    .await?;
                    InboundOutcome::Complete(id)
                } else {
                    InboundOutcome::Waiting {
                        have: u8::try_from(parts.len()).unwrap_or(u8::MAX),
                        total,
                    }
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Closes every incomplete set whose newest part was stored before `older_than_ms`: what
    /// arrived becomes a message in state `partial`, each missing part shown as [`MISSING_PART`].
    /// Returns the new messages.
    pub async fn flush_stale_partials(
        &self,
        older_than_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<MessageId>, StoreError> {
        let mut tx = self.begin_write().await?;
        self.lock_inbound(&mut tx).await?;
        let groups = sqlx::query(
            "SELECT sender, sender_kind, concat_reference, parts_total FROM inbound_parts \
             WHERE message_id IS NULL AND concat_reference IS NOT NULL \
             GROUP BY sender, sender_kind, concat_reference, parts_total \
             HAVING MAX(stored_at) < $1",
        )
        .bind(older_than_ms)
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(groups.len());
        for group in &groups {
            let sender: String = group.try_get("sender")?;
            let kind: PeerKind = super::parse_col(group, "sender_kind")?;
            let reference: i64 = group.try_get("concat_reference")?;
            let total: u8 = super::req_u8(group, "parts_total")?;
            let parts = open_set(&mut tx, &sender, kind, reference, total).await?;
            if parts.is_empty() {
                continue;
            }
            let id = create_message(
                &mut tx,
                &parts,
                total,
                Some(reference),
                MessageState::Partial,
                now_ms,
            )
            .await?;
            tracing::info!(
                message_id = id,
                have = parts.len(),
                total,
                "incomplete inbound message stored as partial"
            );
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Keeps a PDU that could not be decoded, exactly as the modem gave it, with the reason, so
    /// that it can be acknowledged to the modem without being lost. The same PDU from the same
    /// modem within [`DUPLICATE_WINDOW`] is stored once; the id of the stored row is returned.
    pub async fn insert_malformed_inbound(
        &self,
        modem: &str,
        raw_pdu: &str,
        error: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        self.lock_inbound(&mut tx).await?;
        let existing = sqlx::query(
            "SELECT id FROM inbound_malformed WHERE modem = $1 AND raw_pdu = $2 \
             AND stored_at >= $3 LIMIT 1",
        )
        .bind(modem)
        .bind(raw_pdu)
        .bind(now_ms.saturating_sub(duration_ms(DUPLICATE_WINDOW)))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            tx.rollback().await?;
            return Ok(row.try_get("id")?);
        }
        let id: i64 = sqlx::query(
            "INSERT INTO inbound_malformed (modem, raw_pdu, error, stored_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(modem)
        .bind(raw_pdu)
        .bind(error)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        tracing::warn!(modem, id, "undecodable PDU stored for inspection");
        Ok(id)
    }

    /// Undecodable PDUs, newest first: at most `limit` (capped at 1000), with ids below
    /// `before_id` when given.
    pub async fn malformed_inbound(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> Result<Vec<MalformedPdu>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, modem, raw_pdu, error, stored_at FROM inbound_malformed \
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MalformedPdu {
                    id: row.try_get("id")?,
                    modem: row.try_get("modem")?,
                    raw_pdu: row.try_get("raw_pdu")?,
                    error: row.try_get("error")?,
                    stored_at: row.try_get("stored_at")?,
                })
            })
            .collect()
    }

    async fn lock_inbound(
        &self,
        tx: &mut Transaction<'static, sqlx::Any>,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(INBOUND_LOCK_KEY)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// The unassembled parts of one set, in seq order.
async fn open_set(
    tx: &mut Transaction<'static, sqlx::Any>,
    sender: &str,
    kind: PeerKind,
    reference: i64,
    total: u8,
) -> Result<Vec<OpenPart>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, seq, modem, service_number, raw_pdu, text, encoding, received_at \
         FROM inbound_parts WHERE sender = $1 AND concat_reference = $2 AND parts_total = $3 AND message_id IS NULL \
         AND sender_kind = $4 ORDER BY seq, id",
    )
    .bind(sender)
    .bind(reference)
    .bind(i64::from(total))
    .bind(kind.as_str())
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(OpenPart {
                id: row.try_get("id")?,
                seq: row.try_get("seq")?,
                modem: row.try_get("modem")?,
                service_number: row.try_get("service_number")?,
                raw_pdu: row.try_get("raw_pdu")?,
                text: row.try_get("text")?,
                encoding: super::encoding_col(row, "encoding")?,
                received_at: row.try_get("received_at")?,
            })
        })
        .collect()
}

/// Appends the text of `run`, consecutive parts of one set in seq order. UCS2 parts are decoded
/// again from their PDUs with their user data joined ([`crate::sms::join_parts`]): a surrogate
/// pair (an emoji) cut between two parts is lost in each part's own text. Should a stored PDU
/// no longer decode, the parts' own texts are used.
fn push_run_text(run: &[&OpenPart], text: &mut String) {
    let joined_ucs2 = run.len() > 1 && run.iter().any(|p| p.encoding == Encoding::Ucs2);
    let delivers = joined_ucs2.then(|| {
        run.iter()
            .map(|p| match crate::sms::decode_incoming_hex(&p.raw_pdu) {
                Ok(crate::sms::Incoming::Deliver(deliver)) => Some(deliver),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
    });
    match delivers.flatten() {
        Some(delivers) => text.push_str(&crate::sms::join_parts(&delivers)),
        None => run.iter().for_each(|p| text.push_str(&p.text)),
    }
}

/// Creates the inbound message from `parts` (in seq order, at least one) and links them to it.
async fn create_message(
    tx: &mut Transaction<'static, sqlx::Any>,
    parts: &[OpenPart],
    total: u8,
    reference: Option<i64>,
    state: MessageState,
    now_ms: i64,
) -> Result<MessageId, StoreError> {
    let Some(first) = parts.first() else {
        return Err(StoreError::InvalidInput {
            field: "parts",
            reason: "an inbound message needs at least one part".into(),
        });
    };
    let mut text = String::new();
    let mut run: Vec<&OpenPart> = Vec::new();
    for seq in 1..=i64::from(total) {
        match parts.iter().find(|p| p.seq == seq) {
            Some(p) => run.push(p),
            None => {
                push_run_text(&run, &mut text);
                run.clear();
                text.push_str(MISSING_PART);
            }
        }
    }
    push_run_text(&run, &mut text);
    let service_number = parts.iter().find_map(|p| p.service_number.clone());
    let sent_at = parts.iter().map(|p| p.received_at).min();
    let id: i64 = sqlx::query(
        "INSERT INTO messages (direction, peer, peer_kind, service_number, text, encoding, state, \
         parts_total, modem, concat_reference, created_at, updated_at, sent_at) \
         SELECT 'in', sender, sender_kind, $1, $2, $3, $4, $5, $6, $7, $8, $8, $9 \
         FROM inbound_parts WHERE id = $10 RETURNING id",
    )
    .bind(service_number)
    .bind(text)
    .bind(first.encoding.as_str())
    .bind(state.as_str())
    .bind(i64::from(total))
    .bind(first.modem.as_str())
    .bind(reference)
    .bind(now_ms)
    .bind(sent_at)
    .bind(first.id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    let sql = format!(
        "UPDATE inbound_parts SET message_id = $1 WHERE id IN ({})",
        placeholders(2, parts.len())
    );
    let mut query = sqlx::query(&sql).bind(id);
    for p in parts {
        query = query.bind(p.id);
    }
    query.execute(&mut **tx).await?;
    Ok(id)
}
