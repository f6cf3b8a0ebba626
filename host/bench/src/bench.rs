//! `jingxun-bench`: measures the figures the gateway core promises and prints them. Nothing here
//! asserts a time; the README and the closing notes quote what it printed.
//!
//! - codec: SMS-SUBMIT encodings and SMS-DELIVER decodings per second;
//! - enqueue: how long one send to 10,000 recipients takes to commit (SQLite, synchronous=FULL);
//! - news fan-out: how long one news item takes to reach 10,000 subscribed members: entitlement,
//!   caps, the messages, their deliveries and billing rows, committed in one transaction;
//! - line use: outbound messages through one simulated modem, unthrottled and on an emulated
//!   115200-baud line, as a share of what the line itself could carry. The AT dialogue alternates
//!   (command, prompt, PDU, answer), so the line is busy when either side is sending: the figure
//!   is the bytes both ways over the time taken and the line's speed. The simulator paces each
//!   chunk from the moment it moves, so its own timer rounding counts against the daemon: the
//!   figure is a lower bound.
//! - plugins: one plugin invocation (fresh store, instantiate from the `InstancePre`, call,
//!   three host calls: log, config, clock) as p50/p99, on the calling thread and through
//!   `PluginHost::handle` (which adds the hop to tokio's blocking pool); and the time to load 20
//!   plugins from a warm compile cache. Uses the `echo` test component built by
//!   `cargo xtask plugins` (`<binary>/../plugins/fixtures/`); skipped with a note when absent.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use jingxun::config::{ModemConfig, QueueConfig};
use jingxun::dispatch::{self, DispatchSettings, Wake};
use jingxun::modem::driver::{self, DriverSettings};
use jingxun::modem::sim::{SimConfig, SimModem};
use jingxun::sms::{self, Address, DeliverOptions, SubmitOptions};
use jingxun::store::{NewOutbound, Store, StoreError};

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The temporary store failed.
    #[error("benchmark store: {0}")]
    Store(#[from] StoreError),
    /// The plugin host failed.
    #[error("benchmark plugins: {0}")]
    Plugins(#[from] jingxun::plugins::PluginError),
    /// The channel or the news item was refused.
    #[error("benchmark news: {0}")]
    Channels(#[from] jingxun::channels::ChannelError),
    /// The store refused the benchmark's data source.
    #[error("benchmark data source: {0}")]
    Datasource(#[from] jingxun::store::PluginStoreError),
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
    /// Commands routed in the end-to-end command benchmark.
    pub commands: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            recipients: 10_000,
            messages: 200,
            commands: 3_000,
        }
    }
}

/// Runs every benchmark and prints one line per figure to `out`.
pub async fn run(options: &BenchOptions, out: &mut impl Write) -> Result<(), BenchError> {
    codec(out)?;
    enqueue(options.recipients, out).await?;
    news_fan_out(options.recipients, out).await?;
    for baud in [None, Some(115_200)] {
        line_use(options.messages, baud, out).await?;
    }
    plugins(out).await?;
    commands(options.commands, out).await?;
    Ok(())
}

/// End to end through the router: inbound `CP 京A12345` commands already in the store, from a
/// registered officer's phone, to their replies queued (registry check, the real vehicle
/// plugin querying the demo datasource, audit row, reply and routed mark committed).
async fn commands(count: usize, out: &mut impl Write) -> Result<(), BenchError> {
    use jingxun::directory::Directory;
    use jingxun::plugins::{CallLimits, PluginHost, PluginSettings};
    use jingxun::router::{Router, RouterParts, RouterSettings};
    use jingxun::store::NewInboundPart;

    let Some(bundled) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("../plugins")))
    else {
        return Ok(());
    };
    if !bundled.join("vehicle.wasm").exists() {
        writeln!(
            out,
            "commands      skipped: no {} (run `cargo xtask plugins`)",
            bundled.join("vehicle.wasm").display()
        )?;
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?
    .with_secrets(&jingxun::secrets::Secrets::generate()?);
    let police = dir.path().join("police.db");
    jingxun_demo_data::write_demo_database(&police, jingxun_demo_data::DEFAULT_SEED)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    store
        .datasource_add(
            "police",
            &format!("sqlite://{}", police.display()),
            jingxun::clock::now_ms(),
            &jingxun::audit::ChangeAuthor::daemon(),
        )
        .await?;
    let settings = PluginSettings {
        cache_dir: dir.path().join("cache"),
        limits: CallLimits::default(),
        max_reply_parts: 5,
        bundled_dir: Some(bundled),
        policy: jingxun::plugins::EffectsPolicy::default(),
        events: jingxun::plugins::EventSettings::default(),
    };
    let plugins = PluginHost::start(store.clone(), settings).await?;
    let directory = Directory::new(store.clone(), "86");
    let setup = |e: jingxun::directory::DirectoryError| std::io::Error::other(e.to_string());
    directory
        .add_user("bench", "压测警官", &["officer"], "bench")
        .await
        .map_err(setup)?;
    directory
        .add_phone("13800000001", "压测警官", Some("bench"), "bench")
        .await
        .map_err(setup)?;
    for i in 0..count {
        let part = NewInboundPart {
            modem: "m1".into(),
            sender: "+8613800000001".into(),
            sender_kind: jingxun::store::PeerKind::Number,
            service_number: None,
            concat: None,
            raw_pdu: format!("{i:04X}"),
            text: "CP 京A12345".into(),
            encoding: sms::Encoding::Ucs2,
            sent_at_ms: i as i64,
            now_ms: jingxun::clock::now_ms(),
        };
        store.insert_inbound_part(&part).await?;
    }
    let wake = Wake::default();
    let router = Router::new(
        RouterParts {
            store: store.clone(),
            directory,
            plugins,
            wake,
        },
        RouterSettings {
            router: jingxun::config::RouterConfig {
                max_commands_per_minute: u32::MAX / 2,
                ..Default::default()
            },
            status_report: false,
            max_attempts: 5,
            default_country_code: "86".into(),
            poll_interval: Duration::from_millis(5),
        },
    );
    let shutdown = CancellationToken::new();
    let start = Instant::now();
    let task = tokio::spawn(router.run(shutdown.clone()));
    let limit = Duration::from_secs(300);
    loop {
        let queued = store.queue_depths().await?.queued;
        if queued as usize >= count {
            break;
        }
        if start.elapsed() > limit {
            return Err(BenchError::Stalled {
                sent: queued,
                total: count,
                limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    shutdown.cancel();
    let _ = task.await;
    writeln!(
        out,
        "commands      {count} x CP 京A12345, inbox to reply queued (SQLite)  {:>8.0} commands/s",
        count as f64 / elapsed
    )?;
    store.close().await;
    Ok(())
}

/// Plugin invocation overhead and warm-cache load time (see the module documentation).
async fn plugins(out: &mut impl Write) -> Result<(), BenchError> {
    use jingxun::plugins::{CallLimits, PluginHost, PluginRequest, PluginSettings};
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("../plugins")))
    else {
        return Ok(());
    };
    let Ok(echo) = std::fs::read(dir.join("fixtures/fixture-echo.wasm")) else {
        writeln!(
            out,
            "plugins       skipped: no {} (run `cargo xtask plugins`)",
            dir.join("fixtures/fixture-echo.wasm").display()
        )?;
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    // A throw-away key for the throw-away database: its audit rows are keyed as in production.
    let store = Store::connect(&format!("sqlite://{}/bench.db", tmp.path().display()))
        .await?
        .with_secrets(&jingxun::secrets::Secrets::generate()?);
    let settings = PluginSettings {
        cache_dir: tmp.path().join("cache"),
        limits: CallLimits::default(),
        max_reply_parts: 5,
        bundled_dir: None,
        policy: jingxun::plugins::EffectsPolicy::default(),
        events: jingxun::plugins::EventSettings::default(),
    };
    let host = PluginHost::start(store.clone(), settings).await?;
    host.install(&echo, &jingxun::audit::ChangeAuthor::daemon())
        .await?;
    let request = PluginRequest {
        id: "bench".into(),
        sender: "+8613800000001".into(),
        keyword: "ECHO".into(),
        arguments: vec!["京A12345".into()],
        text: "ECHO 京A12345".into(),
        ..PluginRequest::default()
    };
    const CALLS: usize = 5_000;
    let direct = {
        let host = host.clone();
        let request = request.clone();
        tokio::task::spawn_blocking(move || {
            let mut times = Vec::with_capacity(CALLS);
            for i in 0..CALLS + 500 {
                let start = Instant::now();
                let reply = host.handle_blocking(request.clone());
                if i >= 500 {
                    times.push(start.elapsed());
                }
                if reply.is_err() {
                    return Err(());
                }
            }
            Ok(times)
        })
        .await
        .ok()
        .and_then(Result::ok)
    };
    let mut through_handle = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        if host.handle(request.clone()).await.is_err() {
            break;
        }
        through_handle.push(start.elapsed());
    }
    for (what, times) in [
        ("invoke (calling thread)", direct.unwrap_or_default()),
        ("invoke (PluginHost::handle)", through_handle),
    ] {
        let (p50, p99) = percentiles(times);
        writeln!(
            out,
            "plugins       {what:<30} p50 {:>7.1} µs  p99 {:>7.1} µs",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        )?;
    }
    // Load: every component at hand once (to fill the cache), then 20 loads from the cache.
    let mut components = vec![echo];
    for folder in [dir.clone(), dir.join("fixtures")] {
        if let Ok(entries) = std::fs::read_dir(&folder) {
            for path in entries.flatten().map(|e| e.path()) {
                if path.extension().is_some_and(|e| e == "wasm") {
                    components.push(std::fs::read(&path)?);
                }
            }
        }
    }
    for component in &components {
        host.prepare_only(component)?;
    }
    let before = host.cache_stats();
    let start = Instant::now();
    for component in components.iter().cycle().take(20) {
        host.prepare_only(component)?;
    }
    let elapsed = start.elapsed();
    let after = host.cache_stats();
    writeln!(
        out,
        "plugins       load 20 from the warm cache      {:>7.1} ms  ({} cache hits, {} compiled; {} distinct components)",
        elapsed.as_secs_f64() * 1e3,
        after.cache_hits - before.cache_hits,
        after.compiled - before.compiled,
        components.len()
    )?;
    store.close().await;
    Ok(())
}

/// The median and 99th percentile.
fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    if times.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
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
    .await?
    .with_secrets(&jingxun::secrets::Secrets::generate()?);
    let list: String = (0..recipients)
        .map(|i| format!("139{i:08}"))
        .collect::<Vec<_>>()
        .join(",");
    let start = Instant::now();
    let parsed = jingxun::phone::parse_recipients(&list, "86");
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

async fn news_fan_out(subscribers: usize, out: &mut impl Write) -> Result<(), BenchError> {
    use jingxun::channels::{ChannelSpec, Channels, NewsSend};
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("news.db").display());
    let store = Store::connect(&url)
        .await?
        .with_secrets(&jingxun::secrets::Secrets::generate()?);
    let channels = Channels::new(store.clone());
    let now = jingxun::clock::now_ms();
    let spec = ChannelSpec {
        code: "XW01".into(),
        name: "焦点".into(),
        audience: "members".into(),
        validity: Some("24h".into()),
        digest: None,
    };
    let channel = channels.add(&spec, "bench", now).await?;
    // Members with bound phones and a daily cap, all subscribed: written directly, in one
    // transaction, as a website's import would (the library writes them one by one).
    let setup = sqlx::SqlitePool::connect(&url)
        .await
        .map_err(StoreError::from)?;
    let mut tx = setup.begin().await.map_err(StoreError::from)?;
    for i in 0..subscribers {
        let id = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        sqlx::query(
            "INSERT INTO members (id, login, name, phone, phone_bound_at, daily_cap, active, \
               created_at, updated_at) VALUES (?, ?, ?, ?, ?, 5, 1, ?, ?)",
        )
        .bind(id)
        .bind(format!("member{i}"))
        .bind(format!("会员{i}"))
        .bind(format!("+86139{i:08}"))
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        sqlx::query(
            "INSERT INTO channel_subscriptions (channel_id, member_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(channel.id)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    setup.close().await;
    let item = channels
        .publish("XW01", "平安夜", "今晚注意防火防盗。", None, "bench", now)
        .await?;
    let send = NewsSend {
        item: item.item,
        text: "【焦点】平安夜：今晚注意防火防盗。",
        batch_id: None,
    };
    let start = Instant::now();
    let fan_out = channels
        .send_item(&send, now, chrono_tz::Asia::Shanghai)
        .await?;
    let elapsed = start.elapsed();
    writeln!(
        out,
        "news fan-out  {} subscribers, queued and committed  {:>8.1} ms",
        fan_out.queued,
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
    .await?
    .with_secrets(&jingxun::secrets::Secrets::generate()?);
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
        new_inbound: Default::default(),
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
