//! The HTTP API: routes, request validation, response shapes and error mapping. Thin: it talks
//! to the engine, never to Docker.

mod answers;
pub mod body_timeout;
mod docs;
pub mod endpoint;
pub mod error;
mod executions;
#[cfg(test)]
mod fuzz;
pub mod http_metrics;
pub mod openapi;
pub(crate) mod rate_limit;
mod rate_limit_headers;
pub mod request;
pub mod response;
mod routes;

use std::sync::Arc;

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::{middleware, web, App};
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

use crate::config::Settings;
use crate::execution_log::ExecutionLog;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimit;
use codeexec_engine::Engine;
use codeexec_engine::LanguageRegistry;
use endpoint::endpoint;
pub use error::Rejection;

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
    /// Set from SIGTERM on: health is 503 and new jobs are refused.
    pub drain: crate::drain::Drain,
}

/// Every route of the service on `app`, each an [`endpoint`] in the OpenAPI description, and
/// that description (to be narrowed by [`openapi::for_languages`] and given to the app as
/// [`openapi::Description`]). A module's routes join both with one `.configure(...)` line here.
pub fn app<T>(app: App<T>, max_body_bytes: usize) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app_serving(app, max_body_bytes, true)
}

/// [`app`], with the Judge0 CE API (`crate::judge0`) only when `judge0` is true
/// (`judge0.enabled`).
pub fn app_serving<T>(
    app: App<T>,
    max_body_bytes: usize,
    judge0: bool,
) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    let (app, description) = app
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(|config| configure(config, max_body_bytes))
        .configure(crate::playground::configure)
        .configure(|config| crate::piston::configure(config, max_body_bytes))
        .configure(|config| {
            if judge0 {
                crate::judge0::configure(config);
            }
        })
        .split_for_parts();
    // WebSocket handshakes, which an OpenAPI description does not hold.
    let app = app
        .configure(crate::interactive::configure)
        .configure(crate::piston::connect::configure);
    (app, description)
}

/// The API's routes, with JSON bodies bounded by `server.max_body_bytes`. Only the execute
/// endpoints are rate limited.
fn configure(config: &mut ServiceConfig, max_body_bytes: usize) {
    let json = web::JsonConfig::default()
        .limit(max_body_bytes)
        .content_type_required(false)
        .error_handler(move |error, request| error::json_error(error, request, max_body_bytes));
    let rate_limited =
        |resource: actix_web::Resource| resource.wrap(middleware::from_fn(rate_limit::limit));
    config
        .app_data(json)
        .service(endpoint(routes::__path_execute_v1, routes::execute_v1).map(rate_limited))
        .service(endpoint(routes::__path_execute_v2, routes::execute_v2).map(rate_limited))
        .service(endpoint(routes::__path_languages, routes::languages))
        .service(endpoint(routes::__path_health, routes::health))
        .service(endpoint(routes::__path_metrics, routes::metrics))
        .service(endpoint(
            executions::__path_execution,
            executions::execution,
        ))
        .service(endpoint(executions::__path_stats, executions::stats))
        .service(endpoint(
            openapi::__path_openapi_json,
            openapi::openapi_json,
        ))
        .service(endpoint(docs::__path_docs_redirect, docs::docs_redirect))
        .service(endpoint(docs::__path_docs_index, docs::docs_index))
        .service(endpoint(docs::__path_docs_file, docs::docs_file));
}
