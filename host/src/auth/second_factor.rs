//! The second factor's steps on [`Accounts`] (issue 18 item 10): the code step of a sign-in,
//! the re-check before sensitive actions, enrolment, turning it off and an administrator's
//! reset. What a code is and how secrets are kept is in [`super::totp`]. Audit rows
//! (component `auth`): `signin` ok once the code step is done (details say which factor),
//! `totp.verify` refused for each wrong, reused or locked-out code at sign-in, `reauth` ok or
//! refused, `totp.recovery_code` ok for each recovery code used, `totp.enrol` ok or refused
//! (a wrong first code), `totp.disable` ok or refused (required by the role), `totp.reset`.

use serde_json::json;

use super::totp;
use super::{
    Accounts, AuditEntry, AuditLog, AuthError, COMPONENT, Confirmed, Enrolment, NewSession, Proof,
    SessionId, SessionUser, SignedIn, Stage, TotpStatus, WEB_RECOVERY_CODES, WEB_TOTP,
    normal_login, now_ms, source_address,
};
use crate::audit::{AuditEvent, AuditOutcome};
use crate::secrets::SubKey;

/// A second factor that checked out, to be used up by the transaction it allows.
#[derive(Debug, Clone)]
enum Good {
    /// A TOTP code of this time step.
    Step(i64),
    /// A recovery code, by its keyed hash.
    RecoveryCode(String),
}

impl Good {
    fn proof(&self) -> Proof<'_> {
        match self {
            Good::Step(step) => Proof::Step(*step),
            Good::RecoveryCode(hash) => Proof::RecoveryCode(hash),
        }
    }

    fn factor(&self) -> &'static str {
        match self {
            Good::Step(_) => "totp",
            Good::RecoveryCode(_) => "recovery_code",
        }
    }
}

impl Accounts {
    fn subkey(&self, purpose: &str) -> Result<SubKey, AuthError> {
        Ok(self
            .store
            .secrets()
            .ok_or(AuthError::NoPlatformKey)?
            .subkey(purpose))
    }

