//! Channels and their news (issue 14; R3, R4, R13, R16): an administrator creates channels
//! (news columns are channels) with a code such as `XW01`, a name, an audience, a validity for
//! their content and optionally a daily digest time; editors publish items on them.
//!
//! The rules here: codes are 2-16 letters or digits starting with a letter, stored upper case;
//! an audience is `members`, `role:ROLE` or `group:GROUP` (an existing role or address-book
//! group); durations are written `10s`, `30m`, `24h` or `7d`; digest times `HH:MM`. An item is
//! valid from its publication for the channel's validity: after that it is neither sent nor
//! returned. An administrator's or editor's change writes an audit row (component `channels`:
//! `channel.add`, `news.publish`) in the transaction of the change; a subscription, the
//! sender's own SMS request, is kept as that SMS and its reply, not audited.

use std::time::Duration;

use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::store::Store;
pub use crate::store::channels::{
    Audience, ChannelError, ChannelRecord, NewChannel, NewNewsItem, NewsItem, Published,
};
pub use crate::store::news_dispatch::{FanOut, NewsSend};
pub use crate::store::subscriptions::SubscriptionChange;
use crate::text::Lines;

/// Longest channel name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest item title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest item text, in characters (several SMS parts; the news plugin shortens for SMS).
pub const MAX_BODY_CHARS: usize = 2000;
/// Longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

const COMPONENT: AuditComponent = AuditComponent::Channels;

/// A channel to create, as typed.
#[derive(Debug, Clone, Default)]
pub struct ChannelSpec {
    pub code: String,
    pub name: String,
    /// `members`, `role:ROLE` or `group:GROUP`.
    pub audience: String,
    /// `10s`, `30m`, `24h`, `7d`; `None`: items stay valid.
    pub validity: Option<String>,
    /// `HH:MM`.
    pub digest: Option<String>,
}

/// Channels and news on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Channels {
    store: Store,
    source: Option<String>,
}

impl Channels {
    /// Channels kept in `store`.
    pub fn new(store: Store) -> Self {
        Channels {
            store,
            source: None,
        }
    }

    /// Sets the `source` of the audit rows this handle writes (`cli`, `web`, `api`...).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Creates a channel.
    pub async fn add(
        &self,
        spec: &ChannelSpec,
        actor: &str,
        now_ms: i64,
    ) -> Result<ChannelRecord, ChannelError> {
        let channel = NewChannel {
            code: check_code(&spec.code)?,
            name: check_text("channel name", &spec.name, MAX_NAME_CHARS, Lines::One)?,
            audience: parse_audience(&spec.audience)?,
            validity_ms: spec
                .validity
                .as_deref()
                .map(|v| parse_duration("validity", v).map(duration_ms))
                .transpose()?,
            digest_at: spec.digest.as_deref().map(check_time_of_day).transpose()?,
        };
        let entry = self
            .entry(AuditEvent::ChannelAdd, actor)?
            .with_object(channel.code.clone())
            .with_details(serde_json::json!({
                "name": channel.name,
                "audience": channel.audience.to_string(),
                "validity_ms": channel.validity_ms,
                "digest_at": channel.digest_at,
            }));
        self.store.channel_add(&channel, now_ms, entry).await
    }

    /// Every channel, by code.
    pub async fn list(&self) -> Result<Vec<ChannelRecord>, ChannelError> {
        Ok(self.store.channels_list().await?)
    }

    /// Publishes an item on a channel; a retry with the same idempotency key finds the first
    /// item and publishes nothing.
    pub async fn publish(
        &self,
        channel: &str,
        title: &str,
        body: &str,
        idempotency_key: Option<&str>,
        actor: &str,
        now_ms: i64,
    ) -> Result<Published, ChannelError> {
        let item = NewNewsItem {
            channel: check_code(channel)?,
            title: check_text("title", title, MAX_TITLE_CHARS, Lines::One)?,
            body: check_text("text", body, MAX_BODY_CHARS, Lines::Several)?,
            published_by: actor.trim().to_owned(),
            idempotency_key: idempotency_key.map(check_idempotency_key).transpose()?,
        };
        let entry = self
            .entry(AuditEvent::NewsPublish, actor)?
            .with_object(item.channel.clone());
        self.store.news_publish(&item, now_ms, entry).await
    }

    /// The latest item of a channel still valid at `now_ms`.
    pub async fn latest(
        &self,
        channel: &str,
        now_ms: i64,
    ) -> Result<Option<NewsItem>, ChannelError> {
        let code = check_code(channel)?;
        Ok(self.store.news_latest_valid(&code, now_ms).await?)
    }

