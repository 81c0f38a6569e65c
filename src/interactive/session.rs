//! One interactive session over a WebSocket, whatever the dialect of its messages (ours, or
//! Piston's): the first message asks for the job, which then runs in the engine as any other
//! (admission, limits, deadline), while the client's input goes to the program and the program's
//! stage starts and output come back as they happen; the result ends the session.
//!
//! The session ends early, and its job with it (the container is removed), when the client
//! closes or drops the connection, sends what the dialect refuses, or sends nothing and gets
//! nothing for `server.interactive_idle_secs`, or does not take what it is sent within that time.
//! Messages are bounded by `server.max_body_bytes`, and so is all the input a session may send.
//! The client's input never waits for the runner (it is queued, within that bound), so a client
//! typing while its program writes cannot stall both.

use std::time::{Duration, Instant};

use actix_web::web;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use codeexec_engine::{Execution, JobSpec, LiveIo};
use codeexec_protocol::stream::{StreamEvent, StreamInput};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::api::error::ApiError;
use crate::api::rate_limit::Admitted;
use crate::api::AppState;

/// Runner events waiting for the client's connection to take them; past it the program's output
/// waits, as it would on a slow terminal.
const EVENT_QUEUE: usize = 16;
/// What a client message other than stdin counts against the session's input budget (the
/// stdin it may type), so that neither kind can pile up without end.
const MESSAGE_COST: usize = 64;
/// How long the last messages and the close may take to be taken.
const END_WAIT_SECS: u64 = 10;

/// How a session ends: a WebSocket close code and its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

impl Close {
    pub fn new(code: u16, reason: impl Into<String>) -> Close {
        Close {
            code,
            reason: reason.into(),
        }
    }
}

/// The session ends here: these text messages go first, then the close.
#[derive(Debug)]
pub struct Ending {
    pub messages: Vec<String>,
    pub close: Close,
}

/// A client message the dialect understood.
pub enum ClientMessage {
    /// For the runner.
    Input(StreamInput),
    /// Nothing to do (a message the dialect ignores).
    Nothing,
}

/// What a dialect decides: the meaning of each message either way.
pub trait Dialect: 'static {
    /// A message before the job: the job it asks for, with the messages that greet it; `None`
    /// for a message the dialect ignores while it waits for the job; or why the session ends.
    fn start(
        &mut self,
        text: &str,
        state: &AppState,
    ) -> Result<Option<(JobSpec, Vec<String>)>, Ending>;

    /// A later message.
    fn input(&mut self, text: &str) -> Result<ClientMessage, Ending>;

    /// A runner event, as messages.
    fn event(&mut self, event: StreamEvent) -> Vec<String>;

    /// The job's end: its result, or why it did not run.
    fn finished(&mut self, outcome: Result<Execution, ApiError>) -> Ending;

    /// A session whose first message did not come in time, or stayed quiet too long after.
    fn idle(&self, started: bool, secs: u64) -> Ending;

    /// A binary message, which no dialect takes.
    fn binary(&self) -> Ending;
}

