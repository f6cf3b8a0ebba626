//! `config.get`: the plugin's own configuration values, set by an administrator
//! (`jingxun plugin config`). A plugin reads its own values only.

use wasmtime::component::Linker;

use super::super::contract::v1_1::jingxun::plugin::config;
use super::{HostCall, HostState, OnHostCall};

/// Links `config`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    config::add_to_linker::<HostState, OnHostCall>(linker, HostState::host_call)
}

impl config::Host for HostCall<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.begin("config.get", || key.clone())?;
        Ok(self.grants().config(&key).map(str::to_owned))
    }
}
