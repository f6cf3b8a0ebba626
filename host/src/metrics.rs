//! `GET /metrics` for Prometheus, on a listener of its own (`[metrics] listen`, off by default):
//! queue depths, each modem's state and counters, command latencies and plugin failures, and
//! the HTTP port's requests by status.
//!
//! The endpoint has no authentication: bind it to loopback or to a monitoring network only,
//! never to an address the public (or the web admin's users) can reach. What it shows is
//! operational only. Labels are limited to values the platform's own configuration defines (a
//! modem's configured name, a command keyword, a plugin's name, a state, an HTTP status): never
//! a phone number, a modem's service number or port, a text, a login, a key or an error
//! message, whatever the metric. [`Labels`] structs are the only label sets, so nothing else
//! can be added by accident at a call site.
//!
//! Built on `prometheus-client`, the Prometheus project's own Rust client. Counters and the
//! latency histogram live as long as the process, in [`global`] (the router records into it
//! where it measures a plugin call; the listener's layer [`count_requests`] counts every
//! request). Queue depths and modem snapshots are read at each scrape, from the store and the
//! modem handles, as the dashboard and `/healthz` read them.

use std::sync::LazyLock;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio_util::sync::CancellationToken;

use crate::modem::driver::ModemHandle;
use crate::modem::status::{LinkState, ModemStatus};
use crate::plugins::{InvocationError, Outcome, PluginReply};
use crate::store::{QueueDepths, Store};

/// Every metric's name starts with this, then `_`.
pub const PREFIX: &str = "jingxun";

/// Scrapes answered at once on the metrics listener; more wait for a turn. A scrape is one
/// `GROUP BY` on the messages table; a few at a time is plenty for a Prometheus or two.
const MAX_CONCURRENT_SCRAPES: usize = 4;

/// How long a scrape may take before it is answered 408 (a store that does not answer).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(20);

/// Every state a modem link can be in, for `jingxun_modem_state` (one series per state, 1 for
/// the current one, so that a state that is not current reads 0 rather than vanishing).
const LINK_STATES: [LinkState; 5] = [
    LinkState::Connecting,
    LinkState::Initialising,
    LinkState::Ready,
    LinkState::Down,
    LinkState::Stopped,
];

/// The label sets, all of them. Each field is a value the platform's configuration or code
/// defines, never one a sender or a user typed.
pub mod labels {
    use prometheus_client::encoding::EncodeLabelSet;

    /// `state`: an outbound message state.
    #[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct QueueState {
        /// `queued`, `sending`, `sent`, `delivered`, `failed` or `expired`.
        pub state: &'static str,
    }

    /// `modem`: a modem's configured name (validated: letters, digits, `-`, `_`).
    #[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Modem {
        /// The `[[modem]] name`.
        pub modem: String,
    }

    /// `modem` and one of its link states.
    #[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct ModemState {
        /// The `[[modem]] name`.
        pub modem: String,
        /// `connecting`, `initialising`, `ready`, `down` or `stopped`.
        pub state: &'static str,
    }

    /// One plugin call: the command keyword, the plugin and how it ended.
    #[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Command {
        /// The command keyword (`CP`), upper-case ASCII as the plugin's manifest declares it.
        pub keyword: String,
        /// The plugin's name.
        pub plugin: String,
        /// `answered`, `not_found`, `bad_arguments` or `error`.
        pub outcome: &'static str,
    }

    /// A plugin call that failed: the plugin and the kind of failure.
    #[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct PluginFailure {
        /// The plugin's name.
        pub plugin: String,
        /// `unavailable`, `internal`, `trap`, `timeout`, `out_of_memory`, `host` or
        /// `unknown_keyword`.
        pub kind: &'static str,
    }

    /// A request to the HTTP port: which part of it and the answer's status.
    #[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct HttpRequest {
        /// `api` (`/api/...`), `health` (`/healthz`) or `web` (the web admin, everything else).
        pub surface: &'static str,
        /// The status code answered (`200`, `401`, `429`...).
        pub status: u16,
    }
}

