//! `/api/v1/messages`: queue one text to one or many recipients (idempotently, committed before
//! the 202 answer) and read back a message's state, parts and delivery reports.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::ApiState;
use super::auth::ApiClient;
use super::keys::Scope;
use super::problem::Problem;
use crate::audit::AuditEvent;
use crate::phone::PhoneNumber;
use crate::store::{
    AlsoInTransaction, IdempotentOutcome, MessageId, MessageRecord, NewOutbound, PartRecord,
};

/// Most recipients one request may name.
pub const MAX_RECIPIENTS: usize = 10_000;
/// Longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;
/// Most parts one text may need (the concatenation limit of TS 23.040).
pub const MAX_PARTS: usize = 255;
/// Priorities accepted (higher is sent first).
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -100..=100;

/// `POST /api/v1/messages`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Recipients: mobile numbers in any usual form (`13800000000`, `+8613800000000`).
    #[schema(min_items = 1, max_items = 10000, example = json!(["13800000000"]))]
    pub to: Vec<String>,
    /// The text; long texts leave as concatenated parts (at most 255).
    #[schema(min_length = 1, example = "您的护照已签发，请到窗口领取。")]
    pub text: String,
    /// A retry with the same key returns the first answer and sends nothing twice.
    #[schema(min_length = 1, max_length = 255)]
    pub idempotency_key: Option<String>,
    /// Not sent before this time (RFC 3339); default now.
    pub send_at: Option<DateTime<Utc>>,
    /// Not sent after this time (RFC 3339): the message becomes `expired` instead.
    pub valid_until: Option<DateTime<Utc>>,
    /// Higher is sent first, -100 to 100; default 0.
    #[schema(minimum = -100, maximum = 100)]
    pub priority: Option<i32>,
    /// The service number to send from; must be one the key may use.
    pub service_number: Option<String>,
    /// Ask the network for delivery reports; default: the daemon's `[queue] status_report`.
    pub status_report: Option<bool>,
}

/// One queued message of a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Queued {
    /// The recipient, canonical (`+8613800000000`).
    pub to: String,
    /// The message id, for `GET /api/v1/messages/{id}`.
    pub id: MessageId,
}

/// A recipient that is not a phone number; the others are sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invalid {
    /// The entry as given.
    pub to: String,
    /// Why it is not a phone number.
    pub reason: String,
}

/// The answer to a send: one message per valid recipient (committed), and the invalid ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SendResponse {
    pub messages: Vec<Queued>,
    pub invalid: Vec<Invalid>,
}

