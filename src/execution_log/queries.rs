//! Reading the log back: one record by job id, as plain JSON, and per-language statistics from
//! an aggregation pipeline.

use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::Error;
use mongodb::Collection;
use serde::{Deserialize, Serialize};

/// Executions of one language, as `GET /api/v1/stats` reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LanguageStats {
    pub language: String,
    pub executions: i64,
    pub succeeded: i64,
    /// `succeeded / executions`, from 0 to 1.
    pub success_rate: f64,
    /// Mean run stage wall time, seconds.
    pub mean_execution_time: Option<f64>,
}

/// The record of `job_id` as JSON, without MongoDB's `_id`; `None` when there is none.
pub async fn find(
    collection: &Collection<Document>,
    job_id: &str,
) -> Result<Option<serde_json::Value>, Error> {
    let found = collection
        .find_one(doc! { "jobId": job_id })
        .projection(doc! { "_id": 0 })
        .await?;
    Ok(found.map(|document| to_json(Bson::Document(document))))
}

/// Counts, success rate and mean execution time per language, sorted by language.
pub async fn stats(collection: &Collection<Document>) -> Result<Vec<LanguageStats>, Error> {
    let documents: Vec<Document> = collection
        .aggregate(stats_pipeline())
        .await?
        .try_collect()
        .await?;
    documents
        .into_iter()
        .map(|document| bson::from_document(document).map_err(Error::from))
        .collect()
}

fn stats_pipeline() -> Vec<Document> {
    vec![
        doc! { "$group": {
            "_id": "$language",
            "executions": { "$sum": 1 },
            "succeeded": { "$sum": {
                "$cond": [{ "$eq": ["$runTimeStatus", "succeeded"] }, 1, 0]
            } },
            "meanExecutionTime": { "$avg": "$executionTime" },
        } },
        doc! { "$project": {
            "_id": 0,
            "language": "$_id",
            "executions": 1,
            "succeeded": 1,
            "successRate": { "$divide": ["$succeeded", "$executions"] },
            "meanExecutionTime": 1,
        } },
        doc! { "$sort": { "language": 1 } },
    ]
}

/// Plain JSON for a stored value: dates become RFC 3339 strings and numbers plain numbers, not
/// MongoDB's extended JSON (`{"$date": ...}`, `{"$numberLong": ...}`).
pub fn to_json(value: Bson) -> serde_json::Value {
    match value {
        Bson::DateTime(date) => match date.try_to_rfc3339_string() {
            Ok(text) => serde_json::Value::String(text),
            Err(_) => serde_json::Value::from(date.timestamp_millis()),
        },
        Bson::Document(document) => serde_json::Value::Object(
            document
                .into_iter()
                .map(|(key, value)| (key, to_json(value)))
                .collect(),
        ),
        Bson::Array(values) => values.into_iter().map(to_json).collect(),
        Bson::ObjectId(id) => serde_json::Value::String(id.to_hex()),
        other => other.into_relaxed_extjson(),
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::DateTime;
    use serde_json::json;

    use super::*;

    #[test]
    fn dates_become_rfc3339_and_numbers_stay_plain() {
        let document = doc! {
            "createdAt": DateTime::from_millis(1_700_000_000_123),
            "memoryBytes": 9_400_000_i64,
            "exitCode": 0,
            "executionTime": 0.25,
            "version": Bson::Null,
            "files": [{ "filename": "a.py", "isEntryPoint": true }],
        };
        assert_eq!(
            to_json(Bson::Document(document)),
            json!({
                "createdAt": "2023-11-14T22:13:20.123Z",
                "memoryBytes": 9_400_000,
                "exitCode": 0,
                "executionTime": 0.25,
                "version": null,
                "files": [{ "filename": "a.py", "isEntryPoint": true }],
            })
        );
    }

    #[test]
    fn stats_rows_read_from_aggregation_output() {
        let row = doc! {
            "executions": 3,
            "succeeded": 2,
            "language": "python",
            "successRate": 2.0 / 3.0,
            "meanExecutionTime": 0.5,
        };
        let stats: LanguageStats = bson::from_document(row).unwrap();
        assert_eq!(stats.executions, 3);
        assert_eq!(stats.language, "python");
        assert_eq!(stats.mean_execution_time, Some(0.5));
    }
}
