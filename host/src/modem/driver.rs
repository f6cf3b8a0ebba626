//! The serial modem driver: one task per configured modem that owns its port.
//!
//! It opens the port (reopening with backoff when it vanishes), initialises the modem (echo off,
//! numeric errors, PDU mode, new-message and status-report indications), collects messages left
//! on the SIM, stores every incoming part and deletes it from the SIM only once the store has
//! committed it, sends the jobs the dispatcher gives it part by part with `AT+CMGS` (recording
//! each part's message reference as soon as the modem answers), applies delivery reports, and
//! polls signal and registration. A reboot notice (`RDY`) re-initialises; a port that closes or a
//! modem that stops answering is reopened. Nothing here loses a message: an incoming part stays on
//! the SIM until stored, and an outgoing part not confirmed by `+CMGS` is retried (R1, R20).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior, sleep, sleep_until};
use tokio_serial::SerialPortBuilderExt;
use tokio_util::sync::CancellationToken;

use super::at::{StoredHeader, Urc, parse_stored_header};
use super::session::{CommandError, Session};
use super::status::{LinkState, ModemStatus};
use crate::clock::now_ms;
use crate::config::ModemConfig;
use crate::inbox_signal::NewInbound;
use crate::phone::PhoneNumber;
use crate::sms::{self, Incoming, SubmitPart};
use crate::store::{InboundOutcome, MessageId, NewInboundPart, PeerKind, Store};

/// Consecutive unanswered commands after which the modem is taken for hung and reopened.
const HUNG_AFTER_TIMEOUTS: u32 = 2;
/// Longest wait between attempts to reopen a port.
const MAX_REOPEN_BACKOFF: Duration = Duration::from_secs(30);
/// Jobs a modem holds beyond the one it is sending, so the line never idles between messages.
pub const JOB_QUEUE_DEPTH: usize = 2;

/// The parts of one message for one modem to send.
#[derive(Debug)]
pub struct SendJob {
    /// The stored message.
    pub message_id: MessageId,
    /// The parts still to send (a retry leaves out those already sent), in order.
    pub parts: Vec<SubmitPart>,
    /// Where the driver reports the outcome.
    pub reply: oneshot::Sender<SendReport>,
}

/// What became of a [`SendJob`].
#[derive(Debug)]
pub struct SendReport {
    /// How many of the job's parts the modem accepted and the store recorded.
    pub parts_sent: usize,
    /// `Ok` when every part was accepted.
    pub outcome: Result<(), SendFailure>,
}

/// Why a job's parts were not all sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Sending the same PDU again cannot succeed (e.g. the network rejected the destination).
    Permanent(String),
    /// Worth another attempt later, maybe through another modem.
    Temporary(String),
}

/// Settings the driver needs besides the modem's own configuration.
#[derive(Debug, Clone)]
pub struct DriverSettings {
    /// Country code for normalising national sender numbers.
    pub default_country_code: String,
    /// Told each time a stored part completes an inbound message, to wake the router.
    pub new_inbound: NewInbound,
}

/// The dispatcher's and the health endpoint's handle on a running modem task.
#[derive(Clone)]
pub struct ModemHandle {
    /// The configured name.
    pub name: String,
    /// The configured service number.
    pub service_number: Option<String>,
    jobs: mpsc::Sender<SendJob>,
    status: watch::Receiver<ModemStatus>,
}

impl ModemHandle {
    /// The latest status snapshot.
    pub fn status(&self) -> ModemStatus {
        self.status.borrow().clone()
    }

    /// A receiver that changes whenever the status does.
    pub fn watch_status(&self) -> watch::Receiver<ModemStatus> {
        self.status.clone()
    }

    /// Hands a job over if the modem is ready and has room; gives it back otherwise.
    pub fn try_submit(&self, job: SendJob) -> Result<(), SendJob> {
        if !self.status.borrow().is_ready() {
            return Err(job);
        }
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job) => job,
        })
    }

    /// Room left in the job queue (0 when not ready).
    pub fn free_slots(&self) -> usize {
        if self.status.borrow().is_ready() {
            self.jobs.capacity()
        } else {
            0
        }
    }
}

