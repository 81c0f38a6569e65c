//! Settings: `config/default.toml` (or the file named by `CODEEXEC_CONFIG`), overridden by the
//! environment. `PORT`, `HOST` and `DB` are read as in the original service; every other key is
//! `CODEEXEC_` plus its path with `__` between levels, e.g. `CODEEXEC_IMAGES__OFFLINE=true` or
//! `CODEEXEC_LANGUAGES__PYTHON__POOL_SIZE=4`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Default location of the settings file, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/default.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub docker: DockerSettings,
    pub images: ImageSettings,
    pub limits: GlobalLimits,
    pub mongo: MongoSettings,
    pub rate_limit: RateLimitSettings,
    /// Keyed by canonical language name (`python`, `javascript`, ...).
    pub languages: BTreeMap<String, LanguageSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// HTTP worker threads.
    pub workers: usize,
    /// Largest request body accepted; a larger one gets 413.
    pub max_body_bytes: usize,
    /// Seconds given to requests in flight after SIGTERM/SIGINT before they are cut.
    pub shutdown_timeout_secs: u64,
    /// `text` or `json`.
    pub log_format: String,
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
    /// User the runner and the program run as inside the container.
    pub user: String,
    /// Containers being created and started at once, across all languages. Keeping this at the
    /// core count stops replenishment from starving running jobs of CPU.
    pub max_parallel_starts: usize,
    /// Seconds to wait for one Docker API call.
    pub api_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageSettings {
    /// Build base images from Debian's packages (debootstrap + import) instead of pulling the
    /// official language images: for machines without registry access.
    pub offline: bool,
    /// Folder holding the Dockerfile template every language's image is built from.
    pub dockerfiles_dir: PathBuf,
    /// The statically linked runner copied into every image.
    pub runner_path: PathBuf,
    /// Debian suite debootstrapped for offline bases.
    pub debian_suite: String,
    /// Debian mirror used by debootstrap.
    pub debian_mirror: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlobalLimits {
    /// Smallest time limit a request may ask for.
    pub min_timeout_ms: u64,
    /// Smallest memory limit a request may ask for.
    pub min_memory_mb: u64,
    /// Bytes kept of each of stdout and stderr.
    pub output_limit_bytes: usize,
    /// Size of the `/sandbox` tmpfs.
    pub sandbox_size_mb: u64,
    /// Size of the `/tmp` tmpfs.
    pub tmp_size_mb: u64,
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
    pub max_jobs_in_flight: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MongoSettings {
    /// MongoDB URI; empty disables execution logs. `DB` overrides it.
    pub uri: String,
    /// Database holding the `executions` collection when the URI names none in its path.
    pub database: String,
    /// Days a record is kept before MongoDB's TTL monitor removes it.
    pub retention_days: u64,
    /// Records waiting for the writer; when it is full, new records are dropped and counted.
    pub buffer_size: usize,
    /// Bytes the waiting records may hold in all (they hold the submitted code); past it new
    /// records are dropped and counted too.
    pub buffer_max_bytes: usize,
    /// Most records sent in one `insert_many`.
    pub batch_size: usize,
    /// Bytes kept of a record's `output` and of its `errorMessage`, each.
    pub max_output_bytes: usize,
    /// How long one operation waits for a reachable server before it fails.
    pub server_selection_timeout_ms: u64,
    /// How long opening one connection may take.
    pub connect_timeout_ms: u64,
    /// Longest time one write or query may take in all.
    pub operation_timeout_ms: u64,
    /// Longest time shutdown waits for the buffered records to be written.
    pub flush_timeout_ms: u64,
}

impl MongoSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let positive = [
            ("retention_days", self.retention_days),
            ("buffer_size", self.buffer_size as u64),
            ("buffer_max_bytes", self.buffer_max_bytes as u64),
            ("batch_size", self.batch_size as u64),
            (
                "server_selection_timeout_ms",
                self.server_selection_timeout_ms,
            ),
            ("operation_timeout_ms", self.operation_timeout_ms),
        ];
        match positive.iter().find(|(_, value)| *value == 0) {
            Some((name, _)) => Err(ConfigError(format!("mongo.{name} must be at least 1"))),
            None if self.database.is_empty() => {
                Err(ConfigError("mongo.database must not be empty".into()))
            }
            None => Ok(()),
        }
    }
}

