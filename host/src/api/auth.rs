//! Authentication and rate limiting of `/api/v1`: the `Authorization: Bearer <key>` header is
//! hashed and looked up (verified keys are cached for [`CACHE_TTL`], so a revocation takes
//! effect within that time in a running daemon), then the key's token bucket is charged. Every
//! call is logged with the key's name, never the key.
//!
//! Every request gets a request id, sent back as `X-Request-Id` and added to problem documents
//! as `request_id`. Refused authentications are audited ([`super::call_audit`]), and each
//! source address has a budget of failed authentications ([`crate::limit::failures`]): once it
//! is used up the source gets 429 before its key is looked up, except for keys verified before.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::call_audit::{self, AuditSink, CallContext, Refusal};
use super::keys::{self, KEY_BYTES, KEY_PREFIX, Scope};
use super::problem::{PROBLEM_JSON, Problem};
use crate::audit::AuditOutcome;
use crate::limit::failures::{Charge, FailureLimiter};
use crate::limit::{KeyedBuckets, Quota};
use crate::store::{ApiKeyRecord, Store};

/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// How long a looked-up key is trusted without asking the store again: the most a revocation
/// can lag in a running daemon.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Cached keys at most; the cache is emptied when full (it only holds keys that exist, so this
/// is not reached in practice, but memory stays bounded whatever happens).
const CACHE_MAX: usize = 10_000;

/// The client of a request, once authenticated; handlers get it as a request extension.
#[derive(Debug)]
pub struct ApiClient {
    /// The key as stored (name, scopes, rate, service numbers).
    pub key: ApiKeyRecord,
    /// The request's id and source, for audit rows.
    pub context: CallContext,
    note: Mutex<Option<CallNote>>,
}

/// What a handler tells the middleware about the audit of a state-changing call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallNote {
    /// The call's audit row was committed with its changes: nothing more to write.
    AuditedInTransaction,
    /// Nothing changed, for this reason (`replayed`, `conflict`): the middleware writes a row
    /// with this outcome.
    Unchanged(AuditOutcome),
}

impl ApiClient {
    /// The client of `key` for the request of `context`.
    pub fn new(key: ApiKeyRecord, context: CallContext) -> ApiClient {
        ApiClient {
            key,
            context,
            note: Mutex::new(None),
        }
    }

    /// Records how the call was audited (see [`CallNote`]); the last note counts.
    pub fn note(&self, note: CallNote) {
        *self.note.lock().unwrap_or_else(PoisonError::into_inner) = Some(note);
    }

    fn noted(&self) -> Option<CallNote> {
        *self.note.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key's name, logged and stored with what it does.
    pub fn name(&self) -> &str {
        &self.key.name
    }

    /// Refuses with 403 unless the key has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Problem> {
        self.require_any(&[scope])
    }

    /// 403 unless the key holds at least one of `scopes` (e.g. a message's status is for the
    /// keys that can queue messages: `send` or `notify`).
    pub fn require_any(&self, scopes: &[Scope]) -> Result<(), Problem> {
        if scopes
            .iter()
            .any(|scope| self.key.scopes.iter().any(|s| s == scope.as_str()))
        {
            return Ok(());
        }
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let needed = match names.as_slice() {
            [one] => format!("the `{one}` scope"),
            _ => format!("one of the scopes `{}`", names.join("`, `")),
        };
        Err(Problem::forbidden(format!(
            "the API key `{}` lacks {needed}; an administrator can create a key with it \
             (`jingxun apikey create --scopes {}`)",
            self.key.name, names[0]
        )))
    }
}

/// Verifies keys and charges their rate limits; shared by every request.
#[derive(Debug)]
pub struct Authenticator {
    cache: Mutex<HashMap<String, (ApiKeyRecord, Instant)>>,
    /// The rate of each key by name: `rate_per_second` requests per second, in bursts of up to
    /// as many. Each key brings its own quota, read from the store, which may change while the
    /// daemon runs. Only keys that exist get here; bounded all the same.
    rates: Mutex<KeyedBuckets<String>>,
    /// Failed authentications per source address.
    failures: Mutex<FailureLimiter>,
    /// Hashes of keys verified in this process: the failure budget of their source does not
    /// stop them (they are still looked up again, so a revocation is seen). Only keys that
    /// exist get here, so it stays small; it is emptied if it ever reaches [`CACHE_MAX`].
    known_good: Mutex<HashSet<String>>,
    /// The asynchronous writer of refusal rows.
    pub audit: AuditSink,
}

