//! Delivering events to plugins, at least once (contract 1.1). Every [`POLL`] the daemon:
//! 1. fans host events out to the plugins that asked for them and hold what they need
//!    ([`crate::store::Store::host_events_fan_out`]);
//! 2. schedules each enabled plugin's daily ticks that came due (the latest one only, and none
//!    due before the plugin's version was installed; the tick's id makes scheduling twice, by
//!    two daemons or after a restart, deliver once);
//! 3. claims due deliveries under a lease and calls each plugin's `on-event`; when it returns
//!    `ok`, what the call did is committed with the delivery finished as done, in one
//!    transaction. A delivery to a plugin that is not loaded (disabled) waits, costing no
//!    attempt. A failed call is tried again later, after a pause that doubles each time;
//!    after `[plugins] event_attempts` the event is given up and audited (`plugin.event`). A
//!    daemon killed mid-call leaves its lease to expire, and the event is delivered again.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::PluginHost;
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::store::{ClaimedEvent, EventPayload};

/// How often deliveries are looked for.
pub const POLL: Duration = Duration::from_secs(1);

/// How much longer than a call may take a delivery's lease lasts: time to commit. A worker that
/// dies holding it leaves the event to be delivered again once it ends.
const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// Deliveries claimed at once.
const CLAIM: u32 = 16;

/// How long a delivery to a plugin that is not loaded waits before it is looked at again (the
/// wait costs it no attempt).
const NOT_LOADED_PAUSE: Duration = Duration::from_secs(10);

/// The pause after a first failed attempt; doubled after each, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(5);
const MAX_PAUSE: Duration = Duration::from_secs(3600);

/// The pause before attempt `attempts + 1`.
fn pause_after(attempts: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_PAUSE)
}

/// Delivers events until `shutdown`; `owner` names this process's leases.
pub async fn run(host: PluginHost, owner: String, shutdown: CancellationToken) {
    let owner = format!("{owner}/events");
    let mut scheduled = HashSet::new();
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = round(&host, &owner, &mut scheduled).await {
            tracing::warn!(error = %e, "event delivery round failed; retrying");
        }
    }
}

/// One round: fan out, schedule ticks, deliver what is due (the calls side by side, so that a
/// slow plugin holds up no other). Returns how many deliveries ended.
pub async fn round(
    host: &PluginHost,
    owner: &str,
    scheduled: &mut HashSet<String>,
) -> Result<usize, crate::store::StoreError> {
    let store = host.store().clone();
    let now = crate::clock::now_ms();
    let subscribers = |kind| host.subscribers(kind);
    while store.host_events_fan_out(&subscribers, now).await? > 0 {}
    schedule_ticks(host, scheduled, now).await?;
    let lease = host.settings().limits.wall + LEASE_MARGIN;
    let mut calls = tokio::task::JoinSet::new();
    for event in store.plugin_events_claim(owner, CLAIM, lease, now).await? {
        let (host, owner) = (host.clone(), owner.to_owned());
        calls.spawn_blocking(move || {
            let delivered = host.deliver_blocking(&event, &owner);
            (event, delivered)
        });
    }
    let mut ended = 0;
    while let Some(joined) = calls.join_next().await {
        let (event, delivered) = match joined {
            Ok(done) => done,
            Err(e) => {
                // Its lease ends, and the event is delivered again.
                tracing::error!(error = %e, "an event delivery task failed");
                continue;
            }
        };
        match delivered {
            Ok(messages) => {
                ended += 1;
                tracing::info!(plugin = %event.plugin, event = %event.key, attempt = event.attempts, messages, "event delivered");
            }
            Err(super::InvocationError::NotLoaded(plugin)) => {
                // Not an attempt: the plugin is disabled, or this daemon has not loaded it yet.
                let due = crate::clock::now_ms().saturating_add(duration_ms(NOT_LOADED_PAUSE));
                let why = format!("plugin {plugin} is not loaded; waiting for it to be enabled");
                store
                    .plugin_event_retry(event.id, owner, &why, due, false)
                    .await?;
            }
            Err(e @ super::InvocationError::EventNotGranted { .. }) => {
                // Not delivered, ever: given up at once (audited).
                give_up(host, &event, owner, &e.to_string()).await?;
                ended += 1;
            }
            Err(e) => {
                if settle_failure(host, &event, owner, &e.to_string()).await? {
                    ended += 1;
                }
            }
        }
    }
    Ok(ended)
}

