//! Piston's npm client (`piston-client` 1.0.2) against our service on loopback: `runtimes()`,
//! `execute` in all six languages with and without a version and through an alias, stdin, the
//! client's default args (`1 2 3`), a compile error (`run` equals `compile`), the time, memory
//! and output limits, and an unknown language. The client sends its bodies as `text/plain` to
//! `{server}/api/v2/...`: pointed at `{our address}/piston`, it reaches `/piston/api/v2/...`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::Service;

/// Name the client's entry module and the node that runs it; `scripts/test` sets them.
const CLIENT_VARIABLE: &str = "CODEEXEC_TEST_PISTON_CLIENT";
const NODE_VARIABLE: &str = "CODEEXEC_TEST_NODE";

/// Piston's name, an alias of it, and a program printing `hello from <name>`.
const HELLOS: [(&str, Option<&str>, &str); 6] = [
    ("python", Some("py"), "print('hello from python')"),
    ("javascript", Some("node-js"), "console.log('hello from javascript')"),
    (
        "java",
        None,
        "public class Main { public static void main(String[] a) { System.out.println(\"hello from java\"); } }",
    ),
    ("go", Some("golang"), "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"hello from go\") }"),
    ("c++", Some("cpp"), "#include <iostream>\nint main() { std::cout << \"hello from c++\" << std::endl; }"),
    ("ruby", Some("rb"), "puts 'hello from ruby'"),
];

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| Service::start_ready("piston", &[]))
}

fn variable(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} must be set: `source scripts/lib.sh && ensure_piston_client` installs \
             piston-client 1.0.2 and exports it"
        )
    })
}

/// What the client answered to each of `calls`, in order.
fn client(calls: &[Value]) -> Vec<Value> {
    let driver = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sandbox/piston/client_driver.mjs"
    );
    let server = format!("{}/piston", service().url);
    let mut node = Command::new(variable(NODE_VARIABLE))
        .arg(driver)
        .arg(variable(CLIENT_VARIABLE))
        .arg(&server)
        // Any proxy would be a way out of loopback: the client must talk to us directly.
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let input = serde_json::to_vec(calls).unwrap();
    node.stdin
        .take()
        .unwrap()
        .write_all(&input)
        .expect("write the calls");
    let output = node.wait_with_output().expect("node ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client against {server} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<Value> = serde_json::from_str(&stdout).expect("the driver prints JSON");
    assert_eq!(answers.len(), calls.len(), "{stdout}");
    answers
}

fn execute(args: Value) -> Value {
    client(&[json!({ "call": "execute", "args": args })]).remove(0)
}

fn runtimes() -> Vec<Value> {
    let answer = client(&[json!({ "call": "runtimes" })]).remove(0);
    answer
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("a list: {answer}"))
}

fn version_of(runtimes: &[Value], language: &str) -> String {
    runtimes
        .iter()
        .find(|runtime| runtime["language"] == language)
        .and_then(|runtime| runtime["version"].as_str())
        .unwrap_or_else(|| panic!("{language} in {runtimes:?}"))
        .to_string()
}

#[test]
fn runtimes_lists_the_six_languages_by_pistons_names() {
    let runtimes = runtimes();
    for (language, alias, _) in HELLOS {
        let runtime = runtimes
            .iter()
            .find(|runtime| runtime["language"] == language)
            .unwrap_or_else(|| panic!("{language} in {runtimes:?}"));
        let version = runtime["version"].as_str().unwrap();
        assert_eq!(version.split('.').count(), 3, "semver: {runtime}");
        assert_ne!(
            version, "0.0.0",
            "the version is probed once the pool is up: {runtime}"
        );
        if let Some(alias) = alias {
            assert!(
                runtime["aliases"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(alias)),
                "{runtime}"
            );
        }
    }
    let javascript = runtimes
        .iter()
        .find(|runtime| runtime["language"] == "javascript")
        .unwrap();
    assert_eq!(javascript["runtime"], "node");
    let cpp = runtimes
        .iter()
        .find(|runtime| runtime["language"] == "c++")
        .unwrap();
    assert_eq!(cpp["runtime"], "gcc");
}

