//! Group commit of API enqueues (issue 5's benchmark): several `POST /api/v1/messages` requests
//! committed in ONE transaction, so that they share one disk flush. With SQLite at
//! `synchronous=FULL` every commit waits for an fsync of the WAL (about 1.4 ms on the
//! development machine), which alone caps one-commit-per-request at some 700 requests per second;
//! a group of N requests pays it once.
//!
//! Each request keeps its own meaning: it runs inside a `SAVEPOINT` with exactly the steps of
//! [`Store::enqueue_idempotent_with`] (idempotency look-up, messages, their key, the caller's
//! extra writes such as the call's audit row, the stored answer), so a request that fails is
//! rolled back alone and the others still commit; two requests of one group with the same
//! idempotency key queue once (the second sees the first's row in the same transaction). Nothing
//! is reported before the whole group is committed: a failed commit fails every request of the
//! group, and none of them was accepted. The task that feeds groups in lives in
//! [`crate::api::committer`].

use sqlx::Row;

use super::api_keys::AlsoInTransaction;
use super::{IdempotentOutcome, MessageId, NewOutbound, Store, StoreError};

/// One request's enqueue, as given to [`Store::enqueue_idempotent_group`]; the same values as
/// [`Store::enqueue_idempotent_with`] takes, owned so that they can wait in a queue.
pub(crate) struct GroupedEnqueue {
    /// The API key's name.
    pub api_key: String,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// Hash of the request, compared when the idempotency key was used before.
    pub request_hash: String,
    /// The messages; every one with the same, unique `batch_id`.
    pub batch: Vec<NewOutbound>,
    /// The answer stored (with an idempotency key) and returned, from the new ids.
    pub response: Box<dyn Fn(&[MessageId]) -> String + Send + Sync>,
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
    /// Runs `jobs` in one write transaction, each inside its own savepoint, and commits once.
    /// Returns one outcome per job, in order. When the commit itself fails, every job gets an
    /// error (the first the commit's own, the others one that says so): none was accepted.
    pub(crate) async fn enqueue_idempotent_group(
        &self,
        jobs: &[GroupedEnqueue],
    ) -> Vec<GroupOutcome> {
        let mut tx = match self.begin_write().await {
            Ok(tx) => tx,
            Err(e) => return every_job_failed(jobs.len(), e),
        };
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            match self.grouped_one(&mut tx, job).await {
                Ok(outcome) => outcomes.push(outcome),
                // A savepoint could not be set, released or rolled back to: the transaction
                // may be gone (SQLite rolls back by itself on a full disk or an I/O error, and
                // a later SAVEPOINT would silently open a new one). Fail the whole group; the
                // dropped transaction rolls back whatever is left of it.
                Err(e) => return every_job_failed(jobs.len(), e),
            }
        }
        if let Err(e) = tx.commit().await {
            return every_job_failed(jobs.len(), e.into());
        }
        outcomes
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
            return Ok(Some(if stored_hash == job.request_hash {
                IdempotentOutcome::Replayed {
                    response: row.try_get("response")?,
                }
            } else {
                IdempotentOutcome::Mismatch
            }));
        }
        let ids = self.insert_outbound(tx, &job.batch, job.now_ms).await?;
        if let Some(batch_id) = job.batch.first().and_then(|m| m.batch_id.as_deref()) {
            sqlx::query("UPDATE messages SET api_key = $1 WHERE batch_id = $2")
                .bind(job.api_key.as_str())
                .bind(batch_id)
                .execute(&mut **tx)
                .await?;
        }
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
    use crate::store::test_db::{TestDb, on_both_backends};

    const T0: i64 = 1_767_225_600_000;

    fn job(batch: &str, idempotency_key: Option<&str>, hash: &str, to: &[&str]) -> GroupedEnqueue {
        GroupedEnqueue {
            api_key: "oa".into(),
            idempotency_key: idempotency_key.map(str::to_owned),
            request_hash: hash.into(),
            batch: to
                .iter()
                .map(|peer| NewOutbound {
                    batch_id: Some(batch.to_owned()),
                    ..NewOutbound::new(*peer, "hello")
                })
                .collect(),
            response: Box::new(|ids: &[MessageId]| format!("{ids:?}")),
            also: None,
            now_ms: T0,
        }
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

    #[test]
    fn a_failed_commit_fails_every_request_of_the_group() {
        let outcomes = every_job_failed(3, StoreError::Database(sqlx::Error::PoolClosed));
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes.iter().all(Result::is_err));
    }

    on_both_backends!(a_group_commits_each_request_as_if_alone);
}
