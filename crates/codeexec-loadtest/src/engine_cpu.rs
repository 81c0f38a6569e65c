//! The Docker engine's CPU per job (`docs/engine-cpu.md`): what dockerd, containerd, the shims
//! and runc spend for each job a service runs, its pool's replacement container included.
//!
//! The engine's processes are put in a cgroup of their own (`scripts/engine-cpu` does it; the
//! shims and runc they start inherit it, while each container's own processes go to the
//! container's cgroup), so its CPU counter is the engine's alone. Two services run side by side
//! on the engine, one with the direct channel and one with the attach stream; each is given the
//! same sequential jobs in turn, a round at a time, and every round's CPU is read from the
//! counter once the service is idle again with its pool full, less what the engine used idle
//! over as long.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::client::{ExecuteBody, ServiceClient};
use super::machine::Machine;
use super::report::machine_table;
use super::runner;
use super::stats::median;
use super::workload::hello_world_body;

/// The one command that reproduces the report.
pub const REPRODUCE: &str = "scripts/engine-cpu";

/// How long the engine's idle use is read at the start.
const IDLE_WINDOW: Duration = Duration::from_secs(5);
/// Time given to removals in the background after a round, before the counter is read.
const SETTLE_AFTER_ROUND: Duration = Duration::from_secs(2);

/// What `codeexec-loadtest engine-cpu` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineCpuOptions {
    /// The service whose jobs use the direct channel.
    #[arg(long)]
    pub channel_url: String,
    /// The service whose jobs use the attach stream (`docker.channel_dir = ""`).
    #[arg(long)]
    pub attach_url: String,
    /// The engine's cgroup: a cgroup v1 cpuacct directory (`cpuacct.usage`) or a cgroup v2
    /// directory (`cpu.stat`).
    #[arg(long)]
    pub cgroup: PathBuf,
    /// The language of the jobs, a hello world each.
    #[arg(long, default_value = "python")]
    pub language: String,
    /// Jobs per round, one after another.
    #[arg(long, default_value_t = 50)]
    pub jobs: usize,
    /// Rounds per service, alternating between the two.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Longest wait, in seconds, for a service to be idle with its pool full.
    #[arg(long, default_value_t = 300)]
    pub settle_secs: u64,
    /// The report.
    #[arg(long, default_value = "docs/engine-cpu.md")]
    pub out: PathBuf,
}

/// The engine's CPU time so far, in milliseconds.
fn engine_cpu_ms(cgroup: &Path) -> Result<f64, String> {
    let v1 = cgroup.join("cpuacct.usage");
    if let Ok(text) = std::fs::read_to_string(&v1) {
        let ns: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("{} holds {text:?}", v1.display()))?;
        return Ok(ns / 1e6);
    }
    let v2 = cgroup.join("cpu.stat");
    let text = std::fs::read_to_string(&v2).map_err(|error| {
        format!(
            "cannot read the engine's CPU from {} or {}: {error}; scripts/engine-cpu makes the cgroup",
            v1.display(),
            v2.display()
        )
    })?;
    text.lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|usec| usec.trim().parse::<f64>().ok())
        .map(|usec| usec / 1e3)
        .ok_or_else(|| format!("{} has no usage_usec", v2.display()))
}

/// One service's rounds: engine CPU per job, and the jobs' median time end to end.
#[derive(Debug, Default)]
struct Side {
    cpu_ms_per_job: Vec<f64>,
    job_ms: Vec<f64>,
}

