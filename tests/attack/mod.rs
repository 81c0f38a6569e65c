//! The arena the hostile-program suites share: one service per test binary, one attack at a time,
//! and after each attack the checks every attack must pass: the container that ran it is gone, no
//! other container is left, and the service still runs a hello world in that language.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, OnceLock};

use serde_json::{json, Value};

use crate::common::languages::every_language;
use crate::common::{wait_for, Service};

pub mod languages;

/// Hello world in each language, as (language, code, expected output).
pub const HELLO: [(&str, &str); 6] = [
    ("python", "print('hello')\n"),
    ("javascript", "console.log('hello');\n"),
    ("ruby", "puts 'hello'\n"),
    (
        "java",
        "public class Main { public static void main(String[] a) { System.out.println(\"hello\"); } }\n",
    ),
    (
        "go",
        "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"hello\") }\n",
    ),
    (
        "cpp",
        "#include <iostream>\nint main() { std::cout << \"hello\" << std::endl; }\n",
    ),
];

/// One service, and a lock so that attacks run one after another: each is then the only user
/// of the service, and the containers before and after it can be compared.
pub struct Arena {
    pub service: Service,
    turn: Mutex<()>,
}

/// The arena of this test binary, started on first use, offering every language. Pools hold one
/// container per language to spare the machine.
pub fn arena() -> &'static Arena {
    static ARENA: OnceLock<Arena> = OnceLock::new();
    ARENA.get_or_init(|| {
        let mut settings = every_language();
        settings.extend(HELLO.iter().map(|(language, _)| {
            let key = format!("CODEEXEC_LANGUAGES__{}__POOL_SIZE", language.to_uppercase());
            (key, "1".to_string())
        }));
        let overrides: Vec<(&str, &str)> = settings
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        Arena {
            service: Service::start_ready("hostile", &overrides),
            turn: Mutex::new(()),
        }
    })
}

impl Arena {
    /// Runs `code` as a `language` program (with `extra` fields merged into the request) and
    /// returns its result, after checking that the attack left nothing behind and the service
    /// still works.
    pub fn attack(&self, language: &str, code: &str, extra: Value) -> Value {
        let _turn = self.take_turn();
        let before = self.wait_until_idle();
        let mut body = json!({ "language": language, "code": code });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let (status, answer) = self.service.post("/api/v1/execute", &body);
        assert_eq!(status, 200, "{language}: {answer}");
        let result = answer["result"].clone();
        let after = self.wait_until_idle();
        let gone: Vec<_> = before.difference(&after).collect();
        assert_eq!(
            gone.len(),
            1,
            "{language}: exactly the container that ran the attack is gone: {gone:?}"
        );
        self.assert_hello_world(language);
        result
    }

    /// [`Arena::attack`] with no extra request fields.
    pub fn run(&self, language: &str, code: &str) -> Value {
        self.attack(language, code, json!({}))
    }

    /// Sends one request in its turn, with no check of its answer or of what it left: for
    /// requests that need not run at all.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let _turn = self.take_turn();
        self.service.post(path, body)
    }

    fn take_turn(&self) -> MutexGuard<'_, ()> {
        // A failed attack poisons the lock; the next one can still run.
        self.turn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until every pool is full and the service has no other container (none in use,
    /// none left over), and returns the ids of the pool containers.
    fn wait_until_idle(&self) -> HashSet<String> {
        let service = &self.service;
        wait_for("the service is idle with full pools", || {
            let (_, languages) = service.get("/api/v1/languages");
            let languages = languages["languages"].as_array()?.clone();
            let full = languages
                .iter()
                .all(|language| language["pool"]["ready"] == language["pool"]["target"]);
            let target: u64 = languages
                .iter()
                .filter_map(|language| language["pool"]["target"].as_u64())
                .sum();
            let containers = service.containers();
            let all_running = containers.iter().all(|container| {
                container.state.as_ref().map(|s| s.to_string()).as_deref() == Some("running")
            });
            (full && all_running && containers.len() as u64 == target).then(|| {
                containers
                    .into_iter()
                    .filter_map(|container| container.id)
                    .collect()
            })
        })
    }

    fn assert_hello_world(&self, language: &str) {
        let code = HELLO
            .iter()
            .find(|(name, _)| *name == language)
            .map(|(_, code)| *code)
            .or_else(|| languages::case(language).map(|case| case.hello))
            .expect("a hello world for the language");
        let result = self.service.run(language, code);
        assert_eq!(result["runTimeStatus"], "succeeded", "{language}: {result}");
        assert_eq!(result["output"], "hello\n", "{language}: {result}");
    }
}

/// Asserts the status a user gets, showing the whole result when it differs.
pub fn assert_status(language: &str, result: &Value, expected: &str) {
    assert_eq!(result["runTimeStatus"], expected, "{language}: {result:#}");
}
