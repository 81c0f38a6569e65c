//! `/api/openapi.json` is a valid OpenAPI 3.1 description (checked by openapi-spec-validator,
//! which `scripts/lib.sh`'s `ensure_openapi_tools` installs), and it describes exactly the routes
//! the server registers: the routes are read from the app's own routing table, and every method
//! of every route is asked of the running service.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use actix_web::{test as actix_test, web, App, HttpRequest};
use serde_json::{json, Value};

use crate::common::InProcess;

/// Names openapi-spec-validator; `scripts/test` installs it and sets this.
const VALIDATOR_VARIABLE: &str = "CODEEXEC_TEST_OPENAPI_VALIDATOR";
/// Methods a route could be registered for.
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn validator() -> String {
    std::env::var(VALIDATOR_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{VALIDATOR_VARIABLE} must name openapi-spec-validator: run the tests through \
             scripts/test, or `source scripts/lib.sh && ensure_openapi_tools` first"
        )
    })
}

/// Runs the validator on `document` as OpenAPI 3.1; its verdict and what it printed.
fn validate(document: &Value) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("codeexec-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("openapi-{}.json", rand_suffix()));
    std::fs::write(&path, serde_json::to_vec(document).unwrap()).unwrap();
    let output = Command::new(validator())
        .args(["--schema", "3.1"])
        .arg(&path)
        .output()
        .expect("run openapi-spec-validator");
    let _ = std::fs::remove_file(&path);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn description(service: &InProcess) -> Value {
    let (status, document) = service.get("/api/openapi.json");
    assert_eq!(status, 200, "{document}");
    document
}

#[test]
fn the_description_is_valid_openapi_3_1() {
    let service = InProcess::start_ready("openapi-valid", &[]);
    let document = description(&service);
    assert_eq!(document["openapi"], "3.1.0");
    let (valid, printed) = validate(&document);
    assert!(
        valid,
        "openapi-spec-validator refused the description:\n{printed}"
    );

    // The validator does refuse what is wrong: a reference to a schema that does not exist.
    let mut broken = document.clone();
    broken["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("ExecutionResult");
    let (valid, printed) = validate(&broken);
    assert!(!valid, "a dangling $ref passed validation:\n{printed}");
}

#[test]
fn the_description_states_statuses_headers_and_examples_of_execute() {
    let service = InProcess::start_ready("openapi-execute", &[]);
    let document = description(&service);
    for path in ["/api/v1/execute", "/api/v2/execute"] {
        let operation = &document["paths"][path]["post"];
        let responses = &operation["responses"];
        for status in ["200", "400", "413", "429", "503"] {
            let headers = &responses[status]["headers"];
            for header in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
                assert!(
                    headers[header].is_object(),
                    "{path} {status} lacks {header}"
                );
            }
        }
        for status in ["429", "503"] {
            assert!(responses[status]["headers"]["Retry-After"].is_object());
        }
        let body = &operation["requestBody"]["content"]["application/json"];
        assert!(body["example"]["language"].is_string(), "{path}: {body}");
        // One variant per language, each naming the language's names.
        let variants = body["schema"]["oneOf"].as_array().unwrap();
        let titles: BTreeSet<&str> = variants
            .iter()
            .map(|variant| variant["title"].as_str().unwrap())
            .collect();
        let expected = ["cpp", "go", "java", "javascript", "python", "ruby"];
        assert_eq!(titles, expected.into_iter().collect(), "{path}");
    }
}

/// Java's JVM waits pre-started, holding memory of its own, so a Java request may not ask for less
/// than its `prestart_min_memory_mb` (64); g++ thrashes below C++'s `min_memory_mb` (64). The
/// description says so, as it says every other language's floor, and a request below one is
/// refused with its reason.
#[test]
fn the_description_states_each_languages_own_memory_floor() {
    let service = InProcess::start_ready("openapi-memory", &[]);
    let document = description(&service);
    for path in ["/api/v1/execute", "/api/v2/execute"] {
        let body = &document["paths"][path]["post"]["requestBody"]["content"]["application/json"];
        let floor = |language: &str| {
            let variant = body["schema"]["oneOf"]
                .as_array()
                .unwrap()
                .iter()
                .find(|variant| variant["title"] == language)
                .unwrap_or_else(|| panic!("{path} has no {language} variant"));
            variant["allOf"][1]["properties"]["memoryLimitMb"]["minimum"].clone()
        };
        assert_eq!(floor("java"), 64, "{path}");
        assert_eq!(floor("cpp"), 64, "{path}");
        assert_eq!(floor("python"), 32, "{path}");
    }
    let (status, body) = service.post(
        "/api/v1/execute",
        &json!({ "language": "java", "code": "class Main {}", "memoryLimitMb": 63 }),
    );
    assert_eq!(status, 400, "{body}");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("below the java minimum of 64"),
        "{message}"
    );
    let (status, body) = service.post(
        "/api/v2/execute",
        &json!({
            "language": "cpp",
            "files": [{ "filename": "main.cpp", "code": "int main() {}" }],
            "memoryLimitMb": 48,
        }),
    );
    assert_eq!(status, 400, "{body}");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("below the cpp minimum of 64: its compiler or runtime needs that much"),
        "{message}"
    );
}

