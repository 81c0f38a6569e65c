//! Hostile programs that try to reach outside their container: write to the image, fill the disk,
//! open a network connection, read the host's environment and processes. Each finds nothing to
//! reach, its container is removed, and the service runs a hello world right after (see
//! `attack`).

use crate::attack::{arena, assert_status};
use serde_json::Value;

/// Paths a program tries to write: new files in `/`, `/etc` and `/usr`, and existing files there.
const PROTECTED: [&str; 5] = [
    "/pwned",
    "/etc/passwd",
    "/etc/pwned",
    "/usr/pwned",
    "/usr/bin/env",
];

/// Each program tries every path of [`PROTECTED`] and prints `PATH written` or
/// `PATH refused: REASON`.
#[test]
fn the_root_filesystem_is_read_only() {
    let paths = PROTECTED.map(|path| format!("\"{path}\"")).join(", ");
    let programs = [
        (
            "python",
            format!("for path in [{paths}]:\n    try:\n        with open(path, 'a') as f:\n            f.write('x')\n        print(path, 'written')\n    except OSError as e:\n        print(path, 'refused:', e.strerror)\n"),
        ),
        (
            "ruby",
            format!("[{paths}].each do |path|\n  File.open(path, 'a') {{ |f| f.write('x') }}\n  puts \"#{{path}} written\"\nrescue SystemCallError => e\n  puts \"#{{path}} refused: #{{e.message}}\"\nend\n"),
        ),
        (
            "javascript",
            format!("const fs = require('fs');\nfor (const path of [{paths}]) {{\n  try {{ fs.appendFileSync(path, 'x'); console.log(path + ' written'); }}\n  catch (e) {{ console.log(path + ' refused: ' + e.code); }}\n}}\n"),
        ),
        (
            "cpp",
            format!("#include <fcntl.h>\n#include <unistd.h>\n#include <cstdio>\n#include <cstring>\n#include <cerrno>\n#include <initializer_list>\nint main() {{\n  for (const char* path : {{{paths}}}) {{\n    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);\n    if (fd < 0 || write(fd, \"x\", 1) != 1) std::printf(\"%s refused: %s\\n\", path, std::strerror(errno));\n    else std::printf(\"%s written\\n\", path);\n  }}\n}}\n"),
        ),
        (
            "go",
            format!("package main\nimport (\"fmt\"; \"os\")\nfunc main() {{\n\tfor _, path := range []string{{{paths}}} {{\n\t\tf, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0644)\n\t\tif err == nil {{\n\t\t\t_, err = f.Write([]byte(\"x\"))\n\t\t}}\n\t\tif err != nil {{\n\t\t\tfmt.Println(path, \"refused:\", err)\n\t\t}} else {{\n\t\t\tfmt.Println(path, \"written\")\n\t\t}}\n\t}}\n}}\n"),
        ),
        (
            "java",
            format!("import java.nio.file.*;\npublic class Main {{ public static void main(String[] a) {{\n  for (String path : new String[] {{{paths}}}) {{\n    try {{ Files.write(Path.of(path), new byte[] {{ 'x' }}, StandardOpenOption.CREATE, StandardOpenOption.APPEND); System.out.println(path + \" written\"); }}\n    catch (Exception e) {{ System.out.println(path + \" refused: \" + e); }}\n  }}\n}} }}\n"),
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, &code);
        assert_status(language, &result, "succeeded");
        let output = result["output"].as_str().unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), PROTECTED.len(), "{language}: {output}");
        for (line, path) in lines.iter().zip(PROTECTED) {
            assert!(
                line.starts_with(&format!("{path} refused: ")),
                "{language}: {line}"
            );
        }
    }
}

