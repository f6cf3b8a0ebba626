//! `/api/v1/notifications/...` (issue 5; R17, R19): OA to-do and document-to-read reminders
//! addressed by user login, and passport / exit-entry permit / ID-card application progress
//! notices to citizens. Both fill in an administrator-edited template ([`super::templates`])
//! and queue the SMS exactly as `POST /api/v1/messages` does: through the group committer,
//! idempotently, with the call's audit row, committed before the 202 answer. A citizen notice
//! also records the application's latest status in the same transaction, for the citizen's
//! later SMS query ([`crate::store::Store::citizen_application_of_phone`]).
//! Both need the key scope `notify`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::ApiState;
use super::auth::ApiClient;
use super::call_audit::{self, mask_number};
use super::keys::Scope;
use super::messages::{
    AuditedEnqueue, MAX_IDEMPOTENCY_KEY, Queued, enqueue_audited, idempotent_answer, json_problem,
    service_number,
};
use super::problem::Problem;
use super::templates::{self, ApplicationKind, ApplicationStatus, MAX_NOTICE_PARTS, Template};
use crate::audit::AuditEvent;
use crate::phone::PhoneNumber;
use crate::store::{CitizenStatusUpdate, CitizenStatusWrite, MessageId, NewOutbound, OaRecipient};

/// Longest OA title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest note of a citizen notice, in characters.
pub const MAX_NOTE_CHARS: usize = 200;
/// Longest short field (`from`, `due`, `name`), in characters.
pub const MAX_SHORT_CHARS: usize = 50;
/// Longest application number, in characters.
pub const MAX_APPLICATION_NUMBER_CHARS: usize = 40;

/// Which OA reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OaKind {
    /// A to-do (待办): template `oa.todo`.
    Todo,
    /// A document to read (待阅): template `oa.read`.
    Read,
}

/// `POST /api/v1/notifications/oa`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OaRequest {
    /// The user's login in the platform's directory; the reminder goes to the user's active
    /// registered phones.
    #[schema(example = "zhangsan")]
    pub login: String,
    pub kind: OaKind,
    /// What to do or read (`{title}`).
    #[schema(min_length = 1, max_length = 200, example = "关于年度安全检查的通知")]
    pub title: String,
    /// Who it comes from (`{from}`), e.g. a department.
    #[schema(max_length = 50, example = "办公室")]
    pub from: Option<String>,
    /// By when (`{due}`), as it should read.
    #[schema(max_length = 50, example = "2026-12-01 17:00")]
    pub due: Option<String>,
    /// A retry with the same key returns the first answer and sends nothing twice.
    #[schema(min_length = 1, max_length = 255)]
    pub idempotency_key: Option<String>,
}

/// `POST /api/v1/notifications/citizen`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenRequest {
    /// The office's application (acceptance) number: letters, digits and `-`; stored upper
    /// case.
    #[schema(min_length = 1, max_length = 40, example = "E440300202612010001")]
    pub application_number: String,
    pub kind: ApplicationKind,
    /// The application's new status; `{status}` shows it in Chinese (已受理, 审核中, 已批准,
    /// 制证中, 可领取, 已寄出, 已领取, 未通过).
    pub status: ApplicationStatus,
    /// The citizen's mobile number.
    #[schema(example = "13800000000")]
    pub phone: String,
    /// The citizen's name (`{name}`).
    #[schema(max_length = 50)]
    pub name: Option<String>,
    /// A remark for the citizen (`{note}`), e.g. what to bring.
    #[schema(max_length = 200)]
    pub note: Option<String>,
    /// A retry with the same key returns the first answer and sends nothing twice.
    #[schema(min_length = 1, max_length = 255)]
    pub idempotency_key: Option<String>,
}

/// The answer to a notice: one message per phone (committed) and the text sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoticeResponse {
    /// For an OA reminder the numbers are masked (`+86138****0001`): the client system
    /// addresses users, not phones.
    pub messages: Vec<Queued>,
    /// The rendered text.
    pub text: String,
}

