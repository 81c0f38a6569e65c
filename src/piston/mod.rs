//! The Piston v2 compatible API: Piston's clients (its REST API and its npm client) work against
//! codeexec unchanged. A layer over the engine's public API: jobs run through `Engine::execute`
//! like `/api/v1/execute`, under the same rate limit and admission control. Served at
//! `/piston/api/v2/…` and `/api/v2/piston/…` (the path Piston's public instance used), with
//! Piston's interactive WebSocket protocol at `…/connect` ([`connect`]).

pub mod connect;
pub mod description;
mod error;
mod files;
mod handlers;
pub(crate) mod job;
mod limits;
pub(crate) mod runtimes;
mod stage;
mod version_range;

use utoipa_actix_web::service_config::ServiceConfig;

pub use error::PistonError;

/// Registers the Piston routes, each described, under both prefixes.
pub fn configure(config: &mut ServiceConfig, max_body_bytes: usize) {
    for prefix in handlers::PREFIXES {
        config.configure(|config| handlers::register(config, prefix, max_body_bytes));
    }
}
