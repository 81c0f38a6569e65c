//! Talking to a codeexec service over HTTP, whichever way it runs: JSON in, status, headers and
//! JSON out, and the samples of its `/metrics`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

/// Requests can wait for a queue and a compile on a loaded machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A client of one service.
pub struct Http {
    pub url: String,
    client: reqwest::blocking::Client,
}

impl Http {
    pub fn new(url: String) -> Http {
        Http {
            url,
            client: reqwest::blocking::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap(),
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .expect("GET sent");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Sends `method` to `path` with no body; returns the status and the headers.
    pub fn request(&self, method: &str, path: &str) -> (u16, HashMap<String, String>) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let response = self
            .client
            .request(method, format!("{}{path}", self.url))
            .send()
            .expect("request sent");
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = value.to_str().unwrap_or_default().to_string();
                (name.as_str().to_string(), value)
            })
            .collect();
        (response.status().as_u16(), headers)
    }

    /// GETs a text body, e.g. `/metrics`.
    pub fn get_text(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .expect("GET sent");
        let status = response.status().as_u16();
        (status, response.text().expect("a text body"))
    }

    /// POSTs raw bytes; returns the status, the headers and the JSON body.
    pub fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, HashMap<String, String>, Value) {
        self.post_with_headers(path, body, &[("content-type", "application/json")])
    }

    /// POSTs raw bytes with exactly the given headers (no content type unless given).
    pub fn post_with_headers(
        &self,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (u16, HashMap<String, String>, Value) {
        self.try_post_with_headers(path, body, headers)
            .expect("POST sent")
    }

    /// [`Http::post_with_headers`], with the client's error when no answer came (the
    /// connection refused or closed before an answer).
    pub fn try_post_with_headers(
        &self,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, HashMap<String, String>, Value), reqwest::Error> {
        let mut request = self.client.post(format!("{}{path}", self.url)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().map(answer)
    }

    /// GETs `path`; returns the status, the headers and the JSON body.
    pub fn get_with_headers(&self, path: &str) -> (u16, HashMap<String, String>, Value) {
        let request = self.client.get(format!("{}{path}", self.url));
        answer(request.send().expect("GET sent"))
    }

    /// The value of one sample on `/metrics`, e.g. `codeexec_jobs_in_flight` or
    /// `codeexec_rejected_total{reason="in_flight_cap"}`; `None` while it has none.
    pub fn metric(&self, sample: &str) -> Option<f64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.url))
            .send()
            .and_then(|response| response.text())
            .expect("GET /metrics");
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .map(|value| value.trim().parse().expect("a sample value is a number"))
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, _, body) = self.post_raw(path, body.to_string().into_bytes());
        (status, body)
    }

    /// Runs `code` through `/api/v1/execute` and returns the result object, asserting 200.
    pub fn run(&self, language: &str, code: &str) -> Value {
        self.run_with(json!({ "language": language, "code": code }))
    }

    /// POSTs `body` to `/api/v1/execute` and returns the result object, asserting 200.
    pub fn run_with(&self, body: Value) -> Value {
        let (status, body) = self.post("/api/v1/execute", &body);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["succeeded"], true, "{body}");
        body["result"].clone()
    }

    /// Runs `files` through `/api/v2/execute` and returns the result object, asserting 200.
    pub fn run_files(&self, language: &str, files: Value) -> Value {
        let (status, body) = self.post(
            "/api/v2/execute",
            &json!({ "language": language, "files": files }),
        );
        assert_eq!(status, 200, "{body}");
        body["result"].clone()
    }

    /// The sum of every sample of `name` (all its label sets), e.g. the containers started
    /// across languages from `codeexec_container_start_seconds_count`.
    pub fn metric_sum(&self, name: &str) -> f64 {
        let (_, text) = self.get_text("/metrics");
        text.lines()
            .filter(|line| line.starts_with(name) && line[name.len()..].starts_with([' ', '{']))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Whether every pool holds its target of ready containers with no start under way.
    pub fn pools_full_and_settled(&self) -> bool {
        let (_, body) = self.get("/api/v1/languages");
        body["languages"].as_array().is_some_and(|languages| {
            languages.iter().all(|language| {
                let pool = &language["pool"];
                pool["ready"] == pool["target"] && pool["starting"] == 0
            })
        })
    }
}

/// The status, the headers (names in lower case) and the JSON body (`null` if it is not JSON).
fn answer(response: reqwest::blocking::Response) -> (u16, HashMap<String, String>, Value) {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_string()))
        .collect();
    (status, headers, response.json().unwrap_or(Value::Null))
}
