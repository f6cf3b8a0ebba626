//! Retention on both backends: what goes, what stays, audit rows untouched; and the
//! `[retention]` configuration's limits.

use std::time::Duration;

use serde_json::json;
use sqlx::Row;

use super::*;
use crate::audit::{AuditEntry, AuditLog};
use crate::config::Config;
use crate::store::audit::{AuditComponent, AuditEvent, AuditOutcome};
use crate::store::test_db::TestDb;

/// "Now" of the tests: 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;
/// Older than a year.
const OLD: i64 = NOW - 400 * DAY;
/// Ten days old.
const YOUNG: i64 = NOW - 10 * DAY;

crate::on_both_backends!(TestDb =>
    old_finished_messages_go_with_their_parts_and_young_or_unfinished_ones_stay,
    audit_rows_are_never_deleted_and_still_verify,
    messages_are_deleted_in_transactions_of_at_most_a_batch,
    old_idempotency_records_and_finished_webhook_deliveries_go,
    finished_event_deliveries_and_fanned_out_host_events_go_pending_ones_stay,
    a_limit_of_zero_days_keeps_everything,
);

fn policy() -> RetentionPolicy {
    RetentionPolicy::from_config(&crate::config::RetentionConfig::default())
}

/// Inserts a message behind the library's back, created and last changed at `at`, routed
/// when `routed` (inbound only); returns its id.
async fn message(db: &TestDb, direction: &str, state: &str, at: i64, routed: bool) -> i64 {
    let routed_at = (direction == "in" && routed).then_some(at);
    let row = sqlx::query(
        "INSERT INTO messages (direction, peer, text, state, parts_total, created_at, \
         updated_at, routed_at) VALUES ($1, '+8613800000001', 'text', $2, 2, $3, $3, $4) \
         RETURNING id",
    )
    .bind(direction)
    .bind(state)
    .bind(at)
    .bind(routed_at)
    .fetch_one(&db.store.pool)
    .await
    .expect("insert message");
    let id: i64 = row.try_get(0).unwrap();
    for seq in 1..=2_i64 {
        if direction == "out" {
            sqlx::query(
                "INSERT INTO message_parts (message_id, seq, state, sent_at) \
                 VALUES ($1, $2, 'sent', $3)",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .execute(&db.store.pool)
            .await
            .expect("insert part");
        } else {
            sqlx::query(
                "INSERT INTO inbound_parts (modem, sender, concat_reference, parts_total, seq, \
                 raw_pdu, text, encoding, received_at, stored_at, message_id) \
                 VALUES ('m1', '+8613800000001', $1, 2, $2, '00', 'te', 'gsm7', $3, $3, $4)",
            )
            .bind(id % 65_536)
            .bind(seq)
            .bind(at)
            .bind(id)
            .execute(&db.store.pool)
            .await
            .expect("insert inbound part");
        }
    }
    id
}

async fn delivery(db: &TestDb, message_id: i64, state: &str, at: i64) {
    sqlx::query(
        "INSERT INTO api_webhook_deliveries (api_key, message_id, state, next_attempt_at, \
         created_at, updated_at) VALUES ('oa', $1, $2, $3, $3, $3)",
    )
    .bind(message_id)
    .bind(state)
    .bind(at)
    .execute(&db.store.pool)
    .await
    .expect("insert delivery");
}

async fn exists(db: &TestDb, id: i64) -> bool {
    db.raw_count(&format!("SELECT COUNT(*) FROM messages WHERE id = {id}"))
        .await
        == 1
}

async fn audit_rows(db: &TestDb, n: i64, at: i64) {
    let log = AuditLog::new(db.store.clone());
    for i in 0..n {
        let mut entry = AuditEntry::new(
            AuditComponent::Router,
            AuditEvent::Query,
            AuditOutcome::Answered,
        )
        .with_phone("+8613800000001")
        .with_object("CP 京A12345")
        .with_details(json!({ "n": i }));
        entry.at_ms = at + i;
        log.append(entry).await.expect("append audit row");
    }
}

async fn old_finished_messages_go_with_their_parts_and_young_or_unfinished_ones_stay(db: &TestDb) {
    let mut gone = Vec::new();
    for state in ["sent", "delivered", "failed", "expired"] {
        gone.push(message(db, "out", state, OLD, false).await);
    }
    gone.push(message(db, "in", "received", OLD, true).await);
    // A set that stayed incomplete is closed for good once routed.
    gone.push(message(db, "in", "partial", OLD, true).await);
    let mut kept = vec![
        message(db, "out", "queued", OLD, false).await,
        message(db, "out", "sending", OLD, false).await,
        // Not yet handled by the router.
        message(db, "in", "received", OLD, false).await,
        message(db, "out", "delivered", YOUNG, false).await,
        message(db, "in", "received", YOUNG, true).await,
    ];
    // A webhook still to be delivered keeps its message, whatever its age.
    let pending = message(db, "in", "received", OLD, true).await;
    delivery(db, pending, "pending", OLD).await;
    kept.push(pending);
    // What points at a deleted message goes with it.
    delivery(db, gone[4], "delivered", OLD).await;
    sqlx::query("INSERT INTO api_inbox (api_key, message_id, created_at) VALUES ('oa', $1, $2)")
        .bind(gone[4])
        .bind(OLD)
        .execute(&db.store.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO web_send_names (message_id, name) VALUES ($1, '张三')")
        .bind(gone[0])
        .execute(&db.store.pool)
        .await
        .unwrap();

    let report = db.store.run_retention(&policy(), NOW).await.unwrap();

    for id in &gone {
        assert!(!exists(db, *id).await, "message {id} should be deleted");
    }
    for id in &kept {
        assert!(exists(db, *id).await, "message {id} should be kept");
    }
    assert_eq!(report.messages, 6, "{report:?}");
    // Four outbound messages of two parts; two inbound ones of two PDUs.
    assert_eq!(report.message_parts, 8, "{report:?}");
    assert_eq!(report.inbound_parts, 4, "{report:?}");
    assert_eq!(report.webhook_deliveries, 1, "{report:?}");
    let ids = gone
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    for table in [
        "message_parts",
        "inbound_parts",
        "api_webhook_deliveries",
        "api_inbox",
        "web_send_names",
    ] {
        let left = db
            .raw_count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE message_id IN ({ids})"
            ))
            .await;
        assert_eq!(left, 0, "{table} still points at deleted messages");
    }
    let kept_parts = db.raw_count("SELECT COUNT(*) FROM message_parts").await
        + db.raw_count("SELECT COUNT(*) FROM inbound_parts").await;
    assert_eq!(
        kept_parts,
        2 * kept.len() as i64,
        "the kept messages keep their parts"
    );
    // A second run finds nothing more.
    let again = db.store.run_retention(&policy(), NOW).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
}

