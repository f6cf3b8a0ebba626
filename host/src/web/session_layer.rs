//! The session layer in front of every web admin route (checklist "Sign-in and sessions"):
//! - reads the session cookie (`__Host-jx_session` with `[web] secure_cookies = true`, the
//!   default; `jx_session` otherwise) and resolves it with [`crate::auth::Accounts::session`]
//!   (idle and absolute limits, disabled users);
//! - gives a visitor without a session a pre-sign-in cookie, whose derived token the sign-in
//!   form carries;
//! - refuses every POST (every state change) whose `Sec-Fetch-Site` is not `same-origin`, whose
//!   `Origin` is not this host, or whose form (URL-encoded or multipart) lacks the token of its
//!   session: a 403 page;
//! - decides what body a POST may have before reading a byte of it (issue 18, finding 4): a
//!   visitor without a session may post only the sign-in (and sign-out) form, anything else is
//!   a 403 page; only a user who may open the plugins page may send the plugin upload's large
//!   body ([`MAX_UPLOAD_BYTES`]), the upload from anyone else is a 403 page; every other form
//!   is at most [`MAX_FORM_BYTES`]. A `Content-Length` above the limit is a 413 page at once,
//!   and a body without one is read only up to the limit;
//! - refuses pages the user's roles may not open (403 page) and sends visitors without a
//!   session to the sign-in page;
//! - keeps a sign-in with a step still to take (issue 18 item 10) to that step: a session
//!   waiting for its second factor's code opens only `/signin/code` and posts only the code,
//!   one whose role requires a second factor it has not enrolled opens only the two-step page
//!   and posts only its enrolment (both may sign out); neither is a signed-in session for any
//!   page or function;
//! - sends a post that changes who may do what (`jingxun_web::ssr::sensitive_posts`) from a
//!   user whose last verification is older than `[web] reauth_minutes` to the re-check page
//!   (`/reauth`) instead of running it;
//! - picks the language: `?lang=en|zh` (remembered in the `jx_lang` cookie), else the cookie,
//!   else Simplified Chinese;
//! - makes a nonce for each response and sends a Content-Security-Policy that allows only this
//!   origin's bundle and the inline script and style carrying that nonce, with
//!   `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
//!   `Cache-Control: no-store`, and HSTS when cookies are `Secure`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use jingxun_web::i18n::Lang;
use jingxun_web::model::{
    Page, PendingUser, REAUTH_PATH, SECOND_FACTOR_PATH, SignInStep, Viewer, ViewerUser,
    encode_component,
};
use jingxun_web::ssr::{RequestContext, Session};
use jingxun_web::ssr::{anonymous_posts, pending_posts, sensitive_posts};

use super::WebState;
use crate::auth::{SessionId, SessionUser, Stage, csrf_token};
use crate::clock::now_ms;

/// Largest form body accepted, in bytes (a multipart upload, a plugin component, may have
/// up to [`MAX_UPLOAD_BYTES`] and some form fields around it).
const MAX_FORM_BYTES: usize = 256 * 1024;
use jingxun_web::ssr::{MAX_UPLOAD_BYTES, UPLOAD_PATH};
/// The language cookie (not a secret).
const LANG_COOKIE: &str = "jx_lang";

/// The cookies of a request, by name (the first of each name).
fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn cookie<'a>(all: &'a [(String, String)], name: &str) -> Option<&'a str> {
    all.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `?lang=` of a query string.
fn query_lang(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::from_code(v))
}

/// Whether a state-changing request comes from a page of this host: `Sec-Fetch-Site`, when
/// the browser sends it, must be `same-origin`, and `Origin`, when present, must be this host.
/// (Browsers send at least one of them with every POST; the CSRF token is checked as well.)
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    origin_host.is_some_and(|o| o.eq_ignore_ascii_case(host))
}

