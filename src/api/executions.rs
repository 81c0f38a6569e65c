//! The execution log's endpoints: one stored record by job id, and per-language statistics.

use actix_web::{get, web, HttpResponse};

use super::error::ApiError;
use super::AppState;
use crate::execution_log::ReadError;

/// `GET /api/v1/executions/{jobId}`: the stored record, 404 when there is none or no database is
/// configured, 503 when the database does not answer.
#[get("/api/v1/executions/{job_id}")]
async fn execution(
    state: web::Data<AppState>,
    job_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job_id = job_id.into_inner();
    match state.execution_log.find(&job_id).await {
        Ok(Some(record)) => {
            Ok(HttpResponse::Ok()
                .json(serde_json::json!({ "succeeded": true, "execution": record })))
        }
        Ok(None) => Err(ApiError::NotFound(format!(
            "no execution record for job {job_id:?}"
        ))),
        Err(error) => Err(read_error(error)),
    }
}

/// `GET /api/v1/stats`: executions, success rate and mean execution time per language.
#[get("/api/v1/stats")]
async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let languages = state.execution_log.stats().await.map_err(read_error)?;
    let total: i64 = languages.iter().map(|language| language.executions).sum();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "succeeded": true,
        "total": total,
        "languages": languages.as_slice(),
    })))
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
