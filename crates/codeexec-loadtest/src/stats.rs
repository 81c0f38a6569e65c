//! Statistics of a step: per language, requests per second, latency percentiles (HdrHistogram),
//! the share of each outcome, and the medians of where a job's time went.

use hdrhistogram::Histogram;

use super::record::{Sample, ServerTimings, StepRecord};

/// Latencies are recorded in microseconds, up to an hour, to four significant digits.
const HIGHEST_MICROS: u64 = 3_600_000_000;
const SIGNIFICANT_DIGITS: u8 = 4;

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Percentiles of `values_ms`; `None` when there are none. Negative values count as zero.
pub fn percentiles(values_ms: impl IntoIterator<Item = f64>) -> Option<Percentiles> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS)
        .expect("valid histogram bounds");
    for value in values_ms {
        let micros = (value.max(0.0) * 1000.0).round() as u64;
        histogram.saturating_record(micros);
    }
    if histogram.is_empty() {
        return None;
    }
    // The middle of the value's bucket, rather than its top.
    let at = |quantile| {
        histogram.median_equivalent(histogram.value_at_quantile(quantile)) as f64 / 1000.0
    };
    Some(Percentiles {
        count: histogram.len(),
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: histogram.median_equivalent(histogram.max()) as f64 / 1000.0,
    })
}

/// The median of `values_ms`.
pub fn median(values_ms: impl IntoIterator<Item = f64>) -> Option<f64> {
    percentiles(values_ms).map(|percentiles| percentiles.p50)
}

/// Medians (ms) of where the time of a finished job went. Each is the median of that part on
/// its own, so they need not add up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breakdown {
    /// As the client saw it.
    pub latency: f64,
    /// As the service measured it, from the parsed request to the finished job.
    pub total: f64,
    /// From the request's arrival until a container was in hand.
    pub queue: f64,
    /// Asking the pool until holding a container.
    pub acquire: Option<f64>,
    pub compile: f64,
    pub run: f64,
    /// The exchange with the container, stages included.
    pub exchange: Option<f64>,
    /// The service's own cost: total minus the compile and run stages.
    pub overhead: f64,
    /// The exchange beyond the program's own stages: sending the job, the runner writing files
    /// and starting processes, reading the result back.
    pub beyond_stages: Option<f64>,
    /// HTTP and JSON on both sides: the client's latency minus the service's total.
    pub http: f64,
}

/// Medians over the finished jobs among `samples`; `None` when none finished.
pub fn breakdown<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Option<Breakdown> {
    let timed: Vec<(f64, ServerTimings)> = samples
        .into_iter()
        .filter(|sample| sample.ran())
        .filter_map(|sample| Some((sample.latency_ms, sample.timings?)))
        .collect();
    if timed.is_empty() {
        return None;
    }
    let ms = |seconds: f64| seconds * 1000.0;
    let of = |part: &dyn Fn(&(f64, ServerTimings)) -> f64| median(timed.iter().map(part));
    let of_optional = |part: &dyn Fn(&(f64, ServerTimings)) -> Option<f64>| {
        let values: Vec<f64> = timed.iter().filter_map(part).collect();
        median(values)
    };
    let stages = |timings: &ServerTimings| ms(timings.compile + timings.run);
    Some(Breakdown {
        latency: of(&|(latency, _)| *latency)?,
        total: of(&|(_, timings)| ms(timings.total))?,
        queue: of(&|(_, timings)| ms(timings.queue))?,
        acquire: of_optional(&|(_, timings)| timings.acquire.map(ms)),
        compile: of(&|(_, timings)| ms(timings.compile))?,
        run: of(&|(_, timings)| ms(timings.run))?,
        exchange: of_optional(&|(_, timings)| timings.exchange.map(ms)),
        overhead: of(&|(_, timings)| ms(timings.total) - stages(timings))?,
        beyond_stages: of_optional(&|(_, timings)| {
            timings
                .exchange
                .map(|exchange| ms(exchange) - stages(timings))
        }),
        http: of(&|(latency, timings)| latency - ms(timings.total))?,
    })
}

/// One language's figures in one step (or every language's together).
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageStats {
    pub language: String,
    /// Requests sent in the window, those answered after it included.
    pub requests: u64,
    /// Answers within the step's window, refusals included, per second.
    pub requests_per_sec: f64,
    /// Finished jobs (HTTP 200 with a result) within the window per second: containers used
    /// per second.
    pub jobs_per_sec: f64,
    /// Latency of every finished job.
    pub latency: Option<Percentiles>,
    /// Each outcome and its share of the requests, most frequent first.
    pub outcomes: Vec<(String, f64)>,
    pub breakdown: Option<Breakdown>,
}

