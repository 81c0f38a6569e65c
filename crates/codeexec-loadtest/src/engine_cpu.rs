//! The Docker engine's CPU per job (`docs/engine-cpu.md`): what dockerd, containerd, the shims
//! and runc spend for each job a service runs, its pool's replacement container included.
//!
//! The engine's processes are put in a cgroup of their own (`scripts/engine-cpu` does it; the
//! shims and runc they start inherit it, while each container's own processes go to the
//! container's cgroup), so its CPU counter is the engine's alone. Two services run side by side
//! on the engine, one with the direct channel and one with the attach stream; each is given the
//! same sequential jobs in turn, a round at a time, and every round's CPU is read from the
//! counter once the service is idle again with its pool full, less what the engine used idle
//! over as long. The engine's two daemons, dockerd and containerd, are read apart from their
//! own counters in /proc; the rest of the cgroup's CPU is the per-container part: the shims and
//! the runc commands they run.
//!
//! The run's numbers are saved beside the load report's (`docs/benchmarks/engine-cpu.json`), and
//! both this report and `docs/benchmarks.md` are rendered from them.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::client::{ExecuteBody, ServiceClient};
use super::machine::Machine;
use super::report::machine_table;
use super::runner;
use super::stats::median;
use super::workload::hello_world_body;

/// The one command that reproduces the report.
pub const REPRODUCE: &str = "scripts/engine-cpu";
/// The run's numbers' file name, in the load report's companion folder (`docs/benchmarks`).
pub const RAW_NAME: &str = "engine-cpu.json";

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
    /// The run's numbers, from which this report and the load report's section on the engine
    /// (`docs/benchmarks.md`, rendered again with `codeexec-loadtest --from-raw`) are written.
    #[arg(long, default_value = "docs/benchmarks/engine-cpu.json")]
    pub raw_out: PathBuf,
}

/// The CPU time so far of every process in `cgroup`, in milliseconds: a cgroup v1 cpuacct
/// directory (`cpuacct.usage`) or a cgroup v2 directory (`cpu.stat`).
pub(crate) fn cgroup_cpu_ms(cgroup: &Path) -> Result<f64, String> {
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
            "cannot read a cgroup's CPU from {} or {}: {error} (scripts/engine-cpu and \
             scripts/fast-path make the engine's)",
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

/// The CPU time so far, in milliseconds, of every process named `name` (`comm`).
fn daemon_cpu_ms(name: &str) -> Result<f64, String> {
    let processes = procfs::process::all_processes()
        .map_err(|error| format!("cannot list the processes: {error}"))?;
    let ticks: u64 = processes
        .filter_map(|process| process.ok()?.stat().ok())
        .filter(|stat| stat.comm == name)
        .map(|stat| stat.utime + stat.stime)
        .sum();
    if ticks == 0 {
        return Err(format!(
            "no {name} process has used any CPU: is the engine running here?"
        ));
    }
    Ok(ticks as f64 * 1e3 / procfs::ticks_per_second() as f64)
}

/// The engine's CPU time in milliseconds: all of it (its cgroup) and its two daemons'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineCpu {
    pub total: f64,
    pub dockerd: f64,
    pub containerd: f64,
}

impl EngineCpu {
    fn read(cgroup: &Path) -> Result<EngineCpu, String> {
        Ok(EngineCpu {
            total: cgroup_cpu_ms(cgroup)?,
            dockerd: daemon_cpu_ms("dockerd")?,
            containerd: daemon_cpu_ms("containerd")?,
        })
    }

    /// The containers' own part of the engine: the shims and the runc commands they run.
    pub fn shims_and_runc(&self) -> f64 {
        self.total - self.dockerd - self.containerd
    }

    /// `self - other * other_scale`, each part at least 0, divided by `per`.
    fn less(self, other: EngineCpu, other_scale: f64, per: f64) -> EngineCpu {
        let part = |mine: f64, theirs: f64| (mine - theirs * other_scale).max(0.0) / per;
        EngineCpu {
            total: part(self.total, other.total),
            dockerd: part(self.dockerd, other.dockerd),
            containerd: part(self.containerd, other.containerd),
        }
    }
}

