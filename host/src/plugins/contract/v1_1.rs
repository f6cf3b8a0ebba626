//! Contract 1.1.0 (`wit/v1.1/plugin.wit`, world `plugin`): the newest, whose types the host
//! works in. The capabilities implement its interfaces ([`super::super::capability`]); older
//! contracts adapt to it ([`super::since_v1_0`]).

wasmtime::component::bindgen!({
    path: "../wit/v1.1",
    world: "plugin",
    // Every host function may trap: that is how a call past its deadline or its budget of host
    // calls is stopped (see `capability::HostCall::begin`).
    imports: { default: trappable },
});
