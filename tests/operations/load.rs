//! Load: a burst of mixed-language jobs, far more than the pools hold, is answered in full (each
//! request with a result, a 429 or a 503, none hanging or lost), leaves no container behind, and
//! does not grow the service's memory without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::attack::HELLO;
use crate::common::Service;
use serde_json::{json, Value};

const REQUESTS: usize = 200;
const CONCURRENCY: usize = 16;
/// Far above any answer's bound (queue wait 10 s + compile 15 s + run 5 s + margin 5 s): a
/// request that takes this long is hung.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);
/// The service's resident memory after the burst must stay below this (it is about 20 MiB idle).
const RSS_CEILING_KIB: u64 = 256 * 1024;

/// What one request got: the status and body, or the client's error (a hang or a lost answer).
type Answer = Result<(u16, Option<String>, Value), String>;

fn send(client: &reqwest::blocking::Client, url: &str, index: usize) -> Answer {
    let (language, code) = HELLO[index % HELLO.len()];
    let body = json!({ "language": language, "code": code, "stdin": format!("request {index}") });
    let response = client
        .post(format!("{url}/api/v1/execute"))
        .json(&body)
        .send()
        .map_err(|error| format!("request {index} ({language}): {error}"))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = response
        .json()
        .map_err(|error| format!("request {index} ({language}): unreadable body: {error}"))?;
    Ok((status, retry_after, body))
}

#[test]
fn a_burst_of_200_mixed_requests_at_concurrency_16_is_answered_in_full() {
    let service = Service::start_ready("load", &[]);
    let rss_before = service.resident_kib();
    let client = reqwest::blocking::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .unwrap();
    let next = AtomicUsize::new(0);
    let answers: Mutex<Vec<(usize, Answer)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= REQUESTS {
                    break;
                }
                let answer = send(&client, &service.url, index);
                answers.lock().unwrap().push((index, answer));
            });
        }
    });
    let answers = answers.into_inner().unwrap();
    assert_eq!(answers.len(), REQUESTS);
    let mut by_status = std::collections::BTreeMap::<String, usize>::new();
    for (index, answer) in &answers {
        let language = HELLO[index % HELLO.len()].0;
        let (status, retry_after, body) = answer.as_ref().expect("every request is answered");
        match status {
            200 => {
                assert_eq!(body["succeeded"], true, "{body}");
                let run_status = body["result"]["runTimeStatus"].as_str().unwrap();
                *by_status
                    .entry(format!("{language} {run_status}"))
                    .or_default() += 1;
            }
            429 | 503 => {
                assert!(
                    retry_after.is_some(),
                    "{status} without Retry-After: {body}"
                );
                assert_eq!(body["succeeded"], false, "{body}");
                *by_status.entry(format!("{language} {status}")).or_default() += 1;
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    eprintln!("answers: {by_status:?}");

    service.wait_until_only_pools_remain(12);
    let rss_after = service.resident_kib();
    eprintln!("service VmRSS: {rss_before} KiB before, {rss_after} KiB after");
    assert!(
        rss_after < RSS_CEILING_KIB,
        "the service grew to {rss_after} KiB (from {rss_before} KiB)"
    );
    assert!(service.terminate().success());
    assert!(service.containers().is_empty(), "containers left behind");
}
