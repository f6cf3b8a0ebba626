//! Web sign-in and sessions (issue 4; checklist "Sign-in and sessions").
//!
//! - Accounts are directory users (`users.login`) with a web password ([`password`]): set with
//!   `jingxun user add ... --password-stdin` or `jingxun user passwd`, or the initial
//!   administrator of the embedded default start ([`Accounts::ensure_initial_admin`]).
//! - [`Accounts::sign_in`] gives the same answer ([`AuthError::Refused`]) for an unknown login,
//!   a wrong password, a disabled user and a locked account, and does the same argon2 work in
//!   each case (a dummy hash stands in for unknown logins). After
//!   `[web] lockout_failures` failures in a row the account is locked for
//!   `[web] lockout_minutes`, the right password included. Both outcomes are audited
//!   (component `auth`, event `signin`, outcome `ok` or `refused` with the reason in details).
//! - Sessions are server-side: the cookie holds 128 random bits from the OS generator, the
//!   database only their SHA-256. A new id is made at every sign-in. A session ends at
//!   sign-out, after `[web] idle_minutes` (`admin_idle_minutes` for administrators) without a
//!   request, `absolute_hours` after sign-in, when the user is disabled, or when the password
//!   changes (the session that changed it stays).
//! - The CSRF token of a session ([`csrf_token`]) is derived from its id, so it needs no
//!   storage and cannot be computed from what the database holds.

pub mod password;
pub mod session;

use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{AuditEntry, AuditError, AuditLog};
use crate::clock::now_ms;
use crate::config::Config;
use crate::store::Store;
use crate::store::accounts::NewSession;

pub use password::PasswordError;
pub use session::{SessionId, csrf_token};

/// Audit component of sign-in rows.
const COMPONENT: &str = "auth";
/// Login of the administrator the embedded default start creates.
pub const INITIAL_ADMIN: &str = "admin";

