//! Errors the API answers with, as `{"succeeded": false, "errorMessage": "..."}` and the status
//! code (and `Retry-After`) that fits each. Each is an execute request refused before it ran,
//! counted in `codeexec_rejected_total` by its [`Rejection`].

use actix_web::error::{JsonPayloadError, ResponseError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::rate_limit_headers::{insert_headers, seconds_rounded_up};
use super::request::Invalid;
use crate::rate_limit::Decision;
use codeexec_engine::EngineError;

/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECS: u64 = 1;
/// Longest error message sent. Parser messages quote the request ("invalid type: string
/// \"...\""), and a request must not make its answer echo a megabyte back.
const MAX_MESSAGE_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error(transparent)]
    Busy(EngineError),
    #[error("{0}")]
    NotFound(String),
    /// A service the answer depends on (the execution log database) did not answer.
    #[error("{0}")]
    Unavailable(String),
    #[error("too many requests from this client; try again in {} s", seconds_rounded_up(.0.retry_after))]
    RateLimited(Decision),
    #[error("this client already has {cap} jobs waiting or running, the most one client may have at once; try again when one of them is answered")]
    ClientBusy { cap: usize },
    #[error("the request body did not arrive within {secs} s")]
    BodyTimeout { secs: u64 },
    /// The node is draining before it stops (SIGTERM): it finishes its jobs but takes no new one.
    #[error("this node is draining before it stops and takes no new job; try again, and another node will answer")]
    Draining,
}

/// Why an execute request was refused before it ran: the `reason` label of
/// `codeexec_rejected_total`, whose every value the metrics create at zero from this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Rejection {
    InvalidRequest,
    PayloadTooLarge,
    SlowBody,
    RateLimited,
    ClientInFlightCap,
    InFlightCap,
    MemoryCap,
    QueueFull,
    QueueTimeout,
    Unavailable,
    ShuttingDown,
}

impl Rejection {
    pub fn label(self) -> &'static str {
        self.into()
    }
}

impl ApiError {
    /// Why an execute request was refused; `None` for the answers of other endpoints.
    pub fn rejection(&self) -> Option<Rejection> {
        Some(match self {
            ApiError::BadRequest(_) => Rejection::InvalidRequest,
            ApiError::PayloadTooLarge { .. } => Rejection::PayloadTooLarge,
            ApiError::BodyTimeout { .. } => Rejection::SlowBody,
            ApiError::RateLimited(_) => Rejection::RateLimited,
            ApiError::ClientBusy { .. } => Rejection::ClientInFlightCap,
            ApiError::Busy(EngineError::InFlightCap { .. }) => Rejection::InFlightCap,
            ApiError::Busy(EngineError::MemoryCap { .. }) => Rejection::MemoryCap,
            ApiError::Busy(EngineError::QueueFull { .. }) => Rejection::QueueFull,
            ApiError::Busy(EngineError::QueueTimeout { .. }) => Rejection::QueueTimeout,
            ApiError::Busy(EngineError::Unavailable { .. } | EngineError::Start(_)) => {
                Rejection::Unavailable
            }
            ApiError::Busy(EngineError::ShuttingDown) | ApiError::Draining => {
                Rejection::ShuttingDown
            }
            ApiError::NotFound(_) | ApiError::Unavailable(_) => return None,
        })
    }
}

/// `{"succeeded": false, "errorMessage": "..."}`: why the request was not served.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"succeeded": false, "errorMessage": "code is required and must not be empty"}))]
pub struct ErrorBody<'a> {
    /// Always `false` here.
    pub succeeded: bool,
    /// What went wrong and what to do, at most 1 KiB.
    pub error_message: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Busy(_) | ApiError::Unavailable(_) | ApiError::Draining => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::RateLimited(_) | ApiError::ClientBusy { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The answer carries this error, so the metrics middleware counts the refusal by its
    /// [`ApiError::rejection`].
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Busy(_)
            | ApiError::Unavailable(_)
            | ApiError::ClientBusy { .. }
            | ApiError::Draining => {
                response.insert_header(("Retry-After", RETRY_AFTER_SECS));
            }
            ApiError::RateLimited(decision) => {
                let wait = seconds_rounded_up(decision.retry_after).max(1);
                response.insert_header(("Retry-After", wait));
            }
            ApiError::BadRequest(_)
            | ApiError::PayloadTooLarge { .. }
            | ApiError::BodyTimeout { .. }
            | ApiError::NotFound(_) => {}
        }
        let mut response = response.json(ErrorBody {
            succeeded: false,
            error_message: &shortened(self.to_string()),
        });
        if let ApiError::RateLimited(decision) = self {
            insert_headers(response.headers_mut(), decision);
        }
        response
    }
}

/// `message`, cut at [`MAX_MESSAGE_BYTES`] on a character boundary, marked with an ellipsis.
pub(crate) fn shortened(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        message.truncate(message.floor_char_boundary(MAX_MESSAGE_BYTES));
        message.push('…');
    }
    message
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> ApiError {
        ApiError::BadRequest(invalid.0)
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A language's full queue is the service being busy, not the request being wrong: 503, a
    /// `Retry-After`, and a message naming the language.
    #[test]
    fn a_full_queue_is_503_with_retry_after_naming_the_language() {
        let full = ApiError::Busy(EngineError::QueueFull {
            language: "python".into(),
            queue_size: 1,
        });
        assert_eq!(full.rejection(), Some(Rejection::QueueFull));
        let response = full.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get("retry-after").unwrap(), "1");
        let body = actix_web::rt::System::new()
            .block_on(actix_web::body::to_bytes(response.into_body()))
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["succeeded"], false);
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.contains("python"), "{message}");
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(shortened("short".into()), "short");
        let long = format!("a{}", "é".repeat(MAX_MESSAGE_BYTES));
        let cut = shortened(long);
        assert!(cut.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
        assert!(cut.ends_with("é…"));
    }
}
