//! A codeexec service inside the test process, for tests of HTTP semantics only: the library's
//! `serve` on a listener bound to port 0 of 127.0.0.1, in a thread with its own actix system, on
//! the local runtime (the runner as a host process: no sandbox, never for what needs one).
//! Dropping it stops it the way SIGTERM stops the binary.

use std::net::TcpListener;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use codeexec::config::Settings;
use figment::providers::Serialized;
use figment::value::Value;
use tokio::sync::oneshot;

use super::http::Http;

/// How long the pools of runner processes may take to fill on a busy machine.
const READY_WAIT: Duration = Duration::from_secs(60);

pub struct InProcess {
    http: Http,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
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
    /// and waits until its pools are full.
    pub fn start_ready(name: &str, overrides: &[(&str, &str)]) -> InProcess {
        let service = InProcess::start(name, overrides);
        let started = Instant::now();
        while !service.pools_full_and_settled() {
            assert!(
                started.elapsed() < READY_WAIT,
                "pools did not fill in time: {}",
                service.get("/api/v1/languages").1
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    /// Starts a service as [`InProcess::start_ready`] does, without waiting for its pools;
    /// `name` names its thread.
    pub fn start(name: &str, overrides: &[(&str, &str)]) -> InProcess {
        let settings = settings(overrides);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name(format!("service-{name}"));
        let thread = thread.spawn(move || {
            let shutdown = async {
                let _ = stopped.await;
            };
            actix_web::rt::System::new()
                .block_on(codeexec::server::serve(settings, listener, shutdown))
                .expect("the in-process service ran");
        });
        let thread = thread.expect("spawn the service's thread");
        InProcess {
            http: Http::new(url),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let finished = thread.join();
            if finished.is_err() && !std::thread::panicking() {
                panic!("the in-process service panicked");
            }
        }
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
    for (variable, value) in overrides {
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
