//! A submission as stored (in memory or in MongoDB) and as Judge0 1.13.1 writes it: its
//! columns in Judge0's order, the default field set and `fields=*`, decimals as strings in
//! seconds, memory in KB, timestamps with milliseconds and base64 output when asked.

use base64::Engine as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};

use super::status::{RunOutcome, Status, StatusBody};

/// Every field a submission has, in the order Judge0's serializer writes them (`fields=*`).
pub const ALL_FIELDS: [&str; 35] = [
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "status",
    "language",
];

/// What Judge0 answers without `fields`.
pub const DEFAULT_FIELDS: [&str; 8] = [
    "token",
    "time",
    "memory",
    "stdout",
    "stderr",
    "compile_output",
    "message",
    "status",
];

/// Fields whose text is base64 encoded when the request says `base64_encoded=true`.
const ENCODED_FIELDS: [&str; 7] = [
    "source_code",
    "stdin",
    "expected_output",
    "stdout",
    "stderr",
    "compile_output",
    "message",
];

/// A `fields` value that names a field Judge0 does not have: 400.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidFields(pub Vec<String>);

/// The fields a request asked for: the default set without `fields`, every field for `*`.
pub fn requested_fields(fields: Option<&str>) -> Result<Vec<&'static str>, InvalidFields> {
    let Some(fields) = fields.map(str::trim).filter(|fields| !fields.is_empty()) else {
        return Ok(DEFAULT_FIELDS.to_vec());
    };
    if fields == "*" {
        return Ok(ALL_FIELDS.to_vec());
    }
    let mut selected = Vec::new();
    let mut invalid = Vec::new();
    for name in fields
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        match ALL_FIELDS.iter().find(|field| **field == name) {
            Some(field) if !selected.contains(field) => selected.push(*field),
            Some(_) => {}
            None => invalid.push(name.to_string()),
        }
    }
    if invalid.is_empty() {
        Ok(selected)
    } else {
        Err(InvalidFields(invalid))
    }
}

/// One submission: what was asked, and once finished, what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub token: String,
    pub source_code: String,
    pub language_id: i64,
    /// The language's name when the submission was made, e.g. "Python (3.11.2)".
    pub language_name: String,
    pub stdin: Option<String>,
    pub expected_output: Option<String>,
    pub status_id: i32,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    /// After this time (ms since the epoch) a submission still waiting or running is reported
    /// as an internal error: the instance that ran it is gone.
    pub deadline_ms: i64,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub compile_output: Option<String>,
    pub message: Option<String>,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    pub time: Option<f64>,
    pub wall_time: Option<f64>,
    pub memory: Option<i64>,
    pub number_of_runs: i64,
    pub cpu_time_limit: f64,
    pub cpu_extra_time: f64,
    pub wall_time_limit: f64,
    pub memory_limit: i64,
    pub stack_limit: i64,
    pub max_processes_and_or_threads: i64,
    pub enable_per_process_and_thread_time_limit: bool,
    pub enable_per_process_and_thread_memory_limit: bool,
    pub max_file_size: i64,
    pub compiler_options: Option<String>,
    pub command_line_arguments: Option<String>,
    pub redirect_stderr_to_stdout: bool,
    pub callback_url: Option<String>,
    /// As the client sent it: base64 of a zip.
    pub additional_files: Option<String>,
    pub enable_network: bool,
}

impl Submission {
    pub fn status(&self) -> Status {
        Status::from_id(self.status_id).unwrap_or(Status::InternalError)
    }

    /// Records how it ended.
    pub fn finish(&mut self, outcome: RunOutcome, now_ms: i64) {
        self.status_id = outcome.status.id();
        self.stdout = outcome.stdout;
        self.stderr = outcome.stderr;
        self.compile_output = outcome.compile_output;
        self.message = outcome.message;
        self.exit_code = outcome.exit_code;
        self.exit_signal = outcome.exit_signal;
        let ran =
            outcome.status != Status::CompilationError && outcome.status != Status::InternalError;
        self.time = ran.then_some(outcome.time);
        self.wall_time = ran.then_some(outcome.wall_time);
        self.memory = ran.then_some(outcome.memory_kb);
        self.finished_at_ms = Some(now_ms);
    }

