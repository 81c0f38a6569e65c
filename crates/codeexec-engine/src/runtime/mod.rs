//! The container-runtime seam: what the engine needs from wherever jobs run. Start a container
//! whose runner waits for one job, hand it the job, learn how it ended, remove it; and hear when
//! an idle container dies or the runtime itself goes away. [`DockerRuntime`] is the sandbox;
//! [`LocalRuntime`] runs the runner as a host process, for tests and development only.

mod docker;
mod live;
mod local;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use codeexec_protocol::{JobFrame, ResultFrame, PRESTART_WARM_LIMIT_SECS, RUNNER_READY};
use tokio::sync::mpsc;

use crate::language::Language;
use crate::settings::{EngineSettings, RuntimeKind};
use crate::EngineError;
pub use docker::{
    connect as connect_docker, DockerRuntime, LABEL_INSTANCE, LABEL_LANGUAGE, LABEL_MANAGED,
};
pub use live::LiveIo;
pub use local::LocalRuntime;

/// What a runtime reports while the service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeEvent {
    /// A container of this instance stopped; if it was idle in its pool it must be replaced.
    ContainerDied { language: String, id: String },
    /// The runtime stopped answering: every started container went with it. `reason` is the
    /// sentence jobs are refused with meanwhile.
    Lost { reason: String },
    /// The runtime answers again.
    Back,
}

/// What the container gave back for one job.
#[derive(Debug)]
pub struct ContainerReport {
    /// The runner's result, or why there is none.
    pub result: Result<ResultFrame, String>,
    /// The runtime's sign that the memory limit was hit (Docker's OOMKilled flag): the only one
    /// trusted.
    pub oom_killed: bool,
}

/// A started container, whichever runtime started it.
pub type Container = Box<dyn StartedContainer>;

/// Where containers come from.
#[async_trait]
pub trait ContainerRuntime: Send + Sync + 'static {
    /// Starts a container for `language` whose runner waits for its one job.
    async fn start(&self, language: &Language) -> Result<Container, String>;

    /// Removes every container this service instance owns, in use or not; returns how many.
    async fn remove_all(&self) -> Result<usize, String>;

    /// Whether the runtime answers now; the error says what does not, in a sentence.
    async fn ping(&self) -> Result<(), String>;

    /// Memory of the machine the containers run on, in MB, when the runtime can say.
    async fn total_memory_mb(&self) -> Option<u64>;

    /// Reports [`RuntimeEvent`]s on `events` for as long as the service runs.
    fn watch(&self, events: mpsc::UnboundedSender<RuntimeEvent>);
}

/// A started container waiting for one job. Dropping it removes it (in the background): however
/// a job ends, a cancelled request included, its container does not outlive it.
#[async_trait]
pub trait StartedContainer: Send + std::fmt::Debug {
    fn id(&self) -> &str;

    /// Serves one job. `memory_mb` below the container's own limit lowers it first; `deadline`
    /// bounds the whole exchange. With `live` the job is interactive (its frame must say so):
    /// its client's input goes in and its events come out while it runs. A container serves
    /// one job only: drop or remove it after.
    async fn run(
        &mut self,
        frame: &JobFrame,
        memory_mb: u64,
        deadline: Duration,
        live: Option<LiveIo>,
    ) -> ContainerReport;

    /// Waits, at most `limit`, until the runner says [`RUNNER_READY`]: its pre-started runtime,
    /// if any, has warmed up. A container counts as ready for a job only then.
    async fn ready(&mut self, limit: Duration) -> Result<(), String>;

    /// Removes the container and waits until it is gone.
    async fn remove(self: Box<Self>);
}

/// How long a container may take from its start to [`RUNNER_READY`]: longer than the runner
/// itself waits for a warming runtime before it says it is ready all the same.
pub const READY_LIMIT: Duration = Duration::from_secs(PRESTART_WARM_LIMIT_SECS + 10);

/// Reads the runner's first line from `link`, byte by byte (what follows it is the job's
/// exchange), and checks it is [`RUNNER_READY`]; at most `limit`.
async fn read_ready(
    link: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    const MOST: usize = 1024;
    let read_line = async {
        let mut line = Vec::new();
        while line.len() < MOST && line.last() != Some(&b'\n') {
            match link.read_u8().await {
                Ok(byte) => line.push(byte),
                Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(error) => return Err(format!("lost the runner before it was ready: {error}")),
            }
        }
        Ok(line)
    };
    let line = tokio::time::timeout(limit, read_line)
        .await
        .map_err(|_| format!("the runner was not ready within {} s", limit.as_secs()))??;
    if line == RUNNER_READY {
        Ok(())
    } else if line.is_empty() {
        Err("the runner ended before it was ready".to_string())
    } else {
        Err(format!(
            "the runner said {:?} instead of ready",
            String::from_utf8_lossy(&line).trim_end()
        ))
    }
}

/// The runtime the settings name: Docker, connected; or the local one, which
/// [`Engine::start`](crate::Engine::start) refuses unless the settings allow it.
pub async fn connect_runtime(
    settings: &EngineSettings,
) -> Result<Arc<dyn ContainerRuntime>, EngineError> {
    Ok(match settings.runtime.kind {
        RuntimeKind::Docker => Arc::new(
            DockerRuntime::connect(&settings.docker, &settings.limits)
                .await
                .map_err(EngineError::Start)?,
        ),
        RuntimeKind::Local => Arc::new(LocalRuntime::new(
            settings.runtime.local_runner_path.clone(),
        )),
    })
}
