//! Tests of the directory on both backends: identification for the router (R6, R2), grants to
//! roles and users, phone normalisation, and the audit row written with every change
//! ("Audit" and "Police queries" in shared/docs/security-checklist.md).

use std::collections::BTreeSet;

use super::*;
use crate::audit::{AuditFilter, AuditLog, AuditRecord};
use crate::store::Backend;
use crate::store::test_db::TestDb;

const ADMIN: &str = "cli:root";

fn directory(db: &TestDb) -> Directory {
    Directory::new(db.store.clone(), "86").with_source("cli")
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s, "86").expect("test number")
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The directory's audit rows, oldest first.
async fn changes(db: &TestDb) -> Vec<AuditRecord> {
    AuditLog::new(db.store.clone())
        .list(
            &AuditFilter {
                actor: Some(ADMIN.into()),
                oldest_first: true,
                ..AuditFilter::default()
            },
            "test",
        )
        .await
        .expect("list audit")
}

/// R2: businesses come from the user's roles and from the user's own grants; R6: the phone is
/// found whichever way the number is written.
async fn identify_returns_the_union_of_role_and_user_grants(db: &TestDb) {
    let dir = directory(db);
    dir.add_user("Li.Wei", "李伟", &["officer"], ADMIN)
        .await
        .unwrap();
    dir.grant(GrantTarget::User("li.wei".into()), "ccx", ADMIN)
        .await
        .unwrap();
    dir.add_phone("138 0000 0001", "李伟", Some("li.wei"), ADMIN)
        .await
        .unwrap();
    let id = dir
        .identify(&phone("+8613800000001"))
        .await
        .unwrap()
        .expect("registered");
    assert!(id.phone_active);
    assert_eq!(id.owner_name, "李伟");
    let user = id.user.as_ref().expect("bound to a user");
    assert_eq!(user.login, "li.wei");
    assert_eq!(user.roles, ["officer"]);
    assert_eq!(
        user.businesses,
        set(&["CCX", "CP", "JZ", "SFZ", "TXL", "ZT"])
    );
    for keyword in ["CP", "cp", " zt ", "CCX"] {
        assert!(id.may_use(keyword), "{keyword}");
    }
    assert!(!id.may_use("QQ"));
    // A role grant reaches every member at once.
    dir.grant(GrantTarget::Role("officer".into()), "crj", ADMIN)
        .await
        .unwrap();
    let id = dir.identify(&phone("13800000001")).await.unwrap().unwrap();
    assert!(id.may_use("CRJ"));
}

/// Checklist: only a registered, active phone of an active officer with the business gets data.
async fn a_disabled_phone_or_user_or_a_missing_grant_denies(db: &TestDb) {
    let dir = directory(db);
    dir.add_user("zhao", "赵六", &["registrar"], ADMIN)
        .await
        .unwrap();
    dir.add_user("qian", "钱七", &["officer"], ADMIN)
        .await
        .unwrap();
    dir.add_phone("13800000002", "赵六", Some("zhao"), ADMIN)
        .await
        .unwrap();
    dir.add_phone("13800000003", "钱七", Some("qian"), ADMIN)
        .await
        .unwrap();
    dir.add_phone("13800000004", "无主", None, ADMIN)
        .await
        .unwrap();
    let may = |n: &'static str, k: &'static str| {
        let dir = dir.clone();
        async move {
            dir.identify(&phone(n))
                .await
                .unwrap()
                .is_some_and(|id| id.may_use(k))
        }
    };
    assert!(!may("13800000002", "CP").await, "registrar holds no CP");
    assert!(may("13800000003", "CP").await);
    assert!(
        !may("13800000004", "CP").await,
        "a phone without a user gets nothing"
    );
    assert!(
        dir.identify(&phone("13900000009")).await.unwrap().is_none(),
        "unregistered"
    );

    dir.set_phone_active("+8613800000003", false, ADMIN)
        .await
        .unwrap();
    let id = dir.identify(&phone("13800000003")).await.unwrap().unwrap();
    assert!(!id.phone_active);
    assert!(!id.may_use("CP"), "disabled phone");
    dir.set_phone_active("13800000003", true, ADMIN)
        .await
        .unwrap();
    assert!(may("13800000003", "CP").await, "enabled again");

    dir.set_user_active("qian", false, ADMIN).await.unwrap();
    let id = dir.identify(&phone("13800000003")).await.unwrap().unwrap();
    assert!(!id.user.as_ref().unwrap().active);
    assert!(!id.may_use("CP"), "disabled user");
}

