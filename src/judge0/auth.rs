//! Optional authentication as Judge0 does it: when `judge0.auth_token` is set, every Judge0
//! request carries it in the `judge0.auth_header` header (default `X-Auth-Token`) or in a
//! query parameter of the same name; 401 with an empty body otherwise.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use super::jobs::Judge0;

/// Present in a handler's arguments: the request is authenticated (or no token is set).
pub struct Authorized;

impl FromRequest for Authorized {
    type Error = actix_web::Error;
    type Future = Ready<Result<Authorized, actix_web::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(judge0) = request.app_data::<web::Data<Judge0>>() else {
            return ready(Ok(Authorized));
        };
        let settings = &judge0.settings;
        if settings.auth_token.is_empty() {
            return ready(Ok(Authorized));
        }
        let from_header = request
            .headers()
            .get(settings.auth_header.as_str())
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let from_query = web::Query::<Vec<(String, String)>>::from_query(request.query_string())
            .ok()
            .and_then(|query| {
                query
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&settings.auth_header))
                    .map(|(_, value)| value.clone())
            });
        let given = from_header.or(from_query);
        if given.as_deref() == Some(settings.auth_token.as_str()) {
            ready(Ok(Authorized))
        } else {
            let refused = InternalError::from_response(
                "authentication failed",
                HttpResponse::Unauthorized().finish(),
            );
            ready(Err(refused.into()))
        }
    }
}
