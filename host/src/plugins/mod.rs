//! The plugin platform (issues 3 and 13, R5, R8): sandboxed WebAssembly plugins that answer SMS
//! commands, on wasmtime's component model, against the contracts in `wit/` (`jingxun:plugin`
//! 1.0.0 and 1.1.0, served side by side: [`contract`]).
//!
//! - Compile once: components are compiled by cranelift once and the artefact is cached on disk
//!   (`[plugins] cache_dir`), keyed by the component's SHA-256 and the engine's version and
//!   configuration, so a restart only maps the artefacts in.
//! - Per plugin an `InstancePre` (imports resolved once); per request a fresh `Store` and
//!   instance, so no state leaks between requests.
//! - Limits per request: CPU time by epoch interruption (`[plugins] cpu_limit_ms`, time in host
//!   calls not counted), a deadline with host calls counted (`wall_limit_ms`: each host call's
//!   own wait is cut at it), host calls (`max_host_calls`), linear memory (`memory_limit_mb`),
//!   reply length (`max_reply_parts`). Going past any is an [`InvocationError`]; the daemon and
//!   the other plugins go on.
//! - Capabilities, one module each ([`capability`]), check every host call against the
//!   plugin's [`Grants`]; SQL is read-only three ways ([`capability::datasource`]).
//! - The registry lives in the store ([`crate::store::PluginRecord`]): install, upgrade (the
//!   previous version is kept), enable, disable, rollback, grants and configuration take effect
//!   without a restart. The daemon re-reads it when the store's generation counter moves
//!   (polled every [`POLL_INTERVAL`]) or at once through [`PluginHost::refresh`].
//!
//! Privileged changes ([`PluginHost::install`], [`PluginHost::set_enabled`],
//! [`PluginHost::rollback`], and the store's `plugin_grant`, `plugin_revoke`,
//! `plugin_config_set`, `datasource_add`) each return what they changed, so that callers can
//! write the audit row.

pub mod capability;
pub mod contract;
pub mod delivery;
mod error;
pub mod events;
pub mod grants;
mod invocation;
pub mod manifest;
mod runtime;
#[cfg(test)]
mod tests;
pub mod trial;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::audit::ChangeAuthor;
use crate::store::{GrantKind, NewPluginVersion, PluginRecord, Store};
use capability::{Call, Services};
pub use capability::{CallLimits, Effects, EffectsPolicy};
use contract::{ContractVersion, Prepared, latest as wit};
pub use error::PluginError;
pub use grants::Grants;
pub use invocation::{InvocationError, Outcome, PluginReply, PluginRequest, PluginUser};
pub use manifest::{
    Capability, Manifest, ManifestCommand, RESERVED_KEYWORDS, parse_manifest,
    valid_datasource_name, valid_keyword,
};
use runtime::Runtime;
pub use runtime::sha256_hex;

/// How often a running daemon checks the store for changes made by other processes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Settings of the plugin host (from `[plugins]` in the configuration).
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// Where compiled artefacts are cached.
    pub cache_dir: PathBuf,
    /// What one call may spend: CPU, wall-clock time, memory, host calls.
    pub limits: CallLimits,
    /// Longest reply (or usage text) in SMS parts; longer is the plugin's error.
    pub max_reply_parts: usize,
    /// What a call may leave behind: state, messages.
    pub policy: EffectsPolicy,
    /// How events are delivered.
    pub events: EventSettings,
    /// Components installed into a fresh database at first start (`*.wasm`, not recursive).
    pub bundled_dir: Option<PathBuf>,
}

