//! One Docker container over its life: created and started ahead of time (and connected to over
//! the direct channel, or attached to), then given exactly one job frame, read for the result,
//! and removed.

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use bollard::container::LogOutput;
use bollard::errors::Error::DockerResponseServerError;
use bollard::models::{ContainerCreateBody, ContainerUpdateBody};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bollard::Docker;
use codeexec_protocol::{JobFrame, ResultFrame, StageReport};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

use super::channel::ChannelDir;
use super::program_uids::UidLease;
use crate::runtime::{live, read_ready, ContainerReport, LiveIo, StartedContainer};

/// The runner's result is at most a few times the output caps; anything past this is not a
/// result frame and is not kept.
const MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;
/// Runner diagnostics on stderr kept for the log.
const MAX_DIAGNOSTIC_BYTES: usize = 16 * 1024;
/// How long to wait for Docker to record a container's exit when the OOM flag is needed.
pub const EXIT_WAIT: Duration = Duration::from_secs(5);
/// How long a removal waits for another removal of the same container to finish.
const REMOVAL_WAIT: Duration = Duration::from_secs(10);
/// Retries of a refused removal, the first [`REMOVE_RETRY_DELAY`] later, then doubling.
const REMOVE_RETRIES: usize = 3;
const REMOVE_RETRY_DELAY: Duration = Duration::from_millis(250);

type OutputStream = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;
type InputSink = Pin<Box<dyn AsyncWrite + Send>>;

/// How the job reaches the runner and its result comes back.
enum Link {
    /// The direct channel: a connection to the runner's socket.
    Channel(UnixStream),
    /// dockerd's attach stream: the runner's stdin, stdout and stderr.
    Attached {
        input: InputSink,
        output: OutputStream,
    },
}

/// A started container whose runner is waiting for its job frame. It serves at most one job, and
/// is removed when dropped (in the background) or by [`StartedContainer::remove`]: however a job
/// ends, a cancelled request included, its container does not outlive it.
pub struct DockerContainer {
    id: String,
    /// Memory limit the container was created with, in MB.
    pub memory_mb: u64,
    docker: Docker,
    link: Link,
    /// Its program's uid, given back once the container is gone.
    program_uid: Option<UidLease>,
    /// Set once removal has been taken care of, so that drop does not repeat it.
    removed: bool,
}

impl Drop for DockerContainer {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let docker = self.docker.clone();
        let id = std::mem::take(&mut self.id);
        let program_uid = self.program_uid.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    remove(&docker, &id).await;
                    drop(program_uid);
                });
            }
            // Outside a runtime nothing can be removed now; the next sweep of this instance's
            // containers (at shutdown or start) will.
            Err(_) => tracing::warn!(container = %id, "a container was dropped outside a runtime"),
        }
    }
}

impl std::fmt::Debug for DockerContainer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DockerContainer")
            .field("id", &self.id)
            .finish()
    }
}

impl DockerContainer {
    /// Creates and starts a container, whose program runs as `program_uid` (held until the
    /// container is removed), then connects to its runner over the channel in `channel`'s
    /// directory (waiting at most its duration for the runner to listen) or, without a channel,
    /// attaches to it: before starting, or the runner's first output could be lost. A container
    /// that fails half-way is removed.
    pub async fn start(
        docker: &Docker,
        spec: &ContainerCreateBody,
        memory_mb: u64,
        program_uid: UidLease,
        channel: Option<(ChannelDir, Duration)>,
    ) -> Result<DockerContainer, String> {
        // The channel's directory goes when `channel` is dropped, however this ends.
        let id = docker
            .create_container(None, spec.clone())
            .await
            .map_err(|error| error.to_string())?
            .id;
        let linked = match channel {
            Some((dir, limit)) => Self::start_and_connect(docker, &id, dir, limit).await,
            None => Self::attach_and_start(docker, &id)
                .await
                .map_err(|error| error.to_string()),
        };
        match linked {
            Ok(link) => Ok(DockerContainer {
                id,
                memory_mb,
                docker: docker.clone(),
                link,
                program_uid: Some(program_uid),
                removed: false,
            }),
            Err(error) => {
                remove(docker, &id).await;
                Err(error)
            }
        }
    }

