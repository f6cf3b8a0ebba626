//! The website's members (issue 14; R9-R12): people who are not police staff, with their own
//! accounts, the phone each has bound, their caps on news SMS and what they were billed.
//!
//! The rules here: logins are 1-64 letters, digits, `.`, `_`, `-` or `@`, stored lower case;
//! passwords follow the same rules as staff passwords and are kept only as argon2id hashes; a
//! phone binds one member; caps are 0 to [`MAX_CAP`] SMS a day or a month. Every change writes
//! an audit row (component `members`: `member.add`, `member.bind`, `member.cap`) in the
//! transaction of the change; a bind names the phone.

use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::auth::password;
use crate::phone::PhoneNumber;
use crate::store::Store;
pub use crate::store::members::{BillingRow, CapPeriod, MemberError, MemberRecord, NewMember};

/// Longest member name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Highest cap accepted.
pub const MAX_CAP: i64 = 100_000;

const COMPONENT: AuditComponent = AuditComponent::Members;

/// Members on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Members {
    store: Store,
    country_code: String,
    source: Option<String>,
}

impl Members {
    /// Members kept in `store`; national numbers are read with `default_country_code`.
    pub fn new(store: Store, default_country_code: &str) -> Self {
        Members {
            store,
            country_code: default_country_code.to_owned(),
            source: None,
        }
    }

    /// Sets the `source` of the audit rows this handle writes (`cli`, `web`...).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Adds a member, with a password (checked and hashed) or none.
    pub async fn add(
        &self,
        login: &str,
        name: &str,
        password: Option<&str>,
        actor: &str,
        now_ms: i64,
    ) -> Result<MemberRecord, MemberError> {
        let login = check_login(login)?;
        let name = check_name(name)?;
        let password_hash = password
            .map(|p| {
                password::check_new_password(p)
                    .and_then(|()| password::hash_password(p))
                    .map_err(|e| MemberError::InvalidPassword(e.to_string()))
            })
            .transpose()?;
        let entry = self
            .entry(AuditEvent::MemberAdd, actor)?
            .with_object(login.clone())
            .with_details(serde_json::json!({ "password": password_hash.is_some() }));
        let member = NewMember {
            login,
            name,
            password_hash,
        };
        self.store.member_add(&member, now_ms, entry).await
    }

    /// Binds a phone to a member without a code: an administrator's import of a member who
    /// bound it on the website before (audited with the phone). Answers the member's record.
    pub async fn bind(
        &self,
        login: &str,
        phone: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<MemberRecord, MemberError> {
        let login = check_login(login)?;
        let phone = self.parse_phone(phone)?;
        let entry = self
            .entry(AuditEvent::MemberBind, actor)?
            .with_object(login.clone())
            .with_phone(phone.as_str())
            .with_details(serde_json::json!({ "how": "administrator" }));
        self.store
            .member_bind(&login, phone.as_str(), now_ms, entry)
            .await?;
        self.store
            .member(&login)
            .await?
            .ok_or(MemberError::UnknownMember(login))
    }

    /// Sets a member's daily or monthly cap on news SMS; `None` removes it.
    pub async fn set_cap(
        &self,
        login: &str,
        period: CapPeriod,
        cap: Option<i64>,
        actor: &str,
        now_ms: i64,
    ) -> Result<(), MemberError> {
        let login = check_login(login)?;
        if let Some(value) = cap.filter(|c| !(0..=MAX_CAP).contains(c)) {
            return Err(MemberError::InvalidCap {
                period: match period {
                    CapPeriod::Daily => "daily",
                    CapPeriod::Monthly => "monthly",
                },
                value,
            });
        }
        let entry = self
            .entry(AuditEvent::MemberCap, actor)?
            .with_object(login.clone())
            .with_details(serde_json::json!({ "period": period, "cap": cap }));
        self.store
            .member_set_cap(&login, period, cap, now_ms, entry)
            .await
    }

    /// Every member, by login.
    pub async fn list(&self) -> Result<Vec<MemberRecord>, MemberError> {
        Ok(self.store.members_list().await?)
    }

    /// Messages and parts sent to each member per month; `month` (`YYYY-MM`) for one month.
    pub async fn billing(&self, month: Option<&str>) -> Result<Vec<BillingRow>, MemberError> {
        let month = month.map(check_month).transpose()?;
        Ok(self.store.billing(month.as_deref()).await?)
    }

    fn parse_phone(&self, input: &str) -> Result<PhoneNumber, MemberError> {
        PhoneNumber::parse(input, &self.country_code).map_err(|reason| MemberError::InvalidPhone {
            input: input.trim().to_owned(),
            reason: reason.to_string(),
        })
    }

    fn entry(&self, event: AuditEvent, actor: &str) -> Result<AuditEntry, MemberError> {
        let actor = actor.trim();
        if actor.is_empty() {
            return Err(MemberError::MissingActor);
        }
        Ok(AuditEntry::new(COMPONENT, event, AuditOutcome::Ok)
            .with_actor(actor)
            .with_source(self.source.as_deref()))
    }
}

/// A member login as stored.
pub fn check_login(value: &str) -> Result<String, MemberError> {
    let v = value.trim().to_ascii_lowercase();
    let ok = (1..=64).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(v)
    } else {
        Err(MemberError::InvalidLogin(value.to_owned()))
    }
}

fn check_name(value: &str) -> Result<String, MemberError> {
    crate::text::checked(value, MAX_NAME_CHARS, crate::text::Lines::One).map_err(|reason| {
        MemberError::InvalidText {
            what: "member name",
            reason,
        }
    })
}

/// `YYYY-MM`.
pub fn check_month(value: &str) -> Result<String, MemberError> {
    let v = value.trim();
    chrono::NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| v.len() == 7)
        .map(|_| v.to_owned())
        .ok_or_else(|| MemberError::InvalidMonth(value.to_owned()))
}

#[cfg(test)]
mod tests;