/// Constant-time comparison of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// See the module documentation.
pub(super) async fn session_layer(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let nonce = nonce();
    let mut out = Outgoing {
        cookies: Vec::new(),
        nonce: nonce.clone(),
        hsts: state.secure_cookies,
    };
    if path.starts_with("/pkg/") {
        // The bundle: revalidated (ETag) rather than fetched anew on every page.
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return out.finish(response);
    }
    let jar = cookies(request.headers());
    let asked_lang = query_lang(request.uri().query());
    if let Some(lang) = asked_lang {
        out.cookies.push(format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            lang.code()
        ));
    }
    let lang = asked_lang
        .or_else(|| cookie(&jar, LANG_COOKIE).and_then(Lang::from_code))
        .unwrap_or_default();
    // The TCP peer, or the client behind a trusted reverse proxy.
    let source = crate::net::client_address::of(&request).map(|ip| ip.to_string());

    let session_secret = cookie(&jar, state.session_cookie()).map(str::to_owned);
    let user = match &session_secret {
        Some(secret) => match state.accounts.session(secret).await {
            Ok(user) => user,
            Err(e) => {
                tracing::error!(error = %e, "cannot read web sessions");
                return out.finish(jingxun_web::ssr::error_response(
                    lang,
                    StatusCode::SERVICE_UNAVAILABLE,
                    &nonce,
                ));
            }
        },
        None => None,
    };
    // A sign-in with a step still to take is not a signed-in user.
    let (user, pending) = match user {
        Some(u) if u.stage != Stage::Full => {
            let step = match u.stage {
                Stage::Enrol => SignInStep::Enrol,
                _ => SignInStep::Code,
            };
            (None, Some((u, step)))
        }
        other => (other, None),
    };
    let csrf = match (user.is_some() || pending.is_some(), &session_secret) {
        (true, Some(secret)) => csrf_token(secret),
        _ => {
            let pre = cookie(&jar, state.pre_cookie())
                .and_then(SessionId::parse)
                .map(|id| id.secret().to_owned());
            match pre {
                Some(secret) => csrf_token(&secret),
                None => match SessionId::generate() {
                    Ok(id) => {
                        out.cookies
                            .push(state.cookie(state.pre_cookie(), id.secret(), None));
                        csrf_token(id.secret())
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "no random bytes for a form token");
                        String::new()
                    }
                },
            }
        }
    };
    let viewer = Viewer {
        user: user.as_ref().map(|u| ViewerUser {
            login: u.login.clone(),
            name: u.name.clone(),
            roles: u.roles.clone(),
        }),
        csrf: csrf.clone(),
        lang,
        pending: pending.as_ref().map(|(u, step)| PendingUser {
            login: u.login.clone(),
            name: u.name.clone(),
            step: *step,
        }),
    };
    let pending_step = pending.as_ref().map(|(_, step)| *step);

    let mut request = request;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        if !same_origin(request.headers()) {
            tracing::warn!(%path, ?source, "refused a cross-site form post");
            return out.finish(jingxun_web::ssr::csrf_response(lang, &nonce));
        }
        let limit = match body_limit(&path, viewer.user.as_ref(), pending_step) {
            Ok(limit) => limit,
            Err(BodyRefusal::NoSession) => {
                tracing::info!(%path, ?source, "refused a form post without a session");
                return out.finish(jingxun_web::ssr::csrf_response(lang, &nonce));
            }
            Err(BodyRefusal::NotAllowed) => {
                tracing::warn!(%path, ?source, "refused an upload from a user who may not upload");
                return out.finish(jingxun_web::ssr::error_response(
                    lang,
                    StatusCode::FORBIDDEN,
                    &nonce,
                ));
            }
        };
        let too_large =
            || jingxun_web::ssr::error_response(lang, StatusCode::PAYLOAD_TOO_LARGE, &nonce);
        if declared_length(request.headers()).is_some_and(|length| length > limit as u64) {
            tracing::info!(%path, ?source, "refused a form post larger than allowed");
            return out.finish(too_large());
        }
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| multer::parse_boundary(v).ok());
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
            return out.finish(too_large());
        };
        let token = match multipart {
            Some(boundary) => multipart_token(bytes.clone(), boundary).await,
            None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|fields| fields.into_iter().find(|(k, _)| k == "csrf"))
                .map(|(_, v)| v),
        };
        if csrf.is_empty() || !token.is_some_and(|t| same_token(&t, &csrf)) {
            tracing::warn!(%path, ?source, "refused a form post without its form token");
            return out.finish(jingxun_web::ssr::csrf_response(lang, &nonce));
        }
        if let Some(user) = &user
            && let Some(back) = stale_for(&path, user, state.accounts.settings().reauth)
        {
            tracing::info!(%path, login = %user.login, "a sensitive action asks to prove the user again first");
            let target = format!("{REAUTH_PATH}?next={}", encode_component(back.path()));
            return out.finish(Redirect::to(&target).into_response());
        }
        request = Request::from_parts(parts, Body::from(bytes));
    } else if let Some(step) = pending_step {
        // Only the step's own page (and the sign-in page, to start again).
        let guarded =
            Page::from_path(&path).is_some() || path == SECOND_FACTOR_PATH || path == REAUTH_PATH;
        if guarded && path != step.path() {
            return out.finish(Redirect::to(step.path()).into_response());
        }
    } else if path == SECOND_FACTOR_PATH || path == REAUTH_PATH {
        match (&viewer.user, path == REAUTH_PATH) {
            (None, _) => return out.finish(Redirect::to("/signin").into_response()),
            (Some(_), false) => return out.finish(Redirect::to("/").into_response()),
            (Some(_), true) => {}
        }
    } else if let Some(page) = Page::from_path(&path) {
        match &viewer.user {
            None => return out.finish(Redirect::to("/signin").into_response()),
            Some(u) if !u.may_open(page) => {
                tracing::info!(%path, login = %u.login, "refused a page the user's roles may not open");
                return out.finish(jingxun_web::ssr::error_response(
                    lang,
                    StatusCode::FORBIDDEN,
                    &nonce,
                ));
            }
            Some(_) => {}
        }
    } else if path == "/signin" && viewer.user.is_some() {
        return out.finish(Redirect::to("/").into_response());
    }

    let as_session = |u: SessionUser| Session {
        key: u.id_hash,
        login: u.login,
        name: u.name,
        roles: u.roles,
    };
    let session = user.map(as_session);
    let pending = pending.map(|(u, step)| (as_session(u), step));
    request.extensions_mut().insert(RequestContext {
        viewer,
        session,
        pending,
        source,
        nonce,
    });
    let response = next.run(request).await;
    out.finish(response)
}