    async fn start_and_connect(
        docker: &Docker,
        id: &str,
        dir: ChannelDir,
        limit: Duration,
    ) -> Result<Link, String> {
        docker
            .start_container(id, None)
            .await
            .map_err(|error| error.to_string())?;
        dir.connect(limit).await.map(Link::Channel)
    }

    async fn attach_and_start(docker: &Docker, id: &str) -> Result<Link, bollard::errors::Error> {
        let options = AttachContainerOptionsBuilder::default()
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .build();
        let attached = docker.attach_container(id, Some(options)).await?;
        docker.start_container(id, None).await?;
        Ok(Link::Attached {
            input: attached.input,
            output: attached.output,
        })
    }

    /// Gives the runner its job and collects the report. `memory_mb` below the container's own
    /// limit lowers it first; `deadline` bounds the whole exchange, an interactive one's too.
    async fn serve(
        &mut self,
        frame: &JobFrame,
        memory_mb: u64,
        deadline: Duration,
        live: Option<LiveIo>,
    ) -> ContainerReport {
        if memory_mb < self.memory_mb {
            if let Err(error) = lower_memory(&self.docker, &self.id, memory_mb).await {
                return failed(format!("could not set the memory limit: {error}"));
            }
        }
        let exchange = self.exchange(frame, live);
        let result = match tokio::time::timeout(deadline, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "the container gave no result within {} ms",
                deadline.as_millis()
            )),
        };
        if !needs_oom_check(&result) {
            return ContainerReport {
                result,
                oom_killed: false,
            };
        }
        let end = how_it_ended(&self.docker, &self.id).await;
        ContainerReport {
            result: result.map_err(|reason| end.explain(reason)),
            oom_killed: end == ContainerEnd::OomKilled,
        }
    }

    /// Sends the frame, half-closes so the runner sees its end, and reads the result frame; or,
    /// for an interactive job, serves it `live`.
    async fn exchange(
        &mut self,
        frame: &JobFrame,
        live: Option<LiveIo>,
    ) -> Result<ResultFrame, String> {
        if let Some(io) = live {
            return match &mut self.link {
                Link::Channel(stream) => {
                    let (reader, writer) = stream.split();
                    live::exchange(writer, reader, frame, io).await
                }
                Link::Attached { input, output } => {
                    live::exchange(input, runner_stdout(output), frame, io).await
                }
            };
        }
        let encoded = serde_json::to_vec(frame).map_err(|error| error.to_string())?;
        match &mut self.link {
            Link::Channel(stream) => exchange_on_channel(stream, &encoded).await,
            Link::Attached { input, output } => exchange_attached(input, output, &encoded).await,
        }
    }
}

async fn exchange_on_channel(
    stream: &mut UnixStream,
    encoded: &[u8],
) -> Result<ResultFrame, String> {
    let sent = async {
        stream.write_all(encoded).await?;
        stream.shutdown().await
    };
    sent.await
        .map_err(|error| format!("could not send the job to the runner: {error}"))?;
    let mut result = ResultBytes::default();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|error| format!("lost the runner's channel: {error}"))?;
        if read == 0 {
            return result.finish("");
        }
        if let Some(frame) = result.push(&chunk[..read]) {
            return Ok(frame);
        }
    }
}

/// Sends the frame on the runner's stdin, half-closes it so the runner sees EOF, and reads its
/// stdout until the result frame (or the container's end).
async fn exchange_attached(
    input: &mut InputSink,
    output: &mut OutputStream,
    encoded: &[u8],
) -> Result<ResultFrame, String> {
    let sent = async {
        input.write_all(encoded).await?;
        input.shutdown().await
    };
    sent.await
        .map_err(|error| format!("could not send the job to the container: {error}"))?;
    let mut result = ResultBytes::default();
    let mut diagnostics = Vec::new();
    while let Some(chunk) = output.next().await {
        match chunk.map_err(|error| format!("lost the container's output: {error}"))? {
            LogOutput::StdOut { message } => {
                if let Some(frame) = result.push(&message) {
                    return Ok(frame);
                }
            }
            LogOutput::StdErr { message } => {
                append_capped(&mut diagnostics, &message, MAX_DIAGNOSTIC_BYTES)
            }
            _ => {}
        }
    }
    result.finish(&String::from_utf8_lossy(&diagnostics))
}

