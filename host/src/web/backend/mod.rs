//! The web admin's way into the daemon: [`HostBackend`] implements the `jingxun-web` crate's
//! backend traits on accounts, the directory, the address book, the plugin host and the
//! store, one module per page. Changes are made by the same services as the command line
//! and audited by them, with the signed-in user's login as actor and `web <address>` as
//! source. What goes wrong is logged here in full and shown to the user as a
//! [`Refusal`] code (never raw error text).

mod address_book;
mod api_keys;
mod audit;
mod dashboard;
mod help_text;
mod messages;
mod phones;
mod plugins;
mod police_view;
mod send;
mod simulator;
mod two_step;
mod users;

use std::time::Instant;

use jingxun_web::model::{Refusal, RefusalCode, SignInStep};
use jingxun_web::ssr::backend::{LiveBackend, SessionBackend, SignedIn};
use jingxun_web::ssr::{Actor, BoxFuture, PasswordChangeError};

use super::WebState;
use crate::auth::{AuthError, PasswordError, SessionUser, Stage};
use crate::directory::{Directory, DirectoryError};

/// See the module documentation.
pub(super) struct HostBackend {
    state: WebState,
    /// The police messages each session has been shown (their reads are audited once).
    reads: police_view::ReadLedger,
    /// Recovery codes just made, waiting for their one showing (never stored).
    fresh_codes: two_step::FreshCodes,
}

pub(crate) use api_keys::FreshKeys;

impl HostBackend {
    pub(super) fn new(state: WebState) -> Self {
        HostBackend {
            state,
            reads: police_view::ReadLedger::default(),
            fresh_codes: two_step::FreshCodes::default(),
        }
    }

    fn state(&self) -> &WebState {
        &self.state
    }

    /// The directory, auditing with the actor's source.
    fn directory(&self, actor: &Actor) -> Directory {
        self.state
            .directory
            .clone()
            .with_source(audit_source(actor))
    }

    fn session_user(actor: &Actor) -> SessionUser {
        SessionUser {
            login: actor.login.clone(),
            name: actor.name.clone(),
            roles: actor.roles.clone(),
            id_hash: actor.session_key.clone(),
            // What the session layer let through; the accounts read the session again where
            // its stage or last verification matters.
            stage: Stage::Full,
            verified_at: 0,
        }
    }
}

/// The audit source of a web request: `web` and the client's address when known.
pub(super) fn audit_source(actor: &Actor) -> String {
    source_of(actor.source.as_deref())
}

fn source_of(address: Option<&str>) -> String {
    match address {
        Some(ip) => format!("web {ip}"),
        None => "web".to_owned(),
    }
}

/// Logs a failure the user cannot fix and answers "try again later".
pub(super) fn unavailable(what: &str, error: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(error = %error, "web admin: {what} failed");
    Refusal::unavailable()
}

/// What the user is told about a directory error.
pub(super) fn directory_refusal(what: &str, e: DirectoryError) -> Refusal {
    match e {
        DirectoryError::InvalidPhone { input, .. } => {
            Refusal::with(RefusalCode::InvalidPhone, input)
        }
        DirectoryError::InvalidName {
            what: "login",
            value,
        } => Refusal::with(RefusalCode::InvalidLogin, value),
        DirectoryError::InvalidName { value, .. } => Refusal::with(RefusalCode::InvalidName, value),
        DirectoryError::InvalidText { .. } => Refusal::new(RefusalCode::InvalidName),
        DirectoryError::InvalidKeyword(k) => Refusal::with(RefusalCode::InvalidKeyword, k),
        DirectoryError::UnknownUser(login) => Refusal::with(RefusalCode::UnknownUser, login),
        DirectoryError::UnknownRole { role, .. } => Refusal::with(RefusalCode::UnknownRole, role),
        DirectoryError::UnknownPhone(number) => Refusal::with(RefusalCode::UnknownPhone, number),
        DirectoryError::UserExists(login) => Refusal::with(RefusalCode::UserExists, login),
        DirectoryError::RoleExists(role) => Refusal::with(RefusalCode::RoleExists, role),
        DirectoryError::BuiltinRole(role) => Refusal::with(RefusalCode::BuiltinRole, role),
        DirectoryError::PhoneExists { number, owner } => {
            Refusal::with(RefusalCode::PhoneExists, format!("{number} {owner}"))
        }
        DirectoryError::InvalidHelpText(reason) => {
            Refusal::with(RefusalCode::InvalidHelpText, reason)
        }
        other => unavailable(what, &other),
    }
}

