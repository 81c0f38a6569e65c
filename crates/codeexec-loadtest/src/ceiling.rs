//! What the Docker engine alone allows, measured with nothing of the service in the way: the
//! container ceiling (containers per second created, started and removed by several loops at
//! once) and the cold path (one job per fresh container, one after another). Both use a
//! language's own image with the service's own hardening and limits, started by the same
//! runtime as the pools ([`DockerRuntime`]), under an instance label of the load test's own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codeexec_engine::{
    ContainerReport, ContainerRuntime, DockerRuntime, JobSpec, Language, READY_LIMIT,
};

use super::progress;
use super::record::{CeilingRun, ColdRecord};
use super::workload::HELLO_OUTPUT;
use codeexec::config::Settings;

/// A failed start is retried after this pause, so a broken engine is not hammered.
const FAILURE_PAUSE: Duration = Duration::from_millis(200);

/// The runtime the pools use, without the direct channel, and labelling its containers as
/// `instance`'s, so the service's own sweeps never touch them and a sweep of `instance` removes
/// whatever a broken run left.
pub async fn labelled_runtime(
    settings: &Settings,
    instance: &str,
) -> Result<DockerRuntime, String> {
    let mut docker = settings.docker.clone();
    docker.instance = instance.to_string();
    // Attached to, as the ceiling has always been measured (create, attach, start, remove), so
    // that it compares with earlier reports and with the service's own direct channel.
    docker.channel_dir = std::path::PathBuf::new();
    DockerRuntime::connect(&docker, &settings.limits).await
}

/// Creates, starts and removes containers of `language` from `parallelism` loops at once, for
/// `duration` at each parallelism given; `when` says whether this is before or after the load.
pub async fn measure_ceiling(
    runtime: &DockerRuntime,
    language: &Language,
    parallelisms: &[usize],
    duration: Duration,
    when: &str,
) -> Result<Vec<CeilingRun>, String> {
    let mut runs = Vec::new();
    for &parallelism in parallelisms {
        runs.push(ceiling_run(runtime, language, parallelism, duration, when).await?);
    }
    Ok(runs)
}

async fn ceiling_run(
    runtime: &DockerRuntime,
    language: &Language,
    parallelism: usize,
    duration: Duration,
    when: &str,
) -> Result<CeilingRun, String> {
    let done = Arc::new(AtomicU64::new(0));
    let ticker = {
        let done = done.clone();
        let title = format!("ceiling {when}, {parallelism} at once");
        progress::timed(&title, duration, move || {
            format!("{} containers", done.load(Ordering::Relaxed))
        })
    };
    let started = Instant::now();
    let deadline = started + duration;
    let cycle_loop = || async {
        let mut failures = 0;
        let mut last_error = None;
        while Instant::now() < deadline {
            match runtime.start(language).await {
                Ok(container) => {
                    container.remove().await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    failures += 1;
                    last_error = Some(error);
                    tokio::time::sleep(FAILURE_PAUSE).await;
                }
            }
        }
        (failures, last_error)
    };
    let loops = futures_util::future::join_all((0..parallelism).map(|_| cycle_loop())).await;
    // Cycles under way at the deadline finish and count, so the time is measured to the end.
    let elapsed_secs = started.elapsed().as_secs_f64();
    let run = CeilingRun {
        when: when.to_string(),
        parallelism,
        containers: done.load(Ordering::Relaxed),
        failures: loops.iter().map(|(failures, _)| failures).sum(),
        elapsed_secs,
    };
    ticker.finish(&format!(
        "{} containers in {elapsed_secs:.1} s: {:.2}/s ({} failed)",
        run.containers,
        run.per_second(),
        run.failures
    ));
    if run.containers == 0 {
        let why = loops.into_iter().find_map(|(_, error)| error);
        return Err(format!(
            "no {} container could be created and started: {}",
            language.name,
            why.unwrap_or_else(|| "no attempt finished in time".into())
        ));
    }
    Ok(run)
}

/// Runs `samples` hello world jobs one after another, each in a container created, started and
/// removed for it: what every job would cost without a warm pool.
pub async fn measure_cold_path(
    runtime: &DockerRuntime,
    settings: &Settings,
    job: &JobSpec,
    samples: usize,
) -> ColdRecord {
    let frame = job.to_frame(&settings.limits);
    let deadline = job.result_deadline(&settings.limits);
    let done = Arc::new(AtomicU64::new(0));
    let ticker = {
        let done = done.clone();
        let title = format!("cold path, {}", job.language.name);
        progress::counted(&title, samples as u64, move || done.load(Ordering::Relaxed))
    };
    let mut latencies_ms = Vec::new();
    let mut failures = 0;
    for _ in 0..samples {
        let started = Instant::now();
        let ran = match runtime.start(&job.language).await {
            Ok(mut container) => {
                let report = match container.ready(READY_LIMIT).await {
                    Ok(()) => container.run(&frame, job.memory_mb, deadline, None).await,
                    Err(reason) => ContainerReport {
                        result: Err(reason),
                        oom_killed: false,
                    },
                };
                container.remove().await;
                report
                    .result
                    .ok()
                    .and_then(|result| result.run)
                    .is_some_and(|run| run.stdout == HELLO_OUTPUT)
            }
            Err(_) => false,
        };
        if ran {
            latencies_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        } else {
            failures += 1;
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    let median = super::stats::median(latencies_ms.iter().copied());
    ticker.finish(&format!(
        "{} jobs, median {}, {failures} failed",
        latencies_ms.len(),
        median.map_or("-".into(), |median| format!("{median:.1} ms"))
    ));
    ColdRecord {
        language: job.language.name.clone(),
        latencies_ms,
        failures,
    }
}