/// The runner's stdout from the attach stream, as bytes to read; its stderr (diagnostics) is
/// left out.
fn runner_stdout(output: &mut OutputStream) -> impl tokio::io::AsyncRead + Unpin + '_ {
    let stdout = output.filter_map(|chunk| async move {
        match chunk {
            Ok(LogOutput::StdOut { message }) => Some(Ok(message)),
            Ok(_) => None,
            Err(error) => Some(Err(std::io::Error::other(error))),
        }
    });
    tokio_util::io::StreamReader::new(Box::pin(stdout))
}

/// The runner's answer as it arrives.
#[derive(Default)]
struct ResultBytes(Vec<u8>);

impl ResultBytes {
    /// Adds bytes; returns the frame once it is whole. The runner ends its one frame with a
    /// newline: taking the frame then, rather than at the end of the stream, saves waiting for
    /// the runner to exit.
    fn push(&mut self, bytes: &[u8]) -> Option<ResultFrame> {
        append_capped(&mut self.0, bytes, MAX_RESULT_BYTES);
        if self.0.ends_with(b"\n") {
            serde_json::from_slice(&self.0).ok()
        } else {
            None
        }
    }

    /// The frame at the end of the stream, or why there is none, with the runner's
    /// `diagnostics`.
    fn finish(self, diagnostics: &str) -> Result<ResultFrame, String> {
        serde_json::from_slice(&self.0).map_err(|_| {
            let what = if self.0.is_empty() {
                "exited without a result"
            } else {
                "gave a result that could not be read"
            };
            format!("the container {what}. {}", diagnostics.trim())
                .trim_end()
                .to_string()
        })
    }
}

#[async_trait]
impl StartedContainer for DockerContainer {
    fn id(&self) -> &str {
        &self.id
    }

    async fn run(
        &mut self,
        frame: &JobFrame,
        memory_mb: u64,
        deadline: Duration,
        live: Option<LiveIo>,
    ) -> ContainerReport {
        self.serve(frame, memory_mb, deadline, live).await
    }

    async fn ready(&mut self, limit: Duration) -> Result<(), String> {
        let ready = match &mut self.link {
            Link::Channel(stream) => read_ready(stream, limit).await,
            Link::Attached { output, .. } => read_ready(&mut runner_stdout(output), limit).await,
        };
        match ready {
            Ok(()) => Ok(()),
            Err(reason) => {
                let end = how_it_ended(&self.docker, &self.id).await;
                Err(format!("{reason} ({})", end.describe()))
            }
        }
    }

    async fn remove(mut self: Box<Self>) {
        self.removed = true;
        remove(&self.docker, &self.id).await;
    }
}

