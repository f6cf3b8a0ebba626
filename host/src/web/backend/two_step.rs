//! Two-step sign-in (issue 18 item 10) through the accounts ([`crate::auth::Accounts`]'s
//! second-factor steps, which audit them): the sign-in's code step, the re-check before
//! sensitive actions, one's own enrolment, and an administrator's reset of another user's.
//! New recovery codes are never written anywhere: they wait in memory ([`FreshCodes`]) for
//! the page the confirmation leads to, which takes them, for their user only, within
//! [`FRESH_CODES_LIFETIME`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use jingxun_web::model::two_step::{ReauthPage, TwoStepPage, TwoStepState};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::TwoStepBackend;
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, audit_source, random_id, unavailable};
use crate::auth::{AuthError, totp};

/// How long new recovery codes wait to be shown.
pub const FRESH_CODES_LIFETIME: Duration = Duration::from_secs(300);
/// Sets of codes waiting at most (the oldest are forgotten first; their user can reset).
const FRESH_CODES_MAX: usize = 32;

/// New recovery codes waiting for their one showing, by a random id.
#[derive(Debug, Default)]
pub(super) struct FreshCodes(Mutex<HashMap<String, Fresh>>);

#[derive(Debug)]
struct Fresh {
    login: String,
    codes: Vec<String>,
    made: Instant,
}

impl FreshCodes {
    fn put(&self, id: String, login: &str, codes: Vec<String>, now: Instant) {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|_, fresh| now.duration_since(fresh.made) < FRESH_CODES_LIFETIME);
        while all.len() >= FRESH_CODES_MAX {
            let oldest = all
                .iter()
                .min_by_key(|(_, fresh)| fresh.made)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => all.remove(&id),
                None => break,
            };
        }
        all.insert(
            id,
            Fresh {
                login: login.to_owned(),
                codes,
                made: now,
            },
        );
    }

    /// The codes waiting under `id` for `login`, removed: they are shown once.
    fn take(&self, id: &str, login: &str, now: Instant) -> Option<Vec<String>> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if all.get(id)?.login != login {
            return None;
        }
        let fresh = all.remove(id)?;
        (now.duration_since(fresh.made) < FRESH_CODES_LIFETIME).then_some(fresh.codes)
    }
}

/// What the user is told about a refused second-factor change.
fn refusal(what: &str, e: AuthError) -> Refusal {
    match e {
        AuthError::WrongCode => Refusal::new(RefusalCode::WrongCode),
        AuthError::NoEnrolment => Refusal::new(RefusalCode::NoEnrolment),
        AuthError::TotpEnabled => Refusal::new(RefusalCode::TotpEnabled),
        AuthError::TotpRequired => Refusal::new(RefusalCode::TotpRequired),
        AuthError::TotpNotEnabled(login) => Refusal::with(RefusalCode::TotpNotEnabled, login),
        AuthError::UnknownUser(login) => Refusal::with(RefusalCode::UnknownUser, login),
        other => unavailable(what, &other),
    }
}

impl HostBackend {
    /// Holds a refused code's answer back by the delay the login's failures in a row have
    /// earned (the same as a wrong password's, see [`crate::web::SignInThrottle`]).
    async fn refused_code(&self, login: &str, e: AuthError) {
        if !matches!(e, AuthError::Refused) {
            tracing::error!(error = %e, "a second-factor check failed");
        }
        let delay = self.state().throttle.failed(login, Instant::now());
        tokio::time::sleep(delay).await;
    }
}

