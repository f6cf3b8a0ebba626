//! Server functions, under `/ui/fn/` (the HTTP API owns `/api`), one module per page. Reads
//! are GET; every POST changes state and passes the daemon's CSRF layer first (same-origin
//! `Origin` / `Sec-Fetch-Site` and the form's `csrf` token), so the `csrf` arguments are
//! already checked when a function runs. Each function checks the caller's role itself
//! ([`crate::ssr::require`]): hiding a link is never the protection.
//!
//! The forms' results are redirects (`?ok=` / `?error=`, see [`crate::app::Notice`]), so that
//! a plain form post (before the bundle loads) and a hydrated call end on the same page with
//! the same message.

pub mod address_book;
pub mod api_keys;
pub mod audit;
pub mod dashboard;
pub mod help_text;
pub mod messages;
pub mod phones;
pub mod plugins;
pub mod send;
pub mod session;
pub mod simulator;
pub mod two_step;
pub mod users;

pub use session::{ChangePassword, SignIn, SignOut, get_viewer};

/// An optional id from a form field (empty or absent: none).
pub fn optional_id(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// A refusal as the error of a page load: its code, which the page shows in the viewer's
/// language.
pub fn refused(refusal: crate::model::Refusal) -> leptos::prelude::ServerFnError {
    leptos::prelude::ServerFnError::new(refusal.code.as_str())
}
