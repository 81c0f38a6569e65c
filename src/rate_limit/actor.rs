//! The rate limiter actor: owns the bucket table, answers one [`Check`] per request, and sweeps
//! idle buckets away on a timer. Being an actor, it needs no lock: requests from every HTTP
//! worker are served one after another from its mailbox.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::bucket::{Decision, Policy};
use super::table::BucketTable;
use super::RateLimitSettings;

pub struct RateLimiter {
    table: BucketTable,
    sweep_interval: Duration,
}

impl RateLimiter {
    pub fn new(settings: &RateLimitSettings) -> RateLimiter {
        let policy = Policy::new(settings.requests_per_second, settings.burst);
        RateLimiter {
            table: BucketTable::new(policy, settings.max_clients, Instant::now()),
            sweep_interval: Duration::from_secs(settings.sweep_interval_secs),
        }
    }
}

impl Actor for RateLimiter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.sweep_interval, |limiter, _| {
            let sweep = limiter.table.evict_idle(Instant::now());
            let tracked = limiter.table.len();
            if sweep.overflowed > 0 {
                tracing::warn!(
                    requests = sweep.overflowed,
                    tracked,
                    "rate_limit.max_clients was reached; new clients shared one bucket"
                );
            }
            if sweep.evicted > 0 {
                tracing::debug!(
                    evicted = sweep.evicted,
                    tracked,
                    "evicted idle rate limit buckets"
                );
            }
        });
    }
}

/// Takes a token for one request of this client.
#[derive(Message)]
#[rtype(result = "Decision")]
pub struct Check(pub IpAddr);

impl Handler<Check> for RateLimiter {
    type Result = MessageResult<Check>;

    fn handle(&mut self, Check(client): Check, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.table.check(client, Instant::now()))
    }
}
