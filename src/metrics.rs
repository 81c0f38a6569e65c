//! The service's Prometheus metrics: one registry, every metric the service exports, and the text
//! rendering behind `GET /metrics`. Metric names follow Prometheus conventions (base units,
//! `_total` for counters, `_seconds` and `_bytes`); the README lists them.

use std::time::Duration;

use codeexec_engine::{ContainerFailure, EngineObserver, Execution, RunStatus};

use crate::api::Rejection;
use strum::IntoEnumIterator;

use prometheus::{
    exponential_buckets, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Durations from a few milliseconds (a warm hello world) to half a minute (a slow compile).
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0,
];

/// A program's CPU time: from a millisecond to a CPU-bound run of ten seconds or more.
const CPU_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0,
];

/// What became of an execution record bound for MongoDB (`codeexec_execution_log_writes_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum LogWrite {
    Written,
    Failed,
    Dropped,
}

impl LogWrite {
    pub fn label(self) -> &'static str {
        self.into()
    }
}

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    pub executions_total: IntCounterVec,
    pub execution_duration_seconds: HistogramVec,
    pub execution_cpu_seconds: HistogramVec,
    pub execution_memory_bytes: HistogramVec,
    pub pool_ready: IntGaugeVec,
    pub pool_target: IntGaugeVec,
    pub queue_depth: IntGaugeVec,
    pub queue_capacity: IntGaugeVec,
    pub jobs_in_flight: IntGauge,
    pub container_start_seconds: HistogramVec,
    pub container_failures_total: IntCounterVec,
    pub docker_up: IntGauge,
    pub http_requests_total: IntCounterVec,
    pub http_request_duration_seconds: HistogramVec,
    pub rate_limited_total: IntCounter,
    pub rate_limit_redis_up: IntGauge,
    pub rate_limit_local_fallback_total: IntCounter,
    pub rejected_total: IntCounterVec,
    pub execution_log_writes_total: IntCounterVec,
    pub build_info: IntGaugeVec,
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter")
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge")
}

fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid histogram")
}

