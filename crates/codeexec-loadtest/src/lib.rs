//! The load tool behind the `codeexec-loadtest` binary: drives a running service with a
//! mixed-language workload at a series of concurrencies, measures beside it what the Docker engine
//! alone allows (the container ceiling and the cold path), and writes the report
//! (`docs/benchmarks.md`), its chart and the raw numbers behind them.
//!
//! The service is not started here: the command drives whatever answers at `--url`, so it
//! measures the service as deployed. `scripts/loadtest` builds, starts and stops one for it.
//! `codeexec-loadtest scaling` measures a cluster instead, one node count at a time, for the
//! scaling report (`scaling`, `scripts/cluster-scaling`).

pub mod ceiling;
mod chart;
pub mod client;
pub mod engine_cpu;
pub mod fast_path;
mod machine;
mod progress;
mod record;
mod report;
mod runner;
pub mod scaling;
mod stats;
mod targets;
mod window_cpu;
pub mod workload;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;

use client::ServiceClient;
use codeexec::config::Settings;
use codeexec_engine::{connect_docker, ContainerRuntime, DockerRuntime, LanguageRegistry};
use machine::Machine;
use record::{CeilingRecord, RunRecord};
use runner::StepTimes;
use workload::Workload;

/// What `codeexec-loadtest` takes. The defaults make a run of about 3.5 minutes on a 2-core
/// machine.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The service to drive. It must run with the same configuration this command reads, so
    /// that the ceiling uses the same limits.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// Concurrent clients of each step of the mixed workload.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16")]
    pub concurrency: Vec<usize>,
    /// Seconds each step is measured, after its warm-up.
    #[arg(long, default_value_t = 20)]
    pub step_secs: u64,
    /// Seconds each step sends requests before it is measured.
    #[arg(long, default_value_t = 5)]
    pub warmup_secs: u64,
    /// Languages of the mixed workload, each sent equally often; by default every language the
    /// service runs (`GET /api/v1/languages`).
    #[arg(long, value_delimiter = ',')]
    pub languages: Vec<String>,
    /// The language of the container ceiling, the cold path and the saturation step.
    #[arg(long, default_value = "python")]
    pub reference: String,
    /// Seconds of the saturation step: the reference language alone at the highest concurrency.
    #[arg(long, default_value_t = 20)]
    pub saturation_secs: u64,
    /// How many containers are created at once while measuring the ceiling; each is tried,
    /// before the load and again after it.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub ceiling_parallelism: Vec<usize>,
    /// Seconds the ceiling is measured at each parallelism.
    #[arg(long, default_value_t = 4)]
    pub ceiling_secs: u64,
    /// Jobs run on the cold path, one after another.
    #[arg(long, default_value_t = 15)]
    pub cold_samples: usize,
    /// Folder of the report: <OUT>/benchmarks.md, <OUT>/benchmarks/latency.svg and
    /// <OUT>/benchmarks/raw.json.
    #[arg(long, default_value = "docs")]
    pub out: PathBuf,
    /// A note shown at the top of the report, e.g. that the machine was busy.
    #[arg(long)]
    pub label: Option<String>,
    /// `codeexec.instance` label of the containers this command creates (never the service's);
    /// any left from an interrupted run are removed at start and at the end.
    #[arg(long, default_value = "loadtest")]
    pub instance: String,
    /// Longest wait, in seconds, for the service's pools to be full before each step.
    #[arg(long, default_value_t = 240)]
    pub settle_secs: u64,
    /// Measure nothing: write the report and the chart again from the raw.json of an earlier
    /// run (e.g. after a change to how they are rendered).
    #[arg(long, value_name = "RAW_JSON")]
    pub from_raw: Option<PathBuf>,
}

/// Runs the whole measurement and writes the report.
pub fn run(settings: Settings, options: Options) -> Result<(), String> {
    if let Some(raw) = &options.from_raw {
        let text = std::fs::read_to_string(raw)
            .map_err(|error| format!("cannot read {}: {error}", raw.display()))?;
        let record: RunRecord = serde_json::from_str(&text)
            .map_err(|error| format!("{} is not the raw.json of a run: {error}", raw.display()))?;
        return write(&options.out, &record, Some(raw));
    }
    if options.instance == settings.docker.instance {
        return Err(format!(
            "--instance {:?} is the service's own instance label; choose another",
            options.instance
        ));
    }
    async_runtime()?.block_on(async {
        let docker = docker(&settings).await?;
        let ceiling_runtime = ceiling::labelled_runtime(&settings, &options.instance).await?;
        let outcome = tokio::select! {
            outcome = measure(&settings, &options, &docker, &ceiling_runtime) => outcome,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        };
        if let Err(error) = ceiling_runtime.remove_all().await {
            eprintln!(
                "could not remove the {} containers: {error}",
                options.instance
            );
        }
        let record = outcome?;
        write(&options.out, &record, None)
    })
}

