//! The Jingxun (警讯) web admin (issue 4): Leptos pages rendered by the daemon and hydrated in
//! the browser, in Simplified Chinese with English available.
//!
//! - [`model`]: what server and browser exchange (viewer, pages and their roles, figures);
//! - [`i18n`]: the dictionary;
//! - [`app`]: the pages;
//! - [`server`]: the server functions (`/ui/fn/...`);
//! - `ssr` (feature `ssr`): the axum routes the daemon merges, and the [`ssr::WebBackend`] trait
//!   through which the pages reach accounts and the store (implemented by the daemon, which
//!   also runs the session and CSRF layer in front of these routes).
//!
//! Feature `hydrate` builds the browser bundle (`cargo xtask` compiles it for
//! `wasm32-unknown-unknown` and runs `wasm-bindgen --target web` into `target/site/pkg`).

pub mod app;
pub mod i18n;
pub mod model;
pub mod server;
#[cfg(feature = "ssr")]
pub mod ssr;

/// The browser bundle's entry point, called by the hydration script of every page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Every redirect a server function asks for is a full page load, so that the server's
    // page guard and session layer see each page (set before the router could set its own).
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        let _ = leptos::prelude::window().location().set_href(location);
    });
    leptos::mount::hydrate_body(app::App);
}
