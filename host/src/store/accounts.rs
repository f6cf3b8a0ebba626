//! Storage of web sign-in (issue 4): `web_accounts` (argon2id hashes, failure counts, lock-out)
//! and `web_sessions` (only the SHA-256 of each session id). The rules live in
//! [`crate::auth`]; this file only moves rows. Every change that must be audited appends its
//! audit row in the same transaction, so the change and its row commit together.

use jingxun_vocabulary::BuiltinRole;
use sqlx::{Row, Transaction};

use super::audit::{AuditEntry, append_audit};
use super::{Backend, Store, StoreError};

pub(super) type Tx = Transaction<'static, sqlx::Any>;

impl Store {
    /// `FOR UPDATE` on PostgreSQL, where two sign-ins of one login in two daemons would
    /// otherwise both read the row before either writes it; nothing on SQLite, whose write
    /// transactions (`BEGIN IMMEDIATE`) already run one at a time.
    pub(super) fn lock_row(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}

/// What sign-in needs to know about a login.
#[derive(Debug, Clone)]
pub(crate) struct AccountRow {
    pub password_hash: String,
    pub locked_until: Option<i64>,
    /// Whether the directory user is active.
    pub user_active: bool,
}

/// A stored session with its user.
#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub login: String,
    pub name: String,
    pub user_active: bool,
    pub has_account: bool,
    pub last_seen_at: i64,
    pub idle_ms: i64,
    pub expires_at: i64,
    pub roles: Vec<String>,
    /// `full`, `code` or `enrol` (see the migration `web_totp`).
    pub stage: String,
    /// When the user last proved who they are in this session.
    pub verified_at: i64,
}

/// A session to insert.
#[derive(Debug, Clone)]
pub(crate) struct NewSession<'a> {
    pub id_hash: &'a str,
    pub login: &'a str,
    pub now: i64,
    pub idle_ms: i64,
    pub expires_at: i64,
    /// `full`, `code` or `enrol`.
    pub stage: &'a str,
    /// When the user last proved who they are (0: never in this session).
    pub verified_at: i64,
}

