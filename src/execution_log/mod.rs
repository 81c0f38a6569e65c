//! Execution logs in MongoDB, off the response path. A finished job whose request said
//! `saveMetric: true` becomes a record pushed, without waiting, into a bounded buffer; a
//! background writer empties it in batches. A slow or stopped database therefore never delays
//! or fails a response: when the buffer is full the record is dropped and counted. Off entirely
//! when no MongoDB URI is configured.

mod backlog;
mod indexes;
pub mod queries;
pub mod record;
mod stats_cache;
mod throttle;
mod writer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongodb::bson::{DateTime, Document};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection};
use prometheus::IntCounterVec;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::MongoSettings;
use crate::metrics::LogWrite;
use backlog::Backlog;
use codeexec_engine::Execution;
use queries::LanguageStats;
use record::ExecutionRecord;
use stats_cache::StatsCache;
use strum::IntoEnumIterator;
use throttle::LogThrottle;
use writer::Writer;

/// The collection every record goes to.
pub const COLLECTION: &str = "executions";

/// Shortest time between two warnings about the same kind of trouble.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Cheap to clone: every handler holds one. Does nothing when no database is configured.
#[derive(Clone, Default)]
pub struct ExecutionLog {
    enabled: Option<Arc<Enabled>>,
}

struct Enabled {
    collection: Collection<Document>,
    sender: mpsc::Sender<ExecutionRecord>,
    /// Records in the buffer or in the batch being written.
    backlog: Arc<Backlog>,
    drops: LogThrottle,
    writes: IntCounterVec,
    max_output_bytes: usize,
    operation_timeout: Duration,
    flush_timeout: Duration,
    stats: StatsCache,
    background: Mutex<Option<Background>>,
}

/// The tasks that live as long as the log, and what stops them.
struct Background {
    stop: CancellationToken,
    writer: JoinHandle<()>,
    indexes: JoinHandle<()>,
}

/// Why the log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("execution logs are off: no database is configured")]
    Disabled,
    #[error("the execution log database did not answer: {0}")]
    Unavailable(String),
}

impl ExecutionLog {
    /// Connects lazily to `settings.uri` (the driver opens connections when first needed, so a
    /// database that is down does not delay the start), starts the writer, and ensures the
    /// indexes in the background. An empty URI gives a log that does nothing. Must run inside
    /// a Tokio runtime.
    /// `writes` counts what became of each record (`codeexec_execution_log_writes_total`).
    pub async fn start(
        settings: &MongoSettings,
        writes: IntCounterVec,
    ) -> Result<ExecutionLog, mongodb::error::Error> {
        if settings.uri.is_empty() {
            tracing::info!("execution logs are off (no DB or mongo.uri)");
            return Ok(ExecutionLog::default());
        }
        let mut options = ClientOptions::parse(&settings.uri).await?;
        options.app_name = Some("codeexec".into());
        options.server_selection_timeout =
            Some(Duration::from_millis(settings.server_selection_timeout_ms));
        options.connect_timeout = Some(Duration::from_millis(settings.connect_timeout_ms));
        let database = database_name(&options, &settings.database);
        let client = Client::with_options(options)?;
        let collection = client
            .database(&database)
            .collection::<Document>(COLLECTION);
        tracing::info!(%database, collection = COLLECTION, "execution logs go to MongoDB");

        let (sender, receiver) = mpsc::channel(settings.buffer_size);
        let backlog = Arc::new(Backlog::new(settings.buffer_max_bytes));
        let operation_timeout = Duration::from_millis(settings.operation_timeout_ms);
        let stop = CancellationToken::new();
        let writer = Writer {
            collection: collection.clone_with_type(),
            receiver,
            batch_size: settings.batch_size,
            operation_timeout,
            backlog: backlog.clone(),
            writes: writes.clone(),
        };
        let retention = Duration::from_secs(settings.retention_days * 86_400);
        let background = Background {
            writer: tokio::spawn(writer.run(stop.clone())),
            indexes: tokio::spawn(indexes::ensure_until_done(
                collection.clone(),
                retention,
                stop.clone(),
            )),
            stop,
        };
        // Show every outcome on /metrics from the start, at zero.
        for result in LogWrite::iter() {
            writes.with_label_values(&[result.label()]);
        }
        Ok(ExecutionLog {
            enabled: Some(Arc::new(Enabled {
                collection,
                sender,
                backlog,
                drops: LogThrottle::new(WARNING_INTERVAL),
                writes,
                max_output_bytes: settings.max_output_bytes,
                operation_timeout,
                flush_timeout: Duration::from_millis(settings.flush_timeout_ms),
                stats: StatsCache::new(Duration::from_secs(settings.stats_cache_secs)),
                background: Mutex::new(Some(background)),
            })),
        })
    }

