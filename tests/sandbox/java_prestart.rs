//! Java's pre-started JVM, which compiles the job's sources with the javac API and runs the entry
//! class in the same JVM: a program cannot tell it from `javac` then `java Main`, except by
//! timing. Every case runs on a service with `prestart = true` and on one with `prestart =
//! false` (today's two commands), and must come out the same on both.

use std::sync::OnceLock;

use crate::common::{run_on_each, Service};
use serde_json::{json, Value};

/// Only Java is offered, so that the two services warm no other pool.
fn java_only(prestart: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("CODEEXEC_LANGUAGES__PYTHON__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__JAVASCRIPT__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__RUBY__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__GO__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__CPP__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__JAVA__PRESTART", prestart),
    ]
}

fn services() -> [(&'static str, &'static Service); 2] {
    static PRESTARTED: OnceLock<Service> = OnceLock::new();
    static COLD: OnceLock<Service> = OnceLock::new();
    [
        (
            "prestarted",
            PRESTARTED.get_or_init(|| Service::start_ready("java-prestarted", &java_only("true"))),
        ),
        (
            "cold",
            COLD.get_or_init(|| Service::start_ready("java-cold", &java_only("false"))),
        ),
    ]
}

fn java(code: &str) -> Value {
    json!({ "language": "java", "code": code })
}

/// What a Java program can see of how it was started: its argv, its class path, its class
/// loader's parent and its thread's, whether the loader's class is visible, its thread, and
/// every system property. (Not whether its class loader is the system class loader: under the
/// pre-started JVM it is one of the loader's, over /sandbox.)
const JAVA_VIEW: &str = r#"import java.util.*;
public class Main {
  public static void main(String[] args) throws Exception {
    boolean loaderVisible;
    try { Class.forName("CodeexecJavaLoader"); loaderVisible = true; }
    catch (ClassNotFoundException e) { loaderVisible = false; }
    ClassLoader own = Main.class.getClassLoader();
    System.out.println(List.of(Arrays.asList(args), System.getProperty("java.class.path"),
        System.getProperty("sun.java.command"),
        own.getParent() == ClassLoader.getPlatformClassLoader(),
        Thread.currentThread().getContextClassLoader() == own, loaderVisible,
        Thread.currentThread().getName(), new Thread().getName(),
        String.valueOf(System.getProperty("jdk.internal.javac.source")),
        Runtime.getRuntime().maxMemory()));
    System.out.println(new TreeMap<>(System.getProperties()));
    TimeZone.getDefault();
    System.out.println(System.getProperty("user.timezone"));
  }
}
"#;

#[test]
fn the_program_sees_what_plain_java_would_show_it() {
    let body = json!({ "language": "java", "code": JAVA_VIEW, "args": ["a", "b c", ""] });
    let results = run_on_each(services(), &body);
    for (service, result) in &results {
        assert_eq!(result["runTimeStatus"], "succeeded", "{service}: {result}");
        let stdout = result["stdout"].as_str().unwrap();
        assert!(
            stdout.starts_with(
                "[[a, b c, ], /sandbox, Main a b c , true, true, false, main, Thread-0, null, "
            ),
            "{service}: {stdout}"
        );
        assert_eq!(
            result["compile"]["status"], "succeeded",
            "{service}: {result}"
        );
        assert_eq!(result["compile"]["stderr"], "", "{service}: {result}");
    }
    assert_eq!(results[0].1["stdout"], results[1].1["stdout"]);
}

