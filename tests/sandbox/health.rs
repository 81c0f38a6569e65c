//! `/health` tells the truth: 503 naming the language whose containers cannot start, while the
//! others keep working, and jobs for the broken language are refused with 503 rather than left
//! hanging.

use crate::common::{wait_for, Service};

#[test]
fn a_language_without_its_image_makes_health_503_and_its_jobs_503() {
    let service = Service::start(
        "health",
        &[(
            "CODEEXEC_LANGUAGES__RUBY__IMAGE",
            "codeexec/no-such-image:missing",
        )],
    );
    let body = wait_for("health reports the ruby pool", || {
        let (status, body) = service.get("/health");
        let ruby_failed = body["pools"]["ruby"]["lastError"].is_string();
        (status == 503 && ruby_failed).then_some(body)
    });
    assert_eq!(body["status"], "UNAVAILABLE");
    let problems = body["problems"].to_string();
    assert!(
        problems.contains("ruby pool") && problems.contains("no-such-image"),
        "{problems}"
    );
    assert_eq!(body["pools"]["ruby"]["healthy"], false);

    let (status, _, answer) = service.post_raw(
        "/api/v1/execute",
        br#"{"language": "ruby", "code": "puts 1"}"#.to_vec(),
    );
    assert_eq!(status, 503, "{answer}");
    assert!(answer["errorMessage"]
        .as_str()
        .unwrap()
        .contains("ruby containers cannot be started"));

    let result = service.run("python", "print('still fine')");
    assert_eq!(result["output"], "still fine\n");
    assert!(service.terminate().success());
}
