//! Who follows a channel, and who may (issue 14; R3, R4, R12): a channel's content reaches only
//! its audience, and the store decides that with the same queries when a phone subscribes and
//! when an item goes out, so that a member who unbound their phone, an officer who left the
//! role or a contact taken out of the group stops receiving at once.
//!
//! - `members`: a member's bound phone (an active member); the subscription is the member's,
//!   and follows the phone they have bound when an item goes out;
//! - `role:R`: an active registered phone of an active user in role R;
//! - `group:G`: a number of a contact of group G, directly or through a department in it (with
//!   every department below).

use serde::Serialize;
use sqlx::Row;

use super::channels::{Audience, ChannelError, ChannelRecord};
use super::{Store, StoreError};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// One entitled subscriber of a channel, as an item goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscriber {
    /// The phone the item goes to, canonical.
    pub phone: String,
    /// The member, for a members' channel (caps and billing apply).
    pub member: Option<MemberCaps>,
}

/// A member's caps, as an item goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemberCaps {
    pub id: i64,
    pub daily: Option<i64>,
    pub monthly: Option<i64>,
}

/// What a subscribe or unsubscribe did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionChange {
    /// The channel's code and name.
    pub code: String,
    pub name: String,
    /// False when it was so already.
    pub changed: bool,
}

/// The entitled-numbers table of a group audience (`$2`: the group's name), for a `WITH`.
const GROUP_NUMBERS: &str = "WITH RECURSIVE \
     group_departments (id) AS ( \
       SELECT gm.department_id FROM ab_group_members gm JOIN ab_groups g ON g.id = gm.group_id \
       WHERE g.name = $2 AND gm.department_id IS NOT NULL \
       UNION SELECT d.id FROM ab_departments d JOIN group_departments gd ON d.parent_id = gd.id), \
     group_numbers (number) AS ( \
       SELECT n.number FROM ab_contact_numbers n JOIN ab_contacts c ON c.id = n.contact_id \
       WHERE c.department_id IN (SELECT id FROM group_departments) \
          OR c.id IN (SELECT gm.contact_id FROM ab_group_members gm \
                      JOIN ab_groups g ON g.id = gm.group_id \
                      WHERE g.name = $2 AND gm.contact_id IS NOT NULL)) ";

/// Active registered phones of active users in role `$2`.
const ROLE_PHONES: &str = "SELECT p.number FROM phones p \
     JOIN users u ON u.login = p.user_login AND u.active = 1 \
     JOIN user_roles r ON r.login = u.login AND r.role = $2 \
     WHERE p.active = 1";

/// Who `phone` is to a channel of this audience.
enum Entitlement {
    /// A member with this phone bound (members' channels).
    Member(i64),
    /// A staff phone in the audience.
    Staff,
    /// No member bound this phone (members' channels): they must bind it on the website.
    NotAMember,
    /// Not in the staff audience.
    NotEntitled,
}

async fn entitlement(
    tx: &mut Tx,
    channel: &ChannelRecord,
    phone: &str,
) -> Result<Entitlement, StoreError> {
    Ok(match &channel.audience {
        Audience::Members => {
            let row = sqlx::query("SELECT id FROM members WHERE phone = $1 AND active = 1")
                .bind(phone)
                .fetch_optional(&mut **tx)
                .await?;
            match row {
                Some(row) => Entitlement::Member(row.try_get("id")?),
                None => Entitlement::NotAMember,
            }
        }
        Audience::Role(role) => {
            let found = sqlx::query(&format!("{ROLE_PHONES} AND p.number = $1"))
                .bind(phone)
                .bind(role)
                .fetch_optional(&mut **tx)
                .await?;
            if found.is_some() {
                Entitlement::Staff
            } else {
                Entitlement::NotEntitled
            }
        }
        Audience::Group(group) => {
            let found = sqlx::query(&format!(
                "{GROUP_NUMBERS} SELECT 1 AS found FROM group_numbers WHERE number = $1"
            ))
            .bind(phone)
            .bind(group)
            .fetch_optional(&mut **tx)
            .await?;
            if found.is_some() {
                Entitlement::Staff
            } else {
                Entitlement::NotEntitled
            }
        }
    })
}

impl Store {
    /// Subscribes the sender `phone` (canonical) to the channel `code`, if it is in the
    /// channel's audience; nothing is recorded otherwise.
    pub(crate) async fn channel_subscribe(
        &self,
        code: &str,
        phone: &str,
        now_ms: i64,
    ) -> Result<SubscriptionChange, ChannelError> {
        self.change_subscription(code, phone, Some(now_ms)).await
    }

    /// Ends the subscription of the sender `phone` (or of the member who bound it) to `code`.
    pub(crate) async fn channel_unsubscribe(
        &self,
        code: &str,
        phone: &str,
    ) -> Result<SubscriptionChange, ChannelError> {
        self.change_subscription(code, phone, None).await
    }