async fn audit_rows_are_never_deleted_and_still_verify(db: &TestDb) {
    audit_rows(db, 5, OLD - 3_000 * DAY).await;
    message(db, "out", "delivered", OLD, false).await;
    audit_rows(db, 2, YOUNG).await;
    let report = db.store.run_retention(&policy(), NOW).await.unwrap();
    assert_eq!(report.messages, 1);
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM audit_log").await, 7);
    let check = AuditLog::new(db.store.clone()).verify().await.unwrap();
    assert!(check.is_intact(), "{check:?}");
    assert_eq!(check.rows, 7);
}

async fn messages_are_deleted_in_transactions_of_at_most_a_batch(db: &TestDb) {
    for _ in 0..5 {
        message(db, "out", "delivered", OLD, false).await;
    }
    let small = RetentionPolicy {
        batch: 2,
        ..policy()
    };
    let report = db.store.run_retention(&small, NOW).await.unwrap();
    assert_eq!(report.messages, 5);
    assert_eq!(report.message_parts, 10);
    // Messages in 2 + 2 + 1; then one (empty) pass each over undecodable PDUs, idempotency
    // records, webhook deliveries, event deliveries and host events.
    assert_eq!(report.batches, 3 + 5, "{report:?}");
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM messages").await, 0);
}

async fn old_idempotency_records_and_finished_webhook_deliveries_go(db: &TestDb) {
    for (key, at) in [("a", OLD), ("b", NOW - 31 * DAY), ("c", NOW - 29 * DAY)] {
        sqlx::query(
            "INSERT INTO api_idempotency (api_key, idempotency_key, request_hash, response, \
             created_at) VALUES ('oa', $1, 'h', '{}', $2)",
        )
        .bind(key)
        .bind(at)
        .execute(&db.store.pool)
        .await
        .unwrap();
    }
    // Young messages: their deliveries go by their own limit (90 days).
    let young = message(db, "in", "received", YOUNG, true).await;
    let other = message(db, "in", "received", YOUNG, true).await;
    let third = message(db, "in", "received", YOUNG, true).await;
    sqlx::query(
        "INSERT INTO api_webhook_deliveries (api_key, message_id, state, next_attempt_at, \
         created_at, updated_at) VALUES ('oa', $1, 'delivered', 0, $2, $2), \
         ('crm', $1, 'abandoned', 0, $2, $2), ('oa', $3, 'delivered', 0, $4, $4), \
         ('oa', $5, 'pending', 0, $2, $2)",
    )
    .bind(young)
    .bind(NOW - 91 * DAY)
    .bind(other)
    .bind(NOW - 89 * DAY)
    .bind(third)
    .execute(&db.store.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO inbound_malformed (modem, raw_pdu, error, stored_at) \
         VALUES ('m1', 'ff', 'bad', $1), ('m1', 'fe', 'bad', $2)",
    )
    .bind(OLD)
    .bind(YOUNG)
    .execute(&db.store.pool)
    .await
    .unwrap();

    let report = db.store.run_retention(&policy(), NOW).await.unwrap();

    assert_eq!(report.idempotency_records, 2, "{report:?}");
    assert_eq!(report.webhook_deliveries, 2, "{report:?}");
    assert_eq!(report.malformed_pdus, 1, "{report:?}");
    assert_eq!(report.messages, 0, "{report:?}");
    let left = sqlx::query("SELECT idempotency_key FROM api_idempotency")
        .fetch_all(&db.store.pool)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].try_get::<String, _>(0).unwrap(), "c");
    let states = sqlx::query("SELECT state FROM api_webhook_deliveries ORDER BY id")
        .fetch_all(&db.store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        states,
        ["delivered", "pending"],
        "the young and the pending stay"
    );
}

