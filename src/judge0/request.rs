//! A submission request with Judge0's field names, units and bounds, checked into the stored
//! [`Submission`] and the [`JobSpec`] the engine runs. Errors are Judge0's: a list of messages
//! per field (422).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine as _;
use codeexec_protocol::SourceFile;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::additional_files::{self, ArchiveLimits};
use super::languages;
use super::limits::{self, Bounds};
use super::settings::Judge0Settings;
use super::status::Status;
use super::submission::Submission;
use codeexec_engine::{GlobalLimits, JobSpec, Language, LanguageRegistry, LanguageSettings};

/// Longest `compiler_options` and `command_line_arguments`, as in Judge0.
const MAX_OPTIONS_LENGTH: usize = 512;
/// Added to a submission's own time bounds before a submission still pending is given up on.
const DEADLINE_SLACK_MS: i64 = 60_000;

/// `{field: [messages]}`, Judge0's 422 body.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// What validation needs besides the body.
pub struct Context<'a> {
    pub registry: &'a LanguageRegistry,
    pub limits: &'a GlobalLimits,
    pub judge0: &'a Judge0Settings,
    /// The engine's probed versions, by canonical language name.
    pub versions: &'a HashMap<String, String>,
    pub now_ms: i64,
}

/// A valid submission: its stored record and what to run.
#[derive(Debug)]
pub struct Accepted {
    pub submission: Submission,
    pub job: JobSpec,
    /// Runs asked for; times and memory are averaged over them.
    pub runs: u32,
}

