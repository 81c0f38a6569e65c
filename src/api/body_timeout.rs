//! A deadline for reading a request's body. actix-web times a request's head but not its body,
//! so a client sending its body a byte at a time could hold a connection for as long as it liked;
//! this middleware reads the whole body (up to the size limit) within `server.body_timeout_secs`
//! and answers 408, closing the connection, when it does not come in time. A WebSocket's "body" is
//! its messages, for as long as its session lasts: it is left to the session, which bounds each
//! message's size and the time between them.

use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::StreamExt;

use super::error::ApiError;
use super::AppState;

/// Wraps the whole app: buffers the body within the deadline and hands it on as the request's
/// payload, so the extractors read it from memory.
pub async fn read_body_in_time(
    mut request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    if request.head().upgrade() {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let limit = state.settings.server.max_body_bytes;
    // A body declared too large is refused by the JSON extractor without being read.
    if declared_length(&request).is_some_and(|length| length > limit) {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let secs = state.settings.server.body_timeout_secs;
    let mut payload = request.parts_mut().1.take();
    let read = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            body.extend_from_slice(&chunk?);
            // Past the limit the rest is not worth waiting for: the extractor answers 413.
            if body.len() > limit {
                break;
            }
        }
        Ok::<Bytes, actix_web::error::PayloadError>(body.freeze())
    };
    match tokio::time::timeout(Duration::from_secs(secs), read).await {
        Ok(Ok(body)) => {
            request.set_payload(Payload::from(body));
            Ok(next.call(request).await?.map_into_left_body())
        }
        Ok(Err(error)) => {
            let refusal =
                ApiError::BadRequest(format!("the request body could not be read: {error}"));
            Ok(request.error_response(refusal).map_into_right_body())
        }
        Err(_) => {
            let mut response = request.error_response(ApiError::BodyTimeout { secs });
            // The rest of the body may still be on its way: the connection cannot be reused.
            response
                .response_mut()
                .head_mut()
                .set_connection_type(ConnectionType::Close);
            Ok(response.map_into_right_body())
        }
    }
}

fn declared_length(request: &ServiceRequest) -> Option<usize> {
    request
        .headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
