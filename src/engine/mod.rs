//! The engine: one supervisor actor per language over Docker, and the path of one job through
//! it (acquire a warm container, run, judge, remove). No HTTP here.

mod admission;
pub mod cleanup;
pub mod container;
mod events;
pub mod hardening;
pub mod job;
pub mod outcome;
pub mod supervisor;
mod version_probe;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr};
use bollard::Docker;
use codeexec_protocol::StageReport;
use dashmap::DashMap;
use tokio::sync::Semaphore;

use crate::config::Settings;
use crate::language::LanguageRegistry;
use crate::metrics::METRICS;
use container::WarmContainer;
use job::JobSpec;
use outcome::{ContainerReport, Verdict};
use supervisor::{
    Acquire, AcquireError, ContainerTicket, Drain, GetPoolState, JobFinished, LanguageSupervisor,
    PoolState,
};

/// Longest wait at shutdown for container starts already under way.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// A finished job: its verdict, the runner's stage records and where the time went.
#[derive(Debug)]
pub struct Execution {
    pub spec: JobSpec,
    pub version: Option<String>,
    pub verdict: Verdict,
    pub compile: Option<StageReport>,
    pub run: Option<StageReport>,
    pub timings: Timings,
}

/// Where a job's time went, from the request's arrival.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// From the request's arrival until a warm container was in hand.
    pub queue: Duration,
    /// Asking the language's pool for a container until holding one: the hand-off from the
    /// ready pool, or the wait for a fresh container when none was ready.
    pub acquire: Duration,
    pub compile: Duration,
    pub run: Duration,
    /// The whole exchange with the container: sending the job, its compile and run stages (as
    /// the runner measured them), and reading the result back.
    pub exchange: Duration,
    pub total: Duration,
}

/// Tells the language's supervisor that a job is done with its container when dropped, whichever
/// way the job ends, so the pool's deferred replacement always starts.
struct TellWhenFinished(Addr<LanguageSupervisor>);

impl Drop for TellWhenFinished {
    fn drop(&mut self) {
        self.0.do_send(JobFinished);
    }
}

/// Cheap to clone: every handler holds one.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    settings: Arc<Settings>,
    supervisors: Arc<HashMap<String, Addr<LanguageSupervisor>>>,
    versions: Arc<DashMap<String, String>>,
    admission: Arc<admission::Admission>,
}

