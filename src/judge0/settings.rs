//! The `[judge0]` section of the settings: what the Judge0 CE compatible API adds to the
//! service's own limits (its store, callbacks, authentication and compiler options).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Judge0Settings {
    /// Serve the Judge0 API at all (at the root and under `/judge0`).
    pub enabled: bool,
    /// When not empty, every Judge0 request must carry this token in the `auth_header` header
    /// or in a query parameter of that name; 401 otherwise.
    pub auth_token: String,
    /// Name of the header (and query parameter) holding the token.
    pub auth_header: String,
    /// Submissions kept in memory when no database is configured; the oldest finished ones
    /// are dropped first when it is full.
    pub store_capacity: usize,
    /// Seconds a submission is kept (in memory, or in MongoDB through a TTL index).
    pub store_ttl_secs: u64,
    /// Submissions of this instance waiting or running at once; one more gets 503
    /// `{"error": "queue is full"}`.
    pub max_queue_size: usize,
    /// Submissions of this instance running at once, each in one of `limits.max_jobs_in_flight`'s
    /// places; the others wait In Queue, in the order they came. 0: half of those places (at
    /// least one), so that a backlog of submissions leaves the other half to the synchronous
    /// APIs.
    pub max_running: usize,
    /// Most submissions in one batch.
    pub max_submission_batch_size: usize,
    /// Most runs one submission may ask for with `number_of_runs`.
    pub max_number_of_runs: u32,
    /// Largest `additional_files` zip once unpacked, in KB (1024 bytes).
    pub max_extract_size_kb: u64,
    /// Hosts `callback_url` may name (exact host names or IP addresses). Empty: no callbacks.
    pub callback_allowed_hosts: Vec<String>,
    /// Tries of one callback PUT.
    pub callback_max_tries: u32,
    /// Seconds one callback PUT may take.
    pub callback_timeout_secs: f64,
    /// Compiler flags a submission's `compiler_options` may hold, per canonical language name.
    /// A language missing here takes no compiler options.
    pub compiler_options: BTreeMap<String, Vec<String>>,
}

impl Judge0Settings {
    /// How many submissions may run at once beside `max_jobs_in_flight` places in all:
    /// `max_running`, or half of those places when it is 0.
    pub fn running_places(&self, max_jobs_in_flight: usize) -> usize {
        match self.max_running {
            0 => (max_jobs_in_flight / 2).max(1),
            configured => configured,
        }
    }

    /// Refuses a `max_running` above the engine's own cap, where submissions could take every
    /// place and refuse each synchronous request.
    pub fn check(&self, max_jobs_in_flight: usize) -> Result<(), String> {
        if self.max_running > max_jobs_in_flight {
            return Err(format!(
                "judge0.max_running ({}) must not exceed limits.max_jobs_in_flight ({max_jobs_in_flight})",
                self.max_running
            ));
        }
        Ok(())
    }
}
