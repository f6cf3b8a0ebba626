//! The wasmtime side: one engine, the compiled-artefact cache, the epoch ticker, and one
//! sandboxed invocation (fresh store, limits, instantiate from the `InstancePre`, call).
//!
//! wasmtime runs synchronously here, on tokio's blocking pool ([`tokio::task::spawn_blocking`]
//! in [`super::PluginHost::handle`]), so a spinning plugin occupies a blocking thread until its
//! deadline and never a tokio worker. Host capabilities that need async I/O (database, HTTP)
//! block that same thread on the runtime's handle.

use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    UpdateDeadline,
};

use super::capability::{self, Call, CallLimits, Effects, HostCallRecord, HostState, Spent};
use super::contract::{Description, Event, Prepared, latest};
use super::{InvocationError, PluginError};

/// A finished call: what the plugin returned (or why it returned nothing), what it did that
/// outlives it (empty unless it returned `ok`), and its host calls when traced.
pub struct Finished<T> {
    pub result: Result<Result<T, latest::PluginError>, InvocationError>,
    pub effects: Effects,
    pub trace: Vec<HostCallRecord>,
}

impl<T> Finished<T> {
    fn of(
        result: Result<Result<T, latest::PluginError>, InvocationError>,
        mut state: HostState,
    ) -> Self {
        let effects = match &result {
            Ok(Ok(_)) => state.take_effects(),
            _ => Effects::default(),
        };
        Finished {
            result,
            effects,
            trace: state.budget.trace.take().unwrap_or_default(),
        }
    }
}

/// How often the engine's epoch advances: the resolution of the CPU deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Plugin instances that can exist at once (the pooling allocator's slots); calls beyond it
/// wait ([`super::PluginHost::handle`]) or are refused ([`super::PluginHost::handle_blocking`]).
pub const MAX_CONCURRENT_CALLS: u32 = 128;

/// The wasmtime version, part of the cache key (a new wasmtime never reads old artefacts).
const WASMTIME_VERSION: &str = "48.0.8";

/// Compile and cache counters, for tests and the benchmark.
#[derive(Debug, Default)]
pub struct CacheCounters {
    /// Components compiled by cranelift.
    pub compiled: AtomicU64,
    /// Components loaded from the on-disk cache.
    pub cache_hits: AtomicU64,
}

/// The engine, the linker with the host capabilities, and the on-disk cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache_dir: PathBuf,
    /// Hex digest of everything about the engine that makes an artefact (in)compatible.
    engine_key: String,
    pub counters: CacheCounters,
    limits: CallLimits,
}

