//! `jingxun bench`: measures the figures the gateway core promises and prints them. Nothing here
//! asserts a time; the README and the closing notes quote what it printed.
//!
//! - codec: SMS-SUBMIT encodings and SMS-DELIVER decodings per second;
//! - enqueue: how long one send to 10,000 recipients takes to commit (SQLite, synchronous=FULL);
//! - line use: outbound messages through one simulated modem, unthrottled and on an emulated
//!   115200-baud line, as a share of what the line itself could carry. The AT dialogue alternates
//!   (command, prompt, PDU, answer), so the line is busy when either side is sending: the figure
//!   is the bytes both ways over the time taken and the line's speed. The simulator paces each
//!   chunk from the moment it moves, so its own timer rounding counts against the daemon: the
//!   figure is a lower bound.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::config::{ModemConfig, QueueConfig};
use crate::dispatch::{self, DispatchSettings, Wake};
use crate::modem::driver::{self, DriverSettings};
use crate::modem::sim::{SimConfig, SimModem};
use crate::sms::{self, Address, DeliverOptions, SubmitOptions};
use crate::store::{NewOutbound, Store, StoreError};

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The temporary store failed.
    #[error("benchmark store: {0}")]
    Store(#[from] StoreError),
    /// Files or the simulator's pseudo-terminal failed.
    #[error("benchmark I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The codec refused its own input (a bug).
    #[error("benchmark codec: {0}")]
    Codec(#[from] sms::PduError),
    /// Messages did not all leave in time.
    #[error("only {sent} of {total} messages were sent within {limit:?}")]
    Stalled {
        /// Sent so far.
        sent: u64,
        /// Queued.
        total: usize,
        /// The time allowed.
        limit: Duration,
    },
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Recipients of the enqueue benchmark.
    pub recipients: usize,
    /// Messages pushed through the simulated modem per line-speed run.
    pub messages: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            recipients: 10_000,
            messages: 200,
        }
    }
}

/// Runs every benchmark and prints one line per figure to `out`.
pub async fn run(options: &BenchOptions, out: &mut impl Write) -> Result<(), BenchError> {
    codec(out)?;
    enqueue(options.recipients, out).await?;
    for baud in [None, Some(115_200)] {
        line_use(options.messages, baud, out).await?;
    }
    Ok(())
}

/// Calls `work` repeatedly for about a second and returns calls per second.
fn per_second(mut work: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            work();
        }
        count += 100;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn codec(out: &mut impl Write) -> Result<(), BenchError> {
    let to = Address::international("8613800000001");
    let chinese: String = "警讯平台测试短信，请核查京A12345的车辆信息。"
        .chars()
        .cycle()
        .take(70)
        .collect();
    let latin: String = "Meeting at 20:00 in room 301, bring the case files. "
        .chars()
        .cycle()
        .take(160)
        .collect();
    let long: String = chinese.chars().cycle().take(300).collect();
    let options = SubmitOptions::default();
    for (name, text) in [
        ("UCS2 70 chars, 1 part", &chinese),
        ("GSM7 160 chars, 1 part", &latin),
        ("UCS2 300 chars, 5 parts", &long),
    ] {
        sms::encode_submit(&to, text, 1, &options)?;
        let rate = per_second(|| {
            let _ = std::hint::black_box(sms::encode_submit(
                &to,
                std::hint::black_box(text),
                1,
                &options,
            ));
        });
        writeln!(out, "codec encode  {name:<26} {rate:>12.0} messages/s")?;
    }
    let deliver = DeliverOptions {
        timestamp: chrono::Utc::now().fixed_offset(),
        concat_reference: 1,
        wide_reference: false,
        smsc: Some(Address::international("8613800100500")),
    };
    for (name, text) in [("UCS2 70 chars", &chinese), ("GSM7 160 chars", &latin)] {
        let pdu = sms::encode_deliver(&to, text, &deliver)?.remove(0);
        let hex = hex::encode_upper(&pdu);
        sms::decode_incoming_hex(&hex)?;
        let rate = per_second(|| {
            let _ = std::hint::black_box(sms::decode_incoming_hex(std::hint::black_box(&hex)));
        });
        writeln!(out, "codec decode  {name:<26} {rate:>12.0} PDUs/s")?;
    }
    Ok(())
}

