//! The HTTP listener: `/healthz` here, the API for other systems (`/api/v1`, `/api/openapi.json`)
//! from [`crate::api`], and the web admin from [`crate::web`], all on one port; who sent each
//! request is [`client_address`]'s.

pub mod client_address;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde::Serialize;

use crate::modem::driver::ModemHandle;
use crate::modem::status::ModemStatus;
use crate::store::{QueueDepths, Store};

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
}

/// The routes served by the daemon.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .with_state(state.clone())
        .merge(crate::api::router(state.api))
}

/// The body of `/healthz`.
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

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let modems: Vec<ModemStatus> = state.modems.iter().map(ModemHandle::status).collect();
    let any_ready = modems.is_empty() || modems.iter().any(ModemStatus::is_ready);
    match state.store.queue_depths().await {
        Ok(depths) => {
            let status = if any_ready { "ok" } else { "degraded" };
            (
                StatusCode::OK,
                Json(Health {
                    status,
                    modems,
                    queue: Some(depths),
                    error: None,
                }),
            )
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "down",
                modems,
                queue: None,
                error: Some(e.to_string()),
            }),
        ),
    }
}
