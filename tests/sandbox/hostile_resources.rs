//! Hostile programs that go after resources: processes, memory, CPU time, output, threads and
//! stack. The fork bomb, the memory bomb and the endless loop run in every language (the ones
//! added later from their table, `attack::languages`). Each is stopped by its limit with the status a user can act on, its container is
//! removed, and the service runs a hello world right after (see `attack`).

use crate::attack::languages::CASES;
use crate::attack::{arena, assert_status};
use serde_json::json;

/// The endless attacks ask for a short time limit, to keep the suite short.
fn short_limit() -> serde_json::Value {
    json!({ "timeoutMs": 1500 })
}

/// Forks (or spawns) without end and ignores every failure: the pids limit stops the growth and
/// the time limit ends the job (or, for Go, the pids limit ends the bomb's own runtime; or the
/// kernel memory of refused forks fills the memory limit first, see below).
#[test]
fn fork_bombs_hit_the_pids_limit_and_the_time_limit() {
    let bombs = [
        (
            "python",
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        ),
        (
            "ruby",
            "loop do\n  begin\n    fork\n  rescue StandardError\n  end\nend\n",
        ),
        (
            "cpp",
            "#include <unistd.h>\nint main() { for (;;) fork(); }\n",
        ),
        (
            "javascript",
            "const { spawn } = require('child_process');\nfunction bomb() {\n  try { spawn('sleep', ['600'], { stdio: 'ignore' }).on('error', () => {}); } catch (e) {}\n  setImmediate(bomb);\n}\nbomb();\n",
        ),
        (
            "go",
            "package main\nimport \"os/exec\"\nfunc main() {\n\tfor {\n\t\t_ = exec.Command(\"sleep\", \"600\").Start()\n\t}\n}\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) {\n  while (true) { try { new ProcessBuilder(\"sleep\", \"600\").start(); } catch (Throwable t) { } }\n} }\n",
        ),
    ];
    let added = CASES.iter().map(|case| (case.language, case.fork_bomb));
    for (language, code) in bombs.into_iter().chain(added) {
        let result = arena().attack(language, code, short_limit());
        // Go's runtime needs threads of its own: once the children have taken every pid it may
        // die itself ("failed to create new OS thread") before the time limit.
        let go_runtime_died = language == "go"
            && result["runTimeStatus"] == "runtime_error"
            && result["stderr"]
                .as_str()
                .is_some_and(|stderr| stderr.contains("failed to create new OS thread"));
        // Each refused fork costs kernel memory, charged to the container and given back only
        // later: on a loaded machine a bomb's millions of attempts can fill the memory limit
        // first, while its own processes hold little of it (the kernel's OOM report then shows
        // the container's kmem near the limit: 222 of 256 MB for Elixir, with 32 MB of rss).
        // That is still the bomb stopped by a limit, and only that case is let through: its
        // processes held less than half the limit.
        let kernel_memory_filled = result["runTimeStatus"] == "memory_limit_exceeded"
            && megabytes(&result["memoryUsage"]) < memory_limit_mb(&result) / 2.0;
        if !go_runtime_died && !kernel_memory_filled {
            assert_status(language, &result, "time_limit_exceeded");
        }
    }
}