    /// A channel and its latest item still valid at `now_ms`, for the phone that asked (as a
    /// subscribe would be, refused when the phone may not read the channel).
    pub async fn latest_for(
        &self,
        channel: &str,
        phone: &str,
        now_ms: i64,
    ) -> Result<(ChannelRecord, Option<NewsItem>), ChannelError> {
        let code = check_code(channel)?;
        self.store.channel_latest_for(&code, phone, now_ms).await
    }

    /// Subscribes the phone that asked (canonical, e.g. the sender of `DY XW01`) to a channel,
    /// if it is in the channel's audience; nothing is recorded otherwise.
    pub async fn subscribe(
        &self,
        channel: &str,
        phone: &str,
        now_ms: i64,
    ) -> Result<SubscriptionChange, ChannelError> {
        let code = check_code(channel)?;
        self.store.channel_subscribe(&code, phone, now_ms).await
    }

    /// Ends the subscription of the phone that asked (or of the member who bound it).
    pub async fn unsubscribe(
        &self,
        channel: &str,
        phone: &str,
    ) -> Result<SubscriptionChange, ChannelError> {
        let code = check_code(channel)?;
        self.store.channel_unsubscribe(&code, phone).await
    }

    /// Sends an item, as the SMS text `send.text`, to its channel's entitled subscribers within
    /// their caps, once each, billing members (see [`crate::store::news_dispatch`]).
    pub async fn send_item(
        &self,
        send: &NewsSend<'_>,
        now_ms: i64,
        time_zone: chrono_tz::Tz,
    ) -> Result<FanOut, ChannelError> {
        self.store.news_fan_out(send, now_ms, time_zone).await
    }

    fn entry(&self, event: AuditEvent, actor: &str) -> Result<AuditEntry, ChannelError> {
        let actor = actor.trim();
        if actor.is_empty() {
            return Err(ChannelError::MissingActor);
        }
        Ok(AuditEntry::new(COMPONENT, event, AuditOutcome::Ok)
            .with_actor(actor)
            .with_source(self.source.as_deref()))
    }
}

/// A channel code as stored: upper case letters and digits, starting with a letter.
pub fn check_code(value: &str) -> Result<String, ChannelError> {
    let code = value.trim().to_uppercase();
    let ok = (2..=16).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_alphabetic())
        && code.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(code)
    } else {
        Err(ChannelError::InvalidCode(value.to_owned()))
    }
}

/// `members`, `role:ROLE` or `group:GROUP`; role names are stored lower case, group names as
/// written.
pub fn parse_audience(value: &str) -> Result<Audience, ChannelError> {
    let value = value.trim();
    let invalid = || ChannelError::InvalidAudience(value.to_owned());
    if value.eq_ignore_ascii_case("members") {
        return Ok(Audience::Members);
    }
    let (kind, name) = value.split_once(':').ok_or_else(invalid)?;
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(invalid());
    }
    match kind.trim().to_ascii_lowercase().as_str() {
        "role" => Ok(Audience::Role(name.to_ascii_lowercase())),
        "group" => Ok(Audience::Group(name.to_owned())),
        _ => Err(invalid()),
    }
}

/// A duration written as a whole number and a unit: `s`, `m`, `h` or `d`.
pub fn parse_duration(what: &'static str, value: &str) -> Result<Duration, ChannelError> {
    let invalid = || ChannelError::InvalidDuration {
        what,
        value: value.to_owned(),
    };
    let value = value.trim();
    let split = value.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => Some(number),
        "m" => number.checked_mul(60),
        "h" => number.checked_mul(3600),
        "d" => number.checked_mul(86_400),
        _ => None,
    }
    .filter(|&s| (1..=3650 * 86_400).contains(&s))
    .ok_or_else(invalid)?;
    Ok(Duration::from_secs(seconds))
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `HH:MM`, 24-hour.
pub fn check_time_of_day(value: &str) -> Result<String, ChannelError> {
    let value = value.trim();
    chrono::NaiveTime::parse_from_str(value, "%H:%M")
        .ok()
        .filter(|_| value.len() == 5)
        .map(|t| t.format("%H:%M").to_string())
        .ok_or_else(|| ChannelError::InvalidTimeOfDay(value.to_owned()))
}

fn check_idempotency_key(value: &str) -> Result<String, ChannelError> {
    let v = value.trim();
    if v.is_empty() || v.len() > MAX_IDEMPOTENCY_KEY || v.chars().any(char::is_control) {
        Err(ChannelError::InvalidText {
            what: "idempotency key",
            reason: format!("use 1 to {MAX_IDEMPOTENCY_KEY} bytes without control characters"),
        })
    } else {
        Ok(v.to_owned())
    }
}

fn check_text(
    what: &'static str,
    value: &str,
    max: usize,
    lines: Lines,
) -> Result<String, ChannelError> {
    crate::text::checked(value, max, lines)
        .map_err(|reason| ChannelError::InvalidText { what, reason })
}

#[cfg(test)]
mod tests;
