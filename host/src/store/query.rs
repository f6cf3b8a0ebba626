//! Read-only views of the store: message lists, one message with its parts, queue depths.

use serde::Serialize;
use sqlx::Row;

use super::{
    Backend, Direction, MESSAGE_COLUMNS, MessageId, MessageRecord, MessageState, PartRecord,
    PartState, Store, StoreError, message_from_row, opt_u8, parse_col, req_u8,
};

/// Most rows one [`Store::list_messages`] call returns.
pub const MAX_LIST: u32 = 1000;

/// The leading expression of the `messages_peer_tail` index (its migration says why): a number's
/// last two characters. A query finds it only by naming the same expression.
pub(crate) const PEER_TAIL: &str = "substr(peer, length(peer) - 1)";

/// Which messages [`Store::list_messages`] returns. All conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub direction: Option<Direction>,
    pub state: Option<MessageState>,
    /// Exact match on the other party's number.
    pub peer: Option<String>,
    /// The recipients of one send.
    pub batch_id: Option<String>,
    /// The other party's number contains these digits.
    pub peer_contains: Option<String>,
    /// The text contains this (case as typed).
    pub text_contains: Option<String>,
    /// Created at or after this time (unix ms).
    pub since_ms: Option<i64>,
    /// Created before this time (unix ms).
    pub until_ms: Option<i64>,
    /// Only ids greater than this (paging forwards).
    pub after_id: Option<MessageId>,
    /// Only ids smaller than this (paging backwards).
    pub before_id: Option<MessageId>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
    /// At most this many rows; 0 means 100, and more than [`MAX_LIST`] means [`MAX_LIST`].
    pub limit: u32,
}

/// Traffic counts of a period ([`Store::traffic_since`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    pub inbound: u64,
    pub outbound: u64,
    pub failed: u64,
}

/// `%text%` for LIKE, with `%`, `_` and the escape `\` of the text itself escaped.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Number of outbound messages in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepths {
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
    pub expired: u64,
}

/// The SQL of one [`Store::list_messages`] call and its parameters: texts bind first ($1..),
/// then integers, then the limit.
struct ListQuery {
    sql: String,
    texts: Vec<String>,
    ints: Vec<i64>,
    limit: u32,
}

impl ListQuery {
    fn of(filter: &MessageFilter, backend: Backend) -> ListQuery {
        let mut conditions: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        // Text parameters come first ($1..), then integers; positions are fixed up below.
        let mut text_conditions: Vec<(&str, String)> = Vec::new();
        if let Some(direction) = filter.direction {
            text_conditions.push(("direction", direction.as_str().to_owned()));
        }
        if let Some(state) = filter.state {
            text_conditions.push(("state", state.as_str().to_owned()));
        }
        if let Some(batch_id) = &filter.batch_id {
            text_conditions.push(("batch_id", batch_id.clone()));
        }
        for (column, value) in text_conditions {
            texts.push(value);
            conditions.push(format!("{column} = ${}", texts.len()));
        }
        if let Some(peer) = &filter.peer {
            // The number's run of messages_peer_tail, then the number itself. SQLite 3.40
            // (Debian 12's, when built against the system library) propagates a plain
            // `peer = $n` into the tail term, making it a constant that no index matches, and
            // scans the table; `+peer` is not a column, so no version does that.
            texts.push(peer.clone());
            let n = texts.len();
            let column = match backend {
                Backend::Sqlite => "+peer",
                Backend::Postgres => "peer",
            };
            conditions.push(format!(
                "{PEER_TAIL} = substr(${n}, length(${n}) - 1) AND {column} = ${n}"
            ));
        }
        // Searches: the typed text is a LIKE pattern with its own wildcards escaped.
        let mut searches: Vec<&str> = Vec::new();
        match (&filter.peer_contains, &filter.text_contains) {
            (Some(peer), Some(text)) => {
                texts.push(like_pattern(peer));
                texts.push(like_pattern(text));
                let (p, t) = (texts.len() - 1, texts.len());
                conditions.push(format!(
                    "(peer LIKE ${p} ESCAPE '\\' OR text LIKE ${t} ESCAPE '\\')"
                ));
            }
            (Some(value), None) => {
                texts.push(like_pattern(value));
                searches.push("peer");
            }
            (None, Some(value)) => {
                texts.push(like_pattern(value));
                searches.push("text");
            }
            (None, None) => {}
        }
        for column in searches {
            conditions.push(format!("{column} LIKE ${} ESCAPE '\\'", texts.len()));
        }
        let mut int_conditions: Vec<(&str, i64)> = Vec::new();
        if let Some(after) = filter.after_id {
            int_conditions.push(("id >", after));
        }
        if let Some(before) = filter.before_id {
            int_conditions.push(("id <", before));
        }
        if let Some(since) = filter.since_ms {
            int_conditions.push(("created_at >=", since));
        }
        if let Some(until) = filter.until_ms {
            int_conditions.push(("created_at <", until));
        }
        for (condition, value) in int_conditions {
            ints.push(value);
            conditions.push(format!("{condition} ${}", texts.len() + ints.len()));
        }
        let limit = match filter.limit {
            0 => 100,
            n => n.min(MAX_LIST),
        };
        let mut sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(if filter.newest_first {
            " ORDER BY id DESC"
        } else {
            " ORDER BY id"
        });
        sql.push_str(&format!(" LIMIT ${}", texts.len() + ints.len() + 1));
        ListQuery {
            sql,
            texts,
            ints,
            limit,
        }
    }

