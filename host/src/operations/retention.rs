//! Retention runs (issue 18 item 12): the daemon's hourly task ([`run_periodically`], first a
//! minute after start) and `jingxun retention run`, each deleting what `[retention]` keeps no
//! longer ([`Store::run_retention`], where what goes and when is described) and recording a run
//! that deleted anything in the audit log (`retention.run`, with the counts and the limits:
//! [`run_audited`]).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::audit::{AuditComponent, AuditError, AuditEvent, AuditLog, ChangeAuthor};
use crate::store::Store;
use crate::store::retention::{RetentionPolicy, RetentionReport};

/// How often the daemon runs retention.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// How long after the daemon's start retention first runs: soon, so that a daemon restarted
/// more often than hourly still runs it, but not amid the start's own work.
pub const FIRST_RUN: Duration = Duration::from_secs(60);

/// Runs retention once as `author` and, when anything was deleted, records it in the audit
/// log (`retention.run`, with the counts and the limits: deleting police messages is an act to
/// account for). An empty run leaves no row, so the hourly task does not fill the log.
pub async fn run_audited(
    store: &Store,
    policy: &RetentionPolicy,
    now_ms: i64,
    author: &ChangeAuthor,
) -> Result<RetentionReport, AuditError> {
    let report = store.run_retention(policy, now_ms).await?;
    if !report.is_empty() {
        let days = |limit: Option<Duration>| limit.map(|d| d.as_secs() / 86_400);
        let entry = author
            .entry(
                AuditComponent::Retention,
                AuditEvent::RetentionRun,
                "messages",
            )
            .with_details(serde_json::json!({
                "deleted": report,
                "messages_days": days(policy.messages),
                "idempotency_days": days(policy.idempotency),
                "webhook_deliveries_days": days(policy.webhook_deliveries),
                "event_deliveries_days": days(policy.event_deliveries),
            }));
        AuditLog::new(store.clone()).append(entry).await?;
    }
    Ok(report)
}

/// The daemon's retention task: a run [`FIRST_RUN`] after start, then every [`INTERVAL`],
/// until `shutdown`. A failed run is logged and tried again at the next hour.
pub async fn run_periodically(store: Store, policy: RetentionPolicy, shutdown: CancellationToken) {
    let author = ChangeAuthor::daemon();
    let start = tokio::time::Instant::now() + FIRST_RUN;
    let mut every = tokio::time::interval_at(start, INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let run = run_audited(&store, &policy, crate::clock::now_ms(), &author);
        // Stopping the daemon cancels a run between two batches; what was committed stays.
        let report = tokio::select! {
            _ = shutdown.cancelled() => return,
            report = run => report,
        };
        match report {
            Ok(report) if report.is_empty() => tracing::debug!("retention: nothing to delete"),
            Ok(report) => tracing::info!(?report, "retention deleted what is kept no longer"),
            Err(e) => tracing::warn!(error = %e, "retention failed; it runs again in an hour"),
        }
    }
}

#[cfg(test)]
mod tests;
