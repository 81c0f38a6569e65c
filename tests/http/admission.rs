//! The global cap on jobs in flight: with the cap reached by slow programs, the next execute
//! request is refused at once with 503 and `Retry-After` while the admitted jobs finish with 200,
//! and `codeexec_jobs_in_flight` comes back to 0 however the jobs ended, a client that hung up
//! included.

use std::time::Duration;

use crate::common::{wait_until, HeldJob, InProcess};
use serde_json::json;

const IN_FLIGHT: &str = "codeexec_jobs_in_flight";

/// Sleeps long enough that the refusal below surely comes while both jobs still run.
fn slow_job() -> serde_json::Value {
    json!({
        "language": "python",
        "code": "import time\ntime.sleep(15)\nprint('slept')",
        "timeoutMs": 30000,
    })
}

fn capped_service(name: &str, cap: &str) -> InProcess {
    InProcess::start_ready(
        name,
        &[
            ("CODEEXEC_LIMITS__MAX_JOBS_IN_FLIGHT", cap),
            ("CODEEXEC_LANGUAGES__PYTHON__TIMEOUT_MS", "30000"),
        ],
    )
}

#[test]
fn the_request_over_the_cap_gets_503_at_once_while_admitted_jobs_finish() {
    let service = capped_service("admission-cap", "2");
    std::thread::scope(|scope| {
        let slow: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| service.post("/api/v1/execute", &slow_job())))
            .collect();
        wait_until("both slow jobs are in flight", || {
            service.metric(IN_FLIGHT) == Some(2.0)
        });
        let (status, headers, body) = service.post_raw(
            "/api/v2/execute",
            json!({ "language": "javascript", "files": [{ "filename": "a.js", "code": "console.log(1)" }] })
                .to_string()
                .into_bytes(),
        );
        assert_eq!(status, 503, "{body}");
        assert_eq!(headers.get("retry-after").map(String::as_str), Some("1"));
        assert_eq!(body["succeeded"], false);
        let message = body["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains("limit of 2 jobs"), "{message}");
        assert_eq!(
            service.metric(IN_FLIGHT),
            Some(2.0),
            "refused without waiting for a place"
        );
        for request in slow {
            let (status, body) = request.join().unwrap();
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["result"]["output"], "slept\n", "{body}");
        }
    });
    assert_eq!(service.metric(IN_FLIGHT), Some(0.0));
    assert_eq!(
        service.metric("codeexec_rejected_total{reason=\"in_flight_cap\"}"),
        Some(1.0)
    );
    assert_eq!(service.run("python", "print('free')")["output"], "free\n");
}

#[test]
fn a_client_that_hangs_up_does_not_keep_its_place() {
    let service = capped_service("admission-hangup", "1");
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let sent = impatient
        .post(format!("{}/api/v1/execute", service.url))
        .json(&json!({ "language": "python", "code": "import time\ntime.sleep(6)" }))
        .send();
    assert!(sent.is_err(), "the client gives up before the job ends");
    wait_until("the abandoned job has left", || {
        service.metric(IN_FLIGHT) == Some(0.0)
    });
    assert_eq!(service.run("python", "print('next')")["output"], "next\n");
}

#[test]
fn a_job_whose_memory_does_not_fit_beside_those_admitted_gets_503() {
    let service = InProcess::start_ready(
        "admission-memory",
        &[("CODEEXEC_LIMITS__MAX_MEMORY_IN_FLIGHT_MB", "600")],
    );
    let job = HeldJob::new();
    std::thread::scope(|scope| {
        // Python's own limit, 256 MB, of the 600.
        let held = scope.spawn(|| service.post("/api/v1/execute", &job.body(json!({}))));
        job.wait_until_running();

        let (status, headers, body) = service.post_raw(
            "/api/v1/execute",
            json!({ "language": "java", "code": "class Main { public static void main(String[] a) {} }" })
                .to_string()
                .into_bytes(),
        );
        assert_eq!(status, 503, "{body}");
        assert_eq!(headers.get("retry-after").map(String::as_str), Some("1"));
        let message = body["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains("all of the 600 MB"), "{message}");

        // A job that asks for less fits beside the held one.
        let small = service.run_with(json!({
            "language": "python", "code": "print('small')", "memoryLimitMb": 64 }));
        assert_eq!(small["output"], "small\n", "{small}");

        job.release();
        let (status, body) = held.join().unwrap();
        assert_eq!(status, 200, "{body}");
    });
    let java = service.run(
        "java",
        "class Main { public static void main(String[] a) { System.out.println(1); } }",
    );
    assert_eq!(
        java["output"], "1\n",
        "the held job's memory came back: {java}"
    );
    assert_eq!(
        service.metric("codeexec_rejected_total{reason=\"memory_cap\"}"),
        Some(1.0)
    );
}
