//! The phone registry (R6) through the directory, and its CSV import: every row is
//! registered on its own (one audit row each), and the report says, row by row, what was
//! registered and what was refused and why; it is stashed for the importing user for a day.
//!
//! Binding a phone to a user makes it speak with that user's grants, so only an administrator
//! binds (issue 18, finding 5): a registrar registers phones with an owner's name, and neither
//! binds one to a login (one by one or in an import) nor re-enables a bound phone that was
//! disabled; those refusals are audited (`phone.bind`, `refused`).

use std::collections::HashSet;

use jingxun_vocabulary::BuiltinRole;
use jingxun_web::model::phones::{ImportReport, ImportedRow, PhoneRow, PhonesPage, RejectedRow};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::PhonesBackend;
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, audit_source, directory_refusal, random_id, unavailable};
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditLog, AuditOutcome};
use crate::store::StashKind;

/// Whether `actor` may bind a phone to a user: administrators only.
fn may_bind(actor: &Actor) -> bool {
    actor.has_role(BuiltinRole::Admin)
}

impl HostBackend {
    /// Audits and answers the refusal of a binding `actor` may not make: `number` to `login`
    /// (`None`: re-enabling a bound phone).
    async fn binding_refused(&self, actor: &Actor, number: &str, login: Option<&str>) -> Refusal {
        let entry = AuditEntry::new(
            AuditComponent::Web,
            AuditEvent::PhoneBind,
            AuditOutcome::Refused,
        )
        .with_actor(&actor.login)
        .with_object(number.trim())
        .with_source(Some(&audit_source(actor)))
        .with_details(serde_json::json!({
            "reason": "binding_needs_admin",
            "user": login,
        }));
        match AuditLog::new(self.state().store.clone())
            .append(entry)
            .await
        {
            Ok(_) => Refusal::new(RefusalCode::BindingNeedsAdmin),
            Err(e) => unavailable("auditing a refused binding", &e),
        }
    }
}

/// Rows one import may hold.
pub const MAX_IMPORT_ROWS: usize = 5000;

/// A CSV row: number, owner name, optional login.
#[derive(Debug, PartialEq, Eq)]
struct CsvRow<'a> {
    line: u32,
    text: &'a str,
    number: &'a str,
    owner: &'a str,
    user: Option<&'a str>,
}

/// Splits the pasted CSV into rows: fields separated by commas (also `，`), semicolons or
/// tabs, surrounding quotes and spaces removed; blank lines skipped; a first line with a
/// column title (`number`, `号码`, `手机`) skipped.
fn csv_rows(text: &str) -> Vec<CsvRow<'_>> {
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line
            .split([',', '，', ';', '；', '\t'])
            .map(|f| f.trim().trim_matches('"').trim())
            .collect();
        let first = fields[0].to_lowercase();
        if rows.is_empty()
            && ["number", "号码", "手机", "phone"]
                .iter()
                .any(|h| first.contains(h))
        {
            continue;
        }
        rows.push(CsvRow {
            line: i as u32 + 1,
            text: line,
            number: fields[0],
            owner: fields.get(1).copied().unwrap_or(""),
            user: fields.get(2).copied().filter(|u| !u.is_empty()),
        });
    }
    rows
}