/// Checks one submission object. `base64` says whether `source_code`, `stdin` and
/// `expected_output` are base64.
pub fn validate(
    body: &Value,
    base64: bool,
    context: &Context<'_>,
) -> Result<Accepted, FieldErrors> {
    let empty = Map::new();
    let body = body.as_object().unwrap_or(&empty);
    let mut errors = FieldErrors::new();
    let mut error = |field: &str, message: String| {
        errors.entry(field.to_string()).or_default().push(message);
    };

    let source_code = text(body, "source_code", base64, &mut error);
    let blank = source_code.as_deref().map_or(
        !matches!(body.get("source_code"), Some(Value::String(_))),
        |code| code.trim().is_empty(),
    );
    if blank {
        error("source_code", "can't be blank".into());
    }
    let stdin = text(body, "stdin", base64, &mut error);
    let expected_output = text(body, "expected_output", base64, &mut error);

    let language = match integer(body, "language_id", &mut error) {
        None if !body.contains_key("language_id") || body["language_id"].is_null() => {
            error("language_id", "can't be blank".into());
            None
        }
        None => None,
        Some(id) => {
            let found = languages::by_id(id)
                .and_then(|judge0| Some((judge0, context.registry.resolve(judge0.language)?)));
            if found.is_none() {
                error(
                    "language_id",
                    format!("language with id {id} doesn't exist"),
                );
            }
            found.map(|(judge0, language)| (id, judge0, language.clone()))
        }
    };
    let bounds = language
        .as_ref()
        .map(|(_, _, language)| Bounds::of(language, context.limits, context.judge0));
    // Without a language there is nothing to bound against; the language error says why.
    let bounds = bounds.unwrap_or(Bounds {
        max_time_s: f64::MAX,
        max_wall_time_s: f64::MAX,
        default_wall_time_s: 0.0,
        min_time_s: 0.0,
        max_memory_kb: i64::MAX,
        min_memory_kb: 0,
        max_processes: i64::MAX,
        max_file_size_kb: i64::MAX,
        max_number_of_runs: i64::MAX,
    });

    let mut number = |field: &str, default: f64, min: f64, min_inclusive: bool, max: f64| {
        let value = float(body, field, &mut error).unwrap_or(default);
        if min_inclusive && value < min {
            error(field, format!("must be greater than or equal to {min}"));
        } else if !min_inclusive && value <= min {
            error(field, format!("must be greater than {min}"));
        }
        if value > max {
            error(field, format!("must be less than or equal to {max}"));
        }
        value
    };
    let cpu_time_limit = number(
        "cpu_time_limit",
        bounds.max_time_s,
        0.0,
        false,
        bounds.max_time_s,
    );
    let cpu_extra_time = number("cpu_extra_time", 0.0, 0.0, true, bounds.max_time_s);
    let wall_time_limit = number(
        "wall_time_limit",
        bounds.default_wall_time_s,
        bounds.min_time_s,
        true,
        bounds.max_wall_time_s,
    );
    let memory_limit = number(
        "memory_limit",
        bounds.max_memory_kb as f64,
        bounds.min_memory_kb as f64,
        true,
        bounds.max_memory_kb as f64,
    ) as i64;
    let stack_limit = number(
        "stack_limit",
        limits::DEFAULT_STACK_LIMIT_KB as f64,
        0.0,
        true,
        limits::MAX_STACK_LIMIT_KB as f64,
    ) as i64;
    let max_processes = number(
        "max_processes_and_or_threads",
        bounds.max_processes as f64,
        1.0,
        true,
        bounds.max_processes as f64,
    ) as i64;
    let max_file_size = number(
        "max_file_size",
        (limits::DEFAULT_MAX_FILE_SIZE_KB.min(bounds.max_file_size_kb)) as f64,
        0.0,
        true,
        bounds.max_file_size_kb as f64,
    ) as i64;
    let number_of_runs = number(
        "number_of_runs",
        1.0,
        1.0,
        true,
        bounds.max_number_of_runs as f64,
    ) as i64;

    let per_process_time = boolean(body, "enable_per_process_and_thread_time_limit", &mut error);
    let per_process_memory = boolean(
        body,
        "enable_per_process_and_thread_memory_limit",
        &mut error,
    );
    for (field, value) in [
        ("enable_per_process_and_thread_time_limit", per_process_time),
        (
            "enable_per_process_and_thread_memory_limit",
            per_process_memory,
        ),
    ] {
        if value == Some(true) {
            error(
                field,
                "can't be true: limits apply to the whole program".into(),
            );
        }
    }
    let redirect = boolean(body, "redirect_stderr_to_stdout", &mut error).unwrap_or(false);
    if boolean(body, "enable_network", &mut error) == Some(true) {
        error(
            "enable_network",
            "can't be true: programs never have network access".into(),
        );
    }

    let command_line_arguments = text(body, "command_line_arguments", false, &mut error);
    let args = command_line_arguments
        .as_deref()
        .map(|arguments| split_options("command_line_arguments", arguments, &mut error))
        .unwrap_or_default();
    let compiler_options = text(body, "compiler_options", false, &mut error);
    let options = compiler_options
        .as_deref()
        .map(|options| split_options("compiler_options", options, &mut error))
        .unwrap_or_default();
    if let Some((_, _, language)) = &language {
        check_compiler_options(language, &options, context.judge0, &mut error);
    }

    let callback_url = text(body, "callback_url", false, &mut error).filter(|url| !url.is_empty());
    if let Some(url) = &callback_url {
        if let Err(why) = super::callback::check_url(url, &context.judge0.callback_allowed_hosts) {
            error("callback_url", why);
        }
    }

    let additional_files =
        text(body, "additional_files", false, &mut error).filter(|files| !files.is_empty());
    let mut extra_files = Vec::new();
    if let (Some(archive), Some((_, _, language))) = (&additional_files, &language) {
        let archive_limits = ArchiveLimits {
            max_files: context.limits.max_files.saturating_sub(1),
            max_unpacked_bytes: context.judge0.max_extract_size_kb * 1024,
            allow_subdirectories: language.settings.allow_subdirectories,
        };
        let entry = &language.settings.default_file_name;
        match additional_files::unpack(archive, archive_limits) {
            Ok(files) if files.iter().any(|file| &file.name == entry) => error(
                "additional_files",
                format!("holds {entry:?}, the name of the source code's own file"),
            ),
            Ok(files) => extra_files = files,
            Err(why) => error("additional_files", why.0),
        }
    }

    let language = language.filter(|_| errors.is_empty());
    let Some((language_id, judge0_language, language)) = language else {
        return Err(errors);
    };
    let entry = language.settings.default_file_name.clone();

    let source_code = source_code.unwrap_or_default();
    let mut files = vec![SourceFile {
        name: entry.clone(),
        content: source_code.clone(),
    }];
    files.extend(extra_files);
    let runs = number_of_runs.max(1) as u32;
    let adapted = adapted_language(&language, &options, redirect);
    let least_memory_mb = adapted.settings.least_memory_mb(context.limits);
    let job = JobSpec {
        id: Uuid::new_v4(),
        language: adapted,
        files,
        entry,
        stdin: stdin.clone().unwrap_or_default(),
        args,
        // The sum may pass the language's CPU limit, which holds all the same.
        timeout_ms: limits::cpu_timeout_ms(cpu_time_limit, cpu_extra_time)
            .clamp(context.limits.min_timeout_ms, language.settings.timeout_ms),
        wall_timeout_ms: limits::seconds_as_ms(wall_time_limit).max(context.limits.min_timeout_ms),
        memory_mb: limits::memory_mb(memory_limit).max(least_memory_mb),
        save_metric: false,
    };
    let per_run_ms = job.result_deadline(context.limits).as_millis() as i64;
    let deadline_ms = context.now_ms
        + 2 * context.limits.queue_timeout_ms as i64
        + i64::from(runs) * per_run_ms
        + DEADLINE_SLACK_MS;
    let submission = Submission {
        token: Uuid::new_v4().to_string(),
        source_code,
        language_id,
        language_name: judge0_language.name(context.versions),
        stdin,
        expected_output,
        status_id: Status::InQueue.id(),
        created_at_ms: context.now_ms,
        finished_at_ms: None,
        deadline_ms,
        stdout: None,
        stderr: None,
        compile_output: None,
        message: None,
        exit_code: None,
        exit_signal: None,
        time: None,
        wall_time: None,
        memory: None,
        number_of_runs: i64::from(runs),
        cpu_time_limit,
        cpu_extra_time,
        wall_time_limit,
        memory_limit,
        stack_limit,
        max_processes_and_or_threads: max_processes,
        enable_per_process_and_thread_time_limit: false,
        enable_per_process_and_thread_memory_limit: false,
        max_file_size,
        compiler_options,
        command_line_arguments,
        redirect_stderr_to_stdout: redirect,
        callback_url,
        additional_files,
        enable_network: false,
    };
    Ok(Accepted {
        submission,
        job,
        runs,
    })
}

