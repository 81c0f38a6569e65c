//! Turning what the runner and Docker reported into the job's outcome: one status a user can act
//! on, and the message that explains it.

use codeexec_protocol::{StageReport, StageStatus};
use serde::Serialize;

use crate::job::JobSpec;
use crate::runtime::ContainerReport;
use crate::settings::GlobalLimits;

/// How a job ended, as the API reports it in `runTimeStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    CompileError,
    RuntimeError,
    TimeLimitExceeded,
    MemoryLimitExceeded,
    OutputLimitExceeded,
    InternalError,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Which of a stage's time limits ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeLimit {
    /// The CPU time its processes used.
    Cpu,
    /// The wall time it took: the backstop for a program that sleeps or blocks.
    Wall,
}

/// The status of a job and the sentence or compiler output that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: RunStatus,
    pub error_message: Option<String>,
    /// For `time_limit_exceeded`: which limit it was.
    pub time_limit: Option<TimeLimit>,
}

/// Decides the job's status from the container's report.
pub fn judge(spec: &JobSpec, limits: &GlobalLimits, report: &ContainerReport) -> Verdict {
    if let Some(oom) = memory_verdict(spec, report) {
        return oom;
    }
    let compiled = report
        .result
        .as_ref()
        .ok()
        .and_then(|frame| frame.compile.as_ref());
    let frame = match &report.result {
        Ok(frame) => frame,
        Err(reason) => return verdict(RunStatus::InternalError, reason.clone()),
    };
    if let Some(error) = &frame.runner_error {
        return verdict(
            RunStatus::InternalError,
            format!("the runner failed: {error}"),
        );
    }
    let compile_limits = StageLimits::compile(spec, limits);
    let compile_failed = |stage: &&StageReport| {
        stage.status != StageStatus::Succeeded || compile_limits.hit_by(stage).is_some()
    };
    if let Some(compile) = compiled.filter(compile_failed) {
        return judge_compile(compile_limits, compile);
    }
    match &frame.run {
        Some(run) => judge_run(spec, run),
        None => verdict(
            RunStatus::InternalError,
            "the runner reported no run stage".into(),
        ),
    }
}

/// `memory_limit_exceeded`, naming the stage that hit the limit, when the OOM killer struck. The
/// runner's count from the container's memory cgroup, read around each stage, says which stage
/// it was, with no race against the container's exit. Docker's OOMKilled flag is the fallback
/// when the runner could not report (the OOM killer took it too) or could not read its cgroup.
fn memory_verdict(spec: &JobSpec, report: &ContainerReport) -> Option<Verdict> {
    let limit = spec.memory_mb;
    let exceeded = |what: &str| {
        verdict(
            RunStatus::MemoryLimitExceeded,
            format!("{what} exceeded the memory limit of {limit} MB"),
        )
    };
    let oom_in = |stage: Option<&StageReport>| stage.is_some_and(|s| s.oom_killed == Some(true));
    match &report.result {
        Ok(frame) if oom_in(frame.compile.as_ref()) => Some(exceeded("compilation")),
        Ok(frame) if oom_in(frame.run.as_ref()) => Some(exceeded("the program")),
        _ if !report.oom_killed => None,
        Ok(frame) if frame.run.is_some() => Some(exceeded("the program")),
        Ok(_) => Some(exceeded("compilation")),
        Err(_) if spec.language.settings.compile.is_empty() => Some(exceeded(
            "the program (and the runner reporting on it, so no output is kept)",
        )),
        Err(_) => Some(exceeded(
            "the job (and the runner reporting on it, so neither its stage nor its output is known)",
        )),
    }
}

/// A stage's two time limits, in milliseconds.
#[derive(Debug, Clone, Copy)]
struct StageLimits {
    cpu_ms: u64,
    wall_ms: u64,
}

impl StageLimits {
    fn compile(spec: &JobSpec, limits: &GlobalLimits) -> StageLimits {
        let cpu_ms = spec.language.settings.compile_timeout_ms;
        StageLimits {
            cpu_ms,
            wall_ms: limits.compile_wall_timeout_ms(cpu_ms),
        }
    }

    fn run(spec: &JobSpec) -> StageLimits {
        StageLimits {
            cpu_ms: spec.timeout_ms,
            wall_ms: spec.wall_timeout_ms,
        }
    }

