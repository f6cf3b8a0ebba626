//! The audit log, read through [`crate::audit::AuditLog::list`], which audits every read (the
//! export included) before it returns rows.

use jingxun_web::model::audit::{AuditList, AuditRow, AuditSearch, PAGE_ROWS};
use jingxun_web::model::{Outcome, Refusal, RefusalCode, parse_time};
use jingxun_web::ssr::backend::AuditBackend;
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, audit_source, unavailable};
use crate::audit::{AuditError, AuditFilter, AuditLog, AuditRecord, MAX_LIST};
use crate::phone::PhoneNumber;

/// Rows of one CSV export at most.
pub const EXPORT_ROWS: u32 = MAX_LIST;

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The audit filter of a search; `Err` names the field that is not understood.
fn filter_of(search: &AuditSearch, country_code: &str, limit: u32) -> Outcome<AuditFilter> {
    let time = |text: &str| -> Outcome<Option<i64>> {
        match optional(text) {
            None => Ok(None),
            Some(t) => parse_time(&t)
                .map(Some)
                .ok_or_else(|| Refusal::with(RefusalCode::InvalidTime, t)),
        }
    };
    let phone = match optional(&search.phone) {
        None => None,
        Some(p) => Some(
            PhoneNumber::parse(&p, country_code)
                .map_err(|_| Refusal::with(RefusalCode::InvalidPhone, p))?
                .to_string(),
        ),
    };
    Ok(AuditFilter {
        phone,
        keyword: optional(&search.keyword),
        event: optional(&search.event),
        actor: optional(&search.actor),
        since_ms: time(&search.from)?,
        until_ms: time(&search.to)?,
        before_id: search.before,
        limit,
        oldest_first: false,
    })
}

fn row(r: AuditRecord) -> AuditRow {
    AuditRow {
        id: r.id,
        at_ms: r.at_ms,
        component: r.component,
        event: r.event,
        actor: r.actor,
        phone: r.phone,
        object: r.object,
        outcome: r.outcome,
        source: r.source,
        details: r.details.to_string(),
    }
}

/// One CSV field, quoted when it holds a separator, a quote or a line break; a field that a
/// spreadsheet would run as a formula gets a leading apostrophe.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

impl HostBackend {
    async fn audit_rows(&self, actor: &Actor, filter: &AuditFilter) -> Outcome<Vec<AuditRecord>> {
        AuditLog::new(self.state().store.clone())
            .with_source(audit_source(actor))
            .list(filter, &actor.login)
            .await
            .map_err(|e| match e {
                AuditError::InvalidFilter(reason) => Refusal::with(RefusalCode::BadFilter, reason),
                other => unavailable("reading the audit log", &other),
            })
    }
}

impl AuditBackend for HostBackend {
    fn audit<'a>(
        &'a self,
        actor: &'a Actor,
        search: AuditSearch,
    ) -> BoxFuture<'a, Outcome<AuditList>> {
        Box::pin(async move {
            let filter = filter_of(&search, &self.state().default_country_code, PAGE_ROWS + 1)?;
            let mut rows = self.audit_rows(actor, &filter).await?;
            let more = rows.len() > PAGE_ROWS as usize;
            rows.truncate(PAGE_ROWS as usize);
            Ok(AuditList {
                next_before: more.then(|| rows.last().map(|r| r.id)).flatten(),
                rows: rows.into_iter().map(row).collect(),
            })
        })
    }

    fn audit_csv<'a>(
        &'a self,
        actor: &'a Actor,
        search: AuditSearch,
    ) -> BoxFuture<'a, Outcome<String>> {
        Box::pin(async move {
            let filter = filter_of(&search, &self.state().default_country_code, EXPORT_ROWS)?;
            let rows = self.audit_rows(actor, &filter).await?;
            let mut csv = String::from(
                "id,time_utc_ms,time_beijing,component,event,actor,phone,object,outcome,source,details,hash\r\n",
            );
            for r in rows {
                let fields = [
                    r.id.to_string(),
                    r.at_ms.to_string(),
                    jingxun_web::model::format_time(r.at_ms),
                    r.component,
                    r.event,
                    r.actor.unwrap_or_default(),
                    r.phone.unwrap_or_default(),
                    r.object.unwrap_or_default(),
                    r.outcome,
                    r.source.unwrap_or_default(),
                    r.details.to_string(),
                    r.hash,
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                csv.push_str(&line.join(","));
                csv.push_str("\r\n");
            }
            Ok(csv)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("+8613800000001"), "'+8613800000001");
    }

    #[test]
    fn a_search_becomes_an_audit_filter() {
        let f = filter_of(
            &AuditSearch {
                phone: "13800000001".into(),
                keyword: " CP ".into(),
                from: "2026-12-01T08:00".into(),
                ..AuditSearch::default()
            },
            "86",
            10,
        )
        .unwrap();
        assert_eq!(f.phone.as_deref(), Some("+8613800000001"));
        assert_eq!(f.keyword.as_deref(), Some("CP"));
        assert_eq!(f.since_ms, Some(1_796_083_200_000));
        assert_eq!((f.actor, f.limit), (None, 10));
        assert!(
            filter_of(
                &AuditSearch {
                    phone: "x".into(),
                    ..AuditSearch::default()
                },
                "86",
                1
            )
            .is_err()
        );
    }
}
