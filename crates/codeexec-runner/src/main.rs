//! `codeexec-runner`: the program inside every codeexec container that runs one job.
//!
//! It reads one [`JobFrame`] as JSON, writes the job's files under the sandbox directory, runs the
//! compile stage (if any) and then the run stage, and answers one [`ResultFrame`] as JSON: on the
//! direct channel's connection (see [`channel`]) or, without one, from stdin to its own stdout.
//! An interactive job's input and events travel the same way while it runs (see [`live`]).
//! The user's programs never write to either: their streams are pipes that the runner reads and
//! caps.
//!
//! Output is reported as text: the bytes a program wrote are converted with
//! [`String::from_utf8_lossy`], so invalid UTF-8 becomes U+FFFD, while NUL bytes stay (JSON escapes
//! them as `\u0000`). The result is always valid JSON, whatever the program wrote.
//!
//! Usage: `codeexec-runner [--sandbox DIR] [--user UID:GID --program-user UID] [--channel DIR]
//! [--prestart-program JSON] [--prestart LANGUAGE ARGV...]`; the sandbox defaults to
//! [`SANDBOX_DIR`], and another directory is only meant for tests on the host. With `--user` the
//! runner, started as root, takes that identity and runs the program as `--program-user` (see
//! [`identity`]). With `--channel` the job comes over a Unix socket in DIR (see [`channel`]).
//! With `--prestart` the language's runtime is started before the frame arrives (see
//! [`prestart`]), and with `--prestart-program` a second one beside a runtime that compiles only,
//! to run its program. Before it reads the frame, once its link is open and any pre-started
//! runtime has warmed up, the runner says [`RUNNER_READY`] on the link. The exit code is 0 when a job was run (whatever its stages did)
//! and 2 when the arguments or the frame were malformed; a result is given either way.

mod capture;
mod cgroup;
mod channel;
mod compile_in_runtime;
mod gauges;
mod group;
mod guard;
mod identity;
mod live;
mod prestart;
mod reap;
mod sandbox;
mod stage;
mod syscall_filter;
mod watchdog;

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use channel::{Connection, Listening};
use codeexec_protocol::stream::StageName;
use codeexec_protocol::{
    JobFrame, ResultFrame, StageStatus, CHANNEL_FLAG, PRESTART_FLAG, PRESTART_PROGRAM_FLAG,
    PRESTART_WARM_LIMIT_SECS, PROGRAM_USER_FLAG, RUNNER_READY, RUNNER_USER_FLAG, SANDBOX_DIR,
};
use identity::Users;
use live::Live;
use prestart::Prestarted;

