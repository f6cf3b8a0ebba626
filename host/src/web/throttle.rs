//! Exponential delay of repeated failed sign-ins (issue 4; checklist "Sign-in and sessions"),
//! in front of the account lock-out of [`crate::auth`]: the refusal of the n-th failure in a
//! row for one login is answered only after `2^(n-2)` seconds (none for the first, 1 s for
//! the second, 2 s, 4 s ... at most [`MAX_DELAY`]), so that guessing is slow long before the
//! account locks. The key is the login as typed (trimmed, lower case), whether or not such a
//! user exists, so that the delay tells nothing about which logins are real. Kept in memory
//! and bounded: at most [`MAX_ENTRIES`] logins; a login's count is forgotten [`FORGET_AFTER`]
//! after its last failure, and at a successful sign-in.
//!
//! The counts are [`KeyedBuckets`] that refill only after a quiet period: each failure spends
//! a token, the tokens spent are the failures in a row, and a full map forgets the logins with
//! the fewest failures first (of equals, the stalest).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::limit::{KeyedBuckets, Quota};

/// The longest delay of one answer.
pub const MAX_DELAY: Duration = Duration::from_secs(16);
/// How long a login's failures are remembered.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// The most logins remembered at once.
pub const MAX_ENTRIES: usize = 10_000;

/// See the module documentation.
#[derive(Debug)]
pub struct SignInThrottle {
    logins: Mutex<KeyedBuckets<String>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        // As many tokens as failures can be counted: the bucket never runs dry, it counts.
        let quota = Quota::after_quiet(u32::MAX, FORGET_AFTER);
        SignInThrottle {
            logins: Mutex::new(KeyedBuckets::new(quota, MAX_ENTRIES)),
        }
    }
}

fn key(login: &str) -> String {
    login.trim().to_lowercase().chars().take(64).collect()
}

/// The delay of the answer to the `count`-th failure in a row.
pub fn delay_for(count: u32) -> Duration {
    if count < 2 {
        return Duration::ZERO;
    }
    let seconds = 1u64 << (count - 2).min(10);
    Duration::from_secs(seconds).min(MAX_DELAY)
}

impl SignInThrottle {
    fn logins(&self) -> std::sync::MutexGuard<'_, KeyedBuckets<String>> {
        self.logins.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a failed sign-in of `login` at `now`; returns how long to hold its answer.
    pub fn failed(&self, login: &str, now: Instant) -> Duration {
        let spent = self.logins().spend(key(login).as_str(), now);
        // Whole tokens spent, at most `u32::MAX`: the failures in a row.
        delay_for(spent.used as u32)
    }

    /// Forgets the failures of `login` (it signed in).
    pub fn succeeded(&self, login: &str) {
        self.logins().forget(key(login).as_str());
    }

    /// How many logins are remembered.
    pub fn len(&self) -> usize {
        self.logins().len()
    }

    /// Whether no login is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_the_second_failure_up_to_the_cap() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        let delays: Vec<u64> = (0..8)
            .map(|_| throttle.failed("Wang ", now).as_secs())
            .collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 16, 16]);
        // The same login however typed; another login starts afresh.
        assert_eq!(throttle.failed("wang", now), MAX_DELAY);
        assert_eq!(throttle.failed("li", now), Duration::ZERO);
    }

    #[test]
    fn success_and_time_forget_the_failures() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        throttle.failed("wang", now);
        throttle.failed("wang", now);
        throttle.succeeded("WANG");
        assert_eq!(throttle.failed("wang", now), Duration::ZERO);
        let later = now + FORGET_AFTER;
        assert_eq!(throttle.failed("wang", later), Duration::ZERO);
    }

    #[test]
    fn unknown_and_real_logins_are_treated_alike_and_memory_stays_bounded() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for i in 0..(MAX_ENTRIES + 50) {
            throttle.failed(&format!("guess{i}"), now + Duration::from_millis(i as u64));
        }
        assert_eq!(throttle.len(), MAX_ENTRIES);
        // The stalest were forgotten, the newest kept.
        let newest = format!("guess{}", MAX_ENTRIES + 49);
        assert_eq!(
            throttle.failed(&newest, now + Duration::from_secs(100)),
            Duration::from_secs(1)
        );
    }
}
