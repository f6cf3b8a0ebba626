//! The HTTP API for other systems (issue 5; R16, R17, R19, R20): OA and workflow, the news
//! site, the passport and ID-card offices send and read SMS through `/api/v1` on the daemon's
//! HTTP port, authenticated by API keys ([`keys`]).
//!
//! - Every `/api/v1` request passes [`auth::middleware`]: `Authorization: Bearer <key>`, the key
//!   hashed and looked up (cached for [`auth::CACHE_TTL`]), its rate limit charged (429 with
//!   `Retry-After`), and the call logged with the key's name.
//! - Every error is an RFC 9457 problem document ([`problem::Problem`]).
//! - "Accepted" (202) means committed: messages and the idempotency answer are stored in one
//!   transaction before the answer is sent.
//! - The OpenAPI 3.1 document is generated from the handlers (utoipa) and served at
//!   [`OPENAPI_PATH`] without a key.
//! - A reference page rendered from it on the server is served at [`reference::PATH`]
//!   (`/api/docs`), without a key and without JavaScript or outside resources.
//! - Every request gets an `X-Request-Id`; API calls are audited ([`call_audit`]) and floods
//!   of failed authentications are limited per source ([`crate::limit::failures`]).

pub mod auth;
pub mod call_audit;
pub mod committer;
pub mod inbound;
pub mod keys;
pub mod messages;
pub mod notifications;
pub mod problem;
pub mod reference;
pub mod templates;
pub mod webhook_tls;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::dispatch::Wake;
use crate::store::Store;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// What the API takes from the configuration.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `[sms] default_country_code`, for national numbers.
    pub default_country_code: String,
    /// `[queue] max_attempts` of every message queued.
    pub max_attempts: u32,
    /// `[queue] status_report`: ask for delivery reports unless the request says otherwise.
    pub status_report: bool,
}

impl ApiSettings {
    /// The settings of `config`.
    pub fn from_config(config: &Config) -> ApiSettings {
        ApiSettings {
            default_country_code: config.sms.default_country_code.clone(),
            max_attempts: config.queue.max_attempts,
            status_report: config.queue.status_report,
        }
    }
}

/// What the API handlers share; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    /// Wakes the dispatcher when messages are queued, so that they leave at once.
    pub wake: Wake,
    pub settings: Arc<ApiSettings>,
    pub auth: Arc<auth::Authenticator>,
    /// Wakes inbox long-polls when the router assigns inbound messages to keys.
    pub inbox: crate::inbox_signal::InboxSignal,
    /// Commits the enqueues of concurrent requests together (one disk flush per group).
    pub committer: committer::Committer,
}

impl ApiState {
    /// The API over `store`, waking the dispatcher through `wake`.
    pub fn new(store: Store, wake: Wake, settings: ApiSettings) -> ApiState {
        ApiState {
            committer: committer::Committer::start(store.clone()),
            store,
            wake,
            settings: Arc::new(settings),
            auth: Arc::new(auth::Authenticator::default()),
            inbox: crate::inbox_signal::InboxSignal::default(),
        }
    }
}

/// The OpenAPI document's fixed parts; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jingxun (警讯) SMS API",
        description = "Send and read SMS through the Jingxun platform. Authenticate with \
                       `Authorization: Bearer <key>` (keys come from `jingxun apikey create`). \
                       Every error is an RFC 9457 problem document (application/problem+json)."
    ),
    components(schemas(problem::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "messages", description = "Outbound SMS"),
        (name = "notifications", description = "OA reminders and citizen application notices from administrator-edited templates")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("jx_<64 hex digits>")
                    .build(),
            ),
        );
    }
}

fn api_routes() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(messages::send_message))
        .routes(routes!(messages::get_message))
        .routes(routes!(notifications::notify_oa))
        .routes(routes!(notifications::notify_citizen))
        .routes(routes!(inbound::get_inbox))
        .split_for_parts()
}

/// The OpenAPI 3.1 document of the API, as served at [`OPENAPI_PATH`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().1
}

/// Errors that axum itself answers (405 from method routing, 413 from the body limit) become
/// problem documents too, so that every error of `/api/v1` has one shape.
async fn plain_errors_as_problems(response: axum::response::Response) -> axum::response::Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(problem::PROBLEM_JSON.as_bytes()));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let detail = match status {
            axum::http::StatusCode::METHOD_NOT_ALLOWED => {
                "this path does not take that method; see /api/openapi.json".to_string()
            }
            _ => format!("the request failed with status {status}"),
        };
        return axum::response::IntoResponse::into_response(problem::Problem::from_status(
            status, detail,
        ));
    }
    response
}

/// The API's routes: `/api/v1/...` behind the key check, and [`OPENAPI_PATH`] open.
pub fn router(state: ApiState) -> Router {
    let (routes, document) = api_routes();
    let reference_page = reference::page(&document);
    // Serialising the generated document cannot fail (it is plain data).
    let document: Arc<str> = document.to_pretty_json().unwrap_or_default().into();
    // Unknown `/api/v1` paths answer a 404 problem (after the key check, so that they reveal
    // nothing to callers without a key); a router-wide fallback would capture the web admin's
    // paths too.
    let v1 = routes
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::middleware,
        ))
        .layer(axum::middleware::map_response(plain_errors_as_problems))
        .with_state(state);
    Router::new()
        .route(
            OPENAPI_PATH,
            get(move || {
                let document = document.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        document.to_string(),
                    )
                }
            }),
        )
        .route(reference::PATH, reference_page)
        .merge(v1)
}

async fn not_found(uri: axum::http::Uri) -> impl IntoResponse {
    problem::Problem::not_found(format!(
        "`{}` is not an API resource; see {OPENAPI_PATH}",
        uri.path()
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_is_3_1_and_lists_every_route() {
        let value = serde_json::to_value(super::openapi()).expect("document as JSON");
        assert!(
            value["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "{}",
            value["openapi"]
        );
        for path in ["/api/v1/messages", "/api/v1/messages/{id}"] {
            assert!(value["paths"][path].is_object(), "{path} missing");
        }
        assert!(value["components"]["securitySchemes"]["bearer"].is_object());
        assert!(value["components"]["schemas"]["Problem"].is_object());
    }
}
