//! The rate limit at the HTTP edge: a middleware on the execute endpoints that asks the limiter
//! for a token, refuses with 429 when there is none, and puts the `RateLimit-*` headers on every
//! answer either way.

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
    let forwarded_for: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .collect();
    let decision = rate_limit.check(peer, &forwarded_for).await;
    let Some(decision) = decision else {
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