/// Per-client token buckets in front of the execute endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateLimitSettings {
    /// `false`: no limit and no `RateLimit-*` headers.
    pub enabled: bool,
    /// Tokens a client earns per second: its sustained request rate.
    pub requests_per_second: f64,
    /// Size of a client's bucket: requests it may send at once after being idle.
    pub burst: u32,
    /// Peers whose `X-Forwarded-For` is believed, as IPs or CIDRs.
    pub trusted_proxies: Vec<String>,
    /// IPv6 clients are counted per network of this prefix length.
    pub ipv6_prefix_len: u8,
    /// Clients tracked at once; past it, new clients share one bucket until idle ones go.
    pub max_clients: usize,
    /// Seconds between sweeps that drop the buckets of idle clients.
    pub sweep_interval_secs: u64,
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
    /// File name given to `code` on `/api/v1/execute`.
    pub default_file_name: String,
    /// Extensions of the files handed to the compiler as `{sources}`.
    pub source_extensions: Vec<String>,
    /// Whether file names may contain `/` (packages, modules in folders).
    pub allow_subdirectories: bool,
    /// Compile argv; empty for interpreted languages. Placeholders: `{entry}` (entry file name),
    /// `{entry_stem}` (without extension, e.g. Java's class), `{sources}` (every source file).
    pub compile: Vec<String>,
    /// Run argv, same placeholders; the request's args are appended.
    pub run: Vec<String>,
    /// Argv whose output names the toolchain's version.
    pub version_command: Vec<String>,
    /// `KEY=value` pairs set in the container.
    pub env: Vec<String>,
    /// Containers kept started and waiting.
    pub pool_size: usize,
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

fn enabled_by_default() -> bool {
    true
}

