//! Signal names and numbers, as an interactive client names the signal it sends and as results
//! name the one that ended a program (Linux's numbering, 1 to 31).

use codeexec_protocol::stream::MAX_SIGNAL;

/// Linux's standard signals, by number from 1.
const NAMES: [&str; MAX_SIGNAL as usize] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The name of signal `number` (`SIGKILL` for 9); `None` outside 1 to 31.
pub fn name(number: i32) -> Option<&'static str> {
    usize::try_from(number)
        .ok()
        .and_then(|number| number.checked_sub(1))
        .and_then(|index| NAMES.get(index).copied())
}

/// The number of the signal called `name`, with or without its `SIG` prefix, in any case.
pub fn number(name: &str) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    NAMES
        .iter()
        .position(|known| *known == full)
        .and_then(|index| i32::try_from(index + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_match_linux() {
        assert_eq!(name(9), Some("SIGKILL"));
        assert_eq!(name(15), Some("SIGTERM"));
        assert_eq!(name(31), Some("SIGSYS"));
        assert_eq!(name(0), None);
        assert_eq!(name(32), None);
        assert_eq!(number("SIGINT"), Some(2));
        assert_eq!(number("term"), Some(15));
        assert_eq!(number("SIGNOPE"), None);
        for signal in 1..=MAX_SIGNAL {
            assert_eq!(number(name(signal).unwrap()), Some(signal));
        }
    }
}
