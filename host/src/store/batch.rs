//! Group commit of API enqueues (issue 5's benchmark): several requests (`POST /api/v1/messages`,
//! the notification endpoints) committed in ONE transaction, so that they share one disk flush. With SQLite at
//! `synchronous=FULL` every commit waits for an fsync of the WAL (about 1.4 ms on the
//! development machine), which alone caps one-commit-per-request at some 700 requests per second;
//! a group of N requests pays it once.
//!
//! Each request keeps the meaning it would have in a transaction of its own (idempotency
//! look-up, messages marked as the key's, the caller's extra writes such as the call's audit
//! row, the stored answer). The usual request (its only extra write is its audit row) goes with
//! the others of the group in a few multi-row statements, whatever the group's size: the
//! statements, not the rows, are what costs through the driver. Should any of those statements
//! fail, they are undone together and every request runs alone inside a `SAVEPOINT`, so that a
//! request that fails is rolled back alone and the others still commit. Two requests of one
//! group with the same idempotency key queue once (the second is answered from the first).
//! Nothing is reported before the whole group is committed: a failed commit fails every request
//! of the group, and none of them was accepted. The task that feeds groups in lives in
//! [`crate::api::committer`].

use std::collections::HashMap;

use sqlx::Row;

use super::api_keys::AlsoInTransaction;
use super::audit::PreparedEntry;
use super::audit::{append_audit_batch, audit_to_store, with_message_ids};
use super::outbound::{OutboundBatch, check_outbound};
use super::{IdempotentOutcome, MessageId, NewOutbound, Store, StoreError, values_lists};

/// Builds the answer of a request from the ids of its new messages.
pub(crate) type Answer = Box<dyn Fn(&[MessageId]) -> String + Send + Sync>;

/// One request's enqueue, as given to [`Store::enqueue_idempotent_group`], owned so that it can
/// wait in the committer's queue.
pub(crate) struct GroupedEnqueue {
    /// The API key's name.
    pub api_key: String,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// Hash of the request, compared when the idempotency key was used before.
    pub request_hash: String,
    /// The messages (stored as the key's).
    pub batch: Vec<NewOutbound>,
    /// The answer stored (with an idempotency key) and returned, from the new ids.
    pub response: Answer,
    /// More writes in the same transaction (the call's audit row, a notification's status).
    pub also: Option<Box<dyn AlsoInTransaction + Send>>,
    /// The request's time.
    pub now_ms: i64,
}

impl std::fmt::Debug for GroupedEnqueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupedEnqueue")
            .field("api_key", &self.api_key)
            .field("idempotency_key", &self.idempotency_key)
            .field("messages", &self.batch.len())
            .finish_non_exhaustive()
    }
}

/// What one request of a group got; a failed commit turns every `Ok` into an error.
pub type GroupOutcome = Result<IdempotentOutcome, StoreError>;