impl TwoStepBackend for HostBackend {
    fn second_factor<'a>(
        &'a self,
        actor: &'a Actor,
        code: String,
    ) -> BoxFuture<'a, Result<Vec<String>, ()>> {
        Box::pin(async move {
            let state = self.state();
            let user = Self::session_user(actor);
            match state
                .accounts
                .second_factor(&user, &code, &audit_source(actor))
                .await
            {
                Ok(signed) => {
                    state.throttle.succeeded(&actor.login);
                    Ok(vec![state.cookie(
                        state.session_cookie(),
                        signed.id.secret(),
                        Some(signed.max_age_secs),
                    )])
                }
                Err(e) => {
                    self.refused_code(&actor.login, e).await;
                    Err(())
                }
            }
        })
    }

    fn reauth_page<'a>(&'a self, actor: &'a Actor) -> BoxFuture<'a, Outcome<ReauthPage>> {
        Box::pin(async move {
            let status = self
                .state()
                .accounts
                .totp_status(&Self::session_user(actor))
                .await
                .map_err(|e| unavailable("reading a second factor", &e))?;
            Ok(ReauthPage {
                with_code: status.enabled_at.is_some(),
            })
        })
    }

    fn reauthenticate<'a>(
        &'a self,
        actor: &'a Actor,
        secret: String,
    ) -> BoxFuture<'a, Result<(), ()>> {
        Box::pin(async move {
            let state = self.state();
            match state
                .accounts
                .reauthenticate(&Self::session_user(actor), &secret, &audit_source(actor))
                .await
            {
                Ok(()) => {
                    state.throttle.succeeded(&actor.login);
                    Ok(())
                }
                Err(e) => {
                    self.refused_code(&actor.login, e).await;
                    Err(())
                }
            }
        })
    }

    fn two_step<'a>(
        &'a self,
        actor: &'a Actor,
        codes: Option<String>,
    ) -> BoxFuture<'a, Outcome<TwoStepPage>> {
        Box::pin(async move {
            let status = self
                .state()
                .accounts
                .totp_status(&Self::session_user(actor))
                .await
                .map_err(|e| unavailable("reading a second factor", &e))?;
            let state = match (status.enabled_at, status.enrolment) {
                (Some(since), _) => TwoStepState::On {
                    since,
                    recovery_codes_left: status.recovery_codes_left,
                },
                (None, Some(enrolment)) => TwoStepState::Waiting {
                    qr_svg: totp::qr_svg(&enrolment.uri)
                        .map_err(|e| unavailable("drawing a QR code", &e))?,
                    secret: enrolment.secret_base32,
                },
                (None, None) => TwoStepState::Off,
            };
            let recovery_codes =
                codes.and_then(|id| self.fresh_codes.take(&id, &actor.login, Instant::now()));
            Ok(TwoStepPage {
                required: status.required,
                state,
                recovery_codes,
            })
        })
    }

    fn two_step_begin<'a>(&'a self, actor: &'a Actor) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.state()
                .accounts
                .totp_begin(&Self::session_user(actor))
                .await
                .map_err(|e| refusal("beginning an enrolment", e))
        })
    }

    fn two_step_confirm<'a>(
        &'a self,
        actor: &'a Actor,
        code: String,
    ) -> BoxFuture<'a, Outcome<(String, Vec<String>)>> {
        Box::pin(async move {
            let state = self.state();
            let confirmed = state
                .accounts
                .totp_confirm(&Self::session_user(actor), &code, &audit_source(actor))
                .await
                .map_err(|e| refusal("confirming an enrolment", e))?;
            let id = random_id()?;
            self.fresh_codes.put(
                id.clone(),
                &actor.login,
                confirmed.recovery_codes,
                Instant::now(),
            );
            let cookies = confirmed
                .session
                .map(|signed| {
                    vec![state.cookie(
                        state.session_cookie(),
                        signed.id.secret(),
                        Some(signed.max_age_secs),
                    )]
                })
                .unwrap_or_default();
            Ok((id, cookies))
        })
    }

    fn two_step_disable<'a>(&'a self, actor: &'a Actor) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.state()
                .accounts
                .totp_disable(&Self::session_user(actor), &audit_source(actor))
                .await
                .map_err(|e| refusal("turning a second factor off", e))
        })
    }
}

impl HostBackend {
    /// An administrator's reset of another user's second factor (see
    /// [`crate::auth::Accounts::totp_reset`]).
    pub(super) async fn reset_totp(&self, actor: &Actor, login: &str) -> Outcome<()> {
        self.state()
            .accounts
            .totp_reset(login, &actor.login, &audit_source(actor))
            .await
            .map_err(|e| refusal("resetting a second factor", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_recovery_codes_are_shown_once_to_their_user_only() {
        let fresh = FreshCodes::default();
        let now = Instant::now();
        fresh.put("a".into(), "li", vec!["x".into()], now);
        assert_eq!(fresh.take("a", "wang", now), None, "another user's");
        assert_eq!(fresh.take("a", "li", now), Some(vec!["x".to_string()]));
        assert_eq!(fresh.take("a", "li", now), None, "shown once");
        fresh.put("b".into(), "li", vec!["y".into()], now);
        assert_eq!(fresh.take("b", "li", now + FRESH_CODES_LIFETIME), None);
    }
}