    /// Checks `text` (a TOTP code or a recovery code) against the enabled second factor of
    /// `login` at `now`: what it proves, or why it proves nothing (for the audit row).
    async fn check_factor(
        &self,
        login: &str,
        text: &str,
        now: i64,
    ) -> Result<Result<Good, &'static str>, AuthError> {
        let Some(row) = self
            .store
            .totp_row(login)
            .await?
            .filter(|r| r.enabled_at.is_some())
        else {
            return Ok(Err("no_second_factor"));
        };
        if totp::looks_like_code(text) {
            let secret = self.subkey(WEB_TOTP)?.open(&row.secret, login)?;
            let seconds = u64::try_from(now / 1000).unwrap_or(0);
            return Ok(match totp::check(&secret, text, seconds)? {
                None => Err("wrong_code"),
                Some(step) if row.last_step.is_some_and(|last| last >= step) => Err("reused_code"),
                Some(step) => Ok(Good::Step(step)),
            });
        }
        let hash = totp::recovery_hash(&self.subkey(WEB_RECOVERY_CODES)?, login, text);
        Ok(if self.store.recovery_code_unused(login, &hash).await? {
            Ok(Good::RecoveryCode(hash))
        } else {
            Err("wrong_recovery_code")
        })
    }

    /// Counts a wrong second factor (or password, on the re-check) towards the lock-out, like
    /// a wrong password at sign-in, and charges the source.
    async fn second_factor_failed(
        &self,
        login: &str,
        now: i64,
        source: &str,
        entry: AuditEntry,
    ) -> Result<(), AuthError> {
        let max = i64::from(self.settings.lockout_failures.max(1));
        let until = now + self.settings.lockout.as_millis() as i64;
        if self
            .store
            .account_record_failure(login, now, max, until, entry)
            .await?
        {
            tracing::warn!(%login, "web account locked after repeated wrong codes");
        }
        self.charge_source(source_address(source), source).await
    }

    /// The audit rows of a recovery code used for `purpose`.
    async fn recovery_row(
        &self,
        login: &str,
        purpose: &str,
        source: &str,
    ) -> Result<AuditEntry, AuthError> {
        let left = self.store.recovery_codes_left(login).await?;
        Ok(
            AuditEntry::new(COMPONENT, AuditEvent::TotpRecoveryCode, AuditOutcome::Ok)
                .with_actor(login)
                .with_object(login)
                .with_source(Some(source))
                .with_details(json!({ "purpose": purpose, "left": (left - 1).max(0) })),
        )
    }

    /// The code step of a sign-in: `user`'s session must be in stage [`Stage::Code`]; `code`
    /// is a TOTP code or a recovery code. The right one replaces that session by a full one
    /// with a new id. Every refusal is [`AuthError::Refused`], counted towards the lock-out
    /// and the source's budget like a wrong password; a locked account is refused even the
    /// right code.
    pub async fn second_factor(
        &self,
        user: &SessionUser,
        code: &str,
        source: &str,
    ) -> Result<SignedIn, AuthError> {
        let login = normal_login(&user.login);
        let address = self.admit_source(source)?;
        let _turn = self.limits.turns.turn(&login).await;
        let now = now_ms();
        let Some(row) = self.store.session_row(&user.id_hash).await? else {
            return Err(AuthError::Refused);
        };
        if Stage::parse(&row.stage) != Stage::Code || row.login != login || now >= row.expires_at {
            return Err(AuthError::Refused);
        }
        let refuse = |reason: &str| {
            AuditEntry::new(COMPONENT, AuditEvent::TotpVerify, AuditOutcome::Refused)
                .with_actor(&login)
                .with_source(Some(source))
                .with_details(json!({ "purpose": "signin", "reason": reason }))
        };
        let Some(account) = self.store.account_row(&login).await? else {
            return Err(AuthError::Refused);
        };
        if account.locked_until.is_some_and(|t| t > now) {
            self.store
                .account_record_failure(&login, now, 1, 0, refuse("locked"))
                .await?;
            self.charge_source(address, source).await?;
            return Err(AuthError::Refused);
        }
        let good = match self.check_factor(&login, code, now).await? {
            Ok(good) if account.user_active => good,
            Ok(_) => {
                self.second_factor_failed(&login, now, source, refuse("disabled"))
                    .await?;
                return Err(AuthError::Refused);
            }
            Err(reason) => {
                self.second_factor_failed(&login, now, source, refuse(reason))
                    .await?;
                return Err(AuthError::Refused);
            }
        };
        let id = SessionId::generate()?;
        let id_hash = id.hash();
        let session = NewSession {
            id_hash: &id_hash,
            login: &login,
            now,
            idle_ms: self.idle_of(&row.roles).as_millis().max(1) as i64,
            expires_at: now + self.settings.absolute.as_millis() as i64,
            stage: Stage::Full.as_str(),
            verified_at: now,
        };
        let mut entries = vec![
            AuditEntry::new(COMPONENT, AuditEvent::Signin, AuditOutcome::Ok)
                .with_actor(&login)
                .with_source(Some(source))
                .with_details(json!({ "second_factor": good.factor() })),
        ];
        if matches!(good, Good::RecoveryCode(_)) {
            entries.push(self.recovery_row(&login, "signin", source).await?);
        }
        if !self
            .store
            .account_complete_sign_in(&user.id_hash, good.proof(), &session, entries)
            .await?
        {
            // Used meanwhile (the same code twice at once), locked meanwhile, or the step's
            // session ended.
            self.second_factor_failed(&login, now, source, refuse("used_or_locked"))
                .await?;
            return Err(AuthError::Refused);
        }
        Ok(SignedIn {
            id,
            login,
            max_age_secs: self.settings.absolute.as_secs(),
            stage: Stage::Full,
        })
    }

    /// Proves again who the user of a full session is, before a sensitive action: with a
    /// TOTP code or a recovery code when the user's second factor is on, else with the
    /// password. A refusal counts towards the lock-out like a wrong password at sign-in, and
    /// is [`AuthError::Refused`] whatever the reason.
    pub async fn reauthenticate(
        &self,
        user: &SessionUser,
        secret: &str,
        source: &str,
    ) -> Result<(), AuthError> {
        let login = normal_login(&user.login);
        let address = self.admit_source(source)?;
        let _turn = self.limits.turns.turn(&login).await;
        let now = now_ms();
        let Some(row) = self.store.session_row(&user.id_hash).await? else {
            return Err(AuthError::Refused);
        };
        if Stage::parse(&row.stage) != Stage::Full || row.login != login {
            return Err(AuthError::Refused);
        }
        let refuse = |reason: &str| {
            AuditEntry::new(COMPONENT, AuditEvent::Reauth, AuditOutcome::Refused)
                .with_actor(&login)
                .with_source(Some(source))
                .with_details(json!({ "reason": reason }))
        };
        let Some(account) = self.store.account_row(&login).await? else {
            return Err(AuthError::Refused);
        };
        if account.locked_until.is_some_and(|t| t > now) {
            self.store
                .account_record_failure(&login, now, 1, 0, refuse("locked"))
                .await?;
            self.charge_source(address, source).await?;
            return Err(AuthError::Refused);
        }
        let totp_on = self
            .store
            .totp_row(&login)
            .await?
            .is_some_and(|t| t.enabled_at.is_some());
        let good = if totp_on {
            match self.check_factor(&login, secret, now).await? {
                Ok(good) => Some(good),
                Err(reason) => {
                    self.second_factor_failed(&login, now, source, refuse(reason))
                        .await?;
                    return Err(AuthError::Refused);
                }
            }
        } else {
            if !self
                .verify_blocking(secret.to_owned(), account.password_hash)
                .await
            {
                self.second_factor_failed(&login, now, source, refuse("bad_password"))
                    .await?;
                return Err(AuthError::Refused);
            }
            None
        };
        let method = good.as_ref().map_or("password", Good::factor);
        let mut entries = vec![
            AuditEntry::new(COMPONENT, AuditEvent::Reauth, AuditOutcome::Ok)
                .with_actor(&login)
                .with_source(Some(source))
                .with_details(json!({ "method": method })),
        ];
        if matches!(good, Some(Good::RecoveryCode(_))) {
            entries.push(self.recovery_row(&login, "reauth", source).await?);
        }
        if !self
            .store
            .session_reverify(
                &user.id_hash,
                &login,
                good.as_ref().map(Good::proof),
                now,
                entries,
            )
            .await?
        {
            self.second_factor_failed(&login, now, source, refuse("used_or_locked"))
                .await?;
            return Err(AuthError::Refused);
        }
        Ok(())
    }

    /// The second factor of `user`, as the enrolment page shows it.
    pub async fn totp_status(&self, user: &SessionUser) -> Result<TotpStatus, AuthError> {
        let login = normal_login(&user.login);
        let required = self.totp_required(&self.roles_of(&login).await?);
        let Some(row) = self.store.totp_row(&login).await? else {
            return Ok(TotpStatus {
                required,
                ..TotpStatus::default()
            });
        };
        if row.enabled_at.is_some() {
            let left = self.store.recovery_codes_left(&login).await?;
            return Ok(TotpStatus {
                enabled_at: row.enabled_at,
                recovery_codes_left: u32::try_from(left).unwrap_or(0),
                enrolment: None,
                required,
            });
        }
        let secret = self.subkey(WEB_TOTP)?.open(&row.secret, &login)?;
        Ok(TotpStatus {
            enrolment: Some(Enrolment {
                secret_base32: totp::base32(&secret, &login)?,
                uri: totp::otpauth_uri(&secret, &login)?,
            }),
            required,
            ..TotpStatus::default()
        })
    }

    /// Begins an enrolment: a new secret, kept sealed and shown until its first code confirms
    /// it ([`Accounts::totp_confirm`]); a pending one is replaced. Refused while the user's
    /// second factor is on.
    pub async fn totp_begin(&self, user: &SessionUser) -> Result<(), AuthError> {
        let login = normal_login(&user.login);
        let secret = totp::new_secret()?;
        let sealed = self.subkey(WEB_TOTP)?.seal(&secret, &login)?;
        if self.store.totp_begin(&login, &sealed, now_ms()).await? {
            Ok(())
        } else {
            Err(AuthError::TotpEnabled)
        }
    }

    /// Confirms the waiting enrolment with a code of the authenticator: the second factor is
    /// on from now, with ten new recovery codes (returned to be shown once). When the session
    /// was in stage [`Stage::Enrol`] (the role requires a second factor), it is replaced by a
    /// full session with a new id, returned too. A wrong code is audited and refused with
    /// [`AuthError::WrongCode`]; it does not count towards the lock-out (the user proved the
    /// password already, and guessing gains nothing: the secret is on the page).
    pub async fn totp_confirm(
        &self,
        user: &SessionUser,
        code: &str,
        source: &str,
    ) -> Result<Confirmed, AuthError> {
        let login = normal_login(&user.login);
        let Some(session_row) = self.store.session_row(&user.id_hash).await? else {
            return Err(AuthError::Refused);
        };
        let stage = Stage::parse(&session_row.stage);
        if stage == Stage::Code || session_row.login != login {
            return Err(AuthError::Refused);
        }
        let row = match self.store.totp_row(&login).await? {
            Some(row) if row.enabled_at.is_none() => row,
            Some(_) => return Err(AuthError::TotpEnabled),
            None => return Err(AuthError::NoEnrolment),
        };
        let now = now_ms();
        let secret = self.subkey(WEB_TOTP)?.open(&row.secret, &login)?;
        let seconds = u64::try_from(now / 1000).unwrap_or(0);
        let Some(step) = totp::check(&secret, code, seconds)? else {
            let entry = AuditEntry::new(COMPONENT, AuditEvent::TotpEnrol, AuditOutcome::Refused)
                .with_actor(&login)
                .with_object(&login)
                .with_source(Some(source))
                .with_details(json!({ "reason": "wrong_code" }));
            AuditLog::new(self.store.clone()).append(entry).await?;
            return Err(AuthError::WrongCode);
        };
        let codes = totp::new_recovery_codes()?;
        let key = self.subkey(WEB_RECOVERY_CODES)?;
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| totp::recovery_hash(&key, &login, c))
            .collect();
        let rotated = if stage == Stage::Enrol {
            Some(SessionId::generate()?)
        } else {
            None
        };
        let rotated_hash = rotated.as_ref().map(SessionId::hash);
        let session = rotated_hash.as_deref().map(|id_hash| NewSession {
            id_hash,
            login: &login,
            now,
            idle_ms: self.idle_of(&session_row.roles).as_millis().max(1) as i64,
            expires_at: now + self.settings.absolute.as_millis() as i64,
            stage: Stage::Full.as_str(),
            verified_at: now,
        });
        let entry = AuditEntry::new(COMPONENT, AuditEvent::TotpEnrol, AuditOutcome::Ok)
            .with_actor(&login)
            .with_object(&login)
            .with_source(Some(source))
            .with_details(json!({
                "recovery_codes": codes.len(),
                "signin_completed": rotated.is_some(),
            }));
        if !self
            .store
            .totp_confirm(
                &login,
                &row.secret,
                step,
                &hashes,
                session.as_ref().map(|s| (user.id_hash.as_str(), s)),
                now,
                entry,
            )
            .await?
        {
            return Err(AuthError::NoEnrolment);
        }
        Ok(Confirmed {
            recovery_codes: codes,
            session: rotated.map(|id| SignedIn {
                id,
                login: login.clone(),
                max_age_secs: self.settings.absolute.as_secs(),
                stage: Stage::Full,
            }),
        })
    }

    /// Turns the user's own second factor off (and forgets a waiting enrolment). Refused,
    /// and audited, when the user's role requires one.
    pub async fn totp_disable(&self, user: &SessionUser, source: &str) -> Result<(), AuthError> {
        let login = normal_login(&user.login);
        if self.store.totp_row(&login).await?.is_none() {
            return Err(AuthError::TotpNotEnabled(login));
        }
        if self.totp_required(&self.roles_of(&login).await?) {
            let entry = AuditEntry::new(COMPONENT, AuditEvent::TotpDisable, AuditOutcome::Refused)
                .with_actor(&login)
                .with_object(&login)
                .with_source(Some(source))
                .with_details(json!({ "reason": "required_by_role" }));
            AuditLog::new(self.store.clone()).append(entry).await?;
            return Err(AuthError::TotpRequired);
        }
        let entry = AuditEntry::new(COMPONENT, AuditEvent::TotpDisable, AuditOutcome::Ok)
            .with_actor(&login)
            .with_object(&login)
            .with_source(Some(source));
        self.store.totp_remove(&login, false, entry).await?;
        Ok(())
    }

    /// An administrator's (or the command line's) reset of another user's second factor, for
    /// a lost phone: the TOTP and recovery codes are removed and every web session of the user
    /// ends; the user enrols again at the next sign-in if the role requires it. Audited as
    /// `totp.reset` with `actor` and `source`.
    pub async fn totp_reset(
        &self,
        login: &str,
        actor: &str,
        source: &str,
    ) -> Result<(), AuthError> {
        let login = normal_login(login);
        if self.store.totp_row(&login).await?.is_none() {
            return Err(AuthError::TotpNotEnabled(login));
        }
        let entry = AuditEntry::new(COMPONENT, AuditEvent::TotpReset, AuditOutcome::Ok)
            .with_actor(actor)
            .with_object(&login)
            .with_source(Some(source));
        self.store.totp_remove(&login, true, entry).await?;
        Ok(())
    }

    /// The logins whose second factor is on (the users page shows them).
    pub async fn logins_with_totp(&self) -> Result<std::collections::BTreeSet<String>, AuthError> {
        Ok(self.store.totp_logins().await?)
    }
}

#[cfg(test)]
#[path = "second_factor_tests.rs"]
mod tests;