impl Default for Authenticator {
    fn default() -> Self {
        Authenticator {
            cache: Mutex::default(),
            rates: Mutex::new(KeyedBuckets::new(key_quota(1), CACHE_MAX)),
            failures: Mutex::default(),
            known_good: Mutex::default(),
            audit: AuditSink::default(),
        }
    }
}

/// The quota of a key allowed `rate` requests per second (at least one).
fn key_quota(rate: u32) -> Quota {
    let rate = rate.max(1);
    Quota::per_second(rate, f64::from(rate))
}

/// Why [`Authenticator::authenticate_from`] refused a request.
#[derive(Debug, Clone)]
pub struct AuthFailure {
    /// The answer.
    pub problem: Problem,
    /// The refused authentication to audit; `None` for a rate limit or a store failure.
    pub refusal: Option<Refusal>,
    /// The key, when it exists (a revoked one).
    pub key: Option<ApiKeyRecord>,
    /// This failure used up its source's budget (audit it once, as `auth.blocked`).
    pub now_blocked: bool,
}

impl AuthFailure {
    fn refused(refusal: Refusal, problem: Problem) -> AuthFailure {
        AuthFailure {
            problem,
            refusal: Some(refusal),
            key: None,
            now_blocked: false,
        }
    }

    fn other(problem: Problem) -> AuthFailure {
        AuthFailure {
            problem,
            refusal: None,
            key: None,
            now_blocked: false,
        }
    }
}

/// Whole seconds to announce in `Retry-After` for `wait` (rounded up, at least 1).
fn retry_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The key's text in an `Authorization` header value, if it is `Bearer jx_<64 hex digits>`.
fn bearer_key(value: &str) -> Option<&str> {
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)?;
    (token.starts_with(KEY_PREFIX) && token.len() == KEY_PREFIX.len() + 2 * KEY_BYTES)
        .then_some(token)
}

impl Authenticator {
    /// The key presented as `authorization` (the header's value), or the problem to answer.
    /// No source address: no failure budget and nothing audited (see
    /// [`Authenticator::authenticate_from`]).
    pub async fn authenticate(
        &self,
        store: &Store,
        authorization: Option<&str>,
    ) -> Result<ApiClient, Problem> {
        let context = CallContext::new(None, "", "");
        self.verify(store, authorization)
            .await
            .map(|key| ApiClient::new(key, context))
            .map_err(|failure| failure.problem)
    }

