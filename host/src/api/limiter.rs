//! The failure budget of `/api/v1` per source address is [`crate::limit::failures`], shared
//! with web sign-in; these names stay here for the modules that still import them from the API.

pub use crate::limit::failures::{Charge, FailureBudget, FailureLimiter, source_key};
