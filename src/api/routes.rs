//! The HTTP handlers: execute (v1 and v2), languages, health and metrics, each with its OpenAPI
//! operation.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use tracing::Instrument;
use utoipa::ToSchema;

use super::answers::ExecuteAnswers;
use super::error::ApiError;
use super::request::{ExecuteRequest, ExecuteV1, ExecuteV2};
use super::response::ExecuteResponse;
use super::AppState;
use codeexec_engine::PoolState;

/// Runs one file of code.
///
/// Validates the request (400, 413), waits for a warm container of the language (503 when none
/// becomes free in time), runs the program and answers 200 with what it printed, how it ended
/// and what it cost, whatever the program did. Rate limited per client (429).
#[utoipa::path(
    post,
    path = "/api/v1/execute",
    tag = "execute",
    request_body = ExecuteV1,
    responses(ExecuteAnswers)
)]
pub async fn execute_v1(
    state: web::Data<AppState>,
    body: web::Json<ExecuteV1>,
) -> Result<HttpResponse, ApiError> {
    execute(state, body).await
}

/// Runs several files of code, one of them the entry point.
///
/// As `/api/v1/execute`, with `files` in place of `code`. Java takes the class from the entry
/// file's name; Go and C++ build every source file given; Python, Node.js and Ruby can import
/// the other files (in folders, too).
#[utoipa::path(
    post,
    path = "/api/v2/execute",
    tag = "execute",
    request_body = ExecuteV2,
    responses(ExecuteAnswers)
)]
pub async fn execute_v2(
    state: web::Data<AppState>,
    body: web::Json<ExecuteV2>,
) -> Result<HttpResponse, ApiError> {
    execute(state, body).await
}

/// Validate, run, answer. The clock starts once the body is parsed. Every log line of the job
/// is inside a `job` span carrying its `jobId` and language.
async fn execute<R: ExecuteRequest>(
    state: web::Data<AppState>,
    body: web::Json<R>,
) -> Result<HttpResponse, ApiError> {
    let received = Instant::now();
    let spec = body
        .into_inner()
        .validate(&state.registry, &state.settings.limits)?;
    let span = tracing::info_span!("job", jobId = %spec.id, language = %spec.language.name);
    let execution = state
        .engine
        .execute(spec, received)
        .instrument(span)
        .await?;
    state.execution_log.record(&execution);
    Ok(HttpResponse::Ok().json(ExecuteResponse::from(execution)))
}

/// `{"succeeded": true, "languages": [...]}`.
#[derive(Serialize, ToSchema)]
struct LanguagesResponse {
    succeeded: bool,
    languages: Vec<LanguageInfo>,
}

/// A language the service runs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "name": "python", "displayName": "Python", "version": "3.11.2", "aliases": ["py", "python3"],
    "limits": {"timeoutMs": 5000, "compileTimeoutMs": 15000, "memoryLimitMb": 256, "cpus": 1.0, "pids": 64, "outputLimitBytes": 65536},
    "pool": {"ready": 2, "starting": 0, "target": 2, "queued": 0, "version": "3.11.2", "lastError": null}
}))]
struct LanguageInfo {
    /// The canonical name, as results report it.
    name: String,
    display_name: String,
    /// The toolchain's version, once its image has been asked.
    version: Option<String>,
    /// Other names a request may use.
    aliases: Vec<String>,
    limits: LanguageLimits,
    /// The warm pool now; `null` when it cannot be asked.
    pool: Option<PoolStatus>,
}

/// What a job of the language may use; a request may ask for less, never more.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LanguageLimits {
    timeout_ms: u64,
    compile_timeout_ms: u64,
    memory_limit_mb: u64,
    cpus: f64,
    pids: i64,
    /// Each of stdout and stderr is cut there.
    output_limit_bytes: usize,
}

/// A language's warm pool: [`PoolState`] as the API shows it. The conversion names every field,
/// so a new one cannot reach a response without being described.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PoolStatus {
    /// Containers started and waiting for a job.
    ready: usize,
    /// Containers being started.
    starting: usize,
    /// Containers kept ready.
    target: usize,
    /// Jobs waiting for a container.
    queued: usize,
    /// The toolchain's version as its image reports it, once probed.
    version: Option<String>,
    /// Why the last container start failed, while starts keep failing.
    last_error: Option<String>,
}

impl From<PoolState> for PoolStatus {
    fn from(pool: PoolState) -> PoolStatus {
        let PoolState {
            ready,
            starting,
            target,
            queued,
            version,
            last_error,
        } = pool;
        PoolStatus {
            ready,
            starting,
            target,
            queued,
            version,
            last_error,
        }
    }
}

