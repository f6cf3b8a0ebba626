//! The administrator-edited texts of OA reminders and citizen application notices (issue 5;
//! R17, R19): which templates exist, which placeholders each may use, how a text is checked and
//! how it is filled in.
//!
//! A template is plain text with placeholders such as `{title}`. A segment written `[[...]]`
//! is left out when a placeholder in it has no value (`[[，来自{from}]]` disappears when the
//! request names no sender). `{{` and `}}` stand for literal braces. Nothing else has meaning.
//!
//! Rendering is hand-written (a few dozen lines) rather than a template engine: there are no
//! loops, conditions or filters to offer, and values are inserted once and never parsed again,
//! so a title containing `{status}` or `[[` stays literal text (no injection).
//!
//! Changes are made with [`set_template`] (`jingxun template set`), checked (unknown
//! placeholders are refused with the list of allowed ones, the text must fit
//! [`MAX_NOTICE_PARTS`] SMS parts with sample values) and audited (`notifications` /
//! `template.set`, with the old and new text) in the transaction that stores them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditComponent, AuditEntry, AuditError, AuditEvent, AuditOutcome};
use crate::store::{Store, StoreError, TemplateRecord};

/// Most SMS parts a rendered notice may take; longer notices are refused (422) rather than
/// sent as a wall of text.
pub const MAX_NOTICE_PARTS: usize = 5;
/// Longest template, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 500;

/// One kind of notice and what its template may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TemplateSpec {
    /// The template's name (`oa.todo`).
    pub name: &'static str,
    /// What it is for, for listings.
    pub description: &'static str,
    /// Placeholders the text may use.
    pub placeholders: &'static [&'static str],
    /// Placeholders the text must use (the notice means nothing without them).
    pub required: &'static [&'static str],
    /// The text the database is seeded with (see the migration `..._notifications.sql`).
    pub default_text: &'static str,
}

const OA_PLACEHOLDERS: &[&str] = &["name", "title", "from", "due"];
const CITIZEN_PLACEHOLDERS: &[&str] = &["name", "application_number", "status", "note"];

/// Every template, in listing order.
pub const TEMPLATES: &[TemplateSpec] = &[
    TemplateSpec {
        name: "oa.todo",
        description: "OA to-do reminder to a user's phones",
        placeholders: OA_PLACEHOLDERS,
        required: &["title"],
        default_text: "【OA待办】{name}：您有一项待办事项“{title}”[[，来自{from}]][[，请于{due}前办理]]。请登录OA系统处理。",
    },
    TemplateSpec {
        name: "oa.read",
        description: "OA document-to-read reminder to a user's phones",
        placeholders: OA_PLACEHOLDERS,
        required: &["title"],
        default_text: "【OA待阅】{name}：您有一份待阅文件“{title}”[[，来自{from}]][[，请于{due}前阅知]]。请登录OA系统查阅。",
    },
    TemplateSpec {
        name: "citizen.passport",
        description: "passport application progress notice to the citizen",
        placeholders: CITIZEN_PLACEHOLDERS,
        required: &["application_number", "status"],
        default_text: "【公安出入境】[[{name}，]]您的护照申请（受理编号{application_number}）当前状态：{status}。[[{note}]]",
    },
    TemplateSpec {
        name: "citizen.exit_entry",
        description: "exit-entry permit application progress notice to the citizen",
        placeholders: CITIZEN_PLACEHOLDERS,
        required: &["application_number", "status"],
        default_text: "【公安出入境】[[{name}，]]您的出入境通行证申请（受理编号{application_number}）当前状态：{status}。[[{note}]]",
    },
    TemplateSpec {
        name: "citizen.id_card",
        description: "ID card application progress notice to the citizen",
        placeholders: CITIZEN_PLACEHOLDERS,
        required: &["application_number", "status"],
        default_text: "【公安户政】[[{name}，]]您的居民身份证申请（受理编号{application_number}）当前状态：{status}。[[{note}]]",
    },
];

/// Values used to check that a template fits [`MAX_NOTICE_PARTS`] when it is set: typical, not
/// worst-case, lengths.
const SAMPLE_VALUES: &[(&str, &str)] = &[
    ("name", "张三"),
    ("title", "关于2026年度安全生产检查工作的通知"),
    ("from", "办公室"),
    ("due", "2026-12-01 17:00"),
    ("application_number", "E440300202612010001"),
    ("status", "可领取"),
    ("note", "请携带本人身份证件到出入境接待大厅领取。"),
];

/// The template named `name`.
pub fn spec(name: &str) -> Option<&'static TemplateSpec> {
    TEMPLATES.iter().find(|t| t.name == name)
}

