//! The server side: the routes the daemon merges into its HTTP router, the backend traits
//! ([`backend`]) through which pages reach the daemon, the live feeds ([`live`]), the audit
//! export and the plugin upload, and the plain error pages (403, 404) the daemon's layers
//! answer with.
//!
//! The daemon's session layer runs before these routes: it resolves the session cookie, checks
//! `Origin`/`Sec-Fetch-Site` and the CSRF token of every POST, refuses pages the role may not
//! open, and attaches a [`RequestContext`] to the request, which server functions read.

pub mod backend;
mod files;
mod live;

use std::path::Path;
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
use crate::model::{Page, Refusal, SignInStep, Viewer, encode_component};

pub use backend::{Actor, BoxFuture, PasswordChangeError, WebBackend};
pub use files::{MAX_UPLOAD_BYTES, UPLOAD_PATH};

/// The name of the bundle's files: `pkg/jingxun_web.js` and `pkg/jingxun_web_bg.wasm`.
pub const OUTPUT_NAME: &str = "jingxun_web";

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
    /// The signed-in session (a sign-in with a step still to take is not one).
    pub session: Option<Session>,
    /// A sign-in with a step still to take, and which step.
    pub pending: Option<(Session, SignInStep)>,
    /// The client's address, for audit rows.
    pub source: Option<String>,
    /// This response's Content-Security-Policy nonce (the layer sends the header).
    pub nonce: String,
}

impl RequestContext {
    /// The signed-in user as an [`Actor`], if the user may open `page`.
    pub fn actor_for(&self, page: Page) -> Option<Actor> {
        let session = self.session.as_ref()?;
        page.allows(&session.roles).then(|| Actor {
            session_key: session.key.clone(),
            login: session.login.clone(),
            name: session.name.clone(),
            roles: session.roles.clone(),
            source: self.source.clone(),
        })
    }

    /// The user of a sign-in waiting for `step`, as an [`Actor`].
    pub fn pending_actor(&self, step: SignInStep) -> Option<Actor> {
        let (session, at) = self.pending.as_ref()?;
        (*at == step).then(|| Actor {
            session_key: session.key.clone(),
            login: session.login.clone(),
            name: session.name.clone(),
            roles: session.roles.clone(),
            source: self.source.clone(),
        })
    }

    /// The user who may manage their own second factor: a signed-in one, or one whose role
    /// requires it and who must enrol before anything else.
    pub fn own_second_factor_actor(&self) -> Option<Actor> {
        self.actor_for(Page::TwoStep)
            .or_else(|| self.pending_actor(SignInStep::Enrol))
    }
}

/// The paths a visitor without a session may post to: sign-in, and sign-out (a stale page's).
/// The daemon's session layer refuses every other post without a session before reading its
/// body.
pub fn anonymous_posts() -> [&'static str; 2] {
    use leptos::server_fn::ServerFn;
    [
        <crate::server::SignIn as ServerFn>::PATH,
        <crate::server::SignOut as ServerFn>::PATH,
    ]
}

/// What a sign-in waiting for `step` may post besides [`anonymous_posts`]: the code, or the
/// enrolment's two forms. The daemon's session layer refuses anything else.
pub fn pending_posts(step: SignInStep) -> Vec<&'static str> {
    use crate::server::two_step::{SecondFactor, TwoStepBegin, TwoStepConfirm};
    use leptos::server_fn::ServerFn;
    match step {
        SignInStep::Code => vec![<SecondFactor as ServerFn>::PATH],
        SignInStep::Enrol => vec![
            <TwoStepBegin as ServerFn>::PATH,
            <TwoStepConfirm as ServerFn>::PATH,
        ],
    }
}

/// The posts that change who may do what (users, roles, grants, API keys, plugins, second
/// factors), each with the page to come back to: the daemon's session layer sends a user
/// whose last verification is older than `[web] reauth_minutes` to [`crate::model::REAUTH_PATH`]
/// instead, whatever page or client posted it (one check here rather than one in each form).
pub fn sensitive_posts() -> Vec<(&'static str, Page)> {
    use crate::server::api_keys::ApiKeyCreate;
    use crate::server::plugins::PluginGrant;
    use crate::server::two_step::TwoStepDisable;
    use crate::server::users::{
        RoleCreate, RoleRemove, RoleSetGrants, UserCreate, UserResetPassword, UserSetAccess,
        UserSetActive, UserTotpReset,
    };
    use leptos::server_fn::ServerFn;
    vec![
        (<UserCreate as ServerFn>::PATH, Page::Users),
        (<UserSetActive as ServerFn>::PATH, Page::Users),
        (<UserSetAccess as ServerFn>::PATH, Page::Users),
        (<UserResetPassword as ServerFn>::PATH, Page::Users),
        (<UserTotpReset as ServerFn>::PATH, Page::Users),
        (<RoleCreate as ServerFn>::PATH, Page::Users),
        (<RoleRemove as ServerFn>::PATH, Page::Users),
        (<RoleSetGrants as ServerFn>::PATH, Page::Users),
        (<ApiKeyCreate as ServerFn>::PATH, Page::ApiKeys),
        (UPLOAD_PATH, Page::Plugins),
        (<PluginGrant as ServerFn>::PATH, Page::Plugins),
        (<TwoStepDisable as ServerFn>::PATH, Page::TwoStep),
    ]
}

/// The backend and the shutdown signal, as provided to server functions and feeds.
#[derive(Clone)]
pub struct BackendContext {
    pub backend: Arc<dyn WebBackend>,
}

