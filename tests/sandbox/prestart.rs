//! Pre-started runtimes (Python, Node.js, Ruby): a program cannot tell that its runtime was
//! started before its job, except by timing. Every case runs on a service with `prestart = true`
//! and on one with `prestart = false`, and must come out the same on both; the first case has the
//! program compare its own view with that of a plain `python3 -u main.py ...`, `node main.js ...`
//! or `ruby main.rb ...` it starts itself.

use std::sync::OnceLock;

use crate::common::{run_on_each, Service};
use serde_json::json;

/// Only the pre-started languages are offered, so that the two services warm no other pool.
fn prestarted_languages_only(prestart: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("CODEEXEC_LANGUAGES__JAVA__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__GO__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__CPP__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__PYTHON__PRESTART", prestart),
        ("CODEEXEC_LANGUAGES__JAVASCRIPT__PRESTART", prestart),
        ("CODEEXEC_LANGUAGES__RUBY__PRESTART", prestart),
    ]
}

fn services() -> [(&'static str, &'static Service); 2] {
    static PRESTARTED: OnceLock<Service> = OnceLock::new();
    static COLD: OnceLock<Service> = OnceLock::new();
    [
        (
            "prestarted",
            PRESTARTED.get_or_init(|| {
                Service::start_ready("prestarted", &prestarted_languages_only("true"))
            }),
        ),
        (
            "cold",
            COLD.get_or_init(|| Service::start_ready("cold", &prestarted_languages_only("false"))),
        ),
    ]
}

/// What a Python program can see of how it was started, printed as one line. (Each view ends
/// with how many file descriptors are open: the loader's pipes must not be.)
const PYTHON_VIEW: &str = r#"import sys
modules = sorted(sys.modules)
import __main__, os, subprocess
names = sorted(vars(__main__))
view = [__name__, sys.argv, __file__, sys.path[0], sys.orig_argv, names, modules,
        type(__loader__).__name__, __loader__.name, __loader__.path, __spec__, __cached__,
        __doc__, __package__, sys.stdout.write_through, sys.getrecursionlimit(),
        open("/proc/self/cmdline", "rb").read().rstrip(b"\0"), len(os.listdir("/proc/self/fd"))]
if os.environ.get("PLAIN_CHILD"):
    print(view)
else:
    env = dict(os.environ, PLAIN_CHILD="1")
    plain = subprocess.run(["python3", "-u", "main.py", *sys.argv[1:]], env=env,
                           capture_output=True, text=True).stdout.strip()
    print(view)
    print(plain)
"#;

/// What a Node.js program can see of how it was started, printed as one line.
const JAVASCRIPT_VIEW: &str = r#"const cached = Object.keys(require.cache);
const fs = require('fs');
const Module = require('module');
const view = JSON.stringify([process.argv, process.execArgv, require.main === module, __filename,
  module.id, module.paths, cached, process.title, process.argv0, Module._resolveFilename.name,
  Module._findPath.name, typeof process._eval,
  fs.readFileSync('/proc/self/cmdline', 'latin1').replace(/\0+$/, ''),
  fs.readdirSync('/proc/self/fd').length]);
if (process.env.PLAIN_CHILD) {
  console.log(view);
} else {
  const plain = require('child_process').execFileSync('node', ['main.js', ...process.argv.slice(2)],
    { env: { ...process.env, PLAIN_CHILD: '1' }, encoding: 'utf8' }).trim();
  console.log(view);
  console.log(plain);
}
"#;

/// What a Ruby program can see of how it was started, printed as one line. (Not `caller`: at
/// the top level a plain script has none, and a pre-started one has the loader's frames.)
const RUBY_VIEW: &str = r#"features = $LOADED_FEATURES.dup
view = [$0, __FILE__, ARGV, $PROGRAM_NAME, features, global_variables.sort,
        Object.constants.sort, defined?(DATA), self.to_s,
        File.binread("/proc/self/cmdline").sub(/\0+\z/, ""), Dir.children("/proc/self/fd").size].inspect
if ENV["PLAIN_CHILD"]
  puts view
else
  plain = IO.popen({ "PLAIN_CHILD" => "1" }, ["ruby", "main.rb", *ARGV], &:read).strip
  puts view
  puts plain
end
"#;

#[test]
fn the_program_sees_what_a_plain_runtime_would_show_it() {
    let cases = [
        (
            json!({ "language": "python", "code": PYTHON_VIEW, "args": ["a", "b c"] }),
            "['__main__', ['main.py', 'a', 'b c'], '/sandbox/main.py', '/sandbox', ['python3', '-u', 'main.py', 'a', 'b c']",
        ),
        (
            json!({ "language": "javascript", "code": JAVASCRIPT_VIEW, "args": ["a", "b c"] }),
            r#"[["/usr/bin/node","/sandbox/main.js","a","b c"],[],true,"/sandbox/main.js",".""#,
        ),
        (
            json!({ "language": "ruby", "code": RUBY_VIEW, "args": ["a", "b c"] }),
            r#"["main.rb", "main.rb", ["a", "b c"], "main.rb", ["#,
        ),
    ];
    for (body, expected_start) in cases {
        for (service, result) in run_on_each(services(), &body) {
            assert_eq!(result["runTimeStatus"], "succeeded", "{service}: {result}");
            let output = result["stdout"].as_str().unwrap();
            let lines: Vec<&str> = output.lines().collect();
            assert_eq!(lines.len(), 2, "{service}: {output}");
            assert_eq!(
                lines[0], lines[1],
                "{service}: its own view, then a plain python3's"
            );
            assert!(
                lines[0].starts_with(expected_start),
                "{service}: {}",
                lines[0]
            );
        }
    }
}

