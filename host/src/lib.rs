//! Jingxun (警讯): the host daemon of the police SMS platform.
//!
//! The library is split by responsibility; the `jingxun` binary is a thin command line over it.
//! - [`config`]: the TOML configuration, its defaults, environment overrides and validation.
//! - [`sms`]: the 3GPP TS 23.040 codec (PDUs, alphabets, concatenation): the `jingxun-sms`
//!   crate beside this one (`host/sms`), which the web admin's browser bundle shares.
//! - [`modem`]: the AT protocol, the serial modem driver and the modem simulator.
//! - [`phone`]: recipient lists and phone number normalisation.
//! - [`address_book`]: departments, contacts and groups (R21) that the web admin sends to.
//! - [`citizen`]: the kinds and statuses of citizens' applications (R17).
//! - [`store`]: the durable message store (SQLite or PostgreSQL through sqlx).
//! - [`dispatch`]: outbound scheduling over the modems, retries and dead letters.
//! - [`inbox_signal`]: the wake-ups between the modem drivers, the router and the API's inbox.
//! - [`api`]: the HTTP API for other systems (`/api/v1`) and its API keys.
//! - [`http`]: the HTTP listener: health, the API and the web admin on one port.
//! - [`net`]: client addresses behind trusted proxies, IP networks and CA files.
//! - [`metrics`]: the Prometheus counters and the `/metrics` listener.
//! - [`web`]: the web admin (the `jingxun-web` pages) behind its session and CSRF layer.
//! - [`daemon`]: `jingxun serve`, wiring the above together with a clean drain.
//! - [`operations`]: backups, restores and retention runs, recorded in the audit log.
//! - [`plugins`]: the sandboxed WebAssembly plugins (wasmtime), their contracts, capabilities,
//!   registry and grants.
//! - [`secrets`]: the platform key file and the subkeys derived from it (the audit chain's).
//! - [`auth`]: web sign-in: accounts with argon2id passwords, lock-out, server-side sessions.
//! - [`clock`]: wall-clock milliseconds as stored.
//! - [`limit`]: the keyed token bucket with a bound on its keys behind every rate limit.
//! - [`testing`]: what the unit and end-to-end tests share (`on_both_backends!`).

pub mod address_book;
pub mod api;
pub mod audit;
pub mod auth;
pub mod channels;
pub mod citizen;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod directory;
pub mod dispatch;
pub mod http;
pub mod inbox_signal;
pub mod limit;
pub mod members;
pub mod metrics;
pub mod modem;
pub mod net;
pub mod operations;
pub mod phone;
pub mod plugins;
pub mod router;
pub mod secrets;
pub use jingxun_sms as sms;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod text;
pub mod web;
