//! The rate limit at the HTTP edge: a middleware on the execute endpoints that takes a place
//! under the client's in-flight cap and a token from the limiter, refuses with 429 when either
//! is missing, and puts the `RateLimit-*` headers on every answer that got as far as the limiter.
//! An interactive session, whose job outlives its handshake's answer, calls [`admit`] itself and
//! keeps the place until the session ends.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

use super::error::ApiError;
use super::rate_limit_headers::insert_headers;
use super::AppState;
use crate::rate_limit::{ClientJob, Decision};

/// A request the limiter let through: its place under its client's in-flight cap, held until it
/// is dropped, and the limiter's decision for the answer's headers (both `None` when rate
/// limiting is off).
#[derive(Debug, Default)]
pub struct Admitted {
    _place: Option<ClientJob>,
    decision: Option<Decision>,
}

impl Admitted {
    /// Puts the `RateLimit-*` headers on an answer.
    pub fn label(&self, headers: &mut HeaderMap) {
        if let Some(decision) = &self.decision {
            insert_headers(headers, decision);
        }
    }
}

/// Takes a place and a token for `request`'s client, or says why not (429).
pub async fn admit(state: &AppState, request: &HttpRequest) -> Result<Admitted, ApiError> {
    let Some(rate_limit) = &state.rate_limit else {
        return Ok(Admitted::default());
    };
    let peer = request.peer_addr().map(|address| address.ip());
    let client = rate_limit.client(peer, request.headers());
    // Checked before the token, so that a refused request costs the client nothing. The place
    // is held until the answer is ready, however the request ends.
    let Some(place) = rate_limit.jobs.start(client) else {
        let cap = rate_limit.jobs.cap();
        return Err(ApiError::ClientBusy { cap });
    };
    let decision = rate_limit.check(client).await;
    if let Some(decision) = decision.as_ref().filter(|decision| !decision.allowed) {
        state.metrics.rate_limited_total.inc();
        return Err(ApiError::RateLimited(*decision));
    }
    Ok(Admitted {
        _place: Some(place),
        decision,
    })
}

/// Wraps a resource: passes the request on if its client has a token (or when rate limiting is
/// off), answers 429 itself otherwise.
pub async fn limit(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let admitted = match admit(&state, request.request()).await {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(request.error_response(refused).map_into_right_body()),
    };
    let mut response = next.call(request).await?;
    admitted.label(response.headers_mut());
    Ok(response.map_into_left_body())
}
