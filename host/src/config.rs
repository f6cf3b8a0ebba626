//! The daemon's configuration: one TOML file whose every key has a documented default
//! (`jingxun.example.toml` at the repository root lists them all), overridable from the
//! environment (`JINGXUN_DATABASE__URL`, `JINGXUN_HTTP__LISTEN`, `JINGXUN_QUEUE__LEASE_SECONDS`...:
//! the prefix `JINGXUN_`, then the key path with `__` between levels), validated at start with
//! errors that name the offending key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use jingxun_vocabulary::BuiltinRole;
use serde::{Deserialize, Serialize};

/// The file looked for in the current folder when no `--config` is given.
pub const DEFAULT_FILE: &str = "jingxun.toml";

/// The port name that selects a built-in simulated modem instead of a serial device.
pub const SIMULATED_PORT: &str = "sim";

/// Baud rates a serial modem line may be set to.
const VALID_BAUDS: &[u32] = &[
    1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
];

/// Longest `wait` of the HTTP API's inbox long-poll, in seconds (`api::inbound` enforces it; the
/// configuration checks that `http.request_timeout_seconds` outlasts it).
pub const INBOX_MAX_WAIT_SECONDS: u32 = 30;

/// Everything `jingxun serve` and the other subcommands read at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// What concerns the whole platform: its time zone.
    #[serde(default)]
    pub general: GeneralConfig,
    /// Where messages are stored.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// The HTTP listener (health, API and web admin).
    #[serde(default)]
    pub http: HttpConfig,
    /// The GSM modems, one `[[modem]]` table each.
    #[serde(default, rename = "modem")]
    pub modems: Vec<ModemConfig>,
    /// How outbound messages are scheduled and retried.
    #[serde(default)]
    pub queue: QueueConfig,
    /// Text and number handling.
    #[serde(default)]
    pub sms: SmsConfig,
    /// How SMS commands are answered.
    #[serde(default)]
    pub router: RouterConfig,
    /// Diagnostics.
    #[serde(default)]
    pub log: LogConfig,
    /// The WebAssembly query plugins.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// The web admin: sessions, lock-out, cookies.
    #[serde(default)]
    pub web: WebConfig,
    /// Webhook deliveries to API clients: the CAs trusted for `https://`.
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    /// Prometheus metrics on a listener of their own (off by default).
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The platform key that keys the audit chain (see [`crate::secrets`]).
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// How long messages and the API's records are kept (see [`crate::store::retention`]).
    #[serde(default)]
    pub retention: RetentionConfig,
}

/// `[general]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneralConfig {
    /// The platform's time zone, an IANA name: plugins' daily schedules are in it.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

fn default_time_zone() -> String {
    "Asia/Shanghai".into()
}

impl Default for GeneralConfig {
    fn default() -> Self {
        GeneralConfig {
            time_zone: default_time_zone(),
        }
    }
}

impl GeneralConfig {
    /// The time zone, checked by [`Config::validate`].
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

/// `[web]`: the web admin's sign-in and sessions (checklist "Sign-in and sessions").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Minutes without a request after which an administrator's session ends.
    #[serde(default = "default_web_admin_idle_minutes")]
    pub admin_idle_minutes: u64,
    /// Minutes without a request after which other sessions end.
    #[serde(default = "default_web_idle_minutes")]
    pub idle_minutes: u64,
    /// Hours after sign-in after which every session ends.
    #[serde(default = "default_web_absolute_hours")]
    pub absolute_hours: u64,
    /// Failed sign-ins in a row that lock an account.
    #[serde(default = "default_web_lockout_failures")]
    pub lockout_failures: u32,
    /// Minutes a locked account stays locked.
    #[serde(default = "default_web_lockout_minutes")]
    pub lockout_minutes: u64,
    /// Failed sign-ins one client address may make in a row (whatever the logins) before its
    /// sign-ins are refused for a while.
    #[serde(default = "default_web_signin_source_burst")]
    pub signin_source_burst: u32,
    /// Seconds after which such an address may fail once more.
    #[serde(default = "default_web_signin_source_refill_seconds")]
    pub signin_source_refill_seconds: u64,
    /// The web roles (`admin`, `operator`, `registrar`, `auditor`) whose users must sign in
    /// with a second factor (TOTP, issue 18 item 10): one who has none yet is sent, after the
    /// password, to enrol it and may do nothing else first. Users of other roles may enrol
    /// one of their own accord. Default: administrators and auditors; `[]` requires nobody.
    #[serde(default = "default_web_require_totp_for")]
    pub require_totp_for: Vec<String>,
    /// Minutes after a user last proved who they are (sign-in, or again on the re-check
    /// page) after which a sensitive action (users, roles, grants, API keys, plugin uploads,
    /// the second factor itself) asks for a code or the password once more.
    #[serde(default = "default_web_reauth_minutes")]
    pub reauth_minutes: u64,
    /// Mark cookies `Secure` and name the session cookie `__Host-jx_session`. Browsers then
    /// send it only over HTTPS, except to `localhost`/`127.0.0.1`, which Chromium and Firefox
    /// treat as secure. Set to false only when serving plain HTTP to other hosts, and never in
    /// production.
    #[serde(default = "default_true")]
    pub secure_cookies: bool,
    /// Where the browser bundle (`pkg/jingxun_web.js`, `.wasm`) is served from; default:
    /// `../site` from the running executable (`target/site` for `target/release/jingxun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_dir: Option<PathBuf>,
}

