//! Running real programs in every language through both execute endpoints, against the real
//! Docker engine: output, stdin and args, several files, and every way a program can end. The
//! six original languages have their programs here; the ones added later come from their table
//! (`attack::languages`), one entry per language.

use std::sync::OnceLock;

use crate::attack::languages::CASES;
use crate::common::languages::{configured_languages, every_language};
use crate::common::Service;
use serde_json::{json, Value};

/// A service offering every configured language.
fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let settings = every_language();
        let overrides: Vec<(&str, &str)> = settings
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        Service::start_ready("execute", &overrides)
    })
}

/// Hello world in each language, as (language, file name, code).
const HELLO: [(&str, &str, &str); 6] = [
    ("python", "main.py", "print('Hello, World!')\n"),
    ("javascript", "main.js", "console.log('Hello, World!');\n"),
    ("ruby", "main.rb", "puts 'Hello, World!'\n"),
    (
        "java",
        "Main.java",
        "public class Main { public static void main(String[] a) { System.out.println(\"Hello, World!\"); } }\n",
    ),
    (
        "go",
        "main.go",
        "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"Hello, World!\") }\n",
    ),
    (
        "cpp",
        "main.cpp",
        "#include <iostream>\nint main() { std::cout << \"Hello, World!\" << std::endl; }\n",
    ),
];

fn assert_succeeded(result: &Value, expected_output: &str) {
    assert_eq!(result["runTimeStatus"], "succeeded", "{result}");
    assert_eq!(result["output"], expected_output, "{result}");
    assert_eq!(result["stdout"], expected_output, "{result}");
    assert_eq!(result["exitCode"], 0, "{result}");
    assert!(result["errorMessage"].is_null(), "{result}");
}

#[test]
fn hello_world_runs_in_every_language_through_v1() {
    for (language, _, source) in HELLO {
        let result = service().run(language, source);
        assert_succeeded(&result, "Hello, World!\n");
        assert_eq!(result["language"], language);
        assert!(
            result["version"].as_str().is_some_and(|v| !v.is_empty()),
            "{result}"
        );
        assert!(result["memoryBytes"].as_u64().unwrap() > 0, "{result}");
        assert!(result["memoryUsage"].as_str().unwrap().ends_with("MB"));
        assert!(result["cpuUsage"].as_str().unwrap().ends_with('%'));
        assert!(result["jobId"].as_str().unwrap().len() == 36);
    }
    for case in CASES {
        let result = service().run(case.language, case.hello);
        assert_succeeded(&result, "hello\n");
        assert_eq!(result["language"], case.language);
        assert!(
            result["version"].as_str().is_some_and(|v| !v.is_empty()),
            "{result}"
        );
    }
}

#[test]
fn hello_world_runs_in_every_language_through_v2() {
    for (language, file_name, source) in HELLO {
        let files = json!([{ "filename": file_name, "code": source }]);
        let result = service().run_files(language, files);
        assert_succeeded(&result, "Hello, World!\n");
        let compiled = ["java", "go", "cpp"].contains(&language);
        assert_eq!(result["compile"].is_object(), compiled, "{result}");
    }
}