/// Everything one `engine-cpu` run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineCpuRecord {
    /// When the run ended, RFC 3339.
    pub date: String,
    /// The command line of the run.
    pub command: String,
    pub machine: Machine,
    /// The language of the hello worlds.
    pub language: String,
    /// Jobs per round, one after another.
    pub jobs: usize,
    /// Rounds per service.
    pub rounds: usize,
    /// The engine's CPU use while both services were idle, per second.
    pub idle_per_sec: EngineCpu,
    /// The service whose jobs used the attach stream (before).
    pub attach: Side,
    /// The service whose jobs used the direct channel (after).
    pub channel: Side,
}

impl EngineCpuRecord {
    /// The run saved at `path`, if there is one; an unreadable one is an error.
    pub fn read_if_present(path: &Path) -> Result<Option<EngineCpuRecord>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|error| format!("{} is not an engine-cpu run: {error}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("cannot read {}: {error}", path.display())),
        }
    }
}

/// One service's rounds: engine CPU per job in each, and every job's time end to end.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    pub cpu_ms_per_job: Vec<EngineCpu>,
    pub job_ms: Vec<f64>,
}

impl Side {
    /// The median over the rounds of one part of the engine's CPU per job.
    pub fn median_of(&self, part: impl Fn(&EngineCpu) -> f64) -> f64 {
        median(self.cpu_ms_per_job.iter().map(part)).unwrap_or(0.0)
    }
}

/// Runs `jobs` hello worlds one after another and returns the engine's CPU per job (less
/// `idle_per_sec` over the round's duration) once the service is idle again.
async fn round(
    client: &ServiceClient,
    options: &EngineCpuOptions,
    body: &ExecuteBody,
    idle_per_sec: EngineCpu,
    side: &mut Side,
) -> Result<(), String> {
    let settle = Duration::from_secs(options.settle_secs);
    runner::wait_until_idle(client, settle).await?;
    tokio::time::sleep(SETTLE_AFTER_ROUND).await;
    let (before, started) = (EngineCpu::read(&options.cgroup)?, Instant::now());
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
    let used = EngineCpu::read(&options.cgroup)?.less(before, 1.0, 1.0);
    let idle_secs = started.elapsed().as_secs_f64();
    side.cpu_ms_per_job
        .push(used.less(idle_per_sec, idle_secs, options.jobs as f64));
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
    let idle_before = EngineCpu::read(&options.cgroup)?;
    tokio::time::sleep(IDLE_WINDOW).await;
    let idle_per_sec =
        EngineCpu::read(&options.cgroup)?.less(idle_before, 1.0, IDLE_WINDOW.as_secs_f64());
    let body = hello_world_body(&options.language)
        .ok_or_else(|| format!("no hello world for {:?}", options.language))?;
    let (mut with_channel, mut with_attach) = (Side::default(), Side::default());
    for number in 1..=options.rounds {
        eprintln!(
            "[engine-cpu] round {number} of {}: {} jobs on each service",
            options.rounds, options.jobs
        );
        round(&attach, options, &body, idle_per_sec, &mut with_attach).await?;
        round(&channel, options, &body, idle_per_sec, &mut with_channel).await?;
    }
    let record = EngineCpuRecord {
        date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        command,
        machine,
        language: options.language.clone(),
        jobs: options.jobs,
        rounds: options.rounds,
        idle_per_sec,
        attach: with_attach,
        channel: with_channel,
    };
    let save = |path: &Path, text: String| {
        if let Some(folder) = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
        {
            std::fs::create_dir_all(folder)
                .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        }
        std::fs::write(path, text)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    };
    let raw = serde_json::to_string_pretty(&record).expect("the record serializes");
    save(&options.raw_out, raw)?;
    save(&options.out, report(&record))?;
    eprintln!(
        "[engine-cpu] wrote {} and its numbers in {}; `codeexec-loadtest --from-raw \
         docs/benchmarks/raw.json` shows them in docs/benchmarks.md",
        options.out.display(),
        options.raw_out.display()
    );
    Ok(())
}

