//! Piston's interactive protocol, at `/piston/api/v2/connect` and `/api/v2/piston/connect`: a
//! dialect of [`crate::interactive::session`].
//!
//! The client sends `{"type": "init", ...}` with the fields of Piston's `execute`, then
//! `{"type": "data", "stream": "stdin", "data": "..."}` and `{"type": "signal", "signal":
//! "SIGINT"}`; other types are ignored, as Piston ignores them. The service answers `runtime`
//! once the job is accepted, `stage` as each stage starts, `data` as the program writes, `exit`
//! as each stage ends, and closes with 4999 "Job Completed". Piston's close codes otherwise:
//! 4000 a second `init`, 4001 no `init` in time, 4002 after an `error` message (a job that is
//! not valid or could not run), 4003 input before `init`, 4004 data for another stream than
//! stdin, 4005 a signal Piston does not know. Where Piston waits 1 s for `init`, we wait
//! `server.interactive_idle_secs`, and a session quiet that long is ended too (4002).

use actix_web::{web, HttpRequest, HttpResponse};
use codeexec_engine::{Execution, JobSpec};
use codeexec_protocol::stream::{OutputStream, StageName, StreamEvent, StreamInput};
use serde::Serialize;
use serde_json::Value;

use super::handlers::{current_runtimes, PREFIXES};
use super::job::{job_from_body, JobContext};
use super::runtimes::Runtime;
use super::stage::{ExecuteAnswer, Stage};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::interactive::session::{ClientMessage, Close, Dialect, Ending};
use crate::interactive::{self, signal};

/// Adds the connect route under each of Piston's prefixes.
pub fn configure(config: &mut web::ServiceConfig) {
    for path in paths() {
        config.service(interactive::handshake_route(&path).to(connect));
    }
}

/// Where the connect route is: under each of Piston's prefixes.
pub fn paths() -> impl Iterator<Item = String> {
    PREFIXES.iter().map(|prefix| format!("{prefix}/connect"))
}

/// A WebSocket session in Piston's dialect.
async fn connect(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let runtimes = current_runtimes(&state).await;
    let dialect = PistonSession {
        runtimes,
        runtime: None,
        compiled: false,
    };
    interactive::open(dialect, state, request, body).await
}

/// One session's state: the runtimes it may ask for, the one it got, and whether a compile stage
/// has been reported as ended.
struct PistonSession {
    runtimes: Vec<Runtime>,
    runtime: Option<Runtime>,
    compiled: bool,
}

/// A message to the client.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Outgoing<'a> {
    Runtime {
        language: &'a str,
        version: String,
    },
    Stage {
        stage: StageName,
    },
    Data {
        stream: OutputStream,
        data: &'a str,
    },
    Exit {
        stage: StageName,
        code: Option<i32>,
        signal: Option<&'a str>,
    },
    Error {
        message: String,
    },
}

impl Outgoing<'_> {
    fn text(&self) -> String {
        // Every field serializes; the fallback is never taken.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn closing(code: u16, reason: &str) -> Ending {
    Ending {
        messages: Vec::new(),
        close: Close::new(code, reason),
    }
}

/// An `error` message, then 4002, as Piston ends a session on an error.
fn notified(message: String) -> Ending {
    Ending {
        messages: vec![Outgoing::Error { message }.text()],
        close: Close::new(4002, "Notified Error"),
    }
}

fn exit(stage: StageName, reported: &Stage) -> String {
    Outgoing::Exit {
        stage,
        code: reported.code,
        signal: reported.signal,
    }
    .text()
}

