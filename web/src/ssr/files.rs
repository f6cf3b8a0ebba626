//! The two routes that are not pages or server functions: the audit log's CSV export (a
//! download) and the plugin upload (a multipart form post, which works before and after the
//! bundle loads alike).

use axum::Extension;
use axum::extract::{Multipart, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::{BackendContext, RequestContext};
use crate::model::audit::AuditSearch;
use crate::model::{Page, Refusal, RefusalCode};

/// The largest plugin component accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// The plugin upload's path, the one route that takes a large body (from an administrator
/// only: the daemon's session layer refuses anyone else before reading the body).
pub const UPLOAD_PATH: &str = "/ui/upload/plugin";

/// `GET /ui/export/audit.csv?<filter>`: the matching rows as UTF-8 CSV with a byte-order mark
/// (so that spreadsheet programs show Chinese right). The export is audited by the backend.
pub(super) async fn audit_csv(
    Extension(backend): Extension<BackendContext>,
    Extension(context): Extension<RequestContext>,
    Query(search): Query<AuditSearch>,
) -> Response {
    let Some(actor) = context.actor_for(Page::Audit) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    match backend.backend.audit_csv(&actor, search).await {
        Ok(csv) => {
            let mut response = format!("\u{feff}{csv}").into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"jingxun-audit.csv\""),
            );
            response
        }
        Err(refusal) => back("/audit", Err(refusal)),
    }
}

/// `POST /ui/upload/plugin` (multipart: `csrf`, then `component`, the `.wasm` file).
pub(super) async fn plugin_upload(
    Extension(backend): Extension<BackendContext>,
    Extension(context): Extension<RequestContext>,
    mut form: Multipart,
) -> Response {
    let Some(actor) = context.actor_for(Page::Plugins) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let mut component = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("component") => match field.bytes().await {
                Ok(bytes) => component = Some(bytes.to_vec()),
                Err(_) => return back("/plugins", Err(Refusal::new(RefusalCode::UploadFailed))),
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return back("/plugins", Err(Refusal::new(RefusalCode::UploadFailed))),
        }
    }
    let outcome = match component {
        Some(bytes) if !bytes.is_empty() => backend.backend.plugin_install(&actor, bytes).await,
        _ => Err(Refusal::new(RefusalCode::NoFile)),
    };
    back("/plugins", outcome.map(Some))
}

/// A 303 to `path` with the outcome, as [`super::redirect_with`] gives server functions.
fn back(path: &str, outcome: Result<Option<String>, Refusal>) -> Response {
    Redirect::to(&super::outcome_target(path, &outcome, "installed")).into_response()
}