fn async_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new()
        .map_err(|error| format!("cannot start the async runtime: {error}"))
}

async fn docker(settings: &Settings) -> Result<Docker, String> {
    connect_docker(&settings.docker)
        .await
        .map_err(|error| format!("cannot reach the Docker engine: {error}"))
}

/// Measures one row of the scaling report through the load balancer at `options.url`.
/// Measures the Docker engine's CPU per job with and without the direct channel
/// (`codeexec-loadtest engine-cpu`), and writes its report.
pub fn run_engine_cpu(
    settings: Settings,
    options: engine_cpu::EngineCpuOptions,
) -> Result<(), String> {
    run_described(&settings, |machine, command| {
        engine_cpu::measure(&options, machine, command)
    })
}

/// Measures the fast path against the same service configured without it
/// (`codeexec-loadtest fast-path`), and writes its report.
pub fn run_fast_path(
    settings: Settings,
    options: fast_path::FastPathOptions,
) -> Result<(), String> {
    run_described(&settings, |machine, command| {
        fast_path::measure(&settings, &options, machine, command)
    })
}

/// Measures one row of the scaling report (`codeexec-loadtest scaling`) and writes it.
pub fn run_scaling(settings: Settings, options: scaling::ScalingOptions) -> Result<(), String> {
    run_described(&settings, |machine, command| {
        scaling::measure_row(&options, machine, command)
    })
}

/// Runs `measurement` with this machine's description and the command line, until it ends or
/// Ctrl-C interrupts it.
fn run_described<F, Measurement>(settings: &Settings, measurement: F) -> Result<(), String>
where
    F: FnOnce(Machine, String) -> Measurement,
    Measurement: std::future::Future<Output = Result<(), String>>,
{
    async_runtime()?.block_on(async {
        let docker = docker(settings).await?;
        let machine = Machine::describe(&docker).await;
        let command = command_line(std::env::args());
        tokio::select! {
            outcome = measurement(machine, command) => outcome,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        }
    })
}

async fn measure(
    settings: &Settings,
    options: &Options,
    docker: &Docker,
    ceiling_runtime: &DockerRuntime,
) -> Result<RunRecord, String> {
    let client = ServiceClient::new(&options.url)?;
    let workload = Workload::named_or_offered(&options.languages, &client).await?;
    let registry = LanguageRegistry::new(&settings.languages);
    let reference = registry
        .resolve(&options.reference)
        .ok_or_else(|| format!("unknown --reference {:?}", options.reference))?
        .clone();
    let alone = Workload::new(std::slice::from_ref(&reference.name))?;
    let top = check_counts("--concurrency", &options.concurrency)?;
    check_counts("--ceiling-parallelism", &options.ceiling_parallelism)?;
    let settle = Duration::from_secs(options.settle_secs);
    let secs = Duration::from_secs;

    eprintln!(
        "waiting for the service at {} to be idle with full pools",
        options.url
    );
    runner::wait_until_idle(&client, settle).await?;
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let machine = Machine::describe(docker).await;
    ceiling_runtime
        .remove_all()
        .await
        .map_err(|error| format!("cannot list containers: {error}"))?;

    // The ceiling is measured while the service idles with full pools (their containers wait
    // for their job and use no CPU), before the load and again after it, so a change in what else
    // the machine does shows as a difference between the two.
    let parallelisms = &options.ceiling_parallelism;
    let ceiling_secs = secs(options.ceiling_secs);
    let mut ceiling_runs = ceiling::measure_ceiling(
        ceiling_runtime,
        &reference,
        parallelisms,
        ceiling_secs,
        "before",
    )
    .await?;
    let job = workload::hello_world_job(settings, &reference)?;
    let cold =
        ceiling::measure_cold_path(ceiling_runtime, settings, &job, options.cold_samples).await;

    let warmup = secs(options.warmup_secs);
    let mut sweep = Vec::new();
    for &concurrency in &options.concurrency {
        runner::wait_until_idle(&client, settle).await?;
        let title = format!("mixed, {concurrency} client(s)");
        let times = StepTimes {
            warmup,
            window: secs(options.step_secs),
        };
        sweep.push(runner::run_step(&client, &workload, concurrency, times, &title).await);
    }
    runner::wait_until_idle(&client, settle).await?;
    let title = format!("{} alone, {top} clients", reference.name);
    let times = StepTimes {
        warmup,
        window: secs(options.saturation_secs),
    };
    let saturation = runner::run_step(&client, &alone, top, times, &title).await;

    runner::wait_until_idle(&client, settle).await?;
    ceiling_runs.extend(
        ceiling::measure_ceiling(
            ceiling_runtime,
            &reference,
            parallelisms,
            ceiling_secs,
            "after",
        )
        .await?,
    );
    let ceiling = CeilingRecord {
        language: reference.name.clone(),
        image: reference.settings.image.clone(),
        runs: ceiling_runs,
    };

    Ok(RunRecord {
        date,
        command: command_line(std::env::args()),
        label: options.label.clone(),
        service_url: options.url.clone(),
        machine,
        max_parallel_starts: settings.docker.max_parallel_starts.get(),
        ceiling,
        cold,
        sweep,
        saturation,
    })
}

