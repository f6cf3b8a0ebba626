//! The API's group committer: every enqueue of `/api/v1` goes through one writer task that
//! takes all requests waiting in its channel and commits them in ONE transaction
//! ([`Store::enqueue_idempotent_group`]), answering each through its own oneshot once the
//! transaction is committed. While a group's commit waits for the disk, the next requests
//! gather in the channel, so the group size follows the load: one request alone is committed at
//! once (no timer, no added latency), a burst shares one disk flush. Each request keeps its own
//! idempotency, its own extra writes (audit row) and its own failure (savepoints; see
//! [`crate::store::batch`]).

use tokio::sync::{mpsc, oneshot};

use crate::store::{GroupOutcome, GroupedEnqueue, Store, StoreError};

/// Requests waiting for the writer at most; more wait in `enqueue` (back-pressure on the HTTP
/// handlers rather than unbounded memory).
pub const QUEUE_CAPACITY: usize = 4096;
/// Requests committed in one transaction at most.
pub const GROUP_MAX_REQUESTS: usize = 512;
/// Messages committed in one transaction at most (a group stops growing past this; a single
/// larger request still goes alone).
pub const GROUP_MAX_MESSAGES: usize = 20_000;

type Job = (GroupedEnqueue, oneshot::Sender<GroupOutcome>);

/// Handle on the writer task; cheap to clone. The task ends when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(store: Store) -> Committer {
        let (jobs, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(writer(store, receiver));
        Committer { jobs }
    }

    /// Commits `job` (with whichever requests are waiting too) and returns its outcome once the
    /// transaction is committed.
    pub(crate) async fn enqueue(&self, job: GroupedEnqueue) -> GroupOutcome {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send((job, reply)).await.is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> StoreError {
    // The writer task is gone (daemon shutting down): nothing of this request was stored.
    StoreError::Database(sqlx::Error::PoolClosed)
}

async fn writer(store: Store, mut receiver: mpsc::Receiver<Job>) {
    let mut group: Vec<Job> = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut messages = first.0.batch.len();
        group.push(first);
        while group.len() < GROUP_MAX_REQUESTS && messages < GROUP_MAX_MESSAGES {
            match receiver.try_recv() {
                Ok(job) => {
                    messages += job.0.batch.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let (jobs, replies): (Vec<GroupedEnqueue>, Vec<oneshot::Sender<GroupOutcome>>) =
            group.drain(..).unzip();
        let started = std::time::Instant::now();
        let outcomes = store.enqueue_idempotent_group(&jobs).await;
        tracing::trace!(
            requests = jobs.len(),
            messages,
            micros = started.elapsed().as_micros() as u64,
            "API group committed"
        );
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A handler that went away (client disconnected) does not need its answer; its
            // messages are committed all the same, as they would be without grouping.
            let _ = reply.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IdempotentOutcome;
    use crate::store::test_db::{TestDb, grouped};

    async fn concurrent_requests_are_committed_and_each_gets_its_own_answer(db: &TestDb) {
        let committer = Committer::start(db.store.clone());
        let calls = (0..40).map(|i| {
            let committer = committer.clone();
            async move {
                // Every fourth request repeats the idempotency key of the one before.
                let same_as = i - i % 4 / 3;
                let job = grouped(
                    "oa",
                    Some(&format!("k{same_as}")),
                    &format!("h{same_as}"),
                    &format!("b{i}"),
                    &[&format!("+86138000000{i:02}")],
                    1_767_225_600_000,
                );
                committer.enqueue(job).await.expect("committed")
            }
        });
        let outcomes = futures::future::join_all(calls).await;
        let queued = outcomes
            .iter()
            .filter(|o| matches!(o, IdempotentOutcome::Queued { .. }))
            .count();
        let replayed = outcomes
            .iter()
            .filter(|o| matches!(o, IdempotentOutcome::Replayed { .. }))
            .count();
        assert_eq!((queued, replayed), (30, 10), "{outcomes:?}");
        assert_eq!(db.store.queue_depths().await.expect("depths").queued, 30);
    }

    crate::on_both_backends!(TestDb => concurrent_requests_are_committed_and_each_gets_its_own_answer);
}
