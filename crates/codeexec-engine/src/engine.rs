//! The engine's front door: one supervisor actor per language over a container runtime, and the
//! path of one job through it (admit, acquire a warm container, run, judge, let the container go).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr};
use codeexec_protocol::StageReport;
use dashmap::DashMap;
use tokio::sync::{mpsc, Semaphore};

use crate::admission::{memory_budget, Admission};
use crate::execution::{Execution, Timings};
use crate::job::JobSpec;
use crate::language::LanguageRegistry;
use crate::observer::{ContainerFailure, EngineObserver};
use crate::outcome;
use crate::pool::{PoolState, Ticket};
use crate::runtime::{Container, ContainerReport, ContainerRuntime, LiveIo, RuntimeEvent};
use crate::settings::{EngineSettings, GlobalLimits};
use crate::supervisor::{
    Acquire, Drain, FromRuntime, GetPoolState, JobFinished, LanguageSupervisor,
};
use crate::EngineError;

/// Longest wait at shutdown for container starts already under way.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// Tells the language's supervisor that a job is done with its container when dropped, whichever
/// way the job ends (a cancelled request included), so the pool's deferred replacement starts.
struct TellWhenFinished {
    supervisor: Addr<LanguageSupervisor>,
    replacement_deferred: bool,
}

impl Drop for TellWhenFinished {
    fn drop(&mut self) {
        self.supervisor.do_send(JobFinished {
            replacement_deferred: self.replacement_deferred,
        });
    }
}

/// Cheap to clone: every handler holds one.
#[derive(Clone)]
pub struct Engine {
    runtime: Arc<dyn ContainerRuntime>,
    observer: Arc<dyn EngineObserver>,
    limits: Arc<GlobalLimits>,
    registry: Arc<LanguageRegistry>,
    supervisors: Arc<HashMap<String, Addr<LanguageSupervisor>>>,
    versions: Arc<DashMap<String, String>>,
    admission: Arc<Admission>,
}

impl Engine {
    /// Removes what an earlier run of this instance left behind, then starts every pool and the
    /// watch on the runtime. Must run inside an actix system.
    pub async fn start(
        settings: EngineSettings,
        runtime: Arc<dyn ContainerRuntime>,
        observer: Arc<dyn EngineObserver>,
    ) -> Result<Engine, EngineError> {
        settings.check()?;
        let leftovers = runtime.remove_all().await.map_err(EngineError::Start)?;
        if leftovers > 0 {
            tracing::info!(leftovers, "removed containers left by an earlier run");
        }
        let registry = Arc::new(LanguageRegistry::new(&settings.languages));
        let names: Vec<&str> = registry.all().map(|l| l.name.as_str()).collect();
        observer.languages(&names);
        let permits = Arc::new(Semaphore::new(settings.docker.max_parallel_starts.get()));
        let versions = Arc::new(DashMap::new());
        let supervisors: HashMap<_, _> = registry
            .all()
            .map(|language| {
                let supervisor = LanguageSupervisor::new(
                    language.clone(),
                    runtime.clone(),
                    observer.clone(),
                    permits.clone(),
                    versions.clone(),
                );
                (language.name.clone(), supervisor.start())
            })
            .collect();
        let (events, received) = mpsc::unbounded_channel();
        runtime.watch(events);
        tokio::spawn(forward_runtime_events(received, supervisors.clone()));
        let memory_budget = memory_budget(&settings, runtime.as_ref()).await;
        let admission = Admission::new(
            settings.limits.max_jobs_in_flight.get(),
            memory_budget,
            observer.clone(),
        );
        Ok(Engine {
            runtime,
            observer,
            limits: Arc::new(settings.limits),
            registry,
            supervisors: Arc::new(supervisors),
            versions,
            admission: Arc::new(admission),
        })
    }

    /// The languages this engine runs, for validating requests against.
    pub fn languages(&self) -> &Arc<LanguageRegistry> {
        &self.registry
    }

    /// Whether the container runtime answers now; the error says what does not.
    pub async fn ping_runtime(&self) -> Result<(), String> {
        self.runtime.ping().await
    }

    /// Runs one job on a warm container of its language. `received` is when the request
    /// arrived, for the timings.
    ///
    /// Refused at once when `limits.max_jobs_in_flight` jobs are already in flight. Otherwise,
    /// whatever the program does, the answer comes within `limits.queue_timeout_ms` (waiting
    /// for a container) + the compile and run limits + `limits.result_margin_ms` (the exchange
    /// with the runner, cut at that deadline) + the runtime's own latency to learn how a killed
    /// container ended.
    pub async fn execute(
        &self,
        spec: JobSpec,
        received: Instant,
    ) -> Result<Execution, EngineError> {
        self.execute_with(spec, received, None).await
    }