/// R6: `+8613800000001` and `13800000001` are one phone, registered once.
async fn one_phone_written_two_ways_is_registered_once(db: &TestDb) {
    let dir = directory(db);
    let canonical = dir
        .add_phone("+8613800000001", "李伟", None, ADMIN)
        .await
        .unwrap();
    assert_eq!(canonical.as_str(), "+8613800000001");
    let err = dir
        .add_phone("13800000001", "别人", None, ADMIN)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DirectoryError::PhoneExists { ref owner, .. } if owner == "李伟"),
        "{err}"
    );
    assert!(err.to_string().contains("jingxun phone remove"), "{err}");
    let phones = dir.phones().await.unwrap();
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0].number, "+8613800000001");
    assert!(phones[0].active && phones[0].disabled_at.is_none());

    dir.set_phone_active("8613800000001", false, ADMIN)
        .await
        .unwrap();
    let disabled = dir.phones().await.unwrap().remove(0);
    assert!(!disabled.active && disabled.disabled_at.is_some());
    dir.remove_phone("13800000001", ADMIN).await.unwrap();
    assert!(dir.phones().await.unwrap().is_empty());
    assert!(matches!(
        dir.remove_phone("13800000001", ADMIN).await,
        Err(DirectoryError::UnknownPhone(n)) if n == "+8613800000001"
    ));
    assert!(matches!(
        dir.add_phone("13800abc001", "x", None, ADMIN).await,
        Err(DirectoryError::InvalidPhone { .. })
    ));
}

/// Checklist "Audit": changes to users, phones and grants are recorded, with who and from where.
async fn every_change_writes_an_audit_row_with_the_actor(db: &TestDb) {
    let dir = directory(db);
    dir.add_user("li", "李伟", &["officer"], ADMIN)
        .await
        .unwrap();
    dir.grant(GrantTarget::User("li".into()), "CRJ", ADMIN)
        .await
        .unwrap();
    dir.grant(GrantTarget::User("li".into()), "crj", ADMIN)
        .await
        .unwrap();
    dir.revoke(GrantTarget::Role("officer".into()), "ZT", ADMIN)
        .await
        .unwrap();
    dir.set_user_role("li", "auditor", true, ADMIN)
        .await
        .unwrap();
    dir.add_phone("13800000001", "李伟", Some("li"), ADMIN)
        .await
        .unwrap();
    dir.set_phone_active("13800000001", false, ADMIN)
        .await
        .unwrap();
    dir.set_help_text("发送 CP 车牌号 查询车辆。", ADMIN)
        .await
        .unwrap();
    let rows = changes(db).await;
    let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "user.add",
            "user.grant",
            "user.grant",
            "role.revoke",
            "user.role.add",
            "phone.add",
            "phone.disable",
            "help_text.set"
        ]
    );
    assert!(rows.iter().all(|r| r.component == "directory"
        && r.outcome == "ok"
        && r.source.as_deref() == Some("cli")));
    assert_eq!(rows[0].object.as_deref(), Some("li"));
    assert_eq!(rows[0].details["roles"], serde_json::json!(["officer"]));
    assert_eq!(rows[1].details["keyword"], "CRJ");
    assert_eq!(rows[1].details["changed"], true);
    assert_eq!(
        rows[2].details["changed"], false,
        "a repeated grant changes nothing"
    );
    assert_eq!(rows[3].object.as_deref(), Some("officer"));
    assert_eq!(rows[5].phone.as_deref(), Some("+8613800000001"));
    assert_eq!(rows[5].details["user"], "li");
    assert!(
        AuditLog::new(db.store.clone())
            .verify()
            .await
            .unwrap()
            .is_intact()
    );
}

/// Checklist "Audit": if the audit row cannot be written, the change is not made.
async fn a_change_whose_audit_row_fails_is_not_made(db: &TestDb) {
    let dir = directory(db);
    let refuse_inserts = match db.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER audit_log_full BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'simulated disk full'); END"
        }
        Backend::Postgres => {
            "CREATE TRIGGER audit_log_full BEFORE INSERT ON audit_log \
             FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()"
        }
    };
    db.raw(refuse_inserts)
        .await
        .expect("create failing trigger");
    let err = dir
        .add_user("li", "李伟", &["officer"], ADMIN)
        .await
        .unwrap_err();
    assert!(matches!(err, DirectoryError::Audit(_)), "{err}");
    assert!(
        dir.users().await.unwrap().is_empty(),
        "the user was not created"
    );
    assert!(
        dir.add_phone("13800000001", "x", None, ADMIN)
            .await
            .is_err()
    );
    assert!(
        dir.phones().await.unwrap().is_empty(),
        "the phone was not registered"
    );
}

