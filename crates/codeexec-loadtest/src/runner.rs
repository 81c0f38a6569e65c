//! Driving a running service: client workers that each send the workload's requests one after
//! another for a fixed time (a closed loop, so the concurrency is the number of workers), and
//! waiting between steps until every pool is full again, so each step starts from the same state.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::client::{ExecuteBody, ExecuteReply, LanguageState, ServiceClient};
use super::progress;
use super::record::{Sample, StepRecord};
use super::workload::{Workload, HELLO_OUTPUT};

/// How often the pools' state is polled while waiting for them to refill.
const POLL: Duration = Duration::from_millis(250);

/// Runs one job and records what came back, with the latency the client saw.
async fn execute(client: &ServiceClient, language: &str, body: &ExecuteBody) -> Sample {
    let started = Instant::now();
    let reply = client.execute(body).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match reply {
        Ok(reply) => sample_from_reply(language, latency_ms, reply),
        Err(error) => Sample {
            language: language.to_string(),
            latency_ms,
            http_status: None,
            run_status: None,
            output_ok: false,
            error: Some(error),
            timings: None,
            sent_secs: 0.0,
            finished_secs: 0.0,
        },
    }
}

/// What an HTTP answer says about one job.
fn sample_from_reply(language: &str, latency_ms: f64, reply: ExecuteReply) -> Sample {
    let ExecuteReply { status, answer } = reply;
    let result = answer.result.filter(|_| status == 200);
    Sample {
        language: language.to_string(),
        latency_ms,
        http_status: Some(status),
        run_status: result.as_ref().map(|result| result.run_time_status.clone()),
        output_ok: result
            .as_ref()
            .is_some_and(|result| result.output == HELLO_OUTPUT),
        error: answer.error_message.filter(|_| status != 200),
        timings: result.and_then(|result| result.timings),
        sent_secs: 0.0,
        finished_secs: 0.0,
    }
}

/// Waits until every pool holds its target of ready containers with nothing starting or
/// queued: the service is idle and warm.
pub async fn wait_until_idle(client: &ServiceClient, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let state = client.languages().await;
        match &state {
            Ok(languages) if languages.iter().all(is_idle) => return Ok(()),
            _ if Instant::now() >= deadline => {
                let why = match state {
                    Ok(languages) => languages
                        .iter()
                        .map(describe_pool)
                        .collect::<Vec<_>>()
                        .join(", "),
                    Err(error) => error,
                };
                return Err(format!(
                    "the service at {} did not become idle with full pools within {} s: {why}",
                    client.url(),
                    limit.as_secs()
                ));
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
}

fn is_idle(language: &LanguageState) -> bool {
    language
        .pool
        .as_ref()
        .is_some_and(|pool| pool.ready >= pool.target && pool.starting == 0 && pool.queued == 0)
}

fn describe_pool(language: &LanguageState) -> String {
    match &language.pool {
        Some(pool) => format!(
            "{} {}/{} ready, {} starting, {} queued",
            language.name, pool.ready, pool.target, pool.starting, pool.queued
        ),
        None => format!("{} has no pool state", language.name),
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
                let mut sample = execute(&client, language, body).await;
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
    use crate::client::ExecuteAnswer;

    fn reply(status: u16, body: &[u8]) -> ExecuteReply {
        ExecuteReply {
            status,
            answer: ExecuteAnswer::from_body(body),
        }
    }

    #[test]
    fn a_finished_job_keeps_its_status_output_check_and_timings() {
        let body = br#"{"succeeded": true, "result": {"runTimeStatus": "succeeded",
            "output": "Hello, World!\n", "timings": {"queue": 0.001, "acquire": 0.0009,
            "compile": 0.0, "run": 0.02, "exchange": 0.023, "total": 0.025}}}"#;
        let sample = sample_from_reply("python", 31.0, reply(200, body));
        assert!(sample.ran() && sample.output_ok);
        assert_eq!(sample.outcome(), "200 succeeded");
        let timings = sample.timings.unwrap();
        assert_eq!((timings.run, timings.exchange), (0.02, Some(0.023)));
        assert_eq!(sample.error, None);
    }

    #[test]
    fn a_refusal_keeps_the_services_message() {
        let body = br#"{"succeeded": false, "errorMessage": "the python queue is full"}"#;
        let sample = sample_from_reply("python", 2.0, reply(503, body));
        assert!(!sample.ran());
        assert_eq!(sample.outcome(), "503");
        assert_eq!(sample.error.as_deref(), Some("the python queue is full"));
    }

    #[test]
    fn wrong_output_is_told_apart_from_success() {
        let body = br#"{"succeeded": true, "result": {"runTimeStatus": "succeeded",
            "output": "Hello\n", "timings": {"queue": 0, "compile": 0, "run": 0, "total": 0}}}"#;
        let sample = sample_from_reply("python", 2.0, reply(200, body));
        assert_eq!(sample.outcome(), "200 succeeded, wrong output");
        assert_eq!(sample.timings.unwrap().acquire, None);
    }

    #[test]
    fn an_unreadable_answer_is_still_counted_by_its_status() {
        let sample = sample_from_reply("go", 2.0, reply(502, b"<html>bad gateway</html>"));
        assert_eq!(sample.outcome(), "502");
        assert!(!sample.ran());
    }
}