    /// The limit that ended `stage`, if one did. The runner kills a stage at its limit; the host
    /// checks the figures against the limits as well, so a stage that ended between its limit and
    /// the kill is judged on its time all the same.
    fn hit_by(self, stage: &StageReport) -> Option<TimeLimit> {
        let ended_by_itself = matches!(stage.status, StageStatus::Succeeded | StageStatus::Failed);
        match stage.status {
            StageStatus::CpuTimedOut => Some(TimeLimit::Cpu),
            StageStatus::TimedOut => Some(TimeLimit::Wall),
            _ if ended_by_itself && stage.cpu_ms > self.cpu_ms => Some(TimeLimit::Cpu),
            _ if ended_by_itself && stage.wall_ms > self.wall_ms => Some(TimeLimit::Wall),
            _ => None,
        }
    }

    /// "`who` exceeded its CPU time limit of ...", saying for wall time how little CPU it used.
    fn exceeded(self, who: &str, limit: TimeLimit, stage: &StageReport) -> Verdict {
        let message = match limit {
            TimeLimit::Cpu => format!("{who} exceeded its CPU time limit of {} ms", self.cpu_ms),
            TimeLimit::Wall => format!(
                "{who} exceeded its wall time limit of {} ms, having used {} ms of CPU time: \
                 it was mostly waiting (sleeping, blocked, or reading input)",
                self.wall_ms, stage.cpu_ms
            ),
        };
        Verdict {
            status: RunStatus::TimeLimitExceeded,
            error_message: Some(message),
            time_limit: Some(limit),
        }
    }
}

fn judge_compile(limits: StageLimits, compile: &StageReport) -> Verdict {
    if let Some(limit) = limits.hit_by(compile) {
        return limits.exceeded("compilation", limit, compile);
    }
    match compile.status {
        StageStatus::FailedToStart => verdict(
            RunStatus::InternalError,
            format!(
                "the compiler could not be started: {}",
                compile.stderr.trim_end()
            ),
        ),
        _ => verdict(RunStatus::CompileError, compiler_message(compile)),
    }
}

fn judge_run(spec: &JobSpec, run: &StageReport) -> Verdict {
    let limits = StageLimits::run(spec);
    if let Some(limit) = limits.hit_by(run) {
        return limits.exceeded("the program", limit, run);
    }
    match run.status {
        StageStatus::Succeeded => Verdict {
            status: RunStatus::Succeeded,
            error_message: None,
            time_limit: None,
        },
        // hit_by names the limit of every stage the runner timed out, so this arm is not taken.
        StageStatus::TimedOut | StageStatus::CpuTimedOut => {
            let limit = if run.status == StageStatus::CpuTimedOut {
                TimeLimit::Cpu
            } else {
                TimeLimit::Wall
            };
            limits.exceeded("the program", limit, run)
        }
        StageStatus::OutputLimitExceeded => verdict(
            RunStatus::OutputLimitExceeded,
            "the program wrote more output than the limit and was stopped".into(),
        ),
        // What the compiler left is the job's doing: Go's `package lib` builds an archive, not a
        // program, and the compiler says nothing.
        StageStatus::FailedToStart if runs_what_it_compiled(spec) => verdict(
            RunStatus::CompileError,
            format!(
                "the compiler built nothing that can run (is the code a whole program, with its \
                 main?): {}",
                run.stderr.trim_end()
            ),
        ),
        StageStatus::FailedToStart => verdict(
            RunStatus::InternalError,
            format!(
                "the program could not be started: {}",
                run.stderr.trim_end()
            ),
        ),
        StageStatus::Failed => verdict(RunStatus::RuntimeError, failure_message(run)),
    }
}

/// Whether the run stage starts a file in the job's folder that its compile stage made, rather
/// than a program of the image.
fn runs_what_it_compiled(spec: &JobSpec) -> bool {
    let settings = &spec.language.settings;
    let in_the_job = format!("{}/", codeexec_protocol::SANDBOX_DIR);
    !settings.compile.is_empty()
        && settings
            .run
            .first()
            .is_some_and(|program| program.starts_with(&in_the_job))
}

/// Compilers write diagnostics to stderr, a few to stdout.
fn compiler_message(compile: &StageReport) -> String {
    let text = if compile.stderr.trim().is_empty() {
        &compile.stdout
    } else {
        &compile.stderr
    };
    if text.trim().is_empty() {
        failure_message(compile)
    } else {
        text.clone()
    }
}

/// The program's stderr, or a sentence when it printed nothing there.
fn failure_message(stage: &StageReport) -> String {
    if !stage.stderr.trim().is_empty() {
        return stage.stderr.clone();
    }
    match (stage.exit_code, stage.signal) {
        (_, Some(signal)) => format!("the program was killed by signal {signal}"),
        (Some(code), None) => format!("the program exited with code {code}"),
        (None, None) => "the program failed".into(),
    }
}

