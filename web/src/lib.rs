//! The Jingxun (警讯) web admin (issue 4): Leptos pages rendered by the daemon and hydrated in
//! the browser, in Simplified Chinese with English available.
//!
//! - [`model`]: what server and browser exchange (viewer, pages and their roles, each page's
//!   data);
//! - [`i18n`]: the dictionary (shared words; each page keeps its own);
//! - [`app`]: the shell, the router and what the pages share;
//! - [`pages`]: one module per page;
//! - [`server`]: the server functions (`/ui/fn/...`), one module per page;
//! - `ssr` (feature `ssr`): the axum routes the daemon merges (pages, server functions, live
//!   feeds, the audit export, the plugin upload), and the `ssr::WebBackend` traits through
//!   which the pages reach accounts and the store (implemented by the daemon, which also runs
//!   the session and CSRF layer in front of these routes).
//!
//! Feature `hydrate` builds the browser bundle (`cargo xtask` compiles it for
//! `wasm32-unknown-unknown` and runs `wasm-bindgen --target web` into `target/site/pkg`).

#![recursion_limit = "256"]

pub mod app;
pub mod i18n;
pub mod model;
pub mod pages;
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
    // A mark for the browser tests (and anyone curious): the live parts run from here on.
    let _ = js_sys::Reflect::set(
        &leptos::prelude::window(),
        &"__jx_hydrated".into(),
        &true.into(),
    );
}