/// Writes 1 MiB at a time into files of 16 MiB (under the 32 MB file-size limit) until the
/// filesystem is full, for `/sandbox` then `/tmp`, and prints for each: mount point, filesystem
/// type, size in MiB, MiB written, and the error that stopped it. Both are 64 MiB tmpfs: the
/// program gets ENOSPC there, in memory counted against its own limit, never on the host's disk.
#[test]
fn filling_the_sandbox_and_tmp_gives_enospc_on_a_small_tmpfs() {
    let python = "import errno, os\n\
def fill(folder):\n    written, index, chunk = 0, 0, b'x' * (1 << 20)\n    while True:\n        fd = os.open(f'{folder}/fill{index}', os.O_WRONLY | os.O_CREAT, 0o600)\n        try:\n            for _ in range(16):\n                written += os.write(fd, chunk)\n        except OSError as e:\n            return written, errno.errorcode[e.errno]\n        finally:\n            os.close(fd)\n        index += 1\n\
for folder in ['/sandbox', '/tmp']:\n    kind = [line.split()[2] for line in open('/proc/self/mounts') if line.split()[1] == folder][0]\n    stat = os.statvfs(folder)\n    written, error = fill(folder)\n    print(folder, kind, stat.f_blocks * stat.f_frsize >> 20, written >> 20, error)\n";
    let cpp = "#include <fcntl.h>\n#include <unistd.h>\n#include <sys/statvfs.h>\n#include <cerrno>\n#include <cstdio>\n#include <cstring>\n#include <string>\n#include <vector>\n\
long fill(const std::string& folder, int& error) {\n  std::vector<char> chunk(1 << 20, 'x'); long written = 0;\n  for (int index = 0;; index++) {\n    int fd = open((folder + \"/fill\" + std::to_string(index)).c_str(), O_WRONLY | O_CREAT, 0600);\n    if (fd < 0) { error = errno; return written; }\n    for (int i = 0; i < 16; i++) {\n      ssize_t n = write(fd, chunk.data(), chunk.size());\n      if (n < 0) { error = errno; close(fd); return written; }\n      written += n;\n    }\n    close(fd);\n  }\n}\n\
int main() {\n  for (std::string folder : {\"/sandbox\", \"/tmp\"}) {\n    struct statvfs stat; statvfs(folder.c_str(), &stat);\n    std::string kind = \"?\"; char device[256], point[256], type[64];\n    FILE* mounts = std::fopen(\"/proc/self/mounts\", \"r\");\n    while (std::fscanf(mounts, \"%255s %255s %63s %*[^\\n]\", device, point, type) == 3) if (folder == point) kind = type;\n    std::fclose(mounts);\n    int error = 0; long written = fill(folder, error);\n    std::printf(\"%s %s %lu %ld %s\\n\", folder.c_str(), kind.c_str(), (unsigned long)(stat.f_blocks * stat.f_frsize >> 20), written >> 20, error == ENOSPC ? \"ENOSPC\" : std::strerror(error));\n  }\n}\n";
    for (language, code) in [("python", python), ("cpp", cpp)] {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        let output = result["output"].as_str().unwrap();
        let lines: Vec<Vec<&str>> = output.lines().map(|l| l.split(' ').collect()).collect();
        assert_eq!(lines.len(), 2, "{language}: {output}");
        for (fields, folder) in lines.iter().zip(["/sandbox", "/tmp"]) {
            let [point, kind, size, written, error] = fields[..] else {
                panic!("{language}: {output}");
            };
            assert_eq!(
                (point, kind, size),
                (folder, "tmpfs", "64"),
                "{language}: {output}"
            );
            let written: u64 = written.parse().unwrap();
            assert!((56..=64).contains(&written), "{language}: {output}");
            assert_eq!(error, "ENOSPC", "{language}: {output}");
        }
    }
}