#[test]
fn an_uncaught_exception_reads_and_exits_as_in_plain_java() {
    let code = "public class Main {\n  static void fail() {\n    try { throw new IllegalStateException(\"inner\"); }\n    catch (IllegalStateException e) { throw new RuntimeException(\"boom\", e); }\n  }\n  public static void main(String[] a) {\n    System.out.print(\"before\");\n    fail();\n  }\n}\n";
    let results = run_on_each(services(), &java(code));
    for (service, result) in &results {
        assert_eq!(
            result["runTimeStatus"], "runtime_error",
            "{service}: {result}"
        );
        assert_eq!(result["exitCode"], 1, "{service}: {result}");
        assert_eq!(result["stdout"], "before", "{service}: output is flushed");
    }
    assert_eq!(
        results[0].1["stderr"],
        "Exception in thread \"main\" java.lang.RuntimeException: boom\n\tat Main.fail(Main.java:4)\n\tat Main.main(Main.java:8)\nCaused by: java.lang.IllegalStateException: inner\n\tat Main.fail(Main.java:3)\n\t... 1 more\n"
    );
    assert_eq!(results[0].1["stderr"], results[1].1["stderr"]);

    // An exception in the class's static initialiser, before main runs.
    let code = "public class Main {\n  static int x = Integer.parseInt(\"no\");\n  public static void main(String[] a) {}\n}\n";
    let results = run_on_each(services(), &java(code));
    for (service, result) in &results {
        assert_eq!(result["exitCode"], 1, "{service}: {result}");
        let stderr = result["stderr"].as_str().unwrap();
        assert!(
            stderr.starts_with("Exception in thread \"main\" java.lang.ExceptionInInitializerError\nCaused by: java.lang.NumberFormatException: For input string: \"no\""),
            "{service}: {stderr}"
        );
    }
    assert_eq!(results[0].1["stderr"], results[1].1["stderr"]);
}

#[test]
fn exit_codes_stdin_threads_and_other_files_behave_as_usual() {
    let cases = [
        (
            java("public class Main { public static void main(String[] a) { System.out.print(\"bye\"); System.exit(3); } }\n"),
            ("runtime_error", json!(3), "bye"),
        ),
        (
            json!({ "language": "java", "code": "import java.util.*;\npublic class Main { public static void main(String[] a) { Scanner in = new Scanner(System.in); StringBuilder s = new StringBuilder(); while (in.hasNextLine()) s.append(in.nextLine().toUpperCase()).append('|'); System.out.print(s); } }\n", "stdin": "typed\nlines" }),
            ("succeeded", json!(0), "TYPED|LINES|"),
        ),
        (
            // A non-daemon thread keeps the JVM alive after main returns, and prints last.
            java("public class Main { public static void main(String[] a) { new Thread(() -> { try { Thread.sleep(300); } catch (InterruptedException e) {} System.out.print(\" thread\"); }).start(); System.out.print(\"main\"); } }\n"),
            ("succeeded", json!(0), "main thread"),
        ),
        (
            // ... also after main threw; the exit code is then 1.
            java("public class Main { public static void main(String[] a) { new Thread(() -> { try { Thread.sleep(300); } catch (InterruptedException e) {} System.out.print(\"thread\"); }).start(); throw new RuntimeException(\"x\"); } }\n"),
            ("runtime_error", json!(1), "thread"),
        ),
        (
            // A daemon thread does not.
            java("public class Main { public static void main(String[] a) { Thread t = new Thread(() -> { try { Thread.sleep(3000); } catch (InterruptedException e) {} System.out.print(\"never\"); }); t.setDaemon(true); t.start(); System.out.print(\"main\"); } }\n"),
            ("succeeded", json!(0), "main"),
        ),
        (
            java("public class Main { public static void main(String[] a) { Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.print(\" hook\"))); System.out.print(\"main\"); System.exit(2); } }\n"),
            ("runtime_error", json!(2), "main hook"),
        ),
        (
            java("public class Main { static void main(String[] a) {} }\n"),
            ("runtime_error", json!(1), ""),
        ),
    ];
    for (body, (status, exit_code, stdout)) in cases {
        let results = run_on_each(services(), &body);
        for (service, result) in &results {
            assert_eq!(result["runTimeStatus"], status, "{service}: {result}");
            assert_eq!(result["exitCode"], exit_code, "{service}: {result}");
            assert_eq!(result["stdout"], stdout, "{service}: {result}");
        }
        assert_eq!(results[0].1["stderr"], results[1].1["stderr"]);
    }
    let files = json!([
        { "filename": "Main.java", "code": "public class Main { public static void main(String[] a) { System.out.println(Helper.twice(21) + \" \" + new Other().name()); } }\n", "isEntryPoint": true },
        { "filename": "Helper.java", "code": "class Helper { static int twice(int x) { return 2 * x; } }\nclass Other { String name() { return \"other\"; } }\n" },
    ]);
    for (service, instance) in services() {
        let result = instance.run_files("java", files.clone());
        assert_eq!(result["stdout"], "42 other\n", "{service}: {result}");
    }
}

