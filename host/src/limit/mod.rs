//! One keyed token bucket with a hard bound on its keys, for every limit of the daemon: the
//! rate of each API key (`api::auth`), the budget of failed authentications of each source
//! address ([`failures`], shared by the API and web sign-in), the commands of each phone
//! (`router`) and the delay of repeated failed sign-ins of each login (`web::throttle`).
//!
//! Each key has a bucket of at most [`Quota::burst`] tokens, full when the key is first seen.
//! A bucket refills steadily ([`Refill::PerSecond`], the classic token bucket) or all at once
//! when its key has been left alone for a while ([`Refill::AfterQuiet`], for counts of
//! failures in a row that should not melt away while someone keeps guessing slowly). Callers
//! [`take`](KeyedBuckets::take) a token when one is there (a rate), [`check`](KeyedBuckets::check)
//! without taking (to refuse before costly work), or [`spend`](KeyedBuckets::spend) one
//! whatever the level (to count a failure after the fact).
//!
//! Memory is bounded: at most `max_keys` keys are tracked, whatever arrives. When a new key
//! finds the map full, keys whose buckets are full again are forgotten first (a full bucket is
//! what an unknown key gets, so forgetting one changes nothing); if that frees nothing, the key
//! with the fullest bucket is evicted (the least limited, so the least suspicious; of equals,
//! the one left alone longest). A flood of made-up keys therefore evicts its own keys, never a
//! key that is being limited. Making room scans the map, so its cost is bounded by `max_keys`
//! too and is paid only while the map is full.
//!
//! Time is a parameter (`now`) of every call: the daemon passes [`Instant::now`], tests pass
//! instants of their own, so that no test sleeps or measures time.
//!
//! Hand-written rather than `governor`'s keyed rate limiter, which the callers would have to
//! bend too far: its keyed store has no bound (it grows until `retain_recent` is called), it
//! has one quota for all keys (each API key has its own rate, which may change while the
//! daemon runs), it cannot check without taking a token (the failure budgets peek before a
//! look-up and charge only failures), and it has no refill after a quiet period.

pub mod failures;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How a bucket refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refill {
    /// Steadily, this many tokens per second (zero or less: never).
    PerSecond(f64),
    /// Not at all while its key is used, then completely once the key has been left alone
    /// (neither taken from nor spent) for this long.
    AfterQuiet(Duration),
}

/// The size of a bucket and how it refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Tokens in a full bucket: how many a key may use at once (zero counts as one).
    pub burst: u32,
    /// How used tokens come back.
    pub refill: Refill,
}

impl Quota {
    /// `burst` tokens, refilled at `per_second`.
    pub fn per_second(burst: u32, per_second: f64) -> Quota {
        Quota {
            burst,
            refill: Refill::PerSecond(per_second),
        }
    }

    /// `n` tokens a minute: bursts of `n`, a full bucket again a minute after it was emptied.
    pub fn per_minute(n: u32) -> Quota {
        Quota::per_second(n, f64::from(n) / 60.0)
    }

    /// `burst` tokens, all back once the key has been left alone for `quiet`.
    pub fn after_quiet(burst: u32, quiet: Duration) -> Quota {
        Quota {
            burst,
            refill: Refill::AfterQuiet(quiet),
        }
    }

    fn capacity(&self) -> f64 {
        f64::from(self.burst.max(1))
    }
}

/// A refused [`KeyedBuckets::take`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// How long until the key has a token again (if it is left alone that long, for
    /// [`Refill::AfterQuiet`]); [`Duration::MAX`] if never.
    pub wait: Duration,
    /// This is the key's first refusal since its bucket was last full: the one to tell
    /// someone about (later ones in the same episode need not be).
    pub first: bool,
}

/// What a [`KeyedBuckets::spend`] left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spent {
    /// Tokens left in the key's bucket (never below zero).
    pub left: f64,
    /// This spend took the bucket's last whole token: from now on the key is limited until it
    /// refills. Reported once per episode, so that it can be audited once.
    pub emptied: bool,
    /// Tokens used up in the bucket: the burst less what is left (so, for a bucket that
    /// refills after a quiet period, the failures in a row counted so far).
    pub used: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// When the key was last taken from or spent.
    last: Instant,
    quota: Quota,
    /// A refusal was reported since the bucket was last full.
    refused: bool,
}

impl Bucket {
    fn full(quota: Quota, now: Instant) -> Bucket {
        Bucket {
            tokens: quota.capacity(),
            last: now,
            quota,
            refused: false,
        }
    }

