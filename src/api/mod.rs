//! The HTTP API: routes, request validation, response shapes and error mapping. Thin: it talks
//! to the engine, never to Docker.

pub mod body_timeout;
pub(crate) mod error;
mod executions;
#[cfg(test)]
mod fuzz;
pub mod http_metrics;
pub(crate) mod rate_limit;
mod rate_limit_headers;
pub mod request;
pub mod response;
mod routes;

use std::sync::Arc;

use actix_web::{middleware, web};

use crate::config::Settings;
use crate::execution_log::ExecutionLog;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimit;
use codeexec_engine::Engine;
use codeexec_engine::LanguageRegistry;
pub use error::Rejection;
use request::{ExecuteV1, ExecuteV2};

/// What every handler shares.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub registry: Arc<LanguageRegistry>,
    pub engine: Engine,
    pub execution_log: ExecutionLog,
    /// `None` when rate limiting is off.
    pub rate_limit: Option<RateLimit>,
    /// This service's metrics, also handed to the engine as its observer.
    pub metrics: Arc<Metrics>,
}

/// Registers every route, with JSON bodies bounded by `server.max_body_bytes`. Only the execute
/// endpoints are rate limited.
pub fn configure(config: &mut web::ServiceConfig, max_body_bytes: usize) {
    let json = web::JsonConfig::default()
        .limit(max_body_bytes)
        .content_type_required(false)
        .error_handler(move |error, request| error::json_error(error, request, max_body_bytes));
    config
        .app_data(json)
        .service(
            web::resource("/api/v1/execute")
                .wrap(middleware::from_fn(rate_limit::limit))
                .route(web::post().to(routes::execute::<ExecuteV1>)),
        )
        .service(
            web::resource("/api/v2/execute")
                .wrap(middleware::from_fn(rate_limit::limit))
                .route(web::post().to(routes::execute::<ExecuteV2>)),
        )
        .service(routes::languages)
        .service(routes::health)
        .service(routes::metrics)
        .service(executions::execution)
        .service(executions::stats);
}
