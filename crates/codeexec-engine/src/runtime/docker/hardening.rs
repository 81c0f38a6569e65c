//! The locked-down container every job runs in: one place that lists every hardening setting, so
//! it can be read (and tested) as a whole.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, ResourcesUlimits};
use codeexec_protocol::{PROGRAM_USER_FLAG, RUNNER_PATH, RUNNER_USER_FLAG, SANDBOX_DIR};

use super::channel::ChannelDir;
use super::seccomp::SeccompProfile;
use super::{LABEL_CHANNEL, LABEL_INSTANCE, LABEL_LANGUAGE, LABEL_MANAGED};
use crate::language::Language;
use crate::settings::{DockerSettings, GlobalLimits};

const MB: i64 = 1024 * 1024;

/// The capabilities the runner starts with, as root, and keeps when it drops to `docker.user`: to
/// run the program as `program_uid` and to kill it. The program gets none of them.
const RUNNER_CAPABILITIES: [&str; 3] = ["SETUID", "SETGID", "KILL"];

/// The create request for a pool container of `language`: the runner waiting for its job on the
/// direct channel in `channel` (or, without one, on stdin), with the language's limits fixed at
/// creation, and its program running as `program_uid`.
pub fn container_spec(
    docker: &DockerSettings,
    global: &GlobalLimits,
    seccomp: &SeccompProfile,
    language: &Language,
    program_uid: u32,
    channel: Option<&ChannelDir>,
) -> ContainerCreateBody {
    let limits = &language.settings;
    let memory = limits.memory_mb as i64 * MB;
    let mut labels = HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_LANGUAGE.to_string(), language.name.clone()),
        (LABEL_INSTANCE.to_string(), docker.instance.clone()),
    ]);
    let mut env = vec!["HOME=/tmp".to_string(), "LANG=C.UTF-8".to_string()];
    env.extend(limits.env.iter().cloned());
    let mut cmd = vec![
        RUNNER_PATH.to_string(),
        RUNNER_USER_FLAG.to_string(),
        docker.user.clone(),
        PROGRAM_USER_FLAG.to_string(),
        program_uid.to_string(),
    ];
    if let Some(channel) = channel {
        cmd.extend(ChannelDir::runner_args());
        let name = channel.path().file_name().unwrap_or_default();
        labels.insert(
            LABEL_CHANNEL.to_string(),
            name.to_string_lossy().into_owned(),
        );
    }
    cmd.extend(limits.prestart_args(&language.name).unwrap_or_default());
    // Without the channel, the job frame arrives on stdin, and stdin_once makes our half-close
    // reach the runner.
    let attached = channel.is_none();
    let mut host_config = host_config(
        docker,
        global,
        seccomp,
        memory,
        limits.cpus,
        limits.pids,
        program_uid,
    );
    host_config.binds = channel.map(|channel| vec![channel.bind()]);
    ContainerCreateBody {
        image: Some(limits.image.clone()),
        cmd: Some(cmd),
        // Root only until the runner drops to docker.user, with RUNNER_CAPABILITIES alone.
        user: Some("0:0".to_string()),
        working_dir: Some(SANDBOX_DIR.to_string()),
        env: Some(env),
        labels: Some(labels),
        open_stdin: Some(attached),
        stdin_once: Some(attached),
        attach_stdin: Some(attached),
        attach_stdout: Some(attached),
        attach_stderr: Some(attached),
        tty: Some(false),
        network_disabled: Some(true),
        host_config: Some(host_config),
        ..Default::default()
    }
}

