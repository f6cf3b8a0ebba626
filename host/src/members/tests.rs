//! Tests of members on both backends: accounts, one member per phone, caps, and the audit row
//! of every change (a bind names the phone).

use super::*;
use crate::audit::{AuditFilter, AuditLog};
use crate::store::test_db::TestDb;

const ADMIN: &str = "cli:root";
const T0: i64 = 1_765_000_000_000;

fn members(db: &TestDb) -> Members {
    Members::new(db.store.clone(), "86").with_source("cli")
}

async fn a_member_is_added_once_and_the_password_kept_only_as_a_hash(db: &TestDb) {
    let m = members(db);
    let added = m
        .add(
            "Wang.Fang",
            "王芳",
            Some("correct horse battery"),
            ADMIN,
            T0,
        )
        .await
        .expect("add");
    assert_eq!(added.login, "wang.fang");
    assert!(added.has_password && added.phone.is_none() && added.active);
    let hash = db.store.member_password_hash("wang.fang").await.unwrap();
    let hash = hash.expect("a hash is kept");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(crate::auth::password::verify_password(
        "correct horse battery",
        &hash
    ));
    let again = m.add("wang.fang", "王芳", None, ADMIN, T0).await;
    assert!(
        matches!(again, Err(MemberError::MemberExists(_))),
        "{again:?}"
    );
    let weak = m.add("li", "李", Some("12345678"), ADMIN, T0).await;
    assert!(
        matches!(weak, Err(MemberError::InvalidPassword(_))),
        "{weak:?}"
    );
    let without = m
        .add("zhao", "赵", None, ADMIN, T0)
        .await
        .expect("no password");
    assert!(!without.has_password);
}

async fn a_phone_binds_one_member(db: &TestDb) {
    let m = members(db);
    m.add("wang", "王", None, ADMIN, T0).await.unwrap();
    m.add("li", "李", None, ADMIN, T0).await.unwrap();
    let bound = m
        .bind("wang", "138 0000 0021", ADMIN, T0)
        .await
        .expect("bind");
    assert_eq!(bound.phone.as_deref(), Some("+8613800000021"));
    assert_eq!(bound.phone_bound_at, Some(T0));
    let taken = m.bind("li", "+8613800000021", ADMIN, T0).await;
    assert!(
        matches!(taken, Err(MemberError::PhoneTaken { .. })),
        "{taken:?}"
    );
    m.bind("wang", "13800000021", ADMIN, T0 + 1)
        .await
        .expect("binding the same phone again is fine");
    let moved = m.bind("wang", "13800000022", ADMIN, T0 + 2).await.unwrap();
    assert_eq!(moved.phone.as_deref(), Some("+8613800000022"));
    m.bind("li", "13800000021", ADMIN, T0 + 3)
        .await
        .expect("the phone wang left is free");
    let phones: Vec<_> = m
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.login, r.phone.unwrap_or_default()))
        .collect();
    assert_eq!(
        phones,
        [
            ("li".to_string(), "+8613800000021".to_string()),
            ("wang".to_string(), "+8613800000022".to_string())
        ]
    );
    let unknown = m.bind("nobody", "13800000023", ADMIN, T0).await;
    assert!(
        matches!(unknown, Err(MemberError::UnknownMember(_))),
        "{unknown:?}"
    );
    let rows = AuditLog::new(db.store.clone())
        .list(
            &AuditFilter {
                actor: Some(ADMIN.into()),
                oldest_first: true,
                ..AuditFilter::default()
            },
            "test",
        )
        .await
        .unwrap();
    let binds: Vec<_> = rows
        .iter()
        .filter(|r| r.event == "member.bind")
        .map(|r| r.phone.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        binds,
        [
            "+8613800000021",
            "+8613800000021",
            "+8613800000022",
            "+8613800000021"
        ]
    );
}

async fn caps_are_set_removed_and_bounded(db: &TestDb) {
    let m = members(db);
    m.add("wang", "王", None, ADMIN, T0).await.unwrap();
    m.set_cap("wang", CapPeriod::Daily, Some(3), ADMIN, T0)
        .await
        .unwrap();
    m.set_cap("wang", CapPeriod::Monthly, Some(50), ADMIN, T0)
        .await
        .unwrap();
    let wang = db.store.member("wang").await.unwrap().unwrap();
    assert_eq!((wang.daily_cap, wang.monthly_cap), (Some(3), Some(50)));
    m.set_cap("wang", CapPeriod::Daily, None, ADMIN, T0)
        .await
        .unwrap();
    let wang = db.store.member("wang").await.unwrap().unwrap();
    assert_eq!((wang.daily_cap, wang.monthly_cap), (None, Some(50)));
    let bad = m
        .set_cap("wang", CapPeriod::Daily, Some(-1), ADMIN, T0)
        .await;
    assert!(
        matches!(bad, Err(MemberError::InvalidCap { .. })),
        "{bad:?}"
    );
    let unknown = m
        .set_cap("nobody", CapPeriod::Daily, Some(1), ADMIN, T0)
        .await;
    assert!(
        matches!(unknown, Err(MemberError::UnknownMember(_))),
        "{unknown:?}"
    );
    assert!(m.billing(None).await.unwrap().is_empty());
}

crate::on_both_backends!(TestDb =>
    a_member_is_added_once_and_the_password_kept_only_as_a_hash,
    a_phone_binds_one_member,
    caps_are_set_removed_and_bounded,
);

#[test]
fn logins_and_months_are_read_or_refused() {
    assert_eq!(
        check_login(" Wang.Fang@163.com ").unwrap(),
        "wang.fang@163.com"
    );
    for bad in ["", "-x", "wang fang", "王芳"] {
        assert!(check_login(bad).is_err(), "{bad:?}");
    }
    assert_eq!(check_month("2026-12").unwrap(), "2026-12");
    for bad in ["2026-13", "2026-1", "202612", "2026-12-01"] {
        assert!(check_month(bad).is_err(), "{bad:?}");
    }
}
