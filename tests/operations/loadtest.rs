//! `codeexec-loadtest` end to end, against a real service and the real Docker engine: a short
//! run writes the report, the chart and the raw numbers, and leaves none of its containers.

use std::path::PathBuf;
use std::process::Command;

use crate::common::Service;
use serde_json::Value;

/// The `codeexec-loadtest` binary, built beside `codeexec` in the same target directory. Cargo
/// builds only this package's binaries for its tests, so the load tool's must be built first.
fn loadtest_binary() -> PathBuf {
    let codeexec = PathBuf::from(env!("CARGO_BIN_EXE_codeexec"));
    let binary =
        codeexec.with_file_name(format!("codeexec-loadtest{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo build --workspace --bins` (with the same profile and target \
         directory as the tests) before this test",
        binary.display()
    );
    binary
}

#[test]
fn a_short_load_run_writes_the_report_the_chart_and_the_raw_numbers() {
    let loadtest = loadtest_binary();
    let service = Service::start_ready("loadtest", &[]);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("loadtest-report-{}", std::process::id()));
    let instance = format!("{}-load", service.instance);
    let output = Command::new(loadtest)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--url", &service.url])
        .args([
            "--concurrency",
            "1,2",
            "--step-secs",
            "2",
            "--warmup-secs",
            "1",
        ])
        .args(["--languages", "python,ruby", "--saturation-secs", "2"])
        .args(["--ceiling-parallelism", "1,2", "--ceiling-secs", "1"])
        .args(["--cold-samples", "2", "--instance", &instance])
        .args(["--label", "integration test"])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run codeexec-loadtest");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "loadtest failed:\n{stderr}");

    let stdout = String::from_utf8_lossy(&output.stdout);
    for target in [
        "warm through HTTP / cold path",
        "/ container ceiling",
        "overhead",
    ] {
        assert!(
            stdout.contains(target),
            "no verdict for {target}:\n{stdout}"
        );
    }
    let report = std::fs::read_to_string(out.join("benchmarks.md")).expect("the report");
    for part in [
        "> **integration test**",
        "## Machine",
        "## Targets",
        "| 1 | python |",
        "| 2 | ruby |",
        "## Where the time goes",
        "## Container ceiling and saturation",
        "(benchmarks/latency.svg)",
    ] {
        assert!(
            report.contains(part),
            "{part} missing from the report:\n{report}"
        );
    }
    let chart = std::fs::read_to_string(out.join("benchmarks/latency.svg")).expect("the chart");
    assert!(
        chart.starts_with("<svg") && chart.contains("\nruby\n"),
        "{chart}"
    );

    let raw: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("benchmarks/raw.json")).expect("the raw numbers"),
    )
    .expect("raw.json is JSON");
    let sweep = raw["sweep"].as_array().expect("the sweep");
    assert_eq!(sweep.len(), 2);
    for step in sweep.iter().chain([&raw["saturation"]]) {
        let samples = step["samples"].as_array().expect("samples");
        assert!(!samples.is_empty(), "{step}");
        for sample in samples {
            assert!(sample["httpStatus"].is_u64(), "no answer: {sample}");
            if sample["runStatus"] == "succeeded" {
                assert_eq!(sample["outputOk"], true, "{sample}");
            }
        }
    }
    assert!(raw["ceiling"]["runs"][0]["containers"].as_u64() > Some(0));
    assert!(
        crate::common::instance_containers(&instance).is_empty(),
        "the load run left containers behind"
    );
    service.terminate();
}