fn names() -> String {
    TEMPLATES
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a template cannot be used, or could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// No template of that name.
    #[error("no template `{0}`; the templates are: {names}", names = names())]
    UnknownTemplate(String),
    /// The text is malformed.
    #[error("invalid template text: {0}")]
    Invalid(String),
    /// The text uses a placeholder its template does not offer.
    #[error(
        "the template `{template}` cannot use `{{{placeholder}}}`; it may use {allowed}",
        allowed = braced(.allowed)
    )]
    UnknownPlaceholder {
        template: String,
        placeholder: String,
        allowed: Vec<&'static str>,
    },
    /// A placeholder the notice needs is missing.
    #[error("the template `{template}` must contain `{{{placeholder}}}`")]
    MissingPlaceholder {
        template: String,
        placeholder: &'static str,
    },
    /// Filled in with sample values, the text is too long.
    #[error(
        "with typical values the text takes {parts} SMS parts; at most {MAX_NOTICE_PARTS} are \
         allowed: shorten it"
    )]
    TooLong { parts: usize },
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit row could not be written, so nothing was changed.
    #[error("the template was not changed because its audit row could not be written: {0}")]
    Audit(#[from] AuditError),
}

fn braced(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Placeholder(String),
    /// `[[...]]`: dropped when one of its placeholders has no value.
    Optional(Vec<Piece>),
}

