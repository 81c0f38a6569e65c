//! The fast-path report (`docs/fast-path.md`): the service as it is (pre-started runtimes, the
//! direct channel) against the same build configured as before them (`prestart = false` for
//! every language, `docker.channel_dir = ""`), both measured in one run on one engine, beside
//! the targets.
//!
//! Measured: each language's hello world at 1 client (the service idle with its pools full
//! before every request, alternating between the two services) with the service's overhead;
//! `python3 -c pass` started on the host; the mixed load at saturation on each service, overall
//! and per language; Python alone at saturation against the engine's container ceiling measured
//! as `codeexec-loadtest` does (create, attach, start, remove); and each pool's refill time
//! (create to ready, from the service's `codeexec_container_start_seconds`). During each mixed
//! window the machine's CPU is read too, and the containers' and the engine's where their
//! cgroups are given, so the report says what a job cost at saturation on each service.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use codeexec::config::Settings;
use codeexec_engine::{ContainerRuntime, LanguageRegistry};

use super::ceiling;
use super::client::ServiceClient;
use super::machine::Machine;
use super::report::{machine_table, row_name};
use super::runner::{self, StepTimes};
use super::stats::{median, step_stats, StepStats};
use super::window_cpu::{self, CpuCgroups, WindowCpu};
use super::workload::{hello_world_body, Workload};

/// The one command that reproduces the report.
pub const REPRODUCE: &str = "scripts/fast-path";

/// The container ceiling's parallelism: the engine's best on this machine (docs/benchmarks.md).
const CEILING_PARALLELISM: usize = 4;

/// The untimed pause before each low-load request, once the pools are full (their pre-started
/// runtimes warmed up: a pool counts a container ready only then), so that the engine's removal
/// of the previous job's container does not share the CPU with it.
const WARM_UP_PAUSE: Duration = Duration::from_millis(1500);

/// What `codeexec-loadtest fast-path` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct FastPathOptions {
    /// The service as it is.
    #[arg(long)]
    pub url: String,
    /// The same service with `prestart = false` everywhere and `docker.channel_dir = ""`.
    #[arg(long)]
    pub baseline_url: String,
    /// The languages measured (each needs a hello world).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "python,javascript,ruby,java,go,cpp"
    )]
    pub languages: Vec<String>,
    /// Hello worlds per language and service at 1 client.
    #[arg(long, default_value_t = 15)]
    pub requests: usize,
    /// Clients of the saturation steps.
    #[arg(long, default_value_t = 8)]
    pub saturation_clients: usize,
    /// Seconds measured in each saturation step, after its warm-up.
    #[arg(long, default_value_t = 30)]
    pub saturation_secs: u64,
    /// Seconds of load before each saturation step's window.
    #[arg(long, default_value_t = 5)]
    pub warmup_secs: u64,
    /// Seconds the container ceiling is measured.
    #[arg(long, default_value_t = 20)]
    pub ceiling_secs: u64,
    /// Longest wait, in seconds, for a service to be idle with its pools full.
    #[arg(long, default_value_t = 300)]
    pub settle_secs: u64,
    /// The report.
    #[arg(long, default_value = "docs/fast-path.md")]
    pub out: PathBuf,
    /// The job containers' parent cgroup (cgroup v1 cpuacct, or v2), whose CPU is read during
    /// the mixed windows.
    #[arg(long)]
    pub containers_cgroup: Option<PathBuf>,
    /// The Docker engine's own cgroup (dockerd, containerd, the shims and runc), read likewise.
    #[arg(long)]
    pub engine_cgroup: Option<PathBuf>,
}

/// One language's hello worlds at 1 client on one service.
#[derive(Debug, Default)]
struct Latency {
    total_ms: Vec<f64>,
    overhead_ms: Vec<f64>,
}

