//! Storage of web users' second factor (issue 18 item 10): `web_totp` (the sealed secret, when
//! it was confirmed, the last time step accepted) and `web_recovery_codes` (keyed hashes, each
//! used once), and the session changes a second factor makes. The rules, the sealing and the
//! hashing live in [`crate::auth::totp`]; this file only moves rows. A code or recovery code
//! is used up in the same transaction as what it allows (a full session, a fresh
//! verification), with its audit rows, so that it allows that once.

use sqlx::Row;

use super::accounts::{NewSession, Tx, insert_session};
use super::audit::{AuditEntry, append_audit};
use super::{Store, StoreError};

/// A user's TOTP row.
#[derive(Debug, Clone)]
pub(crate) struct TotpRow {
    /// The sealed secret (`v1.` + hex).
    pub secret: String,
    /// When the enrolment was confirmed; `None` while it waits for its first code.
    pub enabled_at: Option<i64>,
    /// The time step of the last code accepted.
    pub last_step: Option<i64>,
}

/// What proves the second factor; used up by the transaction that accepts it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Proof<'a> {
    /// A TOTP code of this time step: accepted only when later than the last one accepted.
    Step(i64),
    /// A recovery code, by its keyed hash: accepted only when unused.
    RecoveryCode(&'a str),
}

