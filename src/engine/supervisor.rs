//! The supervisor actor of one language: keeps its pool of warm containers at size, hands each
//! container to exactly one job, queues jobs (bounded) while none is ready, and replaces every
//! container that is taken or dies.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bollard::models::ContainerCreateBody;
use bollard::Docker;
use dashmap::DashMap;
use tokio::sync::{oneshot, Semaphore};

use super::container::WarmContainer;
use super::version_probe::probe_version;
use crate::language::Language;
use crate::metrics::METRICS;

/// First wait before retrying a failed container start; doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(15);

/// Why no container could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AcquireError {
    #[error("the {language} queue is full ({queue_size} jobs waiting); try again shortly")]
    QueueFull { language: String, queue_size: usize },
    #[error("{language} containers cannot be started: {reason}")]
    Unavailable { language: String, reason: String },
    #[error("no {language} container became free within {waited_ms} ms; try again shortly")]
    QueueTimeout { language: String, waited_ms: u64 },
    #[error("the service is shutting down")]
    ShuttingDown,
    #[error("the service is running its limit of {limit} jobs; try again shortly")]
    InFlightCap { limit: usize },
}

/// A snapshot of a pool, for `/health` and `/api/v1/languages`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolState {
    pub ready: usize,
    pub starting: usize,
    pub target: usize,
    pub queued: usize,
    /// The toolchain's version as its image reports it, once probed.
    pub version: Option<String>,
    /// Why the last container start failed, while starts keep failing.
    pub last_error: Option<String>,
}

impl PoolState {
    /// A pool serves jobs when its starts succeed and it has or is making containers.
    pub fn is_healthy(&self) -> bool {
        self.last_error.is_none() && self.ready + self.starting > 0
    }
}

pub struct LanguageSupervisor {
    language: Arc<Language>,
    docker: Docker,
    spec: ContainerCreateBody,
    /// Shared by every supervisor: bounds container starts across the service.
    start_permits: Arc<Semaphore>,
    ready: VecDeque<WarmContainer>,
    waiters: VecDeque<oneshot::Sender<WarmContainer>>,
    starting: usize,
    failed_starts: u32,
    last_error: Option<String>,
    /// Shared with the engine, which reports the version in every result.
    versions: Arc<DashMap<String, String>>,
    /// The version is probed once, on the first container; a failed probe leaves it unknown.
    version_probed: bool,
    draining: bool,
    /// Set while the Docker engine is unreachable: no container is started, every job is refused.
    engine_down: bool,
}

impl LanguageSupervisor {
    pub fn new(
        language: Arc<Language>,
        docker: Docker,
        spec: ContainerCreateBody,
        start_permits: Arc<Semaphore>,
        versions: Arc<DashMap<String, String>>,
    ) -> LanguageSupervisor {
        LanguageSupervisor {
            language,
            docker,
            spec,
            start_permits,
            ready: VecDeque::new(),
            waiters: VecDeque::new(),
            starting: 0,
            failed_starts: 0,
            last_error: None,
            versions,
            version_probed: false,
            draining: false,
            engine_down: false,
        }
    }

    fn pool_size(&self) -> usize {
        self.language.settings.pool_size
    }

    /// Starts containers until ready + starting covers the pool and every waiting job.
    fn replenish(&mut self, ctx: &mut Context<Self>) {
        self.waiters.retain(|waiter| !waiter.is_closed());
        let wanted = self.pool_size() + self.waiters.len();
        while !self.draining && !self.engine_down && self.ready.len() + self.starting < wanted {
            self.starting += 1;
            let docker = self.docker.clone();
            let spec = self.spec.clone();
            let permits = self.start_permits.clone();
            let memory_mb = self.language.settings.memory_mb;
            let language = self.language.name.clone();
            let start = async move {
                let _permit = permits.acquire_owned().await;
                let began = Instant::now();
                let started = WarmContainer::start(&docker, &spec, memory_mb).await;
                if started.is_ok() {
                    METRICS
                        .container_start_seconds
                        .with_label_values(&[language.as_str()])
                        .observe(began.elapsed().as_secs_f64());
                } else {
                    METRICS
                        .container_failures_total
                        .with_label_values(&[language.as_str(), "start_failed"])
                        .inc();
                }
                started
            };
            ctx.spawn(start.into_actor(self).map(|started, actor, ctx| {
                actor.starting -= 1;
                actor.on_started(started, ctx);
            }));
        }
    }

