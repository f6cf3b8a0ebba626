//! Storage of channels and their news (issue 14; R3, R4, R13): channels with their audience and
//! validity, and the items published on them. Who may receive a channel's content is the
//! audience's rule ([`Audience`]); the rules for codes, names and durations live in
//! [`crate::channels`], which calls these with checked values and an audit row for every change.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{AuditEntry, commit_audited};
use super::{Store, StoreError};

/// Who a channel's content may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Audience {
    /// Every member of the website with a bound phone.
    Members,
    /// Staff users of this role, through their registered phones.
    Role(String),
    /// Contacts of this address-book group (with the departments in it).
    Group(String),
}

impl Audience {
    /// The stored kind: `members`, `role` or `group`.
    pub fn kind(&self) -> &'static str {
        match self {
            Audience::Members => "members",
            Audience::Role(_) => "role",
            Audience::Group(_) => "group",
        }
    }

    /// The role or group name; `None` for members.
    pub fn name(&self) -> Option<&str> {
        match self {
            Audience::Members => None,
            Audience::Role(name) | Audience::Group(name) => Some(name),
        }
    }

    fn from_row(kind: &str, name: Option<String>) -> Result<Audience, StoreError> {
        match (kind, name) {
            ("members", None) => Ok(Audience::Members),
            ("role", Some(name)) => Ok(Audience::Role(name)),
            ("group", Some(name)) => Ok(Audience::Group(name)),
            (kind, _) => Err(StoreError::Corrupt {
                column: "channels.audience_kind",
                value: kind.to_owned(),
            }),
        }
    }
}

impl std::fmt::Display for Audience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Audience::Members => f.write_str("members"),
            Audience::Role(name) => write!(f, "role:{name}"),
            Audience::Group(name) => write!(f, "group:{name}"),
        }
    }
}

/// A channel as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelRecord {
    pub id: i64,
    /// Upper case, e.g. `XW01`.
    pub code: String,
    pub name: String,
    pub audience: Audience,
    /// How long an item stays valid after it is published, milliseconds; `None`: no end.
    pub validity_ms: Option<i64>,
    /// The local time of the daily digest, `HH:MM`; `None`: items go out as published.
    pub digest_at: Option<String>,
    /// Subscribers now (members and staff phones).
    pub subscribers: i64,
    pub created_at: i64,
}

/// A new channel, with checked values.
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub code: String,
    pub name: String,
    pub audience: Audience,
    pub validity_ms: Option<i64>,
    pub digest_at: Option<String>,
}

/// A published item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewsItem {
    pub id: i64,
    /// The channel's code.
    pub channel: String,
    pub title: String,
    pub body: String,
    pub published_at: i64,
    /// After this it is neither sent nor returned; `None`: no end.
    pub valid_until: Option<i64>,
    pub published_by: String,
}

impl NewsItem {
    /// Whether the item may still be sent or returned at `now_ms`.
    pub fn is_valid_at(&self, now_ms: i64) -> bool {
        self.valid_until.is_none_or(|until| now_ms < until)
    }
}

/// An item to publish, with checked values.
#[derive(Debug, Clone)]
pub struct NewNewsItem {
    pub channel: String,
    pub title: String,
    pub body: String,
    pub published_by: String,
    /// A publish retried with the same key (per channel) finds the first one's item.
    pub idempotency_key: Option<String>,
}

/// What a publish did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Published {
    pub item: i64,
    /// False when the idempotency key named an item published before: nothing new was written.
    pub created: bool,
}

/// What went wrong with channels or news. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The code is malformed.
    #[error(
        "invalid channel code `{0}`: use 2 to 16 letters or digits starting with a letter, like \
         XW01"
    )]
    InvalidCode(String),
    /// A name, title or text is empty, too long or holds control characters.
    #[error("invalid {what}: {reason}")]
    InvalidText { what: &'static str, reason: String },
    /// The audience is not `members`, `role:NAME` or `group:NAME`.
    #[error("invalid audience `{0}`: use members, role:ROLE or group:GROUP")]
    InvalidAudience(String),
    /// A duration could not be read.
    #[error("invalid {what} `{value}`: use a number and a unit, like 10s, 30m, 24h or 7d")]
    InvalidDuration { what: &'static str, value: String },
    /// A time of day could not be read.
    #[error("invalid digest time `{0}`: use HH:MM, 24-hour, like 18:00")]
    InvalidTimeOfDay(String),
    /// The audience names a role that does not exist.
    #[error("no role `{0}`: see the roles with `jingxun role list`")]
    UnknownRole(String),
    /// The audience names a group that does not exist.
    #[error("no address-book group `{0}`: see the groups in the web admin's address book")]
    UnknownGroup(String),
    /// The code is taken.
    #[error("channel {0} already exists: see it with `jingxun channel list`")]
    ChannelExists(String),
    /// No channel has that code.
    #[error("no channel {0}: see the channels with `jingxun channel list`")]
    UnknownChannel(String),
    /// The phone is not bound to any member (a members' channel).
    #[error(
        "{phone} is not the bound phone of any member: bind it on the police website first \
         (members' channels reach members' bound phones only)"
    )]
    NotAMember { phone: String },
    /// The phone is not in the channel's staff audience.
    #[error("{phone} is not in the audience of channel {code}")]
    NotEntitled { phone: String, code: String },
    /// No item has that id.
    #[error("no news item {0}: see the channel's items")]
    UnknownItem(i64),
    /// The actor is missing.
    #[error("the actor (who makes the change) is empty; pass a login or `cli:<user>`")]
    MissingActor,
    /// The audit row of the change could not be written, so nothing was changed.
    #[error("nothing was changed because its audit row could not be written: {0}")]
    Audit(#[source] StoreError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChannelError {
    fn from(e: sqlx::Error) -> Self {
        ChannelError::Store(e.into())
    }
}