    /// Tokens at `now`.
    fn level(&self, now: Instant) -> f64 {
        let capacity = self.quota.capacity();
        let elapsed = now.saturating_duration_since(self.last);
        match self.quota.refill {
            Refill::PerSecond(rate) => {
                (self.tokens + elapsed.as_secs_f64() * positive(rate)).min(capacity)
            }
            Refill::AfterQuiet(quiet) if elapsed >= quiet => capacity,
            Refill::AfterQuiet(_) => self.tokens,
        }
    }

    /// How full the bucket is at `now`, from 0 to 1: what eviction compares.
    fn fill(&self, now: Instant) -> f64 {
        self.level(now) / self.quota.capacity()
    }

    fn is_full(&self, now: Instant) -> bool {
        self.level(now) >= self.quota.capacity()
    }

    /// How long from `now` until the bucket holds a whole token.
    fn wait(&self, now: Instant) -> Duration {
        let level = self.level(now);
        if level >= 1.0 {
            return Duration::ZERO;
        }
        match self.quota.refill {
            Refill::PerSecond(rate) => {
                Duration::try_from_secs_f64((1.0 - level) / positive(rate)).unwrap_or(Duration::MAX)
            }
            Refill::AfterQuiet(quiet) => {
                quiet.saturating_sub(now.saturating_duration_since(self.last))
            }
        }
    }

    /// Brings the bucket to `now` (refilled, marked as used now); returns its level.
    fn touch(&mut self, now: Instant) -> f64 {
        let level = self.level(now);
        if level >= self.quota.capacity() {
            self.refused = false;
        }
        self.tokens = level;
        self.last = now;
        level
    }
}

/// A rate that refills: `rate` if positive, else zero (also for NaN).
fn positive(rate: f64) -> f64 {
    if rate > 0.0 { rate } else { 0.0 }
}

/// A token bucket per key, at most `max_keys` of them; see the module documentation. Not
/// synchronised: callers that share one put it behind a mutex (every operation is short and
/// never waits).
#[derive(Debug, Clone)]
pub struct KeyedBuckets<K> {
    quota: Quota,
    max_keys: usize,
    buckets: HashMap<K, Bucket>,
}

impl<K: Eq + Hash + Clone> KeyedBuckets<K> {
    /// Buckets of `quota` for at most `max_keys` keys (at least one).
    pub fn new(quota: Quota, max_keys: usize) -> KeyedBuckets<K> {
        KeyedBuckets {
            quota,
            max_keys: max_keys.max(1),
            buckets: HashMap::new(),
        }
    }

