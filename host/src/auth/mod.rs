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
//! - Parallel attempts cannot outguess the lock-out (issue 18, finding 3): attempts for one
//!   login are taken one at a time ([`limits::LoginTurns`]), so each reads the failures of the
//!   one before; the transaction that records a success re-reads the lock and refuses when the
//!   account was locked meanwhile (by another daemon on the same database). Every failed
//!   sign-in also costs its source address a token of a budget (`[web] signin_source_burst`,
//!   refilled one per `signin_source_refill_seconds`; the API's
//!   [`crate::limit::failures::FailureLimiter`]): an address that has used it up is refused at
//!   once with the same answer, whatever the login and password, and audited once per episode
//!   (event `signin.blocked`).
//! - argon2 runs behind a small semaphore ([`limits::Argon2Gate`]), so a flood of sign-ins
//!   queues instead of filling the blocking pool with 19 MiB computations.
//! - Sessions are server-side: the cookie holds 128 random bits from the OS generator, the
//!   database only their SHA-256. A new id is made at every sign-in. A session ends at
//!   sign-out, after `[web] idle_minutes` (`admin_idle_minutes` for administrators) without a
//!   request, `absolute_hours` after sign-in, when the user is disabled, or when the password
//!   changes (the session that changed it stays).
//! - The CSRF token of a session ([`csrf_token`]) is derived from its id, so it needs no
//!   storage and cannot be computed from what the database holds.
//! - A second factor (issue 18 item 10, [`totp`]): for a user with TOTP enabled, the right
//!   password opens only a session in stage [`Stage::Code`], which may do nothing but give a
//!   code (or a recovery code) within [`CODE_STEP_LIMIT`]; the right one replaces it by a full
//!   session with a new id ([`Accounts::second_factor`]). The password alone does not clear
//!   the account's failure count then, and every wrong code counts towards the lock-out and
//!   the source's budget like a wrong password, with the same one answer. A user whose role
//!   `[web] require_totp_for` lists and who has no TOTP gets a session in stage
//!   [`Stage::Enrol`], which may only enrol one ([`Accounts::totp_confirm`] then replaces it
//!   by a full session). A full session records when its user last proved who they are;
//!   sensitive actions ask again ([`Accounts::reauthenticate`]) once that is older than
//!   `[web] reauth_minutes`.

pub mod limits;
pub mod password;
mod second_factor;
pub mod session;
pub mod totp;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use jingxun_vocabulary::BuiltinRole;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{AuditComponent, AuditEntry, AuditError, AuditEvent, AuditLog, AuditOutcome};
use crate::clock::now_ms;
use crate::config::Config;
use crate::limit::failures::{Charge, FailureBudget, FailureLimiter};
use crate::secrets::{SealError, WEB_RECOVERY_CODES, WEB_TOTP};
use crate::store::Store;
use crate::store::accounts::NewSession;
use crate::store::totp::Proof;

pub use password::PasswordError;
pub use session::{SessionId, csrf_token};

/// Audit component of sign-in rows.
const COMPONENT: AuditComponent = AuditComponent::Auth;
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
    /// A TOTP could not be made (a bug: the parameters are fixed).
    #[error("the second factor could not be set up: {0}")]
    Totp(String),
    /// A sealed TOTP secret does not open.
    #[error(transparent)]
    Sealed(#[from] SealError),
    /// The store was opened without the platform key, which TOTP secrets are sealed with.
    #[error(
        "the platform key is not loaded (secrets.key_file), and two-step sign-in needs it; \
         open the store as the daemon does"
    )]
    NoPlatformKey,
    /// The code given to confirm an enrolment is not the authenticator's current one.
    #[error(
        "the code is not the one the authenticator shows now: check that the phone's clock is \
         right and type the code it shows"
    )]
    WrongCode,
    /// An enrolment was asked for although the user's TOTP is on.
    #[error("two-step sign-in is on already; turn it off before enrolling another phone")]
    TotpEnabled,
    /// A code was given to confirm an enrolment that is not waiting (none begun, or replaced).
    #[error("no enrolment is waiting for its code: begin it again")]
    NoEnrolment,
    /// The user's role requires a second factor, so it cannot be turned off.
    #[error(
        "your role requires two-step sign-in ([web] require_totp_for): it cannot be turned \
         off; an administrator can reset it for a new phone"
    )]
    TotpRequired,
    /// No TOTP to reset.
    #[error("user `{0}` has no two-step sign-in to reset")]
    TotpNotEnabled(String),
}

