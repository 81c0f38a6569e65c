//! The Piston v2 endpoints, `GET runtimes` and `POST execute`, and [`register`], which mounts
//! them under a prefix (`/piston/api/v2` and `/api/v2/piston`).

use std::collections::HashMap;
use std::time::Instant;

use actix_web::{middleware, web, HttpRequest, HttpResponse};
use serde_json::Value;
use tracing::Instrument;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{in_pistons_words, PistonError};
use super::job::{job_from_body, JobContext};
use super::runtimes::{runtimes, Runtime};
use super::stage::ExecuteAnswer;
use crate::api::endpoint::endpoint_under;
use crate::api::error::ApiError;
use crate::api::AppState;
use codeexec_engine::Engine;

/// Where the Piston routes are mounted: Piston's own path after `/piston`, and the path of
/// Piston's public instance.
pub(crate) const PREFIXES: [&str; 2] = ["/piston/api/v2", "/api/v2/piston"];

/// Both Piston routes under `at`. Execute is rate limited like `/api/v1/execute`, and takes a
/// JSON body whatever its Content-Type says: Piston's npm client sends `text/plain`.
pub fn register(config: &mut ServiceConfig, at: &'static str, max_body_bytes: usize) {
    let any_content_type = web::JsonConfig::default()
        .limit(max_body_bytes)
        .content_type(|_| true)
        .content_type_required(false)
        .error_handler(move |error, _: &HttpRequest| json_error(error, max_body_bytes).into());
    config
        .service(endpoint_under(at, __path_list_runtimes, list_runtimes))
        .service(endpoint_under(at, __path_execute, execute).map(|resource| {
            resource
                .app_data(any_content_type)
                .wrap(middleware::from_fn(crate::api::rate_limit::limit))
                .wrap(middleware::from_fn(in_pistons_words))
        }));
}

fn json_error(error: actix_web::error::JsonPayloadError, limit: usize) -> PistonError {
    use actix_web::error::JsonPayloadError;
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            PistonError::Refused(ApiError::PayloadTooLarge { limit })
        }
        other => PistonError::Invalid(format!("the body is not JSON: {other}")),
    }
}

/// The runtimes offered now, each language's version as the engine probed it.
pub(crate) async fn current_runtimes(state: &AppState) -> Vec<Runtime> {
    runtimes(&state.registry, &probed_versions(&state.engine).await)
}

async fn probed_versions(engine: &Engine) -> HashMap<String, String> {
    engine
        .pool_states()
        .await
        .into_iter()
        .filter_map(|(language, pool)| Some((language, pool.ok()?.version?)))
        .collect()
}

/// Piston's runtimes: `[{language, version, aliases, runtime?}]`.
///
/// Piston's language names and aliases for each language the service runs (`javascript` with
/// runtime `node`, `c++` with runtime `gcc`, ...), the version as semver from the toolchain's
/// own report (`0.0.0` until the language's first container has reported it).
#[utoipa::path(get, path = "/runtimes", tag = "piston",
    responses((status = 200, description = "Every runtime", body = Vec<Object>,
        example = json!([{"language": "python", "version": "3.11.2", "aliases": ["py", "py3", "python3"]},
                         {"language": "javascript", "version": "18.20.4", "aliases": ["node-javascript", "node-js", "javascript", "js"], "runtime": "node"}]))))]
pub async fn list_runtimes(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(current_runtimes(&state).await)
}

/// Runs a Piston job: `{language, version?, files, stdin?, args?, limits...}`.
///
/// Answers 200 `{language, version, run, compile?}` whatever the program did, 400
/// `{"message": ...}` with Piston's message for a job that is not valid. Any Content-Type is
/// taken. Rate limited per client (429) and admitted like `/api/v1/execute` (503).
#[utoipa::path(post, path = "/execute", tag = "piston",
    request_body(content = Object, description = "A Piston job: `language`, `version` (a semver range; `*` when missing), `files` [{`name`, `content`, `encoding`}], optional `stdin`, `args`, `compile_timeout`, `run_timeout`, `compile_cpu_time`, `run_cpu_time` (ms), `compile_memory_limit`, `run_memory_limit` (bytes)",
        example = json!({"language": "python", "version": "3.x", "files": [{"name": "main.py", "content": "print(input())"}], "stdin": "hi"})),
    responses(
        (status = 200, description = "The job ran: its stages", body = Object,
            example = json!({"language": "python", "version": "3.11.2", "run": {"stdout": "hi\n", "stderr": "", "output": "hi\n", "code": 0, "signal": null, "message": null, "status": null, "cpu_time": 14, "wall_time": 21, "memory": 9437184}})),
        (status = 400, description = "Not a valid job: `{\"message\": ...}`", body = Object,
            example = json!({"message": "python-9.9.9 runtime is unknown"})),
        (status = 413, description = "The body is over `server.max_body_bytes`", body = Object),
        (status = 429, description = "Over the client's rate limit: `{\"message\": ...}`", body = Object, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = "No place or container for the job now: `{\"message\": ...}`", body = Object, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ))]
pub async fn execute(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, PistonError> {
    let received = Instant::now();
    let runtimes = current_runtimes(&state).await;
    let context = JobContext {
        runtimes: &runtimes,
        registry: &state.registry,
        limits: &state.settings.limits,
    };
    let job = job_from_body(&body, &context).map_err(PistonError::Invalid)?;
    let span = tracing::info_span!("job", jobId = %job.spec.id, language = %job.spec.language.name);
    let execution = state
        .engine
        .execute(job.spec, received)
        .instrument(span)
        .await?;
    Ok(HttpResponse::Ok().json(ExecuteAnswer::new(&job.runtime, &execution)))
}
