//! Piston's interactive protocol at `/piston/api/v2/connect`, against the real Docker engine: a
//! program that prompts and reads while it runs, in an interpreted and a compiled language, with
//! Piston's messages in Piston's order; and a signal that ends it.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::websocket::Socket;
use crate::common::Service;
use crate::interactive::DIALOGUES;

const CONNECT: &str = "/piston/api/v2/connect";

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| Service::start_ready("piston-connect", &[]))
}

/// Reads `data` messages of `stream` until they add up to `wanted`.
fn expect_data(socket: &mut Socket, wanted: &str) {
    let mut seen = String::new();
    while !seen.ends_with(wanted) {
        let message = socket.message();
        assert_eq!(
            message["type"], "data",
            "{message} while waiting for {wanted:?}"
        );
        assert_eq!(message["stream"], "stdout", "{message}");
        seen.push_str(message["data"].as_str().unwrap());
    }
    assert_eq!(seen, wanted);
}

fn init(language: &str, file: &str, content: &str) -> Value {
    json!({
        "type": "init", "language": language, "version": "*",
        "files": [{ "name": file, "content": content }],
        "run_timeout": 20000,
    })
}

/// Piston's name for each of our languages.
fn piston_name(language: &str) -> &str {
    match language {
        "cpp" => "c++",
        other => other,
    }
}

#[test]
fn a_program_in_each_language_talks_with_its_piston_client_while_it_runs() {
    for (language, code) in DIALOGUES {
        let mut socket = Socket::connect(&service().url, CONNECT);
        socket.send(&json!({
            "type": "init", "language": piston_name(language),
            "files": [{ "content": code }], "run_timeout": 20000,
        }));
        assert_eq!(socket.message()["type"], "runtime", "{language}");
        let mut stages = Vec::new();
        let mut prompt = String::new();
        while prompt != "name?\n" {
            let message = socket.message();
            match message["type"].as_str() {
                Some("stage") | Some("exit") => stages.push(message),
                Some("data") => prompt.push_str(message["data"].as_str().unwrap()),
                _ => panic!("{language}: {message}"),
            }
        }
        assert_eq!(
            stages.last().unwrap(),
            &json!({ "type": "stage", "stage": "run" }),
            "{language}"
        );
        socket.send(&json!({ "type": "data", "stream": "stdin", "data": "bob\n" }));
        expect_data(&mut socket, "hello bob\n");
        socket.send(&json!({ "type": "data", "stream": "stdin", "data": "again\n" }));
        expect_data(&mut socket, "more again\n");
        let (messages, code, _) = socket.until_closed();
        assert_eq!(
            messages,
            vec![json!({ "type": "exit", "stage": "run", "code": 0, "signal": null })],
            "{language}"
        );
        assert_eq!(code, 4999, "{language}");
    }
}

#[test]
fn an_interpreted_program_talks_in_pistons_messages() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "import sys\nprint('name?', flush=True)\nprint('hello ' + sys.stdin.readline().strip(), flush=True)\n";
    socket.send(&init("py", "main.py", code));
    let runtime = socket.message();
    assert_eq!(runtime["type"], "runtime");
    assert_eq!(runtime["language"], "python");
    assert!(runtime["version"].as_str().unwrap().starts_with('3'));
    assert_eq!(socket.message(), json!({ "type": "stage", "stage": "run" }));
    expect_data(&mut socket, "name?\n");
    socket.send(&json!({ "type": "data", "stream": "stdin", "data": "bob\n" }));
    expect_data(&mut socket, "hello bob\n");
    let (messages, code, reason) = socket.until_closed();
    assert_eq!(
        messages,
        vec![json!({ "type": "exit", "stage": "run", "code": 0, "signal": null })]
    );
    assert_eq!((code, reason.as_str()), (4999, "Job Completed"));
}

#[test]
fn a_compiled_program_reports_each_stage_and_its_exit() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "#include <iostream>\n#include <string>\nint main() { std::string s; std::cout << \"say?\" << std::endl; std::getline(std::cin, s); std::cout << s << \"!\" << std::endl; return 3; }\n";
    socket.send(&init("c++", "main.cpp", code));
    assert_eq!(socket.message()["type"], "runtime");
    assert_eq!(
        socket.message(),
        json!({ "type": "stage", "stage": "compile" })
    );
    assert_eq!(
        socket.message(),
        json!({ "type": "exit", "stage": "compile", "code": 0, "signal": null })
    );
    assert_eq!(socket.message(), json!({ "type": "stage", "stage": "run" }));
    expect_data(&mut socket, "say?\n");
    socket.send(&json!({ "type": "data", "stream": "stdin", "data": "hi\n" }));
    expect_data(&mut socket, "hi!\n");
    let (messages, code, _) = socket.until_closed();
    assert_eq!(
        messages,
        vec![json!({ "type": "exit", "stage": "run", "code": 3, "signal": null })]
    );
    assert_eq!(code, 4999);
}

#[test]
fn a_signal_ends_the_program_and_its_exit_names_it() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "import time\nprint('ready', flush=True)\ntime.sleep(60)\n";
    socket.send(&init("python", "main.py", code));
    assert_eq!(socket.message()["type"], "runtime");
    assert_eq!(socket.message()["type"], "stage");
    expect_data(&mut socket, "ready\n");
    socket.send(&json!({ "type": "signal", "signal": "SIGKILL" }));
    let (messages, code, _) = socket.until_closed();
    assert_eq!(
        messages,
        vec![json!({ "type": "exit", "stage": "run", "code": null, "signal": "SIGKILL" })]
    );
    assert_eq!(code, 4999);
}
