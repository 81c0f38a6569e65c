//! Hostile programs that go after the runner and the output channel: killing every process they
//! can see, leaving a child behind, and writing bytes that are not text. Each gets an answer that
//! is valid JSON, its container is removed, and the service runs a hello world right after (see
//! `attack`).

use crate::attack::{arena, assert_status};

/// Sends SIGKILL to every process it may signal, then to PID 1 by number (Python tries other
/// signals too, including those the runner's Rust runtime handles). The runner is PID 1 of the
/// container and runs under a uid other than the program's, so the kernel refuses each signal
/// (EPERM; PID 1 would also be shielded from signals sent inside its namespace). It survives and
/// reports the program like any other: it printed and exited normally. (With nothing else to
/// kill, `kill(-1)` fails with ESRCH, which the programs that see it as an exception tolerate.)
#[test]
fn killing_every_process_cannot_reach_the_runner() {
    let programs = [
        (
            "python",
            "import os, signal, subprocess\nsibling = subprocess.Popen(['sleep', '60'])\nos.kill(-1, signal.SIGKILL)\nrefused = 0\nfor sig in ('SIGKILL', 'SIGTERM', 'SIGINT', 'SIGSEGV', 'SIGBUS', 'SIGSEGV', 'SIGABRT', 'SIGSTOP'):\n    try:\n        os.kill(1, getattr(signal, sig))\n    except PermissionError:\n        refused += 1\nprint('survived', open('/proc/1/comm').read().strip(), sibling.wait(), 'refused', refused)\n",
        ),
        ("ruby", "begin\n  Process.kill(:KILL, -1)\nrescue Errno::ESRCH\nend\nbegin\n  Process.kill(:KILL, 1)\n  puts 'survived, not refused'\nrescue Errno::EPERM\n  puts 'survived, refused'\nend\n"),
        (
            "javascript",
            "try { process.kill(-1, 'SIGKILL'); } catch (e) { if (e.code !== 'ESRCH') throw e; }\ntry { process.kill(1, 'SIGKILL'); console.log('survived, not refused'); }\ncatch (e) { if (e.code !== 'EPERM') throw e; console.log('survived, refused'); }\n",
        ),
        (
            "cpp",
            "#include <cerrno>\n#include <signal.h>\n#include <cstdio>\nint main() { kill(-1, SIGKILL); bool refused = kill(1, SIGKILL) == -1 && errno == EPERM;\n  std::puts(refused ? \"survived, refused\" : \"survived, not refused\"); }\n",
        ),
        (
            "go",
            "package main\nimport (\"fmt\"; \"syscall\")\nfunc main() {\n\tsyscall.Kill(-1, syscall.SIGKILL)\n\tif syscall.Kill(1, syscall.SIGKILL) == syscall.EPERM {\n\t\tfmt.Println(\"survived, refused\")\n\t} else {\n\t\tfmt.Println(\"survived, not refused\")\n\t}\n}\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) throws Exception {\n  long self = ProcessHandle.current().pid();\n  ProcessHandle.allProcesses().filter(p -> p.pid() != self).forEach(ProcessHandle::destroyForcibly);\n  Thread.sleep(200);\n  System.out.println(\"survived\");\n} }\n",
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        let expected = match language {
            // `sleep`, a process the program could reach, was killed (-9); the runner was not.
            "python" => "survived codeexec-runner -9 refused 8\n",
            "java" => "survived\n",
            _ => "survived, refused\n",
        };
        assert_eq!(result["output"], expected, "{language}: {result}");
    }
}

/// Leaves a child in a session of its own (out of reach of the runner's process-group kill) that
/// sleeps for an hour holding the output pipe open, and exits at once. The job answers as soon as
/// the program has exited, and the child ends with its container.
#[test]
fn a_child_that_outlives_the_program_does_not_hold_up_the_job() {
    let programs = [
        (
            "python",
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(3600)\n    os._exit(0)\nprint('parent done')\n",
        ),
        (
            "ruby",
            "fork do\n  Process.setsid\n  fork { sleep 3600 }\n  exit!(0)\nend\nputs 'parent done'\n",
        ),
        (
            "javascript",
            "require('child_process').spawn('sleep', ['3600'], { detached: true, stdio: 'inherit' }).unref();\nconsole.log('parent done');\n",
        ),
        (
            "cpp",
            "#include <unistd.h>\n#include <cstdio>\nint main() {\n  if (fork() == 0) { setsid(); if (fork() == 0) sleep(3600); _exit(0); }\n  std::puts(\"parent done\");\n}\n",
        ),
        (
            "go",
            "package main\nimport (\"fmt\"; \"os\"; \"os/exec\"; \"syscall\")\nfunc main() {\n\tchild := exec.Command(\"sleep\", \"3600\")\n\tchild.Stdout = os.Stdout\n\tchild.SysProcAttr = &syscall.SysProcAttr{Setsid: true}\n\tchild.Start()\n\tfmt.Println(\"parent done\")\n}\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) throws Exception {\n  new ProcessBuilder(\"setsid\", \"sleep\", \"3600\").inheritIO().start();\n  System.out.println(\"parent done\");\n} }\n",
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        assert_eq!(result["output"], "parent done\n", "{language}: {result}");
    }
}

/// Writes `a NUL b 0xFF 0xFE c newline`: NUL comes back as `\u0000`, each invalid byte as U+FFFD,
/// and the answer is valid JSON.
#[test]
fn nul_and_invalid_utf8_on_stdout_come_back_as_valid_json() {
    let programs = [
        ("python", "import sys\nsys.stdout.buffer.write(b'a\\x00b\\xff\\xfec\\n')\n"),
        ("ruby", "$stdout.write(\"a\\x00b\\xff\\xfec\\n\".b)\n"),
        (
            "javascript",
            "process.stdout.write(Buffer.from([0x61, 0x00, 0x62, 0xff, 0xfe, 0x63, 0x0a]));\n",
        ),
        (
            "cpp",
            "#include <cstdio>\nint main() { const unsigned char bytes[] = {0x61, 0x00, 0x62, 0xff, 0xfe, 0x63, 0x0a}; std::fwrite(bytes, 1, sizeof bytes, stdout); }\n",
        ),
        (
            "go",
            "package main\nimport \"os\"\nfunc main() { os.Stdout.Write([]byte{0x61, 0x00, 0x62, 0xff, 0xfe, 0x63, 0x0a}) }\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) { System.out.write(new byte[] {0x61, 0x00, 0x62, (byte) 0xff, (byte) 0xfe, 0x63, 0x0a}, 0, 7); System.out.flush(); } }\n",
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        assert_eq!(
            result["output"], "a\u{0}b\u{FFFD}\u{FFFD}c\n",
            "{language}: {result}"
        );
    }
}

/// One line of 10 MB without a newline: stopped at the output cap, of which it keeps exactly the
/// first 64 KiB.
#[test]
fn a_single_10_mb_line_is_cut_at_the_output_limit() {
    let programs = [
        ("python", "import sys\nsys.stdout.write('x' * 10_000_000)\n"),
        ("ruby", "$stdout.write('x' * 10_000_000)\n"),
        ("javascript", "process.stdout.write('x'.repeat(10_000_000));\n"),
        (
            "cpp",
            "#include <iostream>\n#include <string>\nint main() { std::cout << std::string(10000000, 'x'); }\n",
        ),
        (
            "go",
            "package main\nimport (\"os\"; \"strings\")\nfunc main() { os.Stdout.WriteString(strings.Repeat(\"x\", 10_000_000)) }\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) { System.out.print(\"x\".repeat(10_000_000)); System.out.flush(); } }\n",
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "output_limit_exceeded");
        assert_eq!(result["truncated"], true, "{language}");
        assert_eq!(result["output"], "x".repeat(65536), "{language}");
    }
}

/// A grandchild in a session of its own fills 100 MB and goes on holding it after the program,
/// which waited only until it was filled, has exited: `wait4` on the program never sees that
/// memory, but the container's cgroup does, and `memoryUsage` shows it.
#[test]
fn a_grandchilds_memory_shows_in_memory_usage() {
    let programs = [
        (
            "python",
            "import os, time\nread, write = os.pipe()\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        block = b'x' * (100 * 1024 * 1024)\n        os.write(write, b'x')\n        time.sleep(3600)\n    os._exit(0)\nos.close(write)\nos.read(read, 1)\nprint('filled')\n",
        ),
        (
            "cpp",
            "#include <unistd.h>\n#include <cstdio>\n#include <vector>\nint main() { int p[2]; pipe(p);\n  if (fork() == 0) { setsid(); if (fork() == 0) {\n    std::vector<char> block(100 << 20, 'x');\n    write(p[1], \"x\", 1); sleep(3600); }\n    _exit(0); }\n  close(p[1]); char c; read(p[0], &c, 1); std::puts(\"filled\"); }\n",
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        assert_eq!(result["output"], "filled\n", "{language}: {result}");
        let usage = result["memoryUsage"].as_str().unwrap();
        let megabytes: f64 = usage.strip_suffix("MB").unwrap().parse().unwrap();
        assert!(
            megabytes >= 100.0,
            "{language}: the grandchild's 100 MB are missing: {result}"
        );
    }
}

/// A grandchild in a session of its own burns a second of CPU while the program waits for it:
/// `wait4` on the program never sees that CPU (the grandchild is reaped by the runner, PID 1),
/// but the container's cgroup does, and `cpuTime` shows it.
#[test]
fn a_grandchilds_cpu_shows_in_cpu_time() {
    let programs = [
        (
            "python",
            "import os, time\nread, write = os.pipe()\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        while time.process_time() < 1.0:\n            pass\n        os.write(write, b'x')\n    os._exit(0)\nos.close(write)\nos.read(read, 1)\nprint('waited', round(time.process_time(), 1))\n",
        ),
        (
            "cpp",
            "#include <unistd.h>\n#include <ctime>\n#include <cstdio>\nint main() { int p[2]; pipe(p);\n  if (fork() == 0) { setsid(); if (fork() == 0) {\n    while (clock() < CLOCKS_PER_SEC) {}\n    write(p[1], \"x\", 1); }\n    _exit(0); }\n  close(p[1]); char c; read(p[0], &c, 1); std::printf(\"waited %.1f\\n\", (double)clock() / CLOCKS_PER_SEC); }\n",
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        assert_eq!(result["output"], "waited 0.0\n", "{language}: {result}");
        let cpu = result["cpuTime"].as_f64().unwrap_or_default();
        assert!(
            cpu >= 1.0,
            "{language}: the grandchild's second is missing: {result}"
        );
    }
}
