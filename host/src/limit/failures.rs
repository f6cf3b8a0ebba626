//! The budget of failed authentications per source address, shared by the API (`/api/v1`) and
//! web sign-in ("bursts get 429, memory stays bounded" in shared/docs/security-checklist.md):
//! every refused authentication costs the source one token of a bucket of
//! [`FailureBudget::burst`] tokens refilled at [`FailureBudget::per_second`]. A source whose
//! bucket is empty is refused (the API answers 429 with `Retry-After`) *before* its key or
//! password is checked, so a flood of made-up keys costs a hash-map look-up per request, not a
//! database query, and writes no audit row per request (one `auth.blocked` row per episode
//! instead, see [`Charge::NowBlocked`]).
//!
//! Sources are IPv4 addresses, and IPv6 addresses by their /64 network (one host commonly
//! holds a whole /64, so counting single IPv6 addresses would give it 2^64 budgets).
//!
//! The buckets are [`KeyedBuckets`]: at most [`FailureBudget::max_sources`] sources are
//! tracked; when the map is full, sources whose buckets have refilled (they carry no
//! information) are forgotten first, then the source with the most tokens left (the least
//! suspicious).

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::{KeyedBuckets, Quota};

/// The budget's sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureBudget {
    /// Failed authentications a source may make in a row before it is limited.
    pub burst: u32,
    /// Failures per second refilled; the sustained rate of failures allowed.
    pub per_second: f64,
    /// Sources tracked at most.
    pub max_sources: usize,
}

impl Default for FailureBudget {
    /// 20 failures in a row, then one per second; 10,000 sources tracked (under 1 MiB).
    fn default() -> Self {
        FailureBudget {
            burst: 20,
            per_second: 1.0,
            max_sources: 10_000,
        }
    }
}

/// What a failure did to its source's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Counted; the source may still fail again.
    Counted,
    /// This failure used the source's last token: from now on it gets 429 until its bucket
    /// refills. Reported once per episode, so that it can be audited once.
    NowBlocked,
}

/// Per-source failure buckets; see the module documentation.
#[derive(Debug)]
pub struct FailureLimiter {
    buckets: KeyedBuckets<IpAddr>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::new(FailureBudget::default())
    }
}

/// The address a budget is kept for: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

impl FailureLimiter {
    /// A limiter with `budget` (a zero burst or rate is raised to the smallest usable value).
    pub fn new(budget: FailureBudget) -> FailureLimiter {
        let per_second = if budget.per_second > 0.0 {
            budget.per_second
        } else {
            0.01
        };
        FailureLimiter {
            buckets: KeyedBuckets::new(
                Quota::per_second(budget.burst.max(1), per_second),
                budget.max_sources,
            ),
        }
    }

    /// Sources tracked now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Whether `ip` may try to authenticate now, without using its budget; `Err` holds how long
    /// until it may (at least one second, as `Retry-After` counts whole seconds).
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.buckets
            .check(&source_key(ip), now)
            .map_err(|wait| wait.max(Duration::from_secs(1)))
    }

    /// Charges a failed authentication from `ip`.
    pub fn fail(&mut self, ip: IpAddr, now: Instant) -> Charge {
        if self.buckets.spend(&source_key(ip), now).emptied {
            Charge::NowBlocked
        } else {
            Charge::Counted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn budget(burst: u32, per_second: f64, max_sources: usize) -> FailureBudget {
        FailureBudget {
            burst,
            per_second,
            max_sources,
        }
    }

    /// Checklist "bursts get 429": a source may fail `burst` times, is then limited (once
    /// reported as blocked), and may try again when a token has refilled.
    #[test]
    fn a_source_is_limited_after_its_burst_of_failures_until_a_token_refills() {
        let t0 = Instant::now();
        let mut limiter = FailureLimiter::new(budget(3, 0.5, 100));
        let a = ip("203.0.113.7");
        assert_eq!(limiter.check(a, t0), Ok(()));
        assert_eq!(limiter.fail(a, t0), Charge::Counted);
        assert_eq!(limiter.fail(a, t0), Charge::Counted);
        assert_eq!(limiter.check(a, t0), Ok(()));
        assert_eq!(limiter.fail(a, t0), Charge::NowBlocked);
        let wait = limiter.check(a, t0).expect_err("burst used up");
        assert_eq!(wait, Duration::from_secs(2), "one token at 0.5/s");
        // Failures while limited (a race between check and fail) are not reported again.
        assert_eq!(limiter.fail(a, t0), Charge::Counted);
        assert!(limiter.check(a, t0 + Duration::from_millis(1999)).is_err());
        assert_eq!(limiter.check(a, t0 + Duration::from_secs(2)), Ok(()));
        // Another source has its own budget.
        assert_eq!(limiter.check(ip("203.0.113.8"), t0), Ok(()));
    }

    #[test]
    fn the_wait_is_at_least_one_second() {
        let t0 = Instant::now();
        let mut limiter = FailureLimiter::new(budget(1, 100.0, 10));
        let a = ip("192.0.2.1");
        assert_eq!(limiter.fail(a, t0), Charge::NowBlocked);
        assert_eq!(limiter.check(a, t0), Err(Duration::from_secs(1)));
    }

    #[test]
    fn ipv6_sources_share_a_budget_per_64_and_mapped_ipv4_is_ipv4() {
        let t0 = Instant::now();
        let mut limiter = FailureLimiter::new(budget(1, 1.0, 10));
        limiter.fail(ip("2001:db8:1:2::1"), t0);
        assert!(limiter.check(ip("2001:db8:1:2:ffff::9"), t0).is_err());
        assert_eq!(limiter.check(ip("2001:db8:1:3::1"), t0), Ok(()));
        limiter.fail(ip("::ffff:192.0.2.9"), t0);
        assert!(limiter.check(ip("192.0.2.9"), t0).is_err());
    }

    /// Checklist "memory stays bounded": a flood from more sources than the map holds never
    /// grows it past its bound, and the sources still limited are the last to go.
    #[test]
    fn the_map_never_grows_past_its_bound_and_evicts_the_least_suspicious_first() {
        let t0 = Instant::now();
        let mut limiter = FailureLimiter::new(budget(2, 1.0, 50));
        let blocked = ip("198.51.100.1");
        limiter.fail(blocked, t0);
        limiter.fail(blocked, t0);
        assert!(limiter.check(blocked, t0).is_err());
        for n in 0..10_000u32 {
            let source = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            limiter.fail(source, t0);
            assert!(limiter.len() <= 50);
        }
        assert!(
            limiter.check(blocked, t0).is_err(),
            "a source with no tokens left is not evicted while others have some"
        );
        // Later, every bucket has refilled: they are all forgotten to make room.
        let later = t0 + Duration::from_secs(10);
        limiter.fail(ip("198.51.100.2"), later);
        assert_eq!(limiter.len(), 1);
    }
}
