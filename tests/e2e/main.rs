//! The end-to-end tests: one binary, as wasmtime's `tests/all`, so that the daemon library,
//! wasmtime and sqlx are linked into one test executable instead of one per area. Each module
//! drives the real `jingxun` binary (see `support`) for one area of the platform.

mod support;

mod api;
mod directory;
mod gateway;
mod members;
mod operations;
mod plugin_cli;
mod queries;
mod web;
