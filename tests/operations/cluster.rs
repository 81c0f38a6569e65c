//! Three nodes behind HAProxy, with Redis and the database, as `scripts/cluster` brings them up:
//! a mixed load spreads over every node; a client's burst through the balancer meets 429 after
//! one bucket's worth, not three; a Judge0 submission created through one node is read through
//! another; Redis stopped mid-load changes no answer, only makes limits per node; a node stopped
//! with SIGTERM mid-load loses no request; a node killed outright fails only jobs it held, and
//! the balancer sends it nothing once its health check has marked it down. One cluster for the
//! whole story, so it is brought up once.

use std::sync::Mutex;

use serde_json::{json, Value};

use crate::common::cluster::{is_alive, signal, Cluster};
use crate::common::http::Http;
use crate::common::{test_instance, wait_until};

const BURST: usize = 5;

/// Every node's settings on top of deploy/node.env: two languages (the load mixes them), and a
/// bucket of BURST with a token every 1000 s, so none comes back while the test runs. Redis gets
/// 5 s to answer, so that a loaded machine does not turn the shared bucket into local ones: the
/// fallback is for a Redis that is gone, which the test stops.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("CODEEXEC_CLUSTER_CHECK_INTER_MS", "500"),
    ("CODEEXEC_RATE_LIMIT__ENABLED", "true"),
    ("CODEEXEC_RATE_LIMIT__BURST", "5"),
    ("CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND", "0.001"),
    ("CODEEXEC_RATE_LIMIT__REDIS_TIMEOUT_MS", "5000"),
    ("CODEEXEC_LANGUAGES__JAVA__ENABLED", "false"),
    ("CODEEXEC_LANGUAGES__GO__ENABLED", "false"),
    ("CODEEXEC_LANGUAGES__CPP__ENABLED", "false"),
    ("CODEEXEC_LANGUAGES__RUBY__ENABLED", "false"),
];

/// One job of the load: a program that prints its index, in Python or JavaScript, from a
/// client of its own (HAProxy's X-Forwarded-For, which the nodes trust from it, names it).
/// Status 0 when no answer came at all (the connection closed first).
fn job(balancer: &Http, index: usize, seconds: f64) -> (u16, Value) {
    let code = if index.is_multiple_of(2) {
        json!({ "language": "python", "code": format!("import time\ntime.sleep({seconds})\nprint({index})") })
    } else {
        json!({ "language": "javascript", "code": format!("setTimeout(() => console.log({index}), {})", seconds * 1000.0) })
    };
    let client = format!("198.51.{}.{}", index / 250, index % 250 + 1);
    let answer = balancer.try_post_with_headers(
        "/api/v1/execute",
        code.to_string().into_bytes(),
        &[
            ("content-type", "application/json"),
            ("x-forwarded-for", &client),
        ],
    );
    match answer {
        Ok((status, _, body)) => (status, body),
        Err(error) => (0, Value::String(error.to_string())),
    }
}

/// Sends `count` jobs numbered from `first`, `concurrency` at a time, calling `during` once the
/// first `trigger_after` have been answered; returns each job's answer by index.
fn load(
    balancer: &Http,
    first: usize,
    count: usize,
    seconds: f64,
    trigger_after: usize,
    during: impl FnOnce() + Send,
) -> Vec<(usize, u16, Value)> {
    const CONCURRENCY: usize = 6;
    let next = Mutex::new(first);
    let answers = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| loop {
                let index = {
                    let mut next = next.lock().unwrap();
                    if *next == first + count {
                        return;
                    }
                    *next += 1;
                    *next - 1
                };
                let (status, body) = job(balancer, index, seconds);
                answers.lock().unwrap().push((index, status, body));
            });
        }
        wait_until("the load is under way", || {
            answers.lock().unwrap().len() >= trigger_after
        });
        during();
    });
    answers.into_inner().unwrap()
}

fn assert_all_answered_right(answers: &[(usize, u16, Value)], what: &str) {
    for (index, status, body) in answers {
        assert_eq!(*status, 200, "{what}: job {index}: {body}");
        assert_eq!(
            body["result"]["output"],
            format!("{index}\n"),
            "{what}: {body}"
        );
    }
}

/// Requests allowed out of `count` sent one after another by one client through the balancer.
fn allowed_of_burst(balancer: &Http, client: &str, count: usize) -> usize {
    let body = json!({ "language": "python", "code": "print('burst')" }).to_string();
    (0..count)
        .filter(|_| {
            let (status, _, answer) = balancer.post_with_headers(
                "/api/v1/execute",
                body.clone().into_bytes(),
                &[
                    ("content-type", "application/json"),
                    ("x-forwarded-for", client),
                ],
            );
            assert!(status == 200 || status == 429, "{status}: {answer}");
            status == 200
        })
        .count()
}

