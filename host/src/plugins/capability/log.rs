//! `log.log`: lines into the host's log, tagged with the plugin, its version and the request,
//! each cut to [`MAX_LOG_CHARS`] so that one line cannot flood the log.

use wasmtime::component::Linker;

use super::super::contract::v1_1::jingxun::plugin::log;
use super::{HostCall, HostState, OnHostCall};

/// Longest line a plugin may log, in characters; the rest is dropped.
pub const MAX_LOG_CHARS: usize = 2000;

/// Links `log`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    log::add_to_linker::<HostState, OnHostCall>(linker, HostState::host_call)
}

impl log::Host for HostCall<'_> {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.begin("log.log", || format!("{level:?}").to_lowercase())?;
        let message: String = message.chars().take(MAX_LOG_CHARS).collect();
        let plugin = self.grants().plugin();
        let version = self.grants().version();
        let request = self.call.request_id.as_str();
        match level {
            log::Level::Debug => tracing::debug!(plugin, version, request, "{message}"),
            log::Level::Info => tracing::info!(plugin, version, request, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, version, request, "{message}"),
            log::Level::Error => tracing::error!(plugin, version, request, "{message}"),
        }
        Ok(())
    }
}
