//! The container's CPU and memory counters as the watchdog reads them while a stage runs: opened
//! once, before the program starts, and read again in place into one buffer. A read that
//! allocated, in the runner or in the kernel (a new open file, its buffer), would be charged to
//! the container's memory: at the moment the program has filled the memory limit and is being
//! killed for it, that allocation could make the OOM killer take the runner too (the kernel hides
//! a dying victim from the OOM killer before its memory is given back).

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::cgroup::parse_field;

/// Bytes kept for one read: v1's `memory.stat`, the longest file read, is about 1.5 KB.
const BUFFER_BYTES: usize = 16 * 1024;

/// How a counter's value is read from its file's text.
type Reading = fn(&str) -> Option<u64>;

/// One counter file and how to read its value.
struct Gauge {
    file: File,
    read: Reading,
}

/// The counters of the container the runner is PID 1 of; none on a host.
pub struct Gauges {
    cpu: Option<Gauge>,
    memory: Option<Gauge>,
    buffer: Vec<u8>,
}

impl Gauges {
    /// Opens the counters of either cgroup version; allocates everything it will need.
    pub fn open() -> Gauges {
        let in_container = std::process::id() == 1;
        let open = |candidates: &[(&str, Reading)]| {
            candidates.iter().find_map(|&(path, read)| {
                let file = File::open(path).ok()?;
                Some(Gauge { file, read })
            })
        };
        Gauges {
            cpu: in_container
                .then(|| open(&[(CPU_V1, cpu_v1), (CPU_V2, cpu_v2)]))
                .flatten(),
            memory: in_container
                .then(|| open(&[(MEMORY_V1, memory_v1), (MEMORY_V2, memory_v2)]))
                .flatten(),
            buffer: vec![0; BUFFER_BYTES],
        }
    }

    /// CPU time of every process in the container, in nanoseconds.
    pub fn cpu_ns(&mut self) -> Option<u64> {
        read(self.cpu.as_ref()?, &mut self.buffer)
    }

    /// Memory of every process in the container, as [`crate::cgroup::processes_memory_bytes`].
    pub fn memory_bytes(&mut self) -> Option<u64> {
        read(self.memory.as_ref()?, &mut self.buffer)
    }

    pub fn has_memory(&self) -> bool {
        self.memory.is_some()
    }
}

fn read(gauge: &Gauge, buffer: &mut [u8]) -> Option<u64> {
    let length = gauge.file.read_at(buffer, 0).ok()?;
    let text = std::str::from_utf8(&buffer[..length]).ok()?;
    (gauge.read)(text)
}

const CPU_V1: &str = "/sys/fs/cgroup/cpuacct/cpuacct.usage";
const CPU_V2: &str = "/sys/fs/cgroup/cpu.stat";
const MEMORY_V1: &str = "/sys/fs/cgroup/memory/memory.stat";
const MEMORY_V2: &str = "/sys/fs/cgroup/memory.stat";

fn cpu_v1(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

fn cpu_v2(text: &str) -> Option<u64> {
    parse_field(text, "usage_usec").map(|usec| usec * 1000)
}

fn memory_v1(text: &str) -> Option<u64> {
    Some(parse_field(text, "total_rss")? + parse_field(text, "total_mapped_file")?)
}

fn memory_v2(text: &str) -> Option<u64> {
    Some(parse_field(text, "anon")? + parse_field(text, "file_mapped")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_cgroup_versions_counters_are_read() {
        assert_eq!(cpu_v1("123456789\n"), Some(123_456_789));
        assert_eq!(
            cpu_v2("usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n"),
            Some(2_500_000)
        );
        let v1 = "cache 8192\nrss 100\nmapped_file 7\ntotal_cache 8192\ntotal_rss 4096\n\
                  total_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 1024\n";
        assert_eq!(memory_v1(v1), Some(5120));
        let v2 = "anon 4096\nfile 8192\nkernel 300\nshmem 0\nfile_mapped 1024\n";
        assert_eq!(memory_v2(v2), Some(5120));
        assert_eq!(memory_v1(v2), None);
    }

    #[test]
    fn a_file_is_read_again_from_its_start() {
        let gauge = Gauge {
            file: file_holding("42\n"),
            read: cpu_v1,
        };
        let mut buffer = vec![0; 64];
        assert_eq!(read(&gauge, &mut buffer), Some(42));
        assert_eq!(read(&gauge, &mut buffer), Some(42));
    }

    fn file_holding(text: &str) -> File {
        let path = std::env::temp_dir().join(format!("codeexec-gauge-{}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }
}
