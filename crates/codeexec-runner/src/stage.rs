//! Running one stage: spawn it in its own process group, feed its stdin, capture its output, enforce
//! its time and output limits, reap it and report what it did and cost.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use codeexec_protocol::{StageCommand, StageReport, StageStatus};

use seccompiler::BpfProgram;

use crate::capture::{Capture, Captured};
use crate::cgroup::{Counters, StageUsage};
use crate::group::{KillReason, ProcessGroup};
use crate::guard;
use crate::reap::{reap, Reaped};
use crate::syscall_filter;

/// How long the output readers may still take after the stage's process is reaped. Only a process
/// that escaped the group can keep a pipe open longer, and its output is not worth waiting for.
const READER_GRACE: Duration = Duration::from_millis(200);

/// Runs `command` in `dir`. `stdin` is fed to the program; `None` gives it /dev/null.
pub fn run_stage(
    command: &StageCommand,
    dir: &Path,
    stdin: Option<&[u8]>,
    output_limit: usize,
) -> StageReport {
    let Some((program, args)) = command.argv.split_first() else {
        return failed_to_start("the stage has an empty argv".to_string());
    };
    let before = Counters::read();
    let started = Instant::now();
    let filter = match syscall_filter() {
        Ok(filter) => filter,
        Err(error) => return failed_to_start(error.clone()),
    };
    let (mut child, _leader) =
        match guard::spawn_leader(|| spawn(program, args, dir, stdin.is_some(), filter)) {
            Ok(spawned) => spawned,
            Err(error) => return failed_to_start(format!("cannot start {program:?}: {error}")),
        };
    // A pid always fits in pid_t; the fallback is never taken.
    let pid = libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX);
    let group = Arc::new(ProcessGroup::new(pid));

    if let (Some(pipe), Some(bytes)) = (child.stdin.take(), stdin) {
        feed_stdin(pipe, bytes.to_vec());
    }
    let [stdout, stderr] = start_captures(&mut child, &group, output_limit);
    let watchdog = start_watchdog(&group, Duration::from_millis(command.time_limit_ms));

    let reaped = reap(&group, pid);
    let wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    drop(watchdog);
    let usage = before.since(Counters::read());

    let deadline = Instant::now() + READER_GRACE;
    let stdout = stdout
        .map(|capture| capture.finish(deadline))
        .unwrap_or_default();
    let stderr = stderr
        .map(|capture| capture.finish(deadline))
        .unwrap_or_default();
    report(&group, reaped, usage, wall_ms, stdout, stderr)
}

/// The stages' syscall filter, compiled once.
fn syscall_filter() -> &'static Result<BpfProgram, String> {
    static FILTER: OnceLock<Result<BpfProgram, String>> = OnceLock::new();
    FILTER.get_or_init(syscall_filter::program)
}

fn spawn(
    program: &str,
    args: &[String],
    dir: &Path,
    with_stdin: bool,
    filter: &'static BpfProgram,
) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    // SAFETY: the closure only calls open, write, close, prctl and seccomp, which are
    // async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            guard::offer_to_the_oom_killer()?;
            syscall_filter::apply(filter)
        })
    };
    command
        .args(args)
        .current_dir(dir)
        // A group of its own, so that the runner can kill the stage and everything it forked.
        .process_group(0)
        .stdin(if with_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// Writes from a thread so that a program that prints before reading cannot deadlock the runner.
/// Errors (EPIPE from a program that never reads) are ignored, and the thread is never joined: a
/// leftover process may hold the pipe open without reading.
fn feed_stdin(mut pipe: ChildStdin, bytes: Vec<u8>) {
    let _ = thread::Builder::new().name("stdin".into()).spawn(move || {
        let _ = pipe.write_all(&bytes);
    });
}

fn start_captures(
    child: &mut Child,
    group: &Arc<ProcessGroup>,
    cap: usize,
) -> [Option<Capture>; 2] {
    let on_overflow = |group: &Arc<ProcessGroup>| {
        let group = Arc::clone(group);
        move || group.kill(KillReason::OutputLimit)
    };
    [
        child
            .stdout
            .take()
            .map(|pipe| Capture::start(pipe, cap, on_overflow(group))),
        child
            .stderr
            .take()
            .map(|pipe| Capture::start(pipe, cap, on_overflow(group))),
    ]
}

/// Kills the group at `limit` unless the returned sender is dropped first.
fn start_watchdog(group: &Arc<ProcessGroup>, limit: Duration) -> Sender<()> {
    let (disarm, disarmed) = mpsc::channel::<()>();
    let watched = Arc::clone(group);
    let watchdog = move || {
        if let Err(RecvTimeoutError::Timeout) = disarmed.recv_timeout(limit) {
            watched.kill(KillReason::TimeLimit);
        }
    };
    if thread::Builder::new()
        .name("watchdog".into())
        .spawn(watchdog)
        .is_err()
    {
        // A stage that nothing would stop at its time limit is not allowed to run at all.
        group.kill(KillReason::TimeLimit);
    }
    disarm
}

fn report(
    group: &ProcessGroup,
    reaped: Reaped,
    usage: StageUsage,
    wall_ms: u64,
    stdout: Captured,
    stderr: Captured,
) -> StageReport {
    let exit_code = reaped
        .status
        .filter(|&status| libc::WIFEXITED(status))
        .map(|status| libc::WEXITSTATUS(status));
    let signal = reaped
        .status
        .filter(|&status| libc::WIFSIGNALED(status))
        .map(|status| libc::WTERMSIG(status));
    StageReport {
        status: status(
            group.kill_reason(),
            stdout.truncated || stderr.truncated,
            exit_code,
        ),
        stdout: String::from_utf8_lossy(&stdout.bytes).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.bytes).into_owned(),
        stdout_truncated: stdout.truncated,
        stderr_truncated: stderr.truncated,
        exit_code,
        signal,
        wall_ms,
        // The container's figure also has what the leader's descendants spent, those that left
        // its process group included.
        cpu_ms: usage
            .cpu_ms
            .map_or(reaped.cpu_ms, |all| all.max(reaped.cpu_ms)),
        peak_rss_bytes: reaped.peak_rss_bytes,
        oom_killed: usage.oom_killed,
    }
}

/// Output found past the cap only after the reap (still buffered in the pipe) counts as well,
/// even though there was nothing left to kill by then.
fn status(reason: Option<KillReason>, truncated: bool, exit_code: Option<i32>) -> StageStatus {
    match (reason, truncated, exit_code) {
        (Some(KillReason::TimeLimit), _, _) => StageStatus::TimedOut,
        (Some(KillReason::OutputLimit), _, _) | (None, true, _) => StageStatus::OutputLimitExceeded,
        (None, false, Some(0)) => StageStatus::Succeeded,
        (None, false, _) => StageStatus::Failed,
    }
}

fn failed_to_start(message: String) -> StageReport {
    StageReport {
        status: StageStatus::FailedToStart,
        stdout: String::new(),
        stderr: message,
        stdout_truncated: false,
        stderr_truncated: false,
        exit_code: None,
        signal: None,
        wall_ms: 0,
        cpu_ms: 0,
        peak_rss_bytes: 0,
        oom_killed: None,
    }
}