impl PluginSettings {
    /// The settings `[plugins]` asks for, with the defaults resolved: the cache next to the
    /// SQLite database file (`./plugin-cache` for PostgreSQL), the bundled plugins in
    /// `../plugins` from the running executable (`target/plugins` for `target/*/jingxun`).
    pub fn from_config(config: &crate::config::Config) -> PluginSettings {
        let p = &config.plugins;
        let cache_dir = p.cache_dir.clone().unwrap_or_else(|| {
            database_dir(&config.database.url)
                .unwrap_or_else(|| PathBuf::from("."))
                .join("plugin-cache")
        });
        let bundled_dir = p.bundled_dir.clone().or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|d| d.join("../plugins")))
        });
        PluginSettings {
            cache_dir,
            limits: CallLimits::from_config(p),
            max_reply_parts: p.max_reply_parts,
            policy: EffectsPolicy::from_config(p),
            events: EventSettings {
                attempts: p.event_attempts,
                time_zone: config.general.time_zone(),
            },
            bundled_dir,
        }
    }
}

/// How events reach plugins (`[plugins] event_attempts`, `[general] time_zone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSettings {
    /// Deliveries of one event before it is given up.
    pub attempts: u32,
    /// The zone of the schedules' times of day.
    pub time_zone: chrono_tz::Tz,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            attempts: crate::config::PluginsConfig::default().event_attempts,
            time_zone: crate::config::GeneralConfig::default().time_zone(),
        }
    }
}

/// The directory of a `sqlite://FILE` database; None for memory and PostgreSQL.
fn database_dir(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    let dir = Path::new(path).parent()?;
    Some(if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.to_path_buf()
    })
}

/// One command an enabled plugin answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandInfo {
    /// Upper-case ASCII letters (`CP`).
    pub keyword: String,
    /// Usage, e.g. `CP <车牌号>`.
    pub syntax: String,
    /// One line for `H`.
    pub help: String,
    /// Returns police data: registered, granted phones only, and audited.
    pub police_data: bool,
    /// The plugin that answers it.
    pub plugin: String,
    /// That plugin's version.
    pub version: String,
}

/// An installed plugin, as [`PluginHost::install`], [`PluginHost::rollback`] and
/// [`PluginHost::plugins`] report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPlugin {
    pub name: String,
    pub version: String,
    pub description: String,
    pub enabled: bool,
    /// Installed from the bundled directory.
    pub bundled: bool,
    /// Hex SHA-256 of the component that runs.
    pub sha256: String,
    /// The keywords it answers.
    pub keywords: Vec<String>,
    /// What its manifest asks for.
    pub requested_datasources: Vec<String>,
    pub requested_http_hosts: Vec<String>,
    pub requested_capabilities: Vec<Capability>,
    /// The host events it reacts to, and its daily schedules (contract 1.1).
    pub events: Vec<crate::store::EventKind>,
    pub schedules: Vec<events::Schedule>,
    /// The contract its component was built for.
    pub contract: ContractVersion,
    /// The version a rollback returns to.
    pub previous_version: Option<String>,
}

impl InstalledPlugin {
    fn from_record(record: &PluginRecord) -> Result<InstalledPlugin, PluginError> {
        let manifest = parse_manifest(&record.current.manifest_json)?;
        Ok(InstalledPlugin {
            name: record.name.clone(),
            version: record.current.version.clone(),
            description: manifest.description,
            enabled: record.enabled,
            bundled: record.bundled,
            sha256: record.current.sha256.clone(),
            keywords: record.current.keywords.clone(),
            requested_datasources: manifest.datasources,
            requested_http_hosts: manifest.http_hosts,
            requested_capabilities: manifest.capabilities,
            events: manifest.events,
            schedules: manifest.schedules,
            contract: manifest.contract,
            previous_version: record.previous.as_ref().map(|p| p.version.clone()),
        })
    }
}

/// A loaded, enabled plugin.
struct Loaded {
    version_id: i64,
    /// When its version was installed (unix ms): no tick due before is delivered.
    installed_at: i64,
    sha256: String,
    manifest: Manifest,
    pre: Prepared,
    grants: Arc<Grants>,
}

/// What the host serves right now.
#[derive(Default)]
struct Snapshot {
    generation: i64,
    /// By plugin name.
    plugins: HashMap<String, Arc<Loaded>>,
    /// By keyword.
    keywords: HashMap<String, Arc<Loaded>>,
    /// Why an enabled plugin could not be loaded, by plugin name.
    load_errors: HashMap<String, String>,
}

