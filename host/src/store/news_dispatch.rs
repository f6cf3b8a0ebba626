//! Sending a news item to its channel's subscribers (issue 14; R12, R13): the host's policy,
//! applied in ONE transaction with the messages it queues, so that a crash never sends without
//! recording or records without sending.
//!
//! - only the channel's entitled subscribers now ([`super::subscriptions`]);
//! - never an expired item, and the messages expire with it (`valid_until`), so that a queue
//!   that could not send in time does not send stale news either;
//! - once per item and subscriber: `news_deliveries` is keyed by both, and a fan-out retried
//!   (a plugin's event delivered again after a crash) skips whom it reached;
//! - a member's daily and monthly caps on news SMS (messages counted in the platform's time
//!   zone): an item over a cap is skipped for that member and the skip recorded;
//! - a billing-ledger row per message queued to a member, with its SMS parts.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::Row;

use super::channels::{ChannelError, channel_by_code};
use super::subscriptions::{Subscriber, entitled_subscribers};
use super::{MessageId, NewOutbound, Store, StoreError, values_lists};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Rows per multi-row INSERT.
const CHUNK: usize = 500;

/// What a fan-out did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FanOut {
    /// Messages queued (one per subscriber reached).
    pub queued: u32,
    /// SMS parts per message.
    pub parts: u32,
    /// Members skipped because the item would pass one of their caps.
    pub over_cap: u32,
    /// Subscribers this item had reached before (a retried fan-out).
    pub already: u32,
    /// The item's validity had ended: nothing was queued.
    pub expired: bool,
}

/// One news item to send: its id, and the SMS text the plugin made of it.
#[derive(Debug, Clone)]
pub struct NewsSend<'a> {
    pub item: i64,
    pub text: &'a str,
    /// The messages' `batch_id` (e.g. the plugin call's request id).
    pub batch_id: Option<&'a str>,
}

/// The calendar day and month of `ms` in `tz`: `("YYYY-MM-DD", "YYYY-MM")`.
pub(crate) fn local_day_and_month(ms: i64, tz: chrono_tz::Tz) -> (String, String) {
    let local = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&tz);
    (
        local.format("%Y-%m-%d").to_string(),
        local.format("%Y-%m").to_string(),
    )
}

impl Store {
    /// Sends a news item to its channel's entitled subscribers, within their caps, once each,
    /// with its deliveries and billing rows, in one transaction.
    pub(crate) async fn news_fan_out(
        &self,
        send: &NewsSend<'_>,
        now_ms: i64,
        tz: chrono_tz::Tz,
    ) -> Result<FanOut, ChannelError> {
        let mut tx = self.begin_write().await?;
        let fan_out = self.news_fan_out_in(&mut tx, send, now_ms, tz).await?;
        tx.commit().await?;
        Ok(fan_out)
    }

