//! The report of a load run, `docs/benchmarks.md`: the machine, the targets and whether they were
//! met (with why, from the breakdown), latency and throughput per language and concurrency, where
//! the time went, the container ceiling and the cold path. Rendered from the raw record alone,
//! and from the latest `scripts/engine-cpu` run's numbers where they are saved beside it.

use std::fmt::Write;

use super::engine_cpu::{self, EngineCpuRecord};
use super::machine::Machine;
use super::record::RunRecord;
use super::stats::{percentiles, step_stats, Breakdown, LanguageStats, StepStats};
use super::targets::{self, format_value, Target};

/// The one command that reproduces a report, as documented in the README.
pub const REPRODUCE: &str = "scripts/loadtest";

/// Where the report's companions are, relative to the report itself.
pub struct Links<'a> {
    pub chart: &'a str,
    pub raw: &'a str,
    /// The engine's CPU report (`scripts/engine-cpu`).
    pub engine_cpu: &'a str,
}

/// Renders `run` as Markdown, with `engine_cpu`, a separate run's, in a section of its own.
pub fn render(run: &RunRecord, links: &Links, engine_cpu: Option<&EngineCpuRecord>) -> String {
    let sweep: Vec<StepStats> = run.sweep.iter().map(step_stats).collect();
    let saturation = step_stats(&run.saturation);
    let low = sweep.iter().min_by_key(|step| step.concurrency);
    let high = sweep.iter().max_by_key(|step| step.concurrency);
    let targets = targets::evaluate(run, low, &saturation);
    let mut out = String::new();
    header(&mut out, run, links);
    machine(&mut out, run);
    targets_section(&mut out, run, &targets, low, &saturation);
    sweep_section(&mut out, &sweep, links);
    breakdown_section(&mut out, low, high);
    ceiling_section(&mut out, run, &saturation);
    engine_cpu_section(&mut out, run, engine_cpu, links.engine_cpu);
    out
}

fn header(out: &mut String, run: &RunRecord, links: &Links) {
    let _ = writeln!(out, "# Benchmarks\n");
    if let Some(label) = &run.label {
        let _ = writeln!(out, "> **{label}**\n");
    }
    let _ = writeln!(
        out,
        "Written by `codeexec-loadtest` on {} against the service at {}. To reproduce on your \
         machine, run `{REPRODUCE}` (it builds the release binaries and the images, starts a \
         service, runs the load and stops the service). This run's command: `{}`. The raw \
         numbers behind every figure: [`{}`]({}).\n",
        run.date, run.service_url, run.command, links.raw, links.raw
    );
    let (warmup, window) = run
        .sweep
        .first()
        .map_or((0.0, 0.0), |step| (step.warmup_secs, step.window_secs));
    let _ = writeln!(
        out,
        "The workload is hello world in each of {} (each sent equally often), from a closed \
         loop of clients that each send one request after another: {warmup:.0} s of warm-up, \
         then {window:.0} s measured per step. Latency is the client's, from sending the \
         request to reading the whole answer, over the jobs that ran (HTTP 200 with a result) \
         among the requests sent in the measured time; refused requests count in the statuses \
         and request rates only. Rates count the answers that came within the measured time.\n",
        run.sweep
            .first()
            .map_or(String::new(), |step| step.languages.join(", "))
    );
}

fn machine(out: &mut String, run: &RunRecord) {
    let _ = writeln!(out, "## Machine\n");
    let service = format!("`docker.max_parallel_starts` = {}", run.max_parallel_starts);
    machine_table(out, &run.machine, &[("service", service)]);
}

/// The machine as a two-column table, with `extra` rows after its own.
/// A language's name as a table row shows it; the row of every language together in bold.
pub(crate) fn row_name(language: &str) -> String {
    if language == "all" {
        "**all**".to_string()
    } else {
        language.to_string()
    }
}