/// Queue a text to one or many recipients.
#[utoipa::path(
    post,
    path = "/api/v1/messages",
    tag = "messages",
    request_body = SendRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued and committed", body = SendResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key lacks the send scope or the service number", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency key reused with another request", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid values", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; nothing accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_message(
    State(state): State<ApiState>,
    Extension(client): Extension<Arc<ApiClient>>,
    body: Result<axum::Json<SendRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    client.require(Scope::Send)?;
    let axum::Json(request) = body.map_err(json_problem)?;
    let plan = validate(&request)?;
    let service_number = service_number(&state, &client, request.service_number.as_deref())?;
    let (valid, invalid) = recipients(&state, &request.to);
    if valid.is_empty() {
        return Err(Problem::unprocessable(format!(
            "no recipient is a phone number: {}",
            invalid
                .iter()
                .map(|i| format!("`{}`: {}", i.to, i.reason))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let now = crate::clock::now_ms();
    let batch_id = format!("api:{}:{:016x}", client.name(), rand::random::<u64>());
    let send_at_ms = request.send_at.map(|t| t.timestamp_millis());
    let batch: Vec<NewOutbound> = valid
        .iter()
        .map(|number| NewOutbound {
            peer: number.to_string(),
            text: request.text.clone(),
            service_number: service_number.clone(),
            priority: request.priority.unwrap_or(0),
            status_report: request
                .status_report
                .unwrap_or(state.settings.status_report),
            valid_until_ms: request.valid_until.map(|t| t.timestamp_millis()),
            send_at_ms,
            max_attempts: state.settings.max_attempts,
            batch_id: Some(batch_id.clone()),
        })
        .collect();
    let request_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&request).map_err(|e| Problem::bad_request(e.to_string()))?,
    ));
    let answer = {
        let numbers: Vec<String> = valid.iter().map(ToString::to_string).collect();
        let invalid = invalid.clone();
        move |ids: &[MessageId]| {
            let response = SendResponse {
                messages: numbers
                    .iter()
                    .zip(ids)
                    .map(|(number, id)| Queued {
                        to: number.clone(),
                        id: *id,
                    })
                    .collect(),
                invalid: invalid.clone(),
            };
            // Serialising this struct cannot fail (strings and integers only).
            serde_json::to_string(&response).unwrap_or_default()
        }
    };
    let send = AuditedEnqueue {
        event: AuditEvent::MessageSend,
        details: super::call_audit::send_details(
            &valid,
            invalid.len(),
            plan,
            request.text.chars().count(),
            request.idempotency_key.as_deref(),
        ),
        then: None,
        idempotency_key: request.idempotency_key.clone(),
        request_hash,
        batch,
        answer: Box::new(answer),
        now_ms: now,
    };
    let outcome = enqueue_audited(&state, &client, send).await;
    idempotent_answer(&client, outcome, |ids| {
        if send_at_ms.is_none_or(|t| t <= now) {
            state.wake.notify();
        }
        // The call itself is logged (key, status, time) by the key check's middleware.
        tracing::debug!(
            api_key = client.name(),
            messages = ids.len(),
            invalid = invalid.len(),
            parts = plan,
            "queued API messages"
        );
    })
}

/// A state-changing call's messages, its answer and what its audit row says, for
/// [`enqueue_audited`].
pub(super) struct AuditedEnqueue {
    /// The audit row's event (`message.send`, `notification.oa`).
    pub event: AuditEvent,
    pub details: serde_json::Value,
    /// A write of the call's own in the same transaction (a citizen application's status).
    pub then: Option<Box<dyn AlsoInTransaction + Send>>,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    /// The messages, all of one batch (its id is the audit row's object).
    pub batch: Vec<NewOutbound>,
    /// The answer stored (with an idempotency key) and returned, from the new ids.
    pub answer: crate::store::Answer,
    pub now_ms: i64,
}

/// Queues `call` through the group committer (committed together with the other requests
/// waiting at this moment: one disk flush for all of them, each as if alone): its messages,
/// its audit row (see `call_audit`) and its own write in one transaction before the answer,
/// or, on a replay, none of them. Shared by `POST /api/v1/messages` and the notifications.
pub(super) async fn enqueue_audited(
    state: &ApiState,
    client: &ApiClient,
    call: AuditedEnqueue,
) -> Result<IdempotentOutcome, crate::store::StoreError> {
    let object = call
        .batch
        .first()
        .and_then(|m| m.batch_id.clone())
        .unwrap_or_default();
    let audit = super::call_audit::in_transaction(
        &state.store,
        client,
        call.event,
        &object,
        call.details,
        call.then,
    );
    let outcome = state
        .committer
        .enqueue(crate::store::GroupedEnqueue {
            api_key: client.name().to_owned(),
            idempotency_key: call.idempotency_key,
            request_hash: call.request_hash,
            batch: call.batch,
            response: call.answer,
            also: Some(Box::new(audit)),
            now_ms: call.now_ms,
        })
        .await;
    super::call_audit::note_enqueue(client, &outcome);
    outcome
}

/// The answer to an idempotent enqueue (shared with the notification endpoints): 202 with the
/// stored body, calling `queued` with the new ids when messages were queued (not on a replay);
/// 409 for an idempotency key reused with another request; 503 when the store failed.
pub(super) fn idempotent_answer(
    client: &ApiClient,
    outcome: Result<IdempotentOutcome, crate::store::StoreError>,
    queued: impl FnOnce(&[MessageId]),
) -> Result<Response, Problem> {
    let outcome = outcome.map_err(|e| {
        tracing::error!(api_key = client.name(), error = %e, "cannot queue API messages");
        Problem::unavailable()
    })?;
    let body = match outcome {
        IdempotentOutcome::Queued { ids, response } => {
            queued(&ids);
            response
        }
        IdempotentOutcome::Replayed { response } => {
            tracing::info!(
                api_key = client.name(),
                "idempotent retry answered from the first request"
            );
            response
        }
        IdempotentOutcome::Mismatch => {
            return Err(Problem::conflict(
                "this idempotency key was used before with a different request; use a new key \
                 for a new request",
            ));
        }
    };
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Checks the values of a send; returns the number of parts of the text.
fn validate(request: &SendRequest) -> Result<usize, Problem> {
    if request.text.is_empty() {
        return Err(Problem::unprocessable("`text` is empty"));
    }
    let parts = crate::sms::plan(&request.text).parts;
    if parts > MAX_PARTS {
        return Err(Problem::unprocessable(format!(
            "`text` needs {parts} SMS parts; at most {MAX_PARTS} can be joined: shorten it"
        )));
    }
    if request.to.is_empty() {
        return Err(Problem::unprocessable("`to` names no recipient"));
    }
    if request.to.len() > MAX_RECIPIENTS {
        return Err(Problem::unprocessable(format!(
            "`to` names {} recipients; at most {MAX_RECIPIENTS} per request: split it",
            request.to.len()
        )));
    }
    if let Some(key) = &request.idempotency_key
        && (key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY)
    {
        return Err(Problem::unprocessable(format!(
            "`idempotency_key` must have 1 to {MAX_IDEMPOTENCY_KEY} bytes"
        )));
    }
    if let Some(priority) = request.priority
        && !PRIORITY_RANGE.contains(&priority)
    {
        return Err(Problem::unprocessable(format!(
            "`priority` {priority} is outside -100..100"
        )));
    }
    if let (Some(send_at), Some(valid_until)) = (request.send_at, request.valid_until)
        && valid_until <= send_at
    {
        return Err(Problem::unprocessable(
            "`valid_until` is not after `send_at`: the message could never be sent",
        ));
    }
    Ok(parts)
}

/// The service number to send from: the one asked for if the key may use it; else, for a key
/// limited to some numbers, the first of them; else any.
pub(super) fn service_number(
    state: &ApiState,
    client: &ApiClient,
    asked: Option<&str>,
) -> Result<Option<String>, Problem> {
    let allowed = &client.key.service_numbers;
    let Some(asked) = asked else {
        return Ok(allowed.first().cloned());
    };
    let number = PhoneNumber::parse(asked, &state.settings.default_country_code)
        .map_err(|e| Problem::unprocessable(format!("`service_number`: {e}")))?
        .to_string();
    if allowed.is_empty() || allowed.contains(&number) {
        Ok(Some(number))
    } else {
        Err(Problem::forbidden(format!(
            "the API key `{}` may not send from {number}; it may send from {}",
            client.name(),
            allowed.join(", ")
        )))
    }
}

/// Splits the recipients into valid numbers (each once, in the order given) and invalid ones.
fn recipients(state: &ApiState, to: &[String]) -> (Vec<PhoneNumber>, Vec<Invalid>) {
    let mut seen = HashSet::new();
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for entry in to {
        match PhoneNumber::parse(entry, &state.settings.default_country_code) {
            Ok(number) => {
                if seen.insert(number.clone()) {
                    valid.push(number);
                }
            }
            Err(e) => invalid.push(Invalid {
                to: entry.clone(),
                reason: e.to_string(),
            }),
        }
    }
    (valid, invalid)
}

pub(super) fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonDataError(e) => Problem::unprocessable(e.body_text()),
        JsonRejection::MissingJsonContentType(e) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            e.body_text(),
        ),
        other if other.status() == StatusCode::BAD_REQUEST => {
            Problem::bad_request(other.body_text())
        }
        // e.g. 413 when the body is over the limit
        other => Problem::from_status(other.status(), other.body_text()),
    }
}

