//! Tests of the audit log on both backends ("Audit" in shared/docs/security-checklist.md:
//! append-only, hash chain that a check can verify, keyed so that a database owner cannot
//! re-hash it (issue 18 finding 7), reads of the log audited).

use std::collections::HashSet;

use serde_json::json;

use super::*;
use crate::audit::{AuditComponent, AuditEvent, AuditOutcome};
use crate::store::Backend;
use crate::store::test_db::TestDb;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

fn query_entry(n: i64, phone: &str, object: &str, outcome: AuditOutcome) -> AuditEntry {
    AuditEntry {
        at_ms: T0 + n,
        component: AuditComponent::Router,
        event: AuditEvent::Query,
        actor: Some("li.wei".into()),
        phone: Some(phone.into()),
        object: Some(object.into()),
        outcome,
        details: json!({ "plugin": "cp", "version": "1.0.0", "latency_ms": 3 }),
        source: Some("modem0".into()),
        request_id: Some(format!("req-{n}")),
    }
}

async fn append_n(log: &AuditLog, n: i64) {
    for i in 1..=n {
        log.append(query_entry(
            i,
            "+8613800000001",
            "CP 京A12345",
            AuditOutcome::Answered,
        ))
        .await
        .expect("append");
    }
}

/// Checklist "Audit": a hash chain that a check can verify.
async fn appended_rows_form_a_chain_that_verifies(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    assert_eq!(
        log.verify().await.unwrap(),
        ChainCheck {
            rows: 0,
            first_broken: None,
            broken_because: None,
            head_hash: None,
            keyed_from: None,
            keyed_rows: 0,
        }
    );
    append_n(&log, 5).await;
    let check = log.verify().await.unwrap();
    assert_eq!(check.rows, 5);
    assert!(check.is_intact(), "{check:?}");
    assert_eq!((check.keyed_from, check.keyed_rows), (Some(1), 5));
    let rows = log
        .list(
            &AuditFilter {
                oldest_first: true,
                ..AuditFilter::default()
            },
            "auditor",
        )
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(rows[0].prev_hash, GENESIS_HASH);
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(check.head_hash.as_deref(), Some(rows[4].hash.as_str()));
    assert_eq!(rows[2].details["plugin"], "cp");
    assert_eq!(rows[2].request_id.as_deref(), Some("req-3"));
}

/// Checklist "Audit": append-only for everyone — the database itself refuses UPDATE and DELETE.
async fn update_and_delete_are_refused_by_the_database(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    append_n(&log, 3).await;
    let update = db
        .raw("UPDATE audit_log SET outcome = 'not_found' WHERE id = 2")
        .await;
    assert!(update.is_err(), "UPDATE must fail: {update:?}");
    let err = update.unwrap_err().to_string();
    assert!(err.contains("append-only"), "{err}");
    let delete = db.raw("DELETE FROM audit_log WHERE id = 3").await;
    assert!(delete.is_err(), "DELETE must fail: {delete:?}");
    let delete_all = db.raw("DELETE FROM audit_log").await;
    assert!(delete_all.is_err(), "DELETE must fail: {delete_all:?}");
    if db.backend() == Backend::Postgres {
        let truncate = db.raw("TRUNCATE audit_log").await;
        assert!(truncate.is_err(), "TRUNCATE must fail: {truncate:?}");
    }
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM audit_log").await, 3);
    assert_eq!(
        db.raw_count("SELECT COUNT(*) FROM audit_log WHERE outcome = 'answered'")
            .await,
        3
    );
    assert!(log.verify().await.unwrap().is_intact());
}