/// How long the second step of a sign-in may take: the session the password opened for it
/// ends after this.
pub const CODE_STEP_LIMIT: Duration = Duration::from_secs(5 * 60);

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
    /// Failed sign-ins per source address before its sign-ins are refused for a while.
    pub source_budget: FailureBudget,
    /// argon2 computations at once.
    pub argon2_permits: usize,
    /// The roles whose users must have a second factor (`[web] require_totp_for`).
    pub require_totp_for: Vec<String>,
    /// How long a verification stays fresh for sensitive actions (`[web] reauth_minutes`).
    pub reauth: Duration,
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
            source_budget: FailureBudget {
                burst: web.signin_source_burst,
                per_second: 1.0 / web.signin_source_refill_seconds.max(1) as f64,
                ..FailureBudget::default()
            },
            argon2_permits: limits::default_argon2_permits(),
            require_totp_for: web.require_totp_for.clone(),
            reauth: Duration::from_secs(web.reauth_minutes * 60),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings::from_config(&Config::embedded())
    }
}

/// What a session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Signed in.
    Full,
    /// The password was right; a code (or a recovery code) is asked next, nothing else.
    Code,
    /// The user's role requires a second factor the user has not got: only its enrolment.
    Enrol,
}

impl Stage {
    /// As the store keeps it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Full => "full",
            Stage::Code => "code",
            Stage::Enrol => "enrol",
        }
    }

    /// From the store; anything unknown is the most restricted stage.
    fn parse(text: &str) -> Stage {
        match text {
            "full" => Stage::Full,
            "enrol" => Stage::Enrol,
            _ => Stage::Code,
        }
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
    /// What the session may do.
    pub stage: Stage,
    /// When the user last proved who they are in this session (milliseconds; 0: not since
    /// this was recorded).
    pub verified_at: i64,
}

impl SessionUser {
    /// Whether the user holds the built-in `role`.
    pub fn has_role(&self, role: BuiltinRole) -> bool {
        role.is_among(&self.roles)
    }

    /// Whether the user proved who they are within `fresh` before `now` (milliseconds).
    pub fn verified_within(&self, fresh: Duration, now: i64) -> bool {
        now - self.verified_at < fresh.as_millis() as i64
    }
}

/// A user's second factor, as the enrolment page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TotpStatus {
    /// When it was enabled; `None` when it is off.
    pub enabled_at: Option<i64>,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    /// The enrolment waiting for its first code, if one is (and the TOTP is off).
    pub enrolment: Option<Enrolment>,
    /// Whether the user's role requires one.
    pub required: bool,
}

/// An enrolment waiting for its first code: what the user's authenticator app needs. Its
/// `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The secret as base32 text, for typing.
    pub secret_base32: String,
    /// The `otpauth://` URI, for the QR code.
    pub uri: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// A confirmed enrolment: the recovery codes (to show once) and, when it was the last step of
/// a sign-in, the full session that replaces the enrolment's.
#[derive(Debug)]
pub struct Confirmed {
    pub recovery_codes: Vec<String>,
    pub session: Option<SignedIn>,
}

/// A new session made by [`Accounts::sign_in`].
#[derive(Debug)]
pub struct SignedIn {
    /// The id to put in the cookie (never store or log it).
    pub id: SessionId,
    pub login: String,
    /// Seconds until the absolute limit, for the cookie's `Max-Age`.
    pub max_age_secs: u64,
    /// What the session may do: [`Stage::Code`] and [`Stage::Enrol`] are the steps still to
    /// take.
    pub stage: Stage,
}

/// Web accounts and sessions on the store; cheap to clone (clones share their limits).
#[derive(Clone, Debug)]
pub struct Accounts {
    store: Store,
    settings: AuthSettings,
    limits: Arc<SignInLimits>,
}

/// What the clones of one [`Accounts`] share to limit sign-ins (see [`limits`]).
#[derive(Debug)]
struct SignInLimits {
    argon2: limits::Argon2Gate,
    turns: limits::LoginTurns,
    sources: Mutex<FailureLimiter>,
    /// Key of [`unknown_login_tag`], random for each process and never stored.
    tag_key: [u8; 32],
}

/// A login as stored: trimmed, lower case.
fn normal_login(login: &str) -> String {
    login.trim().to_lowercase()
}

/// The client address of an audit source, if it names one: the web admin's sources are
/// `web <address>`, so it is the last word. Sources without one (the command line) have no
/// per-source budget.
fn source_address(source: &str) -> Option<IpAddr> {
    source.rsplit(' ').next()?.parse().ok()
}