fn verdict(status: RunStatus, message: String) -> Verdict {
    Verdict {
        status,
        error_message: Some(message),
        time_limit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::repository_registry;
    use codeexec_protocol::ResultFrame;
    use uuid::Uuid;

    fn spec() -> JobSpec {
        spec_of("cpp")
    }

    fn spec_of(language: &str) -> JobSpec {
        let registry = repository_registry();
        JobSpec {
            id: Uuid::nil(),
            language: registry.resolve(language).unwrap().clone(),
            files: vec![],
            entry: "main.cpp".into(),
            stdin: String::new(),
            args: vec![],
            timeout_ms: 2000,
            wall_timeout_ms: 4000,
            memory_mb: 64,
            save_metric: false,
        }
    }

    fn limits() -> GlobalLimits {
        crate::test_support::repository_settings().limits
    }

    fn stage(status: StageStatus, exit_code: Option<i32>, signal: Option<i32>) -> StageReport {
        StageReport {
            status,
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            exit_code,
            signal,
            wall_ms: 1,
            cpu_ms: 1,
            peak_rss_bytes: 1,
            oom_killed: Some(false),
        }
    }

    fn report(
        compile: Option<StageReport>,
        run: Option<StageReport>,
        oom: bool,
    ) -> ContainerReport {
        ContainerReport {
            result: Ok(ResultFrame {
                compile,
                run,
                runner_error: None,
            }),
            oom_killed: oom,
        }
    }

    #[test]
    fn sigkill_without_docker_oom_flag_is_a_runtime_error() {
        let killed = stage(StageStatus::Failed, None, Some(9));
        let verdict = judge(
            &spec(),
            &limits(),
            &report(None, Some(killed.clone()), false),
        );
        assert_eq!(verdict.status, RunStatus::RuntimeError);
        assert_eq!(
            verdict.error_message.unwrap(),
            "the program was killed by signal 9"
        );
        let verdict = judge(&spec(), &limits(), &report(None, Some(killed), true));
        assert_eq!(verdict.status, RunStatus::MemoryLimitExceeded);
    }

    #[test]
    fn the_runners_cgroup_count_names_the_stage_that_hit_the_limit() {
        let mut run = stage(StageStatus::Failed, None, Some(9));
        run.oom_killed = Some(true);
        let compiled = stage(StageStatus::Succeeded, Some(0), None);
        let verdict = judge(
            &spec(),
            &limits(),
            &report(Some(compiled), Some(run), false),
        );
        assert_eq!(verdict.status, RunStatus::MemoryLimitExceeded);
        assert_eq!(
            verdict.error_message.unwrap(),
            "the program exceeded the memory limit of 64 MB"
        );
        let mut compile = stage(StageStatus::Failed, None, Some(9));
        compile.oom_killed = Some(true);
        let verdict = judge(&spec(), &limits(), &report(Some(compile), None, false));
        assert_eq!(
            verdict.error_message.unwrap(),
            "compilation exceeded the memory limit of 64 MB"
        );
    }

    #[test]
    fn a_runner_killed_with_its_interpreted_program_blames_the_program() {
        let mut python = spec();
        python.language = repository_registry().resolve("python").unwrap().clone();
        let report = ContainerReport {
            result: Err("the container exited without a result".into()),
            oom_killed: true,
        };
        let verdict = judge(&python, &limits(), &report);
        assert_eq!(verdict.status, RunStatus::MemoryLimitExceeded);
        assert!(verdict
            .error_message
            .unwrap()
            .starts_with("the program (and the runner"));
    }

    #[test]
    fn a_stage_that_ran_past_a_limit_is_judged_on_its_figures() {
        let compiled = stage(StageStatus::Succeeded, Some(0), None);
        let judged = |run: StageReport| {
            judge(
                &spec(),
                &limits(),
                &report(Some(compiled.clone()), Some(run), false),
            )
        };
        let mut busy = stage(StageStatus::Succeeded, Some(0), None);
        busy.cpu_ms = 2001;
        busy.wall_ms = 2001;
        let verdict = judged(busy);
        assert_eq!(verdict.status, RunStatus::TimeLimitExceeded);
        assert_eq!(verdict.time_limit, Some(TimeLimit::Cpu));
        let mut waiting = stage(StageStatus::Succeeded, Some(0), None);
        waiting.wall_ms = 4001;
        let verdict = judged(waiting);
        assert_eq!(verdict.time_limit, Some(TimeLimit::Wall));
        let mut on_time = stage(StageStatus::Succeeded, Some(0), None);
        on_time.cpu_ms = 2000;
        on_time.wall_ms = 4000;
        assert_eq!(judged(on_time).status, RunStatus::Succeeded);
        let mut slow_compile = stage(StageStatus::Succeeded, Some(0), None);
        slow_compile.cpu_ms = 60_001;
        let verdict = judge(&spec(), &limits(), &report(Some(slow_compile), None, false));
        assert_eq!(verdict.status, RunStatus::TimeLimitExceeded);
        assert!(verdict
            .error_message
            .unwrap()
            .starts_with("compilation exceeded its CPU time limit"));
    }

    #[test]
    fn the_message_says_which_time_limit_the_runner_enforced() {
        let compiled = stage(StageStatus::Succeeded, Some(0), None);
        let cpu = stage(StageStatus::CpuTimedOut, None, Some(9));
        let verdict = judge(
            &spec(),
            &limits(),
            &report(Some(compiled.clone()), Some(cpu), false),
        );
        assert_eq!(
            verdict.error_message.unwrap(),
            "the program exceeded its CPU time limit of 2000 ms"
        );
        let wall = stage(StageStatus::TimedOut, None, Some(9));
        let verdict = judge(
            &spec(),
            &limits(),
            &report(Some(compiled), Some(wall), false),
        );
        assert_eq!(verdict.time_limit, Some(TimeLimit::Wall));
        assert!(verdict
            .error_message
            .unwrap()
            .starts_with("the program exceeded its wall time limit of 4000 ms, having used 1 ms"));
    }

    #[test]
    fn compile_failure_carries_the_compiler_message() {
        let mut compile = stage(StageStatus::Failed, Some(1), None);
        compile.stderr = "main.cpp:1:1: error: expected ';'".into();
        let verdict = judge(&spec(), &limits(), &report(Some(compile), None, false));
        assert_eq!(verdict.status, RunStatus::CompileError);
        assert!(verdict.error_message.unwrap().contains("expected ';'"));
    }

    #[test]
    fn run_statuses_map_one_to_one() {
        let cases = [
            (StageStatus::Succeeded, RunStatus::Succeeded),
            (StageStatus::TimedOut, RunStatus::TimeLimitExceeded),
            (StageStatus::CpuTimedOut, RunStatus::TimeLimitExceeded),
            (
                StageStatus::OutputLimitExceeded,
                RunStatus::OutputLimitExceeded,
            ),
            (StageStatus::FailedToStart, RunStatus::CompileError),
            (StageStatus::Failed, RunStatus::RuntimeError),
        ];
        let compiled = stage(StageStatus::Succeeded, Some(0), None);
        for (stage_status, expected) in cases {
            let run = stage(stage_status, Some(3), None);
            let verdict = judge(
                &spec(),
                &limits(),
                &report(Some(compiled.clone()), Some(run), false),
            );
            assert_eq!(verdict.status, expected, "{stage_status:?}");
        }
    }

    #[test]
    fn a_program_that_cannot_start_is_the_compilers_doing_only_if_the_compiler_made_it() {
        let compiled = stage(StageStatus::Succeeded, Some(0), None);
        let mut unstartable = stage(StageStatus::FailedToStart, None, None);
        unstartable.stderr = "cannot start \"/sandbox/main\": Permission denied".into();
        let built_an_archive = report(Some(compiled), Some(unstartable.clone()), false);
        let verdict = judge(&spec_of("go"), &limits(), &built_an_archive);
        assert_eq!(verdict.status, RunStatus::CompileError);
        assert!(verdict
            .error_message
            .unwrap()
            .ends_with("main?): cannot start \"/sandbox/main\": Permission denied"));
        let missing_interpreter = report(None, Some(unstartable), false);
        let verdict = judge(&spec_of("python"), &limits(), &missing_interpreter);
        assert_eq!(verdict.status, RunStatus::InternalError);
    }

    #[test]
    fn a_missing_result_is_an_internal_error_with_its_reason() {
        let report = ContainerReport {
            result: Err("the container exited without a result".into()),
            oom_killed: false,
        };
        let verdict = judge(&spec(), &limits(), &report);
        assert_eq!(verdict.status, RunStatus::InternalError);
        assert_eq!(
            verdict.error_message.unwrap(),
            "the container exited without a result"
        );
    }
}
