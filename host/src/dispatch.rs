//! The outbound dispatcher: claims due messages from the store and spreads them over the ready
//! modems (R20), then settles each message from its modem's report: sent, retried later with
//! exponential backoff, or failed for good with the reason visible (a dead letter).
//!
//! Work is claimed under a lease only as fast as modems have room for it, so that a crash leaves
//! at most the in-flight messages to be taken over when their lease runs out, and every part the
//! modem had confirmed is already recorded and is not sent again.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::config::QueueConfig;
use crate::modem::driver::{ModemHandle, SendFailure, SendJob, SendReport};
use crate::sms::{self, Address, SubmitOptions};
use crate::store::{ClaimedMessage, Store};

/// How long a message that no ready modem could take waits before it is looked at again.
const RELEASE_PAUSE: Duration = Duration::from_secs(5);

/// How often incomplete long inbound messages are checked for timing out.
const PARTIAL_SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// The dispatcher's settings, from `[queue]`.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// This process's lease owner name (unique per running daemon).
    pub owner: String,
    /// The `[queue]` section.
    pub queue: QueueConfig,
}

/// Lets other parts of the daemon wake the dispatcher as soon as they queue messages.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    /// Asks the dispatcher to look for work now.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// Runs until `shutdown` is cancelled, then waits for the messages handed to modems to settle.
pub async fn run(
    store: Store,
    modems: Vec<ModemHandle>,
    settings: DispatchSettings,
    wake: Wake,
    shutdown: CancellationToken,
) {
    let mut dispatcher = Dispatcher {
        store,
        modems,
        settings,
        in_flight: JoinSet::new(),
        next_modem: 0,
    };
    dispatcher.run(wake, shutdown).await;
}

struct Dispatcher {
    store: Store,
    modems: Vec<ModemHandle>,
    settings: DispatchSettings,
    in_flight: JoinSet<(
        ClaimedMessage,
        Result<SendReport, oneshot::error::RecvError>,
    )>,
    next_modem: usize,
}

