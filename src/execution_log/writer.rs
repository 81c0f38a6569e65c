//! The background writer: takes records off the buffer in batches and writes each batch with one
//! unordered `insert_many`, so that one bad record (a duplicate `jobId`) does not hold back the
//! rest. A failed batch is counted and logged, never retried or waited on: the driver reconnects
//! by itself, and the next batch goes through once the database answers again.

use std::sync::Arc;
use std::time::Duration;

use mongodb::error::{Error, ErrorKind, InsertManyError};
use mongodb::results::InsertManyResult;
use mongodb::Collection;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::backlog::Backlog;
use super::record::ExecutionRecord;
use super::throttle::LogThrottle;
use super::WARNING_INTERVAL;
use prometheus::IntCounterVec;

use crate::metrics::LogWrite;

pub struct Writer {
    pub collection: Collection<ExecutionRecord>,
    pub receiver: mpsc::Receiver<ExecutionRecord>,
    pub batch_size: usize,
    pub operation_timeout: Duration,
    /// Shared with the handle, which admits records into it; released here once written or
    /// failed.
    pub backlog: Arc<Backlog>,
    /// Counts each record written or failed.
    pub writes: IntCounterVec,
}

/// What became of one batch.
#[derive(Debug, PartialEq)]
struct BatchOutcome {
    written: usize,
    failed: usize,
    error: Option<String>,
}

impl Writer {
    /// Writes batches until `stop` is cancelled, then writes what is still buffered and returns.
    pub async fn run(mut self, stop: CancellationToken) {
        let failures = LogThrottle::new(WARNING_INTERVAL);
        let mut failing = false;
        let mut closing = false;
        let mut batch = Vec::with_capacity(self.batch_size);
        loop {
            let received = tokio::select! {
                () = stop.cancelled(), if !closing => {
                    // Nothing more is accepted; what is buffered is still received and written.
                    self.receiver.close();
                    closing = true;
                    continue;
                }
                received = self.receiver.recv_many(&mut batch, self.batch_size) => received,
            };
            if received == 0 {
                return;
            }
            let outcome = self.write(&batch).await;
            let bytes = batch.iter().map(ExecutionRecord::approximate_bytes).sum();
            self.backlog.release(batch.len(), bytes);
            batch.clear();
            count(&self.writes, &outcome);
            if let Some(error) = &outcome.error {
                failing = true;
                if let Some(records) = failures.count(outcome.failed as u64) {
                    tracing::warn!(records, %error, "could not write execution records");
                }
            } else if failing {
                failing = false;
                tracing::info!("execution records are written again");
            }
        }
    }

    async fn write(&self, batch: &[ExecutionRecord]) -> BatchOutcome {
        let insert = self.collection.insert_many(batch).ordered(false);
        match tokio::time::timeout(self.operation_timeout, insert).await {
            Ok(result) => settle(result, batch.len()),
            Err(_) => BatchOutcome {
                written: 0,
                failed: batch.len(),
                error: Some(format!(
                    "the write took longer than {} ms",
                    self.operation_timeout.as_millis()
                )),
            },
        }
    }
}

/// Splits an unordered insert's result into written and failed records: only the documents
/// named in the write errors failed; any other error failed the whole batch.
fn settle(result: Result<InsertManyResult, Error>, count: usize) -> BatchOutcome {
    let error = match result {
        Ok(_) => {
            return BatchOutcome {
                written: count,
                failed: 0,
                error: None,
            }
        }
        Err(error) => error,
    };
    let failed = match error.kind.as_ref() {
        ErrorKind::InsertMany(InsertManyError {
            write_errors: Some(errors),
            write_concern_error: None,
            ..
        }) => errors.len().min(count),
        _ => count,
    };
    BatchOutcome {
        written: count - failed,
        failed,
        error: Some(error.to_string()),
    }
}

fn count(counter: &IntCounterVec, outcome: &BatchOutcome) {
    counter
        .with_label_values(&[LogWrite::Written.label()])
        .inc_by(outcome.written as u64);
    counter
        .with_label_values(&[LogWrite::Failed.label()])
        .inc_by(outcome.failed as u64);
}