#[test]
fn a_compile_error_reads_as_javacs_own() {
    let code = "public class Main {\n  public static void main(String[] a) {\n    int x = \"s\";\n    undefined();\n  }\n}\n";
    let results = run_on_each(services(), &java(code));
    for (service, result) in &results {
        assert_eq!(
            result["runTimeStatus"], "compile_error",
            "{service}: {result}"
        );
        assert_eq!(result["compile"]["status"], "failed", "{service}: {result}");
        assert_eq!(result["compile"]["exitCode"], 1, "{service}: {result}");
        assert_eq!(result["compile"]["stdout"], "", "{service}: {result}");
    }
    assert_eq!(
        results[0].1["compile"]["stderr"],
        "Main.java:3: error: incompatible types: String cannot be converted to int\n    int x = \"s\";\n            ^\nMain.java:4: error: cannot find symbol\n    undefined();\n    ^\n  symbol:   method undefined()\n  location: class Main\n2 errors\n"
    );
    assert_eq!(
        results[0].1["compile"]["stderr"],
        results[1].1["compile"]["stderr"]
    );
    assert_eq!(results[0].1["errorMessage"], results[1].1["errorMessage"]);
    // A warning is printed as javac prints it, and the program still runs.
    let code = "import java.util.*;\npublic class Main { public static void main(String[] a) { List l = new ArrayList(); l.add(1); System.out.println(l); } }\n";
    let results = run_on_each(services(), &java(code));
    for (service, result) in &results {
        assert_eq!(result["stdout"], "[1]\n", "{service}: {result}");
        assert_eq!(
            result["compile"]["stderr"],
            "Note: Main.java uses unchecked or unsafe operations.\nNote: Recompile with -Xlint:unchecked for details.\n",
            "{service}: {result}"
        );
    }
}

/// The compile stage and the run stage are reported apart: the run's time is the program's.
#[test]
fn the_compile_stage_reports_its_own_time_and_the_run_its_own() {
    let code = "public class Main { public static void main(String[] a) throws Exception { long end = System.nanoTime() + 300_000_000L; while (System.nanoTime() < end) {} System.out.println(\"done\"); } }\n";
    for (service, result) in run_on_each(services(), &java(code)) {
        assert_eq!(result["stdout"], "done\n", "{service}: {result}");
        let compile = result["compile"]["executionTime"].as_f64().unwrap();
        let run = result["executionTime"].as_f64().unwrap();
        assert!(compile > 0.0, "{service}: {result}");
        assert!(
            run >= 0.3,
            "{service}: the run stage has the busy loop: {result}"
        );
    }
}

/// The run stage's CPU-time limit, and a heap that fills up (whatever the memory limit), end the
/// program as in plain java.
#[test]
fn limits_end_the_program_as_in_plain_java() {
    let spin = json!({ "language": "java", "code": "public class Main { public static void main(String[] a) { long n = 0; while (true) { n++; } } }\n", "timeoutMs": 500, "wallTimeoutMs": 30000 });
    for (service, result) in run_on_each(services(), &spin) {
        assert_eq!(
            result["runTimeStatus"], "time_limit_exceeded",
            "{service}: {result}"
        );
        assert_eq!(result["timeLimit"], "cpu", "{service}: {result}");
    }
    let hog = "import java.util.*;\npublic class Main { public static void main(String[] a) { List<long[]> kept = new ArrayList<>(); while (true) { kept.add(new long[1 << 20]); } } }\n";
    // Also with a lower memory limit than the JVM was started under: its heap is then the
    // limit's, as a fresh java's.
    let lower = json!({ "language": "java", "code": hog, "memoryLimitMb": 128 });
    for (service, result) in run_on_each(services(), &java(hog))
        .into_iter()
        .chain(run_on_each(services(), &lower))
    {
        assert_eq!(
            result["runTimeStatus"], "runtime_error",
            "{service}: {result}"
        );
        assert_eq!(result["exitCode"], 1, "{service}: {result}");
        let stderr = result["stderr"].as_str().unwrap();
        assert!(
            stderr.starts_with(
                "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\tat Main.main(Main.java:2)\n"
            ),
            "{service}: {stderr}"
        );
    }
}