/// The language as this job runs it: the compiler options inserted before the sources (after
/// the configured flags, so that the submission's win), and stderr sent to stdout when asked.
fn adapted_language(language: &Arc<Language>, options: &[String], redirect: bool) -> Arc<Language> {
    if options.is_empty() && !redirect {
        return language.clone();
    }
    let mut settings: LanguageSettings = language.settings.clone();
    if !options.is_empty() {
        let at = settings
            .compile
            .iter()
            .position(|part| part == "{sources}")
            .unwrap_or(settings.compile.len());
        settings.compile.splice(at..at, options.iter().cloned());
    }
    if redirect {
        let mut run = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            "exec \"$@\" 2>&1".to_string(),
            "sh".to_string(),
        ];
        run.append(&mut settings.run);
        settings.run = run;
        // The shell must start the program afresh to redirect it: no pre-started runtime.
        settings.prestart = false;
    }
    Arc::new(Language {
        name: language.name.clone(),
        settings,
    })
}

/// Every option must be on the language's allow-list.
fn check_compiler_options(
    language: &Language,
    options: &[String],
    judge0: &Judge0Settings,
    error: &mut impl FnMut(&str, String),
) {
    if options.is_empty() {
        return;
    }
    let allowed = judge0
        .compiler_options
        .get(&language.name)
        .filter(|_| !language.settings.compile.is_empty());
    let Some(allowed) = allowed.filter(|allowed| !allowed.is_empty()) else {
        error(
            "compiler_options",
            format!(
                "setting compiler options is not allowed for {}",
                language.name
            ),
        );
        return;
    };
    for option in options {
        if !allowed.contains(option) {
            error(
                "compiler_options",
                format!(
                    "{option:?} is not allowed for {}; allowed: {}",
                    language.name,
                    allowed.join(" ")
                ),
            );
        }
    }
}

/// Splits options as a shell would (quotes kept together), refusing what is too long.
fn split_options(field: &str, text: &str, error: &mut impl FnMut(&str, String)) -> Vec<String> {
    if text.len() > MAX_OPTIONS_LENGTH {
        error(
            field,
            format!("is too long (maximum is {MAX_OPTIONS_LENGTH} characters)"),
        );
        return Vec::new();
    }
    match shlex::split(text) {
        Some(words) => words,
        None => {
            error(field, "has an unclosed quote".into());
            Vec::new()
        }
    }
}

/// A text field; base64-decoded when `base64` (and then it must be UTF-8).
fn text(
    body: &Map<String, Value>,
    field: &str,
    base64: bool,
    error: &mut impl FnMut(&str, String),
) -> Option<String> {
    let text = match body.get(field)? {
        Value::Null => return None,
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(value) => value.to_string(),
        _ => {
            error(field, "must be a string".into());
            return None;
        }
    };
    if !base64 {
        return Some(text);
    }
    let compact: String = text.split_whitespace().collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    match engine.decode(compact).map(String::from_utf8) {
        Ok(Ok(decoded)) => Some(decoded),
        Ok(Err(_)) => {
            error(field, "is not UTF-8 text once base64-decoded".into());
            None
        }
        Err(_) => {
            error(field, "is not valid base64".into());
            None
        }
    }
}

/// A number, also given as a numeric string (Rails casts both).
fn float(
    body: &Map<String, Value>,
    field: &str,
    error: &mut impl FnMut(&str, String),
) -> Option<f64> {
    match body.get(field)? {
        Value::Null => None,
        Value::Number(number) => number.as_f64(),
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) => match text.trim().parse::<f64>() {
            Ok(value) if value.is_finite() => Some(value),
            _ => {
                error(field, "is not a number".into());
                None
            }
        },
        _ => {
            error(field, "is not a number".into());
            None
        }
    }
}

fn integer(
    body: &Map<String, Value>,
    field: &str,
    error: &mut impl FnMut(&str, String),
) -> Option<i64> {
    let value = float(body, field, error)?;
    if value.fract() != 0.0 {
        error(field, "must be an integer".into());
        return None;
    }
    Some(value as i64)
}

fn boolean(
    body: &Map<String, Value>,
    field: &str,
    error: &mut impl FnMut(&str, String),
) -> Option<bool> {
    match body.get(field)? {
        Value::Null => None,
        Value::Bool(value) => Some(*value),
        Value::String(text) if text == "true" || text == "1" => Some(true),
        Value::String(text) if text == "false" || text == "0" || text.is_empty() => Some(false),
        _ => {
            error(field, "must be true or false".into());
            None
        }
    }
}
