//! Stopping a stage at its limits: the CPU time its processes used and, as the backstop for a
//! program that sleeps or blocks, the wall time it took. While it watches, it also samples the
//! memory of every process in the container, for the stage's peak.
//!
//! In a container the CPU time is the container's cgroup figure (every process of the job, a
//! double-forked one included) minus the runner's own. On a host, where that cgroup is shared,
//! it is the sum over the processes still in the stage's group of their own and their reaped
//! children's time, from `/proc`.

use std::fs;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::cgroup::Counters;
use crate::gauges::Gauges;
use crate::group::{KillReason, ProcessGroup};

/// How often the CPU time and memory are read: the most a stage can run past its CPU limit, per
/// core, and the shortest peak of memory the stage's figure is sure to see.
const CPU_POLL: Duration = Duration::from_millis(10);

/// The limits of one stage.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub cpu: Option<Duration>,
    pub wall: Duration,
}

/// A stage being watched, until [`Watch::finish`].
pub struct Watch {
    disarm: Sender<()>,
    thread: Option<JoinHandle<(u64, Gauges)>>,
}

impl Watch {
    /// Stops the watch and returns the most memory the container's processes held at once while
    /// watched (read once more as it stops), in bytes, 0 when the cgroup cannot say; and the
    /// gauges it read, for the stage's last reading (`None` if the watch never started).
    pub fn finish(self) -> (u64, Option<Gauges>) {
        drop(self.disarm);
        match self.thread.and_then(|thread| thread.join().ok()) {
            Some((peak, gauges)) => (peak, Some(gauges)),
            None => (0, None),
        }
    }
}

/// Kills `group` at the first limit it reaches, until [`Watch::finish`]. `started` is when the
/// stage started, `before` the counters read then, and `gauges` were opened before the program
/// started: reading them allocates nothing.
pub fn start(
    group: &Arc<ProcessGroup>,
    limits: Limits,
    started: Instant,
    before: Counters,
    mut gauges: Gauges,
) -> Watch {
    let (disarm, disarmed) = mpsc::channel::<()>();
    let watched = Arc::clone(group);
    let sample_memory = gauges.has_memory();
    let watch = move || {
        let mut peak_memory = 0;
        loop {
            if sample_memory {
                peak_memory = peak_memory.max(gauges.memory_bytes().unwrap_or(0));
            }
            let elapsed = started.elapsed();
            if elapsed >= limits.wall {
                watched.kill(KillReason::WallTime);
                return (peak_memory, gauges);
            }
            if let Some(cpu) = limits.cpu {
                if cpu_used(before, &mut gauges, watched.pgid()) >= cpu {
                    watched.kill(KillReason::CpuTime);
                    return (peak_memory, gauges);
                }
            }
            let left = limits.wall - elapsed;
            let pause = if limits.cpu.is_some() || sample_memory {
                left.min(CPU_POLL)
            } else {
                left
            };
            if let Err(RecvTimeoutError::Disconnected) | Ok(()) = disarmed.recv_timeout(pause) {
                // What the leader left running still counts.
                let peak = peak_memory.max(gauges.memory_bytes().unwrap_or(0));
                return (peak, gauges);
            }
        }
    };
    match thread::Builder::new().name("watchdog".into()).spawn(watch) {
        Ok(thread) => Watch {
            disarm,
            thread: Some(thread),
        },
        Err(_) => {
            // A stage that nothing would stop at its limits is not allowed to run at all.
            group.kill(KillReason::WallTime);
            Watch {
                disarm,
                thread: None,
            }
        }
    }
}

fn cpu_used(before: Counters, gauges: &mut Gauges, pgid: libc::pid_t) -> Duration {
    let millis = before
        .cpu_ms_at(gauges.cpu_ns())
        .unwrap_or_else(|| group_cpu_ms(pgid));
    Duration::from_millis(millis)
}

/// The CPU time process `pid` has used itself (not its children), from `/proc`; 0 if unknown.
pub fn process_cpu_ms(pid: libc::pid_t) -> u64 {
    let ticks = fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| own_ticks(&stat))
        .unwrap_or(0);
    ticks_to_ms(ticks)
}

fn ticks_to_ms(ticks: u64) -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let ticks_per_second = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        ticks if ticks > 0 => ticks as u64,
        _ => 100,
    };
    ticks * 1000 / ticks_per_second
}