/// What the audit row of a refused sign-in of a login that does not exist says about the
/// login typed (issue 18, finding 8): people type their password into the login field, so the
/// text itself is never written. Its length in characters and a tag are: the first 8 hex
/// digits of HMAC-SHA-256 of the text under a key that is random for each process and never
/// leaves its memory. The tag shows whether refusals of one run of the daemon were for the
/// same text (one person mistyping, or someone trying many logins) and cannot be turned back
/// into the text, nor checked against a guess, without the key.
fn unknown_login_tag(key: &[u8; 32], login: &str) -> serde_json::Value {
    let tag = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map(|mut mac| {
            mac.update(login.as_bytes());
            hex::encode(&mac.finalize().into_bytes()[..4])
        })
        .unwrap_or_default();
    json!({ "login_chars": login.chars().count(), "login_tag": tag })
}

/// The actor of the audit row of a refused sign-in of a login that does not exist.
pub const UNKNOWN_ACTOR: &str = "(unknown)";

impl Accounts {
    /// Accounts on `store` with `settings`.
    pub fn new(store: Store, settings: AuthSettings) -> Self {
        let limits = SignInLimits {
            argon2: limits::Argon2Gate::new(settings.argon2_permits),
            turns: limits::LoginTurns::default(),
            sources: Mutex::new(FailureLimiter::new(settings.source_budget)),
            tag_key: rand::random(),
        };
        Accounts {
            store,
            settings,
            limits: Arc::new(limits),
        }
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
        let hash = self.hash_blocking(new_password.to_owned()).await?;
        let entry = AuditEntry::new(COMPONENT, AuditEvent::PasswordSet, AuditOutcome::Ok)
            .with_actor(actor)
            .with_object(&login)
            .with_source(Some(source));
        self.store_password(&login, &hash, None, entry).await
    }

