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

    /// The v1 request body, with `extra` fields (e.g. `memoryLimitMb`) merged in.
    pub fn body(&self, extra: Value) -> Value {
        let dir = self.dir.path().display();
        let code = format!(
            "import os, time\nopen('{dir}/started', 'w').close()\n\
             while not os.path.exists('{dir}/release'):\n    time.sleep(0.01)\nprint('released')"
        );
        let mut body = json!({ "language": "python", "code": code });
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        body
    }

    /// Waits until the program runs.
    pub fn wait_until_running(&self) {
        let started = self.path("started");
        super::wait_until("the held job runs", || started.exists());
    }

    /// Lets the program finish.
    pub fn release(&self) {
        std::fs::File::create(self.path("release")).expect("create the release file");
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
