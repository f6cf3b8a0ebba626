//! Everything that talks to a GSM modem: the AT line protocol ([`at`]), one command-and-answer
//! conversation ([`session`]), the serial modem driver ([`driver`]) with its visible [`status`],
//! and the AT-speaking modem simulator ([`sim`]) used by tests and demos.

pub mod at;
pub mod driver;
pub mod session;
pub mod sim;
pub mod status;