    /// Runs one interactive job, as [`execute`](Self::execute) runs any other, within the same
    /// admission, limits and deadline: `live` carries the client's input to the program while
    /// it runs, and its stage starts and output back as they come. Dropping the future (the
    /// client left) ends the job and removes its container.
    pub async fn execute_live(
        &self,
        spec: JobSpec,
        received: Instant,
        live: LiveIo,
    ) -> Result<Execution, EngineError> {
        self.execute_with(spec, received, Some(live)).await
    }

    async fn execute_with(
        &self,
        spec: JobSpec,
        received: Instant,
        live: Option<LiveIo>,
    ) -> Result<Execution, EngineError> {
        let _in_flight = self.admission.admit(spec.memory_mb)?;
        let asked = Instant::now();
        let (container, _finished) = self.acquire(&spec.language.name).await?;
        let acquired = Instant::now();
        tracing::info!(
            container = %container.id(),
            queue_ms = (acquired - received).as_millis() as u64,
            "container acquired"
        );
        let report = self.run_on(container, &spec, live).await;
        let exchange = acquired.elapsed();
        let verdict = outcome::judge(&spec, &self.limits, &report);
        if report.result.is_err() {
            self.observer
                .container_failed(&spec.language.name, ContainerFailure::NoResult);
        }
        let (compile, run) = match report.result {
            Ok(frame) => (frame.compile, frame.run),
            Err(_) => (None, None),
        };
        let stage_time = |stage: &Option<StageReport>| {
            Duration::from_millis(stage.as_ref().map_or(0, |stage| stage.wall_ms))
        };
        let timings = Timings {
            queue: acquired - received,
            acquire: acquired - asked,
            compile: stage_time(&compile),
            run: stage_time(&run),
            exchange,
            total: received.elapsed(),
        };
        tracing::info!(
            status = verdict.status.as_str(),
            queue_ms = timings.queue.as_millis() as u64,
            total_ms = timings.total.as_millis() as u64,
            "job finished"
        );
        let execution = Execution {
            version: self.versions.get(&spec.language.name).map(|v| v.clone()),
            spec,
            verdict,
            compile,
            run,
            timings,
        };
        self.observer.execution_finished(&execution);
        Ok(execution)
    }

    /// A warm container, at once or after waiting in the language's queue, with the guard that
    /// tells its pool when the job is done with it.
    async fn acquire(&self, language: &str) -> Result<(Container, TellWhenFinished), EngineError> {
        let supervisor = &self.supervisors[language];
        let ticket = supervisor
            .send(Acquire)
            .await
            .map_err(|_| EngineError::ShuttingDown)??;
        let finished = |replacement_deferred| TellWhenFinished {
            supervisor: supervisor.clone(),
            replacement_deferred,
        };
        let receiver = match ticket {
            Ticket::Ready {
                container,
                replacement_deferred,
            } => return Ok((container, finished(replacement_deferred))),
            Ticket::Queued(receiver) => receiver,
        };
        let limit = Duration::from_millis(self.limits.queue_timeout_ms);
        match tokio::time::timeout(limit, receiver).await {
            Ok(Ok(container)) => Ok((container, finished(false))),
            Ok(Err(_)) => Err(EngineError::Unavailable {
                language: language.to_string(),
                reason: "no container could be started".into(),
            }),
            Err(_) => Err(EngineError::QueueTimeout {
                language: language.to_string(),
                waited_ms: self.limits.queue_timeout_ms,
            }),
        }
    }

    /// Runs the job's frame on `container`, which is let go afterwards (dropping it removes it):
    /// it never serves a second job.
    async fn run_on(
        &self,
        mut container: Container,
        spec: &JobSpec,
        live: Option<LiveIo>,
    ) -> ContainerReport {
        let mut frame = spec.to_frame(&self.limits);
        frame.interactive = live.is_some();
        let deadline = spec.result_deadline(&self.limits);
        container.run(&frame, spec.memory_mb, deadline, live).await
    }

    /// Every pool's state, by canonical language name.
    pub async fn pool_states(&self) -> HashMap<String, Result<PoolState, String>> {
        // All at once: on a busy machine each round trip to an actor waits for the scheduler,
        // and asked one after another every pool would pay that wait in turn.
        let asked = self
            .supervisors
            .iter()
            .map(|(language, supervisor)| async move {
                let state = supervisor
                    .send(GetPoolState)
                    .await
                    .map_err(|error| error.to_string());
                (language.clone(), state)
            });
        futures_util::future::join_all(asked)
            .await
            .into_iter()
            .collect()
    }

