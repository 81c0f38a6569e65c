//! The Judge0 API's HTTP semantics on in-process services (local runtime): submissions the
//! engine cannot take in time end as 13 instead of staying "In Queue", the instance's queue
//! bound, the rate limit (a batch costs a token per submission) and optional authentication.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{wait_for, InProcess};

/// Pools of one container per language, to spare the machine.
fn one_container_each() -> Vec<(&'static str, &'static str)> {
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

fn submit(service: &InProcess, body: Value) -> String {
    let (status, created) = service.post("/submissions", &body);
    assert_eq!(status, 201, "{created}");
    created["token"].as_str().unwrap().to_string()
}

/// The submission once it is neither queued nor running.
fn finished(service: &InProcess, token: &str) -> Value {
    wait_for("the submission finishes", || {
        let (status, body) = service.get(&format!("/submissions/{token}?fields=*"));
        assert_eq!(status, 200, "{body}");
        let id = body["status"]["id"].as_i64().unwrap();
        (id != 1 && id != 2).then_some(body)
    })
}

#[test]
fn submissions_the_engine_cannot_take_in_time_end_as_internal_errors() {
    let mut overrides = one_container_each();
    // One job in flight at a time: the first holds the admission for 4 s, so the others cannot
    // be taken within the 1 s queue timeout.
    overrides.extend([
        ("CODEEXEC_LIMITS__MAX_JOBS_IN_FLIGHT", "1"),
        ("CODEEXEC_LIMITS__QUEUE_TIMEOUT_MS", "1000"),
    ]);
    let service = InProcess::start_ready("judge0-queue-timeout", &overrides);
    let slow = json!({ "source_code": "import time\ntime.sleep(4)\nprint('slept')",
                       "language_id": 71 });
    let first = submit(&service, slow.clone());
    wait_for("the first submission runs", || {
        let (_, body) = service.get(&format!("/submissions/{first}"));
        (body["status"]["id"] == 2).then_some(())
    });
    let waiting: Vec<String> = (0..3).map(|_| submit(&service, slow.clone())).collect();
    assert_eq!(finished(&service, &first)["status"]["id"], 3);
    for token in waiting {
        let body = finished(&service, &token);
        assert_eq!(body["status"]["id"], 13, "{body}");
        assert_eq!(body["status"]["description"], "Internal Error");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("limit of 1 jobs"), "{body}");
        assert!(body["finished_at"].is_string(), "{body}");
        assert_eq!(body["stdout"], Value::Null, "it never ran: {body}");
    }
}

#[test]
fn past_max_queue_size_a_submission_gets_503_queue_is_full() {
    let mut overrides = one_container_each();
    overrides.push(("CODEEXEC_JUDGE0__MAX_QUEUE_SIZE", "1"));
    let service = InProcess::start_ready("judge0-queue-size", &overrides);
    let slow = json!({ "source_code": "import time\ntime.sleep(2)", "language_id": 71 });
    let first = submit(&service, slow.clone());
    let (status, body) = service.post("/submissions", &slow);
    assert_eq!(status, 503);
    assert_eq!(body, json!({ "error": "queue is full" }));
    assert_eq!(finished(&service, &first)["status"]["id"], 3);
    submit(&service, slow);
}

#[test]
fn a_batch_takes_one_rate_limit_token_per_submission() {
    let mut overrides = one_container_each();
    overrides.extend([
        ("CODEEXEC_RATE_LIMIT__ENABLED", "true"),
        ("CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND", "0.01"),
        ("CODEEXEC_RATE_LIMIT__BURST", "3"),
    ]);
    let service = InProcess::start_ready("judge0-rate-limit", &overrides);
    let item = json!({ "source_code": "print(1)", "language_id": 71 });
    let (status, body) = service.post(
        "/submissions/batch",
        &json!({ "submissions": [item.clone(), item.clone()] }),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _) = service.post("/submissions", &item);
    assert_eq!(status, 201, "the third token");
    let (status, headers, _) =
        service.post_raw("/judge0/submissions", item.to_string().into_bytes());
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    let (status, _) = service.post("/submissions/batch", &json!({ "submissions": [item] }));
    assert_eq!(status, 429);
    let (status, _) = service.get("/languages");
    assert_eq!(status, 200, "reading is never limited");
}

#[test]
fn with_a_token_configured_judge0_requests_must_carry_it() {
    let mut overrides = one_container_each();
    overrides.push(("CODEEXEC_JUDGE0__AUTH_TOKEN", "s3cret"));
    let service = InProcess::start_ready("judge0-auth", &overrides);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let status =
        |request: reqwest::blocking::RequestBuilder| request.send().unwrap().status().as_u16();
    let url = |path: &str| format!("{}{path}", service.url);
    assert_eq!(status(client.get(url("/languages"))), 401);
    assert_eq!(status(client.get(url("/judge0/about"))), 401);
    assert_eq!(
        status(
            client
                .get(url("/languages"))
                .header("X-Auth-Token", "wrong")
        ),
        401
    );
    assert_eq!(
        status(
            client
                .get(url("/languages"))
                .header("X-Auth-Token", "s3cret")
        ),
        200
    );
    assert_eq!(status(client.get(url("/about?X-Auth-Token=s3cret"))), 200);
    let created = client
        .post(url("/submissions?wait=true"))
        .header("X-Auth-Token", "s3cret")
        .json(&json!({ "source_code": "print(2)", "language_id": 71 }))
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(
        status(client.post(url("/submissions")).json(&json!({}))),
        401
    );
    assert_eq!(
        status(client.get(url("/api/v1/languages"))),
        200,
        "codeexec's own API stays anonymous"
    );
}
