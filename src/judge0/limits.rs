//! Judge0's limits in codeexec's terms, in one place: the bounds and defaults each language
//! gets for Judge0's fields (from our real per-language limits), and how a submission's limits
//! become a job's: `cpu_time_limit + cpu_extra_time` is the run's CPU-time limit and
//! `wall_time_limit` its wall-time limit, as in Judge0.

use codeexec_engine::{GlobalLimits, Language};

use super::settings::Judge0Settings;

/// Judge0's default stack limit (KB). Accepted and echoed: the engine bounds a program's stack
/// by its memory limit only.
pub const DEFAULT_STACK_LIMIT_KB: i64 = 64_000;
pub const MAX_STACK_LIMIT_KB: i64 = 128_000;
/// Judge0's default `max_file_size` (KB).
pub const DEFAULT_MAX_FILE_SIZE_KB: i64 = 1024;

/// What a submission in one language may ask for, and what it gets when it asks nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Seconds: the language's run CPU-time limit.
    pub max_time_s: f64,
    /// Seconds: the longest wall-time limit a run may have.
    pub max_wall_time_s: f64,
    /// Seconds: the wall-time limit a run gets when it asks for none.
    pub default_wall_time_s: f64,
    /// Seconds: the smallest time limit a job may have.
    pub min_time_s: f64,
    /// KB: the language's memory limit.
    pub max_memory_kb: i64,
    /// KB: the smallest memory limit a job may have.
    pub min_memory_kb: i64,
    /// The language's pids limit.
    pub max_processes: i64,
    /// KB: the largest file a program may write.
    pub max_file_size_kb: i64,
    pub max_number_of_runs: i64,
}

impl Bounds {
    /// The bounds of `language`.
    pub fn of(language: &Language, limits: &GlobalLimits, judge0: &Judge0Settings) -> Bounds {
        let settings = &language.settings;
        Bounds {
            max_time_s: settings.timeout_ms as f64 / 1000.0,
            max_wall_time_s: limits.max_wall_timeout_ms.max(settings.timeout_ms) as f64 / 1000.0,
            default_wall_time_s: limits.default_wall_timeout_ms(settings.timeout_ms) as f64
                / 1000.0,
            min_time_s: limits.min_timeout_ms as f64 / 1000.0,
            max_memory_kb: (settings.memory_mb * 1024) as i64,
            min_memory_kb: (limits.min_memory_mb * 1024) as i64,
            max_processes: settings.pids,
            max_file_size_kb: (limits.file_size_mb * 1024) as i64,
            max_number_of_runs: i64::from(judge0.max_number_of_runs.max(1)),
        }
    }

    /// What every language allows: the smallest of each maximum, for `/config_info`.
    pub fn common<'a>(
        languages: impl Iterator<Item = &'a std::sync::Arc<Language>>,
        limits: &GlobalLimits,
        judge0: &Judge0Settings,
    ) -> Option<Bounds> {
        languages
            .map(|language| Bounds::of(language, limits, judge0))
            .reduce(|a, b| Bounds {
                max_time_s: a.max_time_s.min(b.max_time_s),
                max_wall_time_s: a.max_wall_time_s.min(b.max_wall_time_s),
                default_wall_time_s: a.default_wall_time_s.min(b.default_wall_time_s),
                max_memory_kb: a.max_memory_kb.min(b.max_memory_kb),
                max_processes: a.max_processes.min(b.max_processes),
                ..a
            })
    }
}

/// The run's CPU-time limit: `cpu_time_limit + cpu_extra_time` (Judge0 kills a program at the
/// sum and judges it on the first), in whole milliseconds.
pub fn cpu_timeout_ms(cpu_time_limit: f64, cpu_extra_time: f64) -> u64 {
    seconds_as_ms(cpu_time_limit + cpu_extra_time)
}

/// Judge0's seconds as whole milliseconds, rounded up.
pub fn seconds_as_ms(seconds: f64) -> u64 {
    (seconds * 1000.0).ceil() as u64
}

/// Judge0's KB (1024 bytes) as the engine's MiB, rounded up.
pub fn memory_mb(memory_limit_kb: i64) -> u64 {
    (memory_limit_kb.max(0) as u64).div_ceil(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_time_limit_includes_the_extra_time_in_whole_milliseconds() {
        assert_eq!(cpu_timeout_ms(1.0, 0.5), 1500);
        assert_eq!(cpu_timeout_ms(0.0015, 0.0), 2);
        assert_eq!(seconds_as_ms(2.0), 2000);
    }

    #[test]
    fn kilobytes_round_up_to_whole_mebibytes() {
        assert_eq!(memory_mb(262_144), 256);
        assert_eq!(memory_mb(128_000), 125);
        assert_eq!(memory_mb(1), 1);
    }
}
