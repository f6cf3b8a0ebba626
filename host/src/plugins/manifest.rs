//! A plugin's manifest: what it says it is, answers and needs, as the host checks and stores it
//! with every installed version, and the capabilities beyond 1.0's that a plugin can ask for.

use std::collections::BTreeSet;

use jingxun_vocabulary::vocabulary;
use serde::{Deserialize, Serialize};

use super::PluginError;
use super::contract::{ContractVersion, Description};
use super::events::{self, Schedule};
use crate::store::{EventKind, StoreError};

/// Keywords the platform answers itself (`H`: help); no plugin may claim them.
pub const RESERVED_KEYWORDS: &[&str] = &["H"];

vocabulary! {
    /// A host capability granted separately from datasources and HTTP hosts (contract 1.1):
    /// what `jingxun plugin grant --capability` names and a manifest asks for.
    "plugin capability" => pub enum Capability {
        /// Look people up in the address book (`directory.find`).
        Directory = "directory",
        /// Read the status of citizens' applications, the sender's own only
        /// (`citizen.lookup`), and receive the `application-changed` event.
        Citizen = "citizen",
        /// Keep values across calls (`state`), within the plugin's quota.
        State = "state",
        /// Send SMS to numbers of the internal address book (`outbox.send` to a contact).
        SendToContacts = "send-to-contacts",
        /// Subscribe the sender of a command to a channel, unsubscribe, read a channel's
        /// latest item (`channels`).
        Channels = "channels",
    }
}

/// A plugin's manifest as the host keeps it (stored as JSON with every version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub commands: Vec<ManifestCommand>,
    pub datasources: Vec<String>,
    pub http_hosts: Vec<String>,
    /// (key, what it means).
    pub config_keys: Vec<(String, String)>,
    /// The host capabilities beyond the datasources and HTTP hosts it asks for (contract 1.1;
    /// none in a manifest stored before).
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// The host events it reacts to (contract 1.1; never `tick`, which follows from
    /// `schedules`).
    #[serde(default)]
    pub events: Vec<EventKind>,
    /// Its daily schedules (contract 1.1).
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    /// The contract the component was built for (1.0.0 in a manifest stored before 1.1).
    #[serde(default = "contract_v1_0")]
    pub contract: ContractVersion,
}

/// What a manifest stored before contract 1.1 was built for.
fn contract_v1_0() -> ContractVersion {
    ContractVersion::V1_0
}

/// One command in a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestCommand {
    pub keyword: String,
    pub syntax: String,
    pub help: String,
    pub police_data: bool,
}

impl Manifest {
    /// The manifest of a component of contract `contract` that describes itself as
    /// `description`; a capability name this host does not know is refused.
    pub fn from_description(
        description: Description,
        contract: ContractVersion,
    ) -> Result<Manifest, PluginError> {
        let m = description.manifest;
        let capabilities = description
            .capabilities
            .iter()
            .map(|name| {
                name.parse::<Capability>()
                    .map_err(|e| PluginError::InvalidManifest(format!("capability {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let events = description
            .events
            .iter()
            .map(|name| match name.parse::<EventKind>() {
                Ok(kind) if kind != EventKind::Tick => Ok(kind),
                _ => Err(PluginError::InvalidManifest(format!(
                    "event `{name}` is not one this host delivers ({}); ticks follow from \
                     schedules",
                    events::subscribable()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Manifest {
            name: m.name,
            version: m.version,
            description: m.description,
            commands: m
                .commands
                .into_iter()
                .map(|c| ManifestCommand {
                    keyword: c.keyword,
                    syntax: c.syntax,
                    help: c.help,
                    police_data: c.police_data,
                })
                .collect(),
            datasources: m.datasources,
            http_hosts: m.http_hosts,
            config_keys: m.config_keys,
            capabilities,
            events,
            schedules: description
                .schedules
                .into_iter()
                .map(events::schedule_from_wit)
                .collect(),
            contract,
        })
    }

    /// Checks what the host relies on: a lower-case name, a version, at least one command or
    /// event or schedule, keywords of 1-8 upper-case ASCII letters, none reserved, none twice;
    /// no capability, event or schedule name twice; every event's capability asked for.
    pub fn validate(&self) -> Result<(), PluginError> {
        let bad = |reason: String| Err(PluginError::InvalidManifest(reason));
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 32
            && self.name.starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !name_ok {
            return bad(format!(
                "name `{}` must be 1-32 lower-case letters, digits, '-' or '_', starting with a letter",
                self.name
            ));
        }
        if self.version.trim().is_empty() || self.version.len() > 32 {
            return bad(format!(
                "version `{}` must be 1-32 characters",
                self.version
            ));
        }
        if self.commands.is_empty() && self.events.is_empty() && self.schedules.is_empty() {
            return bad(
                "it declares no command, no event and no schedule: nothing would call it".into(),
            );
        }
        let mut seen = BTreeSet::new();
        for c in &self.commands {
            if !valid_keyword(&c.keyword) {
                return bad(format!(
                    "keyword `{}` must be 1-8 upper-case ASCII letters",
                    c.keyword
                ));
            }
            if RESERVED_KEYWORDS.contains(&c.keyword.as_str()) {
                return bad(format!(
                    "keyword `{}` is reserved for the platform",
                    c.keyword
                ));
            }
            if !seen.insert(c.keyword.as_str()) {
                return bad(format!("keyword `{}` is declared twice", c.keyword));
            }
        }
        for d in &self.datasources {
            if !valid_datasource_name(d) {
                return bad(format!(
                    "datasource name `{d}` must be 1-32 lower-case letters, digits, '-' or '_'"
                ));
            }
        }
        let capabilities: BTreeSet<Capability> = self.capabilities.iter().copied().collect();
        if capabilities.len() != self.capabilities.len() {
            return bad("a capability is asked for twice".into());
        }
        let events: BTreeSet<EventKind> = self.events.iter().copied().collect();
        if events.len() != self.events.len() {
            return bad("an event is asked for twice".into());
        }
        for kind in &self.events {
            if let Some(needed) = events::needed_capability(*kind)
                && !capabilities.contains(&needed)
            {
                return bad(format!(
                    "event `{kind}` needs the `{needed}` capability: ask for it too"
                ));
            }
        }
        let mut names = BTreeSet::new();
        for schedule in &self.schedules {
            schedule.validate()?;
            if !names.insert(schedule.name.as_str()) {
                return bad(format!("schedule `{}` is declared twice", schedule.name));
            }
        }
        Ok(())
    }

    pub(crate) fn keywords(&self) -> Vec<String> {
        self.commands.iter().map(|c| c.keyword.clone()).collect()
    }
}

/// Whether `keyword` is 1-8 upper-case ASCII letters.
pub fn valid_keyword(keyword: &str) -> bool {
    (1..=8).contains(&keyword.len()) && keyword.bytes().all(|b| b.is_ascii_uppercase())
}

/// Whether `name` can name a datasource: 1-32 lower-case letters, digits, '-' or '_'.
pub fn valid_datasource_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A manifest as stored with its version (JSON).
pub fn parse_manifest(json: &str) -> Result<Manifest, PluginError> {
    serde_json::from_str(json).map_err(|e| {
        PluginError::Store(StoreError::Corrupt {
            column: "plugin_versions.manifest",
            value: e.to_string(),
        })
    })
}