/// The figures of one step, per language and overall.
#[derive(Debug, Clone, PartialEq)]
pub struct StepStats {
    pub concurrency: usize,
    pub window_secs: f64,
    pub languages: Vec<LanguageStats>,
    pub overall: LanguageStats,
}

impl StepStats {
    pub fn language(&self, name: &str) -> Option<&LanguageStats> {
        self.languages
            .iter()
            .find(|language| language.language == name)
    }
}

pub fn step_stats(step: &StepRecord) -> StepStats {
    let languages = step
        .languages
        .iter()
        .map(|language| {
            let samples: Vec<&Sample> = step
                .samples
                .iter()
                .filter(|sample| &sample.language == language)
                .collect();
            language_stats(language, &samples, step)
        })
        .collect();
    let all: Vec<&Sample> = step.samples.iter().collect();
    StepStats {
        concurrency: step.concurrency,
        window_secs: step.window_secs,
        languages,
        overall: language_stats("all", &all, step),
    }
}

/// Latency, statuses and the breakdown cover the requests sent in the step's window; rates, the
/// answers that came within it.
fn language_stats(language: &str, samples: &[&Sample], step: &StepRecord) -> LanguageStats {
    let per_second = |matching: &dyn Fn(&Sample) -> bool| {
        let count = samples
            .iter()
            .filter(|sample| step.in_window(sample.finished_secs) && matching(sample))
            .count();
        if step.window_secs > 0.0 {
            count as f64 / step.window_secs
        } else {
            0.0
        }
    };
    let sent: Vec<&Sample> = samples
        .iter()
        .copied()
        .filter(|sample| step.in_window(sample.sent_secs))
        .collect();
    let finished: Vec<&Sample> = sent.iter().copied().filter(|s| s.ran()).collect();
    LanguageStats {
        language: language.to_string(),
        requests: sent.len() as u64,
        requests_per_sec: per_second(&|_| true),
        jobs_per_sec: per_second(&Sample::ran),
        latency: percentiles(finished.iter().map(|sample| sample.latency_ms)),
        outcomes: outcome_shares(&sent),
        breakdown: breakdown(finished.iter().copied()),
    }
}

