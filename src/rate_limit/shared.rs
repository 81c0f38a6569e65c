//! The Redis backend of the rate limit, for several nodes behind one load balancer: every node
//! takes its clients' tokens from the same buckets, so a client gets its limit once, not once per
//! node. A bucket is one Redis key updated by one Lua script, the cell rate algorithm of
//! `bucket.rs` on Redis's own clock, which Redis runs atomically: one EVALSHA per request.
//!
//! Redis is a help, never a dependency: when it does not answer within `redis_timeout_ms`,
//! [`SharedBuckets::take`] says so and the node decides with its own buckets; for
//! `redis_retry_ms` after a failure it does not ask again, so a dead Redis costs requests no wait.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus::IntGauge;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::bucket::{Decision, Policy};
use super::RateLimitSettings;

/// Takes one token from the bucket at KEYS[1], which holds the instant (in microseconds of
/// Redis's clock) it will be full again; ARGV: microseconds per token, tokens in a full bucket.
/// Answers allowed (1 or 0), whole tokens left, microseconds until full, microseconds until the
/// next token when refused. A key expires when its bucket is full, as a fresh one is.
const TAKE_TOKEN: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local capacity = interval * burst
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local full_at = tonumber(redis.call('GET', KEYS[1])) or now
local missing = math.max(full_at - now, 0)
local allowed = missing + interval <= capacity
if allowed then
  missing = missing + interval
  redis.call('SET', KEYS[1], now + missing, 'PX', math.ceil(missing / 1000))
end
local present = capacity - missing
local retry_after = 0
if not allowed then
  retry_after = interval - present
end
return { allowed and 1 or 0, math.floor(present / interval), missing, retry_after }
";

pub struct SharedBuckets {
    client: redis::Client,
    /// Made at the first request, so that a node starts while Redis is down.
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    script: redis::Script,
    key_prefix: String,
    interval_micros: u64,
    burst: u32,
    timeout: Duration,
    retry: Duration,
    /// When Redis last failed, while the node is falling back.
    failed_at: Mutex<Option<Instant>>,
    falling_back: AtomicBool,
    redis_up: IntGauge,
}

impl SharedBuckets {
    /// `settings` passed their check, so the URL parses.
    pub fn new(settings: &RateLimitSettings, policy: Policy, redis_up: IntGauge) -> SharedBuckets {
        let client = redis::Client::open(settings.redis_url.as_str())
            .expect("rate_limit.redis_url is checked");
        redis_up.set(1);
        SharedBuckets {
            client,
            connection: tokio::sync::Mutex::new(None),
            script: redis::Script::new(TAKE_TOKEN),
            key_prefix: settings.redis_key_prefix.clone(),
            interval_micros: u64::try_from(policy.interval.as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
            burst: policy.burst,
            timeout: Duration::from_millis(settings.redis_timeout_ms),
            retry: Duration::from_millis(settings.redis_retry_ms),
            failed_at: Mutex::new(None),
            falling_back: AtomicBool::new(false),
            redis_up,
        }
    }

    /// Takes a token for one request of `client` from its shared bucket; `None` when Redis did
    /// not answer in time (or failed a moment ago), and the caller must decide alone.
    pub async fn take(&self, client: IpAddr) -> Option<Decision> {
        if self.recently_failed() {
            return None;
        }
        match tokio::time::timeout(self.timeout, self.ask(client)).await {
            Ok(Ok(decision)) => {
                self.answered();
                Some(decision)
            }
            Ok(Err(error)) => {
                self.failed(&error.to_string());
                None
            }
            Err(_) => {
                self.failed(&format!("no answer within {} ms", self.timeout.as_millis()));
                None
            }
        }
    }

    async fn ask(&self, client: IpAddr) -> redis::RedisResult<Decision> {
        let mut connection = self.connection().await?;
        let (allowed, remaining, reset, retry_after): (i64, i64, i64, i64) = self
            .script
            .key(format!("{}:{client}", self.key_prefix))
            .arg(self.interval_micros)
            .arg(self.burst)
            .invoke_async(&mut connection)
            .await?;
        let micros = |value: i64| Duration::from_micros(u64::try_from(value).unwrap_or(0));
        Ok(Decision {
            allowed: allowed == 1,
            limit: self.burst,
            remaining: u32::try_from(remaining).unwrap_or(0),
            reset: micros(reset),
            retry_after: micros(retry_after),
        })
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let mut connection = self.connection.lock().await;
        if let Some(connection) = connection.as_ref() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let manager = ConnectionManager::new_with_config(self.client.clone(), config).await?;
        *connection = Some(manager.clone());
        Ok(manager)
    }

    fn recently_failed(&self) -> bool {
        let failed_at = *self.failed_at.lock().unwrap();
        failed_at.is_some_and(|at| at.elapsed() < self.retry)
    }

    fn failed(&self, why: &str) {
        *self.failed_at.lock().unwrap() = Some(Instant::now());
        self.redis_up.set(0);
        if !self.falling_back.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = why,
                "the rate limit's Redis does not answer; this node counts with its own buckets \
                 (limits are per node) until it does"
            );
        }
    }

    fn answered(&self) {
        if self.falling_back.swap(false, Ordering::Relaxed) {
            *self.failed_at.lock().unwrap() = None;
            self.redis_up.set(1);
            tracing::info!("the rate limit's Redis answers again; limits are shared by every node");
        }
    }
}
