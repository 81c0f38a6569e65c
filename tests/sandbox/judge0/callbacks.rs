//! `callback_url`: the finished submission is PUT to an allowed loopback receiver; a host not
//! on the allow-list is refused with 422; a receiver that never answers does not hold the job.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::{service, wait_for_submission};

/// One request as the receiver saw it.
struct Received {
    request_line: String,
    body: Value,
}

/// A receiver on a free loopback port that reads one request, answers 200 and reports it.
fn receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/done", listener.local_addr().unwrap());
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let _ = sender.send(Received {
            request_line: request_line.trim().to_string(),
            body,
        });
    });
    (url, received)
}

#[test]
fn the_finished_submission_is_put_to_an_allowed_receiver() {
    let (url, received) = receiver();
    let (status, created) = service().post(
        "/submissions",
        &json!({ "source_code": "print('called back')", "language_id": 71, "callback_url": url }),
    );
    assert_eq!(status, 201, "{created}");
    let request = received
        .recv_timeout(Duration::from_secs(120))
        .expect("the callback arrived");
    assert!(
        request.request_line.starts_with("PUT /done "),
        "{}",
        request.request_line
    );
    let body = request.body;
    assert_eq!(body["token"], created["token"]);
    assert_eq!(
        body["status"],
        json!({ "id": 3, "description": "Accepted" })
    );
    let stdout: String = body["stdout"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    let stdout = base64::engine::general_purpose::STANDARD
        .decode(stdout)
        .unwrap();
    assert_eq!(stdout, b"called back\n");
}

#[test]
fn a_host_not_on_the_allow_list_is_refused() {
    for url in [
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:1/",
    ] {
        let (status, body) = service().post(
            "/submissions",
            &json!({ "source_code": "print(1)", "language_id": 71, "callback_url": url }),
        );
        assert_eq!(status, 422, "{url}: {body}");
        assert!(body["callback_url"].is_array(), "{body}");
    }
}

#[test]
fn a_receiver_that_never_answers_does_not_hold_the_job() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/never", silent.local_addr().unwrap());
    // Accepts connections and keeps them open without a word, for as long as the test runs.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    // The callback's try lasts 300 s (see `service`): were the job to wait for it, this
    // request would outlast the client's 120 s and fail.
    let (status, body) = service().post(
        "/submissions?wait=true&fields=token,status,stdout",
        &json!({ "source_code": "print('done')", "language_id": 71, "callback_url": url }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"]["id"], 3, "{body}");
    assert_eq!(body["stdout"], "done\n");
    let stored = wait_for_submission(service(), "", body["token"].as_str().unwrap());
    assert_eq!(stored["status"]["id"], 3);
}