async fn errors_name_the_missing_thing_and_the_fix(db: &TestDb) {
    let dir = directory(db);
    let err = dir
        .add_phone("13800000001", "x", Some("ghost"), ADMIN)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DirectoryError::UnknownUser(ref l) if l == "ghost"),
        "{err}"
    );
    assert!(err.to_string().contains("jingxun user add"), "{err}");
    let err = dir
        .add_user("li", "李伟", &["sheriff"], ADMIN)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("officer"),
        "lists the known roles: {err}"
    );
    dir.add_user("li", "李伟", &["officer"], ADMIN)
        .await
        .unwrap();
    assert!(matches!(
        dir.add_user("LI", "重名", &[], ADMIN).await,
        Err(DirectoryError::UserExists(l)) if l == "li"
    ));
    let err = dir
        .revoke(GrantTarget::User("li".into()), "CP", ADMIN)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DirectoryError::NotGranted { ref via_roles, .. } if via_roles == &["officer"]),
        "{err}"
    );
    assert!(err.to_string().contains("officer"), "{err}");
    assert!(matches!(
        dir.grant(GrantTarget::Role("nobody".into()), "CP", ADMIN)
            .await,
        Err(DirectoryError::UnknownRole { .. })
    ));
    assert!(matches!(
        dir.grant(GrantTarget::User("li".into()), "C P", ADMIN)
            .await,
        Err(DirectoryError::InvalidKeyword(_))
    ));
    assert!(matches!(
        dir.set_user_role("li", "admin", false, ADMIN).await,
        Err(DirectoryError::NotInRole { .. })
    ));
    assert!(matches!(
        dir.set_user_active("ghost", false, ADMIN).await,
        Err(DirectoryError::UnknownUser(_))
    ));
    assert!(matches!(
        dir.add_user("wang", "王", &[], "  ").await,
        Err(DirectoryError::MissingActor)
    ));
    // None of the refused calls wrote an audit row: only the one user.add.
    assert_eq!(changes(db).await.len(), 1);
}

/// R2: users are listed with their roles, own grants, effective businesses and phones.
async fn users_and_roles_are_listed_with_their_grants(db: &TestDb) {
    let dir = directory(db);
    dir.add_user("li", "李伟", &["officer", "auditor"], ADMIN)
        .await
        .unwrap();
    dir.add_user("admin1", "管理员", &["admin"], ADMIN)
        .await
        .unwrap();
    dir.grant(GrantTarget::User("admin1".into()), "CP", ADMIN)
        .await
        .unwrap();
    dir.add_phone("13800000001", "李伟", Some("li"), ADMIN)
        .await
        .unwrap();
    let users = dir.users().await.unwrap();
    assert_eq!(
        users.iter().map(|u| u.login.as_str()).collect::<Vec<_>>(),
        ["admin1", "li"]
    );
    assert_eq!(users[0].grants, set(&["CP"]));
    assert_eq!(users[0].businesses, set(&["CP"]));
    assert_eq!(users[1].roles, ["auditor", "officer"]);
    assert!(users[1].grants.is_empty());
    assert_eq!(users[1].businesses, set(&["CP", "JZ", "SFZ", "TXL", "ZT"]));
    assert_eq!(users[1].phones, ["+8613800000001"]);
    let roles = dir.roles().await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["admin", "auditor", "officer", "operator", "registrar"]
    );
    assert!(roles.iter().all(|r| r.builtin));
    let builtin: BTreeSet<&str> = BuiltinRole::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names.iter().copied().collect::<BTreeSet<_>>(),
        builtin,
        "the database starts with exactly the built-in roles"
    );
    let officer = roles.iter().find(|r| r.name == "officer").unwrap();
    assert_eq!(officer.businesses, set(&["CP", "JZ", "SFZ", "TXL", "ZT"]));
    assert_eq!(officer.members, ["li"]);
}

