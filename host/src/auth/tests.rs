//! Tests of web accounts and sessions on both backends (checklist "Sign-in and sessions":
//! argon2id, lock-out, same answer for every refusal, session renewal and expiry, password
//! change ends other sessions; "Audit": sign-ins of both outcomes are recorded).

use super::*;
use crate::audit::{AuditFilter, AuditLog, AuditRecord};
use crate::directory::Directory;
use crate::store::test_db::{TestDb, on_both_backends};

const GOOD: &str = "night shift patrol";

fn accounts(db: &TestDb) -> Accounts {
    Accounts::new(db.store.clone(), AuthSettings::default())
}

async fn add_user(db: &TestDb, login: &str, role: &str) {
    Directory::new(db.store.clone(), "86")
        .add_user(login, "测试", &[role], "cli:test")
        .await
        .expect("add user");
}

/// Text values of the first column of raw SQL.
async fn texts(db: &TestDb, sql: &str) -> Vec<String> {
    let pool = sqlx::AnyPool::connect(&db.url).await.expect("connect");
    let rows: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(&pool)
        .await
        .expect("query");
    pool.close().await;
    rows
}

async fn signins(db: &TestDb) -> Vec<AuditRecord> {
    AuditLog::new(db.store.clone())
        .list(
            &AuditFilter {
                event: Some("signin".into()),
                oldest_first: true,
                ..AuditFilter::default()
            },
            "test",
        )
        .await
        .expect("list audit")
}

async fn a_password_signs_in_and_the_session_identifies_the_user(db: &TestDb) {
    add_user(db, "wang", "operator").await;
    let accounts = accounts(db);
    accounts
        .set_password("Wang", GOOD, "cli:test", "cli")
        .await
        .unwrap();
    let stored = texts(db, "SELECT password_hash FROM web_accounts")
        .await
        .remove(0);
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    let first = accounts.sign_in("wang", GOOD, "web").await.unwrap();
    let second = accounts.sign_in(" WANG ", GOOD, "web").await.unwrap();
    assert_ne!(first.id, second.id, "every sign-in makes a new session id");
    let user = accounts.session(first.id.secret()).await.unwrap().unwrap();
    assert_eq!(user.login, "wang");
    assert_eq!(user.roles, vec!["operator".to_string()]);
    // The database holds only the hash of the id.
    let ids = texts(db, "SELECT id_hash FROM web_sessions").await;
    assert!(!ids.iter().any(|h| h == first.id.secret()));
    assert!(ids.contains(&first.id.hash()));
    accounts.sign_out(&user, "web").await.unwrap();
    assert_eq!(accounts.session(first.id.secret()).await.unwrap(), None);
    assert!(
        accounts
            .session(second.id.secret())
            .await
            .unwrap()
            .is_some()
    );
    let rows = signins(db).await;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.outcome == "ok" && r.component == "auth")
    );
}