fn default_web_require_totp_for() -> Vec<String> {
    [BuiltinRole::Admin, BuiltinRole::Auditor]
        .map(|role| role.as_str().to_owned())
        .into()
}
fn default_web_reauth_minutes() -> u64 {
    5
}
fn default_web_admin_idle_minutes() -> u64 {
    15
}
fn default_web_idle_minutes() -> u64 {
    30
}
fn default_web_absolute_hours() -> u64 {
    8
}
fn default_web_lockout_failures() -> u32 {
    5
}
fn default_web_lockout_minutes() -> u64 {
    10
}
fn default_web_signin_source_burst() -> u32 {
    20
}
fn default_web_signin_source_refill_seconds() -> u64 {
    30
}
impl Default for WebConfig {
    fn default() -> Self {
        Self {
            admin_idle_minutes: default_web_admin_idle_minutes(),
            idle_minutes: default_web_idle_minutes(),
            absolute_hours: default_web_absolute_hours(),
            lockout_failures: default_web_lockout_failures(),
            lockout_minutes: default_web_lockout_minutes(),
            signin_source_burst: default_web_signin_source_burst(),
            signin_source_refill_seconds: default_web_signin_source_refill_seconds(),
            require_totp_for: default_web_require_totp_for(),
            reauth_minutes: default_web_reauth_minutes(),
            secure_cookies: true,
            site_dir: None,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://FILE` (created if missing) or `postgres://user@host:port/db`.
    #[serde(default = "default_database_url")]
    pub url: String,
}

/// `[secrets]`: the platform key, kept outside the database (see [`crate::secrets`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// The key file: 64 hexadecimal digits (32 random bytes), created with mode 0600 at first
    /// use when missing. Absent (the default): `jingxun.key` beside a SQLite database file,
    /// else in the current folder ([`crate::secrets::key_path`]).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// `[webhooks]`: deliveries of inbound SMS to API clients' URLs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// A PEM file of certificate authorities trusted for `https://` webhooks besides the
    /// system's (a police network's own CA). Absent (the default): the system's only.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `[metrics]`: `GET /metrics` for Prometheus ([`crate::metrics`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address and port of the metrics listener (`127.0.0.1:9464`). It has no authentication:
    /// bind it to loopback or a monitoring network, never to a public address. Absent (the
    /// default): no metrics listener.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
}

/// `[retention]`: what the daemon's hourly retention run deletes ([`crate::store::retention`]).
/// Each limit is in days; 0 keeps those rows for ever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Finished messages (sent, delivered, failed, expired; inbound once routed) older than
    /// this are deleted with their parts. 365: a year, as long as the audit rows that name
    /// them must be kept at least, so that for that year an auditor finds the message an audit
    /// row points at; after it only the audit trail (which never holds a text) remains.
    #[serde(default = "default_retention_messages_days")]
    pub messages_days: u32,
    /// The API's idempotency records (a request's first answer, kept so that a retry queues
    /// nothing twice). 30: clients retry within minutes or hours; a month also covers one that
    /// replays its outbox after a long outage.
    #[serde(default = "default_retention_idempotency_days")]
    pub idempotency_days: u32,
    /// Finished webhook deliveries (delivered or abandoned), the record of each call made to an
    /// API client's webhook. 90: a quarter, to trace a client's complaint; the messages
    /// themselves stay in the client's inbox for `messages_days`.
    #[serde(default = "default_retention_webhook_deliveries_days")]
    pub webhook_deliveries_days: u32,
    /// Finished deliveries of events to plugins (done or given up), and the host events once
    /// fanned out to them. 90, as webhook deliveries: to trace what a plugin was told.
    #[serde(default = "default_retention_event_deliveries_days")]
    pub event_deliveries_days: u32,
    /// The least time audit rows are kept: at least 365 (a smaller value is refused). Jingxun
    /// never deletes audit rows: the log is append-only (triggers refuse DELETE) and its hash
    /// chain runs from row 1, so it keeps them for ever, which satisfies any value.
    #[serde(default = "default_retention_audit_days")]
    pub audit_days: u32,
}

/// Audit rows are kept at least this many days; `retention.audit_days` may not be lower.
pub const MIN_AUDIT_DAYS: u32 = 365;

fn default_retention_messages_days() -> u32 {
    365
}
fn default_retention_idempotency_days() -> u32 {
    30
}
fn default_retention_webhook_deliveries_days() -> u32 {
    90
}
fn default_retention_event_deliveries_days() -> u32 {
    90
}
fn default_retention_audit_days() -> u32 {
    MIN_AUDIT_DAYS
}
impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            messages_days: default_retention_messages_days(),
            idempotency_days: default_retention_idempotency_days(),
            webhook_deliveries_days: default_retention_webhook_deliveries_days(),
            event_deliveries_days: default_retention_event_deliveries_days(),
            audit_days: default_retention_audit_days(),
        }
    }
}

