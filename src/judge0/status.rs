//! Judge0's status ids, and how a codeexec execution maps onto them: which status, message,
//! exit code and signal a Judge0 client sees, and the expected-output check that turns an
//! accepted run into a wrong answer.

use serde::Serialize;

use codeexec_engine::{Execution, RunStatus};
use codeexec_protocol::StageReport;

/// Exit code Judge0 users read as "killed for memory" (128 + SIGKILL): Judge0 has no status of
/// its own for it.
pub const MEMORY_LIMIT_EXIT_CODE: i32 = 137;
/// SIGXFSZ: Judge0's status 8, which we give a program stopped for writing too much output.
const SIGXFSZ: i32 = 25;

/// Judge0 CE's fourteen statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InQueue = 1,
    Processing = 2,
    Accepted = 3,
    WrongAnswer = 4,
    TimeLimitExceeded = 5,
    CompilationError = 6,
    RuntimeErrorSigsegv = 7,
    RuntimeErrorSigxfsz = 8,
    RuntimeErrorSigfpe = 9,
    RuntimeErrorSigabrt = 10,
    RuntimeErrorNzec = 11,
    RuntimeErrorOther = 12,
    InternalError = 13,
    ExecFormatError = 14,
}

pub const ALL: [Status; 14] = [
    Status::InQueue,
    Status::Processing,
    Status::Accepted,
    Status::WrongAnswer,
    Status::TimeLimitExceeded,
    Status::CompilationError,
    Status::RuntimeErrorSigsegv,
    Status::RuntimeErrorSigxfsz,
    Status::RuntimeErrorSigfpe,
    Status::RuntimeErrorSigabrt,
    Status::RuntimeErrorNzec,
    Status::RuntimeErrorOther,
    Status::InternalError,
    Status::ExecFormatError,
];

impl Status {
    pub fn id(self) -> i32 {
        self as i32
    }

    pub fn from_id(id: i32) -> Option<Status> {
        ALL.into_iter().find(|status| status.id() == id)
    }

    pub fn description(self) -> &'static str {
        match self {
            Status::InQueue => "In Queue",
            Status::Processing => "Processing",
            Status::Accepted => "Accepted",
            Status::WrongAnswer => "Wrong Answer",
            Status::TimeLimitExceeded => "Time Limit Exceeded",
            Status::CompilationError => "Compilation Error",
            Status::RuntimeErrorSigsegv => "Runtime Error (SIGSEGV)",
            Status::RuntimeErrorSigxfsz => "Runtime Error (SIGXFSZ)",
            Status::RuntimeErrorSigfpe => "Runtime Error (SIGFPE)",
            Status::RuntimeErrorSigabrt => "Runtime Error (SIGABRT)",
            Status::RuntimeErrorNzec => "Runtime Error (NZEC)",
            Status::RuntimeErrorOther => "Runtime Error (Other)",
            Status::InternalError => "Internal Error",
            Status::ExecFormatError => "Exec Format Error",
        }
    }

    /// Judge0's runtime error status for a fatal signal.
    fn for_signal(signal: i32) -> Status {
        match signal {
            11 => Status::RuntimeErrorSigsegv,
            25 => Status::RuntimeErrorSigxfsz,
            8 => Status::RuntimeErrorSigfpe,
            6 => Status::RuntimeErrorSigabrt,
            _ => Status::RuntimeErrorOther,
        }
    }

    /// Whether the submission is still waiting or running.
    pub fn is_pending(self) -> bool {
        matches!(self, Status::InQueue | Status::Processing)
    }
}

/// `{id, description}`, as in a submission and in `GET /statuses`.
#[derive(Debug, Serialize)]
pub struct StatusBody {
    pub id: i32,
    pub description: &'static str,
}

impl From<Status> for StatusBody {
    fn from(status: Status) -> StatusBody {
        StatusBody {
            id: status.id(),
            description: status.description(),
        }
    }
}

/// What one run of a submission gives a Judge0 client.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub status: Status,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub compile_output: Option<String>,
    pub message: Option<String>,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    /// Run stage CPU time, seconds.
    pub time: f64,
    /// Run stage wall time, seconds.
    pub wall_time: f64,
    /// Peak memory, KB.
    pub memory_kb: i64,
}

