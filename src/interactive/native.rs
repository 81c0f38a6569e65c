//! Our own interactive dialect, at `/api/v1/connect`. Every message is a JSON text message.
//!
//! The client's first message is the job, exactly as `/api/v1/execute` (`code`) or
//! `/api/v2/execute` (`files`) takes it. Then, while it runs: `{"type": "stdin", "data": "..."}`,
//! `{"type": "stdin_end"}`, and `{"type": "signal", "signal": "SIGINT"}` (a name, or a number).
//! The service sends `{"type": "stage", "stage": "compile" | "run"}`,
//! `{"type": "stdout" | "stderr", "data": "..."}` as the program writes, and last
//! `{"type": "result", ...}` with the same fields as `/api/v1/execute`'s answer, then closes
//! with 1000. A job refused or a message not understood gets `{"type": "error", "status": ...,
//! "errorMessage": "..."}` with the HTTP status the same refusal gets from `/api/v1/execute`,
//! and the close code 4000 + that status (4400, 4408, 4429, 4503, ...).

use actix_web::ResponseError;
use codeexec_engine::{Execution, JobSpec};
use codeexec_protocol::stream::{OutputStream, StageName, StreamEvent, StreamInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::session::{ClientMessage, Close, Dialect, Ending};
use super::signal;
use crate::api::error::{shortened, ApiError};
use crate::api::request::{ExecuteRequest, ExecuteV1, ExecuteV2};
use crate::api::response::ExecuteResponse;
use crate::api::AppState;

/// The normal end of a session: the result was sent.
const FINISHED: u16 = 1000;

/// Our dialect; it keeps no state between messages.
pub struct Native;

/// A message from the client after the first.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Incoming {
    Stdin { data: String },
    StdinEnd,
    Signal { signal: SignalName },
}

/// A signal by name or by number.
#[derive(Deserialize)]
#[serde(untagged)]
enum SignalName {
    Number(i32),
    Name(String),
}

/// A message to the client.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Outgoing<'a> {
    Stage {
        stage: StageName,
    },
    Stdout {
        data: &'a str,
    },
    Stderr {
        data: &'a str,
    },
    Result(Box<ExecuteResponse>),
    #[serde(rename_all = "camelCase")]
    Error {
        status: u16,
        succeeded: bool,
        error_message: String,
    },
}

impl Outgoing<'_> {
    fn text(&self) -> String {
        // Every field serializes; the fallback is never taken.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The session ends with `error`: its message, then the close 4000 + its HTTP status.
fn refused(error: &ApiError) -> Ending {
    let status = error.status_code().as_u16();
    let error_message = shortened(error.to_string());
    let close = Close::new(4000 + status, error_message.clone());
    let message = Outgoing::Error {
        status,
        succeeded: false,
        error_message,
    };
    Ending {
        messages: vec![message.text()],
        close,
    }
}

fn bad(message: impl Into<String>) -> Ending {
    refused(&ApiError::BadRequest(message.into()))
}

impl Dialect for Native {
    fn start(
        &mut self,
        text: &str,
        state: &AppState,
    ) -> Result<Option<(JobSpec, Vec<String>)>, Ending> {
        let body: Value = serde_json::from_str(text)
            .map_err(|error| bad(format!("the first message must be a JSON job: {error}")))?;
        let limits = &state.settings.limits;
        let validated = if body.get("files").is_some() {
            parse::<ExecuteV2>(body)?.validate(&state.registry, limits)
        } else {
            parse::<ExecuteV1>(body)?.validate(&state.registry, limits)
        };
        let spec = validated.map_err(|invalid| refused(&invalid.into()))?;
        Ok(Some((spec, Vec::new())))
    }

    fn input(&mut self, text: &str) -> Result<ClientMessage, Ending> {
        let message: Incoming = serde_json::from_str(text).map_err(|error| {
            bad(format!(
                "a message while the job runs is {{\"type\": \"stdin\", \"data\": ...}}, \
                 {{\"type\": \"stdin_end\"}} or {{\"type\": \"signal\", \"signal\": ...}}: {error}"
            ))
        })?;
        let input = match message {
            Incoming::Stdin { data } => StreamInput::Stdin { data },
            Incoming::StdinEnd => StreamInput::StdinEnd,
            Incoming::Signal { signal } => {
                let number = match signal {
                    SignalName::Number(number) => signal::name(number).map(|_| number),
                    SignalName::Name(name) => signal::number(&name),
                };
                let signal = number
                    .ok_or_else(|| bad("signal must name a signal, or be its number, 1 to 31"))?;
                StreamInput::Signal { signal }
            }
        };
        Ok(ClientMessage::Input(input))
    }

    fn event(&mut self, event: StreamEvent) -> Vec<String> {
        let message = match &event {
            StreamEvent::Stage { stage } => Outgoing::Stage { stage: *stage },
            StreamEvent::Output {
                stream: OutputStream::Stdout,
                data,
            } => Outgoing::Stdout { data },
            StreamEvent::Output {
                stream: OutputStream::Stderr,
                data,
            } => Outgoing::Stderr { data },
            // The result comes as the job's, in `finished`.
            StreamEvent::Result(_) => return Vec::new(),
        };
        vec![message.text()]
    }

    fn finished(&mut self, outcome: Result<Execution, ApiError>) -> Ending {
        match outcome {
            Ok(execution) => Ending {
                messages: vec![Outgoing::Result(Box::new(ExecuteResponse::from(execution))).text()],
                close: Close::new(FINISHED, "finished"),
            },
            Err(error) => refused(&error),
        }
    }

    fn idle(&self, started: bool, secs: u64) -> Ending {
        let what = if started {
            format!("no message either way for {secs} s")
        } else {
            format!("no job within {secs} s of connecting")
        };
        let message = Outgoing::Error {
            status: 408,
            succeeded: false,
            error_message: format!("the session ended: {what}"),
        };
        Ending {
            messages: vec![message.text()],
            close: Close::new(4408, what),
        }
    }

    fn binary(&self) -> Ending {
        bad("messages are JSON text, not binary")
    }
}

/// The first message as one of the execute bodies.
fn parse<T: ExecuteRequest>(body: Value) -> Result<T, Ending> {
    serde_json::from_value(body).map_err(|error| bad(format!("invalid job: {error}")))
}