/// What the user is told about a refused new password.
pub(super) fn password_refusal(e: AuthError) -> Refusal {
    match e {
        AuthError::Password(PasswordError::TooShort) => Refusal::new(RefusalCode::PasswordTooShort),
        AuthError::Password(PasswordError::TooLong) => Refusal::new(RefusalCode::PasswordTooLong),
        AuthError::Password(PasswordError::Common) => Refusal::new(RefusalCode::PasswordCommon),
        AuthError::UnknownUser(login) => Refusal::with(RefusalCode::UnknownUser, login),
        other => unavailable("setting a password", &other),
    }
}

/// 128 random bits as hex, for draft, report and batch ids.
pub(super) fn random_id() -> Result<String, Refusal> {
    crate::auth::SessionId::generate()
        .map(|id| id.secret().to_owned())
        .map_err(|e| unavailable("making a random id", &e))
}

impl SessionBackend for HostBackend {
    fn sign_in(
        &self,
        login: String,
        password: String,
        source: Option<String>,
    ) -> BoxFuture<'_, Result<SignedIn, ()>> {
        Box::pin(async move {
            let state = self.state();
            let audit = source_of(source.as_deref());
            match state.accounts.sign_in(&login, &password, &audit).await {
                Ok(signed) => {
                    let next = match signed.stage {
                        Stage::Full => None,
                        Stage::Code => Some(SignInStep::Code),
                        Stage::Enrol => Some(SignInStep::Enrol),
                    };
                    // Guesses of the code still count: the throttle forgets the login's
                    // failures only once the code is given.
                    if next != Some(SignInStep::Code) {
                        state.throttle.succeeded(&login);
                    }
                    Ok(SignedIn {
                        cookies: vec![state.cookie(
                            state.session_cookie(),
                            signed.id.secret(),
                            Some(signed.max_age_secs),
                        )],
                        next,
                    })
                }
                Err(e) => {
                    if !matches!(e, AuthError::Refused) {
                        tracing::error!(error = %e, "web sign-in failed");
                    }
                    // The same delay for every login typed, real or not (see `throttle`).
                    let delay = state.throttle.failed(&login, Instant::now());
                    tokio::time::sleep(delay).await;
                    Err(())
                }
            }
        })
    }

    fn sign_out<'a>(&'a self, actor: Option<&'a Actor>) -> BoxFuture<'a, Vec<String>> {
        Box::pin(async move {
            let state = self.state();
            if let Some(actor) = actor
                && let Err(e) = state
                    .accounts
                    .sign_out(&Self::session_user(actor), &audit_source(actor))
                    .await
            {
                tracing::error!(error = %e, "web sign-out failed");
            }
            vec![state.cookie(state.session_cookie(), "", Some(0))]
        })
    }

    fn change_password<'a>(
        &'a self,
        actor: &'a Actor,
        current: String,
        new_password: String,
    ) -> BoxFuture<'a, Result<(), PasswordChangeError>> {
        Box::pin(async move {
            self.state()
                .accounts
                .change_password(
                    &Self::session_user(actor),
                    &current,
                    &new_password,
                    &audit_source(actor),
                )
                .await
                .map_err(|e| match e {
                    AuthError::WrongCurrentPassword => PasswordChangeError::WrongCurrent,
                    AuthError::Password(PasswordError::TooShort) => PasswordChangeError::TooShort,
                    AuthError::Password(PasswordError::TooLong) => PasswordChangeError::TooLong,
                    AuthError::Password(PasswordError::Common) => PasswordChangeError::Common,
                    other => {
                        tracing::error!(error = %other, "web password change failed");
                        PasswordChangeError::Failed
                    }
                })
        })
    }
}

impl LiveBackend for HostBackend {
    fn stopping(&self) -> BoxFuture<'static, ()> {
        let token = self.state().shutdown.clone();
        Box::pin(async move { token.cancelled_owned().await })
    }

    fn still_signed_in<'a>(&'a self, actor: &'a Actor) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            self.state()
                .accounts
                .session_open(&actor.session_key)
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "cannot check a live feed's session; ending the feed");
                    false
                })
        })
    }
}
