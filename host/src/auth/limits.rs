//! What keeps sign-in from being a way to guess passwords faster than the lock-out allows, or
//! to exhaust the daemon (issue 18, findings 3 and 4):
//!
//! - [`Argon2Gate`]: argon2 runs on the blocking pool at most [`Argon2Gate::permits`] at once.
//!   Each run takes a core and 19 MiB for tens of milliseconds; without a bound, a flood of
//!   sign-ins would queue hundreds of them on tokio's blocking pool (up to 512 threads). Further
//!   runs wait for a permit. The permit is moved into the blocking job, so a request that gives
//!   up (its client went away, its time ran out) does not free a permit while its hash is still
//!   being computed.
//! - [`LoginTurns`]: one sign-in attempt per login at a time in this process. The next attempt
//!   for the same login waits until the previous one has recorded its outcome, so that it reads
//!   a failure count (and lock) that includes the previous attempt: N parallel guesses are
//!   counted one after the other and the account locks after exactly `lockout_failures`.
//!   Logins that do not exist are treated the same way (the wait tells nothing). Entries exist
//!   only while an attempt holds or awaits them, so memory is bounded by the requests in flight
//!   (themselves bounded by `[http] max_concurrent_requests`).
//! - The per-source failure budget is the API's token bucket,
//!   [`crate::limit::failures::FailureLimiter`], with its own sizes from `[web]`.
//!
//! Several daemons on one PostgreSQL database each serialise their own attempts; the success
//! transaction re-reads the lock ([`crate::store`]'s `account_record_success`), so a lock set by
//! another daemon is never cleared by a sign-in that started before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// At most this many argon2 runs at once by default (fewer on a machine with fewer cores).
pub const MAX_ARGON2_PERMITS: usize = 4;

/// argon2 runs at once: one per core, at most [`MAX_ARGON2_PERMITS`].
pub fn default_argon2_permits() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_ARGON2_PERMITS)
}

/// See the module documentation.
#[derive(Debug)]
pub struct Argon2Gate {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

/// The right to run one argon2 computation (given back when dropped); see
/// [`Argon2Gate::acquire`].
#[derive(Debug)]
pub struct Argon2Permit {
    _permit: OwnedSemaphorePermit,
}

impl Argon2Gate {
    /// A gate letting `permits` runs through at once (at least one).
    pub fn new(permits: usize) -> Argon2Gate {
        let permits = permits.max(1);
        Argon2Gate {
            semaphore: Arc::new(Semaphore::new(permits)),
            permits,
        }
    }

    /// How many runs may go at once.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Waits for a free permit (in the order asked).
    pub async fn acquire(&self) -> Argon2Permit {
        // The semaphore is never closed, so acquiring cannot fail.
        match self.semaphore.clone().acquire_owned().await {
            Ok(permit) => Argon2Permit { _permit: permit },
            Err(_) => unreachable!("the argon2 semaphore is never closed"),
        }
    }

    /// Runs `work` on the blocking pool once a permit is free; the permit is held until
    /// `work` returns, even if the caller stops waiting. `None` if `work` panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let permit = self.acquire().await;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .ok()
    }
}

impl Default for Argon2Gate {
    fn default() -> Self {
        Argon2Gate::new(default_argon2_permits())
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct LoginTurns {
    logins: Mutex<HashMap<String, Turns>>,
}

/// The lock of one login and how many attempts hold or await it.
#[derive(Debug)]
struct Turns {
    lock: Arc<tokio::sync::Mutex<()>>,
    attempts: usize,
}

/// The turn of one sign-in attempt; the next attempt for the login goes when it is dropped.
#[derive(Debug)]
pub struct LoginTurn<'a> {
    turns: &'a LoginTurns,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl LoginTurns {
    /// Waits until no other attempt for `login` (as stored: trimmed, lower case) is under way.
    pub async fn turn(&self, login: &str) -> LoginTurn<'_> {
        let key: String = login.chars().take(64).collect();
        let lock = {
            let mut logins = self.logins.lock().unwrap_or_else(PoisonError::into_inner);
            let turns = logins.entry(key.clone()).or_insert_with(|| Turns {
                lock: Arc::default(),
                attempts: 0,
            });
            turns.attempts += 1;
            turns.lock.clone()
        };
        // Counted before waiting, so that an attempt that gives up while waiting (its future
        // dropped) is uncounted by the same `Drop`.
        let mut turn = LoginTurn {
            turns: self,
            key,
            guard: None,
        };
        turn.guard = Some(lock.lock_owned().await);
        turn
    }

    /// Logins with an attempt under way or waiting.
    pub fn len(&self) -> usize {
        self.logins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no attempt is under way.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for LoginTurn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut logins = self
            .turns
            .logins
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(turns) = logins.get_mut(&self.key) {
            turns.attempts = turns.attempts.saturating_sub(1);
            if turns.attempts == 0 {
                logins.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::FutureExt;

    use super::*;

    /// Issue 18, finding 4: a run beyond the permits waits for one to be free.
    #[tokio::test]
    async fn argon2_runs_beyond_the_permits_wait_for_a_free_one() {
        let gate = Argon2Gate::new(2);
        let first = gate.acquire().await;
        let _second = gate.acquire().await;
        assert!(
            gate.acquire().now_or_never().is_none(),
            "a third run must wait while two are under way"
        );
        drop(first);
        assert!(gate.acquire().now_or_never().is_some());
        assert_eq!(Argon2Gate::new(0).permits(), 1, "never zero permits");
    }

    /// A caller that stops waiting (its request timed out) does not free the permit while its
    /// hash is still being computed on the blocking pool.
    #[tokio::test]
    async fn the_permit_is_held_until_the_blocking_work_ends_even_if_its_caller_gives_up() {
        let gate = Arc::new(Argon2Gate::new(1));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let caller = tokio::spawn({
            let gate = gate.clone();
            async move {
                gate.run(move || {
                    let _ = started_tx.send(());
                    let _ = release_rx.recv();
                })
                .await
            }
        });
        started_rx.await.expect("the work started");
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        assert!(
            gate.acquire().now_or_never().is_none(),
            "the work still runs, so its permit is still taken"
        );
        release_tx.send(()).expect("the work is waiting");
        let permit = tokio::time::timeout(Duration::from_secs(30), gate.acquire()).await;
        assert!(permit.is_ok(), "the permit comes back when the work ends");
    }

    /// Issue 18, finding 3: a second attempt for a login waits for the first to finish; other
    /// logins do not wait; nothing is left behind.
    #[tokio::test]
    async fn one_attempt_per_login_at_a_time_and_nothing_is_kept_afterwards() {
        let turns = LoginTurns::default();
        let first = turns.turn("wang").await;
        assert!(
            turns.turn("wang").now_or_never().is_none(),
            "a second attempt for the same login waits"
        );
        let other = turns.turn("li").now_or_never();
        assert!(other.is_some(), "another login does not wait");
        drop(other);
        assert_eq!(turns.len(), 1);
        drop(first);
        assert!(turns.is_empty(), "no entry outlives its attempts");
        let again = turns.turn("wang").now_or_never();
        assert!(again.is_some());
        drop(again);
        assert!(turns.is_empty());
    }

    /// A waiter that gives up keeps the entry only as long as someone else holds it.
    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_nothing_behind() {
        let turns = LoginTurns::default();
        let first = turns.turn("wang").await;
        let mut waiter = Box::pin(turns.turn("wang"));
        assert!((&mut waiter).now_or_never().is_none());
        drop(waiter);
        drop(first);
        assert!(turns.is_empty());
    }
}