impl RetentionConfig {
    /// Checks the limits; the error names the key.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| {
            Err(ConfigError::Invalid {
                key: format!("retention.{key}"),
                reason,
            })
        };
        if self.audit_days < MIN_AUDIT_DAYS {
            return invalid(
                "audit_days",
                format!(
                    "must be at least {MIN_AUDIT_DAYS}: audit rows are kept at least a year \
                     (Jingxun never deletes them)"
                ),
            );
        }
        // Status reports still arrive for a week after sending (store::STATUS_REPORT_WINDOW).
        if (1..7).contains(&self.messages_days) {
            return invalid(
                "messages_days",
                "must be at least 7 (delivery reports arrive up to a week later), or 0 to keep \
                 messages for ever"
                    .into(),
            );
        }
        for (key, days) in [
            ("messages_days", self.messages_days),
            ("idempotency_days", self.idempotency_days),
            ("webhook_deliveries_days", self.webhook_deliveries_days),
            ("event_deliveries_days", self.event_deliveries_days),
        ] {
            if days > 36_500 {
                return invalid(
                    key,
                    "must be at most 36500 (a hundred years), or 0 for ever".into(),
                );
            }
        }
        Ok(())
    }
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Reverse proxies (CIDR or one address) whose `X-Forwarded-For` names the client: from
    /// these peers, the API's network limits, failure budgets and audit rows, and the web
    /// admin's sign-in records, use the forwarded address. Empty (the default): the header is
    /// ignored and the client is the TCP peer.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Requests handled at once (API, web admin and health together); further requests wait
    /// for one to finish, within `request_timeout_seconds`.
    #[serde(default = "default_http_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
    /// Longest time from a request's arrival to its answer's first byte (reading its body
    /// included); a request that takes longer is answered 408. Longer than the API inbox's
    /// long-poll (30 s).
    #[serde(default = "default_http_request_timeout_seconds")]
    pub request_timeout_seconds: u64,
}

fn default_http_max_concurrent_requests() -> usize {
    256
}
fn default_http_request_timeout_seconds() -> u64 {
    60
}

impl HttpConfig {
    /// [`Self::trusted_proxies`] as networks; those that cannot be read are left out (the
    /// validation refuses them first).
    pub fn trusted_proxy_networks(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|n| crate::net::client_address::parse_network(n))
            .collect()
    }
}

/// One `[[modem]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModemConfig {
    /// Unique short name, shown in logs, the store and the dashboard.
    pub name: String,
    /// Serial device (`/dev/ttyUSB0`), or `sim` for a built-in simulated modem.
    pub port: String,
    /// Line speed.
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// The service number this modem's SIM answers to, if it has one of its own.
    #[serde(default)]
    pub service_number: Option<String>,
    /// Most SMS parts this modem may send per minute; absent means as fast as the modem takes them.
    #[serde(default)]
    pub max_parts_per_minute: Option<u32>,
    /// How long to wait for the answer to an ordinary AT command.
    #[serde(default = "default_command_timeout_ms")]
    pub command_timeout_ms: u64,
    /// How long to wait for `+CMGS` to answer (the network can take seconds).
    #[serde(default = "default_send_timeout_ms")]
    pub send_timeout_ms: u64,
    /// How often to poll signal and registration (`+CSQ`, `+CREG`).
    #[serde(default = "default_health_interval_seconds")]
    pub health_interval_seconds: u64,
}

/// `[queue]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// How often the dispatcher looks for due messages (also woken at once by local sends).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// How long a claimed message stays with its sender before another may take it over
    /// (the recovery time after a crash). Renewed after every part.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u64,
    /// Attempts before a message is failed for good (dead letter).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further attempt.
    #[serde(default = "default_retry_base_seconds")]
    pub retry_base_seconds: u64,
    /// Longest delay between retries.
    #[serde(default = "default_retry_max_seconds")]
    pub retry_max_seconds: u64,
    /// Ask the network for delivery reports.
    #[serde(default = "default_true")]
    pub status_report: bool,
    /// Use 16-bit concatenation references instead of 8-bit ones.
    #[serde(default)]
    pub wide_concat_reference: bool,
    /// How long to wait for the missing parts of a long inbound message before storing what
    /// arrived as a visible partial message.
    #[serde(default = "default_partial_timeout_seconds")]
    pub partial_timeout_seconds: u64,
}

/// `[sms]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// Country code assumed for national numbers (`13800000000` is `+8613800000000`).
    #[serde(default = "default_country_code")]
    pub default_country_code: String,
}

