//! The one error type of the engine's API: why it could not start, or why a job was refused
//! before it ran. A job that ran, whatever its program did, is an [`Execution`](crate::Execution).

use crate::settings::InvalidSettings;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
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
    #[error("the jobs already running need all of the {budget_mb} MB this service gives jobs at once; try again shortly")]
    MemoryCap { budget_mb: u64 },
    /// The engine could not start: its container runtime did not answer, or refused a setting.
    #[error("{0}")]
    Start(String),
}

impl From<InvalidSettings> for EngineError {
    fn from(invalid: InvalidSettings) -> EngineError {
        EngineError::Start(format!("invalid configuration: {invalid}"))
    }
}
