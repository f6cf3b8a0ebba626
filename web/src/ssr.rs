//! The server side: the routes the daemon merges into its HTTP router, the
//! [`WebBackend`] trait through which server functions reach accounts and the store, and the
//! plain error pages (403, 404) the daemon's layers answer with.
//!
//! The daemon's session layer runs before these routes: it resolves the session cookie, checks
//! `Origin`/`Sec-Fetch-Site` and the CSRF token of every POST, refuses pages the role may not
//! open, and attaches a [`RequestContext`] to the request, which server functions read.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse};
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, ResponseOptions, generate_route_list};

use crate::app::{App, CSS, shell};
use crate::i18n::{Lang, t};
use crate::model::{Dashboard, Page, Viewer};

/// The name of the bundle's files: `pkg/jingxun_web.js` and `pkg/jingxun_web_bg.wasm`.
pub const OUTPUT_NAME: &str = "jingxun_web";

/// A boxed future, as the backend's methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A signed-in session, as the daemon's session layer found it.
#[derive(Debug, Clone)]
pub struct Session {
    /// What the backend identifies the session by (the SHA-256 of its id, never the id).
    pub key: String,
    pub login: String,
    pub name: String,
    pub roles: Vec<String>,
}

/// What the daemon's session layer attaches to every web request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub viewer: Viewer,
    pub session: Option<Session>,
}

/// Why a password change was refused; [`PasswordChangeError::code`] goes into the page's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChangeError {
    WrongCurrent,
    Mismatch,
    TooShort,
    TooLong,
    Common,
    Failed,
}

impl PasswordChangeError {
    /// The code shown by the page (`?error=...`).
    pub fn code(self) -> &'static str {
        match self {
            PasswordChangeError::WrongCurrent => "wrong_current",
            PasswordChangeError::Mismatch => "mismatch",
            PasswordChangeError::TooShort => "too_short",
            PasswordChangeError::TooLong => "too_long",
            PasswordChangeError::Common => "common",
            PasswordChangeError::Failed => "failed",
        }
    }
}

/// What the pages need from the daemon. Implemented by the daemon on its accounts and store.
pub trait WebBackend: Send + Sync + 'static {
    /// Checks a login and password; on success the `Set-Cookie` values that open the session.
    /// Every refusal is the same `Err(())`.
    fn sign_in(&self, login: String, password: String) -> BoxFuture<'_, Result<Vec<String>, ()>>;
    /// Ends the session (if any); the `Set-Cookie` values that clear its cookie.
    fn sign_out<'a>(&'a self, session: Option<&'a Session>) -> BoxFuture<'a, Vec<String>>;
    /// Changes the session user's password after checking the current one.
    fn change_password<'a>(
        &'a self,
        session: &'a Session,
        current: String,
        new_password: String,
    ) -> BoxFuture<'a, Result<(), PasswordChangeError>>;
    /// The dashboard's figures.
    fn dashboard(&self) -> BoxFuture<'_, Result<Dashboard, String>>;
}

/// The backend, as provided to server functions through Leptos context.
#[derive(Clone)]
pub struct BackendContext(pub Arc<dyn WebBackend>);

/// The backend of this request.
pub fn backend() -> Result<Arc<dyn WebBackend>, ServerFnError> {
    use_context::<BackendContext>()
        .map(|b| b.0)
        .ok_or_else(|| ServerFnError::new("the web admin backend is missing"))
}

/// The session layer's context of this request.
pub fn request_context() -> Result<RequestContext, ServerFnError> {
    use_context::<Parts>()
        .and_then(|p| p.extensions.get::<RequestContext>().cloned())
        .ok_or_else(|| ServerFnError::new("the request passed no session layer"))
}

/// The language of this request (Chinese when unknown).
pub fn request_lang() -> Lang {
    request_context().map(|c| c.viewer.lang).unwrap_or_default()
}

/// The backend and context of a request whose user may open `page`; otherwise an error and
/// status 403 (the page guard has normally refused such a request already).
pub fn require(page: Page) -> Result<(Arc<dyn WebBackend>, RequestContext), ServerFnError> {
    let context = request_context()?;
    let allowed = context
        .viewer
        .user
        .as_ref()
        .is_some_and(|u| u.may_open(page));
    if !allowed {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(StatusCode::FORBIDDEN);
        }
        return Err(ServerFnError::new("not allowed"));
    }
    Ok((backend()?, context))
}

/// Adds `Set-Cookie` headers to this response.
pub fn set_cookies(cookies: &[String]) {
    if let Some(response) = use_context::<ResponseOptions>() {
        for cookie in cookies {
            if let Ok(value) = axum::http::HeaderValue::from_str(cookie) {
                response.append_header(axum::http::header::SET_COOKIE, value);
            }
        }
    }
}

/// The web admin's routes: the pages, the server functions under `/ui/fn/`, the bundle under
/// `/pkg/` (from `site_dir/pkg`) and a 404 page for anything else. The caller puts its session
/// layer in front.
pub fn routes(backend: Arc<dyn WebBackend>, site_dir: &Path) -> Router {
    let options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(site_dir.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let paths = generate_route_list(App);
    let backend = BackendContext(backend);
    Router::new()
        .leptos_routes_with_context(&options, paths, move || provide_context(backend.clone()), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .nest_service(
            "/pkg",
            tower_http::services::ServeDir::new(site_dir.join("pkg")),
        )
        .fallback(not_found)
        .with_state(options)
}

async fn not_found(request: axum::extract::Request) -> impl IntoResponse {
    let lang = request
        .extensions()
        .get::<RequestContext>()
        .map(|c| c.viewer.lang)
        .unwrap_or_default();
    error_response(lang, StatusCode::NOT_FOUND)
}

/// A plain error page (403, 404, 500) in the viewer's language, with the same look as the
/// pages and a link back; never raw error text.
pub fn error_response(lang: Lang, status: StatusCode) -> axum::response::Response {
    let key = match status {
        StatusCode::FORBIDDEN => "error.forbidden",
        StatusCode::NOT_FOUND => "error.not_found",
        _ => "error.server",
    };
    (status, Html(error_page(lang, key))).into_response()
}

/// The 403 page for a refused cross-site or stale form post.
pub fn csrf_response(lang: Lang) -> axum::response::Response {
    (StatusCode::FORBIDDEN, Html(error_page(lang, "error.csrf"))).into_response()
}

fn error_page(lang: Lang, key: &str) -> String {
    let title = t(lang, &format!("{key}.title"));
    let lead = t(lang, &format!("{key}.lead"));
    format!(
        "<!DOCTYPE html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} - {app}</title><style>{CSS}</style></head><body>\
         <div class=\"signin\"><div class=\"brand\">{app}</div><div class=\"card\" id=\"error\">\
         <h1>{title}</h1><p>{lead}</p><p><a href=\"/\">{back}</a></p></div></div></body></html>",
        html_lang = lang.html_lang(),
        app = t(lang, "app.name"),
        back = t(lang, "error.back"),
    )
}