/// The routing table of the app the server builds, as `(pattern, registered methods)`: the
/// patterns from the app's resource map (read from its debug form: actix-web has no listing),
/// the methods by asking the running service each one, a 405 meaning "not this method". The
/// WebSocket handshakes, which an OpenAPI description cannot hold, are left out of both and
/// checked apart: GET only, and a GET that is no handshake gets 400.
#[test]
fn every_registered_route_is_described_and_nothing_else() {
    let patterns = actix_web::rt::System::new().block_on(registered_patterns());
    assert!(
        patterns.len() >= 10,
        "the resource map yielded too few patterns: {patterns:?}"
    );
    let service = InProcess::start_ready("openapi-routes", &[]);
    let document = description(&service);
    let mut registered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for pattern in &patterns {
        let path = example_path(pattern);
        let methods = registered.entry(pattern.clone()).or_default();
        for method in METHODS {
            let (status, headers) = service.request(method, &path);
            if status == 405 {
                assert!(
                    headers.contains_key("allow"),
                    "{method} {path}: 405 without Allow"
                );
            } else {
                methods.insert(method.to_ascii_lowercase());
            }
        }
    }
    let described: BTreeMap<String, BTreeSet<String>> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item.as_object().unwrap().keys().cloned().collect();
            (path.clone(), methods)
        })
        .collect();
    let handshakes = codeexec::interactive::handshake_paths();
    for path in &handshakes {
        let methods = registered
            .remove(path)
            .expect("a handshake route is registered");
        assert_eq!(methods, BTreeSet::from(["get".to_string()]), "{path}");
        assert_eq!(service.get(path).0, 400, "{path}");
        assert!(!described.contains_key(path), "{path} is described");
    }
    assert_eq!(registered, described);
}

/// Every resource pattern the app's routes register, read from a request's resource map.
async fn registered_patterns() -> BTreeSet<String> {
    let (app, _) = codeexec::api::app(App::new(), 1024);
    let app = app.default_service(web::to(|request: HttpRequest| async move {
        format!("{:?}", request.resource_map())
    }));
    let app = actix_test::init_service(app).await;
    let request = actix_test::TestRequest::get()
        .uri("/no/such/route/at/all")
        .to_request();
    let map =
        String::from_utf8(actix_test::call_and_read_body(&app, request).await.to_vec()).unwrap();
    let marker = "patterns: Single(\"";
    map.match_indices(marker)
        .map(|(at, _)| {
            let rest = &map[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .filter(|pattern| !pattern.is_empty())
        .collect()
}

/// `pattern` with each `{parameter}` filled in.
fn example_path(pattern: &str) -> String {
    let mut path = String::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        path.push_str(&rest[..open]);
        path.push_str("example");
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    path
}
