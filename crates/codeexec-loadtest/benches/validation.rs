//! Request validation (`src/api/request.rs`): an execute body parsed and checked into a job, as
//! the handler does before any container is touched. A one-file v1 request, and a v2 request
//! with many files, stdin and args; parsing and checking also apart.

use std::hint::black_box;

use codeexec::api::request::{ExecuteRequest, ExecuteV1, ExecuteV2};
use codeexec::config::Settings;
use codeexec_engine::LanguageRegistry;
use codeexec_loadtest::workload::hello_world_body;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::json;

/// A Java program of 16 files: a main class and helpers, each a few hundred bytes.
fn many_files_body() -> Vec<u8> {
    let mut files = vec![json!({
        "filename": "Main.java",
        "code": "public class Main { public static void main(String[] a) { System.out.println(Helper0.value()); } }\n",
        "isEntryPoint": true,
    })];
    for index in 0..15 {
        let code = format!(
            "class Helper{index} {{\n    static int value() {{ return {index}; }}\n{}}}\n",
            "    // padding to make the file a realistic size\n".repeat(6)
        );
        files.push(json!({ "filename": format!("Helper{index}.java"), "code": code }));
    }
    let body = json!({
        "language": "java",
        "files": files,
        "stdin": "line of input\n".repeat(64),
        "args": ["--verbose", "first", "second argument"],
        "timeoutMs": 3000,
        "memoryLimitMb": 256,
    });
    serde_json::to_vec(&body).unwrap()
}

fn request_validation(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    let settings = Settings::load(&path).expect("settings");
    let registry = LanguageRegistry::new(&settings.languages);
    let limits = &settings.limits;
    let v1 = serde_json::to_vec(&hello_world_body("python").unwrap()).unwrap();
    let v2 = many_files_body();

    let mut group = c.benchmark_group("request_validation");
    group.throughput(Throughput::Bytes(v1.len() as u64));
    group.bench_function("v1_python_parse_and_check", |b| {
        b.iter(|| {
            let request: ExecuteV1 = serde_json::from_slice(black_box(&v1)).unwrap();
            request.validate(&registry, limits).unwrap()
        })
    });
    group.bench_function("v1_python_check", |b| {
        b.iter_batched(
            || serde_json::from_slice::<ExecuteV1>(&v1).unwrap(),
            |request| request.validate(&registry, limits).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Bytes(v2.len() as u64));
    group.bench_function("v2_java_16_files_parse_and_check", |b| {
        b.iter(|| {
            let request: ExecuteV2 = serde_json::from_slice(black_box(&v2)).unwrap();
            request.validate(&registry, limits).unwrap()
        })
    });
    group.bench_function("v2_java_16_files_check", |b| {
        b.iter_batched(
            || serde_json::from_slice::<ExecuteV2>(&v2).unwrap(),
            |request| request.validate(&registry, limits).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, request_validation);
criterion_main!(benches);
