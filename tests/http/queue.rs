//! Admission per language: with every container busy, jobs wait in a bounded queue; past the
//! bound a request is refused at once with 503 and `Retry-After`, and the jobs admitted still
//! finish.

use crate::common::InProcess;
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
    let slow =
        json!({ "language": "python", "code": "import time\ntime.sleep(3)\nprint('slept')" });
    let answers: Vec<(
        u16,
        std::collections::HashMap<String, String>,
        serde_json::Value,
    )> = std::thread::scope(|scope| {
        let requests: Vec<_> = (0..6)
            .map(|_| {
                let body = slow.to_string().into_bytes();
                let service = &service;
                scope.spawn(move || service.post_raw("/api/v1/execute", body))
            })
            .collect();
        requests.into_iter().map(|r| r.join().unwrap()).collect()
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
        "one container and a queue of one cannot take six jobs"
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
        assert_eq!(body["result"]["output"], "slept\n", "{body}");
    }
}
