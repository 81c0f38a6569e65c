//! The `RateLimit-*` headers that tell a client where it stands, on every answer of a
//! rate-limited endpoint, the 429 included.

use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::rate_limit::Decision;

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
pub fn insert_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(LIMIT, HeaderValue::from(decision.limit));
    headers.insert(REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(RESET, HeaderValue::from(seconds_rounded_up(decision.reset)));
}

/// Header values count whole seconds; rounding down would tell a client to come back too early.
pub fn seconds_rounded_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