    /// `sql` (this query's text, or a statement wrapping it) with this query's parameters bound.
    fn bound<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut query = sqlx::query(sql);
        for text in &self.texts {
            query = query.bind(text.as_str());
        }
        for int in &self.ints {
            query = query.bind(*int);
        }
        query.bind(i64::from(self.limit))
    }
}

impl Store {
    /// Messages matching `filter`, ordered by id.
    pub async fn list_messages(
        &self,
        filter: &MessageFilter,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let list = ListQuery::of(filter, self.backend);
        list.bound(&list.sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(message_from_row)
            .collect()
    }

    /// The texts of the inbound messages among `ids` (those that exist and are inbound), by id:
    /// what the web admin reads to tell which command a reply answered.
    pub async fn inbound_texts(
        &self,
        ids: &[MessageId],
    ) -> Result<std::collections::HashMap<MessageId, String>, StoreError> {
        let mut texts = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT id, text FROM messages WHERE direction = 'in' AND id IN ({})",
                super::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                texts.insert(row.try_get("id")?, row.try_get("text")?);
            }
        }
        Ok(texts)
    }

    /// One message with its parts (outbound: the parts as sent and reported; inbound: the PDUs
    /// received), or `None` if there is no such message.
    pub async fn message(
        &self,
        id: MessageId,
    ) -> Result<Option<(MessageRecord, Vec<PartRecord>)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let message = message_from_row(&row)?;
        let parts = match message.direction {
            Direction::Out => sqlx::query(
                "SELECT message_id, seq, state, modem, message_reference, status, sent_at, \
                 reported_at FROM message_parts WHERE message_id = $1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| {
                Ok(PartRecord {
                    message_id: row.try_get("message_id")?,
                    seq: req_u8(row, "seq")?,
                    state: parse_col(row, "state")?,
                    modem: row.try_get("modem")?,
                    message_reference: opt_u8(row, "message_reference")?,
                    status: opt_u8(row, "status")?,
                    sent_at: row.try_get("sent_at")?,
                    reported_at: row.try_get("reported_at")?,
                    raw_pdu: None,
                    text: None,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?,
            Direction::In => sqlx::query(
                "SELECT message_id, seq, modem, raw_pdu, text, received_at FROM inbound_parts \
                 WHERE message_id = $1 ORDER BY seq, id",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| {
                Ok(PartRecord {
                    message_id: row.try_get("message_id")?,
                    seq: req_u8(row, "seq")?,
                    state: PartState::Received,
                    modem: row.try_get("modem")?,
                    message_reference: None,
                    status: None,
                    sent_at: row.try_get("received_at")?,
                    reported_at: None,
                    raw_pdu: row.try_get("raw_pdu")?,
                    text: row.try_get("text")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?,
        };
        Ok(Some((message, parts)))
    }

    /// Traffic since `since_ms`: messages received, outbound messages created, outbound
    /// messages that failed or expired (by their last change).
    pub async fn traffic_since(&self, since_ms: i64) -> Result<Traffic, StoreError> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM messages WHERE created_at >= $1 AND direction = 'in') AS inbound, \
               (SELECT COUNT(*) FROM messages WHERE created_at >= $1 AND direction = 'out') AS outbound, \
               (SELECT COUNT(*) FROM messages WHERE created_at >= $1 AND direction = 'out' \
                  AND state IN ('failed', 'expired')) AS failed",
        )
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        let count = |name: &str| -> Result<u64, StoreError> {
            Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
        };
        Ok(Traffic {
            inbound: count("inbound")?,
            outbound: count("outbound")?,
            failed: count("failed")?,
        })
    }

    /// Messages per minute from `since_ms` (a minute boundary): received ones by their
    /// creation, sent ones by the time the network took their last part. Minutes without
    /// traffic are absent; `(minute start, received, sent)`, oldest first.
    pub async fn traffic_per_minute(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT m, SUM(inbound) AS inbound, SUM(outbound) AS outbound FROM ( \
               SELECT (created_at / 60000) * 60000 AS m, 1 AS inbound, 0 AS outbound \
                 FROM messages WHERE created_at >= $1 AND direction = 'in' \
               UNION ALL \
               SELECT (sent_at / 60000) * 60000 AS m, 0 AS inbound, 1 AS outbound \
                 FROM messages WHERE sent_at >= $1 AND direction = 'out' \
             ) AS t GROUP BY m ORDER BY m",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let n = |name: &str| -> Result<u64, StoreError> {
                    Ok(u64::try_from(r.try_get::<i64, _>(name)?).unwrap_or(0))
                };
                Ok((r.try_get::<i64, _>("m")?, n("inbound")?, n("outbound")?))
            })
            .collect()
    }

    /// How many outbound messages are in each state.
    pub async fn queue_depths(&self) -> Result<QueueDepths, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM messages WHERE state IN \
             ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired') GROUP BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut depths = QueueDepths::default();
        for row in &rows {
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            match parse_col::<MessageState>(row, "state")? {
                MessageState::Queued => depths.queued = n,
                MessageState::Sending => depths.sending = n,
                MessageState::Sent => depths.sent = n,
                MessageState::Delivered => depths.delivered = n,
                MessageState::Failed => depths.failed = n,
                MessageState::Expired => depths.expired = n,
                MessageState::Received | MessageState::Partial => {}
            }
        }
        Ok(depths)
    }
}

