//! The dashboard (issue 4): modems, queue depths, today's traffic, plugins loaded, and
//! messages per minute over the last hours. The server pushes a new [`Dashboard`] to open
//! pages (server-sent events, `/ui/events/dashboard`).

use serde::{Deserialize, Serialize};

/// Minutes the chart covers.
pub const CHART_MINUTES: usize = 180;

/// The dashboard's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub modems: Vec<ModemRow>,
    /// Outbound messages per state: queued, sending, sent, delivered, failed, expired.
    pub queue: Vec<(String, u64)>,
    /// Since midnight, China Standard Time.
    pub today: Today,
    pub plugins: Vec<PluginLoaded>,
    /// Messages per minute, oldest first, [`CHART_MINUTES`] of them ending with this minute.
    pub per_minute: Vec<MinuteCount>,
    /// When the figures were read (unix ms).
    pub at_ms: i64,
}

/// Today's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Today {
    /// Messages received.
    pub inbound: u64,
    /// Messages queued to be sent.
    pub outbound: u64,
    /// Outbound messages that failed or expired.
    pub failed: u64,
}

/// One minute of the chart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCount {
    /// The minute's start (unix ms).
    pub minute_ms: i64,
    /// Messages received in it.
    pub inbound: u64,
    /// Messages sent in it.
    pub outbound: u64,
}

/// One modem on the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModemRow {
    pub name: String,
    /// `connecting`, `initialising`, `ready`, `down`, `stopped`.
    pub state: String,
    /// `+CSQ` 0-31 (99 unknown).
    pub signal: Option<u8>,
    pub registered: Option<bool>,
    pub service_number: Option<String>,
    pub last_error: Option<String>,
    pub parts_sent: u64,
    pub parts_failed: u64,
    pub parts_received: u64,
    pub reconnects: u64,
    /// The configured send limit (parts per minute), if any.
    pub max_parts_per_minute: Option<u32>,
}

/// A plugin command the router answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginLoaded {
    pub keyword: String,
    pub plugin: String,
    pub version: String,
}

impl Dashboard {
    /// The highest count of the chart (at least 1, for scaling).
    pub fn chart_peak(&self) -> u64 {
        self.per_minute
            .iter()
            .map(|m| m.inbound.max(m.outbound))
            .max()
            .unwrap_or(0)
            .max(1)
    }
}