impl Dialect for PistonSession {
    fn start(
        &mut self,
        text: &str,
        state: &AppState,
    ) -> Result<Option<(JobSpec, Vec<String>)>, Ending> {
        let message: Value =
            serde_json::from_str(text).map_err(|error| notified(error.to_string()))?;
        match message.get("type").and_then(Value::as_str) {
            Some("init") => {}
            Some("data" | "signal") => return Err(closing(4003, "Not yet Initialized")),
            _ => return Ok(None),
        }
        let context = JobContext {
            runtimes: &self.runtimes,
            registry: &state.registry,
            limits: &state.settings.limits,
        };
        let mut job = job_from_body(&message, &context).map_err(notified)?;
        // `execute` ends its stdin with a newline, as Piston does; a session's stdin is what
        // the client gives, and more comes as it types.
        let given = message
            .get("stdin")
            .and_then(Value::as_str)
            .unwrap_or_default();
        job.spec.stdin = given.to_string();
        let greeting = Outgoing::Runtime {
            language: job.runtime.language,
            version: job.runtime.version.to_string(),
        }
        .text();
        self.runtime = Some(job.runtime);
        Ok(Some((job.spec, vec![greeting])))
    }

    fn input(&mut self, text: &str) -> Result<ClientMessage, Ending> {
        let message: Value =
            serde_json::from_str(text).map_err(|error| notified(error.to_string()))?;
        let field = |name: &str| message.get(name).and_then(Value::as_str);
        match field("type") {
            Some("init") => Err(closing(4000, "Already Initialized")),
            Some("data") if field("stream") == Some("stdin") => {
                let data = field("data").unwrap_or_default().to_string();
                Ok(ClientMessage::Input(StreamInput::Stdin { data }))
            }
            Some("data") => Err(closing(4004, "Can only write to stdin")),
            Some("signal") => match field("signal").and_then(signal::number) {
                // Piston names signals in full (`SIGINT`); so must its clients.
                Some(number) if field("signal").is_some_and(|name| name.starts_with("SIG")) => {
                    Ok(ClientMessage::Input(StreamInput::Signal { signal: number }))
                }
                _ => Err(closing(4005, "Invalid signal")),
            },
            _ => Ok(ClientMessage::Nothing),
        }
    }

    fn event(&mut self, event: StreamEvent) -> Vec<String> {
        match &event {
            StreamEvent::Stage { stage } => {
                let mut messages = Vec::new();
                // The run stage starts only after a compile stage that succeeded.
                if *stage == StageName::Run && !self.compiled && self.has_compile_stage() {
                    self.compiled = true;
                    let compiled = Outgoing::Exit {
                        stage: StageName::Compile,
                        code: Some(0),
                        signal: None,
                    };
                    messages.push(compiled.text());
                }
                messages.push(Outgoing::Stage { stage: *stage }.text());
                messages
            }
            StreamEvent::Output { stream, data } => vec![Outgoing::Data {
                stream: *stream,
                data,
            }
            .text()],
            StreamEvent::Result(_) => Vec::new(),
        }
    }

    fn finished(&mut self, outcome: Result<Execution, ApiError>) -> Ending {
        let (execution, runtime) = match (outcome, &self.runtime) {
            (Ok(execution), Some(runtime)) => (execution, runtime),
            (Err(error), _) => return notified(error.to_string()),
            (Ok(_), None) => return notified("the job ran without a runtime".into()),
        };
        let answer = ExecuteAnswer::new(runtime, &execution);
        let mut messages = Vec::new();
        match (&answer.compile, execution.run.is_some()) {
            // A compile stage that failed is the last one.
            (Some(compile), false) => messages.push(exit(StageName::Compile, compile)),
            (_, true) => messages.push(exit(StageName::Run, &answer.run)),
            // No stage ran: the job failed inside the service.
            (None, false) => {
                let why = answer.run.message.clone().unwrap_or_default();
                return notified(why);
            }
        }
        Ending {
            messages,
            close: Close::new(4999, "Job Completed"),
        }
    }

    fn idle(&self, started: bool, secs: u64) -> Ending {
        if started {
            notified(format!("no message either way for {secs} s"))
        } else {
            closing(4001, "Initialization Timeout")
        }
    }

    fn binary(&self) -> Ending {
        notified("messages are JSON text, not binary".into())
    }
}

impl PistonSession {
    fn has_compile_stage(&self) -> bool {
        self.runtime
            .as_ref()
            .is_some_and(|runtime| !runtime.ours.settings.compile.is_empty())
    }
}