/// Turns the append-only triggers off, as an attacker with full database rights could.
async fn drop_protection(db: &TestDb) {
    match db.backend() {
        Backend::Sqlite => {
            db.raw("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete")
                .await
                .expect("drop triggers");
        }
        Backend::Postgres => {
            db.raw("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
                .await
                .expect("disable trigger");
        }
    }
}

/// Checklist "Audit": a row changed behind the library's back is found by the check.
async fn a_row_tampered_with_by_raw_sql_is_detected(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    append_n(&log, 5).await;
    drop_protection(db).await;
    let changed = db
        .raw("UPDATE audit_log SET outcome = 'not_found' WHERE id = 3")
        .await
        .expect("tamper");
    assert_eq!(changed, 1);
    let check = log.verify().await.unwrap();
    assert_eq!(check.rows, 5);
    assert_eq!(check.first_broken, Some(3));
}

/// Checklist "Audit": a row removed from the middle is found too (its successor's link breaks).
async fn a_row_deleted_by_raw_sql_is_detected(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    append_n(&log, 5).await;
    drop_protection(db).await;
    db.raw("DELETE FROM audit_log WHERE id = 2")
        .await
        .expect("tamper");
    let check = log.verify().await.unwrap();
    assert_eq!(check.rows, 4);
    assert_eq!(check.first_broken, Some(3));
}

/// Concurrent writers in two "processes" (independent pools) extend one chain: no fork, no
/// duplicate id, no gap.
async fn concurrent_appends_keep_one_chain(db: &TestDb) {
    let other = db.connect_again().await;
    let mut tasks = Vec::new();
    for worker in 0..6_i64 {
        let store = if worker % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let log = AuditLog::new(store);
            let mut ids = Vec::new();
            for i in 0..20 {
                let id = log
                    .append(query_entry(
                        worker * 100 + i,
                        "+8613800000001",
                        "SFZ 1",
                        AuditOutcome::NotFound,
                    ))
                    .await
                    .expect("append");
                ids.push(id);
            }
            ids
        }));
    }
    let mut all = HashSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!(all.insert(id), "id {id} given twice");
        }
    }
    assert_eq!(all, (1..=120).collect::<HashSet<i64>>());
    let check = AuditLog::new(db.store.clone()).verify().await.unwrap();
    assert_eq!(check.rows, 120);
    assert!(check.is_intact(), "{check:?}");
    other.close().await;
}

/// Checklist "Audit": every read of the audit log is itself recorded, with who read.
async fn listing_writes_an_audit_read_row(db: &TestDb) {
    let log = AuditLog::new(db.store.clone()).with_source("cli");
    append_n(&log, 2).await;
    let filter = AuditFilter {
        keyword: Some("cp".into()),
        ..AuditFilter::default()
    };
    let rows = log.list(&filter, "cli:auditor").await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r.event == "query"),
        "the read row is not part of its own result"
    );
    let reads = log
        .list(
            &AuditFilter {
                event: Some(AuditEvent::AuditRead.to_string()),
                ..AuditFilter::default()
            },
            "cli:auditor",
        )
        .await
        .unwrap();
    assert_eq!(reads.len(), 1, "the first read is recorded: {reads:?}");
    let read = &reads[0];
    assert_eq!(read.actor.as_deref(), Some("cli:auditor"));
    assert_eq!(read.source.as_deref(), Some("cli"));
    assert_eq!(read.outcome, "ok");
    assert_eq!(read.details["filter"]["keyword"], "CP");
    assert_eq!(read.details["rows"], 2);
    assert_eq!(
        db.raw_count("SELECT COUNT(*) FROM audit_log WHERE event = 'audit.read'")
            .await,
        2
    );
    assert!(log.verify().await.unwrap().is_intact());
}

