//! A virtual GSM modem on a pseudo-terminal that speaks AT like a real one, with fault injection
//! (R1: the platform must survive modem resets, unplugging and garbage on the line).
//!
//! [`SimModem::start`] opens a pty and answers AT commands (3GPP TS 27.005 PDU mode, 27.007) on its
//! master side; the host opens the slave path ([`SimHandle::path`]) with `tokio-serial` exactly as
//! it would open `/dev/ttyUSB0`. The [`SimHandle`] plays the network: it delivers messages
//! ([`SimHandle::receive_sms`]), records what the host sent ([`SimHandle::submitted`]), emits status
//! reports and injects [`Fault`]s. [`run_console`] drives it by hand (`jingxun modem-sim`).
//!
//! What it implements: `AT`, `ATE0/1`, `ATZ`, `AT&F`, `ATI`, `+CMEE`, `+CMGF` (PDU mode fully;
//! text mode answers `+CMS ERROR: 302` to message commands), `+CSCA`, `+CPMS` (`SM`, `ME`, `MT` all
//! name the one simulated SIM store), `+CNMI` (mt 0/1/3 store, mt 2 `+CMT`; ds 1 `+CDS`, ds 2
//! stored with `+CDSI`; the buffering mode is not emulated), `+CSMS`, `+CNMA`, `+CMGL`, `+CMGR`,
//! `+CMGD`, `+CMGS`, `+CSQ`, `+CREG`, `+COPS?`, `+CNUM`, identification, `+CFUN` (`+CFUN=1,1`
//! reboots), `+CPIN?`, and `;`-concatenated command lines. Errors are plain `ERROR` with
//! `+CMEE=0`, numeric with 1 and verbose with 2. A `+CMT` that `+CSMS=1` makes the host
//! acknowledge is counted, but the network does not re-send when the `+CNMA` never comes.
//!
//! The I/O runs in one Tokio task that owns the pty; the AT behaviour lives in a clock-free state
//! machine ([`engine`]) shared with the handle behind a mutex.

mod console;
mod engine;
mod pty;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use console::run_console;
use engine::{Engine, PortRequest};
use pty::Pty;

use crate::sms::{PduError, Submit};

/// How the simulated modem and its network behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// The SIM's own number (`AT+CNUM`), international digits. Default `8613900000000`.
    pub own_number: String,
    /// The service centre (`AT+CSCA?`, and the SMSC information of delivered PDUs).
    /// Default `+8613800100500`.
    pub smsc: String,
    /// Echo at power-on, as a real modem does. Default true.
    pub echo: bool,
    /// Emulate a serial line of this speed in both directions (10 bits per byte); `None` runs as
    /// fast as the pty.
    pub baud: Option<u32>,
    /// When set, every accepted `+CMGS` whose PDU asks for a status report (TP-SRR) is followed,
    /// after this delay, by a "delivered" report (shown as `+CNMI` ds asks: `+CDS` or `+CDSI`).
    pub status_report_delay: Option<Duration>,
    /// How long the network takes to answer a `+CMGS`. Default zero.
    pub send_delay: Duration,
    /// Messages the SIM holds. Default 30.
    pub sim_capacity: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            own_number: "8613900000000".into(),
            smsc: "+8613800100500".into(),
            echo: true,
            baud: None,
            status_report_delay: None,
            send_delay: Duration::ZERO,
            sim_capacity: 30,
        }
    }
}

/// An SMS-SUBMIT the host sent and the simulated network accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The PDU as the host wrote it after the prompt: SMSC information first.
    pub raw: Vec<u8>,
    /// The decoded PDU, or `None` if the codec could not decode it (the modem only checks the
    /// length, like a real one).
    pub decoded: Option<Submit>,
    /// The reference the modem answered with (`+CMGS: <mr>`).
    pub message_reference: u8,
    /// When the network accepted it.
    pub at: Instant,
}

/// Counters of the simulated modem's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Bytes the host wrote to the modem.
    pub bytes_from_host: u64,
    /// Bytes the modem wrote to the host.
    pub bytes_to_host: u64,
    /// Command lines (`AT...`) received, including swallowed ones.
    pub commands: u64,
    /// Messages accepted with `+CMGS: <mr>`.
    pub sends: u64,
}

