//! The Piston v2 API's HTTP semantics on in-process services (local runtime): Piston's 400
//! bodies for jobs that are not valid (starting no container), any Content-Type or none taken,
//! the runtimes at both prefixes, and the rate limit and admission control it shares with our
//! execute. The real npm client against the real engine is in `tests/sandbox/piston`.

use serde_json::{json, Value};

use crate::common::{wait_until, HeldJob, InProcess};

/// Counts every container (here: runner process) the service started, in every language.
const CONTAINERS_STARTED: &str = "codeexec_container_start_seconds_count";
const PREFIXES: [&str; 2] = ["/piston/api/v2", "/api/v2/piston"];

fn post(service: &InProcess, path: &str, body: &[u8], content_type: Option<&str>) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = content_type
        .map(|kind| ("content-type", kind))
        .into_iter()
        .collect();
    let (status, _, answer) = service.post_with_headers(path, body.to_vec(), &headers);
    (status, answer)
}

/// (body, Piston's message for it).
fn invalid_jobs(python_memory_bytes: u64) -> Vec<(Vec<u8>, String)> {
    let code = json!([{ "content": "print(1)" }]);
    let job = |body: Value| body.to_string().into_bytes();
    vec![
        (
            job(json!({ "language": "cobol", "version": "*", "files": code })),
            "cobol-* runtime is unknown".into(),
        ),
        (
            job(json!({ "language": "python", "version": "9.9.9", "files": code })),
            "python-9.9.9 runtime is unknown".into(),
        ),
        (
            job(json!({ "language": "python", "version": "not a range", "files": code })),
            "python-not a range runtime is unknown".into(),
        ),
        (
            job(json!({ "version": "*", "files": code })),
            "language is required as a string".into(),
        ),
        (
            job(json!({ "language": "python", "version": "*" })),
            "files is required as an array".into(),
        ),
        (
            job(json!({ "language": "python", "files": [{ "name": "a.py" }] })),
            "files[0].content is required as a string".into(),
        ),
        (
            job(
                json!({ "language": "python", "files": [{ "content": "eA==", "encoding": "base64" }] }),
            ),
            "files must include at least one utf8 encoded file".into(),
        ),
        (
            job(
                json!({ "language": "python", "files": [{ "content": "print(1)" }, { "content": "%%%", "encoding": "base64" }] }),
            ),
            "files[1].content is not valid base64".into(),
        ),
        (
            job(
                json!({ "language": "python", "files": [{ "content": "print(1)" }, { "content": "fffe", "encoding": "hex" }] }),
            ),
            "files[1].content decodes to bytes that are not UTF-8".into(),
        ),
        (
            job(
                json!({ "language": "python", "files": code, "run_memory_limit": python_memory_bytes + 1 }),
            ),
            format!("run_memory_limit cannot exceed the configured limit of {python_memory_bytes}"),
        ),
        (
            job(json!({ "language": "python", "files": code, "run_timeout": "3000" })),
            "If specified, run_timeout must be a number".into(),
        ),
        (b"{not json".to_vec(), "the body is not JSON".into()),
    ]
}

