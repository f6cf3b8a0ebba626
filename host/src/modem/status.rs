//! What the rest of the daemon (dispatcher, health endpoint, dashboard) can see of a modem.

use serde::Serialize;

/// The life cycle of a modem link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Opening the port (or waiting to reopen it after it vanished).
    Connecting,
    /// Port open; configuring the modem and collecting messages left on the SIM.
    Initialising,
    /// Configured and taking work.
    Ready,
    /// Unreachable; `last_error` says why, and the driver keeps retrying.
    Down,
    /// Stopped at shutdown.
    Stopped,
}

impl LinkState {
    /// The state's name, as serialised (`ready`, `down`...).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Initialising => "initialising",
            LinkState::Ready => "ready",
            LinkState::Down => "down",
            LinkState::Stopped => "stopped",
        }
    }
}

/// A snapshot of one modem's health and counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModemStatus {
    /// The configured name.
    pub name: String,
    /// The configured port (`sim` for a built-in simulator shows its pseudo-terminal).
    pub port: String,
    /// The service number of this modem's SIM, if configured.
    pub service_number: Option<String>,
    /// Link state.
    pub state: LinkState,
    /// Signal quality as `+CSQ` reports it (0-31; 99 unknown).
    pub signal: Option<u8>,
    /// Whether the modem is registered on the network (`+CREG` 1 or 5).
    pub registered: Option<bool>,
    /// The most recent error, kept until the link is ready again.
    pub last_error: Option<String>,
    /// SMS parts sent since start.
    pub parts_sent: u64,
    /// SMS parts that failed to send since start.
    pub parts_failed: u64,
    /// SMS parts received and stored since start.
    pub parts_received: u64,
    /// Times the link was re-established (reopen or re-initialise) since start.
    pub reconnects: u64,
    /// The configured send limit, parts per minute (`None`: none).
    pub max_parts_per_minute: Option<u32>,
}

impl ModemStatus {
    /// The status of a modem that has not connected yet.
    pub fn new(
        name: &str,
        port: &str,
        service_number: Option<String>,
        max_parts_per_minute: Option<u32>,
    ) -> Self {
        Self {
            name: name.to_string(),
            port: port.to_string(),
            service_number,
            state: LinkState::Connecting,
            signal: None,
            registered: None,
            last_error: None,
            parts_sent: 0,
            parts_failed: 0,
            parts_received: 0,
            reconnects: 0,
            max_parts_per_minute,
        }
    }

    /// Whether the dispatcher may give this modem work.
    pub fn is_ready(&self) -> bool {
        self.state == LinkState::Ready && self.registered != Some(false)
    }
}
