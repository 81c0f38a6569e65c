//! The shared rate limit (`rate_limit.backend = "redis"`) against a real Redis: two nodes give a
//! client one bucket between them, with the `RateLimit-*` headers one node's own buckets give; when Redis stops, every request is still answered, from the node's own buckets, and
//! the node says so in its metrics and log until Redis is back. The nodes are the real binary on
//! the local runtime: the limit is in front of the engine, whichever runs the jobs.

use std::time::Instant;

use serde_json::json;

use crate::common::redis::RedisServer;
use crate::common::{test_instance, wait_until, Service};

/// What a client sees of the rate limit in one answer.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    limit: Option<String>,
    remaining: Option<String>,
    reset: Option<String>,
    retry_after: Option<String>,
}

fn execute(node: &Service) -> Seen {
    let body = json!({ "language": "python", "code": "print('hi')" });
    let (status, headers, body) = node.post_with_headers(
        "/api/v1/execute",
        body.to_string().into_bytes(),
        &[("content-type", "application/json")],
    );
    assert!(status == 200 || status == 429, "{status}: {body}");
    let header = |name: &str| headers.get(name).cloned();
    Seen {
        status,
        limit: header("ratelimit-limit"),
        remaining: header("ratelimit-remaining"),
        reset: header("ratelimit-reset"),
        retry_after: header("retry-after"),
    }
}

/// A burst of `burst` with a token every 1000 s: no token comes back during a test.
fn limited(burst: &str, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut overrides = vec![
        ("CODEEXEC_RATE_LIMIT__ENABLED", "true".to_string()),
        ("CODEEXEC_RATE_LIMIT__BURST", burst.to_string()),
        (
            "CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND",
            "0.001".to_string(),
        ),
    ];
    overrides.extend_from_slice(extra);
    overrides
}

fn shared(redis: &RedisServer, prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CODEEXEC_RATE_LIMIT__BACKEND", "redis".to_string()),
        ("CODEEXEC_RATE_LIMIT__REDIS_URL", redis.url()),
        ("CODEEXEC_RATE_LIMIT__REDIS_KEY_PREFIX", prefix.to_string()),
        ("CODEEXEC_RATE_LIMIT__REDIS_RETRY_MS", "200".to_string()),
        // A loaded machine must not turn the shared bucket into local ones: the fallback is
        // for a Redis that is gone, which the tests stop.
        ("CODEEXEC_RATE_LIMIT__REDIS_TIMEOUT_MS", "5000".to_string()),
    ]
}

fn start(name: &str, overrides: &[(&'static str, String)]) -> Service {
    let overrides: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    Service::start_local(name, &overrides)
}

#[test]
fn two_nodes_on_one_redis_give_a_client_one_bucket_with_the_headers_of_one_node() {
    let redis = RedisServer::started();
    let prefix = test_instance("shared-buckets");
    let node_a = start("shared-a", &limited("3", &shared(&redis, &prefix)));
    let node_b = start("shared-b", &limited("3", &shared(&redis, &prefix)));

    let started = Instant::now();
    let across_nodes: Vec<Seen> = (0..5)
        .map(|index| execute(if index % 2 == 0 { &node_a } else { &node_b }))
        .collect();
    // Headers count whole seconds rounded up, and the bucket refills while the test runs: a
    // value may be below the exact one by the seconds that passed, never above.
    let passed = started.elapsed().as_secs() + 1;
    let statuses: Vec<u16> = across_nodes.iter().map(|seen| seen.status).collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "one bucket of 3 for both nodes: {across_nodes:#?}"
    );
    let seconds = |value: &Option<String>| -> u64 { value.as_deref().unwrap().parse().unwrap() };
    let about = |value: u64, exact: u64| value <= exact && value + passed >= exact;
    for (index, seen) in across_nodes.iter().enumerate() {
        let taken = (index as u64 + 1).min(3);
        assert_eq!(seen.limit.as_deref(), Some("3"), "{seen:?}");
        assert_eq!(seen.remaining, Some((3 - taken).to_string()), "{seen:?}");
        assert!(about(seconds(&seen.reset), taken * 1000), "{seen:?}");
        if seen.status == 429 {
            assert!(about(seconds(&seen.retry_after), 1000), "{seen:?}");
        } else {
            assert_eq!(seen.retry_after, None);
        }
    }
    for node in [&node_a, &node_b] {
        assert_eq!(node.metric("codeexec_rate_limit_redis_up"), Some(1.0));
        assert_eq!(
            node.metric("codeexec_rate_limit_local_fallback_total"),
            Some(0.0)
        );
    }
}

#[test]
fn when_redis_stops_a_node_answers_from_its_own_buckets_and_says_so_until_redis_is_back() {
    let mut redis = RedisServer::started();
    let prefix = test_instance("fallback");
    let node = start("fallback", &limited("2", &shared(&redis, &prefix)));
    assert_eq!(execute(&node).status, 200);
    assert_eq!(node.metric("codeexec_rate_limit_redis_up"), Some(1.0));

    redis.stop();
    let without_redis: Vec<Seen> = (0..3).map(|_| execute(&node)).collect();
    let statuses: Vec<u16> = without_redis.iter().map(|seen| seen.status).collect();
    assert_eq!(
        statuses,
        [200, 200, 429],
        "the node's own bucket of 2, fresh: {without_redis:#?}"
    );
    assert!(without_redis
        .iter()
        .all(|seen| seen.limit.as_deref() == Some("2")));
    assert_eq!(node.metric("codeexec_rate_limit_redis_up"), Some(0.0));
    assert!(node.metric("codeexec_rate_limit_local_fallback_total") >= Some(3.0));
    let log = std::fs::read_to_string(node.log_path()).unwrap();
    assert!(
        log.contains("the rate limit's Redis does not answer"),
        "the log says why limits are per node:\n{log}"
    );

    redis.start();
    wait_until("the node uses Redis again", || {
        execute(&node);
        node.metric("codeexec_rate_limit_redis_up") == Some(1.0)
    });
    let log = std::fs::read_to_string(node.log_path()).unwrap();
    assert!(
        log.contains("the rate limit's Redis answers again"),
        "{log}"
    );
}