pub(crate) fn machine_table(out: &mut String, machine: &Machine, extra: &[(&str, String)]) {
    let _ = writeln!(out, "| | |\n|---|---|");
    let rows = [
        ("CPU", machine.cpu_model.clone()),
        ("cores (nproc)", machine.cpus.to_string()),
        ("memory", format!("{:.1} GiB", machine.memory_gib)),
        ("kernel", machine.kernel.clone()),
        ("Docker engine", machine.docker.clone()),
        ("OCI runtime", machine.docker_runtime.clone()),
        ("cgroup", machine.cgroup.clone()),
    ];
    let extra = extra.iter().map(|(name, value)| (*name, value.clone()));
    for (name, value) in rows.into_iter().chain(extra) {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    out.push('\n');
}

fn targets_section(
    out: &mut String,
    run: &RunRecord,
    targets: &[Target],
    low: Option<&StepStats>,
    saturation: &StepStats,
) {
    let _ = writeln!(out, "## Targets\n");
    let _ = writeln!(out, "| target | verdict |\n|---|---|");
    for target in targets {
        let _ = writeln!(out, "| {} | {} |", target.name, target.describe());
    }
    out.push('\n');
    let reference = &run.cold.language;
    let low_reference = low.and_then(|step| Some((step.concurrency, step.language(reference)?)));
    if let Some((concurrency, stats)) = low_reference {
        warm_over_cold_why(out, run, concurrency, stats);
    }
    saturation_why(out, run, saturation);
    if let Some(step) = low {
        overhead_why(out, step);
    }
}

fn warm_over_cold_why(out: &mut String, run: &RunRecord, concurrency: usize, warm: &LanguageStats) {
    let cold = percentiles(run.cold.latencies_ms.iter().copied());
    let (Some(latency), Some(parts), Some(cold)) = (warm.latency, warm.breakdown, cold) else {
        return;
    };
    let _ = writeln!(
        out,
        "- **Warm against cold.** {} warm through HTTP at {concurrency} client(s): p50 {}; of a \
         median job the program's run stage took {}, the service {} (of which the exchange with \
         the container beyond the program's stages {}), HTTP and JSON {}. The cold path (no \
         HTTP, one container created, started, given the job and removed per job, {} jobs): \
         p50 {}. The difference is the container's creation, start and removal, which the pool \
         takes off the job's path.",
        warm.language,
        ms(latency.p50),
        ms(parts.run),
        ms(parts.overhead),
        optional_ms(parts.beyond_stages),
        ms(parts.http),
        cold.count,
        ms(cold.p50),
    );
}

fn saturation_why(out: &mut String, run: &RunRecord, saturation: &StepStats) {
    let Some(best) = run.ceiling.best() else {
        return;
    };
    let overall = &saturation.overall;
    let at_service_parallelism = run
        .ceiling
        .at(run.max_parallel_starts)
        .map_or("not measured".to_string(), |ceiling| {
            format!("{:.2}/s", ceiling.per_second())
        });
    let waited = overall
        .breakdown
        .map_or("-".to_string(), |parts| ms(parts.queue));
    let service_share = run
        .ceiling
        .at(run.max_parallel_starts)
        .filter(|ceiling| ceiling.per_second() > 0.0)
        .map_or(String::new(), |ceiling| {
            format!(
                ", of which the service reached {:.2}",
                overall.jobs_per_sec / ceiling.per_second()
            )
        });
    let _ = writeln!(
        out,
        "- **Saturation.** {} alone from {} clients: {:.2} jobs/s; the engine's ceiling for the \
         same image and limits is {:.2} containers/s (best with {} at once), and {} with {} at \
         once, the most the service starts in parallel (`docker.max_parallel_starts`){service_share}. \
         Every job \
         uses one container, so at saturation jobs wait for starts: the median wait for a \
         container was {waited}, statuses {}.",
        run.saturation.languages.join(", "),
        saturation.concurrency,
        overall.jobs_per_sec,
        best.per_second(),
        best.parallelism,
        at_service_parallelism,
        run.max_parallel_starts,
        shares(&overall.outcomes),
    );
}

fn overhead_why(out: &mut String, low: &StepStats) {
    let Some(parts) = low.overall.breakdown else {
        return;
    };
    let _ = writeln!(
        out,
        "- **Overhead.** At {} client(s), every language together: the service's median time per \
         job beside the program's own stages is {}: waiting for a container {} (the pool's \
         hand-off {}), and the exchange with the container beyond the stages {} (sending the \
         job, the runner writing the files and starting the processes, reading the result \
         back). HTTP and JSON, outside the service's total, add {}. Per language in the \
         breakdown below.",
        low.concurrency,
        ms(parts.overhead),
        ms(parts.queue),
        optional_ms(parts.acquire),
        optional_ms(parts.beyond_stages),
        ms(parts.http),
    );
    out.push('\n');
}

fn sweep_section(out: &mut String, sweep: &[StepStats], links: &Links) {
    let _ = writeln!(out, "## Latency and throughput by concurrency\n");
    let _ = writeln!(
        out,
        "![p50 and p95 latency against concurrency]({})\n",
        links.chart
    );
    let _ = writeln!(
        out,
        "| clients | language | requests | req/s | jobs/s | p50 ms | p95 ms | p99 ms | statuses |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for step in sweep {
        for language in step.languages.iter().chain([&step.overall]) {
            rate_row(out, step.concurrency, language);
        }
    }
    out.push('\n');
}

fn rate_row(out: &mut String, concurrency: usize, stats: &LanguageStats) {
    let latency = |pick: fn(&super::stats::Percentiles) -> f64| {
        stats
            .latency
            .as_ref()
            .map_or("-".to_string(), |latency| format!("{:.1}", pick(latency)))
    };
    let name = row_name(&stats.language);
    let _ = writeln!(
        out,
        "| {concurrency} | {name} | {} | {:.2} | {:.2} | {} | {} | {} | {} |",
        stats.requests,
        stats.requests_per_sec,
        stats.jobs_per_sec,
        latency(|latency| latency.p50),
        latency(|latency| latency.p95),
        latency(|latency| latency.p99),
        shares(&stats.outcomes),
    );
}

fn breakdown_section(out: &mut String, low: Option<&StepStats>, high: Option<&StepStats>) {
    let _ = writeln!(out, "## Where the time goes\n");
    let _ = writeln!(
        out,
        "Medians in ms over the jobs that ran, each part on its own (so they need not add up). \
         *latency*: the client's; *total*: the service's, from the parsed request to the \
         finished job; *queue*: until a container was in hand; *acquire*: the pool's hand-off \
         or the wait for a fresh container; *compile*, *run*: the program's stages as the \
         runner measured them; *exchange*: the whole exchange with the container; \
         *overhead*: total − compile − run, the service's own time; *beyond stages*: exchange − \
         compile − run; *HTTP*: latency − total.\n"
    );
    let mut steps: Vec<&StepStats> = low.into_iter().chain(high).collect();
    steps.dedup_by_key(|step| step.concurrency);
    for step in steps {
        let _ = writeln!(out, "At {} client(s):\n", step.concurrency);
        let _ = writeln!(
            out,
            "| language | latency | total | queue | acquire | compile | run | exchange | overhead | beyond stages | HTTP |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for language in step.languages.iter().chain([&step.overall]) {
            if let Some(parts) = &language.breakdown {
                breakdown_row(out, &language.language, parts);
            }
        }
        out.push('\n');
    }
}

fn breakdown_row(out: &mut String, language: &str, parts: &Breakdown) {
    let cell = |value: Option<f64>| value.map_or("-".to_string(), |value| format!("{value:.1}"));
    let _ = writeln!(
        out,
        "| {language} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(Some(parts.latency)),
        cell(Some(parts.total)),
        cell(Some(parts.queue)),
        cell(parts.acquire),
        cell(Some(parts.compile)),
        cell(Some(parts.run)),
        cell(parts.exchange),
        cell(Some(parts.overhead)),
        cell(parts.beyond_stages),
        cell(Some(parts.http)),
    );
}

fn ceiling_section(out: &mut String, run: &RunRecord, saturation: &StepStats) {
    let ceiling = &run.ceiling;
    let _ = writeln!(out, "## Container ceiling and saturation\n");
    let _ = writeln!(
        out,
        "Measured before the load and again after it, each time while the service was idle \
         with its pools full (idle pool containers wait for their job and use no CPU), so the engine \
         served nothing else of ours: containers of `{}` created, attached, started and removed \
         with the service's hardening and limits, by loops running side by side. The ceiling is \
         the best rate of all.\n",
        ceiling.image
    );
    let _ = writeln!(
        out,
        "| measured | at once | containers | failed | seconds | per second |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for run in &ceiling.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} | {:.2} |",
            run.when,
            run.parallelism,
            run.containers,
            run.failures,
            run.elapsed_secs,
            run.per_second()
        );
    }
    out.push('\n');
    let cold = percentiles(run.cold.latencies_ms.iter().copied());
    if let Some(cold) = cold {
        let _ = writeln!(
            out,
            "Cold path, {} hello world, one job at a time: {} jobs ({} failed), p50 {}, p95 {}.\n",
            run.cold.language,
            cold.count,
            run.cold.failures,
            ms(cold.p50),
            ms(cold.p95)
        );
    }
    let _ = writeln!(
        out,
        "Saturation, {} alone at {} clients:\n",
        run.saturation.languages.join(", "),
        saturation.concurrency
    );
    let _ = writeln!(
        out,
        "| clients | language | requests | req/s | jobs/s | p50 ms | p95 ms | p99 ms | statuses |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for language in &saturation.languages {
        rate_row(out, saturation.concurrency, language);
    }
    out.push('\n');
}