/// `[router]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// What an unregistered or unauthorised phone gets for a police command.
    #[serde(default)]
    pub unauthorised: UnauthorisedReply,
    /// Commands one phone may send per minute; past it, one notice, then silence.
    #[serde(default = "default_commands_per_minute")]
    pub max_commands_per_minute: u32,
    /// Commands answered at the same time.
    #[serde(default = "default_router_concurrency")]
    pub concurrency: usize,
}

/// The answer to a phone that may not use a police command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnauthorisedReply {
    /// A short refusal that reveals no data.
    #[default]
    Reply,
    /// No answer at all.
    Silent,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `jingxun=debug,info`; `RUST_LOG` wins when set.
    #[serde(default = "default_log_level")]
    pub level: String,
    /// `text` for people, `json` for log collectors.
    #[serde(default = "default_log_format")]
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[plugins]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// Where compiled plugins are cached; default: `plugin-cache` beside the SQLite database
    /// file (`./plugin-cache` with PostgreSQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// CPU time one plugin call may use (time in host calls such as queries not counted).
    #[serde(default = "default_plugin_cpu_limit_ms")]
    pub cpu_limit_ms: u64,
    /// Time one plugin call may take from start to end, host calls (queries, HTTP) included:
    /// a call past it is stopped, even while it waits for the host.
    #[serde(default = "default_plugin_wall_limit_ms")]
    pub wall_limit_ms: u64,
    /// Host calls one plugin call may make (queries, HTTP requests, log lines, clock reads).
    #[serde(default = "default_plugin_max_host_calls")]
    pub max_host_calls: u32,
    /// Memory one plugin call may use.
    #[serde(default = "default_plugin_memory_limit_mb")]
    pub memory_limit_mb: u64,
    /// Longest reply (or usage text) a plugin may answer with, in SMS parts; a longer one is
    /// an error of the plugin: audited, and the sender gets the generic failure text.
    #[serde(default = "default_plugin_max_reply_parts")]
    pub max_reply_parts: usize,
    /// Messages one plugin call may queue through its outbox; more are refused to the plugin.
    #[serde(default = "default_plugin_max_sends_per_call")]
    pub max_sends_per_call: u32,
    /// Keys one plugin may keep in its state.
    #[serde(default = "default_plugin_state_max_keys")]
    pub state_max_keys: u64,
    /// Bytes of values one plugin may keep in its state, all keys together.
    #[serde(default = "default_plugin_state_max_bytes")]
    pub state_max_bytes: u64,
    /// Deliveries of one event to a plugin before it is given up as failed (audited).
    #[serde(default = "default_plugin_event_attempts")]
    pub event_attempts: u32,
    /// Plugins (`*.wasm`) installed into a fresh database at first start; default: `../plugins`
    /// from the running executable (`target/plugins` for `target/release/jingxun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundled_dir: Option<PathBuf>,
}

fn default_plugin_cpu_limit_ms() -> u64 {
    200
}
fn default_plugin_memory_limit_mb() -> u64 {
    32
}
fn default_plugin_max_reply_parts() -> usize {
    5
}
fn default_plugin_wall_limit_ms() -> u64 {
    10_000
}
fn default_plugin_max_host_calls() -> u32 {
    256
}
fn default_plugin_max_sends_per_call() -> u32 {
    100
}
fn default_plugin_state_max_keys() -> u64 {
    10_000
}
fn default_plugin_state_max_bytes() -> u64 {
    1 << 20
}
fn default_plugin_event_attempts() -> u32 {
    8
}
impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            cpu_limit_ms: default_plugin_cpu_limit_ms(),
            wall_limit_ms: default_plugin_wall_limit_ms(),
            max_host_calls: default_plugin_max_host_calls(),
            memory_limit_mb: default_plugin_memory_limit_mb(),
            max_reply_parts: default_plugin_max_reply_parts(),
            max_sends_per_call: default_plugin_max_sends_per_call(),
            state_max_keys: default_plugin_state_max_keys(),
            state_max_bytes: default_plugin_state_max_bytes(),
            event_attempts: default_plugin_event_attempts(),
            bundled_dir: None,
        }
    }
}

fn default_database_url() -> String {
    "sqlite://jingxun.db".into()
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_baud() -> u32 {
    115_200
}
fn default_command_timeout_ms() -> u64 {
    5_000
}
fn default_send_timeout_ms() -> u64 {
    60_000
}
fn default_health_interval_seconds() -> u64 {
    30
}
fn default_poll_interval_ms() -> u64 {
    250
}
fn default_lease_seconds() -> u64 {
    120
}
fn default_max_attempts() -> u32 {
    5
}
fn default_retry_base_seconds() -> u64 {
    30
}
fn default_retry_max_seconds() -> u64 {
    3_600
}
fn default_true() -> bool {
    true
}
fn default_partial_timeout_seconds() -> u64 {
    600
}
fn default_country_code() -> String {
    "86".into()
}
fn default_commands_per_minute() -> u32 {
    10
}
fn default_router_concurrency() -> usize {
    32
}
fn default_log_level() -> String {
    "info".into()
}
fn default_log_format() -> LogFormat {
    LogFormat::Text
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: default_database_url(),
        }
    }
}
impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            trusted_proxies: Vec::new(),
            max_concurrent_requests: default_http_max_concurrent_requests(),
            request_timeout_seconds: default_http_request_timeout_seconds(),
        }
    }
}
impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: default_poll_interval_ms(),
            lease_seconds: default_lease_seconds(),
            max_attempts: default_max_attempts(),
            retry_base_seconds: default_retry_base_seconds(),
            retry_max_seconds: default_retry_max_seconds(),
            status_report: true,
            wide_concat_reference: false,
            partial_timeout_seconds: default_partial_timeout_seconds(),
        }
    }
}
impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            default_country_code: default_country_code(),
        }
    }
}
impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            unauthorised: UnauthorisedReply::Reply,
            max_commands_per_minute: default_commands_per_minute(),
            concurrency: default_router_concurrency(),
        }
    }
}
impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: default_log_level(),
            format: default_log_format(),
        }
    }
}

