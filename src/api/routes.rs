//! The HTTP handlers: execute (v1 and v2), languages, health and metrics.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use tracing::Instrument;

use super::error::ApiError;
use super::request::ExecuteRequest;
use super::response::ExecuteResponse;
use super::AppState;
use codeexec_engine::PoolState;

/// `POST /api/v1/execute` and `/api/v2/execute`: validate, run, answer. The clock starts once
/// the body is parsed. Every log line of the job is inside a `job` span carrying its `jobId` and
/// language.
pub async fn execute<R: ExecuteRequest>(
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LanguageInfo {
    name: String,
    display_name: String,
    version: Option<String>,
    aliases: Vec<String>,
    limits: LanguageLimits,
    pool: Option<PoolState>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LanguageLimits {
    timeout_ms: u64,
    compile_timeout_ms: u64,
    memory_limit_mb: u64,
    cpus: f64,
    pids: i64,
    output_limit_bytes: usize,
}

#[get("/api/v1/languages")]
async fn languages(state: web::Data<AppState>) -> HttpResponse {
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
                pool,
            }
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "succeeded": true, "languages": languages }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Health {
    status: &'static str,
    timestamp: String,
    docker: String,
    pools: BTreeMap<String, PoolHealth>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct PoolHealth {
    healthy: bool,
    #[serde(flatten)]
    state: Option<PoolState>,
}

/// 200 when Docker answers and every language's pool works; 503 naming what is wrong otherwise.
#[get("/health")]
async fn health(state: web::Data<AppState>) -> HttpResponse {
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
                state: pool.ok(),
            },
        );
    }
    problems.sort();
    let ok = problems.is_empty();
    let body = Health {
        status: if ok { "OK" } else { "UNAVAILABLE" },
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

/// Prometheus scrape endpoint. Pool gauges and Docker's reachability are read at scrape time, so
/// they are never staler than the scrape itself.
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
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
