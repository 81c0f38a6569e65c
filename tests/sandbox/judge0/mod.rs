//! The Judge0 CE 1.13.1 compatible API against the real Docker engine: the real Python SDK
//! (`sdk`), raw HTTP checks of the wire format (`wire`), callbacks (`callbacks`) and
//! submissions shared through MongoDB by two instances (`shared_store`).

mod callbacks;
mod sdk;
mod shared_store;
mod wire;

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::common::Service;

/// The service the Judge0 tests share: callbacks allowed to loopback only. Each callback try
/// may take 300 s, longer than the tests' HTTP client waits for an answer (120 s), so a job
/// held by its callback would fail the test that waits for it.
pub fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        Service::start_ready(
            "judge0",
            &[
                ("CODEEXEC_JUDGE0__CALLBACK_ALLOWED_HOSTS", "[\"127.0.0.1\"]"),
                ("CODEEXEC_JUDGE0__CALLBACK_TIMEOUT_SECS", "300.0"),
                ("CODEEXEC_JUDGE0__CALLBACK_MAX_TRIES", "2"),
            ],
        )
    })
}

/// Polls `GET {prefix}/submissions/{token}` until the submission is no longer queued or
/// running, and returns it (all fields).
pub fn wait_for_submission(service: &Service, prefix: &str, token: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let (status, body) = service.get(&format!("{prefix}/submissions/{token}?fields=*"));
        assert_eq!(status, 200, "{body}");
        let id = body["status"]["id"].as_i64().unwrap();
        if id != 1 && id != 2 {
            return body;
        }
        last = body;
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the submission did not finish: {last}");
}
