//! Middleware counting every HTTP request by method, route template and status code, and timing
//! it by route template. Templates (`/api/v1/executions/{jobId}`), never raw paths, so a client
//! cannot grow the label set; unknown methods and paths share one label each.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::Error;

use actix_web::web;

use super::error::ApiError;
use super::AppState;

/// Route label of requests that match no route.
const UNMATCHED_ROUTE: &str = "unmatched";

pub async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let method = method_label(request.method());
    let route = request
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_string());
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let began = Instant::now();
    let response = next.call(request).await;
    let Some(state) = state else {
        return response;
    };
    let metrics = &state.metrics;
    let (code, error) = match &response {
        Ok(response) => (response.status(), response.response().error()),
        Err(error) => (error.as_response_error().status_code(), Some(error)),
    };
    // Every refused execute request is an ApiError (a PistonError under Piston's routes) in its
    // answer: counted here, once.
    let rejection = error.and_then(|error| match error.as_error::<ApiError>() {
        Some(error) => error.rejection(),
        None => error.as_error::<crate::piston::PistonError>()?.rejection(),
    });
    if let Some(rejection) = rejection {
        metrics
            .rejected_total
            .with_label_values(&[rejection.label()])
            .inc();
    }
    metrics
        .http_requests_total
        .with_label_values(&[method, route.as_str(), code.as_str()])
        .inc();
    metrics
        .http_request_duration_seconds
        .with_label_values(&[route.as_str()])
        .observe(began.elapsed().as_secs_f64());
    response
}

/// The standard methods by name; anything else a client invents is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
