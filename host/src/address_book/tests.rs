//! Tests of the address book on both backends (R21): nesting to any depth, several numbers per
//! contact, groups of contacts and departments, recipients resolved once each, the rules that
//! keep the tree a tree, and the audit row of every change.

use super::*;
use crate::audit::{AuditFilter, AuditLog};
use crate::store::test_db::TestDb;

const ACTOR: &str = "web:admin";

fn book(db: &TestDb) -> Book {
    Book::new(db.store.clone(), "86")
}

async fn nesting_contacts_and_groups_resolve_each_person_once(db: &TestDb) {
    let b = book(db);
    let city = b.save_department(None, None, "市局", ACTOR).await.unwrap();
    let command = b
        .save_department(None, Some(city), "指挥中心", ACTOR)
        .await
        .unwrap();
    let team = b
        .save_department(None, Some(command), "一组", ACTOR)
        .await
        .unwrap();
    let traffic = b
        .save_department(None, Some(city), "交警支队", ACTOR)
        .await
        .unwrap();
    let wang = b
        .save_contact(
            None,
            "王伟",
            "组长",
            Some(team),
            "13800000001，0086 139 0000 0002",
            ACTOR,
        )
        .await
        .unwrap();
    let li = b
        .save_contact(None, "李娜", "", Some(command), "13800000003", ACTOR)
        .await
        .unwrap();
    let zhao = b
        .save_contact(None, "赵强", "", Some(traffic), "13800000004", ACTOR)
        .await
        .unwrap();
    let loose = b
        .save_contact(None, "孙红", "", None, "13800000005", ACTOR)
        .await
        .unwrap();

    let snapshot = b.snapshot().await.unwrap();
    let order: Vec<&str> = snapshot
        .departments
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(
        order,
        ["市局", "交警支队", "指挥中心", "一组"],
        "parents first, siblings by name"
    );
    let w = snapshot.contacts.iter().find(|c| c.id == wang).unwrap();
    assert_eq!(w.numbers, ["+8613800000001", "+8613900000002"]);

    // A department includes everything below it (its own people first, then each
    // sub-department's); a person comes once however often picked.
    let picked = b.recipients(&[command], &[], &[wang, loose]).await.unwrap();
    let names: Vec<&str> = picked.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["李娜", "王伟", "孙红"]);
    assert_eq!(
        picked[1].number, "+8613800000001",
        "the first number is the one sent to"
    );

    let group = b.save_group(None, "值班", ACTOR).await.unwrap();
    b.set_group_member(group, Member::Department(traffic), true, ACTOR)
        .await
        .unwrap();
    b.set_group_member(group, Member::Contact(li), true, ACTOR)
        .await
        .unwrap();
    // Adding the same member twice keeps one membership.
    b.set_group_member(group, Member::Contact(li), true, ACTOR)
        .await
        .unwrap();
    let picked = b.recipients(&[], &[group], &[li]).await.unwrap();
    let names: Vec<&str> = picked.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["赵强", "李娜"]);
    let g = &b.snapshot().await.unwrap().groups[0];
    assert_eq!(
        (g.contacts.clone(), g.departments.clone()),
        (vec![li], vec![traffic])
    );

    b.set_group_member(group, Member::Contact(li), false, ACTOR)
        .await
        .unwrap();
    b.delete_contact(zhao, ACTOR).await.unwrap();
    assert!(b.recipients(&[], &[group], &[]).await.unwrap().is_empty());

    let rows = AuditLog::new(db.store.clone())
        .list(
            &AuditFilter {
                actor: Some(ACTOR.into()),
                ..AuditFilter::default()
            },
            "test",
        )
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.component == "address_book"));
    assert_eq!(rows.len(), 14, "one audit row per change");
}

