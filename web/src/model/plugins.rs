//! Plugins: the installed query components, what each asks for and is granted, and the
//! datasources that can be granted.

use serde::{Deserialize, Serialize};

/// The plugins page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginsPage {
    pub plugins: Vec<PluginRow>,
    /// Names of the registered datasources.
    pub datasources: Vec<String>,
}

/// One installed plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRow {
    pub name: String,
    pub description: String,
    pub version: String,
    pub sha256: String,
    pub installed_at: i64,
    pub enabled: bool,
    pub bundled: bool,
    pub commands: Vec<CommandRow>,
    /// What its manifest asks for.
    pub asks_datasources: Vec<String>,
    pub asks_http_hosts: Vec<String>,
    /// Host capabilities (contract 1.1): `directory`, `citizen`, `state`, `send-to-contacts`,
    /// `channels`.
    pub asks_capabilities: Vec<String>,
    /// What it is granted.
    pub granted_datasources: Vec<String>,
    pub granted_http_hosts: Vec<String>,
    pub granted_capabilities: Vec<String>,
    /// Configuration keys it reads: (key, meaning, value set).
    pub config: Vec<(String, String, Option<String>)>,
    /// The version a rollback returns to.
    pub previous_version: Option<String>,
    /// Whether the running daemon answers its commands now.
    pub loaded: bool,
    /// Why the running daemon could not load it, if it could not.
    pub load_error: Option<String>,
}

/// A command of a plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRow {
    pub keyword: String,
    pub syntax: String,
    pub help: String,
    /// Returns police data (registered, granted phones only; audited).
    pub police_data: bool,
}