/// A fault to inject into the simulated modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Write these bytes to the host now.
    Garbage(Vec<u8>),
    /// Swallow the next n command lines without echo or answer (the host must time out).
    IgnoreCommands(usize),
    /// The next `count` `+CMGS` answer `+CMS ERROR: <cms>` after the PDU (per `+CMEE`).
    FailSends {
        /// How many sends fail.
        count: usize,
        /// The error code.
        cms: u16,
    },
    /// Lose all settings (echo on, text mode, `+CNMI` cleared), drop the command in flight without
    /// an answer, ignore input for ~100 ms, then emit `RDY`. The SIM storage survives.
    Reboot,
    /// The port vanishes: the pty is closed (the host sees EOF or EIO) and the link removed; after
    /// the duration a new pty appears and the link points at it (the host must reopen the same
    /// path); settings reset as by a reboot; the SIM storage survives.
    Unplug(Duration),
    /// As [`Fault::Unplug`], but at the next `+CMGS`: the port vanishes right after the PDU and
    /// its Ctrl-Z arrive, before any answer (a USB modem pulled mid-send). The network never gets
    /// that PDU.
    UnplugAfterNextPdu(Duration),
    /// Put this unsolicited line inside the next command's response (after its first information
    /// line, or before its final result code).
    UrcInNextResponse(String),
    /// Change the emulated line speed.
    Baud(Option<u32>),
}

/// What the simulator's handle can fail at.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The sender or text cannot be encoded as SMS-DELIVER PDUs.
    #[error("cannot encode the message for delivery: {0}")]
    Encode(#[from] PduError),
    /// An empty PDU cannot be delivered.
    #[error("cannot deliver an empty PDU; give at least the SMSC information octet")]
    EmptyPdu,
    /// The SIM has no room for the message.
    #[error(
        "the simulated SIM is full ({capacity} messages); the host must delete messages with AT+CMGD"
    )]
    SimFull {
        /// The SIM's capacity.
        capacity: usize,
    },
    /// No submitted message has this reference.
    #[error("no message was submitted with reference {0}; use a reference from submitted()")]
    UnknownReference(u8),
    /// The host has not enabled status reports, or the modem is rebooting or unplugged.
    #[error(
        "the modem would drop this status report: the host has not enabled them with AT+CNMI (ds=1 or 2), or the modem is rebooting or unplugged"
    )]
    ReportsDisabled,
    /// Fewer messages were submitted than awaited.
    #[error("waited {waited:?} for {wanted} submitted messages but only {got} arrived")]
    Timeout {
        /// Messages awaited.
        wanted: usize,
        /// Messages that arrived.
        got: usize,
        /// How long it waited.
        waited: Duration,
    },
    /// The simulator's task has ended.
    #[error("the modem simulator has shut down")]
    Stopped,
}

/// State shared between the handle and the I/O task.
struct Shared {
    engine: Mutex<Engine>,
    wake: Notify,
    stop: AtomicBool,
    slave_path: Mutex<PathBuf>,
    submitted: watch::Sender<usize>,
}

impl Shared {
    fn engine(&self) -> MutexGuard<'_, Engine> {
        // A panic while holding the lock cannot leave the engine inconsistent in a way that
        // matters to a simulator; keep serving.
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish_submitted(&self, count: usize) {
        self.submitted.send_if_modified(|n| {
            let changed = *n != count;
            *n = count;
            changed
        });
    }
}

/// Stops the task when the last handle is dropped without [`SimHandle::shutdown`].
struct Owner {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }
}

/// The simulated modem; see [`SimModem::start`].
pub struct SimModem;