fn host_config(
    docker: &DockerSettings,
    global: &GlobalLimits,
    seccomp: &SeccompProfile,
    memory: i64,
    cpus: f64,
    pids: i64,
    program_uid: u32,
) -> HostConfig {
    let inodes = global.tmpfs_inodes;
    // Their pages count against the container's memory limit, and a language's limit leaves
    // room for all three full (EngineSettings::check); nr_inodes bounds the files they hold.
    let tmpfs = HashMap::from([
        (
            SANDBOX_DIR.to_string(),
            format!(
                "rw,exec,nosuid,nodev,size={}m,nr_inodes={inodes},mode=0755,uid={program_uid},gid={program_uid}",
                global.sandbox_size_mb
            ),
        ),
        (
            "/tmp".to_string(),
            format!(
                "rw,exec,nosuid,nodev,size={}m,nr_inodes={inodes},mode=1777",
                global.tmp_size_mb
            ),
        ),
        // In place of Docker's own /dev/shm (64 MB, no inode limit), with the private IPC
        // namespace below.
        (
            "/dev/shm".to_string(),
            format!(
                "rw,noexec,nosuid,nodev,size={}m,nr_inodes={inodes},mode=1777",
                global.shm_size_mb
            ),
        ),
    ]);
    let file_size = global.file_size_mb as i64 * MB;
    HostConfig {
        readonly_rootfs: Some(true),
        tmpfs: Some(tmpfs),
        network_mode: Some("none".to_string()),
        memory: Some(memory),
        // Swap equal to memory means no swap at all: the limit is the limit.
        memory_swap: Some(memory),
        nano_cpus: Some((cpus * 1e9) as i64),
        cpuset_cpus: docker.cpuset_cpus.docker_value(),
        pids_limit: Some(pids),
        cap_drop: Some(vec!["ALL".to_string()]),
        cap_add: Some(RUNNER_CAPABILITIES.map(String::from).to_vec()),
        // Our own profile (config/seccomp.json) in place of the engine's default; the runner
        // stacks its own filter on every stage as well.
        security_opt: Some(vec![
            "no-new-privileges".to_string(),
            seccomp.security_option(),
        ]),
        ulimits: Some(vec![
            ulimit("nofile", global.open_files as i64),
            ulimit("fsize", file_size),
            ulimit("core", 0),
        ]),
        // No init process: the runner is PID 1, which the kernel shields from every signal
        // sent from inside the container, so a program cannot kill the runner reporting on it.
        init: Some(false),
        log_config: Some(HostConfigLogConfig {
            typ: Some("none".to_string()),
            config: None,
        }),
        runtime: (!docker.runtime.is_empty()).then(|| docker.runtime.clone()),
        ipc_mode: Some("private".to_string()),
        ..Default::default()
    }
}

fn ulimit(name: &str, value: i64) -> ResourcesUlimits {
    ResourcesUlimits {
        name: Some(name.to_string()),
        soft: Some(value),
        hard: Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::repository_settings;
    use crate::LanguageRegistry;

    #[test]
    fn sandbox_tmpfs_belongs_to_the_program() {
        let settings = repository_settings();
        let registry = LanguageRegistry::new(&settings.languages);
        let python = registry.resolve("python").unwrap();
        let spec = container_spec(
            &settings.docker,
            &settings.limits,
            &profile(),
            python,
            200017,
            None,
        );
        let tmpfs = spec.host_config.unwrap().tmpfs.unwrap();
        assert!(tmpfs["/sandbox"].contains("uid=200017,gid=200017"));
        assert!(tmpfs["/sandbox"].contains("size=64m"));
        assert!(tmpfs["/dev/shm"].contains("size=16m,nr_inodes=4096"));
    }

    fn profile() -> SeccompProfile {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/seccomp.json");
        SeccompProfile::load(&path).unwrap()
    }

    #[test]
    fn every_container_gets_no_new_privileges_and_the_seccomp_profile() {
        let settings = repository_settings();
        let registry = LanguageRegistry::new(&settings.languages);
        let profile = profile();
        for language in ["python", "java", "cpp"] {
            let language = registry.resolve(language).unwrap();
            let spec = container_spec(
                &settings.docker,
                &settings.limits,
                &profile,
                language,
                200017,
                None,
            );
            let security = spec.host_config.unwrap().security_opt.unwrap();
            assert_eq!(
                security,
                ["no-new-privileges".to_string(), profile.security_option()]
            );
        }
    }
}