impl Latency {
    fn p50(&self) -> f64 {
        median(self.total_ms.iter().copied()).unwrap_or(f64::NAN)
    }
    fn overhead_p50(&self) -> f64 {
        median(self.overhead_ms.iter().copied()).unwrap_or(f64::NAN)
    }
}

/// Everything one run measured.
struct Measured {
    host_python_ms: f64,
    /// Per language: (as it is, baseline).
    latency: Vec<(String, Latency, Latency)>,
    mixed: StepStats,
    mixed_baseline: StepStats,
    /// The CPU used in the mixed windows: (as it is, baseline).
    mixed_cpu: (WindowCpu, WindowCpu),
    python_alone: StepStats,
    ceiling_per_sec: f64,
    /// Per language: mean seconds from create to ready, as it is.
    refill_secs: Vec<(String, Option<f64>)>,
}

/// Measures both services and writes the report.
pub async fn measure(
    settings: &Settings,
    options: &FastPathOptions,
    machine: Machine,
    command: String,
) -> Result<(), String> {
    let after = ServiceClient::new(&options.url)?;
    let before = ServiceClient::new(&options.baseline_url)?;
    let settle = Duration::from_secs(options.settle_secs);
    let workload = Workload::new(&options.languages)?;
    let host_python_ms = host_python_ms(options.requests)?;

    let mut latency = Vec::new();
    for language in &options.languages {
        let body =
            hello_world_body(language).ok_or_else(|| format!("no hello world for {language:?}"))?;
        let (mut now, mut then) = (Latency::default(), Latency::default());
        eprintln!(
            "[fast-path] {language}: {} hello worlds on each service",
            options.requests
        );
        for _ in 0..options.requests {
            for (client, into) in [(&after, &mut now), (&before, &mut then)] {
                runner::wait_until_idle(client, settle).await?;
                tokio::time::sleep(WARM_UP_PAUSE).await;
                let sent = Instant::now();
                let reply = client.execute(&body).await?;
                let total_ms = sent.elapsed().as_secs_f64() * 1e3;
                let result = reply.answer.result.filter(|_| reply.status == 200);
                let Some(result) = result.filter(|r| r.run_time_status == "succeeded") else {
                    return Err(format!(
                        "{} answered {} to {language}'s hello world: {:?}",
                        client.url(),
                        reply.status,
                        reply.answer.error_message
                    ));
                };
                into.total_ms.push(total_ms);
                if let Some(timings) = result.timings {
                    let overhead = timings.total - timings.compile - timings.run;
                    into.overhead_ms.push(overhead * 1e3);
                }
            }
        }
        latency.push((language.clone(), now, then));
    }

    let times = StepTimes {
        warmup: Duration::from_secs(options.warmup_secs),
        window: Duration::from_secs(options.saturation_secs),
    };
    let clients = options.saturation_clients;
    let cgroups = CpuCgroups {
        containers: options.containers_cgroup.clone(),
        engine: options.engine_cgroup.clone(),
    };
    let mut steps = Vec::new();
    for (client, name) in [(&after, "as it is"), (&before, "baseline")] {
        runner::wait_until_idle(client, settle).await?;
        let title = format!("mixed, {clients} clients, {name}");
        let (step, cpu) = tokio::join!(
            runner::run_step(client, &workload, clients, times, &title),
            window_cpu::over_window(&cgroups, times)
        );
        steps.push((step_stats(&step), cpu?));
    }
    let (mixed_baseline, baseline_cpu) = steps.pop().expect("two steps");
    let (mixed, cpu) = steps.pop().expect("two steps");

    runner::wait_until_idle(&after, settle).await?;
    let python = Workload::new(&["python".to_string()])?;
    let title = format!("python alone, {clients} clients");
    let python_alone = step_stats(&runner::run_step(&after, &python, clients, times, &title).await);

    runner::wait_until_idle(&after, settle).await?;
    runner::wait_until_idle(&before, settle).await?;
    let runtime = ceiling::labelled_runtime(settings, "fast-path-ceiling").await?;
    let registry = LanguageRegistry::new(&settings.languages);
    let reference = registry
        .resolve("python")
        .ok_or("python is not configured")?
        .clone();
    let runs = ceiling::measure_ceiling(
        &runtime,
        &reference,
        &[CEILING_PARALLELISM],
        Duration::from_secs(options.ceiling_secs),
        "beside",
    )
    .await?;
    let _ = runtime.remove_all().await;
    let ceiling_per_sec = runs.iter().map(|run| run.per_second()).fold(0.0, f64::max);

    let metrics = after.metrics_text().await?;
    let refill_secs = options
        .languages
        .iter()
        .map(|language| (language.clone(), mean_start_secs(&metrics, language)))
        .collect();

    let measured = Measured {
        host_python_ms,
        latency,
        mixed,
        mixed_baseline,
        mixed_cpu: (cpu, baseline_cpu),
        python_alone,
        ceiling_per_sec,
        refill_secs,
    };
    let report = report(options, &machine, &command, &measured);
    std::fs::write(&options.out, report)
        .map_err(|error| format!("cannot write {}: {error}", options.out.display()))?;
    eprintln!("[fast-path] wrote {}", options.out.display());
    Ok(())
}