impl Store {
    /// Runs `jobs` in one write transaction and commits once. Returns one outcome per job, in
    /// order. When the commit itself fails, every job gets an error (the first the commit's
    /// own, the others one that says so): none was accepted.
    ///
    /// The jobs whose only extra write is their audit row go first, all together
    /// ([`Store::group_fast`]: a handful of statements for the whole group, whatever its size).
    /// Should any statement of it fail, the transaction (which holds nothing else yet) is
    /// rolled back and a new one started, in which those jobs run one by one like the others,
    /// each in its own savepoint ([`Store::grouped_one`]), so that only the job at fault fails.
    /// (A savepoint around the fast part would do the same, but makes SQLite copy every page
    /// it touches into a sub-journal: a tenth of the writer's time with 100 recipients.)
    pub(crate) async fn enqueue_idempotent_group(
        &self,
        jobs: &[GroupedEnqueue],
    ) -> Vec<GroupOutcome> {
        let mut tx = match self.begin_write().await {
            Ok(tx) => tx,
            Err(e) => return every_job_failed(jobs.len(), e),
        };
        let mut outcomes: Vec<Option<GroupOutcome>> = jobs.iter().map(|_| None).collect();
        let fast: Vec<usize> = (0..jobs.len())
            .filter(|&i| fits_fast_path(&jobs[i]))
            .collect();
        if !fast.is_empty() {
            match self.group_fast(&mut tx, jobs, &fast).await {
                Ok(results) => {
                    for (index, outcome) in fast.iter().zip(results) {
                        outcomes[*index] = Some(Ok(outcome));
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, requests = fast.len(), "API group: one by one");
                    let restarted = match tx.rollback().await {
                        Ok(()) => self.begin_write().await,
                        Err(e) => Err(e.into()),
                    };
                    tx = match restarted {
                        Ok(tx) => tx,
                        Err(e) => return every_job_failed(jobs.len(), e),
                    };
                }
            }
        }
        for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
            if outcome.is_none() {
                match self.grouped_one(&mut tx, job).await {
                    Ok(result) => *outcome = Some(result),
                    // A savepoint could not be set, released or rolled back to: the
                    // transaction may be gone (SQLite rolls back by itself on a full disk or
                    // an I/O error, and a later SAVEPOINT would silently open a new one). Fail
                    // the whole group; the dropped transaction rolls back whatever is left.
                    Err(e) => return every_job_failed(jobs.len(), e),
                }
            }
        }
        if let Err(e) = tx.commit().await {
            return every_job_failed(jobs.len(), e.into());
        }
        outcomes.into_iter().flatten().collect()
    }

    /// The jobs `fast` (indexes into `jobs`) together, with the meaning each would have alone:
    /// one look-up of their idempotency keys, one multi-row INSERT of all their messages (with
    /// their key), their audit rows appended together, one INSERT of their idempotency rows.
    /// A job that repeats the idempotency key of an earlier job of the group is answered from
    /// it (or refused as a mismatch), as it would be one transaction later. Any error fails
    /// the lot (the caller undoes it and runs the jobs one by one).
    async fn group_fast(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        jobs: &[GroupedEnqueue],
        fast: &[usize],
    ) -> Result<Vec<IdempotentOutcome>, StoreError> {
        let stored = self.stored_idempotency(tx, jobs, fast).await?;
        // What each job does: queue its messages, answer from a stored row, or answer from
        // the job of this group that queued the same key first.
        enum Plan {
            Queue,
            Stored(IdempotentOutcome),
            SameAs(usize),
        }
        let mut first_with_key: HashMap<(&str, &str), usize> = HashMap::new();
        let mut plans = Vec::with_capacity(fast.len());
        for (position, &index) in fast.iter().enumerate() {
            let job = &jobs[index];
            let Some(key) = job.idempotency_key.as_deref() else {
                plans.push(Plan::Queue);
                continue;
            };
            let stored_row = stored.get(&(job.api_key.clone(), key.to_owned()));
            let plan = if let Some((hash, response)) = stored_row {
                Plan::Stored(replay_or_mismatch(hash, &job.request_hash, response))
            } else if let Some(&earlier) = first_with_key.get(&(job.api_key.as_str(), key)) {
                if jobs[fast[earlier]].request_hash == job.request_hash {
                    Plan::SameAs(earlier)
                } else {
                    Plan::Stored(IdempotentOutcome::Mismatch)
                }
            } else {
                first_with_key.insert((job.api_key.as_str(), key), position);
                Plan::Queue
            };
            plans.push(plan);
        }
        let queued: Vec<usize> = (0..fast.len())
            .filter(|&p| matches!(plans[p], Plan::Queue))
            .collect();
        let batches: Vec<OutboundBatch<'_>> = queued
            .iter()
            .map(|&p| {
                let job = &jobs[fast[p]];
                OutboundBatch {
                    messages: &job.batch,
                    api_key: Some(job.api_key.as_str()),
                    now_ms: job.now_ms,
                }
            })
            .collect();
        let ids = self.insert_outbound_batches(tx, &batches).await?;
        let mut audit = Vec::with_capacity(queued.len());
        for (&p, ids) in queued.iter().zip(&ids) {
            if let Some(entry) = jobs[fast[p]].also.as_ref().and_then(|a| a.audit_row_only()) {
                audit.push(with_message_ids(entry, ids)?);
            }
        }
        let audit: Vec<&PreparedEntry> = audit.iter().collect();
        append_audit_batch(self, tx, &audit)
            .await
            .map_err(audit_to_store)?;
        let mut answers: HashMap<usize, (Vec<MessageId>, String)> = HashMap::new();
        for (&p, ids) in queued.iter().zip(ids) {
            let answer = (jobs[fast[p]].response)(&ids);
            answers.insert(p, (ids, answer));
        }
        self.store_idempotency(tx, jobs, fast, &queued, &answers)
            .await?;
        let mut outcomes = Vec::with_capacity(fast.len());
        for (position, plan) in plans.into_iter().enumerate() {
            let answer = |at: usize| {
                answers.get(&at).cloned().ok_or_else(|| {
                    StoreError::Database(sqlx::Error::Protocol(format!(
                        "the group commit lost the answer of its request {at}"
                    )))
                })
            };
            outcomes.push(match plan {
                Plan::Stored(outcome) => outcome,
                Plan::SameAs(earlier) => IdempotentOutcome::Replayed {
                    response: answer(earlier)?.1,
                },
                Plan::Queue => {
                    let (ids, response) = answer(position)?;
                    IdempotentOutcome::Queued { ids, response }
                }
            });
        }
        Ok(outcomes)
    }

    /// The stored `(request_hash, response)` of every idempotency key the jobs `fast` name,
    /// by `(api_key, idempotency_key)`.
    async fn stored_idempotency(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        jobs: &[GroupedEnqueue],
        fast: &[usize],
    ) -> Result<HashMap<(String, String), (String, String)>, StoreError> {
        let keys: Vec<(&str, &str)> = fast
            .iter()
            .filter_map(|&i| {
                let job = &jobs[i];
                job.idempotency_key
                    .as_deref()
                    .map(|key| (job.api_key.as_str(), key))
            })
            .collect();
        let mut stored = HashMap::new();
        for chunk in keys.chunks(IDEMPOTENCY_CHUNK) {
            let sql = values_lists(
                self.backend,
                "SELECT api_key, idempotency_key, request_hash, response FROM api_idempotency \
                 WHERE (api_key, idempotency_key) IN (VALUES ",
                "",
                2,
                chunk.len(),
            ) + ")";
            let mut query = sqlx::query(&sql);
            for (api_key, key) in chunk {
                query = query.bind(*api_key).bind(*key);
            }
            for row in query.fetch_all(&mut **tx).await? {
                stored.insert(
                    (row.try_get("api_key")?, row.try_get("idempotency_key")?),
                    (row.try_get("request_hash")?, row.try_get("response")?),
                );
            }
        }
        Ok(stored)
    }

    /// Inserts the idempotency rows of the queued jobs (positions `queued` in `fast`) that
    /// have a key, with their answers. A unique violation (another process stored the same key
    /// meanwhile) is an error like any other: the group then runs one by one, and that job
    /// finds the other's row.
    async fn store_idempotency(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        jobs: &[GroupedEnqueue],
        fast: &[usize],
        queued: &[usize],
        answers: &HashMap<usize, (Vec<MessageId>, String)>,
    ) -> Result<(), StoreError> {
        let rows: Vec<(&GroupedEnqueue, &str, &str)> = queued
            .iter()
            .filter_map(|p| {
                let job = &jobs[fast[*p]];
                let key = job.idempotency_key.as_deref()?;
                Some((job, key, answers.get(p)?.1.as_str()))
            })
            .collect();
        for chunk in rows.chunks(IDEMPOTENCY_CHUNK) {
            let sql = values_lists(
                self.backend,
                "INSERT INTO api_idempotency (api_key, idempotency_key, request_hash, response, \
                 created_at) VALUES ",
                "",
                5,
                chunk.len(),
            );
            let mut query = sqlx::query(&sql);
            for (job, key, answer) in chunk {
                query = query
                    .bind(job.api_key.as_str())
                    .bind(*key)
                    .bind(job.request_hash.as_str())
                    .bind(*answer)
                    .bind(job.now_ms);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// One job inside the group's transaction: in a savepoint, retried once when a concurrent
    /// writer (another process) stored the same idempotency key first. The outer error means
    /// the savepoint itself failed (the whole group must fail); the inner one is the job's own.
    async fn grouped_one(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        job: &GroupedEnqueue,
    ) -> Result<GroupOutcome, StoreError> {
        for _round in 0..2 {
            sqlx::query("SAVEPOINT jx_grouped_enqueue")
                .execute(&mut **tx)
                .await?;
            let result = self.enqueue_idempotent_in(tx, job).await;
            let keep = matches!(result, Ok(Some(_)));
            let end = if keep {
                "RELEASE SAVEPOINT jx_grouped_enqueue"
            } else {
                // Undo this job's writes only; the savepoint stays open until released.
                "ROLLBACK TO SAVEPOINT jx_grouped_enqueue"
            };
            sqlx::query(end).execute(&mut **tx).await?;
            if !keep {
                sqlx::query("RELEASE SAVEPOINT jx_grouped_enqueue")
                    .execute(&mut **tx)
                    .await?;
            }
            match result {
                Ok(Some(outcome)) => return Ok(Ok(outcome)),
                Ok(None) => continue,
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Err(StoreError::InvalidInput {
            field: "idempotency_key",
            reason: "a concurrent request with the same key is still being stored; retry".into(),
        }))
    }

    /// The steps of one idempotent enqueue inside `tx`. `Ok(None)`: another writer stored the
    /// same idempotency key first (unique violation); the caller rolls back and looks again.
    async fn enqueue_idempotent_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        job: &GroupedEnqueue,
    ) -> Result<Option<IdempotentOutcome>, StoreError> {
        if let Some(idempotency_key) = job.idempotency_key.as_deref()
            && let Some(row) = sqlx::query(
                "SELECT request_hash, response FROM api_idempotency \
                 WHERE api_key = $1 AND idempotency_key = $2",
            )
            .bind(job.api_key.as_str())
            .bind(idempotency_key)
            .fetch_optional(&mut **tx)
            .await?
        {
            let stored_hash: String = row.try_get("request_hash")?;
            let response: String = row.try_get("response")?;
            return Ok(Some(replay_or_mismatch(
                &stored_hash,
                &job.request_hash,
                &response,
            )));
        }
        let batches = [OutboundBatch {
            messages: &job.batch,
            api_key: Some(job.api_key.as_str()),
            now_ms: job.now_ms,
        }];
        let ids = self
            .insert_outbound_batches(tx, &batches)
            .await?
            .pop()
            .unwrap_or_default();
        if let Some(also) = &job.also {
            also.write(tx, &ids).await?;
        }
        let answer = (job.response)(&ids);
        if let Some(idempotency_key) = job.idempotency_key.as_deref() {
            let inserted = sqlx::query(
                "INSERT INTO api_idempotency (api_key, idempotency_key, request_hash, response, \
                 created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(job.api_key.as_str())
            .bind(idempotency_key)
            .bind(job.request_hash.as_str())
            .bind(answer.as_str())
            .bind(job.now_ms)
            .execute(&mut **tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some(IdempotentOutcome::Queued {
            ids,
            response: answer,
        }))
    }
}

/// Idempotency keys per look-up or INSERT of [`Store::group_fast`].
const IDEMPOTENCY_CHUNK: usize = 500;

/// Whether `job` can go with others in [`Store::group_fast`]: its messages can be stored, and
/// its only extra write, if any, is its audit row.
fn fits_fast_path(job: &GroupedEnqueue) -> bool {
    check_outbound(&job.batch).is_ok()
        && job
            .also
            .as_ref()
            .is_none_or(|also| also.audit_row_only().is_some())
}

/// The answer to a request whose idempotency key was used before: the stored answer when the
/// request is the same one, a mismatch otherwise.
pub(super) fn replay_or_mismatch(
    stored_hash: &str,
    request_hash: &str,
    stored_response: &str,
) -> IdempotentOutcome {
    if stored_hash == request_hash {
        IdempotentOutcome::Replayed {
            response: stored_response.to_owned(),
        }
    } else {
        IdempotentOutcome::Mismatch
    }
}

/// `count` errors for a group whose transaction could not be started or committed. StoreError
/// cannot be cloned (it holds the driver's error), so the others carry its text.
fn every_job_failed(count: usize, error: StoreError) -> Vec<GroupOutcome> {
    let text = error.to_string();
    let mut outcomes = Vec::with_capacity(count);
    outcomes.push(Err(error));
    while outcomes.len() < count {
        outcomes.push(Err(StoreError::Database(sqlx::Error::Protocol(format!(
            "the shared transaction of this request's group failed: {text}"
        )))));
    }
    outcomes.truncate(count);
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
    use crate::store::test_db::{TestDb, grouped};

    const T0: i64 = 1_767_225_600_000;

    fn job(batch: &str, idempotency_key: Option<&str>, hash: &str, to: &[&str]) -> GroupedEnqueue {
        grouped("oa", idempotency_key, hash, batch, to, T0)
    }

    /// A write that always fails, standing in for an extra write of the caller that breaks.
    struct Failing;

    impl AlsoInTransaction for Failing {
        fn write<'a>(
            &'a self,
            tx: &'a mut sqlx::Transaction<'static, sqlx::Any>,
            _ids: &'a [MessageId],
        ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                sqlx::query("INSERT INTO no_such_table (x) VALUES (1)")
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        }
    }

    async fn a_group_commits_each_request_as_if_alone(db: &TestDb) {
        let store = &db.store;
        let mut broken = job("b3", None, "h3", &["+8613800000003"]);
        broken.also = Some(Box::new(Failing));
        let jobs = vec![
            job("b1", Some("k"), "h1", &["+8613800000001", "+8613800000002"]),
            // The same idempotency key and request in the same group: answered from the first.
            job("b2", Some("k"), "h1", &["+8613800000001", "+8613800000002"]),
            // A failing request is undone alone.
            broken,
            // The same key with another request: refused.
            job("b4", Some("k"), "other", &["+8613800000004"]),
            job("b5", None, "h5", &["+8613800000005"]),
        ];
        let outcomes = store.enqueue_idempotent_group(&jobs).await;
        assert_eq!(outcomes.len(), 5);
        let Ok(IdempotentOutcome::Queued { ids, response }) = &outcomes[0] else {
            panic!("the first request queues: {:?}", outcomes[0]);
        };
        assert_eq!(ids.len(), 2);
        assert!(
            matches!(&outcomes[1], Ok(IdempotentOutcome::Replayed { response: r }) if r == response),
            "{:?}",
            outcomes[1]
        );
        assert!(outcomes[2].is_err(), "{:?}", outcomes[2]);
        assert!(matches!(outcomes[3], Ok(IdempotentOutcome::Mismatch)));
        assert!(matches!(outcomes[4], Ok(IdempotentOutcome::Queued { .. })));
        // Two messages of the first request and one of the last; none of the failed one.
        assert_eq!(store.queue_depths().await.expect("depths").queued, 3);
        assert!(
            store
                .api_message("oa", ids[0])
                .await
                .expect("read")
                .is_some()
        );
        // Later, outside any group, the key still answers the first request.
        let again = store
            .enqueue_idempotent_group(&[job("b6", Some("k"), "h1", &["+8613800000001"])])
            .await;
        assert!(
            matches!(&again[0], Ok(IdempotentOutcome::Replayed { response: r }) if r == response)
        );
        assert_eq!(store.queue_depths().await.expect("depths").queued, 3);
    }

    fn audited(batch: &str, to: &[&str], actor: &str, store: &Store) -> GroupedEnqueue {
        let entry = AuditEntry::new(
            AuditComponent::Api,
            AuditEvent::MessageSend,
            AuditOutcome::Ok,
        )
        .with_actor(actor)
        .with_object(batch)
        .with_details(serde_json::json!({ "recipients": to.len() }));
        audited_as(batch, to, entry, store)
    }

    /// [`audited`] with the given audit entry.
    fn audited_as(batch: &str, to: &[&str], entry: AuditEntry, store: &Store) -> GroupedEnqueue {
        GroupedEnqueue {
            also: Some(Box::new(super::super::audit::AuditInTransaction::new(
                store, entry, None,
            ))),
            ..job(batch, Some(batch), batch, to)
        }
    }

    async fn many_requests_share_a_few_statements_and_keep_their_key_and_audit_rows(db: &TestDb) {
        let store = &db.store;
        let jobs: Vec<GroupedEnqueue> = (0..300)
            .map(|i| {
                let to = [format!("+86138{i:08}"), format!("+86139{i:08}")];
                let to: Vec<&str> = to.iter().map(String::as_str).collect();
                audited(&format!("b{i}"), &to, "api:oa", store)
            })
            .collect();
        let outcomes = store.enqueue_idempotent_group(&jobs).await;
        let mut all_ids = Vec::new();
        for outcome in &outcomes {
            let Ok(IdempotentOutcome::Queued { ids, .. }) = outcome else {
                panic!("every request queues: {outcome:?}");
            };
            assert_eq!(ids.len(), 2);
            all_ids.extend(ids.iter().copied());
        }
        // Each request's own ids, in the order of its recipients, none shared.
        let distinct: std::collections::HashSet<_> = all_ids.iter().collect();
        assert_eq!(distinct.len(), 600);
        let Ok(IdempotentOutcome::Queued { ids, .. }) = &outcomes[7] else {
            unreachable!()
        };
        let (message, _) = store
            .api_message("oa", ids[1])
            .await
            .expect("read")
            .expect("the key's");
        assert_eq!(message.peer, "+8613900000007");
        // One audit row per request, naming its messages, and the chain is intact.
        let log = crate::audit::AuditLog::new(store.clone());
        let check = log.verify().await.expect("verify");
        assert!(check.is_intact(), "{check:?}");
        assert_eq!(check.rows, 300);
        let rows = store.audit_page(0, 1000).await.expect("rows");
        assert!(
            rows[7]
                .details
                .contains(&format!("\"first_id\":{}", ids[0])),
            "{}",
            rows[7].details
        );
        // The same requests again are replays: nothing more is queued or audited.
        let again = store.enqueue_idempotent_group(&jobs[..10]).await;
        assert!(
            again
                .iter()
                .all(|o| matches!(o, Ok(IdempotentOutcome::Replayed { .. })))
        );
        assert_eq!(store.queue_depths().await.expect("depths").queued, 600);
    }

    async fn a_request_whose_audit_row_is_refused_fails_alone(db: &TestDb) {
        let store = &db.store;
        // An entry without a valid time: its audit row cannot be written, so it must not queue.
        let mut timeless = AuditEntry::new(
            AuditComponent::Api,
            AuditEvent::MessageSend,
            AuditOutcome::Ok,
        );
        timeless.at_ms = 0;
        let jobs = vec![
            audited("b1", &["+8613800000001"], "api:oa", store),
            audited_as("b2", &["+8613800000002"], timeless, store),
            audited("b3", &["+8613800000003"], "api:oa", store),
        ];
        let outcomes = store.enqueue_idempotent_group(&jobs).await;
        assert!(matches!(outcomes[0], Ok(IdempotentOutcome::Queued { .. })));
        assert!(outcomes[1].is_err(), "{:?}", outcomes[1]);
        assert!(matches!(outcomes[2], Ok(IdempotentOutcome::Queued { .. })));
        assert_eq!(store.queue_depths().await.expect("depths").queued, 2);
        let check = crate::audit::AuditLog::new(store.clone())
            .verify()
            .await
            .expect("verify");
        assert!(check.is_intact() && check.rows == 2, "{check:?}");
    }

    #[test]
    fn a_failed_commit_fails_every_request_of_the_group() {
        let outcomes = every_job_failed(3, StoreError::Database(sqlx::Error::PoolClosed));
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes.iter().all(Result::is_err));
    }

    crate::on_both_backends!(TestDb =>
        a_group_commits_each_request_as_if_alone,
        many_requests_share_a_few_statements_and_keep_their_key_and_audit_rows,
        a_request_whose_audit_row_is_refused_fails_alone,
    );
}
