//! Execution logs in MongoDB, against the real Docker engine and a real MongoDB wire-protocol
//! server (SecantusDB): what a `saveMetric` run stores, the two endpoints that read it back, the
//! indexes, and that a database that stops and comes back never costs an execution.

use std::path::PathBuf;

use crate::common::secantus::{Executions, SecantusServer};
use crate::common::{wait_for, wait_until, Service};
use mongodb::bson::{doc, Bson, Document};
use serde_json::{json, Value};

/// One warm container for the languages these tests do not run, to spare the CPU.
const SMALL_POOLS: [(&str, &str); 4] = [
    ("CODEEXEC_LANGUAGES__JAVA__POOL_SIZE", "1"),
    ("CODEEXEC_LANGUAGES__GO__POOL_SIZE", "1"),
    ("CODEEXEC_LANGUAGES__CPP__POOL_SIZE", "1"),
    ("CODEEXEC_LANGUAGES__RUBY__POOL_SIZE", "1"),
];

/// Every field a record has, besides MongoDB's `_id`.
const RECORD_FIELDS: [&str; 15] = [
    "jobId",
    "language",
    "version",
    "code",
    "output",
    "errorMessage",
    "exitCode",
    "runTimeStatus",
    "executionTime",
    "cpuTime",
    "memoryBytes",
    "cpuUsage",
    "createdAt",
    "userId",
    "projectId",
];

fn start_service(name: &str, settings: &[(&str, &str)]) -> Service {
    let mut overrides = SMALL_POOLS.to_vec();
    overrides.extend_from_slice(settings);
    Service::start_ready(name, &overrides)
}

/// POSTs `body` to `path` with headers a browser or proxy would add, and returns the result
/// object, asserting 200.
fn run_as_a_client(service: &Service, path: &str, body: Value) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}{path}", service.url))
        .header("user-agent", "exec-log-test-agent/1.0")
        .header("x-forwarded-for", "203.0.113.77")
        .header("cookie", "session=exec-log-test-cookie")
        .json(&body)
        .send()
        .expect("POST sent");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().expect("a JSON answer");
    body["result"].clone()
}

/// Runs Python code with `saveMetric` set as given (absent when `None`) and returns the result.
fn run_python(service: &Service, code: &str, save_metric: Option<bool>) -> Value {
    let mut body = json!({ "language": "python", "code": code });
    if let Some(save) = save_metric {
        body["saveMetric"] = json!(save);
    }
    service.run_with(body)
}

fn job_id(result: &Value) -> String {
    result["jobId"].as_str().expect("a job id").to_string()
}