async fn filters_select_by_phone_keyword_time_and_order(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    log.append(query_entry(
        1,
        "+8613800000001",
        "CP 京A12345",
        AuditOutcome::Answered,
    ))
    .await
    .unwrap();
    log.append(query_entry(
        2,
        "+8613800000002",
        "CP 京Z99999",
        AuditOutcome::NotFound,
    ))
    .await
    .unwrap();
    log.append(query_entry(
        3,
        "+8613800000001",
        "CPX 1",
        AuditOutcome::Refused,
    ))
    .await
    .unwrap();
    log.append(query_entry(
        4,
        "+8613800000001",
        "ZT 张三",
        AuditOutcome::Answered,
    ))
    .await
    .unwrap();
    log.append(query_entry(5, "+8613800000001", "CP", AuditOutcome::Error))
        .await
        .unwrap();
    let ids = |rows: Vec<AuditRecord>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let by_phone = AuditFilter {
        phone: Some("+8613800000001".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(log.list(&by_phone, "a").await.unwrap()), [5, 4, 3, 1]);
    let cp = AuditFilter {
        keyword: Some("CP".into()),
        oldest_first: true,
        ..AuditFilter::default()
    };
    assert_eq!(
        ids(log.list(&cp, "a").await.unwrap()),
        [1, 2, 5],
        "CPX is another keyword"
    );
    let since = AuditFilter {
        since_ms: Some(T0 + 4),
        until_ms: Some(T0 + 5),
        ..AuditFilter::default()
    };
    assert_eq!(ids(log.list(&since, "a").await.unwrap()), [4]);
    let limited = AuditFilter {
        event: Some("query".into()),
        limit: 2,
        ..AuditFilter::default()
    };
    assert_eq!(ids(log.list(&limited, "a").await.unwrap()), [5, 4]);
}

/// Checklist: codes, passwords, session ids never appear in audit rows.
async fn secrets_named_in_details_are_redacted_before_storage(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    let entry = AuditEntry::new(
        AuditComponent::Web,
        AuditEvent::Signin,
        AuditOutcome::Refused,
    )
    .with_actor("wang")
    .with_details(json!({
        "password": "hunter22",
        "nested": { "Session_ID": "abc", "sms_code": "123456", "kept": "yes" },
        "list": [{ "api_key": "k" }],
        "csrf_token": "t"
    }));
    log.append(entry).await.unwrap();
    let rows = log
        .list(
            &AuditFilter {
                event: Some(AuditEvent::Signin.to_string()),
                ..AuditFilter::default()
            },
            "a",
        )
        .await
        .unwrap();
    let text = rows[0].details.to_string();
    for secret in ["hunter22", "\"abc\"", "123456", "\"k\"", "\"t\""] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(rows[0].details["nested"]["kept"], "yes");
    assert_eq!(rows[0].details["password"], "[redacted]");
}

async fn an_invalid_entry_writes_nothing(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    let mut bad = query_entry(1, "+8613800000001", "CP 1", AuditOutcome::Answered);
    bad.at_ms = 0;
    assert!(matches!(
        log.append(bad).await,
        Err(AuditError::InvalidEntry { field: "at_ms", .. })
    ));
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM audit_log").await, 0);
}

/// Issue 13: an oversized field (a hostile sender's or plugin's text) is cut, and the row is
/// written all the same, saying what was cut.
async fn an_oversized_entry_is_cut_never_dropped(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    let mut big = query_entry(1, "+8613800000001", "CP 1", AuditOutcome::Answered);
    big.object = Some("京".repeat(MAX_TEXT_CHARS + 10));
    big.details = serde_json::json!({ "reply": "x".repeat(MAX_DETAILS_BYTES + 1) });
    log.append(big).await.expect("written");
    let rows = log.list(&AuditFilter::default(), "a").await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.event == "query")
        .expect("the query row");
    let object = row.object.as_deref().unwrap();
    assert_eq!(object.chars().count(), MAX_TEXT_CHARS);
    assert!(object.ends_with('…'));
    assert_eq!(
        row.details["truncated"],
        serde_json::json!(["object", "details"])
    );
    assert!(row.details["details_bytes"].as_u64().unwrap() > MAX_DETAILS_BYTES as u64);
    assert_eq!(log.verify().await.unwrap().first_broken, None);
}

async fn a_batch_is_appended_whole_or_not_at_all(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    append_n(&log, 1).await;
    let batch: Vec<AuditEntry> = (2..=4)
        .map(|i| query_entry(i, "+8613800000002", "JZ 1", AuditOutcome::Answered))
        .collect();
    assert_eq!(log.append_many(batch.clone()).await.unwrap(), [2, 3, 4]);
    let mut bad = batch;
    bad[1].at_ms = 0;
    assert!(log.append_many(bad).await.is_err());
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM audit_log").await, 4);
    let check = log.verify().await.unwrap();
    assert_eq!((check.rows, check.first_broken), (4, None));
}

