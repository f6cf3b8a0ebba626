//! Host events for plugins (contract 1.1): what a plugin may ask for, its daily schedules and
//! when their ticks are due, and an event as the plugin sees it. Delivery itself (fan-out,
//! ticks, leases, retries) is [`super::delivery`]; the rows are the store's
//! ([`crate::store::EventPayload`]).

use chrono::{DateTime, Duration as Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::PluginError;
use super::contract::v1_1::jingxun::plugin::{citizen, events as wit};
use super::manifest::Capability;
use crate::citizen::{ApplicationKind, ApplicationStatus};
use crate::store::{EventKind, EventPayload};

/// A daily schedule of a plugin: a tick at `daily_at`, local time of the platform's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// 1-32 lower-case ASCII letters, digits or '-'.
    pub name: String,
    /// `HH:MM`, 24-hour.
    pub daily_at: String,
}

impl Schedule {
    /// Checks the name and the time; the error says what is wrong.
    pub fn validate(&self) -> Result<(), PluginError> {
        let name_ok = (1..=32).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(PluginError::InvalidManifest(format!(
                "schedule name `{}` must be 1-32 lower-case ASCII letters, digits or '-'",
                self.name
            )));
        }
        self.time().map(drop)
    }

    /// The time of day.
    pub fn time(&self) -> Result<NaiveTime, PluginError> {
        NaiveTime::parse_from_str(&self.daily_at, "%H:%M").map_err(|_| {
            PluginError::InvalidManifest(format!(
                "schedule `{}`: daily-at `{}` must be a time of day HH:MM, e.g. \"18:00\"",
                self.name, self.daily_at
            ))
        })
    }

    /// The most recent moment at or before `now` when this schedule was due in `zone` (within
    /// the last day); `None` when the time does not exist on either day (a DST gap).
    pub fn last_due(&self, zone: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let time = self.time().ok()?;
        let today = now.with_timezone(&zone).date_naive();
        [today, today - Days::days(1)]
            .into_iter()
            .filter_map(|day| zone.from_local_datetime(&day.and_time(time)).earliest())
            .map(|t| t.with_timezone(&Utc))
            .find(|t| *t <= now)
    }

    /// The event id of its tick due at `due_ms`.
    pub fn tick_key(&self, due_ms: i64) -> String {
        format!("tick:{}:{due_ms}", self.name)
    }
}

/// The capability a plugin needs to receive events of `kind` (ticks need none).
pub fn needed_capability(kind: EventKind) -> Option<Capability> {
    match kind {
        EventKind::Tick => None,
        EventKind::ApplicationChanged => Some(Capability::Citizen),
    }
}

/// The event names a description may list: every kind but `tick`.
pub fn subscribable() -> impl Iterator<Item = EventKind> {
    EventKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != EventKind::Tick)
}

/// The event `payload` as the plugin sees it.
pub fn to_wit(key: &str, attempt: u32, occurred_at: i64, payload: &EventPayload) -> wit::Event {
    let payload = match payload {
        EventPayload::Tick { schedule, due_at } => wit::Payload::Tick(wit::Tick {
            schedule: schedule.clone(),
            due_at: *due_at,
        }),
        EventPayload::ApplicationChanged {
            application_kind,
            number,
            status,
            updated_at,
        } => wit::Payload::ApplicationChanged(wit::ApplicationChanged {
            kind: match ApplicationKind::from_name(application_kind) {
                Some(ApplicationKind::ExitEntry) => citizen::ApplicationKind::ExitEntry,
                Some(ApplicationKind::IdCard) => citizen::ApplicationKind::IdCard,
                // The store's CHECK keeps the kinds to these three.
                _ => citizen::ApplicationKind::Passport,
            },
            number: number.clone(),
            status: ApplicationStatus::from_name(status)
                .map_or_else(|| status.clone(), |s| s.label().to_owned()),
            updated_at: *updated_at,
        }),
    };
    wit::Event {
        id: key.to_owned(),
        attempt,
        occurred_at,
        payload,
    }
}

/// A 1.1 schedule as the host keeps it.
pub fn schedule_from_wit(s: wit::Schedule) -> Schedule {
    Schedule {
        name: s.name,
        daily_at: s.daily_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn evening() -> Schedule {
        Schedule {
            name: "evening".into(),
            daily_at: "18:00".into(),
        }
    }

    #[test]
    fn a_daily_tick_is_due_at_its_local_time_today_or_else_yesterday() {
        let shanghai = chrono_tz::Asia::Shanghai;
        // 18:00 in Shanghai is 10:00 UTC.
        assert_eq!(
            evening().last_due(shanghai, at("2026-12-07T10:00:00Z")),
            Some(at("2026-12-07T10:00:00Z"))
        );
        assert_eq!(
            evening().last_due(shanghai, at("2026-12-07T09:59:59Z")),
            Some(at("2026-12-06T10:00:00Z"))
        );
        assert_eq!(
            evening().last_due(chrono_tz::UTC, at("2026-12-07T09:59:59Z")),
            Some(at("2026-12-06T18:00:00Z"))
        );
    }

    #[test]
    fn a_time_that_does_not_exist_locally_is_skipped_that_day() {
        // 02:30 does not exist in Berlin on 2026-03-29 (clocks go from 02:00 to 03:00).
        let s = Schedule {
            name: "night".into(),
            daily_at: "02:30".into(),
        };
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            s.last_due(berlin, at("2026-03-29T12:00:00Z")),
            Some(at("2026-03-28T01:30:00Z")),
            "the gap day falls back to the day before"
        );
    }

    #[test]
    fn schedules_with_bad_names_or_times_are_refused_with_what_to_write() {
        for (name, time) in [
            ("Evening", "18:00"),
            ("", "18:00"),
            ("e", "6pm"),
            ("e", "24:00"),
        ] {
            let e = Schedule {
                name: name.into(),
                daily_at: time.into(),
            }
            .validate()
            .unwrap_err()
            .to_string();
            assert!(e.contains("schedule"), "{e}");
        }
        assert!(evening().validate().is_ok());
        assert_eq!(evening().tick_key(1), "tick:evening:1");
    }

    #[test]
    fn only_the_citizens_events_need_the_citizen_capability() {
        assert_eq!(needed_capability(EventKind::Tick), None);
        assert_eq!(
            needed_capability(EventKind::ApplicationChanged),
            Some(Capability::Citizen)
        );
        assert!(subscribable().all(|k| k != EventKind::Tick));
    }
}