    /// Like [`Authenticator::authenticate`], for a request from `context.source` at `now`:
    /// a source that has used up its failure budget gets 429 before its key is looked up
    /// (unless the key was verified before in this process), and every refused
    /// authentication is charged to its source.
    pub async fn authenticate_from(
        &self,
        store: &Store,
        authorization: Option<&str>,
        context: &CallContext,
        now: Instant,
    ) -> Result<ApiKeyRecord, AuthFailure> {
        let hash = authorization.and_then(bearer_key).map(keys::hash_key);
        let known = hash.as_ref().is_some_and(|h| {
            self.known_good
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(h)
        });
        if !known && let Some(ip) = context.source {
            let check = self
                .failures
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .check(ip, now);
            if let Err(wait) = check {
                return Err(AuthFailure::other(Problem::too_many_requests(
                    retry_seconds(wait),
                    "too many failed authentications from this address; retry after the time \
                     in Retry-After with a valid key (`Authorization: Bearer jx_...`)",
                )));
            }
        }
        match self.verify(store, authorization).await {
            Ok(key) => {
                if let Some(hash) = hash {
                    let mut known = self
                        .known_good
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if known.len() >= CACHE_MAX {
                        known.clear();
                    }
                    known.insert(hash);
                }
                Ok(key)
            }
            Err(mut failure) => {
                if failure.refusal.is_some()
                    && let Some(ip) = context.source
                {
                    let charge = self
                        .failures
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .fail(ip, now);
                    failure.now_blocked = charge == Charge::NowBlocked;
                }
                if failure.refusal == Some(Refusal::RevokedKey)
                    && let Some(hash) = hash
                {
                    self.known_good
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&hash);
                }
                Err(failure)
            }
        }
    }

    /// Checks the header and the key (cached), and charges the key's rate limit.
    async fn verify(
        &self,
        store: &Store,
        authorization: Option<&str>,
    ) -> Result<ApiKeyRecord, AuthFailure> {
        let Some(value) = authorization else {
            return Err(AuthFailure::refused(
                Refusal::NoKey,
                Problem::unauthorized("no API key: send it as `Authorization: Bearer <key>`"),
            ));
        };
        let Some(token) = bearer_key(value) else {
            return Err(AuthFailure::refused(
                Refusal::MalformedKey,
                Problem::unauthorized(
                    "the Authorization header must be `Bearer jx_...` with the key as created by \
                     `jingxun apikey create`",
                ),
            ));
        };
        let hash = keys::hash_key(token);
        let key = self.lookup(store, &hash).await?;
        if !key.is_active() {
            return Err(AuthFailure {
                problem: Problem::unauthorized(format!(
                    "the API key `{}` was revoked; ask an administrator for a new one",
                    key.name
                )),
                refusal: Some(Refusal::RevokedKey),
                key: Some(key),
                now_blocked: false,
            });
        }
        self.charge(&key).map_err(AuthFailure::other)?;
        Ok(key)
    }

    async fn lookup(&self, store: &Store, hash: &str) -> Result<ApiKeyRecord, AuthFailure> {
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((key, at)) = cache.get(hash)
                && now.saturating_duration_since(*at) < CACHE_TTL
            {
                return Ok(key.clone());
            }
        }
        let found = store.api_key_by_hash(hash).await.map_err(|e| {
            tracing::error!(error = %e, "cannot look up an API key");
            AuthFailure::other(Problem::unavailable())
        })?;
        let Some(key) = found else {
            return Err(AuthFailure::refused(
                Refusal::UnknownKey,
                Problem::unauthorized("unknown API key; check that it was copied whole"),
            ));
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(hash.to_owned(), (key.clone(), now));
        Ok(key)
    }

    fn charge(&self, key: &ApiKeyRecord) -> Result<(), Problem> {
        let now = Instant::now();
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        rates
            .take_with(key.name.as_str(), key_quota(key.rate_per_second), now)
            .map_err(|refused| {
                Problem::too_many_requests(
                    retry_seconds(refused.wait),
                    format!(
                        "the API key `{}` may make {} requests per second; retry after the time \
                         in Retry-After",
                        key.name, key.rate_per_second
                    ),
                )
            })
    }
}

/// Middleware of `/api/v1`: gives the request an id, authenticates it (charging failures to
/// the source's budget), rate limits, audits refusals and the state-changing calls that did not
/// audit themselves, and logs the call with the key's name.
pub async fn middleware(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // The TCP peer, or the client behind a trusted reverse proxy.
    let source = crate::net::client_address::of(&request);
    let context = CallContext::new(source, method.as_str(), &path);
    state.auth.audit.start(&state.store);
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let key = match state
        .auth
        .authenticate_from(&state.store, authorization.as_deref(), &context, started)
        .await
    {
        Ok(key) => key,
        Err(failure) => {
            tracing::info!(request_id = %context.request_id, source = ?source, %method, %path, status = failure.problem.status, reason = %failure.problem.title, "API call refused");
            audit_failure(&state.auth.audit, &context, &failure);
            return finish(failure.problem.into_response(), &context.request_id)
                .await
                .0;
        }
    };
    let client = ApiClient::new(key, context.clone());
    // A key limited to some networks (`--allow-network`) is refused from elsewhere.
    if let Err(problem) = super::inbound::check_source(&client.key, source) {
        tracing::info!(api_key = %client.key.name, %method, %path, status = problem.status, "API call refused: source network not allowed for the key");
        state.auth.audit.submit(call_audit::refused(
            &context,
            Refusal::Network,
            Some(&client.key),
            problem.status,
            Some(&problem.detail),
        ));
        return finish(problem.into_response(), &context.request_id).await.0;
    }
    let client = Arc::new(client);
    request.extensions_mut().insert(client.clone());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    tracing::info!(
        api_key = %client.key.name,
        request_id = %context.request_id,
        %method,
        %path,
        status,
        ms = started.elapsed().as_millis() as u64,
        "API call"
    );
    let (response, detail) = finish(response, &context.request_id).await;
    audit_call(
        &state.auth.audit,
        &client,
        &method,
        status,
        detail.as_deref(),
    );
    response
}

