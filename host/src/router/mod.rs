//! The SMS command router: reads commands from inbound messages and answers them.

pub mod command;
