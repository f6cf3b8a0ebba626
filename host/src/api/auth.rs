//! Authentication and rate limiting of `/api/v1`: the `Authorization: Bearer <key>` header is
//! hashed and looked up (verified keys are cached for [`CACHE_TTL`], so a revocation takes
//! effect within that time in a running daemon), then the key's token bucket is charged. Every
//! call is logged with the key's name, never the key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::keys::{self, KEY_BYTES, KEY_PREFIX, Scope};
use super::problem::Problem;
use crate::store::{ApiKeyRecord, Store};

/// How long a looked-up key is trusted without asking the store again: the most a revocation
/// can lag in a running daemon.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Cached keys at most; the cache is emptied when full (it only holds keys that exist, so this
/// is not reached in practice, but memory stays bounded whatever happens).
const CACHE_MAX: usize = 10_000;

/// The client of a request, once authenticated; handlers get it as a request extension.
#[derive(Debug, Clone)]
pub struct ApiClient {
    /// The key as stored (name, scopes, rate, service numbers).
    pub key: ApiKeyRecord,
}

impl ApiClient {
    /// The key's name, logged and stored with what it does.
    pub fn name(&self) -> &str {
        &self.key.name
    }

    /// Refuses with 403 unless the key has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Problem> {
        if self.key.scopes.iter().any(|s| s == scope.as_str()) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "the API key `{}` lacks the `{scope}` scope; an administrator can create a key \
                 with it (`jingxun apikey create --scopes {scope}`)",
                self.key.name
            )))
        }
    }
}

/// A token bucket: `rate` requests per second, bursts of up to `rate`. Hand-written (a dozen
/// lines) because each key has its own rate, read from the store, which may change while the
/// daemon runs; a keyed limiter crate would need one quota for all keys.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u32, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(rate),
            rate: f64::from(rate),
            last: now,
        }
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, rate: u32, now: Instant) -> Result<(), Duration> {
        self.rate = f64::from(rate.max(1));
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// Verifies keys and charges their rate limits; shared by every request.
#[derive(Debug, Default)]
pub struct Authenticator {
    cache: Mutex<HashMap<String, (ApiKeyRecord, Instant)>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Authenticator {
    /// The key presented as `authorization` (the header's value), or the problem to answer.
    pub async fn authenticate(
        &self,
        store: &Store,
        authorization: Option<&str>,
    ) -> Result<ApiClient, Problem> {
        let Some(value) = authorization else {
            return Err(Problem::unauthorized(
                "no API key: send it as `Authorization: Bearer <key>`",
            ));
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .unwrap_or("");
        if !token.starts_with(KEY_PREFIX) || token.len() != KEY_PREFIX.len() + 2 * KEY_BYTES {
            return Err(Problem::unauthorized(
                "the Authorization header must be `Bearer jx_...` with the key as created by \
                 `jingxun apikey create`",
            ));
        }
        let hash = keys::hash_key(token);
        let key = self.lookup(store, &hash).await?;
        if !key.is_active() {
            return Err(Problem::unauthorized(format!(
                "the API key `{}` was revoked; ask an administrator for a new one",
                key.name
            )));
        }
        self.charge(&key)?;
        Ok(ApiClient { key })
    }

    async fn lookup(&self, store: &Store, hash: &str) -> Result<ApiKeyRecord, Problem> {
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
            Problem::unavailable()
        })?;
        let Some(key) = found else {
            return Err(Problem::unauthorized(
                "unknown API key; check that it was copied whole",
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
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets
            .entry(key.name.clone())
            .or_insert_with(|| Bucket::new(key.rate_per_second, now));
        bucket.take(key.rate_per_second, now).map_err(|wait| {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Problem::too_many_requests(
                seconds.max(1),
                format!(
                    "the API key `{}` may make {} requests per second; retry after the time in \
                     Retry-After",
                    key.name, key.rate_per_second
                ),
            )
        })
    }
}

/// Middleware of `/api/v1`: authenticates, rate limits, then logs the call with the key's name.
pub async fn middleware(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let client = match state
        .auth
        .authenticate(&state.store, authorization.as_deref())
        .await
    {
        Ok(client) => client,
        Err(problem) => {
            tracing::info!(%method, %path, status = problem.status, reason = %problem.title, "API call refused");
            return problem.into_response();
        }
    };
    // A key limited to some networks (`--allow-network`) is refused from elsewhere.
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    if let Err(problem) = super::inbound::check_source(&client.key, peer) {
        tracing::info!(api_key = %client.key.name, %method, %path, status = problem.status, "API call refused: source network not allowed for the key");
        return problem.into_response();
    }
    let name = client.key.name.clone();
    request.extensions_mut().insert(Arc::new(client));
    let response = next.run(request).await;
    tracing::info!(
        api_key = %name,
        %method,
        %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "API call"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_until_tokens_refill() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(2, t0);
        assert!(bucket.take(2, t0).is_ok());
        assert!(bucket.take(2, t0).is_ok());
        let wait = bucket.take(2, t0).expect_err("burst used up");
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500));
        assert!(bucket.take(2, t0 + Duration::from_millis(500)).is_ok());
    }

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

    crate::store::test_db::on_both_backends!(
        keys_are_checked_revocation_is_seen_and_bursts_get_429
    );
}
