//! Work on the whole store that is neither storage nor one domain's rule, and that the audit log
//! records: backups and their restore ([`backup`]), and retention runs ([`retention`]). Above
//! the audit log and the store, whose SQL they use (`store::backup`, `store::retention`).

pub mod backup;
pub mod retention;
