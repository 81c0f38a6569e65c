//! The raw numbers of one load run, as saved to `raw.json`: every request's answer and timings,
//! every container ceiling and cold path measurement. Statistics and the report are computed from
//! this record alone, so they can be checked against it.

use serde::{Deserialize, Serialize};

use super::machine::Machine;

/// Everything one `codeexec-loadtest` run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// When the run started, RFC 3339.
    pub date: String,
    /// The command line of this run.
    pub command: String,
    /// A note shown at the top of the report, e.g. that the machine was busy.
    pub label: Option<String>,
    pub service_url: String,
    pub machine: Machine,
    /// Container starts the service runs at once (`docker.max_parallel_starts`).
    pub max_parallel_starts: usize,
    pub ceiling: CeilingRecord,
    pub cold: ColdRecord,
    /// The mixed-language workload, one step per concurrency.
    pub sweep: Vec<StepRecord>,
    /// One language alone at the highest concurrency, to compare with the ceiling.
    pub saturation: StepRecord,
}

/// The requests of one step: a fixed set of languages at a fixed concurrency. The workers send
/// for `warmup_secs` and then `window_secs` more; only the window is measured, so the start (all
/// workers at once on a full pool) and the end (the last answers trickling in at a lower
/// concurrency) do not distort it. Every request is kept, the warm-up's included.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    pub concurrency: usize,
    pub languages: Vec<String>,
    pub warmup_secs: f64,
    pub window_secs: f64,
    pub samples: Vec<Sample>,
}

impl StepRecord {
    /// Whether `seconds` from the step's start falls in the measured window.
    pub fn in_window(&self, seconds: f64) -> bool {
        (self.warmup_secs..self.warmup_secs + self.window_secs).contains(&seconds)
    }
}

/// One request and what came back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub language: String,
    /// From sending the request to having read the whole answer, as the client saw it.
    pub latency_ms: f64,
    /// `None` when no HTTP answer came (connection refused, timeout).
    pub http_status: Option<u16>,
    /// `runTimeStatus` of a finished job.
    pub run_status: Option<String>,
    /// Whether the program printed what it should.
    pub output_ok: bool,
    /// Why there is no answer, or what the service said when it refused the job.
    pub error: Option<String>,
    /// The service's own timings of a finished job.
    pub timings: Option<ServerTimings>,
    /// When the request was sent and when its answer came, seconds from the step's start.
    pub sent_secs: f64,
    pub finished_secs: f64,
}

impl Sample {
    /// Whether the service ran the job (HTTP 200 with a result): only such answers used a
    /// container, and only their latency is the latency of running code.
    pub fn ran(&self) -> bool {
        self.http_status == Some(200) && self.run_status.is_some()
    }

    /// What happened, as shown in the status shares: `200 succeeded`, `503`, `no answer`, ...
    pub fn outcome(&self) -> String {
        match (self.http_status, &self.run_status) {
            (None, _) => "no answer".to_string(),
            (Some(status), Some(run)) if run == "succeeded" && !self.output_ok => {
                format!("{status} succeeded, wrong output")
            }
            (Some(status), Some(run)) => format!("{status} {run}"),
            (Some(status), None) => status.to_string(),
        }
    }
}

/// `result.timings` as the service reports it, in seconds. `acquire` and `exchange` are absent
/// from services older than those fields.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ServerTimings {
    pub queue: f64,
    #[serde(default)]
    pub acquire: Option<f64>,
    pub compile: f64,
    pub run: f64,
    #[serde(default)]
    pub exchange: Option<f64>,
    pub total: f64,
}

/// How fast the Docker engine creates, starts and removes containers of one image.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CeilingRecord {
    pub language: String,
    pub image: String,
    pub runs: Vec<CeilingRun>,
}

impl CeilingRecord {
    /// The best rate over every parallelism tried, before and after the load: the ceiling.
    pub fn best(&self) -> Option<&CeilingRun> {
        self.runs
            .iter()
            .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
    }

    /// The best run at `parallelism`, if it was tried.
    pub fn at(&self, parallelism: usize) -> Option<&CeilingRun> {
        self.runs
            .iter()
            .filter(|run| run.parallelism == parallelism)
            .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
    }
}

/// Containers created, started and removed by `parallelism` loops at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CeilingRun {
    /// `before` or `after` the load.
    pub when: String,
    pub parallelism: usize,
    /// Containers that went through the whole cycle.
    pub containers: u64,
    pub failures: u64,
    pub elapsed_secs: f64,
}

impl CeilingRun {
    pub fn per_second(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.containers as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }
}

/// The cold path: a container created, started, given the job and removed, one job at a time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColdRecord {
    pub language: String,
    pub latencies_ms: Vec<f64>,
    pub failures: u64,
}
