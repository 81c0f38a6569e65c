//! Admission per language: with every container busy, jobs wait in a bounded queue; past the
//! bound a request is refused at once with 503 and `Retry-After`, and the jobs admitted still
//! finish.

use crate::common::{wait_until, HeldJob, InProcess};
use serde_json::json;

#[test]
fn a_full_queue_refuses_with_503_and_retry_after() {
    let service = InProcess::start_ready(
        "queue",
        &[
            ("CODEEXEC_LANGUAGES__PYTHON__POOL_SIZE", "1"),
            ("CODEEXEC_LANGUAGES__PYTHON__QUEUE_SIZE", "1"),
        ],
    );
    // Every request runs the same held program: the first to get the container runs it until the
    // test lets it go, the next waits in the queue, the others are refused. No sleep decides it.
    let job = HeldJob::new();
    let body = job.body(json!({})).to_string();
    let (answered, answers_so_far) = std::sync::mpsc::channel();
    let answers: Vec<(
        u16,
        std::collections::HashMap<String, String>,
        serde_json::Value,
    )> = std::thread::scope(|scope| {
        for _ in 0..6 {
            let (body, answered, service) = (body.clone().into_bytes(), answered.clone(), &service);
            scope.spawn(move || {
                let answer = service.post_raw("/api/v1/execute", body);
                answered.send(answer).expect("the test reads every answer");
            });
        }
        drop(answered);
        job.wait_until_running();
        // Each request is either admitted (running the held program, or waiting for a container)
        // or refused because the queue is full; once all six are one or the other, the held
        // program is let go and every admitted job finishes.
        wait_until("every request is admitted or refused", || {
            let admitted = service.metric("codeexec_jobs_in_flight").unwrap_or(0.0);
            let refused = service
                .metric("codeexec_rejected_total{reason=\"queue_full\"}")
                .unwrap_or(0.0);
            admitted + refused == 6.0
        });
        job.release();
        answers_so_far.iter().collect()
    });
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| *status == 503)
        .collect();
    let served: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| *status == 200)
        .collect();
    assert_eq!(refused.len() + served.len(), 6, "{answers:?}");
    assert!(
        !refused.is_empty(),
        "one container and a queue of one cannot take six jobs: {answers:?}"
    );
    assert!(
        served.len() >= 2,
        "the running job and the queued one finish: {answers:?}"
    );
    for (_, headers, body) in refused {
        assert_eq!(headers.get("retry-after").map(String::as_str), Some("1"));
        assert_eq!(body["succeeded"], false);
        assert!(
            body["errorMessage"].as_str().unwrap().contains("python"),
            "{body}"
        );
    }
    for (_, _, body) in served {
        assert_eq!(body["result"]["output"], "released\n", "{body}");
    }
}