/// Tries to connect to the service itself on the host's loopback and to an outside address
/// (192.0.2.1, reserved for documentation): containers have no network, so neither is reached.
#[test]
fn programs_cannot_open_network_connections() {
    let port = arena().service.url.rsplit(':').next().unwrap().to_string();
    let targets = [("127.0.0.1", port.as_str()), ("192.0.2.1", "80")];
    let list = targets
        .iter()
        .map(|(host, port)| format!("[\"{host}\", {port}]"))
        .collect::<Vec<_>>()
        .join(", ");
    let programs = [
        (
            "python",
            format!("import socket\nprint('interfaces', [name for _, name in socket.if_nameindex()])\nfor host, port in [{list}]:\n    try:\n        socket.create_connection((host, port), timeout=2)\n        print(host, 'connected')\n    except OSError as e:\n        print(host, 'failed:', e.strerror or e)\n"),
        ),
        (
            "ruby",
            format!("require 'socket'\nputs \"interfaces #{{Socket.getifaddrs.map(&:name).uniq}}\"\n[{list}].each do |host, port|\n  Socket.tcp(host, port, connect_timeout: 2).close\n  puts \"#{{host}} connected\"\nrescue SystemCallError, IOError => e\n  puts \"#{{host}} failed: #{{e.message}}\"\nend\n"),
        ),
        (
            "javascript",
            format!("const net = require('net');\nconst os = require('os');\nconsole.log('interfaces', JSON.stringify(Object.keys(os.networkInterfaces())));\n(async () => {{\n  for (const [host, port] of [{list}]) {{\n    const line = await new Promise(done => {{\n      const socket = net.connect({{ host, port, timeout: 2000 }}, () => {{ socket.destroy(); done(host + ' connected'); }});\n      socket.on('error', e => done(host + ' failed: ' + e.code));\n      socket.on('timeout', () => {{ socket.destroy(); done(host + ' failed: timeout'); }});\n    }});\n    console.log(line);\n  }}\n}})();\n"),
        ),
        (
            "go",
            format!("package main\nimport (\"fmt\"; \"net\"; \"time\")\nfunc main() {{\n\tinterfaces, _ := net.Interfaces()\n\tvar names []string\n\tfor _, i := range interfaces {{\n\t\tnames = append(names, i.Name)\n\t}}\n\tfmt.Println(\"interfaces\", names)\n\tfor _, target := range [][2]string{{{go_list}}} {{\n\t\tconn, err := net.DialTimeout(\"tcp\", net.JoinHostPort(target[0], target[1]), 2*time.Second)\n\t\tif err != nil {{\n\t\t\tfmt.Println(target[0], \"failed:\", err)\n\t\t}} else {{\n\t\t\tconn.Close()\n\t\t\tfmt.Println(target[0], \"connected\")\n\t\t}}\n\t}}\n}}\n", go_list = targets.iter().map(|(h, p)| format!("{{\"{h}\", \"{p}\"}}")).collect::<Vec<_>>().join(", ")),
        ),
        (
            "java",
            format!("import java.net.*;\nimport java.util.*;\npublic class Main {{ public static void main(String[] a) throws Exception {{\n  List<String> names = new ArrayList<>();\n  for (NetworkInterface i : Collections.list(NetworkInterface.getNetworkInterfaces())) names.add(i.getName());\n  System.out.println(\"interfaces \" + names);\n  String[][] targets = {{{java_list}}};\n  for (String[] t : targets) {{\n    try (Socket s = new Socket()) {{ s.connect(new InetSocketAddress(t[0], Integer.parseInt(t[1])), 2000); System.out.println(t[0] + \" connected\"); }}\n    catch (Exception e) {{ System.out.println(t[0] + \" failed: \" + e.getMessage()); }}\n  }}\n}} }}\n", java_list = targets.iter().map(|(h, p)| format!("{{\"{h}\", \"{p}\"}}")).collect::<Vec<_>>().join(", ")),
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, &code);
        assert_status(language, &result, "succeeded");
        let output = result["output"].as_str().unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 3, "{language}: {output}");
        assert!(
            lines[0].contains("lo") && !lines[0].contains("eth"),
            "{language}: only the loopback interface: {output}"
        );
        for (line, (host, _)) in lines[1..].iter().zip(targets) {
            assert!(
                line.starts_with(&format!("{host} failed: ")),
                "{language}: {line}"
            );
        }
    }
}

/// Prints its whole environment: it holds nothing of the service's or the host's (the service's
/// instance name, Cargo's variables, the host name).
#[test]
fn the_environment_holds_nothing_of_the_host() {
    let programs = [
        ("python", "import os\nfor k, v in os.environ.items():\n    print(f'{k}={v}')\n"),
        ("ruby", "ENV.each { |k, v| puts \"#{k}=#{v}\" }\n"),
        (
            "javascript",
            "for (const [k, v] of Object.entries(process.env)) console.log(`${k}=${v}`);\n",
        ),
        (
            "go",
            "package main\nimport (\"fmt\"; \"os\")\nfunc main() {\n\tfor _, kv := range os.Environ() {\n\t\tfmt.Println(kv)\n\t}\n}\n",
        ),
        (
            "cpp",
            "#include <cstdio>\nextern char** environ;\nint main() { for (char** e = environ; *e; e++) std::puts(*e); }\n",
        ),
        (
            "java",
            "public class Main { public static void main(String[] a) { System.getenv().forEach((k, v) -> System.out.println(k + \"=\" + v)); } }\n",
        ),
    ];
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host_name_line = format!("HOSTNAME={}", host_name.trim());
    let instance = arena().service.instance.clone();
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        let output = result["output"].as_str().unwrap();
        assert!(
            output.lines().any(|line| line == "HOME=/tmp"),
            "{language}: {output}"
        );
        for secret in [instance.as_str(), "CODEEXEC_", "CARGO", "RUST_LOG"] {
            assert!(
                !output.contains(secret),
                "{language} sees {secret:?}: {output}"
            );
        }
        assert!(
            !output.lines().any(|line| line == host_name_line),
            "{language} has the host's name: {output}"
        );
    }
}