impl Engine {
    /// Removes what an earlier run of this instance left behind, then starts every pool and the
    /// watch on container deaths and on the engine itself. Must run inside an actix system.
    pub async fn start(
        settings: Arc<Settings>,
        registry: &LanguageRegistry,
        docker: Docker,
    ) -> Result<Engine, bollard::errors::Error> {
        let leftovers =
            cleanup::remove_instance_containers(&docker, &settings.docker.instance).await?;
        if leftovers > 0 {
            tracing::info!(leftovers, "removed containers left by an earlier run");
        }
        METRICS.initialize_labels(registry.all().map(|language| language.name.as_str()));
        let permits = Arc::new(Semaphore::new(settings.docker.max_parallel_starts));
        let versions = Arc::new(DashMap::new());
        let supervisors: HashMap<_, _> = registry
            .all()
            .map(|language| {
                let spec = hardening::container_spec(&settings, language);
                let supervisor = LanguageSupervisor::new(
                    language.clone(),
                    docker.clone(),
                    spec,
                    permits.clone(),
                    versions.clone(),
                );
                (language.name.clone(), supervisor.start())
            })
            .collect();
        tokio::spawn(events::watch_engine(
            docker.clone(),
            settings.docker.instance.clone(),
            supervisors.clone(),
        ));
        let admission = admission::Admission::new(
            settings.limits.max_jobs_in_flight,
            crate::metrics::METRICS.jobs_in_flight.clone(),
        );
        Ok(Engine {
            docker,
            settings,
            supervisors: Arc::new(supervisors),
            versions,
            admission: Arc::new(admission),
        })
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Runs one job on a warm container of its language. `received` is when the request
    /// arrived, for the timings.
    ///
    /// Refused at once when `limits.max_jobs_in_flight` jobs are already in flight. Otherwise,
    /// whatever the program does, the answer comes within `limits.queue_timeout_ms` (waiting
    /// for a container) + the compile and run limits + `limits.result_margin_ms` (the exchange
    /// with the runner, cut at that deadline) + [`container::EXIT_WAIT`] (the OOM check after a
    /// kill) + Docker's own latency for two calls (lowering the memory limit and inspecting the
    /// container), each cut at `docker.api_timeout_secs`.
    pub async fn execute(
        &self,
        spec: JobSpec,
        received: Instant,
    ) -> Result<Execution, AcquireError> {
        let _in_flight = self.admission.admit()?;
        let asked = Instant::now();
        let container = self.acquire(&spec.language.name).await?;
        let acquired = Instant::now();
        let _finished = TellWhenFinished(self.supervisors[&spec.language.name].clone());
        tracing::info!(
            container = %container.id,
            queue_ms = (acquired - received).as_millis() as u64,
            "container acquired"
        );
        let report = self.run_on(container, &spec).await;
        let exchange = acquired.elapsed();
        let verdict = outcome::judge(&spec, &report);
        if report.result.is_err() {
            METRICS
                .container_failures_total
                .with_label_values(&[spec.language.name.as_str(), "no_result"])
                .inc();
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
        METRICS.observe_execution(&execution.spec.language.name, &execution);
        Ok(execution)
    }

    /// A warm container, at once or after waiting in the language's queue.
    async fn acquire(&self, language: &str) -> Result<WarmContainer, AcquireError> {
        let supervisor = &self.supervisors[language];
        let ticket = supervisor
            .send(Acquire)
            .await
            .map_err(|_| AcquireError::ShuttingDown)??;
        let receiver = match ticket {
            ContainerTicket::Ready(container) => return Ok(container),
            ContainerTicket::Queued(receiver) => receiver,
        };
        let limit = Duration::from_millis(self.settings.limits.queue_timeout_ms);
        match tokio::time::timeout(limit, receiver).await {
            Ok(Ok(container)) => Ok(container),
            Ok(Err(_)) => Err(AcquireError::Unavailable {
                language: language.to_string(),
                reason: "no container could be started".into(),
            }),
            Err(_) => Err(AcquireError::QueueTimeout {
                language: language.to_string(),
                waited_ms: self.settings.limits.queue_timeout_ms,
            }),
        }
    }

    /// Runs the job's frame on `container`, which is removed afterwards: it never serves a
    /// second job.
    async fn run_on(&self, container: WarmContainer, spec: &JobSpec) -> ContainerReport {
        let frame = spec.to_frame(self.settings.limits.output_limit_bytes);
        let compile_ms = frame
            .compile
            .as_ref()
            .map_or(0, |stage| stage.time_limit_ms);
        let deadline = Duration::from_millis(
            compile_ms + frame.run.time_limit_ms + self.settings.limits.result_margin_ms,
        );
        container.run(&frame, spec.memory_mb, deadline).await
    }

    /// Every pool's state, by canonical language name.
    pub async fn pool_states(&self) -> HashMap<String, Result<PoolState, String>> {
        let mut states = HashMap::new();
        for (language, supervisor) in self.supervisors.iter() {
            let state = supervisor
                .send(GetPoolState)
                .await
                .map_err(|error| error.to_string());
            states.insert(language.clone(), state);
        }
        states
    }

    /// Waits (boundedly) until no pool is still creating a container, so that the final sweep
    /// sees every container this instance made.
    async fn wait_for_starts_to_settle(&self) {
        let deadline = Instant::now() + SETTLE_LIMIT;
        while Instant::now() < deadline {
            let states = self.pool_states().await;
            let starting: usize = states.values().flatten().map(|state| state.starting).sum();
            if starting == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::warn!("container starts still pending at shutdown; removing what exists");
    }

    /// Stops every pool and removes every container of this instance, in use or not.
    pub async fn shutdown(&self) {
        let drains = self
            .supervisors
            .values()
            .map(|supervisor| supervisor.send(Drain));
        futures_util::future::join_all(drains).await;
        self.wait_for_starts_to_settle().await;
        match cleanup::remove_instance_containers(&self.docker, &self.settings.docker.instance)
            .await
        {
            Ok(removed) => tracing::info!(removed, "removed this instance's containers"),
            Err(error) => tracing::error!(%error, "could not remove this instance's containers"),
        }
    }
}
