//! The real `codeexec` binary as a test's service: started on a loopback port under an instance
//! name of its own, against the real Docker engine, stopped by SIGTERM.

use std::collections::HashMap;
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use bollard::models::ContainerSummary;

use super::docker::instance_containers;
use super::http::Http;
use super::languages::only_original_languages;
use super::wait::wait_until;

/// How long a service may take to fill its pools on a busy 2-core machine.
const READY_WAIT: Duration = Duration::from_secs(240);

/// A running `codeexec serve` process.
pub struct Service {
    pub instance: String,
    pid: u32,
    exited: Mutex<mpsc::Receiver<ExitStatus>>,
    http: Http,
}

/// The HTTP side of the service: `service.post(..)`, `service.url`.
impl Deref for Service {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Service {
    /// Starts a service whose settings are the repository's config plus `overrides`
    /// (environment variables), and waits until it listens. The process gets SIGTERM when the
    /// test process exits, so it removes its containers even when a test fails.
    pub fn start(name: &str, overrides: &[(&str, &str)]) -> Service {
        Service::start_instance(&test_instance(name), overrides)
    }

    /// Like [`Service::start`] with a given instance name.
    pub fn start_instance(instance: &str, overrides: &[(&str, &str)]) -> Service {
        let mut env: HashMap<String, String> = HashMap::from([
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), "0".into()),
            ("CODEEXEC_DOCKER__INSTANCE".into(), instance.to_string()),
            ("RUST_LOG".into(), "info".into()),
            // Every test sends its requests from 127.0.0.1, as one client: only the tests of
            // the rate limit itself turn it on, through `overrides`.
            ("CODEEXEC_RATE_LIMIT__ENABLED".into(), "false".into()),
        ]);
        env.extend(own_program_uids());
        env.extend(only_original_languages());
        for (key, value) in overrides {
            env.insert(key.to_string(), value.to_string());
        }
        let log_path = target_tmp().join(format!("{instance}.log"));
        let log = std::fs::File::create(&log_path).expect("create the service log");
        let (spawned, spawn_result) = mpsc::channel();
        let (exit_sender, exited) = mpsc::channel();
        // The parent-death signal is tied to the thread that spawned the child, so spawn from a
        // thread that lives as long as the child. The log goes to a file, not a pipe, so the
        // service can still write it while it shuts down after the test process is gone.
        std::thread::spawn(move || {
            let mut child = spawn_service(&env, log);
            spawned.send(child.id()).unwrap();
            let status = child.wait().expect("wait for codeexec");
            let _ = exit_sender.send(status);
        });
        let pid = spawn_result.recv().expect("codeexec spawned");
        let url = wait_for_address(&log_path, &exited);
        Service {
            instance: instance.to_string(),
            pid,
            exited: Mutex::new(exited),
            http: Http::new(url),
        }
    }

    /// Starts the real binary on the local runtime (the runner as a host process: no sandbox),
    /// with `overrides` on top: for tests of the service's own behaviour, such as its drain,
    /// whose jobs must stay in flight until the test lets them go ([`super::HeldJob`]).
    pub fn start_local(name: &str, overrides: &[(&str, &str)]) -> Service {
        let runner = std::path::Path::new(env!("CARGO_BIN_EXE_codeexec"))
            .with_file_name("codeexec-runner")
            .display()
            .to_string();
        let mut local = vec![
            ("CODEEXEC_RUNTIME__KIND", "local"),
            ("CODEEXEC_RUNTIME__ALLOW_UNSANDBOXED", "true"),
            ("CODEEXEC_RUNTIME__LOCAL_RUNNER_PATH", runner.as_str()),
        ];
        local.extend_from_slice(overrides);
        let service = Service::start(name, &local);
        wait_until("the pools are full", || service.pools_full_and_settled());
        service
    }

    /// Starts a service and waits until every pool is full and has reported its version.
    pub fn start_ready(name: &str, overrides: &[(&str, &str)]) -> Service {
        let service = Service::start(name, overrides);
        service.wait_until_ready();
        service
    }

    /// Waits until every pool holds its target of ready containers and knows its version.
    pub fn wait_until_ready(&self) {
        let started = Instant::now();
        while !self.pools_are_full() {
            assert!(
                started.elapsed() < READY_WAIT,
                "pools did not fill in time: {}",
                self.get("/api/v1/languages").1
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn pools_are_full(&self) -> bool {
        let (_, body) = self.get("/api/v1/languages");
        body["languages"].as_array().is_some_and(|languages| {
            languages.iter().all(|language| {
                let pool = &language["pool"];
                !language["version"].is_null() && pool["ready"] == pool["target"]
            })
        })
    }

    /// Where the service writes its log.
    pub fn log_path(&self) -> PathBuf {
        target_tmp().join(format!("{}.log", self.instance))
    }

    /// The ids of this instance's containers, as Docker lists them.
    pub fn containers(&self) -> Vec<ContainerSummary> {
        instance_containers(&self.instance)
    }

    /// The ids of this service's containers, sorted: equal before and after means no container
    /// was started or removed in between.
    pub fn container_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .containers()
            .into_iter()
            .filter_map(|container| container.id)
            .collect();
        ids.sort();
        ids
    }

    /// Waits until the service has exactly `pooled` containers, all running: the pools' warm
    /// ones, with every container that served a job gone.
    pub fn wait_until_only_pools_remain(&self, pooled: usize) {
        wait_until("only the pools' running containers remain", || {
            let containers = self.containers();
            containers.len() == pooled
                && containers
                    .iter()
                    .all(|c| c.state.as_ref().map(|s| s.to_string()).as_deref() == Some("running"))
        });
    }

    /// The service process's resident memory (VmRSS), in KiB.
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .expect("the service process is alive");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_for_exit()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) and returns at once.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        unsafe { libc::kill(self.pid as i32, signal) };
    }

    /// Waits for the process to exit.
    pub fn wait_for_exit(&self) -> ExitStatus {
        self.exited
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(120))
            .expect("the service exited after SIGTERM")
    }
}

