//! The typed HTTP client of one codeexec service: the two endpoints the load uses,
//! `POST /api/v1/execute` and `GET /api/v1/languages`, with their bodies as structs holding the
//! fields the load sends and reads.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::record::ServerTimings;

/// A request can wait for a queue and a compile on a loaded machine; past this it has failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The body of `POST /api/v1/execute`: one file of code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecuteBody {
    pub language: String,
    pub code: String,
}

/// What `POST /api/v1/execute` answered.
#[derive(Debug)]
pub struct ExecuteReply {
    pub status: u16,
    pub answer: ExecuteAnswer,
}

/// The body of an execute answer: the result of a job that ran, or why it was refused. Empty
/// when the body is not the service's JSON (e.g. a proxy's error page).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteAnswer {
    pub result: Option<ExecutionResult>,
    pub error_message: Option<String>,
}

impl ExecuteAnswer {
    /// Reads an answer's body; one that is not the service's JSON reads as empty, so the
    /// answer still counts by its HTTP status.
    pub fn from_body(body: &[u8]) -> ExecuteAnswer {
        serde_json::from_slice(body).unwrap_or_default()
    }
}

/// `result` of a job that ran.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    pub run_time_status: String,
    pub output: String,
    pub timings: Option<ServerTimings>,
}

/// The body of `GET /api/v1/languages`.
#[derive(Debug, Deserialize)]
struct LanguagesAnswer {
    languages: Vec<LanguageState>,
}

/// One language of `GET /api/v1/languages`, with its pool's state when the service reports one.
#[derive(Debug, Deserialize)]
pub struct LanguageState {
    pub name: String,
    pub pool: Option<PoolCounts>,
}

/// Containers of one pool, and the jobs waiting for them.
#[derive(Debug, Deserialize)]
pub struct PoolCounts {
    pub ready: usize,
    pub starting: usize,
    pub target: usize,
    pub queued: usize,
}

/// An HTTP client of the service at one URL.
#[derive(Clone)]
pub struct ServiceClient {
    http: reqwest::Client,
    url: String,
}

impl ServiceClient {
    pub fn new(url: &str) -> Result<ServiceClient, String> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|error| format!("cannot make an HTTP client: {error}"))?;
        Ok(ServiceClient {
            http,
            url: url.trim_end_matches('/').to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one job through `POST /api/v1/execute`. An error means no HTTP answer came
    /// (connection refused, timeout) and says why.
    pub async fn execute(&self, body: &ExecuteBody) -> Result<ExecuteReply, String> {
        let unanswered = |error: reqwest::Error| error.without_url().to_string();
        let response = self
            .http
            .post(format!("{}/api/v1/execute", self.url))
            .json(body)
            .send()
            .await
            .map_err(unanswered)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(unanswered)?;
        Ok(ExecuteReply {
            status,
            answer: ExecuteAnswer::from_body(&body),
        })
    }

    /// The service's Prometheus metrics, as text.
    pub async fn metrics_text(&self) -> Result<String, String> {
        let url = format!("{}/metrics", self.url);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|error| format!("cannot read {url}: {error}"))?;
        response
            .text()
            .await
            .map_err(|error| format!("cannot read {url}: {error}"))
    }

    /// Every language the service runs, with its pool's state, from `GET /api/v1/languages`.
    pub async fn languages(&self) -> Result<Vec<LanguageState>, String> {
        let url = format!("{}/api/v1/languages", self.url);
        let response = self.http.get(&url).send().await.map_err(|error| {
            format!("no codeexec service answers at {url} ({error}); start one (scripts/up) or give --url")
        })?;
        let answer: LanguagesAnswer = response
            .json()
            .await
            .map_err(|error| format!("{url} did not answer with the languages: {error}"))?;
        Ok(answer.languages)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_execute_body_is_the_v1_request() {
        let body = ExecuteBody {
            language: "ruby".into(),
            code: "puts 1\n".into(),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({ "language": "ruby", "code": "puts 1\n" })
        );
    }

    #[test]
    fn an_answer_that_is_not_the_services_json_reads_as_empty() {
        let answer = ExecuteAnswer::from_body(b"<html>bad gateway</html>");
        assert!(answer.result.is_none() && answer.error_message.is_none());
    }

    #[test]
    fn pool_states_are_read_from_the_languages_answer() {
        let body = br#"{"succeeded": true, "languages": [
            {"name": "python", "displayName": "Python", "pool": {"ready": 2, "starting": 1,
             "target": 3, "queued": 0, "version": "3.11"}},
            {"name": "go", "displayName": "Go", "pool": null}]}"#;
        let answer: LanguagesAnswer = serde_json::from_slice(body).unwrap();
        let [python, go] = &answer.languages[..] else {
            panic!("{answer:?}")
        };
        let pool = python.pool.as_ref().unwrap();
        assert_eq!((pool.ready, pool.starting, pool.target), (2, 1, 3));
        assert_eq!(go.name, "go");
        assert!(go.pool.is_none());
    }
}
