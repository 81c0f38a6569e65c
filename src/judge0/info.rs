//! The informational endpoints' bodies: `/about`, `/config_info` (all of Judge0's keys, with
//! codeexec's real limits) and `/system_info`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::limits::{self, Bounds};
use super::settings::Judge0Settings;

/// The Judge0 version this API speaks; the Python SDK picks its language ids by it.
pub const JUDGE0_VERSION: &str = "1.13.1";

#[derive(Debug, Serialize)]
pub struct About {
    pub version: &'static str,
    pub homepage: &'static str,
    pub source_code: &'static str,
    pub maintainer: &'static str,
}

pub const ABOUT: About = About {
    version: JUDGE0_VERSION,
    homepage: "codeexec: a Judge0 CE 1.13.1 compatible API over hardened Docker containers",
    source_code: "codeexec",
    maintainer: "codeexec",
};

/// `/config_info`: the 39 keys of Judge0 1.13.1, typed as its Python SDK requires.
#[derive(Debug, Serialize)]
pub struct ConfigInfo {
    pub maintenance_mode: bool,
    pub enable_wait_result: bool,
    pub enable_compiler_options: bool,
    pub allowed_languages_for_compile_options: Vec<String>,
    pub enable_command_line_arguments: bool,
    pub enable_submission_delete: bool,
    pub enable_callbacks: bool,
    pub callbacks_max_tries: i64,
    pub callbacks_timeout: f64,
    pub enable_additional_files: bool,
    pub max_queue_size: i64,
    pub cpu_time_limit: f64,
    pub max_cpu_time_limit: f64,
    pub cpu_extra_time: f64,
    pub max_cpu_extra_time: f64,
    pub wall_time_limit: f64,
    pub max_wall_time_limit: f64,
    pub memory_limit: i64,
    pub max_memory_limit: i64,
    pub stack_limit: i64,
    pub max_stack_limit: i64,
    pub max_processes_and_or_threads: i64,
    pub max_max_processes_and_or_threads: i64,
    pub enable_per_process_and_thread_time_limit: bool,
    pub allow_enable_per_process_and_thread_time_limit: bool,
    pub enable_per_process_and_thread_memory_limit: bool,
    pub allow_enable_per_process_and_thread_memory_limit: bool,
    pub max_file_size: i64,
    pub max_max_file_size: i64,
    pub number_of_runs: i64,
    pub max_number_of_runs: i64,
    pub redirect_stderr_to_stdout: bool,
    pub max_extract_size: i64,
    pub enable_batched_submissions: bool,
    pub max_submission_batch_size: i64,
    pub submission_cache_duration: f64,
    pub use_docs_as_homepage: bool,
    pub allow_enable_network: bool,
    pub enable_network: bool,
}

impl ConfigInfo {
    /// `bounds` are what every language allows; `compile_option_languages` the names of the
    /// languages that take compiler options.
    pub fn new(
        settings: &Judge0Settings,
        bounds: Bounds,
        compile_option_languages: Vec<String>,
    ) -> ConfigInfo {
        ConfigInfo {
            maintenance_mode: false,
            enable_wait_result: true,
            enable_compiler_options: !compile_option_languages.is_empty(),
            allowed_languages_for_compile_options: compile_option_languages,
            enable_command_line_arguments: true,
            enable_submission_delete: false,
            enable_callbacks: !settings.callback_allowed_hosts.is_empty(),
            callbacks_max_tries: i64::from(settings.callback_max_tries),
            callbacks_timeout: settings.callback_timeout_secs,
            enable_additional_files: true,
            max_queue_size: settings.max_queue_size as i64,
            cpu_time_limit: bounds.max_time_s,
            max_cpu_time_limit: bounds.max_time_s,
            cpu_extra_time: 0.0,
            max_cpu_extra_time: bounds.max_time_s,
            wall_time_limit: bounds.default_wall_time_s,
            max_wall_time_limit: bounds.max_wall_time_s,
            memory_limit: bounds.max_memory_kb,
            max_memory_limit: bounds.max_memory_kb,
            stack_limit: limits::DEFAULT_STACK_LIMIT_KB,
            max_stack_limit: limits::MAX_STACK_LIMIT_KB,
            max_processes_and_or_threads: bounds.max_processes,
            max_max_processes_and_or_threads: bounds.max_processes,
            enable_per_process_and_thread_time_limit: false,
            allow_enable_per_process_and_thread_time_limit: false,
            enable_per_process_and_thread_memory_limit: false,
            allow_enable_per_process_and_thread_memory_limit: false,
            max_file_size: limits::DEFAULT_MAX_FILE_SIZE_KB.min(bounds.max_file_size_kb),
            max_max_file_size: bounds.max_file_size_kb,
            number_of_runs: 1,
            max_number_of_runs: bounds.max_number_of_runs,
            redirect_stderr_to_stdout: false,
            max_extract_size: settings.max_extract_size_kb as i64,
            enable_batched_submissions: true,
            max_submission_batch_size: settings.max_submission_batch_size as i64,
            submission_cache_duration: 0.0,
            use_docs_as_homepage: false,
            allow_enable_network: false,
            enable_network: false,
        }
    }
}

/// `/system_info`: a flat map of strings, as Judge0 reads from `lscpu` and `free`.
pub fn system_info() -> BTreeMap<String, String> {
    let mut info = BTreeMap::new();
    info.insert("Architecture".into(), std::env::consts::ARCH.into());
    let cpus = std::thread::available_parallelism().map_or(1, |cpus| cpus.get());
    info.insert("CPU(s)".into(), cpus.to_string());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if let Some(model) = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
    {
        info.insert("Model name".into(), model.1.trim().into());
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    for (key, name) in [("MemTotal:", "Mem"), ("SwapTotal:", "Swap")] {
        if let Some(value) = meminfo.lines().find_map(|line| line.strip_prefix(key)) {
            info.insert(name.into(), value.trim().into());
        }
    }
    info
}
