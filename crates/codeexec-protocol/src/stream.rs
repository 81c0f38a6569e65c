//! The messages of an interactive job, after its [`JobFrame`](crate::JobFrame): one JSON object
//! per line each way, tagged by `type`.
//!
//! The engine sends [`StreamInput`]s: text for the run stage's stdin (what arrives during the
//! compile stage waits for the run stage), the end of that stdin, or a signal for the running
//! stage's processes. Closing its side ends stdin too. The runner sends [`StreamEvent`]s: a
//! stage's start, its output as the program writes it (within the job's output cap: what the
//! result frame keeps is what was sent), and last the [`ResultFrame`], after which it closes.

use serde::{Deserialize, Serialize};

use crate::ResultFrame;

/// Engine to runner, while an interactive job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamInput {
    /// Text for the program's stdin.
    Stdin { data: String },
    /// The program's stdin ends (it reads end of file once what was sent is read).
    StdinEnd,
    /// A signal (its number, 1 to 31) for the running stage's process group.
    Signal { signal: i32 },
}

/// Runner to engine, while an interactive job runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// A stage starts.
    Stage { stage: StageName },
    /// Output of the current stage, as written. A chunk never splits a UTF-8 character; bytes
    /// that are not UTF-8 become U+FFFD, as in the result frame.
    Output { stream: OutputStream, data: String },
    /// The job's result: the last message.
    Result(ResultFrame),
}

/// Which stage a [`StreamEvent::Stage`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    Compile,
    Run,
}

/// Which of a program's streams a chunk of output comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// The highest signal number an interactive job may send.
pub const MAX_SIGNAL: i32 = 31;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json_objects() {
        let input = serde_json::to_string(&StreamInput::Stdin { data: "x\n".into() }).unwrap();
        assert_eq!(input, r#"{"type":"stdin","data":"x\n"}"#);
        let end = serde_json::to_string(&StreamInput::StdinEnd).unwrap();
        assert_eq!(end, r#"{"type":"stdin_end"}"#);
        let event = StreamEvent::Output {
            stream: OutputStream::Stderr,
            data: "oops".into(),
        };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(text, r#"{"type":"output","stream":"stderr","data":"oops"}"#);
    }

    #[test]
    fn the_result_event_carries_the_result_frame_inline() {
        let result = StreamEvent::Result(ResultFrame {
            compile: None,
            run: None,
            runner_error: Some("bad".into()),
        });
        let text = serde_json::to_string(&result).unwrap();
        assert_eq!(
            text,
            r#"{"type":"result","compile":null,"run":null,"runner_error":"bad"}"#
        );
        assert_eq!(serde_json::from_str::<StreamEvent>(&text).unwrap(), result);
    }
}
