//! Jingxun (警讯): the host daemon of the police SMS platform.
//!
//! The library is split by responsibility; the `jingxun` binary is a thin command line over it.
//! - [`config`]: the TOML configuration, its defaults, environment overrides and validation.
//! - [`sms`]: the 3GPP TS 23.040 codec (PDUs, alphabets, concatenation).
//! - [`modem`]: the AT protocol, the serial modem driver and the modem simulator.
//! - [`phone`]: recipient lists and phone number normalisation.
//! - [`store`]: the durable message store (SQLite or PostgreSQL through sqlx).

pub mod config;
pub mod modem;
pub mod phone;
pub mod sms;
pub mod store;
