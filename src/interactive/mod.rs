//! Interactive runs over WebSocket: stdin typed while the program runs, output as it is written.
//! [`session`] drives one session whatever its dialect; [`native`] is ours, at
//! `/api/v1/connect`. The routes are WebSocket handshakes, which the OpenAPI description (HTTP
//! only) leaves out; the README documents them.
//!
//! A session is a job: the rate limiter takes a token for it and holds the client's in-flight
//! place until it ends, and the engine admits it as any other.

pub mod native;
pub mod session;
pub mod signal;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::error::ApiError;
use crate::api::rate_limit;
use crate::api::AppState;
use session::Dialect;

/// Our interactive endpoint.
pub const CONNECT_PATH: &str = "/api/v1/connect";

/// Adds the interactive routes to `config`.
pub fn configure(config: &mut web::ServiceConfig) {
    config.service(handshake_route(CONNECT_PATH).to(connect));
}

/// The resource of a WebSocket handshake at `path`: GET only, any other method 405 with `Allow`.
pub fn handshake_route(path: &str) -> HandshakeRoute {
    HandshakeRoute(web::resource(path))
}

/// A handshake's resource waiting for its handler.
pub struct HandshakeRoute(actix_web::Resource);

impl HandshakeRoute {
    pub fn to<F, Args>(self, handler: F) -> actix_web::Resource
    where
        F: actix_web::Handler<Args>,
        Args: actix_web::FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        self.0.route(web::get().to(handler))
    }
}

/// Every WebSocket route of the service: ours and Piston's. The OpenAPI description, which is
/// HTTP only, leaves them out.
pub fn handshake_paths() -> Vec<String> {
    let mut paths = vec![CONNECT_PATH.to_string()];
    paths.extend(crate::piston::connect::paths());
    paths
}

/// `GET /api/v1/connect`: a WebSocket session in our dialect.
async fn connect(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    open(native::Native, state, request, body).await
}

/// Takes the handshake, admits the session with the rate limiter, and runs it in the
/// background; the 101 answer goes back at once.
pub async fn open(
    dialect: impl Dialect,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if !request.head().upgrade() {
        return Err(ApiError::BadRequest(format!(
            "{} takes a WebSocket handshake (GET with Upgrade: websocket)",
            request.path()
        )));
    }
    let admitted = rate_limit::admit(&state, &request).await?;
    let (mut response, session, messages) = actix_ws::handle(&request, body)
        .map_err(|error| ApiError::BadRequest(format!("not a WebSocket handshake: {error}")))?;
    admitted.label(response.headers_mut());
    let max_message = state.settings.server.max_body_bytes;
    let messages = messages
        .max_frame_size(max_message)
        .aggregate_continuations()
        .max_continuation_size(max_message);
    actix_web::rt::spawn(session::run(dialect, state, session, messages, admitted));
    Ok(response)
}