impl Dispatcher {
    async fn run(&mut self, wake: Wake, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.settings.queue.poll_interval_ms);
        let mut partial_sweep = tokio::time::interval(PARTIAL_SWEEP_INTERVAL);
        let mut more_waiting = false;
        loop {
            if !more_waiting {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = wake.0.notified() => {}
                    _ = sleep(poll) => {}
                    Some(done) = self.in_flight.join_next() => {
                        if let Ok((message, report)) = done { self.settle(message, report).await; }
                    }
                    _ = partial_sweep.tick() => self.flush_partials().await,
                }
            }
            while let Some(Some(Ok((message, report)))) = self.in_flight.join_next().now_or_never()
            {
                self.settle(message, report).await;
            }
            more_waiting = self.dispatch_due().await;
        }
        // Drain: the modems send what they hold, then report back.
        while let Some(done) = self.in_flight.join_next().await {
            if let Ok((message, report)) = done {
                self.settle(message, report).await;
            }
        }
    }

    /// Claims as many due messages as the modems have room for and hands them out. Returns
    /// whether more may be waiting (every free slot was filled).
    async fn dispatch_due(&mut self) -> bool {
        let free: usize = self.modems.iter().map(ModemHandle::free_slots).sum();
        if free == 0 {
            return false;
        }
        let lease = Duration::from_secs(self.settings.queue.lease_seconds);
        let claimed = match self
            .store
            .claim_outbound(&self.settings.owner, free as u32, lease, now_ms())
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim outbound messages; will retry");
                return false;
            }
        };
        let filled = claimed.len() == free;
        for message in claimed {
            self.assign(message).await;
        }
        filled
    }

    async fn assign(&mut self, message: ClaimedMessage) {
        let parts = match self.encode(&message) {
            Ok(parts) => parts,
            Err(reason) => {
                self.fail(&message, &reason).await;
                return;
            }
        };
        if parts.is_empty() {
            // Every part was sent before the previous holder died.
            self.settle_sent(&message).await;
            return;
        }
        let Some(modem) = self.choose_modem(&message) else {
            // Not an attempt: the message waits for a modem without using up its attempts.
            let reason = match &message.service_number {
                Some(n) => format!("waiting for a ready modem with service number {n}"),
                None => "waiting for a ready modem".to_string(),
            };
            self.release(&message, &reason).await;
            return;
        };
        let (reply, report) = oneshot::channel();
        let job = SendJob {
            message_id: message.id,
            parts,
            reply,
        };
        match self.modems[modem].try_submit(job) {
            Ok(()) => {
                tracing::debug!(message = message.id, modem = %self.modems[modem].name, "handed to modem");
                self.in_flight.spawn(async move { (message, report.await) });
            }
            Err(_) => self.release(&message, "the chosen modem became busy").await,
        }
    }

    /// The SMS-SUBMIT parts still to send for `message`.
    fn encode(&self, message: &ClaimedMessage) -> Result<Vec<sms::SubmitPart>, String> {
        let to = Address::parse(&message.peer)
            .map_err(|e| format!("invalid recipient {}: {e}", message.peer))?;
        let options = SubmitOptions {
            status_report: message.status_report,
            wide_reference: self.settings.queue.wide_concat_reference,
            ..SubmitOptions::default()
        };
        let parts = sms::encode_submit(&to, &message.text, message.concat_reference, &options)
            .map_err(|e| format!("cannot encode the text: {e}"))?;
        Ok(parts
            .into_iter()
            .filter(|p| !message.is_part_sent(p.seq))
            .collect())
    }

    /// The ready modem with the most room, restricted to the message's service number and, when
    /// earlier parts went out already, to the modem that sent them (the handset joins parts by
    /// sender). Ties rotate so that load spreads evenly.
    fn choose_modem(&mut self, message: &ClaimedMessage) -> Option<usize> {
        let earlier = message.sent_parts.first().and_then(|p| p.modem.as_deref());
        let count = self.modems.len();
        let mut best: Option<(usize, usize)> = None;
        for offset in 0..count {
            let i = (self.next_modem + offset) % count;
            let modem = &self.modems[i];
            let free = modem.free_slots();
            let eligible = free > 0
                && earlier.is_none_or(|name| name == modem.name)
                && message
                    .service_number
                    .as_ref()
                    .is_none_or(|n| modem.service_number.as_ref() == Some(n));
            if eligible && best.is_none_or(|(_, f)| free > f) {
                best = Some((i, free));
            }
        }
        let (chosen, _) = best?;
        self.next_modem = (chosen + 1) % count;
        Some(chosen)
    }

    async fn settle(
        &mut self,
        message: ClaimedMessage,
        report: Result<SendReport, oneshot::error::RecvError>,
    ) {
        match report {
            Ok(SendReport {
                outcome: Ok(()), ..
            }) => self.settle_sent(&message).await,
            Ok(SendReport {
                outcome: Err(SendFailure::Permanent(reason)),
                ..
            }) => self.fail(&message, &reason).await,
            Ok(SendReport {
                outcome: Err(SendFailure::Temporary(reason)),
                ..
            }) => {
                let delay = retry_delay(&self.settings.queue, message.attempts);
                self.retry(&message, &reason, delay).await;
            }
            Err(_) => {
                self.retry(
                    &message,
                    "the modem stopped before reporting",
                    Duration::ZERO,
                )
                .await
            }
        }
    }

    /// Hands a claimed message back without counting an attempt. It is due again after a
    /// pause, so that messages no modem can take now do not crowd out those that others can.
    async fn release(&self, message: &ClaimedMessage, reason: &str) {
        let now = now_ms();
        let pause = RELEASE_PAUSE.max(Duration::from_millis(self.settings.queue.poll_interval_ms));
        let next = now + i64::try_from(pause.as_millis()).unwrap_or(i64::MAX / 2);
        if let Err(e) = self
            .store
            .release_claim(message.id, &self.settings.owner, reason, next, now)
            .await
        {
            tracing::error!(message = message.id, error = %e, "cannot hand a message back; its lease will expire instead");
        }
    }

    async fn settle_sent(&self, message: &ClaimedMessage) {
        if let Err(e) = self
            .store
            .mark_sent(message.id, &self.settings.owner, now_ms())
            .await
        {
            tracing::error!(message = message.id, error = %e, "cannot mark sent; the lease will expire and unsent parts be retried");
        }
    }

    async fn fail(&self, message: &ClaimedMessage, reason: &str) {
        tracing::warn!(message = message.id, %reason, "message failed for good");
        if let Err(e) = self
            .store
            .mark_failed(message.id, &self.settings.owner, reason, now_ms())
            .await
        {
            tracing::error!(message = message.id, error = %e, "cannot mark failed");
        }
    }

    async fn retry(&self, message: &ClaimedMessage, reason: &str, delay: Duration) {
        let now = now_ms();
        let next = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        tracing::info!(message = message.id, %reason, retry_in = ?delay, "message will be retried");
        if let Err(e) = self
            .store
            .mark_retry(message.id, &self.settings.owner, reason, next, now)
            .await
        {
            tracing::error!(message = message.id, error = %e, "cannot schedule a retry; the lease will expire instead");
        }
    }

    async fn flush_partials(&self) {
        let now = now_ms();
        let older_than = now - (self.settings.queue.partial_timeout_seconds as i64) * 1000;
        match self.store.flush_stale_partials(older_than, now).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::warn!(messages = ?ids, "stored incomplete long messages as partial")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot flush stale partial messages"),
        }
    }
}

/// The delay before retry number `attempts`: `retry_base_seconds * 2^(attempts-1)`, capped at
/// `retry_max_seconds`.
pub fn retry_delay(queue: &QueueConfig, attempts: u32) -> Duration {
    let factor = 1u64 << attempts.saturating_sub(1).min(20);
    Duration::from_secs(
        queue
            .retry_base_seconds
            .saturating_mul(factor)
            .min(queue.retry_max_seconds),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let queue = QueueConfig {
            retry_base_seconds: 30,
            retry_max_seconds: 3600,
            ..QueueConfig::default()
        };
        assert_eq!(retry_delay(&queue, 1), Duration::from_secs(30));
        assert_eq!(retry_delay(&queue, 2), Duration::from_secs(60));
        assert_eq!(retry_delay(&queue, 4), Duration::from_secs(240));
        assert_eq!(retry_delay(&queue, 40), Duration::from_secs(3600));
    }
}