    /// Checks a login and password and opens a session. See the module documentation.
    /// `source` is the audit source (`web <address>` from the web admin); its address, if it
    /// names one, is charged for each failure.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        source: &str,
    ) -> Result<SignedIn, AuthError> {
        let login = normal_login(login);
        let address = self.admit_source(source)?;
        let _turn = self.limits.turns.turn(&login).await;
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
        let matches = self
            .verify_blocking(password.to_owned(), stored.clone())
            .await;
        let refuse = |reason: &str| {
            AuditEntry::new(COMPONENT, AuditEvent::Signin, AuditOutcome::Refused)
                .with_actor(login.chars().take(64).collect::<String>())
                .with_source(Some(source))
                .with_details(json!({ "reason": reason }))
        };
        let Some(account) = account else {
            let mut details = unknown_login_tag(&self.limits.tag_key, &login);
            details["reason"] = "unknown_user".into();
            let entry = AuditEntry::new(COMPONENT, AuditEvent::Signin, AuditOutcome::Refused)
                .with_actor(UNKNOWN_ACTOR)
                .with_source(Some(source))
                .with_details(details);
            AuditLog::new(self.store.clone()).append(entry).await?;
            self.charge_source(address, source).await?;
            return Err(AuthError::Refused);
        };
        if account.locked_until.is_some_and(|t| t > now) {
            self.store
                .account_record_failure(&login, now, 1, 0, refuse("locked"))
                .await?;
            self.charge_source(address, source).await?;
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
            self.charge_source(address, source).await?;
            return Err(AuthError::Refused);
        }
        let new_hash = if password::needs_rehash(&stored) {
            Some(self.hash_blocking(password.to_owned()).await?)
        } else {
            None
        };
        let id = SessionId::generate()?;
        let roles = self.roles_of(&login).await?;
        let totp_on = self
            .store
            .totp_row(&login)
            .await?
            .is_some_and(|t| t.enabled_at.is_some());
        let stage = if totp_on {
            Stage::Code
        } else if self.totp_required(&roles) {
            Stage::Enrol
        } else {
            Stage::Full
        };
        let id_hash = id.hash();
        let (idle_ms, expires_at) = match stage {
            Stage::Code => {
                let limit = CODE_STEP_LIMIT.as_millis() as i64;
                (limit, now + limit)
            }
            Stage::Full | Stage::Enrol => (
                self.idle_of(&roles).as_millis().max(1) as i64,
                now + self.settings.absolute.as_millis() as i64,
            ),
        };
        let session = NewSession {
            id_hash: &id_hash,
            login: &login,
            now,
            idle_ms,
            expires_at,
            stage: stage.as_str(),
            verified_at: if stage == Stage::Full { now } else { 0 },
        };
        // Only a whole sign-in is `signin` ok; a right password with a step still to take is
        // `signin.password`, and the code's guesses still count towards the lock-out.
        let (event, details) = match stage {
            Stage::Full => (
                AuditEvent::Signin,
                json!({ "rehashed": new_hash.is_some() }),
            ),
            Stage::Code => (
                AuditEvent::SigninPassword,
                json!({ "rehashed": new_hash.is_some(), "next": "code" }),
            ),
            Stage::Enrol => (
                AuditEvent::SigninPassword,
                json!({ "rehashed": new_hash.is_some(), "next": "enrol" }),
            ),
        };
        let entry = AuditEntry::new(COMPONENT, event, AuditOutcome::Ok)
            .with_actor(&login)
            .with_source(Some(source))
            .with_details(details);
        let recorded = self
            .store
            .account_record_success(new_hash.as_deref(), stage != Stage::Code, &session, entry)
            .await?;
        if !recorded {
            // Locked since it was read (by another daemon on the same database).
            self.store
                .account_record_failure(&login, now, 1, 0, refuse("locked"))
                .await?;
            self.charge_source(address, source).await?;
            return Err(AuthError::Refused);
        }
        Ok(SignedIn {
            id,
            login,
            max_age_secs: self.settings.absolute.as_secs(),
            stage,
        })
    }

    /// The idle limit of a session of a user with `roles`.
    fn idle_of(&self, roles: &[String]) -> Duration {
        if BuiltinRole::Admin.is_among(roles) {
            self.settings.admin_idle
        } else {
            self.settings.idle
        }
    }

    /// Whether a user with `roles` must have a second factor (`[web] require_totp_for`).
    pub fn totp_required(&self, roles: &[String]) -> bool {
        roles
            .iter()
            .any(|r| self.settings.require_totp_for.iter().any(|x| x == r))
    }

    /// The address of `source`, unless it has spent its budget of failed sign-ins: then the
    /// attempt (password, code or re-check) is refused before any work. Its one
    /// `signin.blocked` row was written when the budget ran out.
    fn admit_source(&self, source: &str) -> Result<Option<IpAddr>, AuthError> {
        let address = source_address(source);
        if let Some(ip) = address
            && self.source_limiter().check(ip, Instant::now()).is_err()
        {
            return Err(AuthError::Refused);
        }
        Ok(address)
    }

    fn source_limiter(&self) -> std::sync::MutexGuard<'_, FailureLimiter> {
        self.limits
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Charges a failed sign-in to its source address; when that uses up the address's
    /// budget, writes the episode's one `signin.blocked` row.
    async fn charge_source(&self, address: Option<IpAddr>, source: &str) -> Result<(), AuthError> {
        let Some(ip) = address else {
            return Ok(());
        };
        let charge = self.source_limiter().fail(ip, Instant::now());
        if charge == Charge::NowBlocked {
            tracing::warn!(
                source,
                "too many failed sign-ins from one address: its sign-ins are refused for a while"
            );
            let entry =
                AuditEntry::new(COMPONENT, AuditEvent::SigninBlocked, AuditOutcome::Refused)
                    .with_source(Some(source))
                    .with_details(json!({ "reason": "too_many_failed_sign_ins" }));
            AuditLog::new(self.store.clone()).append(entry).await?;
        }
        Ok(())
    }

    /// Stores `hash` as the password of `login` with its audit row, ending the user's other
    /// sessions (all but `keep_session`); an unknown login is refused.
    async fn store_password(
        &self,
        login: &str,
        hash: &str,
        keep_session: Option<&str>,
        entry: AuditEntry,
    ) -> Result<(), AuthError> {
        if self
            .store
            .account_set_password(login, hash, keep_session, now_ms(), entry)
            .await?
        {
            Ok(())
        } else {
            Err(AuthError::UnknownUser(login.to_owned()))
        }
    }

    async fn roles_of(&self, login: &str) -> Result<Vec<String>, AuthError> {
        Ok(self.store.account_roles(login).await?)
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
            stage: Stage::parse(&row.stage),
            verified_at: row.verified_at,
        }))
    }

    /// Whether the session whose id hashes to `id_hash` is still open and signed in fully
    /// (not signed out, expired, of a disabled user, or waiting for a second step), without
    /// counting this as activity: the live feeds ask this while they stream, so that an open
    /// page stops receiving data when its session ends.
    pub async fn session_open(&self, id_hash: &str) -> Result<bool, AuthError> {
        let Some(row) = self.store.session_row(id_hash).await? else {
            return Ok(false);
        };
        let now = now_ms();
        Ok(now < row.expires_at
            && now - row.last_seen_at < row.idle_ms
            && row.user_active
            && row.has_account
            && Stage::parse(&row.stage) == Stage::Full)
    }

    /// Ends a session (sign-out), audited.
    pub async fn sign_out(&self, user: &SessionUser, source: &str) -> Result<(), AuthError> {
        let entry = AuditEntry::new(COMPONENT, AuditEvent::Signout, AuditOutcome::Ok)
            .with_actor(&user.login)
            .with_source(Some(source));
        Ok(self.store.session_sign_out(&user.id_hash, entry).await?)
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
        if !self
            .verify_blocking(current.to_owned(), account.password_hash)
            .await
        {
            let entry =
                AuditEntry::new(COMPONENT, AuditEvent::PasswordChange, AuditOutcome::Refused)
                    .with_actor(&user.login)
                    .with_source(Some(source))
                    .with_details(json!({ "reason": "wrong_current_password" }));
            AuditLog::new(self.store.clone()).append(entry).await?;
            return Err(AuthError::WrongCurrentPassword);
        }
        password::check_new_password(new_password)?;
        let hash = self.hash_blocking(new_password.to_owned()).await?;
        let entry = AuditEntry::new(COMPONENT, AuditEvent::PasswordChange, AuditOutcome::Ok)
            .with_actor(&user.login)
            .with_object(&user.login)
            .with_source(Some(source));
        self.store_password(&user.login, &hash, Some(&user.id_hash), entry)
            .await
    }

    /// Whether `password` is the web password of `login` (to ask a signed-in user for it
    /// again before a sensitive change). A failure here is not a sign-in failure: it does not
    /// count towards the lock-out, but it is audited by the caller's refusal.
    pub async fn confirm_password(&self, login: &str, password: &str) -> Result<bool, AuthError> {
        let stored = self.store.account_row(&normal_login(login)).await?;
        let hash = stored.map_or_else(|| password::dummy_hash().to_owned(), |a| a.password_hash);
        Ok(self.verify_blocking(password.to_owned(), hash).await)
    }

    /// The logins that have a web password (may sign in to the web admin).
    pub async fn logins_with_password(
        &self,
    ) -> Result<std::collections::BTreeSet<String>, AuthError> {
        Ok(self.store.account_logins().await?)
    }

    /// Ends every web session of a user (for a disabled user).
    pub async fn end_sessions(&self, login: &str) -> Result<u64, AuthError> {
        Ok(self.store.sessions_end_for(&normal_login(login)).await?)
    }

    /// For the embedded default start: when no active administrator has a web password,
    /// creates (or completes) user `admin` with a random password and returns it, to be shown
    /// once. Returns `None` when an administrator exists.
    pub async fn ensure_initial_admin(&self) -> Result<Option<String>, AuthError> {
        if self.store.account_admin_exists().await? {
            return Ok(None);
        }
        let secret = password::generate_password()?;
        let hash = self.hash_blocking(secret.clone()).await?;
        let entry = AuditEntry::new(COMPONENT, AuditEvent::AccountInitialAdmin, AuditOutcome::Ok)
            .with_actor("system")
            .with_object(INITIAL_ADMIN)
            .with_source(Some("serve"));
        self.store
            .account_create_admin(INITIAL_ADMIN, "管理员", &hash, now_ms(), entry)
            .await?;
        Ok(Some(secret))
    }

    /// argon2 takes tens of milliseconds of CPU and 19 MiB: it runs off the async worker
    /// threads, a few at a time ([`limits::Argon2Gate`]).
    async fn hash_blocking(&self, password: String) -> Result<String, AuthError> {
        self.limits
            .argon2
            .run(move || password::hash_password(&password))
            .await
            .ok_or_else(|| AuthError::Password(PasswordError::Hash("the hash panicked".into())))?
            .map_err(AuthError::from)
    }

    async fn verify_blocking(&self, password: String, stored: String) -> bool {
        self.limits
            .argon2
            .run(move || password::verify_password(&password, &stored))
            .await
            .unwrap_or(false)
    }
}

/// Hex SHA-256 of a text.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests;