/// Queue an OA to-do or document-to-read reminder to a user's phones.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/oa",
    tag = "notifications",
    request_body = OaRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued and committed", body = NoticeResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key lacks the notify scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency key reused with another request", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid values; unknown or disabled user; no active phone; text too long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; nothing accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn notify_oa(
    State(state): State<ApiState>,
    Extension(client): Extension<Arc<ApiClient>>,
    body: Result<axum::Json<OaRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    client.require(Scope::Notify)?;
    let axum::Json(request) = body.map_err(json_problem)?;
    check_idempotency_key(request.idempotency_key.as_deref())?;
    let login = request.login.trim().to_ascii_lowercase();
    if login.is_empty() || login.len() > 64 {
        return Err(Problem::unprocessable(
            "`login` must be a user's login in the directory (1 to 64 characters)",
        ));
    }
    let title = field("title", Some(&request.title), MAX_TITLE_CHARS)?;
    if title.is_empty() {
        return Err(Problem::unprocessable("`title` is empty"));
    }
    let from = field("from", request.from.as_deref(), MAX_SHORT_CHARS)?;
    let due = field("due", request.due.as_deref(), MAX_SHORT_CHARS)?;
    let recipient = state
        .store
        .oa_recipient(&login)
        .await
        .map_err(|e| unavailable(&client, e))?;
    let (name, phones) = match recipient {
        OaRecipient::UnknownUser => {
            return Err(Problem::unprocessable(format!(
                "no user has the login `{login}`; check the login, or ask the platform's \
                 administrator to add the user (`jingxun user add`); nothing was sent"
            )));
        }
        OaRecipient::Disabled { .. } => {
            return Err(Problem::unprocessable(format!(
                "the user `{login}` is disabled and gets no reminders; ask the platform's \
                 administrator to enable the user (`jingxun user enable`); nothing was sent"
            )));
        }
        OaRecipient::Active { phones, .. } if phones.is_empty() => {
            return Err(Problem::unprocessable(format!(
                "the user `{login}` has no active registered phone; ask the platform's \
                 administrator to register one (`jingxun phone add --user {login}`); nothing \
                 was sent"
            )));
        }
        OaRecipient::Active { name, phones } => (name, phones),
    };
    let template_name = match request.kind {
        OaKind::Todo => "oa.todo",
        OaKind::Read => "oa.read",
    };
    let values = BTreeMap::from([
        ("name", name),
        ("title", title),
        ("from", from),
        ("due", due),
    ]);
    let text = render(&state, &client, template_name, &values).await?;
    let service_number = service_number(&state, &client, None)?;
    let batch = batch(&state, &client, &phones, &text, service_number);
    let masked: Vec<String> = phones.iter().map(|p| mask_number(p)).collect();
    let answer = {
        let text = text.clone();
        move |ids: &[MessageId]| {
            response_body(&NoticeResponse {
                messages: queued(&masked, ids),
                text: text.clone(),
            })
        }
    };
    let mut details = notice_details(&phones, &text, request.idempotency_key.as_deref());
    details["login"] = login.clone().into();
    details["template"] = template_name.into();
    let notice = AuditedEnqueue {
        event: AuditEvent::NotificationOa,
        details,
        then: None,
        idempotency_key: request.idempotency_key.clone(),
        request_hash: request_hash("oa", &request)?,
        batch,
        answer: Box::new(answer),
        now_ms: crate::clock::now_ms(),
    };
    let outcome = enqueue_audited(&state, &client, notice).await;
    idempotent_answer(&client, outcome, |ids| {
        state.wake.notify();
        tracing::info!(
            api_key = client.name(),
            login = %login,
            template = template_name,
            messages = ids.len(),
            "queued an OA reminder"
        );
    })
}