impl Metrics {
    /// Every metric, in a registry of its own: one per service, so that services in one
    /// process (the in-process tests) count apart.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let metrics = Metrics {
            executions_total: counter_vec(
                "codeexec_executions_total",
                "Finished executions, by language and result status.",
                &["language", "status"],
            ),
            execution_duration_seconds: histogram_vec(
                "codeexec_execution_duration_seconds",
                "Time an execution spent in each stage: queue, compile, run, total.",
                &["language", "stage"],
                DURATION_BUCKETS.to_vec(),
            ),
            execution_cpu_seconds: histogram_vec(
                "codeexec_execution_cpu_seconds",
                "CPU time the user's program used (compile and run).",
                &["language"],
                CPU_BUCKETS.to_vec(),
            ),
            execution_memory_bytes: histogram_vec(
                "codeexec_execution_memory_bytes",
                "Peak resident memory of the user's program.",
                &["language"],
                exponential_buckets(1024.0 * 1024.0, 2.0, 11).expect("valid buckets"),
            ),
            pool_ready: gauge_vec(
                "codeexec_pool_ready",
                "Warm containers ready to take a job.",
                &["language"],
            ),
            pool_target: gauge_vec(
                "codeexec_pool_target",
                "Warm containers the pool keeps ready.",
                &["language"],
            ),
            queue_depth: gauge_vec(
                "codeexec_queue_depth",
                "Jobs waiting for a warm container.",
                &["language"],
            ),
            queue_capacity: gauge_vec(
                "codeexec_queue_capacity",
                "Jobs the language's queue holds before refusing more with 503.",
                &["language"],
            ),
            jobs_in_flight: IntGauge::new(
                "codeexec_jobs_in_flight",
                "Execute requests admitted and not yet answered, across all languages.",
            )
            .expect("valid gauge"),
            container_start_seconds: histogram_vec(
                "codeexec_container_start_seconds",
                "Time to create and start a pool container until its runner is ready for a job \
                 (its pre-started runtime warmed up).",
                &["language"],
                DURATION_BUCKETS.to_vec(),
            ),
            container_failures_total: counter_vec(
                "codeexec_container_failures_total",
                "Pool containers that failed to start or died outside a job, by reason.",
                &["language", "reason"],
            ),
            docker_up: IntGauge::new(
                "codeexec_docker_up",
                "1 when the Docker engine answered a ping at the last scrape, 0 otherwise.",
            )
            .expect("valid gauge"),
            http_requests_total: counter_vec(
                "codeexec_http_requests_total",
                "HTTP requests answered, by method, route template and status code.",
                &["method", "route", "code"],
            ),
            http_request_duration_seconds: histogram_vec(
                "codeexec_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template.",
                &["route"],
                DURATION_BUCKETS.to_vec(),
            ),
            rate_limited_total: IntCounter::new(
                "codeexec_rate_limited_total",
                "Requests refused with 429 by the rate limiter.",
            )
            .expect("valid counter"),
            rate_limit_redis_up: IntGauge::new(
                "codeexec_rate_limit_redis_up",
                "1 while the shared rate limit's Redis answers; 0 while this node falls back to its \
                 own buckets, and with the local backend.",
            )
            .expect("valid gauge"),
            rate_limit_local_fallback_total: IntCounter::new(
                "codeexec_rate_limit_local_fallback_total",
                "Requests whose token came from this node's own buckets because Redis did not \
                 answer (rate_limit.backend = \"redis\").",
            )
            .expect("valid counter"),
            rejected_total: counter_vec(
                "codeexec_rejected_total",
                "Execute requests refused before running, by reason.",
                &["reason"],
            ),
            execution_log_writes_total: counter_vec(
                "codeexec_execution_log_writes_total",
                "Execution records for MongoDB, by result: written, failed or dropped.",
                &["result"],
            ),
            build_info: gauge_vec(
                "codeexec_build_info",
                "Always 1; the label carries the codeexec version.",
                &["version"],
            ),
            registry,
        };
        metrics.register_all();
        metrics
            .build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        metrics
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.executions_total.clone()),
            Box::new(self.execution_duration_seconds.clone()),
            Box::new(self.execution_cpu_seconds.clone()),
            Box::new(self.execution_memory_bytes.clone()),
            Box::new(self.pool_ready.clone()),
            Box::new(self.pool_target.clone()),
            Box::new(self.queue_depth.clone()),
            Box::new(self.queue_capacity.clone()),
            Box::new(self.jobs_in_flight.clone()),
            Box::new(self.container_start_seconds.clone()),
            Box::new(self.container_failures_total.clone()),
            Box::new(self.docker_up.clone()),
            Box::new(self.http_requests_total.clone()),
            Box::new(self.http_request_duration_seconds.clone()),
            Box::new(self.rate_limited_total.clone()),
            Box::new(self.rate_limit_redis_up.clone()),
            Box::new(self.rate_limit_local_fallback_total.clone()),
            Box::new(self.rejected_total.clone()),
            Box::new(self.execution_log_writes_total.clone()),
            Box::new(self.build_info.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ];
        for collector in collectors {
            self.registry
                .register(collector)
                .expect("metric names are unique");
        }
    }

    /// Records one finished execution: its status, where its time went, and what the program
    /// used (CPU over both stages, the larger peak RSS of the two).
    fn observe_execution(&self, execution: &Execution) {
        let language = execution.spec.language.name.as_str();
        let status = execution.verdict.status.as_str();
        self.executions_total
            .with_label_values(&[language, status])
            .inc();
        let timings = &execution.timings;
        let stages = [
            ("queue", Some(timings.queue)),
            (
                "compile",
                execution.compile.as_ref().map(|_| timings.compile),
            ),
            ("run", execution.run.as_ref().map(|_| timings.run)),
            ("total", Some(timings.total)),
        ];
        for (stage, duration) in stages {
            if let Some(duration) = duration {
                self.execution_duration_seconds
                    .with_label_values(&[language, stage])
                    .observe(duration.as_secs_f64());
            }
        }
        let stage_reports = || execution.compile.iter().chain(execution.run.iter());
        if execution.run.is_some() {
            let cpu_ms: u64 = stage_reports().map(|stage| stage.cpu_ms).sum();
            self.execution_cpu_seconds
                .with_label_values(&[language])
                .observe(cpu_ms as f64 / 1000.0);
            let peak = stage_reports().map(|stage| stage.peak_rss_bytes).max();
            if let Some(peak) = peak {
                self.execution_memory_bytes
                    .with_label_values(&[language])
                    .observe(peak as f64);
            }
        }
    }

    /// Creates every known label combination at zero, so dashboards and alerts see a series
    /// (and `rate()` works) before the first event of its kind.
    pub fn initialize_labels<'a>(&self, languages: impl IntoIterator<Item = &'a str>) {
        for language in languages {
            for status in RunStatus::iter() {
                self.executions_total
                    .with_label_values(&[language, status.as_str()]);
            }
            for failure in ContainerFailure::iter() {
                self.container_failures_total
                    .with_label_values(&[language, failure.into()]);
            }
            let gauges = [
                &self.pool_ready,
                &self.pool_target,
                &self.queue_depth,
                &self.queue_capacity,
            ];
            for gauge in gauges {
                gauge.with_label_values(&[language]);
            }
        }
        for rejection in Rejection::iter() {
            self.rejected_total.with_label_values(&[rejection.label()]);
        }
        for result in LogWrite::iter() {
            self.execution_log_writes_total
                .with_label_values(&[result.label()]);
        }
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding to memory cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// The engine reports here what the metrics count.
impl EngineObserver for Metrics {
    fn languages(&self, names: &[&str]) {
        self.initialize_labels(names.iter().copied());
    }

    fn container_started(&self, language: &str, took: Duration) {
        self.container_start_seconds
            .with_label_values(&[language])
            .observe(took.as_secs_f64());
    }

    fn container_failed(&self, language: &str, failure: ContainerFailure) {
        self.container_failures_total
            .with_label_values(&[language, failure.into()])
            .inc();
    }

    fn jobs_in_flight(&self, count: usize) {
        self.jobs_in_flight.set(count as i64);
    }

    fn execution_finished(&self, execution: &Execution) {
        self.observe_execution(execution);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_of_every_enum_is_exported_at_zero_before_its_first_event() {
        let metrics = Metrics::new();
        metrics.languages(&["python"]);
        let text = metrics.render();
        let mut samples: Vec<String> = Rejection::iter()
            .map(|r| format!("codeexec_rejected_total{{reason=\"{}\"}} 0", r.label()))
            .collect();
        samples.extend(LogWrite::iter().map(|w| {
            format!(
                "codeexec_execution_log_writes_total{{result=\"{}\"}} 0",
                w.label()
            )
        }));
        samples.extend(RunStatus::iter().map(|status| {
            format!(
                "codeexec_executions_total{{language=\"python\",status=\"{}\"}} 0",
                status.as_str()
            )
        }));
        samples.extend(ContainerFailure::iter().map(|failure| {
            let reason: &str = failure.into();
            format!(
                "codeexec_container_failures_total{{language=\"python\",reason=\"{reason}\"}} 0"
            )
        }));
        for sample in samples {
            assert!(text.contains(&sample), "{sample} missing:\n{text}");
        }
    }

    #[test]
    fn render_names_every_metric_family_with_help_and_type() {
        let metrics = Metrics::new();
        metrics
            .executions_total
            .with_label_values(&["python", "success"])
            .inc();
        let text = metrics.render();
        for name in [
            "codeexec_executions_total",
            "codeexec_build_info",
            "process_resident_memory_bytes",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{text}"
            );
        }
        assert!(text.contains("codeexec_executions_total{language=\"python\",status=\"success\"}"));
    }
}
