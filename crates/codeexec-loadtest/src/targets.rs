//! The performance targets and whether a run met them, by how much, stated plainly.

use super::record::RunRecord;
use super::stats::{median, StepStats};

/// Warm python p50 through HTTP over the cold path's p50, at low load.
pub const WARM_OVER_COLD: f64 = 0.2;
/// Throughput at saturation over the container ceiling.
pub const SATURATION_OVER_CEILING: f64 = 0.9;
/// The service's own time per job (total minus the compile and run stages) at low load, p50.
pub const OVERHEAD_MS: f64 = 5.0;

/// Which side of the limit a measurement must be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    AtMost,
    Below,
    AtLeast,
}

impl Bound {
    fn symbol(self) -> &'static str {
        match self {
            Bound::AtMost => "≤",
            Bound::Below => "<",
            Bound::AtLeast => "≥",
        }
    }
}

/// One target and what the run measured for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub bound: Bound,
    pub limit: f64,
    pub measured: Option<f64>,
    /// Appended to numbers, e.g. " ms"; empty for ratios.
    pub unit: &'static str,
}

/// The outcome of comparing a measurement with its limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Met,
    /// `by` is how far past the limit, in the target's unit, and `relative` that as a share of
    /// the limit.
    Missed {
        by: f64,
        relative: f64,
    },
    NotMeasured,
}

impl Target {
    pub fn verdict(&self) -> Verdict {
        let Some(measured) = self.measured else {
            return Verdict::NotMeasured;
        };
        let met = match self.bound {
            Bound::AtMost => measured <= self.limit,
            Bound::Below => measured < self.limit,
            Bound::AtLeast => measured >= self.limit,
        };
        if met {
            return Verdict::Met;
        }
        let by = (measured - self.limit).abs();
        let relative = if self.limit == 0.0 {
            f64::INFINITY
        } else {
            by / self.limit.abs()
        };
        Verdict::Missed { by, relative }
    }

    /// "met (0.14 ≤ 0.20)", "missed by 0.05, 25% of the limit (0.25, limit ≤ 0.20)" or
    /// "not measured".
    pub fn describe(&self) -> String {
        let number = |value: f64| format!("{}{}", format_value(value), self.unit);
        let limit = format!("{} {}", self.bound.symbol(), number(self.limit));
        match (self.verdict(), self.measured) {
            (Verdict::Met, Some(measured)) => format!("met ({} {limit})", number(measured)),
            (Verdict::Missed { by, relative }, Some(measured)) => format!(
                "missed by {}, {:.0}% of the limit ({}, limit {limit})",
                number(by),
                relative * 100.0,
                number(measured)
            ),
            _ => "not measured".to_string(),
        }
    }
}

/// The three targets of the issue, measured in `run`. `low` is the mixed step at the lowest
/// concurrency, `saturation` the reference language alone at the highest.
pub fn evaluate(run: &RunRecord, low: Option<&StepStats>, saturation: &StepStats) -> Vec<Target> {
    let reference = &run.cold.language;
    let warm = low
        .and_then(|step| step.language(reference))
        .and_then(|language| language.latency)
        .map(|latency| latency.p50);
    let cold = median(run.cold.latencies_ms.iter().copied());
    let ceiling = run.ceiling.best().map(|best| best.per_second());
    let throughput = saturation.overall.jobs_per_sec;
    let overhead = low
        .and_then(|step| step.overall.breakdown)
        .map(|parts| parts.overhead);
    vec![
        Target {
            name: format!(
                "{reference} hello world p50, warm through HTTP / cold path, at low load"
            ),
            bound: Bound::AtMost,
            limit: WARM_OVER_COLD,
            measured: warm.zip(cold).map(|(warm, cold)| warm / cold),
            unit: "",
        },
        Target {
            name: format!("{reference} jobs/s at saturation / container ceiling"),
            bound: Bound::AtLeast,
            limit: SATURATION_OVER_CEILING,
            measured: ceiling
                .filter(|ceiling| *ceiling > 0.0)
                .map(|ceiling| throughput / ceiling),
            unit: "",
        },
        Target {
            name: "service overhead per job (total − compile − run) p50, at low load".into(),
            bound: Bound::Below,
            limit: OVERHEAD_MS,
            measured: overhead,
            unit: " ms",
        },
    ]
}

/// Two decimals below 10, one above: enough for ratios and milliseconds alike.
pub fn format_value(value: f64) -> String {
    if value.abs() < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(bound: Bound, limit: f64, measured: Option<f64>, unit: &'static str) -> Target {
        Target {
            name: "t".into(),
            bound,
            limit,
            measured,
            unit,
        }
    }

    #[test]
    fn a_ratio_within_its_limit_is_met() {
        let ratio = target(Bound::AtMost, 0.2, Some(0.14), "");
        assert_eq!(ratio.verdict(), Verdict::Met);
        assert_eq!(ratio.describe(), "met (0.14 ≤ 0.20)");
        assert_eq!(
            target(Bound::AtMost, 0.2, Some(0.2), "").verdict(),
            Verdict::Met
        );
    }

    #[test]
    fn a_miss_says_by_how_much() {
        let ratio = target(Bound::AtMost, 0.2, Some(0.25), "");
        let Verdict::Missed { by, relative } = ratio.verdict() else {
            panic!("{:?}", ratio.verdict())
        };
        assert!((by - 0.05).abs() < 1e-9 && (relative - 0.25).abs() < 1e-9);
        assert_eq!(
            ratio.describe(),
            "missed by 0.05, 25% of the limit (0.25, limit ≤ 0.20)"
        );
    }

    #[test]
    fn a_lower_bound_is_missed_from_below() {
        let saturation = target(Bound::AtLeast, 0.9, Some(0.72), "");
        assert_eq!(
            saturation.describe(),
            "missed by 0.18, 20% of the limit (0.72, limit ≥ 0.90)"
        );
        assert_eq!(
            target(Bound::AtLeast, 0.9, Some(0.95), "").verdict(),
            Verdict::Met
        );
    }

    #[test]
    fn a_strict_bound_is_missed_at_the_limit_and_units_are_shown() {
        let overhead = target(Bound::Below, 5.0, Some(5.0), " ms");
        assert!(matches!(overhead.verdict(), Verdict::Missed { .. }));
        assert_eq!(
            target(Bound::Below, 5.0, Some(12.5), " ms").describe(),
            "missed by 7.50 ms, 150% of the limit (12.5 ms, limit < 5.00 ms)"
        );
    }

    #[test]
    fn nothing_measured_is_not_a_verdict() {
        let missing = target(Bound::AtMost, 0.2, None, "");
        assert_eq!(missing.verdict(), Verdict::NotMeasured);
        assert_eq!(missing.describe(), "not measured");
    }
}
