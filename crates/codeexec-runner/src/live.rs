//! An interactive job's session in the runner (see [`codeexec_protocol::stream`]): the engine's
//! input read in a thread of its own while the stages run, and the stages' events written back
//! as they happen.
//!
//! Stdin text waits in a queue until the run stage takes it (a compile stage reads /dev/null);
//! a signal goes to whichever stage's process group runs at the time, and to nobody between
//! stages. Output is sent as the capture threads read it, so only what the output cap keeps is
//! ever sent; a UTF-8 character split between two reads is sent whole, with the second.

use std::io::{BufRead, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use codeexec_protocol::stream::{OutputStream, StageName, StreamEvent, StreamInput, MAX_SIGNAL};
use codeexec_protocol::{ResultFrame, StageReport};

use crate::group::ProcessGroup;

/// Where the events go: the channel's connection, or the runner's stdout.
type Events = Arc<Mutex<Box<dyn Write + Send>>>;

/// The stage whose process group takes signals now.
type Current = Arc<Mutex<Option<Arc<ProcessGroup>>>>;

/// One interactive job's two directions.
pub struct Live {
    events: Events,
    stdin: Mutex<Option<Receiver<Vec<u8>>>>,
    current: Current,
}

impl Live {
    /// Starts reading the engine's input (the rest of the stream the frame came on) in the
    /// background; events are written to `events`.
    pub fn start(input: Box<dyn BufRead + Send>, events: Box<dyn Write + Send>) -> Live {
        let (stdin_sender, stdin) = mpsc::channel();
        let current: Current = Arc::default();
        let signals = Arc::clone(&current);
        // Without a thread the input is dropped unread: the program's stdin ends at once and
        // signals are not delivered, but the job still runs and reports.
        let _ = thread::Builder::new()
            .name("input".into())
            .spawn(move || read_input(input, stdin_sender, &signals));
        Live {
            events: Arc::new(Mutex::new(events)),
            stdin: Mutex::new(Some(stdin)),
            current,
        }
    }

    /// Says that `stage` starts.
    pub fn stage(&self, stage: StageName) {
        send(&self.events, &StreamEvent::Stage { stage });
    }

    /// Sends signals to `group` from now on: the stage it leads has started.
    pub fn signals_to(&self, group: &Arc<ProcessGroup>) {
        *lock(&self.current) = Some(Arc::clone(group));
    }

    /// The queue of the program's stdin, for the first stage that feeds one (the run stage).
    pub fn take_stdin(&self) -> Option<Receiver<Vec<u8>>> {
        lock(&self.stdin).take()
    }

    /// A sink for one of the current stage's streams, sending what it is given as it comes.
    pub fn output(&self, stream: OutputStream) -> LiveOutput {
        LiveOutput {
            events: Arc::clone(&self.events),
            stream,
            pending: Vec::new(),
        }
    }

    /// Sends a stage's output after the fact: for a compile stage served by a pre-started
    /// runtime, whose compiler's diagnostics come in its report.
    pub fn replay(&self, report: &StageReport) {
        for (stream, text) in [
            (OutputStream::Stdout, &report.stdout),
            (OutputStream::Stderr, &report.stderr),
        ] {
            if !text.is_empty() {
                let data = text.clone();
                send(&self.events, &StreamEvent::Output { stream, data });
            }
        }
    }

    /// Sends the result, the session's last message, and stops signalling.
    pub fn finish(self, result: ResultFrame) {
        lock(&self.current).take();
        send(&self.events, &StreamEvent::Result(result));
    }
}

/// Output of one stream on its way to the engine. Bytes that end in the middle of a UTF-8
/// character wait for the rest; whatever still waits when the sink is dropped (the stream
/// ended) is sent as it is, converted lossily.
pub struct LiveOutput {
    events: Events,
    stream: OutputStream,
    pending: Vec<u8>,
}

impl LiveOutput {
    /// Sends `bytes`, or as much of them as forms whole characters.
    pub fn write(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let data = take_whole_characters(&mut self.pending);
        self.send(data);
    }

    fn send(&self, data: String) {
        if !data.is_empty() {
            let stream = self.stream;
            send(&self.events, &StreamEvent::Output { stream, data });
        }
    }
}

impl Drop for LiveOutput {
    fn drop(&mut self) {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.send(rest);
    }
}

/// Takes the text at the front of `bytes` up to a UTF-8 character that is not whole yet (which
/// stays); invalid sequences become U+FFFD as [`String::from_utf8_lossy`] makes them.
fn take_whole_characters(bytes: &mut Vec<u8>) -> String {
    let mut text = String::new();
    let mut rest: &[u8] = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                rest = &[];
                break;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                // The prefix was just checked; the fallback is never taken.
                text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match error.error_len() {
                    Some(invalid) => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        rest = &after[invalid..];
                    }
                    None => {
                        rest = after;
                        break;
                    }
                }
            }
        }
    }
    let kept = rest.len();
    bytes.drain(..bytes.len() - kept);
    text
}

/// Writes one event as a line. A failed write means the engine is gone, and with it the job:
/// the container is being removed, so there is no one to tell.
fn send(events: &Events, event: &StreamEvent) {
    let Ok(mut line) = serde_json::to_vec(event) else {
        return;
    };
    line.push(b'\n');
    let mut events = lock(events);
    let _ = events.write_all(&line).and_then(|()| events.flush());
}

/// Reads the engine's messages until it closes its side, which ends the program's stdin too.
fn read_input(mut input: Box<dyn BufRead + Send>, stdin: Sender<Vec<u8>>, current: &Current) {
    let mut stdin = Some(stdin);
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        match serde_json::from_slice::<StreamInput>(&line) {
            Ok(StreamInput::Stdin { data }) => {
                if let Some(stdin) = &stdin {
                    let _ = stdin.send(data.into_bytes());
                }
            }
            Ok(StreamInput::StdinEnd) => stdin = None,
            Ok(StreamInput::Signal { signal }) if (1..=MAX_SIGNAL).contains(&signal) => {
                if let Some(group) = lock(current).as_ref() {
                    group.send(signal);
                }
            }
            _ => eprintln!("codeexec-runner: ignored an input message it cannot read"),
        }
    }
}

/// A poisoned lock only means a thread panicked while holding it; what it guards is still good.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_between_reads_waits_for_its_end() {
        let euro = "€".as_bytes();
        let mut pending = b"a".to_vec();
        pending.extend_from_slice(&euro[..2]);
        assert_eq!(take_whole_characters(&mut pending), "a");
        assert_eq!(pending, &euro[..2]);
        pending.extend_from_slice(&euro[2..]);
        pending.push(b'b');
        assert_eq!(take_whole_characters(&mut pending), "€b");
        assert!(pending.is_empty());
    }

    #[test]
    fn invalid_bytes_become_replacement_characters_as_in_the_result() {
        let bytes = b"x\xffy\xc3(".to_vec();
        let mut pending = bytes.clone();
        let text = take_whole_characters(&mut pending);
        assert_eq!(text, String::from_utf8_lossy(&bytes));
        assert!(pending.is_empty());
    }
}