/// Every row from `from_id` on, re-hashed with plain SHA-256 exactly as the unkeyed encoding
/// (version one) does and re-linked, by raw SQL: what a database owner without the key file
/// can do after changing a row.
async fn rehash_without_the_key(db: &TestDb, from_id: i64) {
    let rows = db.store.audit_page(0, 1000).await.expect("rows");
    let mut prev = rows
        .iter()
        .find(|r| r.id == from_id - 1)
        .map_or(GENESIS_HASH.to_owned(), |r| r.hash.clone());
    for row in rows.iter().filter(|r| r.id >= from_id) {
        let hash = row.canonical().unkeyed_hash(&prev);
        db.raw(&format!(
            "UPDATE audit_log SET prev_hash = '{prev}', hash = '{hash}' WHERE id = {}",
            row.id
        ))
        .await
        .expect("re-hash");
        prev = hash;
    }
}

/// Issue 18 finding 7: a database owner drops the triggers, changes a row and recomputes every
/// later hash with plain SHA-256; without the key file the keyed rows no longer verify.
async fn a_row_changed_and_rehashed_without_the_key_is_a_keyed_chain_mismatch(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    append_n(&log, 5).await;
    drop_protection(db).await;
    db.raw("UPDATE audit_log SET outcome = 'not_found' WHERE id = 3")
        .await
        .expect("tamper");
    rehash_without_the_key(db, 3).await;
    let rows = db.store.audit_page(0, 10).await.unwrap();
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "the links were repaired");
    }
    let check = log.verify().await.unwrap();
    assert_eq!(check.rows, 5);
    assert_eq!(check.first_broken, Some(3), "{check:?}");
    assert_eq!(check.broken_because, Some(ChainBreak::KeyedHash));
}

