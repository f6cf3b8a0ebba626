//! Live feeds (issue 4): server-sent events that push a page's data to the open page whenever
//! it changes: the dashboard, a send's per-recipient results, the simulated handset's
//! conversation. The server reads the data once a second and sends it only when it differs
//! from what it sent last; the browser bundle replaces the page's data with each event. A
//! feed checks the viewer's role as the page does, answers 403/404 (which ends the browser's
//! retries) when its first read is refused, ends as soon as the session does (sign-out,
//! expiry, a disabled user: an open page must not go on receiving data), and ends when the
//! daemon stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::backend::{Actor, BoxFuture, WebBackend};
use super::{BackendContext, RequestContext};
use crate::model::{Outcome, Page, RefusalCode};

/// How often a feed reads its data.
const EVERY: Duration = Duration::from_secs(1);

/// How a feed reads its data: the backend and the viewer in, the data out.
type Read<T> = fn(Arc<dyn WebBackend>, Actor, String) -> BoxFuture<'static, Outcome<T>>;

/// The feed of `read`'s answers for the viewer of `context` (who must be allowed `page`),
/// after checking the first; `key` is what the feed is about (a batch id, a phone).
async fn feed<T>(
    backend: BackendContext,
    context: RequestContext,
    page: Page,
    key: String,
    read: Read<T>,
) -> Response
where
    T: Serialize + Send + 'static,
{
    let Some(actor) = context.actor_for(page) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let backend = backend.backend;
    let poll = {
        let (backend, actor) = (backend.clone(), actor.clone());
        move || read(backend.clone(), actor.clone(), key.clone())
    };
    let first = match poll().await {
        Ok(value) => value,
        Err(refusal) => {
            let status = match refusal.code {
                RefusalCode::NotFound => StatusCode::NOT_FOUND,
                RefusalCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::FORBIDDEN,
            };
            return status.into_response();
        }
    };
    let first = serde_json::to_string(&first).unwrap_or_default();
    let sessions = backend.clone();
    let events = futures::stream::unfold((poll, first, true), move |(poll, last, fresh)| {
        let (sessions, actor) = (sessions.clone(), actor.clone());
        async move {
            if fresh {
                let event = Event::default().data(last.clone());
                return Some((Ok::<_, Infallible>(event), (poll, last, false)));
            }
            loop {
                tokio::time::sleep(EVERY).await;
                if !sessions.still_signed_in(&actor).await {
                    return None;
                }
                // A refusal or a failed read ends the feed; the browser reconnects.
                let value = poll().await.ok()?;
                let json = serde_json::to_string(&value).ok()?;
                if json != last {
                    let event = Event::default().data(json.clone());
                    return Some((Ok(event), (poll, json, false)));
                }
            }
        }
    })
    .take_until(backend.stopping());
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `GET /ui/events/dashboard`.
pub(super) async fn dashboard(
    Extension(backend): Extension<BackendContext>,
    Extension(context): Extension<RequestContext>,
) -> Response {
    feed(
        backend,
        context,
        Page::Dashboard,
        String::new(),
        |b, _, _| Box::pin(async move { b.dashboard().await }),
    )
    .await
}

/// The query of the batch feed.
#[derive(Debug, Deserialize)]
pub(super) struct BatchQuery {
    id: String,
}

/// `GET /ui/events/batch?id=`.
pub(super) async fn batch(
    Extension(backend): Extension<BackendContext>,
    Extension(context): Extension<RequestContext>,
    Query(query): Query<BatchQuery>,
) -> Response {
    feed(backend, context, Page::Send, query.id, |b, actor, id| {
        Box::pin(async move { b.batch(&actor, id).await })
    })
    .await
}

/// The query of the handset feed.
#[derive(Debug, Deserialize)]
pub(super) struct HandsetQuery {
    phone: String,
}

/// `GET /ui/events/handset?phone=`.
pub(super) async fn handset(
    Extension(backend): Extension<BackendContext>,
    Extension(context): Extension<RequestContext>,
    Query(query): Query<HandsetQuery>,
) -> Response {
    feed(
        backend,
        context,
        Page::Simulator,
        query.phone,
        |b, actor, phone| Box::pin(async move { b.simulator(&actor, Some(phone)).await }),
    )
    .await
}
