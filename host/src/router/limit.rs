//! Per-phone command limits against floods (a stuck handset, an auto-responder, a probe): a
//! fixed one-minute window per phone, with one notice when the limit is first passed.

use std::collections::HashMap;

/// What the limiter says about one more command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit.
    Allowed,
    /// Over the limit for the first time in this window: send one notice.
    Notify,
    /// Over the limit and already told: stay silent.
    Silent,
}

/// Counts commands per phone per minute.
#[derive(Debug)]
pub struct PhoneLimiter {
    per_minute: u32,
    windows: HashMap<String, (i64, u32)>,
}

const WINDOW_MS: i64 = 60_000;

impl PhoneLimiter {
    /// A limiter allowing `per_minute` commands per phone.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: HashMap::new(),
        }
    }

    /// Counts one command from `phone` at `now_ms`.
    pub fn check(&mut self, phone: &str, now_ms: i64) -> Verdict {
        if self.windows.len() > 100_000 {
            // Bounded memory under a flood of distinct senders: forget finished windows.
            self.windows
                .retain(|_, (start, _)| now_ms - *start < WINDOW_MS);
        }
        let (start, count) = self.windows.entry(phone.to_string()).or_insert((now_ms, 0));
        if now_ms - *start >= WINDOW_MS {
            *start = now_ms;
            *count = 0;
        }
        *count += 1;
        match (*count).cmp(&(self.per_minute + 1)) {
            std::cmp::Ordering::Less => Verdict::Allowed,
            std::cmp::Ordering::Equal => Verdict::Notify,
            std::cmp::Ordering::Greater => Verdict::Silent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_gets_one_notice_then_silence_until_the_next_minute() {
        let mut limiter = PhoneLimiter::new(3);
        let verdicts: Vec<_> = (0..6)
            .map(|i| limiter.check("+8613800000001", 1_000 + i))
            .collect();
        use Verdict::*;
        assert_eq!(
            verdicts,
            [Allowed, Allowed, Allowed, Notify, Silent, Silent]
        );
        assert_eq!(
            limiter.check("+8613900000002", 1_010),
            Allowed,
            "other phones are not affected"
        );
        assert_eq!(
            limiter.check("+8613800000001", 61_000),
            Allowed,
            "a new minute starts afresh"
        );
    }
}
