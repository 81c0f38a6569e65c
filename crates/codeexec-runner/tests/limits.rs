//! Time and output limits, and processes the stage leaves behind.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use codeexec_protocol::StageStatus;
use common::{run, run_frame, sh, Sandbox};

#[test]
fn a_sleeper_past_its_wall_time_limit_is_killed() {
    let mut frame = sh("sleep 30");
    frame.run.wall_time_limit_ms = 300;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::TimedOut);
    assert_eq!(report.signal, Some(libc::SIGKILL));
    assert_eq!(report.exit_code, None);
}

#[test]
fn output_before_the_time_limit_is_kept() {
    let mut frame = sh("echo started; sleep 30");
    frame.run.wall_time_limit_ms = 300;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::TimedOut);
    assert_eq!(report.stdout, "started\n");
}

#[test]
fn a_busy_loop_past_its_cpu_time_limit_is_killed_on_cpu_time() {
    let mut frame = sh("while :; do :; done");
    frame.run.cpu_time_limit_ms = Some(300);
    frame.run.wall_time_limit_ms = 60_000;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::CpuTimedOut);
    assert_eq!(report.signal, Some(libc::SIGKILL));
    assert!(
        report.cpu_ms >= 300,
        "killed after {} ms of CPU",
        report.cpu_ms
    );
}

#[test]
fn cpu_time_spent_in_a_child_counts_against_the_limit() {
    let mut frame = sh("sh -c 'while :; do :; done'; sleep 30");
    frame.run.cpu_time_limit_ms = Some(300);
    frame.run.wall_time_limit_ms = 60_000;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::CpuTimedOut);
}

#[test]
fn a_sleeper_uses_no_cpu_time_and_meets_the_wall_time_limit() {
    let mut frame = sh("sleep 30");
    frame.run.cpu_time_limit_ms = Some(300);
    frame.run.wall_time_limit_ms = 600;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::TimedOut);
}

#[test]
fn stdout_past_the_cap_is_cut_at_the_cap_and_the_program_stopped() {
    let mut frame = sh("yes x | head -c 1000000; sleep 30");
    frame.output_limit_bytes = 65536;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::OutputLimitExceeded);
    assert_eq!(report.stdout.len(), 65536);
    assert_eq!(report.stdout, "x\n".repeat(32768));
    assert!(report.stdout_truncated);
    assert!(!report.stderr_truncated);
    // Killed by the runner rather than left to its `sleep 30` (which the time limit would end).
    assert_eq!(report.signal, Some(libc::SIGKILL));
}

#[test]
fn stderr_past_the_cap_is_cut_too() {
    let mut frame = sh("yes e | head -c 1000000 >&2");
    frame.output_limit_bytes = 1000;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::OutputLimitExceeded);
    assert_eq!(report.stderr.len(), 1000);
    assert!(report.stderr_truncated);
    assert!(!report.stdout_truncated);
}

#[test]
fn output_of_exactly_the_cap_is_not_truncated() {
    let mut frame = sh("yes x | head -c 65536");
    frame.output_limit_bytes = 65536;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::Succeeded);
    assert_eq!(report.stdout.len(), 65536);
    assert!(!report.stdout_truncated);
}

#[test]
fn output_past_a_tiny_cap_counts_even_when_the_program_exits_at_once() {
    let mut frame = sh("echo 0123456789");
    frame.output_limit_bytes = 4;
    let report = run(&frame);
    assert_eq!(report.status, StageStatus::OutputLimitExceeded);
    assert_eq!(report.stdout, "0123");
}

#[test]
fn a_background_child_in_the_group_is_killed_and_does_not_hang_the_runner() {
    let sandbox = Sandbox::new();
    let report = run_frame(&sandbox, &sh("sleep 100 & echo $! > bg.pid; echo hi"))
        .run
        .unwrap();
    assert_eq!(report.status, StageStatus::Succeeded);
    assert_eq!(report.stdout, "hi\n");
    let pid = read_pid(&sandbox.path().join("bg.pid"));
    assert!(eventually_dead(pid), "the background sleep {pid} survived");
}

#[test]
fn a_child_that_escaped_the_group_does_not_hang_the_runner() {
    let sandbox = Sandbox::new();
    // The loop makes sure the child has left the group before the stage ends.
    let script = "setsid sh -c 'echo $$ > bg.pid; exec sleep 30' & \
                  while [ ! -s bg.pid ]; do :; done; echo hi";
    let started = Instant::now();
    let report = run_frame(&sandbox, &sh(script)).run.unwrap();
    let elapsed = started.elapsed();
    let pid = read_pid(&sandbox.path().join("bg.pid"));
    // SAFETY: kill has no memory-safety preconditions; `pid` is the sleep this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(report.status, StageStatus::Succeeded);
    assert_eq!(report.stdout, "hi\n");
    assert!(
        elapsed < Duration::from_secs(15),
        "the runner waited {elapsed:?} for the escaped child"
    );
}

fn read_pid(path: &Path) -> libc::pid_t {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// True once `pid` is gone or a zombie (its new parent may take a moment to reap it).
fn eventually_dead(pid: libc::pid_t) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z')) =>
            {
                return true
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}