struct Inner {
    store: Store,
    runtime: Runtime,
    services: Arc<Services>,
    snapshot: RwLock<Arc<Snapshot>>,
    /// One refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
    settings: PluginSettings,
    /// False for [`PluginHost::admin`]: nothing is loaded to serve requests.
    serving: bool,
    /// One permit per instance slot the calls may use.
    slots: Arc<tokio::sync::Semaphore>,
}

/// Calls that may run at once: the allocator's instance slots, less a few kept for installs.
const CALL_SLOTS: usize = runtime::MAX_CONCURRENT_CALLS as usize - 8;

/// The plugin host: cheap to clone, shared by the router, the CLI and the web admin.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

/// Compile-cache counters (see [`PluginHost::cache_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Components compiled by cranelift since start.
    pub compiled: u64,
    /// Components loaded from the on-disk cache since start.
    pub cache_hits: u64,
}

impl PluginHost {
    /// Starts the host: builds the engine, installs the bundled plugins into a fresh database
    /// (once; each granted the datasources it asks for that exist), loads the enabled plugins
    /// and starts watching the store for changes. Must run inside a tokio runtime.
    pub async fn start(store: Store, settings: PluginSettings) -> Result<PluginHost, PluginError> {
        let host = PluginHost::new(store, settings, true)?;
        host.install_bundled().await?;
        host.refresh().await?;
        let weak = Arc::downgrade(&host.inner);
        tokio::spawn(watch(weak));
        Ok(host)
    }

    /// A host for administration commands (the CLI) while a daemon may run elsewhere: it
    /// validates and registers plugins ([`PluginHost::install`], [`PluginHost::set_enabled`],
    /// [`PluginHost::rollback`], all compiled into the shared cache) but loads nothing to serve
    /// requests, installs no bundled plugins and watches nothing. Running daemons pick its
    /// changes up through the store.
    pub async fn admin(store: Store, settings: PluginSettings) -> Result<PluginHost, PluginError> {
        PluginHost::new(store, settings, false)
    }

    fn new(
        store: Store,
        settings: PluginSettings,
        serving: bool,
    ) -> Result<PluginHost, PluginError> {
        let runtime = Runtime::new(settings.cache_dir.clone(), settings.limits)?;
        let host = PluginHost {
            inner: Arc::new(Inner {
                services: Arc::new(
                    Services::new(tokio::runtime::Handle::current(), store.clone())
                        .with_policy(settings.policy),
                ),
                store,
                runtime,
                snapshot: RwLock::new(Arc::new(Snapshot {
                    generation: -1,
                    ..Snapshot::default()
                })),
                refreshing: tokio::sync::Mutex::new(()),
                settings,
                serving,
                slots: Arc::new(tokio::sync::Semaphore::new(CALL_SLOTS)),
            }),
        };
        Ok(host)
    }

    /// The enabled commands, by keyword.
    pub fn commands(&self) -> Vec<CommandInfo> {
        let snapshot = self.snapshot();
        let mut out: Vec<CommandInfo> = snapshot
            .keywords
            .iter()
            .filter_map(|(k, p)| command_info(p, k))
            .collect();
        out.sort_by(|a, b| a.keyword.cmp(&b.keyword));
        out
    }

    /// The enabled command `keyword` (upper case), if any.
    pub fn command(&self, keyword: &str) -> Option<CommandInfo> {
        let snapshot = self.snapshot();
        snapshot
            .keywords
            .get(keyword)
            .and_then(|p| command_info(p, keyword))
    }

    /// Whether the plugin `name` is loaded and answers its commands now.
    pub fn is_loaded(&self, name: &str) -> bool {
        self.snapshot().plugins.contains_key(name)
    }

    /// Why the enabled plugin `name` could not be loaded at the last refresh, if it could not.
    pub fn load_error(&self, name: &str) -> Option<String> {
        self.snapshot().load_errors.get(name).cloned()
    }

