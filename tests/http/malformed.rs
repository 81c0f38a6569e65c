//! Nasty request bodies against the real service: deep nesting, huge numbers, wrong types,
//! invalid UTF-8, enormous strings at the body limit, duplicated keys and wrong content types.
//! Each gets a 4xx with a short JSON error, none starts a container, and the service still runs
//! a hello world afterwards.

use crate::common::InProcess;

use serde_json::json;

/// Counts every container (here: runner process) the service started, in every language.
const CONTAINERS_STARTED: &str = "codeexec_container_start_seconds_count";

/// `server.max_body_bytes` in config/default.toml.
const BODY_LIMIT: usize = 1024 * 1024;
const JSON: &str = "application/json";

/// (what it is, endpoint, content type, body).
type Nasty = (&'static str, &'static str, Option<&'static str>, Vec<u8>);

fn v1(what: &'static str, body: impl Into<Vec<u8>>) -> Nasty {
    (what, "/api/v1/execute", Some(JSON), body.into())
}

fn v2(what: &'static str, body: impl Into<Vec<u8>>) -> Nasty {
    (what, "/api/v2/execute", Some(JSON), body.into())
}

/// `{"language":"python","code":"print(1)",<field>:<value>}`.
fn with_field(field: &str, value: &str) -> Vec<u8> {
    format!(r#"{{"language":"python","code":"print(1)","{field}":{value}}}"#).into_bytes()
}

/// A valid request whose `field` is a string filling the body up to `size` bytes.
fn padded(field: &str, size: usize) -> Vec<u8> {
    let skeleton = with_field(field, "\"\"").len();
    with_field(field, &format!("\"{}\"", "x".repeat(size - skeleton)))
}

fn deep(open: &str, close: &str, depth: usize) -> String {
    format!("{}1{}", open.repeat(depth), close.repeat(depth))
}

fn nasty_bodies() -> Vec<Nasty> {
    let files_body = |files: String| format!(r#"{{"language":"python","files":{files}}}"#);
    vec![
        v1("empty body", ""),
        v1("deep arrays", "[".repeat(100_000)),
        v1("deep arrays, closed", deep("[", "]", 50_000)),
        v1("deep objects", deep("{\"a\":", "}", 50_000)),
        v1(
            "deep nesting in an unknown field",
            with_field("x", &deep("[", "]", 10_000)),
        ),
        v1(
            "deep nesting in stdin",
            with_field("stdin", &deep("{\"a\":", "}", 10_000)),
        ),
        v1("number too large for f64", with_field("timeoutMs", "1e400")),
        v1(
            "number over u64",
            with_field("timeoutMs", "18446744073709551616"),
        ),
        v1(
            "100 000 digits",
            with_field("memoryLimitMb", &"9".repeat(100_000)),
        ),
        v1("negative limit", with_field("memoryLimitMb", "-1")),
        v1("fractional limit", with_field("timeoutMs", "1.5")),
        v1("NaN", with_field("timeoutMs", "NaN")),
        v1("language a number", r#"{"language":5,"code":"print(1)"}"#),
        v1(
            "code an array",
            r#"{"language":"python","code":["print(1)"]}"#,
        ),
        v1("args an object", with_field("args", "{}")),
        v1("args of numbers", with_field("args", "[1,2]")),
        v1("stdin a number", with_field("stdin", "7")),
        v1("timeout a string", with_field("timeoutMs", "\"5000\"")),
        v1("saveMetric a string", with_field("saveMetric", "\"true\"")),
        v2("files a string", files_body("\"main.py\"".into())),
        v2("files of numbers", files_body("[1]".into())),
        v2(
            "isEntryPoint a string",
            files_body(r#"[{"filename":"a.py","code":"1","isEntryPoint":"yes"}]"#.into()),
        ),
        v1("top-level null", "null"),
        v1("top-level string", "\"python\""),
        v1(
            "top-level array",
            "[{\"language\":\"python\",\"code\":\"print(1)\"}]",
        ),
        v1(
            "invalid UTF-8 in a string",
            b"{\"language\":\"python\",\"code\":\"print(1)\xff\xfe\"}".to_vec(),
        ),
        v1(
            "invalid UTF-8 outside strings",
            b"{\"language\":\"python\",\xc0\xaf\"code\":\"print(1)\"}".to_vec(),
        ),
        v1("lone surrogate", with_field("stdin", r#""\ud800""#)),
        v1("bad escape", with_field("stdin", r#""\x41""#)),
        v1("NUL in an argument", with_field("args", r#"["a\u0000b"]"#)),
        v1(
            "trailing garbage",
            "{\"language\":\"python\",\"code\":\"print(1)\"} xyz",
        ),
        v1(
            "whitespace up to the limit",
            format!("{}{{}}", " ".repeat(BODY_LIMIT - 2)),
        ),
        v1(
            "a language name up to the limit",
            format!(
                r#"{{"language":"{}","code":"print(1)"}}"#,
                "x".repeat(BODY_LIMIT - 40)
            ),
        ),
        v1(
            "a string one byte over the limit",
            padded("stdin", BODY_LIMIT + 1),
        ),
        v1("an 8 MB string", padded("stdin", 8 * BODY_LIMIT)),
        v1(
            "a wrongly typed string up to the limit",
            with_field("timeoutMs", &format!("\"{}\"", "9".repeat(BODY_LIMIT - 80))),
        ),
        v2(
            "200 000 files",
            files_body(format!("[{}{{}}]", "{},".repeat(200_000))),
        ),
        v1(
            "100 000 arguments",
            with_field("args", &format!("[{}\"\"]", "\"\",".repeat(100_000))),
        ),
        v1(
            "duplicated language",
            r#"{"language":"python","language":"ruby","code":"puts 1"}"#,
        ),
        v1(
            "duplicated limit",
            with_field("timeoutMs", r#"100,"timeoutMs":200"#),
        ),
        (
            "a form",
            "/api/v1/execute",
            Some("application/x-www-form-urlencoded"),
            b"language=python&code=print(1)".to_vec(),
        ),
        (
            "multipart",
            "/api/v1/execute",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\npython\r\n--x--\r\n"
                .to_vec(),
        ),
        (
            "XML",
            "/api/v2/execute",
            Some("application/xml"),
            b"<execute language=\"python\"><code>print(1)</code></execute>".to_vec(),
        ),
        (
            "UTF-16 JSON",
            "/api/v1/execute",
            Some("application/json; charset=utf-16"),
            json!({ "language": "python", "code": "print(1)" })
                .to_string()
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        ),
        (
            "binary without a content type",
            "/api/v1/execute",
            None,
            (0..=255u8).cycle().take(4096).collect(),
        ),
    ]
}

#[test]
fn nasty_bodies_get_a_short_4xx_and_the_service_keeps_working() {
    let service = InProcess::start_ready("malformed", &[]);
    let before = service.metric_sum(CONTAINERS_STARTED);
    for (what, path, content_type, body) in nasty_bodies() {
        let headers: Vec<(&str, &str)> = content_type
            .map(|value| ("content-type", value))
            .into_iter()
            .collect();
        let (status, _, answer) = service.post_with_headers(path, body, &headers);
        assert!((400..500).contains(&status), "{what}: {status} {answer}");
        assert_eq!(answer["succeeded"], false, "{what}: {answer}");
        let message = answer["errorMessage"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{what}: {answer}");
        assert!(
            message.len() <= 1100,
            "{what}: a {} byte message",
            message.len()
        );
    }
    assert_eq!(
        service.metric_sum(CONTAINERS_STARTED),
        before,
        "a bad request touched a container"
    );
    assert_eq!(service.run("python", "print('hello')")["output"], "hello\n");
}
