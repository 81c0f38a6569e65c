//! Settings: `config/default.toml` (or the file named by `CODEEXEC_CONFIG`), overridden by the
//! environment. `PORT`, `HOST` and `DB` are read as in the original service; every other key is
//! `CODEEXEC_` plus its path with `__` between levels, e.g. `CODEEXEC_IMAGES__OFFLINE=true` or
//! `CODEEXEC_LANGUAGES__PYTHON__POOL_SIZE=4`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::judge0::Judge0Settings;
pub use crate::rate_limit::RateLimitSettings;
pub use codeexec_engine::{
    DockerSettings, EngineSettings, GlobalLimits, LanguageSettings, RuntimeKind, RuntimeSettings,
};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Default location of the settings file, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/default.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub docker: DockerSettings,
    pub runtime: RuntimeSettings,
    pub images: ImageSettings,
    pub limits: GlobalLimits,
    pub mongo: MongoSettings,
    pub rate_limit: RateLimitSettings,
    /// The Judge0 CE compatible API.
    pub judge0: Judge0Settings,
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
    /// Seconds a request's body may take to arrive; a slower one gets 408 and the connection
    /// is closed.
    pub body_timeout_secs: u64,
    /// Seconds an interactive session may go without a message either way before it is ended.
    pub interactive_idle_secs: u64,
    /// Seconds given to requests in flight after SIGTERM/SIGINT before they are cut.
    pub shutdown_timeout_secs: u64,
    /// Seconds a node keeps answering after SIGTERM, with health 503 and new jobs refused,
    /// before it stops listening: time for a load balancer's health check to take it out.
    pub drain_secs: u64,
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
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
    /// Seconds `/api/v1/stats` answers from its last aggregation; 0 aggregates on every call.
    pub stats_cache_secs: u64,
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

/// A settings file or override that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Reads `path` and applies the environment on top.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        Self::from_figment(Self::figment(path))
    }

    /// The layers [`Settings::load`] reads: `path`, then the environment. A caller may merge
    /// more on top (a service started inside a test) before [`Settings::from_figment`].
    pub fn figment(path: &Path) -> Figment {
        Figment::new()
            .merge(Toml::file_exact(path))
            .merge(Env::prefixed("CODEEXEC_").split("__"))
            .merge(
                Env::raw()
                    .only(&["PORT", "HOST"])
                    .map(|key| format!("server.{}", key.as_str().to_ascii_lowercase()).into()),
            )
            .merge(Env::raw().only(&["DB"]).map(|_| "mongo.uri".into()))
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

    /// The settings `figment` holds, checked.
    pub fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = figment
            .extract()
            .map_err(|error| ConfigError(error.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// What the engine reads of these settings.
    pub fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            docker: self.docker.clone(),
            runtime: self.runtime.clone(),
            limits: self.limits.clone(),
            languages: self.languages.clone(),
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.engine_settings()
            .check()
            .map_err(|invalid| ConfigError(invalid.to_string()))?;
        if self.server.body_timeout_secs == 0 {
            return Err(ConfigError(
                "server.body_timeout_secs must be at least 1".into(),
            ));
        }
        if self.server.interactive_idle_secs == 0 {
            return Err(ConfigError(
                "server.interactive_idle_secs must be at least 1".into(),
            ));
        }
        self.rate_limit.check().map_err(ConfigError)?;
        self.judge0
            .check(self.limits.max_jobs_in_flight.get())
            .map_err(ConfigError)?;
        self.mongo.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH)
    }

    #[test]
    fn default_file_configures_twenty_one_languages() {
        let settings = Settings::repository_defaults();
        let names: Vec<_> = settings.languages.keys().cloned().collect();
        assert_eq!(
            names,
            [
                "bash",
                "c",
                "cpp",
                "elixir",
                "erlang",
                "fortran",
                "go",
                "haskell",
                "java",
                "javascript",
                "lua",
                "ocaml",
                "pascal",
                "perl",
                "php",
                "python",
                "r",
                "ruby",
                "rust",
                "sqlite",
                "typescript",
            ]
        );
        assert!(settings.languages.values().all(|language| language.enabled));
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
            assert_eq!(settings.languages["python"].pool_size.get(), 5);
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
            let settings = Settings::repository_defaults();
            for name in settings.languages.keys().filter(|name| *name != "ruby") {
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
            // Figment names the key as the environment spelled it.
            let message = error.to_string().to_lowercase();
            assert!(message.contains("languages.ruby.pool_size"), "{error}");
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
                Vec::<String>::from(settings.rate_limit.trusted_proxies),
                ["127.0.0.1/32", "10.0.0.0/8"]
            );
            jail.set_env("CODEEXEC_RATE_LIMIT__TRUSTED_PROXIES", r#"["10.0.0.0/33"]"#);
            let error = Settings::load(&repo_config()).unwrap_err();
            let message = error.to_string().to_lowercase();
            assert!(message.contains("rate_limit.trusted_proxies"), "{error}");
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
            let message = error.to_string().to_lowercase();
            assert!(message.contains("limits.max_jobs_in_flight"), "{error}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn submissions_may_not_be_given_more_places_than_the_engine_has() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CODEEXEC_LIMITS__MAX_JOBS_IN_FLIGHT", "8");
            jail.set_env("CODEEXEC_JUDGE0__MAX_RUNNING", "9");
            let error = Settings::load(&repo_config()).unwrap_err();
            assert!(
                error.to_string().contains("judge0.max_running (9)"),
                "{error}"
            );
            jail.set_env("CODEEXEC_JUDGE0__MAX_RUNNING", "8");
            let settings = Settings::load(&repo_config()).unwrap();
            assert_eq!(settings.judge0.running_places(8), 8);
            jail.set_env("CODEEXEC_JUDGE0__MAX_RUNNING", "0");
            let settings = Settings::load(&repo_config()).unwrap();
            assert_eq!(settings.judge0.running_places(8), 4);
            assert_eq!(settings.judge0.running_places(1), 1);
            Ok(())
        });
    }
}
