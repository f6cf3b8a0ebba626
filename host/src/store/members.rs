//! Storage of the website's members (issue 14; R9-R12): their accounts, the phone each has bound
//! (one member per phone), their caps on news SMS, and the billing ledger of what was sent to
//! them. The rules for logins, names and passwords live in [`crate::members`], which calls
//! these with checked values and an audit row for every change.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{AuditEntry, commit_audited};
use super::{Store, StoreError};

/// A member as stored (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRecord {
    pub id: i64,
    /// Lower case.
    pub login: String,
    pub name: String,
    /// The bound phone, canonical; `None` until bound.
    pub phone: Option<String>,
    pub phone_bound_at: Option<i64>,
    /// Whether a password is set (a member imported without one cannot sign in until they
    /// recover the account through their bound phone).
    pub has_password: bool,
    /// News SMS allowed per day, in the platform's time zone; `None`: no cap.
    pub daily_cap: Option<i64>,
    /// News SMS allowed per calendar month; `None`: no cap.
    pub monthly_cap: Option<i64>,
    pub active: bool,
    pub created_at: i64,
}

/// A new member, with checked values.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub login: String,
    pub name: String,
    /// An argon2id PHC string; `None`: no password yet.
    pub password_hash: Option<String>,
}

/// Which cap to set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CapPeriod {
    Daily,
    Monthly,
}

/// One member's usage in one month, as `jingxun billing` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingRow {
    pub login: String,
    /// `YYYY-MM` in the platform's time zone.
    pub month: String,
    /// SMS messages queued to the member.
    pub messages: i64,
    /// Their SMS parts (what the operator bills).
    pub parts: i64,
}