/// What the Docker engine spends per job, before and after the direct channel: measured by
/// `scripts/engine-cpu` apart from the load, so said with its own date and machine.
fn engine_cpu_section(
    out: &mut String,
    run: &RunRecord,
    engine_cpu: Option<&EngineCpuRecord>,
    link: &str,
) {
    let _ = writeln!(
        out,
        "## The engine's CPU per job
"
    );
    let Some(record) = engine_cpu else {
        let _ = writeln!(
            out,
            "Not measured for this report: `{}` (as root) measures it and saves its numbers \
             beside this report's, where the next report, or this one written again with \
             `--from-raw`, shows them.\n",
            engine_cpu::REPRODUCE
        );
        return;
    };
    let same_machine = record.machine.cpu_model == run.machine.cpu_model
        && record.machine.cpus == run.machine.cpus
        && record.machine.docker == run.machine.docker;
    let machine = if same_machine {
        "on this report's machine".to_string()
    } else {
        format!(
            "on another machine ({}, {} cores, Docker {})",
            record.machine.cpu_model, record.machine.cpus, record.machine.docker
        )
    };
    let _ = writeln!(
        out,
        "Measured by `{}` apart from this load, on {}, {machine} ([its report]({link})): the \
         Docker engine's CPU (dockerd, containerd, the shims and runc) per job, the pool's \
         replacement container included: {}\n",
        engine_cpu::REPRODUCE,
        record.date,
        engine_cpu::summary(record)
    );
}

