//! The HTTP listener: `/healthz` here (up or down for anyone, details for a signed-in web user or
//! an API key), the API for other systems (`/api/v1`, `/api/openapi.json`)
//! from [`crate::api`], and the web admin from [`crate::web`], all on one port; who sent each
//! request is [`client_address`](crate::net::client_address)'s, and every request passes the limits of [`with_limits`].

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Serialize;

use crate::modem::driver::ModemHandle;
use crate::modem::status::ModemStatus;
use crate::store::{QueueDepths, Store};

/// The largest request body any route accepts: a plugin component uploaded by an
/// administrator with its form fields. Every other route is limited further (the web admin's
/// session layer to 256 KiB unless the request is an administrator's upload, the API's JSON to
/// axum's 2 MiB).
pub const MAX_REQUEST_BODY_BYTES: usize = jingxun_web::ssr::MAX_UPLOAD_BYTES + 256 * 1024;

/// The limits every request passes, from `[http]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Requests handled at once; the others wait for a turn.
    pub max_concurrent: usize,
    /// From a request's arrival to its answer's first byte, waiting for a turn and reading
    /// the body included.
    pub timeout: std::time::Duration,
}

impl RequestLimits {
    /// The limits of `[http]`.
    pub fn from_config(http: &crate::config::HttpConfig) -> RequestLimits {
        RequestLimits {
            max_concurrent: http.max_concurrent_requests.max(1),
            timeout: std::time::Duration::from_secs(http.request_timeout_seconds),
        }
    }
}

/// Puts the listener's global limits (issue 18, finding 4) around every route of `app`, with
/// tower's and tower-http's layers rather than hand-written ones:
/// - [`tower_http::timeout::TimeoutLayer`] (outermost): an answer must start within
///   `timeout`, or it is 408 and the request's work is dropped, so a client that sends its
///   body slowly, or waits for a turn, holds nothing for long. Streamed answers (the web
///   admin's live feeds) start at once and are not cut.
/// - [`tower::limit::GlobalConcurrencyLimitLayer`]: at most `max_concurrent` requests are
///   handled at once across all routes (one semaphore, where `ConcurrencyLimitLayer` would
///   give each route its own); the others wait.
/// - [`tower_http::limit::RequestBodyLimitLayer`]: no body larger than
///   [`MAX_REQUEST_BODY_BYTES`]; a `Content-Length` above it is answered 413 before anything
///   is read.
///
/// Apply it last, to the router with every route merged (a layer covers only the routes
/// present when it is added).
pub fn with_limits(app: Router, limits: RequestLimits) -> Router {
    app.layer(tower_http::limit::RequestBodyLimitLayer::new(
        MAX_REQUEST_BODY_BYTES,
    ))
    .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
        limits.max_concurrent.max(1),
    ))
    .layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.timeout,
    ))
}

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The message store.
    pub store: Store,
    /// The running modems.
    pub modems: Vec<ModemHandle>,
    /// The HTTP API for other systems (`/api/v1`, `/api/openapi.json`); it holds the
    /// dispatcher's wake-up so that accepted messages leave at once.
    pub api: crate::api::ApiState,
    /// The web admin's sessions: a signed-in user sees `/healthz`'s details.
    pub accounts: crate::auth::Accounts,
}

/// The routes served by the daemon.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .with_state(state.clone())
        .merge(crate::api::router(state.api))
}

/// The body of `/healthz` for a signed-in web user or an API key.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when the store answers and at least one modem is ready (or none is configured),
    /// `degraded` when the store answers but no modem is ready, `down` when the store fails.
    pub status: &'static str,
    /// Every modem's status.
    pub modems: Vec<ModemStatus>,
    /// Outbound messages per state, absent when the store failed.
    pub queue: Option<QueueDepths>,
    /// The store's error, if it failed.
    pub error: Option<String>,
}

/// The body of `/healthz` for anyone else: up or down, nothing more (issue 18 finding 8: modem
/// names, signal, operators, counters and queue depths are for the platform's own people).
#[derive(Debug, Serialize)]
pub struct PublicHealth {
    /// `up` when the store answers, `down` (with 503) when it fails.
    pub status: &'static str,
}

/// The web admin's session cookies (`[web] secure_cookies` chooses the `__Host-` one; either
/// carries a session id that must exist, so accepting both gives nothing away).
const SESSION_COOKIES: [&str; 2] = ["__Host-jx_session", "jx_session"];