/// The two services' medians in a sentence: before, after, their ratio, and after's parts.
pub fn summary(record: &EngineCpuRecord) -> String {
    let (before, after) = (
        record.attach.median_of(|cpu| cpu.total),
        record.channel.median_of(|cpu| cpu.total),
    );
    let ratio = if before > 0.0 {
        format!(", {:.2}×", after / before)
    } else {
        String::new()
    };
    format!(
        "{before:.1} ms per job with the attach stream (before) and {after:.1} ms with the direct \
         channel (after){ratio}. Of the direct channel's, dockerd used {:.1} ms, containerd \
         {:.1} ms, and the per-container shim with the runc commands it runs {:.1} ms (medians \
         of {} rounds of {} {} hello worlds each).",
        record.channel.median_of(|cpu| cpu.dockerd),
        record.channel.median_of(|cpu| cpu.containerd),
        record.channel.median_of(EngineCpu::shims_and_runc),
        record.rounds,
        record.jobs,
        record.language,
    )
}

fn report(record: &EngineCpuRecord) -> String {
    let (attach, channel) = (&record.attach, &record.channel);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The Docker engine's CPU per job\n\n\
         Generated by `{REPRODUCE}` (`{command}`) on {date}. Two services ran side by side on one engine, \
         one with the direct channel and one with the attach stream (`docker.channel_dir = \"\"`), \
         each with a {language} pool. Each round sent {jobs} {language} hello worlds one after \
         another to one service, then to the other; {rounds} rounds each. The engine's processes \
         (dockerd, containerd, the shims and runc) were in a cgroup of their own, whose CPU \
         counter was read before a round and again once the service was idle with its pool \
         full, less the engine's idle use over as long ({idle:.2} ms of CPU per second, read \
         over {window} s before the first round). A job's share includes its pool's \
         replacement container: create, start, connect or attach, and remove. dockerd's and \
         containerd's shares are read from their own counters in /proc; the rest is the shims' \
         and the runc commands they run, one shim per container. Each column is the median of \
         its rounds.\n",
        command = record.command,
        date = record.date,
        language = record.language,
        jobs = record.jobs,
        rounds = record.rounds,
        idle = record.idle_per_sec.total,
        window = IDLE_WINDOW.as_secs(),
    );
    machine_table(&mut out, &record.machine, &[]);
    let _ = writeln!(
        out,
        "| | engine CPU per job | dockerd | containerd | shims and runc | rounds (engine CPU per job) \
         | job end to end |\n|---|---:|---:|---:|---:|---|---:|"
    );
    for (name, side) in [
        ("attach stream (before)", attach),
        ("direct channel (after)", channel),
    ] {
        let rounds = side
            .cpu_ms_per_job
            .iter()
            .map(|cpu| format!("{:.1}", cpu.total))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {rounds} | {:.1} ms |",
            side.median_of(|cpu| cpu.total),
            side.median_of(|cpu| cpu.dockerd),
            side.median_of(|cpu| cpu.containerd),
            side.median_of(EngineCpu::shims_and_runc),
            median(side.job_ms.iter().copied()).unwrap_or(0.0)
        );
    }
    let (before, after) = (
        attach.median_of(|cpu| cpu.total),
        channel.median_of(|cpu| cpu.total),
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rounds_share_is_what_it_added_less_idle_use_per_job() {
        let before = EngineCpu {
            total: 1000.0,
            dockerd: 400.0,
            containerd: 200.0,
        };
        let after = EngineCpu {
            total: 3000.0,
            dockerd: 1000.0,
            containerd: 600.0,
        };
        let used = after.less(before, 1.0, 1.0);
        let idle_per_sec = EngineCpu {
            total: 2.0,
            dockerd: 1.0,
            containerd: 0.5,
        };
        // 10 s of idle use taken off, over 20 jobs.
        let per_job = used.less(idle_per_sec, 10.0, 20.0);
        assert_eq!(
            per_job,
            EngineCpu {
                total: 99.0,
                dockerd: 29.5,
                containerd: 19.75,
            }
        );
        assert_eq!(per_job.shims_and_runc(), 49.75);
        // A part never goes below nothing, whatever the idle estimate.
        assert_eq!(per_job.less(idle_per_sec, 1000.0, 1.0).total, 0.0);
    }

    #[test]
    fn a_daemons_cpu_is_read_by_its_name() {
        let name = procfs::process::Process::myself()
            .unwrap()
            .stat()
            .unwrap()
            .comm;
        let busy_until = Instant::now() + Duration::from_millis(50);
        let mut spins = 0u64;
        while Instant::now() < busy_until {
            spins = std::hint::black_box(spins + 1);
        }
        assert!(daemon_cpu_ms(&name).unwrap() > 0.0);
        assert!(daemon_cpu_ms("no-such-daemon").is_err());
    }
}
