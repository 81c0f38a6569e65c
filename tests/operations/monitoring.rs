//! Monitoring as an operator sees it: `/metrics` passes `promtool check metrics` and exports
//! every metric the Grafana dashboard and the alert rules query; a real Prometheus server
//! scraping the service counts the executions that ran; the alert rules pass promtool's checks
//! and unit tests; every log line of a job carries its jobId.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::common::{wait_for, Service};
use serde_json::Value;

const REPOSITORY: &str = env!("CARGO_MANIFEST_DIR");

/// A tool from Debian's `prometheus` package, which scripts/test installs.
fn prometheus_tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{name} is not on PATH: install Debian's prometheus package (scripts/test does)")
    })
}

fn run_promtool(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(prometheus_tool("promtool"))
        .args(args)
        .current_dir(REPOSITORY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().expect("promtool finished")
}

fn assert_promtool_succeeds(args: &[&str], stdin: Option<&str>) {
    let output = run_promtool(args, stdin);
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Metric family names in Prometheus text format, from its `# TYPE` lines, with the series
/// names a histogram family exposes.
fn exported_series_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        names.insert(name.to_string());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

/// The codeexec and process metric names a PromQL expression uses.
fn metric_names_in(expression: &str) -> impl Iterator<Item = String> + '_ {
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("codeexec_") || word.starts_with("process_"))
        .map(str::to_string)
}

/// Every PromQL expression of the dashboard: panel targets and template variable queries.
fn dashboard_expressions() -> Vec<String> {
    fn collect(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("expr" | "definition", Value::String(expression)) => {
                            found.push(expression.clone())
                        }
                        _ => collect(value, found),
                    }
                }
            }
            Value::Array(values) => values.iter().for_each(|value| collect(value, found)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(Path::new(REPOSITORY).join("config/grafana/codeexec.json"))
        .expect("read the dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut found = Vec::new();
    collect(&dashboard, &mut found);
    assert!(
        found.len() > 10,
        "the dashboard has too few queries: {found:?}"
    );
    found
}

/// The `expr:` blocks of the alert rules (plain and `|` block scalars).
fn alert_expressions() -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(REPOSITORY).join("config/prometheus/alerts.yml"))
        .expect("read the alert rules");
    let mut expressions = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((indent, value)) = line.split_once("expr:") else {
            continue;
        };
        let value = value.trim();
        if value != "|" {
            expressions.push(value.to_string());
            continue;
        }
        let mut block = String::new();
        while let Some(next) = lines.peek() {
            if next.len() - next.trim_start().len() <= indent.len() {
                break;
            }
            block.push_str(lines.next().unwrap().trim());
            block.push(' ');
        }
        expressions.push(block);
    }
    assert!(
        expressions.len() >= 4,
        "too few alert rules: {expressions:?}"
    );
    expressions
}

#[test]
fn metrics_pass_promtool_and_cover_every_dashboard_and_alert_query() {
    let service = Service::start("metrics", &[]);
    let result = service.run("python", "print('counted')");
    assert_eq!(result["output"], "counted\n", "{result}");

    let (status, text) = service.get_text("/metrics");
    assert_eq!(status, 200);
    assert_promtool_succeeds(&["check", "metrics"], Some(&text));

    let exported = exported_series_names(&text);
    let mut queried: BTreeSet<String> = dashboard_expressions()
        .iter()
        .flat_map(|expression| metric_names_in(expression).collect::<Vec<_>>())
        .collect();
    for expression in alert_expressions() {
        queried.extend(metric_names_in(&expression));
    }
    assert!(queried.contains("codeexec_executions_total"), "{queried:?}");
    let missing: Vec<_> = queried.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "queried by the dashboard or the alerts but not exported: {missing:?}"
    );
    for required in [
        "codeexec_executions_total",
        "codeexec_execution_duration_seconds",
        "codeexec_execution_cpu_seconds",
        "codeexec_execution_memory_bytes",
        "codeexec_pool_ready",
        "codeexec_pool_target",
        "codeexec_queue_depth",
        "codeexec_jobs_in_flight",
        "codeexec_container_start_seconds",
        "codeexec_container_failures_total",
        "codeexec_http_requests_total",
        "codeexec_http_request_duration_seconds",
        "codeexec_rate_limited_total",
        "codeexec_rejected_total",
        "codeexec_execution_log_writes_total",
        "codeexec_build_info",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(exported.contains(required), "{required} is not exported");
    }
    // Route templates, never raw paths, label the HTTP metrics.
    assert!(
        text.contains(
            r#"codeexec_http_requests_total{code="200",method="POST",route="/api/v1/execute"}"#
        ),
        "{text}"
    );
}

#[test]
fn promtool_accepts_the_scrape_config_and_the_alert_rules_fire_as_specified() {
    assert_promtool_succeeds(
        &["check", "config", "config/prometheus/prometheus.yml"],
        None,
    );
    assert_promtool_succeeds(&["check", "rules", "config/prometheus/alerts.yml"], None);
    assert_promtool_succeeds(
        &["test", "rules", "config/prometheus/alerts_test.yml"],
        None,
    );
}