async fn enqueue(recipients: usize, out: &mut impl Write) -> Result<(), BenchError> {
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let list: String = (0..recipients)
        .map(|i| format!("139{i:08}"))
        .collect::<Vec<_>>()
        .join(",");
    let start = Instant::now();
    let parsed = crate::phone::parse_recipients(&list, "86");
    let batch: Vec<NewOutbound> = parsed
        .valid
        .iter()
        .map(|p| NewOutbound::new(p.to_string(), "今晚八点全体民警到三楼会议室开会。"))
        .collect();
    let ids = store.enqueue(&batch).await?;
    let elapsed = start.elapsed();
    writeln!(
        out,
        "enqueue       {} recipients, parsed and committed  {:>8.1} ms",
        ids.len(),
        elapsed.as_secs_f64() * 1000.0
    )?;
    store.close().await;
    Ok(())
}

async fn line_use(
    messages: usize,
    baud: Option<u32>,
    out: &mut impl Write,
) -> Result<(), BenchError> {
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let sim = SimModem::start(
        SimConfig {
            baud,
            status_report_delay: None,
            ..SimConfig::default()
        },
        None,
    )
    .await?;
    let shutdown = CancellationToken::new();
    let mut modem = ModemConfig::new("bench", "sim");
    modem.baud = baud.unwrap_or(115_200);
    let settings = DriverSettings {
        default_country_code: "86".into(),
    };
    let (handle, modem_task) = driver::spawn(
        modem,
        sim.path().display().to_string(),
        settings,
        store.clone(),
        shutdown.clone(),
    );
    let mut status = handle.watch_status();
    while !status.borrow().is_ready() {
        let _ = status.changed().await;
    }
    let queue = QueueConfig {
        poll_interval_ms: 5,
        ..QueueConfig::default()
    };
    let wake = Wake::default();
    let settings = DispatchSettings {
        owner: "bench".into(),
        queue,
    };
    let dispatcher = tokio::spawn(dispatch::run(
        store.clone(),
        vec![handle],
        settings,
        wake.clone(),
        shutdown.clone(),
    ));

    let text: String = "警讯平台测试短信，请核查京A12345的车辆信息。"
        .chars()
        .cycle()
        .take(70)
        .collect();
    let batch: Vec<NewOutbound> = (0..messages)
        .map(|i| NewOutbound::new(format!("+86139{i:08}"), text.clone()))
        .collect();
    let before = sim.stats();
    let start = Instant::now();
    store.enqueue(&batch).await?;
    wake.notify();
    let limit = Duration::from_secs(120);
    loop {
        let depths = store.queue_depths().await?;
        if depths.sent as usize >= messages {
            break;
        }
        if start.elapsed() > limit {
            return Err(BenchError::Stalled {
                sent: depths.sent,
                total: messages,
                limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let after = sim.stats();
    let bytes_out = after.bytes_from_host - before.bytes_from_host;
    let bytes_back = after.bytes_to_host - before.bytes_to_host;
    let rate = messages as f64 / elapsed;
    match baud {
        None => writeln!(
            out,
            "modem line    unthrottled pty, {messages} UCS2 messages  {rate:>8.1} messages/s  ({:.0} bytes/s to the modem)",
            bytes_out as f64 / elapsed
        )?,
        Some(baud) => {
            let capacity = f64::from(baud) / 10.0;
            let share = bytes_out as f64 / elapsed / capacity * 100.0;
            let both = (bytes_out + bytes_back) as f64 / elapsed / capacity * 100.0;
            writeln!(
                out,
                "modem line    {baud} baud, {messages} UCS2 messages  {rate:>8.1} messages/s; line busy {both:.1}% (commands, PDUs and the modem's answers, which alternate), to the modem alone {share:.1}% of {capacity:.0} bytes/s"
            )?
        }
    }
    shutdown.cancel();
    let _ = dispatcher.await;
    let _ = modem_task.await;
    sim.shutdown().await;
    store.close().await;
    Ok(())
}
