//! TypeScript's pre-started compiler, which compiles the job's sources with tsc's own code in a
//! Node.js that has parsed the standard library's declarations ahead; the program then runs in a
//! second pre-started Node.js, waiting with JavaScript's loader. A job cannot tell it from the `tsc` command, except by timing. Every case runs on
//! a service with `prestart = true` and on one with `prestart = false` (the `tsc` command for
//! each job), and must come out the same on both.

use std::sync::OnceLock;

use crate::common::languages::PYTHON_ONLY;
use crate::common::{block_on_docker, instance_containers, run_on_each, wait_until, Service};
use bollard::models::ContainerSummaryStateEnum;
use serde_json::{json, Value};

/// Only TypeScript is offered, so that the two services warm no other pool.
fn typescript_only(prestart: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut overrides = PYTHON_ONLY.to_vec();
    overrides.extend([
        ("CODEEXEC_LANGUAGES__PYTHON__ENABLED", "false"),
        ("CODEEXEC_LANGUAGES__TYPESCRIPT__ENABLED", "true"),
        ("CODEEXEC_LANGUAGES__TYPESCRIPT__PRESTART", prestart),
    ]);
    overrides
}

fn services() -> [(&'static str, &'static Service); 2] {
    static PRESTARTED: OnceLock<Service> = OnceLock::new();
    static COLD: OnceLock<Service> = OnceLock::new();
    [
        (
            "prestarted",
            PRESTARTED.get_or_init(|| {
                Service::start_ready("typescript-prestarted", &typescript_only("true"))
            }),
        ),
        (
            "cold",
            COLD.get_or_init(|| Service::start_ready("typescript-cold", &typescript_only("false"))),
        ),
    ]
}

fn typescript(code: &str) -> Value {
    json!({ "language": "typescript", "code": code })
}

/// The command lines of the processes in `service`'s running containers, as `docker top` shows
/// them (a container that ends meanwhile, its job done, is left out).
fn container_processes(service: &Service) -> Vec<String> {
    let mut commands = Vec::new();
    let running = instance_containers(&service.instance)
        .into_iter()
        .filter(|container| container.state == Some(ContainerSummaryStateEnum::RUNNING));
    for container in running {
        let id = container.id.unwrap();
        let top = block_on_docker(|docker| async move { docker.top_processes(&id, None).await });
        let Ok(top) = top else { continue };
        let titles = top.titles.unwrap_or_default();
        let column = titles.iter().position(|title| title == "CMD").expect("CMD");
        for process in top.processes.unwrap_or_default() {
            commands.push(process[column].clone());
        }
    }
    commands
}

fn is_waiting_compiler(command: &str) -> bool {
    command.starts_with("node /tmp/.codeexec-loader-")
        && command.ends_with("-typescript --strict --target es2020 --module commonjs --lib es2020,dom --skipDefaultLibCheck")
}

fn is_waiting_node(command: &str) -> bool {
    command.starts_with("node --require /tmp/.codeexec-loader-")
        && command.contains("-javascript /sandbox/.codeexec-entry")
}

/// With `prestart = true` a waiting pool container already runs the compiler, started with the
/// compile command's options, and beside it the Node.js that will run the compiled program; with
/// `prestart = false` neither waits.
#[test]
fn a_waiting_container_holds_a_warm_compiler_and_node_only_when_prestarted() {
    let [(_, prestarted), (_, cold)] = services();
    wait_until(
        "a pool container with its compiler and node waiting",
        || {
            let processes = container_processes(prestarted);
            processes.iter().any(|command| is_waiting_compiler(command))
                && processes.iter().any(|command| is_waiting_node(command))
        },
    );
    let processes = container_processes(cold);
    assert!(
        !processes
            .iter()
            .any(|command| is_waiting_compiler(command) || is_waiting_node(command)),
        "{processes:?}"
    );
}

/// Type errors, a syntax error and an unknown name read as the `tsc` command prints them (on
/// stdout, exit code 2, emitting all the same); the program does not run.
#[test]
fn a_compile_error_reads_as_tscs_own() {
    let code = "const n: number = 'text';\nfunction f(a: string): number { return a; }\nconsole.log(n, f('x'), missing);\n";
    let results = run_on_each(services(), &typescript(code));
    for (service, result) in &results {
        assert_eq!(
            result["runTimeStatus"], "compile_error",
            "{service}: {result}"
        );
        assert_eq!(result["compile"]["status"], "failed", "{service}: {result}");
        assert_eq!(result["compile"]["exitCode"], 2, "{service}: {result}");
        assert_eq!(result["compile"]["stderr"], "", "{service}: {result}");
        assert_eq!(result["stdout"], "", "{service}: {result}");
    }
    assert_eq!(
        results[0].1["compile"]["stdout"],
        "main.ts(1,7): error TS2322: Type 'string' is not assignable to type 'number'.\nmain.ts(2,33): error TS2322: Type 'string' is not assignable to type 'number'.\nmain.ts(3,24): error TS2304: Cannot find name 'missing'.\n"
    );
    assert_eq!(
        results[0].1["compile"]["stdout"],
        results[1].1["compile"]["stdout"]
    );
    assert_eq!(results[0].1["errorMessage"], results[1].1["errorMessage"]);

    let syntax = "let x = ;\nconsole.log(x\n";
    compile_error_on_both(syntax, "main.ts(1,9): error TS1109: Expression expected.\n");
}