/// A checked template, ready to fill in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses and checks `text` as the template `name`: the syntax, the placeholders allowed
    /// and required, the length.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let spec = spec(name).ok_or_else(|| TemplateError::UnknownTemplate(name.to_owned()))?;
        let text = text.trim();
        if text.is_empty() {
            return Err(TemplateError::Invalid("it is empty".into()));
        }
        let chars = text.chars().count();
        if chars > MAX_TEMPLATE_CHARS {
            return Err(TemplateError::Invalid(format!(
                "it has {chars} characters, more than {MAX_TEMPLATE_CHARS}; shorten it"
            )));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(TemplateError::Invalid(
                "it contains control characters (only line breaks are allowed)".into(),
            ));
        }
        let template = Template {
            pieces: parse_pieces(text)?,
        };
        let used = template.placeholders();
        if let Some(unknown) = used
            .iter()
            .find(|p| !spec.placeholders.contains(&p.as_str()))
        {
            return Err(TemplateError::UnknownPlaceholder {
                template: name.to_owned(),
                placeholder: unknown.clone(),
                allowed: spec.placeholders.to_vec(),
            });
        }
        if let Some(missing) = spec.required.iter().find(|r| !used.iter().any(|u| u == *r)) {
            return Err(TemplateError::MissingPlaceholder {
                template: name.to_owned(),
                placeholder: missing,
            });
        }
        Ok(template)
    }

    /// The placeholders used, in order of first use.
    pub fn placeholders(&self) -> Vec<String> {
        fn walk(pieces: &[Piece], out: &mut Vec<String>) {
            for piece in pieces {
                match piece {
                    Piece::Text(_) => {}
                    Piece::Placeholder(p) if !out.contains(p) => out.push(p.clone()),
                    Piece::Placeholder(_) => {}
                    Piece::Optional(inner) => walk(inner, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.pieces, &mut out);
        out
    }

    /// Fills in `values` (a placeholder without a value, or with an empty one, has none).
    /// Values are inserted as they are, never parsed.
    pub fn render(&self, values: &BTreeMap<&str, String>) -> String {
        let value = |name: &str| {
            values
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder(p) => out.push_str(value(p).unwrap_or("")),
                Piece::Optional(inner) => {
                    let complete = inner.iter().all(|i| match i {
                        Piece::Placeholder(p) => value(p).is_some(),
                        _ => true,
                    });
                    if complete {
                        for i in inner {
                            match i {
                                Piece::Text(t) => out.push_str(t),
                                Piece::Placeholder(p) => out.push_str(value(p).unwrap_or("")),
                                Piece::Optional(_) => {} // not produced by the parser
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// Splits a template into text, placeholders and `[[...]]` segments (not nested).
fn parse_pieces(text: &str) -> Result<Vec<Piece>, TemplateError> {
    let invalid = |reason: String| Err(TemplateError::Invalid(reason));
    let mut top: Vec<Piece> = Vec::new();
    let mut optional: Option<Vec<Piece>> = None;
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    fn flush(literal: &mut String, into: &mut Vec<Piece>) {
        if !literal.is_empty() {
            into.push(Piece::Text(std::mem::take(literal)));
        }
    }
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) if c.is_ascii_lowercase() || c == '_' => name.push(c),
                        Some(c) => {
                            return invalid(format!(
                                "`{c}` inside a placeholder after `{{{name}`: placeholders are \
                                 lower-case names such as {{title}}; write a literal brace as \
                                 {{{{ or }}}}"
                            ));
                        }
                        None => {
                            return invalid(format!(
                                "`{{{name}` is not closed with `}}`; write a literal brace as {{{{"
                            ));
                        }
                    }
                }
                if name.is_empty() {
                    return invalid("`{}` names no placeholder".into());
                }
                let target = optional.as_mut().unwrap_or(&mut top);
                flush(&mut literal, target);
                target.push(Piece::Placeholder(name));
            }
            '}' => return invalid("a `}` without `{`; write a literal brace as }}".into()),
            '[' if chars.peek() == Some(&'[') => {
                chars.next();
                if optional.is_some() {
                    return invalid("`[[` inside `[[...]]`: optional segments cannot nest".into());
                }
                flush(&mut literal, &mut top);
                optional = Some(Vec::new());
            }
            ']' if chars.peek() == Some(&']') && optional.is_some() => {
                chars.next();
                let mut inner = optional.take().unwrap_or_default();
                flush(&mut literal, &mut inner);
                top.push(Piece::Optional(inner));
            }
            other => literal.push(other),
        }
    }
    if optional.is_some() {
        return invalid("a `[[` is not closed with `]]`".into());
    }
    flush(&mut literal, &mut top);
    Ok(top)
}

/// The template as stored, or its default text when no row exists.
pub async fn load(store: &Store, name: &str) -> Result<Template, TemplateError> {
    let spec = spec(name).ok_or_else(|| TemplateError::UnknownTemplate(name.to_owned()))?;
    let text = store
        .notification_template(name)
        .await?
        .map(|t| t.text)
        .unwrap_or_else(|| spec.default_text.to_owned());
    Template::parse(name, &text)
}

/// Every template as stored (a missing row shows its default text), in [`TEMPLATES`] order.
pub async fn list(store: &Store) -> Result<Vec<TemplateRecord>, TemplateError> {
    let stored = store.notification_templates().await?;
    Ok(TEMPLATES
        .iter()
        .map(|spec| {
            stored
                .iter()
                .find(|t| t.name == spec.name)
                .cloned()
                .unwrap_or_else(|| TemplateRecord {
                    name: spec.name.to_owned(),
                    text: spec.default_text.to_owned(),
                    updated_at: 0,
                    updated_by: "default".into(),
                })
        })
        .collect())
}

/// Checks `text` and stores it as the template `name`, with an audit row (`notifications` /
/// `template.set` by `actor` from `source`, holding the old and the new text) in the same
/// transaction. Returns the stored text (trimmed).
pub async fn set_template(
    store: &Store,
    name: &str,
    text: &str,
    actor: &str,
    source: &str,
) -> Result<String, TemplateError> {
    let template = Template::parse(name, text)?;
    let samples: BTreeMap<&str, String> = SAMPLE_VALUES
        .iter()
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect();
    let parts = crate::sms::plan(&template.render(&samples)).parts;
    if parts > MAX_NOTICE_PARTS {
        return Err(TemplateError::TooLong { parts });
    }
    let text = text.trim();
    let old = store.notification_template(name).await?.map(|t| t.text);
    let entry = AuditEntry::new(
        AuditComponent::Notifications,
        AuditEvent::TemplateSet,
        AuditOutcome::Ok,
    )
    .with_actor(actor)
    .with_object(name)
    .with_source(Some(source))
    .with_details(json!({
        "chars": text.chars().count(),
        "old_text": old,
        "text": text,
    }));
    store
        .set_notification_template(name, text, actor, crate::clock::now_ms(), &entry)
        .await
        .map_err(|e| match AuditError::from(e) {
            AuditError::Store(e) => TemplateError::Store(e),
            other => TemplateError::Audit(other),
        })?;
    Ok(text.to_owned())
}

pub use crate::citizen::{ApplicationKind, ApplicationStatus};

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn placeholders_are_filled_and_optional_segments_drop_without_their_value() {
        let t = Template::parse("oa.todo", "{name}：{title}[[，来自{from}]][[，{due}前]]。")
            .expect("valid");
        let full = values(&[
            ("name", "张三"),
            ("title", "审批"),
            ("from", "办公室"),
            ("due", "12-01"),
        ]);
        assert_eq!(t.render(&full), "张三：审批，来自办公室，12-01前。");
        let bare = values(&[("name", "张三"), ("title", "审批"), ("from", "")]);
        assert_eq!(t.render(&bare), "张三：审批。");
    }

    #[test]
    fn values_are_inserted_literally_and_never_parsed_again() {
        let t = Template::parse("oa.read", "{title}{{x}}").expect("valid");
        let v = values(&[("title", "{status}[[{name}]]")]);
        assert_eq!(t.render(&v), "{status}[[{name}]]{x}");
    }

    #[test]
    fn unknown_placeholders_are_refused_with_the_allowed_ones() {
        let err = Template::parse("oa.todo", "{title} {phone}").expect_err("refused");
        let message = err.to_string();
        assert!(
            matches!(err, TemplateError::UnknownPlaceholder { ref placeholder, .. } if placeholder == "phone")
        );
        for allowed in ["{name}", "{title}", "{from}", "{due}"] {
            assert!(message.contains(allowed), "{message}");
        }
        let err = Template::parse("citizen.id_card", "{application_number}{status}{title}")
            .expect_err("a citizen notice has no title");
        assert!(err.to_string().contains("{note}"), "{err}");
    }

    #[test]
    fn malformed_texts_missing_placeholders_and_unknown_templates_are_refused() {
        for bad in [
            "",
            "{title",
            "{Title}",
            "{}",
            "}{title}",
            "[[{title}",
            "[[a[[{title}]]]]",
            "bell\u{7}{title}",
        ] {
            assert!(
                matches!(
                    Template::parse("oa.todo", bad),
                    Err(TemplateError::Invalid(_))
                ),
                "{bad:?} must be refused"
            );
        }
        assert!(matches!(
            Template::parse("oa.todo", "您有待办"),
            Err(TemplateError::MissingPlaceholder {
                placeholder: "title",
                ..
            })
        ));
        assert!(matches!(
            Template::parse("citizen.passport", "{application_number}"),
            Err(TemplateError::MissingPlaceholder {
                placeholder: "status",
                ..
            })
        ));
        assert!(matches!(
            Template::parse("oa.meeting", "{title}"),
            Err(TemplateError::UnknownTemplate(_))
        ));
        assert!(matches!(
            Template::parse(
                "oa.todo",
                &format!("{{title}}{}", "长".repeat(MAX_TEMPLATE_CHARS))
            ),
            Err(TemplateError::Invalid(_))
        ));
    }

    #[test]
    fn every_default_template_is_valid_and_fits_one_or_two_sms() {
        let samples: BTreeMap<&str, String> = SAMPLE_VALUES
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect();
        for spec in TEMPLATES {
            let t = Template::parse(spec.name, spec.default_text).expect("default is valid");
            let parts = crate::sms::plan(&t.render(&samples)).parts;
            assert!(parts <= 2, "{} takes {parts} parts", spec.name);
        }
    }

    #[test]
    fn every_status_has_a_chinese_label_and_round_trips() {
        for status in ApplicationStatus::ALL {
            assert_eq!(ApplicationStatus::from_name(status.as_str()), Some(status));
            assert!(!status.label().is_ascii());
        }
        assert_eq!(ApplicationStatus::ReadyForCollection.label(), "可领取");
    }

    async fn templates_are_seeded_with_the_defaults_and_changes_are_audited(
        db: &crate::store::test_db::TestDb,
    ) {
        let store = &db.store;
        let listed = list(store).await.expect("list");
        assert_eq!(listed.len(), TEMPLATES.len());
        for (record, spec) in listed.iter().zip(TEMPLATES) {
            assert_eq!(record.name, spec.name);
            assert_eq!(
                record.text, spec.default_text,
                "the migration seeds the defaults"
            );
            assert_eq!(record.updated_by, "default");
        }
        let refused = set_template(store, "oa.todo", "{title} {phone}", "cli:admin", "cli").await;
        assert!(matches!(
            refused,
            Err(TemplateError::UnknownPlaceholder { .. })
        ));
        let too_long = format!("{{title}}{}", "很长的提醒".repeat(80));
        assert!(matches!(
            set_template(store, "oa.todo", &too_long, "cli:admin", "cli").await,
            Err(TemplateError::TooLong { .. })
        ));
        set_template(store, "oa.todo", "  待办：{title}  ", "cli:admin", "cli")
            .await
            .expect("set");
        let loaded = load(store, "oa.todo").await.expect("load");
        assert_eq!(loaded.render(&values(&[("title", "审批")])), "待办：审批");
        let record = store
            .notification_template("oa.todo")
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(record.updated_by, "cli:admin");
        let rows = crate::audit::AuditLog::new(store.clone())
            .list(&crate::audit::AuditFilter::default(), "test")
            .await
            .expect("audit");
        let row = rows
            .iter()
            .find(|r| r.event == "template.set")
            .expect("one template.set row");
        assert_eq!(row.object.as_deref(), Some("oa.todo"));
        assert_eq!(row.actor.as_deref(), Some("cli:admin"));
        assert_eq!(row.details["text"], "待办：{title}");
        assert_eq!(
            rows.iter().filter(|r| r.event == "template.set").count(),
            1,
            "refused changes write no row"
        );
    }

    crate::on_both_backends!(crate::store::test_db::TestDb =>
        templates_are_seeded_with_the_defaults_and_changes_are_audited
    );
}
