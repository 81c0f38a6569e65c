//! The JSON a client gets back for a finished job.

use codeexec_protocol::{StageReport, StageStatus};
use serde::Serialize;
use utoipa::ToSchema;

use codeexec_engine::Execution;
use codeexec_engine::{RunStatus, TimeLimit};

/// `{"succeeded": true, "result": {...}}`: a finished job, whatever the program did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecuteResponse {
    /// Always `true` here: the job ran.
    pub succeeded: bool,
    pub result: ExecutionResult,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "jobId": "0b6c1f52-3c1e-4d4b-9f55-2f1d3c0f6a7e", "language": "python", "version": "3.11.2",
    "output": "Hello, World!\n", "stdout": "Hello, World!\n", "stderr": "", "errorMessage": null,
    "exitCode": 0, "signal": null, "runTimeStatus": "succeeded", "timeLimit": null, "executionTime": 0.021,
    "cpuTime": 0.015, "memoryUsage": "9.4MB", "memoryBytes": 9400000, "cpuUsage": "71.4%",
    "compile": null,
    "timings": {"queue": 0.001, "acquire": 0.001, "compile": 0.0, "run": 0.021, "exchange": 0.03, "total": 0.032},
    "truncated": false
}))]
pub struct ExecutionResult {
    /// The job's id (a UUID).
    pub job_id: String,
    /// The canonical name of the language.
    pub language: String,
    /// The toolchain's version, as its image reports it.
    pub version: Option<String>,
    /// The program's stdout (same as `stdout`, kept for clients of the original service).
    pub output: String,
    pub stdout: String,
    pub stderr: String,
    /// The compiler's message for a compile error, stderr for a failed run, a sentence for a
    /// limit; `null` on success.
    pub error_message: Option<String>,
    pub exit_code: Option<i32>,
    /// The signal that ended the program, if one did.
    pub signal: Option<i32>,
    #[schema(schema_with = run_status_schema)]
    pub run_time_status: RunStatus,
    /// For `time_limit_exceeded`: `cpu` when the program used its CPU-time limit (`timeoutMs`),
    /// `wall` when it took its wall-time limit (`wallTimeoutMs`) mostly waiting.
    pub time_limit: Option<TimeLimitHit>,
    /// Run stage wall time, seconds.
    pub execution_time: f64,
    /// Run stage CPU time, seconds.
    pub cpu_time: f64,
    /// Peak resident memory of the program, e.g. "9.4MB" (1 MB = 10^6 bytes).
    pub memory_usage: String,
    /// Peak resident memory of the program, bytes.
    pub memory_bytes: u64,
    /// CPU time over wall time, e.g. "78.1%".
    pub cpu_usage: String,
    /// The compile stage, for compiled languages.
    pub compile: Option<CompileResult>,
    pub timings: TimingsSeconds,
    /// Whether stdout or stderr of any stage was cut at the output limit.
    pub truncated: bool,
}

/// The compile stage of a compiled language.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompileResult {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: Option<i32>,
    pub status: StageOutcome,
    /// Wall time, seconds.
    pub execution_time: f64,
}

/// How a stage ended: [`StageStatus`] as the API shows it. The conversion names every variant,
/// so a new one cannot reach a response without being described.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageOutcome {
    /// Exited with code 0.
    Succeeded,
    /// Exited with a non-zero code or was killed by a signal.
    Failed,
    /// Killed at its wall-time limit.
    TimedOut,
    /// Killed at its CPU-time limit.
    CpuTimedOut,
    /// Killed for writing more than the output limit.
    OutputLimitExceeded,
    /// Could not be started at all.
    FailedToStart,
}

impl From<StageStatus> for StageOutcome {
    fn from(status: StageStatus) -> StageOutcome {
        match status {
            StageStatus::Succeeded => StageOutcome::Succeeded,
            StageStatus::Failed => StageOutcome::Failed,
            StageStatus::TimedOut => StageOutcome::TimedOut,
            StageStatus::CpuTimedOut => StageOutcome::CpuTimedOut,
            StageStatus::OutputLimitExceeded => StageOutcome::OutputLimitExceeded,
            StageStatus::FailedToStart => StageOutcome::FailedToStart,
        }
    }
}

/// Which time limit a job hit: [`TimeLimit`] as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeLimitHit {
    /// The CPU time the program's processes used.
    Cpu,
    /// The wall time it took.
    Wall,
}

