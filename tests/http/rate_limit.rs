//! The per-client rate limit on the execute endpoints: a client gets its burst, then 429 with
//! `Retry-After`; every answer says where the client stands in `RateLimit-*` headers; health,
//! metrics and languages are never limited; `X-Forwarded-For` names the client only when a
//! trusted proxy sends it; and a service with the limit off sends neither 429 nor headers.
//!
//! Tokens come back at 0.01 per second (one per 100 s), so none returns during a test and every
//! count below is exact however slow the machine is.

use std::collections::HashMap;

use crate::common::{HeldJob, InProcess};
use serde_json::{json, Value};

type Answer = (u16, HashMap<String, String>, Value);

fn hello() -> Vec<u8> {
    json!({ "language": "python", "code": "print('hello')" })
        .to_string()
        .into_bytes()
}

/// A service limiting each client to `burst` requests, with pools of one container per
/// language to spare the machine; `extra` adds settings.
fn limited_service(name: &str, burst: &str, extra: &[(&str, &str)]) -> InProcess {
    let mut overrides = vec![
        ("CODEEXEC_RATE_LIMIT__ENABLED", "true"),
        ("CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND", "0.01"),
        ("CODEEXEC_RATE_LIMIT__BURST", burst),
    ];
    overrides.extend(small_pools());
    overrides.extend_from_slice(extra);
    InProcess::start_ready(name, &overrides)
}

fn small_pools() -> Vec<(&'static str, &'static str)> {
    [
        "CODEEXEC_LANGUAGES__PYTHON__POOL_SIZE",
        "CODEEXEC_LANGUAGES__JAVASCRIPT__POOL_SIZE",
        "CODEEXEC_LANGUAGES__RUBY__POOL_SIZE",
        "CODEEXEC_LANGUAGES__JAVA__POOL_SIZE",
        "CODEEXEC_LANGUAGES__GO__POOL_SIZE",
        "CODEEXEC_LANGUAGES__CPP__POOL_SIZE",
    ]
    .into_iter()
    .map(|key| (key, "1"))
    .collect()
}

fn hello_from(service: &InProcess, forwarded_for: &str) -> Answer {
    service.post_with_headers(
        "/api/v1/execute",
        hello(),
        &[
            ("content-type", "application/json"),
            ("x-forwarded-for", forwarded_for),
        ],
    )
}

fn header_number(answer: &Answer, name: &str) -> u64 {
    let (_, headers, body) = answer;
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {headers:?} {body}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number: {headers:?}"))
}

fn assert_served(answer: &Answer) {
    let (status, _, body) = answer;
    assert_eq!(*status, 200, "{body}");
    assert_eq!(body["result"]["output"], "hello\n", "{body}");
}

