//! Storage for the web admin's own work: the stash (a send draft waiting for confirmation, a
//! phone import's report: owned by one login, kept a day) and the sends made on the web
//! admin, committed with their messages, the recipients' names and the audit row in one
//! transaction that also uses up the draft, so that a draft is sent once however often its
//! confirmation is posted.

use sqlx::Row;

use super::audit::{AuditEntry, append_audit};
use super::outbound::NewOutbound;
use super::{MessageId, Store, StoreError};
use crate::clock::now_ms;

/// What a stash entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StashKind {
    SendDraft,
    PhoneImport,
}

impl StashKind {
    fn as_str(self) -> &'static str {
        match self {
            StashKind::SendDraft => "send_draft",
            StashKind::PhoneImport => "phone_import",
        }
    }
}

/// How long a stash entry is kept.
pub const STASH_MS: i64 = 24 * 3600 * 1000;

/// A web send as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSendRecord {
    pub batch_id: String,
    pub login: String,
    pub text: String,
    pub recipients: u32,
    pub created_at: i64,
}

/// Why a web send was not committed.
#[derive(Debug, thiserror::Error)]
pub enum WebSendError {
    /// The draft was sent already, expired, or is another user's.
    #[error("the draft was sent already or has expired")]
    DraftGone,
    /// The audit row could not be written, so nothing was sent.
    #[error("nothing was sent because its audit row could not be written: {0}")]
    Audit(StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WebSendError {
    /// A failed append of the send's audit row (the store's [`StoreError::AuditRow`]).
    fn audit_row(e: StoreError) -> WebSendError {
        match e {
            StoreError::AuditRow(cause) => WebSendError::Audit(*cause),
            e => WebSendError::Audit(e),
        }
    }
}

impl From<sqlx::Error> for WebSendError {
    fn from(e: sqlx::Error) -> Self {
        WebSendError::Store(StoreError::Database(e))
    }
}

impl Store {
    /// Keeps `body` for `login` under `id` for [`STASH_MS`]; entries past their time are
    /// removed on the way.
    pub async fn stash_put(
        &self,
        id: &str,
        login: &str,
        kind: StashKind,
        body: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM web_stash WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO web_stash (id, login, kind, body, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(login)
        .bind(kind.as_str())
        .bind(body)
        .bind(now)
        .bind(now + STASH_MS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The body stashed under `id` for `login`, if it is there and not expired.
    pub async fn stash_get(
        &self,
        id: &str,
        login: &str,
        kind: StashKind,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT body FROM web_stash WHERE id = $1 AND login = $2 AND kind = $3 \
             AND expires_at >= $4",
        )
        .bind(id)
        .bind(login)
        .bind(kind.as_str())
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("body")).transpose()?)
    }

    /// Sends from the web admin: uses up the draft `draft_id` of `send.login` (when given; a
    /// re-send has none), queues `messages` (all with the send's batch id), records the send and
    /// the recipients' names, and appends `audit`, in one transaction. Returns the message ids
    /// in the order given.
    pub async fn web_send_commit(
        &self,
        draft_id: Option<&str>,
        send: &WebSendRecord,
        messages: &[(NewOutbound, Option<String>)],
        audit: AuditEntry,
    ) -> Result<Vec<MessageId>, WebSendError> {
        let prepared = audit.prepare().map_err(WebSendError::Audit)?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if let Some(draft_id) = draft_id {
            let used = sqlx::query(
                "DELETE FROM web_stash WHERE id = $1 AND login = $2 AND kind = 'send_draft' \
                 AND expires_at >= $3",
            )
            .bind(draft_id)
            .bind(&send.login)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() == 0 {
                return Err(WebSendError::DraftGone);
            }
        }
        let outbound: Vec<NewOutbound> = messages.iter().map(|(m, _)| m.clone()).collect();
        let ids = self.insert_outbound(&mut tx, &outbound, now).await?;
        sqlx::query(
            "INSERT INTO web_sends (batch_id, login, text, recipients, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&send.batch_id)
        .bind(&send.login)
        .bind(&send.text)
        .bind(i64::from(send.recipients))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (id, (_, name)) in ids.iter().zip(messages) {
            if let Some(name) = name {
                sqlx::query("INSERT INTO web_send_names (message_id, name) VALUES ($1, $2)")
                    .bind(*id)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        append_audit(self, &mut tx, &prepared)
            .await
            .map_err(WebSendError::audit_row)?;
        tx.commit().await?;
        Ok(ids)
    }

    /// A web send by batch id.
    pub async fn web_send(&self, batch_id: &str) -> Result<Option<WebSendRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT batch_id, login, text, recipients, created_at FROM web_sends \
             WHERE batch_id = $1",
        )
        .bind(batch_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(WebSendRecord {
                batch_id: r.try_get("batch_id")?,
                login: r.try_get("login")?,
                text: r.try_get("text")?,
                recipients: u32::try_from(r.try_get::<i64, _>("recipients")?).unwrap_or(0),
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// The recipients' names of a web send's messages, by message id.
    pub async fn web_send_names(
        &self,
        batch_id: &str,
    ) -> Result<std::collections::HashMap<MessageId, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT n.message_id, n.name FROM web_send_names n \
             JOIN messages m ON m.id = n.message_id WHERE m.batch_id = $1",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("message_id")?, r.try_get("name")?)))
            .collect()
    }
}