/// Removes a container whatever its state, and returns once it is gone. The engine may refuse a
/// forced removal while the container is exiting on its own (500: "cannot remove - container is
/// not running"), so a failure is retried; what still fails is logged, and the startup sweep
/// removes whatever is left.
pub async fn remove(docker: &Docker, id: &str) {
    let attempt = || async {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match docker.remove_container(id, Some(options)).await {
            Err(DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            // Another removal (a job's container let go in the background) is under way: the
            // container is gone only when it ends, which shutdown's sweep must wait for.
            Err(DockerResponseServerError {
                status_code: 409, ..
            }) => {
                wait_until_removed(docker, id).await;
                Ok(())
            }
            other => other,
        }
    };
    let retries = ExponentialBuilder::default()
        .with_min_delay(REMOVE_RETRY_DELAY)
        .with_max_times(REMOVE_RETRIES);
    let removed = attempt
        .retry(retries)
        .notify(|error, _| tracing::debug!(container = id, %error, "removal failed; retrying"))
        .await;
    if let Err(error) = removed {
        tracing::warn!(container = id, %error, "could not remove a container");
    }
}

/// Waits (boundedly) until the engine has removed the container.
async fn wait_until_removed(docker: &Docker, id: &str) {
    let options = WaitContainerOptionsBuilder::default()
        .condition("removed")
        .build();
    let mut removed = docker.wait_container(id, Some(options));
    let _ = tokio::time::timeout(REMOVAL_WAIT, removed.next()).await;
}

async fn lower_memory(
    docker: &Docker,
    id: &str,
    memory_mb: u64,
) -> Result<(), bollard::errors::Error> {
    let bytes = memory_mb as i64 * 1024 * 1024;
    let update = ContainerUpdateBody {
        memory: Some(bytes),
        memory_swap: Some(bytes),
        ..Default::default()
    };
    docker.update_container(id, update).await
}

/// Only a SIGKILL or a missing result can be the OOM killer's work, and a stage whose runner
/// read the container's OOM-kill count needs no more; everything else skips the extra Docker
/// round trips.
fn needs_oom_check(result: &Result<ResultFrame, String>) -> bool {
    let killed = |stage: Option<&StageReport>| {
        stage.is_some_and(|stage| stage.signal == Some(9) && stage.oom_killed.is_none())
    };
    match result {
        Ok(frame) => killed(frame.compile.as_ref()) || killed(frame.run.as_ref()),
        Err(_) => true,
    }
}

/// How a container that was serving a job ended, as Docker recorded it.
#[derive(Debug, PartialEq)]
enum ContainerEnd {
    /// The memory limit was hit (Docker's OOMKilled flag).
    OomKilled,
    /// Stopped, with this exit code; or still running (`None`).
    Exited(Option<i64>),
    /// Removed, by someone other than this job.
    Removed,
    /// Docker could not say.
    Unknown,
}

impl ContainerEnd {
    /// Adds what Docker knows to the reason a job got no result, so that a container killed or
    /// removed from outside reads as such.
    fn explain(&self, reason: String) -> String {
        match self {
            ContainerEnd::Removed => format!(
                "{reason} The container was removed from outside the service while it ran the job."
            ),
            // docker-init exits with 128 + the signal that ended the runner, or was itself killed.
            ContainerEnd::Exited(Some(code)) if *code > 128 => format!(
                "{reason} The container ended with exit code {code} (signal {}): it was killed \
                 from outside the service, or the program killed its runner.",
                code - 128
            ),
            _ => reason,
        }
    }

    /// The end in a clause: what a failed start adds to its reason, so that it says whether the
    /// runner exited (and how) or still runs. (The runner's own words are not kept: containers
    /// log nothing.)
    fn describe(&self) -> String {
        match self {
            ContainerEnd::OomKilled => "the container hit its memory limit".to_string(),
            ContainerEnd::Exited(Some(code)) => format!("the container exited with {code}"),
            ContainerEnd::Exited(None) => "the container still runs".to_string(),
            ContainerEnd::Removed => "the container was removed".to_string(),
            ContainerEnd::Unknown => "Docker cannot say how the container ended".to_string(),
        }
    }
}

/// Waits (boundedly) for the container to stop, so that Docker has recorded an OOM kill, then
/// reads how it ended.
async fn how_it_ended(docker: &Docker, id: &str) -> ContainerEnd {
    let options = WaitContainerOptionsBuilder::default()
        .condition("not-running")
        .build();
    let mut exit = docker.wait_container(id, Some(options));
    let _ = tokio::time::timeout(EXIT_WAIT, exit.next()).await;
    match docker.inspect_container(id, None).await {
        Ok(inspect) => {
            let state = inspect.state.unwrap_or_default();
            if state.oom_killed == Some(true) {
                ContainerEnd::OomKilled
            } else {
                ContainerEnd::Exited(state.exit_code.filter(|_| state.running != Some(true)))
            }
        }
        Err(DockerResponseServerError {
            status_code: 404, ..
        }) => ContainerEnd::Removed,
        Err(error) => {
            tracing::warn!(container = id, %error, "could not inspect a finished container");
            ContainerEnd::Unknown
        }
    }
}

fn append_capped(buffer: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    let room = cap.saturating_sub(buffer.len());
    buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

fn failed(reason: String) -> ContainerReport {
    ContainerReport {
        result: Err(reason),
        oom_killed: false,
    }
}
