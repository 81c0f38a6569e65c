//! A node's drain on SIGTERM, against the real binary (on the local runtime, so that the job in
//! flight stays there until the test lets it go): health turns 503 "DRAINING" at once, new jobs
//! get 503 with Retry-After while reads are still served, the admitted job finishes with its
//! output, and only then does the process exit, cleanly.

use serde_json::json;

use crate::common::{wait_until, HeldJob, Service};

#[test]
fn sigterm_drains_the_node_the_admitted_job_finishes_and_new_jobs_are_refused() {
    let service = Service::start_local("drain", &[]);
    let (status, health) = service.get("/health");
    assert_eq!(status, 200, "healthy before SIGTERM: {health}");
    let held = HeldJob::new();
    std::thread::scope(|scope| {
        let job = scope.spawn(|| service.post("/api/v1/execute", &held.body(json!({}))));
        held.wait_until_running();
        service.signal(libc::SIGTERM);

        wait_until("health says the node is draining", || {
            service.get("/health").0 == 503
        });
        let (_, health) = service.get("/health");
        assert_eq!(health["status"], "DRAINING", "{health}");
        assert!(
            health["problems"][0]
                .as_str()
                .unwrap()
                .starts_with("draining"),
            "{health}"
        );

        let hello = json!({ "language": "python", "code": "print('new')" });
        let (status, headers, body) = service.post_with_headers(
            "/api/v1/execute",
            hello.to_string().into_bytes(),
            &[("content-type", "application/json")],
        );
        assert_eq!(status, 503, "a new job while draining: {body}");
        assert_eq!(headers.get("retry-after").map(String::as_str), Some("1"));
        assert!(
            body["errorMessage"].as_str().unwrap().contains("draining"),
            "{body}"
        );
        let judge0 = json!({ "language_id": 71, "source_code": "print(1)" });
        let (status, _, body) = service.post_with_headers(
            "/submissions",
            judge0.to_string().into_bytes(),
            &[("content-type", "application/json")],
        );
        assert_eq!(
            status, 503,
            "a new Judge0 submission while draining: {body}"
        );
        let (status, languages) = service.get("/api/v1/languages");
        assert_eq!(status, 200, "reads are still served: {languages}");
        assert!(
            service.metric(r#"codeexec_rejected_total{reason="shutting_down"}"#) >= Some(2.0),
            "both refusals are counted"
        );

        held.release();
        let (status, body) = job.join().unwrap();
        assert_eq!(status, 200, "the admitted job finished: {body}");
        assert_eq!(body["result"]["output"], "released\n", "{body}");
    });
    let status = service.wait_for_exit();
    assert!(
        status.success(),
        "the node exits cleanly after its drain: {status}"
    );
}