/// `code` fails to compile on both services, with the same diagnostics, which contain `expected`.
fn compile_error_on_both(code: &str, expected: &str) {
    let results = run_on_each(services(), &typescript(code));
    for (service, result) in &results {
        assert_eq!(
            result["runTimeStatus"], "compile_error",
            "{service}: {result}"
        );
        let diagnostics = result["compile"]["stdout"].as_str().unwrap();
        assert!(diagnostics.contains(expected), "{service}: {result}");
    }
    assert_eq!(
        results[0].1["compile"]["stdout"],
        results[1].1["compile"]["stdout"]
    );
}

/// A program that merges a declaration into the standard library's (as `interface Array<T>`
/// does) is checked against it as by the `tsc` command: the conflict is reported.
#[test]
fn declarations_merged_into_the_standard_library_are_checked_as_by_tsc() {
    let code =
        "interface Array<T> { length: string; }\nconst n: number = [1].length;\nconsole.log(n);\n";
    compile_error_on_both(
        code,
        "main.ts(1,22): error TS2717: Subsequent property declarations must have the same type.",
    );
    // Compiled with the job's own options, its merged declaration is part of the program.
    let code = "interface String { shout(): string; }\nString.prototype.shout = function (this: string) { return this.toUpperCase() + '!'; };\nconsole.log('hi'.shout());\n";
    for (service, result) in run_on_each(services(), &typescript(code)) {
        assert_eq!(result["stdout"], "HI!\n", "{service}: {result}");
    }
}

/// The compiled program runs with its argv, stdin, other files, exit code and uncaught errors as
/// `node main.js` after the `tsc` command; the compile stage's time is its own.
#[test]
fn the_compiled_program_runs_as_after_the_tsc_command() {
    let code = "declare const process: any;\ndeclare const require: any;\ndeclare const module: any;\nconst input: string = require('fs').readFileSync(0, 'utf8');\nconsole.log(JSON.stringify([process.argv.slice(1), process.execArgv, input, require.main === module, Object.keys(require.cache), typeof (globalThis as any).ts]));\nprocess.exitCode = 3;\n";
    let body =
        json!({ "language": "typescript", "code": code, "args": ["a", "b c"], "stdin": "typed" });
    let results = run_on_each(services(), &body);
    for (service, result) in &results {
        assert_eq!(
            result["stdout"],
            "[[\"/sandbox/main.js\",\"a\",\"b c\"],[],\"typed\",true,[\"/sandbox/main.js\"],\"undefined\"]\n",
            "{service}: {result}"
        );
        assert_eq!(result["exitCode"], 3, "{service}: {result}");
        assert_eq!(
            result["compile"]["status"], "succeeded",
            "{service}: {result}"
        );
        assert!(
            result["compile"]["executionTime"].as_f64().unwrap() > 0.0,
            "{service}: {result}"
        );
    }
    let thrown = typescript("function fail(): never { throw new TypeError('boom'); }\nfail();\n");
    let results = run_on_each(services(), &thrown);
    for (service, result) in &results {
        assert_eq!(
            result["runTimeStatus"], "runtime_error",
            "{service}: {result}"
        );
        assert_eq!(result["exitCode"], 1, "{service}: {result}");
        assert!(
            result["stderr"]
                .as_str()
                .unwrap()
                .contains("TypeError: boom\n    at fail (/sandbox/main.js:2:25)\n    at Object.<anonymous> (/sandbox/main.js:3:1)"),
            "{service}: {result}"
        );
    }
    assert_eq!(results[0].1["stderr"], results[1].1["stderr"]);
    let files = json!([
        { "filename": "main.ts", "code": "import { twice } from './helper';\nconsole.log(twice(21));\n", "isEntryPoint": true },
        { "filename": "helper.ts", "code": "export const twice = (x: number): number => 2 * x;\n" },
    ]);
    for (service, instance) in services() {
        let result = instance.run_files("typescript", files.clone());
        assert_eq!(result["stdout"], "42\n", "{service}: {result}");
    }
}

/// The loader leaves no file behind: it deletes its own source and the warm-up's directory.
#[test]
fn the_loader_leaves_no_file_behind() {
    let code = "declare function require(name: string): any;\nconst fs = require('fs');\nconst seen: string[] = [];\nfor (const dir of ['/tmp', '/sandbox']) for (const name of fs.readdirSync(dir)) seen.push(`${dir}/${name}`);\nconsole.log(seen.sort().join(' '));\n";
    for (service, result) in run_on_each(services(), &typescript(code)) {
        assert_eq!(
            result["stdout"], "/sandbox/main.js /sandbox/main.ts\n",
            "{service}: {result}"
        );
    }
}

/// A job with a lower memory limit than the waiting compiler was started under is compiled by a
/// fresh `tsc`, down to TypeScript's least memory limit; below it the answer is a clear 400.
#[test]
fn a_lower_memory_limit_is_compiled_afresh() {
    let hello = "console.log('small');\n";
    let body = json!({ "language": "typescript", "code": hello, "memoryLimitMb": 192 });
    for (service, result) in run_on_each(services(), &body) {
        assert_eq!(result["stdout"], "small\n", "{service}: {result}");
    }
    let [(_, prestarted), _] = services();
    let (status, body) = prestarted.post(
        "/api/v1/execute",
        &json!({ "language": "typescript", "code": hello, "memoryLimitMb": 191 }),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("memoryLimitMb 191 is below the typescript minimum of 192"),
        "{body}"
    );
}