    /// The store this host works on.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Every installed plugin, enabled or not, by name.
    pub async fn plugins(&self) -> Result<Vec<InstalledPlugin>, PluginError> {
        self.inner
            .store
            .plugins()
            .await?
            .iter()
            .map(InstalledPlugin::from_record)
            .collect()
    }

    /// Compile-cache counters since start.
    pub fn cache_stats(&self) -> CacheStats {
        let c = &self.inner.runtime.counters;
        CacheStats {
            compiled: c.compiled.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
        }
    }

    /// Answers one request with the plugin that owns its keyword, in a fresh sandbox. The call
    /// never occupies a tokio worker: on the multi-thread runtime it runs in place after
    /// `block_in_place` handed the worker's other tasks on (other futures of the *same* task,
    /// e.g. a surrounding `timeout`, wait for it; the plugin's CPU limit and the host calls'
    /// own timeouts bound it), elsewhere on the blocking pool. At most `CALL_SLOTS` calls run at
    /// once; more wait for a slot. Errors are logged here; the caller replies and audits.
    pub async fn handle(&self, request: PluginRequest) -> Result<PluginReply, InvocationError> {
        let host = self.clone();
        let keyword = request.keyword.clone();
        let slot = self
            .inner
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| InvocationError::Host {
                plugin: keyword.clone(),
                reason: e.to_string(),
            })?;
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            // On a worker of the multi-thread runtime: run here after handing this worker's
            // other tasks to another thread; cheaper than a round trip to the blocking pool.
            let reply = tokio::task::block_in_place(|| host.call(request));
            drop(slot);
            return reply;
        }
        tokio::task::spawn_blocking(move || {
            let reply = host.call(request);
            drop(slot);
            reply
        })
        .await
        .unwrap_or_else(|join| {
            Err(InvocationError::Host {
                plugin: keyword,
                reason: join.to_string(),
            })
        })
    }

    /// [`PluginHost::handle`] on the calling thread, for callers already on a blocking thread
    /// (and the benchmark). Never call it on a tokio worker: the plugin may run for the whole
    /// CPU limit, and host calls block on the runtime.
    pub fn handle_blocking(&self, request: PluginRequest) -> Result<PluginReply, InvocationError> {
        let Ok(_slot) = self.inner.slots.try_acquire() else {
            return Err(InvocationError::Host {
                plugin: request.keyword,
                reason: format!("{CALL_SLOTS} plugin calls are already running; retry in a moment"),
            });
        };
        self.call(request)
    }

    /// One call, once a slot is held.
    fn call(&self, request: PluginRequest) -> Result<PluginReply, InvocationError> {
        let Some(plugin) = self.snapshot().keywords.get(&request.keyword).cloned() else {
            return Err(InvocationError::UnknownKeyword(request.keyword));
        };
        let name = &plugin.manifest.name;
        let version = &plugin.manifest.version;
        let request_id = request.id.clone();
        let keyword = request.keyword.clone();
        let finished = self.inner.runtime.handle(
            &plugin.pre,
            Call {
                grants: plugin.grants.clone(),
                services: self.inner.services.clone(),
                request_id,
                sender: Some(request.sender.clone()),
                traced: false,
            },
            &to_wit(request),
        );
        let mut result = answer(
            name,
            version,
            finished.result,
            self.inner.settings.max_reply_parts,
        );
        if result.is_ok()
            && !finished.effects.is_empty()
            && let Err(e) = self.commit(name, &finished.effects, None)
        {
            result = Err(e);
        }
        if let Err(e) = &result {
            match e {
                InvocationError::BadArguments { .. } => {
                    tracing::debug!(plugin = %name, %version, %keyword, error = %e, "plugin refused the arguments")
                }
                _ => {
                    tracing::warn!(plugin = %name, %version, %keyword, error = %e, "plugin call failed")
                }
            }
        }
        result
    }

    /// Commits what a call of `plugin` did (on a blocking thread): state, messages, audit rows
    /// and, for an event, its delivery finished as done; all or nothing.
    fn commit(
        &self,
        plugin: &str,
        effects: &Effects,
        event: Option<(i64, &str)>,
    ) -> Result<Vec<crate::store::MessageId>, InvocationError> {
        let store = &self.inner.store;
        let commit = crate::store::PluginCommit {
            plugin,
            state_writes: &effects.state_writes,
            quota: self.inner.settings.policy.state_quota,
            messages: &effects.messages,
            audit: &effects.audit,
            event,
            now_ms: crate::clock::now_ms(),
        };
        let committed = self
            .inner
            .services
            .runtime
            .block_on(store.plugin_commit(&commit));
        committed.map_err(|e| InvocationError::NotCommitted {
            plugin: plugin.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Delivers `event` to its plugin and commits what the call did with the delivery finished
    /// as done, held by `owner`; on a blocking thread. An error leaves the delivery pending
    /// (the caller retries it or gives it up).
    pub fn deliver_blocking(
        &self,
        event: &crate::store::ClaimedEvent,
        owner: &str,
    ) -> Result<usize, InvocationError> {
        let Some(plugin) = self.snapshot().plugins.get(&event.plugin).cloned() else {
            return Err(InvocationError::NotLoaded(event.plugin.clone()));
        };
        // Checked again here: the grant may have been revoked since the event was fanned out.
        if let Some(needed) = events::needed_capability(event.payload.kind())
            && !plugin.grants.has(needed)
        {
            return Err(InvocationError::EventNotGranted {
                plugin: event.plugin.clone(),
                capability: needed.as_str().to_owned(),
            });
        }
        let Ok(_slot) = self.inner.slots.try_acquire() else {
            return Err(InvocationError::Host {
                plugin: event.plugin.clone(),
                reason: format!("{CALL_SLOTS} plugin calls are already running; retry in a moment"),
            });
        };
        let finished = self.inner.runtime.on_event(
            &plugin.pre,
            Call {
                grants: plugin.grants.clone(),
                services: self.inner.services.clone(),
                request_id: event.key.clone(),
                sender: None,
                traced: false,
            },
            &events::to_wit(
                &event.key,
                event.attempts,
                event.occurred_at,
                &event.payload,
            ),
        );
        let name = &plugin.manifest.name;
        match finished.result {
            Ok(Ok(())) => self
                .commit(name, &finished.effects, Some((event.id, owner)))
                .map(|ids| ids.len()),
            Ok(Err(e)) => Err(plugin_error(name, e)),
            Err(e) => Err(e),
        }
    }

    /// The enabled plugins that receive events of `kind`: they asked for it and hold the
    /// capability it needs.
    pub fn subscribers(&self, kind: crate::store::EventKind) -> Vec<String> {
        let needed = events::needed_capability(kind);
        let mut out: Vec<String> = self
            .snapshot()
            .plugins
            .values()
            .filter(|p| p.manifest.events.contains(&kind))
            .filter(|p| needed.is_none_or(|c| p.grants.has(c)))
            .map(|p| p.manifest.name.clone())
            .collect();
        out.sort();
        out
    }

    /// The daily schedules of the enabled plugins: (plugin, schedule, when its version was
    /// installed).
    pub fn schedules(&self) -> Vec<(String, events::Schedule, i64)> {
        let mut out = Vec::new();
        for p in self.snapshot().plugins.values() {
            for s in &p.manifest.schedules {
                out.push((p.manifest.name.clone(), s.clone(), p.installed_at));
            }
        }
        out.sort_by(|a, b| (&a.0, &a.1.name).cmp(&(&b.0, &b.1.name)));
        out
    }

    /// The enabled plugin `plugin`'s schedule named `schedule`, if it has one.
    pub fn schedule(&self, plugin: &str, schedule: &str) -> Option<events::Schedule> {
        self.snapshot()
            .plugins
            .get(plugin)?
            .manifest
            .schedules
            .iter()
            .find(|s| s.name == schedule)
            .cloned()
    }

    /// The settings the host runs with.
    pub fn settings(&self) -> &PluginSettings {
        &self.inner.settings
    }

    /// Compiles (or loads from the cache) and links a component without installing it: what
    /// loading one plugin at start costs. For the benchmark; CPU-heavy on a cache miss.
    pub fn prepare_only(&self, wasm: &[u8]) -> Result<(), PluginError> {
        self.inner.runtime.prepare(wasm).map(drop)
    }

    /// Installs a component, or upgrades the installed plugin of the same name (its current
    /// version is kept for [`PluginHost::rollback`]). Validates the component, reads its
    /// manifest, refuses keywords owned by another enabled plugin. Takes effect at once; audited
    /// as `plugin.install` by `by` in the same transaction.
    pub async fn install(
        &self,
        wasm: &[u8],
        by: &ChangeAuthor,
    ) -> Result<InstalledPlugin, PluginError> {
        self.install_as(wasm, false, by).await
    }

    async fn install_as(
        &self,
        wasm: &[u8],
        bundled: bool,
        by: &ChangeAuthor,
    ) -> Result<InstalledPlugin, PluginError> {
        let inner = self.inner.clone();
        let bytes = wasm.to_vec();
        let (manifest, sha256, bytes) = tokio::task::spawn_blocking(move || {
            let pre = inner.runtime.prepare(&bytes)?;
            let call = Call {
                grants: Arc::new(Grants::new("(installing)", "")),
                services: inner.services.clone(),
                request_id: "install".into(),
                sender: None,
                traced: false,
            };
            let description = inner
                .runtime
                .describe(&pre, call)
                .map_err(PluginError::Manifest)?;
            let manifest = Manifest::from_description(description, pre.contract())?;
            Ok::<_, PluginError>((manifest, sha256_hex(&bytes), bytes))
        })
        .await
        .map_err(|e| PluginError::Engine(format!("the install task failed: {e}")))??;
        manifest.validate()?;
        let manifest_json = serde_json::to_string(&manifest)
            .map_err(|e| PluginError::InvalidManifest(e.to_string()))?;
        let record = self
            .inner
            .store
            .plugin_install_version(
                &NewPluginVersion {
                    name: &manifest.name,
                    version: &manifest.version,
                    sha256: &sha256,
                    keywords: &manifest.keywords(),
                    datasources: &manifest.datasources,
                    manifest_json: &manifest_json,
                    component: &bytes,
                    bundled,
                },
                crate::clock::now_ms(),
                by,
            )
            .await?;
        tracing::info!(plugin = %record.name, version = %record.current.version, keywords = ?record.current.keywords, "plugin installed");
        self.refresh().await?;
        InstalledPlugin::from_record(&record)
    }

    /// Enables or disables a plugin; takes effect at once. Audited as `plugin.enable` or
    /// `plugin.disable` by `by`.
    pub async fn set_enabled(
        &self,
        name: &str,
        enabled: bool,
        by: &ChangeAuthor,
    ) -> Result<(), PluginError> {
        self.inner
            .store
            .plugin_set_enabled(name, enabled, crate::clock::now_ms(), by)
            .await?;
        tracing::info!(plugin = %name, enabled, "plugin enabled state changed");
        self.refresh().await
    }

    /// Makes the previous version current again; takes effect at once. Audited as
    /// `plugin.rollback` by `by`.
    pub async fn rollback(
        &self,
        name: &str,
        by: &ChangeAuthor,
    ) -> Result<InstalledPlugin, PluginError> {
        let record = self
            .inner
            .store
            .plugin_rollback(name, crate::clock::now_ms(), by)
            .await?;
        tracing::info!(plugin = %name, version = %record.current.version, "plugin rolled back");
        self.refresh().await?;
        InstalledPlugin::from_record(&record)
    }

    /// Re-reads the registry from the store now (the daemon also does so when the store's
    /// generation moves). Plugins whose version did not change keep their compiled code.
    pub async fn refresh(&self) -> Result<(), PluginError> {
        if !self.inner.serving {
            return Ok(());
        }
        let _one_at_a_time = self.inner.refreshing.lock().await;
        let store = &self.inner.store;
        let generation = store.plugins_generation().await?;
        let records = store.plugins().await?;
        let grants = store.plugin_grants().await?;
        let config = store.plugin_config().await?;
        let datasources: HashMap<String, String> = store
            .datasources()
            .await?
            .into_iter()
            .map(|d| (d.name, d.url))
            .collect();
        let old = self.snapshot();
        let mut next = Snapshot {
            generation,
            ..Snapshot::default()
        };
        for record in records.into_iter().filter(|r| r.enabled) {
            let manifest = match parse_manifest(&record.current.manifest_json) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(plugin = %record.name, error = %e, "plugin skipped");
                    next.load_errors.insert(record.name.clone(), e.to_string());
                    continue;
                }
            };
            let plugin_grants = Grants::from_store(
                &record.name,
                &record.current.version,
                &grants,
                &datasources,
                config
                    .get(&record.name)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            );
            let pre = match old.plugins.get(&record.name) {
                Some(loaded) if loaded.version_id == record.current.id => loaded.pre.clone(),
                _ => match self.compile_stored(record.current.id).await {
                    Ok(pre) => pre,
                    Err(e) => {
                        tracing::error!(plugin = %record.name, version = %record.current.version, error = %e, "plugin cannot be loaded; it stays unavailable");
                        next.load_errors.insert(record.name.clone(), e.to_string());
                        continue;
                    }
                },
            };
            let loaded = Arc::new(Loaded {
                version_id: record.current.id,
                installed_at: record.current.installed_at,
                sha256: record.current.sha256.clone(),
                manifest,
                pre,
                grants: Arc::new(plugin_grants),
            });
            for keyword in &record.current.keywords {
                next.keywords.insert(keyword.clone(), loaded.clone());
            }
            next.plugins.insert(record.name.clone(), loaded);
        }
        let changed = old.generation != next.generation;
        *self
            .inner
            .snapshot
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        if changed {
            let snapshot = self.snapshot();
            let mut loaded: Vec<String> = snapshot
                .plugins
                .values()
                .map(|p| {
                    format!(
                        "{}@{} ({})",
                        p.manifest.name,
                        p.manifest.version,
                        &p.sha256[..12]
                    )
                })
                .collect();
            loaded.sort();
            tracing::info!(generation, plugins = ?loaded, "plugins loaded");
        }
        Ok(())
    }

    async fn compile_stored(&self, version_id: i64) -> Result<Prepared, PluginError> {
        let bytes = self.inner.store.plugin_component(version_id).await?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.runtime.prepare(&bytes))
            .await
            .map_err(|e| PluginError::Engine(format!("the compile task failed: {e}")))?
    }

    /// Installs the bundled components into a fresh database, once.
    async fn install_bundled(&self) -> Result<(), PluginError> {
        let store = &self.inner.store;
        if store.plugins_bundled_installed().await? {
            return Ok(());
        }
        let Some(dir) = self.inner.settings.bundled_dir.clone() else {
            return Ok(());
        };
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "wasm"))
                .collect(),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "no bundled plugins to install (run `cargo xtask plugins`, or set [plugins] bundled_dir)");
                return Ok(());
            }
        };
        files.sort();
        let datasources: BTreeSet<String> = store
            .datasources()
            .await?
            .into_iter()
            .map(|d| d.name)
            .collect();
        let mut installed = 0;
        for file in files {
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "cannot read a bundled plugin");
                    continue;
                }
            };
            match self.install_as(&bytes, true, &ChangeAuthor::daemon()).await {
                Ok(plugin) => {
                    installed += 1;
                    for d in plugin
                        .requested_datasources
                        .iter()
                        .filter(|d| datasources.contains(*d))
                    {
                        store
                            .plugin_grant(
                                &plugin.name,
                                GrantKind::Datasource,
                                d,
                                crate::clock::now_ms(),
                                &ChangeAuthor::daemon(),
                            )
                            .await?;
                    }
                    // A bundled plugin ships with the platform: it gets the capabilities it
                    // asks for, as it gets the datasources that exist.
                    for c in &plugin.requested_capabilities {
                        store
                            .plugin_grant(
                                &plugin.name,
                                GrantKind::Capability,
                                c.as_str(),
                                crate::clock::now_ms(),
                                &ChangeAuthor::daemon(),
                            )
                            .await?;
                    }
                    tracing::info!(plugin = %plugin.name, version = %plugin.version, file = %file.display(), "bundled plugin installed");
                }
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "bundled plugin not installed")
                }
            }
        }
        if installed > 0 {
            store.plugins_mark_bundled_installed().await?;
        }
        Ok(())
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.inner
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn command_info(plugin: &Loaded, keyword: &str) -> Option<CommandInfo> {
    plugin
        .manifest
        .commands
        .iter()
        .find(|c| c.keyword == keyword)
        .map(|c| CommandInfo {
            keyword: c.keyword.clone(),
            syntax: c.syntax.clone(),
            help: c.help.clone(),
            police_data: c.police_data,
            plugin: plugin.manifest.name.clone(),
            version: plugin.manifest.version.clone(),
        })
}