/// The CPU time of the processes in group `pgid` and of the children they reaped, from `/proc`.
fn group_cpu_ms(pgid: libc::pid_t) -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    let ticks: u64 = entries
        .flatten()
        .filter(|entry| entry.file_name().as_encoded_bytes()[0].is_ascii_digit())
        .filter_map(|entry| fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|stat| group_ticks(&stat, pgid))
        .sum();
    ticks_to_ms(ticks)
}

/// Whether a process outside group `pgid` (one that escaped it with `setsid`) still lives, and so
/// may hold the stage's output pipes open. Only in a container, where the runner is PID 1 and
/// `/proc` shows the job's processes alone; on a host the answer is always yes. The group's own
/// processes are being killed, and zombies hold no pipe, so neither counts.
pub fn an_escaped_process_lives(pgid: libc::pid_t) -> bool {
    if std::process::id() != 1 {
        return true;
    }
    let Ok(entries) = fs::read_dir("/proc") else {
        return true;
    };
    entries
        .flatten()
        .filter(|entry| entry.file_name().as_encoded_bytes()[0].is_ascii_digit())
        .filter(|entry| entry.file_name() != "1")
        .filter_map(|entry| fs::read_to_string(entry.path().join("stat")).ok())
        .any(|stat| escaped_and_alive(&stat, pgid))
}

/// A `/proc/PID/stat` line of a live process (not a zombie) outside group `pgid`.
fn escaped_and_alive(stat: &str, pgid: libc::pid_t) -> bool {
    let Some(fields) = stat_fields(stat) else {
        return false;
    };
    let zombie = fields.first() == Some(&"Z");
    let group = fields
        .get(2)
        .and_then(|field| field.parse::<libc::pid_t>().ok());
    !zombie && group != Some(pgid)
}

/// The fields of a `/proc/PID/stat` line from field 3 (state) on. The command name before them
/// may hold spaces and parentheses; the fields after its last ')' are plain.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    Some(stat.get(stat.rfind(')')? + 2..)?.split(' ').collect())
}

/// utime + stime of a `/proc/PID/stat` line.
fn own_ticks(stat: &str) -> Option<u64> {
    let fields = stat_fields(stat)?;
    // utime and stime are fields 14 and 15 of proc(5).
    fields
        .get(11..13)?
        .iter()
        .map(|field| field.parse::<u64>().ok())
        .sum()
}

/// utime + stime + cutime + cstime of a `/proc/PID/stat` line, when its process group is `pgid`.
fn group_ticks(stat: &str, pgid: libc::pid_t) -> Option<u64> {
    let fields = stat_fields(stat)?;
    // fields[0] is field 3 of proc(5): state; pgrp is field 5, utime..cstime are 14..17.
    if fields.get(2)?.parse::<libc::pid_t>().ok()? != pgid {
        return None;
    }
    fields
        .get(11..15)?
        .iter()
        .map(|field| field.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_groups_cpu_ticks() {
        let stat = "4242 (my (odd) prog) R 1 4242 4242 0 -1 4194560 100 0 0 0 30 12 5 3 20 0 1 0 \
                    99 1000 100 18446744073709551615";
        assert_eq!(group_ticks(stat, 4242), Some(50));
        assert_eq!(group_ticks(stat, 1), None);
        assert_eq!(own_ticks(stat), Some(42));
    }

    #[test]
    fn only_a_live_process_outside_the_group_has_escaped() {
        let in_group = "4243 (sleep) S 4242 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 1 1 1";
        let escaped = "4300 (sleep) S 1 4300 4300 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 1 1 1";
        let zombie = "4301 (sh) Z 1 4301 4301 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 1 1 1";
        assert!(!escaped_and_alive(in_group, 4242));
        assert!(escaped_and_alive(escaped, 4242));
        assert!(!escaped_and_alive(zombie, 4242));
    }

    #[test]
    fn the_group_of_a_busy_process_accumulates_cpu_time() {
        use std::os::unix::process::CommandExt;
        let mut busy = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = busy.id() as libc::pid_t;
        let deadline = Instant::now() + Duration::from_secs(60);
        while group_cpu_ms(pgid) < 50 {
            assert!(Instant::now() < deadline, "no CPU time was ever counted");
            thread::sleep(Duration::from_millis(10));
        }
        busy.kill().unwrap();
        // The orphan reaper, started by another test of this binary, may have reaped it first.
        let _ = busy.wait();
    }
}
