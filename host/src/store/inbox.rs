//! The inbox of the command router: inbound messages not yet routed, handed out under a lease,
//! and completed together with the replies they caused in one transaction (at-most-once
//! replies, at-least-once routing: a router that dies mid-way leaves the message to be routed
//! again when its lease ends).

use std::time::Duration;

use super::audit::PreparedEntry;
use super::{MessageId, NewOutbound, PeerKind, Store, StoreError, duration_ms, placeholders};

/// An inbound message handed to the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    /// The stored message.
    pub id: MessageId,
    /// The sender, normalised; an alphanumeric sender's name as it came.
    pub sender: String,
    /// Whether the sender is a number or an alphanumeric name (never a registered phone).
    pub sender_kind: PeerKind,
    /// Which of our numbers received it.
    pub service_number: Option<String>,
    /// The modem it came through.
    pub modem: Option<String>,
    /// The text.
    pub text: String,
    /// `received` or `partial`.
    pub state: String,
    /// When it was received (the earliest part's service-centre time stamp, else stored time).
    pub received_at: i64,
}

impl Store {
    /// Takes up to `limit` inbound messages that no router has finished, oldest first, and
    /// leases them until `now + lease`.
    pub async fn claim_inbox(
        &self,
        limit: u32,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<InboxMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let select = "SELECT id FROM messages WHERE direction = 'in' AND routed_at IS NULL \
             AND (route_lease_until IS NULL OR route_lease_until < $1) ORDER BY id LIMIT $2";
        let Some((mut tx, ids)) = self.due_for_claim(select, now_ms, limit).await? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "UPDATE messages SET route_lease_until = $1 WHERE id IN ({}) \
             RETURNING id, peer, peer_kind, service_number, modem, text, state, sent_at, created_at",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query(&sql).bind(now_ms.saturating_add(duration_ms(lease)));
        for id in &ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut messages = rows
            .iter()
            .map(|row| {
                use sqlx::Row;
                let sent_at: Option<i64> = row.try_get("sent_at")?;
                Ok(InboxMessage {
                    id: row.try_get("id")?,
                    sender: row.try_get("peer")?,
                    sender_kind: super::parse_col(row, "peer_kind")?,
                    service_number: row.try_get("service_number")?,
                    modem: row.try_get("modem")?,
                    text: row.try_get("text")?,
                    state: row.try_get("state")?,
                    received_at: sent_at.map_or_else(|| row.try_get("created_at"), Ok)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        messages.sort_by_key(|m| m.id);
        Ok(messages)
    }

    /// Marks `id` routed, appends its audit rows and queues its replies in one transaction;
    /// returns the reply ids. A message routed already (by a router whose lease had run out) is
    /// left alone and nothing is written, so a command is never answered twice; and a reply is
    /// never committed without the audit row of the query behind it.
    pub(crate) async fn complete_inbox(
        &self,
        completion: &InboxCompletion,
        now_ms: i64,
    ) -> Result<Vec<MessageId>, StoreError> {
        let mut tx = self.begin_write().await?;
        let ids = self.complete_in(&mut tx, completion, now_ms).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ids)
    }

    /// [`Store::complete_inbox`] for a whole batch in one transaction (one commit, one fsync):
    /// all of it is written, or none.
    pub(crate) async fn complete_inbox_batch(
        &self,
        completions: &[InboxCompletion],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if completions.is_empty() {
            return Ok(());
        }
        // Set-wise rather than message by message: one UPDATE marks the batch routed (and says
        // which were not routed already), the audit chain head is read once, and the replies go
        // in as multi-row INSERTs. The write lock is the one thing the routers share, so this
        // is what bounds commands per second.
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE messages SET routed_at = $1, route_lease_until = NULL \
             WHERE routed_at IS NULL AND id IN ({}) RETURNING id",
            placeholders(2, completions.len())
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(now_ms);
        for completion in completions {
            query = query.bind(completion.id);
        }
        let routed: std::collections::HashSet<i64> = query
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .collect();
        let fresh: Vec<&InboxCompletion> = completions
            .iter()
            .filter(|c| routed.contains(&c.id))
            .collect();
        let audit: Vec<&PreparedEntry> = fresh.iter().flat_map(|c| c.audit.iter()).collect();
        super::audit::append_audit_batch(self, &mut tx, &audit).await?;
        let assigned: Vec<(MessageId, &str)> = fresh
            .iter()
            .filter_map(|c| c.api_key.as_deref().map(|key| (c.id, key)))
            .collect();
        super::api_inbound::assign_in(self.backend, &mut tx, &assigned, now_ms).await?;
        let replies: Vec<NewOutbound> = fresh
            .iter()
            .flat_map(|c| c.replies.iter().cloned())
            .collect();
        if !replies.is_empty() {
            self.insert_outbound(&mut tx, &replies, now_ms).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn complete_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        completion: &InboxCompletion,
        now_ms: i64,
    ) -> Result<Vec<MessageId>, StoreError> {
        let updated = sqlx::query(
            "UPDATE messages SET routed_at = $1, route_lease_until = NULL WHERE id = $2 AND routed_at IS NULL",
        )
        .bind(now_ms)
        .bind(completion.id)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from)?
        .rows_affected();
        if updated == 0 {
            return Ok(Vec::new());
        }
        for entry in &completion.audit {
            super::audit::append_audit(self, tx, entry).await?;
        }
        if let Some(key) = completion.api_key.as_deref() {
            super::api_inbound::assign_in(self.backend, tx, &[(completion.id, key)], now_ms)
                .await?;
        }
        if completion.replies.is_empty() {
            return Ok(Vec::new());
        }
        self.insert_outbound(tx, &completion.replies, now_ms).await
    }
}

/// What routing one inbound message produced, to be committed together.
#[derive(Debug, Clone)]
pub(crate) struct InboxCompletion {
    /// The inbound message.
    pub id: MessageId,
    /// Audit rows of the queries it caused.
    pub audit: Vec<PreparedEntry>,
    /// The replies to queue.
    pub replies: Vec<NewOutbound>,
    /// The API key that receives the message instead of the router answering it (issue 5):
    /// its inbox row (and webhook delivery) is committed with the routed mark.
    pub api_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::{AuditComponent, AuditEvent, AuditOutcome};
    use crate::store::{InboundOutcome, NewInboundPart};

    async fn store_with_command(text: &str) -> (Store, MessageId) {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let part = NewInboundPart {
            modem: "m1".into(),
            sender: "+8613800000001".into(),
            sender_kind: crate::store::PeerKind::Number,
            service_number: Some("10690110".into()),
            concat: None,
            raw_pdu: "00".into(),
            text: text.into(),
            encoding: crate::sms::Encoding::Ucs2,
            sent_at_ms: 1_000,
            now_ms: 2_000,
        };
        let InboundOutcome::Complete(id) = store.insert_inbound_part(&part).await.unwrap() else {
            panic!("single part")
        };
        (store, id)
    }

    #[tokio::test]
    async fn a_leased_message_is_not_handed_out_twice_until_its_lease_ends() {
        let (store, id) = store_with_command("CP 京A12345").await;
        let lease = Duration::from_secs(10);
        let first = store.claim_inbox(10, lease, 3_000).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].id, first[0].text.as_str(), first[0].received_at),
            (id, "CP 京A12345", 1_000)
        );
        assert!(
            store
                .claim_inbox(10, lease, 4_000)
                .await
                .unwrap()
                .is_empty()
        );
        // The router died: after the lease the message comes back.
        assert_eq!(store.claim_inbox(10, lease, 13_001).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn completing_commits_reply_and_audit_once_and_retires_the_message() {
        let (store, id) = store_with_command("H").await;
        store
            .claim_inbox(10, Duration::from_secs(10), 3_000)
            .await
            .unwrap();
        let completion = InboxCompletion {
            id,
            audit: vec![
                crate::audit::AuditEntry::new(
                    AuditComponent::Router,
                    AuditEvent::Query,
                    AuditOutcome::Answered,
                )
                .prepare()
                .unwrap(),
            ],
            replies: vec![NewOutbound::new("+8613800000001", "帮助")],
            api_key: None,
        };
        assert_eq!(
            store
                .complete_inbox(&completion, 3_500)
                .await
                .unwrap()
                .len(),
            1
        );
        // A second router finishing the same message (its lease had run out) writes nothing.
        assert!(
            store
                .complete_inbox(&completion, 3_600)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            crate::audit::AuditLog::new(store.clone())
                .verify()
                .await
                .unwrap()
                .rows,
            1
        );
        assert!(
            store
                .claim_inbox(10, Duration::from_secs(10), 60_000)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.queue_depths().await.unwrap().queued, 1);
    }

    #[tokio::test]
    async fn a_batch_commit_skips_messages_routed_already_and_keeps_one_audit_chain() {
        let (store, first) = store_with_command("CP 京A12345").await;
        let second_part = NewInboundPart {
            modem: "m1".into(),
            sender: "+8613800000002".into(),
            sender_kind: crate::store::PeerKind::Number,
            service_number: None,
            concat: None,
            raw_pdu: "01".into(),
            text: "CP 京B54321".into(),
            encoding: crate::sms::Encoding::Ucs2,
            sent_at_ms: 1_500,
            now_ms: 2_000,
        };
        let InboundOutcome::Complete(second) =
            store.insert_inbound_part(&second_part).await.unwrap()
        else {
            panic!()
        };
        let completion = |id: MessageId, peer: &str| InboxCompletion {
            id,
            audit: vec![
                crate::audit::AuditEntry::new(
                    AuditComponent::Router,
                    AuditEvent::Query,
                    AuditOutcome::Answered,
                )
                .with_phone(peer)
                .prepare()
                .unwrap(),
            ],
            replies: vec![NewOutbound::new(peer, "答复")],
            api_key: None,
        };
        // The first was finished by another router already.
        store
            .complete_inbox(&completion(first, "+8613800000001"), 3_000)
            .await
            .unwrap();
        let batch = [
            completion(first, "+8613800000001"),
            completion(second, "+8613800000002"),
        ];
        store.complete_inbox_batch(&batch, 3_500).await.unwrap();
        assert_eq!(
            store.queue_depths().await.unwrap().queued,
            2,
            "one reply each, none twice"
        );
        let check = crate::audit::AuditLog::new(store.clone())
            .verify()
            .await
            .unwrap();
        assert_eq!((check.rows, check.first_broken), (2, None));
    }
}
