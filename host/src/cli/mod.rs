//! The subcommands of the `jingxun` binary, one module per group. `main.rs` parses the command
//! line and calls into these; each works on the store named by the configuration, so it works
//! while `jingxun serve` runs in another process.

pub mod apikey;
pub mod audit;
pub mod backup;
pub mod channel;
pub mod contact;
pub mod datasource;
pub mod demo_data;
pub mod help_text;
pub mod member;
pub mod messages;
pub mod phone;
pub mod plugin;
pub mod retention;
pub mod role;
pub mod template;
pub mod user;