/// What a call of `plugin` at `version` came to: its reply, or why there is none, with a text
/// (the reply, or the usage of bad arguments) longer than `max_reply_parts` SMS parts taken as
/// the plugin's error.
fn answer(
    plugin: &str,
    version: &str,
    call: Result<Result<wit::Reply, wit::PluginError>, InvocationError>,
    max_reply_parts: usize,
) -> Result<PluginReply, InvocationError> {
    let result = match call {
        Ok(Ok(reply)) => Ok(PluginReply {
            text: reply.text,
            outcome: match reply.outcome {
                wit::Outcome::Answered => Outcome::Answered,
                wit::Outcome::NotFound => Outcome::NotFound,
            },
            plugin: plugin.to_owned(),
            version: version.to_owned(),
        }),
        Ok(Err(e)) => Err(plugin_error(plugin, e)),
        Err(e) => Err(e),
    };
    let text = match &result {
        Ok(reply) => &reply.text,
        Err(InvocationError::BadArguments { usage, .. }) => usage,
        Err(_) => return result,
    };
    let parts = jingxun_sms::plan(text).parts;
    if parts > max_reply_parts {
        return Err(InvocationError::ReplyTooLong {
            plugin: plugin.to_owned(),
            parts,
            limit: max_reply_parts,
        });
    }
    result
}

