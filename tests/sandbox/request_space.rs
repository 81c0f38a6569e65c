//! A property test over the v1 and v2 request space against the real service on the real engine:
//! languages and aliases (and unknown ones), hostile file names, argument sizes, limits in and
//! out of range, code that runs, fails or does not compile. Whatever comes, the answer is a 200
//! with a status the program earned or a 4xx/503 naming the problem: never `internal_error`, never
//! a 500. Bounded in cases so the whole property runs in about a minute.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::attack::arena;
use crate::common::languages::configured_languages;

/// Each case runs a real job (or is refused before one): enough to cover the space's corners
/// in a bounded time.
const CASES: u32 = 64;

fn language() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = configured_languages();
    names.extend(["ts", "rs", "sh", "sql", "hs", "f90", "erl"].map(String::from));
    names.extend(
        [
            "python",
            "py",
            "python3",
            "javascript",
            "js",
            "node",
            "ruby",
            "rb",
            "java",
            "go",
            "golang",
            "cpp",
            "c++",
            "cobol",
            "",
            "PYTHON",
        ]
        .map(String::from),
    );
    prop::sample::select(names)
}

/// Code that runs, fails, reads its input or does not compile, in whichever language it lands.
fn code() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("print('hi')\n".to_string()),
        Just("import sys\nprint(sys.argv[1:], sys.stdin.read())\n".to_string()),
        Just("console.log(process.argv.slice(2))\n".to_string()),
        Just("puts ARGV.inspect\n".to_string()),
        Just("public class Main { public static void main(String[] a) { System.out.println(a.length); } }\n".to_string()),
        Just("package main\nimport \"fmt\"\nfunc main() { fmt.Println(1) }\n".to_string()),
        Just("#include <cstdio>\nint main(int c, char** v) { std::printf(\"%d\\n\", c); }\n".to_string()),
        Just("exit(3)\n".to_string()),
        "[ -~\n]{0,40}",
    ]
}

/// File names a client might send, harmless or hostile.
fn file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("main.py".to_string()),
        2 => Just("Main.java".to_string()),
        2 => Just("main.go".to_string()),
        2 => Just("main.cpp".to_string()),
        1 => Just("lib".to_string()),
        1 => Just("lib/util.py".to_string()),
        1 => Just("-o".to_string()),
        1 => Just("@args".to_string()),
        1 => Just("../x".to_string()),
        1 => (250usize..262).prop_map(|n| format!("{}.java", "A".repeat(n))),
        2 => "[a-zA-Z0-9_./@-]{1,20}",
    ]
}

fn args() -> impl Strategy<Value = Vec<String>> {
    let arg = prop_oneof![
        8 => "[ -~]{0,12}",
        1 => (60_000usize..140_000).prop_map(|n| "a".repeat(n)),
    ];
    prop::collection::vec(arg, 0..4)
}

fn limits() -> impl Strategy<Value = (Option<u64>, Option<u64>)> {
    (
        prop::option::of(prop_oneof![Just(1u64), 100u64..6000, Just(600_000)]),
        prop::option::of(prop_oneof![Just(1u64), 32u64..600, Just(100_000)]),
    )
}

fn request() -> impl Strategy<Value = (&'static str, Value)> {
    let files = prop::collection::vec((file_name(), code(), any::<bool>()), 1..4);
    (
        any::<bool>(),
        language(),
        code(),
        files,
        args(),
        limits(),
        "[ -~\n]{0,20}",
    )
        .prop_map(
            |(v1, language, code, files, args, (timeout, memory), stdin)| {
                let mut body = json!({ "language": language, "args": args, "stdin": stdin });
                if let Some(timeout) = timeout {
                    body["timeoutMs"] = json!(timeout);
                }
                if let Some(memory) = memory {
                    body["memoryLimitMb"] = json!(memory);
                }
                if v1 {
                    body["code"] = json!(code);
                    ("/api/v1/execute", body)
                } else {
                    let files: Vec<Value> = files
                    .into_iter()
                    .map(|(name, code, entry)| {
                        json!({ "filename": name, "code": code, "isEntryPoint": entry })
                    })
                    .collect();
                    body["files"] = json!(files);
                    ("/api/v2/execute", body)
                }
            },
        )
}

#[test]
fn no_request_ends_in_internal_error() {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    runner
        .run(&request(), |(path, body)| {
            let (status, answer) = arena().post(path, &body);
            prop_assert!(
                [200, 400, 413, 503].contains(&status),
                "{status} for {body}: {answer}"
            );
            if status == 200 {
                let verdict = &answer["result"]["runTimeStatus"];
                prop_assert_ne!(verdict, "internal_error", "{} -> {}", body, answer);
            } else {
                let message = answer["errorMessage"].as_str().unwrap_or_default();
                prop_assert!(!message.is_empty(), "no message for {body}: {answer}");
            }
            Ok(())
        })
        .unwrap();
}
