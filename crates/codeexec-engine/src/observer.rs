//! What the engine tells whoever watches it (the service's Prometheus metrics): handed to the
//! engine at start, so the engine knows nothing of how it is measured.

use std::time::Duration;

use crate::execution::Execution;

/// Why a pool container failed outside a job's own verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum ContainerFailure {
    /// It could not be created or started.
    StartFailed,
    /// It died while waiting idle in the pool.
    DiedIdle,
    /// It ended a job without the runner's result.
    NoResult,
}

/// Receives the engine's events. Every method has an empty default, and each is called on the
/// job's path or an actor's: keep them cheap.
pub trait EngineObserver: Send + Sync + 'static {
    /// The engine starts with these languages.
    fn languages(&self, _names: &[&str]) {}
    /// A pool container of `language` was started and its runner is ready for a job, `took`
    /// after the create call.
    fn container_started(&self, _language: &str, _took: Duration) {}
    fn container_failed(&self, _language: &str, _failure: ContainerFailure) {}
    /// Jobs admitted and not yet finished, after a change.
    fn jobs_in_flight(&self, _count: usize) {}
    fn execution_finished(&self, _execution: &Execution) {}
}

/// Watches nothing: for tools and tests that do not measure.
pub struct NoObserver;

impl EngineObserver for NoObserver {}