async fn finished_event_deliveries_and_fanned_out_host_events_go_pending_ones_stay(db: &TestDb) {
    // (key, state, finished at): old done and failed ones go; a young one and a pending one stay.
    for (key, state, finished) in [
        ("a", "done", Some(NOW - 91 * DAY)),
        ("b", "failed", Some(NOW - 91 * DAY)),
        ("c", "done", Some(NOW - 89 * DAY)),
        ("d", "pending", None),
    ] {
        sqlx::query(
            "INSERT INTO plugin_events (plugin, event_key, kind, payload, occurred_at, state, \
             due_at, finished_at) VALUES ('p', $1, 'tick', '{}', $2, $3, $2, $4)",
        )
        .bind(key)
        .bind(OLD)
        .bind(state)
        .bind(finished)
        .execute(&db.store.pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO host_events (kind, payload, occurred_at, fanned_out_at) VALUES \
         ('application-changed', '{}', $1, $1), ('application-changed', '{}', $1, NULL)",
    )
    .bind(OLD)
    .execute(&db.store.pool)
    .await
    .unwrap();

    let report = db.store.run_retention(&policy(), NOW).await.unwrap();

    assert_eq!(
        (report.event_deliveries, report.host_events),
        (2, 1),
        "{report:?}"
    );
    let left: Vec<String> = sqlx::query("SELECT event_key FROM plugin_events ORDER BY event_key")
        .fetch_all(&db.store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    assert_eq!(left, ["c", "d"], "the young and the pending stay");
    assert_eq!(
        db.raw_count("SELECT COUNT(*) FROM host_events").await,
        1,
        "an event not yet fanned out stays"
    );
}

async fn a_limit_of_zero_days_keeps_everything(db: &TestDb) {
    message(db, "out", "delivered", OLD - 3_000 * DAY, false).await;
    sqlx::query(
        "INSERT INTO api_idempotency (api_key, idempotency_key, request_hash, response, \
         created_at) VALUES ('oa', 'k', 'h', '{}', $1)",
    )
    .bind(OLD)
    .execute(&db.store.pool)
    .await
    .unwrap();
    let config = Config::from_toml(
        "[retention]\nmessages_days = 0\nidempotency_days = 0\nwebhook_deliveries_days = 0\n\
         event_deliveries_days = 0\n",
    )
    .unwrap();
    let forever = RetentionPolicy::from_config(&config.retention);
    assert_eq!(forever.messages, None);
    let report = db.store.run_retention(&forever, NOW).await.unwrap();
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(report.batches, 0);
    assert_eq!(db.raw_count("SELECT COUNT(*) FROM messages").await, 1);
}

#[test]
fn keeping_audit_rows_less_than_a_year_is_refused_naming_the_key() {
    for days in [0, 30, 364] {
        let err = Config::from_toml(&format!("[retention]\naudit_days = {days}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("retention.audit_days"), "{err}");
        assert!(err.contains("365"), "{err}");
    }
    let config = Config::from_toml("[retention]\naudit_days = 3650\n").unwrap();
    assert_eq!(config.retention.audit_days, 3650);
}

#[test]
fn retention_defaults_keep_messages_a_year_and_refuse_a_week_or_less_of_messages() {
    let config = Config::from_toml("").unwrap().retention;
    assert_eq!(
        (
            config.messages_days,
            config.idempotency_days,
            config.webhook_deliveries_days,
            config.audit_days
        ),
        (365, 30, 90, 365)
    );
    assert_eq!(Config::embedded().retention, config);
    let policy = RetentionPolicy::from_config(&config);
    assert_eq!(policy.messages, Some(Duration::from_secs(365 * 86_400)));
    assert_eq!(policy.batch, BATCH);
    let err = Config::from_toml("[retention]\nmessages_days = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("retention.messages_days"), "{err}");
    let err = Config::from_toml("[retention]\nmessage_days = 30\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("message_days"), "{err}");
}
