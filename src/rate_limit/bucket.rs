//! One client's token bucket, kept as the instant it will be full again (the generic cell rate
//! algorithm): one `Instant` per client, exact integer arithmetic, and no timer to refill it.

use std::time::{Duration, Instant};

/// How fast buckets refill and how much they hold.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Time to earn one token.
    pub interval: Duration,
    /// Tokens a full bucket holds.
    pub burst: u32,
}

impl Policy {
    /// `requests_per_second` must be positive and finite, `burst` at least 1 (the settings check
    /// both).
    pub fn new(requests_per_second: f64, burst: u32) -> Policy {
        Policy {
            interval: Duration::from_secs_f64(1.0 / requests_per_second),
            burst,
        }
    }

    /// Time for an empty bucket to fill.
    fn capacity(&self) -> Duration {
        self.interval * self.burst
    }
}

/// The answer for one request: whether it may pass, and what its headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Tokens a full bucket holds (`RateLimit-Limit`).
    pub limit: u32,
    /// Whole tokens left after this request (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Until the bucket is full again (`RateLimit-Reset`).
    pub reset: Duration,
    /// Until the next token, when refused (`Retry-After`); zero when allowed.
    pub retry_after: Duration,
}

#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// When the bucket holds `burst` tokens again; at or before now, it is full.
    full_at: Instant,
}

impl TokenBucket {
    /// A bucket that is full at `now`, as a new client's is.
    pub fn full(now: Instant) -> TokenBucket {
        TokenBucket { full_at: now }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, policy: &Policy, now: Instant) -> Decision {
        let missing = self.full_at.saturating_duration_since(now);
        // A token is there when at most burst - 1 tokens are missing.
        let allowed = missing + policy.interval <= policy.capacity();
        let missing = if allowed {
            self.full_at = now.max(self.full_at) + policy.interval;
            missing + policy.interval
        } else {
            missing
        };
        let present = policy.capacity() - missing;
        Decision {
            allowed,
            limit: policy.burst,
            remaining: whole_intervals(present, policy.interval),
            reset: missing,
            retry_after: if allowed {
                Duration::ZERO
            } else {
                policy.interval - present
            },
        }
    }

    /// Whether the bucket has refilled completely by `now`: then a fresh bucket is the same, and
    /// this one can be forgotten.
    pub fn is_full(&self, now: Instant) -> bool {
        self.full_at <= now
    }
}

fn whole_intervals(span: Duration, interval: Duration) -> u32 {
    let count = span.as_nanos() / interval.as_nanos().max(1);
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_full_bucket_allows_a_burst_then_refuses() {
        let policy = Policy::new(1.0, 3);
        let start = Instant::now();
        let mut bucket = TokenBucket::full(start);
        let remaining: Vec<u32> = (0..3)
            .map(|_| bucket.take(&policy, start))
            .inspect(|decision| assert!(decision.allowed))
            .map(|decision| decision.remaining)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = bucket.take(&policy, start);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after, SECOND);
        assert_eq!(refused.reset, 3 * SECOND);
    }

    #[test]
    fn tokens_come_back_at_the_configured_rate() {
        let policy = Policy::new(2.0, 2);
        let start = Instant::now();
        let mut bucket = TokenBucket::full(start);
        bucket.take(&policy, start);
        bucket.take(&policy, start);
        let early = bucket.take(&policy, start + Duration::from_millis(200));
        assert!(!early.allowed);
        assert_eq!(early.retry_after, Duration::from_millis(300));
        let later = bucket.take(&policy, start + Duration::from_millis(500));
        assert!(later.allowed);
        assert_eq!(later.remaining, 0);
        assert_eq!(later.reset, SECOND);
    }

    #[test]
    fn an_idle_bucket_refills_to_the_burst_and_no_further() {
        let policy = Policy::new(1.0, 2);
        let start = Instant::now();
        let mut bucket = TokenBucket::full(start);
        bucket.take(&policy, start);
        assert!(!bucket.is_full(start));
        let much_later = start + 3600 * SECOND;
        assert!(bucket.is_full(much_later));
        let decision = bucket.take(&policy, much_later);
        assert_eq!((decision.remaining, decision.reset), (1, SECOND));
    }

    #[test]
    fn a_refused_request_costs_nothing() {
        let policy = Policy::new(1.0, 1);
        let start = Instant::now();
        let mut bucket = TokenBucket::full(start);
        bucket.take(&policy, start);
        for _ in 0..10 {
            assert!(!bucket.take(&policy, start).allowed);
        }
        assert!(bucket.take(&policy, start + SECOND).allowed);
    }
}