    /// The channel `code` and its latest item still valid at `now_ms`, for `phone` (canonical):
    /// refused when the phone may not read the channel, as a subscribe would be.
    pub(crate) async fn channel_latest_for(
        &self,
        code: &str,
        phone: &str,
        now_ms: i64,
    ) -> Result<(ChannelRecord, Option<super::channels::NewsItem>), ChannelError> {
        let mut tx = self.pool.begin().await?;
        let channel = super::channels::channel_by_code(&mut tx, code)
            .await?
            .ok_or_else(|| ChannelError::UnknownChannel(code.to_owned()))?;
        match entitlement(&mut tx, &channel, phone).await? {
            Entitlement::Member(_) | Entitlement::Staff => {}
            Entitlement::NotAMember => {
                return Err(ChannelError::NotAMember {
                    phone: phone.to_owned(),
                });
            }
            Entitlement::NotEntitled => {
                return Err(ChannelError::NotEntitled {
                    phone: phone.to_owned(),
                    code: channel.code,
                });
            }
        }
        tx.rollback().await?;
        let latest = self.news_latest_valid(&channel.code, now_ms).await?;
        Ok((channel, latest))
    }

    /// Subscribes (`since`: the time) or unsubscribes (`None`).
    async fn change_subscription(
        &self,
        code: &str,
        phone: &str,
        since: Option<i64>,
    ) -> Result<SubscriptionChange, ChannelError> {
        let mut tx = self.begin_write().await?;
        let channel = super::channels::channel_by_code(&mut tx, code)
            .await?
            .ok_or_else(|| ChannelError::UnknownChannel(code.to_owned()))?;
        let (column, key): (&str, Key) = match entitlement(&mut tx, &channel, phone).await? {
            Entitlement::Member(id) => ("member_id", Key::Member(id)),
            Entitlement::Staff => ("phone", Key::Phone(phone)),
            Entitlement::NotAMember => {
                return Err(ChannelError::NotAMember {
                    phone: phone.to_owned(),
                });
            }
            // Leaving a channel one is no longer entitled to is always allowed.
            Entitlement::NotEntitled if since.is_none() => ("phone", Key::Phone(phone)),
            Entitlement::NotEntitled => {
                return Err(ChannelError::NotEntitled {
                    phone: phone.to_owned(),
                    code: channel.code,
                });
            }
        };
        let done = match since {
            Some(now_ms) => {
                let sql = format!(
                    "INSERT INTO channel_subscriptions (channel_id, {column}, created_at) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                );
                key.bind(sqlx::query(&sql).bind(channel.id))
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?
            }
            None => {
                let sql = format!(
                    "DELETE FROM channel_subscriptions WHERE channel_id = $1 AND {column} = $2"
                );
                key.bind(sqlx::query(&sql).bind(channel.id))
                    .execute(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(SubscriptionChange {
            code: channel.code,
            name: channel.name,
            changed: done.rows_affected() > 0,
        })
    }
}

/// A subscription's key column value.
enum Key<'a> {
    Member(i64),
    Phone(&'a str),
}

impl<'a> Key<'a> {
    fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>
    where
        'a: 'q,
    {
        match *self {
            Key::Member(id) => query.bind(id),
            Key::Phone(phone) => query.bind(phone),
        }
    }
}

/// The channel's entitled subscribers now, each once.
pub(super) async fn entitled_subscribers(
    tx: &mut Tx,
    channel: &ChannelRecord,
) -> Result<Vec<Subscriber>, StoreError> {
    match &channel.audience {
        Audience::Members => {
            let rows = sqlx::query(
                "SELECT m.phone, m.id, m.daily_cap, m.monthly_cap \
                 FROM channel_subscriptions s JOIN members m ON m.id = s.member_id \
                 WHERE s.channel_id = $1 AND m.active = 1 AND m.phone IS NOT NULL \
                 ORDER BY m.id",
            )
            .bind(channel.id)
            .fetch_all(&mut **tx)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Subscriber {
                        phone: row.try_get("phone")?,
                        member: Some(MemberCaps {
                            id: row.try_get("id")?,
                            daily: row.try_get("daily_cap")?,
                            monthly: row.try_get("monthly_cap")?,
                        }),
                    })
                })
                .collect()
        }
        Audience::Role(role) => {
            staff(
                tx,
                &format!(
                    "SELECT DISTINCT s.phone FROM channel_subscriptions s \
                     WHERE s.channel_id = $1 AND s.phone IN ({ROLE_PHONES}) ORDER BY s.phone"
                ),
                channel.id,
                role,
            )
            .await
        }
        Audience::Group(group) => {
            staff(
                tx,
                &format!(
                    "{GROUP_NUMBERS} SELECT DISTINCT s.phone FROM channel_subscriptions s \
                     WHERE s.channel_id = $1 AND s.phone IN (SELECT number FROM group_numbers) \
                     ORDER BY s.phone"
                ),
                channel.id,
                group,
            )
            .await
        }
    }
}

async fn staff(
    tx: &mut Tx,
    sql: &str,
    channel: i64,
    name: &str,
) -> Result<Vec<Subscriber>, StoreError> {
    let rows = sqlx::query(sql)
        .bind(channel)
        .bind(name)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Subscriber {
                phone: row.try_get("phone")?,
                member: None,
            })
        })
        .collect()
}
