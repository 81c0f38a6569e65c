//! A WebSocket client for the interactive endpoints: JSON text messages each way, every read
//! bounded in time so that a silent service fails the test instead of hanging it.

use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Longer than any test session should stay quiet.
const READ_WAIT: Duration = Duration::from_secs(60);

/// What the service sent next.
#[derive(Debug)]
pub enum Received {
    Message(Value),
    /// The service closed with this code and reason.
    Closed(u16, String),
}

pub struct Socket(WebSocket<MaybeTlsStream<TcpStream>>);

impl Socket {
    /// Opens a session at `path` of the service at `base` (`http://127.0.0.1:PORT`).
    pub fn connect(base: &str, path: &str) -> Socket {
        let url = format!("{}{path}", base.replacen("http://", "ws://", 1));
        let (socket, _) = tungstenite::connect(url.as_str()).expect("the WebSocket handshake");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(READ_WAIT)).unwrap();
        }
        Socket(socket)
    }

    pub fn send(&mut self, message: &Value) {
        self.0
            .send(Message::text(message.to_string()))
            .expect("send a message");
    }

    pub fn send_binary(&mut self, bytes: &[u8]) {
        self.0
            .send(Message::binary(bytes.to_vec()))
            .expect("send a message");
    }

    /// The next JSON message, or the close.
    pub fn receive(&mut self) -> Received {
        loop {
            match self.0.read().expect("read from the WebSocket in time") {
                Message::Text(text) => {
                    let value = serde_json::from_str(text.as_str()).expect("a JSON message");
                    return Received::Message(value);
                }
                Message::Close(frame) => {
                    let (code, reason) = frame.map_or((CloseCode::Status, String::new()), |f| {
                        (f.code, f.reason.to_string())
                    });
                    return Received::Closed(u16::from(code), reason);
                }
                Message::Binary(_) => panic!("the service sent a binary message"),
                _ => {}
            }
        }
    }

    /// The next message, which must not be the close.
    pub fn message(&mut self) -> Value {
        match self.receive() {
            Received::Message(message) => message,
            Received::Closed(code, reason) => panic!("closed early: {code} {reason}"),
        }
    }

    /// Reads until the concatenated `stdout` messages end with `wanted`, which they must
    /// equal; any other message fails the test.
    pub fn expect_stdout(&mut self, stream: &str, wanted: &str) {
        let mut seen = String::new();
        while !seen.ends_with(wanted) {
            let message = self.message();
            if message["type"] == "stage" {
                continue;
            }
            assert_eq!(
                message["type"], stream,
                "{message} while waiting for {wanted:?}"
            );
            seen.push_str(message["data"].as_str().unwrap());
        }
        assert_eq!(seen, wanted);
    }

    /// The messages until the close, and the close.
    pub fn until_closed(&mut self) -> (Vec<Value>, u16, String) {
        let mut messages = Vec::new();
        loop {
            match self.receive() {
                Received::Message(message) => messages.push(message),
                Received::Closed(code, reason) => return (messages, code, reason),
            }
        }
    }

    /// Drops the connection without a close frame, as a client that goes away does.
    pub fn drop_connection(self) {
        if let MaybeTlsStream::Plain(stream) = self.0.get_ref() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