/// The least memory limit each language's variant in the OpenAPI description states is enough
/// for its toolchain: a hello world at that limit succeeds, where a compiler or runtime given
/// less would thrash to its time limit instead of failing (`min_memory_mb`); one MB less is
/// refused with that reason.
#[test]
fn hello_world_runs_in_every_language_at_its_least_memory_limit() {
    let (status, description) = service().get("/api/openapi.json");
    assert_eq!(status, 200, "{description}");
    let variants = description["paths"]["/api/v1/execute"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["oneOf"]
        .as_array()
        .expect("one variant per language")
        .clone();
    let floor = |language: &str| {
        let variant = variants
            .iter()
            .find(|variant| variant["title"] == language)
            .unwrap_or_else(|| panic!("no {language} variant"));
        variant["allOf"][1]["properties"]["memoryLimitMb"]["minimum"]
            .as_u64()
            .unwrap_or_else(|| panic!("no memory floor for {language}: {variant}"))
    };
    let programs = HELLO
        .iter()
        .map(|(language, _, code)| (*language, *code, "Hello, World!\n"))
        .chain(
            CASES
                .iter()
                .map(|case| (case.language, case.hello, "hello\n")),
        );
    let lowest = floor("python");
    for (language, code, output) in programs {
        let least = floor(language);
        let body = json!({ "language": language, "code": code, "memoryLimitMb": least });
        let result = service().run_with(body);
        assert_succeeded(&result, output);
        if least > lowest {
            let below = json!({ "language": language, "code": code, "memoryLimitMb": least - 1 });
            let (status, refused) = service().post("/api/v1/execute", &below);
            assert_eq!(status, 400, "{language}: {refused}");
            let message = refused["errorMessage"].as_str().unwrap_or_default();
            assert!(
                message.contains(&format!("below the {language} minimum of {least}")),
                "{message}"
            );
        }
    }
}

/// The timings nest: the pool hand-off inside the wait for a container, the runner's stages
/// inside the container exchange, and both inside the total. Orderings of nested intervals, not
/// durations, so load on the machine cannot change the outcome.
#[test]
fn timings_nest_the_container_exchange_inside_the_total() {
    let (_, file_name, source) = HELLO[3];
    let files = json!([{ "filename": file_name, "code": source }]);
    let result = service().run_files("java", files);
    assert_succeeded(&result, "Hello, World!\n");
    let timings = &result["timings"];
    let seconds = |field: &str| {
        timings[field]
            .as_f64()
            .unwrap_or_else(|| panic!("timings.{field} missing: {result}"))
    };
    // Sums of rounded values may differ from the measured whole in the last bits.
    let slack = 1e-6;
    assert!(seconds("acquire") <= seconds("queue") + slack, "{timings}");
    assert!(seconds("compile") > 0.0, "{timings}");
    assert!(
        seconds("compile") + seconds("run") <= seconds("exchange") + slack,
        "{timings}"
    );
    assert!(
        seconds("queue") + seconds("exchange") <= seconds("total") + slack,
        "{timings}"
    );
}

#[test]
fn aliases_reach_their_language() {
    let result = service().run("py", "import sys; print(sys.version_info[0])");
    assert_succeeded(&result, "3\n");
    assert_eq!(result["language"], "python");
}

#[test]
fn stdin_and_args_reach_the_program() {
    let programs = [
        ("python", "import sys\nprint(sys.stdin.read().strip(), *sys.argv[1:])\n"),
        (
            "javascript",
            "const s = require('fs').readFileSync(0, 'utf8').trim();\nconsole.log([s, ...process.argv.slice(2)].join(' '));\n",
        ),
        ("ruby", "puts ([STDIN.read.strip] + ARGV).join(' ')\n"),
        (
            "java",
            "import java.util.*;\npublic class Main { public static void main(String[] a) {\n  String s = new Scanner(System.in).nextLine().trim();\n  System.out.println(s + \" \" + String.join(\" \", a)); } }\n",
        ),
        (
            "go",
            "package main\nimport (\"bufio\"; \"fmt\"; \"os\"; \"strings\")\nfunc main() {\n  s, _ := bufio.NewReader(os.Stdin).ReadString('\\n')\n  fmt.Println(strings.TrimSpace(s) + \" \" + strings.Join(os.Args[1:], \" \")) }\n",
        ),
        (
            "cpp",
            "#include <iostream>\n#include <string>\nint main(int c, char** v) { std::string s; std::getline(std::cin, s);\n  std::cout << s; for (int i = 1; i < c; i++) std::cout << ' ' << v[i]; std::cout << '\\n'; }\n",
        ),
    ];
    for (language, source) in programs {
        let result = service().run_with(json!({
            "language": language, "code": source,
            "stdin": "from-stdin\n", "args": ["first", "two words"],
        }));
        assert_succeeded(&result, "from-stdin first two words\n");
    }
    for case in CASES {
        let result = service().run_with(json!({
            "language": case.language, "code": case.echo.code,
            "stdin": "from-stdin\n", "args": case.echo.args,
        }));
        assert_eq!(
            result["output"], case.echo.output,
            "{}: {result}",
            case.language
        );
        assert_succeeded(&result, case.echo.output);
    }
}

#[test]
fn two_file_programs_work_in_every_language() {
    let programs = [
        (
            "python",
            json!([
                { "filename": "main.py", "code": "from helper import greet\nprint(greet('py'))\n" },
                { "filename": "helper.py", "code": "def greet(n):\n    return 'hi ' + n\n" },
            ]),
        ),
        (
            "javascript",
            json!([
                { "filename": "helper.js", "code": "exports.greet = n => 'hi ' + n;\n" },
                { "filename": "main.js", "code": "console.log(require('./helper').greet('js'));\n", "isEntryPoint": true },
            ]),
        ),
        (
            "ruby",
            json!([
                { "filename": "main.rb", "code": "require_relative 'helper'\nputs greet('rb')\n" },
                { "filename": "helper.rb", "code": "def greet(n) = 'hi ' + n\n" },
            ]),
        ),
        (
            "java",
            json!([
                { "filename": "Helper.java", "code": "public class Helper { static String greet(String n) { return \"hi \" + n; } }\n" },
                { "filename": "Main.java", "code": "public class Main { public static void main(String[] a) { System.out.println(Helper.greet(\"java\")); } }\n", "isEntryPoint": true },
            ]),
        ),
        (
            "go",
            json!([
                { "filename": "main.go", "code": "package main\nimport \"fmt\"\nfunc main() { fmt.Println(greet(\"go\")) }\n" },
                { "filename": "helper.go", "code": "package main\nfunc greet(n string) string { return \"hi \" + n }\n" },
            ]),
        ),
        (
            "cpp",
            json!([
                { "filename": "main.cpp", "code": "#include <iostream>\n#include \"helper.h\"\nint main() { std::cout << greet(\"cpp\") << '\\n'; }\n" },
                { "filename": "helper.h", "code": "#include <string>\nstd::string greet(const std::string& n);\n" },
                { "filename": "helper.cpp", "code": "#include \"helper.h\"\nstd::string greet(const std::string& n) { return \"hi \" + n; }\n" },
            ]),
        ),
    ];
    for (language, files) in programs {
        let result = service().run_files(language, files);
        let short = match language {
            "python" => "py",
            "javascript" => "js",
            "ruby" => "rb",
            other => other,
        };
        assert_succeeded(&result, &format!("hi {short}\n"));
    }
    for case in CASES {
        let Some(program) = &case.two_files else {
            continue;
        };
        let files: Vec<Value> = program
            .files
            .iter()
            .map(|(name, code)| {
                json!({ "filename": name, "code": code, "isEntryPoint": *name == program.entry })
            })
            .collect();
        let result = service().run_files(case.language, json!(files));
        assert_eq!(
            result["output"], "hi there\n",
            "{}: {result}",
            case.language
        );
        assert_succeeded(&result, "hi there\n");
    }
}

#[test]
fn compile_errors_carry_the_compiler_message() {
    let broken = [
        (
            "java",
            "public class Main { public static void main(String[] a) { int x = \"s\"; } }\n",
            "incompatible types",
        ),
        (
            "go",
            "package main\nfunc main() { undefinedThing() }\n",
            "undefined: undefinedThing",
        ),
        (
            "cpp",
            "int main() { return missing_name; }\n",
            "missing_name",
        ),
    ];
    let added = CASES.iter().filter_map(|case| {
        let (source, expected) = case.compile_error?;
        Some((case.language, source, expected))
    });
    for (language, source, expected) in broken.into_iter().chain(added) {
        let result = service().run(language, source);
        assert_eq!(result["runTimeStatus"], "compile_error", "{result}");
        let message = result["errorMessage"].as_str().unwrap();
        assert!(message.contains(expected), "{language}: {message}");
        assert_ne!(result["compile"]["exitCode"], 0, "{result}");
        assert_eq!(result["output"], "");
    }
}

/// Go compiles through codeexec-go-build, which calls the compiler and linker itself for a plain
/// package main of standard imports and hands anything else to `go build`: either way a program
/// behaves, fails and reports itself as `go build` made it.
#[test]
fn a_go_program_builds_as_go_build_would_build_it() {
    let build_info = "package main\nimport (\"fmt\"; \"runtime/debug\")\n\
                      func main() { info, _ := debug.ReadBuildInfo(); fmt.Print(info) }\n";
    let result = service().run("go", build_info);
    assert_eq!(result["runTimeStatus"], "succeeded", "{result}");
    let printed = result["stdout"].as_str().unwrap();
    for line in [
        "path\tcommand-line-arguments\n",
        "build\t-ldflags=-w\n",
        "build\tCGO_ENABLED=0\n",
    ] {
        assert!(printed.contains(line), "{line:?} in {printed}");
    }

    let panics = "package main\n\nfunc main() {\n\tvar a []int\n\t_ = a[3]\n}\n";
    let result = service().run("go", panics);
    assert_eq!(result["runTimeStatus"], "runtime_error", "{result}");
    assert_eq!(result["exitCode"], 2, "{result}");
    let trace = result["stderr"].as_str().unwrap();
    assert!(
        trace.contains("index out of range [3] with length 0"),
        "{trace}"
    );
    assert!(trace.contains("\n\t/sandbox/main.go:5 +0x"), "{trace}");

    let two_files = json!([
        { "filename": "main.go", "code": "package main\nfunc main() { hello() }\n" },
        { "filename": "util.go", "code": "package main\nimport \"fmt\"\nfunc hello() { fmt.Println(\"from util\") }\n" },
    ]);
    assert_succeeded(&service().run_files("go", two_files), "from util\n");

    let compile_errors = [
        (
            "package main\nimport \"fmt\"\nfunc main() { fmt.Println(x) }\n",
            "./main.go:3:27: undefined: x",
        ),
        (
            "package main\nimport \"example.com/none\"\nfunc main() {}\n",
            "cannot find package \"example.com/none\"",
        ),
        (
            "package main\nimport \"internal/cpu\"\nfunc main() { _ = cpu.X86 }\n",
            "use of internal package internal/cpu not allowed",
        ),
        (
            "package lib\n\nfunc F() {}\n",
            "the compiler built nothing that can run",
        ),
    ];
    for (source, message) in compile_errors {
        let result = service().run("go", source);
        assert_eq!(result["runTimeStatus"], "compile_error", "{result}");
        let error = result["errorMessage"].as_str().unwrap();
        assert!(error.contains(message), "{message:?} in {error}");
    }
}

/// The C++ image holds bits/stdc++.h and iostream precompiled (`image_prepare`): a program
/// including either first behaves as with the plain header, and its compile errors read the same.
#[test]
fn a_cpp_program_including_a_precompiled_header_compiles_and_runs_as_with_the_header() {
    let program = "#include <bits/stdc++.h>\nusing namespace std;\n\
                   int main() { vector<int> v{3, 1, 2}; sort(v.begin(), v.end());\n\
                   map<string, int> m{{\"k\", v[2]}}; cout << v[0] << v[1] << m[\"k\"] << endl; }\n";
    assert_succeeded(&service().run("cpp", program), "123\n");
    let broken =
        "#include <bits/stdc++.h>\nint main() { std::vector<int> v; return v.missing_member(); }\n";
    let result = service().run("cpp", broken);
    assert_eq!(result["runTimeStatus"], "compile_error", "{result}");
    let message = result["errorMessage"].as_str().unwrap();
    assert!(message.contains("missing_member"), "{message}");

    let hello = "#include <iostream>\n#include <string>\n\
                 int main() { std::string s(\"hi\"); std::cout << s << ' ' << __LINE__ << std::endl; }\n";
    assert_succeeded(&service().run("cpp", hello), "hi 3\n");
    let broken = "#include <iostream>\n\nint main() { std::cout << undeclared; }\n";
    let result = service().run("cpp", broken);
    assert_eq!(result["runTimeStatus"], "compile_error", "{result}");
    let message = result["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("main.cpp:3:") && message.contains("undeclared"),
        "{message}"
    );
}

#[test]
fn a_non_zero_exit_is_a_runtime_error_with_its_code() {
    let programs = [
        ("python", "import sys\nprint('before', file=sys.stderr)\nsys.exit(3)\n"),
        ("javascript", "console.error('before'); process.exit(3);\n"),
        ("ruby", "STDERR.puts 'before'\nexit 3\n"),
        ("java", "public class Main { public static void main(String[] a) { System.err.println(\"before\"); System.exit(3); } }\n"),
        ("go", "package main\nimport (\"fmt\"; \"os\")\nfunc main() { fmt.Fprintln(os.Stderr, \"before\"); os.Exit(3) }\n"),
        ("cpp", "#include <cstdio>\nint main() { std::fprintf(stderr, \"before\\n\"); return 3; }\n"),
    ];
    for (language, source) in programs {
        let result = service().run(language, source);
        assert_eq!(result["runTimeStatus"], "runtime_error", "{result}");
        assert_eq!(result["exitCode"], 3, "{result}");
        assert_eq!(result["stderr"], "before\n", "{result}");
        assert_eq!(result["errorMessage"], "before\n", "{result}");
    }
    for case in CASES {
        let (source, exit_code, message) = case.runtime_error;
        let result = service().run(case.language, source);
        assert_eq!(result["runTimeStatus"], "runtime_error", "{result}");
        assert_eq!(result["exitCode"], exit_code, "{result}");
        let stderr = result["stderr"].as_str().unwrap();
        assert!(stderr.contains(message), "{}: {result}", case.language);
    }
}

#[test]
fn an_endless_loop_exceeds_the_time_limit() {
    // However busy the machine, the loop gets a twentieth of a core: the CPU limit comes first.
    let body = json!({
        "language": "python",
        "code": "while True:\n    pass\n",
        "timeoutMs": 1000,
        "wallTimeoutMs": 20000,
    });
    let result = service().run_with(body);
    assert_eq!(result["runTimeStatus"], "time_limit_exceeded", "{result}");
    assert_eq!(result["timeLimit"], "cpu", "{result}");
    assert!(result["errorMessage"]
        .as_str()
        .unwrap()
        .contains("CPU time limit of 1000 ms"));
    assert_eq!(result["signal"], 9, "{result}");
    assert!(result["cpuTime"].as_f64().unwrap() >= 1.0, "{result}");
}

#[test]
fn allocating_past_the_memory_limit_exceeds_it() {
    let hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n";
    let body = json!({ "language": "python", "code": hog, "memoryLimitMb": 64 });
    let result = service().run_with(body);
    assert_eq!(result["runTimeStatus"], "memory_limit_exceeded", "{result}");
    assert!(
        result["errorMessage"].as_str().unwrap().contains("64 MB"),
        "{result}"
    );
}

#[test]
fn printing_ten_megabytes_exceeds_the_output_limit_and_keeps_the_first_64_kib() {
    let source =
        "import sys\nfor i in range(10 * 1024):\n    sys.stdout.write('x' * 1023 + '\\n')\n";
    let result = service().run("python", source);
    assert_eq!(result["runTimeStatus"], "output_limit_exceeded", "{result}");
    assert_eq!(result["truncated"], true);
    let output = result["output"].as_str().unwrap();
    assert_eq!(output.len(), 64 * 1024);
    assert_eq!(&output[..1024], format!("{}\n", "x".repeat(1023)));
}

#[test]
fn languages_lists_versions_limits_and_pools() {
    let (status, body) = service().get("/api/v1/languages");
    assert_eq!(status, 200);
    let languages = body["languages"].as_array().unwrap();
    let names: Vec<&str> = languages
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, configured_languages());
    for language in languages {
        assert!(
            language["version"].as_str().is_some_and(|v| !v.is_empty()),
            "{language}"
        );
    }
    let python = languages.iter().find(|l| l["name"] == "python").unwrap();
    assert!(
        python["version"].as_str().unwrap().starts_with("Python 3"),
        "{python}"
    );
    assert!(python["aliases"].as_array().unwrap().contains(&json!("py")));
    assert_eq!(python["limits"]["timeoutMs"], 5000);
    assert_eq!(python["pool"]["target"], 2);
}

#[test]
fn health_is_ok_when_docker_and_every_pool_work() {
    let (status, body) = service().get("/health");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "OK");
    assert!(body["timestamp"].is_string());
    assert_eq!(
        body["pools"].as_object().unwrap().len(),
        configured_languages().len()
    );
}

#[test]
fn non_utf8_output_comes_back_as_valid_json() {
    let source = "import sys\nsys.stdout.buffer.write(b'ok\\xff\\x00end\\n')\n";
    let result = service().run("python", source);
    assert_eq!(result["runTimeStatus"], "succeeded", "{result}");
    assert_eq!(result["output"], "ok\u{FFFD}\u{0}end\n");
}
