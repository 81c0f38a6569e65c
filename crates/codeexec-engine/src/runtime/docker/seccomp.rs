//! The seccomp profile every container runs under, named by `docker.seccomp_profile` (the
//! repository's `config/seccomp.json` by default): read and checked once when the runtime starts,
//! so that a missing or broken file stops the service with a message naming it, and handed to
//! Docker as the content of the `seccomp=` security option, which is how its API takes a profile.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// The settings key that names the profile, for messages.
const SETTING: &str = "docker.seccomp_profile";

/// A profile in Docker's JSON format, read from its file.
#[derive(Debug, Clone, PartialEq)]
pub struct SeccompProfile {
    /// The file's JSON, without its layout.
    compact: String,
}

/// What a Docker profile must hold for us to send it: the engine would refuse anything else at
/// every container's creation, long after the service started.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileShape {
    default_action: String,
    syscalls: Vec<RuleShape>,
}

#[derive(Deserialize)]
struct RuleShape {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    name: Option<String>,
    action: String,
}

/// The actions Docker's format knows.
const ACTIONS: [&str; 9] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

fn check_action(action: &str, at: &str) -> Result<(), String> {
    if ACTIONS.contains(&action) {
        Ok(())
    } else {
        Err(format!("{at}: unknown action {action:?}"))
    }
}

impl SeccompProfile {
    /// Reads and checks the profile at `path`; a relative path is taken from the working
    /// directory, as the service's other paths are.
    pub fn load(path: &Path) -> Result<SeccompProfile, String> {
        if path.as_os_str().is_empty() {
            return Err(format!(
                "{SETTING} is empty: every container needs a seccomp profile (the repository's \
                 is config/seccomp.json)"
            ));
        }
        let shown = shown(path);
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!("cannot read the seccomp profile {shown} ({SETTING}): {error}")
        })?;
        Self::parse(&text).map_err(|error| {
            format!(
                "the seccomp profile {shown} ({SETTING}) is not a Docker seccomp profile: {error}"
            )
        })
    }

    fn parse(text: &str) -> Result<SeccompProfile, String> {
        let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
        let shape = ProfileShape::deserialize(&value).map_err(|error| error.to_string())?;
        check_action(&shape.default_action, "defaultAction")?;
        for (index, rule) in shape.syscalls.iter().enumerate() {
            check_action(&rule.action, &format!("syscalls[{index}]"))?;
            let named = rule.names.iter().chain(rule.name.iter());
            if named.clone().next().is_none() || named.clone().any(|name| name.is_empty()) {
                return Err(format!("syscalls[{index}] names no system call"));
            }
        }
        Ok(SeccompProfile {
            compact: value.to_string(),
        })
    }

    /// The security option that applies the profile: `seccomp=` and the profile's JSON, as the
    /// Docker CLI sends it for `--security-opt seccomp=<file>`.
    pub fn security_option(&self) -> String {
        format!("seccomp={}", self.compact)
    }
}