/// Starts the driver task for `config`, opening `device` (the configured port, or the
/// pseudo-terminal of a built-in simulator). The task ends after `shutdown` is cancelled and the
/// jobs it holds are sent.
pub fn spawn(
    config: ModemConfig,
    device: String,
    settings: DriverSettings,
    store: Store,
    shutdown: CancellationToken,
) -> (ModemHandle, tokio::task::JoinHandle<()>) {
    let (jobs_tx, jobs_rx) = mpsc::channel(JOB_QUEUE_DEPTH);
    let status = ModemStatus::new(
        &config.name,
        &device,
        config.service_number.clone(),
        config.max_parts_per_minute,
    );
    let (status_tx, status_rx) = watch::channel(status);
    let name = config.name.clone();
    let service_number = config.service_number.clone();
    let driver = Driver {
        pacing: config
            .max_parts_per_minute
            .map(|n| Duration::from_secs(60) / n.max(1)),
        config,
        device,
        settings,
        store,
        shutdown,
        jobs: jobs_rx,
        status: status_tx,
        next_send_at: Instant::now(),
        timeouts_in_a_row: 0,
    };
    let task = tokio::spawn(driver.run());
    (
        ModemHandle {
            name,
            service_number,
            jobs: jobs_tx,
            status: status_rx,
        },
        task,
    )
}

/// How a session with an open port ended.
enum SessionEnd {
    Shutdown,
    Reopen(String),
}

struct Driver {
    config: ModemConfig,
    device: String,
    settings: DriverSettings,
    store: Store,
    shutdown: CancellationToken,
    jobs: mpsc::Receiver<SendJob>,
    status: watch::Sender<ModemStatus>,
    pacing: Option<Duration>,
    next_send_at: Instant,
    timeouts_in_a_row: u32,
}