pub(crate) fn ms(value: f64) -> String {
    format!("{} ms", format_value(value))
}

fn optional_ms(value: Option<f64>) -> String {
    value.map_or("not reported".to_string(), ms)
}

/// "200 succeeded 98.0%, 503 2.0%".
pub(crate) fn shares(outcomes: &[(String, f64)]) -> String {
    if outcomes.is_empty() {
        return "-".to_string();
    }
    outcomes
        .iter()
        .map(|(outcome, share)| format!("{outcome} {:.1}%", share * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;
    use crate::record::{CeilingRecord, CeilingRun, ColdRecord, StepRecord};
    use crate::stats::tests::{finished, refused};

    fn step(concurrency: usize, languages: &[&str], latency: f64) -> StepRecord {
        let samples = languages
            .iter()
            .flat_map(|language| {
                (0..10).map(move |i| finished(language, latency + i as f64, 1.0, 20.0, 24.0))
            })
            .collect();
        StepRecord {
            concurrency,
            languages: languages.iter().map(|name| name.to_string()).collect(),
            warmup_secs: 0.0,
            window_secs: 10.0,
            samples,
        }
    }

    fn run() -> RunRecord {
        let mut saturation = step(16, &["python"], 2000.0);
        saturation.samples.push(refused("python", 503));
        RunRecord {
            date: "2026-11-26T08:00:00Z".into(),
            command: "codeexec-loadtest --step-secs 10".into(),
            label: Some("Preliminary: taken on a busy machine".into()),
            service_url: "http://127.0.0.1:3000".into(),
            machine: Machine {
                cpu_model: "Test CPU".into(),
                cpus: 2,
                memory_gib: 24.0,
                ..Default::default()
            },
            max_parallel_starts: 2,
            ceiling: CeilingRecord {
                language: "python".into(),
                image: "codeexec/python:latest".into(),
                runs: vec![
                    CeilingRun {
                        when: "before".into(),
                        parallelism: 1,
                        containers: 40,
                        failures: 0,
                        elapsed_secs: 10.0,
                    },
                    CeilingRun {
                        when: "after".into(),
                        parallelism: 2,
                        containers: 60,
                        failures: 1,
                        elapsed_secs: 10.0,
                    },
                ],
            },
            cold: ColdRecord {
                language: "python".into(),
                latencies_ms: vec![200.0, 210.0, 220.0],
                failures: 0,
            },
            sweep: vec![
                step(1, &["python", "ruby"], 30.0),
                step(4, &["python", "ruby"], 90.0),
            ],
            saturation,
        }
    }

    fn links() -> Links<'static> {
        Links {
            chart: "benchmarks/latency.svg",
            raw: "benchmarks/raw.json",
            engine_cpu: "engine-cpu.md",
        }
    }

    fn engine_cpu_run(machine: Machine) -> EngineCpuRecord {
        let side = |totals: [f64; 3]| engine_cpu::Side {
            cpu_ms_per_job: totals
                .iter()
                .map(|&total| engine_cpu::EngineCpu {
                    total,
                    dockerd: 30.0,
                    containerd: 15.0,
                })
                .collect(),
            job_ms: vec![50.0],
        };
        EngineCpuRecord {
            date: "2026-12-01T14:21:40Z".into(),
            command: "codeexec-loadtest engine-cpu --jobs 40".into(),
            machine,
            language: "python".into(),
            jobs: 40,
            rounds: 3,
            idle_per_sec: engine_cpu::EngineCpu::default(),
            attach: side([120.0, 100.0, 110.0]),
            channel: side([99.0, 90.0, 95.0]),
        }
    }

    #[test]
    fn the_engines_cpu_per_job_is_shown_before_and_after_with_when_and_where() {
        let run = run();
        let report = render(&run, &links(), Some(&engine_cpu_run(run.machine.clone())));
        let section = &report[report.find("## The engine's CPU per job").unwrap()..];
        assert!(section.contains("on 2026-12-01T14:21:40Z, on this report's machine"));
        assert!(section.contains("([its report](engine-cpu.md))"));
        assert!(section.contains(
            "110.0 ms per job with the attach stream (before) and 95.0 ms with the direct \
             channel (after), 0.86×"
        ));
        assert!(section.contains("dockerd used 30.0 ms, containerd 15.0 ms"));
        assert!(section.contains("the runc commands it runs 50.0 ms"));

        let elsewhere = Machine {
            cpu_model: "Other CPU".into(),
            ..run.machine.clone()
        };
        let report = render(&run, &links(), Some(&engine_cpu_run(elsewhere)));
        assert!(report.contains("on another machine (Other CPU, 2 cores"));

        let report = render(&run, &links(), None);
        assert!(report.contains("## The engine's CPU per job\n\nNot measured for this report"));
    }

    #[test]
    fn the_report_names_the_machine_the_label_and_the_command() {
        let report = render(&run(), &links(), None);
        assert!(report.starts_with("# Benchmarks\n"));
        assert!(report.contains("> **Preliminary: taken on a busy machine**"));
        assert!(report.contains("| CPU | Test CPU |"));
        assert!(report.contains("| cores (nproc) | 2 |"));
        assert!(report.contains("`codeexec-loadtest --step-secs 10`"));
        assert!(report.contains("`scripts/loadtest`"));
        assert!(report.contains("](benchmarks/raw.json)"));
        assert!(
            report.contains("![p50 and p95 latency against concurrency](benchmarks/latency.svg)")
        );
    }

    #[test]
    fn the_targets_carry_verdicts_computed_from_the_run() {
        let report = render(&run(), &links(), None);
        // Warm python p50 at one client is 34 ms (30..39), cold 210 ms: 0.16.
        assert!(report.contains("| met (0.16 ≤ 0.20) |"), "{report}");
        // 10 jobs in 10 s = 1 job/s against a ceiling of 6/s.
        assert!(
            report.contains("| missed by 0.73, 81% of the limit (0.17, limit ≥ 0.90) |"),
            "{report}"
        );
        // total 24 ms − run 20 ms.
        assert!(report.contains("| met (4.00 ms < 5.00 ms) |"), "{report}");
        assert!(report.contains("**Saturation.** python alone from 16 clients"));
    }

    #[test]
    fn rates_and_statuses_appear_per_language_and_overall() {
        let report = render(&run(), &links(), None);
        assert!(
            report.contains(
                "| 1 | python | 10 | 1.00 | 1.00 | 34.0 | 39.0 | 39.0 | 200 succeeded 100.0% |"
            ),
            "{report}"
        );
        assert!(
            report.contains("| 4 | **all** | 20 | 2.00 | 2.00 |"),
            "{report}"
        );
        assert!(report.contains("200 succeeded 90.9%, 503 9.1%"), "{report}");
    }

    #[test]
    fn the_breakdown_is_shown_at_the_lowest_and_highest_concurrency() {
        let report = render(&run(), &links(), None);
        assert!(report.contains("At 1 client(s):"));
        assert!(report.contains("At 4 client(s):"));
        assert!(
            report.contains(
                "| python | 34.0 | 24.0 | 1.0 | 1.0 | 0.0 | 20.0 | 22.0 | 4.0 | 2.0 | 10.0 |"
            ),
            "{report}"
        );
    }

    #[test]
    fn the_ceiling_table_lists_every_parallelism() {
        let report = render(&run(), &links(), None);
        assert!(report.contains("| before | 1 | 40 | 0 | 10.0 | 4.00 |"));
        assert!(report.contains("| after | 2 | 60 | 1 | 10.0 | 6.00 |"));
        assert!(report.contains(
            "Cold path, python hello world, one job at a time: 3 jobs (0 failed), p50 210.0 ms"
        ));
    }
}
