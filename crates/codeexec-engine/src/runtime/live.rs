//! The engine's side of an interactive job (see [`codeexec_protocol::stream`]), whatever link
//! reaches the runner: the frame goes first, then the client's input as it comes, while the
//! runner's stage starts and output are passed on as they come, until its result.

use codeexec_protocol::stream::{StreamEvent, StreamInput};
use codeexec_protocol::{JobFrame, ResultFrame};
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, LinesCodec};

/// The runner's result is at most a few times the output caps; a longer line is not a message.
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// An interactive job's client, as the engine sees it.
#[derive(Debug)]
pub struct LiveIo {
    /// What the client sends. When it closes, the program's stdin ends. Unbounded, so that the
    /// client's input never waits on the runner while the runner's events wait on the client:
    /// the sender bounds what it queues.
    pub input: mpsc::UnboundedReceiver<StreamInput>,
    /// The runner's [`StreamEvent::Stage`] and [`StreamEvent::Output`] events, as they come (the
    /// result comes as the job's). Waiting for room here holds the program's output back.
    pub events: mpsc::Sender<StreamEvent>,
}

/// Sends `frame` (which must be marked interactive) on `writer`, then the client's input, and
/// passes the runner's events from `reader` on until its result.
pub async fn exchange(
    mut writer: impl AsyncWrite + Unpin,
    reader: impl AsyncRead + Unpin,
    frame: &JobFrame,
    io: LiveIo,
) -> Result<ResultFrame, String> {
    let sent = async {
        writer.write_all(&line(frame)?).await?;
        writer.flush().await
    };
    sent.await
        .map_err(|error| format!("could not send the job to the runner: {error}"))?;
    let mut lines = FramedRead::new(reader, LinesCodec::new_with_max_length(MAX_MESSAGE_BYTES));
    let LiveIo { mut input, events } = io;
    let mut input_open = true;
    loop {
        tokio::select! {
            message = input.recv(), if input_open => match message {
                // A runner that cannot take input has ended, or is ending: its result, or the
                // lack of one, comes on the other side.
                Some(message) => {
                    if let Ok(bytes) = line(&message) {
                        let _ = writer.write_all(&bytes).await;
                    }
                }
                None => {
                    input_open = false;
                    let _ = writer.shutdown().await;
                }
            },
            received = lines.next() => {
                let text = match received {
                    Some(Ok(text)) => text,
                    Some(Err(error)) => return Err(format!("lost the runner's link: {error}")),
                    None => return Err("the container exited without a result.".to_string()),
                };
                match serde_json::from_str::<StreamEvent>(&text) {
                    Ok(StreamEvent::Result(result)) => return Ok(result),
                    // A client that is gone still lets the job end as it would.
                    Ok(event) => {
                        let _ = events.send(event).await;
                    }
                    Err(_) => return Err("the runner sent a message that could not be read".into()),
                }
            }
        }
    }
}

/// One message as a line of JSON.
fn line(message: &impl serde::Serialize) -> std::io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(message)?;
    bytes.push(b'\n');
    Ok(bytes)
}