use labels::{
    Command, HttpRequest, Modem, ModemState as ModemStateLabels, PluginFailure, QueueState,
};

/// The histogram of plugin call latencies: 1 ms to about 8 s, doubling (a plugin has
/// `[plugins] cpu_limit_ms` of CPU, 200 ms by default, but may wait longer on its datasource).
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// The counters and histograms that live as long as the process. Cheap to clone (the families
/// are shared).
#[derive(Debug, Clone)]
pub struct Metrics {
    commands: Family<Command, Histogram, fn() -> Histogram>,
    plugin_failures: Family<PluginFailure, Counter>,
    http_requests: Family<HttpRequest, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The process's metrics: what the router and the HTTP layer record into and `/metrics` shows.
pub fn global() -> &'static Metrics {
    static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &GLOBAL
}

/// What is read at each scrape.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Outbound messages per state; `None` when the store did not answer.
    pub queue: Option<QueueDepths>,
    /// Every modem's status.
    pub modems: Vec<ModemStatus>,
}

/// The text formats `/metrics` answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4: the default, what every scraper reads.
    Prometheus,
    /// OpenMetrics 1.0 text, for a scraper that asks for it in `Accept`.
    OpenMetrics,
}

impl Format {
    /// The format a request's `Accept` header asks for.
    pub fn from_accept(headers: &HeaderMap) -> Format {
        let asks_openmetrics = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("application/openmetrics-text"));
        if asks_openmetrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// Its `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

impl Metrics {
    /// Empty counters and histograms.
    pub fn new() -> Metrics {
        Metrics {
            commands: Family::new_with_constructor(latency_histogram),
            plugin_failures: Family::default(),
            http_requests: Family::default(),
        }
    }

    /// Records one plugin call for `keyword`, answered by `plugin`, that took `elapsed`: its
    /// latency by outcome, and a failure when it failed (bad arguments are the sender's
    /// mistake, not a failure).
    pub fn record_plugin_call(
        &self,
        keyword: &str,
        plugin: &str,
        result: &Result<PluginReply, InvocationError>,
        elapsed: Duration,
    ) {
        let (outcome, failure) = match result {
            Ok(reply) => (
                match reply.outcome {
                    Outcome::Answered => "answered",
                    Outcome::NotFound => "not_found",
                },
                None,
            ),
            Err(InvocationError::BadArguments { .. }) => ("bad_arguments", None),
            Err(e) => ("error", Some(failure_kind(e))),
        };
        self.commands
            .get_or_create(&Command {
                keyword: keyword.to_owned(),
                plugin: plugin.to_owned(),
                outcome,
            })
            .observe(elapsed.as_secs_f64());
        if let Some(kind) = failure {
            self.plugin_failures
                .get_or_create(&PluginFailure {
                    plugin: plugin.to_owned(),
                    kind,
                })
                .inc();
        }
    }

    /// Counts one answered request to the HTTP port.
    pub fn record_request(&self, path: &str, status: StatusCode) {
        self.http_requests
            .get_or_create(&HttpRequest {
                surface: surface(path),
                status: status.as_u16(),
            })
            .inc();
    }

    /// The exposition of these metrics and of `snapshot`, in `format`.
    pub fn render(&self, snapshot: &Snapshot, format: Format) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::with_prefix(PREFIX);
        self.register(&mut registry);
        register_snapshot(&mut registry, snapshot);
        let mut text = String::new();
        match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?
            }
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut text, &registry)?,
        }
        Ok(text)
    }

    /// Registers the long-lived families (clones share their values).
    fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "command_duration",
            "Time a plugin took to answer an SMS command, by keyword, plugin and outcome",
            Unit::Seconds,
            self.commands.clone(),
        );
        registry.register(
            "plugin_failures",
            "Plugin calls that failed (unavailable datasource, crash, CPU or memory limit...), by plugin and kind",
            self.plugin_failures.clone(),
        );
        registry.register(
            "http_requests",
            "Requests answered on the HTTP port, by surface (api, web, health) and status",
            self.http_requests.clone(),
        );
    }
}

