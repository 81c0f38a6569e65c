//! The supervisor actor of one language: drives its [`Pool`]'s rules with the container runtime.
//! It begins the starts the pool asks for (bounded across languages by a shared semaphore),
//! hands containers to jobs, schedules retries, probes the toolchain's version once, and answers
//! a drain when every container it made is accounted for.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use dashmap::DashMap;
use tokio::sync::{oneshot, Semaphore};

use crate::language::Language;
use crate::observer::{ContainerFailure, EngineObserver};
use crate::pool::{Identified, Placement, Pool, PoolState, Ticket};
use crate::runtime::{Container, ContainerRuntime, RuntimeEvent, StartedContainer, READY_LIMIT};
use crate::version_probe::probe_version;
use crate::EngineError;

impl Identified for Container {
    fn id(&self) -> &str {
        StartedContainer::id(self.as_ref())
    }
}

pub struct LanguageSupervisor {
    language: Arc<Language>,
    runtime: Arc<dyn ContainerRuntime>,
    observer: Arc<dyn EngineObserver>,
    /// Shared by every supervisor: bounds container starts across the service.
    start_permits: Arc<Semaphore>,
    pool: Pool<Container>,
    /// Shared with the engine, which reports the version in every result.
    versions: Arc<DashMap<String, String>>,
    /// Drain requests answered once the pool is drained.
    drain_waiters: Vec<oneshot::Sender<()>>,
}

impl LanguageSupervisor {
    pub fn new(
        language: Arc<Language>,
        runtime: Arc<dyn ContainerRuntime>,
        observer: Arc<dyn EngineObserver>,
        start_permits: Arc<Semaphore>,
        versions: Arc<DashMap<String, String>>,
    ) -> LanguageSupervisor {
        let settings = &language.settings;
        let pool = Pool::new(
            &language.name,
            settings.pool_size.get(),
            settings.queue_size,
        );
        LanguageSupervisor {
            language,
            runtime,
            observer,
            start_permits,
            pool,
            versions,
            drain_waiters: Vec::new(),
        }
    }

    /// Begins every start the pool asks for, and answers drains that are complete.
    fn replenish(&mut self, ctx: &mut Context<Self>) {
        for _ in 0..self.pool.starts_to_begin() {
            let runtime = self.runtime.clone();
            let observer = self.observer.clone();
            let permits = self.start_permits.clone();
            let language = self.language.clone();
            let start = async move {
                let permit = permits.acquire_owned().await;
                let began = Instant::now();
                let started = runtime.start(&language).await;
                // The permit bounds the engine's work; the runtime warms up in its container.
                drop(permit);
                let started = match started {
                    Ok(mut container) => container.ready(READY_LIMIT).await.map(|()| container),
                    Err(reason) => Err(reason),
                };
                match &started {
                    Ok(_) => observer.container_started(&language.name, began.elapsed()),
                    Err(_) => {
                        observer.container_failed(&language.name, ContainerFailure::StartFailed)
                    }
                }
                started
            };
            ctx.spawn(start.into_actor(self).map(|started, actor, ctx| {
                match started {
                    Ok(container) => actor.place(container, ctx),
                    Err(reason) => actor.retry_later(reason, ctx),
                }
                actor.replenish(ctx);
            }));
        }
        if self.pool.is_drained() {
            for waiter in self.drain_waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    fn place(&mut self, container: Container, ctx: &mut Context<Self>) {
        match self.pool.started(container) {
            Placement::HandedOver | Placement::Ready => {}
            Placement::Probe(container) => self.probe_version(container, ctx),
            Placement::Discard(container) => remove_in_background(container),
        }
    }

    fn retry_later(&mut self, reason: String, ctx: &mut Context<Self>) {
        tracing::warn!(language = %self.language.name, %reason, "container start failed");
        let delay = self.pool.start_failed(reason);
        ctx.run_later(delay, |actor, ctx| {
            actor.pool.retry_due();
            actor.replenish(ctx);
        });
    }

    /// Runs the language's version command on one fresh container, the same way as a job.
    fn probe_version(&mut self, container: Container, ctx: &mut Context<Self>) {
        let language = self.language.clone();
        let probe = async move { probe_version(container, &language.settings).await };
        ctx.spawn(probe.into_actor(self).map(|version, actor, ctx| {
            let language = &actor.language.name;
            match version {
                Ok(version) => {
                    tracing::info!(%language, %version, "pool is warm");
                    actor.versions.insert(language.clone(), version);
                }
                Err(error) => {
                    let delay = actor.pool.version_probe_failed();
                    tracing::warn!(%language, %error, ?delay, "the version probe failed; trying again");
                    ctx.run_later(delay, |actor, ctx| {
                        if let Some(container) = actor.pool.probe_again() {
                            actor.probe_version(container, ctx);
                        }
                        actor.replenish(ctx);
                    });
                }
            }
        }));
    }

    fn on_runtime_event(&mut self, event: RuntimeEvent) {
        let gone = match event {
            RuntimeEvent::ContainerDied { id, .. } => {
                let died = self.pool.died(&id);
                if died.is_some() {
                    self.observer
                        .container_failed(&self.language.name, ContainerFailure::DiedIdle);
                    tracing::warn!(language = %self.language.name, container = %id, "a pool container died while idle; replacing it");
                }
                died.into_iter().collect()
            }
            RuntimeEvent::Lost { reason } => self.pool.runtime_lost(reason),
            RuntimeEvent::Back => self.pool.runtime_back(),
        };
        gone.into_iter().for_each(remove_in_background);
    }
}

/// Dropping a started container removes it in the background.
fn remove_in_background(container: Container) {
    drop(container);
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
#[rtype(result = "Result<Ticket<Container>, EngineError>")]
pub struct Acquire;

impl Handler<Acquire> for LanguageSupervisor {
    type Result = Result<Ticket<Container>, EngineError>;

    fn handle(&mut self, _: Acquire, ctx: &mut Context<Self>) -> Self::Result {
        let ticket = self.pool.acquire();
        self.replenish(ctx);
        ticket
    }
}

/// A job is done with the container it took.
#[derive(Message)]
#[rtype(result = "()")]
pub struct JobFinished {
    pub replacement_deferred: bool,
}

impl Handler<JobFinished> for LanguageSupervisor {
    type Result = ();

    fn handle(&mut self, finished: JobFinished, ctx: &mut Context<Self>) {
        self.pool.job_finished(finished.replacement_deferred);
        self.replenish(ctx);
    }
}

/// Something happened in the container runtime.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FromRuntime(pub RuntimeEvent);

impl Handler<FromRuntime> for LanguageSupervisor {
    type Result = ();

    fn handle(&mut self, FromRuntime(event): FromRuntime, ctx: &mut Context<Self>) {
        self.on_runtime_event(event);
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
        let version = self.versions.get(&self.language.name).map(|v| v.clone());
        MessageResult(self.pool.state(version))
    }
}

/// Stops taking jobs and removes every idle container; answers when they are gone and no start
/// is still under way, so that a final sweep sees every container this pool made.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for LanguageSupervisor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) -> Self::Result {
        let idle = self.pool.drain();
        let (settled, drained) = oneshot::channel();
        self.drain_waiters.push(settled);
        self.replenish(ctx);
        Box::pin(async move {
            futures_util::future::join_all(idle.into_iter().map(|container| container.remove()))
                .await;
            let _ = drained.await;
        })
    }
}