/// A list of counts must be non-empty and without zeros; returns its largest.
fn check_counts(option: &str, counts: &[usize]) -> Result<usize, String> {
    match counts.iter().max() {
        Some(&largest) if !counts.contains(&0) => Ok(largest),
        _ => Err(format!("{option} needs one or more counts above zero")),
    }
}

/// Writes the raw numbers, the chart and the report under `out`. The raw numbers are left as
/// they are when `record` was read from that very file (`--from-raw`): written again, their
/// floats could change in the last digit.
fn write(out: &Path, record: &RunRecord, read_from: Option<&Path>) -> Result<(), String> {
    let companions = out.join("benchmarks");
    std::fs::create_dir_all(&companions)
        .map_err(|error| format!("cannot create {}: {error}", companions.display()))?;
    let save = |path: PathBuf, text: &str| {
        std::fs::write(&path, text)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    };
    let raw_path = companions.join("raw.json");
    let same_file = |source: &Path| {
        matches!(
            (source.canonicalize(), raw_path.canonicalize()),
            (Ok(source), Ok(destination)) if source == destination
        )
    };
    if !read_from.is_some_and(same_file) {
        let raw = serde_json::to_string_pretty(record).expect("the record serializes");
        save(raw_path.clone(), &raw)?;
    }
    let sweep: Vec<stats::StepStats> = record.sweep.iter().map(stats::step_stats).collect();
    let languages = record
        .sweep
        .first()
        .map_or(&[][..], |step| &step.languages[..]);
    save(
        companions.join("latency.svg"),
        &chart::latency_chart(&sweep, languages)?,
    )?;
    let links = report::Links {
        chart: "benchmarks/latency.svg",
        raw: "benchmarks/raw.json",
        engine_cpu: "engine-cpu.md",
    };
    let engine_cpu =
        engine_cpu::EngineCpuRecord::read_if_present(&companions.join(engine_cpu::RAW_NAME))?;
    save(
        out.join("benchmarks.md"),
        &report::render(record, &links, engine_cpu.as_ref()),
    )?;
    let low = sweep.iter().min_by_key(|step| step.concurrency);
    let saturation = stats::step_stats(&record.saturation);
    for target in targets::evaluate(record, low, &saturation) {
        println!("{}: {}", target.name, target.describe());
    }
    eprintln!(
        "wrote {} with its chart and raw numbers in {}",
        out.join("benchmarks.md").display(),
        companions.display()
    );
    Ok(())
}

/// The command as typed, with the program shown by its name and arguments quoted where a shell
/// would need it.
fn command_line(args: impl IntoIterator<Item = String>) -> String {
    let mut args = args.into_iter();
    let program = args
        .next()
        .map(|path| {
            Path::new(&path)
                .file_name()
                .map_or(path.clone(), |name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "codeexec-loadtest".to_string());
    std::iter::once(program)
        .chain(args.map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@".contains(c));
            if plain {
                arg
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_the_program_and_quotes_what_needs_it() {
        let args = [
            "/var/cache/t/release/codeexec-loadtest",
            "--label",
            "busy machine",
            "--step-secs",
            "5",
        ];
        assert_eq!(
            command_line(args.map(String::from)),
            "codeexec-loadtest --label 'busy machine' --step-secs 5"
        );
    }

    #[test]
    fn counts_must_be_given_and_above_zero() {
        assert_eq!(check_counts("--concurrency", &[1, 16, 4]), Ok(16));
        assert!(check_counts("--concurrency", &[]).is_err());
        assert!(check_counts("--concurrency", &[0, 2]).is_err());
    }
}
