//! What the engine answers for a job that ran: its verdict, the runner's stage records and where
//! the time went.

use std::time::Duration;

use codeexec_protocol::StageReport;

use crate::job::JobSpec;
use crate::outcome::Verdict;

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
