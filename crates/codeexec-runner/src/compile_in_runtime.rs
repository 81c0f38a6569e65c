//! The compile stage served by a pre-started runtime whose loader compiles in-process (Java's
//! JVM, with the javac API; TypeScript's Node.js, with tsc's own code and the standard library's
//! declarations already parsed), so that the job pays neither for a compiler's start-up nor for
//! the runtime's.
//!
//! The stage is billed from the hand-over of the compile command to the runtime's report: its
//! wall time, its CPU time (the runtime's own CPU clock, or the container's figure in a
//! container), and its limits, which a watchdog enforces as for any stage. A job that comes
//! before the runtime has warmed up waits for it first, unbilled but out of the stage's wall-time
//! budget (the engine's deadline for the job counts on it); one whose runtime is not warm within
//! half that budget is compiled afresh. Its stdout and stderr are what the compiler printed, as
//! the compiler's command would have printed them. When the compile fails, or the runtime ends
//! without reporting (killed at a limit, or by the OOM killer), the runtime is ended and reaped
//! and the stage is reported as a failed one would be.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codeexec_protocol::{StageCommand, StageReport, StageStatus};

use crate::capture::{Capture, Captured};
use crate::cgroup::{self, Counters, StageUsage};
use crate::gauges::Gauges;
use crate::group::ProcessGroup;
use crate::prestart::{Compiled, Prestarted};
use crate::reap::reap;
use crate::stage;
use crate::watchdog;

/// How long the runtime's output readers may take once it has been killed and reaped.
const READER_TURN: Duration = Duration::from_secs(10);

/// Runs `command` as the compile stage in `runtime`. The runtime comes back when the compile
/// succeeded and it waits for its program; otherwise it has been ended.
pub fn compile(
    mut runtime: Prestarted,
    command: &StageCommand,
    dir: &Path,
    output_limit: usize,
) -> (StageReport, Option<Prestarted>) {
    // The wait comes out of the stage's wall-time budget, which the engine's deadline for the
    // whole job counts on; at most half of it, so that a fresh compile still has the rest.
    let waiting = Instant::now();
    let warm = runtime.wait_until_warm(Duration::from_millis(command.wall_time_limit_ms / 2));
    let waited_ms = u64::try_from(waiting.elapsed().as_millis()).unwrap_or(u64::MAX);
    let command = &StageCommand {
        wall_time_limit_ms: command.wall_time_limit_ms.saturating_sub(waited_ms),
        ..command.clone()
    };
    if let Err(error) = warm {
        eprintln!(
            "codeexec-runner: the pre-started runtime is not ready ({error}); compiling afresh"
        );
        runtime.discard();
        return (
            stage::run_stage(command, dir, None, output_limit, None),
            None,
        );
    }
    let (mut gauges, runner_memory) = (Gauges::open(), cgroup::runner_memory_bytes());
    let before = Counters::read(Some(&mut gauges));
    let started = Instant::now();
    let cpu_ms_before = runtime.cpu_ms();
    let pid = runtime.pid();
    let group = Arc::new(ProcessGroup::new(pid));
    let limits = watchdog::Limits {
        cpu: command.cpu_time_limit_ms.map(Duration::from_millis),
        wall: Duration::from_millis(command.wall_time_limit_ms),
    };
    let watch = watchdog::start(&group, limits, started, before, gauges);
    let compiled = runtime.compile(&command.argv, output_limit);
    let wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let cpu_ms = runtime.cpu_ms().saturating_sub(cpu_ms_before);
    let (processes_peak, mut gauges) = watch.finish();
    let usage = before.since(Counters::read(gauges.as_mut()));

    match compiled {
        Ok(compiled) if group.kill_reason().is_none() => {
            let peak_rss_bytes = processes_peak
                .saturating_sub(runner_memory)
                .max(peak_resident_bytes(pid));
            let report = reported(compiled, usage, wall_ms, cpu_ms, peak_rss_bytes);
            if report.status == StageStatus::Succeeded {
                (report, Some(runtime))
            } else {
                runtime.discard();
                (report, None)
            }
        }
        _ => {
            let report = ended(runtime, &group, usage, wall_ms, cpu_ms_before, output_limit);
            (report, None)
        }
    }
}

/// The stage as the runtime reported it.
fn reported(
    compiled: Compiled,
    usage: StageUsage,
    wall_ms: u64,
    cpu_ms: u64,
    peak_rss_bytes: u64,
) -> StageReport {
    let truncated = compiled.stdout.truncated || compiled.stderr.truncated;
    let status = if truncated {
        StageStatus::OutputLimitExceeded
    } else if compiled.exit_code == 0 {
        StageStatus::Succeeded
    } else {
        StageStatus::Failed
    };
    StageReport {
        status,
        stdout: String::from_utf8_lossy(&compiled.stdout.bytes).into_owned(),
        stderr: String::from_utf8_lossy(&compiled.stderr.bytes).into_owned(),
        stdout_truncated: compiled.stdout.truncated,
        stderr_truncated: compiled.stderr.truncated,
        exit_code: Some(compiled.exit_code),
        signal: None,
        wall_ms,
        cpu_ms: usage.cpu_ms.map_or(cpu_ms, |all| all.max(cpu_ms)),
        peak_rss_bytes,
        oom_killed: usage.oom_killed,
    }
}

/// The stage of a runtime that ended, or is made to end, without a report: killed at a limit
/// (the group's kill reason says which), by the OOM killer, or broken. It is reaped, and what
/// it printed is its output.
fn ended(
    runtime: Prestarted,
    group: &Arc<ProcessGroup>,
    usage: StageUsage,
    wall_ms: u64,
    cpu_ms_before: u64,
    output_limit: usize,
) -> StageReport {
    let pid = runtime.pid();
    let (mut child, _leader) = runtime.into_child();
    // SAFETY: kill has no memory-safety preconditions; the runtime is not reaped yet, so the
    // group id is still its own.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let [stdout, stderr] = stage::start_captures(&mut child, group, output_limit, None);
    let mut reaped = reap(group, pid);
    reaped.cpu_ms = reaped.cpu_ms.saturating_sub(cpu_ms_before);
    let deadline = Instant::now() + READER_TURN;
    let finish = |capture: Option<Capture>| {
        capture
            .map(|capture| capture.finish(deadline))
            .unwrap_or_default()
    };
    let (stdout, stderr): (Captured, Captured) = (finish(stdout), finish(stderr));
    stage::report(group, reaped, usage, wall_ms, stdout, stderr)
}

/// The most the process has held resident so far (`VmHWM`), in bytes; 0 if unknown.
fn peak_resident_bytes(pid: libc::pid_t) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let kib = line.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?;
                kib.trim().parse::<u64>().ok()
            })
        })
        .map_or(0, |kib| kib * 1024)
}