/// Runs one session to its end. `admitted` holds the client's place under its in-flight cap
/// for as long as the session lasts.
pub async fn run(
    mut dialect: impl Dialect,
    state: web::Data<AppState>,
    mut session: Session,
    mut messages: AggregatedMessageStream,
    admitted: Admitted,
) {
    let idle_secs = state.settings.server.interactive_idle_secs;
    let idle = Duration::from_secs(idle_secs);
    let waiting_until = tokio::time::Instant::now() + idle;
    let (spec, greeting, received) = loop {
        let next = next_text(&mut messages, &mut session);
        let text = match tokio::time::timeout_at(waiting_until, next).await {
            Ok(Incoming::Text(text)) => text,
            Ok(Incoming::Binary) => return end(session, dialect.binary()).await,
            Ok(Incoming::Gone) => return,
            Err(_) => return end(session, dialect.idle(false, idle_secs)).await,
        };
        let received = Instant::now();
        match dialect.start(&text, &state) {
            Ok(Some((spec, greeting))) => break (spec, greeting, received),
            Ok(None) => {}
            Err(ending) => {
                count_refusal(&state, &ApiError::BadRequest(String::new()));
                return end(session, ending).await;
            }
        }
    };
    if !deliver(&mut session, greeting, idle).await {
        return;
    }
    let (input_sender, input) = mpsc::unbounded_channel();
    let (events_sender, mut events) = mpsc::channel(EVENT_QUEUE);
    let live = LiveIo {
        input,
        events: events_sender,
    };
    let span = tracing::info_span!(
        "job",
        jobId = %spec.id,
        language = %spec.language.name,
        interactive = true
    );
    let job = state
        .engine
        .execute_live(spec, received, live)
        .instrument(span);
    tokio::pin!(job);
    let input_budget = state.settings.server.max_body_bytes;
    let mut input_spent = 0;
    let mut quiet_until = tokio::time::Instant::now() + idle;
    let outcome = loop {
        tokio::select! {
            biased;
            Some(event) = events.recv() => {
                if !deliver(&mut session, dialect.event(event), idle).await {
                    return;
                }
                quiet_until = tokio::time::Instant::now() + idle;
            }
            outcome = &mut job => break outcome,
            incoming = next_text(&mut messages, &mut session) => {
                let text = match incoming {
                    Incoming::Text(text) => text,
                    Incoming::Binary => return end(session, dialect.binary()).await,
                    // The job goes with this future, and its container with the job.
                    Incoming::Gone => return,
                };
                match dialect.input(&text) {
                    Ok(ClientMessage::Input(input)) => {
                        input_spent += match &input {
                            StreamInput::Stdin { data } => data.len().max(MESSAGE_COST),
                            _ => MESSAGE_COST,
                        };
                        if input_spent > input_budget {
                            return end(session, too_much_input(input_budget)).await;
                        }
                        // The runner takes input until it ends; after that it goes nowhere.
                        let _ = input_sender.send(input);
                    }
                    Ok(ClientMessage::Nothing) => {}
                    Err(ending) => return end(session, ending).await,
                }
                quiet_until = tokio::time::Instant::now() + idle;
            }
            () = tokio::time::sleep_until(quiet_until) => {
                return end(session, dialect.idle(true, idle_secs)).await;
            }
        }
    };
    // Every event was queued before the result was read.
    while let Ok(event) = events.try_recv() {
        if !deliver(&mut session, dialect.event(event), idle).await {
            return;
        }
    }
    let outcome = outcome.map_err(ApiError::from);
    match &outcome {
        Ok(execution) => state.execution_log.record(execution),
        Err(refused) => count_refusal(&state, refused),
    }
    let ending = dialect.finished(outcome);
    drop(admitted);
    end(session, ending).await;
}

/// What the client did next.
enum Incoming {
    Text(String),
    Binary,
    /// It closed, or the connection broke.
    Gone,
}

/// The client's next text or binary message; pings are answered on the way.
async fn next_text(messages: &mut AggregatedMessageStream, session: &mut Session) -> Incoming {
    while let Some(message) = messages.next().await {
        match message {
            Ok(AggregatedMessage::Text(text)) => return Incoming::Text(text.to_string()),
            Ok(AggregatedMessage::Binary(_)) => return Incoming::Binary,
            Ok(AggregatedMessage::Ping(bytes)) => {
                if session.pong(&bytes).await.is_err() {
                    return Incoming::Gone;
                }
            }
            Ok(AggregatedMessage::Pong(_)) => {}
            Ok(AggregatedMessage::Close(_)) | Err(_) => return Incoming::Gone,
        }
    }
    Incoming::Gone
}

/// Sends `messages`; false when the client is gone or has not taken one within `wait` (it is
/// then let go, and its job with it).
async fn deliver(session: &mut Session, messages: Vec<String>, wait: Duration) -> bool {
    for message in messages {
        match tokio::time::timeout(wait, session.text(message)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return false,
        }
    }
    true
}

/// The close of a session that sent more input than a request body may hold.
fn too_much_input(budget: usize) -> Ending {
    Ending {
        messages: Vec::new(),
        close: Close::new(1009, format!("more than {budget} bytes of input")),
    }
}

/// Sends the ending's messages, then closes; a client that does not take them within
/// [`END_WAIT_SECS`] is let go without.
async fn end(mut session: Session, ending: Ending) {
    let wait = Duration::from_secs(END_WAIT_SECS);
    if !deliver(&mut session, ending.messages, wait).await {
        return;
    }
    let reason = CloseReason {
        code: CloseCode::from(ending.close.code),
        description: Some(within_close_frame(ending.close.reason)),
    };
    let _ = tokio::time::timeout(wait, session.close(Some(reason))).await;
}

/// A close frame's reason has room for 123 bytes; a longer one is cut on a character boundary
/// (dialects send the whole message first).
fn within_close_frame(mut reason: String) -> String {
    const ROOM: usize = 123;
    reason.truncate(reason.floor_char_boundary(ROOM));
    reason
}

/// Counts a job refused before it ran, as the HTTP metrics count a refused request.
fn count_refusal(state: &AppState, refused: &ApiError) {
    if let Some(rejection) = refused.rejection() {
        state
            .metrics
            .rejected_total
            .with_label_values(&[rejection.label()])
            .inc();
    }
}