impl From<TimeLimit> for TimeLimitHit {
    fn from(limit: TimeLimit) -> TimeLimitHit {
        match limit {
            TimeLimit::Cpu => TimeLimitHit::Cpu,
            TimeLimit::Wall => TimeLimitHit::Wall,
        }
    }
}

/// `runTimeStatus`: every [`RunStatus`], by the name the API gives it.
pub fn run_status_schema() -> utoipa::openapi::schema::Object {
    use strum::IntoEnumIterator;
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(RunStatus::iter().map(RunStatus::as_str)))
        .description(Some("How the job ended."))
        .build()
}

/// Where the time went, seconds; see [`codeexec_engine::Timings`].
#[derive(Debug, Serialize, ToSchema)]
pub struct TimingsSeconds {
    /// From the request's arrival until a container was in hand.
    pub queue: f64,
    /// Asking the pool until holding a container.
    pub acquire: f64,
    /// The compile stage, as the runner measured it.
    pub compile: f64,
    /// The run stage, as the runner measured it.
    pub run: f64,
    /// The whole exchange with the container.
    pub exchange: f64,
    pub total: f64,
}

impl From<Execution> for ExecuteResponse {
    fn from(execution: Execution) -> ExecuteResponse {
        let run = execution.run.as_ref();
        let truncated = [execution.compile.as_ref(), run]
            .into_iter()
            .flatten()
            .any(|stage| stage.stdout_truncated || stage.stderr_truncated);
        let wall_ms = run.map_or(0, |stage| stage.wall_ms);
        let cpu_ms = run.map_or(0, |stage| stage.cpu_ms);
        let memory_bytes = run.map_or(0, |stage| stage.peak_rss_bytes);
        let timings = execution.timings;
        let result = ExecutionResult {
            job_id: execution.spec.id.to_string(),
            language: execution.spec.language.name.clone(),
            version: execution.version,
            output: run.map(|stage| stage.stdout.clone()).unwrap_or_default(),
            stdout: run.map(|stage| stage.stdout.clone()).unwrap_or_default(),
            stderr: run.map(|stage| stage.stderr.clone()).unwrap_or_default(),
            error_message: execution.verdict.error_message,
            exit_code: run.and_then(|stage| stage.exit_code),
            signal: run.and_then(|stage| stage.signal),
            run_time_status: execution.verdict.status,
            time_limit: execution.verdict.time_limit.map(TimeLimitHit::from),
            execution_time: millis_to_seconds(wall_ms),
            cpu_time: millis_to_seconds(cpu_ms),
            memory_usage: format_megabytes(memory_bytes),
            memory_bytes,
            cpu_usage: format_cpu_usage(cpu_ms, wall_ms),
            compile: execution.compile.as_ref().map(compile_result),
            timings: TimingsSeconds {
                queue: timings.queue.as_secs_f64(),
                acquire: timings.acquire.as_secs_f64(),
                compile: timings.compile.as_secs_f64(),
                run: timings.run.as_secs_f64(),
                exchange: timings.exchange.as_secs_f64(),
                total: timings.total.as_secs_f64(),
            },
            truncated,
        };
        ExecuteResponse {
            succeeded: true,
            result,
        }
    }
}

fn compile_result(stage: &StageReport) -> CompileResult {
    CompileResult {
        stdout: stage.stdout.clone(),
        stderr: stage.stderr.clone(),
        exit_code: stage.exit_code,
        status: stage.status.into(),
        execution_time: millis_to_seconds(stage.wall_ms),
    }
}

fn millis_to_seconds(millis: u64) -> f64 {
    millis as f64 / 1000.0
}

/// "9.4MB", with 1 MB = 10^6 bytes.
pub fn format_megabytes(bytes: u64) -> String {
    format!("{:.1}MB", bytes as f64 / 1e6)
}

/// CPU time as a share of wall time, "78.1%"; "0.0%" when no time passed.
pub fn format_cpu_usage(cpu_ms: u64, wall_ms: u64) -> String {
    let share = if wall_ms == 0 {
        0.0
    } else {
        cpu_ms as f64 * 100.0 / wall_ms as f64
    };
    format!("{share:.1}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_shown_in_megabytes_with_one_decimal() {
        assert_eq!(format_megabytes(9_400_000), "9.4MB");
        assert_eq!(format_megabytes(0), "0.0MB");
    }

    #[test]
    fn cpu_usage_is_cpu_over_wall_time() {
        assert_eq!(format_cpu_usage(781, 1000), "78.1%");
        assert_eq!(format_cpu_usage(5, 0), "0.0%");
    }
}
