//! Every client's bucket, keyed by address, with the two rules that keep memory bounded: buckets
//! that have refilled are dropped (a fresh one is the same), and past `max_clients` new clients
//! share one overflow bucket instead of getting their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use super::bucket::{Decision, Policy, TokenBucket};

/// What a sweep did, for the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Sweep {
    pub evicted: usize,
    /// Requests since the previous sweep that found the table full.
    pub overflowed: u64,
}

pub struct BucketTable {
    policy: Policy,
    max_clients: usize,
    buckets: HashMap<IpAddr, TokenBucket>,
    /// Shared by the clients that found the table full.
    overflow: TokenBucket,
    /// Requests that used the overflow bucket since the last sweep.
    overflowed: u64,
}

impl BucketTable {
    pub fn new(policy: Policy, max_clients: usize, now: Instant) -> BucketTable {
        BucketTable {
            policy,
            max_clients,
            buckets: HashMap::new(),
            overflow: TokenBucket::full(now),
            overflowed: 0,
        }
    }

    /// Takes a token from `client`'s bucket, which starts full.
    pub fn check(&mut self, client: IpAddr, now: Instant) -> Decision {
        let bucket = if self.buckets.contains_key(&client) || self.buckets.len() < self.max_clients
        {
            self.buckets
                .entry(client)
                .or_insert_with(|| TokenBucket::full(now))
        } else {
            self.overflowed += 1;
            &mut self.overflow
        };
        bucket.take(&self.policy, now)
    }

    /// Drops the buckets that are full again by `now`.
    pub fn evict_idle(&mut self, now: Instant) -> Sweep {
        let before = self.buckets.len();
        self.buckets.retain(|_, bucket| !bucket.is_full(now));
        Sweep {
            evicted: before - self.buckets.len(),
            overflowed: std::mem::take(&mut self.overflowed),
        }
    }

    /// Clients with a bucket of their own.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    fn client(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn each_client_has_a_bucket_of_its_own() {
        let now = Instant::now();
        let mut table = BucketTable::new(Policy::new(1.0, 1), 10, now);
        assert!(table.check(client(1), now).allowed);
        assert!(!table.check(client(1), now).allowed);
        assert!(table.check(client(2), now).allowed);
    }

    #[test]
    fn idle_buckets_are_evicted_once_refilled_and_busy_ones_are_kept() {
        let start = Instant::now();
        let mut table = BucketTable::new(Policy::new(1.0, 5), 1_000_000, start);
        for n in 0..10_000 {
            table.check(client(n), start);
        }
        let busy = client(99_999);
        assert_eq!(
            table.evict_idle(start).evicted,
            0,
            "nothing has refilled yet"
        );
        // Five seconds refill one token each: the 10 000 one-shot clients are full again.
        let later = start + Duration::from_secs(5);
        for _ in 0..5 {
            table.check(busy, later);
        }
        assert_eq!(table.evict_idle(later).evicted, 10_000);
        assert_eq!(table.len(), 1);
        assert!(
            !table.check(busy, later).allowed,
            "the busy client kept its empty bucket"
        );
    }

    #[test]
    fn eviction_gives_back_nothing_a_client_had_not_earned() {
        let start = Instant::now();
        let mut table = BucketTable::new(Policy::new(1.0, 2), 10, start);
        table.check(client(1), start);
        table.check(client(1), start);
        let one_second = start + Duration::from_secs(1);
        assert_eq!(
            table.evict_idle(one_second).evicted,
            0,
            "half refilled: kept"
        );
        assert!(table.check(client(1), one_second).allowed);
        assert!(!table.check(client(1), one_second).allowed);
    }

    #[test]
    fn past_max_clients_new_clients_share_one_bucket_until_a_sweep_frees_room() {
        let start = Instant::now();
        let mut table = BucketTable::new(Policy::new(1.0, 2), 3, start);
        for n in 0..3 {
            assert!(table.check(client(n), start).allowed);
        }
        assert!(table.check(client(100), start).allowed);
        assert!(table.check(client(101), start).allowed);
        assert!(
            !table.check(client(102), start).allowed,
            "the overflow bucket is shared and now empty"
        );
        assert!(
            table.check(client(0), start).allowed,
            "known clients keep their own bucket"
        );
        assert_eq!(table.len(), 3, "memory stays at max_clients");
        let later = start + Duration::from_secs(10);
        let sweep = table.evict_idle(later);
        assert_eq!(
            sweep,
            Sweep {
                evicted: 3,
                overflowed: 3
            }
        );
        assert!(table.check(client(102), later).allowed);
        assert_eq!(table.len(), 1);
    }
}
