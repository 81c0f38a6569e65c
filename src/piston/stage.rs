//! Piston's answer to `POST execute`: `{language, version, run, compile?}`, each stage with
//! `stdout`, `stderr`, `output`, `code`, `signal` (a name), `message`, `status`, `cpu_time`,
//! `wall_time` (milliseconds) and `memory` (bytes). Statuses as Piston's isolate writes them:
//! `RE` (exited non-zero), `SG` (died on a signal), `TO` (time limit), `OL`/`EL` (stdout/stderr
//! over the output cap), `XX` (internal error), and `ML`, which Piston lacks: the memory limit,
//! known from the container's memory cgroup or Docker's OOM flag, never guessed from a signal.

use codeexec_engine::{Execution, RunStatus, TimeLimit, Verdict};
use codeexec_protocol::{StageReport, StageStatus};
use serde::Serialize;

use super::runtimes::Runtime;
use crate::interactive::signal;

/// The signal killing a stage at a limit, as Piston names it.
const SIGKILL: &str = "SIGKILL";

/// `{language, version, run, compile?}`. After a compile stage that failed, `run` is the compile
/// stage, as Piston answers for backward compatibility.
#[derive(Debug, Serialize)]
pub(crate) struct ExecuteAnswer {
    pub language: &'static str,
    pub version: String,
    pub run: Stage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile: Option<Stage>,
}

/// One stage as Piston reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Stage {
    pub stdout: String,
    pub stderr: String,
    /// stdout followed by stderr: the runner keeps the two streams apart, so their interleaving
    /// is not known.
    pub output: String,
    pub code: Option<i32>,
    pub signal: Option<&'static str>,
    pub message: Option<String>,
    pub status: Option<&'static str>,
    pub cpu_time: Option<u64>,
    pub wall_time: Option<u64>,
    pub memory: Option<u64>,
}

impl ExecuteAnswer {
    pub(crate) fn new(runtime: &Runtime, execution: &Execution) -> ExecuteAnswer {
        let verdict = &execution.verdict;
        let judged_run = execution.run.is_some();
        let compile = execution
            .compile
            .as_ref()
            .map(|report| stage(Some(report), (!judged_run).then_some(verdict)));
        let run = match (&execution.run, &compile) {
            (Some(report), _) => stage(Some(report), Some(verdict)),
            (None, Some(compile)) => compile.clone(),
            (None, None) => stage(None, Some(verdict)),
        };
        ExecuteAnswer {
            language: runtime.language,
            version: runtime.version.to_string(),
            run,
            compile,
        }
    }
}

/// A stage from the runner's report (`None` when the runner could not report), judged by the
/// job's `verdict` when it is the stage that ended the job.
fn stage(report: Option<&StageReport>, verdict: Option<&Verdict>) -> Stage {
    let (status, message) = status_of(report, verdict);
    let forced_kill = matches!(status, Some("TO" | "OL" | "EL" | "ML"));
    let signal = report
        .and_then(|report| report.signal)
        .and_then(signal::name);
    let (stdout, stderr) = report.map_or_else(Default::default, |report| {
        (report.stdout.clone(), report.stderr.clone())
    });
    Stage {
        output: format!("{stdout}{stderr}"),
        stdout,
        stderr,
        code: report.and_then(|report| report.exit_code),
        signal: if forced_kill { Some(SIGKILL) } else { signal },
        message,
        status,
        cpu_time: report.map(|report| report.cpu_ms),
        wall_time: report.map(|report| report.wall_ms),
        memory: report.map(|report| report.peak_rss_bytes),
    }
}

/// Piston's status and message for a stage; `(None, None)` for one that succeeded.
fn status_of(
    report: Option<&StageReport>,
    verdict: Option<&Verdict>,
) -> (Option<&'static str>, Option<String>) {
    let ended = |status: &'static str, message: String| (Some(status), Some(message));
    match verdict.map(|verdict| (verdict.status, verdict)) {
        Some((RunStatus::MemoryLimitExceeded, verdict)) => ended(
            "ML",
            verdict
                .error_message
                .clone()
                .unwrap_or_else(|| "Memory limit exceeded".into()),
        ),
        Some((RunStatus::TimeLimitExceeded, verdict)) => match verdict.time_limit {
            Some(TimeLimit::Wall) => ended("TO", "Time limit exceeded (wall clock)".into()),
            _ => ended("TO", "Time limit exceeded".into()),
        },
        Some((RunStatus::OutputLimitExceeded, _)) => {
            if report.is_some_and(|report| report.stderr_truncated && !report.stdout_truncated) {
                ended("EL", "stderr length exceeded".into())
            } else {
                ended("OL", "stdout length exceeded".into())
            }
        }
        Some((RunStatus::InternalError, verdict)) => ended(
            "XX",
            verdict
                .error_message
                .clone()
                .unwrap_or_else(|| "internal error".into()),
        ),
        _ => report.map_or((None, None), exit_status),
    }
}

