//! Two-step sign-in (issue 18 item 10): the enrolment page of one's own second factor, and the
//! re-check a sensitive action asks for.

use serde::{Deserialize, Serialize};

/// The two-step sign-in page of the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepPage {
    /// Whether the user's role requires a second factor (it cannot be turned off then).
    pub required: bool,
    pub state: TwoStepState,
    /// The recovery codes just made, shown this once (the platform keeps only their hashes).
    pub recovery_codes: Option<Vec<String>>,
}

/// Where the user's second factor stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TwoStepState {
    /// Off, no enrolment begun.
    Off,
    /// An enrolment waiting for the authenticator's first code.
    Waiting {
        /// The secret as base32 text, for typing into the authenticator.
        secret: String,
        /// The same as a QR code of its `otpauth://` URI: an `<svg>` element made on the
        /// server.
        qr_svg: String,
    },
    /// On since `since` (milliseconds).
    On {
        since: i64,
        recovery_codes_left: u32,
    },
}

/// The re-check page: what proves the user again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReauthPage {
    /// A code of the authenticator (or a recovery code) when the user's second factor is on;
    /// otherwise the password.
    pub with_code: bool,
}
