//! The help text (R15) that `H` returns, and a preview of the whole answer a phone gets.

use serde::{Deserialize, Serialize};

/// The help text page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpTextPage {
    pub text: String,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
    /// (number, owner) of every registered phone, for the preview.
    pub phones: Vec<(String, String)>,
    /// What the phone asked for (`?phone=`) receives for `H`.
    pub preview: Option<HelpPreview>,
}

/// What one phone receives for `H`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpPreview {
    pub phone: String,
    /// The reply, as sent.
    pub reply: String,
    pub parts: u32,
}