/// The kind of a failed plugin call, for the `kind` label (the error's text stays in the log
/// and the audit row: it may quote a datasource's answer).
fn failure_kind(error: &InvocationError) -> &'static str {
    match error {
        InvocationError::UnknownKeyword(_) => "unknown_keyword",
        InvocationError::BadArguments { .. } => "bad_arguments",
        InvocationError::Unavailable { .. } => "unavailable",
        InvocationError::Internal { .. } => "internal",
        InvocationError::Trap { .. } => "trap",
        InvocationError::Timeout { .. } => "timeout",
        InvocationError::OutOfMemory { .. } => "out_of_memory",
        InvocationError::ReplyTooLong { .. } => "reply_too_long",
        InvocationError::DeadlinePassed { .. } => "deadline",
        InvocationError::TooManyHostCalls { .. } => "host_calls",
        InvocationError::NotCommitted { .. } => "not_committed",
        InvocationError::NotLoaded(_) => "not_loaded",
        InvocationError::EventNotGranted { .. } => "not_granted",
        InvocationError::Host { .. } => "host",
    }
}

/// Which part of the HTTP port a path belongs to.
fn surface(path: &str) -> &'static str {
    if path == "/api" || path.starts_with("/api/") {
        "api"
    } else if path == "/healthz" {
        "health"
    } else {
        "web"
    }
}

/// Registers the values read at this scrape: queue depths and modems.
fn register_snapshot(registry: &mut Registry, snapshot: &Snapshot) {
    let store_up: Gauge = Gauge::default();
    store_up.set(i64::from(snapshot.queue.is_some()));
    registry.register(
        "store_up",
        "1 when the message store answered this scrape, 0 when it did not",
        store_up,
    );
    let queue: Family<QueueState, Gauge> = Family::default();
    if let Some(depths) = &snapshot.queue {
        for (state, n) in [
            ("queued", depths.queued),
            ("sending", depths.sending),
            ("sent", depths.sent),
            ("delivered", depths.delivered),
            ("failed", depths.failed),
            ("expired", depths.expired),
        ] {
            queue
                .get_or_create(&QueueState { state })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "queue_messages",
        "Outbound messages by state (queued and sending are the queue; failed are dead letters)",
        queue,
    );

    let ready: Family<Modem, Gauge> = Family::default();
    let state: Family<ModemStateLabels, Gauge> = Family::default();
    let signal: Family<Modem, Gauge> = Family::default();
    let registered: Family<Modem, Gauge> = Family::default();
    let sent: Family<Modem, Counter> = Family::default();
    let failed: Family<Modem, Counter> = Family::default();
    let received: Family<Modem, Counter> = Family::default();
    let reconnects: Family<Modem, Counter> = Family::default();
    for status in &snapshot.modems {
        let modem = Modem {
            modem: status.name.clone(),
        };
        ready
            .get_or_create(&modem)
            .set(i64::from(status.is_ready()));
        for link in LINK_STATES {
            state
                .get_or_create(&ModemStateLabels {
                    modem: status.name.clone(),
                    state: link.as_str(),
                })
                .set(i64::from(status.state == link));
        }
        // +CSQ 99 is "not known or not detectable": no sample rather than a false 99.
        if let Some(csq) = status.signal.filter(|&csq| csq != 99) {
            signal.get_or_create(&modem).set(i64::from(csq));
        }
        if let Some(is_registered) = status.registered {
            registered
                .get_or_create(&modem)
                .set(i64::from(is_registered));
        }
        sent.get_or_create(&modem).inc_by(status.parts_sent);
        failed.get_or_create(&modem).inc_by(status.parts_failed);
        received.get_or_create(&modem).inc_by(status.parts_received);
        reconnects.get_or_create(&modem).inc_by(status.reconnects);
    }
    registry.register(
        "modem_ready",
        "1 when the modem takes work (link ready and not known to be unregistered), else 0",
        ready,
    );
    registry.register(
        "modem_state",
        "The modem link's state: 1 for the current one, 0 for the others",
        state,
    );
    registry.register(
        "modem_signal_csq",
        "Signal quality as +CSQ reports it (0-31), when known",
        signal,
    );
    registry.register(
        "modem_registered",
        "1 when the modem is registered on the network, 0 when not, absent when unknown",
        registered,
    );
    registry.register(
        "modem_parts_sent",
        "SMS parts the modem sent since the daemon started",
        sent,
    );
    registry.register(
        "modem_parts_failed",
        "SMS parts the modem failed to send since the daemon started",
        failed,
    );
    registry.register(
        "modem_parts_received",
        "SMS parts the modem received and stored since the daemon started",
        received,
    );
    registry.register(
        "modem_reconnects",
        "Times the modem link was re-established since the daemon started",
        reconnects,
    );
}

/// Tower middleware (`axum::middleware::from_fn`) counting every request answered on the HTTP
/// port into [`global`], by surface and status. Put it outermost, so that the requests the
/// listener's limits answer (408, 413) are counted too.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let surface_path = request.uri().path().to_owned();
    let response = next.run(request).await;
    global().record_request(&surface_path, response.status());
    response
}