/// Queues the rows of a refused authentication: the refusal, and `auth.blocked` when it used
/// up its source's budget. Rate limits and store failures are logged only.
fn audit_failure(sink: &AuditSink, context: &CallContext, failure: &AuthFailure) {
    if let Some(refusal) = failure.refusal {
        sink.submit(call_audit::refused(
            context,
            refusal,
            failure.key.as_ref(),
            failure.problem.status,
            None,
        ));
    }
    if failure.now_blocked {
        sink.submit(call_audit::blocked(context));
    }
}

/// After a handler: a 403 is a refused authorisation (scope, service number); a
/// state-changing call (not `GET`, `HEAD`, `OPTIONS`) whose handler did not commit its own
/// audit row gets one from the asynchronous writer.
fn audit_call(
    sink: &AuditSink,
    client: &ApiClient,
    method: &axum::http::Method,
    status: u16,
    detail: Option<&str>,
) {
    use axum::http::Method;
    if status == 403 {
        sink.submit(call_audit::refused(
            &client.context,
            Refusal::Forbidden,
            Some(&client.key),
            status,
            detail,
        ));
        return;
    }
    if [Method::GET, Method::HEAD, Method::OPTIONS].contains(method) {
        return;
    }
    match client.noted() {
        Some(CallNote::AuditedInTransaction) => {}
        Some(CallNote::Unchanged(outcome)) => {
            sink.submit(call_audit::call(
                &client.context,
                &client.key.name,
                status,
                Some(outcome),
            ));
        }
        None => {
            sink.submit(call_audit::call(
                &client.context,
                &client.key.name,
                status,
                None,
            ));
        }
    }
}