/// Queue a passport, exit-entry permit or ID-card application progress notice to the citizen,
/// and record the application's latest status (for the citizen's SMS query, R17).
#[utoipa::path(
    post,
    path = "/api/v1/notifications/citizen",
    tag = "notifications",
    request_body = CitizenRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued and committed, with the latest status", body = NoticeResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key lacks the notify scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency key reused with another request", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid values; text too long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; nothing accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn notify_citizen(
    State(state): State<ApiState>,
    Extension(client): Extension<Arc<ApiClient>>,
    body: Result<axum::Json<CitizenRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    client.require(Scope::Notify)?;
    let axum::Json(request) = body.map_err(json_problem)?;
    check_idempotency_key(request.idempotency_key.as_deref())?;
    let number = application_number(&request.application_number)?;
    let phone = PhoneNumber::parse(&request.phone, &state.settings.default_country_code)
        .map_err(|e| Problem::unprocessable(format!("`phone`: {e}")))?
        .to_string();
    let name = field("name", request.name.as_deref(), MAX_SHORT_CHARS)?;
    let note = field("note", request.note.as_deref(), MAX_NOTE_CHARS)?;
    let values = BTreeMap::from([
        ("name", name.clone()),
        ("application_number", number.clone()),
        ("status", request.status.label().to_owned()),
        ("note", note.clone()),
    ]);
    let text = render(&state, &client, request.kind.template(), &values).await?;
    let service_number = service_number(&state, &client, None)?;
    let phones = [phone.clone()];
    let batch = batch(&state, &client, &phones, &text, service_number);
    let answer = {
        let (phones, text) = (phones.clone(), text.clone());
        move |ids: &[MessageId]| {
            response_body(&NoticeResponse {
                messages: queued(&phones, ids),
                text: text.clone(),
            })
        }
    };
    let mut details = notice_details(&phones, &text, request.idempotency_key.as_deref());
    details["kind"] = request.kind.as_str().into();
    details["application_number"] = number.clone().into();
    details["status"] = request.status.as_str().into();
    let update = CitizenStatusUpdate {
        kind: request.kind.as_str().to_owned(),
        application_number: number,
        status: request.status.as_str().to_owned(),
        phone,
        name: Some(name).filter(|n| !n.is_empty()),
        note: Some(note).filter(|n| !n.is_empty()),
    };
    let now = crate::clock::now_ms();
    let notice = AuditedEnqueue {
        event: AuditEvent::NotificationCitizen,
        details,
        then: Some(Box::new(CitizenStatusWrite::new(
            update,
            client.name(),
            now,
        ))),
        idempotency_key: request.idempotency_key.clone(),
        request_hash: request_hash("citizen", &request)?,
        batch,
        answer: Box::new(answer),
        now_ms: now,
    };
    let outcome = enqueue_audited(&state, &client, notice).await;
    idempotent_answer(&client, outcome, |_ids| {
        state.wake.notify();
        tracing::info!(
            api_key = client.name(),
            kind = request.kind.as_str(),
            status = request.status.as_str(),
            "queued a citizen notice"
        );
    })
}

/// What a notice's audit row says of its messages: the phones (counted, a few masked), its
/// parts and length; never the text (it may name a person or an application).
fn notice_details(
    phones: &[String],
    text: &str,
    idempotency_key: Option<&str>,
) -> serde_json::Value {
    call_audit::send_details(
        phones,
        0,
        crate::sms::plan(text).parts,
        text.chars().count(),
        idempotency_key,
    )
}

fn check_idempotency_key(key: Option<&str>) -> Result<(), Problem> {
    match key {
        Some(k) if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY => Err(Problem::unprocessable(
            format!("`idempotency_key` must have 1 to {MAX_IDEMPOTENCY_KEY} bytes"),
        )),
        _ => Ok(()),
    }
}

/// A text field: trimmed, without control characters, at most `max` characters; absent is
/// empty.
fn field(name: &str, value: Option<&str>, max: usize) -> Result<String, Problem> {
    let value = value.unwrap_or("").trim();
    if value.chars().any(char::is_control) {
        return Err(Problem::unprocessable(format!(
            "`{name}` contains control characters (line breaks, tabs); remove them"
        )));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(Problem::unprocessable(format!(
            "`{name}` has {chars} characters; at most {max}: shorten it"
        )));
    }
    Ok(value.to_owned())
}

