//! Contract 1.0.0 (`wit/v1.0/plugin.wit`, world `query-plugin`), adapted to the newest.
//!
//! Every interface a 1.0 component imports is in 1.1 unchanged, so its imports are served by
//! the 1.1 capabilities: wasmtime's linker gives an import of `jingxun:plugin/datasource@1.0.0`
//! the newest compatible definition (`@1.1.0`), after checking that its type is the one the
//! component expects. What differs is the world's exports: 1.0's `manifest` becomes 1.1's
//! `describe` with no capability beyond 1.0's. The request, reply and error types of `handle`
//! are the 1.1 ones (the same `types` interface; `with` below), so they need no conversion.

use super::v1_1::jingxun::plugin::capabilities::Description;

wasmtime::component::bindgen!({
    path: "../wit/v1.0",
    world: "query-plugin",
    with: { "jingxun:plugin/types": super::v1_1::jingxun::plugin::types },
});

/// 1.0's manifest as 1.1's description: nothing asked beyond 1.0's capabilities, no event.
pub fn describe(manifest: super::v1_1::jingxun::plugin::types::Manifest) -> Description {
    Description {
        manifest,
        capabilities: Vec::new(),
        events: Vec::new(),
        schedules: Vec::new(),
    }
}
