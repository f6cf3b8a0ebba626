//! Tests of the second factor on both backends (issue 18 item 10; checklist "Sign-in and
//! sessions": administrators get a second factor; lock-out with one answer; "Audit":
//! credential changes recorded).

use super::super::*;
use crate::audit::{AuditFilter, AuditLog, AuditRecord};
use crate::directory::Directory;
use crate::store::test_db::TestDb;

const GOOD: &str = "night shift patrol";

fn accounts_requiring(db: &TestDb, roles: &[&str]) -> Accounts {
    let settings = AuthSettings {
        require_totp_for: roles.iter().map(|r| r.to_string()).collect(),
        ..AuthSettings::default()
    };
    Accounts::new(db.store.clone(), settings)
}

/// Accounts that require a second factor of nobody (users enrol of their own accord).
fn accounts(db: &TestDb) -> Accounts {
    accounts_requiring(db, &[])
}

async fn add_user(db: &TestDb, accounts: &Accounts, login: &str, role: &str) {
    Directory::new(db.store.clone(), "86")
        .add_user(login, "测试", &[role], "cli:test")
        .await
        .expect("add user");
    accounts
        .set_password(login, GOOD, "cli:test", "cli")
        .await
        .expect("set password");
}

async fn session_of(accounts: &Accounts, signed: &SignedIn) -> SessionUser {
    accounts
        .session(signed.id.secret())
        .await
        .unwrap()
        .expect("the session is open")
}

fn unix_now() -> u64 {
    (now_ms() / 1000) as u64
}

/// Enrols `login` (signed in fully): the secret as the authenticator would read it from the
/// page, and the recovery codes shown.
async fn enrol(accounts: &Accounts, login: &str) -> (Vec<u8>, Vec<String>) {
    let signed = accounts.sign_in(login, GOOD, "web").await.unwrap();
    assert_eq!(signed.stage, Stage::Full);
    let user = session_of(accounts, &signed).await;
    accounts.totp_begin(&user).await.unwrap();
    let enrolment = accounts
        .totp_status(&user)
        .await
        .unwrap()
        .enrolment
        .expect("an enrolment waits");
    assert!(
        enrolment
            .uri
            .starts_with(&format!("otpauth://totp/Jingxun:{login}?secret="))
    );
    let secret = totp_rs::Secret::try_from_base32(&enrolment.secret_base32)
        .unwrap()
        .as_ref()
        .to_vec();
    let wrong = accounts
        .totp_confirm(&user, &not_a_code(&secret), "web")
        .await
        .map(|_| ());
    assert!(matches!(wrong, Err(AuthError::WrongCode)), "{wrong:?}");
    let code = totp::code_at(&secret, unix_now()).unwrap();
    let confirmed = accounts.totp_confirm(&user, &code, "web").await.unwrap();
    assert!(confirmed.session.is_none(), "a full session stays as it is");
    assert_eq!(confirmed.recovery_codes.len(), 10);
    (secret, confirmed.recovery_codes)
}

async fn rows(db: &TestDb, event: &str) -> Vec<AuditRecord> {
    AuditLog::new(db.store.clone())
        .list(
            &AuditFilter {
                event: Some(event.into()),
                oldest_first: true,
                ..AuditFilter::default()
            },
            "test",
        )
        .await
        .expect("list audit")
}

/// A six-digit text that is none of the codes of `secret` the check could accept now.
fn not_a_code(secret: &[u8]) -> String {
    let now = unix_now();
    let near: Vec<String> = (0..5)
        .map(|i| totp::code_at(secret, now + i * 30 - 60).unwrap())
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .expect("five codes cannot be all ten repeated digits")
}

/// Lets the next code of the same time step be accepted again (a test cannot wait 30 s).
async fn forget_last_step(db: &TestDb) {
    db.raw("UPDATE web_totp SET last_step = 0").await.unwrap();
}