impl SimModem {
    /// Opens a pty, optionally points the symlink `link` at its slave (replacing a stale symlink;
    /// refusing to replace anything else), and starts answering AT commands. Must be called inside
    /// a Tokio runtime.
    pub async fn start(config: SimConfig, link: Option<PathBuf>) -> std::io::Result<SimHandle> {
        let pty = Pty::open()?;
        if let Some(link) = &link {
            pty::point_link(link, &pty.slave_path)?;
        }
        let (submitted, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            engine: Mutex::new(Engine::new(config)),
            wake: Notify::new(),
            stop: AtomicBool::new(false),
            slave_path: Mutex::new(pty.slave_path.clone()),
            submitted,
        });
        tracing::info!(slave = %pty.slave_path.display(), link = ?link, "modem simulator started");
        let task = tokio::spawn(run(shared.clone(), pty, link.clone()));
        Ok(SimHandle {
            owner: Arc::new(Owner {
                shared: shared.clone(),
                task: Mutex::new(Some(task)),
            }),
            shared,
            link,
        })
    }
}

/// Controls a running simulator: the network side and fault injection. Cheap to clone; the
/// simulator stops with [`SimHandle::shutdown`] or when the last clone is dropped.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
    owner: Arc<Owner>,
    link: Option<PathBuf>,
}

impl SimHandle {
    /// The path the host opens: the link if one was given, else the current slave device (which
    /// changes after [`Fault::Unplug`]).
    pub fn path(&self) -> PathBuf {
        match &self.link {
            Some(link) => link.clone(),
            None => self.slave_path(),
        }
    }

    /// The current slave device, e.g. `/dev/pts/7`.
    pub fn slave_path(&self) -> PathBuf {
        self.shared
            .slave_path
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The network delivers an SMS from `from` (`+8613...`, digits, or an alphanumeric name), split
    /// into parts as needed. Per the host's `+CNMI` mt: 1 or 3 store each part on the SIM with a
    /// `+CMTI: "SM",<index>` each; 2 sends `+CMT: ,<len>` and the PDU per part; 0 stores silently.
    pub fn receive_sms(&self, from: &str, text: &str) -> Result<(), SimError> {
        let result = self.shared.engine().receive_sms(from, text);
        self.shared.wake.notify_one();
        result
    }

    /// As [`SimHandle::receive_sms`] for one raw PDU (SMSC information first), which may be
    /// malformed on purpose.
    pub fn receive_pdu(&self, pdu_with_smsc: Vec<u8>) -> Result<(), SimError> {
        let result = self.shared.engine().receive_pdu(pdu_with_smsc);
        self.shared.wake.notify_one();
        result
    }

    /// Every SMS-SUBMIT the network accepted, in order.
    pub fn submitted(&self) -> Vec<Submitted> {
        self.shared.engine().submitted.clone()
    }

    /// Waits until at least `count` messages were submitted and returns them all.
    pub async fn wait_for_submitted(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Submitted>, SimError> {
        let mut changes = self.shared.submitted.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = {
                let engine = self.shared.engine();
                if engine.submitted.len() >= count {
                    return Ok(engine.submitted.clone());
                }
                engine.submitted.len()
            };
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(SimError::Stopped),
                Err(_) => {
                    return Err(SimError::Timeout {
                        wanted: count,
                        got,
                        waited: timeout,
                    });
                }
            }
        }
    }

    /// The network reports on the latest message submitted with `message_reference`
    /// (`status` per TS 23.040 9.2.3.15: 0 delivered, 0x20-0x3F temporary, 0x40+ permanent).
    /// Shown as the host's `+CNMI` ds asks.
    pub fn send_status_report(&self, message_reference: u8, status: u8) -> Result<(), SimError> {
        let result = self
            .shared
            .engine()
            .status_report(message_reference, status);
        self.shared.wake.notify_one();
        result
    }

    /// The messages on the SIM: (index, PDU with SMSC information).
    pub fn sim_storage(&self) -> Vec<(u32, Vec<u8>)> {
        self.shared.engine().sim_storage()
    }

    /// Injects a fault.
    pub fn inject(&self, fault: Fault) {
        tracing::info!(?fault, "modem simulator: injecting fault");
        self.shared.engine().inject(fault, Instant::now());
        self.shared.wake.notify_one();
    }

    /// Traffic counters.
    pub fn stats(&self) -> SimStats {
        self.shared.engine().stats
    }

    /// Stops the simulator, closes the pty and removes the link.
    pub async fn shutdown(self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        let task = self
            .owner
            .task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(Err(e)) = match task {
            Some(task) => Some(task.await),
            None => None,
        } {
            tracing::warn!(error = %e, "modem simulator task failed");
        }
    }
}

