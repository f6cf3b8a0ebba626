//! What an audit row holds, as the store writes it: [`AuditEntry`] (built by whoever acts),
//! checked and made ready to store by [`AuditEntry::prepare`] (secrets redacted, `details`
//! serialised), [`ChangeAuthor`] (who makes a change the store commits with its row) and
//! [`AuditFilter`] (which rows to list). The rules above the rows (verifying the chain, reading
//! the log audited) live in [`crate::audit`], which re-exports these.
//!
//! Secrets stay out: codes, passwords, session ids, tokens and keys must never be passed in an
//! entry. As a safety net, `details` keys that name such things (`password`, `code`, `token`,
//! `session_id`, `api_key`, ...; see [`SECRET_KEYS`]) have their values replaced by
//! `"[redacted]"` before the row is written, with a warning in the log. Free text (`object`)
//! cannot be screened that way: callers put only the command keyword and arguments there.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::chain::CanonicalRow;
use super::vocabulary::{AuditComponent, AuditEvent, AuditOutcome};
use crate::store::StoreError;

/// Id of an audit row; ids start at 1 and have no gaps.
pub type AuditId = i64;

/// Rows returned by a listing when the filter does not say.
pub const DEFAULT_LIST: u32 = 100;
/// The most rows one listing returns.
pub const MAX_LIST: u32 = 10_000;
/// Largest `details` JSON text kept, in bytes: larger details are replaced by their size.
pub const MAX_DETAILS_BYTES: usize = 64 * 1024;
/// Largest `actor`, `phone`, `object`, `source` or `request_id` kept, in characters: a longer
/// one is cut (ending in `…`) and named in the details' `truncated`.
pub const MAX_TEXT_CHARS: usize = 2048;

/// `details` keys (compared in lower case) whose values are replaced by `"[redacted]"`; keys
/// that contain `password`, `secret` or `token` are redacted too.
pub const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "passcode",
    "pin",
    "otp",
    "totp",
    "code",
    "sms_code",
    "verification_code",
    "session",
    "session_id",
    "sessionid",
    "cookie",
    "authorization",
    "api_key",
    "apikey",
    "secret",
    "token",
];

/// Who makes a change and from where, for the audit row the store commits with it: a
/// signed-in administrator (`admin`, `web 10.0.0.5`), the operating-system user on the command
/// line (`cli:root`, `cli`), or the daemon itself ([`ChangeAuthor::daemon`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeAuthor {
    /// [`AuditEntry::actor`].
    pub actor: String,
    /// [`AuditEntry::source`].
    pub source: String,
}

impl ChangeAuthor {
    /// `actor` acting from `source`.
    pub fn new(actor: impl Into<String>, source: impl Into<String>) -> ChangeAuthor {
        ChangeAuthor {
            actor: actor.into(),
            source: source.into(),
        }
    }

    /// The daemon's own changes (the bundled plugins and the demo datasource at first start).
    pub fn daemon() -> ChangeAuthor {
        ChangeAuthor::new("jingxun", "daemon")
    }

    /// An `ok` row of `component` and `event` about `object`, by this author.
    pub fn entry(&self, component: AuditComponent, event: AuditEvent, object: &str) -> AuditEntry {
        AuditEntry::new(component, event, AuditOutcome::Ok)
            .with_actor(self.actor.clone())
            .with_object(object)
            .with_source(Some(&self.source))
    }
}

/// What a row says happened. Build one with [`AuditEntry::new`] and the `with_*` methods, or
/// fill every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it happened, unix milliseconds UTC.
    pub at_ms: i64,
    /// The part of the platform that writes the row.
    pub component: AuditComponent,
    /// What happened.
    pub event: AuditEvent,
    /// Who: a user login, `cli:<os user>`, an API client. `None` when unknown (an unregistered
    /// phone's query: the phone says who).
    pub actor: Option<String>,
    /// The phone involved, canonical (`+8613800000001`).
    pub phone: Option<String>,
    /// What it was done to. Queries: the keyword, one space and the arguments (`CP 京A12345`),
    /// which is what [`AuditFilter::keyword`] matches. Registry changes: the phone number, the
    /// login, the role.
    pub object: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Anything else worth keeping (plugin name and version, `latency_ms`, refusal reason),
    /// as JSON; `null` is stored as `{}`. Never secrets (see the module documentation).
    pub details: Value,
    /// Where it came from: the modem's name, `cli`, `web`.
    pub source: Option<String>,
    /// Correlates the rows of one request across components.
    pub request_id: Option<String>,
}

impl AuditEntry {
    /// An entry happening now with no actor, phone, object, source, request id or details.
    pub fn new(component: AuditComponent, event: AuditEvent, outcome: AuditOutcome) -> AuditEntry {
        AuditEntry {
            at_ms: crate::clock::now_ms(),
            component,
            event,
            actor: None,
            phone: None,
            object: None,
            outcome,
            details: Value::Object(serde_json::Map::new()),
            source: None,
            request_id: None,
        }
    }