/// Reads `/proc`: it sees only its own container's processes, the kernel files Docker masks are
/// empty, and `/proc/sys` cannot be written. (`/proc/cpuinfo` and `/proc/meminfo` describe the
/// machine, as in any container; that is not the host's data.)
#[test]
fn proc_shows_only_the_container() {
    let python = "import json, os\n\
processes = {}\n\
for pid in filter(str.isdigit, os.listdir('/proc')):\n    try:\n        processes[pid] = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode().strip()\n    except OSError:\n        pass\n\
masked = {}\n\
for path in ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware']:\n    try:\n        masked[path] = len(os.listdir(path)) if os.path.isdir(path) else len(open(path, 'rb').read(4096))\n    except OSError as e:\n        masked[path] = e.strerror\n\
writes = {}\n\
for path in ['/proc/sys/kernel/hostname', '/proc/sysrq-trigger']:\n    try:\n        with open(path, 'w') as f:\n            f.write('x')\n        writes[path] = 'written'\n    except OSError as e:\n        writes[path] = e.strerror\n\
print(json.dumps({'processes': processes, 'masked': masked, 'writes': writes}))\n";
    let result = arena().run("python", python);
    assert_status("python", &result, "succeeded");
    let seen: Value = serde_json::from_str(result["output"].as_str().unwrap()).unwrap();
    let processes: Vec<&str> = seen["processes"]
        .as_object()
        .unwrap()
        .values()
        .map(|cmdline| cmdline.as_str().unwrap())
        .collect();
    assert!(processes.len() <= 3, "{processes:?}");
    for cmdline in &processes {
        let ours = ["docker-init", "codeexec-runner", "python3 -u main.py"];
        assert!(
            ours.iter().any(|part| cmdline.contains(part)),
            "a process that is not the container's: {cmdline}"
        );
    }
    for (path, seen) in seen["masked"].as_object().unwrap() {
        assert!(seen == 0 || seen.is_string(), "{path} shows {seen}");
    }
    for (path, outcome) in seen["writes"].as_object().unwrap() {
        assert_ne!(outcome, "written", "{path} was written");
    }
}

