//! The plugin contracts the host serves, one module per WIT version (`wit/v1.0`, `wit/v1.1`):
//! the newest ([`v1_1`]) is what the capabilities implement and what the host works in; each
//! older one ([`since_v1_0`]) adapts its world to the newest. A component's contract is read
//! from the component itself ([`ContractVersion::of`]): the version of the `jingxun:plugin`
//! interfaces it imports.
//!
//! Adding a contract 1.x: a `wit/v1.x` folder, a module here with its bindings, a variant in
//! [`ContractVersion`] and [`Prepared`]; the previous newest gets an adapter like
//! [`since_v1_0`].

pub mod since_v1_0;
pub mod v1_1;

use jingxun_vocabulary::vocabulary;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use super::PluginError;
use super::capability::HostState;
pub use v1_1::jingxun::plugin::capabilities::Description;
pub use v1_1::jingxun::plugin::events::Event;
pub use v1_1::jingxun::plugin::types as latest;

/// The WIT package every contract version belongs to.
const PACKAGE: &str = "jingxun:plugin/";

vocabulary! {
    /// A version of the plugin contract this host serves, as its WIT package version.
    "plugin contract version" => pub enum ContractVersion {
        /// `jingxun:plugin@1.0.0`: query plugins (world `query-plugin`).
        V1_0 = "1.0.0",
        /// `jingxun:plugin@1.1.0`: world `plugin`: events and schedules, and the directory,
        /// citizen, state and outbox capabilities.
        V1_1 = "1.1.0",
    }
}

impl ContractVersion {
    /// The newest: what new plugins are built against.
    pub const LATEST: ContractVersion = ContractVersion::V1_1;

    /// The contract `component` was built for: the version of the `jingxun:plugin` interfaces
    /// it imports (every world of every version imports at least `types`, whose records its
    /// exports use). A component importing none, or two versions, or a version this host does
    /// not serve, is refused with what was found.
    pub fn of(component: &Component) -> Result<ContractVersion, PluginError> {
        let engine = component.engine();
        let ty = component.component_type();
        let mut seen: Vec<&str> = ty
            .imports(engine)
            .filter_map(|(name, _)| name.strip_prefix(PACKAGE))
            .filter_map(|interface| interface.split_once('@').map(|(_, version)| version))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        let known = || {
            ContractVersion::ALL
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match seen.as_slice() {
            [one] => one.parse().map_err(|_| {
                PluginError::InvalidComponent(format!(
                    "it was built for contract jingxun:plugin@{one}, which this host does not \
                     serve (it serves {}); rebuild it against one of those or upgrade Jingxun",
                    known()
                ))
            }),
            [] => Err(PluginError::InvalidComponent(format!(
                "it imports no jingxun:plugin interface, so it was not built against a Jingxun \
                 plugin contract (this host serves {})",
                known()
            ))),
            several => Err(PluginError::InvalidComponent(format!(
                "it imports jingxun:plugin interfaces of several versions ({}); build it against \
                 one contract",
                several.join(", ")
            ))),
        }
    }
}

/// A component linked against the host's capabilities, under the contract it was built for:
/// instantiate it per call with [`Prepared::describe`] or [`Prepared::handle`].
#[derive(Clone)]
pub enum Prepared {
    V1_0(since_v1_0::QueryPluginPre<HostState>),
    V1_1(v1_1::PluginPre<HostState>),
}

impl Prepared {
    /// Links `component` with `linker` (the newest capabilities) and checks its exports
    /// against the world of its contract.
    pub fn new(linker: &Linker<HostState>, component: &Component) -> Result<Prepared, PluginError> {
        let version = ContractVersion::of(component)?;
        let pre = linker.instantiate_pre(component).map_err(|e| {
            PluginError::InvalidComponent(format!(
                "it imports what contract {version} does not provide: {e:#}"
            ))
        })?;
        let world = |e: wasmtime::Error, name: &str| {
            PluginError::InvalidComponent(format!(
                "it is not a jingxun:plugin/{name}@{version} component: {e:#}"
            ))
        };
        match version {
            ContractVersion::V1_0 => since_v1_0::QueryPluginPre::new(pre)
                .map(Prepared::V1_0)
                .map_err(|e| world(e, "query-plugin")),
            ContractVersion::V1_1 => v1_1::PluginPre::new(pre)
                .map(Prepared::V1_1)
                .map_err(|e| world(e, "plugin")),
        }
    }

    /// The contract the component was built for.
    pub fn contract(&self) -> ContractVersion {
        match self {
            Prepared::V1_0(_) => ContractVersion::V1_0,
            Prepared::V1_1(_) => ContractVersion::V1_1,
        }
    }

    /// Instantiates it in `store` and asks what it is.
    pub fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<Description> {
        match self {
            Prepared::V1_0(pre) => {
                let instance = pre.instantiate(&mut *store)?;
                instance
                    .call_manifest(&mut *store)
                    .map(since_v1_0::describe)
            }
            Prepared::V1_1(pre) => pre.instantiate(&mut *store)?.call_describe(store),
        }
    }

    /// Instantiates it in `store` and has it answer `request`.
    pub fn handle(
        &self,
        store: &mut Store<HostState>,
        request: &latest::Request,
    ) -> wasmtime::Result<Result<latest::Reply, latest::PluginError>> {
        match self {
            Prepared::V1_0(pre) => pre.instantiate(&mut *store)?.call_handle(store, request),
            Prepared::V1_1(pre) => pre.instantiate(&mut *store)?.call_handle(store, request),
        }
    }

    /// Instantiates it in `store` and has it react to `event`. A 1.0 component asks for no
    /// event, so it is never given one; if it were, nothing would happen.
    pub fn on_event(
        &self,
        store: &mut Store<HostState>,
        event: &Event,
    ) -> wasmtime::Result<Result<(), latest::PluginError>> {
        match self {
            Prepared::V1_0(_) => Ok(Ok(())),
            Prepared::V1_1(pre) => pre.instantiate(&mut *store)?.call_on_event(store, event),
        }
    }
}
