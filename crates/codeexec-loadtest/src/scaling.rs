//! The scaling report of a cluster (`docs/scaling.md`): one mixed-load step through the load
//! balancer with 1 node behind it, then with more (each node and its containers on a CPU of their
//! own, as `scripts/cluster-scaling` brings them up), and each run's jobs per second beside the
//! 1-node run's. Each `codeexec-loadtest scaling` call measures one row, adds it to the raw
//! record (replacing a row with the same node count) and writes the report from every row.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::ServiceClient;
use super::machine::Machine;
use super::record::StepRecord;
use super::report::{machine_table, ms, shares};
use super::runner::{self, StepTimes};
use super::stats::step_stats;
use super::workload::Workload;

/// The one command that reproduces the report.
pub const REPRODUCE: &str = "scripts/cluster-scaling";

/// What `codeexec-loadtest scaling` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ScalingOptions {
    /// The load balancer in front of the nodes.
    #[arg(long)]
    pub url: String,
    /// How many nodes are behind it for this row.
    #[arg(long)]
    pub nodes: usize,
    /// Where the nodes and their containers run, shown in the row (e.g. "CPU 0, CPU 1").
    #[arg(long, default_value = "not pinned")]
    pub pinning: String,
    /// Concurrent clients; the same for every row, so that rows compare.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 60)]
    pub step_secs: u64,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 10)]
    pub warmup_secs: u64,
    /// Languages of the mixed workload, each sent equally often; by default every language the
    /// service runs (`GET /api/v1/languages`).
    #[arg(long, value_delimiter = ',')]
    pub languages: Vec<String>,
    /// Longest wait, in seconds, for the nodes' pools to be full before the step.
    #[arg(long, default_value_t = 600)]
    pub settle_secs: u64,
    /// The rows measured so far, as JSON; this row is added to it (created when missing).
    #[arg(long, default_value = "docs/scaling/raw.json")]
    pub record: PathBuf,
    /// The report, written again from every row of --record.
    #[arg(long, default_value = "docs/scaling.md")]
    pub out: PathBuf,
    /// A note shown at the top of the report, e.g. that the machine was busy.
    #[arg(long)]
    pub label: Option<String>,
}

/// Every row measured, in the order of their node counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScalingRecord {
    pub label: Option<String>,
    pub rows: Vec<ScalingRow>,
}

/// One step through the load balancer with `nodes` nodes behind it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScalingRow {
    pub nodes: usize,
    pub pinning: String,
    pub date: String,
    pub command: String,
    pub url: String,
    pub machine: Machine,
    pub step: StepRecord,
}

/// Measures one row against `options.url` and writes the record and the report.
pub async fn measure_row(
    options: &ScalingOptions,
    machine: Machine,
    command: String,
) -> Result<(), String> {
    if options.nodes == 0 || options.concurrency == 0 {
        return Err("--nodes and --concurrency must be above zero".into());
    }
    let mut record = read_record(&options.record)?;
    let client = ServiceClient::new(&options.url)?;
    let workload = Workload::named_or_offered(&options.languages, &client).await?;
    eprintln!(
        "waiting for the nodes behind {} to be idle with full pools",
        options.url
    );
    runner::wait_until_idle(&client, Duration::from_secs(options.settle_secs)).await?;
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let times = StepTimes {
        warmup: Duration::from_secs(options.warmup_secs),
        window: Duration::from_secs(options.step_secs),
    };
    let title = format!(
        "{} node(s), mixed, {} client(s)",
        options.nodes, options.concurrency
    );
    let step = runner::run_step(&client, &workload, options.concurrency, times, &title).await;
    record.label = options.label.clone().or(record.label);
    record.rows.retain(|row| row.nodes != options.nodes);
    record.rows.push(ScalingRow {
        nodes: options.nodes,
        pinning: options.pinning.clone(),
        date,
        command,
        url: options.url.clone(),
        machine,
        step,
    });
    record.rows.sort_by_key(|row| row.nodes);
    write_record(&options.record, &record)?;
    let raw_link = relative_link(&options.out, &options.record);
    let report = render(&record, &raw_link);
    std::fs::write(&options.out, report)
        .map_err(|error| format!("cannot write {}: {error}", options.out.display()))?;
    for row in ratios(&record) {
        println!(
            "{} node(s): {:.2} jobs/s{}",
            row.nodes,
            row.jobs_per_sec,
            row.ratio
                .map_or(String::new(), |ratio| format!(", {ratio:.2}x one node"))
        );
    }
    eprintln!("wrote {}", options.out.display());
    Ok(())
}

fn read_record(path: &Path) -> Result<ScalingRecord, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|error| {
            format!(
                "{} is not a scaling record: {error}; remove it to start afresh",
                path.display()
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(ScalingRecord::default()),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

fn write_record(path: &Path, record: &ScalingRecord) -> Result<(), String> {
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder)
            .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    }
    let text = serde_json::to_string_pretty(record).expect("the record serializes");
    std::fs::write(path, text).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// `record` as a link from the folder of `report`: relative when both share a folder tree.
fn relative_link(report: &Path, record: &Path) -> String {
    let folder = report.parent().unwrap_or(Path::new(""));
    record
        .strip_prefix(folder)
        .unwrap_or(record)
        .display()
        .to_string()
}

/// A row's throughput and its ratio to the 1-node row's.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRate {
    pub nodes: usize,
    pub jobs_per_sec: f64,
    /// `None` without a 1-node row, or when it finished no job.
    pub ratio: Option<f64>,
}