impl Driver {
    async fn run(mut self) {
        let mut backoff = Duration::from_millis(200);
        let mut first = true;
        loop {
            if self.shutdown.is_cancelled() {
                break;
            }
            self.set_state(LinkState::Connecting, None);
            let port = tokio_serial::new(&self.device, self.config.baud).open_native_async();
            let reason = match port {
                Ok(port) => {
                    if !first {
                        self.status.send_modify(|s| s.reconnects += 1);
                    }
                    first = false;
                    backoff = Duration::from_millis(200);
                    match self.serve(Session::new(port)).await {
                        SessionEnd::Shutdown => break,
                        SessionEnd::Reopen(reason) => reason,
                    }
                }
                Err(e) => format!("cannot open {}: {e}", self.device),
            };
            tracing::warn!(modem = %self.config.name, %reason, retry_in = ?backoff, "modem link down");
            self.set_state(LinkState::Down, Some(reason));
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_REOPEN_BACKOFF);
        }
        self.fail_waiting_jobs("the daemon is shutting down");
        self.set_state(LinkState::Stopped, None);
    }

    /// Runs one open port until it fails or the daemon stops; re-initialises after reboots.
    async fn serve<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        mut session: Session<T>,
    ) -> SessionEnd {
        loop {
            self.set_state(LinkState::Initialising, None);
            let outcome = match self.initialise(&mut session).await {
                Ok(()) => {
                    self.set_state(LinkState::Ready, None);
                    tracing::info!(modem = %self.config.name, device = %self.device, "modem ready");
                    self.work(&mut session).await
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => return SessionEnd::Shutdown,
                Err(CommandError::Rebooted { .. }) => {
                    tracing::warn!(modem = %self.config.name, "modem restarted; re-initialising");
                    self.status.send_modify(|s| s.reconnects += 1);
                }
                Err(e) => return SessionEnd::Reopen(e.to_string()),
            }
        }
    }

    async fn initialise<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
    ) -> Result<(), CommandError> {
        let limit = self.command_limit();
        // The first commands may meet garbage, a half-typed command or echo; try a few times.
        let mut attention = Err(CommandError::Failed {
            command: "AT".into(),
        });
        for _ in 0..3 {
            attention = session.command("AT", limit).await;
            if attention.is_ok() || attention.as_ref().is_err_and(|e| e.is_link_failure()) {
                break;
            }
        }
        attention?;
        session.command("ATE0", limit).await?;
        session.command("AT+CMEE=1", limit).await?;
        session.command("AT+CMGF=0", limit).await?;
        // Storage choice is optional on many modems; the SIM is the default anyway.
        if let Err(e) = session.command("AT+CPMS=\"SM\",\"SM\",\"SM\"", limit).await {
            tracing::debug!(modem = %self.config.name, error = %e, "storage selection refused; using the modem default");
        }
        // Store incoming SMS on the SIM and announce them (+CMTI); route status reports (+CDS).
        session.command("AT+CNMI=2,1,0,1,0", limit).await?;
        self.timeouts_in_a_row = 0;
        self.check_health(session).await?;
        self.collect_stored(session).await?;
        Ok(())
    }

    /// The ready loop: jobs, unsolicited lines and periodic health checks, until shutdown or failure.
    async fn work<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
    ) -> Result<(), CommandError> {
        let mut health =
            tokio::time::interval(Duration::from_secs(self.config.health_interval_seconds));
        health.set_missed_tick_behavior(MissedTickBehavior::Delay);
        health.tick().await;
        loop {
            while let Some(urc) = session.take_unsolicited() {
                self.handle_unsolicited(session, urc).await?;
            }
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => {
                    self.jobs.close();
                    while let Some(job) = self.jobs.recv().await {
                        self.send_job(session, job).await?;
                    }
                    return Ok(());
                }
                urc = session.next_unsolicited() => {
                    let urc = urc?;
                    self.handle_unsolicited(session, urc).await?;
                }
                job = self.jobs.recv() => match job {
                    Some(job) => self.send_job(session, job).await?,
                    None => return Ok(()),
                },
                _ = health.tick() => {
                    self.check_health(session).await?;
                    self.collect_stored(session).await?;
                }
            }
        }
    }

    async fn send_job<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
        job: SendJob,
    ) -> Result<(), CommandError> {
        let mut failure = None;
        let mut link_error = None;
        // Each confirmed part is recorded at once, but the next part goes on the wire while the
        // store commits: the line never waits for the disk, and the job is reported only after
        // every record is committed.
        let mut records = tokio::task::JoinSet::new();
        for part in &job.parts {
            if let Some(pace) = self.pacing {
                sleep_until(self.next_send_at).await;
                self.next_send_at = Instant::now() + pace;
            }
            let result = session
                .send_pdu(
                    part.tpdu_len,
                    &part.hex(),
                    self.command_limit(),
                    Duration::from_millis(self.config.send_timeout_ms),
                )
                .await;
            match result {
                Ok(reference) => {
                    self.timeouts_in_a_row = 0;
                    self.status.send_modify(|s| s.parts_sent += 1);
                    let (store, modem, id, seq, total) = (
                        self.store.clone(),
                        self.config.name.clone(),
                        job.message_id,
                        part.seq,
                        part.total,
                    );
                    let encoding = part.encoding;
                    records.spawn(async move {
                        store
                            .record_part_sent(id, seq, total, &modem, reference, encoding, now_ms())
                            .await
                            .map_err(|e| (seq, e))
                    });
                }
                Err(e) => {
                    self.status.send_modify(|s| {
                        s.parts_failed += 1;
                        s.last_error = Some(e.to_string());
                    });
                    tracing::warn!(modem = %self.config.name, message = job.message_id, part = part.seq, error = %e, "send failed");
                    failure = Some(classify_send_error(&e));
                    if self.is_link_broken(&e) {
                        link_error = Some(e);
                    }
                    break;
                }
            }
        }
        let mut recorded = 0;
        while let Some(result) = records.join_next().await {
            match result {
                Ok(Ok(())) => recorded += 1,
                Ok(Err((seq, e))) => {
                    // The part left but the store did not hear of it: it will be sent again
                    // (at-least-once), which beats losing it.
                    tracing::error!(modem = %self.config.name, message = job.message_id, part = seq, error = %e, "sent part not recorded");
                    failure.get_or_insert(SendFailure::Temporary(format!(
                        "part {seq} was sent but not recorded: {e}"
                    )));
                }
                Err(e) => {
                    failure.get_or_insert(SendFailure::Temporary(format!(
                        "recording a sent part failed: {e}"
                    )));
                }
            }
        }
        let outcome = failure.map_or(Ok(()), Err);
        let _ = job.reply.send(SendReport {
            parts_sent: recorded,
            outcome,
        });
        link_error.map_or(Ok(()), Err)
    }

    async fn handle_unsolicited<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
        urc: Urc,
    ) -> Result<(), CommandError> {
        match urc {
            Urc::NewMessage { index, .. } | Urc::StatusReportStored { index, .. } => {
                self.collect_one(session, index).await
            }
            Urc::Deliver { pdu } | Urc::StatusReport { pdu } => {
                // Routed straight to us, not stored on the SIM: the store is the only copy now.
                if let Err(e) = self.accept_pdu(&pdu).await {
                    tracing::error!(modem = %self.config.name, error = %e, "could not store a routed message");
                }
                Ok(())
            }
            Urc::Ready => Err(CommandError::Rebooted {
                command: "(idle)".into(),
            }),
            Urc::Ring | Urc::Other(_) => Ok(()),
        }
    }

    /// Reads one SIM slot, stores it and deletes it once stored.
    async fn collect_one<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
        index: u32,
    ) -> Result<(), CommandError> {
        let Some(lines) = self
            .command_checked(session, &format!("AT+CMGR={index}"))
            .await?
        else {
            return Ok(());
        };
        let mut stored = stored_messages(&lines);
        if let Some((header, pdu)) = stored.pop()
            && is_received(&header)
        {
            self.accept_and_delete(session, index, &pdu).await?;
        }
        Ok(())
    }

    /// Lists everything on the SIM (left there while we were down, or announced while busy).
    async fn collect_stored<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
    ) -> Result<(), CommandError> {
        let Some(lines) = self.command_checked(session, "AT+CMGL=4").await? else {
            return Ok(());
        };
        for (header, pdu) in stored_messages(&lines) {
            if let (true, Some(index)) = (is_received(&header), header.index) {
                self.accept_and_delete(session, index, &pdu).await?;
            }
        }
        Ok(())
    }

    async fn accept_and_delete<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
        index: u32,
        pdu: &str,
    ) -> Result<(), CommandError> {
        match self.accept_pdu(pdu).await {
            Ok(()) => {
                self.command_checked(session, &format!("AT+CMGD={index}"))
                    .await?;
                Ok(())
            }
            Err(e) => {
                // Left on the SIM: the next sweep tries again once the store is back.
                tracing::error!(modem = %self.config.name, sim_index = index, error = %e, "could not store an incoming message; it stays on the SIM");
                Ok(())
            }
        }
    }

    /// Decodes and stores one PDU from the modem: a message part or a delivery report.
    /// Undecodable PDUs are stored raw as malformed messages, never dropped.
    async fn accept_pdu(&mut self, pdu_hex: &str) -> Result<(), crate::store::StoreError> {
        let now = now_ms();
        match sms::decode_incoming_hex(pdu_hex) {
            Ok(Incoming::Deliver(deliver)) => {
                let (sender, sender_kind) =
                    inbound_sender(&deliver.originator, &self.settings.default_country_code);
                let part = NewInboundPart {
                    modem: self.config.name.clone(),
                    sender,
                    sender_kind,
                    service_number: self.config.service_number.clone(),
                    concat: deliver
                        .concat
                        .as_ref()
                        .map(|c| (c.reference, c.total, c.seq)),
                    raw_pdu: pdu_hex.trim().to_ascii_uppercase(),
                    text: deliver.text.clone(),
                    encoding: deliver.encoding,
                    sent_at_ms: deliver.timestamp.timestamp_millis(),
                    now_ms: now,
                };
                let outcome = self.store.insert_inbound_part(&part).await?;
                tracing::info!(modem = %self.config.name, ?outcome, "incoming SMS part stored");
                if let InboundOutcome::Complete(_) = outcome {
                    self.settings.new_inbound.notify();
                }
                self.status.send_modify(|s| s.parts_received += 1);
            }
            Ok(Incoming::StatusReport(report)) => {
                let delivered = match report.outcome() {
                    sms::DeliveryOutcome::Delivered => Some(true),
                    sms::DeliveryOutcome::Failed => Some(false),
                    sms::DeliveryOutcome::Pending => None,
                };
                // Normalised as the recipients of outbound messages are, to match their peer.
                let recipient = PhoneNumber::parse(
                    &report.recipient.to_string(),
                    &self.settings.default_country_code,
                )
                .map(|p| p.to_string())
                .unwrap_or_else(|_| report.recipient.to_string());
                let message = self
                    .store
                    .apply_status_report(
                        &self.config.name,
                        report.message_reference,
                        &recipient,
                        report.status,
                        delivered,
                        now,
                    )
                    .await?;
                tracing::info!(modem = %self.config.name, reference = report.message_reference, status = report.status, ?message, "delivery report");
            }
            Err(error) => {
                tracing::warn!(modem = %self.config.name, %error, "malformed PDU from the modem; stored raw");
                self.store
                    .insert_malformed_inbound(
                        &self.config.name,
                        pdu_hex.trim(),
                        &error.to_string(),
                        now,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn check_health<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
    ) -> Result<(), CommandError> {
        let signal = self
            .command_checked(session, "AT+CSQ")
            .await?
            .and_then(|lines| {
                lines.iter().find_map(|l| {
                    l.strip_prefix("+CSQ:")?
                        .trim()
                        .split(',')
                        .next()?
                        .trim()
                        .parse::<u8>()
                        .ok()
                })
            });
        let registered = self
            .command_checked(session, "AT+CREG?")
            .await?
            .and_then(|lines| {
                lines.iter().find_map(|l| {
                    let stat = l
                        .strip_prefix("+CREG:")?
                        .split(',')
                        .nth(1)?
                        .trim()
                        .parse::<u8>()
                        .ok()?;
                    Some(stat == 1 || stat == 5)
                })
            });
        self.status.send_modify(|s| {
            s.signal = signal;
            s.registered = registered;
        });
        Ok(())
    }

    /// Runs a command whose failure is not fatal: `Ok(None)` when the modem refused it or did not
    /// answer once; an error only when the link is broken (port lost, reboot, repeated silence).
    async fn command_checked<T: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        session: &mut Session<T>,
        command: &str,
    ) -> Result<Option<Vec<String>>, CommandError> {
        match session.command(command, self.command_limit()).await {
            Ok(lines) => {
                self.timeouts_in_a_row = 0;
                Ok(Some(lines))
            }
            Err(e) if self.is_link_broken(&e) => Err(e),
            Err(e) => {
                tracing::warn!(modem = %self.config.name, error = %e, "command failed");
                self.status
                    .send_modify(|s| s.last_error = Some(e.to_string()));
                Ok(None)
            }
        }
    }

    /// Link failures, and a modem that has stopped answering (counted across commands).
    fn is_link_broken(&mut self, error: &CommandError) -> bool {
        if let CommandError::Timeout { .. } = error {
            self.timeouts_in_a_row += 1;
            return self.timeouts_in_a_row >= HUNG_AFTER_TIMEOUTS;
        }
        error.is_link_failure()
    }

    fn command_limit(&self) -> Duration {
        Duration::from_millis(self.config.command_timeout_ms)
    }

    fn set_state(&self, state: LinkState, error: Option<String>) {
        self.status.send_modify(|s| {
            s.state = state;
            if error.is_some() || state == LinkState::Ready {
                s.last_error = error;
            }
        });
    }

    /// Jobs still queued when the driver stops go back with a temporary failure.
    fn fail_waiting_jobs(&mut self, reason: &str) {
        self.jobs.close();
        while let Ok(job) = self.jobs.try_recv() {
            let _ = job.reply.send(SendReport {
                parts_sent: 0,
                outcome: Err(SendFailure::Temporary(reason.to_string())),
            });
        }
    }
}

/// The `(header, PDU)` pairs of a `+CMGL`/`+CMGR` answer in PDU mode.
fn stored_messages(lines: &[String]) -> Vec<(StoredHeader, String)> {
    let mut found = Vec::new();
    let mut iter = lines.iter().peekable();
    while let Some(line) = iter.next() {
        if let Some(header) = parse_stored_header(line)
            && let Some(pdu) = iter.next_if(|l| parse_stored_header(l).is_none())
        {
            found.push((header, pdu.clone()));
        }
    }
    found
}

/// Received messages (stat 0 unread, 1 read); stored outgoing ones (2, 3) are not ours to take.
fn is_received(header: &StoredHeader) -> bool {
    header.stat <= 1
}

fn classify_send_error(error: &CommandError) -> SendFailure {
    match error {
        CommandError::Cms { code, .. } if super::at::cms_error_is_permanent(*code) => {
            SendFailure::Permanent(error.to_string())
        }
        _ => SendFailure::Temporary(error.to_string()),
    }
}

/// The sender of a received SMS as stored: a number normalised as registered phones are, or an
/// alphanumeric name (TP-OA type of number alphanumeric) kept exactly as it came. A name is
/// never read as a number: "13800000001" sent as a name would otherwise pass for that phone.
fn inbound_sender(originator: &sms::Address, country_code: &str) -> (String, PeerKind) {
    if originator.kind == sms::AddressKind::Alphanumeric {
        return (originator.value.clone(), PeerKind::Alphanumeric);
    }
    let number = PhoneNumber::parse(&originator.to_string(), country_code)
        .map(|p| p.to_string())
        .unwrap_or_else(|_| originator.to_string());
    (number, PeerKind::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alphanumeric_sender_keeps_its_name_and_is_never_read_as_a_number() {
        for name in ["13800000001", "10086", "ICBC", "POLICE"] {
            assert_eq!(
                inbound_sender(&sms::Address::alphanumeric(name), "86"),
                (name.to_owned(), PeerKind::Alphanumeric),
                "{name}"
            );
        }
    }

    /// The router waits for this signal rather than polling the store.
    #[tokio::test]
    async fn a_stored_message_is_announced_to_the_router() {
        use crate::modem::sim::{SimConfig, SimModem};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/jingxun.db", dir.path().display()))
            .await
            .unwrap();
        let sim = SimModem::start(SimConfig::default(), None).await.unwrap();
        let new_inbound = NewInbound::default();
        let shutdown = CancellationToken::new();
        let (_handle, task) = spawn(
            ModemConfig::new("m1", "sim"),
            sim.path().display().to_string(),
            DriverSettings {
                default_country_code: "86".into(),
                new_inbound: new_inbound.clone(),
            },
            store.clone(),
            shutdown.clone(),
        );
        sim.receive_sms("13800000001", "H").unwrap();
        // A minute at most, so that a driver that never signals fails the test, not hangs it.
        tokio::time::timeout(Duration::from_secs(60), new_inbound.notified())
            .await
            .expect("the stored message is announced");
        let stored = store
            .claim_inbox(10, Duration::from_secs(1), now_ms())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1, "announced once stored: {stored:?}");
        shutdown.cancel();
        task.await.unwrap();
        sim.shutdown().await;
    }

    #[test]
    fn a_numeric_sender_is_normalised_as_registered_phones_are() {
        assert_eq!(
            inbound_sender(&sms::Address::international("8613800000001"), "86"),
            ("+8613800000001".to_owned(), PeerKind::Number)
        );
        assert_eq!(
            inbound_sender(&sms::Address::national("13800000001"), "86"),
            ("+8613800000001".to_owned(), PeerKind::Number)
        );
        assert_eq!(
            inbound_sender(&sms::Address::parse("10086").unwrap(), "86"),
            ("10086".to_owned(), PeerKind::Number)
        );
    }
}