/// When a post to `path` is a sensitive action and `user` last proved who they are longer than
/// `fresh` ago: the page to come back to after the re-check.
fn stale_for(path: &str, user: &SessionUser, fresh: std::time::Duration) -> Option<Page> {
    let (_, page) = sensitive_posts().into_iter().find(|(p, _)| *p == path)?;
    (!user.verified_within(fresh, now_ms())).then_some(page)
}

/// Why a post is refused before its body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyRefusal {
    /// Only the sign-in and sign-out forms may be posted without a session.
    NoSession,
    /// The plugin upload from a user who may not open the plugins page.
    NotAllowed,
}

/// The largest body a post to `path` from `user` (or from a sign-in waiting for `pending`)
/// may have, decided from the session alone (see the module documentation).
fn body_limit(
    path: &str,
    user: Option<&ViewerUser>,
    pending: Option<SignInStep>,
) -> Result<usize, BodyRefusal> {
    let Some(user) = user else {
        let allowed = anonymous_posts().contains(&path)
            || pending.is_some_and(|step| pending_posts(step).contains(&path));
        return if allowed {
            Ok(MAX_FORM_BYTES)
        } else {
            Err(BodyRefusal::NoSession)
        };
    };
    if path == UPLOAD_PATH {
        return if user.may_open(Page::Plugins) {
            Ok(MAX_UPLOAD_BYTES + MAX_FORM_BYTES)
        } else {
            Err(BodyRefusal::NotAllowed)
        };
    }
    Ok(MAX_FORM_BYTES)
}

/// The body length a request announces in `Content-Length`, if it does.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The `csrf` field of a multipart form (the forms put it first).
async fn multipart_token(body: axum::body::Bytes, boundary: String) -> Option<String> {
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("csrf") {
            return field.text().await.ok();
        }
    }
    None
}

/// 128 random bits for this response's Content-Security-Policy nonce (a fixed value only if
/// the OS generator fails, which the log reports).
fn nonce() -> String {
    match SessionId::generate() {
        Ok(id) => id.secret().to_owned(),
        Err(e) => {
            tracing::error!(error = %e, "no random bytes for a CSP nonce");
            "unavailable".to_owned()
        }
    }
}

/// What every response of the layer gets: cookies to set and the security headers.
struct Outgoing {
    cookies: Vec<String>,
    nonce: String,
    hsts: bool,
}

impl Outgoing {
    fn finish(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        for c in &self.cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                headers.append(header::SET_COOKIE, v);
            }
        }
        if let Ok(csp) =
            HeaderValue::from_str(&jingxun_web::ssr::content_security_policy(&self.nonce))
        {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if self.hsts {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_posts_from_this_host_pass_the_origin_check() {
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null"),
        ])));
    }

    fn user(role: &str) -> ViewerUser {
        ViewerUser {
            login: "wang".into(),
            name: "王".into(),
            roles: vec![role.into()],
        }
    }

    /// Issue 18, finding 4: what a post may carry is decided from the session before its body
    /// is read; only an administrator's upload may be large.
    #[test]
    fn only_an_administrators_upload_may_have_a_large_body() {
        let admin = user("admin");
        let operator = user("operator");
        assert_eq!(
            body_limit(UPLOAD_PATH, Some(&admin), None),
            Ok(MAX_UPLOAD_BYTES + MAX_FORM_BYTES)
        );
        assert_eq!(
            body_limit(UPLOAD_PATH, Some(&operator), None),
            Err(BodyRefusal::NotAllowed)
        );
        assert_eq!(
            body_limit(UPLOAD_PATH, None, None),
            Err(BodyRefusal::NoSession)
        );
        assert_eq!(
            body_limit("/ui/fn/user_create", None, None),
            Err(BodyRefusal::NoSession)
        );
        assert_eq!(body_limit("/ui/fn/sign_in", None, None), Ok(MAX_FORM_BYTES));
        assert_eq!(
            body_limit("/ui/fn/sign_out", None, None),
            Ok(MAX_FORM_BYTES)
        );
        assert_eq!(
            body_limit("/ui/fn/user_create", Some(&admin), None),
            Ok(MAX_FORM_BYTES)
        );
        assert_eq!(
            declared_length(&headers(&[("content-length", "20971520")])),
            Some(20_971_520)
        );
        assert_eq!(declared_length(&headers(&[])), None);
    }

    #[test]
    fn cookies_and_language_are_read_from_the_request() {
        let jar = cookies(&headers(&[(
            "cookie",
            "jx_lang=en; __Host-jx_session=abc; other=1",
        )]));
        assert_eq!(cookie(&jar, "__Host-jx_session"), Some("abc"));
        assert_eq!(cookie(&jar, "jx_lang"), Some("en"));
        assert_eq!(query_lang(Some("a=1&lang=en")), Some(Lang::En));
        assert_eq!(query_lang(Some("lang=xx")), None);
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }
}