/// Runs `jobs` hello worlds one after another and returns the engine's CPU per job (less
/// `idle_ms_per_sec` over the round's duration) once the service is idle again.
async fn round(
    client: &ServiceClient,
    options: &EngineCpuOptions,
    body: &ExecuteBody,
    idle_ms_per_sec: f64,
    side: &mut Side,
) -> Result<(), String> {
    let settle = Duration::from_secs(options.settle_secs);
    runner::wait_until_idle(client, settle).await?;
    tokio::time::sleep(SETTLE_AFTER_ROUND).await;
    let (before, started) = (engine_cpu_ms(&options.cgroup)?, Instant::now());
    for _ in 0..options.jobs {
        let sent = Instant::now();
        let reply = client.execute(body).await?;
        let ran = reply
            .answer
            .result
            .as_ref()
            .is_some_and(|result| result.run_time_status == "succeeded");
        if reply.status != 200 || !ran {
            return Err(format!(
                "{} answered {} to a hello world: {:?}",
                client.url(),
                reply.status,
                reply.answer.error_message
            ));
        }
        side.job_ms.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    runner::wait_until_idle(client, settle).await?;
    tokio::time::sleep(SETTLE_AFTER_ROUND).await;
    let used = engine_cpu_ms(&options.cgroup)? - before;
    let idle = idle_ms_per_sec * started.elapsed().as_secs_f64();
    side.cpu_ms_per_job
        .push((used - idle).max(0.0) / options.jobs as f64);
    Ok(())
}

/// Measures both services and writes the report.
pub async fn measure(
    options: &EngineCpuOptions,
    machine: Machine,
    command: String,
) -> Result<(), String> {
    let channel = ServiceClient::new(&options.channel_url)?;
    let attach = ServiceClient::new(&options.attach_url)?;
    let settle = Duration::from_secs(options.settle_secs);
    runner::wait_until_idle(&channel, settle).await?;
    runner::wait_until_idle(&attach, settle).await?;
    let idle_before = engine_cpu_ms(&options.cgroup)?;
    tokio::time::sleep(IDLE_WINDOW).await;
    let idle_ms_per_sec =
        (engine_cpu_ms(&options.cgroup)? - idle_before) / IDLE_WINDOW.as_secs_f64();
    let body = hello_world_body(&options.language)
        .ok_or_else(|| format!("no hello world for {:?}", options.language))?;
    let (mut with_channel, mut with_attach) = (Side::default(), Side::default());
    for number in 1..=options.rounds {
        eprintln!(
            "[engine-cpu] round {number} of {}: {} jobs on each service",
            options.rounds, options.jobs
        );
        round(&attach, options, &body, idle_ms_per_sec, &mut with_attach).await?;
        round(&channel, options, &body, idle_ms_per_sec, &mut with_channel).await?;
    }
    let report = report(
        options,
        &machine,
        &command,
        idle_ms_per_sec,
        &with_attach,
        &with_channel,
    );
    std::fs::write(&options.out, report)
        .map_err(|error| format!("cannot write {}: {error}", options.out.display()))?;
    eprintln!("[engine-cpu] wrote {}", options.out.display());
    Ok(())
}

fn report(
    options: &EngineCpuOptions,
    machine: &Machine,
    command: &str,
    idle_ms_per_sec: f64,
    attach: &Side,
    channel: &Side,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The Docker engine's CPU per job\n\n\
         Generated by `{REPRODUCE}` (`{command}`). Two services ran side by side on one engine, \
         one with the direct channel and one with the attach stream (`docker.channel_dir = \"\"`), \
         each with a {language} pool. Each round sent {jobs} {language} hello worlds one after \
         another to one service, then to the other; {rounds} rounds each. The engine's processes \
         (dockerd, containerd, the shims and runc) were in a cgroup of their own, whose CPU \
         counter was read before a round and again once the service was idle with its pool \
         full, less the engine's idle use over as long ({idle:.2} ms of CPU per second, read \
         over {window} s before the first round). A job's share includes its pool's \
         replacement container: create, start, connect or attach, and remove.\n",
        language = options.language,
        jobs = options.jobs,
        rounds = options.rounds,
        idle = idle_ms_per_sec,
        window = IDLE_WINDOW.as_secs(),
    );
    machine_table(&mut out, machine, &[]);
    let _ = writeln!(
        out,
        "| | engine CPU per job, median of rounds | rounds | job end to end, median |\n|---|---:|---|---:|"
    );
    for (name, side) in [
        ("attach stream (before)", attach),
        ("direct channel (after)", channel),
    ] {
        let rounds = side
            .cpu_ms_per_job
            .iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "| {name} | {:.1} ms | {rounds} | {:.1} ms |",
            median(side.cpu_ms_per_job.iter().copied()).unwrap_or(0.0),
            median(side.job_ms.iter().copied()).unwrap_or(0.0)
        );
    }
    let of = |side: &Side| median(side.cpu_ms_per_job.iter().copied()).unwrap_or(0.0);
    let (before, after) = (of(attach), of(channel));
    if before > 0.0 {
        let _ = writeln!(
            out,
            "\nWith the direct channel the engine spends {:.2}× the CPU per job it spends with \
             the attach stream.",
            after / before
        );
    }
    out
}