    /// Sets the actor.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Sets the phone.
    pub fn with_phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Sets the object.
    pub fn with_object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    /// Sets the details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Sets the source (or leaves it unset for `None`).
    pub fn with_source(mut self, source: Option<&str>) -> Self {
        self.source = source.map(str::to_owned);
        self
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Checks the entry and turns it into the row to store (without id and hashes):
    /// secrets redacted, oversized fields cut, `details` serialised.
    /// [`StoreError::InvalidAuditEntry`] when it cannot be stored at all (no valid time).
    pub(crate) fn prepare(&self) -> Result<PreparedEntry, StoreError> {
        if self.at_ms <= 0 {
            return Err(invalid(
                "at_ms",
                "must be a positive unix time in milliseconds",
            ));
        }
        // An oversized field is cut, never a reason to drop the row (issue 13): the row of a
        // hostile plugin's or sender's action is the one that must be kept. What was cut is
        // named in the details.
        let mut truncated: Vec<&str> = Vec::new();
        let mut cut = |field: &'static str, value: &Option<String>| -> Option<String> {
            value.as_ref().map(|v| {
                if v.chars().count() > MAX_TEXT_CHARS {
                    truncated.push(field);
                    let mut short: String = v.chars().take(MAX_TEXT_CHARS - 1).collect();
                    short.push('…');
                    short
                } else {
                    v.clone()
                }
            })
        };
        let actor = cut("actor", &self.actor);
        let phone = cut("phone", &self.phone);
        let object = cut("object", &self.object);
        let source = cut("source", &self.source);
        let request_id = cut("request_id", &self.request_id);
        let mut details = match &self.details {
            Value::Null => Value::Object(serde_json::Map::new()),
            other => other.clone(),
        };
        let redacted = redact_secrets(&mut details);
        if redacted > 0 {
            tracing::warn!(
                event = %self.event,
                component = %self.component,
                redacted,
                "audit details named secrets; their values were redacted (fix the caller)"
            );
        }
        let mut text = details.to_string();
        if text.len() > MAX_DETAILS_BYTES {
            tracing::warn!(event = %self.event, bytes = text.len(), "audit details too large; replaced by their size");
            truncated.push("details");
            details = serde_json::json!({ "details_bytes": text.len() });
        }
        if !truncated.is_empty() {
            if let Value::Object(map) = &mut details {
                map.insert("truncated".into(), serde_json::json!(truncated));
            } else {
                details = serde_json::json!({ "value": details, "truncated": truncated });
            }
            text = details.to_string();
        }
        let details = text;
        Ok(PreparedEntry {
            at: self.at_ms,
            component: self.component.as_str(),
            event: self.event.as_str(),
            actor,
            phone,
            object,
            outcome: self.outcome.as_str(),
            details,
            source,
            request_id,
        })
    }
}

/// An entry checked and ready to be stored.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEntry {
    pub at: i64,
    pub component: &'static str,
    pub event: &'static str,
    pub actor: Option<String>,
    pub phone: Option<String>,
    pub object: Option<String>,
    pub outcome: &'static str,
    pub details: String,
    pub source: Option<String>,
    pub request_id: Option<String>,
}

impl PreparedEntry {
    /// The fields the hash covers, for the row that will get `id`.
    pub fn canonical(&self, id: AuditId) -> CanonicalRow<'_> {
        CanonicalRow {
            id,
            at: self.at,
            component: self.component,
            event: self.event,
            actor: self.actor.as_deref(),
            phone: self.phone.as_deref(),
            object: self.object.as_deref(),
            outcome: self.outcome,
            details: &self.details,
            source: self.source.as_deref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::InvalidAuditEntry {
        field,
        reason: reason.into(),
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&key.as_str())
        || ["password", "secret", "token"]
            .iter()
            .any(|word| key.contains(word))
}

/// Replaces the values of secret-looking keys, at any depth; returns how many.
fn redact_secrets(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, v)| {
                if is_secret_key(key) {
                    *v = Value::String("[redacted]".into());
                    1
                } else {
                    redact_secrets(v)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(redact_secrets).sum(),
        _ => 0,
    }
}

/// Which rows a listing of the log returns. All conditions must hold. The audit log checks a
/// filter before it is used (`AuditLog::list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFilter {
    /// Only rows about this phone (canonical form; see [`crate::phone::PhoneNumber`]).
    pub phone: Option<String>,
    /// Only rows whose object is this command keyword, alone or followed by a space and
    /// arguments (`CP` matches `CP 京A12345`). Letters and digits; compared in upper case.
    pub keyword: Option<String>,
    /// Only this event (`query`, `phone.add`...).
    pub event: Option<String>,
    /// Only rows by this actor.
    pub actor: Option<String>,
    /// Only rows at or after this time (unix ms).
    pub since_ms: Option<i64>,
    /// Only rows before this time (unix ms).
    pub until_ms: Option<i64>,
    /// Only rows with ids below this (paging back through the log).
    pub before_id: Option<AuditId>,
    /// At most this many rows (1 to [`MAX_LIST`]).
    pub limit: u32,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
}

impl Default for AuditFilter {
    fn default() -> Self {
        AuditFilter {
            phone: None,
            keyword: None,
            event: None,
            actor: None,
            since_ms: None,
            until_ms: None,
            before_id: None,
            limit: DEFAULT_LIST,
            oldest_first: false,
        }
    }
}
