//! The collection's indexes: `jobId` unique (one record per job, and the lookup key) and a TTL
//! index on `createdAt` that removes records after the retention period. Created in the
//! background at start, retried until the database answers, so a database that is down never
//! delays the service's start.

use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::error::{Error, ErrorKind};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use tokio_util::sync::CancellationToken;

/// First wait before trying again; it doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// MongoDB's codes for "an index on these keys exists with other options".
const INDEX_OPTIONS_CONFLICT: i32 = 85;
const INDEX_KEY_SPECS_CONFLICT: i32 = 86;

/// Ensures both indexes, trying again with backoff until it works or `stop` is cancelled.
pub async fn ensure_until_done(
    collection: Collection<Document>,
    retention: Duration,
    stop: CancellationToken,
) {
    let mut delay = FIRST_RETRY_DELAY;
    loop {
        match ensure(&collection, retention).await {
            Ok(()) => {
                tracing::info!(
                    retention_days = retention.as_secs() / 86_400,
                    "execution log indexes are in place"
                );
                return;
            }
            Err(error) => tracing::warn!(
                %error,
                retry_in_secs = delay.as_secs(),
                "cannot create the execution log indexes yet"
            ),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_RETRY_DELAY);
    }
}

async fn ensure(collection: &Collection<Document>, retention: Duration) -> Result<(), Error> {
    let unique_job = IndexModel::builder()
        .keys(doc! { "jobId": 1 })
        .options(IndexOptions::builder().unique(true).build())
        .build();
    collection.create_index(unique_job).await?;
    let expiry = IndexModel::builder()
        .keys(doc! { "createdAt": 1 })
        .options(IndexOptions::builder().expire_after(retention).build())
        .build();
    match collection.create_index(expiry).await {
        Ok(_) => Ok(()),
        Err(error) if is_options_conflict(&error) => change_retention(collection, retention).await,
        Err(error) => Err(error),
    }
}

/// The TTL index exists with another retention (the setting changed): change it in place
/// rather than dropping and rebuilding the index.
async fn change_retention(
    collection: &Collection<Document>,
    retention: Duration,
) -> Result<(), Error> {
    let command = doc! {
        "collMod": collection.name(),
        "index": {
            "keyPattern": { "createdAt": 1 },
            "expireAfterSeconds": retention.as_secs() as i64,
        },
    };
    tracing::info!(
        retention_days = retention.as_secs() / 86_400,
        "changing the execution log retention"
    );
    collection
        .client()
        .database(collection.namespace().db.as_str())
        .run_command(command)
        .await
        .map(drop)
}

fn is_options_conflict(error: &Error) -> bool {
    matches!(
        error.kind.as_ref(),
        ErrorKind::Command(command)
            if [INDEX_OPTIONS_CONFLICT, INDEX_KEY_SPECS_CONFLICT].contains(&command.code)
    )
}
