//! The Judge0 API's HTTP semantics on in-process services (local runtime): submissions the
//! engine cannot take in time end as 13 instead of staying "In Queue", a backlog of submissions
//! runs at most judge0.max_running at once and leaves the other places to /api/v1 and /api/v2,
//! the instance's queue bound, the rate limit (a batch costs a token per submission) and optional authentication.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{wait_for, wait_until, HeldJob, InProcess};

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
    // One job in flight at a time, held by a synchronous request until the submissions have
    // each waited out the 1 s queue timeout.
    overrides.extend([
        ("CODEEXEC_LIMITS__MAX_JOBS_IN_FLIGHT", "1"),
        ("CODEEXEC_LIMITS__QUEUE_TIMEOUT_MS", "1000"),
    ]);
    let service = InProcess::start_ready("judge0-queue-timeout", &overrides);
    let held = HeldJob::new();
    std::thread::scope(|scope| {
        let execute = scope.spawn(|| service.post("/api/v1/execute", &held.body(json!({}))));
        held.wait_until_running();
        let quick = json!({ "source_code": "print('never')", "language_id": 71 });
        let waiting: Vec<String> = (0..3).map(|_| submit(&service, quick.clone())).collect();
        for token in waiting {
            let body = finished(&service, &token);
            assert_eq!(body["status"]["id"], 13, "{body}");
            assert_eq!(body["status"]["description"], "Internal Error");
            let message = body["message"].as_str().unwrap_or_default();
            assert!(message.contains("limit of 1 jobs"), "{body}");
            assert!(body["finished_at"].is_string(), "{body}");
            assert_eq!(body["stdout"], Value::Null, "it never ran: {body}");
        }
        held.release();
        let (status, body) = execute.join().unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["output"], "released\n", "{body}");
    });
}

#[test]
fn a_backlog_of_submissions_leaves_places_to_the_synchronous_apis() {
    let mut overrides = one_container_each();
    // Four places; judge0.max_running's default gives submissions half of them.
    overrides.push(("CODEEXEC_LIMITS__MAX_JOBS_IN_FLIGHT", "4"));
    let service = InProcess::start_ready("judge0-backlog", &overrides);
    let held: Vec<HeldJob> = (0..4).map(|_| HeldJob::new()).collect();
    let tokens: Vec<String> = held
        .iter()
        .map(|job| {
            submit(
                &service,
                json!({ "source_code": job.code(), "language_id": 71 }),
            )
        })
        .collect();
    wait_until("two submissions run", || {
        held.iter().filter(|job| job.has_started()).count() == 2
    });
    for (job, token) in held.iter().zip(&tokens) {
        let (_, body) = service.get(&format!("/submissions/{token}"));
        let expected = if job.has_started() { 2 } else { 1 };
        assert_eq!(body["status"]["id"], expected, "{body}");
    }
    let answer = service.run("python", "print('not refused')");
    assert_eq!(answer["output"], "not refused\n", "{answer}");
    let (status, body) = service.post(
        "/api/v2/execute",
        &json!({ "language": "python", "files": [{ "filename": "main.py", "code": "print(2)" }] }),
    );
    assert_eq!(status, 200, "{body}");
    for job in &held {
        job.release();
    }
    for token in &tokens {
        let body = finished(&service, token);
        assert_eq!(body["status"]["id"], 3, "{body}");
        assert_eq!(body["stdout"], "released\n", "{body}");
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