impl PhonesBackend for HostBackend {
    fn phones(&self) -> BoxFuture<'_, Outcome<PhonesPage>> {
        Box::pin(async move {
            let directory = &self.state().directory;
            let phones = directory
                .phones()
                .await
                .map_err(|e| directory_refusal("reading phones", e))?;
            let users = directory
                .users()
                .await
                .map_err(|e| directory_refusal("reading users", e))?;
            Ok(PhonesPage {
                phones: phones
                    .into_iter()
                    .map(|p| PhoneRow {
                        number: p.number,
                        owner_name: p.owner_name,
                        user: p.user,
                        active: p.active,
                        created_at: p.created_at,
                    })
                    .collect(),
                users: users.into_iter().map(|u| (u.login, u.name)).collect(),
            })
        })
    }

    fn phone_add<'a>(
        &'a self,
        actor: &'a Actor,
        number: String,
        owner_name: String,
        user: Option<String>,
    ) -> BoxFuture<'a, Outcome<String>> {
        Box::pin(async move {
            if user.is_some() && !may_bind(actor) {
                return Err(self.binding_refused(actor, &number, user.as_deref()).await);
            }
            self.directory(actor)
                .add_phone(&number, &owner_name, user.as_deref(), &actor.login)
                .await
                .map(|p| p.to_string())
                .map_err(|e| directory_refusal("registering a phone", e))
        })
    }

    fn phone_set_active<'a>(
        &'a self,
        actor: &'a Actor,
        number: String,
        active: bool,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let directory = self.directory(actor);
            if active && !may_bind(actor) {
                let phone = directory
                    .parse_phone(&number)
                    .map_err(|e| directory_refusal("reading a number", e))?;
                let bound = directory
                    .identify(&phone)
                    .await
                    .map_err(|e| directory_refusal("reading a phone", e))?
                    .is_some_and(|p| p.user.is_some());
                if bound {
                    return Err(self.binding_refused(actor, &number, None).await);
                }
            }
            directory
                .set_phone_active(&number, active, &actor.login)
                .await
                .map_err(|e| directory_refusal("changing a phone", e))
        })
    }

    fn phone_remove<'a>(&'a self, actor: &'a Actor, number: String) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.directory(actor)
                .remove_phone(&number, &actor.login)
                .await
                .map_err(|e| directory_refusal("removing a phone", e))
        })
    }

    fn phone_import<'a>(&'a self, actor: &'a Actor, csv: String) -> BoxFuture<'a, Outcome<String>> {
        Box::pin(async move {
            let rows = csv_rows(&csv);
            if rows.is_empty() {
                return Err(Refusal::new(RefusalCode::NoRows));
            }
            if rows.len() > MAX_IMPORT_ROWS {
                return Err(Refusal::new(RefusalCode::TooManyRows));
            }
            let directory = self.directory(actor);
            let mut report = ImportReport::default();
            let mut seen = HashSet::new();
            for row in rows {
                let reject = |reason: RefusalCode, detail: Option<String>| RejectedRow {
                    line: row.line,
                    text: row.text.to_owned(),
                    reason,
                    detail,
                };
                if row.owner.is_empty() {
                    report
                        .rejected
                        .push(reject(RefusalCode::MissingOwner, None));
                    continue;
                }
                let canonical = match directory.parse_phone(row.number) {
                    Ok(p) => p.to_string(),
                    Err(e) => {
                        let r = directory_refusal("reading a number", e);
                        report.rejected.push(reject(r.code, r.detail));
                        continue;
                    }
                };
                if row.user.is_some() && !may_bind(actor) {
                    let r = self.binding_refused(actor, row.number, row.user).await;
                    report
                        .rejected
                        .push(reject(r.code, row.user.map(str::to_owned)));
                    continue;
                }
                if !seen.insert(canonical.clone()) {
                    report
                        .rejected
                        .push(reject(RefusalCode::DuplicateRow, Some(canonical)));
                    continue;
                }
                match directory
                    .add_phone(row.number, row.owner, row.user, &actor.login)
                    .await
                {
                    Ok(phone) => report.added.push(ImportedRow {
                        line: row.line,
                        number: phone.to_string(),
                        owner_name: row.owner.to_owned(),
                    }),
                    Err(e) => {
                        let r = directory_refusal("importing a phone", e);
                        report.rejected.push(reject(r.code, r.detail));
                    }
                }
            }
            tracing::info!(login = %actor.login, added = report.added.len(), rejected = report.rejected.len(), "phone import");
            let id = random_id()?;
            let body = serde_json::to_string(&report)
                .map_err(|e| unavailable("keeping an import report", &e))?;
            self.state()
                .store
                .stash_put(&id, &actor.login, StashKind::PhoneImport, &body)
                .await
                .map_err(|e| unavailable("keeping an import report", &e))?;
            Ok(id)
        })
    }

    fn phone_import_report<'a>(
        &'a self,
        actor: &'a Actor,
        id: String,
    ) -> BoxFuture<'a, Outcome<ImportReport>> {
        Box::pin(async move {
            let body = self
                .state()
                .store
                .stash_get(&id, &actor.login, StashKind::PhoneImport)
                .await
                .map_err(|e| unavailable("reading an import report", &e))?
                .ok_or_else(|| Refusal::new(RefusalCode::NotFound))?;
            serde_json::from_str(&body).map_err(|e| unavailable("reading an import report", &e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_skip_the_title_and_blank_lines_and_take_any_separator() {
        let rows = csv_rows(
            "\u{feff}号码,姓名,用户\n13800000001,王伟,wang\n\n\"13800000002\"，李娜\n13800000003\t赵强\t zhao \nx",
        );
        let simple: Vec<(u32, &str, &str, Option<&str>)> = rows
            .iter()
            .map(|r| (r.line, r.number, r.owner, r.user))
            .collect();
        assert_eq!(
            simple,
            [
                (2, "13800000001", "王伟", Some("wang")),
                (4, "13800000002", "李娜", None),
                (5, "13800000003", "赵强", Some("zhao")),
                (6, "x", "", None),
            ]
        );
        assert_eq!(
            csv_rows("13800000001,王伟").len(),
            1,
            "no title: the first row counts"
        );
    }
}
