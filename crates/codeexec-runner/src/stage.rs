//! Running one stage: spawn it in its own process group, feed its stdin, capture its output, enforce
//! its time and output limits, reap it and report what it did and cost.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use std::os::fd::RawFd;

use codeexec_protocol::stream::OutputStream;
use codeexec_protocol::{
    StageCommand, StageReport, StageStatus, PRESTART_CONTROL_FD, PRESTART_REPORT_FD,
};

use seccompiler::BpfProgram;

use crate::capture::{Capture, Captured};
use crate::cgroup::{self, Counters, StageUsage};
use crate::gauges::Gauges;
use crate::group::{KillReason, ProcessGroup};
use crate::guard::{self, Leader};
use crate::identity;
use crate::live::Live;
use crate::prestart::Prestarted;
use crate::reap::{reap, Reaped};
use crate::syscall_filter;
use crate::watchdog;

/// How long the output readers may still take after the stage's process is reaped while a process
/// that escaped the group lives: it can keep a pipe open for ever, and its output is not worth
/// waiting for.
const READER_GRACE: Duration = Duration::from_millis(200);
/// How long they may take when no such process lives: every write end is closed, so the end of
/// the stream is certain and only the reader's turn on a busy (or throttled) CPU is awaited.
const READER_TURN: Duration = Duration::from_secs(10);

/// Runs `command` in `dir`. `stdin` is fed to the program; `None` gives it /dev/null. An
/// interactive job's stage also goes `live`.
pub fn run_stage(
    command: &StageCommand,
    dir: &Path,
    stdin: Option<&[u8]>,
    output_limit: usize,
    live: Option<&Live>,
) -> StageReport {
    let Some((program, args)) = command.argv.split_first() else {
        return failed_to_start("the stage has an empty argv".to_string());
    };
    let (mut gauges, runner_memory) = (Gauges::open(), cgroup::runner_memory_bytes());
    let before = Counters::read(Some(&mut gauges));
    let started = Instant::now();
    let filter = match syscall_filter() {
        Ok(filter) => filter,
        Err(error) => return failed_to_start(error.clone()),
    };
    let spawned = guard::spawn_leader(|| spawn(program, args, dir, stdin.is_some(), filter, None));
    let (child, leader) = match spawned {
        Ok(spawned) => spawned,
        Err(error) => return failed_to_start(format!("cannot start {program:?}: {error}")),
    };
    let stage = Started {
        child,
        _leader: leader,
        started,
        before,
        cpu_ms_before: 0,
        gauges,
        runner_memory,
    };
    supervise(stage, command, stdin, output_limit, live)
}

/// Runs the job's program in `runtime`, started before the job arrived: it is handed
/// `program_argv` and from then on is the stage's leader, supervised as a fresh one would be. Its
/// limits, times and CPU time count from the hand-over. A runtime that can no longer take its
/// program (it died while waiting) is dropped, and the stage starts afresh.
pub fn run_prestarted(
    runtime: Prestarted,
    command: &StageCommand,
    program_argv: &[String],
    dir: &Path,
    stdin: &[u8],
    output_limit: usize,
    live: Option<&Live>,
) -> StageReport {
    let (mut gauges, runner_memory) = (Gauges::open(), cgroup::runner_memory_bytes());
    let before = Counters::read(Some(&mut gauges));
    let started = Instant::now();
    let cpu_ms_before = runtime.cpu_ms();
    match runtime.hand_over(program_argv) {
        Ok((child, leader)) => {
            let stage = Started {
                child,
                _leader: leader,
                started,
                before,
                cpu_ms_before,
                gauges,
                runner_memory,
            };
            supervise(stage, command, Some(stdin), output_limit, live)
        }
        Err(error) => {
            eprintln!(
                "codeexec-runner: the pre-started runtime is gone ({error}); starting afresh"
            );
            run_stage(command, dir, Some(stdin), output_limit, live)
        }
    }
}

/// A stage's leader, running.
struct Started {
    child: Child,
    /// Keeps the orphan reaper off the leader until it is reaped.
    _leader: Leader,
    started: Instant,
    /// The counters when the stage started.
    before: Counters,
    /// CPU time the leader had used before the stage (a pre-started runtime's start-up), which
    /// the stage is not billed for.
    cpu_ms_before: u64,
    /// The container's counters, opened before the program started.
    gauges: Gauges,
    /// The runner's own memory before the stage, which the container's figure includes.
    runner_memory: u64,
}

