//! The simulated handset (embedded default and demo only): a phone typing to the platform
//! through the built-in simulated modem, and the conversation with its replies.

use serde::{Deserialize, Serialize};

/// The handset page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatorPage {
    /// Whether a built-in simulated modem runs (otherwise the page says so).
    pub available: bool,
    /// (number, owner) of the registered phones, to pick from.
    pub phones: Vec<(String, String)>,
    /// The phone being used (canonical), if picked.
    pub phone: Option<String>,
    pub conversation: Vec<ChatLine>,
}

/// One message of the conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatLine {
    pub id: i64,
    /// Typed on the handset (to the platform); otherwise a reply to it.
    pub from_handset: bool,
    /// Empty when [`ChatLine::withheld`].
    pub text: String,
    /// The keyword of a police query or reply the viewer is not granted: text withheld.
    pub withheld: Option<String>,
    pub state: String,
    pub at_ms: i64,
}