fn assert_refused(answer: &Answer) {
    let (status, headers, body) = answer;
    assert_eq!(*status, 429, "{headers:?} {body}");
    assert_eq!(body["succeeded"], false, "{body}");
    let message = body["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("too many requests"), "{message}");
}

fn has_rate_limit_headers(headers: &HashMap<String, String>) -> bool {
    headers.keys().any(|name| name.starts_with("ratelimit-"))
}

#[test]
fn a_client_gets_its_burst_then_429_with_retry_after_and_rate_limit_headers() {
    let service = limited_service("rate-limit-burst", "3", &[]);
    for expected_remaining in [2, 1, 0] {
        let answer = service.post_raw("/api/v1/execute", hello());
        assert_served(&answer);
        assert_eq!(header_number(&answer, "ratelimit-limit"), 3);
        assert_eq!(
            header_number(&answer, "ratelimit-remaining"),
            expected_remaining
        );
        assert!(header_number(&answer, "ratelimit-reset") >= 100);
    }
    let v2_body =
        json!({ "language": "python", "files": [{ "filename": "a.py", "code": "print(1)" }] });
    for (path, body) in [
        ("/api/v1/execute", hello()),
        ("/api/v2/execute", v2_body.to_string().into_bytes()),
    ] {
        let refused = service.post_raw(path, body);
        assert_refused(&refused);
        let retry_after = header_number(&refused, "retry-after");
        assert!(
            (1..=100).contains(&retry_after),
            "one token takes 100 s: {retry_after}"
        );
        assert_eq!(header_number(&refused, "ratelimit-limit"), 3);
        assert_eq!(header_number(&refused, "ratelimit-remaining"), 0);
        assert!(header_number(&refused, "ratelimit-reset") >= retry_after);
    }
    for path in ["/health", "/metrics", "/api/v1/languages"] {
        for _ in 0..5 {
            let (status, headers, _) = service.get_with_headers(path);
            assert_eq!(status, 200, "{path}");
            assert!(!has_rate_limit_headers(&headers), "{path}: {headers:?}");
        }
    }
    assert_eq!(service.metric("codeexec_rate_limited_total"), Some(2.0));
    assert_eq!(
        service.metric("codeexec_rejected_total{reason=\"rate_limited\"}"),
        Some(2.0)
    );
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_a_bucket_of_its_own() {
    let service = limited_service(
        "rate-limit-proxy",
        "1",
        &[("CODEEXEC_RATE_LIMIT__TRUSTED_PROXIES", r#"["127.0.0.1"]"#)],
    );
    assert_served(&hello_from(&service, "203.0.113.7"));
    assert_refused(&hello_from(&service, "203.0.113.7"));
    assert_served(&hello_from(&service, "198.51.100.9"));
    // Addresses a client writes itself sit left of the one its proxy appended: no way out.
    assert_refused(&hello_from(&service, "192.0.2.1, 198.51.100.9"));
    // A chain through another trusted hop still names the client.
    assert_refused(&hello_from(&service, "203.0.113.7, 127.0.0.1"));
    // Without the header, the proxy itself is the client, with a bucket of its own.
    assert_served(&service.post_raw("/api/v1/execute", hello()));
}

#[test]
fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let service = limited_service("rate-limit-untrusted", "1", &[]);
    assert_served(&hello_from(&service, "203.0.113.7"));
    // Another claimed address changes nothing: the peer, 127.0.0.1, is the client.
    assert_refused(&hello_from(&service, "198.51.100.9"));
    assert_refused(&service.post_raw("/api/v1/execute", hello()));
}

#[test]
fn with_rate_limiting_off_nothing_is_refused_and_no_header_is_sent() {
    let service = limited_service(
        "rate-limit-off",
        "1",
        &[("CODEEXEC_RATE_LIMIT__ENABLED", "false")],
    );
    for _ in 0..3 {
        let answer = service.post_raw("/api/v1/execute", hello());
        assert_served(&answer);
        assert!(!has_rate_limit_headers(&answer.1), "{:?}", answer.1);
    }
    assert_eq!(service.metric("codeexec_rate_limited_total"), Some(0.0));
}

#[test]
fn a_client_over_its_in_flight_cap_gets_429_while_another_clients_job_runs() {
    let service = limited_service(
        "client-cap",
        "10",
        &[
            ("CODEEXEC_RATE_LIMIT__TRUSTED_PROXIES", r#"["127.0.0.1"]"#),
            ("CODEEXEC_RATE_LIMIT__MAX_IN_FLIGHT_PER_CLIENT", "1"),
        ],
    );
    let job = HeldJob::new();
    let from_alice = [
        ("content-type", "application/json"),
        ("x-forwarded-for", "203.0.113.7"),
    ];
    std::thread::scope(|scope| {
        let held = scope.spawn(|| {
            let body = job.body(json!({})).to_string().into_bytes();
            service.post_with_headers("/api/v1/execute", body, &from_alice)
        });
        job.wait_until_running();

        let refused = hello_from(&service, "203.0.113.7");
        let (status, headers, body) = &refused;
        assert_eq!(*status, 429, "{headers:?} {body}");
        assert_eq!(header_number(&refused, "retry-after"), 1);
        let message = body["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.contains("already has 1 jobs waiting or running"),
            "{message}"
        );
        assert!(
            !has_rate_limit_headers(headers),
            "no token was taken: {headers:?}"
        );

        assert_served(&hello_from(&service, "198.51.100.9"));

        job.release();
        let (status, _, body) = held.join().unwrap();
        assert_eq!(status, 200, "{body}");
    });
    let served = hello_from(&service, "203.0.113.7");
    assert_served(&served);
    // Alice's refusal cost no token: two of her ten are gone, not three.
    assert_eq!(header_number(&served, "ratelimit-remaining"), 8);
    assert_eq!(
        service.metric("codeexec_rejected_total{reason=\"client_in_flight_cap\"}"),
        Some(1.0)
    );
}