async fn the_password_alone_opens_only_the_code_step_and_the_code_a_full_session(db: &TestDb) {
    let accounts = accounts(db);
    add_user(db, &accounts, "li", "admin").await;
    let (secret, _) = enrol(&accounts, "li").await;
    let pending = accounts.sign_in("li", GOOD, "web").await.unwrap();
    assert_eq!(pending.stage, Stage::Code);
    let user = session_of(&accounts, &pending).await;
    assert_eq!(user.stage, Stage::Code);
    assert!(
        !accounts.session_open(&user.id_hash).await.unwrap(),
        "a half-signed-in session is not a signed-in one"
    );
    // A wrong code: the same one answer as a wrong password, and the step stays open.
    let wrong = accounts
        .second_factor(&user, &not_a_code(&secret), "web")
        .await
        .unwrap_err();
    assert!(matches!(wrong, AuthError::Refused));
    forget_last_step(db).await;
    let code = totp::code_at(&secret, unix_now()).unwrap();
    let full = accounts.second_factor(&user, &code, "web").await.unwrap();
    assert_eq!(full.stage, Stage::Full);
    assert_ne!(full.id, pending.id, "the full session has a new id");
    let signed_in = session_of(&accounts, &full).await;
    assert_eq!(signed_in.stage, Stage::Full);
    assert!(signed_in.verified_within(std::time::Duration::from_secs(60), now_ms()));
    assert_eq!(accounts.session(pending.id.secret()).await.unwrap(), None);
    let signins = rows(db, "signin").await;
    let last = signins.last().unwrap();
    assert_eq!(
        (last.outcome.as_str(), last.actor.as_deref()),
        ("ok", Some("li"))
    );
    assert_eq!(last.details["second_factor"], "totp");
    let passwords = rows(db, "signin.password").await;
    assert_eq!(passwords.last().unwrap().details["next"], "code");
    let refused = rows(db, "totp.verify").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].details["reason"], "wrong_code");
    assert_eq!(rows(db, "totp.enrol").await.len(), 2, "one refused, one ok");
}

async fn a_code_is_accepted_once(db: &TestDb) {
    let accounts = accounts(db);
    add_user(db, &accounts, "li", "admin").await;
    let (secret, _) = enrol(&accounts, "li").await;
    forget_last_step(db).await;
    let code = totp::code_at(&secret, unix_now()).unwrap();
    let first = accounts.sign_in("li", GOOD, "web").await.unwrap();
    let first = session_of(&accounts, &first).await;
    accounts.second_factor(&first, &code, "web").await.unwrap();
    // The same code again (someone who saw it typed): refused.
    let second = accounts.sign_in("li", GOOD, "web").await.unwrap();
    let second = session_of(&accounts, &second).await;
    let again = accounts
        .second_factor(&second, &code, "web")
        .await
        .unwrap_err();
    assert!(matches!(again, AuthError::Refused));
    let refused = rows(db, "totp.verify").await;
    assert_eq!(refused.last().unwrap().details["reason"], "reused_code");
}

async fn wrong_codes_count_towards_the_lock_out_like_wrong_passwords(db: &TestDb) {
    let accounts = accounts(db);
    add_user(db, &accounts, "li", "admin").await;
    let (secret, _) = enrol(&accounts, "li").await;
    forget_last_step(db).await;
    let pending = accounts.sign_in("li", GOOD, "web").await.unwrap();
    let user = session_of(&accounts, &pending).await;
    let right = totp::code_at(&secret, unix_now()).unwrap();
    let wrong = not_a_code(&secret);
    for _ in 0..5 {
        let refused = accounts.second_factor(&user, &wrong, "web").await;
        assert!(matches!(refused, Err(AuthError::Refused)));
    }
    // Locked: the right code gets the same answer, and so does the right password.
    let locked = accounts
        .second_factor(&user, &right, "web")
        .await
        .unwrap_err();
    let password = accounts.sign_in("li", GOOD, "web").await.unwrap_err();
    assert_eq!(locked.to_string(), password.to_string());
    let reasons: Vec<String> = rows(db, "totp.verify")
        .await
        .iter()
        .map(|r| r.details["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(reasons.last().map(String::as_str), Some("locked"));
    assert_eq!(reasons.iter().filter(|r| *r == "wrong_code").count(), 5);
}

async fn a_recovery_code_signs_in_once_and_its_use_is_audited(db: &TestDb) {
    let accounts = accounts(db);
    add_user(db, &accounts, "li", "auditor").await;
    let (_, codes) = enrol(&accounts, "li").await;
    let pending = accounts.sign_in("li", GOOD, "web").await.unwrap();
    let user = session_of(&accounts, &pending).await;
    let typed = codes[3].to_uppercase().replace('-', " ");
    let full = accounts.second_factor(&user, &typed, "web").await.unwrap();
    assert_eq!(full.stage, Stage::Full);
    let used = rows(db, "totp.recovery_code").await;
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].details["left"], 9);
    assert_eq!(used[0].details["purpose"], "signin");
    let again = accounts.sign_in("li", GOOD, "web").await.unwrap();
    let again = session_of(&accounts, &again).await;
    let refused = accounts.second_factor(&again, &codes[3], "web").await;
    assert!(matches!(refused, Err(AuthError::Refused)));
    assert_eq!(
        rows(db, "totp.verify").await.last().unwrap().details["reason"],
        "wrong_recovery_code"
    );
    let status = accounts.totp_status(&again).await.unwrap();
    assert_eq!(status.recovery_codes_left, 9);
}