/// Why an account call failed. [`AuthError::Refused`] is the one answer sign-in gives.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Sign-in refused: unknown login, wrong password, disabled user or locked account.
    #[error(
        "the login or password is wrong, or the account is locked for a while; try again later or ask an administrator"
    )]
    Refused,
    /// The current password given to a password change is wrong.
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    /// No such user.
    #[error(
        "no user `{0}`: create it with `jingxun user add --login {0} --name NAME --role ROLE --password-stdin`"
    )]
    UnknownUser(String),
    /// The new password breaks a rule.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The audit row could not be written, so nothing was changed.
    #[error("nothing was changed because its audit row could not be written: {0}")]
    Audit(#[from] AuditError),
    /// The database failed.
    #[error("database error: {0}; check the database and retry")]
    Database(#[from] sqlx::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Timeouts and lock-out, from `[web]`.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Idle limit of sessions of users in role `admin`.
    pub admin_idle: Duration,
    /// Idle limit of other sessions.
    pub idle: Duration,
    /// Absolute limit of every session.
    pub absolute: Duration,
    /// Failures in a row that lock an account.
    pub lockout_failures: u32,
    /// How long a locked account stays locked.
    pub lockout: Duration,
}

impl AuthSettings {
    /// The `[web]` settings.
    pub fn from_config(config: &Config) -> Self {
        let web = &config.web;
        AuthSettings {
            admin_idle: Duration::from_secs(web.admin_idle_minutes * 60),
            idle: Duration::from_secs(web.idle_minutes * 60),
            absolute: Duration::from_secs(web.absolute_hours * 3600),
            lockout_failures: web.lockout_failures,
            lockout: Duration::from_secs(web.lockout_minutes * 60),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings::from_config(&Config::embedded())
    }
}

/// A signed-in user, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub login: String,
    pub name: String,
    /// Directory roles, sorted (read at every request, so a role change applies at once).
    pub roles: Vec<String>,
    /// SHA-256 of the session id (what the store knows).
    pub id_hash: String,
}

impl SessionUser {
    /// Whether the user is in `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// A new session made by [`Accounts::sign_in`].
#[derive(Debug)]
pub struct SignedIn {
    /// The id to put in the cookie (never store or log it).
    pub id: SessionId,
    pub login: String,
    /// Seconds until the absolute limit, for the cookie's `Max-Age`.
    pub max_age_secs: u64,
}

/// Web accounts and sessions on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Accounts {
    store: Store,
    settings: AuthSettings,
}

/// A login as stored: trimmed, lower case.
fn normal_login(login: &str) -> String {
    login.trim().to_lowercase()
}

impl Accounts {
    /// Accounts on `store` with `settings`.
    pub fn new(store: Store, settings: AuthSettings) -> Self {
        Accounts { store, settings }
    }

    /// The settings in force.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Sets a user's web password (rules checked, argon2id), ending all of the user's
    /// sessions. Audited as `password.set` with `actor` and `source`.
    pub async fn set_password(
        &self,
        login: &str,
        new_password: &str,
        actor: &str,
        source: &str,
    ) -> Result<(), AuthError> {
        password::check_new_password(new_password)?;
        let login = normal_login(login);
        let hash = hash_blocking(new_password.to_owned()).await?;
        let entry = AuditEntry::new(COMPONENT, "password.set", "ok")
            .with_actor(actor)
            .with_object(&login)
            .with_source(Some(source));
        self.store
            .account_set_password(&login, &hash, None, now_ms(), entry)
            .await
    }

    /// Checks a login and password and opens a session. See the module documentation.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        source: &str,
    ) -> Result<SignedIn, AuthError> {
        let login = normal_login(login);
        let now = now_ms();
        let account = if login.is_empty() || login.chars().count() > 64 {
            None
        } else {
            self.store.account_row(&login).await?
        };
        let stored = account.as_ref().map_or_else(
            || password::dummy_hash().to_owned(),
            |a| a.password_hash.clone(),
        );
        let matches = verify_blocking(password.to_owned(), stored.clone()).await;
        let refuse = |reason: &str| {
            AuditEntry::new(COMPONENT, "signin", "refused")
                .with_actor(login.chars().take(64).collect::<String>())
                .with_source(Some(source))
                .with_details(json!({ "reason": reason }))
        };
        let Some(account) = account else {
            AuditLog::new(self.store.clone())
                .append(refuse("unknown_user"))
                .await?;
            return Err(AuthError::Refused);
        };
        if account.locked_until.is_some_and(|t| t > now) {
            self.store
                .account_record_failure(&login, now, 1, 0, refuse("locked"))
                .await?;
            return Err(AuthError::Refused);
        }
        if !matches || !account.user_active {
            let reason = if matches { "disabled" } else { "bad_password" };
            let max = i64::from(self.settings.lockout_failures.max(1));
            let until = now + self.settings.lockout.as_millis() as i64;
            let locked = self
                .store
                .account_record_failure(&login, now, max, until, refuse(reason))
                .await?;
            if locked {
                tracing::warn!(%login, "web account locked after repeated failed sign-ins");
            }
            return Err(AuthError::Refused);
        }
        let new_hash = if password::needs_rehash(&stored) {
            Some(hash_blocking(password.to_owned()).await?)
        } else {
            None
        };
        let id = SessionId::generate()?;
        let roles = self.roles_of(&login).await?;
        let idle = if roles.iter().any(|r| r == "admin") {
            self.settings.admin_idle
        } else {
            self.settings.idle
        };
        let id_hash = id.hash();
        let session = NewSession {
            id_hash: &id_hash,
            login: &login,
            now,
            idle_ms: idle.as_millis().max(1) as i64,
            expires_at: now + self.settings.absolute.as_millis() as i64,
        };
        let entry = AuditEntry::new(COMPONENT, "signin", "ok")
            .with_actor(&login)
            .with_source(Some(source))
            .with_details(json!({ "rehashed": new_hash.is_some() }));
        self.store
            .account_record_success(new_hash.as_deref(), &session, entry)
            .await?;
        Ok(SignedIn {
            id,
            login,
            max_age_secs: self.settings.absolute.as_secs(),
        })
    }

    async fn roles_of(&self, login: &str) -> Result<Vec<String>, AuthError> {
        self.store.account_roles(login).await
    }

    /// The user of a session id from a cookie, or `None` when the session is unknown, expired
    /// (idle or absolute), its user disabled or without a web password. Records the activity.
    pub async fn session(&self, id: &str) -> Result<Option<SessionUser>, AuthError> {
        let Some(id) = SessionId::parse(id) else {
            return Ok(None);
        };
        let id_hash = id.hash();
        let Some(row) = self.store.session_row(&id_hash).await? else {
            return Ok(None);
        };
        let now = now_ms();
        let expired = now >= row.expires_at || now - row.last_seen_at >= row.idle_ms;
        if expired || !row.user_active || !row.has_account {
            self.store.session_delete(&id_hash).await?;
            return Ok(None);
        }
        // Activity is written at most every 15 s: enough for minute-scale idle limits, and a
        // page with several requests writes once.
        if now - row.last_seen_at >= 15_000 {
            self.store.session_touch(&id_hash, now).await?;
        }
        Ok(Some(SessionUser {
            login: row.login,
            name: row.name,
            roles: row.roles,
            id_hash,
        }))
    }

    /// Whether the session whose id hashes to `id_hash` is still open (not signed out,
    /// expired, or of a disabled user), without counting this as activity: the live feeds ask
    /// this while they stream, so that an open page stops receiving data when its session ends.
    pub async fn session_open(&self, id_hash: &str) -> Result<bool, AuthError> {
        let Some(row) = self.store.session_row(id_hash).await? else {
            return Ok(false);
        };
        let now = now_ms();
        Ok(now < row.expires_at
            && now - row.last_seen_at < row.idle_ms
            && row.user_active
            && row.has_account)
    }

    /// Ends a session (sign-out), audited.
    pub async fn sign_out(&self, user: &SessionUser, source: &str) -> Result<(), AuthError> {
        let entry = AuditEntry::new(COMPONENT, "signout", "ok")
            .with_actor(&user.login)
            .with_source(Some(source));
        self.store.session_sign_out(&user.id_hash, entry).await
    }

    /// Changes the signed-in user's password after checking the current one; every other
    /// session of the user ends. Audited as `password.change`.
    pub async fn change_password(
        &self,
        user: &SessionUser,
        current: &str,
        new_password: &str,
        source: &str,
    ) -> Result<(), AuthError> {
        let Some(account) = self.store.account_row(&user.login).await? else {
            return Err(AuthError::WrongCurrentPassword);
        };
        if !verify_blocking(current.to_owned(), account.password_hash).await {
            let entry = AuditEntry::new(COMPONENT, "password.change", "refused")
                .with_actor(&user.login)
                .with_source(Some(source))
                .with_details(json!({ "reason": "wrong_current_password" }));
            AuditLog::new(self.store.clone()).append(entry).await?;
            return Err(AuthError::WrongCurrentPassword);
        }
        password::check_new_password(new_password)?;
        let hash = hash_blocking(new_password.to_owned()).await?;
        let entry = AuditEntry::new(COMPONENT, "password.change", "ok")
            .with_actor(&user.login)
            .with_object(&user.login)
            .with_source(Some(source));
        self.store
            .account_set_password(&user.login, &hash, Some(&user.id_hash), now_ms(), entry)
            .await
    }

    /// Whether `password` is the web password of `login` (to ask a signed-in user for it
    /// again before a sensitive change). A failure here is not a sign-in failure: it does not
    /// count towards the lock-out, but it is audited by the caller's refusal.
    pub async fn confirm_password(&self, login: &str, password: &str) -> Result<bool, AuthError> {
        let stored = self.store.account_row(&normal_login(login)).await?;
        let hash = stored.map_or_else(|| password::dummy_hash().to_owned(), |a| a.password_hash);
        Ok(verify_blocking(password.to_owned(), hash).await)
    }

    /// The logins that have a web password (may sign in to the web admin).
    pub async fn logins_with_password(
        &self,
    ) -> Result<std::collections::BTreeSet<String>, AuthError> {
        self.store.account_logins().await
    }

    /// Ends every web session of a user (for a disabled user).
    pub async fn end_sessions(&self, login: &str) -> Result<u64, AuthError> {
        self.store.sessions_end_for(&normal_login(login)).await
    }

    /// For the embedded default start: when no active administrator has a web password,
    /// creates (or completes) user `admin` with a random password and returns it, to be shown
    /// once. Returns `None` when an administrator exists.
    pub async fn ensure_initial_admin(&self) -> Result<Option<String>, AuthError> {
        if self.store.account_admin_exists().await? {
            return Ok(None);
        }
        let secret = password::generate_password()?;
        let hash = hash_blocking(secret.clone()).await?;
        let entry = AuditEntry::new(COMPONENT, "account.initial_admin", "ok")
            .with_actor("system")
            .with_object(INITIAL_ADMIN)
            .with_source(Some("serve"));
        self.store
            .account_create_admin(INITIAL_ADMIN, "管理员", &hash, now_ms(), entry)
            .await?;
        Ok(Some(secret))
    }
}

/// argon2 takes tens of milliseconds of CPU: run it off the async worker threads.
async fn hash_blocking(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || password::hash_password(&password))
        .await
        .map_err(|e| AuthError::Password(PasswordError::Hash(e.to_string())))?
        .map_err(AuthError::from)
}

async fn verify_blocking(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || password::verify_password(&password, &stored))
        .await
        .unwrap_or(false)
}

/// Hex SHA-256 of a text.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests;