/// Lists the languages: names, aliases, versions, limits and pool state.
#[utoipa::path(
    get,
    path = "/api/v1/languages",
    tag = "service",
    responses((status = 200, description = "Every language the service runs", body = LanguagesResponse))
)]
pub async fn languages(state: web::Data<AppState>) -> HttpResponse {
    let mut pools = state.engine.pool_states().await;
    let languages: Vec<LanguageInfo> = state
        .registry
        .all()
        .map(|language| {
            let settings = &language.settings;
            let pool = pools.remove(&language.name).and_then(Result::ok);
            LanguageInfo {
                name: language.name.clone(),
                display_name: settings.display_name.clone(),
                version: pool.as_ref().and_then(|pool| pool.version.clone()),
                aliases: settings.aliases.clone(),
                limits: LanguageLimits {
                    timeout_ms: settings.timeout_ms,
                    compile_timeout_ms: settings.compile_timeout_ms,
                    memory_limit_mb: settings.memory_mb,
                    cpus: settings.cpus,
                    pids: settings.pids,
                    output_limit_bytes: state.settings.limits.output_limit_bytes,
                },
                pool: pool.map(PoolStatus::from),
            }
        })
        .collect();
    HttpResponse::Ok().json(LanguagesResponse {
        succeeded: true,
        languages,
    })
}

/// The service's health.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Health {
    /// `OK`; `DRAINING` from SIGTERM on, while the node finishes its jobs before it stops;
    /// `UNAVAILABLE` when anything below is wrong.
    #[schema(example = "OK")]
    status: &'static str,
    /// RFC 3339.
    timestamp: String,
    /// `OK` or `unreachable`.
    docker: String,
    /// Each language's pool, by canonical name.
    pools: BTreeMap<String, PoolHealth>,
    /// What is wrong, one sentence each; empty when healthy.
    problems: Vec<String>,
}

/// A pool's health and, when it can be asked, its state.
#[derive(Serialize, ToSchema)]
struct PoolHealth {
    healthy: bool,
    #[serde(flatten)]
    state: Option<PoolStatus>,
}

/// Health: 200 when Docker answers and every language's pool works, 503 naming what is wrong,
/// and 503 `DRAINING` once the node has been told to stop (a load balancer takes it out).
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    responses(
        (status = 200, description = "Docker answers and every pool works", body = Health),
        (status = 503, description = "Something is wrong, or the node is draining; `problems` says what", body = Health),
    )
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let mut problems = Vec::new();
    let docker = match state.engine.ping_runtime().await {
        Ok(()) => "OK".to_string(),
        Err(problem) => {
            problems.push(problem);
            "unreachable".to_string()
        }
    };
    let mut pools = BTreeMap::new();
    for (language, pool) in state.engine.pool_states().await {
        let healthy = pool.as_ref().is_ok_and(PoolState::is_healthy);
        if !healthy {
            let why = match &pool {
                Ok(pool) => pool
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "no container is ready or starting".into()),
                Err(error) => error.clone(),
            };
            problems.push(format!("{language} pool: {why}"));
        }
        pools.insert(
            language,
            PoolHealth {
                healthy,
                state: pool.ok().map(PoolStatus::from),
            },
        );
    }
    problems.sort();
    let draining = state.drain.is_draining();
    if draining {
        problems.insert(
            0,
            "draining: this node is stopping and takes no new job".into(),
        );
    }
    let ok = problems.is_empty();
    let body = Health {
        status: match (ok, draining) {
            (_, true) => "DRAINING",
            (true, false) => "OK",
            (false, false) => "UNAVAILABLE",
        },
        timestamp: chrono::Utc::now().to_rfc3339(),
        docker,
        pools,
        problems,
    };
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics, in the text exposition format; never rate limited.
///
/// Pool gauges and Docker's reachability are read at scrape time, so they are never staler than
/// the scrape itself.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses((status = 200, description = "Every metric", content_type = "text/plain", body = String))
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let docker_up = state.engine.ping_runtime().await.is_ok();
    state.metrics.docker_up.set(i64::from(docker_up));
    for language in state.registry.all() {
        state
            .metrics
            .queue_capacity
            .with_label_values(&[language.name.as_str()])
            .set(language.settings.queue_size as i64);
    }
    for (language, pool) in state.engine.pool_states().await {
        let Ok(pool) = pool else { continue };
        let labels = [language.as_str()];
        state
            .metrics
            .pool_ready
            .with_label_values(&labels)
            .set(pool.ready as i64);
        state
            .metrics
            .pool_target
            .with_label_values(&labels)
            .set(pool.target as i64);
        state
            .metrics
            .queue_depth
            .with_label_values(&labels)
            .set(pool.queued as i64);
    }
    HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(state.metrics.render())
}
