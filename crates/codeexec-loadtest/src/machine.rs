//! The machine a run was taken on: CPU, core count, memory, and the Docker engine (what
//! `docker version` and `docker info` tell), so that figures are never quoted without it.

use bollard::Docker;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Cores this process may use, as `nproc` counts them.
    pub cpus: usize,
    /// `MemTotal` from /proc/meminfo.
    pub memory_gib: f64,
    pub kernel: String,
    /// The engine's version, API version, OS and architecture.
    pub docker: String,
    /// The engine's default OCI runtime.
    pub docker_runtime: String,
    /// cgroup version and driver.
    pub cgroup: String,
}

impl Machine {
    /// Describes this machine and the engine `docker` talks to; what cannot be read is left
    /// as "unknown".
    pub async fn describe(docker: &Docker) -> Machine {
        let read = |path| std::fs::read_to_string(path).unwrap_or_default();
        let unknown = || "unknown".to_string();
        let version = docker.version().await.unwrap_or_default();
        let info = docker.info().await.unwrap_or_default();
        let show = |value: Option<String>| value.unwrap_or_else(unknown);
        Machine {
            cpu_model: cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(unknown),
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            memory_gib: memory_gib(&read("/proc/meminfo")).unwrap_or(0.0),
            kernel: show(version.kernel_version),
            docker: format!(
                "{} (API {}, {}/{})",
                show(version.version),
                show(version.api_version),
                show(version.os),
                show(version.arch)
            ),
            docker_runtime: show(info.default_runtime),
            cgroup: format!(
                "v{} ({})",
                show(info.cgroup_version.map(|version| version.to_string())),
                show(info.cgroup_driver.map(|driver| driver.to_string()))
            ),
        }
    }
}

/// The first `model name` in /proc/cpuinfo.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_string())
    })
}

/// `MemTotal` (kB) from /proc/meminfo, in GiB.
fn memory_gib(meminfo: &str) -> Option<f64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_is_read_from_cpuinfo() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nprocessor\t: 1\nmodel name\t: other\n";
        assert_eq!(
            cpu_model(cpuinfo).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(cpu_model("processor : 0\n"), None);
    }

    #[test]
    fn memory_is_read_from_meminfo_in_gib() {
        let meminfo = "MemTotal:       25165824 kB\nMemFree:         1000 kB\n";
        assert_eq!(memory_gib(meminfo), Some(24.0));
        assert_eq!(memory_gib("MemFree: 1 kB\n"), None);
    }
}