#[test]
fn execute_runs_every_language_without_and_with_a_version_and_through_an_alias() {
    let runtimes = runtimes();
    let mut calls = Vec::new();
    for (language, alias, code) in HELLOS {
        let version = version_of(&runtimes, language);
        // The client's short form: it looks the latest version up itself.
        calls.push(json!({ "call": "execute", "args": [language, code] }));
        // A version given, with Piston's files.
        calls.push(json!({ "call": "execute", "args": [{
            "language": language, "version": version, "files": [{ "content": code }]
        }] }));
        // An alias: the client finds no runtime named so and sends no version at all.
        if let Some(alias) = alias {
            calls.push(json!({ "call": "execute", "args": [alias, code] }));
        }
    }
    let answers = client(&calls);
    for (call, answer) in calls.iter().zip(&answers) {
        let args = &call["args"];
        let named = args[0].as_str().or(args[0]["language"].as_str()).unwrap();
        let (language, _, _) = HELLOS
            .iter()
            .find(|(language, alias, _)| *language == named || *alias == Some(named))
            .unwrap();
        assert_eq!(answer["language"], *language, "{call}: {answer}");
        assert_eq!(
            answer["version"],
            version_of(&runtimes, language),
            "{call}: {answer}"
        );
        let run = &answer["run"];
        assert_eq!(
            run["stdout"],
            format!("hello from {language}\n"),
            "{call}: {answer}"
        );
        assert_eq!(
            run["output"],
            format!("hello from {language}\n"),
            "{call}: {answer}"
        );
        assert_eq!(run["code"], 0, "{call}: {answer}");
        assert_eq!(run["signal"], Value::Null, "{call}: {answer}");
        assert_eq!(run["status"], Value::Null, "{call}: {answer}");
        let compiled = ["java", "go", "c++"].contains(language);
        assert_eq!(
            answer["compile"]["code"],
            if compiled { json!(0) } else { Value::Null },
            "{call}: {answer}"
        );
    }
}

#[test]
fn stdin_and_the_clients_default_args_reach_the_program() {
    let answers = client(&[
        json!({ "call": "execute", "args": ["python", "print(input()[::-1])", { "stdin": "abc" }] }),
        json!({ "call": "execute", "args": ["python", "import sys\nprint(sys.argv[1:])"] }),
        json!({ "call": "execute", "args": ["ruby", "p ARGV"] }),
        json!({ "call": "execute", "args": ["javascript", "console.log(process.argv.slice(2).join(','))", { "args": ["x y"] }] }),
    ]);
    assert_eq!(answers[0]["run"]["stdout"], "cba\n", "{}", answers[0]);
    assert_eq!(
        answers[1]["run"]["stdout"], "['1', '2', '3']\n",
        "{}",
        answers[1]
    );
    assert_eq!(
        answers[2]["run"]["stdout"], "[\"1\", \"2\", \"3\"]\n",
        "{}",
        answers[2]
    );
    assert_eq!(answers[3]["run"]["stdout"], "x y\n", "{}", answers[3]);
}

#[test]
fn a_compile_error_answers_with_run_equal_to_compile() {
    let answers = client(&[
        json!({ "call": "execute", "args": ["c++", "int main( {"] }),
        json!({ "call": "execute", "args": ["go", "package main\nfunc main() { undefined() }"] }),
    ]);
    for answer in answers {
        let compile = &answer["compile"];
        assert_eq!(answer["run"], *compile, "{answer}");
        assert_eq!(compile["status"], "RE", "{answer}");
        assert_ne!(compile["code"], 0, "{answer}");
        assert!(
            compile["message"]
                .as_str()
                .unwrap()
                .starts_with("Exited with error status"),
            "{answer}"
        );
        assert!(
            !compile["stderr"].as_str().unwrap().is_empty()
                || !compile["stdout"].as_str().unwrap().is_empty(),
            "the compiler's message: {answer}"
        );
    }
}

#[test]
fn a_program_over_its_time_limit_ends_as_to_killed_by_sigkill() {
    let answer = execute(json!(["python", "while True: pass", { "runTimeout": 1000 }]));
    let run = &answer["run"];
    assert_eq!(run["status"], "TO", "{answer}");
    assert_eq!(run["signal"], "SIGKILL", "{answer}");
    assert!(
        run["message"]
            .as_str()
            .unwrap()
            .starts_with("Time limit exceeded"),
        "{answer}"
    );
    assert!(run["wall_time"].as_u64().unwrap() >= 1000, "{answer}");
}

#[test]
fn memory_and_output_limits_say_which_was_hit() {
    let answers = client(&[
        json!({ "call": "execute", "args": ["python", "x = bytearray(300 * 1024 * 1024)\nprint(len(x))", { "runMemoryLimit": 64 * 1024 * 1024 }] }),
        json!({ "call": "execute", "args": ["python", "import sys\nwhile True: sys.stdout.write('x' * 4096)"] }),
    ]);
    let memory = &answers[0]["run"];
    assert_eq!(memory["status"], "ML", "{}", answers[0]);
    assert_eq!(memory["signal"], "SIGKILL", "{}", answers[0]);
    assert!(
        memory["message"]
            .as_str()
            .unwrap()
            .contains("memory limit of 64 MB"),
        "{}",
        answers[0]
    );
    let output = &answers[1]["run"];
    assert_eq!(output["status"], "OL", "{}", answers[1]);
    assert_eq!(
        output["message"], "stdout length exceeded",
        "{}",
        answers[1]
    );
    assert_eq!(
        output["stdout"].as_str().unwrap().len(),
        64 * 1024,
        "cut at our cap: {}",
        answers[1]
    );
}

#[test]
fn an_unknown_language_gets_pistons_message() {
    let answer = execute(json!(["brainfuck", "+."]));
    assert_eq!(
        answer,
        json!({ "message": "brainfuck-* runtime is unknown" })
    );
}