/// A Prometheus server on a loopback port with its own storage, stopped when dropped.
struct Prometheus {
    url: String,
    child: Child,
    _storage: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (host:port) every second.
    fn scraping(target: &str, name: &str) -> Prometheus {
        let dir = std::env::temp_dir().join(format!("codeexec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let storage = TempDir(dir.clone());
        let config = format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: codeexec\n    \
             static_configs:\n      - targets: [\"{target}\"]\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(prometheus_tool("prometheus"))
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _storage: storage,
        }
    }

    /// Runs an instant query; `None` while Prometheus is not answering yet.
    fn query(&self, query: &str) -> Option<Value> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.url),
            [("query", query)],
        )
        .unwrap();
        let response = reqwest::blocking::get(url).ok()?;
        let body: Value = response.json().ok()?;
        assert_eq!(body["status"], "success", "query {query} failed: {body}");
        Some(body["data"]["result"].clone())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The counter's value per language, from a Prometheus query result.
fn by_language(result: &Value) -> Vec<(String, f64)> {
    let mut values: Vec<(String, f64)> = result
        .as_array()
        .into_iter()
        .flatten()
        .map(|sample| {
            let language = sample["metric"]["language"].as_str().unwrap().to_string();
            let value = sample["value"][1].as_str().unwrap().parse().unwrap();
            (language, value)
        })
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    values
}

#[test]
fn a_real_prometheus_counts_the_executions_that_ran() {
    let service = Service::start("prometheus", &[]);
    let target = service.url.trim_start_matches("http://").to_string();
    let prometheus = Prometheus::scraping(&target, "prometheus-test");

    for _ in 0..3 {
        let result = service.run("python", "print('py')");
        assert_eq!(result["runTimeStatus"], "succeeded", "{result}");
    }
    for _ in 0..2 {
        let result = service.run("ruby", "puts 'rb'");
        assert_eq!(result["runTimeStatus"], "succeeded", "{result}");
    }
    let failed = service.run("python", "import sys; sys.exit(4)");
    assert_eq!(failed["runTimeStatus"], "runtime_error", "{failed}");

    // One scrape must show all six executions: wait for it, then check every count in it.
    let query = r#"codeexec_executions_total{job="codeexec",language=~"python|ruby",status=~"succeeded|runtime_error"}"#;
    let by_status = |result: &Value, status: &str| {
        let matching: Vec<Value> = result
            .as_array()
            .into_iter()
            .flatten()
            .filter(|sample| sample["metric"]["status"] == status)
            .cloned()
            .collect();
        by_language(&Value::Array(matching))
    };
    let result = wait_for("Prometheus has scraped all six executions", || {
        let result = prometheus.query(query)?;
        let total: f64 = by_language(&result).iter().map(|(_, count)| count).sum();
        (total == 6.0).then_some(result)
    });
    assert_eq!(
        by_status(&result, "succeeded"),
        vec![("python".to_string(), 3.0), ("ruby".to_string(), 2.0)]
    );
    assert_eq!(
        by_status(&result, "runtime_error"),
        vec![("python".to_string(), 1.0), ("ruby".to_string(), 0.0)]
    );

    // Every dashboard query is valid PromQL to this Prometheus.
    for expression in dashboard_expressions() {
        let expression = expression
            .replace("$__rate_interval", "1m")
            .replace("$language", ".*");
        let expression =
            expression
                .strip_prefix("label_values(")
                .map_or(expression.clone(), |rest| {
                    let metric = rest.split(',').next().unwrap();
                    metric.to_string()
                });
        prometheus.query(&expression).expect("Prometheus answers");
    }
}

#[test]
fn every_log_line_of_a_job_carries_its_job_id_in_json() {
    let service = Service::start("json-logs", &[("CODEEXEC_SERVER__LOG_FORMAT", "json")]);
    let result = service.run("python", "print('logged')");
    let job_id = result["jobId"].as_str().unwrap().to_string();

    let messages_of_job = || {
        let log = std::fs::read_to_string(service.log_path()).unwrap();
        let lines: Vec<Value> = log
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect();
        lines
            .iter()
            .filter(|line| line["span"]["jobId"] == job_id.as_str())
            .map(|line| {
                assert_eq!(line["span"]["language"], "python", "{line}");
                line["fields"]["message"].as_str().unwrap().to_string()
            })
            .collect::<Vec<_>>()
    };
    let messages = wait_for("the job's lines are logged", || {
        let messages = messages_of_job();
        messages
            .iter()
            .any(|message| message == "job finished")
            .then_some(messages)
    });
    assert!(
        messages
            .iter()
            .any(|message| message == "container acquired"),
        "{messages:?}"
    );
}