    fn on_started(
        &mut self,
        started: Result<WarmContainer, bollard::errors::Error>,
        ctx: &mut Context<Self>,
    ) {
        match started {
            Ok(container) => {
                self.failed_starts = 0;
                self.last_error = None;
                self.offer(container, ctx);
            }
            Err(error) => {
                self.failed_starts += 1;
                let reason = error.to_string();
                tracing::warn!(language = %self.language.name, %reason, "container start failed");
                // While the engine is down, the reason it gave when lost says it best.
                if !self.engine_down {
                    self.last_error = Some(reason);
                }
                self.fail_waiters_while_broken();
                let delay = retry_delay(self.failed_starts);
                ctx.run_later(delay, |actor, ctx| actor.replenish(ctx));
            }
        }
    }

    /// Hands a fresh container to the oldest waiting job, or keeps it ready.
    fn offer(&mut self, container: WarmContainer, ctx: &mut Context<Self>) {
        if self.draining {
            // Dropping it removes it.
            return;
        }
        let mut container = container;
        while let Some(waiter) = self.waiters.pop_front() {
            match waiter.send(container) {
                Ok(()) => {
                    self.replenish(ctx);
                    return;
                }
                // That job gave up waiting; try the next one.
                Err(returned) => container = returned,
            }
        }
        self.ready.push_back(container);
        if !self.version_probed {
            self.probe_version(ctx);
        }
    }

    /// While starts fail and nothing is ready, waiting jobs would only time out: tell them now.
    fn fail_waiters_while_broken(&mut self) {
        if self.ready.is_empty() {
            self.waiters.clear();
        }
    }

    /// Runs the language's version command on one pool container, the same way as a job.
    fn probe_version(&mut self, ctx: &mut Context<Self>) {
        let Some(container) = self.ready.pop_front() else {
            return;
        };
        self.version_probed = true;
        self.replenish(ctx);
        let language = self.language.clone();
        let probe = async move { probe_version(container, &language.settings).await };
        ctx.spawn(probe.into_actor(self).map(|version, actor, _| {
            let language = &actor.language.name;
            match version {
                Ok(version) => {
                    tracing::info!(%language, %version, "pool is warm");
                    actor.versions.insert(language.clone(), version);
                }
                Err(error) => tracing::warn!(%language, %error, "the version probe failed"),
            }
        }));
    }

    fn state(&self) -> PoolState {
        PoolState {
            ready: self.ready.len(),
            starting: self.starting,
            target: self.pool_size(),
            queued: self
                .waiters
                .iter()
                .filter(|waiter| !waiter.is_closed())
                .count(),
            version: self.versions.get(&self.language.name).map(|v| v.clone()),
            last_error: self.last_error.clone(),
        }
    }
}

fn retry_delay(failed_starts: u32) -> Duration {
    let factor = 2u32.saturating_pow(failed_starts.saturating_sub(1).min(8));
    (FIRST_RETRY_DELAY * factor).min(MAX_RETRY_DELAY)
}

impl Actor for LanguageSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.replenish(ctx);
    }
}

/// Asks for a container for one job. Answers at once with a ready container or an error, or
/// with a wait for the next container when the job fits in the queue.
#[derive(Message)]
#[rtype(result = "Result<ContainerTicket, AcquireError>")]
pub struct Acquire;

/// A container now, or the promise of the next one.
pub enum ContainerTicket {
    Ready(WarmContainer),
    Queued(oneshot::Receiver<WarmContainer>),
}

impl Handler<Acquire> for LanguageSupervisor {
    type Result = Result<ContainerTicket, AcquireError>;

