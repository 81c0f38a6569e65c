//! Driving a running service: client workers that each send the workload's requests one after
//! another for a fixed time (a closed loop, so the concurrency is the number of workers), and
//! waiting between steps until every pool is full again, so each step starts from the same state.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use tokio::task::JoinSet;

use super::progress;
use super::record::{Sample, StepRecord};
use super::workload::{Workload, HELLO_OUTPUT};

/// A request can wait for a queue and a compile on a loaded machine; past this it has failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the pools' state is polled while waiting for them to refill.
const POLL: Duration = Duration::from_millis(250);

/// An HTTP client of one codeexec service.
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

    /// Runs one job through `POST /api/v1/execute` and records what came back.
    pub async fn execute(&self, language: &str, body: &Value) -> Sample {
        let started = Instant::now();
        let answer = async {
            let response = self
                .http
                .post(format!("{}/api/v1/execute", self.url))
                .json(body)
                .send()
                .await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        }
        .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match answer {
            Ok((status, bytes)) => sample_from_answer(language, latency_ms, status, &bytes),
            Err(error) => Sample {
                language: language.to_string(),
                latency_ms,
                http_status: None,
                run_status: None,
                output_ok: false,
                error: Some(error.without_url().to_string()),
                timings: None,
                sent_secs: 0.0,
                finished_secs: 0.0,
            },
        }
    }

    /// Waits until every pool holds its target of ready containers with nothing starting or
    /// queued: the service is idle and warm.
    pub async fn wait_until_idle(&self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let state = self.pool_states().await;
            match &state {
                Ok(pools) if pools.iter().all(PoolView::is_idle) => return Ok(()),
                _ if Instant::now() >= deadline => {
                    let why = match state {
                        Ok(pools) => pools
                            .iter()
                            .map(PoolView::describe)
                            .collect::<Vec<_>>()
                            .join(", "),
                        Err(error) => error,
                    };
                    return Err(format!(
                        "the service at {} did not become idle with full pools within {} s: {why}",
                        self.url,
                        limit.as_secs()
                    ));
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }

    async fn pool_states(&self) -> Result<Vec<PoolView>, String> {
        let url = format!("{}/api/v1/languages", self.url);
        let response = self.http.get(&url).send().await.map_err(|error| {
            format!("no codeexec service answers at {url} ({error}); start one (scripts/up) or give --url")
        })?;
        let languages: LanguagesView = response
            .json()
            .await
            .map_err(|error| format!("{url} did not answer with the languages: {error}"))?;
        Ok(languages
            .languages
            .into_iter()
            .map(|language| PoolView {
                name: language.name,
                pool: language.pool,
            })
            .collect())
    }
}

#[derive(Deserialize)]
struct LanguagesView {
    languages: Vec<LanguageView>,
}

#[derive(Deserialize)]
struct LanguageView {
    name: String,
    pool: Option<PoolCounts>,
}

#[derive(Deserialize)]
struct PoolCounts {
    ready: usize,
    starting: usize,
    target: usize,
    queued: usize,
}

struct PoolView {
    name: String,
    pool: Option<PoolCounts>,
}

impl PoolView {
    fn is_idle(&self) -> bool {
        self.pool
            .as_ref()
            .is_some_and(|pool| pool.ready >= pool.target && pool.starting == 0 && pool.queued == 0)
    }

    fn describe(&self) -> String {
        match &self.pool {
            Some(pool) => format!(
                "{} {}/{} ready, {} starting, {} queued",
                self.name, pool.ready, pool.target, pool.starting, pool.queued
            ),
            None => format!("{} has no pool state", self.name),
        }
    }
}

/// What an HTTP answer says about one job.
fn sample_from_answer(language: &str, latency_ms: f64, status: u16, body: &[u8]) -> Sample {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let result = &body["result"];
    let run_status = (status == 200)
        .then(|| result["runTimeStatus"].as_str().map(str::to_string))
        .flatten();
    Sample {
        language: language.to_string(),
        latency_ms,
        http_status: Some(status),
        run_status,
        output_ok: result["output"] == HELLO_OUTPUT,
        error: body["errorMessage"]
            .as_str()
            .filter(|_| status != 200)
            .map(str::to_string),
        timings: serde_json::from_value(result["timings"].clone()).ok(),
        sent_secs: 0.0,
        finished_secs: 0.0,
    }
}

/// How long a step warms up before its measured window.
#[derive(Debug, Clone, Copy)]
pub struct StepTimes {
    pub warmup: Duration,
    pub window: Duration,
}

/// Sends the workload's requests from `concurrency` workers through the warm-up and the window,
/// then waits for the requests still in flight. Every answer is kept, with when it was asked
/// for and when it came.
pub async fn run_step(
    client: &ServiceClient,
    workload: &Workload,
    concurrency: usize,
    times: StepTimes,
    title: &str,
) -> StepRecord {
    let started = Instant::now();
    let duration = times.warmup + times.window;
    let deadline = started + duration;
    let sent = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for worker in 0..concurrency {
        let (client, workload) = (client.clone(), workload.clone());
        let (sent, answered) = (sent.clone(), answered.clone());
        workers.spawn(async move {
            let mut samples = Vec::new();
            for round in 0.. {
                if Instant::now() >= deadline {
                    break;
                }
                let (language, body) = workload.request_for(worker, round);
                sent.fetch_add(1, Ordering::Relaxed);
                let sent_secs = started.elapsed().as_secs_f64();
                let mut sample = client.execute(language, body).await;
                sample.sent_secs = sent_secs;
                sample.finished_secs = started.elapsed().as_secs_f64();
                answered.fetch_add(1, Ordering::Relaxed);
                samples.push(sample);
            }
            samples
        });
    }
    let ticker = {
        let (sent, answered) = (sent.clone(), answered.clone());
        progress::timed(title, duration, move || {
            let answered = answered.load(Ordering::Relaxed);
            let in_flight = sent.load(Ordering::Relaxed) - answered;
            format!("{answered} answered, {in_flight} in flight")
        })
    };
    let mut samples = Vec::new();
    while let Some(joined) = workers.join_next().await {
        samples.extend(joined.expect("a load worker panicked"));
    }
    let finished = samples.iter().filter(|sample| sample.ran()).count();
    ticker.finish(&format!(
        "{} answers ({finished} jobs ran) in {:.1} s",
        samples.len(),
        started.elapsed().as_secs_f64()
    ));
    StepRecord {
        concurrency,
        languages: workload.languages().to_vec(),
        warmup_secs: times.warmup.as_secs_f64(),
        window_secs: times.window.as_secs_f64(),
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_job_keeps_its_status_output_check_and_timings() {
        let body = br#"{"succeeded": true, "result": {"runTimeStatus": "succeeded",
            "output": "Hello, World!\n", "timings": {"queue": 0.001, "acquire": 0.0009,
            "compile": 0.0, "run": 0.02, "exchange": 0.023, "total": 0.025}}}"#;
        let sample = sample_from_answer("python", 31.0, 200, body);
        assert!(sample.ran() && sample.output_ok);
        assert_eq!(sample.outcome(), "200 succeeded");
        let timings = sample.timings.unwrap();
        assert_eq!((timings.run, timings.exchange), (0.02, Some(0.023)));
        assert_eq!(sample.error, None);
    }

    #[test]
    fn a_refusal_keeps_the_services_message() {
        let body = br#"{"succeeded": false, "errorMessage": "the python queue is full"}"#;
        let sample = sample_from_answer("python", 2.0, 503, body);
        assert!(!sample.ran());
        assert_eq!(sample.outcome(), "503");
        assert_eq!(sample.error.as_deref(), Some("the python queue is full"));
    }

    #[test]
    fn wrong_output_is_told_apart_from_success() {
        let body = br#"{"succeeded": true, "result": {"runTimeStatus": "succeeded",
            "output": "Hello\n", "timings": {"queue": 0, "compile": 0, "run": 0, "total": 0}}}"#;
        let sample = sample_from_answer("python", 2.0, 200, body);
        assert_eq!(sample.outcome(), "200 succeeded, wrong output");
        assert_eq!(sample.timings.unwrap().acquire, None);
    }

    #[test]
    fn an_unreadable_answer_is_still_counted_by_its_status() {
        let sample = sample_from_answer("go", 2.0, 502, b"<html>bad gateway</html>");
        assert_eq!(sample.outcome(), "502");
        assert!(!sample.ran());
    }
}