/// An application number: 1 to 40 ASCII letters, digits or `-`, stored upper case.
fn application_number(value: &str) -> Result<String, Problem> {
    let number = value.trim().to_ascii_uppercase();
    let ok = (1..=MAX_APPLICATION_NUMBER_CHARS).contains(&number.len())
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(number)
    } else {
        Err(Problem::unprocessable(format!(
            "`application_number` must be 1 to {MAX_APPLICATION_NUMBER_CHARS} letters, digits \
             or '-' (e.g. E440300202612010001)"
        )))
    }
}

/// Fills in the template `name`, refusing (422) a notice longer than [`MAX_NOTICE_PARTS`].
async fn render(
    state: &ApiState,
    client: &ApiClient,
    name: &str,
    values: &BTreeMap<&str, String>,
) -> Result<String, Problem> {
    let template: Template = templates::load(&state.store, name).await.map_err(|e| {
        tracing::error!(api_key = client.name(), template = name, error = %e, "cannot load a notice template");
        Problem::unavailable()
    })?;
    let text = template.render(values);
    let parts = crate::sms::plan(&text).parts;
    if parts > MAX_NOTICE_PARTS {
        return Err(Problem::unprocessable(format!(
            "the notice would take {parts} SMS parts; at most {MAX_NOTICE_PARTS} are sent: \
             shorten the title or note"
        )));
    }
    Ok(text)
}

fn batch(
    state: &ApiState,
    client: &ApiClient,
    phones: &[String],
    text: &str,
    service_number: Option<String>,
) -> Vec<NewOutbound> {
    let batch_id = format!("api:{}:{:016x}", client.name(), rand::random::<u64>());
    phones
        .iter()
        .map(|phone| NewOutbound {
            peer: phone.clone(),
            text: text.to_owned(),
            service_number: service_number.clone(),
            priority: 0,
            status_report: state.settings.status_report,
            valid_until_ms: None,
            send_at_ms: None,
            max_attempts: state.settings.max_attempts,
            batch_id: Some(batch_id.clone()),
        })
        .collect()
}

fn queued(numbers: &[String], ids: &[MessageId]) -> Vec<Queued> {
    numbers
        .iter()
        .zip(ids)
        .map(|(to, id)| Queued {
            to: to.clone(),
            id: *id,
        })
        .collect()
}

fn response_body(response: &NoticeResponse) -> String {
    // Serialising this struct cannot fail (strings and integers only).
    serde_json::to_string(response).unwrap_or_default()
}

/// The SHA-256 of the endpoint and the request, so that an idempotency key reused on another
/// endpoint is a different request.
fn request_hash(endpoint: &str, request: &impl Serialize) -> Result<String, Problem> {
    let bytes = serde_json::to_vec(&(endpoint, request))
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

fn unavailable(client: &ApiClient, e: crate::store::StoreError) -> Problem {
    tracing::error!(api_key = client.name(), error = %e, "cannot read the directory for a notice");
    Problem::unavailable()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_and_bounded_and_control_characters_refused() {
        assert_eq!(field("from", Some(" 办公室 "), 50).expect("ok"), "办公室");
        assert_eq!(field("from", None, 50).expect("ok"), "");
        assert_eq!(
            field("title", Some("a\nb"), 50).map_err(|p| p.status),
            Err(422)
        );
        assert_eq!(
            field("title", Some(&"长".repeat(51)), 50).map_err(|p| p.status),
            Err(422)
        );
    }

    #[test]
    fn application_numbers_are_upper_cased_letters_digits_and_dashes() {
        assert_eq!(application_number(" e123-4 ").expect("ok"), "E123-4");
        for bad in ["", "E 123", "E123；", &"1".repeat(41)] {
            assert!(application_number(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_openapi_document_lists_the_notification_endpoints() {
        let value = serde_json::to_value(super::super::openapi()).expect("document as JSON");
        for path in ["/api/v1/notifications/oa", "/api/v1/notifications/citizen"] {
            assert!(value["paths"][path]["post"].is_object(), "{path} missing");
        }
        let schemas = &value["components"]["schemas"];
        for schema in [
            "OaRequest",
            "CitizenRequest",
            "NoticeResponse",
            "ApplicationStatus",
        ] {
            assert!(schemas[schema].is_object(), "{schema} missing");
        }
    }
}