/// What the runner's syscall filter refuses a program, on top of the container's own profile
/// (config/seccomp.json, which refuses these too):
/// io_uring, keyrings, userfaultfd, namespaces and mounts; and reaching another process of the
/// same uid (here its runner, PID 1) to change its limits, priority, CPU affinity or I/O
/// priority. The program may still change its own.
#[test]
fn calls_that_reach_the_kernel_or_the_runner_are_refused() {
    const REFUSED: &str = "io_uring_setup keyctl userfaultfd unshare mount prlimit setpriority \
                           setpriority_user sched_setaffinity ioprio_set: refused; own: ok\n";
    let programs = [
        (
            "python",
            r#"import ctypes, os, resource
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(128)
def refused(nr, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return result == -1 and ctypes.get_errno() == 1
def raises(call):
    try:
        call()
        return False
    except PermissionError:
        return True
checks = [
    refused(425, 1, ctypes.addressof(params)),
    refused(250, 0, 0),
    refused(323, 0),
    refused(272, 0x10000000),
    refused(165, 0, 0, 0, 0, 0),
    raises(lambda: resource.prlimit(1, resource.RLIMIT_NOFILE, (8, 8))),
    raises(lambda: os.setpriority(os.PRIO_PROCESS, 1, 19)),
    raises(lambda: os.setpriority(os.PRIO_USER, 0, 19)),
    raises(lambda: os.sched_setaffinity(1, {0})),
    refused(251, 1, 1, (2 << 13) | 7),
]
resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))
os.nice(1)
os.sched_setaffinity(0, os.sched_getaffinity(0))
names = "io_uring_setup keyctl userfaultfd unshare mount prlimit setpriority setpriority_user sched_setaffinity ioprio_set"
print(names + (": refused" if all(checks) else f": NOT ALL {checks}") + "; own: ok")
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print("seccomp mode", status["Seccomp"].strip(), "filters", status.get("Seccomp_filters", "?").strip())
"#,
        ),
        (
            "cpp",
            r#"#include <cerrno>
#include <cstdio>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
static bool refused(long result) { return result == -1 && errno == EPERM; }
int main() {
  char params[128] = {0};
  rlimit low = {8, 8};
  cpu_set_t cpus; CPU_ZERO(&cpus); CPU_SET(0, &cpus);
  bool checks[] = {
    refused(syscall(425, 1, params)),
    refused(syscall(SYS_keyctl, 0, 0)),
    refused(syscall(SYS_userfaultfd, 0)),
    refused(syscall(SYS_unshare, 0x10000000)),
    refused(syscall(SYS_mount, 0, 0, 0, 0, 0)),
    refused(prlimit(1, RLIMIT_NOFILE, &low, nullptr)),
    refused(setpriority(PRIO_PROCESS, 1, 19)),
    refused(setpriority(PRIO_USER, 0, 19)),
    refused(sched_setaffinity(1, sizeof(cpus), &cpus)),
    refused(syscall(SYS_ioprio_set, 1, 1, (2 << 13) | 7)),
  };
  bool all = true;
  for (bool check : checks) all = all && check;
  rlimit own = {512, 512};
  bool own_ok = setrlimit(RLIMIT_NOFILE, &own) == 0 && setpriority(PRIO_PROCESS, 0, 1) == 0;
  std::printf("io_uring_setup keyctl userfaultfd unshare mount prlimit setpriority setpriority_user sched_setaffinity ioprio_set: %s; own: %s\n",
              all ? "refused" : "NOT ALL", own_ok ? "ok" : "FAILED");
}
"#,
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        // Filter mode, with two filters stacked: the container's profile (config/seccomp.json)
        // and the runner's.
        let expected = match language {
            "python" => format!("{REFUSED}seccomp mode 2 filters 2\n"),
            _ => REFUSED.to_string(),
        };
        assert_eq!(result["output"], expected, "{language}: {result}");
    }
}

