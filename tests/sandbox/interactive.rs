//! Interactive sessions at `/api/v1/connect` against the real Docker engine: a program in each
//! language prompts, reads a line typed while it runs, answers and reads again; its output
//! arrives before it ends; a signal ends it; output past the cap is cut with the status saying
//! so; and a client that goes away leaves no container behind.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::websocket::Socket;
use crate::common::Service;

const CONNECT: &str = "/api/v1/connect";

/// One service for the sessions that only look at their own job.
fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| Service::start_ready("interactive", &[]))
}

/// In each language: print a prompt, read a line, answer, read another, answer. Each prompt is
/// flushed, as a program talking to a pipe must.
pub const DIALOGUES: [(&str, &str); 6] = [
    (
        "python",
        "import sys\nprint('name?', flush=True)\nname = sys.stdin.readline().strip()\nprint('hello ' + name, flush=True)\nmore = sys.stdin.readline().strip()\nprint('more ' + more, flush=True)\n",
    ),
    (
        "javascript",
        "const rl = require('readline').createInterface({ input: process.stdin });\nconst lines = rl[Symbol.asyncIterator]();\n(async () => {\n  console.log('name?');\n  const name = (await lines.next()).value;\n  console.log('hello ' + name);\n  const more = (await lines.next()).value;\n  console.log('more ' + more);\n  rl.close();\n})();\n",
    ),
    (
        "ruby",
        "$stdout.sync = true\nputs 'name?'\nname = gets.chomp\nputs \"hello #{name}\"\nmore = gets.chomp\nputs \"more #{more}\"\n",
    ),
    (
        "java",
        "import java.io.*;\npublic class Main { public static void main(String[] a) throws IOException {\n  BufferedReader in = new BufferedReader(new InputStreamReader(System.in));\n  System.out.println(\"name?\"); System.out.flush();\n  String name = in.readLine();\n  System.out.println(\"hello \" + name); System.out.flush();\n  String more = in.readLine();\n  System.out.println(\"more \" + more); System.out.flush();\n} }\n",
    ),
    (
        "go",
        "package main\nimport (\"bufio\"; \"fmt\"; \"os\"; \"strings\")\nfunc main() {\n  in := bufio.NewReader(os.Stdin)\n  fmt.Println(\"name?\")\n  name, _ := in.ReadString('\\n')\n  fmt.Println(\"hello \" + strings.TrimSpace(name))\n  more, _ := in.ReadString('\\n')\n  fmt.Println(\"more \" + strings.TrimSpace(more))\n}\n",
    ),
    (
        "cpp",
        "#include <iostream>\n#include <string>\nint main() {\n  std::string name, more;\n  std::cout << \"name?\" << std::endl;\n  std::getline(std::cin, name);\n  std::cout << \"hello \" << name << std::endl;\n  std::getline(std::cin, more);\n  std::cout << \"more \" << more << std::endl;\n}\n",
    ),
];

/// The result message, the last before the normal close.
fn result_then_close(socket: &mut Socket) -> Value {
    let (messages, code, reason) = socket.until_closed();
    assert_eq!((code, reason.as_str()), (1000, "finished"), "{messages:?}");
    let result = messages.last().expect("a result").clone();
    assert_eq!(result["type"], "result", "{messages:?}");
    result["result"].clone()
}

#[test]
fn a_program_in_each_language_talks_with_its_client_while_it_runs() {
    for (language, code) in DIALOGUES {
        let mut socket = Socket::connect(&service().url, CONNECT);
        socket.send(&json!({ "language": language, "code": code }));
        // The prompt comes while the program waits for its first line: before it can end.
        socket.expect_stdout("stdout", "name?\n");
        socket.send(&json!({ "type": "stdin", "data": "bob\n" }));
        socket.expect_stdout("stdout", "hello bob\n");
        socket.send(&json!({ "type": "stdin", "data": "again\n" }));
        socket.expect_stdout("stdout", "more again\n");
        let result = result_then_close(&mut socket);
        assert_eq!(result["language"], language);
        assert_eq!(result["runTimeStatus"], "succeeded", "{language}: {result}");
        assert_eq!(
            result["stdout"], "name?\nhello bob\nmore again\n",
            "{language}"
        );
    }
}

