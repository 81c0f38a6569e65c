//! Pre-started runtimes (Python): a program cannot tell that its interpreter was started before
//! its job, except by timing. Every case runs on a service with `prestart = true` and on one with
//! `prestart = false`, and must come out the same on both; the first case has the program compare
//! its own view with that of a plain `python3 -u main.py a b` it starts itself.

use std::sync::OnceLock;

use crate::common::Service;
use serde_json::{json, Value};

/// Only Python is offered, so that the two services warm no other pool.
fn python_only(prestart: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("CODEEXEC_LANGUAGES__JAVASCRIPT__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__RUBY__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__JAVA__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__GO__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__CPP__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__PYTHON__PRESTART", prestart),
    ]
}

fn services() -> [(&'static str, &'static Service); 2] {
    static PRESTARTED: OnceLock<Service> = OnceLock::new();
    static COLD: OnceLock<Service> = OnceLock::new();
    [
        (
            "prestarted",
            PRESTARTED.get_or_init(|| Service::start_ready("prestarted", &python_only("true"))),
        ),
        (
            "cold",
            COLD.get_or_init(|| Service::start_ready("cold", &python_only("false"))),
        ),
    ]
}

fn run_on_both(body: Value) -> Vec<(&'static str, Value)> {
    services()
        .into_iter()
        .map(|(name, service)| (name, service.run_with(body.clone())))
        .collect()
}

/// What a Python program can see of how it was started, printed as one line.
const VIEW: &str = r#"import sys
modules = sorted(sys.modules)
import __main__, os, subprocess
names = sorted(vars(__main__))
view = [__name__, sys.argv, __file__, sys.path[0], sys.orig_argv, names, modules,
        type(__loader__).__name__, __loader__.name, __loader__.path, __spec__, __cached__,
        __doc__, __package__, sys.stdout.write_through, sys.getrecursionlimit(),
        open("/proc/self/cmdline", "rb").read().rstrip(b"\0")]
if os.environ.get("PLAIN_CHILD"):
    print(view)
else:
    env = dict(os.environ, PLAIN_CHILD="1")
    plain = subprocess.run(["python3", "-u", "main.py", *sys.argv[1:]], env=env,
                           capture_output=True, text=True).stdout.strip()
    print(view)
    print(plain)
"#;

#[test]
fn the_program_sees_what_a_plain_interpreter_would_show_it() {
    let body = json!({ "language": "python", "code": VIEW, "args": ["a", "b c"] });
    for (service, result) in run_on_both(body) {
        assert_eq!(result["runTimeStatus"], "succeeded", "{service}: {result}");
        let output = result["stdout"].as_str().unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 2, "{service}: {output}");
        assert_eq!(
            lines[0], lines[1],
            "{service}: its own view, then a plain python3's"
        );
        assert!(
            lines[0].starts_with("['__main__', ['main.py', 'a', 'b c'], '/sandbox/main.py', '/sandbox', ['python3', '-u', 'main.py', 'a', 'b c']"),
            "{service}: {}",
            lines[0]
        );
    }
}

#[test]
fn an_uncaught_exception_reads_and_exits_as_in_a_plain_interpreter() {
    let code = "def fail():\n    raise ValueError('boom')\nprint('before', end='')\nfail()\n";
    let expected = "Traceback (most recent call last):\n  File \"/sandbox/main.py\", line 4, in <module>\n    fail()\n  File \"/sandbox/main.py\", line 2, in fail\n    raise ValueError('boom')\nValueError: boom\n";
    for (service, result) in run_on_both(json!({ "language": "python", "code": code })) {
        assert_eq!(
            result["runTimeStatus"], "runtime_error",
            "{service}: {result}"
        );
        assert_eq!(result["exitCode"], 1, "{service}: {result}");
        assert_eq!(result["stdout"], "before", "{service}: output is flushed");
        assert_eq!(result["stderr"], expected, "{service}: {result}");
    }
}

#[test]
fn exit_codes_signals_stdin_and_imports_behave_as_usual() {
    let cases = [
        (
            json!({ "language": "python", "code": "import sys\nprint('bye', end='')\nsys.exit(3)\n" }),
            ("runtime_error", json!(3), json!(null), "bye"),
        ),
        (
            json!({ "language": "python", "code": "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n" }),
            ("runtime_error", json!(null), json!(15), ""),
        ),
        (
            json!({ "language": "python", "code": "import sys\nprint(sys.stdin.read().upper(), end='')\n", "stdin": "typed\nlines" }),
            ("succeeded", json!(0), json!(null), "TYPED\nLINES"),
        ),
        (
            json!({ "language": "python", "code": "raise SystemExit('gone')\n" }),
            ("runtime_error", json!(1), json!(null), ""),
        ),
    ];
    for (body, (status, exit_code, signal, stdout)) in cases {
        for (service, result) in run_on_both(body.clone()) {
            assert_eq!(result["runTimeStatus"], status, "{service}: {result}");
            assert_eq!(result["exitCode"], exit_code, "{service}: {result}");
            assert_eq!(result["signal"], signal, "{service}: {result}");
            assert_eq!(result["stdout"], stdout, "{service}: {result}");
        }
    }
    let files = json!([
        { "filename": "main.py", "code": "from lib.greet import greet\nimport sys\ngreet(sys.argv[0])\n", "isEntryPoint": true },
        { "filename": "lib/greet.py", "code": "def greet(name):\n    print('hello from', name)\n" },
    ]);
    for (service, instance) in services() {
        let result = instance.run_files("python", files.clone());
        assert_eq!(
            result["stdout"], "hello from main.py\n",
            "{service}: {result}"
        );
    }
}
