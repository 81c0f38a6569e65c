//! What the container's own cgroup knows about a stage: how many processes the OOM killer took,
//! and the CPU time and memory of every process in the container, a double-forked grandchild
//! included, which `wait4` on the stage's leader cannot see.
//!
//! Only inside a container, where the runner is PID 1 and the cgroup holds nothing but the job:
//! there Docker mounts the container's cgroup at the root of `/sys/fs/cgroup` (v1: one folder per
//! controller; v2: one tree). On a host (the local runtime, the runner's own tests) the runner's
//! cgroup is shared with unrelated processes, so nothing is read and the stage's figures come from
//! `wait4` alone.

use std::fs;
use std::path::Path;

use crate::gauges::Gauges;

/// Counters read before and after a stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Processes the OOM killer took in the container so far.
    oom_kills: Option<u64>,
    /// CPU time of every process in the container so far, in nanoseconds.
    container_cpu_ns: Option<u64>,
    /// The runner's own CPU time (its threads that read output and watch the clock), which the
    /// container's figure includes but the job did not spend.
    runner_cpu_ns: u64,
}

/// What happened between two readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageUsage {
    /// `None` when the cgroup cannot say.
    pub oom_killed: Option<bool>,
    /// `None` when the cgroup cannot say.
    pub cpu_ms: Option<u64>,
}

impl Counters {
    /// The counters now, the container's CPU time read through the stage's `gauges` (none
    /// outside a container, or when they are not at hand).
    pub fn read(gauges: Option<&mut Gauges>) -> Counters {
        let in_container = std::process::id() == 1;
        Counters {
            oom_kills: in_container.then(oom_kills).flatten(),
            container_cpu_ns: gauges.and_then(Gauges::cpu_ns),
            runner_cpu_ns: runner_cpu_ns(),
        }
    }

    /// The CPU time the job's processes used since `self`, given the container's CPU time now
    /// (the watchdog's reading, every few milliseconds). `None` outside a container.
    pub fn cpu_ms_at(self, container_cpu_ns: Option<u64>) -> Option<u64> {
        let now = Counters {
            oom_kills: None,
            container_cpu_ns,
            runner_cpu_ns: runner_cpu_ns(),
        };
        self.since(now).cpu_ms
    }

    /// The usage from `self` (before the stage) to `after`.
    pub fn since(self, after: Counters) -> StageUsage {
        let oom_killed = match (self.oom_kills, after.oom_kills) {
            (Some(before), Some(now)) => Some(now > before),
            _ => None,
        };
        let cpu_ms = match (self.container_cpu_ns, after.container_cpu_ns) {
            (Some(before), Some(now)) => {
                let runner = after.runner_cpu_ns.saturating_sub(self.runner_cpu_ns);
                Some(now.saturating_sub(before).saturating_sub(runner) / 1_000_000)
            }
            _ => None,
        };
        StageUsage { oom_killed, cpu_ms }
    }
}

/// The runner's own resident set, which the container's memory includes but the job does not
/// use; 0 if unknown.
pub fn runner_memory_bytes() -> u64 {
    let Ok(statm) = fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        size if size > 0 => size as u64,
        _ => 4096,
    };
    let resident: u64 = statm
        .split(' ')
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0);
    resident * page
}

/// The container's memory limit in bytes (cgroup v1's `memory.limit_in_bytes` or v2's
/// `memory.max`); `None` outside a container or when there is none.
pub fn memory_limit_bytes() -> Option<u64> {
    if std::process::id() != 1 {
        return None;
    }
    [
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/memory.max",
    ]
    .into_iter()
    .find_map(|path| fs::read_to_string(path).ok()?.trim().parse().ok())
}

/// `oom_kill N` of cgroup v1's `memory.oom_control` or v2's `memory.events`.
fn oom_kills() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory/memory.oom_control",
        "/sys/fs/cgroup/memory.events",
    ]
    .into_iter()
    .find_map(|path| field(Path::new(path), "oom_kill"))
}

/// The value of the `name value` line of a flat-keyed cgroup file.
fn field(path: &Path, name: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    parse_field(&text, name)
}

pub fn parse_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok()).flatten()
    })
}

fn runner_cpu_ns() -> u64 {
    // SAFETY: an all-zero rusage is a valid value (it is plain integers).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid and writable for the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    let nanos =
        |time: libc::timeval| time.tv_sec as u64 * 1_000_000_000 + time.tv_usec as u64 * 1000;
    nanos(usage.ru_utime) + nanos(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oom_kill_counter_is_read_from_either_cgroup_version() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(parse_field(v1, "oom_kill"), Some(3));
        let v2 = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(parse_field(v2, "oom_kill"), Some(2));
        assert_eq!(parse_field(v2, "oom_kills"), None);
    }

    #[test]
    fn a_kill_between_the_readings_is_an_oom_kill_of_the_stage() {
        let at = |oom_kills, cpu_ns, runner_cpu_ns| Counters {
            oom_kills: Some(oom_kills),
            container_cpu_ns: Some(cpu_ns),
            runner_cpu_ns,
        };
        let usage = at(1, 5_000_000, 1_000_000).since(at(2, 305_000_000, 6_000_000));
        assert_eq!(
            usage,
            StageUsage {
                oom_killed: Some(true),
                cpu_ms: Some(295)
            }
        );
        assert_eq!(at(1, 0, 0).since(at(1, 0, 0)).oom_killed, Some(false));
    }

    #[test]
    fn the_runners_own_memory_is_read() {
        assert!(runner_memory_bytes() > 0);
    }

    #[test]
    fn outside_a_container_nothing_is_claimed() {
        let usage = Counters::default().since(Counters::default());
        assert_eq!(
            usage,
            StageUsage {
                oom_killed: None,
                cpu_ms: None
            }
        );
    }
}
