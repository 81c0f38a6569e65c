//! The rate limit's settings (the `[rate_limit]` section), with what their types cannot check.

use serde::{Deserialize, Serialize};

use super::TrustedProxies;

/// Per-client token buckets in front of the execute endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateLimitSettings {
    /// `false`: no limit and no `RateLimit-*` headers.
    pub enabled: bool,
    /// Tokens a client earns per second: its sustained request rate.
    pub requests_per_second: f64,
    /// Size of a client's bucket: requests it may send at once after being idle.
    pub burst: u32,
    /// Peers whose `X-Forwarded-For` is believed, as IPs or CIDRs.
    pub trusted_proxies: TrustedProxies,
    /// IPv6 clients are counted per network of this prefix length.
    pub ipv6_prefix_len: u8,
    /// Clients tracked at once; past it, new clients share one bucket until idle ones go.
    pub max_clients: usize,
    /// Seconds between sweeps that drop the buckets of idle clients.
    pub sweep_interval_secs: u64,
    /// Execute jobs one client may have admitted and not yet answered at once; one more gets 429.
    pub max_in_flight_per_client: usize,
    /// Where the buckets live: this node's memory, or Redis, shared by every node.
    pub backend: Backend,
    /// The Redis server of the `redis` backend, e.g. `redis://127.0.0.1:6379/`.
    pub redis_url: String,
    /// Prefix of the Redis keys, one per client: `<prefix>:<client address>`.
    pub redis_key_prefix: String,
    /// Longest wait for Redis's answer, in milliseconds, before this request falls back to the
    /// node's own buckets.
    pub redis_timeout_ms: u64,
    /// After Redis failed, milliseconds during which the node uses its own buckets without
    /// asking Redis again.
    pub redis_retry_ms: u64,
}

/// Where the token buckets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// In this node's memory: each node counts on its own.
    Local,
    /// In Redis: every node behind a load balancer takes from the same buckets.
    Redis,
}

/// Bounds that keep a bucket's arithmetic (time per token times burst) far from overflowing.
const MIN_REQUESTS_PER_SECOND: f64 = 0.001;
const MAX_REQUESTS_PER_SECOND: f64 = 1_000_000.0;
const MAX_BURST: u32 = 1_000_000;

impl RateLimitSettings {
    pub fn check(&self) -> Result<(), String> {
        let fail = |what: &str| Err(format!("rate_limit.{what}"));
        if !(MIN_REQUESTS_PER_SECOND..=MAX_REQUESTS_PER_SECOND).contains(&self.requests_per_second)
        {
            return fail("requests_per_second must be between 0.001 and 1000000");
        }
        if !(1..=MAX_BURST).contains(&self.burst) {
            return fail("burst must be between 1 and 1000000");
        }
        if self.ipv6_prefix_len > 128 {
            return fail("ipv6_prefix_len must be at most 128");
        }
        if self.max_clients == 0 {
            return fail("max_clients must be at least 1");
        }
        if self.sweep_interval_secs == 0 {
            return fail("sweep_interval_secs must be at least 1");
        }
        if self.max_in_flight_per_client == 0 {
            return fail("max_in_flight_per_client must be at least 1");
        }
        if self.backend == Backend::Redis {
            if let Err(error) = redis::Client::open(self.redis_url.as_str()) {
                return fail(&format!("redis_url is not a Redis URL: {error}"));
            }
            if self.redis_timeout_ms == 0 {
                return fail("redis_timeout_ms must be at least 1");
            }
        }
        Ok(())
    }
}
