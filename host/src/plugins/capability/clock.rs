//! `clock.now`: the time, as the host sees it (a plugin has no clock of its own).

use wasmtime::component::Linker;

use super::super::contract::v1_1::jingxun::plugin::clock;
use super::{HostCall, HostState, OnHostCall};

/// Links `clock`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    clock::add_to_linker::<HostState, OnHostCall>(linker, HostState::host_call)
}

impl clock::Host for HostCall<'_> {
    fn now(&mut self) -> wasmtime::Result<i64> {
        self.begin("clock.now", String::new)?;
        Ok(crate::clock::now_ms())
    }
}