/// A settings file or override that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Reads `path` and applies the environment on top.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        Self::from_figment(
            Figment::new()
                .merge(Toml::file_exact(path))
                .merge(Env::prefixed("CODEEXEC_").split("__"))
                .merge(
                    Env::raw()
                        .only(&["PORT", "HOST"])
                        .map(|key| format!("server.{}", key.as_str().to_ascii_lowercase()).into()),
                )
                .merge(Env::raw().only(&["DB"]).map(|_| "mongo.uri".into())),
        )
    }

    /// Reads the file named by `CODEEXEC_CONFIG`, else [`DEFAULT_CONFIG_PATH`].
    pub fn load_default() -> Result<Settings, ConfigError> {
        let path = std::env::var_os("CODEEXEC_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
        Self::load(&path)
    }

    /// The repository's `config/default.toml` alone, without the environment: for unit tests,
    /// which must not see each other's environment variables.
    #[cfg(test)]
    pub fn repository_defaults() -> Settings {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH);
        Self::from_figment(Figment::new().merge(Toml::file_exact(path))).unwrap()
    }

    fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = figment
            .extract()
            .map_err(|error| ConfigError(error.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !self.languages.values().any(|language| language.enabled) {
            return Err(ConfigError("no language is configured and enabled".into()));
        }
        for (name, language) in &self.languages {
            let fail = |what: &str| Err(ConfigError(format!("languages.{name}: {what}")));
            if language.run.is_empty() {
                return fail("run must name a command");
            }
            if language.pool_size == 0 {
                return fail("pool_size must be at least 1");
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
        }
        if self.docker.max_parallel_starts == 0 {
            return Err(ConfigError(
                "docker.max_parallel_starts must be at least 1".into(),
            ));
        }
        if self.limits.max_jobs_in_flight == 0 {
            return Err(ConfigError(
                "limits.max_jobs_in_flight must be at least 1".into(),
            ));
        }
        self.rate_limit.check().map_err(ConfigError)?;
        self.mongo.check()
    }
}

/// Bounds that keep a bucket's arithmetic (time per token times burst) far from overflowing.
const MIN_REQUESTS_PER_SECOND: f64 = 0.001;
const MAX_REQUESTS_PER_SECOND: f64 = 1_000_000.0;
const MAX_BURST: u32 = 1_000_000;

impl RateLimitSettings {
    fn check(&self) -> Result<(), String> {
        let fail = |what: &str| Err(format!("rate_limit.{what}"));
        if !(MIN_REQUESTS_PER_SECOND..=MAX_REQUESTS_PER_SECOND).contains(&self.requests_per_second)
        {
            return fail("requests_per_second must be between 0.001 and 1000000");
        }
        if !(1..=MAX_BURST).contains(&self.burst) {
            return fail("burst must be between 1 and 1000000");
        }
        if self.ipv6_prefix_len > 128 {
            return fail("ipv6_prefix_len must be at most 128");
        }
        if self.max_clients == 0 {
            return fail("max_clients must be at least 1");
        }
        if self.sweep_interval_secs == 0 {
            return fail("sweep_interval_secs must be at least 1");
        }
        crate::rate_limit::TrustedProxies::parse(&self.trusted_proxies)
            .map(drop)
            .map_err(|error| format!("rate_limit.trusted_proxies: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH)
    }

    #[test]
    fn default_file_configures_six_languages() {
        let settings = Settings::repository_defaults();
        let names: Vec<_> = settings.languages.keys().cloned().collect();
        assert_eq!(names, ["cpp", "go", "java", "javascript", "python", "ruby"]);
    }

    // figment's Jail returns its own large error type; that is its API, not ours.
    #[test]
    #[allow(clippy::result_large_err)]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PORT", "4100");
            jail.set_env("DB", "mongodb://127.0.0.1:1");
            jail.set_env("CODEEXEC_LANGUAGES__PYTHON__POOL_SIZE", "5");
            let settings = Settings::load(&repo_config()).unwrap();
            assert_eq!(settings.server.port, 4100);
            assert_eq!(settings.mongo.uri, "mongodb://127.0.0.1:1");
            assert_eq!(settings.languages["python"].pool_size, 5);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn languages_can_be_disabled_but_not_all_of_them() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CODEEXEC_LANGUAGES__RUBY__ENABLED", "false");
            let settings = Settings::load(&repo_config()).unwrap();
            assert!(!settings.languages["ruby"].enabled);
            assert!(settings.languages["python"].enabled);
            for name in ["cpp", "go", "java", "javascript", "python"] {
                jail.set_env(
                    format!("CODEEXEC_LANGUAGES__{}__ENABLED", name.to_uppercase()),
                    "false",
                );
            }
            let error = Settings::load(&repo_config()).unwrap_err();
            assert!(error
                .to_string()
                .contains("no language is configured and enabled"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn empty_execution_log_buffer_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CODEEXEC_MONGO__BUFFER_SIZE", "0");
            let error = Settings::load(&repo_config()).unwrap_err();
            assert!(error.to_string().contains("mongo.buffer_size"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn zero_pool_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CODEEXEC_LANGUAGES__RUBY__POOL_SIZE", "0");
            let error = Settings::load(&repo_config()).unwrap_err();
            assert!(error.to_string().contains("languages.ruby: pool_size"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn trusted_proxies_come_as_a_list_and_bad_ones_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "CODEEXEC_RATE_LIMIT__TRUSTED_PROXIES",
                r#"["127.0.0.1", "10.0.0.0/8"]"#,
            );
            let settings = Settings::load(&repo_config()).unwrap();
            assert_eq!(
                settings.rate_limit.trusted_proxies,
                ["127.0.0.1", "10.0.0.0/8"]
            );
            jail.set_env("CODEEXEC_RATE_LIMIT__TRUSTED_PROXIES", r#"["10.0.0.0/33"]"#);
            let error = Settings::load(&repo_config()).unwrap_err();
            assert!(error.to_string().contains("rate_limit.trusted_proxies"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn a_zero_rate_or_in_flight_cap_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND", "0");
            let error = Settings::load(&repo_config()).unwrap_err();
            assert!(error.to_string().contains("requests_per_second"));
            jail.set_env("CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND", "1");
            jail.set_env("CODEEXEC_LIMITS__MAX_JOBS_IN_FLIGHT", "0");
            let error = Settings::load(&repo_config()).unwrap_err();
            assert!(error.to_string().contains("max_jobs_in_flight"));
            Ok(())
        });
    }
}