/// What went wrong with members. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// A login is malformed.
    #[error(
        "invalid member login `{0}`: use 1 to 64 letters, digits, '.', '_', '-' or '@', \
         starting with a letter or digit"
    )]
    InvalidLogin(String),
    /// A name is empty, too long or holds control characters.
    #[error("invalid {what}: {reason}")]
    InvalidText { what: &'static str, reason: String },
    /// A typed number is not a phone number.
    #[error("`{input}` is not a phone number: {reason}; give a number like 13800000001")]
    InvalidPhone { input: String, reason: String },
    /// The password breaks the rules (the text says which and what to do).
    #[error("{0}")]
    InvalidPassword(String),
    /// The login is taken.
    #[error("member `{0}` already exists: see it with `jingxun member list`")]
    MemberExists(String),
    /// No such member.
    #[error("no member `{0}`: see the members with `jingxun member list`")]
    UnknownMember(String),
    /// The phone is bound to another member.
    #[error(
        "phone {phone} is already bound to another member; a phone binds one member only: the \
         other member must unbind it first"
    )]
    PhoneTaken { phone: String },
    /// A cap is out of range.
    #[error("invalid {period} cap {value}: give a number of SMS from 0 to 100000")]
    InvalidCap { period: &'static str, value: i64 },
    /// A month could not be read.
    #[error("invalid month `{0}`: use YYYY-MM, like 2026-12")]
    InvalidMonth(String),
    /// The actor is missing.
    #[error("the actor (who makes the change) is empty; pass a login or `cli:<user>`")]
    MissingActor,
    /// The audit row of the change could not be written, so nothing was changed.
    #[error("nothing was changed because its audit row could not be written: {0}")]
    Audit(#[source] StoreError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for MemberError {
    fn from(e: sqlx::Error) -> Self {
        MemberError::Store(e.into())
    }
}

const MEMBER_COLUMNS: &str = "id, login, name, phone, phone_bound_at, \
     (password_hash IS NOT NULL) AS has_password, daily_cap, monthly_cap, active, created_at";

fn member_from_row(row: &AnyRow) -> Result<MemberRecord, StoreError> {
    Ok(MemberRecord {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        name: row.try_get("name")?,
        phone: row.try_get("phone")?,
        phone_bound_at: row.try_get("phone_bound_at")?,
        has_password: flag(row, "has_password")?,
        daily_cap: row.try_get("daily_cap")?,
        monthly_cap: row.try_get("monthly_cap")?,
        active: flag(row, "active")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A boolean column or expression, which the backends return as an integer or a boolean.
fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    Ok(match row.try_get::<bool, _>(column) {
        Ok(b) => b,
        Err(_) => row.try_get::<i64, _>(column)? != 0,
    })
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Adds a member, with its audit row in the same transaction.
    pub(crate) async fn member_add(
        &self,
        member: &NewMember,
        now_ms: i64,
        entry: AuditEntry,
    ) -> Result<MemberRecord, MemberError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO members (login, name, password_hash, active, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $4)",
        )
        .bind(&member.login)
        .bind(&member.name)
        .bind(member.password_hash.as_deref())
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| match e.as_database_error() {
            Some(db) if db.is_unique_violation() => MemberError::MemberExists(member.login.clone()),
            _ => e.into(),
        })?;
        let record = member_by_login(&mut tx, &member.login)
            .await?
            .ok_or_else(|| MemberError::UnknownMember(member.login.clone()))?;
        self.commit_member_change(tx, entry).await?;
        Ok(record)
    }

    /// Binds `phone` (canonical) to the member, replacing the phone they had; refused when
    /// another member holds it.
    pub(crate) async fn member_bind(
        &self,
        login: &str,
        phone: &str,
        now_ms: i64,
        entry: AuditEntry,
    ) -> Result<(), MemberError> {
        let mut tx = self.begin_write().await?;
        let member = member_by_login(&mut tx, login)
            .await?
            .ok_or_else(|| MemberError::UnknownMember(login.to_owned()))?;
        let holder = sqlx::query("SELECT login FROM members WHERE phone = $1")
            .bind(phone)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = holder {
            let holder: String = row.try_get("login")?;
            if holder != member.login {
                return Err(MemberError::PhoneTaken {
                    phone: phone.to_owned(),
                });
            }
        }
        sqlx::query(
            "UPDATE members SET phone = $1, phone_bound_at = $2, updated_at = $2 WHERE id = $3",
        )
        .bind(phone)
        .bind(now_ms)
        .bind(member.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| match e.as_database_error() {
            Some(db) if db.is_unique_violation() => MemberError::PhoneTaken {
                phone: phone.to_owned(),
            },
            _ => e.into(),
        })?;
        self.commit_member_change(tx, entry).await
    }

    /// Sets one of the member's caps (`None` removes it).
    pub(crate) async fn member_set_cap(
        &self,
        login: &str,
        period: CapPeriod,
        cap: Option<i64>,
        now_ms: i64,
        entry: AuditEntry,
    ) -> Result<(), MemberError> {
        let column = match period {
            CapPeriod::Daily => "daily_cap",
            CapPeriod::Monthly => "monthly_cap",
        };
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(&format!(
            "UPDATE members SET {column} = $1, updated_at = $2 WHERE login = $3"
        ))
        .bind(cap)
        .bind(now_ms)
        .bind(login)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(MemberError::UnknownMember(login.to_owned()));
        }
        self.commit_member_change(tx, entry).await
    }

    /// Every member, by login.
    pub(crate) async fn members_list(&self) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members ORDER BY login"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// One member by login.
    pub(crate) async fn member(&self, login: &str) -> Result<Option<MemberRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE login = $1"
        ))
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(member_from_row).transpose()
    }

    /// The member's password hash (argon2id PHC), if one is set. Only tests read it until the
    /// member portal's sign-in does.
    #[cfg(test)]
    pub(crate) async fn member_password_hash(
        &self,
        login: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT password_hash FROM members WHERE login = $1")
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("password_hash")?,
            None => None,
        })
    }

    /// Messages and parts queued to each member per month (`month`: only that one, `YYYY-MM`),
    /// not counting messages that failed, by month then login.
    pub(crate) async fn billing(&self, month: Option<&str>) -> Result<Vec<BillingRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.login, b.month, COUNT(*) AS messages, CAST(SUM(b.parts) AS BIGINT) AS parts \
             FROM billing_ledger b \
             JOIN members m ON m.id = b.member_id \
             JOIN messages g ON g.id = b.message_id \
             WHERE ($1 IS NULL OR b.month = $1) AND g.state NOT IN ('failed', 'expired') \
             GROUP BY m.login, b.month ORDER BY b.month, m.login",
        )
        .bind(month)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BillingRow {
                    login: row.try_get("login")?,
                    month: row.try_get("month")?,
                    messages: row.try_get("messages")?,
                    parts: row.try_get("parts")?,
                })
            })
            .collect()
    }

    async fn commit_member_change(&self, tx: Tx, entry: AuditEntry) -> Result<(), MemberError> {
        commit_audited(self, tx, entry, MemberError::Audit).await
    }
}

async fn member_by_login(tx: &mut Tx, login: &str) -> Result<Option<MemberRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE login = $1"
    ))
    .bind(login)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(member_from_row).transpose()
}