/// The waiting JVM already holds memory, so a pre-started Java takes no memory limit below
/// `prestart_min_memory_mb`, and says so; at that limit a program compiles and runs.
#[test]
fn a_memory_limit_below_the_waiting_jvms_gets_a_clear_answer() {
    let hello = "public class Main { public static void main(String[] a) { System.out.println(\"small\"); } }\n";
    let [(_, prestarted), (_, cold)] = services();
    let (status, body) = prestarted.post(
        "/api/v1/execute",
        &json!({ "language": "java", "code": hello, "memoryLimitMb": 48 }),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("memoryLimitMb 48 is below the java minimum of 64"),
        "{body}"
    );
    let result = cold.run_with(json!({ "language": "java", "code": hello, "memoryLimitMb": 48 }));
    assert_eq!(result["stdout"], "small\n", "without pre-start: {result}");
    let body = json!({ "language": "java", "code": hello, "memoryLimitMb": 64 });
    for (service, result) in run_on_each(services(), &body) {
        assert_eq!(result["stdout"], "small\n", "{service}: {result}");
    }
}

/// The loader leaves no file behind: it deletes its own source and the warm-up's class.
#[test]
fn the_loader_leaves_no_file_behind() {
    let code = "import java.io.File;\nimport java.util.*;\npublic class Main { public static void main(String[] a) { List<String> seen = new ArrayList<>(); for (String dir : List.of(\"/tmp\", \"/sandbox\")) { for (String name : new File(dir).list()) { if (!name.startsWith(\"hsperfdata_\")) seen.add(dir + \"/\" + name); } } Collections.sort(seen); System.out.println(seen); } }\n";
    for (service, result) in run_on_each(services(), &java(code)) {
        assert_eq!(
            result["stdout"], "[/sandbox/Main.class, /sandbox/Main.java]\n",
            "{service}: {result}"
        );
    }
}

/// The compile stage in the waiting JVM keeps the stage's own CPU-time limit: javac stopped at
/// it is reported as a compile stage that ran out of time, as without pre-start. (Nested
/// implicit lambdas passed to an overloaded method take javac time exponential in the depth:
/// minutes at this depth.)
#[test]
fn the_compile_stage_stops_at_its_own_time_limit() {
    let mut call = String::new();
    for depth in 0..14 {
        call = format!("f(x{depth} -> {{ {call} return 1; }});");
    }
    let code = format!("import java.util.function.*;\npublic class Main {{\n  static int f(Function<Integer, Integer> g) {{ return 0; }}\n  static int f(ToIntFunction<String> g) {{ return 1; }}\n  public static void main(String[] a) {{ {call} }}\n}}\n");
    for (service, result) in run_on_each(services(), &java(&code)) {
        assert_eq!(
            result["runTimeStatus"], "time_limit_exceeded",
            "{service}: {result}"
        );
        assert_eq!(result["timeLimit"], "cpu", "{service}: {result}");
        assert_eq!(
            result["compile"]["status"], "cpu_timed_out",
            "{service}: {result}"
        );
    }
}

/// Judge0's compiler options reach javac in the waiting JVM as they reach the `javac` command.
#[test]
fn judge0_compiler_options_reach_javac_in_the_jvm() {
    let code = "import java.util.*;\npublic class Main { public static void main(String[] a) { List l = new ArrayList(); l.add(1); System.out.println(l); } }\n";
    let body =
        json!({ "source_code": code, "language_id": 62, "compiler_options": "-Xlint:all -g" });
    let results: Vec<(&str, Value)> = services()
        .into_iter()
        .map(|(name, service)| {
            let (status, body) = service.post("/submissions?wait=true", &body);
            assert_eq!(status, 201, "{name}: {body}");
            (name, body)
        })
        .collect();
    for (service, body) in &results {
        assert_eq!(body["stdout"], "[1]\n", "{service}: {body}");
        let warnings = body["compile_output"].as_str().unwrap_or_default();
        assert!(
            warnings.contains("warning: [rawtypes] found raw type: List"),
            "{service}: {body}"
        );
    }
    assert_eq!(
        results[0].1["compile_output"],
        results[1].1["compile_output"]
    );
}
