//! Messages: inbound and outbound, searched and filtered, with each message's parts and
//! delivery reports.

use serde::{Deserialize, Serialize};

/// Rows per page.
pub const PAGE_ROWS: u32 = 50;

/// A search of the message store (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageSearch {
    /// The other party's number (part of it) or words of the text.
    pub q: String,
    /// `in`, `out` or empty.
    pub direction: String,
    /// A message state or empty.
    pub state: String,
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, China Standard Time.
    pub from: String,
    pub to: String,
    /// Paging: only ids below this.
    pub before: Option<i64>,
}

/// A page of search results, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageList {
    pub rows: Vec<MessageRow>,
    /// Pass as `before` for the next page, when there is one.
    pub next_before: Option<i64>,
}

/// One message in a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    pub id: i64,
    /// `in` or `out`.
    pub direction: String,
    pub peer: String,
    /// `peer` is an inbound sender's alphanumeric name (`ICBC`), not a number: whatever the
    /// sender chose to be called, never a registered phone, and it cannot be answered.
    #[serde(default)]
    pub alphanumeric: bool,
    /// Empty when [`MessageRow::withheld`].
    pub text: String,
    /// The keyword (`CP`) of a police query or reply that the viewer is not granted: its text
    /// is withheld and the page says so.
    pub withheld: Option<String>,
    pub state: String,
    pub parts: Option<u32>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// One message with everything known about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDetail {
    pub row: MessageRow,
    pub service_number: Option<String>,
    pub encoding: Option<String>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub modem: Option<String>,
    pub status_report: bool,
    pub valid_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub batch_id: Option<String>,
    /// `web:<login>`, `api:<key>`, `router` ... when known.
    pub origin: Option<String>,
    pub parts: Vec<PartRow>,
}

/// One SMS part of an outbound message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRow {
    pub seq: u32,
    /// `pending`, `sent`, `delivered`, `failed`.
    pub state: String,
    pub modem: Option<String>,
    /// TP-MR the network gave the part.
    pub reference: Option<u8>,
    /// TP-ST of its delivery report.
    pub status: Option<u8>,
    pub sent_at: Option<i64>,
    pub reported_at: Option<i64>,
}

impl MessageDetail {
    /// Whether the page offers to send it again: an outbound message that failed or expired.
    pub fn resendable(&self) -> bool {
        self.row.direction == "out"
            && matches!(self.row.state.as_str(), "failed" | "expired")
            && self.row.withheld.is_none()
    }
}
