//! Where submissions live until they are read: a bounded in-memory map with a TTL by default,
//! or MongoDB's `submissions` collection (with a TTL index) when a database is configured, so
//! that several instances behind a load balancer answer for each other's submissions.

use std::collections::{HashMap, VecDeque};
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, DateTime, Document};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, IndexModel};

use super::submission::Submission;
use crate::config::MongoSettings;

/// The collection submissions go to.
pub const COLLECTION: &str = "submissions";
const INDEX_RETRY_DELAY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("queue is full")]
    Full,
    #[error("the submissions database did not answer: {0}")]
    Unavailable(String),
}

/// Cheap to clone.
#[derive(Clone)]
pub enum SubmissionStore {
    Memory(Arc<MemoryStore>),
    Mongo(MongoStore),
}

impl SubmissionStore {
    /// MongoDB when `mongo.uri` is set, memory otherwise. Must run inside a Tokio runtime.
    pub async fn start(
        mongo: &MongoSettings,
        capacity: usize,
        ttl: Duration,
    ) -> Result<SubmissionStore, mongodb::error::Error> {
        if mongo.uri.is_empty() {
            return Ok(SubmissionStore::Memory(Arc::new(MemoryStore::new(
                capacity, ttl,
            ))));
        }
        Ok(SubmissionStore::Mongo(
            MongoStore::connect(mongo, ttl).await?,
        ))
    }

    pub async fn insert(&self, submission: &Submission) -> Result<(), StoreError> {
        match self {
            SubmissionStore::Memory(memory) => memory.insert(submission.clone()),
            SubmissionStore::Mongo(mongo) => mongo.insert(submission).await,
        }
    }

    pub async fn update(&self, submission: &Submission) -> Result<(), StoreError> {
        match self {
            SubmissionStore::Memory(memory) => {
                memory.update(submission.clone());
                Ok(())
            }
            SubmissionStore::Mongo(mongo) => mongo.update(submission).await,
        }
    }

    pub async fn get(&self, token: &str) -> Result<Option<Submission>, StoreError> {
        match self {
            SubmissionStore::Memory(memory) => Ok(memory.get(token)),
            SubmissionStore::Mongo(mongo) => {
                Ok(mongo.get_many(&[token.to_string()]).await?.remove(token))
            }
        }
    }

    /// The stored ones among `tokens`, by token.
    pub async fn get_many(
        &self,
        tokens: &[String],
    ) -> Result<HashMap<String, Submission>, StoreError> {
        match self {
            SubmissionStore::Memory(memory) => Ok(tokens
                .iter()
                .filter_map(|token| Some((token.clone(), memory.get(token)?)))
                .collect()),
            SubmissionStore::Mongo(mongo) => mongo.get_many(tokens).await,
        }
    }
}

/// At most `capacity` submissions, each kept for `ttl`; when full, the oldest finished one
/// makes room, and when none has finished a new one is refused.
pub struct MemoryStore {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    submissions: HashMap<String, (Submission, Instant)>,
    /// Tokens, oldest first.
    order: VecDeque<String>,
}

impl MemoryStore {
    pub fn new(capacity: usize, ttl: Duration) -> MemoryStore {
        MemoryStore {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::default(),
        }
    }

    fn insert(&self, submission: Submission) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap();
        inner.drop_expired(now, self.ttl);
        if inner.submissions.len() >= self.capacity && !inner.drop_oldest_finished() {
            return Err(StoreError::Full);
        }
        inner.order.push_back(submission.token.clone());
        inner
            .submissions
            .insert(submission.token.clone(), (submission, now));
        Ok(())
    }

    fn update(&self, submission: Submission) {
        let mut inner = self.inner.lock().unwrap();
        if let Some((stored, _)) = inner.submissions.get_mut(&submission.token) {
            *stored = submission;
        }
    }

    fn get(&self, token: &str) -> Option<Submission> {
        let inner = self.inner.lock().unwrap();
        let (submission, stored) = inner.submissions.get(token)?;
        (stored.elapsed() <= self.ttl).then(|| submission.clone())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap().submissions.len()
    }
}

impl MemoryInner {
    fn drop_expired(&mut self, now: Instant, ttl: Duration) {
        while let Some(token) = self.order.front() {
            match self.submissions.get(token) {
                Some((_, stored)) if now.duration_since(*stored) <= ttl => break,
                _ => {
                    let token = self.order.pop_front().unwrap();
                    self.submissions.remove(&token);
                }
            }
        }
    }

    fn drop_oldest_finished(&mut self) -> bool {
        let finished = self.order.iter().position(|token| {
            self.submissions
                .get(token)
                .is_some_and(|(submission, _)| !submission.status().is_pending())
        });
        let Some(index) = finished else { return false };
        let token = self.order.remove(index).unwrap();
        self.submissions.remove(&token);
        true
    }
}

/// The `submissions` collection: one document per submission, `_id` its token, removed by a
/// TTL index on `createdAt`.
#[derive(Clone)]
pub struct MongoStore {
    collection: Collection<Document>,
    operation_timeout: Duration,
}

