//! Errors the API answers with, as `{"succeeded": false, "errorMessage": "..."}` and the status
//! code (and `Retry-After`) that fits each.

use actix_web::error::{JsonPayloadError, ResponseError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::request::Invalid;
use crate::engine::supervisor::AcquireError;

/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error(transparent)]
    Busy(AcquireError),
    #[error("{0}")]
    NotFound(String),
    /// A service the answer depends on (the execution log database) did not answer.
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    succeeded: bool,
    error_message: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Busy(_) | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::Busy(_) | ApiError::Unavailable(_) = self {
            response.insert_header(("Retry-After", RETRY_AFTER_SECS.to_string()));
        }
        response.json(ErrorBody {
            succeeded: false,
            error_message: &self.to_string(),
        })
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> ApiError {
        ApiError::BadRequest(invalid.0)
    }
}

impl From<AcquireError> for ApiError {
    fn from(error: AcquireError) -> ApiError {
        ApiError::Busy(error)
    }
}

/// Turns actix-web's JSON extractor errors into our error body: 413 for an oversized body,
/// 400 with the parser's message for anything else.
pub fn json_error(error: JsonPayloadError, _: &HttpRequest, limit: usize) -> actix_web::Error {
    let api_error = match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::Deserialize(error) => {
            ApiError::BadRequest(format!("invalid JSON body: {error}"))
        }
        other => ApiError::BadRequest(format!("invalid request body: {other}")),
    };
    api_error.into()
}