async fn the_tree_stays_a_tree_and_bad_input_is_refused(db: &TestDb) {
    let b = book(db);
    let top = b.save_department(None, None, "市局", ACTOR).await.unwrap();
    let child = b
        .save_department(None, Some(top), "一组", ACTOR)
        .await
        .unwrap();
    assert!(matches!(
        b.save_department(Some(top), Some(child), "市局", ACTOR)
            .await,
        Err(AddressBookError::DepartmentCycle)
    ));
    assert!(matches!(
        b.save_department(Some(top), Some(top), "市局", ACTOR).await,
        Err(AddressBookError::DepartmentCycle)
    ));
    assert!(matches!(
        b.save_department(None, Some(top), "一组", ACTOR).await,
        Err(AddressBookError::DepartmentExists(_))
    ));
    assert!(matches!(
        b.save_department(None, None, "  ", ACTOR).await,
        Err(AddressBookError::InvalidName { .. })
    ));
    assert!(matches!(
        b.delete_department(top, ACTOR).await,
        Err(AddressBookError::DepartmentNotEmpty(_))
    ));
    assert!(matches!(
        b.save_contact(None, "王伟", "", Some(child), "138abc", ACTOR)
            .await,
        Err(AddressBookError::InvalidPhone { .. })
    ));
    assert!(matches!(
        b.save_contact(None, "王伟", "", Some(child), " ,", ACTOR)
            .await,
        Err(AddressBookError::NoNumbers)
    ));
    assert!(matches!(
        b.save_contact(None, "王伟", "", Some(999), "13800000001", ACTOR)
            .await,
        Err(AddressBookError::NotFound { .. })
    ));
    let six = "13800000001,13800000002,13800000003,13800000004,13800000005,13800000006";
    assert!(matches!(
        b.save_contact(None, "王伟", "", None, six, ACTOR).await,
        Err(AddressBookError::TooManyNumbers)
    ));
    b.save_group(None, "值班", ACTOR).await.unwrap();
    assert!(matches!(
        b.save_group(None, "值班", ACTOR).await,
        Err(AddressBookError::GroupExists(_))
    ));
    // Moving a department elsewhere and deleting an empty one work.
    let other = b.save_department(None, None, "交警", ACTOR).await.unwrap();
    b.save_department(Some(child), Some(other), "一组", ACTOR)
        .await
        .unwrap();
    b.delete_department(top, ACTOR).await.unwrap();
    let names: Vec<String> = b
        .snapshot()
        .await
        .unwrap()
        .departments
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["交警", "一组"]);
}

/// `jingxun contact add --department 市局/刑侦支队`: the path's departments are found or
/// created, once, under each other.
async fn a_department_path_is_found_or_created_level_by_level(db: &TestDb) {
    let b = book(db);
    let team = b
        .department_at_path(" 市局 / 刑侦支队 ", ACTOR)
        .await
        .unwrap()
        .expect("a department");
    let again = b.department_at_path("市局/刑侦支队", ACTOR).await.unwrap();
    assert_eq!(again, Some(team));
    let traffic = b.department_at_path("市局/交警支队", ACTOR).await.unwrap();
    let snapshot = b.snapshot().await.unwrap();
    assert_eq!(snapshot.departments.len(), 3, "{:?}", snapshot.departments);
    assert_eq!(snapshot.department_path(Some(team)), ["市局", "刑侦支队"]);
    assert_eq!(snapshot.department_path(traffic), ["市局", "交警支队"]);
    assert_eq!(b.department_at_path(" / ", ACTOR).await.unwrap(), None);
}

/// The `directory` capability's look-up (TXL): names containing the text, the exact one first,
/// at most the limit but the total counted, with the department's path; LIKE's wildcards in
/// the text are plain characters.
async fn people_are_found_by_part_of_their_name_exact_match_first(db: &TestDb) {
    let b = book(db);
    let team = b.department_at_path("市局/刑侦支队", ACTOR).await.unwrap();
    for (name, number) in [
        ("张三丰", "13800000102"),
        ("张三", "13800000101"),
        ("李张三", "13800000103"),
        ("王五", "13800000104"),
        ("100%_王", "13800000105"),
    ] {
        b.save_contact(None, name, "", team, number, ACTOR)
            .await
            .unwrap();
    }
    let found = db.store.address_book_find("张三", 2).await.unwrap();
    assert_eq!(found.total, 3);
    let names: Vec<&str> = found
        .people
        .iter()
        .map(|p| p.contact.name.as_str())
        .collect();
    assert_eq!(names, ["张三", "张三丰"]);
    assert_eq!(found.people[0].department_path, ["市局", "刑侦支队"]);
    assert_eq!(found.people[0].contact.numbers, ["+8613800000101"]);
    let wild = db.store.address_book_find("%_", 10).await.unwrap();
    assert_eq!(wild.total, 1, "{wild:?}");
    assert_eq!(wild.people[0].contact.name, "100%_王");
    assert_eq!(
        db.store.address_book_find("赵六", 10).await.unwrap().total,
        0
    );
}

crate::on_both_backends!(TestDb =>
    nesting_contacts_and_groups_resolve_each_person_once,
    the_tree_stays_a_tree_and_bad_input_is_refused,
    a_department_path_is_found_or_created_level_by_level,
    people_are_found_by_part_of_their_name_exact_match_first,
);