/// The value of `codeexec_execution_log_writes_total{result="..."}` on `/metrics`.
fn log_writes(service: &Service, result: &str) -> u64 {
    let text = reqwest::blocking::get(format!("{}/metrics", service.url))
        .and_then(|response| response.text())
        .expect("GET /metrics");
    let series = format!("codeexec_execution_log_writes_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |value| value.trim().parse().expect("a counter value"))
}

/// Every string anywhere in `value`, keys included.
fn strings_in(value: &Bson, into: &mut Vec<String>) {
    match value {
        Bson::String(text) => into.push(text.clone()),
        Bson::Document(document) => {
            for (key, value) in document {
                into.push(key.clone());
                strings_in(value, into);
            }
        }
        Bson::Array(values) => values.iter().for_each(|value| strings_in(value, into)),
        _ => {}
    }
}

fn keys(document: &Document) -> Vec<&str> {
    let mut keys: Vec<&str> = document.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[test]
fn a_saved_run_leaves_one_complete_record_that_the_endpoints_serve() {
    let database = SecantusServer::started("record");
    let uri = database.uri("exec_log_record");
    let service = start_service(
        "exec-log-record",
        &[
            ("DB", &uri),
            ("CODEEXEC_MONGO__MAX_OUTPUT_BYTES", "64"),
            ("CODEEXEC_MONGO__RETENTION_DAYS", "7"),
        ],
    );
    let executions = Executions::open(&uri);

    let unsaved = [
        job_id(&run_python(&service, "print('not saved')", Some(false))),
        job_id(&run_python(&service, "print('not asked')", None)),
    ];
    let code = "import sys\nprint(sys.stdin.read().upper() + 'x' * 100)\nprint(sys.argv[1:])\nsys.stderr.write('bad input\\n')\nsys.exit(3)\n";
    let failed = run_as_a_client(
        &service,
        "/api/v1/execute",
        json!({
            "language": "py",
            "code": code,
            "stdin": "hello",
            "args": ["a", "b"],
            "saveMetric": true,
        }),
    );
    assert_eq!(failed["runTimeStatus"], "runtime_error", "{failed}");
    let failed_id = job_id(&failed);
    let record = wait_for("the record is stored", || executions.record(&failed_id));

    // The writer is first in, first out: the unsaved jobs came before, so had they been queued
    // they would be stored by now.
    for id in &unsaved {
        assert!(executions.record(id).is_none(), "job {id} was stored");
    }

    let mut expected_keys = RECORD_FIELDS.to_vec();
    expected_keys.push("_id");
    expected_keys.sort_unstable();
    assert_eq!(keys(&record), expected_keys, "{record}");
    assert_eq!(record.get_str("language").unwrap(), "python");
    assert_eq!(
        record.get_str("version").ok(),
        failed["version"].as_str(),
        "{record}"
    );
    assert_eq!(record.get_str("code").unwrap(), code);
    let output = failed["output"].as_str().unwrap();
    assert!(output.len() > 64, "{failed}");
    assert_eq!(record.get_str("output").unwrap(), &output[..64], "capped");
    assert_eq!(
        record.get_str("errorMessage").ok(),
        failed["errorMessage"].as_str()
    );
    assert_eq!(record.get_i32("exitCode").unwrap(), 3);
    assert_eq!(record.get_str("runTimeStatus").unwrap(), "runtime_error");
    for field in ["executionTime", "cpuTime"] {
        assert_eq!(
            record.get_f64(field).unwrap(),
            failed[field].as_f64().unwrap(),
            "{field}"
        );
    }
    assert_eq!(
        record.get_i64("memoryBytes").unwrap() as u64,
        failed["memoryBytes"].as_u64().unwrap()
    );
    assert_eq!(record.get_str("cpuUsage").ok(), failed["cpuUsage"].as_str());
    let created_at = record
        .get_datetime("createdAt")
        .expect("createdAt is a BSON date");
    let age = chrono::Utc::now().timestamp_millis() - created_at.timestamp_millis();
    assert!((0..600_000).contains(&age), "createdAt is {created_at}");
    assert_eq!(record.get_str("userId").unwrap(), "anonymous");
    assert_eq!(record.get_str("projectId").unwrap(), "default");

    // Anonymous: nothing of the client's address or headers is kept.
    let mut strings = Vec::new();
    strings_in(&Bson::Document(record.clone()), &mut strings);
    for client_trace in [
        "127.0.0.1",
        "203.0.113.77",
        "exec-log-test-agent",
        "exec-log-test-cookie",
    ] {
        assert!(
            !strings.iter().any(|text| text.contains(client_trace)),
            "{client_trace} is stored: {record}"
        );
    }

    // GET /api/v1/executions/{jobId} answers the stored record as plain JSON.
    let (status, body) = service.get(&format!("/api/v1/executions/{failed_id}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["succeeded"], true);
    let served = &body["execution"];
    let mut served_keys: Vec<&str> = served
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    served_keys.sort_unstable();
    let mut listed = RECORD_FIELDS.to_vec();
    listed.sort_unstable();
    assert_eq!(served_keys, listed, "no _id: {served}");
    let served_date = chrono::DateTime::parse_from_rfc3339(served["createdAt"].as_str().unwrap())
        .expect("createdAt is RFC 3339");
    assert_eq!(
        served_date.timestamp_millis(),
        created_at.timestamp_millis()
    );
    for field in [
        "jobId",
        "output",
        "errorMessage",
        "code",
        "cpuUsage",
        "userId",
    ] {
        assert_eq!(
            served[field].as_str(),
            record.get_str(field).ok(),
            "{field}"
        );
    }
    assert_eq!(served["exitCode"], 3);
    assert_eq!(served["memoryBytes"], failed["memoryBytes"]);
    assert_eq!(served["executionTime"], failed["executionTime"]);

    let unknown = "00000000-0000-4000-8000-000000000000";
    let (status, body) = service.get(&format!("/api/v1/executions/{unknown}"));
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["succeeded"], false);
    assert!(body["errorMessage"].as_str().unwrap().contains(unknown));

    // A job of several files keeps them all; two more jobs for the statistics.
    let files = json!([
        { "filename": "util.py", "code": "def twice(x):\n    return 2 * x\n" },
        { "filename": "main.py", "code": "import util\nprint(util.twice(21))\n", "isEntryPoint": true },
    ]);
    let (status, body) = service.post(
        "/api/v2/execute",
        &json!({ "language": "python", "files": files, "saveMetric": true }),
    );
    assert_eq!(status, 200, "{body}");
    let several = body["result"].clone();
    assert_eq!(several["output"], "42\n");
    let node = service.run_with(json!({
        "language": "javascript",
        "code": "console.log(6 * 7)",
        "saveMetric": true,
    }));
    let several_record = wait_for("the v2 record is stored", || {
        executions.record(&job_id(&several))
    });
    wait_for("the javascript record is stored", || {
        executions.record(&job_id(&node))
    });
    assert!(several_record.get("code").is_none());
    let stored_files = several_record.get_array("files").unwrap();
    let stored_files: Vec<(&str, bool)> = stored_files
        .iter()
        .map(|file| {
            let file = file.as_document().unwrap();
            (
                file.get_str("filename").unwrap(),
                file.get_bool("isEntryPoint").unwrap(),
            )
        })
        .collect();
    assert_eq!(stored_files, [("util.py", false), ("main.py", true)]);

    // GET /api/v1/stats: counts, success rate and mean execution time per language.
    let (status, body) = service.get("/api/v1/stats");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 3, "{body}");
    let languages = body["languages"].as_array().unwrap();
    assert_eq!(languages.len(), 2, "{body}");
    let (javascript, python) = (&languages[0], &languages[1]);
    assert_eq!(javascript["language"], "javascript");
    assert_eq!(javascript["executions"], 1);
    assert_eq!(javascript["successRate"], 1.0);
    assert_eq!(
        javascript["meanExecutionTime"].as_f64(),
        node["executionTime"].as_f64()
    );
    assert_eq!(python["language"], "python");
    assert_eq!(python["executions"], 2);
    assert_eq!(python["succeeded"], 1);
    assert_eq!(python["successRate"], 0.5);
    let mean = (failed["executionTime"].as_f64().unwrap()
        + several["executionTime"].as_f64().unwrap())
        / 2.0;
    let served_mean = python["meanExecutionTime"].as_f64().unwrap();
    assert!((served_mean - mean).abs() < 1e-9, "{served_mean} vs {mean}");

    // The indexes: jobId unique, createdAt expiring after the configured 7 days.
    let indexes = wait_for("both indexes exist", || {
        let indexes = executions.indexes();
        (indexes.len() >= 3).then_some(indexes)
    });
    let index_on = |field: &str| {
        indexes
            .iter()
            .find(|index| index.keys == doc! { field: 1 })
            .unwrap_or_else(|| panic!("no index on {field}: {indexes:?}"))
            .options
            .clone()
            .unwrap_or_default()
    };
    assert_eq!(index_on("jobId").unique, Some(true));
    assert_eq!(
        index_on("createdAt").expire_after,
        Some(std::time::Duration::from_secs(7 * 86_400))
    );

    wait_until("three writes are counted", || {
        log_writes(&service, "written") == 3
    });
    assert_eq!(log_writes(&service, "dropped"), 0);
    assert_eq!(log_writes(&service, "failed"), 0);
    assert!(service.terminate().success());
}

/// `/api/v1/stats` answers from its last aggregation for `mongo.stats_cache_secs` (an hour here, so
/// no machine is slow enough to see it expire), and aggregates anew on every call with 0.
#[test]
fn stats_are_aggregated_once_per_period() {
    let database = SecantusServer::started("stats-cache");
    let uri = database.uri("exec_log_stats_cache");
    let total = |service: &Service| {
        let (status, body) = service.get("/api/v1/stats");
        assert_eq!(status, 200, "{body}");
        body["total"].as_i64().expect("a total")
    };
    let cached = start_service(
        "exec-log-stats-cached",
        &[("DB", &uri), ("CODEEXEC_MONGO__STATS_CACHE_SECS", "3600")],
    );
    let fresh = start_service(
        "exec-log-stats-fresh",
        &[("DB", &uri), ("CODEEXEC_MONGO__STATS_CACHE_SECS", "0")],
    );
    assert_eq!(total(&cached), 0);
    let saved = run_python(&cached, "print('counted')", Some(true));
    let executions = Executions::open(&uri);
    wait_for("the record is stored", || {
        executions.record(&job_id(&saved))
    });
    assert_eq!(
        total(&fresh),
        1,
        "a service that keeps nothing sees the record"
    );
    assert_eq!(
        total(&cached),
        0,
        "the kept aggregation is served within its period"
    );
    assert!(cached.terminate().success());
    assert!(fresh.terminate().success());
}

#[test]
fn without_a_database_nothing_is_stored_and_the_endpoints_answer_404() {
    let service = start_service("exec-log-off", &[]);
    let result = run_python(&service, "print('still runs')", Some(true));
    assert_eq!(result["output"], "still runs\n");
    for path in [
        format!("/api/v1/executions/{}", job_id(&result)),
        "/api/v1/stats".to_string(),
    ] {
        let (status, body) = service.get(&path);
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["succeeded"], false);
        assert!(
            body["errorMessage"]
                .as_str()
                .unwrap()
                .contains("no database is configured"),
            "{body}"
        );
    }
    assert_eq!(log_writes(&service, "written"), 0);
    assert!(service.terminate().success());
}

#[test]
fn a_stopped_database_fails_no_execution_and_records_arrive_once_it_is_back() {
    // The service starts before the database does: the start must not wait for it, and the
    // indexes come once it answers.
    let mut database = SecantusServer::new("outage");
    let uri = database.uri("exec_log_outage");
    let service = start_service(
        "exec-log-outage",
        &[
            ("DB", &uri),
            // One record buffered and one being written at a time, so an outage fills the
            // buffer within a few jobs: a write waits this long for a server before it fails.
            ("CODEEXEC_MONGO__BUFFER_SIZE", "1"),
            ("CODEEXEC_MONGO__BATCH_SIZE", "1"),
            ("CODEEXEC_MONGO__SERVER_SELECTION_TIMEOUT_MS", "5000"),
            ("CODEEXEC_MONGO__FLUSH_TIMEOUT_MS", "1000"),
        ],
    );
    database.start();
    let executions = Executions::open(&uri);
    wait_until("the indexes are created once the database answers", || {
        executions.indexes().len() >= 3
    });
    let before = job_id(&run_python(&service, "print('before')", Some(true)));
    wait_for("the record before the outage is stored", || {
        executions.record(&before)
    });

    database.stop();
    let mut during = Vec::new();
    while log_writes(&service, "dropped") == 0 {
        assert!(
            during.len() < 50,
            "50 saved jobs during the outage and no record was dropped"
        );
        let n = during.len();
        let result = run_python(&service, &format!("print({n})"), Some(true));
        assert_eq!(result["runTimeStatus"], "succeeded", "{result}");
        assert_eq!(result["output"], format!("{n}\n"));
        during.push(job_id(&result));
    }
    wait_until(
        "a write to the stopped database is counted as failed",
        || log_writes(&service, "failed") > 0,
    );
    let (status, body) = service.get(&format!("/api/v1/executions/{before}"));
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["succeeded"], false);

    database.start();
    // Once every earlier record is settled the buffer is empty, so the next one has room.
    let earlier = 1 + during.len() as u64;
    wait_until("the writer has settled every earlier record", || {
        settled(&service) == earlier
    });
    let after = job_id(&run_python(&service, "print('after')", Some(true)));
    wait_for("a record saved after the restart is stored", || {
        executions.record(&after)
    });
    assert!(
        executions.record(&before).is_some(),
        "kept over the restart"
    );
    let (status, body) = service.get(&format!("/api/v1/executions/{after}"));
    assert_eq!(status, 200, "{body}");

    // Every saved job is accounted for once, and what was written is what is stored.
    wait_until("the writer has settled every record", || {
        settled(&service) == earlier + 1
    });
    let stored = executions.find(doc! {}).len() as u64;
    assert_eq!(stored, log_writes(&service, "written"));

    // Shutdown with the database gone again and a record pending ends within the flush limit.
    database.stop();
    run_python(&service, "print('last')", Some(true));
    assert!(service.terminate().success());
    let log = std::fs::read_to_string(service_log(&service)).unwrap();
    assert!(
        log.contains("execution log flushed") || log.contains("were dropped"),
        "{log}"
    );
}

/// Records written, failed or dropped so far.
fn settled(service: &Service) -> u64 {
    ["written", "failed", "dropped"]
        .iter()
        .map(|result| log_writes(service, result))
        .sum()
}

fn service_log(service: &Service) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.log", service.instance))
}
