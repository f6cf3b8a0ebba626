//! The host capabilities a plugin imports, one module each: [`datasource`], [`http`],
//! [`config`], [`log`], [`clock`] (contract 1.0) and [`directory`], [`citizen`], [`state`],
//! [`outbox`] (1.1). Each implements its interface of the newest contract on a view of the
//! call of its own, checks every call against the plugin's [`Grants`], and links itself
//! ([`add_to_linker`]). There is no WASI: a plugin has no files, sockets, environment or clock
//! but these. [`state`] and [`outbox`] keep what a call does in its [`HostState`] until the
//! call returns `ok` ([`Effects`]).
//!
//! Adding a capability: a module here with its view, its `Host` implementation and its
//! `add_to_linker`, one line in [`add_to_linker`], its interface in the newest `wit/` contract
//! and, when it is granted separately, a [`Capability`](super::manifest::Capability).

pub mod channels;
pub mod citizen;
pub mod clock;
pub mod config;
pub mod datasource;
pub mod directory;
pub mod http;
pub mod log;
pub mod outbox;
pub mod state;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{HasData, Linker};

use super::contract::v1_1::jingxun::plugin::types;
use super::grants::Grants;
use super::runtime::MemoryLimiter;
use crate::audit::AuditEntry;
use crate::store::{NewOutbound, StateQuota, Store};

/// What every call shares: the runtime handle for async host work, the store, datasource pools,
/// and the policy on what a call may do.
pub struct Services {
    pub runtime: tokio::runtime::Handle,
    pub store: Store,
    pub pools: datasource::Pools,
    pub policy: EffectsPolicy,
}

impl Services {
    /// Services on the current tokio runtime and `store`, under the default policy.
    pub fn new(runtime: tokio::runtime::Handle, store: Store) -> Self {
        Services {
            runtime,
            store,
            pools: datasource::Pools::default(),
            policy: EffectsPolicy::default(),
        }
    }

    /// These services under `policy`.
    pub fn with_policy(mut self, policy: EffectsPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// What one call may leave behind (`[plugins]` settings): state within the plugin's quota,
/// messages within a number per call and a length each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectsPolicy {
    pub state_quota: StateQuota,
    pub max_sends_per_call: u32,
    /// Longest message, in SMS parts.
    pub max_message_parts: usize,
}

impl EffectsPolicy {
    /// The policy `[plugins]` sets.
    pub fn from_config(p: &crate::config::PluginsConfig) -> EffectsPolicy {
        EffectsPolicy {
            state_quota: StateQuota {
                max_keys: p.state_max_keys,
                max_bytes: p.state_max_bytes,
            },
            max_sends_per_call: p.max_sends_per_call,
            max_message_parts: p.max_reply_parts,
        }
    }
}

/// The policy of an empty `[plugins]` section.
impl Default for EffectsPolicy {
    fn default() -> Self {
        EffectsPolicy::from_config(&crate::config::PluginsConfig::default())
    }
}

/// What a call did that outlives it: its state writes, its messages and their audit rows;
/// committed when it returned `ok`, dropped otherwise.
#[derive(Debug, Default)]
pub struct Effects {
    pub state_writes: Vec<(String, Option<Vec<u8>>)>,
    pub messages: Vec<NewOutbound>,
    pub audit: Vec<AuditEntry>,
}

impl Effects {
    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.state_writes.is_empty() && self.messages.is_empty() && self.audit.is_empty()
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
    /// Whether to keep every host call ([`HostCallRecord`]), for `jingxun plugin try`.
    pub traced: bool,
}

/// The data of one call's store.
pub struct HostState {
    pub call: Call,
    pub limiter: MemoryLimiter,
    pub budget: CallBudget,
    /// What the call wrote to its plugin's state.
    pub state: state::PendingState,
    /// What the call queued.
    pub outbox: outbox::PendingSends,
}

impl HostState {
    /// State for a call starting now, within `limits`.
    pub fn new(call: Call, limits: &CallLimits) -> Self {
        let mut budget = CallBudget::start(limits);
        if call.traced {
            budget.trace = Some(Vec::new());
        }
        HostState {
            call,
            limiter: MemoryLimiter::new(limits.memory_bytes),
            budget,
            state: state::PendingState::default(),
            outbox: outbox::PendingSends::default(),
        }
    }

    /// What the call did that outlives it, taken out of the state.
    pub fn take_effects(&mut self) -> Effects {
        let outbox = std::mem::take(&mut self.outbox);
        Effects {
            state_writes: self.state.writes(),
            messages: outbox.messages,
            audit: outbox.audit,
        }
    }

    /// Time spent running the plugin's own code so far (host calls excluded).
    pub fn guest_time(&self) -> Duration {
        self.budget
            .started
            .elapsed()
            .saturating_sub(self.budget.in_host)
    }

    /// The view of the call that most capabilities work on.
    fn host_call(&mut self) -> HostCall<'_> {
        HostCall {
            call: &self.call,
            budget: &mut self.budget,
        }
    }
}

/// A capability's view of a call: who it is for, and what it may still spend. Every host
/// function starts with [`HostCall::begin`], so that each call counts against the budget of
/// host calls and none starts after the deadline; async work then goes through
/// [`HostCall::block_on`], which cuts it at the deadline.
pub struct HostCall<'a> {
    pub call: &'a Call,
    budget: &'a mut CallBudget,
}