#[test]
fn jobs_that_are_not_valid_get_400_with_pistons_message_and_start_no_container() {
    let service = InProcess::start_ready("piston-bad-input", &[]);
    let (_, languages) = service.get("/api/v1/languages");
    let python = languages["languages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|language| language["name"] == "python")
        .unwrap();
    let memory_bytes = python["limits"]["memoryLimitMb"].as_u64().unwrap() * 1024 * 1024;
    let before = service.metric_sum(CONTAINERS_STARTED);
    for prefix in PREFIXES {
        for (body, message) in invalid_jobs(memory_bytes) {
            let path = format!("{prefix}/execute");
            let (status, answer) = post(&service, &path, &body, Some("application/json"));
            assert_eq!(status, 400, "{path}: {answer}");
            let got = answer["message"].as_str().unwrap_or_default();
            assert!(
                got.starts_with(&message),
                "expected {message:?}, got {answer}"
            );
            assert_eq!(
                answer.as_object().map(|body| body.len()),
                Some(1),
                "only `message`: {answer}"
            );
        }
    }
    assert_eq!(
        service.metric("codeexec_rejected_total{reason=\"invalid_request\"}"),
        Some((2 * invalid_jobs(memory_bytes).len()) as f64),
        "each counted as our execute's refusals are"
    );
    assert_eq!(
        service.metric_sum(CONTAINERS_STARTED),
        before,
        "a bad job touched a container"
    );
}

#[test]
fn any_content_type_or_none_is_taken_and_the_answer_has_pistons_stages() {
    let service = InProcess::start_ready("piston-content-type", &[]);
    let job = json!({
        "language": "py",
        "files": [{ "name": "main.py", "content": "import sys\nprint(input().upper(), sys.argv[1:])" }],
        "stdin": "hi",
        "args": ["a", "b"],
    })
    .to_string()
    .into_bytes();
    let content_types = [
        None,
        Some("text/plain;charset=UTF-8"),
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
    ];
    for (prefix, content_type) in PREFIXES
        .iter()
        .flat_map(|prefix| content_types.map(|kind| (prefix, kind)))
    {
        let (status, answer) = post(&service, &format!("{prefix}/execute"), &job, content_type);
        assert_eq!(status, 200, "{content_type:?}: {answer}");
        assert_eq!(answer["language"], "python", "{answer}");
        let run = &answer["run"];
        assert_eq!(run["stdout"], "HI ['a', 'b']\n", "{answer}");
        assert_eq!(run["stderr"], "", "{answer}");
        assert_eq!(run["output"], "HI ['a', 'b']\n", "{answer}");
        assert_eq!(run["code"], 0, "{answer}");
        assert_eq!(run["signal"], Value::Null, "{answer}");
        assert_eq!(run["status"], Value::Null, "{answer}");
        assert_eq!(run["message"], Value::Null, "{answer}");
        assert!(
            run["wall_time"].is_u64() && run["cpu_time"].is_u64() && run["memory"].is_u64(),
            "{answer}"
        );
        assert!(
            answer.get("compile").is_none(),
            "Python has no compile stage: {answer}"
        );
    }
}

#[test]
fn a_failing_program_reports_re_with_its_exit_code_and_both_streams_in_output() {
    let service = InProcess::start_ready("piston-runtime-error", &[]);
    let job = json!({
        "language": "python",
        "version": "*",
        "files": [{ "content": "import sys\nprint('out')\nsys.stderr.write('err\\n')\nsys.exit(3)" }],
    });
    let (status, answer) = service.post("/piston/api/v2/execute", &job);
    assert_eq!(status, 200, "{answer}");
    let run = &answer["run"];
    assert_eq!(run["code"], 3, "{answer}");
    assert_eq!(run["status"], "RE", "{answer}");
    assert_eq!(run["message"], "Exited with error status 3", "{answer}");
    assert_eq!(run["output"], "out\nerr\n", "stdout then stderr: {answer}");
}

#[test]
fn runtimes_are_listed_with_pistons_names_at_both_prefixes() {
    let service = InProcess::start_ready("piston-runtimes", &[]);
    let (status, runtimes) = service.get("/piston/api/v2/runtimes");
    assert_eq!(status, 200, "{runtimes}");
    let (_, again) = service.get("/api/v2/piston/runtimes");
    // The same runtimes at both prefixes; a version may have been probed in between.
    let without_versions = |runtimes: &Value| -> Vec<Value> {
        let mut listed = runtimes.as_array().unwrap().clone();
        for runtime in &mut listed {
            runtime.as_object_mut().unwrap().remove("version");
        }
        listed
    };
    assert_eq!(without_versions(&runtimes), without_versions(&again));
    let listed = runtimes.as_array().unwrap();
    let named = |language: &str| {
        listed
            .iter()
            .find(|runtime| runtime["language"] == language)
            .unwrap_or_else(|| panic!("{language} in {runtimes}"))
    };
    assert_eq!(named("javascript")["runtime"], "node");
    assert_eq!(
        named("javascript")["aliases"],
        json!(["node-javascript", "node-js", "javascript", "js"])
    );
    assert_eq!(named("c++")["runtime"], "gcc");
    assert_eq!(named("c++")["aliases"], json!(["cpp", "g++"]));
    assert!(named("python")["aliases"]
        .as_array()
        .unwrap()
        .contains(&json!("py")));
    assert!(named("go")["aliases"]
        .as_array()
        .unwrap()
        .contains(&json!("golang")));
    assert!(named("ruby")["aliases"]
        .as_array()
        .unwrap()
        .contains(&json!("rb")));
    assert!(named("java").get("runtime").is_none(), "{runtimes}");
    for runtime in listed {
        let version = runtime["version"].as_str().unwrap();
        let parts: Vec<&str> = version.split('.').collect();
        assert_eq!(parts.len(), 3, "semver: {runtime}");
        assert!(
            parts.iter().all(|part| part.parse::<u64>().is_ok()),
            "semver: {runtime}"
        );
    }
}

#[test]
fn pistons_execute_takes_tokens_from_the_same_bucket_as_ours() {
    let service = InProcess::start_ready(
        "piston-rate-limit",
        &[
            ("CODEEXEC_RATE_LIMIT__ENABLED", "true"),
            ("CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND", "0.01"),
            ("CODEEXEC_RATE_LIMIT__BURST", "2"),
        ],
    );
    let piston = json!({ "language": "python", "files": [{ "content": "print('hello')" }] });
    let (status, answer) = service.post(
        "/api/v1/execute",
        &json!({ "language": "python", "code": "print(1)" }),
    );
    assert_eq!(status, 200, "{answer}");
    let (status, headers, answer) =
        service.post_raw("/piston/api/v2/execute", piston.to_string().into_bytes());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        headers.get("ratelimit-remaining").map(String::as_str),
        Some("0")
    );
    let (status, headers, answer) =
        service.post_raw("/api/v2/piston/execute", piston.to_string().into_bytes());
    assert_eq!(status, 429, "{answer}");
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("too many requests"),
        "Piston's body: {answer}"
    );
    assert_eq!(
        service.metric("codeexec_rejected_total{reason=\"rate_limited\"}"),
        Some(1.0)
    );
    let (status, _) = service.get("/piston/api/v2/runtimes");
    assert_eq!(status, 200, "runtimes are never limited");
}

#[test]
fn pistons_execute_is_admitted_like_ours() {
    let service = InProcess::start_ready(
        "piston-admission",
        &[("CODEEXEC_LIMITS__MAX_JOBS_IN_FLIGHT", "1")],
    );
    let held = HeldJob::new();
    std::thread::scope(|scope| {
        let holding = scope.spawn(|| service.post("/api/v1/execute", &held.body(json!({}))));
        held.wait_until_running();
        let piston = json!({ "language": "python", "files": [{ "content": "print('late')" }] });
        let (status, headers, answer) =
            service.post_raw("/piston/api/v2/execute", piston.to_string().into_bytes());
        assert_eq!(status, 503, "{answer}");
        assert_eq!(headers.get("retry-after").map(String::as_str), Some("1"));
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains("limit of 1 jobs"), "{answer}");
        held.release();
        let (status, answer) = holding.join().unwrap();
        assert_eq!(status, 200, "{answer}");
    });
    wait_until("the held job is answered", || {
        service.metric("codeexec_jobs_in_flight") == Some(0.0)
    });
    assert_eq!(
        service.metric("codeexec_rejected_total{reason=\"in_flight_cap\"}"),
        Some(1.0)
    );
}