/// An instance name for a test's service or containers, unique within this test process:
/// `<prefix>-<name>-<pid>-<count>`. The prefix is `CODEEXEC_TEST_INSTANCE_PREFIX`, which
/// scripts/test sets for each run so that its leak check counts that run's containers alone, or
/// `test` when it is unset.
pub fn test_instance(name: &str) -> String {
    static NAMED: AtomicUsize = AtomicUsize::new(0);
    let count = NAMED.fetch_add(1, Ordering::Relaxed);
    let prefix = std::env::var("CODEEXEC_TEST_INSTANCE_PREFIX")
        .ok()
        .filter(|prefix| !prefix.is_empty())
        .unwrap_or_else(|| "test".to_string());
    format!("{prefix}-{name}-{}-{count}", std::process::id())
}

/// A range of program uids for one test service, apart from every other service this test
/// process starts (and from the default range a user's own service has), as services sharing an
/// engine need: a range of 512 per service, 65536 per test process.
fn own_program_uids() -> [(String, String); 2] {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    const PER_SERVICE: usize = 512;
    let service = STARTED.fetch_add(1, Ordering::Relaxed) % (65536 / PER_SERVICE);
    let process = std::process::id() as usize % 4096;
    let first = 1_000_000 + process * 65536 + service * PER_SERVICE;
    [
        (
            "CODEEXEC_DOCKER__PROGRAM_UIDS__FIRST".into(),
            first.to_string(),
        ),
        (
            "CODEEXEC_DOCKER__PROGRAM_UIDS__COUNT".into(),
            PER_SERVICE.to_string(),
        ),
    ]
}

/// Reads the service's log until it names the address it listens on.
fn wait_for_address(log_path: &PathBuf, exited: &mpsc::Receiver<ExitStatus>) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let log = std::fs::read_to_string(log_path).unwrap_or_default();
        if let Some(at) = log.find("listening on http://") {
            // The address ends where the line (plain logs) or the JSON string (JSON logs) does.
            let rest = &log[at + "listening on ".len()..];
            let end = rest.find(['"', '\n', ' ']).unwrap_or(rest.len());
            return rest[..end].to_string();
        }
        if let Ok(status) = exited.try_recv() {
            panic!("the service exited ({status}) before listening:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "the service did not start:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn_service(env: &HashMap<String, String>, log: std::fs::File) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_codeexec"));
    command
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the child.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    command.spawn().expect("spawn codeexec")
}

fn target_tmp() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `body` through `/api/v1/execute` on each named service, for tests that compare services
/// (a pre-started runtime against a fresh one); each answer must be 200.
pub fn run_on_each(
    services: [(&'static str, &'static Service); 2],
    body: &serde_json::Value,
) -> Vec<(&'static str, serde_json::Value)> {
    services
        .into_iter()
        .map(|(name, service)| (name, service.run_with(body.clone())))
        .collect()
}
