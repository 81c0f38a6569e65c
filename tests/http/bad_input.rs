//! Every kind of bad request gets a 4xx with a message saying what is wrong, and starts no
//! container: the pools hold exactly the containers they held before.

use crate::common::InProcess;

use serde_json::{json, Value};

/// Counts every container (here: runner process) the service started, in every language.
const CONTAINERS_STARTED: &str = "codeexec_container_start_seconds_count";

fn files(count: usize) -> Value {
    let list: Vec<Value> = (0..count)
        .map(|i| json!({ "filename": format!("f{i}.py"), "code": "print(1)" }))
        .collect();
    Value::Array(list)
}

/// (endpoint, raw body, expected status, a phrase the message must contain).
fn bad_requests() -> Vec<(&'static str, Vec<u8>, u16, &'static str)> {
    let v1 = |body: Value| ("/api/v1/execute", body.to_string().into_bytes());
    let v2 = |body: Value| ("/api/v2/execute", body.to_string().into_bytes());
    let case = |(path, body): (&'static str, Vec<u8>), status, phrase| (path, body, status, phrase);
    vec![
        case(
            ("/api/v1/execute", b"{not json".to_vec()),
            400,
            "invalid JSON",
        ),
        case(("/api/v2/execute", b"[1, 2]".to_vec()), 400, "invalid JSON"),
        case(
            v1(json!({ "language": "cobol", "code": "x" })),
            400,
            "unsupported language \"cobol\"",
        ),
        case(v1(json!({ "language": "cobol", "code": "x" })), 400, "c++"),
        case(
            v1(json!({ "code": "print(1)" })),
            400,
            "language is required",
        ),
        case(v1(json!({ "language": "python" })), 400, "code is required"),
        case(
            v1(json!({ "language": "python", "code": "" })),
            400,
            "code is required",
        ),
        case(
            v2(json!({ "language": "python" })),
            400,
            "at least one file",
        ),
        case(
            v2(json!({ "language": "python", "files": [] })),
            400,
            "at least one file",
        ),
        case(
            v2(json!({ "language": "python", "files": files(65) })),
            400,
            "at most 64",
        ),
        case(
            v2(
                json!({ "language": "python", "files": [{ "filename": "/etc/x.py", "code": "1" }] }),
            ),
            400,
            "absolute",
        ),
        case(
            v2(json!({ "language": "python", "files": [{ "filename": "../x.py", "code": "1" }] })),
            400,
            "\"..\"",
        ),
        case(
            v2(json!({ "language": "go", "files": [{ "filename": "cmd/main.go", "code": "x" }] })),
            400,
            "path separator",
        ),
        case(
            v2(json!({ "language": "python", "files": [
                { "filename": "a.py", "code": "1" }, { "filename": "a.py", "code": "2" }] })),
            400,
            "given twice",
        ),
        case(
            v2(json!({ "language": "python", "files": [
                { "filename": "a.py", "code": "1", "isEntryPoint": true },
                { "filename": "b.py", "code": "2", "isEntryPoint": true }] })),
            400,
            "both marked",
        ),
        case(
            v1(json!({ "language": "python", "code": "1", "timeoutMs": 600000 })),
            400,
            "above the python limit",
        ),
        case(
            v1(json!({ "language": "python", "code": "1", "timeoutMs": 1 })),
            400,
            "below the minimum",
        ),
        case(
            v1(json!({ "language": "python", "code": "1", "memoryLimitMb": 100000 })),
            400,
            "above the python limit",
        ),
        case(
            v1(json!({ "language": "python", "code": "1", "memoryLimitMb": 1 })),
            400,
            "below the minimum",
        ),
        case(
            v1(json!({ "language": "python", "code": "x".repeat(2 * 1024 * 1024) })),
            413,
            "larger than the limit",
        ),
        // One argument past the kernel's 128 KiB per-argument limit could never be exec'd.
        case(
            v1(json!({ "language": "python", "code": "1", "args": ["a".repeat(128 * 1024 + 1)] })),
            400,
            "one argument may hold at most 65536",
        ),
        case(
            v1(json!({ "language": "python", "code": "1", "args": vec!["a".repeat(60_000); 5] })),
            400,
            "at most 262144 are allowed",
        ),
        case(
            v2(json!({ "language": "python", "files": [
                { "filename": "main.py", "code": "import lib.util" },
                { "filename": "lib", "code": "x = 1" },
                { "filename": "lib/util.py", "code": "y = 2" }] })),
            400,
            "\"lib\" is given as a file and is also the folder of \"lib/util.py\"",
        ),
        case(
            v2(json!({ "language": "cpp", "files": [
                { "filename": "main.cpp", "code": "int main() {}" },
                { "filename": "-o.cpp", "code": "x" }] })),
            400,
            "begins with '-' or '@'",
        ),
        case(
            v2(json!({ "language": "go", "files": [
                { "filename": "main.go", "code": "package main" },
                { "filename": "@flags", "code": "-o /tmp/x" }] })),
            400,
            "begins with '-' or '@'",
        ),
        case(
            v1(json!({ "language": "java",
                "code": format!("public class {} {{}}", "A".repeat(300)) })),
            400,
            "longer than 255 bytes",
        ),
        case(
            v2(json!({ "language": "java", "files": [
                { "filename": format!("{}.java", "A".repeat(250)), "code": "class A {}" }] })),
            400,
            "longer than 254 bytes, the longest java allows",
        ),
        case(
            v2(json!({ "language": "python", "files": [
                { "filename": format!("pkg/{}.py", "m".repeat(253)), "code": "1" }] })),
            400,
            "longer than 255 bytes",
        ),
    ]
}

#[test]
fn bad_requests_get_a_clear_4xx_and_start_no_container() {
    let service = InProcess::start_ready("bad-input", &[]);
    let before = service.metric_sum(CONTAINERS_STARTED);
    assert_eq!(
        service.metric_sum("codeexec_pool_ready"),
        12.0,
        "six pools of two"
    );
    for (path, body, status, phrase) in bad_requests() {
        let (got, _, answer) = service.post_raw(path, body);
        assert_eq!(got, status, "{path}: {answer}");
        assert_eq!(answer["succeeded"], false, "{answer}");
        let message = answer["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.contains(phrase),
            "expected {phrase:?} in {message:?}"
        );
    }
    assert_eq!(
        service.metric_sum(CONTAINERS_STARTED),
        before,
        "a bad request touched a container"
    );
}