/// Bytes moved per read or write at full speed.
const FULL_SPEED_CHUNK: usize = 4096;

/// How long `n` bytes take on a line of `baud` (10 bits per byte).
fn line_time(n: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(n as f64 * 10.0 / f64::from(baud.max(1)))
}

/// Bytes per read or write: about 10 ms of line time, so pacing stays smooth.
fn chunk_size(baud: Option<u32>) -> usize {
    baud.map_or(FULL_SPEED_CHUNK, |b| {
        (b as usize / 1000).clamp(1, FULL_SPEED_CHUNK)
    })
}

/// The I/O task: moves bytes between the pty and the engine, pacing them at the emulated baud
/// rate, fires timers and carries out unplugging.
async fn run(shared: Arc<Shared>, pty: Pty, link: Option<PathBuf>) {
    use tokio::time::{Instant as TokioInstant, sleep_until};

    let mut pty = Some(pty);
    let mut next_read = TokioInstant::now();
    let mut next_write = TokioInstant::now();
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let (deadline, pending_out, baud, request, submitted) = {
            let mut engine = shared.engine();
            engine.fire_timers(Instant::now());
            let baud = engine.baud;
            let pending_out: Vec<u8> = engine.out.iter().take(chunk_size(baud)).copied().collect();
            (
                engine.next_deadline(),
                pending_out,
                baud,
                engine.port_request.take(),
                engine.submitted.len(),
            )
        };
        shared.publish_submitted(submitted);
        match request {
            Some(PortRequest::Unplug) => {
                // The link goes first, so a host that sees the hang-up never finds the old path.
                if let Some(link) = &link {
                    pty::remove_link(link);
                }
                pty = None;
                tracing::info!("modem simulator: unplugged");
                continue;
            }
            Some(PortRequest::Replug) => {
                replug(&shared, &mut pty, link.as_deref());
                continue;
            }
            None => {}
        }
        let chunk = chunk_size(baud);
        let read = async {
            match &pty {
                Some(p) => {
                    sleep_until(next_read).await;
                    p.read(chunk).await
                }
                None => std::future::pending().await,
            }
        };
        let write = async {
            match &pty {
                Some(p) if !pending_out.is_empty() => {
                    sleep_until(next_write).await;
                    p.write(&pending_out).await
                }
                _ => std::future::pending().await,
            }
        };
        let timer = async {
            match deadline {
                Some(at) => sleep_until(TokioInstant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = timer => {}
            result = read => match result {
                Ok(bytes) if !bytes.is_empty() => {
                    if let Some(baud) = baud {
                        next_read = TokioInstant::now() + line_time(bytes.len(), baud);
                    }
                    shared.engine().feed(&bytes, Instant::now());
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(e) => {
                    tracing::warn!(error = %e, "modem simulator: reading the pty failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            result = write => match result {
                Ok(n) => {
                    if let Some(baud) = baud {
                        next_write = TokioInstant::now() + line_time(n, baud);
                    }
                    shared.engine().consumed_out(n);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "modem simulator: writing the pty failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(pty);
    if let Some(link) = &link {
        pty::remove_link(link);
    }
    tracing::info!("modem simulator stopped");
}

/// Opens a fresh pty after an unplug; on failure tries again a little later.
fn replug(shared: &Shared, pty: &mut Option<Pty>, link: Option<&std::path::Path>) {
    let opened = Pty::open().and_then(|p| {
        if let Some(link) = link {
            pty::point_link(link, &p.slave_path)?;
        }
        Ok(p)
    });
    match opened {
        Ok(p) => {
            tracing::info!(slave = %p.slave_path.display(), "modem simulator: plugged in again");
            *shared.slave_path.lock().unwrap_or_else(|e| e.into_inner()) = p.slave_path.clone();
            *pty = Some(p);
            shared.engine().plugged_in();
        }
        Err(e) => {
            tracing::warn!(error = %e, "modem simulator: cannot open a new pty; retrying in 1 s");
            shared
                .engine()
                .retry_replug(Instant::now() + Duration::from_secs(1));
        }
    }
}

#[cfg(test)]
mod tests;
