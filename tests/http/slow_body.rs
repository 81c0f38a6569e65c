//! A client that sends its body too slowly is cut off: 408 with the usual error body and a closed
//! connection once `server.body_timeout_secs` has passed, while the service goes on answering
//! others.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::InProcess;

/// Far beyond the one second the service is given: the answer must come long before.
const READ_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_body_that_does_not_arrive_in_time_gets_408_and_a_closed_connection() {
    let service =
        InProcess::start_ready("slow-body", &[("CODEEXEC_SERVER__BODY_TIMEOUT_SECS", "1")]);
    let address = service.url.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&address).unwrap();
    slow.set_read_timeout(Some(READ_LIMIT)).unwrap();
    // The head and 10 of the 1000 bytes announced; the rest never comes.
    write!(
        slow,
        "POST /api/v1/execute HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"language"
    )
    .unwrap();
    slow.flush().unwrap();

    // The service answers and closes: reading to the end returns instead of hanging.
    let mut answer = String::new();
    slow.read_to_string(&mut answer)
        .expect("the service closes the connection before the read limit");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        answer.contains("the request body did not arrive within 1 s"),
        "{answer}"
    );
    assert_eq!(
        service.metric("codeexec_rejected_total{reason=\"slow_body\"}"),
        Some(1.0)
    );
    // A body that comes whole is read as before.
    assert_eq!(service.run("python", "print('whole')")["output"], "whole\n");
}