/// R15: the administrator's help text, with a default until one is set.
async fn help_text_has_a_default_until_set(db: &TestDb) {
    let dir = directory(db);
    assert_eq!(dir.help_text().await.unwrap(), DEFAULT_HELP_TEXT);
    dir.set_help_text("  第一版  ", ADMIN).await.unwrap();
    dir.set_help_text("第二版：CP 车牌", "cli:wang")
        .await
        .unwrap();
    assert_eq!(dir.help_text().await.unwrap(), "第二版：CP 车牌");
    assert!(matches!(
        dir.set_help_text(" ", ADMIN).await,
        Err(DirectoryError::InvalidHelpText(_))
    ));
    let long = "字".repeat(MAX_HELP_TEXT_CHARS + 1);
    assert!(matches!(
        dir.set_help_text(&long, ADMIN).await,
        Err(DirectoryError::InvalidHelpText(_))
    ));
}

/// R2: an administrator's own role groups users and gives them its businesses; removing it
/// takes them away; built-in roles stay; both changes are audited with what they affected.
async fn a_role_of_the_administrators_own_gives_its_members_its_businesses(db: &TestDb) {
    let dir = directory(db);
    dir.add_role("Traffic", "交警支队", ADMIN).await.unwrap();
    assert!(matches!(
        dir.add_role("traffic", "", ADMIN).await,
        Err(DirectoryError::RoleExists(r)) if r == "traffic"
    ));
    dir.grant(GrantTarget::Role("traffic".into()), "jz", ADMIN)
        .await
        .unwrap();
    dir.add_user("zhao", "赵", &["traffic"], ADMIN)
        .await
        .unwrap();
    dir.add_phone("13800000002", "赵", Some("zhao"), ADMIN)
        .await
        .unwrap();
    let id = dir.identify(&phone("13800000002")).await.unwrap().unwrap();
    assert!(id.may_use("JZ") && !id.may_use("CP"));
    let roles = dir.roles().await.unwrap();
    let traffic = roles.iter().find(|r| r.name == "traffic").expect("listed");
    assert!(!traffic.builtin);
    assert_eq!(traffic.description, "交警支队");

    assert!(matches!(
        dir.remove_role("officer", ADMIN).await,
        Err(DirectoryError::BuiltinRole(r)) if r == "officer"
    ));
    dir.remove_role("traffic", ADMIN).await.unwrap();
    let id = dir.identify(&phone("13800000002")).await.unwrap().unwrap();
    assert!(!id.may_use("JZ"), "the members lost the role's businesses");
    assert!(id.user.unwrap().roles.is_empty());
    assert!(matches!(
        dir.remove_role("traffic", ADMIN).await,
        Err(DirectoryError::UnknownRole { .. })
    ));

    let rows = changes(db).await;
    let added = rows
        .iter()
        .find(|r| r.event == "role.add")
        .expect("role.add");
    assert_eq!(added.object.as_deref(), Some("traffic"));
    let removed = rows
        .iter()
        .find(|r| r.event == "role.remove")
        .expect("role.remove");
    assert_eq!(removed.details["members"], serde_json::json!(["zhao"]));
    assert_eq!(removed.details["businesses"], serde_json::json!(["JZ"]));
}

crate::on_both_backends!(TestDb =>
    a_role_of_the_administrators_own_gives_its_members_its_businesses,
    identify_returns_the_union_of_role_and_user_grants,
    a_disabled_phone_or_user_or_a_missing_grant_denies,
    one_phone_written_two_ways_is_registered_once,
    every_change_writes_an_audit_row_with_the_actor,
    a_change_whose_audit_row_fails_is_not_made,
    errors_name_the_missing_thing_and_the_fix,
    users_and_roles_are_listed_with_their_grants,
    help_text_has_a_default_until_set,
);

#[test]
fn logins_and_keywords_are_normalised_or_refused() {
    assert_eq!(check_login("login", " Li.Wei@PSB ").unwrap(), "li.wei@psb");
    for bad in ["", "-li", "li wei", "李伟", &"a".repeat(65)] {
        assert!(check_login("login", bad).is_err(), "{bad:?}");
    }
    assert_eq!(check_keyword(" sfz ").unwrap(), "SFZ");
    for bad in ["", "C P", "C%", "ABCDEFGHIJKLMNOPQ"] {
        assert!(check_keyword(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_phone_without_a_user_may_use_nothing() {
    let id = PhoneIdentity {
        phone: phone("13800000001"),
        phone_active: true,
        owner_name: "x".into(),
        user: None,
    };
    assert!(!id.may_use("CP"));
}
