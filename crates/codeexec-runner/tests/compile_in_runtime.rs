//! The compile stage served by a pre-started runtime whose loader compiles (Java's, and
//! TypeScript's, which compiles only), driven with a stand-in for the runtime: a shell script that
//! speaks the loader's side of the pipes (`ready` on fd 4, the compile request on fd 3, the report
//! on fd 4, then, for Java, the program's argv on fd 3).

mod common;

use codeexec_protocol::{JobFrame, ResultFrame, StageStatus};
use common::{parse_result, run_raw_with, sh, stage, Sandbox};

/// Runs `frame` on a runner that pre-starts "java" as `sh -c LOADER`.
fn run_with_loader(loader: &str, frame: &JobFrame) -> ResultFrame {
    run_with_language_loader("java", loader, frame)
}

/// Runs `frame` on a runner that pre-starts `language` as `sh -c LOADER`.
fn run_with_language_loader(language: &str, loader: &str, frame: &JobFrame) -> ResultFrame {
    run_with_args(&["--prestart", language, "sh", "-c", loader], frame)
}

/// Runs `frame` on a runner that pre-starts TypeScript's compiler as `sh -c LOADER` and, beside
/// it, JavaScript's runtime for the program as `sh -c PROGRAM_LOADER`.
fn run_with_program_runtime(loader: &str, program_loader: &str, frame: &JobFrame) -> ResultFrame {
    let program = serde_json::to_string(&["javascript", "sh", "-c", program_loader]).unwrap();
    let args = [
        "--prestart-program",
        &program,
        "--prestart",
        "typescript",
        "sh",
        "-c",
        loader,
    ];
    run_with_args(&args, frame)
}

fn run_with_args(args: &[&str], frame: &JobFrame) -> ResultFrame {
    let sandbox = Sandbox::new();
    let outcome = run_raw_with(sandbox.path(), args, serde_json::to_vec(frame).unwrap());
    assert_eq!(outcome.exit_code, Some(0));
    parse_result(&outcome.stdout)
}

/// A job whose compile stage, run afresh, would print `compiled afresh`, and whose program
/// argv is `prog a`.
fn compiled_job() -> JobFrame {
    let mut frame = sh("echo ran afresh");
    frame.compile = Some(stage(&["sh", "-c", "echo compiled afresh >&2"]));
    frame.program_argv = Some(vec!["prog".into(), "a".into()]);
    frame
}

/// Reads the compile request: the runner writes it at once, in fewer bytes than a pipe writes
/// atomically, so one read takes all of it.
const READ_REQUEST: &str = "dd bs=65536 count=1 <&3 >/dev/null 2>&1";

#[test]
fn a_successful_compile_in_the_runtime_hands_it_the_program() {
    let loader = format!(
        "printf 'ready\\n' >&4; {READ_REQUEST}; printf '0\\n0\\n5\\nnote\\n' >&4; \
         printf 'argv: '; cat <&3 | tr '\\0' ' '; echo"
    );
    let result = run_with_loader(&loader, &compiled_job());
    let compile = result.compile.unwrap();
    assert_eq!(compile.status, StageStatus::Succeeded, "{compile:?}");
    assert_eq!(compile.stderr, "note\n");
    assert_eq!(compile.exit_code, Some(0));
    let run = result.run.unwrap();
    assert_eq!(run.stdout, "argv: prog a\n", "{run:?}");
}

#[test]
fn a_failed_compile_in_the_runtime_is_reported_and_nothing_runs() {
    let loader = format!(
        "printf 'ready\\n' >&4; {READ_REQUEST}; printf '1\\n0\\n14\\nMain.java:1: x' >&4; \
         cat <&3 >/dev/null; echo ran"
    );
    let result = run_with_loader(&loader, &compiled_job());
    let compile = result.compile.unwrap();
    assert_eq!(compile.status, StageStatus::Failed);
    assert_eq!(compile.exit_code, Some(1));
    assert_eq!(compile.stderr, "Main.java:1: x");
    assert_eq!(result.run, None);
}

#[test]
fn diagnostics_past_the_output_limit_are_cut_there() {
    let loader =
        format!("printf 'ready\\n' >&4; {READ_REQUEST}; printf '1\\n0\\n8\\n12345678' >&4");
    let mut frame = compiled_job();
    frame.output_limit_bytes = 4;
    let result = run_with_loader(&loader, &frame);
    let compile = result.compile.unwrap();
    assert_eq!(compile.status, StageStatus::OutputLimitExceeded);
    assert_eq!(compile.stderr, "1234");
    assert!(compile.stderr_truncated);
    assert_eq!(result.run, None);
    // Each stream is cut at the limit on its own, and stdout's rest does not end up in stderr.
    let loader =
        format!("printf 'ready\\n' >&4; {READ_REQUEST}; printf '2\\n6\\nabcdef3\\nxyz' >&4");
    let result = run_with_loader(&loader, &frame);
    let compile = result.compile.unwrap();
    assert_eq!(compile.status, StageStatus::OutputLimitExceeded);
    assert_eq!(
        (compile.stdout.as_str(), compile.stderr.as_str()),
        ("abcd", "xyz")
    );
    assert!(compile.stdout_truncated && !compile.stderr_truncated);
}