    /// The quota of keys taken without one of their own ([`KeyedBuckets::take`]).
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The most keys tracked at once.
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Tokens in `key`'s bucket at `now` (a full bucket of the quota for a key not tracked).
    pub fn tokens<Q>(&self, key: &Q, now: Instant) -> f64
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.buckets
            .get(key)
            .map_or(self.quota.capacity(), |b| b.level(now))
    }

    /// Whether `key` has a token at `now`, without taking it; `Err` holds how long until it has.
    pub fn check<Q>(&self, key: &Q, now: Instant) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.buckets.get(key) {
            Some(bucket) if bucket.level(now) < 1.0 => Err(bucket.wait(now)),
            _ => Ok(()),
        }
    }

    /// Takes one token of `key`'s bucket if there is one.
    pub fn take<Q>(&mut self, key: &Q, now: Instant) -> Result<(), Refused>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.take_with(key, self.quota, now)
    }

    /// Like [`KeyedBuckets::take`] for a key with a quota of its own; a quota that changed
    /// since the key's last call applies from now on (a smaller burst caps the tokens left).
    pub fn take_with<Q>(&mut self, key: &Q, quota: Quota, now: Instant) -> Result<(), Refused>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.update(key, quota, now, |bucket| {
            let level = bucket.touch(now);
            if level >= 1.0 {
                bucket.tokens -= 1.0;
                Ok(())
            } else {
                let first = !bucket.refused;
                bucket.refused = true;
                Err(Refused {
                    wait: bucket.wait(now),
                    first,
                })
            }
        })
    }

    /// Uses one token of `key`'s bucket, or what is left of one: for failures, which are
    /// counted whether or not the key was allowed to fail again.
    pub fn spend<Q>(&mut self, key: &Q, now: Instant) -> Spent
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.update(key, self.quota, now, |bucket| {
            let before = bucket.touch(now);
            bucket.tokens = (before - 1.0).max(0.0);
            Spent {
                left: bucket.tokens,
                emptied: before >= 1.0 && bucket.tokens < 1.0,
                used: bucket.quota.capacity() - bucket.tokens,
            }
        })
    }

    /// Forgets `key`: its bucket is full again.
    pub fn forget<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.buckets.remove(key);
    }

    /// Runs `change` on `key`'s bucket, making one (full, of `quota`) if the key is new.
    fn update<Q, T>(
        &mut self,
        key: &Q,
        quota: Quota,
        now: Instant,
        change: impl FnOnce(&mut Bucket) -> T,
    ) -> T
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(bucket) = self.buckets.get_mut(key) {
            if bucket.quota != quota {
                // Bring it to now under the old quota before the new one applies.
                bucket.touch(now);
                bucket.quota = quota;
                bucket.tokens = bucket.tokens.min(quota.capacity());
            }
            return change(bucket);
        }
        if self.buckets.len() >= self.max_keys {
            self.make_room(now);
        }
        let mut bucket = Bucket::full(quota, now);
        let out = change(&mut bucket);
        self.buckets.insert(key.to_owned(), bucket);
        out
    }

    /// Frees at least one place: forgets full buckets, else evicts the fullest (of equals,
    /// the one left alone longest).
    fn make_room(&mut self, now: Instant) {
        self.buckets.retain(|_, bucket| !bucket.is_full(now));
        if self.buckets.len() < self.max_keys {
            return;
        }
        let fullest = self
            .buckets
            .iter()
            .max_by(|(_, a), (_, b)| {
                a.fill(now)
                    .total_cmp(&b.fill(now))
                    .then_with(|| b.last.cmp(&a.last))
            })
            .map(|(key, _)| key.clone());
        if let Some(key) = fullest {
            self.buckets.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// Moved from the API's own bucket of a key's rate: `rate` requests at once, then one more
    /// each `1/rate` seconds.
    #[test]
    fn a_bucket_allows_its_burst_then_refuses_until_tokens_refill() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::<String>::new(Quota::per_second(2, 2.0), 10);
        assert!(buckets.take("oa", t0).is_ok());
        assert!(buckets.take("oa", t0).is_ok());
        let refused = buckets.take("oa", t0).expect_err("burst used up");
        assert_eq!(refused.wait, Duration::from_millis(500));
        assert!(buckets.check("oa", at(t0, 499)).is_err());
        assert!(buckets.take("oa", at(t0, 500)).is_ok());
    }

    #[test]
    fn tokens_refill_at_the_rate_up_to_the_burst_and_no_further() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::<String>::new(Quota::per_second(4, 1.0), 10);
        for _ in 0..4 {
            buckets.take("k", t0).expect("within the burst");
        }
        assert_eq!(buckets.tokens("k", t0), 0.0);
        assert_eq!(buckets.tokens("k", at(t0, 2_500)), 2.5);
        // A long pause refills the burst, not more.
        let later = at(t0, 3_600_000);
        assert_eq!(buckets.tokens("k", later), 4.0);
        for _ in 0..4 {
            buckets.take("k", later).expect("a full burst again");
        }
        assert!(buckets.take("k", later).is_err());
    }

    /// Moved from the router's per-phone limit: past the limit, the first refusal is the one
    /// to answer (one notice), later ones are silent until the phone's bucket is full again.
    #[test]
    fn a_flood_gets_one_first_refusal_then_quiet_ones_until_the_bucket_is_full_again() {
        let t0 = Instant::now();
        let mut phones = KeyedBuckets::<String>::new(Quota::per_minute(3), 10);
        let phone = "+8613800000001";
        let verdicts: Vec<_> = (0..6)
            .map(|i| phones.take(phone, at(t0, i)).map_err(|r| r.first))
            .collect();
        assert_eq!(
            verdicts,
            [Ok(()), Ok(()), Ok(()), Err(true), Err(false), Err(false)]
        );
        assert_eq!(
            phones.take("+8613900000002", at(t0, 10)),
            Ok(()),
            "other phones are not affected"
        );
        // A token back after 20 s: one more command, and the next refusal is still quiet.
        assert_eq!(phones.take(phone, at(t0, 20_005)), Ok(()));
        assert_eq!(
            phones.take(phone, at(t0, 20_006)).map_err(|r| r.first),
            Err(false)
        );
        // A full minute later the bucket is full: a new episode, told again.
        let later = at(t0, 90_000);
        for _ in 0..3 {
            phones.take(phone, later).expect("a full bucket");
        }
        assert_eq!(phones.take(phone, later).map_err(|r| r.first), Err(true));
    }

    #[test]
    fn keys_have_buckets_of_their_own() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::<String>::new(Quota::per_second(1, 1.0), 10);
        buckets.take("a", t0).expect("a's token");
        assert!(buckets.take("a", t0).is_err());
        assert_eq!(buckets.check("b", t0), Ok(()));
        buckets.take("b", t0).expect("b's own token");
        buckets.forget("a");
        buckets.take("a", t0).expect("a forgotten is a full bucket");
        // A key with a quota of its own keeps it; the others keep the default.
        let wide = Quota::per_second(3, 3.0);
        for _ in 0..3 {
            buckets.take_with("c", wide, t0).expect("c's burst of 3");
        }
        assert!(buckets.take_with("c", wide, t0).is_err());
        assert!(buckets.take("d", t0).is_ok() && buckets.take("d", t0).is_err());
    }

    #[test]
    fn a_smaller_quota_applies_at_once() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::<String>::new(Quota::per_second(1, 1.0), 10);
        buckets
            .take_with("k", Quota::per_second(10, 10.0), t0)
            .expect("first");
        let narrow = Quota::per_second(2, 2.0);
        buckets.take_with("k", narrow, t0).expect("1 of 2");
        buckets.take_with("k", narrow, t0).expect("2 of 2");
        let refused = buckets.take_with("k", narrow, t0).expect_err("capped at 2");
        assert_eq!(refused.wait, Duration::from_millis(500));
    }

    #[test]
    fn check_peeks_without_taking_and_spend_counts_past_empty() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::<u32>::new(Quota::per_second(2, 0.5), 10);
        assert_eq!(buckets.check(&7, t0), Ok(()));
        assert!(buckets.is_empty(), "a check tracks nothing");
        let first = buckets.spend(&7, t0);
        assert_eq!((first.left, first.emptied, first.used), (1.0, false, 1.0));
        assert_eq!(buckets.check(&7, t0), Ok(()));
        let second = buckets.spend(&7, t0);
        assert!(second.emptied, "the last whole token");
        assert_eq!(buckets.check(&7, t0), Err(Duration::from_secs(2)));
        let third = buckets.spend(&7, t0);
        assert!(!third.emptied, "reported once");
        assert_eq!(third.left, 0.0);
        assert_eq!(
            buckets.check(&7, at(t0, 1_000)),
            Err(Duration::from_secs(1))
        );
        assert_eq!(buckets.check(&7, at(t0, 2_000)), Ok(()));
    }

    #[test]
    fn a_quiet_refill_keeps_the_count_until_the_key_is_left_alone_long_enough() {
        let t0 = Instant::now();
        let quiet = Duration::from_secs(60);
        let mut buckets = KeyedBuckets::<String>::new(Quota::after_quiet(u32::MAX, quiet), 10);
        let used: Vec<f64> = [0, 50_000, 100_000, 150_000]
            .iter()
            .map(|&ms| buckets.spend("wang", at(t0, ms)).used)
            .collect();
        assert_eq!(used, [1.0, 2.0, 3.0, 4.0], "slow guesses still add up");
        assert_eq!(buckets.spend("wang", at(t0, 210_000)).used, 1.0);
        let mut small = KeyedBuckets::<String>::new(Quota::after_quiet(1, quiet), 10);
        let refused = small
            .take("li", t0)
            .and_then(|()| small.take("li", t0))
            .expect_err("one token");
        assert_eq!(refused.wait, quiet);
        assert_eq!(
            small.check("li", at(t0, 59_000)),
            Err(Duration::from_secs(1))
        );
        assert_eq!(small.check("li", at(t0, 60_000)), Ok(()));
    }

    #[test]
    fn a_rate_of_zero_never_refills() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::<String>::new(Quota::per_second(1, 0.0), 10);
        buckets.take("k", t0).expect("the burst");
        let refused = buckets
            .take("k", at(t0, 86_400_000))
            .expect_err("never refilled");
        assert_eq!(refused.wait, Duration::MAX);
    }

    /// A flood of distinct keys never grows the map past its bound, and evicts its own keys
    /// (the fullest buckets, of equals the stalest) rather than a key that is being limited.
    #[test]
    fn a_flood_of_distinct_keys_stays_within_the_bound_and_keeps_the_limited_keys() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::<u64>::new(Quota::per_second(2, 1.0), 100);
        let limited = u64::MAX;
        buckets.take(&limited, t0).expect("1");
        buckets.take(&limited, t0).expect("2");
        for n in 0..20_000u64 {
            let _ = buckets.take(&n, at(t0, n / 100));
            assert!(buckets.len() <= 100);
        }
        assert_eq!(buckets.len(), 100);
        assert!(
            buckets.take(&limited, at(t0, 200)).is_err(),
            "a key with no tokens left outlives the flood"
        );
        assert!(
            buckets.tokens(&19_999, at(t0, 200)) < 2.0,
            "the newest are kept"
        );
        assert_eq!(buckets.tokens(&0, at(t0, 200)), 2.0, "the stalest are gone");
        // Once every bucket is full again, they are all forgotten to make room.
        let later = at(t0, 10_000);
        buckets.take(&1_000_000, later).expect("a new key");
        assert_eq!(buckets.len(), 1);
    }
}
