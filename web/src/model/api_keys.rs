//! API keys (issue 5, R19): the client systems that send and receive SMS through `/api/v1`.

use serde::{Deserialize, Serialize};

/// The API keys page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysPage {
    /// Every key, revoked ones too, by name.
    pub keys: Vec<ApiKeyRow>,
    /// The key just created, shown this once (it is not stored, only its hash).
    pub created: Option<CreatedKey>,
}

/// One key as listed: never the key itself, only its first characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub name: String,
    /// `jx_` and the first hex digits, to recognise a key.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub rate_per_second: u32,
    /// Numbers it may send from; empty: any.
    pub service_numbers: Vec<String>,
    /// Networks it may be used from; empty: any.
    pub allowed_networks: Vec<String>,
    /// Where its inbound SMS are pushed, if anywhere.
    pub webhook_url: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A key as created: its name and the full key, to hand to the client system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub name: String,
    pub secret: String,
}