impl Store {
    pub(crate) async fn account_row(&self, login: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(
            "SELECT a.password_hash, a.locked_until, u.active \
             FROM web_accounts a JOIN users u ON u.login = a.login WHERE a.login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(AccountRow {
                password_hash: r.try_get("password_hash")?,
                locked_until: r.try_get("locked_until")?,
                user_active: r.try_get::<i64, _>("active")? != 0,
            })
        })
        .transpose()
    }

    /// Counts one failed sign-in; at `max_failures` the account is locked until `lock_until`
    /// and the count starts again. Returns whether this failure locked it.
    pub(crate) async fn account_record_failure(
        &self,
        login: &str,
        now: i64,
        max_failures: i64,
        lock_until: i64,
        mut entry: AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT failed_count, locked_until FROM web_accounts WHERE login = $1{}",
            self.lock_row()
        ))
        .bind(login)
        .fetch_optional(&mut *tx)
        .await?;
        let mut locked_now = false;
        if let Some(row) = row {
            let locked_until: Option<i64> = row.try_get("locked_until")?;
            let still_locked = locked_until.is_some_and(|t| t > now);
            if !still_locked {
                // A lock that has run out starts a fresh count.
                let previous: i64 = if locked_until.is_some() {
                    0
                } else {
                    row.try_get("failed_count")?
                };
                let count = previous + 1;
                locked_now = count >= max_failures;
                let (count, until) = if locked_now {
                    (0, Some(lock_until))
                } else {
                    (count, None)
                };
                sqlx::query(
                    "UPDATE web_accounts SET failed_count = $1, locked_until = $2, updated_at = $3 \
                     WHERE login = $4",
                )
                .bind(count)
                .bind(until)
                .bind(now)
                .bind(login)
                .execute(&mut *tx)
                .await?;
            }
        }
        entry.details["locked_now"] = locked_now.into();
        self.commit_account_audit(tx, entry).await?;
        Ok(locked_now)
    }

    /// A successful sign-in: clears the failure count (unless `clear_failures` is false: the
    /// password was right but a second factor is asked next, and guesses of that count on),
    /// stores a stronger hash if given, and inserts the new session. The lock is read again in the same transaction: when the
    /// account was locked (or removed) since the sign-in read it, nothing is written and the
    /// answer is `false` (issue 18, finding 3: a lock set meanwhile, by another daemon on the
    /// same database, is not cleared by an attempt that started before it).
    pub(crate) async fn account_record_success(
        &self,
        new_hash: Option<&str>,
        clear_failures: bool,
        session: &NewSession<'_>,
        entry: AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT locked_until FROM web_accounts WHERE login = $1{}",
            self.lock_row()
        ))
        .bind(session.login)
        .fetch_optional(&mut *tx)
        .await?;
        let locked = match row {
            None => true,
            Some(row) => row
                .try_get::<Option<i64>, _>("locked_until")?
                .is_some_and(|until| until > session.now),
        };
        if locked {
            tx.rollback().await?;
            return Ok(false);
        }
        let clear = if clear_failures {
            "failed_count = 0, locked_until = NULL, "
        } else {
            ""
        };
        sqlx::query(&format!(
            "UPDATE web_accounts SET {clear}updated_at = $1, \
               password_hash = COALESCE($2, password_hash) \
             WHERE login = $3"
        ))
        .bind(session.now)
        .bind(new_hash)
        .bind(session.login)
        .execute(&mut *tx)
        .await?;
        insert_session(&mut tx, session).await?;
        self.commit_account_audit(tx, entry).await?;
        Ok(true)
    }

    /// Sets (or replaces) a user's web password and ends the user's sessions, except
    /// `keep_session` (the one changing its own password). `false`, changing nothing, when
    /// there is no such user.
    pub(crate) async fn account_set_password(
        &self,
        login: &str,
        hash: &str,
        keep_session: Option<&str>,
        now: i64,
        entry: AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if sqlx::query("SELECT 1 FROM users WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        set_password(&mut tx, login, hash, now).await?;
        sqlx::query("DELETE FROM web_sessions WHERE login = $1 AND id_hash <> $2")
            .bind(login)
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        self.commit_account_audit(tx, entry).await?;
        Ok(true)
    }

    /// The roles of a user, sorted.
    pub(crate) async fn account_roles(&self, login: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query("SELECT role FROM user_roles WHERE login = $1 ORDER BY role")
                .bind(login)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("role"))
                .collect::<Result<Vec<_>, _>>()?,
        )
    }

    /// The logins that have a web password.
    pub(crate) async fn account_logins(
        &self,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let rows = sqlx::query("SELECT login FROM web_accounts")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("login"))
            .collect::<Result<_, _>>()?)
    }

    /// Whether an active user in role `admin` has a web password.
    pub(crate) async fn account_admin_exists(&self) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM web_accounts a JOIN users u ON u.login = a.login \
             JOIN user_roles r ON r.login = a.login \
             WHERE r.role = $1 AND u.active = 1 LIMIT 1",
        )
        .bind(BuiltinRole::Admin.as_str())
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// Creates (or completes) the initial administrator: the user if missing, the `admin`
    /// role, the password. One transaction with its audit row.
    pub(crate) async fn account_create_admin(
        &self,
        login: &str,
        name: &str,
        hash: &str,
        now: i64,
        entry: AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT 1 FROM users WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists {
            sqlx::query("UPDATE users SET active = 1, updated_at = $1 WHERE login = $2")
                .bind(now)
                .bind(login)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO users (login, name, active, created_at, updated_at) \
                 VALUES ($1, $2, 1, $3, $3)",
            )
            .bind(login)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO user_roles (login, role) VALUES ($1, $2) \
             ON CONFLICT (login, role) DO NOTHING",
        )
        .bind(login)
        .bind(BuiltinRole::Admin.as_str())
        .execute(&mut *tx)
        .await?;
        set_password(&mut tx, login, hash, now).await?;
        sqlx::query("DELETE FROM web_sessions WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        self.commit_account_audit(tx, entry).await
    }

    /// The session with this id hash and its user, or `None`.
    pub(crate) async fn session_row(
        &self,
        id_hash: &str,
    ) -> Result<Option<SessionRow>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT s.login, s.last_seen_at, s.idle_ms, s.expires_at, s.stage, s.verified_at, \
                    u.name, u.active, \
                    (SELECT COUNT(*) FROM web_accounts a WHERE a.login = s.login) AS accounts \
             FROM web_sessions s JOIN users u ON u.login = s.login WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let login: String = row.try_get("login")?;
        let roles = sqlx::query("SELECT role FROM user_roles WHERE login = $1 ORDER BY role")
            .bind(&login)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("role"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(SessionRow {
            name: row.try_get("name")?,
            user_active: row.try_get::<i64, _>("active")? != 0,
            has_account: row.try_get::<i64, _>("accounts")? > 0,
            last_seen_at: row.try_get("last_seen_at")?,
            idle_ms: row.try_get("idle_ms")?,
            expires_at: row.try_get("expires_at")?,
            stage: row.try_get("stage")?,
            verified_at: row.try_get("verified_at")?,
            roles,
            login,
        }))
    }

    /// Records activity on a session.
    pub(crate) async fn session_touch(&self, id_hash: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes a session (expired: no audit row).
    pub(crate) async fn session_delete(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session at the user's request, with its audit row.
    pub(crate) async fn session_sign_out(
        &self,
        id_hash: &str,
        entry: AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await?;
        self.commit_account_audit(tx, entry).await
    }

    /// Ends every session of a user (disabled user, password set from the command line).
    pub(crate) async fn sessions_end_for(&self, login: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM web_sessions WHERE login = $1")
            .bind(login)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn commit_account_audit(&self, mut tx: Tx, entry: AuditEntry) -> Result<(), StoreError> {
        let prepared = entry.prepare()?;
        append_audit(self, &mut tx, &prepared).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn set_password(tx: &mut Tx, login: &str, hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO web_accounts (login, password_hash, failed_count, locked_until, \
           password_changed_at, created_at, updated_at) VALUES ($1, $2, 0, NULL, $3, $3, $3) \
         ON CONFLICT (login) DO UPDATE SET password_hash = excluded.password_hash, \
           failed_count = 0, locked_until = NULL, password_changed_at = excluded.password_changed_at, \
           updated_at = excluded.updated_at",
    )
    .bind(login)
    .bind(hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn insert_session(tx: &mut Tx, s: &NewSession<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO web_sessions (id_hash, login, created_at, last_seen_at, idle_ms, expires_at, \
           stage, verified_at) \
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7)",
    )
    .bind(s.id_hash)
    .bind(s.login)
    .bind(s.now)
    .bind(s.idle_ms)
    .bind(s.expires_at)
    .bind(s.stage)
    .bind(s.verified_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
