//! Running submissions: each in a task of its own through the same engine as
//! `/api/v1/execute`, recorded in the store as it goes (1 In Queue, 2 Processing, then its
//! verdict). At most `judge0.max_running` run at once, like Judge0's workers; the rest wait In
//! Queue in the order they came, so a backlog never takes every place of the engine's in-flight
//! cap from the synchronous APIs. A running submission the engine cannot take within the queue
//! timeout ends as 13 with the reason; so does every one still unfinished when the service
//! stops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::callback::Callbacks;
use super::request::Accepted;
use super::settings::Judge0Settings;
use super::status::{self, Status};
use super::store::{StoreError, SubmissionStore};
use super::submission::Submission;
use codeexec_engine::{Engine, EngineError, GlobalLimits};

/// Pause before asking a busy engine again.
const BUSY_RETRY: Duration = Duration::from_millis(200);

/// The Judge0 API's shared state; cheap to clone.
#[derive(Clone)]
pub struct Judge0 {
    pub settings: Arc<Judge0Settings>,
    pub store: SubmissionStore,
    pub engine: Engine,
    limits: Arc<GlobalLimits>,
    callbacks: Callbacks,
    /// Tokens of this instance's submissions not finished yet.
    pending: Arc<DashMap<String, ()>>,
    /// A permit per submission that may run at once (`judge0.max_running`); fair, so the
    /// submissions waiting start in the order they came.
    running: Arc<Semaphore>,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Judge0 {
    pub fn new(
        settings: Judge0Settings,
        store: SubmissionStore,
        engine: Engine,
        limits: GlobalLimits,
    ) -> Judge0 {
        let running = settings.running_places(limits.max_jobs_in_flight.get());
        Judge0 {
            callbacks: Callbacks::new(&settings),
            running: Arc::new(Semaphore::new(running)),
            settings: Arc::new(settings),
            store,
            engine,
            limits: Arc::new(limits),
            pending: Arc::default(),
        }
    }

    /// Submissions of this instance admitted and not finished yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether `count` more submissions fit in this instance's queue.
    pub fn has_room_for(&self, count: usize) -> bool {
        self.pending.len() + count <= self.settings.max_queue_size
    }

    /// Stores the submission (In Queue) and starts running it; the handle gives the finished
    /// submission.
    pub async fn submit(&self, accepted: Accepted) -> Result<JoinHandle<Submission>, StoreError> {
        self.store.insert(&accepted.submission).await?;
        self.pending.insert(accepted.submission.token.clone(), ());
        let judge0 = self.clone();
        Ok(tokio::spawn(async move { judge0.run(accepted).await }))
    }

    async fn run(self, accepted: Accepted) -> Submission {
        let Accepted {
            mut submission,
            job,
            runs,
        } = accepted;
        let running = self.running.clone();
        let _running = running
            .acquire()
            .await
            .expect("this semaphore is never closed");
        let started = Instant::now();
        let queue_timeout = Duration::from_millis(self.limits.queue_timeout_ms);
        let mut times = Vec::new();
        let mut wall_times = Vec::new();
        let mut memories = Vec::new();
        let mut last = None;
        for run in 0..runs {
            let mut spec = job.clone();
            spec.id = Uuid::new_v4();
            if run == 0 {
                submission.status_id = Status::Processing.id();
                self.save(&submission).await;
            }
            let execution = loop {
                match self.engine.execute(spec.clone(), Instant::now()).await {
                    Err(EngineError::InFlightCap { .. } | EngineError::QueueFull { .. })
                        if started.elapsed() < queue_timeout =>
                    {
                        tokio::time::sleep(BUSY_RETRY).await;
                    }
                    other => break other,
                }
            };
            let execution = match execution {
                Ok(execution) => execution,
                Err(error) => {
                    submission.fail(error.to_string(), now_ms());
                    return self.finish(submission).await;
                }
            };
            let outcome = status::outcome(&execution, submission.expected_output.as_deref());
            times.push(outcome.time);
            wall_times.push(outcome.wall_time);
            memories.push(outcome.memory_kb as f64);
            let accepted = outcome.status == Status::Accepted;
            last = Some(outcome);
            if !accepted {
                break;
            }
        }
        if let Some(mut outcome) = last {
            outcome.time = mean(&times);
            outcome.wall_time = mean(&wall_times);
            outcome.memory_kb = mean(&memories).round() as i64;
            submission.finish(outcome, now_ms());
        }
        self.finish(submission).await
    }

    /// Records the finished submission and sends its callback. It leaves the queue first, so
    /// that a client who reads it finished finds room for the next one.
    async fn finish(&self, submission: Submission) -> Submission {
        self.pending.remove(&submission.token);
        self.save(&submission).await;
        self.callbacks.send(&submission);
        submission
    }

    async fn save(&self, submission: &Submission) {
        if let Err(error) = self.store.update(submission).await {
            tracing::warn!(token = %submission.token, %error, "could not record a submission");
        }
    }

    /// Ends every submission of this instance still unfinished as an internal error, so none
    /// stays "In Queue" after the service stops.
    pub async fn shutdown(&self) {
        let tokens: Vec<String> = self
            .pending
            .iter()
            .map(|entry| entry.key().clone())
            .collect();
        for token in tokens {
            let Ok(Some(mut submission)) = self.store.get(&token).await else {
                continue;
            };
            if submission.status().is_pending() {
                submission.fail(
                    "the service stopped before the submission finished".into(),
                    now_ms(),
                );
                self.save(&submission).await;
            }
        }
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}
