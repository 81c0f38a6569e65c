//! The Piston API's refusals, in Piston's body `{"message": "..."}`: 400 for a job that is not
//! valid (Piston's own messages where it has one), and our status code and `Retry-After` for a
//! job the service cannot take now (413, 503), so that clients retry as they would with us.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::api::error::{shortened, ApiError, Rejection};
use codeexec_engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum PistonError {
    /// 400: the job is not valid.
    #[error("{0}")]
    Invalid(String),
    /// Refused before it ran, as our execute would refuse it.
    #[error(transparent)]
    Refused(ApiError),
}

impl PistonError {
    /// Why the request was refused, counted in `codeexec_rejected_total` like our execute's.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            PistonError::Invalid(_) => Some(Rejection::InvalidRequest),
            PistonError::Refused(error) => error.rejection(),
        }
    }
}

impl From<EngineError> for PistonError {
    fn from(error: EngineError) -> PistonError {
        PistonError::Refused(ApiError::from(error))
    }
}

impl ResponseError for PistonError {
    fn status_code(&self) -> StatusCode {
        match self {
            PistonError::Invalid(_) => StatusCode::BAD_REQUEST,
            PistonError::Refused(error) => error.status_code(),
        }
    }

    /// Our answer's headers (`Retry-After`) with Piston's body.
    fn error_response(&self) -> HttpResponse {
        let ours = match self {
            PistonError::Invalid(_) => HttpResponse::BadRequest().finish(),
            PistonError::Refused(error) => error.error_response(),
        };
        let mut answer = HttpResponse::build(ours.status());
        let kept = ours
            .headers()
            .iter()
            .filter(|(name, _)| **name != CONTENT_TYPE && **name != CONTENT_LENGTH);
        for (name, value) in kept {
            answer.append_header((name.clone(), value.clone()));
        }
        answer
            .content_type("application/json")
            .body(piston_body(&shortened(self.to_string())))
    }
}

/// Wraps Piston's execute outside the rate limit: a refusal answered by our middleware (429
/// from the rate limit) gets Piston's body `{"message": ...}`, keeping its status, headers and
/// error (so the metrics still count it).
pub async fn in_pistons_words(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, String>>, actix_web::Error> {
    let response = next.call(request).await?;
    let message = response
        .response()
        .error()
        .and_then(|error| error.as_error::<ApiError>())
        .map(|error| shortened(error.to_string()));
    Ok(match message {
        None => response.map_into_left_body(),
        Some(message) => response.map_body(|_, _| EitherBody::right(piston_body(&message))),
    })
}

fn piston_body(message: &str) -> String {
    json!({ "message": message }).to_string()
}
