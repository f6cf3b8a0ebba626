//! Tests of the message store. Every behaviour runs on SQLite (a file in a temporary
//! directory) and, when `JINGXUN_TEST_POSTGRES_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`), on PostgreSQL in a schema of its own that is
//! dropped afterwards. Checklist references: "Durability and faults" of
//! shared/docs/security-checklist.md.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sqlx::Row;

use super::test_db::TestDb;
use super::*;
use crate::sms::Encoding;

/// A fixed "now" for deterministic tests (2026-01-01T00:00:00Z).
const T0: i64 = 1_767_225_600_000;
const LEASE: Duration = Duration::from_secs(30);

crate::on_both_backends!(TestDb =>
    dollar_placeholders_bind_by_index,
    enqueue_claim_send_cycle_reaches_sent,
    claims_follow_priority_then_age_and_respect_send_time,
    concurrent_claimers_never_get_the_same_message,
    expired_lease_is_reclaimed_and_only_unsent_parts_remain,
    retries_end_in_a_visible_dead_letter_after_max_attempts,
    a_released_claim_costs_no_attempt,
    holder_dying_on_every_attempt_ends_in_dead_letter,
    expired_validity_is_never_claimed,
    delivered_only_after_all_three_part_reports,
    one_failed_part_fails_the_message,
    reports_arriving_before_mark_sent_are_kept,
    unknown_or_old_message_reference_matches_nothing,
    a_wrapped_reference_report_goes_only_to_the_part_sent_to_its_recipient,
    a_report_arriving_before_its_part_is_recorded_is_applied_once_it_is,
    a_report_matching_only_an_already_reported_part_waits_for_a_newer_one,
    mark_sent_refuses_while_parts_are_unsent,
    record_part_sent_refuses_a_different_split,
    the_database_refuses_an_encoding_the_code_does_not_know,
    inbound_out_of_order_and_duplicate_parts_assemble_once,
    reference_reused_later_creates_a_second_message,
    reference_reused_before_completion_closes_the_old_set_as_partial,
    stale_partial_is_flushed_as_partial_with_gaps_marked,
    single_part_inbound_keeps_its_raw_pdu,
    an_alphanumeric_sender_is_stored_marked_and_kept_apart_from_the_same_digits_as_a_number,
    an_emoji_cut_between_two_ucs2_parts_is_whole_in_the_message,
    genuinely_new_identical_single_sms_is_not_a_duplicate,
    list_messages_filters_and_pages,
    enqueue_of_ten_thousand_recipients_commits_in_one_transaction,
    enqueue_is_all_or_nothing,
    holder_killed_with_sigkill_at_each_step_leaves_only_unsent_parts,
    undecodable_pdus_are_kept_once_with_their_reason,
    a_checkpoint_copies_every_committed_page_back_and_loses_nothing,
);

fn msg(peer: &str, text: &str) -> NewOutbound {
    NewOutbound::new(peer, text)
}

async fn get(store: &Store, id: MessageId) -> (MessageRecord, Vec<PartRecord>) {
    store
        .message(id)
        .await
        .expect("read message")
        .expect("message exists")
}

/// Sends all unsent parts of `claimed` (split into `total`), starting TP-MR at `first_mr`.
async fn send_parts(store: &Store, claimed: &ClaimedMessage, total: u8, first_mr: u8, now: i64) {
    for seq in 1..=total {
        if !claimed.is_part_sent(seq) {
            store
                .record_part_sent(
                    claimed.id,
                    seq,
                    total,
                    "m1",
                    first_mr + seq - 1,
                    Encoding::Ucs2,
                    now,
                )
                .await
                .expect("record part");
        }
    }
}

/// sqlx-sqlite binds `$N` by number, not by position, so one query text serves both backends.
async fn dollar_placeholders_bind_by_index(db: &TestDb) {
    let row = sqlx::query("SELECT $2 AS b, $1 AS a, $1 + $2 AS s")
        .bind(10_i64)
        .bind(20_i64)
        .fetch_one(&db.store.pool)
        .await
        .expect("query");
    assert_eq!(row.try_get::<i64, _>("b").unwrap(), 20);
    assert_eq!(row.try_get::<i64, _>("a").unwrap(), 10);
    assert_eq!(row.try_get::<i64, _>("s").unwrap(), 30);
}

async fn enqueue_claim_send_cycle_reaches_sent(db: &TestDb) {
    let s = &db.store;
    let mut m = msg("13800000001", "你好，会议改到下午三点。");
    m.service_number = Some("10086110".into());
    m.status_report = true;
    m.batch_id = Some("b1".into());
    let ids = s.enqueue_at(&[m], T0).await.unwrap();
    assert_eq!(ids.len(), 1);
    let id = ids[0];
    assert_eq!(s.queue_depths().await.unwrap().queued, 1);

    let claimed = s.claim_outbound("w1", 10, LEASE, T0).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let c = &claimed[0];
    assert_eq!((c.id, c.attempts, c.status_report), (id, 1, true));
    assert_eq!(c.peer, "13800000001");
    assert_eq!(c.service_number.as_deref(), Some("10086110"));
    assert!(c.sent_parts.is_empty());
    let (record, _) = get(s, id).await;
    assert_eq!(record.state, MessageState::Sending);
    assert_eq!(record.lease_owner.as_deref(), Some("w1"));
    assert_eq!(record.lease_until, Some(T0 + 30_000));
    assert_eq!(record.concat_reference.unwrap(), c.concat_reference);

    // Nothing else to claim while the lease holds.
    assert!(
        s.claim_outbound("w2", 10, LEASE, T0 + 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.renew_lease(id, "w1", LEASE, T0 + 20_000).await.unwrap());
    assert!(!s.renew_lease(id, "w2", LEASE, T0 + 20_000).await.unwrap());

    send_parts(s, c, 2, 7, T0 + 1_000).await;
    s.mark_sent(id, "w1", T0 + 2_000).await.unwrap();
    let (record, parts) = get(s, id).await;
    assert_eq!(record.state, MessageState::Sent);
    assert_eq!(record.sent_at, Some(T0 + 2_000));
    assert_eq!(record.parts_total, Some(2));
    assert_eq!(record.encoding, Some(Encoding::Ucs2));
    assert_eq!(record.modem.as_deref(), Some("m1"));
    assert_eq!(record.lease_owner, None);
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| p.state == PartState::Sent));
    assert_eq!(parts[1].message_reference, Some(8));
    let depths = s.queue_depths().await.unwrap();
    assert_eq!((depths.queued, depths.sending, depths.sent), (0, 0, 1));
    // A finished message cannot be finished again.
    assert!(matches!(
        s.mark_sent(id, "w1", T0 + 3_000).await,
        Err(StoreError::LeaseLost { .. })
    ));
}