impl Runtime {
    /// Builds the engine and starts its epoch ticker (a thread that stops with the engine).
    pub fn new(cache_dir: PathBuf, limits: CallLimits) -> Result<Runtime, PluginError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Instances come from a pool of pre-reserved slots that are reset, not unmapped, after
        // each call: a fresh instance per request then costs microseconds, not mmap/munmap.
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(MAX_CONCURRENT_CALLS)
            .total_core_instances(MAX_CONCURRENT_CALLS * 8)
            .max_core_instances_per_component(16)
            .total_memories(MAX_CONCURRENT_CALLS)
            .total_tables(MAX_CONCURRENT_CALLS * 8)
            .max_memory_size(limits.memory_bytes)
            .linear_memory_keep_resident(256 * 1024)
            .table_keep_resident(16 * 1024);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        capability::add_to_linker(&mut linker)
            .map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{WASMTIME_VERSION}-{:016x}", hasher.finish());
        fs::create_dir_all(&cache_dir).map_err(|source| PluginError::Cache {
            path: cache_dir.clone(),
            source,
        })?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| PluginError::Engine(format!("cannot start the epoch thread: {e}")))?;
        Ok(Runtime {
            engine,
            linker,
            cache_dir,
            engine_key,
            counters: CacheCounters::default(),
            limits,
        })
    }

    /// Compiles a component, or loads it from the cache when these exact bytes were compiled
    /// by this exact engine before; links it under the contract it was built for. CPU-heavy on
    /// a miss: call it on a blocking thread.
    pub fn prepare(&self, bytes: &[u8]) -> Result<Prepared, PluginError> {
        let digest = sha256_hex(bytes);
        let path = self
            .cache_dir
            .join(format!("{digest}-{}.cwasm", self.engine_key));
        let component = match self.load_cached(&path) {
            Some(component) => component,
            None => {
                let component = Component::new(&self.engine, bytes)
                    .map_err(|e| PluginError::InvalidComponent(format!("{e:#}")))?;
                self.counters.compiled.fetch_add(1, Ordering::Relaxed);
                self.store_cached(&path, &component);
                component
            }
        };
        Prepared::new(&self.linker, &component)
    }

    fn load_cached(&self, path: &Path) -> Option<Component> {
        if !path.is_file() {
            return None;
        }
        // SAFETY: the cache directory holds only artefacts this process's `Component::serialize`
        // wrote (named by the SHA-256 of the component and the engine's compatibility hash), and
        // is as trusted as the database next to it. wasmtime still checks the header and refuses
        // artefacts of another version or configuration; then we recompile.
        #[allow(unsafe_code)]
        let deserialized = unsafe { Component::deserialize_file(&self.engine, path) };
        match deserialized {
            Ok(component) => {
                self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(path = %path.display(), "plugin loaded from the compile cache");
                Some(component)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unusable compile cache entry; recompiling");
                None
            }
        }
    }

    fn store_cached(&self, path: &Path, component: &Component) {
        let written = component
            .serialize()
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                let partial = path.with_extension(format!("partial{}", std::process::id()));
                fs::write(&partial, bytes)
                    .and_then(|()| fs::rename(&partial, path))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            // A cache that cannot be written costs start-up time, nothing else.
            tracing::warn!(path = %path.display(), error = %e, "cannot write the plugin compile cache");
        }
    }

    /// A fresh store for one call: memory limiter, CPU limit (guest time only: time spent in
    /// host calls is not counted) and the call's deadline (everything counted), both checked at
    /// each epoch tick while the plugin runs; host calls check the deadline and their budget
    /// themselves ([`capability::HostCall::begin`]).
    fn store(&self, state: HostState) -> Store<HostState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        let limits = self.limits;
        store.set_epoch_deadline(ticks(limits.cpu.min(limits.wall)));
        store.epoch_deadline_callback(move |mut ctx| {
            let state = ctx.data_mut();
            let used = state.guest_time();
            let elapsed = state.budget.started.elapsed();
            if used >= limits.cpu {
                state.budget.spent = Some(Spent::Cpu);
                Err(wasmtime::format_err!(
                    "the plugin ran longer than its CPU limit of {} ms",
                    limits.cpu.as_millis()
                ))
            } else if elapsed >= limits.wall {
                state.budget.spent = Some(Spent::WallClock);
                Err(wasmtime::format_err!(
                    "the plugin's call passed its deadline of {} ms",
                    limits.wall.as_millis()
                ))
            } else {
                let next = (limits.cpu - used).min(limits.wall - elapsed);
                Ok(UpdateDeadline::Continue(ticks(next)))
            }
        });
        store
    }

    /// Calls `describe` (`manifest` in 1.0) in a fresh sandbox.
    pub fn describe(&self, pre: &Prepared, call: Call) -> Result<Description, InvocationError> {
        let name = call.grants.plugin().to_owned();
        let mut store = self.store(HostState::new(call, &self.limits));
        let result = pre.describe(&mut store);
        result.map_err(|e| self.classify(&name, &store, e))
    }

    /// Calls `handle` in a fresh sandbox; with the reply, what the call did that outlives it
    /// (to commit when it answered).
    pub fn handle(
        &self,
        pre: &Prepared,
        call: Call,
        request: &latest::Request,
    ) -> Finished<latest::Reply> {
        let name = call.grants.plugin().to_owned();
        let mut store = self.store(HostState::new(call, &self.limits));
        let result = pre
            .handle(&mut store, request)
            .map_err(|e| self.classify(&name, &store, e));
        Finished::of(result, store.into_data())
    }

    /// Calls `on-event` in a fresh sandbox.
    pub fn on_event(&self, pre: &Prepared, call: Call, event: &Event) -> Finished<()> {
        let name = call.grants.plugin().to_owned();
        let mut store = self.store(HostState::new(call, &self.limits));
        let result = pre
            .on_event(&mut store, event)
            .map_err(|e| self.classify(&name, &store, e));
        Finished::of(result, store.into_data())
    }

    /// Turns a wasmtime error into what happened, from what the store saw.
    fn classify(
        &self,
        plugin: &str,
        store: &Store<HostState>,
        e: wasmtime::Error,
    ) -> InvocationError {
        let state = store.data();
        let plugin = plugin.to_owned();
        match state.budget.spent {
            Some(Spent::Cpu) => InvocationError::Timeout {
                plugin,
                limit_ms: millis(self.limits.cpu),
            },
            Some(Spent::WallClock) => InvocationError::DeadlinePassed {
                plugin,
                limit_ms: millis(self.limits.wall),
            },
            Some(Spent::HostCalls) => InvocationError::TooManyHostCalls {
                plugin,
                limit: self.limits.host_calls,
            },
            None if state.limiter.refused => InvocationError::OutOfMemory {
                plugin,
                limit_bytes: self.limits.memory_bytes,
            },
            None => InvocationError::Trap {
                plugin,
                message: format!("{e:#}"),
            },
        }
    }
}

/// `d` in whole milliseconds.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Epoch ticks covering `d` (at least one).
fn ticks(d: Duration) -> u64 {
    (d.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64).max(1)
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Bounds a plugin's linear memory (and tables) and remembers whether it was refused, so that a
/// trap that follows is reported as out-of-memory.
pub struct MemoryLimiter {
    limit: usize,
    /// Set when a growth past the limit was refused.
    pub refused: bool,
}

impl MemoryLimiter {
    /// A limiter allowing `limit` bytes of linear memory.
    pub fn new(limit: usize) -> Self {
        MemoryLimiter {
            limit,
            refused: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; 100k entries is far beyond any real plugin.
        if desired > 100_000 {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        // A component built by wit-component has a handful of core instances.
        32
    }
}
