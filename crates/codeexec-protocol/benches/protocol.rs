//! The job protocol (`crates/codeexec-protocol`): encoding and decoding the job frame and the
//! result frame as JSON, as the engine and the runner do for every job. A hello world, and
//! frames at the sizes a busy job reaches (many files; output at the 64 KiB cap).

use std::hint::black_box;

use codeexec_protocol::{
    JobFrame, ResultFrame, SourceFile, StageCommand, StageReport, StageStatus,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const OUTPUT_CAP: usize = 64 * 1024;

fn job(files: Vec<SourceFile>, stdin: String) -> JobFrame {
    JobFrame {
        files,
        stdin,
        compile: Some(StageCommand {
            argv: vec![
                "javac".into(),
                "-d".into(),
                "/sandbox".into(),
                "Main.java".into(),
            ],
            cpu_time_limit_ms: Some(15000),
            wall_time_limit_ms: 30000,
        }),
        run: StageCommand {
            argv: vec![
                "java".into(),
                "-cp".into(),
                "/sandbox".into(),
                "Main".into(),
            ],
            cpu_time_limit_ms: Some(5000),
            wall_time_limit_ms: 10000,
        },
        output_limit_bytes: OUTPUT_CAP,
        program_argv: None,
        interactive: false,
    }
}

fn stage(stdout: String, stderr: String) -> StageReport {
    StageReport {
        status: StageStatus::Succeeded,
        stdout,
        stderr,
        stdout_truncated: false,
        stderr_truncated: false,
        exit_code: Some(0),
        signal: None,
        wall_ms: 48,
        cpu_ms: 31,
        peak_rss_bytes: 9_400_000,
        oom_killed: Some(false),
    }
}

fn result(stdout: String, stderr: String) -> ResultFrame {
    ResultFrame {
        compile: Some(stage(String::new(), String::new())),
        run: Some(stage(stdout, stderr)),
        runner_error: None,
    }
}

/// (name, job, result): a hello world, and a large job whose output fills the cap with text
/// that JSON must escape (quotes, tabs, newlines, non-ASCII).
fn cases() -> Vec<(&'static str, JobFrame, ResultFrame)> {
    let hello = job(
        vec![SourceFile {
            name: "Main.java".into(),
            content: "public class Main { public static void main(String[] a) { System.out.println(\"Hello, World!\"); } }\n".into(),
        }],
        String::new(),
    );
    let many_files = (0..16)
        .map(|index| SourceFile {
            name: format!("Helper{index}.java"),
            content: format!("class Helper{index} {{ /* \"code\" */ }}\n").repeat(100),
        })
        .collect();
    let line = "row\t\"quoted\"\tvalue é ✓\n";
    let full_output = line.repeat(OUTPUT_CAP / line.len());
    vec![
        (
            "hello_world",
            hello,
            result("Hello, World!\n".into(), String::new()),
        ),
        (
            "large",
            job(many_files, "input line\n".repeat(4096)),
            result(full_output.clone(), full_output),
        ),
    ]
}

fn protocol(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol");
    for (name, job, result) in cases() {
        let job_json = serde_json::to_vec(&job).unwrap();
        let result_json = serde_json::to_vec(&result).unwrap();
        group.throughput(Throughput::Bytes(job_json.len() as u64));
        group.bench_function(BenchmarkId::new("encode_job", name), |b| {
            b.iter(|| serde_json::to_vec(black_box(&job)).unwrap())
        });
        group.bench_function(BenchmarkId::new("decode_job", name), |b| {
            b.iter(|| serde_json::from_slice::<JobFrame>(black_box(&job_json)).unwrap())
        });
        group.throughput(Throughput::Bytes(result_json.len() as u64));
        group.bench_function(BenchmarkId::new("encode_result", name), |b| {
            b.iter(|| serde_json::to_vec(black_box(&result)).unwrap())
        });
        group.bench_function(BenchmarkId::new("decode_result", name), |b| {
            b.iter(|| serde_json::from_slice::<ResultFrame>(black_box(&result_json)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, protocol);
criterion_main!(benches);