    /// Queues the record of `execution` when its request asked for one and a database is
    /// configured. Never waits: when the buffer is full (in records or in bytes) the record is
    /// dropped and counted.
    pub fn record(&self, execution: &Execution) {
        let Some(log) = &self.enabled else { return };
        if !execution.spec.save_metric {
            return;
        }
        let record = ExecutionRecord::new(execution, log.max_output_bytes, DateTime::now());
        let bytes = record.approximate_bytes();
        if !log.backlog.admit(bytes) {
            log.count_dropped();
            return;
        }
        if let Err(TrySendError::Full(_) | TrySendError::Closed(_)) = log.sender.try_send(record) {
            log.backlog.release(1, bytes);
            log.count_dropped();
        }
    }

    /// The stored record of `job_id`, as JSON; `Ok(None)` when there is none.
    pub async fn find(&self, job_id: &str) -> Result<Option<serde_json::Value>, ReadError> {
        let log = self.enabled.as_ref().ok_or(ReadError::Disabled)?;
        log.bounded(queries::find(&log.collection, job_id)).await
    }

    /// Per-language counts, success rate and mean execution time of every stored record, as
    /// of at most `mongo.stats_cache_secs` ago.
    pub async fn stats(&self) -> Result<Arc<Vec<LanguageStats>>, ReadError> {
        let log = self.enabled.as_ref().ok_or(ReadError::Disabled)?;
        let aggregate = log.bounded(queries::stats(&log.collection));
        log.stats.get_or(aggregate).await
    }

    /// Stops taking records and writes those still buffered, for at most `mongo.flush_timeout_ms`;
    /// what is left then is dropped and counted.
    pub async fn shutdown(&self) {
        let Some(log) = &self.enabled else { return };
        let Some(mut background) = log.background.lock().unwrap().take() else {
            return;
        };
        background.stop.cancel();
        background.indexes.abort();
        let pending = log.backlog.records();
        match tokio::time::timeout(log.flush_timeout, &mut background.writer).await {
            Ok(_) => tracing::info!(pending, "execution log flushed"),
            Err(_) => {
                background.writer.abort();
                // Once the aborted task is gone nothing else touches the backlog.
                let _ = (&mut background.writer).await;
                let lost = log.backlog.abandon();
                log.writes
                    .with_label_values(&[LogWrite::Dropped.label()])
                    .inc_by(lost as u64);
                tracing::warn!(
                    lost,
                    flush_timeout_ms = log.flush_timeout.as_millis() as u64,
                    "execution records not written before shutdown were dropped"
                );
            }
        }
    }
}

impl Enabled {
    fn count_dropped(&self) {
        self.writes
            .with_label_values(&[LogWrite::Dropped.label()])
            .inc();
        if let Some(dropped) = self.drops.count(1) {
            tracing::warn!(
                dropped,
                "execution log buffer is full (the database is slow or down); records dropped"
            );
        }
    }

    /// Runs a query for at most `mongo.operation_timeout_ms`, mapping every failure to
    /// [`ReadError::Unavailable`].
    async fn bounded<T>(
        &self,
        query: impl std::future::Future<Output = Result<T, mongodb::error::Error>>,
    ) -> Result<T, ReadError> {
        match tokio::time::timeout(self.operation_timeout, query).await {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(error)) => Err(ReadError::Unavailable(error.to_string())),
            Err(_) => Err(ReadError::Unavailable(format!(
                "no answer within {} ms",
                self.operation_timeout.as_millis()
            ))),
        }
    }
}

/// The database named in the URI's path, else the configured one.
fn database_name(options: &ClientOptions, configured: &str) -> String {
    options
        .default_database
        .clone()
        .unwrap_or_else(|| configured.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn database_comes_from_the_uri_path_else_from_the_settings() {
        let named = ClientOptions::parse("mongodb://127.0.0.1:1/from_uri")
            .await
            .unwrap();
        assert_eq!(database_name(&named, "configured"), "from_uri");
        let unnamed = ClientOptions::parse("mongodb://127.0.0.1:1").await.unwrap();
        assert_eq!(database_name(&unnamed, "configured"), "configured");
    }

    #[tokio::test]
    async fn without_a_uri_nothing_is_stored_or_read() {
        let settings = crate::config::Settings::repository_defaults().mongo;
        let writes = crate::metrics::Metrics::new()
            .execution_log_writes_total
            .clone();
        let log = ExecutionLog::start(&settings, writes).await.unwrap();
        assert!(log.enabled.is_none());
        assert!(matches!(log.find("x").await, Err(ReadError::Disabled)));
        assert!(matches!(log.stats().await, Err(ReadError::Disabled)));
        log.shutdown().await;
    }
}