/// The host's own interpreter: Debian's, not a version manager's shim on PATH, which is a
/// script that starts more than Python.
const HOST_PYTHON: &str = "/usr/bin/python3";

/// Median wall time of `python3 -c pass` started on the host.
fn host_python_ms(runs: usize) -> Result<f64, String> {
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let status = Command::new(HOST_PYTHON)
            .args(["-c", "pass"])
            .status()
            .map_err(|error| format!("cannot start {HOST_PYTHON} on the host: {error}"))?;
        if !status.success() {
            return Err(format!("python3 -c pass on the host: {status}"));
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(times).unwrap_or(f64::NAN))
}

/// The mean of `codeexec_container_start_seconds` for `language` in Prometheus' text format.
fn mean_start_secs(metrics: &str, language: &str) -> Option<f64> {
    let value = |suffix: &str| {
        let prefix =
            format!("codeexec_container_start_seconds_{suffix}{{language=\"{language}\"}} ");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.trim().parse::<f64>().ok())
    };
    let (sum, count) = (value("sum")?, value("count")?);
    (count > 0.0).then(|| sum / count)
}

/// What a finished job cost the machine in each mixed window: the containers' CPU (runners,
/// runtimes, compilers, programs, and runc's setup inside each container), the engine's, and the
/// rest (the service, the load's client, the kernel's own threads).
fn cpu_per_job_section(out: &mut String, options: &FastPathOptions, measured: &Measured) {
    let (after, before) = measured.mixed_cpu;
    let jobs = |stats: &StepStats| stats.overall.jobs_per_sec * options.saturation_secs as f64;
    let (after_jobs, before_jobs) = (jobs(&measured.mixed), jobs(&measured.mixed_baseline));
    let per_job = |ms: Option<f64>, jobs: f64| match ms {
        Some(ms) if jobs > 0.0 => format!("{:.1} ms", ms / jobs),
        _ => "not measured".to_string(),
    };
    let _ = writeln!(
        out,
        "CPU in each mixed window, per finished job. The containers' share is every job \
         container's processes: runners, runtimes, compilers, programs, and runc's setup inside \
         the container. The engine's is dockerd's, containerd's, the shims' and runc's, in a cgroup \
         of their own. The rest is the service, the load's own client and the kernel's threads. \
         Both services' containers count, but the one not under load waits with its pools \
         full, which costs next to none (a waiting JVM's own 1 ms a second).\n\n\
         | | before | after | after / before |\n|---|---:|---:|---:|"
    );
    let _ = writeln!(
        out,
        "| cores busy | {:.0}% | {:.0}% | |",
        before.busy_share() * 100.0,
        after.busy_share() * 100.0
    );
    let _ = writeln!(
        out,
        "| jobs finished | {before_jobs:.0} | {after_jobs:.0} | |"
    );
    for (name, before_ms, after_ms) in [
        ("all CPU", Some(before.busy_ms), Some(after.busy_ms)),
        ("containers", before.containers_ms, after.containers_ms),
        ("engine", before.engine_ms, after.engine_ms),
        ("rest", before.rest_ms(), after.rest_ms()),
    ] {
        let ratio = match (before_ms, after_ms) {
            (Some(b), Some(a)) if b > 0.0 && before_jobs > 0.0 && after_jobs > 0.0 => {
                format!("{:.2}", (a / after_jobs) / (b / before_jobs))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {name} per job | {} | {} | {ratio} |",
            per_job(before_ms, before_jobs),
            per_job(after_ms, after_jobs)
        );
    }
    out.push('\n');
}

/// A verdict against an upper bound.
fn at_most(value: f64, limit: f64) -> String {
    let verdict = if value <= limit { "met" } else { "missed" };
    format!("{verdict} ({value:.1} ≤ {limit})")
}

/// A verdict against a lower bound.
fn at_least(value: f64, limit: f64) -> String {
    let verdict = if value >= limit { "met" } else { "missed" };
    format!("{verdict} ({value:.2} ≥ {limit})")
}

/// The latency targets, ms, per language.
fn latency_target(language: &str) -> Option<f64> {
    Some(match language {
        "python" => 8.0,
        "javascript" | "ruby" => 20.0,
        "java" => 150.0,
        "go" => 180.0,
        "cpp" => 250.0,
        _ => return None,
    })
}

fn report(
    options: &FastPathOptions,
    machine: &Machine,
    command: &str,
    measured: &Measured,
) -> String {
    let mut out = String::new();
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let _ = writeln!(
        out,
        "# The fast path, before and after\n\n\
         Generated by `{REPRODUCE}` (`{command}`) on {date}. Two services of the same build ran \
         side by side on one Docker engine: **after**, as configured (pre-started runtimes, the \
         direct channel), and **before**, with `prestart = false` for every language and \
         `docker.channel_dir = \"\"` (a fresh runtime per job, the job through dockerd's attach \
         stream). Figures are medians. Benchmarks, not tests.\n"
    );
    machine_table(&mut out, machine, &[]);

    let _ = writeln!(
        out,
        "## Hello world at 1 client\n\n\
         {} requests per language and service, alternating, each sent when the service was idle \
         with its pools full (their pre-started runtimes warmed up), and {:.1} s later (latency at \
         low load). End to end through HTTP, as the client saw \
         it; overhead is the service's total less the compile and run stages. On the host, \
         `{HOST_PYTHON} -c pass` took {:.1} ms in the same run.\n\n\
         | language | before | after | after / before | overhead before | overhead after | target | verdict |\n\
         |---|---:|---:|---:|---:|---:|---:|---|",
        options.requests,
        WARM_UP_PAUSE.as_secs_f64(),
        measured.host_python_ms
    );
    let mut overheads = Vec::new();
    for (language, after, before) in &measured.latency {
        overheads.extend(after.overhead_ms.iter().copied());
        let (target, verdict) = match latency_target(language) {
            Some(limit) if language == "python" => {
                let limit = limit.min(measured.host_python_ms);
                (format!("{limit:.1} ms"), at_most(after.p50(), limit))
            }
            Some(limit) => (format!("{limit} ms"), at_most(after.p50(), limit)),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {language} | {:.1} ms | {:.1} ms | {:.2} | {:.2} ms | {:.2} ms | {target} | {verdict} |",
            before.p50(),
            after.p50(),
            after.p50() / before.p50(),
            before.overhead_p50(),
            after.overhead_p50(),
        );
    }
    let overhead = median(overheads).unwrap_or(f64::NAN);
    let _ = writeln!(
        out,
        "\nThe python target is the lower of 8 ms and `python3 -c pass` on the host. Service \
         overhead after, all languages together: {overhead:.2} ms p50, target ≤ 2 ms: {}.\n",
        at_most(overhead, 2.0)
    );

    let (after, before) = (&measured.mixed, &measured.mixed_baseline);
    let _ = writeln!(
        out,
        "## Mixed load at saturation\n\n\
         {} clients, each sending the languages' hello worlds in turn, {} s warm-up and {} s \
         measured, on each service in turn. Jobs/s counts finished jobs.\n\n\
         | language | jobs/s before | jobs/s after | after / before | time limit exceeded after |\n\
         |---|---:|---:|---:|---:|",
        options.saturation_clients, options.warmup_secs, options.saturation_secs
    );
    let mut lowest = f64::INFINITY;
    for stats in after.languages.iter().chain([&after.overall]) {
        let base = if stats.language == "all" {
            Some(&before.overall)
        } else {
            before.language(&stats.language)
        };
        let base_rate = base.map_or(0.0, |base| base.jobs_per_sec);
        let ratio = stats.jobs_per_sec / base_rate;
        if stats.language != "all" {
            lowest = lowest.min(ratio);
        }
        let timed_out = stats
            .outcomes
            .iter()
            .filter(|(outcome, _)| outcome.contains("time_limit_exceeded"))
            .fold(0.0, |sum, (_, share)| sum + share * 100.0);
        let name = row_name(&stats.language);
        let _ = writeln!(
            out,
            "| {name} | {base_rate:.2} | {:.2} | {ratio:.2} | {timed_out:.1}% |",
            stats.jobs_per_sec
        );
    }
    let overall = after.overall.jobs_per_sec / before.overall.jobs_per_sec;
    let _ = writeln!(
        out,
        "\nTargets: all languages together at least 1.2× before: {}; no language below 0.9× \
         its own before: {}.\n",
        at_least(overall, 1.2),
        at_least(lowest, 0.9)
    );

    cpu_per_job_section(&mut out, options, measured);

    let python = measured.python_alone.overall.jobs_per_sec;
    let _ = writeln!(
        out,
        "## Python alone at saturation\n\n\
         After, {} clients: {python:.2} jobs/s. The engine's container ceiling beside it \
         (containers of the python image created, attached, started and removed by {} loops at \
         once for {} s, with the service's hardening, as `codeexec-loadtest` measures it): \
         {:.2} per second. Target at least 1.2× the ceiling: {}.\n",
        options.saturation_clients,
        CEILING_PARALLELISM,
        options.ceiling_secs,
        measured.ceiling_per_sec,
        at_least(python / measured.ceiling_per_sec, 1.2)
    );

    let _ = writeln!(
        out,
        "## Pool refill\n\n\
         Mean time from a container's create call to ready for a job (started, its runner \
         connected over the channel, and its pre-started runtime warmed up: the runner says \
         so), after, over every container the service started in this run \
         (`codeexec_container_start_seconds`).\n\n\
         | language | create to ready |\n|---|---:|"
    );
    for (language, secs) in &measured.refill_secs {
        let shown = secs.map_or("-".to_string(), |secs| format!("{:.0} ms", secs * 1e3));
        let _ = writeln!(out, "| {language} | {shown} |");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_start_time_is_read_from_the_histogram() {
        let metrics = "codeexec_container_start_seconds_sum{language=\"python\"} 3\n\
                       codeexec_container_start_seconds_count{language=\"python\"} 4\n\
                       codeexec_container_start_seconds_count{language=\"go\"} 0\n";
        assert_eq!(mean_start_secs(metrics, "python"), Some(0.75));
        assert_eq!(mean_start_secs(metrics, "go"), None);
        assert_eq!(mean_start_secs(metrics, "ruby"), None);
    }
}