    /// Ends it as an internal error that never ran, with `message`.
    pub fn fail(&mut self, message: String, now_ms: i64) {
        self.status_id = Status::InternalError.id();
        self.message = Some(message);
        self.finished_at_ms = Some(now_ms);
    }

    /// As seen at `now_ms`: one still waiting or running past its deadline is reported as an
    /// internal error, so nothing stays "In Queue" when the instance running it went away.
    pub fn seen_at(mut self, now_ms: i64) -> Submission {
        if self.status().is_pending() && now_ms > self.deadline_ms {
            self.fail(
                "the submission did not finish in time: the service instance running it \
                 stopped"
                    .into(),
                self.deadline_ms,
            );
        }
        self
    }

    /// The JSON of the requested fields, in Judge0's order.
    pub fn render<'a>(&'a self, fields: &'a [&'static str], base64: bool) -> Rendered<'a> {
        Rendered {
            submission: self,
            fields,
            base64,
        }
    }

    fn field(&self, name: &str, base64: bool) -> Value {
        let text = |value: &Option<String>| match value {
            None => Value::Null,
            Some(text) if base64 && ENCODED_FIELDS.contains(&name) => {
                Value::String(ruby_base64(text.as_bytes()))
            }
            Some(text) => Value::String(text.clone()),
        };
        match name {
            "source_code" => text(&Some(self.source_code.clone())),
            "language_id" => json!(self.language_id),
            "stdin" => text(&self.stdin),
            "expected_output" => text(&self.expected_output),
            "stdout" => text(&self.stdout),
            "status_id" => json!(self.status_id),
            "created_at" => json!(timestamp(self.created_at_ms)),
            "finished_at" => json!(self.finished_at_ms.map(timestamp)),
            "time" => json!(self.time.map(decimal)),
            "memory" => json!(self.memory),
            "stderr" => text(&self.stderr),
            "token" => json!(self.token),
            "number_of_runs" => json!(self.number_of_runs),
            "cpu_time_limit" => json!(decimal(self.cpu_time_limit)),
            "cpu_extra_time" => json!(decimal(self.cpu_extra_time)),
            "wall_time_limit" => json!(decimal(self.wall_time_limit)),
            "memory_limit" => json!(self.memory_limit),
            "stack_limit" => json!(self.stack_limit),
            "max_processes_and_or_threads" => json!(self.max_processes_and_or_threads),
            "enable_per_process_and_thread_time_limit" => {
                json!(self.enable_per_process_and_thread_time_limit)
            }
            "enable_per_process_and_thread_memory_limit" => {
                json!(self.enable_per_process_and_thread_memory_limit)
            }
            "max_file_size" => json!(self.max_file_size),
            "compile_output" => text(&self.compile_output),
            "exit_code" => json!(self.exit_code),
            "exit_signal" => json!(self.exit_signal),
            "message" => text(&self.message),
            "wall_time" => json!(self.wall_time.map(decimal)),
            "compiler_options" => json!(self.compiler_options),
            "command_line_arguments" => json!(self.command_line_arguments),
            "redirect_stderr_to_stdout" => json!(self.redirect_stderr_to_stdout),
            "callback_url" => json!(self.callback_url),
            "additional_files" => json!(self.additional_files),
            "enable_network" => json!(self.enable_network),
            "status" => json!(StatusBody::from(self.status())),
            "language" => json!({ "id": self.language_id, "name": self.language_name }),
            _ => Value::Null,
        }
    }
}

/// A submission's requested fields, serialized in order.
pub struct Rendered<'a> {
    submission: &'a Submission,
    fields: &'a [&'static str],
    base64: bool,
}

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for field in self.fields {
            map.serialize_entry(field, &self.submission.field(field, self.base64))?;
        }
        map.end()
    }
}

/// Judge0's decimals: a string in seconds, as Rails writes a BigDecimal ("0.012", "5.0").
pub fn decimal(seconds: f64) -> String {
    let rounded = (seconds * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.1}")
    } else {
        format!("{rounded}")
    }
}