/// A message as `GET /api/v1/messages/{id}` shows it. Times are RFC 3339 UTC.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    pub id: MessageId,
    /// The recipient.
    pub to: String,
    pub service_number: Option<String>,
    pub text: String,
    /// queued, sending, sent, delivered, failed or expired.
    pub state: String,
    /// Known once the first part was sent.
    pub parts_total: Option<u8>,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Why the last attempt failed, or why it expired.
    pub last_error: Option<String>,
    /// The modem that sent it (last).
    pub modem: Option<String>,
    pub priority: i32,
    pub status_report: bool,
    pub created_at: String,
    pub updated_at: String,
    /// When it is (or was) due.
    pub next_attempt_at: Option<String>,
    pub valid_until: Option<String>,
    /// When the network accepted its last part.
    pub sent_at: Option<String>,
    /// When every part was reported delivered.
    pub delivered_at: Option<String>,
    pub parts: Vec<PartView>,
}

/// One part of a message, with its network reference and delivery report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartView {
    /// 1-based position.
    pub seq: u8,
    /// pending, sent, delivered or failed.
    pub state: String,
    pub modem: Option<String>,
    /// TP-MR given by the network (`+CMGS`).
    pub message_reference: Option<u8>,
    /// TP-ST of the latest delivery report (0: delivered).
    pub status: Option<u8>,
    pub sent_at: Option<String>,
    /// When the delivery report came.
    pub reported_at: Option<String>,
}

