//! The engine's settings: how it reaches its container runtime, the limits every job gets, and
//! each language's table. The service reads them from its config file (the `[docker]`,
//! `[runtime]`, `[limits]` and `[languages.*]` sections); types carry what they can check.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything [`Engine::start`](crate::Engine::start) needs.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub docker: DockerSettings,
    pub runtime: RuntimeSettings,
    pub limits: GlobalLimits,
    /// Keyed by canonical language name (`python`, `javascript`, ...).
    pub languages: BTreeMap<String, LanguageSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DockerSettings {
    /// Engine address; empty means `DOCKER_HOST` or the local default socket.
    pub host: String,
    /// OCI runtime for job containers (`runc`, or `runsc` for gVisor); empty means the engine's.
    pub runtime: String,
    /// Names this service's containers (`codeexec.instance` label), so that several services can
    /// share an engine and each cleans up only what it left behind.
    pub instance: String,
    /// `uid:gid` the runner takes inside the container. It starts as root, with only the
    /// capabilities to start the program under another uid and to kill it, and drops to this.
    pub user: String,
    /// The uids programs run under: each pool container's program gets one of its own, with a
    /// group of the same number, held until the container is removed. Services sharing an engine
    /// need ranges that do not overlap.
    pub program_uids: UidRange,
    /// Containers being created and started at once, across all languages. Keeping this near
    /// the core count stops replenishment from starving running jobs of CPU.
    pub max_parallel_starts: NonZeroUsize,
    /// Seconds to wait for one Docker API call.
    pub api_timeout_secs: u64,
    /// Seconds between sweeps for this instance's stray containers: those stopped for longer
    /// than that, whose removal failed.
    pub stray_sweep_secs: u64,
    /// The seccomp profile (Docker's JSON format) every container runs under, in place of the
    /// engine's default; a relative path is taken from the working directory. Read and checked
    /// when the Docker runtime starts.
    pub seccomp_profile: PathBuf,
    /// CPUs every container may run on, in Docker's `--cpuset-cpus` form (`0`, `0-3`, `1,3`);
    /// empty: any. A node sharing its machine with others keeps to CPUs of its own this way.
    pub cpuset_cpus: CpuList,
    /// Host directory under which each container gets its own for the direct channel (see
    /// `runtime::docker::channel`); empty: no channel, the attach stream carries the job.
    pub channel_dir: PathBuf,
}

/// A list of CPUs as the kernel's cpuset and Docker's `--cpuset-cpus` take it: numbers and
/// ascending ranges separated by commas (`0`, `0-3`, `1,3`); empty for any CPU. Read from text
/// or, as an environment variable holding one CPU arrives, from a number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CpuListInput", into = "String")]
pub struct CpuList(String);

impl CpuList {
    /// The list as Docker takes it; `None` for any CPU.
    pub fn docker_value(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.clone())
    }
}