    /// Stops every pool, waits (boundedly) until no pool is still starting a container, then
    /// removes every container of this instance, in use or not.
    pub async fn shutdown(&self) {
        let drains = self
            .supervisors
            .values()
            .map(|supervisor| supervisor.send(Drain));
        let drained = futures_util::future::join_all(drains);
        if tokio::time::timeout(SETTLE_LIMIT, drained).await.is_err() {
            tracing::warn!("container starts still pending at shutdown; removing what exists");
        }
        match self.runtime.remove_all().await {
            Ok(removed) => tracing::info!(removed, "removed this instance's containers"),
            Err(error) => tracing::error!(%error, "could not remove this instance's containers"),
        }
    }
}

/// Hands each runtime event to the supervisors it concerns, until the runtime stops reporting.
async fn forward_runtime_events(
    mut events: mpsc::UnboundedReceiver<RuntimeEvent>,
    supervisors: HashMap<String, Addr<LanguageSupervisor>>,
) {
    while let Some(event) = events.recv().await {
        match &event {
            RuntimeEvent::ContainerDied { language, .. } => {
                if let Some(supervisor) = supervisors.get(language) {
                    supervisor.do_send(FromRuntime(event));
                }
            }
            RuntimeEvent::Lost { .. } | RuntimeEvent::Back => {
                for supervisor in supervisors.values() {
                    supervisor.do_send(FromRuntime(event.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use codeexec_protocol::SourceFile;
    use uuid::Uuid;

    use super::*;
    use crate::language::Language;
    use crate::observer::NoObserver;
    use crate::test_support::repository_settings;

    /// A runtime whose containers never finish starting: jobs can only wait.
    struct StalledRuntime;

    #[async_trait]
    impl ContainerRuntime for StalledRuntime {
        async fn start(&self, _: &Language) -> Result<Container, String> {
            std::future::pending().await
        }

        async fn remove_all(&self) -> Result<usize, String> {
            Ok(0)
        }

        async fn ping(&self) -> Result<(), String> {
            Ok(())
        }

        async fn total_memory_mb(&self) -> Option<u64> {
            None
        }

        fn watch(&self, _: mpsc::UnboundedSender<RuntimeEvent>) {}
    }

    fn python_job(engine: &Engine) -> JobSpec {
        let python = engine.languages().resolve("python").unwrap().clone();
        JobSpec {
            id: Uuid::nil(),
            language: python,
            files: vec![SourceFile {
                name: "main.py".into(),
                content: "print(1)".into(),
            }],
            entry: "main.py".into(),
            stdin: String::new(),
            args: vec![],
            timeout_ms: 1000,
            wall_timeout_ms: 2000,
            memory_mb: 128,
            save_metric: false,
        }
    }

    /// Containers that never finish starting make the queue's bound certain: the first job
    /// waits, and with a queue of one the next is refused at once rather than left waiting.
    #[test]
    fn past_the_queue_bound_a_job_is_refused_at_once() {
        actix::System::new().block_on(async {
            let mut settings = repository_settings();
            let python = settings.languages.get_mut("python").unwrap();
            python.pool_size = std::num::NonZeroUsize::MIN;
            python.queue_size = 1;
            let engine = Engine::start(settings, Arc::new(StalledRuntime), Arc::new(NoObserver))
                .await
                .unwrap();
            let waiting = actix::spawn({
                let (engine, job) = (engine.clone(), python_job(&engine));
                async move { engine.execute(job, Instant::now()).await }
            });
            while engine.pool_states().await["python"].as_ref().unwrap().queued == 0 {}
            let refused = engine
                .execute(python_job(&engine), Instant::now())
                .await
                .unwrap_err();
            assert!(
                matches!(refused, EngineError::QueueFull { queue_size: 1, ref language } if language == "python"),
                "{refused:?}"
            );
            assert!(!waiting.is_finished(), "the queued job is still waiting");
            waiting.abort();
        });
    }

    #[test]
    fn a_job_still_waiting_at_the_queue_timeout_is_refused() {
        actix::System::new().block_on(async {
            let mut settings = repository_settings();
            settings.limits.queue_timeout_ms = 50;
            let runtime = Arc::new(StalledRuntime);
            let engine = Engine::start(settings, runtime, Arc::new(NoObserver))
                .await
                .unwrap();
            let spec = python_job(&engine);
            let refused = engine.execute(spec, Instant::now()).await.unwrap_err();
            assert!(
                matches!(refused, EngineError::QueueTimeout { waited_ms: 50, ref language } if language == "python"),
                "{refused:?}"
            );
        });
    }
}