#[test]
fn an_uncaught_exception_reads_and_exits_as_in_a_plain_runtime() {
    let python = "def fail():\n    raise ValueError('boom')\nprint('before', end='')\nfail()\n";
    let python_stderr = "Traceback (most recent call last):\n  File \"/sandbox/main.py\", line 4, in <module>\n    fail()\n  File \"/sandbox/main.py\", line 2, in fail\n    raise ValueError('boom')\nValueError: boom\n";
    let javascript = "function fail() {\n  throw new Error('boom');\n}\nprocess.stdout.write('before');\nfail();\n";
    let ruby = "def fail\n  raise 'boom'\nend\nprint 'before'\nfail\n";
    let cases = [
        ("python", python),
        ("javascript", javascript),
        ("ruby", ruby),
    ];
    for (language, code) in cases {
        let results = run_on_each(services(), &json!({ "language": language, "code": code }));
        for (service, result) in &results {
            assert_eq!(
                result["runTimeStatus"], "runtime_error",
                "{service}: {result}"
            );
            assert_eq!(result["exitCode"], 1, "{service}: {result}");
            assert_eq!(result["stdout"], "before", "{service}: output is flushed");
        }
        // The same message, stack and all, with or without a pre-started runtime.
        assert_eq!(results[0].1["stderr"], results[1].1["stderr"], "{language}");
        if language == "python" {
            assert_eq!(results[0].1["stderr"], python_stderr);
        } else if language == "ruby" {
            assert_eq!(
                results[0].1["stderr"],
                "main.rb:2:in `fail': boom (RuntimeError)\n\tfrom main.rb:5:in `<main>'\n"
            );
        } else {
            let stderr = results[0].1["stderr"].as_str().unwrap();
            assert!(
                stderr.starts_with("/sandbox/main.js:2\n  throw new Error('boom');\n  ^\n\nError: boom\n    at fail (/sandbox/main.js:2:9)\n"),
                "{stderr}"
            );
        }
    }
}

#[test]
fn exit_codes_signals_stdin_and_imports_behave_as_usual() {
    let cases = [
        (
            json!({ "language": "javascript", "code": "process.stdout.write('bye');\nprocess.exit(3);\n" }),
            ("runtime_error", json!(3), json!(null), "bye"),
        ),
        (
            json!({ "language": "javascript", "code": "process.kill(process.pid, 'SIGTERM');\nsetTimeout(() => {}, 10000);\n" }),
            ("runtime_error", json!(null), json!(15), ""),
        ),
        (
            json!({ "language": "javascript", "code": "process.stdout.write(require('fs').readFileSync(0, 'utf8').toUpperCase());\n", "stdin": "typed\nlines" }),
            ("succeeded", json!(0), json!(null), "TYPED\nLINES"),
        ),
        (
            json!({ "language": "ruby", "code": "at_exit { print ' at exit' }\nprint 'bye'\nexit 3\n" }),
            ("runtime_error", json!(3), json!(null), "bye at exit"),
        ),
        (
            json!({ "language": "ruby", "code": "at_exit { print 'never' }\n$stdout.sync = true\nprint 'bye'\nexit!(4)\n" }),
            ("runtime_error", json!(4), json!(null), "bye"),
        ),
        (
            json!({ "language": "ruby", "code": "Process.kill('TERM', Process.pid)\nsleep 10\n" }),
            ("runtime_error", json!(null), json!(15), ""),
        ),
        (
            json!({ "language": "ruby", "code": "print $stdin.read.upcase, DATA.read\n__END__\ndata\n", "stdin": "typed\nlines" }),
            ("succeeded", json!(0), json!(null), "TYPED\nLINESdata\n"),
        ),
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
        for (service, result) in run_on_each(services(), &body) {
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

/// The waiting runtime's memory counts against the job's limit from the start; the smallest limit
/// a request may ask for still leaves every pre-started runtime room for a hello world.
#[test]
fn the_smallest_memory_limit_still_runs_a_hello_world() {
    let cases = [
        ("python", "print('small')\n"),
        ("javascript", "console.log('small');\n"),
        ("ruby", "puts 'small'\n"),
    ];
    for (language, code) in cases {
        let body = json!({ "language": language, "code": code, "memoryLimitMb": 32 });
        for (service, result) in run_on_each(services(), &body) {
            assert_eq!(
                result["runTimeStatus"], "succeeded",
                "{language} {service}: {result}"
            );
            assert_eq!(
                result["stdout"], "small\n",
                "{language} {service}: {result}"
            );
        }
    }
}
