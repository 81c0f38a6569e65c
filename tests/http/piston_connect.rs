//! Piston's interactive protocol's own rules, on the local runtime: its close codes for each
//! misstep, and its `error` message before 4002.

use std::sync::OnceLock;

use serde_json::json;

use crate::common::websocket::Socket;
use crate::common::InProcess;

const CONNECT: &str = "/api/v2/piston/connect";

fn service() -> &'static InProcess {
    static SERVICE: OnceLock<InProcess> = OnceLock::new();
    SERVICE.get_or_init(|| InProcess::start_ready("piston-connect-http", &[]))
}

fn python_init(code: &str) -> serde_json::Value {
    json!({ "type": "init", "language": "python", "files": [{ "content": code }] })
}

#[test]
fn input_before_init_is_refused_with_4003() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    socket.send(&json!({ "type": "data", "stream": "stdin", "data": "x" }));
    let (messages, code, reason) = socket.until_closed();
    assert!(messages.is_empty(), "{messages:?}");
    assert_eq!((code, reason.as_str()), (4003, "Not yet Initialized"));
}

#[test]
fn an_unknown_language_is_an_error_then_4002() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    socket.send(&json!({ "type": "init", "language": "cobol", "version": "*", "files": [{ "content": "x" }] }));
    let (messages, code, reason) = socket.until_closed();
    assert_eq!(
        messages,
        vec![json!({ "type": "error", "message": "cobol-* runtime is unknown" })]
    );
    assert_eq!((code, reason.as_str()), (4002, "Notified Error"));
}

#[test]
fn a_second_init_is_refused_with_4000() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    socket.send(&python_init("input()\n"));
    assert_eq!(socket.message()["type"], "runtime");
    socket.send(&python_init("print(1)\n"));
    let (_, code, reason) = socket.until_closed();
    assert_eq!((code, reason.as_str()), (4000, "Already Initialized"));
}

#[test]
fn data_for_another_stream_is_refused_with_4004() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    socket.send(&python_init("input()\n"));
    assert_eq!(socket.message()["type"], "runtime");
    socket.send(&json!({ "type": "data", "stream": "stdout", "data": "x" }));
    let (_, code, reason) = socket.until_closed();
    assert_eq!((code, reason.as_str()), (4004, "Can only write to stdin"));
}

#[test]
fn an_unknown_signal_is_refused_with_4005() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    socket.send(&python_init("input()\n"));
    assert_eq!(socket.message()["type"], "runtime");
    socket.send(&json!({ "type": "signal", "signal": "SIGNOPE" }));
    let (_, code, reason) = socket.until_closed();
    assert_eq!((code, reason.as_str()), (4005, "Invalid signal"));
}

#[test]
fn no_init_in_time_is_4001() {
    let service = InProcess::start_ready(
        "piston-connect-idle",
        &[("CODEEXEC_SERVER__INTERACTIVE_IDLE_SECS", "1")],
    );
    let mut socket = Socket::connect(&service.url, CONNECT);
    socket.send(&json!({ "type": "hello" }));
    let (messages, code, reason) = socket.until_closed();
    assert!(
        messages.is_empty(),
        "an unknown type is ignored: {messages:?}"
    );
    assert_eq!((code, reason.as_str()), (4001, "Initialization Timeout"));
}