async fn the_secret_and_recovery_codes_are_kept_sealed_and_hashed(db: &TestDb) {
    let accounts = accounts(db);
    add_user(db, &accounts, "li", "admin").await;
    let (secret, codes) = enrol(&accounts, "li").await;
    let pool = sqlx::AnyPool::connect(&db.url).await.expect("connect");
    let stored: String = sqlx::query_scalar("SELECT secret FROM web_totp WHERE login = 'li'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT code_hash FROM web_recovery_codes WHERE login = 'li'")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    let base32 = totp::base32(&secret, "li").unwrap();
    assert!(stored.starts_with("v1."), "{stored}");
    assert!(!stored.contains(&hex::encode(&secret)) && !stored.contains(&base32));
    let key = crate::secrets::Secrets::for_tests().subkey(WEB_TOTP);
    assert_eq!(&key.open(&stored, "li").unwrap()[..], &secret[..]);
    assert!(key.open(&stored, "wang").is_err(), "bound to its row");
    assert_eq!(hashes.len(), 10);
    for code in &codes {
        assert!(!hashes.iter().any(|h| h.contains(&code.replace('-', ""))));
    }
}

async fn a_role_that_requires_it_gets_only_its_enrolment_until_it_is_on(db: &TestDb) {
    let accounts = accounts_requiring(db, &["admin", "auditor"]);
    add_user(db, &accounts, "li", "admin").await;
    add_user(db, &accounts, "op", "operator").await;
    let operator = accounts.sign_in("op", GOOD, "web").await.unwrap();
    assert_eq!(operator.stage, Stage::Full, "not required of operators");
    let signed = accounts.sign_in("li", GOOD, "web").await.unwrap();
    assert_eq!(signed.stage, Stage::Enrol);
    let user = session_of(&accounts, &signed).await;
    assert!(!accounts.session_open(&user.id_hash).await.unwrap());
    accounts.totp_begin(&user).await.unwrap();
    let status = accounts.totp_status(&user).await.unwrap();
    assert!(status.required);
    let secret = totp_rs::Secret::try_from_base32(status.enrolment.unwrap().secret_base32)
        .unwrap()
        .as_ref()
        .to_vec();
    let code = totp::code_at(&secret, unix_now()).unwrap();
    let confirmed = accounts.totp_confirm(&user, &code, "web").await.unwrap();
    let full = confirmed.session.expect("the sign-in is whole now");
    assert_ne!(full.id, signed.id);
    assert_eq!(accounts.session(signed.id.secret()).await.unwrap(), None);
    let full = session_of(&accounts, &full).await;
    assert_eq!(full.stage, Stage::Full);
    // Required: it cannot be turned off, and the refusal is audited.
    let off = accounts.totp_disable(&full, "web").await.unwrap_err();
    assert!(matches!(off, AuthError::TotpRequired), "{off}");
    let disable = rows(db, "totp.disable").await;
    assert_eq!(disable.last().unwrap().outcome, "refused");
    // The next sign-in asks for the code.
    let next = accounts.sign_in("li", GOOD, "web").await.unwrap();
    assert_eq!(next.stage, Stage::Code);
}