pub fn ratios(record: &ScalingRecord) -> Vec<RowRate> {
    let rate = |row: &ScalingRow| step_stats(&row.step).overall.jobs_per_sec;
    let one = record
        .rows
        .iter()
        .find(|row| row.nodes == 1)
        .map(rate)
        .filter(|rate| *rate > 0.0);
    record
        .rows
        .iter()
        .map(|row| RowRate {
            nodes: row.nodes,
            jobs_per_sec: rate(row),
            ratio: one.map(|one| rate(row) / one),
        })
        .collect()
}

/// Renders the report from every row.
pub fn render(record: &ScalingRecord, raw_link: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Scaling: nodes behind a load balancer\n");
    if let Some(label) = &record.label {
        let _ = writeln!(out, "> **{label}**\n");
    }
    let Some(first) = record.rows.first() else {
        let _ = writeln!(out, "No row measured yet.");
        return out;
    };
    let languages = first.step.languages.join(", ");
    let _ = writeln!(
        out,
        "Written by `codeexec-loadtest scaling`, one row per run. To reproduce, run \
         `{REPRODUCE}`: it brings up a cluster of 1 node with `scripts/cluster`, measures, \
         stops it, then does the same with 2 nodes. Each node runs pinned to a CPU of its own \
         (`taskset`), and so do its containers (`docker.cpuset_cpus`). The raw numbers: \
         [`{raw_link}`]({raw_link}).\n"
    );
    let _ = writeln!(
        out,
        "Every row is the same load through HAProxy: a closed loop of {} clients, each sending \
         hello world in one of {languages} after another (each language equally often), {:.0} s \
         of warm-up, then {:.0} s measured. Jobs/s counts the jobs that ran (HTTP 200 with a \
         result) and finished within the measured time; latency is the client's, over those \
         jobs.\n",
        first.step.concurrency, first.step.warmup_secs, first.step.window_secs
    );
    let _ = writeln!(
        out,
        "What the nodes share on one machine, as `scripts/cluster` runs them: one Docker engine \
         (dockerd, containerd and the container shims are not pinned), HAProxy, Redis, the \
         database and the load client, all on the same cores as the nodes. In production each \
         node has its own machine and engine, so this ratio is a lower bound of what a second \
         machine brings.\n"
    );
    let _ = writeln!(out, "## Machine\n");
    machine_table(&mut out, &first.machine, &[]);
    let _ = writeln!(out, "## Throughput\n");
    let _ = writeln!(
        out,
        "| nodes | where | measured at | requests | jobs/s | vs 1 node | p50 | p95 | statuses |"
    );
    let _ = writeln!(out, "|---:|---|---|---:|---:|---:|---:|---:|---|");
    for (row, rate) in record.rows.iter().zip(ratios(record)) {
        let stats = step_stats(&row.step);
        let overall = &stats.overall;
        let (p50, p95) = overall.latency.map_or(("-".into(), "-".into()), |latency| {
            (ms(latency.p50), ms(latency.p95))
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {} | {p50} | {p95} | {} |",
            row.nodes,
            row.pinning,
            row.date,
            overall.requests,
            overall.jobs_per_sec,
            rate.ratio
                .map_or("-".to_string(), |ratio| format!("{ratio:.2}x")),
            shares(&overall.outcomes)
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::tests::finished;

    fn row(nodes: usize, jobs: usize) -> ScalingRow {
        let samples = (0..jobs)
            .map(|n| {
                let mut sample = finished("python", 50.0, 1.0, 20.0, 30.0);
                sample.sent_secs = 1.0 + n as f64 * 0.01;
                sample.finished_secs = 1.5 + n as f64 * 0.01;
                sample
            })
            .collect();
        ScalingRow {
            nodes,
            pinning: format!("CPU 0..{nodes}"),
            date: "2026-11-30T11:00:00Z".into(),
            command: "codeexec-loadtest scaling".into(),
            url: "http://127.0.0.1:1".into(),
            machine: Machine::default(),
            step: StepRecord {
                concurrency: 4,
                languages: vec!["python".into()],
                warmup_secs: 1.0,
                window_secs: 10.0,
                samples,
            },
        }
    }

    #[test]
    fn each_row_is_compared_with_the_one_node_row() {
        let record = ScalingRecord {
            label: None,
            rows: vec![row(1, 40), row(2, 70)],
        };
        let rates = ratios(&record);
        assert_eq!(rates[0].jobs_per_sec, 4.0);
        assert_eq!(rates[1].jobs_per_sec, 7.0);
        assert_eq!(rates[1].ratio, Some(1.75));
        let report = render(&record, "scaling/raw.json");
        assert!(report.contains("| 2 | CPU 0..2 |"), "{report}");
        assert!(report.contains("| 7.00 | 1.75x |"), "{report}");
    }

    #[test]
    fn without_a_one_node_row_there_is_no_ratio() {
        let record = ScalingRecord {
            label: None,
            rows: vec![row(2, 70)],
        };
        assert_eq!(ratios(&record)[0].ratio, None);
        assert!(render(&record, "raw.json").contains("| 7.00 | - |"));
    }
}
