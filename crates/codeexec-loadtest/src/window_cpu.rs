//! Where the CPU went during a step's measured window: the whole machine's (busy against idle,
//! from /proc/stat), the job containers' (the cgroup Docker puts them under) and the Docker
//! engine's (the cgroup `scripts/fast-path` and `scripts/engine-cpu` move it into). Read once the
//! step's warm-up is over and again at the window's end, beside the step's load, so that a step's
//! jobs can be charged with what they cost the machine.

use std::path::PathBuf;

use procfs::{CurrentSI, KernelStats};

use super::engine_cpu::cgroup_cpu_ms;
use super::runner::StepTimes;

/// The cgroups read, where given.
#[derive(Debug, Clone, Default)]
pub struct CpuCgroups {
    /// The parent cgroup of the job containers (e.g. /sys/fs/cgroup/cpuacct/docker).
    pub containers: Option<PathBuf>,
    /// The engine's own cgroup (dockerd, containerd, the shims and runc).
    pub engine: Option<PathBuf>,
}

/// CPU time used during one window, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowCpu {
    /// All cores' busy time.
    pub busy_ms: f64,
    /// All cores' time, busy or idle.
    pub all_ms: f64,
    pub containers_ms: Option<f64>,
    pub engine_ms: Option<f64>,
}

impl WindowCpu {
    /// How busy the machine's cores were, from 0 to 1.
    pub fn busy_share(&self) -> f64 {
        if self.all_ms > 0.0 {
            self.busy_ms / self.all_ms
        } else {
            0.0
        }
    }

    /// What the window's CPU was not the containers' nor the engine's: the service, the load's
    /// own client, the kernel's own threads. None unless both cgroups were read.
    pub fn rest_ms(&self) -> Option<f64> {
        Some(self.busy_ms - self.containers_ms? - self.engine_ms?)
    }

    fn since(self, earlier: WindowCpu) -> WindowCpu {
        let part = |now: Option<f64>, then: Option<f64>| Some(now? - then?);
        WindowCpu {
            busy_ms: self.busy_ms - earlier.busy_ms,
            all_ms: self.all_ms - earlier.all_ms,
            containers_ms: part(self.containers_ms, earlier.containers_ms),
            engine_ms: part(self.engine_ms, earlier.engine_ms),
        }
    }
}

/// The counters so far.
fn read(cgroups: &CpuCgroups) -> Result<WindowCpu, String> {
    let stats =
        KernelStats::current().map_err(|error| format!("cannot read /proc/stat: {error}"))?;
    let cpu = stats.total;
    let busy_ticks = cpu.user
        + cpu.nice
        + cpu.system
        + cpu.irq.unwrap_or(0)
        + cpu.softirq.unwrap_or(0)
        + cpu.steal.unwrap_or(0);
    let all_ticks = busy_ticks + cpu.idle + cpu.iowait.unwrap_or(0);
    let ms_per_tick = 1e3 / procfs::ticks_per_second() as f64;
    let cgroup = |path: &Option<PathBuf>| path.as_deref().map(cgroup_cpu_ms).transpose();
    Ok(WindowCpu {
        busy_ms: busy_ticks as f64 * ms_per_tick,
        all_ms: all_ticks as f64 * ms_per_tick,
        containers_ms: cgroup(&cgroups.containers)?,
        engine_ms: cgroup(&cgroups.engine)?,
    })
}

/// Reads the counters when a step started now ends its warm-up and again when its window ends.
pub async fn over_window(cgroups: &CpuCgroups, times: StepTimes) -> Result<WindowCpu, String> {
    tokio::time::sleep(times.warmup).await;
    let start = read(cgroups)?;
    tokio::time::sleep(times.window).await;
    Ok(read(cgroups)?.since(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_the_difference_and_the_rest_needs_both_cgroups() {
        let start = WindowCpu {
            busy_ms: 1000.0,
            all_ms: 4000.0,
            containers_ms: Some(300.0),
            engine_ms: Some(200.0),
        };
        let end = WindowCpu {
            busy_ms: 2900.0,
            all_ms: 6000.0,
            containers_ms: Some(1300.0),
            engine_ms: Some(900.0),
        };
        let window = end.since(start);
        assert_eq!(window.busy_share(), 0.95);
        assert_eq!(window.containers_ms, Some(1000.0));
        assert_eq!(window.rest_ms(), Some(200.0));
        let without_engine = WindowCpu {
            engine_ms: None,
            ..end
        };
        assert_eq!(without_engine.since(start).rest_ms(), None);
    }

    #[tokio::test]
    async fn the_machine_is_read_without_any_cgroup() {
        let times = StepTimes {
            warmup: std::time::Duration::ZERO,
            window: std::time::Duration::from_millis(200),
        };
        let window = over_window(&CpuCgroups::default(), times).await.unwrap();
        assert!(window.all_ms > 0.0);
        assert!((0.0..=1.0).contains(&window.busy_share()));
        assert_eq!(window.containers_ms, None);
    }
}
