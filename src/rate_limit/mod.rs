//! Per-client rate limiting of the execute endpoints: a token bucket per client address, held by
//! one actor (or, with the `redis` backend, in Redis, shared by every node, with the actor's
//! buckets as the fallback), and a cap on each client's jobs in flight. The HTTP side (headers, 429) is
//! `crate::api::rate_limit`.

mod actor;
mod bucket;
mod client;
mod in_flight;
mod settings;
mod shared;
mod table;

use std::net::{IpAddr, Ipv4Addr};

use std::sync::Arc;

use actix::{Actor, Addr};
use actix_web::http::header::HeaderMap;
use prometheus::IntCounter;

pub use actor::{Check, RateLimiter};
pub use bucket::{Decision, Policy};
pub use client::{ClientIdentity, TrustedProxies};
pub use in_flight::{ClientJob, ClientJobs};
pub use settings::{Backend, RateLimitSettings};
pub use shared::SharedBuckets;

use crate::metrics::Metrics;

/// What request handlers hold: the limiter actor, each client's jobs in flight, and how to name
/// a request's client.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Addr<RateLimiter>,
    /// The buckets in Redis, with the `redis` backend.
    shared: Option<Arc<SharedBuckets>>,
    local_fallbacks: IntCounter,
    clients: ClientIdentity,
    pub jobs: ClientJobs,
}

impl RateLimit {
    /// Starts the limiter actor, or nothing when rate limiting is off. Must run inside an actix
    /// system.
    pub fn start(settings: &RateLimitSettings, metrics: &Metrics) -> Option<RateLimit> {
        if !settings.enabled {
            return None;
        }
        let policy = Policy::new(settings.requests_per_second, settings.burst);
        let shared = (settings.backend == Backend::Redis).then(|| {
            Arc::new(SharedBuckets::new(
                settings,
                policy,
                metrics.rate_limit_redis_up.clone(),
            ))
        });
        Some(RateLimit {
            limiter: RateLimiter::new(settings).start(),
            shared,
            local_fallbacks: metrics.rate_limit_local_fallback_total.clone(),
            clients: ClientIdentity::new(
                settings.trusted_proxies.clone(),
                settings.ipv6_prefix_len,
            ),
            jobs: ClientJobs::new(settings.max_in_flight_per_client),
        })
    }

    /// The client of a request from `peer` (unknown for a non-IP socket) with `headers`: its
    /// `X-Forwarded-For` values count when `peer` is a trusted proxy.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let forwarded_for: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .collect();
        self.clients.client(peer, &forwarded_for)
    }

    /// Takes a token for a request of `client`: from the shared bucket when there is one and
    /// Redis answers, from this node's own otherwise. `None` when the limiter is gone, which
    /// happens only while the service stops.
    pub async fn check(&self, client: IpAddr) -> Option<Decision> {
        if let Some(shared) = &self.shared {
            if let Some(decision) = shared.take(client).await {
                return Some(decision);
            }
            self.local_fallbacks.inc();
        }
        self.limiter.send(Check(client)).await.ok()
    }
}
