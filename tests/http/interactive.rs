//! The interactive endpoint's own semantics, on the local runtime: a session runs its job and
//! ends with the result; a job the service refuses, a message it does not understand, a binary
//! message and a quiet client each end the session with an error message and the close code
//! 4000 + the HTTP status; a request that is no handshake gets a plain 400; and the rate limiter
//! counts a session as a job.

use std::sync::OnceLock;

use serde_json::json;

use crate::common::websocket::Socket;
use crate::common::InProcess;

const CONNECT: &str = "/api/v1/connect";

fn service() -> &'static InProcess {
    static SERVICE: OnceLock<InProcess> = OnceLock::new();
    SERVICE.get_or_init(|| InProcess::start_ready("interactive-http", &[]))
}

#[test]
fn a_session_runs_its_job_and_ends_with_the_result() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "print('name?', flush=True)\nprint('hello', input())\n";
    socket.send(&json!({ "language": "python", "code": code }));
    socket.expect_stdout("stdout", "name?\n");
    socket.send(&json!({ "type": "stdin", "data": "ada\n" }));
    socket.expect_stdout("stdout", "hello ada\n");
    let (messages, code, _) = socket.until_closed();
    assert_eq!(code, 1000);
    let result = &messages.last().unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["result"]["stdout"], "name?\nhello ada\n");
}

#[test]
fn a_job_the_service_refuses_ends_the_session_with_its_status() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    socket.send(&json!({ "language": "cobol", "code": "x" }));
    let (messages, code, reason) = socket.until_closed();
    assert_eq!(code, 4400);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["type"], "error");
    assert_eq!(messages[0]["status"], 400);
    let message = messages[0]["errorMessage"].as_str().unwrap();
    assert!(message.contains("cobol"), "{message}");
    assert!(message.starts_with(&reason), "{reason} / {message}");
}

#[test]
fn a_message_that_is_not_input_ends_the_session() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "input()\n";
    socket.send(&json!({ "language": "python", "code": code }));
    socket.send(&json!({ "type": "typing", "data": "x" }));
    let (messages, code, _) = socket.until_closed();
    assert_eq!(code, 4400, "{messages:?}");
    assert_eq!(messages.last().unwrap()["status"], 400);
}

#[test]
fn an_unknown_signal_ends_the_session() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    socket.send(&json!({ "language": "python", "code": "input()\n" }));
    socket.send(&json!({ "type": "signal", "signal": "SIGNOPE" }));
    let (messages, code, _) = socket.until_closed();
    assert_eq!(code, 4400, "{messages:?}");
    let message = messages.last().unwrap()["errorMessage"].as_str().unwrap();
    assert!(message.contains("signal"), "{message}");
}

#[test]
fn a_binary_message_ends_the_session() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    socket.send_binary(b"{}");
    let (_, code, reason) = socket.until_closed();
    assert_eq!(code, 4400);
    assert!(reason.contains("binary"), "{reason}");
}

#[test]
fn a_request_that_is_no_handshake_gets_400() {
    let (status, body) = service().get(CONNECT);
    assert_eq!(status, 400);
    assert_eq!(body["succeeded"], false);
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("WebSocket"), "{message}");
}

#[test]
fn a_quiet_client_is_let_go() {
    let service = InProcess::start_ready(
        "interactive-idle",
        &[("CODEEXEC_SERVER__INTERACTIVE_IDLE_SECS", "1")],
    );
    let mut quiet = Socket::connect(&service.url, CONNECT);
    let (messages, code, _) = quiet.until_closed();
    assert_eq!(code, 4408);
    assert_eq!(messages[0]["status"], 408);

    let mut idle = Socket::connect(&service.url, CONNECT);
    idle.send(&json!({ "language": "python", "code": "input()\n", "wallTimeoutMs": 30000 }));
    let (messages, code, reason) = idle.until_closed();
    assert_eq!(code, 4408, "{messages:?}");
    assert!(reason.contains("no message either way"), "{reason}");
}

#[test]
fn the_rate_limiter_counts_a_session_as_a_job() {
    let service = InProcess::start_ready(
        "interactive-limited",
        &[
            ("CODEEXEC_RATE_LIMIT__ENABLED", "true"),
            ("CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND", "0.01"),
            ("CODEEXEC_RATE_LIMIT__BURST", "1"),
        ],
    );
    let mut first = Socket::connect(&service.url, CONNECT);
    first.send(&json!({ "language": "python", "code": "print(1)" }));
    let (_, code, _) = first.until_closed();
    assert_eq!(code, 1000);
    let url = format!("{}{CONNECT}", service.url.replacen("http://", "ws://", 1));
    match tungstenite::connect(url.as_str()) {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("wanted 429, got {:?}", other.map(|(_, response)| response)),
    }
}

#[test]
fn a_session_sending_more_input_than_a_body_may_hold_is_closed() {
    let service = InProcess::start_ready(
        "interactive-budget",
        &[("CODEEXEC_SERVER__MAX_BODY_BYTES", "4096")],
    );
    let mut socket = Socket::connect(&service.url, CONNECT);
    let code = "import time\ntime.sleep(20)\n";
    socket.send(&json!({ "language": "python", "code": code, "wallTimeoutMs": 30000 }));
    let chunk = "x".repeat(1500);
    for _ in 0..3 {
        socket.send(&json!({ "type": "stdin", "data": chunk }));
    }
    let (_, code, reason) = socket.until_closed();
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("4096 bytes of input"), "{reason}");
}
