//! The rate limit at the HTTP edge: a middleware on the execute endpoints that takes a place
//! under the client's in-flight cap and a token from the limiter, refuses with 429 when either
//! is missing, and puts the `RateLimit-*` headers on every answer that got as far as the limiter.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use super::error::ApiError;
use super::rate_limit_headers::insert_headers;
use super::AppState;

/// Wraps a resource: passes the request on if its client has a token (or when rate limiting is
/// off), answers 429 itself otherwise.
pub async fn limit(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let Some((state, rate_limit)) =
        state.and_then(|state| Some((state.clone(), state.rate_limit.clone()?)))
    else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let peer = request.peer_addr().map(|address| address.ip());
    let client = rate_limit.client(peer, request.headers());
    // Checked before the token, so that a refused request costs the client nothing. The place
    // is held until the answer is ready, however the request ends.
    let Some(_job) = rate_limit.jobs.start(client) else {
        let cap = rate_limit.jobs.cap();
        let response = request.error_response(ApiError::ClientBusy { cap });
        return Ok(response.map_into_right_body());
    };
    let Some(decision) = rate_limit.check(client).await else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    if !decision.allowed {
        state.metrics.rate_limited_total.inc();
        let response = request.error_response(ApiError::RateLimited(decision));
        return Ok(response.map_into_right_body());
    }
    let mut response = next.call(request).await?;
    insert_headers(response.headers_mut(), &decision);
    Ok(response.map_into_left_body())
}