async fn unknown_user_wrong_password_and_locked_account_get_the_same_refusal(db: &TestDb) {
    add_user(db, "li", "admin").await;
    let accounts = accounts(db);
    accounts
        .set_password("li", GOOD, "cli:test", "cli")
        .await
        .unwrap();
    let unknown = accounts.sign_in("nobody", GOOD, "web").await.unwrap_err();
    assert!(matches!(unknown, AuthError::Refused));
    for _ in 0..5 {
        let wrong = accounts
            .sign_in("li", "wrong password", "web")
            .await
            .unwrap_err();
        assert!(matches!(wrong, AuthError::Refused));
    }
    // Five failures lock the account: the right password is refused with the same answer.
    let locked = accounts.sign_in("li", GOOD, "web").await.unwrap_err();
    assert_eq!(locked.to_string(), unknown.to_string());
    let rows = signins(db).await;
    let reasons: Vec<&str> = rows
        .iter()
        .map(|r| r.details["reason"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        reasons,
        [
            "unknown_user",
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "locked"
        ]
    );
    assert_eq!(rows[5].details["locked_now"], true);
    assert!(rows.iter().all(|r| r.outcome == "refused"));
    // When the lock runs out, the right password works again.
    db.raw("UPDATE web_accounts SET locked_until = 1")
        .await
        .unwrap();
    accounts.sign_in("li", GOOD, "web").await.unwrap();
}

async fn changing_the_password_ends_the_other_sessions_only(db: &TestDb) {
    add_user(db, "zhao", "auditor").await;
    let accounts = accounts(db);
    accounts
        .set_password("zhao", GOOD, "cli:test", "cli")
        .await
        .unwrap();
    let here = accounts.sign_in("zhao", GOOD, "web").await.unwrap();
    let elsewhere = accounts.sign_in("zhao", GOOD, "web").await.unwrap();
    let user = accounts.session(here.id.secret()).await.unwrap().unwrap();
    let wrong = accounts
        .change_password(&user, "not it at all", "a new passphrase", "web")
        .await
        .unwrap_err();
    assert!(matches!(wrong, AuthError::WrongCurrentPassword));
    let weak = accounts
        .change_password(&user, GOOD, "police123", "web")
        .await
        .unwrap_err();
    assert!(matches!(weak, AuthError::Password(PasswordError::Common)));
    accounts
        .change_password(&user, GOOD, "a new passphrase", "web")
        .await
        .unwrap();
    assert!(accounts.session(here.id.secret()).await.unwrap().is_some());
    assert_eq!(accounts.session(elsewhere.id.secret()).await.unwrap(), None);
    assert!(accounts.sign_in("zhao", GOOD, "web").await.is_err());
    accounts
        .sign_in("zhao", "a new passphrase", "web")
        .await
        .unwrap();
}

async fn idle_and_absolute_limits_and_disabled_users_end_sessions(db: &TestDb) {
    add_user(db, "sun", "operator").await;
    let accounts = accounts(db);
    accounts
        .set_password("sun", GOOD, "cli:test", "cli")
        .await
        .unwrap();
    let idle = accounts.sign_in("sun", GOOD, "web").await.unwrap();
    let absolute = accounts.sign_in("sun", GOOD, "web").await.unwrap();
    let disabled = accounts.sign_in("sun", GOOD, "web").await.unwrap();
    let hash = idle.id.hash();
    db.raw(&format!(
        "UPDATE web_sessions SET last_seen_at = 0 WHERE id_hash = '{hash}'"
    ))
    .await
    .unwrap();
    let hash = absolute.id.hash();
    db.raw(&format!(
        "UPDATE web_sessions SET expires_at = 1 WHERE id_hash = '{hash}'"
    ))
    .await
    .unwrap();
    assert_eq!(accounts.session(idle.id.secret()).await.unwrap(), None);
    assert_eq!(accounts.session(absolute.id.secret()).await.unwrap(), None);
    assert!(
        accounts
            .session(disabled.id.secret())
            .await
            .unwrap()
            .is_some()
    );
    Directory::new(db.store.clone(), "86")
        .set_user_active("sun", false, "cli:test")
        .await
        .unwrap();
    assert_eq!(accounts.session(disabled.id.secret()).await.unwrap(), None);
    // The idle limit of an administrator is the shorter one.
    assert!(accounts.settings().admin_idle <= accounts.settings().idle);
}

async fn the_initial_administrator_is_created_once(db: &TestDb) {
    let accounts = accounts(db);
    let password = accounts.ensure_initial_admin().await.unwrap().unwrap();
    assert_eq!(accounts.ensure_initial_admin().await.unwrap(), None);
    let signed = accounts
        .sign_in(INITIAL_ADMIN, &password, "web")
        .await
        .unwrap();
    let user = accounts.session(signed.id.secret()).await.unwrap().unwrap();
    assert!(user.has_role("admin"));
}

async fn weaker_stored_hashes_are_replaced_at_sign_in(db: &TestDb) {
    use argon2::password_hash::{PasswordHasher, SaltString};
    add_user(db, "qian", "operator").await;
    let accounts = accounts(db);
    accounts
        .set_password("qian", GOOD, "cli:test", "cli")
        .await
        .unwrap();
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(1024, 1, 1, None).unwrap(),
    )
    .hash_password(
        GOOD.as_bytes(),
        &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
    )
    .unwrap()
    .to_string();
    // A PHC string holds no quote.
    db.raw(&format!("UPDATE web_accounts SET password_hash = '{weak}'"))
        .await
        .unwrap();
    accounts.sign_in("qian", GOOD, "web").await.unwrap();
    let stored = texts(db, "SELECT password_hash FROM web_accounts")
        .await
        .remove(0);
    assert!(stored.contains("m=19456,t=2,p=1"), "{stored}");
}

on_both_backends!(
    a_password_signs_in_and_the_session_identifies_the_user,
    unknown_user_wrong_password_and_locked_account_get_the_same_refusal,
    changing_the_password_ends_the_other_sessions_only,
    idle_and_absolute_limits_and_disabled_users_end_sessions,
    the_initial_administrator_is_created_once,
    weaker_stored_hashes_are_replaced_at_sign_in,
);
