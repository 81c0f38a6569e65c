//! The run stage: output, stdin, arguments, exit codes, signals and files.

mod common;

use codeexec_protocol::{SourceFile, StageStatus};
use common::{job, run, sh};

#[test]
fn hello_world_succeeds_with_its_output() {
    let report = run(&sh("echo hello; echo oops >&2"));
    assert_eq!(report.status, StageStatus::Succeeded);
    assert_eq!(report.stdout, "hello\n");
    assert_eq!(report.stderr, "oops\n");
    assert_eq!(report.exit_code, Some(0));
    assert_eq!(report.signal, None);
    assert!(!report.stdout_truncated && !report.stderr_truncated);
}

#[test]
fn stdin_reaches_the_program() {
    let mut frame = sh("read line; echo \"got $line\"");
    frame.stdin = "abc\n".into();
    assert_eq!(run(&frame).stdout, "got abc\n");
}

#[test]
fn stdin_larger_than_a_pipe_buffer_is_echoed_back_whole() {
    // A runner that wrote all of stdin before reading stdout would deadlock here.
    let mut frame = job(&["cat"]);
    frame.stdin = "0123456789abcdef".repeat(32 * 1024);
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::Succeeded);
    assert_eq!(report.stdout, frame.stdin);
}

#[test]
fn a_program_that_never_reads_its_stdin_still_finishes() {
    let mut frame = sh("echo done");
    frame.stdin = "x".repeat(1 << 20);
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::Succeeded);
    assert_eq!(report.stdout, "done\n");
}

#[test]
fn arguments_reach_the_program_unsplit() {
    let frame = job(&["sh", "-c", "printf '%s|' \"$@\"", "sh", "a b", "", "c"]);
    assert_eq!(run(&frame).stdout, "a b||c|");
}

#[test]
fn a_non_zero_exit_is_a_failure_with_its_code() {
    let report = run(&sh("exit 3"));
    assert_eq!(report.status, StageStatus::Failed);
    assert_eq!(report.exit_code, Some(3));
    assert_eq!(report.signal, None);
}

#[test]
fn a_program_killed_by_a_signal_fails_with_that_signal() {
    let report = run(&sh("kill -TERM $$"));
    assert_eq!(report.status, StageStatus::Failed);
    assert_eq!(report.exit_code, None);
    assert_eq!(report.signal, Some(libc::SIGTERM));
}

#[test]
fn a_missing_binary_fails_to_start_with_the_error_in_stderr() {
    let report = run(&job(&["/nonexistent/program"]));
    assert_eq!(report.status, StageStatus::FailedToStart);
    assert!(
        report.stderr.contains("/nonexistent/program"),
        "{}",
        report.stderr
    );
    assert_eq!(report.exit_code, None);
}

#[test]
fn an_empty_argv_fails_to_start() {
    assert_eq!(run(&job(&[])).status, StageStatus::FailedToStart);
}

#[test]
fn files_are_written_under_the_sandbox_and_the_stage_runs_there() {
    let mut frame = job(&["sh", "src/main.sh"]);
    frame.files = vec![
        SourceFile {
            name: "src/main.sh".into(),
            content: "cat data/input.txt; pwd\n".into(),
        },
        SourceFile {
            name: "data/input.txt".into(),
            content: "from a file\n".into(),
        },
    ];
    let sandbox = common::Sandbox::new();
    let report = common::run_frame(&sandbox, &frame).run.unwrap();
    let pwd = std::fs::canonicalize(sandbox.path()).unwrap();
    assert_eq!(report.stdout, format!("from a file\n{}\n", pwd.display()));
}

#[test]
fn non_utf8_and_nul_bytes_still_give_valid_json() {
    // `run` already checks that the runner printed valid UTF-8 JSON.
    let report = run(&sh("printf 'a\\000b\\377c'; printf '\\300' >&2"));
    assert_eq!(report.stdout, "a\u{0}b\u{FFFD}c");
    assert_eq!(report.stderr, "\u{FFFD}");
}

#[test]
fn cpu_time_and_peak_memory_are_measured() {
    // About 0.3 s of CPU in dash.
    let report = run(&sh("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"));
    assert_eq!(report.status, StageStatus::Succeeded);
    assert!(report.cpu_ms >= 50, "cpu_ms = {}", report.cpu_ms);
    // Any shell needs more than 100 kB; a value in KiB instead of bytes would be far below that.
    assert!(
        report.peak_rss_bytes > 100_000,
        "peak_rss_bytes = {}",
        report.peak_rss_bytes
    );
    assert!(
        report.wall_ms >= report.cpu_ms / 2,
        "wall {} cpu {}",
        report.wall_ms,
        report.cpu_ms
    );
}
