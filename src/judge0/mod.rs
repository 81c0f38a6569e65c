//! The Judge0 CE 1.13.1 compatible API: Judge0's clients (its REST API and official Python
//! SDK) work against codeexec unchanged. A layer over the engine's public API: submissions
//! run through `Engine::execute` like `/api/v1/execute`, under the same rate limit and
//! admission control. Served at the root and under `/judge0`.

mod additional_files;
mod auth;
mod callback;
pub mod description;
mod error;
mod handlers;
mod info;
mod jobs;
pub(crate) mod languages;
mod limits;
mod request;
pub mod settings;
mod status;
mod store;
mod submission;

use utoipa_actix_web::service_config::ServiceConfig;

pub use jobs::Judge0;
pub use settings::Judge0Settings;
pub use store::SubmissionStore;

use crate::config::Settings;
use codeexec_engine::Engine;

/// Starts the Judge0 layer's state: its store (MongoDB when `mongo.uri` is set) and callback
/// client. Must run inside a Tokio runtime.
pub async fn start(settings: &Settings, engine: Engine) -> Result<Judge0, mongodb::error::Error> {
    let judge0 = &settings.judge0;
    let store = SubmissionStore::start(
        &settings.mongo,
        judge0.store_capacity,
        std::time::Duration::from_secs(judge0.store_ttl_secs),
    )
    .await?;
    Ok(Judge0::new(
        judge0.clone(),
        store,
        engine,
        settings.limits.clone(),
    ))
}

/// Registers the Judge0 routes, each described, at the root and under `/judge0`; the app serves
/// them when `judge0.enabled` (see `api::app_serving`), with the [`Judge0`] as app data.
pub fn configure(config: &mut ServiceConfig) {
    let query = actix_web::web::QueryConfig::default()
        .error_handler(|error, _| error::Judge0Error::BadRequest(error.to_string()).into());
    config
        .app_data(query)
        .configure(|config| handlers::register(config, "/judge0"))
        .configure(|config| handlers::register(config, ""));
}