/// The limit a `memory_limit_exceeded` message names ("... the memory limit of 256 MB").
fn memory_limit_mb(result: &serde_json::Value) -> f64 {
    let message = result["errorMessage"].as_str().unwrap_or_default();
    let limit = message
        .split("memory limit of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok());
    limit.unwrap_or_else(|| panic!("no memory limit in the message: {result}"))
}

/// `memoryUsage` ("12.3MB") as a number of megabytes.
fn megabytes(usage: &serde_json::Value) -> f64 {
    let text = usage.as_str().expect("memoryUsage is a string");
    let number = text.strip_suffix("MB").expect("memoryUsage ends in MB");
    number.parse().expect("memoryUsage is a number of MB")
}

/// Allocates and touches memory without end: the container's memory limit stops it, and Docker's
/// OOM flag makes that `memory_limit_exceeded`. The JVM caps its own heap below the container's
/// limit, so Java's bomb ends in its own OutOfMemoryError instead.
#[test]
fn memory_bombs_hit_the_memory_limit() {
    let bombs = [
        ("python", "chunks = []\nwhile True:\n    chunks.append(b'x' * 10_000_000)\n"),
        ("ruby", "chunks = []\nloop { chunks << ('x' * 10_000_000) }\n"),
        (
            "javascript",
            "const chunks = [];\nwhile (true) chunks.push(Buffer.alloc(10_000_000, 1));\n",
        ),
        (
            "cpp",
            "#include <cstring>\n#include <vector>\nint main() { std::vector<char*> v; for (;;) { char* p = new char[10000000]; std::memset(p, 1, 10000000); v.push_back(p); } }\n",
        ),
        (
            "go",
            "package main\nfunc main() {\n\tvar chunks [][]byte\n\tfor {\n\t\tb := make([]byte, 10_000_000)\n\t\tfor i := range b {\n\t\t\tb[i] = 1\n\t\t}\n\t\tchunks = append(chunks, b)\n\t}\n}\n",
        ),
    ];
    let added = CASES.iter().map(|case| (case.language, case.memory_bomb));
    for (language, code) in bombs.into_iter().chain(added) {
        let result = arena().run(language, code);
        assert_status(language, &result, "memory_limit_exceeded");
        let message = result["errorMessage"].as_str().unwrap();
        assert!(message.contains("exceeded the memory limit"), "{message}");
    }
    let java = "import java.util.*;\npublic class Main { public static void main(String[] a) {\n  List<byte[]> chunks = new ArrayList<>();\n  while (true) { byte[] b = new byte[10_000_000]; Arrays.fill(b, (byte) 1); chunks.add(b); }\n} }\n";
    let result = arena().run("java", java);
    assert_status("java", &result, "runtime_error");
    let message = result["errorMessage"].as_str().unwrap();
    assert!(message.contains("OutOfMemoryError"), "{message}");
}

#[test]
fn endless_loops_hit_the_cpu_time_limit() {
    let loops = [
        ("python", "while True:\n    pass\n"),
        ("ruby", "loop {}\n"),
        ("javascript", "while (true) {}\n"),
        (
            "cpp",
            "int main() { volatile unsigned long n = 0; for (;;) n++; }\n",
        ),
        ("go", "package main\nfunc main() {\n\tn := 0\n\tfor {\n\t\tn++\n\t}\n}\n"),
        (
            "java",
            "public class Main { public static void main(String[] a) { long n = 0; while (true) n++; } }\n",
        ),
    ];
    let added = CASES.iter().map(|case| (case.language, case.endless_loop));
    for (language, code) in loops.into_iter().chain(added) {
        // However busy the machine, a loop gets a tenth of a core: the CPU limit comes first.
        let limits = json!({ "timeoutMs": 1500, "wallTimeoutMs": 15000 });
        let result = arena().attack(language, code, limits);
        assert_status(language, &result, "time_limit_exceeded");
        assert_eq!(result["timeLimit"], "cpu", "{language}: {result}");
        let message = result["errorMessage"].as_str().unwrap();
        assert_eq!(
            message,
            "the program exceeded its CPU time limit of 1500 ms"
        );
    }
}

/// Prints without end: stopped once its output passes the cap, which is all it keeps.
#[test]
fn endless_printing_loops_hit_the_output_limit() {
    let loops = [
        ("python", "while True:\n    print('spam')\n"),
        ("ruby", "loop { puts 'spam' }\n"),
        ("javascript", "for (;;) process.stdout.write('spam\\n');\n"),
        (
            "cpp",
            "#include <cstdio>\nint main() { for (;;) std::puts(\"spam\"); }\n",
        ),
        (
            "go",
            "package main\nimport \"fmt\"\nfunc main() {\n\tfor {\n\t\tfmt.Println(\"spam\")\n\t}\n}\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) { while (true) System.out.println(\"spam\"); } }\n",
        ),
    ];
    for (language, code) in loops {
        let result = arena().run(language, code);
        assert_status(language, &result, "output_limit_exceeded");
        assert_eq!(result["truncated"], true, "{language}");
        let output = result["output"].as_str().unwrap();
        assert_eq!(
            output.len(),
            65536,
            "{language}: the output is cut at the cap"
        );
        assert!(output.starts_with("spam\nspam\n"), "{language}");
    }
}

/// Uses no CPU time: the wall-time limit, the backstop for programs that wait, ends it.
#[test]
fn sleeping_forever_hits_the_wall_time_limit() {
    let sleepers = [
        ("python", "import time\ntime.sleep(10**6)\n"),
        ("ruby", "sleep\n"),
        ("javascript", "setInterval(() => {}, 1 << 30);\n"),
        (
            "cpp",
            "#include <unistd.h>\nint main() { for (;;) pause(); }\n",
        ),
        (
            "go",
            "package main\nimport \"time\"\nfunc main() { time.Sleep(1000 * time.Hour) }\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) throws Exception { Thread.sleep(Long.MAX_VALUE); } }\n",
        ),
    ];
    for (language, code) in sleepers {
        let limits = json!({ "timeoutMs": 1500, "wallTimeoutMs": 1500 });
        let result = arena().attack(language, code, limits);
        assert_status(language, &result, "time_limit_exceeded");
        assert_eq!(result["timeLimit"], "wall", "{language}: {result}");
        let message = result["errorMessage"].as_str().unwrap();
        assert!(
            message.starts_with("the program exceeded its wall time limit of 1500 ms, having used"),
            "{language}: {message}"
        );
    }
}

/// Starts threads until the pids limit (64; 128 for the JVM) refuses one, then reports how many it
/// got.
#[test]
fn thousands_of_threads_are_capped_by_the_pids_limit() {
    let programs = [
        (
            "python",
            "import threading, time, os\nstarted = 0\ntry:\n    for _ in range(10000):\n        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n        started += 1\nexcept RuntimeError:\n    pass\nprint('started', started, flush=True)\nos._exit(0)\n",
        ),
        (
            "ruby",
            "started = 0\nbegin\n  10000.times { Thread.new { sleep 600 }; started += 1 }\nrescue ThreadError\nend\nputs \"started #{started}\"\n$stdout.flush\nexit!(0)\n",
        ),
        (
            "cpp",
            "#include <pthread.h>\n#include <unistd.h>\n#include <cstdio>\nvoid* idle(void*) { pause(); return nullptr; }\nint main() { int started = 0; pthread_t t;\n  while (started < 10000 && pthread_create(&t, nullptr, idle, nullptr) == 0) started++;\n  std::printf(\"started %d\\n\", started); std::fflush(stdout); _exit(0); }\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) {\n  int started = 0;\n  try { for (; started < 10000; started++) { Thread t = new Thread(() -> { try { Thread.sleep(600_000); } catch (InterruptedException e) { } }); t.setDaemon(true); t.start(); } }\n  catch (Throwable t) { }\n  System.out.println(\"started \" + started); System.out.flush(); Runtime.getRuntime().halt(0);\n} }\n",
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        let output = result["output"].as_str().unwrap();
        // The JVM also warns on stdout about the thread it could not start.
        let started: u64 = output
            .lines()
            .find_map(|line| line.strip_prefix("started "))
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("{language}: {output:?}"));
        let pids_limit = if language == "java" { 128 } else { 64 };
        assert!(
            (1..pids_limit).contains(&started),
            "{language}: {started} threads started"
        );
    }
    // Go's runtime treats a refused thread as fatal, and its crash report lists every goroutine:
    // far past the output cap, which is what stops the program.
    let go = "package main\nimport (\"runtime\"; \"syscall\")\nfunc main() {\n\tfor i := 0; i < 10000; i++ {\n\t\tgo func() { runtime.LockOSThread(); var ts = syscall.Timespec{Sec: 600}; syscall.Nanosleep(&ts, nil) }()\n\t}\n\tselect {}\n}\n";
    let result = arena().run("go", go);
    assert_status("go", &result, "output_limit_exceeded");
    let stderr = result["stderr"].as_str().unwrap();
    assert!(
        stderr.starts_with("runtime: failed to create new OS thread"),
        "{stderr}"
    );
}

/// Recursion without end overflows the stack: a runtime error in every language but Go, whose
/// stacks grow on the heap until the memory limit stops them.
#[test]
fn deep_recursion_ends_in_a_runtime_error() {
    let programs = [
        ("python", "def f(n):\n    return f(n + 1) + 1\nf(0)\n", "RecursionError"),
        (
            "ruby",
            "def f(n) = f(n + 1) + 1\nf(0)\n",
            "stack level too deep",
        ),
        (
            "javascript",
            "function f(n) { return f(n + 1) + 1; }\nf(0);\n",
            "Maximum call stack size exceeded",
        ),
        (
            "java",
            "public class Main { static int f(int n) { return f(n + 1) + 1; }\n  public static void main(String[] a) { f(0); } }\n",
            "StackOverflowError",
        ),
        (
            "cpp",
            "int f(volatile int n) { volatile char pad[256]; pad[0] = n; return f(n + 1) + pad[0]; }\nint main() { return f(0); }\n",
            "signal 11",
        ),
    ];
    for (language, code, message_part) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "runtime_error");
        let message = result["errorMessage"].as_str().unwrap();
        assert!(message.contains(message_part), "{language}: {message}");
    }
    let go = "package main\nfunc f(n int) int { var pad [256]byte; pad[n%256] = 1; return f(n+1) + int(pad[0]) }\nfunc main() { f(0) }\n";
    let result = arena().run("go", go);
    assert_status("go", &result, "memory_limit_exceeded");
}