async fn claims_follow_priority_then_age_and_respect_send_time(db: &TestDb) {
    let s = &db.store;
    let mut later = msg("1", "later");
    later.send_at_ms = Some(T0 + 60_000);
    let mut urgent = msg("2", "urgent");
    urgent.priority = 5;
    let ids = s
        .enqueue_at(&[msg("3", "old"), later, urgent, msg("4", "new")], T0)
        .await
        .unwrap();
    let long_lease = Duration::from_secs(600);
    let claimed = s.claim_outbound("w", 10, long_lease, T0).await.unwrap();
    let order: Vec<_> = claimed.iter().map(|c| c.id).collect();
    assert_eq!(order, vec![ids[2], ids[0], ids[3]]);
    assert!(
        s.claim_outbound("w", 10, long_lease, T0 + 59_999)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = s
        .claim_outbound("w", 10, long_lease, T0 + 60_000)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    // Concatenation references of one batch differ.
    let references: HashSet<_> = ids
        .iter()
        .map(|id| async move { get(s, *id).await.0.concat_reference })
        .collect::<futures::future::JoinAll<_>>()
        .await
        .into_iter()
        .collect();
    assert_eq!(references.len(), 4);
}

/// Checklist: claim work inside `BEGIN IMMEDIATE` / `FOR UPDATE SKIP LOCKED`.
async fn concurrent_claimers_never_get_the_same_message(db: &TestDb) {
    const N: usize = 300;
    let batch: Vec<_> = (0..N).map(|i| msg(&format!("139{i:08}"), "通知")).collect();
    let ids = db.store.enqueue_at(&batch, T0).await.unwrap();
    let other = db.connect_again().await;
    // The workers claim in lock-step rounds (all four at once each round, two on each pool), so
    // that they really contend for the same rows however the threads are scheduled; enough
    // rounds to drain the queue.
    const WORKERS: usize = 4;
    const PER_CLAIM: usize = 7;
    let rounds = N.div_ceil(WORKERS * PER_CLAIM) + 2;
    let start_line = std::sync::Arc::new(tokio::sync::Barrier::new(WORKERS));
    let mut workers = Vec::new();
    for (w, store) in [
        db.store.clone(),
        db.store.clone(),
        other.clone(),
        other.clone(),
    ]
    .into_iter()
    .enumerate()
    {
        let start_line = start_line.clone();
        workers.push(tokio::spawn(async move {
            let owner = format!("worker-{w}");
            let mut got = Vec::new();
            for _ in 0..rounds {
                start_line.wait().await;
                let claimed = store
                    .claim_outbound(&owner, PER_CLAIM as u32, LEASE, T0)
                    .await
                    .unwrap();
                got.extend(claimed.iter().map(|c| c.id));
            }
            got
        }));
    }
    let mut all = Vec::new();
    let mut busy_workers = 0;
    for worker in workers {
        let got = worker.await.unwrap();
        busy_workers += usize::from(!got.is_empty());
        all.extend(got);
    }
    let unique: HashSet<_> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a message was handed out twice");
    assert_eq!(unique, ids.into_iter().collect::<HashSet<_>>());
    assert!(busy_workers >= 2, "the claimers did not run concurrently");
    other.close().await;
}

/// Checklist: a lease holder killed. The holder "dies" after two of three parts: it never calls
/// anything again. (`kill9_holder_*` below does it with a real SIGKILL.)
async fn expired_lease_is_reclaimed_and_only_unsent_parts_remain(db: &TestDb) {
    let s = &db.store;
    let id = s
        .enqueue_at(&[msg("13800000002", "long")], T0)
        .await
        .unwrap()[0];
    let first = s.claim_outbound("dead", 1, LEASE, T0).await.unwrap();
    s.record_part_sent(id, 1, 3, "m1", 40, Encoding::Gsm7, T0 + 1)
        .await
        .unwrap();
    s.record_part_sent(id, 2, 3, "m1", 41, Encoding::Gsm7, T0 + 2)
        .await
        .unwrap();
    assert_eq!(first[0].attempts, 1);

    assert!(
        s.claim_outbound("heir", 1, LEASE, T0 + 29_999)
            .await
            .unwrap()
            .is_empty()
    );
    let again = s
        .claim_outbound("heir", 1, LEASE, T0 + 30_001)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let c = &again[0];
    assert_eq!((c.id, c.attempts, c.parts_total), (id, 2, Some(3)));
    assert_eq!(c.encoding, Some(Encoding::Gsm7));
    assert_eq!(
        c.sent_parts
            .iter()
            .map(|p| (p.seq, p.message_reference))
            .collect::<Vec<_>>(),
        vec![(1, Some(40)), (2, Some(41))]
    );
    assert!(!c.is_part_sent(3));

    // The old holder, if it comes back, has lost the message.
    assert!(!s.renew_lease(id, "dead", LEASE, T0 + 30_002).await.unwrap());
    assert!(matches!(
        s.mark_sent(id, "dead", T0 + 30_002).await,
        Err(StoreError::LeaseLost { .. })
    ));
    s.record_part_sent(id, 3, 3, "m1", 42, Encoding::Gsm7, T0 + 30_003)
        .await
        .unwrap();
    s.mark_sent(id, "heir", T0 + 30_004).await.unwrap();
    assert_eq!(get(s, id).await.0.state, MessageState::Sent);
}

/// Checklist: a message that always fails ends in a visible dead-letter state.
/// A message no modem could take (its service number has no ready modem) waits without
/// using up its attempts, however often it is handed back.
async fn a_released_claim_costs_no_attempt(db: &TestDb) {
    let s = &db.store;
    let mut m = msg("13800000004", "x");
    m.max_attempts = 1;
    m.service_number = Some("10690110".into());
    let id = s.enqueue_at(&[m], T0).await.unwrap()[0];
    let mut now = T0;
    for _ in 0..5 {
        let claimed = s.claim_outbound("w", 1, LEASE, now).await.unwrap();
        assert_eq!((claimed.len(), claimed[0].attempts), (1, 1));
        s.release_claim(
            id,
            "w",
            "waiting for a ready modem with service number 10690110",
            now + 5_000,
            now + 1,
        )
        .await
        .unwrap();
        assert!(
            s.claim_outbound("w", 1, LEASE, now + 10)
                .await
                .unwrap()
                .is_empty(),
            "not due before the pause ends"
        );
        now += 5_000;
    }
    let (record, _) = get(s, id).await;
    assert_eq!((record.state, record.attempts), (MessageState::Queued, 0));
    assert!(record.last_error.unwrap_or_default().contains("10690110"));
}

async fn retries_end_in_a_visible_dead_letter_after_max_attempts(db: &TestDb) {
    let s = &db.store;
    let mut m = msg("13800000003", "x");
    m.max_attempts = 3;
    let id = s.enqueue_at(&[m], T0).await.unwrap()[0];
    let mut now = T0;
    for attempt in 1..=3 {
        let claimed = s.claim_outbound("w", 1, LEASE, now).await.unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        assert_eq!(claimed[0].attempts, attempt);
        s.mark_retry(id, "w", "+CMS ERROR: 500", now + 10_000, now + 1)
            .await
            .unwrap();
        let (record, _) = get(s, id).await;
        if attempt < 3 {
            assert_eq!(record.state, MessageState::Queued);
            assert_eq!(record.next_attempt_at, Some(now + 10_000));
            assert_eq!(record.last_error.as_deref(), Some("+CMS ERROR: 500"));
            // Not due before next_attempt_at.
            assert!(
                s.claim_outbound("w", 1, LEASE, now + 9_999)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        now += 10_000;
    }
    let (record, _) = get(s, id).await;
    assert_eq!(record.state, MessageState::Failed);
    assert_eq!(record.attempts, 3);
    assert_eq!(
        record.last_error.as_deref(),
        Some("gave up after 3 attempts: +CMS ERROR: 500")
    );
    assert!(
        s.claim_outbound("w", 1, LEASE, now + 1_000_000)
            .await
            .unwrap()
            .is_empty()
    );
    let failed = s
        .list_messages(&MessageFilter {
            state: Some(MessageState::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(s.queue_depths().await.unwrap().failed, 1);
}

async fn holder_dying_on_every_attempt_ends_in_dead_letter(db: &TestDb) {
    let s = &db.store;
    let mut m = msg("13800000004", "poison");
    m.max_attempts = 2;
    let id = s.enqueue_at(&[m], T0).await.unwrap()[0];
    assert_eq!(s.claim_outbound("a", 1, LEASE, T0).await.unwrap().len(), 1);
    assert_eq!(
        s.claim_outbound("b", 1, LEASE, T0 + 31_000)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.claim_outbound("c", 1, LEASE, T0 + 62_000)
            .await
            .unwrap()
            .is_empty()
    );
    let (record, _) = get(s, id).await;
    assert_eq!(record.state, MessageState::Failed);
    let error = record.last_error.unwrap();
    assert!(error.starts_with("gave up after 2 attempts"), "{error}");
    assert!(error.contains("`b`"), "{error}");
}

/// R4: expired content is never sent.
async fn expired_validity_is_never_claimed(db: &TestDb) {
    let s = &db.store;
    let mut stale = msg("1", "stale");
    stale.valid_until_ms = Some(T0 - 1);
    let mut fresh = msg("2", "fresh");
    fresh.valid_until_ms = Some(T0 + 60_000);
    let ids = s.enqueue_at(&[stale, fresh], T0 - 10_000).await.unwrap();
    let claimed = s.claim_outbound("w", 10, LEASE, T0).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    let (record, _) = get(s, ids[0]).await;
    assert_eq!(record.state, MessageState::Expired);
    assert!(record.last_error.unwrap().contains("validity ended"));
    // A lease that runs out after validity ended: expired at re-claim, not resent.
    assert!(
        s.claim_outbound("w2", 10, LEASE, T0 + 60_001)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(get(s, ids[1]).await.0.state, MessageState::Expired);
    assert_eq!(s.queue_depths().await.unwrap().expired, 2);
}

/// The recipient of [`three_part_message_sent`].
const THREE_PARTS_TO: &str = "+8613800000005";

async fn three_part_message_sent(s: &Store, first_mr: u8) -> MessageId {
    let mut m = msg(THREE_PARTS_TO, "three parts");
    m.status_report = true;
    let id = s.enqueue_at(&[m], T0).await.unwrap()[0];
    let claimed = s.claim_outbound("w", 1, LEASE, T0).await.unwrap();
    send_parts(s, &claimed[0], 3, first_mr, T0 + 1_000).await;
    s.mark_sent(id, "w", T0 + 2_000).await.unwrap();
    id
}

/// Checklist: duplicate or out-of-order delivery reports.
async fn delivered_only_after_all_three_part_reports(db: &TestDb) {
    let s = &db.store;
    let id = three_part_message_sent(s, 10).await;
    let state = |s: &Store| {
        let s = s.clone();
        async move { get(&s, id).await.0.state }
    };
    // Part 2 first (out of order), then the same report again.
    assert_eq!(
        s.apply_status_report("m1", 11, THREE_PARTS_TO, 0, Some(true), T0 + 5_000)
            .await
            .unwrap(),
        Some(id)
    );
    assert_eq!(
        s.apply_status_report("m1", 11, THREE_PARTS_TO, 0, Some(true), T0 + 5_001)
            .await
            .unwrap(),
        Some(id)
    );
    assert_eq!(state(s).await, MessageState::Sent);
    // Part 1 still pending at the SC (TP-ST 0x20), then part 3 delivered.
    s.apply_status_report("m1", 10, THREE_PARTS_TO, 0x20, None, T0 + 6_000)
        .await
        .unwrap();
    s.apply_status_report("m1", 12, THREE_PARTS_TO, 0, Some(true), T0 + 7_000)
        .await
        .unwrap();
    let (record, parts) = get(s, id).await;
    assert_eq!(record.state, MessageState::Sent);
    assert_eq!(parts[0].status, Some(0x20));
    assert_eq!(parts[0].state, PartState::Sent);
    // Part 1 delivered: now all three are.
    s.apply_status_report("m1", 10, THREE_PARTS_TO, 0, Some(true), T0 + 8_000)
        .await
        .unwrap();
    let (record, parts) = get(s, id).await;
    assert_eq!(record.state, MessageState::Delivered);
    assert_eq!(record.delivered_at, Some(T0 + 8_000));
    assert!(parts.iter().all(|p| p.state == PartState::Delivered));
    // A late, contradicting report changes nothing: the first final report wins.
    s.apply_status_report("m1", 10, THREE_PARTS_TO, 0x41, Some(false), T0 + 9_000)
        .await
        .unwrap();
    let (record, parts) = get(s, id).await;
    assert_eq!(record.state, MessageState::Delivered);
    assert_eq!(parts[0].status, Some(0));
    assert_eq!(s.queue_depths().await.unwrap().delivered, 1);
}

async fn one_failed_part_fails_the_message(db: &TestDb) {
    let s = &db.store;
    let id = three_part_message_sent(s, 20).await;
    s.apply_status_report("m1", 20, THREE_PARTS_TO, 0, Some(true), T0 + 5_000)
        .await
        .unwrap();
    s.apply_status_report("m1", 21, THREE_PARTS_TO, 0x45, Some(false), T0 + 5_001)
        .await
        .unwrap();
    let (record, _) = get(s, id).await;
    assert_eq!(record.state, MessageState::Failed);
    let error = record.last_error.unwrap();
    assert!(error.starts_with("delivery failed: status 0x45"), "{error}");
    // The last part delivered later does not revive it.
    s.apply_status_report("m1", 22, THREE_PARTS_TO, 0, Some(true), T0 + 5_002)
        .await
        .unwrap();
    assert_eq!(get(s, id).await.0.state, MessageState::Failed);
}

async fn reports_arriving_before_mark_sent_are_kept(db: &TestDb) {
    let s = &db.store;
    let id = s.enqueue_at(&[msg("1", "fast network")], T0).await.unwrap()[0];
    let claimed = s.claim_outbound("w", 1, LEASE, T0).await.unwrap();
    send_parts(s, &claimed[0], 2, 30, T0 + 1).await;
    s.apply_status_report("m1", 30, "1", 0, Some(true), T0 + 2)
        .await
        .unwrap();
    s.apply_status_report("m1", 31, "1", 0, Some(true), T0 + 3)
        .await
        .unwrap();
    assert_eq!(get(s, id).await.0.state, MessageState::Sending);
    s.mark_sent(id, "w", T0 + 4).await.unwrap();
    assert_eq!(get(s, id).await.0.state, MessageState::Delivered);
}

async fn unknown_or_old_message_reference_matches_nothing(db: &TestDb) {
    let s = &db.store;
    let id = three_part_message_sent(s, 50).await;
    assert_eq!(
        s.apply_status_report("m1", 99, THREE_PARTS_TO, 0, Some(true), T0 + 5_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.apply_status_report("m2", 50, THREE_PARTS_TO, 0, Some(true), T0 + 5_000)
            .await
            .unwrap(),
        None
    );
    let too_late = T0 + 1_000 + super::duration_ms(STATUS_REPORT_WINDOW) + 1;
    assert_eq!(
        s.apply_status_report("m1", 50, THREE_PARTS_TO, 0, Some(true), too_late)
            .await
            .unwrap(),
        None
    );
    // The TP-MR wrapped: a new part with MR 50 takes the report, not the old one.
    let newer = three_part_message_sent(s, 50).await;
    assert_eq!(
        s.apply_status_report("m1", 50, THREE_PARTS_TO, 0, Some(true), T0 + 6_000)
            .await
            .unwrap(),
        Some(newer.max(id))
    );
}

/// Enqueues, claims and sends a one-part message to `peer` with TP-MR `mr` on modem m1 at `now`,
/// leaving it `sent` and awaiting its report.
async fn one_part_message_sent(s: &Store, peer: &str, mr: u8, now: i64) -> MessageId {
    let id = s.enqueue_at(&[msg(peer, "one part")], now).await.unwrap()[0];
    let claimed = s.claim_outbound("w", 1, LEASE, now).await.unwrap();
    assert_eq!(claimed[0].id, id);
    send_parts(s, &claimed[0], 1, mr, now).await;
    s.mark_sent(id, "w", now).await.unwrap();
    id
}

async fn a_wrapped_reference_report_goes_only_to_the_part_sent_to_its_recipient(db: &TestDb) {
    let s = &db.store;
    let old = one_part_message_sent(s, "+8613800000001", 7, T0 + 1_000).await;
    // 256 parts later the modem gives TP-MR 7 again, to someone else.
    let newer = one_part_message_sent(s, "+8613900000002", 7, T0 + 60_000).await;
    // The old part's late report: not the newer part's, though that is the latest with MR 7.
    assert_eq!(
        s.apply_status_report("m1", 7, "+8613800000001", 0, Some(true), T0 + 61_000)
            .await
            .unwrap(),
        Some(old)
    );
    assert_eq!(get(s, old).await.0.state, MessageState::Delivered);
    assert_eq!(get(s, newer).await.0.state, MessageState::Sent);
    assert_eq!(get(s, newer).await.1[0].status, None);
    // The newer part's own report, then, finds it and leaves the old one alone.
    assert_eq!(
        s.apply_status_report("m1", 7, "+8613900000002", 0x45, Some(false), T0 + 62_000)
            .await
            .unwrap(),
        Some(newer)
    );
    assert_eq!(get(s, newer).await.0.state, MessageState::Failed);
    let (record, parts) = get(s, old).await;
    assert_eq!(record.state, MessageState::Delivered);
    assert_eq!(parts[0].status, Some(0));
}

async fn a_report_arriving_before_its_part_is_recorded_is_applied_once_it_is(db: &TestDb) {
    let s = &db.store;
    let old = one_part_message_sent(s, "+8613800000001", 7, T0 + 1_000).await;
    let id = s
        .enqueue_at(&[msg("+8613900000002", "fast network")], T0 + 60_000)
        .await
        .unwrap()[0];
    let claimed = s.claim_outbound("w", 1, LEASE, T0 + 60_000).await.unwrap();
    // The modem hands over the report before the driver has recorded the part's +CMGS answer.
    assert_eq!(
        s.apply_status_report("m1", 7, "+8613900000002", 0, Some(true), T0 + 60_100)
            .await
            .unwrap(),
        None,
        "kept to wait for its part"
    );
    assert_eq!(
        db.raw_count("SELECT COUNT(*) FROM unmatched_status_reports")
            .await,
        1
    );
    assert_eq!(get(s, old).await.1[0].status, None, "not the old part's");
    send_parts(s, &claimed[0], 1, 7, T0 + 60_200).await;
    s.mark_sent(id, "w", T0 + 60_300).await.unwrap();
    let (record, parts) = get(s, id).await;
    assert_eq!(record.state, MessageState::Delivered);
    assert_eq!(parts[0].status, Some(0));
    assert_eq!(get(s, old).await.0.state, MessageState::Sent);
    assert_eq!(
        db.raw_count("SELECT COUNT(*) FROM unmatched_status_reports")
            .await,
        0,
        "applied, so no longer waiting"
    );
    // A report no part ever matches is kept for inspection, not dropped.
    s.apply_status_report("m1", 8, "+8613700000003", 0, Some(true), T0 + 61_000)
        .await
        .unwrap();
    assert_eq!(
        db.raw_count(
            "SELECT COUNT(*) FROM unmatched_status_reports \
             WHERE message_reference = 8 AND recipient = '+8613700000003'"
        )
        .await,
        1
    );
}

async fn a_report_matching_only_an_already_reported_part_waits_for_a_newer_one(db: &TestDb) {
    let s = &db.store;
    let old = one_part_message_sent(s, "+8613800000001", 7, T0 + 1_000).await;
    s.apply_status_report("m1", 7, "+8613800000001", 0, Some(true), T0 + 2_000)
        .await
        .unwrap();
    assert_eq!(get(s, old).await.0.state, MessageState::Delivered);
    // Same recipient, TP-MR wrapped; the newer part's failure report comes before its record.
    let id = s
        .enqueue_at(&[msg("+8613800000001", "again")], T0 + 60_000)
        .await
        .unwrap()[0];
    let claimed = s.claim_outbound("w", 1, LEASE, T0 + 60_000).await.unwrap();
    s.apply_status_report("m1", 7, "+8613800000001", 0x45, Some(false), T0 + 60_100)
        .await
        .unwrap();
    send_parts(s, &claimed[0], 1, 7, T0 + 60_200).await;
    s.mark_sent(id, "w", T0 + 60_300).await.unwrap();
    assert_eq!(get(s, id).await.0.state, MessageState::Failed);
    let (record, parts) = get(s, old).await;
    assert_eq!(record.state, MessageState::Delivered);
    assert_eq!(parts[0].status, Some(0));
}

async fn mark_sent_refuses_while_parts_are_unsent(db: &TestDb) {
    let s = &db.store;
    let id = s.enqueue_at(&[msg("1", "x")], T0).await.unwrap()[0];
    s.claim_outbound("w", 1, LEASE, T0).await.unwrap();
    assert!(matches!(
        s.mark_sent(id, "w", T0).await,
        Err(StoreError::Conflict { .. })
    ));
    s.record_part_sent(id, 1, 2, "m1", 1, Encoding::Gsm7, T0)
        .await
        .unwrap();
    let error = s.mark_sent(id, "w", T0).await.unwrap_err();
    assert!(error.to_string().contains("1 of 2 parts"), "{error}");
    assert_eq!(get(s, id).await.0.state, MessageState::Sending);
    assert!(matches!(
        s.mark_sent(424_242, "w", T0).await,
        Err(StoreError::NotFound { id: 424_242 })
    ));
}

/// Encodings are a type in the code, and the schema holds the database to the same names, so
/// that reading one back never has to guess (a name it did not know would read as corrupt).
async fn the_database_refuses_an_encoding_the_code_does_not_know(db: &TestDb) {
    let s = &db.store;
    let id = s.enqueue_at(&[msg("1", "x")], T0).await.unwrap()[0];
    let refused = db
        .raw(&format!(
            "UPDATE messages SET encoding = 'latin1' WHERE id = {id}"
        ))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    db.raw(&format!(
        "UPDATE messages SET encoding = '{}' WHERE id = {id}",
        Encoding::Data8.as_str()
    ))
    .await
    .unwrap();
    let (record, _) = s.message(id).await.unwrap().unwrap();
    assert_eq!(record.encoding, Some(Encoding::Data8));
}

async fn record_part_sent_refuses_a_different_split(db: &TestDb) {
    let s = &db.store;
    let id = s.enqueue_at(&[msg("1", "x")], T0).await.unwrap()[0];
    s.claim_outbound("w", 1, LEASE, T0).await.unwrap();
    s.record_part_sent(id, 1, 2, "m1", 1, Encoding::Gsm7, T0)
        .await
        .unwrap();
    assert!(matches!(
        s.record_part_sent(id, 2, 3, "m1", 2, Encoding::Gsm7, T0)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        s.record_part_sent(id, 3, 2, "m1", 2, Encoding::Gsm7, T0)
            .await,
        Err(StoreError::InvalidInput { .. })
    ));
}

fn part(
    sender: &str,
    concat: Option<(u16, u8, u8)>,
    text: &str,
    scts: i64,
    now: i64,
) -> NewInboundPart {
    let (reference, total, seq) = concat.unwrap_or((0, 1, 1));
    NewInboundPart {
        modem: "m1".into(),
        sender: sender.into(),
        sender_kind: PeerKind::Number,
        service_number: Some("10086110".into()),
        concat,
        // Distinct per part and per SCTS, like a real PDU.
        raw_pdu: format!(
            "0791{reference:04X}{total:02X}{seq:02X}{scts:X}{}",
            hex::encode(text)
        ),
        text: text.into(),
        encoding: Encoding::Ucs2,
        sent_at_ms: scts,
        now_ms: now,
    }
}

async fn count_inbound_parts(s: &Store) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM inbound_parts")
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// R1 (concatenated SMS), field notes: slow `+CNMA` makes the network resend.
async fn inbound_out_of_order_and_duplicate_parts_assemble_once(db: &TestDb) {
    let s = &db.store;
    let set = |seq| Some((77u16, 3u8, seq));
    let p3 = part("13900000001", set(3), "丙", T0 + 2_000, T0 + 10);
    let p1 = part("13900000001", set(1), "甲", T0, T0 + 20);
    let p2 = part("13900000001", set(2), "乙", T0 + 1_000, T0 + 30);
    assert_eq!(
        s.insert_inbound_part(&p3).await.unwrap(),
        InboundOutcome::Waiting { have: 1, total: 3 }
    );
    assert_eq!(
        s.insert_inbound_part(&p1).await.unwrap(),
        InboundOutcome::Waiting { have: 2, total: 3 }
    );
    assert_eq!(
        s.insert_inbound_part(&p1).await.unwrap(),
        InboundOutcome::Duplicate
    );
    let InboundOutcome::Complete(id) = s.insert_inbound_part(&p2).await.unwrap() else {
        panic!("the third part should complete the message");
    };
    // Resends after assembly are recognised too.
    assert_eq!(
        s.insert_inbound_part(&p2).await.unwrap(),
        InboundOutcome::Duplicate
    );
    assert_eq!(
        s.insert_inbound_part(&p3).await.unwrap(),
        InboundOutcome::Duplicate
    );
    assert_eq!(count_inbound_parts(s).await, 3);

    let (record, parts) = get(s, id).await;
    assert_eq!(record.direction, Direction::In);
    assert_eq!(record.state, MessageState::Received);
    assert_eq!(record.text, "甲乙丙");
    assert_eq!(record.peer, "13900000001");
    assert_eq!(record.service_number.as_deref(), Some("10086110"));
    assert_eq!(record.parts_total, Some(3));
    assert_eq!(record.concat_reference, Some(77));
    assert_eq!(record.sent_at, Some(T0));
    assert_eq!(
        parts.iter().map(|p| p.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(parts[0].raw_pdu.as_deref(), Some(p1.raw_pdu.as_str()));
    let inbound = s
        .list_messages(&MessageFilter {
            direction: Some(Direction::In),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(inbound.len(), 1);
}

async fn reference_reused_later_creates_a_second_message(db: &TestDb) {
    let s = &db.store;
    let mut ids = Vec::new();
    for (round, texts) in [["a", "b"], ["c", "d"]].iter().enumerate() {
        let scts = T0 + round as i64 * 3_600_000;
        s.insert_inbound_part(&part("139", Some((5, 2, 1)), texts[0], scts, scts))
            .await
            .unwrap();
        match s
            .insert_inbound_part(&part("139", Some((5, 2, 2)), texts[1], scts, scts))
            .await
            .unwrap()
        {
            InboundOutcome::Complete(id) => ids.push(id),
            other => panic!("round {round}: {other:?}"),
        }
    }
    assert_ne!(ids[0], ids[1]);
    assert_eq!(get(s, ids[0]).await.0.text, "ab");
    assert_eq!(get(s, ids[1]).await.0.text, "cd");
}

async fn reference_reused_before_completion_closes_the_old_set_as_partial(db: &TestDb) {
    let s = &db.store;
    s.insert_inbound_part(&part("139", Some((9, 2, 1)), "old", T0, T0))
        .await
        .unwrap();
    // Part 2 of the old set never came; the sender reuses reference 9 an hour later.
    let later = T0 + 3_600_000;
    s.insert_inbound_part(&part("139", Some((9, 2, 1)), "new1", later, later))
        .await
        .unwrap();
    let done = s
        .insert_inbound_part(&part("139", Some((9, 2, 2)), "new2", later, later))
        .await
        .unwrap();
    let InboundOutcome::Complete(new_id) = done else {
        panic!("{done:?}")
    };
    assert_eq!(get(s, new_id).await.0.text, "new1new2");
    let partial = s
        .list_messages(&MessageFilter {
            state: Some(MessageState::Partial),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(partial.len(), 1);
    assert_eq!(partial[0].text, format!("old{MISSING_PART}"));
}

async fn stale_partial_is_flushed_as_partial_with_gaps_marked(db: &TestDb) {
    let s = &db.store;
    s.insert_inbound_part(&part("138", Some((300, 3, 1)), "A", T0, T0))
        .await
        .unwrap();
    s.insert_inbound_part(&part("138", Some((300, 3, 3)), "C", T0, T0 + 5_000))
        .await
        .unwrap();
    // The newest part is not old enough yet.
    assert!(
        s.flush_stale_partials(T0 + 5_000, T0 + 6_000)
            .await
            .unwrap()
            .is_empty()
    );
    let ids = s
        .flush_stale_partials(T0 + 5_001, T0 + 7_000)
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    let (record, parts) = get(s, ids[0]).await;
    assert_eq!(record.state, MessageState::Partial);
    assert_eq!(record.text, "A[…]C");
    assert_eq!(record.parts_total, Some(3));
    assert_eq!(parts.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![1, 3]);
    assert!(
        s.flush_stale_partials(T0 + 100_000, T0 + 100_000)
            .await
            .unwrap()
            .is_empty()
    );
    // The missing part arriving after the flush starts a new (incomplete) set, not a second copy.
    let late = s
        .insert_inbound_part(&part("138", Some((300, 3, 2)), "B", T0, T0 + 200_000))
        .await
        .unwrap();
    assert_eq!(late, InboundOutcome::Waiting { have: 1, total: 3 });
}

async fn single_part_inbound_keeps_its_raw_pdu(db: &TestDb) {
    let s = &db.store;
    let p = part("13700000000", None, "CP 京A12345", T0, T0 + 1);
    let InboundOutcome::Complete(id) = s.insert_inbound_part(&p).await.unwrap() else {
        panic!("a single SMS completes at once");
    };
    assert_eq!(
        s.insert_inbound_part(&p).await.unwrap(),
        InboundOutcome::Duplicate
    );
    let (record, parts) = get(s, id).await;
    assert_eq!(record.text, "CP 京A12345");
    assert_eq!(record.parts_total, Some(1));
    assert_eq!(record.concat_reference, None);
    assert_eq!(record.modem.as_deref(), Some("m1"));
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].raw_pdu.as_deref(), Some(p.raw_pdu.as_str()));
    assert_eq!(parts[0].sent_at, Some(T0));
}

/// Issue 18 finding 6: a sender's name may be any text, digits too; it stays a name.
async fn an_alphanumeric_sender_is_stored_marked_and_kept_apart_from_the_same_digits_as_a_number(
    db: &TestDb,
) {
    let s = &db.store;
    let named = |p: NewInboundPart| NewInboundPart {
        sender_kind: PeerKind::Alphanumeric,
        ..p
    };
    // Part 1 of one set from the name "10086" and part 2 of a set with the same reference from
    // the number 10086: neither completes the other.
    let name_part = named(part("10086", Some((7, 2, 1)), "名", T0, T0));
    let number_part = part("10086", Some((7, 2, 2)), "号", T0, T0);
    assert!(matches!(
        s.insert_inbound_part(&name_part).await.unwrap(),
        InboundOutcome::Waiting { have: 1, total: 2 }
    ));
    assert!(matches!(
        s.insert_inbound_part(&number_part).await.unwrap(),
        InboundOutcome::Waiting { have: 1, total: 2 }
    ));
    let InboundOutcome::Complete(id) = s
        .insert_inbound_part(&named(part("10086", Some((7, 2, 2)), "字", T0, T0 + 1)))
        .await
        .unwrap()
    else {
        panic!("the name's set is complete");
    };
    let (record, _) = get(s, id).await;
    assert_eq!(
        (record.peer.as_str(), record.peer_kind, record.text.as_str()),
        ("10086", PeerKind::Alphanumeric, "名字")
    );
    let flushed = s.flush_stale_partials(T0 + 10, T0 + 10).await.unwrap();
    let (partial, _) = get(s, flushed[0]).await;
    assert_eq!(
        (partial.peer_kind, partial.text.as_str()),
        (PeerKind::Number, "[…]号")
    );

    let single = named(part("13800000001", None, "CP 京A12345", T0, T0 + 2));
    let InboundOutcome::Complete(id) = s.insert_inbound_part(&single).await.unwrap() else {
        panic!("a single SMS completes at once");
    };
    let (record, _) = get(s, id).await;
    assert_eq!(record.peer, "13800000001", "kept as it came, not +86...");
    assert_eq!(record.peer_kind, PeerKind::Alphanumeric);
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["peer_kind"], "alphanumeric");
    let inbox = s.claim_inbox(10, LEASE, T0 + 3).await.unwrap();
    let claimed = inbox.iter().find(|m| m.id == id).expect("in the inbox");
    assert_eq!(claimed.sender_kind, PeerKind::Alphanumeric);
}

/// The parts of a UCS2 message from `sender` carrying exactly `chunks` of UTF-16BE user data,
/// as the driver stores them: each with its real PDU and its own decoded text.
fn ucs2_parts(sender: &str, reference: u16, chunks: &[&[u8]], now: i64) -> Vec<NewInboundPart> {
    let options = crate::sms::DeliverOptions {
        concat_reference: reference,
        ..crate::sms::DeliverOptions::new(
            chrono::DateTime::from_timestamp_millis(T0)
                .unwrap()
                .fixed_offset(),
        )
    };
    let from = crate::sms::Address::international(sender.trim_start_matches('+'));
    crate::sms::encode_deliver_ucs2_chunks(&from, chunks, &options)
        .unwrap()
        .iter()
        .map(|pdu| {
            let crate::sms::Incoming::Deliver(d) = crate::sms::decode_incoming(pdu).unwrap() else {
                panic!("a deliver")
            };
            let concat = d.concat.map(|c| (c.reference, c.total, c.seq));
            NewInboundPart {
                raw_pdu: hex::encode_upper(pdu),
                encoding: Encoding::Ucs2,
                ..part(sender, concat, &d.text, T0, now)
            }
        })
        .collect()
}

/// A sending handset may cut a surrogate pair between two parts: the message is decoded with
/// the parts' user data joined, not from the parts' own texts (where each half is U+FFFD).
async fn an_emoji_cut_between_two_ucs2_parts_is_whole_in_the_message(db: &TestDb) {
    let s = &db.store;
    let octets: Vec<u8> = "警😀讯👮"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    // Cut inside 😀 (octets 2..6) and inside 👮 (octets 8..12).
    let cuts: [&[u8]; 3] = [&octets[..4], &octets[4..10], &octets[10..]];
    let parts = ucs2_parts("+8613800000001", 41, &cuts, T0);
    assert!(parts[0].text.ends_with('\u{FFFD}'), "{:?}", parts[0].text);
    let mut outcome = None;
    for p in parts.iter().rev() {
        outcome = Some(s.insert_inbound_part(p).await.unwrap());
    }
    let Some(InboundOutcome::Complete(id)) = outcome else {
        panic!("the set is complete: {outcome:?}")
    };
    let (record, stored) = get(s, id).await;
    assert_eq!(record.text, "警😀讯👮");
    assert_eq!(record.state, MessageState::Received);
    // Each part keeps its own PDU and text as received.
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0].text.as_deref(), Some(parts[0].text.as_str()));
    assert_eq!(
        stored[2].raw_pdu.as_deref(),
        Some(parts[2].raw_pdu.as_str())
    );

    // A set closed incomplete joins what is consecutive; a missing part stays marked.
    let parts = ucs2_parts(
        "+8613800000002",
        42,
        &[&octets[..4], &octets[4..6], &octets[6..]],
        T0,
    );
    for p in [&parts[0], &parts[2]] {
        s.insert_inbound_part(p).await.unwrap();
    }
    let flushed = s.flush_stale_partials(T0 + 10, T0 + 10).await.unwrap();
    let (partial, _) = get(s, flushed[0]).await;
    assert_eq!(partial.state, MessageState::Partial);
    assert_eq!(partial.text, "警\u{FFFD}[…]讯👮");
}

async fn genuinely_new_identical_single_sms_is_not_a_duplicate(db: &TestDb) {
    let s = &db.store;
    // The officer sends "H" twice, a minute apart: two messages (different SCTS).
    let first = s
        .insert_inbound_part(&part("136", None, "H", T0, T0))
        .await
        .unwrap();
    let second = s
        .insert_inbound_part(&part("136", None, "H", T0 + 60_000, T0 + 60_000))
        .await
        .unwrap();
    assert!(matches!(first, InboundOutcome::Complete(_)));
    assert!(matches!(second, InboundOutcome::Complete(_)));
    assert_ne!(first, second);
}

async fn list_messages_filters_and_pages(db: &TestDb) {
    let s = &db.store;
    let batch: Vec<_> = (0..5)
        .map(|i| {
            let mut m = msg(if i % 2 == 0 { "even" } else { "odd" }, "t");
            m.batch_id = Some(if i < 3 { "x" } else { "y" }.into());
            m
        })
        .collect();
    let ids = s.enqueue_at(&batch, T0).await.unwrap();
    let list = |filter: MessageFilter| async move {
        s.list_messages(&filter)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(MessageFilter::default()).await, ids);
    assert_eq!(
        list(MessageFilter {
            peer: Some("even".into()),
            ..Default::default()
        })
        .await,
        vec![ids[0], ids[2], ids[4]]
    );
    assert_eq!(
        list(MessageFilter {
            batch_id: Some("x".into()),
            peer: Some("odd".into()),
            ..Default::default()
        })
        .await,
        vec![ids[1]]
    );
    assert_eq!(
        list(MessageFilter {
            after_id: Some(ids[1]),
            limit: 2,
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[3]]
    );
    assert_eq!(
        list(MessageFilter {
            before_id: Some(ids[3]),
            newest_first: true,
            limit: 2,
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1]]
    );
    assert_eq!(
        list(MessageFilter {
            direction: Some(Direction::In),
            ..Default::default()
        })
        .await,
        Vec::<MessageId>::new()
    );
    let record = &s.list_messages(&MessageFilter::default()).await.unwrap()[0];
    let json = serde_json::to_value(record).unwrap();
    assert_eq!(json["state"], "queued");
    assert_eq!(json["direction"], "out");
}

/// Prints the time a 10,000-recipient send takes to commit (one transaction).
async fn enqueue_of_ten_thousand_recipients_commits_in_one_transaction(db: &TestDb) {
    let s = &db.store;
    let batch: Vec<_> = (0..10_000)
        .map(|i| {
            let mut m = msg(
                &format!("1390{i:07}"),
                "【警讯】明日上午九时全体民警到礼堂开会，请准时参加。",
            );
            m.batch_id = Some("all-staff".into());
            m
        })
        .collect();
    let started = Instant::now();
    let ids = s.enqueue_at(&batch, T0).await.unwrap();
    eprintln!(
        "{:?}: enqueue of 10,000 recipients committed in {:?}",
        s.backend(),
        started.elapsed()
    );
    assert_eq!(ids.len(), 10_000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // Ids come back in the order given.
    let (first, _) = get(s, ids[0]).await;
    let (last, _) = get(s, ids[9_999]).await;
    assert_eq!(
        (first.peer.as_str(), last.peer.as_str()),
        ("13900000000", "13900009999")
    );
    assert_eq!(s.queue_depths().await.unwrap().queued, 10_000);
}

async fn enqueue_is_all_or_nothing(db: &TestDb) {
    let s = &db.store;
    let mut bad = msg("2", "x");
    bad.max_attempts = 0;
    assert!(matches!(
        s.enqueue_at(&[msg("1", "x"), bad], T0).await,
        Err(StoreError::InvalidInput {
            field: "max_attempts",
            ..
        })
    ));
    assert!(matches!(
        s.enqueue_at(&[msg(" ", "x")], T0).await,
        Err(StoreError::InvalidInput { field: "peer", .. })
    ));
    // A row refused by the database in the second chunk (row 650; chunks are 500 rows) rolls
    // back the first chunk too. A trigger plays the refusing database.
    let trigger = match s.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON messages WHEN NEW.peer = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.peer = 'boom' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER refuse_boom BEFORE INSERT ON messages FOR EACH ROW \
             EXECUTE FUNCTION refuse_boom();"
        }
    };
    sqlx::raw_sql(trigger).execute(&s.pool).await.unwrap();
    let mut batch: Vec<_> = (0..700).map(|i| msg(&i.to_string(), "x")).collect();
    batch[650].peer = "boom".into();
    let result = s.enqueue_at(&batch, T0).await;
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(s.queue_depths().await.unwrap().queued, 0);
    batch[650].peer = "650".into();
    assert_eq!(s.enqueue_at(&batch, T0).await.unwrap().len(), 700);
    assert_eq!(s.queue_depths().await.unwrap().queued, 700);
}

async fn undecodable_pdus_are_kept_once_with_their_reason(db: &TestDb) {
    let s = &db.store;
    let first = s
        .insert_malformed_inbound("m1", "07FFGG", "bad hex", T0)
        .await
        .unwrap();
    let again = s
        .insert_malformed_inbound("m1", "07FFGG", "bad hex", T0 + 1)
        .await
        .unwrap();
    let other = s
        .insert_malformed_inbound("m2", "07FFGG", "bad hex", T0 + 2)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_ne!(first, other);
    let listed = s.malformed_inbound(10, None).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![other, first]
    );
    assert_eq!(
        (listed[1].raw_pdu.as_str(), listed[1].error.as_str()),
        ("07FFGG", "bad hex")
    );
    assert_eq!(s.malformed_inbound(10, Some(other)).await.unwrap().len(), 1);
}

const KILL9_URL_ENV: &str = "JINGXUN_STORE_KILL9_URL";
const KILL9_PARTS_ENV: &str = "JINGXUN_STORE_KILL9_PARTS";

/// Not a test on its own: the lease holder that
/// `holder_killed_with_sigkill_at_each_step_leaves_only_unsent_parts` starts as a separate
/// process and kills with SIGKILL. It claims one message, records the first N of its 2 parts,
/// says READY and waits to be killed. Without the variables it does nothing.
#[tokio::test]
#[ignore = "child process of a kill -9 test; started by that test"]
async fn kill9_lease_holder_child() {
    let (Ok(url), Ok(parts)) = (std::env::var(KILL9_URL_ENV), std::env::var(KILL9_PARTS_ENV))
    else {
        return;
    };
    let parts: u8 = parts.parse().expect("parts sent before the kill");
    let store = Store::connect(&url).await.expect("child connects");
    let claimed = store
        .claim_outbound("doomed", 1, LEASE, T0)
        .await
        .expect("child claims");
    let id = claimed[0].id;
    for seq in 1..=parts {
        store
            .record_part_sent(
                id,
                seq,
                2,
                "m1",
                100 + seq,
                Encoding::Gsm7,
                T0 + i64::from(seq),
            )
            .await
            .expect("child records a part");
    }
    println!("READY {id}");
    tokio::time::sleep(Duration::from_secs(600)).await;
}

/// Checklist: kill -9 at each step of a send; a lease holder killed. A real process holds the
/// lease and is killed with SIGKILL after claiming, after part 1 and after part 2 of 2 (before
/// `mark_sent`). Whatever it committed survives; the next worker gets the message after the
/// lease ran out and has exactly the unsent parts left.
async fn holder_killed_with_sigkill_at_each_step_leaves_only_unsent_parts(db: &TestDb) {
    use tokio::io::AsyncBufReadExt;
    let s = &db.store;
    let exe = std::env::current_exe().expect("test binary path");
    for parts_before_kill in 0..=2u8 {
        let id = s
            .enqueue_at(&[msg("13800000009", "kill me")], T0)
            .await
            .unwrap()[0];
        let mut child = tokio::process::Command::new(&exe)
            .args([
                "--exact",
                "store::tests::kill9_lease_holder_child",
                "--ignored",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env(KILL9_URL_ENV, &db.url)
            .env(KILL9_PARTS_ENV, parts_before_kill.to_string())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the lease holder");
        let stdout = child.stdout.take().expect("child stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await.expect("read child") {
                // The harness prints "test <name> ... " without a newline before our line.
                if let Some((_, rest)) = line.split_once("READY ") {
                    return rest.trim().parse::<MessageId>().ok();
                }
            }
            None
        })
        .await
        .expect("the child did not get ready in time");
        assert_eq!(ready, Some(id), "the child claimed another message");
        child.start_kill().expect("SIGKILL the child"); // Child::start_kill sends SIGKILL.
        let status = child.wait().await.expect("reap the child");
        assert!(
            !status.success(),
            "the child should have died by the signal"
        );

        let (record, _) = get(s, id).await;
        assert_eq!(record.state, MessageState::Sending);
        assert_eq!(record.lease_owner.as_deref(), Some("doomed"));
        let now = T0 + 30_001;
        let claimed = s.claim_outbound("heir", 1, LEASE, now).await.unwrap();
        assert_eq!(claimed.len(), 1, "after {parts_before_kill} parts");
        let c = &claimed[0];
        assert_eq!((c.id, c.attempts), (id, 2));
        let sent: Vec<u8> = c.sent_parts.iter().map(|p| p.seq).collect();
        assert_eq!(sent, (1..=parts_before_kill).collect::<Vec<_>>());
        send_parts(s, c, 2, 110, now + 1).await;
        s.mark_sent(id, "heir", now + 2).await.unwrap();
        let (record, parts) = get(s, id).await;
        assert_eq!(record.state, MessageState::Sent);
        // Parts sent before the kill keep their reference; only the rest were sent again.
        for part in &parts {
            let expected = if part.seq <= parts_before_kill {
                100
            } else {
                110 - 1
            };
            assert_eq!(part.message_reference, Some(expected + part.seq));
        }
    }
}

// ---- SQLite-only ------------------------------------------------------------------------

/// Closing a store closes every connection it opened, even one whose return to the pool was
/// under way as the close began: afterwards the file is the next opener's alone (a restore
/// takes its checked copy out of WAL mode, which needs exactly that and waits for no lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_leaves_no_connection_to_its_file_open() {
    use sqlx::{ConnectOptions, Connection};
    let dir = tempfile::tempdir().unwrap();
    for round in 0..50 {
        let path = dir.path().join(format!("{round}.db"));
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        // Several statements at once, whose connections are going back to the pool as it closes.
        let select = || sqlx::query("SELECT COUNT(*) FROM messages").fetch_one(&store.pool);
        let (a, b, c) = tokio::join!(select(), select(), select());
        for result in [a, b, c] {
            result.unwrap();
        }
        store.close().await;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(Duration::ZERO)
            .connect()
            .await
            .unwrap();
        let left = sqlx::query_scalar::<_, String>("PRAGMA journal_mode = DELETE")
            .fetch_one(&mut conn)
            .await;
        assert!(
            matches!(&left, Ok(mode) if mode == "delete"),
            "round {round}: a connection of the closed store still holds the file: {left:?}"
        );
        conn.close().await.unwrap();
    }
}

/// Checklist: "accepted" means committed — WAL, synchronous=FULL, busy timeout, foreign keys on
/// every connection, and the file is created when missing.
#[tokio::test]
async fn sqlite_connections_are_durable_and_the_file_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(path.exists());
    assert_eq!(store.backend(), Backend::Sqlite);
    let mut conn = store.pool.acquire().await.unwrap();
    let text = |sql: &'static str| sqlx::query(sql);
    let row = text("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>(0).unwrap().to_lowercase(), "wal");
    let row = text("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        row.try_get::<i64, _>(0).unwrap(),
        2,
        "synchronous must be FULL"
    );
    let row = text("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>(0).unwrap(), 5000);
    let row = text("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>(0).unwrap(), 1);
    drop(conn);
    store.close().await;
}

/// Data survives closing and reopening (and migrations run once).
#[tokio::test]
async fn sqlite_store_reopens_with_its_messages() {
    let db = TestDb::sqlite().await;
    let id = db.store.enqueue_at(&[msg("1", "kept")], T0).await.unwrap()[0];
    db.store.close().await;
    let again = db.connect_again().await;
    assert_eq!(get(&again, id).await.0.text, "kept");
    again.close().await;
}

#[tokio::test]
async fn in_memory_sqlite_works_for_tests() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let id = store.enqueue_at(&[msg("1", "m")], T0).await.unwrap()[0];
    assert_eq!(get(&store, id).await.0.state, MessageState::Queued);
}

/// Checklist: disk full answers an error, never success.
#[tokio::test]
async fn sqlite_disk_full_answers_an_error_and_keeps_nothing() {
    let db = TestDb::sqlite().await;
    let s = &db.store;
    let before = s.queue_depths().await.unwrap().queued;
    // Cap the database at its current size on every connection of the pool.
    let mut conns = Vec::new();
    for _ in 0..4 {
        let mut conn = s.pool.acquire().await.unwrap();
        let pages: i64 = sqlx::query("PRAGMA page_count")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        conns.push(conn);
    }
    drop(conns);
    let batch: Vec<_> = (0..2_000)
        .map(|i| msg(&i.to_string(), &"x".repeat(200)))
        .collect();
    let result = s.enqueue_at(&batch, T0).await;
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    let message = result.unwrap_err().to_string();
    assert!(message.contains("full"), "{message}");
    assert_eq!(s.queue_depths().await.unwrap().queued, before);
}

#[tokio::test]
async fn unknown_url_schemes_are_refused_with_advice() {
    let error = Store::connect("mysql://root@localhost/x")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::InvalidUrl { .. }));
    assert!(error.to_string().contains("sqlite://PATH"), "{error}");
}

#[tokio::test]
async fn missing_sqlite_directory_is_a_connect_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/no/such/dir/x.db", dir.path().display());
    let error = Store::connect(&url).await.unwrap_err();
    assert!(matches!(error, StoreError::Connect { .. }), "{error}");
}

/// Database passwords never reach the log, errors or listings.
#[test]
fn passwords_are_redacted_from_urls() {
    assert_eq!(
        redact_url("postgres://jx:secret@db:5432/jx"),
        "postgres://jx:***@db:5432/jx"
    );
    assert_eq!(
        redact_url("postgres://jx:s3cret@db.local:5432/jx?sslmode=require"),
        "postgres://jx:***@db.local:5432/jx?sslmode=require"
    );
    assert_eq!(redact_url("postgres://jx@db/jx"), "postgres://jx@db/jx");
    assert_eq!(
        redact_url("sqlite:///var/lib/jx.db"),
        "sqlite:///var/lib/jx.db"
    );
    assert_eq!(redact_url("sqlite://jingxun.db"), "sqlite://jingxun.db");
}

#[test]
fn passwords_in_query_parameters_are_redacted_too() {
    assert_eq!(
        redact_url("postgres://h/db?password=s3cret&sslmode=require"),
        "postgres://h/db?password=***&sslmode=require"
    );
    assert_eq!(
        redact_url("sqlite://x.db?key=0123abcd&mode=ro"),
        "sqlite://x.db?key=***&mode=ro"
    );
    // Every secret-looking name, in any case, and the user's password as well.
    assert_eq!(
        redact_url(
            "postgresql://jx:pw@h:5432/db?PassWord=a&passwd=b&pwd=c&Secret=d&token=e&KEY=f&user=jx"
        ),
        "postgresql://jx:***@h:5432/db?PassWord=***&passwd=***&pwd=***&Secret=***&token=***&KEY=***&user=jx"
    );
    // A percent-encoded name is still recognised; a URL without a path too.
    assert_eq!(
        redact_url("postgres://h?pass%77ord=s3cret"),
        "postgres://h?pass%77ord=***"
    );
    assert_eq!(
        redact_url("postgres://jx:pw@h?sslmode=require"),
        "postgres://jx:***@h?sslmode=require"
    );
    // Names that merely contain a secret word are kept, as are values that look like one.
    assert_eq!(
        redact_url("postgres://h/db?keyword=password&sslkey=/etc/k.pem"),
        "postgres://h/db?keyword=password&sslkey=/etc/k.pem"
    );
    // libpq's password of the client key is a password too.
    assert_eq!(
        redact_url("postgres://h/db?sslpassword=x&sslmode=verify-full"),
        "postgres://h/db?sslpassword=***&sslmode=verify-full"
    );
}

#[test]
fn sqlite_urls_get_create_mode_unless_they_choose() {
    assert_eq!(
        sqlite_connect_url("sqlite://a.db").0,
        "sqlite://a.db?mode=rwc"
    );
    assert_eq!(
        sqlite_connect_url("sqlite://a.db?cache=shared").0,
        "sqlite://a.db?cache=shared&mode=rwc"
    );
    assert_eq!(
        sqlite_connect_url("sqlite://a.db?mode=ro").0,
        "sqlite://a.db?mode=ro"
    );
    assert_eq!(
        sqlite_connect_url("sqlite::memory:"),
        ("sqlite::memory:".to_owned(), true)
    );
}

async fn a_checkpoint_copies_every_committed_page_back_and_loses_nothing(db: &TestDb) {
    let store = &db.store;
    let batch: Vec<NewOutbound> = (0..2000)
        .map(|i| msg(&format!("+86138{i:08}"), "checkpointed"))
        .collect();
    store.enqueue_at(&batch, T0).await.expect("enqueue");
    // Nothing else writes meanwhile, so one passive checkpoint copies every page (PostgreSQL
    // has nothing to do).
    assert_eq!(store.checkpoint().await.expect("checkpoint"), 0);
    assert_eq!(store.queue_depths().await.expect("depths").queued, 2000);
    // Reopened from the files alone, the database still holds every message.
    let reopened = Store::connect(&db.url).await.expect("reopen");
    assert_eq!(reopened.queue_depths().await.expect("depths").queued, 2000);
    reopened.close().await;
}