fn main() -> ExitCode {
    let args = parse_args(std::env::args_os().skip(1).collect());
    // Before any thread starts: the identity change must reach the whole process.
    let args = args.and_then(|args| match args.users {
        Some(users) => identity::become_runner(users).map(|()| args),
        None => Ok(args),
    });
    guard::protect_runner();
    guard::start_orphan_reaper();
    let (result, code, reply) = match args.and_then(|args| {
        let listening = args.channel.as_deref().map(Listening::open).transpose()?;
        Ok((args, listening))
    }) {
        Ok((args, listening)) => {
            let start = |(language, argv): (String, Vec<String>)| {
                Prestarted::start(&language, &argv, &args.sandbox)
                    .inspect_err(|error| {
                        eprintln!("codeexec-runner: no pre-started {language} runtime: {error}")
                    })
                    .ok()
            };
            let runtime = args.prestart.clone().and_then(start);
            let program_runtime = args.prestart_program.clone().and_then(start);
            let (input, reply) = match listening {
                Some(listening) => match listening.accept_one() {
                    Ok(connection) => (connection.reader().map(boxed), Reply::Channel(connection)),
                    Err(error) => (Err(io::Error::other(error)), Reply::Stdout),
                },
                None => (Ok(boxed(BufReader::new(io::stdin()))), Reply::Stdout),
            };
            let runtimes = Runtimes {
                runtime: warmed(runtime),
                program_runtime: warmed(program_runtime),
            };
            if let Err(error) = reply.ready() {
                eprintln!("codeexec-runner: cannot say it is ready: {error}");
                return ExitCode::FAILURE;
            }
            let received = input
                .map_err(|error| format!("cannot read the job frame: {error}"))
                .and_then(|mut input| Ok((read_frame(&mut input)?, input)));
            match received {
                Ok((frame, input)) if frame.interactive => {
                    return serve_live(&frame, &args.sandbox, runtimes, input, reply);
                }
                Ok((frame, _)) => (run_job(&frame, &args.sandbox, runtimes, None), 0, reply),
                Err(error) => (runner_error(error), 2, reply),
            }
        }
        Err(error) => (runner_error(error), 2, Reply::Stdout),
    };
    if let Err(error) = reply.send(&result) {
        eprintln!("codeexec-runner: cannot write the result: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::from(code)
}

/// See [`PRESTART_WARM_LIMIT_SECS`].
const WARM_LIMIT: Duration = Duration::from_secs(PRESTART_WARM_LIMIT_SECS);

/// How long the runner waits for a runtime that compiles before it says ready all the same. The
/// job's compile stage waits for the rest of its warm-up, or compiles afresh (see
/// [`compile_in_runtime`]): on a busy machine, where warming a compiler takes many seconds, the
/// container is not kept from jobs that would otherwise wait in the service's queue for it, up to
/// its timeout. An idle machine warms Java's and TypeScript's compilers well within it.
const COMPILER_WARM_LIMIT: Duration = Duration::from_secs(3);

/// The pre-started runtime once it has warmed up, or still warming after [`WARM_LIMIT`] (or
/// [`COMPILER_WARM_LIMIT`]); none when it failed to (the job then runs without it, as with
/// `prestart = false`).
fn warmed(runtime: Option<Prestarted>) -> Option<Prestarted> {
    let mut runtime = runtime?;
    let limit = if runtime.compiles() {
        COMPILER_WARM_LIMIT
    } else {
        WARM_LIMIT
    };
    match runtime.wait_until_warm(limit) {
        Ok(()) => Some(runtime),
        Err(error) if error.kind() == io::ErrorKind::TimedOut => {
            eprintln!(
                "codeexec-runner: the pre-started runtime is still warming; ready all the same"
            );
            Some(runtime)
        }
        Err(error) => {
            eprintln!(
                "codeexec-runner: the pre-started runtime failed to warm up ({error}); \
                 the job runs without it"
            );
            runtime.discard();
            None
        }
    }
}

/// Runs an interactive job: its events, the result last, go back on the link it came on while
/// the rest of that link's input is read as it arrives.
fn serve_live(
    frame: &JobFrame,
    sandbox: &Path,
    runtimes: Runtimes,
    input: Box<dyn BufRead + Send>,
    reply: Reply,
) -> ExitCode {
    let events = match reply.events() {
        Ok(events) => events,
        Err(error) => {
            eprintln!("codeexec-runner: cannot answer an interactive job: {error}");
            return ExitCode::FAILURE;
        }
    };
    let live = Live::start(input, events);
    let result = run_job(frame, sandbox, runtimes, Some(&live));
    live.finish(result);
    if let Err(error) = reply.close() {
        eprintln!("codeexec-runner: cannot close the link: {error}");
    }
    ExitCode::SUCCESS
}

fn boxed(reader: impl BufRead + Send + 'static) -> Box<dyn BufRead + Send> {
    Box::new(reader)
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
struct Args {
    sandbox: PathBuf,
    /// The runner's own identity and the program's, in a container.
    users: Option<Users>,
    /// The language and runtime to start before the frame arrives.
    prestart: Option<(String, Vec<String>)>,
    /// The language and runtime to start beside it, to run the program it compiles.
    prestart_program: Option<(String, Vec<String>)>,
    /// The directory of the direct channel's socket; without it, stdin and stdout.
    channel: Option<PathBuf>,
}

const USAGE: &str = "usage: codeexec-runner [--sandbox DIR] [--user UID:GID --program-user UID] \
                     [--channel DIR] [--prestart-program JSON] [--prestart LANGUAGE ARGV...]";

/// Arguments are taken as `OsString`s because `std::env::args` panics on non-UTF-8 ones.
fn parse_args(args: Vec<OsString>) -> Result<Args, String> {
    let (own, prestart) = match args.iter().position(|arg| arg == PRESTART_FLAG) {
        Some(at) => {
            let argv: Option<Vec<String>> = args[at + 1..]
                .iter()
                .map(|arg| arg.to_str().map(str::to_string))
                .collect();
            match argv.as_deref() {
                Some([language, argv @ ..]) if !argv.is_empty() => {
                    (&args[..at], Some((language.clone(), argv.to_vec())))
                }
                _ => return Err(USAGE.to_string()),
            }
        }
        None => (args.as_slice(), None),
    };
    let mut sandbox = PathBuf::from(SANDBOX_DIR);
    let mut channel = None;
    let mut prestart_program = None;
    let (mut runner_user, mut program_user) = (None, None);
    let mut own = own.iter();
    while let Some(flag) = own.next() {
        let value = own.next().ok_or_else(|| USAGE.to_string())?;
        let text = || value.to_str().ok_or_else(|| USAGE.to_string());
        match flag.to_str() {
            Some("--sandbox") => sandbox = PathBuf::from(value),
            Some(CHANNEL_FLAG) => channel = Some(PathBuf::from(value)),
            Some(RUNNER_USER_FLAG) => runner_user = Some(text()?),
            Some(PROGRAM_USER_FLAG) => program_user = Some(text()?),
            Some(PRESTART_PROGRAM_FLAG) => {
                let argv: Vec<String> = serde_json::from_str(text()?).map_err(|error| {
                    format!("{PRESTART_PROGRAM_FLAG} takes a JSON array of strings: {error}")
                })?;
                match argv.split_first() {
                    Some((language, argv)) if !argv.is_empty() => {
                        prestart_program = Some((language.clone(), argv.to_vec()))
                    }
                    _ => return Err(USAGE.to_string()),
                }
            }
            _ => return Err(USAGE.to_string()),
        }
    }
    let users = match (runner_user, program_user) {
        (Some(runner), Some(program)) => Some(Users::parse(runner, program)?),
        (None, None) => None,
        _ => {
            return Err(format!(
                "{RUNNER_USER_FLAG} and {PROGRAM_USER_FLAG} go together"
            ))
        }
    };
    if prestart_program.is_some() && prestart.is_none() {
        return Err(format!("{PRESTART_PROGRAM_FLAG} goes with {PRESTART_FLAG}"));
    }
    Ok(Args {
        sandbox,
        users,
        prestart,
        prestart_program,
        channel,
    })
}

/// Reads the job frame: up to its newline (an interactive job's input follows it), or to the
/// end of the input.
fn read_frame(input: &mut dyn BufRead) -> Result<JobFrame, String> {
    let mut bytes = Vec::new();
    input
        .read_until(b'\n', &mut bytes)
        .map_err(|error| format!("cannot read the job frame: {error}"))?;
    serde_json::from_slice(&bytes).map_err(|error| format!("malformed job frame: {error}"))
}

/// The runtimes pre-started for the job: one, and, beside one that compiles only, the one that
/// runs its program.
struct Runtimes {
    runtime: Option<Prestarted>,
    program_runtime: Option<Prestarted>,
}

fn discard(runtime: Option<Prestarted>) {
    if let Some(runtime) = runtime {
        runtime.discard();
    }
}

fn run_job(
    frame: &JobFrame,
    sandbox: &Path,
    runtimes: Runtimes,
    live: Option<&Live>,
) -> ResultFrame {
    let Runtimes {
        runtime,
        mut program_runtime,
    } = runtimes;
    // A pre-started runtime serves a run stage with no compile stage before it, or, when its
    // loader compiles, a compile stage and (unless it compiles only) its run stage (while the job
    // keeps the memory limit the runtime was sized for); and only a job that asks for it (a
    // version probe does not).
    let serves = |runtime: &Prestarted| match (&frame.compile, runtime.compiles()) {
        (None, false) => true,
        (Some(_), true) => !runtime.memory_limit_lowered(),
        _ => false,
    };
    let runtime = match (runtime, &frame.program_argv) {
        (Some(runtime), Some(argv)) if serves(&runtime) => Some((runtime, argv)),
        (Some(runtime), _) => {
            runtime.discard();
            None
        }
        (None, _) => None,
    };
    // The runtime beside one that compiles only runs the program only after that one's compile:
    // a job it does not serve runs as without pre-start.
    let compiles_only = |(runtime, _): &(Prestarted, _)| !runtime.runs_program();
    if !runtime.as_ref().is_some_and(compiles_only) {
        discard(program_runtime.take());
    }
    if let Err(error) = identity::as_program(|| sandbox::write_files(sandbox, &frame.files)) {
        return runner_error(error);
    }
    let limit = frame.output_limit_bytes;
    if let (Some(live), Some(_)) = (live, &frame.compile) {
        live.stage(StageName::Compile);
    }
    let (compile, runtime) = match (&frame.compile, runtime) {
        (Some(command), Some((runtime, argv))) => {
            let (report, runtime) = compile_in_runtime::compile(runtime, command, sandbox, limit);
            if let Some(live) = live {
                live.replay(&report);
            }
            // A runtime that serves the compile alone ends here; its program runs in the runtime
            // started for it, if any, or starts afresh.
            let runtime = match runtime {
                Some(runtime) if runtime.runs_program() => Some((runtime, argv)),
                Some(runtime) => {
                    runtime.discard();
                    program_runtime.take().map(|program| (program, argv))
                }
                None => None,
            };
            (Some(report), runtime)
        }
        (Some(command), None) => {
            let report = stage::run_stage(command, sandbox, None, limit, live);
            (Some(report), None)
        }
        (None, runtime) => (None, runtime),
    };
    // Not taken above: the compile did not succeed in the runtime before it.
    discard(program_runtime);
    if compile
        .as_ref()
        .is_some_and(|report| report.status != StageStatus::Succeeded)
    {
        return ResultFrame {
            compile,
            run: None,
            runner_error: None,
        };
    }
    if let Some(live) = live {
        live.stage(StageName::Run);
    }
    let stdin = frame.stdin.as_bytes();
    let run = match runtime {
        Some((runtime, argv)) => {
            stage::run_prestarted(runtime, &frame.run, argv, sandbox, stdin, limit, live)
        }
        None => stage::run_stage(&frame.run, sandbox, Some(stdin), limit, live),
    };
    ResultFrame {
        compile,
        run: Some(run),
        runner_error: None,
    }
}

fn runner_error(error: String) -> ResultFrame {
    ResultFrame {
        compile: None,
        run: None,
        runner_error: Some(error),
    }
}

/// Where the result goes: the channel's connection when the job came that way.
enum Reply {
    Stdout,
    Channel(Connection),
}

impl Reply {
    /// Says [`RUNNER_READY`]: the service counts the container ready for a job from now on.
    fn ready(&self) -> io::Result<()> {
        match self {
            Reply::Stdout => {
                let mut stdout = io::stdout().lock();
                stdout.write_all(RUNNER_READY)?;
                stdout.flush()
            }
            Reply::Channel(connection) => connection.writer()?.write_all(RUNNER_READY),
        }
    }

    /// Writes the result frame, ending in a newline.
    fn send(self, result: &ResultFrame) -> io::Result<()> {
        let mut bytes = serde_json::to_vec(result)?;
        bytes.push(b'\n');
        match self {
            Reply::Stdout => {
                let mut stdout = io::stdout().lock();
                stdout.write_all(&bytes)?;
                stdout.flush()
            }
            Reply::Channel(connection) => connection.answer(&bytes),
        }
    }

    /// Where an interactive job's events go.
    fn events(&self) -> io::Result<Box<dyn Write + Send>> {
        Ok(match self {
            Reply::Stdout => Box::new(io::stdout()),
            Reply::Channel(connection) => Box::new(connection.writer()?),
        })
    }

    /// Ends an interactive job's link once its result is sent.
    fn close(self) -> io::Result<()> {
        match self {
            Reply::Stdout => io::stdout().flush(),
            Reply::Channel(connection) => connection.close(),
        }
    }
}