/// Sets `X-Request-Id` and adds `request_id` to a problem document; returns the problem's
/// `detail` too, for the audit. Problem documents are small, so re-encoding them is cheap, and
/// only error answers are touched.
async fn finish(response: Response, request_id: &str) -> (Response, Option<String>) {
    let (mut parts, body) = response.into_parts();
    if let Ok(value) = HeaderValue::from_str(request_id) {
        parts.headers.insert(REQUEST_ID_HEADER, value);
    }
    let is_problem = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !is_problem {
        return (Response::from_parts(parts, body), None);
    }
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (Response::from_parts(parts, Body::empty()), None);
    };
    let mut detail = None;
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut map)) => {
            detail = map
                .get("detail")
                .and_then(|d| d.as_str())
                .map(str::to_owned);
            map.insert("request_id".into(), request_id.into());
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(serde_json::Value::Object(map).to_string())
        }
        _ => Body::from(bytes),
    };
    (Response::from_parts(parts, body), detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn keys_are_checked_revocation_is_seen_and_bursts_get_429(
        db: &crate::store::test_db::TestDb,
    ) {
        let spec = keys::KeySpec {
            name: "oa".into(),
            scopes: vec![Scope::Send],
            rate_per_second: 3,
            service_numbers: vec![],
        };
        let (_, key) = keys::create(&db.store, &spec, "86", "test", "test")
            .await
            .expect("create");
        let auth = Authenticator::default();
        let header = format!("Bearer {}", key.secret);
        let status = |r: Result<ApiClient, Problem>| r.err().map(|p| p.status);
        assert_eq!(status(auth.authenticate(&db.store, None).await), Some(401));
        assert_eq!(
            status(auth.authenticate(&db.store, Some("Bearer jx_nope")).await),
            Some(401)
        );
        let client = auth
            .authenticate(&db.store, Some(&header))
            .await
            .expect("valid key");
        assert!(client.require(Scope::Send).is_ok());
        assert_eq!(
            client.require(Scope::Receive).map_err(|p| p.status),
            Err(403)
        );
        assert!(client.require_any(&[Scope::Notify, Scope::Send]).is_ok());
        let refused = client
            .require_any(&[Scope::Receive, Scope::Notify])
            .expect_err("neither scope");
        assert!(
            refused
                .detail
                .contains("one of the scopes `receive`, `notify`"),
            "{}",
            refused.detail
        );
        auth.authenticate(&db.store, Some(&header))
            .await
            .expect("2nd");
        auth.authenticate(&db.store, Some(&header))
            .await
            .expect("3rd");
        let limited = auth.authenticate(&db.store, Some(&header)).await;
        assert_eq!(limited.as_ref().err().and_then(|p| p.retry_after), Some(1));
        assert_eq!(status(limited), Some(429));
        keys::revoke(&db.store, "oa", "test", "test")
            .await
            .expect("revoke");
        // A fresh authenticator has nothing cached: the revocation shows at once.
        let fresh = Authenticator::default();
        assert_eq!(
            status(fresh.authenticate(&db.store, Some(&header)).await),
            Some(401)
        );
    }

    /// Checklist "bursts get 429": a source that keeps presenting made-up keys is limited
    /// before any look-up (the store is closed and still it answers 429, not 503), while a key
    /// verified before from the same source keeps working.
    async fn a_source_flooding_unknown_keys_gets_429_before_any_lookup_but_known_keys_pass(
        db: &crate::store::test_db::TestDb,
    ) {
        let spec = keys::KeySpec {
            name: "oa".into(),
            scopes: vec![Scope::Send],
            rate_per_second: 1000,
            service_numbers: vec![],
        };
        let (_, key) = keys::create(&db.store, &spec, "86", "test", "test")
            .await
            .expect("create");
        let good = format!("Bearer {}", key.secret);
        let bad = format!("Bearer jx_{}", "0".repeat(64));
        let auth = Authenticator::default();
        let t0 = Instant::now();
        let context = CallContext::new(Some("192.0.2.77".parse().expect("ip")), "POST", "/x");
        auth.authenticate_from(&db.store, Some(&good), &context, t0)
            .await
            .expect("a valid key");
        let burst = crate::limit::failures::FailureBudget::default().burst;
        let mut blocked_at = None;
        for n in 1..=burst {
            let failure = auth
                .authenticate_from(&db.store, Some(&bad), &context, t0)
                .await
                .expect_err("an unknown key");
            assert_eq!(failure.problem.status, 401);
            assert_eq!(failure.refusal, Some(Refusal::UnknownKey));
            if failure.now_blocked {
                blocked_at = Some(n);
            }
        }
        assert_eq!(
            blocked_at,
            Some(burst),
            "reported blocked once, at the last token"
        );
        let limited = auth
            .authenticate_from(&db.store, Some(&bad), &context, t0)
            .await
            .expect_err("limited");
        assert_eq!(limited.problem.status, 429);
        assert_eq!(limited.problem.retry_after, Some(1));
        assert_eq!(limited.refusal, None, "429s are not audited one by one");
        // No key at all is limited too, and so is a well-formed key never verified here.
        let none = auth
            .authenticate_from(&db.store, None, &context, t0)
            .await
            .expect_err("limited");
        assert_eq!(none.problem.status, 429);
        // The known key still passes from the limited source.
        auth.authenticate_from(&db.store, Some(&good), &context, t0)
            .await
            .expect("a known key is not stopped by its source's budget");
        // Another source is not limited.
        let other = CallContext::new(Some("192.0.2.78".parse().expect("ip")), "POST", "/x");
        let failure = auth
            .authenticate_from(&db.store, Some(&bad), &other, t0)
            .await
            .expect_err("unknown");
        assert_eq!(failure.problem.status, 401);
        // No look-up happens for the limited source: with the store closed it still gets
        // 429, where a look-up would fail with 503.
        db.store.close().await;
        let closed = auth
            .authenticate_from(&db.store, Some(&bad), &context, t0)
            .await
            .expect_err("limited");
        assert_eq!(closed.problem.status, 429);
        // Once a token has refilled, the source may try again (and the look-up fails now).
        let later = auth
            .authenticate_from(&db.store, Some(&bad), &context, t0 + Duration::from_secs(1))
            .await
            .expect_err("store closed");
        assert_eq!(later.problem.status, 503);
    }

    #[tokio::test]
    async fn responses_get_a_request_id_and_problems_carry_it() {
        let (response, detail) =
            finish(Problem::not_found("nothing here").into_response(), "abc123").await;
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "abc123");
        assert_eq!(detail.as_deref(), Some("nothing here"));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(value["request_id"], "abc123");
        assert_eq!(value["status"], 404);
        let (plain, detail) = finish("ok".into_response(), "def").await;
        assert_eq!(plain.headers()[REQUEST_ID_HEADER], "def");
        assert_eq!(detail, None);
    }

    crate::on_both_backends!(crate::store::test_db::TestDb =>
        keys_are_checked_revocation_is_seen_and_bursts_get_429,
        a_source_flooding_unknown_keys_gets_429_before_any_lookup_but_known_keys_pass,
    );
}