/// `2024-04-03T05:40:51.306Z`.
pub fn timestamp(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Ruby's `Base64.encode64`, which Judge0 uses: a newline after every 60 characters and at
/// the end.
pub fn ruby_base64(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for chunk in encoded.as_bytes().chunks(60) {
        wrapped.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        wrapped.push('\n');
    }
    wrapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_fields_the_default_set_is_given_and_star_gives_all() {
        assert_eq!(requested_fields(None).unwrap(), DEFAULT_FIELDS);
        assert_eq!(requested_fields(Some("*")).unwrap(), ALL_FIELDS);
        assert_eq!(
            requested_fields(Some("stdout, token,stdout")).unwrap(),
            ["stdout", "token"]
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        assert_eq!(
            requested_fields(Some("token,started_at,x")),
            Err(InvalidFields(vec!["started_at".into(), "x".into()]))
        );
    }

    #[test]
    fn decimals_are_strings_in_seconds_like_rails_writes_them() {
        assert_eq!(decimal(5.0), "5.0");
        assert_eq!(decimal(0.012), "0.012");
        assert_eq!(decimal(0.0124), "0.012");
        assert_eq!(decimal(1.5), "1.5");
    }

    #[test]
    fn timestamps_have_milliseconds_and_a_z() {
        assert_eq!(timestamp(1_712_122_851_306), "2024-04-03T05:40:51.306Z");
        assert_eq!(timestamp(1_712_122_851_000), "2024-04-03T05:40:51.000Z");
    }

    fn pending(deadline_ms: i64) -> Submission {
        serde_json::from_value(json!({
            "token": "t", "source_code": "", "language_id": 71, "language_name": "Python",
            "stdin": null, "expected_output": null, "status_id": 2,
            "created_at_ms": 0, "finished_at_ms": null, "deadline_ms": deadline_ms,
            "stdout": null, "stderr": null, "compile_output": null, "message": null,
            "exit_code": null, "exit_signal": null, "time": null, "wall_time": null,
            "memory": null, "number_of_runs": 1, "cpu_time_limit": 5.0, "cpu_extra_time": 0.0,
            "wall_time_limit": 5.0, "memory_limit": 1024, "stack_limit": 64000,
            "max_processes_and_or_threads": 60,
            "enable_per_process_and_thread_time_limit": false,
            "enable_per_process_and_thread_memory_limit": false, "max_file_size": 1024,
            "compiler_options": null, "command_line_arguments": null,
            "redirect_stderr_to_stdout": false, "callback_url": null,
            "additional_files": null, "enable_network": false
        }))
        .unwrap()
    }

    #[test]
    fn a_submission_pending_past_its_deadline_reads_as_an_internal_error() {
        let running = pending(1000).seen_at(999);
        assert_eq!(running.status(), Status::Processing);
        let abandoned = pending(1000).seen_at(1001);
        assert_eq!(abandoned.status(), Status::InternalError);
        assert!(abandoned.message.is_some());
        assert_eq!(abandoned.finished_at_ms, Some(1000));
    }

    #[test]
    fn rendering_keeps_judge0_s_order_and_encodes_only_text_fields() {
        let mut submission = pending(0);
        submission.stdout = Some("hi".into());
        let rendered = serde_json::to_string(&submission.render(&DEFAULT_FIELDS, true)).unwrap();
        assert_eq!(
            rendered,
            r#"{"token":"t","time":null,"memory":null,"stdout":"aGk=\n","stderr":null,"compile_output":null,"message":null,"status":{"id":2,"description":"Processing"}}"#
        );
    }

    #[test]
    fn base64_is_wrapped_as_ruby_does() {
        assert_eq!(ruby_base64(b"hi"), "aGk=\n");
        let long = ruby_base64(&[b'a'; 60]);
        let lines: Vec<&str> = long.lines().collect();
        assert_eq!(lines[0].len(), 60);
        assert_eq!(lines.len(), 2);
        assert!(long.ends_with('\n'));
    }
}