/// Schedules the ticks that came due since the plugin's version was installed (once per
/// daemon; the store keeps it once across daemons and restarts).
async fn schedule_ticks(
    host: &PluginHost,
    scheduled: &mut HashSet<String>,
    now_ms: i64,
) -> Result<(), crate::store::StoreError> {
    let zone = host.settings().events.time_zone;
    let Some(now) = chrono::DateTime::from_timestamp_millis(now_ms) else {
        return Ok(());
    };
    for (plugin, schedule, installed_at) in host.schedules() {
        let Some(due) = schedule.last_due(zone, now) else {
            continue;
        };
        let due_ms = due.timestamp_millis();
        if due_ms < installed_at {
            continue;
        }
        let key = schedule.tick_key(due_ms);
        if scheduled.len() > 10_000 {
            // Only a shortcut: the store delivers a tick once whatever this remembers.
            scheduled.clear();
        }
        if !scheduled.insert(format!("{plugin}\u{0}{key}")) {
            continue;
        }
        let payload = EventPayload::Tick {
            schedule: schedule.name.clone(),
            due_at: due_ms,
        };
        if host
            .store()
            .plugin_event_schedule(&plugin, &key, &payload, due_ms, due_ms, None)
            .await?
        {
            tracing::info!(%plugin, schedule = %schedule.name, due_ms, "tick scheduled");
        }
    }
    Ok(())
}

/// A failed attempt: tried again later, or given up (audited) after the last attempt.
/// Whether the delivery ended.
async fn settle_failure(
    host: &PluginHost,
    event: &ClaimedEvent,
    owner: &str,
    error: &str,
) -> Result<bool, crate::store::StoreError> {
    let store = host.store();
    let attempts = host.settings().events.attempts;
    let now = crate::clock::now_ms();
    if event.attempts >= attempts {
        give_up(host, event, owner, error).await?;
        return Ok(true);
    }
    let pause = pause_after(event.attempts);
    let due = now.saturating_add(duration_ms(pause));
    store
        .plugin_event_retry(event.id, owner, error, due, true)
        .await?;
    tracing::warn!(plugin = %event.plugin, event = %event.key, attempt = event.attempts, retry_in_s = pause.as_secs(), %error, "event not handled; it will be delivered again");
    Ok(false)
}

/// Gives a delivery up as failed, with its audit row (`plugin.event`).
async fn give_up(
    host: &PluginHost,
    event: &ClaimedEvent,
    owner: &str,
    error: &str,
) -> Result<(), crate::store::StoreError> {
    let audit = AuditEntry::new(
        AuditComponent::Plugins,
        AuditEvent::PluginEvent,
        AuditOutcome::Error,
    )
    .with_actor(format!("plugin:{}", event.plugin))
    .with_object(event.key.clone())
    .with_details(json!({
        "plugin": event.plugin,
        "attempts": event.attempts,
        "error": error,
    }));
    host.store()
        .plugin_event_fail(event.id, owner, error, &audit, crate::clock::now_ms())
        .await?;
    tracing::error!(plugin = %event.plugin, event = %event.key, attempts = event.attempts, %error, "event given up");
    Ok(())
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_between_attempts_doubles_up_to_an_hour() {
        assert_eq!(pause_after(1), Duration::from_secs(5));
        assert_eq!(pause_after(2), Duration::from_secs(10));
        assert_eq!(pause_after(4), Duration::from_secs(40));
        assert_eq!(pause_after(30), MAX_PAUSE);
    }
}