#[test]
fn the_stages_are_announced_and_a_compile_error_ends_the_session_with_its_result() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "int main() { return undeclared; }\n";
    socket.send(&json!({ "language": "cpp", "code": code }));
    assert_eq!(
        socket.message(),
        json!({ "type": "stage", "stage": "compile" })
    );
    let (messages, code, _) = socket.until_closed();
    assert_eq!(code, 1000);
    let stderr: String = messages
        .iter()
        .filter(|message| message["type"] == "stderr")
        .map(|message| message["data"].as_str().unwrap())
        .collect();
    assert!(stderr.contains("undeclared"), "{messages:?}");
    let result = &messages.last().unwrap()["result"];
    assert_eq!(result["runTimeStatus"], "compile_error");
    assert!(
        !messages.iter().any(|message| message["stage"] == "run"),
        "no run stage after a failed compile"
    );
}

#[test]
fn a_program_printing_the_runners_messages_only_prints() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let forged = r#"{"type":"result","compile":null,"run":null,"runner_error":"forged"}"#;
    let code = format!("print({forged:?}, flush=True)\nprint({forged:?}, flush=True, file=__import__('sys').stderr)\nraise SystemExit(3)\n");
    socket.send(&json!({ "language": "python", "code": code }));
    let result = result_then_close(&mut socket);
    assert_eq!(result["stdout"], format!("{forged}\n"));
    assert_eq!(result["stderr"], format!("{forged}\n"));
    assert_eq!(result["exitCode"], 3, "{result}");
    assert_eq!(result["runTimeStatus"], "runtime_error");
}

#[test]
fn a_signal_from_the_client_ends_the_program() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "import time\nprint('ready', flush=True)\ntime.sleep(60)\n";
    socket.send(&json!({ "language": "python", "code": code, "wallTimeoutMs": 30000 }));
    socket.expect_stdout("stdout", "ready\n");
    socket.send(&json!({ "type": "signal", "signal": "SIGTERM" }));
    let result = result_then_close(&mut socket);
    assert_eq!(result["signal"], 15, "{result}");
    assert_eq!(result["stdout"], "ready\n");
}

#[test]
fn stdin_end_gives_the_program_end_of_file() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "import sys\ntext = sys.stdin.read()\nprint(len(text.splitlines()), 'lines')\n";
    socket.send(&json!({ "language": "python", "code": code, "stdin": "given\n" }));
    socket.send(&json!({ "type": "stdin", "data": "typed\n" }));
    socket.send(&json!({ "type": "stdin_end" }));
    let result = result_then_close(&mut socket);
    assert_eq!(result["stdout"], "2 lines\n");
}

#[test]
fn output_past_the_cap_is_cut_where_the_cap_is_and_the_status_says_so() {
    let mut socket = Socket::connect(&service().url, CONNECT);
    let code = "import sys\nsys.stdout.write('x' * 200000)\nsys.stdout.flush()\n";
    socket.send(&json!({ "language": "python", "code": code }));
    let (messages, code, _) = socket.until_closed();
    assert_eq!(code, 1000);
    let streamed: usize = messages
        .iter()
        .filter(|message| message["type"] == "stdout")
        .map(|message| message["data"].as_str().unwrap().len())
        .sum();
    assert_eq!(streamed, 65536, "what was streamed stops at the cap");
    let result = &messages.last().unwrap()["result"];
    assert_eq!(result["runTimeStatus"], "output_limit_exceeded");
    assert_eq!(result["truncated"], true);
}

#[test]
fn a_client_that_goes_away_leaves_no_container() {
    let service = Service::start_ready("interactive-gone", &[]);
    let pooled = service.containers().len();
    let mut socket = Socket::connect(&service.url, CONNECT);
    let code = "print('waiting', flush=True)\ninput()\n";
    socket.send(&json!({ "language": "python", "code": code, "wallTimeoutMs": 30000 }));
    socket.expect_stdout("stdout", "waiting\n");
    socket.drop_connection();
    // Long before the program's 30 s limit, its container is gone and the pools are whole.
    service.wait_until_only_pools_remain(pooled);
    assert!(service.terminate().success());
}
