//! Everything that talks to a GSM modem: the AT line protocol ([`at`]), the serial modem driver
//! and the AT-speaking modem simulator ([`sim`]) used by tests and demos.

pub mod at;
pub mod sim;