/// Feeds the stage, captures its output, enforces its limits, reaps it and reports. Live, its
/// output is also sent as it comes, its stdin also takes what the client types, and it takes
/// the client's signals.
fn supervise(
    mut stage: Started,
    command: &StageCommand,
    stdin: Option<&[u8]>,
    output_limit: usize,
    live: Option<&Live>,
) -> StageReport {
    // A pid always fits in pid_t; the fallback is never taken.
    let pid = libc::pid_t::try_from(stage.child.id()).unwrap_or(libc::pid_t::MAX);
    let group = Arc::new(ProcessGroup::new(pid));

    if let (Some(pipe), Some(bytes)) = (stage.child.stdin.take(), stdin) {
        let typed = live.and_then(Live::take_stdin);
        feed_stdin(pipe, bytes.to_vec(), typed);
    }
    if let Some(live) = live {
        live.signals_to(&group);
    }
    let [stdout, stderr] = start_captures(&mut stage.child, &group, output_limit, live);
    let limits = watchdog::Limits {
        cpu: command.cpu_time_limit_ms.map(Duration::from_millis),
        wall: Duration::from_millis(command.wall_time_limit_ms),
    };
    let watch = watchdog::start(&group, limits, stage.started, stage.before, stage.gauges);

    let mut reaped = reap(&group, pid);
    let wall_ms = u64::try_from(stage.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // Every process's memory at once, without the runner's own: sampled while the stage ran,
    // and once more now, with what the leader left running; at least the leader's peak (and that
    // of the children it waited for), which a sample may have missed.
    let (processes_peak, mut gauges) = watch.finish();
    let processes_peak = processes_peak.saturating_sub(stage.runner_memory);
    reaped.peak_rss_bytes = reaped.peak_rss_bytes.max(processes_peak);
    let usage = stage.before.since(Counters::read(gauges.as_mut()));
    reaped.cpu_ms = reaped.cpu_ms.saturating_sub(stage.cpu_ms_before);

    let wait = if watchdog::an_escaped_process_lives(pid) {
        READER_GRACE
    } else {
        READER_TURN
    };
    let deadline = Instant::now() + wait;
    let stdout = stdout
        .map(|capture| capture.finish(deadline))
        .unwrap_or_default();
    let stderr = stderr
        .map(|capture| capture.finish(deadline))
        .unwrap_or_default();
    report(&group, reaped, usage, wall_ms, stdout, stderr)
}

/// The stages' syscall filter, compiled once.
pub fn syscall_filter() -> &'static Result<BpfProgram, String> {
    static FILTER: OnceLock<Result<BpfProgram, String>> = OnceLock::new();
    FILTER.get_or_init(syscall_filter::program)
}

/// The pipes a pre-started runtime inherits: `control` becomes its [`PRESTART_CONTROL_FD`] and
/// `report` its [`PRESTART_REPORT_FD`].
#[derive(Debug, Clone, Copy)]
pub struct RuntimePipes {
    pub control: RawFd,
    pub report: RawFd,
}

/// Spawns a stage's leader in a process group of its own, with `pipes` in place when given.
pub fn spawn(
    program: &str,
    args: &[String],
    dir: &Path,
    with_stdin: bool,
    filter: &'static BpfProgram,
    pipes: Option<RuntimePipes>,
) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    // SAFETY: the closure only calls fcntl, dup2, open, write, close, prctl and seccomp, which are
    // async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if let Some(pipes) = pipes {
                place_pipes(pipes)?;
            }
            guard::offer_to_the_oom_killer()?;
            syscall_filter::apply(filter)
        })
    };
    command
        .args(args)
        .current_dir(dir)
        // A group of its own, so that the runner can kill the stage and everything it forked.
        .process_group(0);
    // Set in the child before the closure above runs, which the OOM score write relies on.
    if let Some(uid) = identity::program_uid() {
        command.uid(uid).gid(uid);
    }
    command
        .stdin(if with_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// Puts `pipes` at their descriptors in a child about to exec. Each is first copied above them
/// (close-on-exec), since one may sit where the other goes; dup2 then clears close-on-exec on
/// the descriptors placed, and only there.
fn place_pipes(pipes: RuntimePipes) -> std::io::Result<()> {
    const ABOVE_PLACES: RawFd = 10;
    let check = |result: libc::c_int| {
        if result < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(result)
        }
    };
    // SAFETY: fcntl and dup2 have no memory-safety preconditions.
    unsafe {
        let control = check(libc::fcntl(
            pipes.control,
            libc::F_DUPFD_CLOEXEC,
            ABOVE_PLACES,
        ))?;
        let report = check(libc::fcntl(
            pipes.report,
            libc::F_DUPFD_CLOEXEC,
            ABOVE_PLACES,
        ))?;
        check(libc::dup2(control, PRESTART_CONTROL_FD))?;
        check(libc::dup2(report, PRESTART_REPORT_FD))?;
    }
    Ok(())
}

/// Writes `bytes`, then what the client of an interactive job types until its stdin ends, from
/// a thread so that a program that prints before reading cannot deadlock the runner. Errors
/// (EPIPE from a program that never reads) end the feeding, and the thread is never joined: a
/// leftover process may hold the pipe open without reading.
fn feed_stdin(mut pipe: ChildStdin, bytes: Vec<u8>, typed: Option<Receiver<Vec<u8>>>) {
    let _ = thread::Builder::new().name("stdin".into()).spawn(move || {
        if pipe.write_all(&bytes).is_err() {
            return;
        }
        for bytes in typed.into_iter().flatten() {
            if pipe.write_all(&bytes).is_err() {
                return;
            }
        }
    });
}

/// Starts reading the stage's stdout and stderr, each capped at `cap` bytes (past it the group
/// is killed); live, each piece kept is also sent on.
pub fn start_captures(
    child: &mut Child,
    group: &Arc<ProcessGroup>,
    cap: usize,
    live: Option<&Live>,
) -> [Option<Capture>; 2] {
    let on_overflow = |group: &Arc<ProcessGroup>| {
        let group = Arc::clone(group);
        move || group.kill(KillReason::Output)
    };
    let on_kept = |stream| {
        let mut sink = live.map(|live| live.output(stream));
        move |bytes: &[u8]| {
            if let Some(sink) = &mut sink {
                sink.write(bytes);
            }
        }
    };
    [
        child.stdout.take().map(|pipe| {
            let on_kept = on_kept(OutputStream::Stdout);
            Capture::start(pipe, cap, on_overflow(group), on_kept)
        }),
        child.stderr.take().map(|pipe| {
            let on_kept = on_kept(OutputStream::Stderr);
            Capture::start(pipe, cap, on_overflow(group), on_kept)
        }),
    ]
}

pub fn report(
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
        (Some(KillReason::WallTime), _, _) => StageStatus::TimedOut,
        (Some(KillReason::CpuTime), _, _) => StageStatus::CpuTimedOut,
        (Some(KillReason::Output), _, _) | (None, true, _) => StageStatus::OutputLimitExceeded,
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