/// Each outcome's share of `samples`, most frequent first (ties by name).
fn outcome_shares(samples: &[&Sample]) -> Vec<(String, f64)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for sample in samples {
        *counts.entry(sample.outcome()).or_default() += 1;
    }
    let mut shares: Vec<(String, f64)> = counts
        .into_iter()
        .map(|(outcome, count)| (outcome, count as f64 / samples.len() as f64))
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    shares
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A finished job of `language` whose service timings are given in milliseconds.
    pub fn finished(language: &str, latency: f64, queue: f64, run: f64, total: f64) -> Sample {
        Sample {
            language: language.into(),
            latency_ms: latency,
            http_status: Some(200),
            run_status: Some("succeeded".into()),
            output_ok: true,
            error: None,
            timings: Some(ServerTimings {
                queue: queue / 1000.0,
                acquire: Some(queue / 1000.0),
                compile: 0.0,
                run: run / 1000.0,
                exchange: Some((run + 2.0) / 1000.0),
                total: total / 1000.0,
            }),
            sent_secs: 1.0,
            finished_secs: 1.0,
        }
    }

    pub fn refused(language: &str, status: u16) -> Sample {
        Sample {
            language: language.into(),
            latency_ms: 1.0,
            http_status: Some(status),
            run_status: None,
            output_ok: false,
            error: Some("busy".into()),
            timings: None,
            sent_secs: 1.0,
            finished_secs: 1.0,
        }
    }

    fn step(samples: Vec<Sample>) -> StepRecord {
        StepRecord {
            concurrency: 2,
            languages: vec!["python".into(), "ruby".into()],
            warmup_secs: 0.5,
            window_secs: 4.0,
            samples,
        }
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let stats = percentiles((1..=100).map(f64::from)).unwrap();
        assert_eq!(stats.count, 100);
        assert!((stats.p50 - 50.0).abs() < 0.1, "{stats:?}");
        assert!((stats.p95 - 95.0).abs() < 0.1, "{stats:?}");
        assert!((stats.p99 - 99.0).abs() < 0.1, "{stats:?}");
        assert!((stats.max - 100.0).abs() < 0.1, "{stats:?}");
        assert_eq!(percentiles(Vec::new()), None);
    }

    #[test]
    fn rates_count_every_answer_but_jobs_only_finished_ones() {
        let stats = step_stats(&step(vec![
            finished("python", 30.0, 1.0, 20.0, 24.0),
            finished("python", 40.0, 1.0, 20.0, 24.0),
            refused("python", 503),
            refused("ruby", 503),
        ]));
        let python = stats.language("python").unwrap();
        assert_eq!(python.requests, 3);
        assert_eq!(python.requests_per_sec, 0.75);
        assert_eq!(python.jobs_per_sec, 0.5);
        assert_eq!(python.latency.unwrap().count, 2);
        let ruby = stats.language("ruby").unwrap();
        assert_eq!(ruby.latency, None);
        assert_eq!(ruby.breakdown, None);
        assert_eq!(stats.overall.requests, 4);
        assert_eq!(stats.overall.jobs_per_sec, 0.5);
    }

    #[test]
    fn answers_after_the_window_count_for_latency_but_not_for_rates() {
        let mut late = finished("python", 900.0, 1.0, 20.0, 24.0);
        late.finished_secs = 4.6;
        let stats = step_stats(&step(vec![finished("python", 30.0, 1.0, 20.0, 24.0), late]));
        let python = stats.language("python").unwrap();
        assert_eq!(python.jobs_per_sec, 0.25);
        assert_eq!(python.requests, 2);
        assert_eq!(python.latency.unwrap().count, 2);
    }

    #[test]
    fn the_warm_up_counts_for_nothing_but_its_answers_in_the_window_count_for_rates() {
        let mut warming = finished("python", 900.0, 1.0, 20.0, 24.0);
        warming.sent_secs = 0.1;
        let mut straddling = warming.clone();
        straddling.finished_secs = 1.0;
        warming.finished_secs = 0.4;
        let stats = step_stats(&step(vec![warming, straddling]));
        let python = stats.language("python").unwrap();
        assert_eq!((python.requests, python.latency), (0, None));
        assert_eq!(python.jobs_per_sec, 0.25);
    }

    #[test]
    fn outcome_shares_are_sorted_and_sum_to_one() {
        let mut wrong = finished("python", 30.0, 1.0, 20.0, 24.0);
        wrong.output_ok = false;
        let stats = step_stats(&step(vec![
            finished("python", 30.0, 1.0, 20.0, 24.0),
            finished("python", 30.0, 1.0, 20.0, 24.0),
            refused("python", 503),
            wrong,
        ]));
        let outcomes = &stats.language("python").unwrap().outcomes;
        assert_eq!(outcomes[0], ("200 succeeded".to_string(), 0.5));
        let names: Vec<&str> = outcomes.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names[1..], ["200 succeeded, wrong output", "503"]);
        let total: f64 = outcomes.iter().map(|(_, share)| share).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn breakdown_separates_the_service_from_the_program_and_http() {
        let samples = [
            finished("python", 30.0, 1.0, 20.0, 24.0),
            finished("python", 32.0, 1.0, 20.0, 24.0),
            finished("python", 34.0, 3.0, 22.0, 28.0),
        ];
        let parts = breakdown(samples.iter()).unwrap();
        assert!((parts.latency - 32.0).abs() < 0.01, "{parts:?}");
        assert!((parts.run - 20.0).abs() < 0.01, "{parts:?}");
        assert!((parts.overhead - 4.0).abs() < 0.01, "{parts:?}");
        assert!(
            (parts.beyond_stages.unwrap() - 2.0).abs() < 0.01,
            "{parts:?}"
        );
        assert!((parts.http - 6.0).abs() < 0.01, "{parts:?}");
        assert!((parts.acquire.unwrap() - 1.0).abs() < 0.01, "{parts:?}");
    }

    #[test]
    fn breakdown_works_without_the_newer_timing_fields() {
        let mut old = finished("python", 30.0, 1.0, 20.0, 24.0);
        if let Some(timings) = old.timings.as_mut() {
            timings.acquire = None;
            timings.exchange = None;
        }
        let parts = breakdown([old].iter()).unwrap();
        assert_eq!((parts.acquire, parts.beyond_stages), (None, None));
        assert!((parts.overhead - 4.0).abs() < 0.01);
    }
}