const CHANNEL_COLUMNS: &str = "c.id, c.code, c.name, c.audience_kind, c.audience_name, \
     c.validity_ms, c.digest_at, c.created_at, \
     (SELECT COUNT(*) FROM channel_subscriptions s WHERE s.channel_id = c.id) AS subscribers";

fn channel_from_row(row: &AnyRow) -> Result<ChannelRecord, StoreError> {
    let kind: String = row.try_get("audience_kind")?;
    Ok(ChannelRecord {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        audience: Audience::from_row(&kind, row.try_get("audience_name")?)?,
        validity_ms: row.try_get("validity_ms")?,
        digest_at: row.try_get("digest_at")?,
        subscribers: row.try_get("subscribers")?,
        created_at: row.try_get("created_at")?,
    })
}

const ITEM_COLUMNS: &str = "i.id, c.code, i.title, i.body, i.published_at, i.valid_until, \
     i.published_by";

fn item_from_row(row: &AnyRow) -> Result<NewsItem, StoreError> {
    Ok(NewsItem {
        id: row.try_get("id")?,
        channel: row.try_get("code")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        published_at: row.try_get("published_at")?,
        valid_until: row.try_get("valid_until")?,
        published_by: row.try_get("published_by")?,
    })
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Creates a channel, with its audit row in the same transaction. A role or group audience
    /// must name an existing role or group.
    pub(crate) async fn channel_add(
        &self,
        channel: &NewChannel,
        now_ms: i64,
        entry: AuditEntry,
    ) -> Result<ChannelRecord, ChannelError> {
        let mut tx = self.begin_write().await?;
        match &channel.audience {
            Audience::Members => {}
            Audience::Role(role) => {
                let found = sqlx::query("SELECT 1 FROM roles WHERE name = $1")
                    .bind(role)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(ChannelError::UnknownRole(role.clone()));
                }
            }
            Audience::Group(group) => {
                let found = sqlx::query("SELECT 1 FROM ab_groups WHERE name = $1")
                    .bind(group)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(ChannelError::UnknownGroup(group.clone()));
                }
            }
        }
        sqlx::query(
            "INSERT INTO channels (code, name, audience_kind, audience_name, validity_ms, \
               digest_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&channel.code)
        .bind(&channel.name)
        .bind(channel.audience.kind())
        .bind(channel.audience.name())
        .bind(channel.validity_ms)
        .bind(channel.digest_at.as_deref())
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| match e.as_database_error() {
            Some(db) if db.is_unique_violation() => {
                ChannelError::ChannelExists(channel.code.clone())
            }
            _ => e.into(),
        })?;
        let record = channel_by_code(&mut tx, &channel.code)
            .await?
            .ok_or_else(|| ChannelError::UnknownChannel(channel.code.clone()))?;
        self.commit_channel_change(tx, entry).await?;
        Ok(record)
    }

    /// Every channel, by code.
    pub(crate) async fn channels_list(&self) -> Result<Vec<ChannelRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels c ORDER BY c.code"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(channel_from_row).collect()
    }

    /// Publishes an item on its channel, valid for the channel's validity from `now_ms`, with
    /// its audit row, in one transaction. With an idempotency key already used on that channel,
    /// answers the first publish's item and writes nothing.
    pub(crate) async fn news_publish(
        &self,
        item: &NewNewsItem,
        now_ms: i64,
        entry: AuditEntry,
    ) -> Result<Published, ChannelError> {
        let mut tx = self.begin_write().await?;
        let channel = channel_by_code(&mut tx, &item.channel)
            .await?
            .ok_or_else(|| ChannelError::UnknownChannel(item.channel.clone()))?;
        if let Some(key) = &item.idempotency_key {
            let earlier = sqlx::query(
                "SELECT id FROM news_items WHERE channel_id = $1 AND idempotency_key = $2",
            )
            .bind(channel.id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = earlier {
                return Ok(Published {
                    item: row.try_get("id")?,
                    created: false,
                });
            }
        }
        let valid_until = channel.validity_ms.map(|v| now_ms.saturating_add(v));
        let row = sqlx::query(
            "INSERT INTO news_items (channel_id, title, body, published_at, valid_until, \
               published_by, idempotency_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(channel.id)
        .bind(&item.title)
        .bind(&item.body)
        .bind(now_ms)
        .bind(valid_until)
        .bind(&item.published_by)
        .bind(item.idempotency_key.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let entry = entry.with_details(serde_json::json!({
            "channel": channel.code,
            "item": id,
            "title": item.title,
        }));
        self.commit_channel_change(tx, entry).await?;
        Ok(Published {
            item: id,
            created: true,
        })
    }

    /// The latest item of the channel still valid at `now_ms`.
    pub(crate) async fn news_latest_valid(
        &self,
        code: &str,
        now_ms: i64,
    ) -> Result<Option<NewsItem>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM news_items i JOIN channels c ON c.id = i.channel_id \
             WHERE c.code = $1 AND (i.valid_until IS NULL OR i.valid_until > $2) \
             ORDER BY i.published_at DESC, i.id DESC LIMIT 1"
        ))
        .bind(code)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    async fn commit_channel_change(&self, tx: Tx, entry: AuditEntry) -> Result<(), ChannelError> {
        commit_audited(self, tx, entry, ChannelError::Audit).await
    }
}

pub(super) async fn channel_by_code(
    tx: &mut Tx,
    code: &str,
) -> Result<Option<ChannelRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.code = $1"
    ))
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(channel_from_row).transpose()
}
