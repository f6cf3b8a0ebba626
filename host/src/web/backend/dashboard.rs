//! The dashboard's figures: modem status from the drivers, queue depths and traffic from the
//! store, the plugin commands the router answers.

use jingxun_web::model::Outcome;
use jingxun_web::model::dashboard::{
    CHART_MINUTES, Dashboard, MinuteCount, ModemRow, PluginLoaded, Today,
};
use jingxun_web::ssr::BoxFuture;
use jingxun_web::ssr::backend::DashboardBackend;

use super::{HostBackend, unavailable};
use crate::clock::now_ms;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// China Standard Time, for "today".
const CST_OFFSET_MS: i64 = 8 * 3_600_000;

/// The last midnight in China Standard Time before `now_ms`.
pub(super) fn midnight_cst(now_ms: i64) -> i64 {
    (now_ms + CST_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - CST_OFFSET_MS
}

/// [`CHART_MINUTES`] minutes ending with the minute of `now_ms`, filled from the store's
/// `(minute, in, out)` rows.
fn chart(now_ms: i64, rows: &[(i64, u64, u64)]) -> Vec<MinuteCount> {
    let last = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let first = last - (CHART_MINUTES as i64 - 1) * MINUTE_MS;
    let mut minutes: Vec<MinuteCount> = (0..CHART_MINUTES as i64)
        .map(|i| MinuteCount {
            minute_ms: first + i * MINUTE_MS,
            ..MinuteCount::default()
        })
        .collect();
    for (minute, inbound, outbound) in rows {
        let index = (minute - first).div_euclid(MINUTE_MS);
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| minutes.get_mut(i)) {
            slot.inbound += inbound;
            slot.outbound += outbound;
        }
    }
    minutes
}

impl DashboardBackend for HostBackend {
    fn dashboard(&self) -> BoxFuture<'_, Outcome<Dashboard>> {
        Box::pin(async move {
            let state = self.state();
            let now = now_ms();
            let store = &state.store;
            let depths = store
                .queue_depths()
                .await
                .map_err(|e| unavailable("reading queue depths", &e))?;
            let today = store
                .traffic_since(midnight_cst(now))
                .await
                .map_err(|e| unavailable("reading today's traffic", &e))?;
            let since =
                now.div_euclid(MINUTE_MS) * MINUTE_MS - (CHART_MINUTES as i64 - 1) * MINUTE_MS;
            let rows = store
                .traffic_per_minute(since)
                .await
                .map_err(|e| unavailable("reading traffic per minute", &e))?;
            let modems = state
                .modems
                .iter()
                .map(|m| {
                    let s = m.status();
                    ModemRow {
                        name: s.name,
                        state: s.state.as_str().to_owned(),
                        signal: s.signal,
                        registered: s.registered,
                        service_number: s.service_number,
                        last_error: s.last_error,
                        parts_sent: s.parts_sent,
                        parts_failed: s.parts_failed,
                        parts_received: s.parts_received,
                        reconnects: s.reconnects,
                        max_parts_per_minute: s.max_parts_per_minute,
                    }
                })
                .collect();
            let mut plugins: Vec<PluginLoaded> = state
                .plugins
                .commands()
                .into_iter()
                .map(|c| PluginLoaded {
                    keyword: c.keyword,
                    plugin: c.plugin,
                    version: c.version,
                })
                .collect();
            plugins.sort_by(|a, b| a.keyword.cmp(&b.keyword));
            Ok(Dashboard {
                modems,
                queue: vec![
                    ("queued".into(), depths.queued),
                    ("sending".into(), depths.sending),
                    ("sent".into(), depths.sent),
                    ("delivered".into(), depths.delivered),
                    ("failed".into(), depths.failed),
                    ("expired".into(), depths.expired),
                ],
                today: Today {
                    inbound: today.inbound,
                    outbound: today.outbound,
                    failed: today.failed,
                },
                plugins,
                per_minute: chart(now, &rows),
                at_ms: now,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_starts_at_midnight_in_beijing() {
        // 2026-12-01 15:30 UTC is 23:30 in Beijing; its day began at 2026-11-30 16:00 UTC.
        let now = 1_796_139_000_000;
        assert_eq!(midnight_cst(now), 1_796_054_400_000);
        // 16:30 UTC is already the next day there.
        assert_eq!(midnight_cst(now + 3_600_000), 1_796_140_800_000);
    }

    #[test]
    fn the_chart_has_every_minute_and_places_the_counts() {
        let now = 1_796_139_000_000 + 12_345;
        let last = 1_796_139_000_000;
        let rows = [
            (last, 2, 3),
            (last - 60_000, 1, 0),
            (last - 500 * 60_000, 9, 9),
        ];
        let c = chart(now, &rows);
        assert_eq!(c.len(), CHART_MINUTES);
        assert_eq!(
            c.last().map(|m| (m.minute_ms, m.inbound, m.outbound)),
            Some((last, 2, 3))
        );
        assert_eq!(c[CHART_MINUTES - 2].inbound, 1);
        assert_eq!(
            c.iter().map(|m| m.inbound).sum::<u64>(),
            3,
            "older rows are left out"
        );
    }
}