/// `GET /healthz`: up or down for anyone (load balancers, uptime probes); with a valid API key
/// (`Authorization: Bearer jx_...`, any scope, from a network the key allows) or the cookie of
/// a signed-in web user, the modems and queue depths too. A key that is presented but refused
/// is answered as `/api/v1` answers it (401, 429), charged to the source's failure budget and
/// audited.
async fn health(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    // Only what is needed crosses the awaits (a request body is not `Sync`).
    let source = crate::net::client_address::of(&request);
    let headers = request.into_parts().0.headers;
    let detailed = match may_see_details(&state, &headers, source).await {
        Ok(detailed) => detailed,
        Err(refused) => return refused,
    };
    let depths = state.store.queue_depths().await;
    let mut response = if !detailed {
        match depths {
            Ok(_) => (StatusCode::OK, Json(PublicHealth { status: "up" })).into_response(),
            Err(e) => {
                tracing::warn!(error = %e, "/healthz: the store does not answer");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(PublicHealth { status: "down" }),
                )
                    .into_response()
            }
        }
    } else {
        let modems: Vec<ModemStatus> = state.modems.iter().map(ModemHandle::status).collect();
        let any_ready = modems.is_empty() || modems.iter().any(ModemStatus::is_ready);
        match depths {
            Ok(depths) => (
                StatusCode::OK,
                Json(Health {
                    status: if any_ready { "ok" } else { "degraded" },
                    modems,
                    queue: Some(depths),
                    error: None,
                }),
            )
                .into_response(),
            Err(e) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "down",
                    modems,
                    queue: None,
                    error: Some(e.to_string()),
                }),
            )
                .into_response(),
        }
    };
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Whether the request may see `/healthz`'s details: an API key that authenticates, or an
/// open web session. A refused key is the problem to answer.
async fn may_see_details(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    source: Option<std::net::IpAddr>,
) -> Result<bool, Response> {
    use crate::api::call_audit::{self, CallContext};
    if let Some(authorization) = headers.get(axum::http::header::AUTHORIZATION) {
        let context = CallContext::new(source, "GET", "/healthz");
        let audit = &state.api.auth.audit;
        audit.start(&state.store);
        let key = state
            .api
            .auth
            .authenticate_from(
                &state.store,
                authorization.to_str().ok(),
                &context,
                std::time::Instant::now(),
            )
            .await;
        return match key {
            Ok(key) => match crate::api::inbound::check_source(&key, source) {
                Ok(()) => Ok(true),
                Err(problem) => Err(problem.into_response()),
            },
            Err(failure) => {
                if let Some(refusal) = failure.refusal {
                    audit.submit(call_audit::refused(
                        &context,
                        refusal,
                        failure.key.as_ref(),
                        failure.problem.status,
                        None,
                    ));
                }
                if failure.now_blocked {
                    audit.submit(call_audit::blocked(&context));
                }
                Err(failure.problem.into_response())
            }
        };
    }
    let sessions = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| SESSION_COOKIES.contains(&name.trim()))
        .filter_map(|(_, value)| crate::auth::SessionId::parse(value.trim()));
    for session in sessions {
        match state.accounts.session_open(&session.hash()).await {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "/healthz: cannot look up a web session"),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod limit_tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::post;
    use futures::FutureExt;
    use tower::ServiceExt;

    use super::*;
    use futures::StreamExt;

    fn limits(max_concurrent: usize, timeout: Duration) -> RequestLimits {
        RequestLimits {
            max_concurrent,
            timeout,
        }
    }

    /// A body that announces `length` bytes, sends one chunk and then never ends: a handler
    /// that read it all would never answer.
    fn endless_body() -> Body {
        let first = futures::stream::once(async {
            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 64 * 1024]))
        });
        Body::from_stream(first.chain(futures::stream::pending()))
    }

    /// Issue 18, finding 4: a body announced larger than any route accepts is refused with
    /// 413 before it is read.
    #[tokio::test]
    async fn a_body_larger_than_any_route_accepts_is_refused_before_it_is_read() {
        let app = with_limits(
            Router::new().route(
                "/",
                post(|body: String| async move { body.len().to_string() }),
            ),
            limits(4, Duration::from_secs(600)),
        );
        let request = Request::post("/")
            .header("content-length", (20 * 1024 * 1024).to_string())
            .body(endless_body())
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(60), app.oneshot(request))
            .await
            .expect("answered without reading the body")
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    /// Issue 18, finding 4: beyond the limit, a request waits for one in flight to finish,
    /// whichever route it is for.
    #[tokio::test]
    async fn requests_beyond_the_concurrency_limit_wait_for_a_turn_across_routes() {
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
        let held = gate.clone();
        let app = with_limits(
            Router::new()
                .route(
                    "/slow",
                    post(move || {
                        let held = held.clone();
                        async move {
                            let _ = held.acquire().await;
                            "slow"
                        }
                    }),
                )
                .route("/quick", post(|| async { "quick" })),
            limits(1, Duration::from_secs(600)),
        );
        let request = |path: &str| Request::post(path).body(Body::empty()).unwrap();
        let mut slow = Box::pin(app.clone().oneshot(request("/slow")));
        assert!(
            (&mut slow).now_or_never().is_none(),
            "the slow one is in flight"
        );
        let mut quick = Box::pin(app.clone().oneshot(request("/quick")));
        assert!(
            (&mut quick).now_or_never().is_none(),
            "another route waits while the one turn is taken"
        );
        gate.add_permits(1);
        let slow = slow.await.unwrap();
        assert_eq!(slow.status(), StatusCode::OK);
        let quick = quick.await.unwrap();
        assert_eq!(quick.status(), StatusCode::OK);
    }

    /// Issue 18, finding 4: a request that is not answered within the time limit (here a body
    /// that never ends) is answered 408.
    #[tokio::test]
    async fn a_request_not_answered_in_time_gets_408() {
        let app = with_limits(
            Router::new().route(
                "/",
                post(|body: String| async move { body.len().to_string() }),
            ),
            limits(4, Duration::from_secs(1)),
        );
        let request = Request::post("/").body(endless_body()).unwrap();
        let response = tokio::time::timeout(Duration::from_secs(60), app.oneshot(request))
            .await
            .expect("answered when the time ran out")
            .unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    }
}