impl From<CpuList> for String {
    fn from(list: CpuList) -> String {
        list.0
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CpuListInput {
    Text(String),
    One(u32),
}

impl TryFrom<CpuListInput> for CpuList {
    type Error = String;

    fn try_from(input: CpuListInput) -> Result<CpuList, String> {
        let list = match input {
            CpuListInput::Text(text) => text,
            CpuListInput::One(cpu) => cpu.to_string(),
        };
        if list.is_empty() || is_cpu_list(&list) {
            Ok(CpuList(list))
        } else {
            Err(format!(
                "{list:?} is not a list of CPUs as Docker's --cpuset-cpus takes it (\"0\", \"0-3\", \"1,3\")"
            ))
        }
    }
}

/// Consecutive uids: `first` to `first + count - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UidRange {
    pub first: u32,
    pub count: u32,
}

impl UidRange {
    pub fn contains(&self, uid: u32) -> bool {
        uid >= self.first && uid - self.first < self.count
    }
}

/// Which container runtime the engine runs jobs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeKind {
    /// Hardened single-use Docker containers: the only sandbox.
    Docker,
    /// `codeexec-runner --sandbox <tmpdir>` as a plain host process, for tests and development.
    /// No isolation at all: refused unless `allow_unsandboxed` is set.
    Local,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeSettings {
    pub kind: RuntimeKind,
    /// Must be `true` for the `local` runtime, which runs submitted code on the host as the
    /// service's own user.
    #[serde(default)]
    pub allow_unsandboxed: bool,
    /// The host's `codeexec-runner` binary, for the `local` runtime.
    #[serde(default)]
    pub local_runner_path: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlobalLimits {
    /// Smallest time limit a request may ask for.
    pub min_timeout_ms: u64,
    /// A stage is judged on its CPU time; its wall-time limit, the backstop for a program that
    /// sleeps or blocks, is this many times its CPU-time limit unless a request sets another.
    pub wall_time_factor: u64,
    /// The longest wall-time limit a request may ask for, and the cap on the default.
    pub max_wall_timeout_ms: u64,
    /// Smallest memory limit a request may ask for.
    pub min_memory_mb: u64,
    /// Bytes kept of each of stdout and stderr.
    pub output_limit_bytes: usize,
    /// Size of the `/sandbox` tmpfs.
    pub sandbox_size_mb: u64,
    /// Size of the `/tmp` tmpfs.
    pub tmp_size_mb: u64,
    /// Size of the `/dev/shm` tmpfs.
    pub shm_size_mb: u64,
    /// Files and folders each of `/sandbox`, `/tmp` and `/dev/shm` may hold.
    pub tmpfs_inodes: u64,
    /// Open files per process (`nofile`).
    pub open_files: u64,
    /// Largest file a program may write (`fsize`).
    pub file_size_mb: u64,
    /// Files in one request.
    pub max_files: usize,
    /// Longest time a job waits in its language's queue before it is refused with 503.
    pub queue_timeout_ms: u64,
    /// Added to a job's compile and run limits to bound how long the engine waits for its result.
    pub result_margin_ms: u64,
    /// Execute requests admitted at once across all languages, queued or running; one more gets
    /// 503 at once.
    pub max_jobs_in_flight: NonZeroUsize,
    /// The most the memory limits of the jobs in flight may add up to, in MB; 0 means the memory
    /// of the machine the containers run on. A job that does not fit gets 503 at once.
    pub max_memory_in_flight_mb: u64,
}

impl GlobalLimits {
    /// A run's wall-time limit when its request sets none: `wall_time_factor` times its CPU-time
    /// limit, at most `max_wall_timeout_ms` but never below the CPU-time limit.
    pub fn default_wall_timeout_ms(&self, cpu_timeout_ms: u64) -> u64 {
        cpu_timeout_ms
            .saturating_mul(self.wall_time_factor)
            .min(self.max_wall_timeout_ms)
            .max(cpu_timeout_ms)
    }

    /// A compile stage's wall-time limit: `wall_time_factor` times its CPU-time limit. The
    /// server sets both, so no request cap applies.
    pub fn compile_wall_timeout_ms(&self, compile_timeout_ms: u64) -> u64 {
        compile_timeout_ms.saturating_mul(self.wall_time_factor)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LanguageSettings {
    /// Whether the service offers the language at all: a disabled one has no pool and requests
    /// naming it get 400. Defaults to true.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Name shown to users, e.g. "Python".
    pub display_name: String,
    /// Other names a request may use.
    pub aliases: Vec<String>,
    /// Image the pool runs, built by `codeexec images build`.
    pub image: String,
    /// Base image when building with registry access (the official language image).
    pub base_image: String,
    /// Debian packages that make the base when building offline.
    pub debian_packages: Vec<String>,
    /// A shell command run once, as root and with no network, while the language's image is
    /// built: work every job would otherwise redo (C++'s precompiled `bits/stdc++.h`, Java's
    /// compiled loader and class-data archive; the loaders' sources are in the image under
    /// `codeexec_protocol::IMAGE_LOADERS_DIR`). Empty: none.
    #[serde(default)]
    pub image_prepare: String,
    /// File name given to `code` on `/api/v1/execute`.
    pub default_file_name: String,
    /// Extensions of the files handed to the compiler as `{sources}`.
    pub source_extensions: Vec<String>,
    /// Whether file names may contain `/` (packages, modules in folders).
    pub allow_subdirectories: bool,
    /// Longest name of one file or folder, in bytes: the filesystem's 255, less what the toolchain
    /// adds to a source's name for its output (Java's `Main.java` becomes `Main.class`).
    #[serde(default = "filesystem_name_max")]
    pub max_file_name_bytes: usize,
    /// Compile argv; empty for interpreted languages. Placeholders: `{entry}` (entry file name),
    /// `{entry_stem}` (without extension, e.g. Java's class), `{sources}` (every source file).
    pub compile: Vec<String>,
    /// Run argv, same placeholders; the request's args are appended.
    pub run: Vec<String>,
    /// Whether each pool container starts the language's runtime (`prestart_command`) before its
    /// job arrives, so that a job pays for its own program and not the runtime's start-up. Only
    /// for languages with no compile stage, or whose loader compiles in the runtime (Java's
    /// compiles with the javac API, then runs the entry class in the same JVM). Off by default.
    #[serde(default)]
    pub prestart: bool,
    /// The waiting runtime's argv; `{loader}` stands for codeexec's loader for the language
    /// (`codeexec_protocol::prestart_loader`), which waits for the job and then runs the entry
    /// file as the `run` command would, and `{loader_file}` for a file holding it.
    #[serde(default)]
    pub prestart_command: Vec<String>,
    /// With `prestart`, for a language whose loader compiles only (TypeScript's): the language
    /// whose loader runs the compiled program in a second runtime started beside the first
    /// (`javascript`), and that runtime's argv, with the same placeholders as `prestart_command`.
    /// Empty: the program starts afresh after the compile.
    #[serde(default)]
    pub prestart_program_loader: String,
    #[serde(default)]
    pub prestart_program_command: Vec<String>,
    /// With `prestart`: the least memory limit a job may ask for, since the waiting runtime
    /// already holds memory when the job arrives and a container's limit cannot be lowered
    /// below what it holds (Java's warmed JVM holds about 35 MB, and compiles in the same
    /// heap). 0: `limits.min_memory_mb` alone.
    #[serde(default)]
    pub prestart_min_memory_mb: u64,
    /// The least memory limit a job may ask for, where the toolchain needs more than
    /// `limits.min_memory_mb` to build and run a hello world. Below it a compiler or runtime does
    /// not fail fast: the kernel keeps evicting and re-reading the toolchain's own code to stay
    /// within the limit, and the stage thrashes until a time limit stops it, seconds to tens of
    /// seconds later. 0: `limits.min_memory_mb` alone.
    #[serde(default)]
    pub min_memory_mb: u64,
    /// Argv whose output names the toolchain's version.
    pub version_command: Vec<String>,
    /// `KEY=value` pairs set in the container.
    pub env: Vec<String>,
    /// Containers kept started and waiting.
    pub pool_size: NonZeroUsize,
    /// Jobs that may wait for a container; more get 503.
    pub queue_size: usize,
    /// Memory limit (swap equal to it, so none extra); a request may ask for less.
    pub memory_mb: u64,
    /// CPU quota in cores.
    pub cpus: f64,
    /// Processes and threads in the container.
    pub pids: i64,
    /// Run stage time limit; a request may ask for less.
    pub timeout_ms: u64,
    /// Compile stage time limit.
    pub compile_timeout_ms: u64,
}

impl LanguageSettings {
    /// Where, in the run argv, the program's own argv begins (at the entry file, or at Java's
    /// entry class) for a pre-started runtime; `None` when the run command names no entry or
    /// builds a source list.
    pub fn program_argv_start(&self) -> Option<usize> {
        if self.run.iter().any(|part| part == "{sources}") {
            return None;
        }
        self.run
            .iter()
            .position(|part| part.contains("{entry}") || part.contains("{entry_stem}"))
    }

    /// The least memory limit a job of this language may ask for.
    pub fn least_memory_mb(&self, limits: &GlobalLimits) -> u64 {
        let toolchain = limits.min_memory_mb.max(self.min_memory_mb);
        if self.prestart {
            toolchain.max(self.prestart_min_memory_mb)
        } else {
            toolchain
        }
    }

    /// Why a job of this language may not ask for less than [`Self::least_memory_mb`], when that
    /// is above `limits.min_memory_mb`.
    pub fn memory_floor_reason(&self) -> &'static str {
        if self.prestart && self.prestart_min_memory_mb >= self.min_memory_mb {
            "its runtime is started before the job and already holds memory"
        } else {
            "its compiler or runtime needs that much: with less it thrashes rather than fails"
        }
    }

    /// The runner's arguments that pre-start language `name`'s runtime, or `None` when it has
    /// none: the runner fills in the loader.
    pub fn prestart_args(&self, name: &str) -> Option<Vec<String>> {
        if !self.prestart {
            return None;
        }
        let mut args = Vec::new();
        if !self.prestart_program_command.is_empty() {
            let program: Vec<&String> = std::iter::once(&self.prestart_program_loader)
                .chain(&self.prestart_program_command)
                .collect();
            args.push(codeexec_protocol::PRESTART_PROGRAM_FLAG.to_string());
            args.push(serde_json::to_string(&program).expect("strings serialise"));
        }
        args.push(codeexec_protocol::PRESTART_FLAG.to_string());
        args.push(name.to_string());
        args.extend(self.prestart_command.iter().cloned());
        Some(args)
    }
}

fn enabled_by_default() -> bool {
    true
}

/// Memory the runner needs beside the job's files in its tmpfs mounts: its own heap and the
/// output it keeps (two 64 KiB captures per stage), with room to spare.
pub const RUNNER_RESERVE_MB: u64 = 16;

/// The longest file name Linux filesystems take (`NAME_MAX`).
pub const FILESYSTEM_NAME_MAX: usize = 255;

fn filesystem_name_max() -> usize {
    FILESYSTEM_NAME_MAX
}

/// Settings the engine cannot run with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSettings(String);

impl EngineSettings {
    /// The runner's `uid:gid` are numbers and not root, and the program uid range is usable and
    /// leaves them out.
    fn check_users(&self) -> Result<(), InvalidSettings> {
        let ids: Option<Vec<u32>> = self
            .docker
            .user
            .split(':')
            .map(|id| id.parse().ok())
            .collect();
        let Some([uid, gid]) = ids.as_deref() else {
            return Err(InvalidSettings(format!(
                "docker.user must be two numbers, UID:GID, not {:?}",
                self.docker.user
            )));
        };
        let range = self.docker.program_uids;
        if *uid == 0 || *gid == 0 {
            return Err(InvalidSettings("docker.user must not be root".into()));
        }
        if range.first == 0 || range.count == 0 || range.first.checked_add(range.count).is_none() {
            return Err(InvalidSettings(
                "docker.program_uids must name at least one uid above 0 (first, count)".into(),
            ));
        }
        if range.contains(*uid) || range.contains(*gid) {
            return Err(InvalidSettings(
                "docker.program_uids must not hold the runner's uid or gid (docker.user)".into(),
            ));
        }
        Ok(())
    }

    /// What types cannot say: relations between values, and the unsandboxed runtime's consent.
    pub fn check(&self) -> Result<(), InvalidSettings> {
        if self.limits.wall_time_factor == 0 {
            return Err(InvalidSettings(
                "limits.wall_time_factor must be at least 1".into(),
            ));
        }
        if self.limits.max_wall_timeout_ms < self.limits.min_timeout_ms {
            return Err(InvalidSettings(
                "limits.max_wall_timeout_ms is below limits.min_timeout_ms".into(),
            ));
        }
        if !self.languages.values().any(|language| language.enabled) {
            return Err(InvalidSettings(
                "no language is configured and enabled".into(),
            ));
        }
        for (name, language) in &self.languages {
            let fail = |what: &str| Err(InvalidSettings(format!("languages.{name}: {what}")));
            if language.run.is_empty() {
                return fail("run must name a command");
            }
            if language.prestart {
                if !language.compile.is_empty()
                    && !codeexec_protocol::prestart_loader_compiles(name)
                {
                    return fail(
                        "prestart is only for languages with no compile stage, or whose loader compiles",
                    );
                }
                if language.prestart_command.is_empty() {
                    return fail("prestart needs a prestart_command");
                }
                let uses_loader = language
                    .prestart_command
                    .iter()
                    .any(|p| p.contains("{loader}") || p.contains("{loader_file}"));
                if uses_loader && codeexec_protocol::prestart_loader(name).is_none() {
                    return fail("prestart_command names a loader, and codeexec has none for it");
                }
                if language.program_argv_start().is_none() {
                    return fail(
                        "prestart needs a run command naming {entry} or {entry_stem} (and not {sources})",
                    );
                }
            }
            // Without prestart it is unused: `prestart = false` turns off both runtimes.
            if language.prestart && !language.prestart_program_command.is_empty() {
                let loader = language.prestart_program_loader.as_str();
                if codeexec_protocol::prestart_loader_runs_program(name) {
                    return fail(
                        "prestart_program_command is only for a pre-started loader that compiles only",
                    );
                }
                if codeexec_protocol::prestart_loader(loader).is_none()
                    || codeexec_protocol::prestart_loader_compiles(loader)
                {
                    return fail(
                        "prestart_program_loader must name a language whose loader runs programs",
                    );
                }
            }
            if language.memory_mb < language.least_memory_mb(&self.limits) {
                return fail("memory_mb is below min_memory_mb or prestart_min_memory_mb");
            }
            if language.memory_mb < self.limits.min_memory_mb {
                return fail("memory_mb is below limits.min_memory_mb");
            }
            if language.timeout_ms < self.limits.min_timeout_ms {
                return fail("timeout_ms is below limits.min_timeout_ms");
            }
            if language.cpus <= 0.0 {
                return fail("cpus must be positive");
            }
            let writable = self.limits.sandbox_size_mb
                + self.limits.tmp_size_mb
                + self.limits.shm_size_mb
                + RUNNER_RESERVE_MB;
            if language.enabled && language.memory_mb < writable {
                return fail(&format!(
                    "memory_mb is below what /sandbox, /tmp and /dev/shm may hold together with \
                     the runner's {RUNNER_RESERVE_MB} MB ({writable} MB): filling them would take \
                     memory the job's own limit does not have"
                ));
            }
            if !(1..=FILESYSTEM_NAME_MAX).contains(&language.max_file_name_bytes) {
                return fail("max_file_name_bytes must be between 1 and 255");
            }
        }
        self.check_users()?;
        if self.docker.stray_sweep_secs == 0 {
            return Err(InvalidSettings(
                "docker.stray_sweep_secs must be at least 1".into(),
            ));
        }
        if self.runtime.kind == RuntimeKind::Local && !self.runtime.allow_unsandboxed {
            return Err(InvalidSettings(
                "runtime.kind = \"local\" runs submitted code on this host without any sandbox; \
                 it is for tests and development only, and needs runtime.allow_unsandboxed = true"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Whether `list` is a list of CPUs as the kernel's cpuset (and Docker) takes it: numbers and
/// ascending ranges, separated by commas.
fn is_cpu_list(list: &str) -> bool {
    list.split(',').all(|item| {
        let bounds: Option<Vec<u32>> = item.split('-').map(|n| n.parse().ok()).collect();
        match bounds.as_deref() {
            Some([_]) => true,
            Some([low, high]) => low <= high,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::repository_settings;

    #[test]
    fn a_cpu_set_is_a_list_of_cpus_and_ranges() {
        for good in ["0", "1", "0-3", "1,3", "0-1,4-7,9"] {
            assert!(is_cpu_list(good), "{good}");
        }
        for bad in ["", "a", "3-1", "1,,2", "1-2-3", "-1", "0 1", "1,"] {
            assert!(!is_cpu_list(bad), "{bad}");
        }
        let read = |json: &str| serde_json::from_str::<CpuList>(json).map_err(|e| e.to_string());
        assert_eq!(
            read(r#""0-1""#).unwrap().docker_value().as_deref(),
            Some("0-1")
        );
        assert_eq!(read("1").unwrap().docker_value().as_deref(), Some("1"));
        assert_eq!(read(r#""""#).unwrap().docker_value(), None);
        assert!(read(r#""0-""#).unwrap_err().contains("--cpuset-cpus"));
    }

    #[test]
    fn only_a_loader_that_compiles_serves_a_language_with_a_compile_stage() {
        let settings = repository_settings();
        assert!(settings.languages["java"].prestart);
        assert!(settings.check().is_ok());
        let mut go = repository_settings();
        let language = go.languages.get_mut("go").unwrap();
        language.prestart = true;
        language.prestart_command = vec!["go".into()];
        let refused = go.check().unwrap_err().to_string();
        assert!(
            refused.contains("languages.go: prestart is only for"),
            "{refused}"
        );
    }

    #[test]
    fn a_program_runtime_stands_only_beside_a_loader_that_compiles_only() {
        let settings = repository_settings();
        let typescript = &settings.languages["typescript"];
        let args = typescript.prestart_args("typescript").unwrap();
        assert_eq!(args[0], codeexec_protocol::PRESTART_PROGRAM_FLAG);
        let program: Vec<String> = serde_json::from_str(&args[1]).unwrap();
        assert_eq!(program[..3], ["javascript", "node", "--require"]);
        assert_eq!(args[2..4], [codeexec_protocol::PRESTART_FLAG, "typescript"]);
        let refused = |change: fn(&mut LanguageSettings)| {
            let mut settings = repository_settings();
            change(settings.languages.get_mut("typescript").unwrap());
            settings.check().map_err(|error| error.to_string())
        };
        assert!(refused(|_| {}).is_ok());
        assert!(refused(|ts| ts.prestart_program_loader = "java".into())
            .unwrap_err()
            .contains("prestart_program_loader must name a language whose loader runs programs"));
        let mut java = repository_settings();
        let language = java.languages.get_mut("java").unwrap();
        language.prestart_program_loader = "javascript".into();
        language.prestart_program_command = vec!["node".into()];
        assert!(java.check().unwrap_err().to_string().contains(
            "prestart_program_command is only for a pre-started loader that compiles only"
        ));
        // Without pre-start, no runtime at all.
        assert!(refused(|ts| ts.prestart = false).is_ok());
        let mut cold = typescript.clone();
        cold.prestart = false;
        assert_eq!(cold.prestart_args("typescript"), None);
    }

    #[test]
    fn a_pre_started_language_takes_no_memory_limit_below_its_own_floor() {
        let settings = repository_settings();
        let java = &settings.languages["java"].clone();
        assert_eq!(java.least_memory_mb(&settings.limits), 64);
        let mut cold = java.clone();
        cold.prestart = false;
        assert_eq!(
            cold.least_memory_mb(&settings.limits),
            settings.limits.min_memory_mb
        );
        let mut too_high = repository_settings();
        too_high
            .languages
            .get_mut("java")
            .unwrap()
            .prestart_min_memory_mb = 1024;
        let refused = too_high.check().unwrap_err().to_string();
        assert!(refused.contains("prestart_min_memory_mb"), "{refused}");
    }

    #[test]
    fn a_compiler_that_thrashes_below_its_floor_takes_no_memory_limit_below_it() {
        let settings = repository_settings();
        let haskell = &settings.languages["haskell"];
        assert_eq!(haskell.least_memory_mb(&settings.limits), 128);
        assert!(haskell.memory_floor_reason().contains("compiler"));
        let r = &settings.languages["r"];
        assert_eq!(r.least_memory_mb(&settings.limits), 64);
        assert!(r.memory_floor_reason().contains("thrashes"));
        let java = &settings.languages["java"];
        assert!(java
            .memory_floor_reason()
            .contains("started before the job"));
        let mut too_high = repository_settings();
        too_high.languages.get_mut("rust").unwrap().min_memory_mb = 1024;
        let refused = too_high.check().unwrap_err().to_string();
        assert!(refused.contains("languages.rust"), "{refused}");
        assert!(refused.contains("min_memory_mb"), "{refused}");
    }

    #[test]
    fn the_local_runtime_is_refused_unless_unsandboxed_runs_are_allowed() {
        let mut settings = repository_settings();
        settings.runtime.kind = RuntimeKind::Local;
        settings.runtime.allow_unsandboxed = false;
        let refused = settings.check().unwrap_err().to_string();
        assert!(refused.contains("without any sandbox"), "{refused}");
        settings.runtime.allow_unsandboxed = true;
        assert!(settings.check().is_ok());
    }

    #[test]
    fn the_runner_is_a_numeric_non_root_user_outside_the_program_uids() {
        let refusal = |user: &str, first: u32, count: u32| {
            let mut settings = repository_settings();
            settings.docker.user = user.to_string();
            settings.docker.program_uids = UidRange { first, count };
            settings.check().err().map(|error| error.to_string())
        };
        assert_eq!(refusal("65534:65534", 200000, 10000), None);
        let refused = [
            refusal("nobody", 200000, 10000),
            refusal("65534", 200000, 10000),
            refusal("0:0", 200000, 10000),
            refusal("65534:65534", 60000, 10000),
            refusal("65534:65534", 0, 10),
            refusal("65534:65534", 200000, 0),
            refusal("65534:65534", u32::MAX, 2),
        ];
        for (case, refusal) in refused.iter().enumerate() {
            assert!(
                refusal
                    .as_deref()
                    .is_some_and(|text| text.contains("docker.")),
                "case {case}: {refusal:?}"
            );
        }
    }
}