/// Maps a finished execution onto Judge0's status, output fields and message.
/// `expected_output`, when given, turns an accepted run into a wrong answer when it differs.
pub fn outcome(execution: &Execution, expected_output: Option<&str>) -> RunOutcome {
    let run = execution.run.as_ref();
    let mut outcome = RunOutcome {
        status: Status::Accepted,
        stdout: run.and_then(|stage| non_empty(&stage.stdout)),
        stderr: run.and_then(|stage| non_empty(&stage.stderr)),
        compile_output: execution.compile.as_ref().and_then(compile_output),
        message: None,
        exit_code: run.and_then(|stage| stage.exit_code),
        exit_signal: run.and_then(|stage| stage.signal),
        time: run.map_or(0.0, |stage| stage.cpu_ms as f64 / 1000.0),
        wall_time: run.map_or(0.0, |stage| stage.wall_ms as f64 / 1000.0),
        memory_kb: run.map_or(0, |stage| (stage.peak_rss_bytes / 1024) as i64),
    };
    let message = execution.verdict.error_message.clone();
    match execution.verdict.status {
        RunStatus::Succeeded => {
            let stdout = outcome.stdout.as_deref().unwrap_or("");
            if expected_output.is_some_and(|expected| !same_output(expected, stdout)) {
                outcome.status = Status::WrongAnswer;
            }
        }
        RunStatus::CompileError => {
            outcome.status = Status::CompilationError;
            if outcome.compile_output.is_none() {
                outcome.compile_output = message;
            }
        }
        RunStatus::TimeLimitExceeded if run.is_none() => {
            outcome.status = Status::CompilationError;
            outcome.compile_output = Some("Compilation time limit exceeded.".into());
        }
        RunStatus::TimeLimitExceeded => {
            outcome.status = Status::TimeLimitExceeded;
            outcome.message = Some("Time limit exceeded".into());
        }
        RunStatus::RuntimeError => match run.and_then(|stage| stage.signal) {
            Some(signal) => {
                outcome.status = Status::for_signal(signal);
                outcome.message = Some(format!("Caught fatal signal {signal}"));
            }
            None => {
                let code = outcome.exit_code.unwrap_or(1);
                outcome.status = Status::RuntimeErrorNzec;
                outcome.message = Some(format!("Exited with error status {code}"));
            }
        },
        RunStatus::MemoryLimitExceeded => {
            outcome.status = Status::RuntimeErrorNzec;
            outcome.exit_code = Some(MEMORY_LIMIT_EXIT_CODE);
            outcome.exit_signal = None;
            outcome.message = Some(format!("Exited with error status {MEMORY_LIMIT_EXIT_CODE}"));
        }
        RunStatus::OutputLimitExceeded => {
            outcome.status = Status::RuntimeErrorSigxfsz;
            outcome.exit_signal = Some(SIGXFSZ);
            outcome.message = Some(format!("Caught fatal signal {SIGXFSZ}"));
        }
        RunStatus::InternalError => {
            outcome.status = Status::InternalError;
            outcome.message = message;
        }
    }
    outcome
}

/// What the compiler said, stdout then stderr, as Judge0 collects it with `2>&1`.
fn compile_output(stage: &StageReport) -> Option<String> {
    non_empty(&format!("{}{}", stage.stdout, stage.stderr))
}

/// Judge0 stores an empty output as null.
fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// Judge0's comparison: each line without its trailing whitespace, and no trailing whitespace
/// or blank lines at the end (isolate_job.rb `strip`).
pub fn same_output(expected: &str, actual: &str) -> bool {
    strip_output(expected) == strip_output(actual)
}

fn strip_output(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').map(rstrip).collect();
    rstrip(&lines.join("\n")).to_string()
}

