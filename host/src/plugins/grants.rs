//! What an administrator allowed one plugin, as one value that every host call checks through:
//! its datasources (with their URLs), its HTTP hosts, its configuration values and its
//! capabilities. Built from the store at each registry refresh ([`Grants::from_store`]) and
//! shared, read-only, by all the plugin's calls.

use std::collections::{BTreeSet, HashMap};

use super::capability::http::grant::{HttpGrant, HttpGrantError};
use super::manifest::Capability;
use crate::store::{GrantKind, PluginGrant};

/// One plugin's grants.
#[derive(Debug, Default)]
pub struct Grants {
    plugin: String,
    version: String,
    /// Granted datasources that exist, with their URLs.
    datasources: HashMap<String, String>,
    /// Granted HTTP hosts as stored, lower case: `host:port`, `a.b.c.d:port` or `[v6]:port`
    /// ([`HttpGrant`]; one stored before ports were required reaches nothing).
    http_hosts: BTreeSet<String>,
    /// Its configuration values.
    config: HashMap<String, String>,
    capabilities: BTreeSet<Capability>,
}

impl Grants {
    /// No grant at all, for `plugin` at `version` (what a component has while it describes
    /// itself at install).
    pub fn new(plugin: &str, version: &str) -> Grants {
        Grants {
            plugin: plugin.to_owned(),
            version: version.to_owned(),
            ..Grants::default()
        }
    }

    /// The grants of `plugin` among `grants` (every plugin's, as stored), with the URLs of the
    /// granted datasources that exist in `datasources` (name → URL) and its `config`. A grant
    /// of a capability this host does not know (stored by a newer version) is left out.
    pub fn from_store(
        plugin: &str,
        version: &str,
        grants: &[PluginGrant],
        datasources: &HashMap<String, String>,
        config: HashMap<String, String>,
    ) -> Grants {
        let mut out = Grants::new(plugin, version);
        out.config = config;
        for g in grants.iter().filter(|g| g.plugin == plugin) {
            match g.kind {
                GrantKind::Datasource => {
                    if let Some(url) = datasources.get(&g.target) {
                        out.grant_datasource(&g.target, url);
                    }
                }
                GrantKind::HttpHost => out.grant_http_host(&g.target),
                GrantKind::Capability => match g.target.parse::<Capability>() {
                    Ok(capability) => out.grant(capability),
                    Err(e) => {
                        tracing::warn!(%plugin, error = %e, "ignoring a capability grant this version does not know")
                    }
                },
            }
        }
        out
    }

    /// Adds the datasource `name` at `url`.
    pub fn grant_datasource(&mut self, name: &str, url: &str) {
        self.datasources.insert(name.to_owned(), url.to_owned());
    }

    /// Adds the HTTP host `host:port` (as stored).
    pub fn grant_http_host(&mut self, host: &str) {
        self.http_hosts.insert(host.to_ascii_lowercase());
    }

    /// Adds `capability`.
    pub fn grant(&mut self, capability: Capability) {
        self.capabilities.insert(capability);
    }

    /// Sets a configuration value.
    pub fn set_config(&mut self, key: &str, value: &str) {
        self.config.insert(key.to_owned(), value.to_owned());
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The plugin's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The URL of the datasource `name`, when it is granted and exists.
    pub fn datasource(&self, name: &str) -> Option<&str> {
        self.datasources.get(name).map(String::as_str)
    }

    /// The HTTP hosts as stored, including any that name no port (for a refusal's hint).
    pub fn http_hosts(&self) -> impl Iterator<Item = &str> {
        self.http_hosts.iter().map(String::as_str)
    }

    /// The HTTP grants that reach something: those naming a port.
    pub fn http_grants(&self) -> Vec<HttpGrant> {
        self.http_hosts
            .iter()
            .filter_map(|g| match HttpGrant::parse(g) {
                Ok(grant) => Some(grant),
                Err(HttpGrantError::MissingPort(_)) => None,
                Err(e) => {
                    tracing::warn!(plugin = %self.plugin, grant = %g, error = %e, "ignoring an HTTP grant that is not HOST:PORT");
                    None
                }
            })
            .collect()
    }

    /// The plugin's configuration value `key`, if set.
    pub fn config(&self, key: &str) -> Option<&str> {
        self.config.get(key).map(String::as_str)
    }

    /// Whether `capability` is granted.
    pub fn has(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(plugin: &str, kind: GrantKind, target: &str) -> PluginGrant {
        PluginGrant {
            plugin: plugin.into(),
            kind,
            target: target.into(),
            granted_at: 0,
        }
    }

    #[test]
    fn a_plugin_gets_its_own_grants_and_no_other_plugins() {
        let all = [
            stored("txl", GrantKind::Capability, "directory"),
            stored("txl", GrantKind::Datasource, "police"),
            stored("other", GrantKind::Capability, "citizen"),
            stored("other", GrantKind::HttpHost, "example.org:80"),
        ];
        let datasources = HashMap::from([("police".to_owned(), "sqlite://p.db".to_owned())]);
        let grants = Grants::from_store("txl", "1.0.0", &all, &datasources, HashMap::new());
        assert!(grants.has(Capability::Directory));
        assert!(!grants.has(Capability::Citizen));
        assert_eq!(grants.datasource("police"), Some("sqlite://p.db"));
        assert_eq!(grants.http_hosts().count(), 0);
    }

    #[test]
    fn a_datasource_granted_but_deleted_is_not_reachable() {
        let all = [stored("p", GrantKind::Datasource, "gone")];
        let grants = Grants::from_store("p", "1", &all, &HashMap::new(), HashMap::new());
        assert_eq!(grants.datasource("gone"), None);
    }

    #[test]
    fn a_capability_grant_of_a_newer_version_is_ignored_not_fatal() {
        let all = [
            stored("p", GrantKind::Capability, "teleport"),
            stored("p", GrantKind::Capability, "citizen"),
        ];
        let grants = Grants::from_store("p", "1", &all, &HashMap::new(), HashMap::new());
        assert!(grants.has(Capability::Citizen));
        assert!(!grants.has(Capability::Directory));
    }

    #[test]
    fn only_http_grants_with_a_port_reach_anything_but_all_are_listed() {
        let mut grants = Grants::new("web", "1");
        grants.grant_http_host("Example.ORG:8080");
        grants.grant_http_host("10.0.0.1");
        assert_eq!(
            grants.http_hosts().collect::<Vec<_>>(),
            ["10.0.0.1", "example.org:8080"]
        );
        let reach: Vec<String> = grants.http_grants().iter().map(|g| g.to_string()).collect();
        assert_eq!(reach, ["example.org:8080"]);
    }

    #[test]
    fn configuration_is_the_plugins_own() {
        let grants = Grants::from_store(
            "p",
            "1",
            &[],
            &HashMap::new(),
            HashMap::from([("greeting".to_owned(), "你好".to_owned())]),
        );
        assert_eq!(grants.config("greeting"), Some("你好"));
        assert_eq!(grants.config("other"), None);
    }
}