impl Store {
    /// The TOTP row of `login`, if any.
    pub(crate) async fn totp_row(&self, login: &str) -> Result<Option<TotpRow>, StoreError> {
        let row =
            sqlx::query("SELECT secret, enabled_at, last_step FROM web_totp WHERE login = $1")
                .bind(login)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(TotpRow {
                secret: r.try_get("secret")?,
                enabled_at: r.try_get("enabled_at")?,
                last_step: r.try_get("last_step")?,
            })
        })
        .transpose()
    }

    /// Keeps a new, unconfirmed secret for `login` (replacing an unconfirmed one). Answers
    /// false, changing nothing, when the user's TOTP is already enabled.
    pub(crate) async fn totp_begin(
        &self,
        login: &str,
        sealed: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT enabled_at FROM web_totp WHERE login = $1{}",
            self.lock_row()
        ))
        .bind(login)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            if row.try_get::<Option<i64>, _>("enabled_at")?.is_some() {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("UPDATE web_totp SET secret = $1, updated_at = $2 WHERE login = $3")
                .bind(sealed)
                .bind(now)
                .bind(login)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO web_totp (login, secret, enabled_at, last_step, created_at, \
                   updated_at) VALUES ($1, $2, NULL, NULL, $3, $3)",
            )
            .bind(login)
            .bind(sealed)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Confirms the unconfirmed secret `sealed` of `login` with the code of `step`: enables
    /// it, stores the recovery codes' hashes (replacing any), and, with `rotate`, replaces the
    /// session whose id hash is given by a new one (the enrolment a role required was the
    /// last step of sign-in). Answers false, changing nothing, when the secret is no longer
    /// the one waiting (enabled meanwhile, or replaced by a new enrolment).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn totp_confirm(
        &self,
        login: &str,
        sealed: &str,
        step: i64,
        code_hashes: &[String],
        rotate: Option<(&str, &NewSession<'_>)>,
        now: i64,
        entry: AuditEntry,
    ) -> Result<bool, StoreError> {
        let prepared = entry.prepare()?;
        let mut tx = self.begin_write().await?;
        let enabled = sqlx::query(
            "UPDATE web_totp SET enabled_at = $1, last_step = $2, updated_at = $1 \
             WHERE login = $3 AND secret = $4 AND enabled_at IS NULL",
        )
        .bind(now)
        .bind(step)
        .bind(login)
        .bind(sealed)
        .execute(&mut *tx)
        .await?;
        if enabled.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM web_recovery_codes WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        for hash in code_hashes {
            sqlx::query(
                "INSERT INTO web_recovery_codes (login, code_hash, used_at) VALUES ($1, $2, NULL)",
            )
            .bind(login)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        if let Some((old, session)) = rotate {
            if !delete_session(&mut tx, old, login, "enrol").await? {
                tx.rollback().await?;
                return Ok(false);
            }
            insert_session(&mut tx, session).await?;
        }
        append_audit(self, &mut tx, &prepared).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes the TOTP of `login` and its recovery codes; with `end_sessions`, ends every web
    /// session of the user too (a reset by an administrator). Answers whether there was one;
    /// the audit row is written either way.
    pub(crate) async fn totp_remove(
        &self,
        login: &str,
        end_sessions: bool,
        entry: AuditEntry,
    ) -> Result<bool, StoreError> {
        let prepared = entry.prepare()?;
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM web_totp WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        sqlx::query("DELETE FROM web_recovery_codes WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        if end_sessions {
            sqlx::query("DELETE FROM web_sessions WHERE login = $1")
                .bind(login)
                .execute(&mut *tx)
                .await?;
        }
        append_audit(self, &mut tx, &prepared).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// The logins whose TOTP is enabled.
    pub(crate) async fn totp_logins(
        &self,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let rows = sqlx::query("SELECT login FROM web_totp WHERE enabled_at IS NOT NULL")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("login"))
            .collect::<Result<_, _>>()?)
    }

    /// How many of the recovery codes of `login` are unused.
    pub(crate) async fn recovery_codes_left(&self, login: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM web_recovery_codes WHERE login = $1 AND used_at IS NULL",
        )
        .bind(login)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Whether `login` has the unused recovery code of this keyed hash.
    pub(crate) async fn recovery_code_unused(
        &self,
        login: &str,
        hash: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM web_recovery_codes WHERE login = $1 AND code_hash = $2 \
             AND used_at IS NULL",
        )
        .bind(login)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// The second step of a sign-in: in one transaction, checks that the account is not
    /// locked, uses up `proof`, clears the failure count, replaces the session `pending` (stage
    /// `code`) by the full `session`, and appends `entries`. Answers false, changing nothing,
    /// when the account is locked, the proof was used meanwhile or the pending session is gone.
    pub(crate) async fn account_complete_sign_in(
        &self,
        pending: &str,
        proof: Proof<'_>,
        session: &NewSession<'_>,
        entries: Vec<AuditEntry>,
    ) -> Result<bool, StoreError> {
        let prepared = entries
            .iter()
            .map(AuditEntry::prepare)
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.begin_write().await?;
        if locked(self, &mut tx, session.login, session.now).await?
            || !use_proof(&mut tx, session.login, proof, session.now).await?
            || !delete_session(&mut tx, pending, session.login, "code").await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "UPDATE web_accounts SET failed_count = 0, locked_until = NULL, updated_at = $1 \
             WHERE login = $2",
        )
        .bind(session.now)
        .bind(session.login)
        .execute(&mut *tx)
        .await?;
        insert_session(&mut tx, session).await?;
        for entry in &prepared {
            append_audit(self, &mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A fresh verification in a full session (before a sensitive action): checks that the
    /// account is not locked, uses up `proof` (none when a password was checked), clears the
    /// failure count, records `now` as the session's last verification and appends `entries`,
    /// in one transaction. Answers false, changing nothing, when the account is locked, the
    /// proof was used meanwhile or the session is gone.
    pub(crate) async fn session_reverify(
        &self,
        id_hash: &str,
        login: &str,
        proof: Option<Proof<'_>>,
        now: i64,
        entries: Vec<AuditEntry>,
    ) -> Result<bool, StoreError> {
        let prepared = entries
            .iter()
            .map(AuditEntry::prepare)
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.begin_write().await?;
        if locked(self, &mut tx, login, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(proof) = proof
            && !use_proof(&mut tx, login, proof, now).await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "UPDATE web_accounts SET failed_count = 0, locked_until = NULL, updated_at = $1 \
             WHERE login = $2",
        )
        .bind(now)
        .bind(login)
        .execute(&mut *tx)
        .await?;
        let updated = sqlx::query(
            "UPDATE web_sessions SET verified_at = $1 \
             WHERE id_hash = $2 AND login = $3 AND stage = 'full'",
        )
        .bind(now)
        .bind(id_hash)
        .bind(login)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for entry in &prepared {
            append_audit(self, &mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Whether the account of `login` is locked at `now` (or gone), read with a row lock.
async fn locked(store: &Store, tx: &mut Tx, login: &str, now: i64) -> Result<bool, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT locked_until FROM web_accounts WHERE login = $1{}",
        store.lock_row()
    ))
    .bind(login)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        None => true,
        Some(row) => row
            .try_get::<Option<i64>, _>("locked_until")?
            .is_some_and(|until| until > now),
    })
}

/// Uses up a proof: a TOTP step later than the last accepted one becomes the last one; an
/// unused recovery code becomes used. Answers false when it was not good (any more).
async fn use_proof(
    tx: &mut Tx,
    login: &str,
    proof: Proof<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = match proof {
        Proof::Step(step) => {
            sqlx::query(
                "UPDATE web_totp SET last_step = $1, updated_at = $2 \
                 WHERE login = $3 AND enabled_at IS NOT NULL \
                 AND (last_step IS NULL OR last_step < $1)",
            )
            .bind(step)
            .bind(now)
            .bind(login)
            .execute(&mut **tx)
            .await?
        }
        Proof::RecoveryCode(hash) => {
            sqlx::query(
                "UPDATE web_recovery_codes SET used_at = $1 \
                 WHERE login = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(login)
            .bind(hash)
            .execute(&mut **tx)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Deletes the session `id_hash` of `login` in `stage`; answers whether it was there.
async fn delete_session(
    tx: &mut Tx,
    id_hash: &str,
    login: &str,
    stage: &str,
) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1 AND login = $2 AND stage = $3")
            .bind(id_hash)
            .bind(login)
            .bind(stage)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1,
    )
}