/// What a plugin's own error means to the host.
fn plugin_error(plugin: &str, e: wit::PluginError) -> InvocationError {
    match e {
        wit::PluginError::BadArguments(usage) => InvocationError::BadArguments {
            plugin: plugin.to_owned(),
            usage,
        },
        wit::PluginError::Unavailable(reason) => InvocationError::Unavailable {
            plugin: plugin.to_owned(),
            reason,
        },
        wit::PluginError::Internal(reason) => InvocationError::Internal {
            plugin: plugin.to_owned(),
            reason,
        },
    }
}

fn to_wit(r: PluginRequest) -> wit::Request {
    wit::Request {
        id: r.id,
        sender: r.sender,
        user: r.user.map(|u| wit::User {
            login: u.login,
            name: u.name,
            roles: u.roles,
        }),
        keyword: r.keyword,
        arguments: r.arguments,
        text: r.text,
        received_at: r.received_at,
    }
}

/// Re-reads the registry whenever the store's generation moves; ends with the host.
async fn watch(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let host = PluginHost { inner };
        let known = host.snapshot().generation;
        match host.inner.store.plugins_generation().await {
            Ok(now) if now != known => {
                if let Err(e) = host.refresh().await {
                    tracing::warn!(error = %e, "cannot reload the plugins; retrying");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot check the plugin registry; retrying"),
        }
    }
}