/// `path` as a message should show it: relative ones with the folder they were looked for in.
fn shown(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(folder) if path.is_relative() => {
            format!("{} (in {})", path.display(), folder.display())
        }
        _ => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn repository_profile_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/seccomp.json")
    }

    #[test]
    fn the_repository_profile_loads_and_becomes_one_security_option() {
        let profile = SeccompProfile::load(&repository_profile_path()).unwrap();
        let option = profile.security_option();
        let json = option.strip_prefix("seccomp=").unwrap();
        let file = std::fs::read_to_string(repository_profile_path()).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(json).unwrap(),
            serde_json::from_str::<Value>(&file).unwrap()
        );
        assert!(!json.contains('\n'), "sent without its layout");
    }

    #[test]
    fn a_missing_or_broken_profile_is_refused_with_its_name() {
        let missing = SeccompProfile::load(Path::new("/nonexistent/seccomp.json")).unwrap_err();
        assert!(missing.contains("/nonexistent/seccomp.json"), "{missing}");
        assert!(missing.contains("docker.seccomp_profile"), "{missing}");

        let folder = std::env::temp_dir().join(format!("seccomp-test-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        for (name, text, says) in [
            (
                "truncated.json",
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "#,
                "EOF",
            ),
            ("list.json", "[]", "expected struct"),
            (
                "action.json",
                r#"{"defaultAction": "ALLOW", "syscalls": []}"#,
                "defaultAction: unknown action",
            ),
            (
                "unnamed.json",
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}"#,
                "syscalls[0] names no system call",
            ),
        ] {
            let path = folder.join(name);
            std::fs::write(&path, text).unwrap();
            let refused = SeccompProfile::load(&path).unwrap_err();
            assert!(refused.contains(&path.display().to_string()), "{refused}");
            assert!(
                refused.contains("not a Docker seccomp profile"),
                "{refused}"
            );
            assert!(refused.contains(says), "{name}: {refused}");
        }
        std::fs::remove_dir_all(&folder).unwrap();

        let empty = SeccompProfile::load(Path::new("")).unwrap_err();
        assert!(empty.contains("docker.seccomp_profile is empty"), "{empty}");
    }

    /// ENOSYS, on x86_64 and aarch64 alike.
    const ENOSYS: i64 = 38;

    /// One rule of the repository's profile, as the review below reads it.
    #[derive(Deserialize)]
    struct Rule {
        names: Vec<String>,
        action: String,
        #[serde(default)]
        args: Vec<Value>,
        #[serde(rename = "errnoRet")]
        errno: Option<i64>,
        #[serde(default)]
        comment: String,
    }

    fn repository_rules() -> Vec<Rule> {
        let text = std::fs::read_to_string(repository_profile_path()).unwrap();
        let profile: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO", "an allow list");
        serde_json::from_value(profile["syscalls"].clone()).unwrap()
    }

    /// The system calls of this machine's x86_64 table (`linux-libc-dev`'s header). aarch64's
    /// 64-bit table holds no name this one lacks.
    fn kernel_table() -> BTreeSet<String> {
        let header = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
        let text = std::fs::read_to_string(header)
            .unwrap_or_else(|error| panic!("{header} ({error}): install linux-libc-dev"));
        text.lines()
            .filter_map(|line| line.strip_prefix("#define __NR_"))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_string)
            .collect()
    }

    /// Every system call of the kernel's table is decided in the profile, with a reason: allowed,
    /// allowed on conditions, or refused; none both allowed outright and refused.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_profile_decides_every_system_call_of_this_machine_with_a_reason() {
        let rules = repository_rules();
        let table = kernel_table();
        assert!(table.len() > 300, "{} calls in the table", table.len());
        let mut decided = BTreeSet::new();
        let mut allowed_outright = BTreeSet::new();
        let mut refused_outright = BTreeSet::new();
        for rule in &rules {
            assert!(!rule.comment.is_empty(), "{:?} has no reason", rule.names);
            for name in &rule.names {
                assert!(table.contains(name), "{name} is not in the kernel's table");
                decided.insert(name.clone());
                match (rule.action.as_str(), rule.args.is_empty()) {
                    ("SCMP_ACT_ALLOW", true) => allowed_outright.insert(name.clone()),
                    ("SCMP_ACT_ERRNO", true) => refused_outright.insert(name.clone()),
                    _ => true,
                };
            }
        }
        let undecided: Vec<_> = table.difference(&decided).collect();
        assert!(undecided.is_empty(), "not in the profile: {undecided:?}");
        let both: Vec<_> = allowed_outright.intersection(&refused_outright).collect();
        assert!(both.is_empty(), "allowed and refused: {both:?}");
    }

    /// What issue 15 names, and what the runner's own filter refuses, is never allowed outright;
    /// the calls that may target another process are allowed only for the caller itself.
    #[test]
    fn the_profile_refuses_what_reaches_the_kernel_or_another_process() {
        let rules = repository_rules();
        let refused = "io_uring_setup io_uring_enter io_uring_register keyctl add_key request_key \
            userfaultfd unshare setns mount umount2 pivot_root chroot open_tree move_mount fsopen \
            fsconfig fsmount fspick mount_setattr bpf perf_event_open kexec_load kexec_file_load \
            init_module finit_module delete_module reboot swapon swapoff acct settimeofday \
            clock_settime clock_adjtime adjtimex syslog iopl ioperm quotactl lookup_dcookie \
            name_to_handle_at open_by_handle_at fanotify_init ptrace process_vm_readv \
            process_vm_writev kcmp";
        for name in refused.split_whitespace() {
            let allowing: Vec<_> = rules
                .iter()
                .filter(|rule| rule.names.iter().any(|n| n == name))
                .filter(|rule| rule.action == "SCMP_ACT_ALLOW")
                .collect();
            assert!(allowing.is_empty(), "{name} is allowed");
        }
        let clone3: Vec<_> = rules
            .iter()
            .filter(|rule| rule.names.iter().any(|n| n == "clone3"))
            .collect();
        assert_eq!(clone3.len(), 1);
        assert_eq!(
            (clone3[0].action.as_str(), clone3[0].errno),
            ("SCMP_ACT_ERRNO", Some(ENOSYS)),
            "clone3 answers ENOSYS, so that callers fall back to clone"
        );
        let conditional = "clone personality prlimit64 sched_setscheduler sched_setparam \
            sched_setattr sched_setaffinity setpriority ioprio_set socket socketpair";
        for name in conditional.split_whitespace() {
            let rules: Vec<_> = rules
                .iter()
                .filter(|rule| rule.names.iter().any(|n| n == name))
                .collect();
            assert!(!rules.is_empty(), "{name} is not in the profile");
            for rule in rules {
                assert_eq!(rule.action, "SCMP_ACT_ALLOW", "{name}");
                assert!(!rule.args.is_empty(), "{name} is allowed outright");
            }
        }
    }
}