/// `RE` or `SG` for a stage that failed by itself, with isolate's messages.
fn exit_status(report: &StageReport) -> (Option<&'static str>, Option<String>) {
    match (report.status, report.signal, report.exit_code) {
        (StageStatus::Succeeded, _, _) => (None, None),
        (_, Some(signal), _) => (Some("SG"), Some(format!("Caught fatal signal {signal}"))),
        (_, None, code) => (
            Some("RE"),
            Some(format!("Exited with error status {}", code.unwrap_or(-1))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(status: StageStatus, code: Option<i32>, signal: Option<i32>) -> StageReport {
        StageReport {
            status,
            stdout: "out\n".into(),
            stderr: "err\n".into(),
            stdout_truncated: false,
            stderr_truncated: false,
            exit_code: code,
            signal,
            wall_ms: 20,
            cpu_ms: 12,
            peak_rss_bytes: 9_000_000,
            oom_killed: None,
        }
    }

    fn verdict(status: RunStatus, time_limit: Option<TimeLimit>) -> Verdict {
        Verdict {
            status,
            error_message: Some("the reason".into()),
            time_limit,
        }
    }

    fn judged(report: &StageReport, status: RunStatus, limit: Option<TimeLimit>) -> Stage {
        stage(Some(report), Some(&verdict(status, limit)))
    }

    #[test]
    fn a_stage_that_succeeded_has_no_status_and_output_is_stdout_then_stderr() {
        let stage = judged(
            &report(StageStatus::Succeeded, Some(0), None),
            RunStatus::Succeeded,
            None,
        );
        assert_eq!(stage.status, None);
        assert_eq!(stage.message, None);
        assert_eq!(stage.signal, None);
        assert_eq!(stage.code, Some(0));
        assert_eq!(stage.output, "out\nerr\n");
        assert_eq!(
            (stage.cpu_time, stage.wall_time, stage.memory),
            (Some(12), Some(20), Some(9_000_000))
        );
    }

    #[test]
    fn exits_and_signals_are_re_and_sg_with_isolates_messages() {
        let exited = judged(
            &report(StageStatus::Failed, Some(3), None),
            RunStatus::RuntimeError,
            None,
        );
        assert_eq!(exited.status, Some("RE"));
        assert_eq!(
            exited.message.as_deref(),
            Some("Exited with error status 3")
        );
        let killed = judged(
            &report(StageStatus::Failed, None, Some(11)),
            RunStatus::RuntimeError,
            None,
        );
        assert_eq!(killed.status, Some("SG"));
        assert_eq!(killed.signal, Some("SIGSEGV"));
        assert_eq!(killed.message.as_deref(), Some("Caught fatal signal 11"));
        let compile = judged(
            &report(StageStatus::Failed, Some(1), None),
            RunStatus::CompileError,
            None,
        );
        assert_eq!(compile.status, Some("RE"));
    }

    #[test]
    fn limits_are_to_ol_el_and_ml_killed_by_sigkill() {
        let timed_out = report(StageStatus::CpuTimedOut, None, Some(9));
        let cpu = judged(
            &timed_out,
            RunStatus::TimeLimitExceeded,
            Some(TimeLimit::Cpu),
        );
        assert_eq!((cpu.status, cpu.signal), (Some("TO"), Some("SIGKILL")));
        assert_eq!(cpu.message.as_deref(), Some("Time limit exceeded"));
        let wall = judged(
            &timed_out,
            RunStatus::TimeLimitExceeded,
            Some(TimeLimit::Wall),
        );
        assert_eq!(
            wall.message.as_deref(),
            Some("Time limit exceeded (wall clock)")
        );
        let mut loud = report(StageStatus::OutputLimitExceeded, None, Some(9));
        loud.stdout_truncated = true;
        assert_eq!(
            judged(&loud, RunStatus::OutputLimitExceeded, None).status,
            Some("OL")
        );
        loud.stdout_truncated = false;
        loud.stderr_truncated = true;
        let stderr = judged(&loud, RunStatus::OutputLimitExceeded, None);
        assert_eq!(
            (stderr.status, stderr.message.as_deref()),
            (Some("EL"), Some("stderr length exceeded"))
        );
        let oom = judged(
            &report(StageStatus::Failed, None, Some(9)),
            RunStatus::MemoryLimitExceeded,
            None,
        );
        assert_eq!((oom.status, oom.signal), (Some("ML"), Some("SIGKILL")));
        assert_eq!(oom.message.as_deref(), Some("the reason"));
    }

    #[test]
    fn a_job_the_runner_could_not_report_on_still_has_a_run_stage() {
        let stage = stage(None, Some(&verdict(RunStatus::InternalError, None)));
        assert_eq!(stage.status, Some("XX"));
        assert_eq!(stage.message.as_deref(), Some("the reason"));
        assert_eq!(
            (stage.stdout.as_str(), stage.code, stage.cpu_time),
            ("", None, None)
        );
    }
}
