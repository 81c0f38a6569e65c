//! A node's drain, so that a load balancer can take it out without losing work: from SIGTERM on,
//! `/health` answers 503 ("draining") and new jobs get 503 with `Retry-After`, while the jobs
//! already admitted finish; the node stops listening only once `server.drain_secs` have passed
//! (time for the balancer's health check to see it go) and nothing admitted is left.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use crate::api::error::ApiError;
use crate::api::AppState;

/// How often a draining node looks whether its admitted jobs have finished.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// Whether this node is draining; shared by every HTTP worker.
#[derive(Debug, Clone, Default)]
pub struct Drain {
    draining: Arc<AtomicBool>,
}

impl Drain {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// From now on, health is 503 and new jobs are refused.
    pub fn begin(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Waits at least `grace` and until `is_idle` says no admitted job is left, but no longer
    /// than `grace` plus `limit`. Returns whether the node went idle.
    pub async fn settle(
        &self,
        grace: Duration,
        limit: Duration,
        is_idle: impl Fn() -> bool,
    ) -> bool {
        tokio::time::sleep(grace).await;
        let idle = async {
            while !is_idle() {
                tokio::time::sleep(IDLE_POLL).await;
            }
        };
        tokio::time::timeout(limit, idle).await.is_ok()
    }
}

/// Wraps the whole app: while draining, a POST or a WebSocket handshake (every route that admits
/// a job is one or the other) gets 503 with `Retry-After`, counted as `shutting_down`, so a
/// client or balancer sends it elsewhere.
pub async fn refuse_new_jobs(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let draining = request
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.drain.is_draining());
    if draining && (request.method() == Method::POST || request.head().upgrade()) {
        let response = request.error_response(ApiError::Draining);
        return Ok(response.map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}
