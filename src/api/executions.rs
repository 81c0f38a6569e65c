//! The execution log's endpoints: one stored record by job id, and per-language statistics.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::execution_log::queries::LanguageStats;
use crate::execution_log::record::ExecutionRecord;
use crate::execution_log::ReadError;

/// `{"succeeded": true, "execution": {...}}`.
#[derive(Serialize, ToSchema)]
struct ExecutionFound {
    succeeded: bool,
    /// The stored record, dates as RFC 3339 strings.
    #[schema(value_type = ExecutionRecord)]
    execution: serde_json::Value,
}

/// `{"succeeded": true, "total": N, "languages": [...]}`.
#[derive(Serialize, ToSchema)]
struct Stats<'a> {
    succeeded: bool,
    /// Executions stored, all languages together.
    total: i64,
    /// Borrowed from the stats cache's shared answer.
    #[schema(value_type = Vec<LanguageStats>)]
    languages: &'a [LanguageStats],
}

/// One execution's stored record, by its job id.
///
/// Only executions asked with `"saveMetric": true`, on a service with a database, are stored.
#[utoipa::path(
    get,
    path = "/api/v1/executions/{jobId}",
    tag = "execution log",
    params(("jobId" = String, Path, description = "The job's id, as the execute answer gave it", min_length = 1)),
    responses(
        (status = 200, description = "The record", body = ExecutionFound),
        (status = 404, description = "No record for this job, or no database is configured", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn execution(
    state: web::Data<AppState>,
    job_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job_id = job_id.into_inner();
    match state.execution_log.find(&job_id).await {
        Ok(Some(record)) => Ok(HttpResponse::Ok().json(ExecutionFound {
            succeeded: true,
            execution: record,
        })),
        Ok(None) => Err(ApiError::NotFound(format!(
            "no execution record for job {job_id:?}"
        ))),
        Err(error) => Err(read_error(error)),
    }
}

/// Executions, success rate and mean execution time per language, from the execution log.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "execution log",
    responses(
        (status = 200, description = "The statistics", body = Stats),
        (status = 404, description = "No database is configured", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let languages = state.execution_log.stats().await.map_err(read_error)?;
    let total: i64 = languages.iter().map(|language| language.executions).sum();
    Ok(HttpResponse::Ok().json(Stats {
        succeeded: true,
        total,
        languages: languages.as_slice(),
    }))
}

/// The database's own message stays in the service's log: it names hosts a client need not see.
fn read_error(error: ReadError) -> ApiError {
    match error {
        ReadError::Disabled => ApiError::NotFound(
            "execution logs are off on this service: no database is configured".into(),
        ),
        ReadError::Unavailable(detail) => {
            tracing::warn!(%detail, "execution log query failed");
            ApiError::Unavailable(
                "the execution log database cannot be reached; try again later".into(),
            )
        }
    }
}
