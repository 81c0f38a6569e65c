//! The JSON a client gets back for a finished job.

use codeexec_protocol::StageReport;
use serde::Serialize;

use codeexec_engine::Execution;
use codeexec_engine::RunStatus;

/// `{"succeeded": true, "result": {...}}`.
#[derive(Debug, Serialize)]
pub struct ExecuteResponse {
    pub succeeded: bool,
    pub result: ExecutionResult,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    pub job_id: String,
    pub language: String,
    pub version: Option<String>,
    /// The program's stdout (same as `stdout`, kept for clients of the original service).
    pub output: String,
    pub stdout: String,
    pub stderr: String,
    pub error_message: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub run_time_status: RunStatus,
    /// Run stage wall time, seconds.
    pub execution_time: f64,
    /// Run stage CPU time, seconds.
    pub cpu_time: f64,
    /// Peak resident memory of the program, e.g. "9.4MB" (1 MB = 10^6 bytes).
    pub memory_usage: String,
    pub memory_bytes: u64,
    /// CPU time over wall time, e.g. "78.1%".
    pub cpu_usage: String,
    pub compile: Option<CompileResult>,
    pub timings: TimingsSeconds,
    /// Whether stdout or stderr of any stage was cut at the output limit.
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompileResult {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: Option<i32>,
    pub status: codeexec_protocol::StageStatus,
    pub execution_time: f64,
}

/// Where the time went, seconds; see [`codeexec_engine::Timings`].
#[derive(Debug, Serialize)]
pub struct TimingsSeconds {
    pub queue: f64,
    pub acquire: f64,
    pub compile: f64,
    pub run: f64,
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
        status: stage.status,
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