async fn the_recheck_takes_the_code_or_the_password_and_refreshes_the_verification(db: &TestDb) {
    let accounts = accounts(db);
    add_user(db, &accounts, "li", "admin").await;
    add_user(db, &accounts, "op", "operator").await;
    let (secret, _) = enrol(&accounts, "li").await;
    forget_last_step(db).await;
    let pending = accounts.sign_in("li", GOOD, "web").await.unwrap();
    let pending = session_of(&accounts, &pending).await;
    let code = totp::code_at(&secret, unix_now()).unwrap();
    let full = accounts
        .second_factor(&pending, &code, "web")
        .await
        .unwrap();
    db.raw("UPDATE web_sessions SET verified_at = 0")
        .await
        .unwrap();
    let user = session_of(&accounts, &full).await;
    assert!(!user.verified_within(std::time::Duration::from_secs(300), now_ms()));
    // With the second factor on, the password does not do, nor the code just used.
    for wrong in [GOOD, code.as_str()] {
        let refused = accounts.reauthenticate(&user, wrong, "web").await;
        assert!(matches!(refused, Err(AuthError::Refused)));
    }
    forget_last_step(db).await;
    accounts.reauthenticate(&user, &code, "web").await.unwrap();
    let user = session_of(&accounts, &full).await;
    assert!(user.verified_within(std::time::Duration::from_secs(300), now_ms()));
    // Without one, the password.
    let op = accounts.sign_in("op", GOOD, "web").await.unwrap();
    let op = session_of(&accounts, &op).await;
    assert!(matches!(
        accounts.reauthenticate(&op, "wrong password", "web").await,
        Err(AuthError::Refused)
    ));
    accounts.reauthenticate(&op, GOOD, "web").await.unwrap();
    let outcomes: Vec<(String, String)> = rows(db, "reauth")
        .await
        .iter()
        .map(|r| (r.actor.clone().unwrap_or_default(), r.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("li".to_string(), "refused".to_string()),
            ("li".into(), "refused".into()),
            ("li".into(), "ok".into()),
            ("op".into(), "refused".into()),
            ("op".into(), "ok".into()),
        ]
    );
}

async fn an_administrators_reset_removes_it_and_ends_the_users_sessions(db: &TestDb) {
    let accounts = accounts(db);
    add_user(db, &accounts, "li", "auditor").await;
    let (_, codes) = enrol(&accounts, "li").await;
    let session = accounts.sign_in("li", GOOD, "web").await.unwrap();
    let user = session_of(&accounts, &session).await;
    let full = accounts
        .second_factor(&user, &codes[0], "web")
        .await
        .unwrap();
    accounts
        .totp_reset("LI", "admin", "web 10.0.0.1")
        .await
        .unwrap();
    assert_eq!(accounts.session(full.id.secret()).await.unwrap(), None);
    assert_eq!(
        db.raw_count("SELECT COUNT(*) FROM web_recovery_codes")
            .await,
        0
    );
    let next = accounts.sign_in("li", GOOD, "web").await.unwrap();
    assert_eq!(next.stage, Stage::Full, "nothing left to ask");
    let reset = rows(db, "totp.reset").await;
    assert_eq!(reset.len(), 1);
    assert_eq!(
        (reset[0].actor.as_deref(), reset[0].object.as_deref()),
        (Some("admin"), Some("li"))
    );
    let again = accounts.totp_reset("li", "admin", "cli").await.unwrap_err();
    assert!(matches!(again, AuthError::TotpNotEnabled(_)), "{again}");
    // A user whose role does not require it turns it off.
    let user = session_of(&accounts, &next).await;
    enrol(&accounts, "li").await;
    accounts.totp_disable(&user, "web").await.unwrap();
    assert!(accounts.logins_with_totp().await.unwrap().is_empty());
}

crate::on_both_backends!(TestDb =>
    the_password_alone_opens_only_the_code_step_and_the_code_a_full_session,
    a_code_is_accepted_once,
    wrong_codes_count_towards_the_lock_out_like_wrong_passwords,
    a_recovery_code_signs_in_once_and_its_use_is_audited,
    the_secret_and_recovery_codes_are_kept_sealed_and_hashed,
    a_role_that_requires_it_gets_only_its_enrolment_until_it_is_on,
    the_recheck_takes_the_code_or_the_password_and_refreshes_the_verification,
    an_administrators_reset_removes_it_and_ends_the_users_sessions,
);