/// The backend of this request.
pub fn backend() -> Result<Arc<dyn WebBackend>, ServerFnError> {
    use_context::<BackendContext>()
        .map(|b| b.backend)
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

/// The Content-Security-Policy of a response whose inline script and style carry `nonce`:
/// nothing from other origins, no inline code without the nonce, no framing.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The backend and the actor of a request whose user may open `page`; otherwise an error and
/// status 403 (the page guard has normally refused such a page already; server functions and
/// feeds are checked here, whatever the page showed).
pub fn require(page: Page) -> Result<(Arc<dyn WebBackend>, Actor), ServerFnError> {
    let context = request_context()?;
    let Some(actor) = context.actor_for(page) else {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(StatusCode::FORBIDDEN);
        }
        return Err(ServerFnError::new("not allowed"));
    };
    Ok((backend()?, actor))
}

/// Redirects to `path` with the outcome of a form: `ok=<code>` or `error=<code>` (and
/// `detail=`), which the page's notice shows in the viewer's language.
pub fn redirect_with<T>(path: &str, outcome: &Result<T, Refusal>, ok: &str) {
    redirect_with_detail(
        path,
        &outcome.as_ref().map(|_| None).map_err(Clone::clone),
        ok,
    );
}

/// [`redirect_with`], naming what was done (`detail=`) on success.
pub fn redirect_with_detail(path: &str, outcome: &Result<Option<String>, Refusal>, ok: &str) {
    leptos_axum::redirect(&outcome_target(path, outcome, ok));
}

/// Where a form's outcome sends the browser: `path` with `ok=`/`error=` and `detail=`.
pub fn outcome_target(path: &str, outcome: &Result<Option<String>, Refusal>, ok: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    match outcome {
        Ok(None) => format!("{path}{separator}ok={ok}"),
        Ok(Some(detail)) => format!(
            "{path}{separator}ok={ok}&detail={}",
            encode_component(detail)
        ),
        Err(refusal) => {
            let mut target = format!("{path}{separator}error={}", refusal.code.as_str());
            if let Some(detail) = &refusal.detail {
                target.push_str("&detail=");
                target.push_str(&encode_component(detail));
            }
            target
        }
    }
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

/// The web admin's routes: the pages, the server functions under `/ui/fn/`, the live feeds
/// under `/ui/events/`, the audit export and the plugin upload, the bundle under `/pkg/`
/// (from `site_dir/pkg`) and a 404 page for anything else. The caller puts its session layer
/// in front.
pub fn routes(backend: Arc<dyn WebBackend>, site_dir: &Path) -> Router {
    let context = BackendContext { backend };
    let options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(site_dir.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let paths = generate_route_list(App);
    let extra = Router::new()
        .route("/ui/events/dashboard", axum::routing::get(live::dashboard))
        .route("/ui/events/batch", axum::routing::get(live::batch))
        .route("/ui/events/handset", axum::routing::get(live::handset))
        .route("/ui/export/audit.csv", axum::routing::get(files::audit_csv))
        .route(
            UPLOAD_PATH,
            axum::routing::post(files::plugin_upload)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .layer(axum::Extension(context.clone()));
    let leptos_context = context;
    Router::new()
        .leptos_routes_with_context(
            &options,
            paths,
            move || provide_context(leptos_context.clone()),
            {
                let options = options.clone();
                move || {
                    // The layer's nonce, which its Content-Security-Policy header names, for the
                    // hydration script and the style sheet.
                    if let Ok(context) = request_context() {
                        provide_context(leptos::nonce::Nonce::from_value(context.nonce));
                    }
                    shell(options.clone())
                }
            },
        )
        .nest_service(
            "/pkg",
            tower_http::services::ServeDir::new(site_dir.join("pkg")),
        )
        .fallback(not_found)
        .with_state(options)
        .merge(extra)
}

async fn not_found(request: axum::extract::Request) -> impl IntoResponse {
    let (lang, nonce) = request
        .extensions()
        .get::<RequestContext>()
        .map(|c| (c.viewer.lang, c.nonce.clone()))
        .unwrap_or_default();
    error_response(lang, StatusCode::NOT_FOUND, &nonce)
}

/// A plain error page (403, 404, 500) in the viewer's language, with the same look as the
/// pages and a link back; never raw error text. `nonce` is the response's CSP nonce.
pub fn error_response(lang: Lang, status: StatusCode, nonce: &str) -> axum::response::Response {
    let key = match status {
        StatusCode::FORBIDDEN => "error.forbidden",
        StatusCode::NOT_FOUND => "error.not_found",
        _ => "error.server",
    };
    (status, Html(error_page(lang, key, nonce))).into_response()
}

/// The 403 page for a refused cross-site or stale form post.
pub fn csrf_response(lang: Lang, nonce: &str) -> axum::response::Response {
    (
        StatusCode::FORBIDDEN,
        Html(error_page(lang, "error.csrf", nonce)),
    )
        .into_response()
}

fn error_page(lang: Lang, key: &str, nonce: &str) -> String {
    let title = t(lang, &format!("{key}.title"));
    let lead = t(lang, &format!("{key}.lead"));
    format!(
        "<!DOCTYPE html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} - {app}</title><style nonce=\"{nonce}\">{CSS}</style></head><body>\
         <div class=\"signin\"><div class=\"brand\">{app}</div><div class=\"card\" id=\"error\">\
         <h1>{title}</h1><p>{lead}</p><p><a href=\"/\">{back}</a></p></div></div></body></html>",
        html_lang = lang.html_lang(),
        app = t(lang, "app.name"),
        back = t(lang, "error.back"),
    )
}
