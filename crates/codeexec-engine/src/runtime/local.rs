//! The local runtime: each "container" is `codeexec-runner --sandbox <tmpdir>` started as a plain
//! host process, waiting for its job frame on stdin exactly as in a container. For tests and
//! development only: it is no sandbox. The program runs on this host as the service's own user,
//! with the runner's time and output limits and nothing else (no memory limit, network, or
//! filesystem isolation). The engine refuses it unless `runtime.allow_unsandboxed` is set.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use codeexec_protocol::{JobFrame, ResultFrame};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::{
    live, Container, ContainerReport, ContainerRuntime, LiveIo, RuntimeEvent, StartedContainer,
};
use crate::language::Language;

/// Starts runners on this host.
pub struct LocalRuntime {
    runner: PathBuf,
    started: AtomicU64,
}

impl LocalRuntime {
    /// `runner` is the host's `codeexec-runner` binary.
    pub fn new(runner: PathBuf) -> LocalRuntime {
        LocalRuntime {
            runner,
            started: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl ContainerRuntime for LocalRuntime {
    async fn start(&self, language: &Language) -> Result<Container, String> {
        let sandbox = tempfile::Builder::new()
            .prefix("codeexec-local-")
            .tempdir()
            .map_err(|error| format!("cannot make a sandbox directory: {error}"))?;
        let child = Command::new(&self.runner)
            .arg("--sandbox")
            .arg(sandbox.path())
            .current_dir(sandbox.path())
            // The host's own environment (its PATH finds the host's toolchains), as in a
            // container with the language's settings on top.
            .env("HOME", sandbox.path())
            .env("LANG", "C.UTF-8")
            .envs(
                language
                    .settings
                    .env
                    .iter()
                    .filter_map(|pair| pair.split_once('=')),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", self.runner.display()))?;
        let number = self.started.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(LocalProcess {
            id: format!("local-{number}-{}", child.id().unwrap_or_default()),
            child: Some(child),
            _sandbox: sandbox,
        }))
    }

    /// Nothing outlives the service: every runner is killed when its handle is dropped, and one
    /// whose service died reads end-of-file and exits.
    async fn remove_all(&self) -> Result<usize, String> {
        Ok(0)
    }

    async fn ping(&self) -> Result<(), String> {
        if self.runner.is_file() {
            Ok(())
        } else {
            Err(format!("the runner {} is missing", self.runner.display()))
        }
    }

    /// The host's `MemTotal`, from `/proc/meminfo`.
    async fn total_memory_mb(&self) -> Option<u64> {
        let meminfo = tokio::fs::read_to_string("/proc/meminfo").await.ok()?;
        let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024)
    }

    /// A host process has no engine to lose, and one that dies idle is found at its job.
    fn watch(&self, _events: mpsc::UnboundedSender<RuntimeEvent>) {}
}

/// One runner process and its sandbox directory, removed with it.
#[derive(Debug)]
struct LocalProcess {
    id: String,
    child: Option<Child>,
    _sandbox: TempDir,
}

#[async_trait]
impl StartedContainer for LocalProcess {
    fn id(&self) -> &str {
        &self.id
    }

    /// `memory_mb` is not enforced: the host has no per-process memory limit here.
    async fn run(
        &mut self,
        frame: &JobFrame,
        _memory_mb: u64,
        deadline: Duration,
        live: Option<LiveIo>,
    ) -> ContainerReport {
        let result = match (self.child.take(), live) {
            (Some(child), None) => exchange(child, frame, deadline).await,
            (Some(child), Some(io)) => exchange_live(child, frame, deadline, io).await,
            (None, _) => Err("this runner already served its job".to_string()),
        };
        ContainerReport {
            result,
            oom_killed: false,
        }
    }

    async fn ready(&mut self, limit: Duration) -> Result<(), String> {
        let stdout = self
            .child
            .as_mut()
            .and_then(|child| child.stdout.as_mut())
            .ok_or("the runner has no stdout")?;
        super::read_ready(stdout, limit).await
    }

    async fn remove(mut self: Box<Self>) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

/// Serves an interactive job on the runner's stdin and stdout; a runner still going at
/// `deadline` is killed (its handle is dropped).
async fn exchange_live(
    mut child: Child,
    frame: &JobFrame,
    deadline: Duration,
    io: LiveIo,
) -> Result<ResultFrame, String> {
    let stdin = child.stdin.take().ok_or("the runner has no stdin")?;
    let stdout = child.stdout.take().ok_or("the runner has no stdout")?;
    tokio::time::timeout(deadline, live::exchange(stdin, stdout, frame, io))
        .await
        .map_err(|_| no_result_within(deadline))?
}

fn no_result_within(deadline: Duration) -> String {
    format!(
        "the runner gave no result within {} ms",
        deadline.as_millis()
    )
}

/// Sends the frame, closes stdin, and reads the runner's one result frame; a runner still going
/// at `deadline` is killed (its handle is dropped).
async fn exchange(
    mut child: Child,
    frame: &JobFrame,
    deadline: Duration,
) -> Result<ResultFrame, String> {
    let encoded = serde_json::to_vec(frame).map_err(|error| error.to_string())?;
    let mut stdin = child.stdin.take().ok_or("the runner has no stdin")?;
    stdin
        .write_all(&encoded)
        .await
        .map_err(|error| format!("could not send the job to the runner: {error}"))?;
    drop(stdin);
    let output = tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .map_err(|_| no_result_within(deadline))?
        .map_err(|error| format!("lost the runner's output: {error}"))?;
    serde_json::from_slice(&output.stdout).map_err(|_| {
        let diagnostics = String::from_utf8_lossy(&output.stderr);
        format!(
            "the runner exited without a readable result. {}",
            diagnostics.trim()
        )
        .trim_end()
        .to_string()
    })
}
