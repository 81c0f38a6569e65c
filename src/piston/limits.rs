//! Piston's six limits (`compile_timeout`, `run_timeout`, `compile_cpu_time`, `run_cpu_time` in
//! milliseconds, `compile_memory_limit`, `run_memory_limit` in bytes), checked against ours in
//! Piston's order and with its messages, and turned into the run's limits. Absent, `null`, `0`
//! or `-1` mean ours (Piston's npm client sends `-1` for memory). The compile stage keeps the
//! language's limits: its two fields are checked, never above ours, but cannot lower them.

use serde_json::Value;

use crate::config::GlobalLimits;
use codeexec_engine::Language;

const MIB: u64 = 1024 * 1024;

/// What a request asked for its run stage; `None` where it leaves ours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RunLimits {
    pub cpu_time_ms: Option<u64>,
    pub wall_time_ms: Option<u64>,
    pub memory_mb: Option<u64>,
}

/// One limit field: ours, and the least a request may ask, in Piston's unit.
pub(crate) struct Bound {
    pub field: &'static str,
    pub ours: u64,
    pub least: u64,
}

/// Each limit field's bounds for `language`, in the order Piston checks them.
pub(crate) fn bounds(language: &Language, limits: &GlobalLimits) -> [Bound; 6] {
    let settings = &language.settings;
    let memory = |field| Bound {
        field,
        ours: settings.memory_mb * MIB,
        least: settings.least_memory_mb(limits) * MIB,
    };
    let time = |field, ours| Bound {
        field,
        ours,
        least: limits.min_timeout_ms,
    };
    [
        memory("compile_memory_limit"),
        memory("run_memory_limit"),
        time(
            "compile_timeout",
            limits.compile_wall_timeout_ms(settings.compile_timeout_ms),
        ),
        time("run_timeout", limits.max_wall_timeout_ms),
        time("compile_cpu_time", settings.compile_timeout_ms),
        time("run_cpu_time", settings.timeout_ms),
    ]
}

/// The run limits `body` asks for, or Piston's message for the first field out of bounds.
pub(crate) fn run_limits(
    body: &Value,
    language: &Language,
    limits: &GlobalLimits,
) -> Result<RunLimits, String> {
    let mut asked = [None; 6];
    for (slot, bound) in asked.iter_mut().zip(&bounds(language, limits)) {
        *slot = requested(body, bound)?;
    }
    let [_, run_memory, _, run_timeout, _, run_cpu_time] = asked;
    Ok(RunLimits {
        cpu_time_ms: run_cpu_time,
        wall_time_ms: run_timeout,
        memory_mb: run_memory.map(|bytes| bytes / MIB),
    })
}

/// The value of `bound.field` in `body`, within bounds, or `None` for ours.
fn requested(body: &Value, bound: &Bound) -> Result<Option<u64>, String> {
    let field = bound.field;
    let value = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_f64().unwrap_or(f64::NAN),
        Some(_) => return Err(format!("If specified, {field} must be a number")),
    };
    if value == 0.0 || value == -1.0 {
        return Ok(None);
    }
    if value > bound.ours as f64 {
        return Err(format!(
            "{field} cannot exceed the configured limit of {}",
            bound.ours
        ));
    }
    if value < 0.0 || value.is_nan() {
        return Err(format!("{field} must be non-negative"));
    }
    let value = value.floor() as u64;
    if value < bound.least {
        return Err(format!(
            "{field} {value} is below the minimum of {}",
            bound.least
        ));
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use codeexec_engine::LanguageRegistry;
    use serde_json::json;

    fn limits_of(language: &str, body: Value) -> Result<RunLimits, String> {
        let settings = Settings::repository_defaults();
        let registry = LanguageRegistry::new(&settings.languages);
        run_limits(&body, registry.resolve(language).unwrap(), &settings.limits)
    }

    #[test]
    fn absent_zero_and_minus_one_leave_ours() {
        let body = json!({
            "compile_timeout": 10000, "run_timeout": -1, "run_cpu_time": 0,
            "compile_memory_limit": -1, "run_memory_limit": null
        });
        assert_eq!(limits_of("cpp", body), Ok(RunLimits::default()));
        assert_eq!(limits_of("python", json!({})), Ok(RunLimits::default()));
    }

    #[test]
    fn run_limits_are_turned_into_ours() {
        let body =
            json!({"run_timeout": 3000, "run_cpu_time": 1500.7, "run_memory_limit": 100_000_000});
        assert_eq!(
            limits_of("python", body),
            Ok(RunLimits {
                cpu_time_ms: Some(1500),
                wall_time_ms: Some(3000),
                memory_mb: Some(95),
            })
        );
    }

    #[test]
    fn a_limit_above_ours_gets_pistons_message() {
        let settings = Settings::repository_defaults();
        let python = &settings.languages["python"];
        let over = python.memory_mb * MIB + 1;
        assert_eq!(
            limits_of("python", json!({"run_memory_limit": over})),
            Err(format!(
                "run_memory_limit cannot exceed the configured limit of {}",
                python.memory_mb * MIB
            ))
        );
        assert_eq!(
            limits_of("python", json!({"run_cpu_time": python.timeout_ms + 1})),
            Err(format!(
                "run_cpu_time cannot exceed the configured limit of {}",
                python.timeout_ms
            ))
        );
    }

    #[test]
    fn other_bad_values_get_pistons_messages_or_our_minimum() {
        assert_eq!(
            limits_of("python", json!({"run_timeout": "3000"})),
            Err("If specified, run_timeout must be a number".into())
        );
        assert_eq!(
            limits_of("python", json!({"run_timeout": -5})),
            Err("run_timeout must be non-negative".into())
        );
        assert_eq!(
            limits_of("python", json!({"run_cpu_time": 5})),
            Err("run_cpu_time 5 is below the minimum of 100".into())
        );
        assert!(limits_of("java", json!({"run_memory_limit": 40 * MIB}))
            .unwrap_err()
            .starts_with("run_memory_limit 41943040 is below the minimum of"));
    }
}