    fn handle(&mut self, _: Acquire, ctx: &mut Context<Self>) -> Self::Result {
        if self.draining {
            return Err(AcquireError::ShuttingDown);
        }
        if self.engine_down {
            return Err(AcquireError::Unavailable {
                language: self.language.name.clone(),
                reason: self.last_error.clone().unwrap_or_default(),
            });
        }
        if let Some(container) = self.ready.pop_front() {
            // While another container is still ready, the replacement waits until this job is
            // done (`JobFinished`) instead of competing with it for the CPU; a pool running dry
            // refills at once.
            if self.ready.is_empty() {
                self.replenish(ctx);
            }
            return Ok(ContainerTicket::Ready(container));
        }
        if let Some(reason) = self.last_error.clone() {
            return Err(AcquireError::Unavailable {
                language: self.language.name.clone(),
                reason,
            });
        }
        self.waiters.retain(|waiter| !waiter.is_closed());
        let queue_size = self.language.settings.queue_size;
        if self.waiters.len() >= queue_size {
            return Err(AcquireError::QueueFull {
                language: self.language.name.clone(),
                queue_size,
            });
        }
        let (sender, receiver) = oneshot::channel();
        self.waiters.push_back(sender);
        self.replenish(ctx);
        Ok(ContainerTicket::Queued(receiver))
    }
}

/// A job is done with the container it took: start the replacement held back at [`Acquire`].
#[derive(Message)]
#[rtype(result = "()")]
pub struct JobFinished;

impl Handler<JobFinished> for LanguageSupervisor {
    type Result = ();

    fn handle(&mut self, _: JobFinished, ctx: &mut Context<Self>) {
        self.replenish(ctx);
    }
}

/// A container of this language stopped; if it was waiting in the pool, replace it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ContainerDied {
    pub id: String,
}

impl Handler<ContainerDied> for LanguageSupervisor {
    type Result = ();

    fn handle(&mut self, died: ContainerDied, ctx: &mut Context<Self>) {
        let before = self.ready.len();
        self.ready.retain(|container| container.id != died.id);
        if self.ready.len() < before {
            METRICS
                .container_failures_total
                .with_label_values(&[self.language.name.as_str(), "died_idle"])
                .inc();
            tracing::warn!(language = %self.language.name, container = %died.id, "a pool container died while idle; replacing it");
            self.replenish(ctx);
        }
    }
}

/// The Docker engine stopped answering: every ready container went with it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EngineLost {
    pub reason: String,
}

impl Handler<EngineLost> for LanguageSupervisor {
    type Result = ();

    /// Drops the ready containers (their removal is attempted, and the sweep on reconnection
    /// finishes it), fails the waiting jobs and refuses new ones until the engine is back.
    fn handle(&mut self, lost: EngineLost, _: &mut Context<Self>) {
        self.engine_down = true;
        self.last_error = Some(format!("the Docker engine is unreachable: {}", lost.reason));
        self.ready.clear();
        self.waiters.clear();
    }
}

/// The Docker engine answers again: refill the pool at once rather than after the backoff.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EngineBack;

impl Handler<EngineBack> for LanguageSupervisor {
    type Result = ();

    /// A container that was still starting when the engine went away may have reached the pool
    /// since; it did not survive the engine, so it goes too.
    fn handle(&mut self, _: EngineBack, ctx: &mut Context<Self>) {
        self.engine_down = false;
        self.ready.clear();
        self.failed_starts = 0;
        self.replenish(ctx);
    }
}

/// The pool's current state.
#[derive(Message)]
#[rtype(result = "PoolState")]
pub struct GetPoolState;

impl Handler<GetPoolState> for LanguageSupervisor {
    type Result = MessageResult<GetPoolState>;

    fn handle(&mut self, _: GetPoolState, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.state())
    }
}

/// Stops taking jobs and removes every idle container; answers when they are gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for LanguageSupervisor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, _: &mut Context<Self>) -> Self::Result {
        self.draining = true;
        self.waiters.clear();
        let idle: Vec<WarmContainer> = self.ready.drain(..).collect();
        Box::pin(async move {
            futures_util::future::join_all(idle.into_iter().map(WarmContainer::remove_now)).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_its_cap() {
        assert_eq!(retry_delay(1), FIRST_RETRY_DELAY);
        assert_eq!(retry_delay(2), FIRST_RETRY_DELAY * 2);
        assert_eq!(retry_delay(30), MAX_RETRY_DELAY);
    }
}