impl MongoStore {
    async fn connect(
        settings: &MongoSettings,
        ttl: Duration,
    ) -> Result<MongoStore, mongodb::error::Error> {
        let mut options = ClientOptions::parse(&settings.uri).await?;
        options.app_name = Some("codeexec-judge0".into());
        options.server_selection_timeout =
            Some(Duration::from_millis(settings.server_selection_timeout_ms));
        options.connect_timeout = Some(Duration::from_millis(settings.connect_timeout_ms));
        let database = options
            .default_database
            .clone()
            .unwrap_or_else(|| settings.database.clone());
        let client = Client::with_options(options)?;
        let collection = client.database(&database).collection(COLLECTION);
        tracing::info!(%database, collection = COLLECTION, "Judge0 submissions go to MongoDB");
        tokio::spawn(ensure_ttl_index(collection.clone(), ttl));
        Ok(MongoStore {
            collection,
            operation_timeout: Duration::from_millis(settings.operation_timeout_ms),
        })
    }

    async fn insert(&self, submission: &Submission) -> Result<(), StoreError> {
        let document = to_document(submission)?;
        self.bounded(self.collection.insert_one(document).into_future())
            .await?;
        Ok(())
    }

    async fn update(&self, submission: &Submission) -> Result<(), StoreError> {
        let document = to_document(submission)?;
        let filter = doc! { "_id": &submission.token };
        self.bounded(self.collection.replace_one(filter, document).into_future())
            .await?;
        Ok(())
    }

    async fn get_many(&self, tokens: &[String]) -> Result<HashMap<String, Submission>, StoreError> {
        let filter = doc! { "_id": { "$in": tokens } };
        let documents: Vec<Document> = self
            .bounded(async { self.collection.find(filter).await?.try_collect().await })
            .await?;
        let mut found = HashMap::new();
        for document in documents {
            let submission: Submission = bson::from_document(document)
                .map_err(|error| StoreError::Unavailable(format!("unreadable record: {error}")))?;
            found.insert(submission.token.clone(), submission);
        }
        Ok(found)
    }

    async fn bounded<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, mongodb::error::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.operation_timeout, operation).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(StoreError::Unavailable(error.to_string())),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {} ms",
                self.operation_timeout.as_millis()
            ))),
        }
    }
}

fn to_document(submission: &Submission) -> Result<Document, StoreError> {
    let mut document = bson::to_document(submission)
        .map_err(|error| StoreError::Unavailable(format!("cannot encode: {error}")))?;
    document.insert("_id", &submission.token);
    document.insert("createdAt", DateTime::from_millis(submission.created_at_ms));
    Ok(document)
}

/// The TTL index on `createdAt`, retried until the database answers.
async fn ensure_ttl_index(collection: Collection<Document>, ttl: Duration) {
    loop {
        let index = IndexModel::builder()
            .keys(doc! { "createdAt": 1 })
            .options(IndexOptions::builder().expire_after(ttl).build())
            .build();
        match collection.create_index(index).await {
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot create the submissions TTL index yet");
                tokio::time::sleep(INDEX_RETRY_DELAY).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge0::status::Status;

    fn submission(token: &str, status: Status) -> Submission {
        let mut submission: Submission = serde_json::from_value(serde_json::json!({
            "token": token, "source_code": "", "language_id": 71, "language_name": "Python",
            "stdin": null, "expected_output": null, "status_id": status.id(),
            "created_at_ms": 0, "finished_at_ms": null, "deadline_ms": 0, "stdout": null,
            "stderr": null, "compile_output": null, "message": null, "exit_code": null,
            "exit_signal": null, "time": null, "wall_time": null, "memory": null,
            "number_of_runs": 1, "cpu_time_limit": 5.0, "cpu_extra_time": 0.0,
            "wall_time_limit": 5.0, "memory_limit": 1024, "stack_limit": 64000,
            "max_processes_and_or_threads": 60,
            "enable_per_process_and_thread_time_limit": false,
            "enable_per_process_and_thread_memory_limit": false, "max_file_size": 1024,
            "compiler_options": null, "command_line_arguments": null,
            "redirect_stderr_to_stdout": false, "callback_url": null,
            "additional_files": null, "enable_network": false
        }))
        .unwrap();
        submission.status_id = status.id();
        submission
    }

    #[test]
    fn a_full_store_drops_the_oldest_finished_submission() {
        let store = MemoryStore::new(2, Duration::from_secs(60));
        store.insert(submission("a", Status::Accepted)).unwrap();
        store.insert(submission("b", Status::InQueue)).unwrap();
        store.insert(submission("c", Status::InQueue)).unwrap();
        assert!(store.get("a").is_none());
        assert!(store.get("b").is_some());
        assert_eq!(store.len(), 2);
        assert!(matches!(
            store.insert(submission("d", Status::InQueue)),
            Err(StoreError::Full)
        ));
    }

    #[test]
    fn submissions_expire_after_the_ttl() {
        let store = MemoryStore::new(10, Duration::ZERO);
        store.insert(submission("a", Status::Accepted)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(store.get("a").is_none());
        store.insert(submission("b", Status::Accepted)).unwrap();
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn updates_replace_what_is_stored() {
        let store = MemoryStore::new(10, Duration::from_secs(60));
        store.insert(submission("a", Status::InQueue)).unwrap();
        store.update(submission("a", Status::Accepted));
        assert_eq!(store.get("a").unwrap().status(), Status::Accepted);
    }
}
