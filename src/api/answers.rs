//! The answers of the execute endpoints as the OpenAPI description states them: each status,
//! its body and its headers (`RateLimit-*` on every answer while rate limiting is on,
//! `Retry-After` on 429 and 503).

// The variants exist to be described, never built, so their sizes do not matter.
#![allow(dead_code, clippy::large_enum_variant)]

use utoipa::IntoResponses;

use super::error::ErrorBody;
use super::response::ExecuteResponse;

#[derive(IntoResponses)]
pub enum ExecuteAnswers<'a> {
    /// The job ran, whatever the program did: `result.runTimeStatus` says how it ended.
    #[response(
        status = 200,
        headers(
            ("RateLimit-Limit" = u64, description = "Requests a client may make at once (the bucket's size)"),
            ("RateLimit-Remaining" = u64, description = "Requests left now"),
            ("RateLimit-Reset" = u64, description = "Seconds until the bucket is full again"),
        )
    )]
    Ran(#[to_schema] ExecuteResponse),
    /// The request cannot run: invalid JSON, an unknown language, missing or empty code, a bad
    /// file name, limits above the language's; the message says what to fix.
    #[response(
        status = 400,
        headers(
            ("RateLimit-Limit" = u64, description = "Requests a client may make at once"),
            ("RateLimit-Remaining" = u64, description = "Requests left now"),
            ("RateLimit-Reset" = u64, description = "Seconds until the bucket is full again"),
        )
    )]
    Invalid(#[to_schema] ErrorBody<'a>),
    /// The body is larger than `server.max_body_bytes`.
    #[response(
        status = 413,
        headers(
            ("RateLimit-Limit" = u64, description = "Requests a client may make at once"),
            ("RateLimit-Remaining" = u64, description = "Requests left now"),
            ("RateLimit-Reset" = u64, description = "Seconds until the bucket is full again"),
        )
    )]
    TooLarge(#[to_schema] ErrorBody<'a>),
    /// This client has used up its rate limit.
    #[response(
        status = 429,
        headers(
            ("Retry-After" = u64, description = "Seconds until the next request is allowed"),
            ("RateLimit-Limit" = u64, description = "Requests a client may make at once"),
            ("RateLimit-Remaining" = u64, description = "Requests left now: 0"),
            ("RateLimit-Reset" = u64, description = "Seconds until the bucket is full again"),
        )
    )]
    RateLimited(#[to_schema] ErrorBody<'a>),
    /// The service cannot take the job now: too many jobs in flight, the language's queue is
    /// full, no container became free in time, containers cannot be started, or the service is
    /// shutting down.
    #[response(
        status = 503,
        headers(
            ("Retry-After" = u64, description = "Seconds to wait before trying again"),
            ("RateLimit-Limit" = u64, description = "Requests a client may make at once"),
            ("RateLimit-Remaining" = u64, description = "Requests left now"),
            ("RateLimit-Reset" = u64, description = "Seconds until the bucket is full again"),
        )
    )]
    Busy(#[to_schema] ErrorBody<'a>),
}
