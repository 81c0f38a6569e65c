//! The HTTP API: routes, request validation, response shapes and error mapping. Thin: it talks
//! to the engine, never to Docker.

mod error;
mod executions;
pub mod request;
pub mod response;
mod routes;

use std::sync::Arc;

use actix_web::web;

use crate::config::Settings;
use crate::engine::Engine;
use crate::execution_log::ExecutionLog;
use crate::language::LanguageRegistry;
use request::{ExecuteV1, ExecuteV2};

/// What every handler shares.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub registry: Arc<LanguageRegistry>,
    pub engine: Engine,
    pub execution_log: ExecutionLog,
}

/// Registers every route, with JSON bodies bounded by `server.max_body_bytes`.
pub fn configure(config: &mut web::ServiceConfig, max_body_bytes: usize) {
    let json = web::JsonConfig::default()
        .limit(max_body_bytes)
        .content_type_required(false)
        .error_handler(move |error, request| error::json_error(error, request, max_body_bytes));
    config
        .app_data(json)
        .route(
            "/api/v1/execute",
            web::post().to(routes::execute::<ExecuteV1>),
        )
        .route(
            "/api/v2/execute",
            web::post().to(routes::execute::<ExecuteV2>),
        )
        .service(routes::languages)
        .service(routes::health)
        .service(routes::metrics)
        .service(executions::execution)
        .service(executions::stats);
}