/// Rows stored by a version without the key (plain SHA-256, no keying record), by raw SQL.
async fn insert_unkeyed_rows(db: &TestDb, n: i64) {
    let pool = sqlx::AnyPool::connect(&db.url).await.expect("connect");
    let mut prev = GENESIS_HASH.to_owned();
    for id in 1..=n {
        let entry = query_entry(id, "+8613800000009", "CP 京B00001", AuditOutcome::Answered)
            .prepare()
            .unwrap();
        let hash = entry.canonical(id).unkeyed_hash(&prev);
        sqlx::query(
            "INSERT INTO audit_log (id, at, component, event, actor, phone, object, outcome, \
             details, source, request_id, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(id)
        .bind(entry.at)
        .bind(entry.component)
        .bind(entry.event)
        .bind(&entry.actor)
        .bind(&entry.phone)
        .bind(&entry.object)
        .bind(entry.outcome)
        .bind(&entry.details)
        .bind(&entry.source)
        .bind(&entry.request_id)
        .bind(&prev)
        .bind(&hash)
        .execute(&pool)
        .await
        .expect("insert an unkeyed row");
        prev = hash;
    }
    pool.close().await;
}

/// A log written before the platform key existed verifies as it is (no history rewritten), and
/// the rows appended since are keyed, from the row after the last old one.
async fn a_log_written_before_keying_verifies_and_goes_on_keyed(db: &TestDb) {
    insert_unkeyed_rows(db, 3).await;
    let log = AuditLog::new(db.store.clone());
    let before = log.verify().await.unwrap();
    assert!(before.is_intact(), "{before:?}");
    assert_eq!(
        (before.rows, before.keyed_from, before.keyed_rows),
        (3, None, 0)
    );
    assert_eq!(db.store.audit_keyed_from().await.unwrap(), None);
    // As the daemon does at start: the key is checked before anything is keyed.
    db.store.audit_check_key().await.expect("nothing keyed yet");
    append_n(&log, 2).await;
    let after = log.verify().await.unwrap();
    assert!(after.is_intact(), "{after:?}");
    assert_eq!(
        (after.rows, after.keyed_from, after.keyed_rows),
        (5, Some(4), 2)
    );
    assert_eq!(db.store.audit_keyed_from().await.unwrap(), Some(4));
    let rows = db.store.audit_page(0, 10).await.unwrap();
    let key = db.store.audit_key().unwrap();
    for row in &rows[3..] {
        assert_eq!(row.hash, row.canonical().keyed_hash(&key, &row.prev_hash));
        assert_ne!(row.hash, row.canonical().unkeyed_hash(&row.prev_hash));
    }
    // Rewriting an old row and re-hashing the old rows after it is caught at the first keyed
    // row: the record of where keying starts covers the last old row's hash.
    drop_protection(db).await;
    db.raw("UPDATE audit_log SET outcome = 'refused' WHERE id = 2")
        .await
        .expect("tamper");
    rehash_without_the_key(db, 2).await;
    let check = log.verify().await.unwrap();
    assert_eq!(check.first_broken, Some(4), "{check:?}");
    assert_eq!(check.broken_because, Some(ChainBreak::KeyedFrom));
}

/// Another key file than the one the log was keyed with: verification reports the mismatch,
/// and the store refuses to extend the chain with it.
async fn another_key_reports_a_mismatch_and_cannot_append(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    append_n(&log, 3).await;
    let other = db
        .connect_again()
        .await
        .with_secrets(&crate::secrets::Secrets::from_bytes([0x5a; 32]));
    let wrong = AuditLog::new(other.clone());
    let check = wrong.verify().await.unwrap();
    assert_eq!(check.first_broken, Some(1), "{check:?}");
    assert_eq!(check.broken_because, Some(ChainBreak::KeyedFrom));
    assert!(matches!(
        other.audit_check_key().await,
        Err(StoreError::AuditKeyMismatch { keyed_from: 1 })
    ));
    let append = wrong
        .append(query_entry(
            9,
            "+8613800000001",
            "CP 1",
            AuditOutcome::Answered,
        ))
        .await;
    assert!(
        matches!(append, Err(AuditError::KeyMismatch { keyed_from: 1 })),
        "{append:?}"
    );
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM audit_log").await, 3);
    assert!(log.verify().await.unwrap().is_intact());
    db.store.audit_check_key().await.expect("the right key");
    other.close().await;
}

/// The record of where keying starts is append-only like the log.
async fn the_keying_record_cannot_be_changed_or_deleted(db: &TestDb) {
    let log = AuditLog::new(db.store.clone());
    append_n(&log, 1).await;
    let update = db.raw("UPDATE audit_chain_keyed SET keyed_from = 2").await;
    assert!(update.is_err(), "UPDATE must fail: {update:?}");
    let delete = db.raw("DELETE FROM audit_chain_keyed").await;
    assert!(delete.is_err(), "DELETE must fail: {delete:?}");
    assert_eq!(db.store.audit_keyed_from().await.unwrap(), Some(1));
}

crate::on_both_backends!(TestDb =>
    a_batch_is_appended_whole_or_not_at_all,
    appended_rows_form_a_chain_that_verifies,
    update_and_delete_are_refused_by_the_database,
    a_row_tampered_with_by_raw_sql_is_detected,
    a_row_deleted_by_raw_sql_is_detected,
    concurrent_appends_keep_one_chain,
    listing_writes_an_audit_read_row,
    filters_select_by_phone_keyword_time_and_order,
    secrets_named_in_details_are_redacted_before_storage,
    an_invalid_entry_writes_nothing,
    an_oversized_entry_is_cut_never_dropped,
    a_row_changed_and_rehashed_without_the_key_is_a_keyed_chain_mismatch,
    a_log_written_before_keying_verifies_and_goes_on_keyed,
    another_key_reports_a_mismatch_and_cannot_append,
    the_keying_record_cannot_be_changed_or_deleted,
);

#[test]
fn null_details_are_stored_as_an_empty_object() {
    let entry = AuditEntry::new(AuditComponent::Cli, AuditEvent::PhoneAdd, AuditOutcome::Ok)
        .with_details(serde_json::Value::Null);
    assert_eq!(entry.prepare().unwrap().details, "{}");
}

#[test]
fn filters_refuse_a_zero_or_huge_limit_and_wildcard_keywords() {
    for filter in [
        AuditFilter {
            limit: 0,
            ..AuditFilter::default()
        },
        AuditFilter {
            limit: MAX_LIST + 1,
            ..AuditFilter::default()
        },
        AuditFilter {
            keyword: Some("C%".into()),
            ..AuditFilter::default()
        },
        AuditFilter {
            keyword: Some("C_".into()),
            ..AuditFilter::default()
        },
    ] {
        assert!(filter.normalised().is_err(), "{filter:?}");
    }
}
