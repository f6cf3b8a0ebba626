//! The host capabilities a plugin imports, one module each: [`datasource`], [`http`],
//! [`config`], [`log`], [`clock`] (contract 1.0) and [`directory`], [`citizen`] (1.1). Each
//! implements its interface of the newest contract on a view of the call of its own, checks
//! every call against the plugin's [`Grants`], and links itself ([`add_to_linker`]). There is
//! no WASI: a plugin has no files, sockets, environment or clock but these.
//!
//! Adding a capability: a module here with its view, its `Host` implementation and its
//! `add_to_linker`, one line in [`add_to_linker`], its interface in the newest `wit/` contract
//! and, when it is granted separately, a [`Capability`](super::manifest::Capability).

pub mod citizen;
pub mod clock;
pub mod config;
pub mod datasource;
pub mod directory;
pub mod http;
pub mod log;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{HasData, Linker};

use super::contract::v1_1::jingxun::plugin::types;
use super::grants::Grants;
use super::runtime::MemoryLimiter;
use crate::store::Store;

/// What every call shares: the runtime handle for async host work, the store, datasource pools.
pub struct Services {
    pub runtime: tokio::runtime::Handle,
    pub store: Store,
    pub pools: datasource::Pools,
}

impl Services {
    /// Services on the current tokio runtime and `store`.
    pub fn new(runtime: tokio::runtime::Handle, store: Store) -> Self {
        Services {
            runtime,
            store,
            pools: datasource::Pools::default(),
        }
    }
}

/// Who a call is for: the plugin's grants, the request, and what every call shares.
pub struct Call {
    pub grants: Arc<Grants>,
    pub services: Arc<Services>,
    /// The request's id, for logs (`install` while describing).
    pub request_id: String,
    /// The phone whose command is being answered; `None` while describing.
    pub sender: Option<String>,
}

/// The data of one call's store.
pub struct HostState {
    pub call: Call,
    pub limiter: MemoryLimiter,
    pub clock: CallClock,
    /// Set by the epoch callback when the CPU limit was reached.
    pub timed_out: bool,
}

impl HostState {
    /// State for a call starting now.
    pub fn new(call: Call, memory_limit: usize) -> Self {
        HostState {
            call,
            limiter: MemoryLimiter::new(memory_limit),
            clock: CallClock::start(),
            timed_out: false,
        }
    }

    /// Time spent running the plugin's own code so far (host calls excluded).
    pub fn guest_time(&self) -> Duration {
        self.clock
            .started
            .elapsed()
            .saturating_sub(self.clock.in_host)
    }

    /// The view of the call that most capabilities work on.
    fn host_call(&mut self) -> HostCall<'_> {
        HostCall {
            call: &self.call,
            clock: &mut self.clock,
        }
    }
}

/// A capability's view of a call: who it is for, and its clock, so that host work is not
/// counted against the plugin's CPU limit.
pub struct HostCall<'a> {
    pub call: &'a Call,
    clock: &'a mut CallClock,
}

impl HostCall<'_> {
    /// The plugin's grants.
    pub fn grants(&self) -> &Grants {
        &self.call.grants
    }

    /// Runs async host work to completion on this (blocking) thread, not counting its time
    /// against the plugin's CPU limit.
    pub fn block_on<F: std::future::Future>(&mut self, work: F) -> F::Output {
        let started = Instant::now();
        let out = self.call.services.runtime.block_on(work);
        self.clock.in_host += started.elapsed();
        out
    }
}

/// The [`HasData`] of the capabilities that work on a [`HostCall`].
struct OnHostCall;

impl HasData for OnHostCall {
    type Data<'a> = HostCall<'a>;
}

/// Links every capability of the newest contract (older contracts' imports resolve to these:
/// see [`super::contract`]).
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    types::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(linker, |s| s)?;
    datasource::add_to_linker(linker)?;
    http::add_to_linker(linker)?;
    config::add_to_linker(linker)?;
    log::add_to_linker(linker)?;
    clock::add_to_linker(linker)?;
    directory::add_to_linker(linker)?;
    citizen::add_to_linker(linker)?;
    Ok(())
}

impl types::Host for HostState {}

/// Elapsed-time bookkeeping of a call: when it started and how long it spent in host calls.
#[derive(Debug)]
pub struct CallClock {
    pub started: Instant,
    pub in_host: Duration,
}

impl CallClock {
    /// Starts now.
    pub fn start() -> Self {
        CallClock {
            started: Instant::now(),
            in_host: Duration::ZERO,
        }
    }
}

/// Call states for the capabilities' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The sender of the commands the tests answer.
    pub const SENDER: &str = "+8613800000001";

    /// The state of a call of a plugin with `grants`, answering [`SENDER`], on `store`. Call it
    /// on the test's runtime; use the state on a blocking thread, as the plugin runtime does.
    pub fn call_state_on(grants: Grants, store: Store) -> HostState {
        call_state_from(grants, store, Some(SENDER))
    }

    /// [`call_state_on`] for a command from `sender` (`None`: while describing).
    pub fn call_state_from(grants: Grants, store: Store, sender: Option<&str>) -> HostState {
        HostState::new(
            Call {
                grants: Arc::new(grants),
                services: Arc::new(Services::new(tokio::runtime::Handle::current(), store)),
                request_id: "test".into(),
                sender: sender.map(str::to_owned),
            },
            1 << 20,
        )
    }
}