impl ModemConfig {
    /// A modem with every optional key at its default.
    pub fn new(name: &str, port: &str) -> Self {
        Self {
            name: name.into(),
            port: port.into(),
            baud: default_baud(),
            service_number: None,
            max_parts_per_minute: None,
            command_timeout_ms: default_command_timeout_ms(),
            send_timeout_ms: default_send_timeout_ms(),
            health_interval_seconds: default_health_interval_seconds(),
        }
    }

    /// Whether this modem is a built-in simulator rather than a serial device.
    pub fn is_simulated(&self) -> bool {
        self.port == SIMULATED_PORT
    }
}

/// What went wrong reading the configuration. Every variant names the file or key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given with `--config` does not exist.
    #[error(
        "configuration file {path} does not exist: give an existing file with --config, or none to use the embedded defaults"
    )]
    Missing {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// The TOML is malformed, or a key is unknown or of the wrong type.
    #[error("configuration {0}")]
    Parse(Box<figment::Error>),
    /// A key has a value that cannot work.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// The dotted key path, e.g. `modem[1].baud`.
        key: String,
        /// What is wrong and what would be right.
        reason: String,
    },
}

/// Where the configuration came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A TOML file.
    File(PathBuf),
    /// No file: the embedded defaults (SQLite in the current folder, one simulated modem).
    Embedded,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Embedded => f.write_str("embedded defaults"),
        }
    }
}

impl Config {
    /// The embedded defaults: what `jingxun serve` runs on with no file at all.
    pub fn embedded() -> Self {
        Self {
            general: GeneralConfig::default(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            modems: vec![ModemConfig::new("sim1", SIMULATED_PORT)],
            queue: QueueConfig::default(),
            sms: SmsConfig::default(),
            router: RouterConfig::default(),
            log: LogConfig::default(),
            plugins: PluginsConfig::default(),
            web: WebConfig::default(),
            webhooks: WebhooksConfig::default(),
            metrics: MetricsConfig::default(),
            secrets: SecretsConfig::default(),
            retention: RetentionConfig::default(),
        }
    }

    /// Loads the configuration: the file given, else `jingxun.toml` in the current folder if
    /// present, else the embedded defaults; then environment overrides; then validation.
    pub fn load(explicit: Option<&Path>) -> Result<(Self, Source), ConfigError> {
        let file = match explicit {
            Some(p) if !p.exists() => {
                return Err(ConfigError::Missing {
                    path: p.to_path_buf(),
                });
            }
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()),
        };
        let figment = match &file {
            Some(path) => Figment::new().merge(Toml::file_exact(path)),
            None => Figment::from(Serialized::defaults(Self::embedded())),
        };
        // Only `JINGXUN_<SECTION>__<KEY>` variables are configuration; other `JINGXUN_*`
        // variables (test settings, for instance) are not ours to reject.
        let env = Env::prefixed("JINGXUN_")
            .filter(|key| key.as_str().contains("__"))
            .split("__");
        let config = Self::from_figment(figment.merge(env))?;
        Ok((config, file.map_or(Source::Embedded, Source::File)))
    }

