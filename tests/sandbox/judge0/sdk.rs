//! The real Judge0 Python SDK (PyPI `judge0==0.0.8`, installed by `scripts/lib.sh`
//! `ensure_judge0_sdk`) driven against our service on loopback: client construction,
//! `judge0.run` in all six languages by alias and by id, a batch of test cases, and every kind
//! of verdict (see `sdk_check.py`).

use std::process::Command;

/// Names the Python of the venv holding the SDK; `scripts/test` sets it.
const PYTHON_VARIABLE: &str = "CODEEXEC_TEST_JUDGE0_PYTHON";

#[test]
fn the_judge0_python_sdk_works_unchanged_at_the_root_and_under_judge0() {
    let python = std::env::var(PYTHON_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{PYTHON_VARIABLE} must name the Python that has judge0==0.0.8: `source \
             scripts/lib.sh && ensure_judge0_sdk` installs it and exports the variable"
        )
    });
    let service = super::service();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sandbox/judge0/sdk_check.py"
    );
    // Every check at the root; under /judge0, that the client works there too.
    let runs = [
        (service.url.clone(), None),
        (format!("{}/judge0", service.url), Some("--quick")),
    ];
    for (endpoint, quick) in runs {
        let output = Command::new(&python)
            .arg(script)
            .arg(&endpoint)
            .args(quick)
            // Any proxy would be a way out of loopback: the script must talk to us directly.
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("JUDGE0_CE_ENDPOINT")
            .output()
            .expect("run the SDK script");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "the SDK against {endpoint} failed:\n{stdout}\n{stderr}"
        );
        assert!(stdout.contains("all SDK checks passed"), "{stdout}");
    }
}