/// The program (here a pre-started interpreter, a compiled binary and a JVM) is the OOM killer's
/// first choice and its runner, the container's PID 1, is not: memory the job fills costs the
/// program its life, and the runner lives to report it.
#[test]
fn the_program_is_the_oom_killers_first_choice_and_its_runner_is_not() {
    let readers = [
        (
            "python",
            "print(open('/proc/self/oom_score_adj').read().strip(), open('/proc/1/oom_score_adj').read().strip())\n",
        ),
        (
            "cpp",
            "#include <fstream>\n#include <iostream>\nint main() { int own, runner; std::ifstream(\"/proc/self/oom_score_adj\") >> own; std::ifstream(\"/proc/1/oom_score_adj\") >> runner; std::cout << own << ' ' << runner << std::endl; }\n",
        ),
        (
            "java",
            "import java.nio.file.*;\npublic class Main { public static void main(String[] a) throws Exception {\n  System.out.println(Files.readString(Path.of(\"/proc/self/oom_score_adj\")).trim() + \" \" + Files.readString(Path.of(\"/proc/1/oom_score_adj\")).trim()); } }\n",
        ),
    ];
    for (language, code) in readers {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        assert_eq!(result["stdout"], "1000 0\n", "{language}: {result}");
    }
}

/// Fills /sandbox, /tmp and /dev/shm with a small memory limit (the lowest a request may ask for,
/// or for C++ the least its compiler needs), below what they hold together: their pages count
/// against it, so the program ends as `memory_limit_exceeded` (the OOM killer takes the program,
/// never its runner, which reports the kill), or with a full disk as a `runtime_error` the
/// program explains; never `internal_error`, and the message names the program, not compilation.
#[test]
fn filling_every_writable_place_with_a_small_memory_limit_is_the_programs_doing() {
    let fillers = [
        (
            "python",
            "import os\nchunk = b'x' * 1_000_000\nfor place in ('/sandbox', '/tmp', '/dev/shm'):\n    for i in range(100):\n        try:\n            with open(f'{place}/fill{i}', 'wb') as f:\n                f.write(chunk * 8)\n        except OSError as e:\n            print(place, e.strerror)\n            break\nprint('filled')\n",
        ),
        (
            "ruby",
            "chunk = 'x' * 8_000_000\n['/sandbox', '/tmp', '/dev/shm'].each do |place|\n  100.times do |i|\n    File.binwrite(\"#{place}/fill#{i}\", chunk)\n  rescue SystemCallError => e\n    puts \"#{place} #{e.message}\"\n    break\n  end\nend\nputs 'filled'\n",
        ),
        (
            "cpp",
            "#include <cstdio>\n#include <string>\n#include <vector>\nint main() { std::vector<char> chunk(8000000, 'x');\n  for (const char* place : {\"/sandbox\", \"/tmp\", \"/dev/shm\"}) {\n    for (int i = 0; i < 100; i++) {\n      std::string path = std::string(place) + \"/fill\" + std::to_string(i);\n      FILE* f = std::fopen(path.c_str(), \"wb\");\n      if (!f || std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size() || std::fclose(f) != 0) { std::printf(\"%s full\\n\", place); break; }\n    }\n  }\n  std::puts(\"filled\"); }\n",
        ),
    ];
    for (language, code) in fillers {
        let limit = if language == "cpp" { 128 } else { 32 };
        let result = arena().attack(language, code, json!({ "memoryLimitMb": limit }));
        let status = result["runTimeStatus"].as_str().unwrap_or_default();
        let message = result["errorMessage"].as_str().unwrap_or_default();
        match status {
            "memory_limit_exceeded" => assert!(
                message.starts_with(&format!(
                    "the program exceeded the memory limit of {limit} MB"
                )),
                "{language}: {result}"
            ),
            "succeeded" | "runtime_error" => {
                let output = result["output"].as_str().unwrap_or_default();
                assert!(
                    output.contains("full") || output.contains("No space"),
                    "{language}: {result}"
                )
            }
            _ => panic!("{language}: neither the memory limit nor a full disk: {result}"),
        }
    }
}