    /// Parses TOML text (plus no environment): for tests and `jingxun config check`.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(text)))
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Self = figment
            .extract()
            .map_err(|e| ConfigError::Parse(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_string(),
            })
        };
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid(
                "database.url".into(),
                "must start with sqlite:// (e.g. sqlite://jingxun.db) or postgres:// (e.g. postgres://user@127.0.0.1:5432/jingxun)",
            );
        }
        for (i, proxy) in self.http.trusted_proxies.iter().enumerate() {
            if crate::net::client_address::parse_network(proxy).is_none() {
                return invalid(
                    format!("http.trusted_proxies[{i}]"),
                    &format!(
                        "`{proxy}` is not a network: give the reverse proxy's address \
                         (127.0.0.1) or network in CIDR (10.0.0.0/24)"
                    ),
                );
            }
        }
        if let Some(path) = &self.webhooks.ca_file
            && let Err(e) = crate::net::ca_file::load_ca_file(path)
        {
            return invalid("webhooks.ca_file".into(), &e.to_string());
        }
        let mut names = std::collections::HashSet::new();
        for (i, modem) in self.modems.iter().enumerate() {
            let key = |field: &str| format!("modem[{i}].{field}");
            let name_ok = !modem.name.is_empty()
                && modem.name.len() <= 32
                && modem
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                return invalid(
                    key("name"),
                    "must be 1-32 characters of letters, digits, '-' or '_'",
                );
            }
            if !names.insert(modem.name.as_str()) {
                return invalid(
                    key("name"),
                    &format!(
                        "`{}` is used by another modem; names must be unique",
                        modem.name
                    ),
                );
            }
            if modem.port.trim().is_empty() {
                return invalid(
                    key("port"),
                    "must be a serial device such as /dev/ttyUSB0, or `sim`",
                );
            }
            if !VALID_BAUDS.contains(&modem.baud) {
                return invalid(key("baud"), &format!("must be one of {VALID_BAUDS:?}"));
            }
            if let Some(number) = &modem.service_number
                && (number.is_empty()
                    || number.len() > 20
                    || !number.chars().all(|c| c.is_ascii_digit()))
            {
                return invalid(key("service_number"), "must be 1-20 digits");
            }
            if modem.max_parts_per_minute == Some(0) {
                return invalid(
                    key("max_parts_per_minute"),
                    "must be at least 1; leave it out for no limit",
                );
            }
            if modem.command_timeout_ms < 100 || modem.send_timeout_ms < 1_000 {
                return invalid(
                    key("command_timeout_ms"),
                    "must be at least 100 (and send_timeout_ms at least 1000)",
                );
            }
            if modem.health_interval_seconds == 0 {
                return invalid(key("health_interval_seconds"), "must be at least 1");
            }
        }
        let q = &self.queue;
        if q.poll_interval_ms == 0 || q.poll_interval_ms > 60_000 {
            return invalid(
                "queue.poll_interval_ms".into(),
                "must be between 1 and 60000",
            );
        }
        if q.lease_seconds < 1 {
            return invalid("queue.lease_seconds".into(), "must be at least 1");
        }
        if q.max_attempts == 0 {
            return invalid("queue.max_attempts".into(), "must be at least 1");
        }
        if q.retry_base_seconds > q.retry_max_seconds {
            return invalid(
                "queue.retry_base_seconds".into(),
                "must not exceed queue.retry_max_seconds",
            );
        }
        let cc = &self.sms.default_country_code;
        if cc.is_empty() || cc.len() > 3 || !cc.chars().all(|c| c.is_ascii_digit()) {
            return invalid(
                "sms.default_country_code".into(),
                "must be 1-3 digits, e.g. 86",
            );
        }
        if self.router.max_commands_per_minute == 0 {
            return invalid(
                "router.max_commands_per_minute".into(),
                "must be at least 1",
            );
        }
        if !(1..=1024).contains(&self.router.concurrency) {
            return invalid("router.concurrency".into(), "must be between 1 and 1024");
        }
        if !(10..=60_000).contains(&self.plugins.cpu_limit_ms) {
            return invalid(
                "plugins.cpu_limit_ms".into(),
                "must be between 10 and 60000 (milliseconds of CPU per plugin call)",
            );
        }
        if !(1..=4096).contains(&self.plugins.memory_limit_mb) {
            return invalid(
                "plugins.memory_limit_mb".into(),
                "must be between 1 and 4096 (MiB per plugin call)",
            );
        }
        if !(self.plugins.cpu_limit_ms..=600_000).contains(&self.plugins.wall_limit_ms) {
            return invalid(
                "plugins.wall_limit_ms".into(),
                "must be at least cpu_limit_ms and at most 600000 (milliseconds per plugin call, host calls included)",
            );
        }
        if self.general.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return invalid(
                "general.time_zone".into(),
                "must be an IANA time zone name, e.g. \"Asia/Shanghai\" or \"UTC\"",
            );
        }
        if !(1..=100_000).contains(&self.plugins.max_sends_per_call) {
            return invalid(
                "plugins.max_sends_per_call".into(),
                "must be between 1 and 100000 (messages one plugin call may queue)",
            );
        }
        if self.plugins.state_max_keys == 0 || self.plugins.state_max_bytes == 0 {
            return invalid(
                "plugins.state_max_keys".into(),
                "state_max_keys and state_max_bytes must be at least 1",
            );
        }
        if !(1..=100).contains(&self.plugins.event_attempts) {
            return invalid(
                "plugins.event_attempts".into(),
                "must be between 1 and 100 (deliveries of one event before it is given up)",
            );
        }
        if !(1..=100_000).contains(&self.plugins.max_host_calls) {
            return invalid(
                "plugins.max_host_calls".into(),
                "must be between 1 and 100000 (host calls per plugin call)",
            );
        }
        if !(1..=20).contains(&self.plugins.max_reply_parts) {
            return invalid(
                "plugins.max_reply_parts".into(),
                "must be between 1 and 20 (SMS parts per reply)",
            );
        }
        let web = &self.web;
        if !(1..=1440).contains(&web.admin_idle_minutes) || !(1..=1440).contains(&web.idle_minutes)
        {
            return invalid(
                "web.idle_minutes".into(),
                "web.idle_minutes and web.admin_idle_minutes must be between 1 and 1440",
            );
        }
        if !(1..=24).contains(&web.absolute_hours) {
            return invalid("web.absolute_hours".into(), "must be between 1 and 24");
        }
        if !(1..=100).contains(&web.lockout_failures) {
            return invalid("web.lockout_failures".into(), "must be between 1 and 100");
        }
        if !(1..=1440).contains(&web.lockout_minutes) {
            return invalid("web.lockout_minutes".into(), "must be between 1 and 1440");
        }
        if !(1..=10_000).contains(&web.signin_source_burst) {
            return invalid(
                "web.signin_source_burst".into(),
                "must be between 1 and 10000",
            );
        }
        if !(1..=86_400).contains(&web.signin_source_refill_seconds) {
            return invalid(
                "web.signin_source_refill_seconds".into(),
                "must be between 1 and 86400",
            );
        }
        if let Some(role) = web.require_totp_for.iter().find(|r| {
            !r.parse::<BuiltinRole>()
                .is_ok_and(|role| role.opens_web_admin())
        }) {
            let web_roles: Vec<&str> = BuiltinRole::web_admin_roles()
                .map(BuiltinRole::as_str)
                .collect();
            return invalid(
                "web.require_totp_for".into(),
                &format!(
                    "`{role}` is not a web admin role: list some of {}",
                    web_roles.join(", ")
                ),
            );
        }
        if !(1..=60).contains(&web.reauth_minutes) {
            return invalid("web.reauth_minutes".into(), "must be between 1 and 60");
        }
        if !(1..=100_000).contains(&self.http.max_concurrent_requests) {
            return invalid(
                "http.max_concurrent_requests".into(),
                "must be between 1 and 100000",
            );
        }
        let long_poll = u64::from(INBOX_MAX_WAIT_SECONDS);
        if !(long_poll + 1..=3600).contains(&self.http.request_timeout_seconds) {
            return invalid(
                "http.request_timeout_seconds".into(),
                &format!(
                    "must be between {} (longer than the API inbox's long-poll) and 3600",
                    long_poll + 1
                ),
            );
        }
        if let Some(listen) = self.metrics.listen
            && listen == self.http.listen
        {
            return invalid(
                "metrics.listen".into(),
                "must differ from http.listen: metrics have a listener of their own; \
                 use another port (9464 is Prometheus's usual one)",
            );
        }
        self.retention.validate()?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return invalid(
                "log.level".into(),
                &format!("is not a valid filter ({e}); try `info`"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_documents_a_valid_configuration() {
        let text = include_str!("../../jingxun.example.toml");
        let config = Config::from_toml(text).expect("example parses");
        assert_eq!(config.modems.len(), 1);
        assert_eq!(config.database, DatabaseConfig::default());
        assert_eq!(config.queue, QueueConfig::default());
        assert_eq!(config.plugins, PluginsConfig::default());
        assert_eq!(config.general, GeneralConfig::default());
        assert_eq!(config.router, RouterConfig::default());
        assert_eq!(config.web, WebConfig::default());
        assert_eq!(config.webhooks, WebhooksConfig::default());
    }

    #[test]
    fn the_time_zone_is_shanghai_unless_another_real_zone_is_named() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.general.time_zone(), chrono_tz::Asia::Shanghai);
        let utc = Config::from_toml("[general]\ntime_zone = \"UTC\"\n").unwrap();
        assert_eq!(utc.general.time_zone(), chrono_tz::UTC);
        let e = Config::from_toml("[general]\ntime_zone = \"Beijing\"\n").unwrap_err();
        assert!(e.to_string().contains("general.time_zone"), "{e}");
    }

    #[test]
    fn metrics_are_off_by_default_and_may_not_share_the_http_port() {
        assert_eq!(Config::from_toml("").unwrap().metrics.listen, None);
        assert_eq!(Config::embedded().metrics.listen, None);
        let config = Config::from_toml("[metrics]\nlisten = \"127.0.0.1:9464\"\n").unwrap();
        assert_eq!(
            config.metrics.listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9464)))
        );
        let err = Config::from_toml(
            "[http]\nlisten = \"127.0.0.1:8080\"\n[metrics]\nlisten = \"127.0.0.1:8080\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("metrics.listen"), "{err}");
        let err = Config::from_toml("[metrics]\nport = 9464\n").unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
    }

    #[test]
    fn a_webhook_ca_file_that_cannot_be_read_is_refused_by_key() {
        let err = Config::from_toml("[webhooks]\nca_file = \"/nonexistent/police-ca.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhooks.ca_file"), "{err}");
        assert!(err.contains("/nonexistent/police-ca.pem"), "{err}");
    }

    #[test]
    fn web_sessions_default_to_the_checklist_and_are_validated_by_key() {
        let web = Config::from_toml("").unwrap().web;
        assert_eq!((web.admin_idle_minutes, web.absolute_hours), (15, 8));
        assert_eq!((web.lockout_failures, web.lockout_minutes), (5, 10));
        assert!(web.secure_cookies);
        let err = Config::from_toml("[web]\nabsolute_hours = 0\n").unwrap_err();
        assert!(err.to_string().contains("web.absolute_hours"), "{err}");
    }

    #[test]
    fn administrators_and_auditors_need_a_second_factor_unless_configured_otherwise() {
        let web = Config::from_toml("").unwrap().web;
        assert_eq!(web.require_totp_for, ["admin", "auditor"]);
        assert_eq!(web.reauth_minutes, 5);
        let none = Config::from_toml("[web]\nrequire_totp_for = []\n").unwrap();
        assert!(none.web.require_totp_for.is_empty());
        let err = Config::from_toml("[web]\nrequire_totp_for = [\"officer\"]\n").unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("web.require_totp_for") && err.contains("officer"),
            "{err}"
        );
        assert!(
            err.contains("admin, operator, registrar, auditor"),
            "names the valid roles: {err}"
        );
        let custom = Config::from_toml("[web]\nrequire_totp_for = [\"traffic\"]\n").unwrap_err();
        assert!(custom.to_string().contains("`traffic`"), "{custom}");
        let staff = "[web]\nrequire_totp_for = [\"operator\", \"registrar\"]\n";
        assert_eq!(
            Config::from_toml(staff).unwrap().web.require_totp_for,
            ["operator", "registrar"]
        );
        let err = Config::from_toml("[web]\nreauth_minutes = 0\n").unwrap_err();
        assert!(err.to_string().contains("web.reauth_minutes"), "{err}");
    }

    #[test]
    fn plugin_limits_default_and_are_validated_by_key() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.plugins, PluginsConfig::default());
        assert_eq!(config.plugins.cpu_limit_ms, 200);
        assert_eq!(config.plugins.memory_limit_mb, 32);
        assert_eq!(config.plugins.max_reply_parts, 5);
        assert_eq!(config.plugins.wall_limit_ms, 10_000);
        assert_eq!(config.plugins.max_host_calls, 256);
        let err =
            Config::from_toml("[plugins]\ncpu_limit_ms = 500\nwall_limit_ms = 400\n").unwrap_err();
        assert!(err.to_string().contains("plugins.wall_limit_ms"), "{err}");
        let err = Config::from_toml("[plugins]\nmax_reply_parts = 0\n").unwrap_err();
        assert!(err.to_string().contains("plugins.max_reply_parts"), "{err}");
        let err = Config::from_toml("[plugins]\ncpu_limit_ms = 0\n").unwrap_err();
        assert!(err.to_string().contains("plugins.cpu_limit_ms"), "{err}");
        let err = Config::from_toml("[plugins]\nmemory_limit_mb = 100000\n").unwrap_err();
        assert!(err.to_string().contains("plugins.memory_limit_mb"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::from_toml("[database]\nurl = \"sqlite://x.db\"\nurll = 1\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("urll"), "{text}");
    }

    #[test]
    fn a_bad_baud_names_the_modem_key() {
        let err =
            Config::from_toml("[[modem]]\nname = \"m1\"\nport = \"/dev/ttyUSB0\"\nbaud = 1234\n")
                .unwrap_err();
        assert!(err.to_string().contains("modem[0].baud"), "{err}");
    }

    #[test]
    fn duplicate_modem_names_are_rejected() {
        let text =
            "[[modem]]\nname = \"m1\"\nport = \"sim\"\n[[modem]]\nname = \"m1\"\nport = \"sim\"\n";
        let err = Config::from_toml(text).unwrap_err();
        assert!(err.to_string().contains("modem[1].name"), "{err}");
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let err = Config::from_toml("[http]\nlisten = \"not an address\"\n").unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
    }

    #[test]
    fn trusted_proxies_default_to_none_and_a_bad_one_is_named() {
        assert!(
            Config::from_toml("")
                .unwrap()
                .http
                .trusted_proxies
                .is_empty()
        );
        let config =
            Config::from_toml("[http]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/24\"]\n")
                .unwrap();
        assert_eq!(config.http.trusted_proxy_networks().len(), 2);
        let err =
            Config::from_toml("[http]\ntrusted_proxies = [\"10.0.0.1\", \"nginx\"]\n").unwrap_err();
        assert!(err.to_string().contains("http.trusted_proxies[1]"), "{err}");
    }

    #[test]
    fn an_unsupported_database_is_rejected() {
        let err = Config::from_toml("[database]\nurl = \"mysql://x\"\n").unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
    }

    #[test]
    fn a_file_without_modems_has_none_but_the_embedded_defaults_simulate_one() {
        assert!(Config::from_toml("").unwrap().modems.is_empty());
        assert!(Config::embedded().modems[0].is_simulated());
        Config::embedded().validate().unwrap();
    }
}
