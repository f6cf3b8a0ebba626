//! A retention run recorded in the audit log on both backends.

use super::*;
use crate::audit::AuditFilter;
use crate::store::test_db::TestDb;

/// "Now" of the tests: 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600_000;
/// Older than a year.
const OLD: i64 = NOW - 400 * 86_400_000;

crate::on_both_backends!(TestDb =>
    a_run_that_deletes_is_audited_and_an_empty_one_is_not,
);

fn policy() -> RetentionPolicy {
    RetentionPolicy::from_config(&crate::config::RetentionConfig::default())
}

async fn a_run_that_deletes_is_audited_and_an_empty_one_is_not(db: &TestDb) {
    // A failed outbound message, finished long ago.
    db.raw(&format!(
        "INSERT INTO messages (direction, peer, text, state, parts_total, created_at, \
         updated_at) VALUES ('out', '+8613800000001', 'text', 'failed', 1, {OLD}, {OLD})"
    ))
    .await
    .expect("insert message");
    let author = ChangeAuthor::daemon();
    let report = run_audited(&db.store, &policy(), NOW, &author)
        .await
        .unwrap();
    assert_eq!(report.messages, 1);
    let runs = AuditFilter {
        event: Some("retention.run".into()),
        ..AuditFilter::default()
    };
    let rows = AuditLog::new(db.store.clone())
        .list(&runs, "test")
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor.as_deref(), Some("jingxun"));
    assert_eq!(rows[0].details["deleted"]["messages"], 1);
    assert_eq!(rows[0].details["messages_days"], 365);
    let again = run_audited(&db.store, &policy(), NOW, &author)
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(
        db.raw_count("SELECT COUNT(*) FROM audit_log WHERE event = 'retention.run'")
            .await,
        1
    );
}