impl HostCall<'_> {
    /// The plugin's grants.
    pub fn grants(&self) -> &Grants {
        &self.call.grants
    }

    /// Starts the host call `function` (`datasource.query`) on `target` (what it reaches, for
    /// the trace of `jingxun plugin try`; only evaluated when tracing): counts it, and is the
    /// trap that stops the plugin when its host calls or its time are spent. Every host function
    /// calls it first.
    pub fn begin(
        &mut self,
        function: &'static str,
        target: impl FnOnce() -> String,
    ) -> wasmtime::Result<()> {
        if let Some(trace) = &mut self.budget.trace {
            trace.push(HostCallRecord {
                function,
                target: target(),
                refused: None,
            });
        }
        let budget = &mut *self.budget;
        budget.host_calls += 1;
        if budget.host_calls > budget.max_host_calls {
            budget.spent = Some(Spent::HostCalls);
            return Err(wasmtime::format_err!(
                "the plugin made more than {} host calls",
                budget.max_host_calls
            ));
        }
        if Instant::now() >= budget.deadline {
            budget.spent = Some(Spent::WallClock);
            return Err(wasmtime::format_err!(
                "the plugin's call passed its deadline"
            ));
        }
        Ok(())
    }

    /// When the call must end (`[plugins] wall_limit_ms` from its start): host work that can be
    /// stopped at a given moment (a datasource query) is stopped there.
    pub fn deadline(&self) -> Instant {
        self.budget.deadline
    }

    /// Notes, for the trace, that the host call begun last was refused and why.
    pub fn refused(&mut self, why: &str) {
        if let Some(last) = self.budget.trace.as_mut().and_then(|t| t.last_mut()) {
            last.refused = Some(why.to_owned());
        }
    }

    /// Runs async host work on this (blocking) thread, cut at the call's deadline (a trap), and
    /// not counted against the plugin's CPU limit.
    pub fn block_on<F: std::future::Future>(&mut self, work: F) -> wasmtime::Result<F::Output> {
        let left = self
            .budget
            .deadline
            .saturating_duration_since(Instant::now());
        let started = Instant::now();
        let out = self
            .call
            .services
            .runtime
            .block_on(tokio::time::timeout(left, work));
        self.budget.in_host += started.elapsed();
        out.map_err(|_| {
            self.budget.spent = Some(Spent::WallClock);
            wasmtime::format_err!("the plugin's call passed its deadline in a host call")
        })
    }
}

/// One host call as `jingxun plugin try` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCallRecord {
    /// `datasource.query`, `http.send`, ...
    pub function: &'static str,
    /// What it reached: a datasource's name, a `host:port`, a configuration key...
    pub target: String,
    /// Why it was refused (not granted, an invalid request), when it was.
    pub refused: Option<String>,
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
    channels::add_to_linker(linker)?;
    state::add_to_linker(linker)?;
    outbox::add_to_linker(linker)?;
    Ok(())
}

impl types::Host for HostState {}

/// What every call may spend (`[plugins]` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Time running the plugin's own code (host calls not counted).
    pub cpu: Duration,
    /// Time from start to end, host calls included.
    pub wall: Duration,
    /// Linear memory.
    pub memory_bytes: usize,
    /// Host calls (queries, HTTP requests, log lines, clock reads...).
    pub host_calls: u32,
}

impl CallLimits {
    /// The limits `[plugins]` sets.
    pub fn from_config(p: &crate::config::PluginsConfig) -> CallLimits {
        CallLimits {
            cpu: Duration::from_millis(p.cpu_limit_ms),
            wall: Duration::from_millis(p.wall_limit_ms),
            memory_bytes: usize::try_from(p.memory_limit_mb)
                .unwrap_or(usize::MAX / (1 << 20))
                .saturating_mul(1 << 20),
            host_calls: p.max_host_calls,
        }
    }
}

/// The limits of an empty `[plugins]` section.
impl Default for CallLimits {
    fn default() -> Self {
        CallLimits::from_config(&crate::config::PluginsConfig::default())
    }
}

/// Which limit stopped a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// Its CPU time.
    Cpu,
    /// Its deadline.
    WallClock,
    /// Its host calls.
    HostCalls,
}

/// What one call has spent so far, against its [`CallLimits`].
#[derive(Debug)]
pub struct CallBudget {
    pub started: Instant,
    /// Time spent in host calls (not counted as CPU).
    pub in_host: Duration,
    pub deadline: Instant,
    pub host_calls: u32,
    pub max_host_calls: u32,
    /// The limit that stopped the call, once one did.
    pub spent: Option<Spent>,
    /// Every host call, when the call is traced ([`Call::traced`]).
    pub trace: Option<Vec<HostCallRecord>>,
}

impl CallBudget {
    /// A call starting now within `limits`.
    pub fn start(limits: &CallLimits) -> Self {
        let started = Instant::now();
        CallBudget {
            started,
            in_host: Duration::ZERO,
            deadline: started + limits.wall,
            host_calls: 0,
            max_host_calls: limits.host_calls,
            spent: None,
            trace: None,
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
                services: Arc::new(
                    Services::new(tokio::runtime::Handle::current(), store).with_policy(
                        EffectsPolicy {
                            state_quota: StateQuota {
                                max_keys: 4,
                                max_bytes: 1024,
                            },
                            max_sends_per_call: 3,
                            max_message_parts: 5,
                        },
                    ),
                ),
                request_id: "test".into(),
                sender: sender.map(str::to_owned),
                traced: false,
            },
            &CallLimits::default(),
        )
    }
}