#[cfg(test)]
mod tests {
    //! Finding one number's messages through `messages_peer_tail`, on both backends.

    use sqlx::Row;

    use super::super::NewOutbound;
    use super::super::test_db::TestDb;
    use super::*;

    const T0: i64 = 1_767_225_600_000;

    crate::on_both_backends!(TestDb =>
        an_exact_number_finds_only_its_own_messages_among_numbers_with_the_same_ending,
        an_exact_number_search_reads_the_peer_tail_index,
    );

    fn ids_of(list: &[MessageRecord]) -> Vec<MessageId> {
        list.iter().map(|m| m.id).collect()
    }

    async fn an_exact_number_finds_only_its_own_messages_among_numbers_with_the_same_ending(
        db: &TestDb,
    ) {
        // Same last two characters ("12"), a number that is only its ending, a one-character
        // peer (its own tail) and a number written with a country code.
        let peers = [
            "13800000012",
            "13900000012",
            "12",
            "2",
            "+8613800000012",
            "13800000021",
        ];
        let batch: Vec<_> = (0..3)
            .flat_map(|round| {
                peers
                    .iter()
                    .map(move |p| NewOutbound::new(*p, format!("round {round}")))
            })
            .collect();
        let ids = db.store.enqueue_at(&batch, T0).await.unwrap();
        for (i, peer) in peers.iter().enumerate() {
            let own: Vec<MessageId> = ids.iter().copied().skip(i).step_by(peers.len()).collect();
            let mut filter = MessageFilter {
                peer: Some((*peer).into()),
                ..Default::default()
            };
            let oldest_first = db.store.list_messages(&filter).await.unwrap();
            assert_eq!(ids_of(&oldest_first), own, "{peer}");
            assert!(oldest_first.iter().all(|m| m.peer == *peer));
            filter.newest_first = true;
            filter.limit = 2;
            let newest = db.store.list_messages(&filter).await.unwrap();
            assert_eq!(ids_of(&newest), vec![own[2], own[1]], "{peer}");
        }
        let nobody = MessageFilter {
            peer: Some("13700000012".into()),
            ..Default::default()
        };
        assert!(db.store.list_messages(&nobody).await.unwrap().is_empty());
    }

    /// The planner only uses an expression index when the query names the same expression: a
    /// drift between the migration and [`PEER_TAIL`] would silently scan the whole table.
    async fn an_exact_number_search_reads_the_peer_tail_index(db: &TestDb) {
        let batch: Vec<_> = (0..2000)
            .map(|i| NewOutbound::new(format!("139{i:08}"), "t"))
            .collect();
        db.store.enqueue_at(&batch, T0).await.unwrap();
        db.raw("ANALYZE messages").await.unwrap();
        let list = ListQuery::of(
            &MessageFilter {
                peer: Some("13900001234".into()),
                newest_first: true,
                limit: 20,
                ..Default::default()
            },
            db.backend(),
        );
        let mut conn = db.store.pool.acquire().await.unwrap();
        let explain = match db.backend() {
            Backend::Sqlite => format!("EXPLAIN QUERY PLAN {}", list.sql),
            Backend::Postgres => {
                // On a table this small a sequential scan would be cheaper; forbid it.
                sqlx::query("SET enable_seqscan = off")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                format!("EXPLAIN {}", list.sql)
            }
        };
        let plan: Vec<String> = list
            .bound(&explain)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|row| match db.backend() {
                Backend::Sqlite => row.try_get::<String, _>("detail").unwrap(),
                Backend::Postgres => row.try_get::<String, _>(0).unwrap(),
            })
            .collect();
        if db.backend() == Backend::Postgres {
            sqlx::query("RESET enable_seqscan")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        // A search of the index by its leading expression, not a scan of it or of the table.
        let searched = match db.backend() {
            Backend::Sqlite => plan
                .iter()
                .any(|line| line.starts_with("SEARCH") && line.contains("messages_peer_tail")),
            Backend::Postgres => {
                plan.iter().any(|line| line.contains("messages_peer_tail"))
                    && plan.iter().any(|line| line.contains("Index Cond"))
            }
        };
        assert!(searched, "{plan:#?}");
    }
}