/// Ruby's `rstrip`: trailing whitespace and NUL bytes.
fn rstrip(text: &str) -> &str {
    text.trim_end_matches([' ', '\t', '\n', '\u{b}', '\u{c}', '\r', '\0'])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use codeexec_engine::{JobSpec, Language, Timings, Verdict};
    use codeexec_protocol::StageStatus;

    use super::*;

    fn stage(
        status: StageStatus,
        stdout: &str,
        exit_code: Option<i32>,
        signal: Option<i32>,
    ) -> StageReport {
        StageReport {
            status,
            stdout: stdout.into(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            exit_code,
            signal,
            wall_ms: 1500,
            cpu_ms: 12,
            peak_rss_bytes: 10 * 1024 * 1024,
            oom_killed: Some(false),
        }
    }

    fn execution(
        status: RunStatus,
        compile: Option<StageReport>,
        run: Option<StageReport>,
    ) -> Execution {
        let settings = crate::config::Settings::repository_defaults();
        let language = Arc::new(Language {
            name: "cpp".into(),
            settings: settings.languages["cpp"].clone(),
        });
        let zero = Duration::ZERO;
        Execution {
            spec: JobSpec {
                id: uuid::Uuid::nil(),
                language,
                files: vec![],
                entry: "main.cpp".into(),
                stdin: String::new(),
                args: vec![],
                timeout_ms: 1000,
                wall_timeout_ms: 2000,
                memory_mb: 64,
                save_metric: false,
            },
            version: None,
            verdict: Verdict {
                status,
                error_message: Some("why".into()),
                time_limit: None,
            },
            compile,
            run,
            timings: Timings {
                queue: zero,
                acquire: zero,
                compile: zero,
                run: zero,
                exchange: zero,
                total: zero,
            },
        }
    }

    #[test]
    fn an_accepted_run_is_checked_against_the_expected_output() {
        let run = Some(stage(StageStatus::Succeeded, "42\n", Some(0), None));
        let done = execution(RunStatus::Succeeded, None, run);
        let accepted = outcome(&done, Some("42"));
        assert_eq!(accepted.status, Status::Accepted);
        assert_eq!(accepted.stdout.as_deref(), Some("42\n"));
        assert_eq!(accepted.time, 0.012);
        assert_eq!(accepted.wall_time, 1.5);
        assert_eq!(accepted.memory_kb, 10 * 1024);
        assert_eq!(outcome(&done, Some("41")).status, Status::WrongAnswer);
        assert_eq!(outcome(&done, None).status, Status::Accepted);
    }

    #[test]
    fn the_memory_limit_is_nzec_with_exit_code_137() {
        let run = Some(stage(StageStatus::Failed, "", None, Some(9)));
        let killed = outcome(&execution(RunStatus::MemoryLimitExceeded, None, run), None);
        assert_eq!(killed.status, Status::RuntimeErrorNzec);
        assert_eq!(killed.exit_code, Some(137));
        assert_eq!(killed.exit_signal, None);
        assert_eq!(
            killed.message.as_deref(),
            Some("Exited with error status 137")
        );
    }

    #[test]
    fn runtime_errors_follow_exit_codes_and_signals() {
        let exited = Some(stage(StageStatus::Failed, "", Some(3), None));
        let nzec = outcome(&execution(RunStatus::RuntimeError, None, exited), None);
        assert_eq!(nzec.status, Status::RuntimeErrorNzec);
        assert_eq!(nzec.message.as_deref(), Some("Exited with error status 3"));
        let segfault = Some(stage(StageStatus::Failed, "", None, Some(11)));
        let sigsegv = outcome(&execution(RunStatus::RuntimeError, None, segfault), None);
        assert_eq!(sigsegv.status, Status::RuntimeErrorSigsegv);
        assert_eq!(sigsegv.exit_signal, Some(11));
    }

    #[test]
    fn compile_failures_time_limits_and_output_limits() {
        let mut compiler = stage(StageStatus::Failed, "", Some(1), None);
        compiler.stderr = "main.cpp:1: error".into();
        let failed = outcome(
            &execution(RunStatus::CompileError, Some(compiler), None),
            None,
        );
        assert_eq!(failed.status, Status::CompilationError);
        assert_eq!(failed.compile_output.as_deref(), Some("main.cpp:1: error"));
        assert_eq!(failed.stdout, None);

        let slow = Some(stage(StageStatus::TimedOut, "", None, None));
        let slow_compile = outcome(&execution(RunStatus::TimeLimitExceeded, slow, None), None);
        assert_eq!(slow_compile.status, Status::CompilationError);
        assert_eq!(
            slow_compile.compile_output.as_deref(),
            Some("Compilation time limit exceeded.")
        );

        let endless = Some(stage(StageStatus::TimedOut, "", None, Some(9)));
        let timed_out = outcome(
            &execution(RunStatus::TimeLimitExceeded, None, endless),
            None,
        );
        assert_eq!(timed_out.status, Status::TimeLimitExceeded);

        let flood = Some(stage(
            StageStatus::OutputLimitExceeded,
            "yyy",
            None,
            Some(9),
        ));
        let flooded = outcome(
            &execution(RunStatus::OutputLimitExceeded, None, flood),
            None,
        );
        assert_eq!(flooded.status, Status::RuntimeErrorSigxfsz);

        let lost = outcome(&execution(RunStatus::InternalError, None, None), None);
        assert_eq!(lost.status, Status::InternalError);
        assert_eq!(lost.message.as_deref(), Some("why"));
    }

    #[test]
    fn trailing_whitespace_and_blank_lines_do_not_make_a_wrong_answer() {
        assert!(same_output("1\n2\n", "1  \n2\t\n\n\n"));
        assert!(same_output("hello", "hello\r\n"));
        assert!(same_output("", "\n \n"));
    }

    #[test]
    fn leading_whitespace_and_changed_lines_do() {
        assert!(!same_output("1\n2", " 1\n2"));
        assert!(!same_output("1\n2", "1\n\n2"));
        assert!(!same_output("1", "2"));
    }

    #[test]
    fn statuses_carry_judge0_ids_and_descriptions() {
        assert_eq!(Status::from_id(11), Some(Status::RuntimeErrorNzec));
        assert_eq!(
            Status::RuntimeErrorNzec.description(),
            "Runtime Error (NZEC)"
        );
        assert_eq!(Status::from_id(15), None);
        let ids: Vec<i32> = ALL.iter().map(|status| status.id()).collect();
        assert_eq!(ids, (1..=14).collect::<Vec<_>>());
    }

    #[test]
    fn signals_map_to_judge0_runtime_errors() {
        assert_eq!(Status::for_signal(11), Status::RuntimeErrorSigsegv);
        assert_eq!(Status::for_signal(8), Status::RuntimeErrorSigfpe);
        assert_eq!(Status::for_signal(6), Status::RuntimeErrorSigabrt);
        assert_eq!(Status::for_signal(25), Status::RuntimeErrorSigxfsz);
        assert_eq!(Status::for_signal(9), Status::RuntimeErrorOther);
    }
}