fn rfc3339(ms: Option<i64>) -> Option<String> {
    ms.map(crate::clock::rfc3339)
}

impl MessageView {
    fn new(message: MessageRecord, parts: Vec<PartRecord>) -> MessageView {
        MessageView {
            id: message.id,
            to: message.peer,
            service_number: message.service_number,
            text: message.text,
            state: message.state.to_string(),
            parts_total: message.parts_total,
            attempts: message.attempts,
            max_attempts: message.max_attempts,
            last_error: message.last_error,
            modem: message.modem,
            priority: message.priority,
            status_report: message.status_report,
            created_at: crate::clock::rfc3339(message.created_at),
            updated_at: crate::clock::rfc3339(message.updated_at),
            next_attempt_at: rfc3339(message.next_attempt_at),
            valid_until: rfc3339(message.valid_until),
            sent_at: rfc3339(message.sent_at),
            delivered_at: rfc3339(message.delivered_at),
            parts: parts
                .into_iter()
                .map(|p| PartView {
                    seq: p.seq,
                    state: p.state.to_string(),
                    modem: p.modem,
                    message_reference: p.message_reference,
                    status: p.status,
                    sent_at: rfc3339(p.sent_at),
                    reported_at: rfc3339(p.reported_at),
                })
                .collect(),
        }
    }
}

/// A message this key queued: state, parts, attempts, error and delivery reports.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    params(("id" = i64, Path, description = "The id from the send's answer")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The message", body = MessageView),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key has neither the send nor the notify scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such message queued by this key", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_message(
    State(state): State<ApiState>,
    Extension(client): Extension<Arc<ApiClient>>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<axum::Json<MessageView>, Problem> {
    // A key that queues messages can follow them, whichever endpoint queued them.
    client.require_any(&[Scope::Send, Scope::Notify])?;
    let Path(id) = id.map_err(|e| Problem::bad_request(e.body_text()))?;
    let found = state
        .store
        .api_message(client.name(), id)
        .await
        .map_err(|e| {
            tracing::error!(api_key = client.name(), error = %e, "cannot read a message");
            Problem::unavailable()
        })?;
    match found {
        Some((message, parts)) => Ok(axum::Json(MessageView::new(message, parts))),
        None => Err(Problem::not_found(format!(
            "no message {id} was queued with the API key `{}`",
            client.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> SendRequest {
        SendRequest {
            to: vec!["13800000000".into()],
            text: text.into(),
            idempotency_key: None,
            send_at: None,
            valid_until: None,
            priority: None,
            service_number: None,
            status_report: None,
        }
    }

    #[test]
    fn empty_and_overlong_texts_and_bad_values_are_refused_with_422() {
        assert!(validate(&request("hello")).is_ok());
        let status = |r: &SendRequest| validate(r).err().map(|p| p.status);
        assert_eq!(status(&request("")), Some(422));
        assert_eq!(status(&request(&"长".repeat(67 * 256))), Some(422));
        let mut no_one = request("hi");
        no_one.to.clear();
        assert_eq!(status(&no_one), Some(422));
        let mut loud = request("hi");
        loud.priority = Some(1000);
        assert_eq!(status(&loud), Some(422));
        let mut never = request("hi");
        never.send_at = Some(Utc::now());
        never.valid_until = never.send_at;
        assert_eq!(status(&never), Some(422));
    }
}