/// What the container's own seccomp profile (config/seccomp.json) refuses beyond the runner's
/// filter, tried from a program: eBPF, performance counters, tracing its own child, reading the
/// child's memory, comparing kernel objects with it, personality flags that weaken its own memory
/// protections, clone into a new user namespace, and sockets of a family the container has no use
/// for (AF_VSOCK, which the network namespace does not cover); clone3 answers ENOSYS (callers
/// fall back to clone), and forking, Unix sockets and reading the personality still work; a 32-bit system call (C++) kills
/// its caller. Under Docker's default profile the child could be traced and read, and the 32-bit
/// call would succeed.
#[test]
fn calls_only_the_seccomp_profile_refuses_are_refused() {
    const EXPECTED: &str = "bpf perf_event_open ptrace process_vm_readv kcmp personality \
                            clone_newuser vsock: refused; clone3: ENOSYS; own: ok\n";
    let programs = [
        (
            "python",
            r#"import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(nr, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return result, ctypes.get_errno()
def refused(nr, *args):
    return call(nr, *args) == (-1, 1)
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
checks = [
    refused(321, 5, 0, 0),
    refused(298, 0, 0, -1, -1, 0),
    refused(101, 16, child, 0, 0),
    refused(310, child, 0, 0, 0, 0, 0),
    refused(312, os.getpid(), child, 0, 0, 0),
    refused(135, 0x0400000),
]
cloned = call(56, 0x10000000 | 17, 0, 0, 0, 0)
if cloned[0] == 0:
    os._exit(0)
checks.append(cloned == (-1, 1))
checks.append(refused(41, 40, 1, 0))
clone3 = call(435, 0, 0) == (-1, 38)
os.kill(child, 9)
os.waitpid(child, 0)
unix = call(41, 1, 1, 0)[0] >= 0
own = child > 0 and unix and call(135, 0xffffffff)[0] >= 0
names = "bpf perf_event_open ptrace process_vm_readv kcmp personality clone_newuser vsock"
print(names + (": refused" if all(checks) else f": NOT ALL {checks}")
      + "; clone3: " + ("ENOSYS" if clone3 else "NOT ENOSYS")
      + "; own: " + ("ok" if own else "FAILED"))
"#,
        ),
        (
            "cpp",
            r#"#include <cerrno>
#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static bool refused(long result) { return result == -1 && errno == EPERM; }
int main() {
  pid_t child = fork();
  if (child == 0) { sleep(30); _exit(0); }
  bool checks[] = {
    refused(syscall(SYS_bpf, 5, 0, 0)),
    refused(syscall(SYS_perf_event_open, 0, 0, -1, -1, 0)),
    refused(syscall(SYS_ptrace, 16, child, 0, 0)),
    refused(syscall(SYS_process_vm_readv, child, 0, 0, 0, 0, 0)),
    refused(syscall(SYS_kcmp, getpid(), child, 0, 0, 0)),
    refused(syscall(SYS_personality, 0x0400000)),
    false,
    refused(socket(40, SOCK_STREAM, 0)),
  };
  long cloned = syscall(SYS_clone, 0x10000000 | SIGCHLD, 0, 0, 0, 0);
  if (cloned == 0) _exit(0);
  checks[6] = refused(cloned);
  errno = 0;
  bool clone3 = syscall(435, 0, 0) == -1 && errno == ENOSYS;
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  bool own = child > 0 && socket(AF_UNIX, SOCK_STREAM, 0) >= 0 &&
             syscall(SYS_personality, 0xffffffff) >= 0;
  bool all = true;
  for (bool check : checks) all = all && check;
  std::printf("bpf perf_event_open ptrace process_vm_readv kcmp personality clone_newuser vsock: %s; clone3: %s; own: %s\n",
              all ? "refused" : "NOT ALL", clone3 ? "ENOSYS" : "NOT ENOSYS", own ? "ok" : "FAILED");
  // The 32-bit system call ABI (int 0x80, getpid is 20 there): the profile names no 32-bit
  // architecture, so the call kills its caller.
  pid_t legacy = fork();
  if (legacy == 0) {
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
    _exit(result > 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(legacy, &status, 0);
  std::printf("int 0x80: %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? "killed" : "ALLOWED");
}
"#,
        ),
        (
            "go",
            r#"package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// The x86_64 numbers: Go's syscall package predates some of these calls.
const (
	sysPtrace          = 101
	sysPersonality     = 135
	sysPerfEventOpen   = 298
	sysProcessVMReadv  = 310
	sysKcmp            = 312
	sysBpf             = 321
	sysClone           = 56
	sysClone3          = 435
	sysExitGroup       = 231
	cloneNewUser       = 0x10000000
	readImpliesExec    = 0x0400000
	ptraceAttach       = 16
	afVsock            = 40
)

func call(nr uintptr, args ...uintptr) (uintptr, syscall.Errno) {
	var a [6]uintptr
	copy(a[:], args)
	result, _, errno := syscall.RawSyscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	return result, errno
}

func refused(nr uintptr, args ...uintptr) bool {
	_, errno := call(nr, args...)
	return errno == syscall.EPERM
}

func main() {
	if len(os.Args) > 1 {
		time.Sleep(30 * time.Second)
		return
	}
	child, err := os.StartProcess(os.Args[0], []string{os.Args[0], "sleep"}, &os.ProcAttr{})
	if err != nil {
		fmt.Println("cannot start a child:", err)
		return
	}
	pid := uintptr(child.Pid)
	none := ^uintptr(0)
	checks := []bool{
		refused(sysBpf, 5, 0, 0),
		refused(sysPerfEventOpen, 0, 0, none, none, 0),
		refused(sysPtrace, ptraceAttach, pid, 0, 0),
		refused(sysProcessVMReadv, pid, 0, 0, 0, 0, 0),
		refused(sysKcmp, uintptr(os.Getpid()), pid, 0, 0, 0),
		refused(sysPersonality, readImpliesExec),
	}
	cloned, errno := call(sysClone, cloneNewUser|uintptr(syscall.SIGCHLD))
	if errno == 0 && cloned == 0 {
		syscall.RawSyscall(sysExitGroup, 0, 0, 0)
	}
	checks = append(checks, errno == syscall.EPERM)
	_, vsock := syscall.Socket(afVsock, syscall.SOCK_STREAM, 0)
	checks = append(checks, vsock == syscall.EPERM)
	unix, unixErr := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	_, clone3 := call(sysClone3, 0, 0)
	child.Kill()
	child.Wait()
	_, queried := call(sysPersonality, 0xffffffff)
	all := true
	for _, check := range checks {
		all = all && check
	}
	result := map[bool]string{true: "refused", false: fmt.Sprint("NOT ALL ", checks)}[all]
	enosys := map[bool]string{true: "ENOSYS", false: "NOT ENOSYS"}[clone3 == syscall.ENOSYS]
	own := map[bool]string{true: "ok", false: "FAILED"}[queried == 0 && unixErr == nil && unix >= 0]
	fmt.Printf("bpf perf_event_open ptrace process_vm_readv kcmp personality clone_newuser vsock: %s; clone3: %s; own: %s\n", result, enosys, own)
}
"#,
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        let expected = match language {
            "cpp" => format!("{EXPECTED}int 0x80: killed\n"),
            _ => EXPECTED.to_string(),
        };
        assert_eq!(result["output"], expected, "{language}: {result}");
    }
}

/// The program runs under a uid of its own (its gid the same number, no supplementary group, no
/// capability), never its runner's: the runner, PID 1, is 65534 and keeps only CAP_KILL,
/// CAP_SETGID and CAP_SETUID (0xe0). So the kernel itself refuses the program a signal to its
/// runner, which inside the container would otherwise "succeed" and be ignored.
#[test]
fn the_program_runs_under_a_uid_of_its_own_with_no_capability() {
    let programs = [
        (
            "python",
            r#"import os, signal
def status(pid):
    f = dict(line.split(":\t", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":\t" in line)
    return [f["Uid"].split()[0], f["Gid"].split()[0], f["Groups"].strip() or "-", f["CapEff"].strip()]
print(*status("self"))
print(*status(1))
try:
    os.kill(1, signal.SIGKILL)
    print("kill allowed")
except PermissionError:
    print("kill refused")
"#,
        ),
        (
            "ruby",
            r#"def status(pid)
  f = File.read("/proc/#{pid}/status").lines.map { |l| l.chomp.split(":\t", 2) }.select { |p| p.size == 2 }.to_h
  [f["Uid"].split[0], f["Gid"].split[0], f["Groups"].strip.empty? ? "-" : f["Groups"].strip, f["CapEff"].strip]
end
puts status("self").join(" ")
puts status(1).join(" ")
begin
  Process.kill(:KILL, 1)
  puts "kill allowed"
rescue Errno::EPERM
  puts "kill refused"
end
"#,
        ),
        (
            "cpp",
            r#"#include <cerrno>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
void status(const std::string& pid) {
  std::ifstream file("/proc/" + pid + "/status");
  std::map<std::string, std::string> f;
  for (std::string line; std::getline(file, line);) {
    auto at = line.find(":\t");
    if (at != std::string::npos) f[line.substr(0, at)] = line.substr(at + 2);
  }
  auto first = [](const std::string& s) { std::istringstream in(s); std::string w; in >> w; return w; };
  std::string groups = first(f["Groups"]);
  std::cout << first(f["Uid"]) << ' ' << first(f["Gid"]) << ' ' << (groups.empty() ? "-" : f["Groups"]) << ' ' << first(f["CapEff"]) << '\n';
}
int main() {
  status("self");
  status("1");
  bool refused = kill(1, SIGKILL) == -1 && errno == EPERM;
  std::cout << (refused ? "kill refused" : "kill allowed") << std::endl;
}
"#,
        ),
    ];
    for (language, code) in programs {
        let result = arena().run(language, code);
        assert_status(language, &result, "succeeded");
        let output = result["output"].as_str().unwrap();
        let lines: Vec<Vec<&str>> = output.lines().map(|l| l.split(' ').collect()).collect();
        let [program, runner, kill] = lines.as_slice() else {
            panic!("{language}: {output}");
        };
        let uid = program[0];
        assert!(
            uid != "0" && uid != "65534" && program[1] == uid,
            "{language}: the program's uid and gid: {output}"
        );
        assert_eq!(
            program[2..],
            ["-", "0000000000000000"],
            "{language}: {output}"
        );
        assert_eq!(
            runner[..],
            ["65534", "65534", "-", "00000000000000e0"],
            "{language}: the runner: {output}"
        );
        assert_eq!(kill[..], ["kill", "refused"], "{language}: {output}");
    }
}
