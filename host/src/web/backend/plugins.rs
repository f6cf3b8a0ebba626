//! The plugin registry through the daemon's [`crate::plugins::PluginHost`] (so that every
//! change takes effect at once), each change committed with its audit row (component
//! `plugins`, by the signed-in administrator).

use jingxun_web::model::plugins::{CommandRow, PluginRow, PluginsPage};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::{PluginGrantKind, PluginsBackend};
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, audit_source, unavailable};
use crate::audit::ChangeAuthor;
use crate::plugins::{PluginError, parse_manifest};
use crate::store::GrantKind;

/// What the user is told about a registry error.
fn refusal(what: &str, e: impl Into<PluginError>) -> Refusal {
    match e.into() {
        PluginError::InvalidComponent(reason) | PluginError::InvalidManifest(reason) => {
            Refusal::with(RefusalCode::PluginInvalid, reason)
        }
        PluginError::Manifest(e) => Refusal::with(RefusalCode::PluginInvalid, e.to_string()),
        PluginError::KeywordTaken { keyword, owner } => {
            Refusal::with(RefusalCode::KeywordTaken, format!("{keyword}: {owner}"))
        }
        PluginError::UnknownPlugin(name) => Refusal::with(RefusalCode::UnknownPlugin, name),
        PluginError::NoPreviousVersion(name) => Refusal::with(RefusalCode::NoPrevious, name),
        PluginError::UnknownDatasource(name) => Refusal::with(RefusalCode::UnknownDatasource, name),
        other => unavailable(what, &other),
    }
}

/// The administrator making a registry change, for its audit row.
fn author(actor: &Actor) -> ChangeAuthor {
    ChangeAuthor::new(actor.login.clone(), audit_source(actor))
}

impl PluginsBackend for HostBackend {
    fn plugins(&self) -> BoxFuture<'_, Outcome<PluginsPage>> {
        Box::pin(async move {
            let state = self.state();
            let store = &state.store;
            fn read(e: impl std::fmt::Display) -> Refusal {
                unavailable("reading plugins", &e)
            }
            let records = store.plugins().await.map_err(read)?;
            let grants = store.plugin_grants().await.map_err(read)?;
            let config = store.plugin_config().await.map_err(read)?;
            let datasources: Vec<String> = store
                .datasources()
                .await
                .map_err(read)?
                .into_iter()
                .map(|d| d.name)
                .collect();
            let mut plugins = Vec::with_capacity(records.len());
            for r in records {
                let manifest = parse_manifest(&r.current.manifest_json).map_err(read)?;
                let granted = |kind: GrantKind| -> Vec<String> {
                    grants
                        .iter()
                        .filter(|g| g.plugin == r.name && g.kind == kind)
                        .map(|g| g.target.clone())
                        .collect()
                };
                let values = config.get(&r.name);
                plugins.push(PluginRow {
                    loaded: state.plugins.is_loaded(&r.name),
                    load_error: state.plugins.load_error(&r.name),
                    name: r.name.clone(),
                    description: manifest.description.clone(),
                    version: r.current.version.clone(),
                    sha256: r.current.sha256.clone(),
                    installed_at: r.current.installed_at,
                    enabled: r.enabled,
                    bundled: r.bundled,
                    commands: manifest
                        .commands
                        .iter()
                        .map(|c| CommandRow {
                            keyword: c.keyword.clone(),
                            syntax: c.syntax.clone(),
                            help: c.help.clone(),
                            police_data: c.police_data,
                        })
                        .collect(),
                    asks_datasources: manifest.datasources.clone(),
                    asks_http_hosts: manifest.http_hosts.clone(),
                    asks_capabilities: manifest
                        .capabilities
                        .iter()
                        .map(|c| c.as_str().to_owned())
                        .collect(),
                    granted_datasources: granted(GrantKind::Datasource),
                    granted_http_hosts: granted(GrantKind::HttpHost),
                    granted_capabilities: granted(GrantKind::Capability),
                    config: manifest
                        .config_keys
                        .iter()
                        .map(|(k, meaning)| {
                            (
                                k.clone(),
                                meaning.clone(),
                                values.and_then(|v| v.get(k)).cloned(),
                            )
                        })
                        .collect(),
                    previous_version: r.previous.as_ref().map(|p| p.version.clone()),
                });
            }
            Ok(PluginsPage {
                plugins,
                datasources,
            })
        })
    }

    fn plugin_install<'a>(
        &'a self,
        actor: &'a Actor,
        component: Vec<u8>,
    ) -> BoxFuture<'a, Outcome<String>> {
        Box::pin(async move {
            let installed = self
                .state()
                .plugins
                .install(&component, &author(actor))
                .await
                .map_err(|e| refusal("installing a plugin", e))?;
            Ok(format!("{}@{}", installed.name, installed.version))
        })
    }

    fn plugin_set_enabled<'a>(
        &'a self,
        actor: &'a Actor,
        name: String,
        enabled: bool,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.state()
                .plugins
                .set_enabled(&name, enabled, &author(actor))
                .await
                .map_err(|e| refusal("enabling a plugin", e))?;
            Ok(())
        })
    }

    fn plugin_rollback<'a>(&'a self, actor: &'a Actor, name: String) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.state()
                .plugins
                .rollback(&name, &author(actor))
                .await
                .map_err(|e| refusal("rolling a plugin back", e))?;
            Ok(())
        })
    }

    fn plugin_grant<'a>(
        &'a self,
        actor: &'a Actor,
        name: String,
        kind: PluginGrantKind,
        target: String,
        granted: bool,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let state = self.state();
            let store = &state.store;
            let record = store
                .plugin(&name)
                .await
                .map_err(|e| refusal("reading a plugin", e))?;
            let manifest = parse_manifest(&record.current.manifest_json)
                .map_err(|e| unavailable("reading a plugin", &e))?;
            let capabilities: Vec<String> = manifest
                .capabilities
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect();
            let (kind, asked) = match kind {
                PluginGrantKind::Datasource => (GrantKind::Datasource, &manifest.datasources),
                PluginGrantKind::HttpHost => (GrantKind::HttpHost, &manifest.http_hosts),
                PluginGrantKind::Capability => (GrantKind::Capability, &capabilities),
            };
            // An HTTP grant names a host and a port (a grant without a port is refused, with
            // what to write instead); see `crate::plugins::capability::http::grant`.
            if granted
                && kind == GrantKind::HttpHost
                && let Err(e) = crate::plugins::capability::http::grant::HttpGrant::parse(&target)
            {
                return Err(Refusal::with(RefusalCode::BadGrant, e.to_string()));
            }
            // Least privilege: only what the manifest asks for can be granted.
            if granted && !asked.contains(&target) {
                return Err(Refusal::with(RefusalCode::NotAsked, target));
            }
            let by = author(actor);
            let changed = if granted {
                store
                    .plugin_grant(&name, kind, &target, crate::clock::now_ms(), &by)
                    .await
            } else {
                store.plugin_revoke(&name, kind, &target, &by).await
            }
            .map_err(|e| refusal("changing a plugin grant", e))?;
            if changed && let Err(e) = state.plugins.refresh().await {
                tracing::error!(error = %e, "plugins could not be reloaded after a grant; the daemon retries");
            }
            Ok(())
        })
    }
}