    /// [`Store::news_fan_out`] inside `tx` (a plugin call's commit).
    pub(super) async fn news_fan_out_in(
        &self,
        tx: &mut Tx,
        send: &NewsSend<'_>,
        now_ms: i64,
        tz: chrono_tz::Tz,
    ) -> Result<FanOut, ChannelError> {
        let row = sqlx::query(
            "SELECT c.code, i.valid_until FROM news_items i JOIN channels c ON c.id = i.channel_id \
             WHERE i.id = $1",
        )
        .bind(send.item)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ChannelError::UnknownItem(send.item))?;
        let code: String = row.try_get("code")?;
        let valid_until: Option<i64> = row.try_get("valid_until")?;
        let parts = u32::try_from(jingxun_sms::plan(send.text).parts).unwrap_or(u32::MAX);
        let mut fan_out = FanOut {
            parts,
            ..FanOut::default()
        };
        if valid_until.is_some_and(|until| now_ms >= until) {
            fan_out.expired = true;
            return Ok(fan_out);
        }
        let channel = channel_by_code(tx, &code)
            .await?
            .ok_or(ChannelError::UnknownChannel(code))?;
        let reached: HashSet<String> =
            sqlx::query("SELECT phone FROM news_deliveries WHERE item_id = $1")
                .bind(send.item)
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| r.try_get("phone"))
                .collect::<Result<_, _>>()?;
        let (day, month) = local_day_and_month(now_ms, tz);
        let usage = news_usage(tx, &day, &month).await?;
        let mut to_send: Vec<&Subscriber> = Vec::new();
        let mut over_cap: Vec<&Subscriber> = Vec::new();
        let subscribers = entitled_subscribers(tx, &channel).await?;
        for subscriber in &subscribers {
            if reached.contains(&subscriber.phone) {
                fan_out.already += 1;
                continue;
            }
            let within = subscriber.member.is_none_or(|m| {
                let (today, this_month) = usage.get(&m.id).copied().unwrap_or((0, 0));
                m.daily.is_none_or(|cap| today < cap)
                    && m.monthly.is_none_or(|cap| this_month < cap)
            });
            if within {
                to_send.push(subscriber);
            } else {
                over_cap.push(subscriber);
            }
        }
        let messages: Vec<NewOutbound> = to_send
            .iter()
            .map(|s| NewOutbound {
                valid_until_ms: valid_until,
                batch_id: send.batch_id.map(str::to_owned),
                ..NewOutbound::new(s.phone.clone(), send.text)
            })
            .collect();
        let ids = self.insert_outbound(tx, &messages, now_ms).await?;
        let deliveries: Vec<(&Subscriber, Option<MessageId>)> = to_send
            .iter()
            .zip(&ids)
            .map(|(s, id)| (*s, Some(*id)))
            .chain(over_cap.iter().map(|s| (*s, None)))
            .collect();
        self.insert_deliveries(tx, send.item, &deliveries, now_ms)
            .await?;
        let billed: Vec<(i64, MessageId)> = to_send
            .iter()
            .zip(&ids)
            .filter_map(|(s, id)| s.member.map(|m| (m.id, *id)))
            .collect();
        self.insert_billing(
            tx,
            channel.id,
            send.item,
            &billed,
            parts,
            (&day, &month),
            now_ms,
        )
        .await?;
        fan_out.queued = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        fan_out.over_cap = u32::try_from(over_cap.len()).unwrap_or(u32::MAX);
        Ok(fan_out)
    }

    async fn insert_deliveries(
        &self,
        tx: &mut Tx,
        item: i64,
        deliveries: &[(&Subscriber, Option<MessageId>)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        for chunk in deliveries.chunks(CHUNK) {
            let sql = values_lists(
                self.backend,
                "INSERT INTO news_deliveries (item_id, phone, member_id, outcome, message_id, \
                 created_at) VALUES ",
                "",
                6,
                chunk.len(),
            );
            let mut query = sqlx::query(&sql);
            for (subscriber, message) in chunk {
                query = query
                    .bind(item)
                    .bind(subscriber.phone.as_str())
                    .bind(subscriber.member.map(|m| m.id))
                    .bind(if message.is_some() {
                        "queued"
                    } else {
                        "over-cap"
                    })
                    .bind(*message)
                    .bind(now_ms);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_billing(
        &self,
        tx: &mut Tx,
        channel: i64,
        item: i64,
        billed: &[(i64, MessageId)],
        parts: u32,
        (day, month): (&str, &str),
        now_ms: i64,
    ) -> Result<(), StoreError> {
        for chunk in billed.chunks(CHUNK) {
            let sql = values_lists(
                self.backend,
                "INSERT INTO billing_ledger (kind, member_id, channel_id, item_id, message_id, \
                 parts, month, day, created_at) VALUES ",
                "'news', ",
                8,
                chunk.len(),
            );
            let mut query = sqlx::query(&sql);
            for (member, message) in chunk {
                query = query
                    .bind(*member)
                    .bind(channel)
                    .bind(item)
                    .bind(*message)
                    .bind(i64::from(parts))
                    .bind(month)
                    .bind(day)
                    .bind(now_ms);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// News messages queued to each member today and this month.
async fn news_usage(
    tx: &mut Tx,
    day: &str,
    month: &str,
) -> Result<HashMap<i64, (i64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT member_id, \
           SUM(CASE WHEN day = $1 THEN 1 ELSE 0 END) AS today, COUNT(*) AS this_month \
         FROM billing_ledger WHERE kind = 'news' AND month = $2 GROUP BY member_id",
    )
    .bind(day)
    .bind(month)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("member_id")?,
                (row.try_get("today")?, row.try_get("this_month")?),
            ))
        })
        .collect()
}