/// TypeScript's runtime reports what tsc prints on stdout, and compiles only: the program then
/// starts afresh, and the runtime never gets its argv.
#[test]
fn a_runtime_that_compiles_only_leaves_the_run_to_a_fresh_process() {
    let loader = format!(
        "printf 'ready\\n' >&4; {READ_REQUEST}; printf '0\\n9\\ntsc says\\n0\\n' >&4; \
         cat <&3 >/dev/null; echo runtime ran"
    );
    let result = run_with_language_loader("typescript", &loader, &compiled_job());
    let compile = result.compile.unwrap();
    assert_eq!(compile.status, StageStatus::Succeeded, "{compile:?}");
    assert_eq!(
        (compile.stdout.as_str(), compile.stderr.as_str()),
        ("tsc says\n", "")
    );
    assert_eq!(result.run.unwrap().stdout, "ran afresh\n");
}

#[test]
fn a_compile_past_its_time_limit_is_stopped_and_reported_so() {
    let loader = "printf 'ready\\n' >&4; echo 'still compiling' >&2; exec sleep 60";
    let mut frame = compiled_job();
    frame.compile.as_mut().unwrap().wall_time_limit_ms = 300;
    let result = run_with_loader(loader, &frame);
    let compile = result.compile.unwrap();
    assert_eq!(compile.status, StageStatus::TimedOut, "{compile:?}");
    assert_eq!(compile.stderr, "still compiling\n");
    assert_eq!(result.run, None);
}

#[test]
fn a_runtime_that_never_warms_up_leaves_the_job_to_a_fresh_compile() {
    let mut frame = compiled_job();
    // Half of it waiting for the runtime, the other half for compiling afresh.
    frame.compile.as_mut().unwrap().wall_time_limit_ms = 2000;
    let result = run_with_loader("exec sleep 60", &frame);
    let compile = result.compile.unwrap();
    assert_eq!(compile.status, StageStatus::Succeeded, "{compile:?}");
    assert_eq!(compile.stderr, "compiled afresh\n");
    assert_eq!(result.run.unwrap().stdout, "ran afresh\n");
}

#[test]
fn a_runtime_that_compiles_serves_no_job_without_a_compile_stage() {
    let mut frame = compiled_job();
    frame.compile = None;
    let result = run_with_loader("printf 'ready\\n' >&4; cat <&3; echo loader ran", &frame);
    assert_eq!(result.compile, None);
    assert_eq!(result.run.unwrap().stdout, "ran afresh\n");
}

/// The stand-in for JavaScript's runtime: ready, then it prints the argv it is handed.
const PROGRAM_LOADER: &str =
    "printf 'ready\\n' >&4; exec 4>&-; printf 'argv: '; cat <&3 | tr '\\0' ' '; echo";

/// Beside a runtime that compiles only, the runtime started for the program runs it once the
/// compile has succeeded: it gets the program's argv, as a pre-started run stage's runtime does.
#[test]
fn the_runtime_beside_one_that_compiles_only_runs_its_program() {
    let loader = format!("printf 'ready\\n' >&4; {READ_REQUEST}; printf '0\\n0\\n0\\n' >&4");
    let result = run_with_program_runtime(&loader, PROGRAM_LOADER, &compiled_job());
    assert_eq!(result.compile.unwrap().status, StageStatus::Succeeded);
    assert_eq!(result.run.unwrap().stdout, "argv: prog a\n");
    // A failed compile runs nothing.
    let loader = format!("printf 'ready\\n' >&4; {READ_REQUEST}; printf '2\\n4\\nbad\\n0\\n' >&4");
    let result = run_with_program_runtime(&loader, PROGRAM_LOADER, &compiled_job());
    let compile = result.compile.unwrap();
    assert_eq!(
        (compile.status, compile.stdout.as_str()),
        (StageStatus::Failed, "bad\n")
    );
    assert_eq!(result.run, None);
    // A compile that does not happen in the runtime (here: it never warms up) leaves the program
    // to a fresh process too.
    let mut frame = compiled_job();
    frame.compile.as_mut().unwrap().wall_time_limit_ms = 2000;
    let result = run_with_program_runtime("exec sleep 60", PROGRAM_LOADER, &frame);
    assert_eq!(result.compile.unwrap().stderr, "compiled afresh\n");
    assert_eq!(result.run.unwrap().stdout, "ran afresh\n");
}

#[test]
fn a_program_runtime_needs_a_runtime_to_stand_beside() {
    let program = serde_json::to_string(&["javascript", "sh", "-c", PROGRAM_LOADER]).unwrap();
    let sandbox = Sandbox::new();
    let outcome = run_raw_with(
        sandbox.path(),
        &["--prestart-program", &program],
        serde_json::to_vec(&compiled_job()).unwrap(),
    );
    // Refused before it says it is ready: the error is its whole answer.
    assert_eq!(outcome.exit_code, Some(2));
    let result: ResultFrame = serde_json::from_slice(&outcome.stdout).unwrap();
    let error = result.runner_error.unwrap();
    assert!(
        error.contains("--prestart-program goes with --prestart"),
        "{error}"
    );
}
