//! A codeexec service inside the test process, for tests of HTTP semantics only: the library's
//! [`BackgroundService`] on the local runtime (the runner as a host process: no sandbox, never
//! for what needs one). Dropping it stops it the way SIGTERM stops the binary.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use codeexec::background::BackgroundService;
use codeexec::config::Settings;
use figment::providers::Serialized;
use figment::value::Value;

use super::http::Http;
use super::languages::only_original_languages;
use super::wait::wait_until;

pub struct InProcess {
    http: Http,
    _service: BackgroundService,
}

impl Deref for InProcess {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl InProcess {
    /// Starts a service with the repository's settings, the local runtime, and `overrides` on
    /// top, named as the binary's environment names them (`CODEEXEC_LIMITS__MAX_JOBS_IN_FLIGHT`),
    /// and waits until its pools are full. `name` names its thread.
    pub fn start_ready(name: &str, overrides: &[(&str, &str)]) -> InProcess {
        let service = BackgroundService::start(name, settings(overrides));
        let service = InProcess {
            http: Http::new(service.url.clone()),
            _service: service,
        };
        wait_until("the pools are full", || service.pools_full_and_settled());
        service
    }
}

/// The repository's settings on the local runtime, with `overrides` applied last.
fn settings(overrides: &[(&str, &str)]) -> Settings {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runner = runner_path().display().to_string();
    let mut layers: Vec<(String, Value)> = vec![
        ("runtime.kind".into(), Value::from("local")),
        ("runtime.allow_unsandboxed".into(), Value::from(true)),
        ("runtime.local_runner_path".into(), Value::from(runner)),
        // Every request comes from 127.0.0.1, as one client: only the rate limit's own tests
        // turn it on.
        ("rate_limit.enabled".into(), Value::from(false)),
        ("mongo.uri".into(), Value::from("")),
    ];
    let defaults = only_original_languages();
    let defaults = defaults
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()));
    for (variable, value) in defaults.chain(overrides.iter().copied()) {
        let key = variable
            .strip_prefix("CODEEXEC_")
            .unwrap_or(variable)
            .to_ascii_lowercase()
            .replace("__", ".");
        layers.push((key, value.parse().expect("figment parses any text")));
    }
    let mut figment = Settings::figment(&repository.join("config/default.toml"));
    for (key, value) in layers {
        figment = figment.merge(Serialized::default(&key, value));
    }
    Settings::from_figment(figment).expect("valid test settings")
}

/// The host's `codeexec-runner`, built beside the `codeexec` binary by `cargo build
/// --workspace --bins`.
fn runner_path() -> PathBuf {
    let runner = Path::new(env!("CARGO_BIN_EXE_codeexec")).with_file_name("codeexec-runner");
    assert!(
        runner.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first",
        runner.display()
    );
    runner
}
