//! A Python job that stays in flight until the test lets it go, for the in-process tests on the
//! local runtime: there programs share the host's filesystem, so the program marks a file when it
//! runs and waits for another, and the test knows the job is in flight without guessing at times.

use std::path::PathBuf;

use serde_json::{json, Value};

pub struct HeldJob {
    dir: tempfile::TempDir,
}

impl HeldJob {
    pub fn new() -> HeldJob {
        HeldJob {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The Python program: it marks that it started, waits for the release, prints `released`.
    pub fn code(&self) -> String {
        let dir = self.dir.path().display();
        format!(
            "import os, time\nopen('{dir}/started', 'w').close()\n\
             while not os.path.exists('{dir}/release'):\n    time.sleep(0.01)\nprint('released')"
        )
    }

    /// The v1 request body, with `extra` fields (e.g. `memoryLimitMb`) merged in.
    pub fn body(&self, extra: Value) -> Value {
        let mut body = json!({ "language": "python", "code": self.code() });
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        body
    }

    /// Whether the program has started.
    pub fn has_started(&self) -> bool {
        self.path("started").exists()
    }

    /// Waits until the program runs.
    pub fn wait_until_running(&self) {
        super::wait_until("the held job runs", || self.has_started());
    }

    /// Lets the program finish.
    pub fn release(&self) {
        std::fs::File::create(self.path("release")).expect("create the release file");
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
