//! Per-client rate limiting of the execute endpoints: a token bucket per client address, held by
//! one actor, and a cap on each client's jobs in flight. The HTTP side (headers, 429) is
//! `crate::api::rate_limit`.

mod actor;
mod bucket;
mod client;
mod in_flight;
mod settings;
mod table;

use std::net::{IpAddr, Ipv4Addr};

use actix::{Actor, Addr};

pub use actor::{Check, RateLimiter};
pub use bucket::{Decision, Policy};
pub use client::{ClientIdentity, TrustedProxies};
pub use in_flight::{ClientJob, ClientJobs};
pub use settings::RateLimitSettings;

/// What request handlers hold: the limiter actor, each client's jobs in flight, and how to name
/// a request's client.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Addr<RateLimiter>,
    clients: ClientIdentity,
    pub jobs: ClientJobs,
}

impl RateLimit {
    /// Starts the limiter actor, or nothing when rate limiting is off. Must run inside an actix
    /// system.
    pub fn start(settings: &RateLimitSettings) -> Option<RateLimit> {
        if !settings.enabled {
            return None;
        }
        Some(RateLimit {
            limiter: RateLimiter::new(settings).start(),
            clients: ClientIdentity::new(
                settings.trusted_proxies.clone(),
                settings.ipv6_prefix_len,
            ),
            jobs: ClientJobs::new(settings.max_in_flight_per_client),
        })
    }

    /// The client of a request from `peer` (unknown for a non-IP socket) with the given
    /// `X-Forwarded-For` values.
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> IpAddr {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        self.clients.client(peer, forwarded_for)
    }

    /// Takes a token for a request of `client`. `None` when the limiter is gone, which happens
    /// only while the service stops.
    pub async fn check(&self, client: IpAddr) -> Option<Decision> {
        self.limiter.send(Check(client)).await.ok()
    }
}
