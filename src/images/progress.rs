//! What `codeexec images build` shows while it works: plain lines on stderr, each naming its
//! language, so that the output reads the same in a terminal and in a CI log.

use std::collections::VecDeque;
use std::fmt::Display;

use bollard::models::ProgressDetail;

/// Prints progress lines for one language: `[python] ...`.
pub struct Progress {
    language: String,
}

impl Progress {
    pub fn new(language: &str) -> Progress {
        Progress {
            language: language.to_string(),
        }
    }

    pub fn say(&self, message: impl Display) {
        eprintln!("[{}] {message}", self.language);
    }

    /// Prints a status line of a pull (the engine's `status`, `id` and `progressDetail`).
    pub fn say_pull_status(
        &self,
        id: Option<&str>,
        status: Option<&str>,
        detail: Option<&ProgressDetail>,
    ) {
        let has_byte_counts = detail.is_some_and(|detail| detail.current.is_some());
        let Some(status) = status else { return };
        if let Some(line) = pull_status_line(id, status, has_byte_counts) {
            self.say(line);
        }
    }

    /// Prints the lines of a chunk of the classic builder's output worth reading.
    pub fn say_build_output(&self, text: &str) {
        for line in text
            .lines()
            .map(str::trim_end)
            .filter(|line| worth_showing(line))
        {
            self.say(line);
        }
    }
}

/// Leaves out blank lines and the builder's bookkeeping of the intermediate container behind each
/// step, which doubles the output and says nothing about the image.
fn worth_showing(build_line: &str) -> bool {
    let line = build_line.trim();
    !(line.is_empty()
        || line.starts_with("---> Running in ")
        || line.starts_with("Removing intermediate container "))
}

/// A status line of a pull worth showing, or `None` for byte-count updates, which come many times
/// a second per layer and would bury everything else in a log.
fn pull_status_line(id: Option<&str>, status: &str, has_byte_counts: bool) -> Option<String> {
    if has_byte_counts {
        return None;
    }
    Some(match id {
        Some(id) => format!("{id}: {status}"),
        None => status.to_string(),
    })
}

/// Verbs debootstrap repeats once per package; the rest of its lines are worth showing as they are.
const PER_PACKAGE_VERBS: [(&str, &str); 4] = [
    ("Retrieving", "retrieved"),
    ("Extracting", "extracted"),
    ("Unpacking", "unpacked"),
    ("Configuring", "configured"),
];

/// Lines debootstrap prints to keep in an error message when it fails.
const TAIL_LINES: usize = 12;

/// Condenses debootstrap's output (several hundred lines) into a dozen: its phase lines without
/// the `I: ` prefix, and one count per run of per-package lines ("retrieved 112 packages").
#[derive(Default)]
pub struct DebootstrapLog {
    /// The per-package verb being counted, and how many packages it has named so far.
    counting: Option<(&'static str, usize)>,
    tail: VecDeque<String>,
}

impl DebootstrapLog {
    /// Takes one line of output; returns the lines to show now.
    pub fn feed(&mut self, line: &str) -> Vec<String> {
        self.remember(line);
        let mut shown = Vec::new();
        match package_verb(line) {
            // Each package is validated right after it is retrieved: nothing new to show.
            None if line.starts_with("I: Validating ") && self.counting.is_some() => {}
            Some((verb, _)) if matches!(self.counting, Some((counted, _)) if counted == verb) => {
                self.counting = self.counting.map(|(verb, count)| (verb, count + 1));
            }
            Some((verb, _)) => {
                shown.extend(self.finish());
                self.counting = Some((verb, 1));
            }
            None => {
                shown.extend(self.finish());
                shown.push(line.strip_prefix("I: ").unwrap_or(line).to_string());
            }
        }
        shown
    }

    /// The count of the run of per-package lines in progress, if any; call once output ends.
    pub fn finish(&mut self) -> Option<String> {
        let (verb, count) = self.counting.take()?;
        let past = PER_PACKAGE_VERBS
            .iter()
            .find(|(present, _)| *present == verb)?
            .1;
        let plural = if count == 1 { "" } else { "s" };
        Some(format!("{past} {count} package{plural}"))
    }

    /// The last lines debootstrap printed, for an error message.
    pub fn tail(&self) -> String {
        self.tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    fn remember(&mut self, line: &str) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_string());
    }
}

/// The verb of a per-package line: `I: Unpacking libc6...` or `I: Retrieving libc6 2.36-9`, but
/// not a phase line such as `I: Retrieving InRelease` or `I: Unpacking the base system...`.
fn package_verb(line: &str) -> Option<(&'static str, &str)> {
    let rest = line.strip_prefix("I: ")?;
    let (verb, rest) = rest.split_once(' ')?;
    let verb = PER_PACKAGE_VERBS
        .iter()
        .find(|(present, _)| *present == verb)?
        .0;
    let rest = rest.trim_end();
    let package = match rest.strip_suffix("...") {
        Some(package) if !package.contains(' ') => package,
        Some(_) => return None,
        None => rest.split_once(' ').map(|(package, _version)| package)?,
    };
    Some((verb, package))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(lines: &[&str]) -> Vec<String> {
        let mut log = DebootstrapLog::default();
        let mut shown: Vec<String> = lines.iter().flat_map(|line| log.feed(line)).collect();
        shown.extend(log.finish());
        shown
    }

    #[test]
    fn per_package_lines_become_one_count_per_phase() {
        let shown = feed_all(&[
            "I: Retrieving InRelease ",
            "I: Retrieving libc6 2.36-9",
            "I: Validating libc6 2.36-9",
            "I: Retrieving bash 5.2-2",
            "I: Validating bash 5.2-2",
            "I: Extracting bash...",
            "I: Installing core packages...",
            "I: Unpacking libc6...",
            "I: Configuring libc6...",
            "I: Configuring bash...",
            "I: Base system installed successfully.",
        ]);
        assert_eq!(
            shown,
            [
                "Retrieving InRelease ",
                "retrieved 2 packages",
                "extracted 1 package",
                "Installing core packages...",
                "unpacked 1 package",
                "configured 2 packages",
                "Base system installed successfully.",
            ]
        );
    }

    #[test]
    fn phase_lines_lose_their_prefix_and_warnings_keep_theirs() {
        let lines = [
            "I: Unpacking the base system...",
            "W: Failure trying to run: chroot",
        ];
        let shown = [
            "Unpacking the base system...",
            "W: Failure trying to run: chroot",
        ];
        assert_eq!(feed_all(&lines), shown);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut log = DebootstrapLog::default();
        for n in 0..20 {
            log.feed(&format!("line {n}"));
        }
        assert!(log.tail().starts_with("line 8\n"));
        assert!(log.tail().ends_with("line 19"));
    }

    #[test]
    fn build_output_keeps_steps_and_drops_container_bookkeeping() {
        let shown: Vec<&str> = [
            "Step 3/9 : ENV LANG=C.UTF-8",
            " ---> Running in d5596639aa9e",
            "Removing intermediate container d5596639aa9e",
            " ---> 193e892cf960",
            "",
        ]
        .into_iter()
        .filter(|line| worth_showing(line))
        .collect();
        assert_eq!(shown, ["Step 3/9 : ENV LANG=C.UTF-8", " ---> 193e892cf960"]);
    }

    #[test]
    fn pull_byte_counts_are_hidden() {
        assert_eq!(pull_status_line(Some("abc"), "Downloading", true), None);
        assert_eq!(
            pull_status_line(Some("abc"), "Pull complete", false).unwrap(),
            "abc: Pull complete"
        );
    }
}
