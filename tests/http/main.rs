//! What needs only HTTP semantics, tested on services inside this test process (the library's
//! `serve` on port 0) over the local runtime: bad input and malformed bodies, the rate limit,
//! the in-flight cap and the per-language queue. One binary, so it compiles once. What needs the
//! sandbox is tested against the real Docker engine by the other test binaries.

#[path = "../common/mod.rs"]
mod common;

mod admission;
mod bad_input;
mod interactive;
mod judge0;
mod malformed;
mod openapi;
mod piston;
mod piston_connect;
mod rate_limit;
mod slow_body;
