//! The Judge0 API's refusals, in Judge0's bodies: 422 `{field: [messages]}` for a submission
//! that is not valid, `{"error": message}` for the rest (400, 404, 503).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::request::FieldErrors;
use super::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Judge0Error {
    /// 422: what is wrong with each field of a submission.
    #[error("the submission is not valid")]
    Invalid(FieldErrors),
    /// 400, e.g. invalid `fields` or a batch of the wrong size.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// 503: this instance holds `judge0.max_queue_size` unfinished submissions.
    #[error("queue is full")]
    QueueFull,
    /// 503: the submissions database did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a submission's task ended without its result.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for Judge0Error {
    fn from(error: StoreError) -> Judge0Error {
        match error {
            StoreError::Full => Judge0Error::QueueFull,
            StoreError::Unavailable(_) => Judge0Error::Unavailable(error.to_string()),
        }
    }
}

impl ResponseError for Judge0Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Judge0Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Judge0Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Judge0Error::NotFound(_) => StatusCode::NOT_FOUND,
            Judge0Error::QueueFull | Judge0Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Judge0Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Judge0Error::Invalid(errors) => response.json(errors),
            other => response.json(json!({ "error": other.to_string() })),
        }
    }
}