fn executions(node: &Http) -> f64 {
    node.metric_sum("codeexec_executions_total")
}

#[test]
fn three_nodes_behind_haproxy_share_the_load_the_limits_and_the_state_and_lose_no_request() {
    let instance = test_instance("cluster");
    let cluster = Cluster::start(3, &instance, ENVIRONMENT);
    let balancer = &cluster.balancer;
    let [one, two, three] = [0, 1, 2].map(|n| &cluster.nodes[n].http);

    // A mixed load spreads over every node.
    let answers = load(balancer, 0, 24, 0.2, 0, || {});
    assert_all_answered_right(&answers, "the first load");
    for node in [one, two, three] {
        assert!(executions(node) > 0.0, "{} ran no job", node.url);
    }

    // One bucket for a client, whichever node its requests reach.
    assert_eq!(
        allowed_of_burst(balancer, "203.0.113.10", 3 * BURST + 1),
        BURST,
        "one bucket's worth, not one per node"
    );

    // A Judge0 submission made through one node is read through another.
    let submission = json!({ "language_id": 71, "source_code": "print('judged')" });
    let (status, _, created) = one.post_with_headers(
        "/submissions?base64_encoded=false&wait=false",
        submission.to_string().into_bytes(),
        &[
            ("content-type", "application/json"),
            ("x-forwarded-for", "203.0.113.20"),
        ],
    );
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    let read = wait_for_finished(two, &token);
    assert_eq!(read["stdout"], "judged\n", "{read}");
    assert_eq!(read["status"]["id"], 3, "{read}");

    // Redis stopped in the middle of a load: every answer stays the same, and limits become
    // per node.
    let answers = load(balancer, 100, 18, 0.2, 3, || {
        signal(cluster.redis_pid, libc::SIGTERM)
    });
    assert_all_answered_right(&answers, "the load while Redis stopped");
    let allowed = allowed_of_burst(balancer, "203.0.113.30", 3 * BURST + 1);
    assert!(
        allowed > BURST,
        "without Redis each node has a bucket of its own: {allowed} allowed"
    );
    let fallbacks: f64 = [one, two, three]
        .iter()
        .map(|node| node.metric_sum("codeexec_rate_limit_local_fallback_total"))
        .sum();
    assert!(fallbacks > 0.0);

    // Node one drains on SIGTERM in the middle of a load: no request is lost.
    let answers = load(balancer, 200, 24, 0.3, 4, || {
        signal(cluster.nodes[0].pid, libc::SIGTERM)
    });
    assert_all_answered_right(&answers, "the load while node one drained");
    wait_until("node one has exited", || !is_alive(cluster.nodes[0].pid));
    let log = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(&instance)
            .join("node1.log"),
    )
    .unwrap();
    assert!(log.contains("draining"), "{log}");

    // Node two killed outright in the middle of a load of one-second jobs: only jobs it held
    // fail, as HAProxy's 502 or, on a kept-alive connection, closed without an answer (so that
    // the client may retry); once its health check marks it down it is sent nothing more.
    let answers = load(balancer, 300, 18, 1.0, 3, || {
        signal(cluster.nodes[1].pid, libc::SIGKILL)
    });
    let failed: Vec<&(usize, u16, Value)> = answers
        .iter()
        .filter(|(_, status, _)| *status != 200)
        .collect();
    assert!(
        failed
            .iter()
            .all(|(_, status, _)| *status == 502 || *status == 0),
        "a killed node's jobs end as the balancer's 502 or a closed connection: {failed:?}"
    );
    assert!(
        failed.len() <= 6,
        "at most the jobs in flight at once can have been on the killed node: {failed:?}"
    );
    let succeeded: Vec<(usize, u16, Value)> = answers
        .into_iter()
        .filter(|(_, status, _)| *status == 200)
        .collect();
    assert_all_answered_right(&succeeded, "the load while node two died");
    wait_until("HAProxy has marked node two down", || {
        cluster.balancer_view("node2").0.starts_with("DOWN")
    });
    let (_, sent_before) = cluster.balancer_view("node2");
    let answers = load(balancer, 400, 6, 0.0, 0, || {});
    assert_all_answered_right(&answers, "the load after node two was marked down");
    assert_eq!(
        cluster.balancer_view("node2").1,
        sent_before,
        "nothing was sent to the node marked down"
    );
}

/// Reads a Judge0 submission until it has finished.
fn wait_for_finished(node: &Http, token: &str) -> Value {
    let path = format!("/submissions/{token}?base64_encoded=false");
    let mut finished = Value::Null;
    wait_until("the submission has finished", || {
        let (status, body) = node.get(&path);
        assert_eq!(status, 200, "{body}");
        let done = body["status"]["id"].as_i64().is_some_and(|id| id >= 3);
        finished = body;
        done
    });
    finished
}