/// What the metrics listener reads at each scrape.
#[derive(Clone)]
pub struct MetricsState {
    /// The store, for queue depths.
    pub store: Store,
    /// The running modems.
    pub modems: Vec<ModemHandle>,
    /// The counters and histograms shown.
    pub metrics: Metrics,
}

/// The metrics listener's routes: `GET /metrics` only, a few scrapes at a time, each answered
/// within [`SCRAPE_TIMEOUT`].
pub fn router(state: MetricsState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            MAX_CONCURRENT_SCRAPES,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            SCRAPE_TIMEOUT,
        ))
}

/// Serves [`router`] on `listener` until `shutdown`; warns when that is not a loopback address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: MetricsState,
    shutdown: CancellationToken,
) {
    if let Ok(address) = listener.local_addr()
        && !address.ip().is_loopback()
    {
        tracing::warn!(
            listen = %address,
            "the metrics listener has no authentication and is not on loopback: make sure only the monitoring network can reach it"
        );
    }
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "the metrics listener failed");
    }
}

/// `GET /metrics`.
async fn scrape(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    let queue = match state.store.queue_depths().await {
        Ok(depths) => Some(depths),
        Err(e) => {
            tracing::warn!(error = %e, "/metrics: the store does not answer");
            None
        }
    };
    let snapshot = Snapshot {
        queue,
        modems: state.modems.iter().map(ModemHandle::status).collect(),
    };
    let format = Format::from_accept(&headers);
    match state.metrics.render(&snapshot, format) {
        Ok(text) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(format.content_type()),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "/metrics: cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A modem status carrying everything that must never become a label: a service number,
    /// a port, an error quoting a phone number.
    fn modem(name: &str, state: LinkState) -> ModemStatus {
        ModemStatus {
            state,
            signal: Some(17),
            registered: Some(true),
            last_error: Some("+CMS ERROR 500 sending to +8613912345678".into()),
            parts_sent: 7,
            parts_failed: 2,
            parts_received: 3,
            reconnects: 1,
            ..ModemStatus::new(name, "/dev/ttyUSB7", Some("8613800138000".into()), Some(30))
        }
    }

    fn answered() -> Result<PluginReply, InvocationError> {
        Ok(PluginReply {
            outcome: Outcome::Answered,
            text: "京A12345 owner 张三 13712345678".into(),
            plugin: "police-cp".into(),
            version: "1.0.0".into(),
        })
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            queue: Some(QueueDepths {
                queued: 5,
                sending: 1,
                sent: 10,
                delivered: 8,
                failed: 2,
                expired: 0,
            }),
            modems: vec![modem("m0", LinkState::Ready), modem("m1", LinkState::Down)],
        }
    }

    fn recorded() -> Metrics {
        let metrics = Metrics::new();
        metrics.record_plugin_call("CP", "police-cp", &answered(), Duration::from_millis(12));
        metrics.record_plugin_call(
            "CP",
            "police-cp",
            &Err(InvocationError::Unavailable {
                plugin: "police-cp".into(),
                reason: "datasource police: connection refused to 10.1.2.3".into(),
            }),
            Duration::from_millis(900),
        );
        metrics.record_plugin_call(
            "SFZ",
            "police-sfz",
            &Err(InvocationError::BadArguments {
                plugin: "police-sfz".into(),
                usage: "SFZ <身份证号>".into(),
            }),
            Duration::from_millis(1),
        );
        metrics.record_request("/api/v1/messages", StatusCode::ACCEPTED);
        metrics.record_request("/api/v1/messages", StatusCode::UNAUTHORIZED);
        metrics.record_request("/api/v1/messages", StatusCode::ACCEPTED);
        metrics.record_request("/healthz", StatusCode::OK);
        metrics.record_request("/messages", StatusCode::OK);
        metrics
    }

    /// `# TYPE name type` lines of an exposition.
    fn types(text: &str) -> Vec<(String, String)> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
            .collect()
    }

    /// The label names and values of every sample line.
    fn labels(text: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((_, rest)) = line.split_once('{') else {
                continue;
            };
            let (inside, _) = rest.rsplit_once('}').expect("a closed label set");
            for pair in inside.split(',') {
                let (name, value) = pair.split_once('=').expect("name=value");
                found.push((name.to_owned(), value.trim_matches('"').to_owned()));
            }
        }
        found
    }

    #[test]
    fn the_exposition_names_every_family_with_its_type() {
        let text = recorded().render(&snapshot(), Format::Prometheus).unwrap();
        let types = types(&text);
        for (name, kind) in [
            ("jingxun_store_up", "gauge"),
            ("jingxun_queue_messages", "gauge"),
            ("jingxun_modem_ready", "gauge"),
            ("jingxun_modem_state", "gauge"),
            ("jingxun_modem_signal_csq", "gauge"),
            ("jingxun_modem_registered", "gauge"),
            ("jingxun_modem_parts_sent_total", "counter"),
            ("jingxun_modem_parts_failed_total", "counter"),
            ("jingxun_modem_parts_received_total", "counter"),
            ("jingxun_modem_reconnects_total", "counter"),
            ("jingxun_command_duration_seconds", "histogram"),
            ("jingxun_plugin_failures_total", "counter"),
            ("jingxun_http_requests_total", "counter"),
        ] {
            assert!(
                types.contains(&(name.to_owned(), kind.to_owned())),
                "no `# TYPE {name} {kind}` in:\n{text}"
            );
        }
        for expected in [
            "jingxun_store_up 1\n",
            "jingxun_queue_messages{state=\"queued\"} 5\n",
            "jingxun_queue_messages{state=\"failed\"} 2\n",
            "jingxun_modem_ready{modem=\"m0\"} 1\n",
            "jingxun_modem_ready{modem=\"m1\"} 0\n",
            "jingxun_modem_state{modem=\"m1\",state=\"down\"} 1\n",
            "jingxun_modem_state{modem=\"m1\",state=\"ready\"} 0\n",
            "jingxun_modem_signal_csq{modem=\"m0\"} 17\n",
            "jingxun_modem_parts_sent_total{modem=\"m0\"} 7\n",
            "jingxun_modem_reconnects_total{modem=\"m1\"} 1\n",
            "jingxun_command_duration_seconds_count{keyword=\"CP\",plugin=\"police-cp\",outcome=\"answered\"} 1\n",
            "jingxun_command_duration_seconds_count{keyword=\"CP\",plugin=\"police-cp\",outcome=\"error\"} 1\n",
            "jingxun_command_duration_seconds_count{keyword=\"SFZ\",plugin=\"police-sfz\",outcome=\"bad_arguments\"} 1\n",
            "jingxun_plugin_failures_total{plugin=\"police-cp\",kind=\"unavailable\"} 1\n",
            "jingxun_http_requests_total{surface=\"api\",status=\"202\"} 2\n",
            "jingxun_http_requests_total{surface=\"api\",status=\"401\"} 1\n",
            "jingxun_http_requests_total{surface=\"health\",status=\"200\"} 1\n",
            "jingxun_http_requests_total{surface=\"web\",status=\"200\"} 1\n",
        ] {
            assert!(text.contains(expected), "no `{expected}` in:\n{text}");
        }
        assert!(
            !text.contains("plugin=\"police-sfz\",kind"),
            "bad arguments are the sender's mistake, not a plugin failure:\n{text}"
        );
        let le: Vec<_> = labels(&text)
            .into_iter()
            .filter(|(name, _)| name == "le")
            .map(|(_, v)| v)
            .collect();
        assert!(le.contains(&"0.001".to_owned()) && le.contains(&"+Inf".to_owned()));
    }

    #[test]
    fn no_phone_number_text_port_or_error_reaches_a_label() {
        let text = recorded().render(&snapshot(), Format::Prometheus).unwrap();
        for secret in [
            "13800138000",
            "13912345678",
            "13712345678",
            "ttyUSB7",
            "CMS ERROR",
            "10.1.2.3",
            "张三",
            "身份证",
            "/api/v1/messages",
        ] {
            assert!(!text.contains(secret), "`{secret}` is exposed:\n{text}");
        }
        let allowed = [
            "state", "modem", "keyword", "plugin", "outcome", "kind", "surface", "status", "le",
        ];
        for (name, value) in labels(&text) {
            assert!(
                allowed.contains(&name.as_str()),
                "label `{name}` in:\n{text}"
            );
            assert!(
                value.chars().filter(char::is_ascii_digit).count() < 7,
                "label {name}={value} looks like a number of someone's"
            );
        }
    }

    #[test]
    fn a_store_that_does_not_answer_reads_as_down_with_no_queue() {
        let snapshot = Snapshot {
            queue: None,
            modems: Vec::new(),
        };
        let text = Metrics::new()
            .render(&snapshot, Format::Prometheus)
            .unwrap();
        assert!(text.contains("jingxun_store_up 0\n"), "{text}");
        assert!(!text.contains("jingxun_queue_messages{"), "{text}");
    }

    #[test]
    fn openmetrics_is_answered_to_a_scraper_that_asks_for_it() {
        let mut headers = HeaderMap::new();
        assert_eq!(Format::from_accept(&headers), Format::Prometheus);
        assert!(Format::Prometheus.content_type().contains("version=0.0.4"));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4",
            ),
        );
        assert_eq!(Format::from_accept(&headers), Format::OpenMetrics);
        let text = recorded().render(&snapshot(), Format::OpenMetrics).unwrap();
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            text.contains("# TYPE jingxun_http_requests counter"),
            "{text}"
        );
    }

    #[test]
    fn requests_are_counted_by_surface() {
        assert_eq!(surface("/api/v1/messages"), "api");
        assert_eq!(surface("/api/openapi.json"), "api");
        assert_eq!(surface("/healthz"), "health");
        assert_eq!(surface("/"), "web");
        assert_eq!(surface("/apikeys"), "web");
    }
}
