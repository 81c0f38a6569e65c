//! Piston's `version` field: an npm-style semver range (`3.11.2`, `3.x`, `^3.10`, `>=3 <4`,
//! `1.2 - 2.3`, `a || b`, `*`) matched against a runtime's version. The `semver` crate speaks
//! Cargo's dialect, where a bare version means a caret range; npm's bare version is exact, so
//! each npm comparator is rewritten into Cargo's words before it is parsed.

use semver::{Version, VersionReq};

/// Whether `version` satisfies the npm range `range`. A range that does not parse matches
/// nothing, as npm's `semver.satisfies` answers false for it.
pub(crate) fn satisfies(range: &str, version: &Version) -> bool {
    range
        .split("||")
        .any(|alternative| cargo_requirement(alternative).is_some_and(|req| req.matches(version)))
}

/// One npm alternative (comparators joined by spaces, or a hyphen range) in Cargo's words.
fn cargo_requirement(alternative: &str) -> Option<VersionReq> {
    let alternative = alternative.trim();
    if let Some((low, high)) = alternative.split_once(" - ") {
        let low = low.trim().trim_start_matches(['v', '=']);
        let high = high.trim().trim_start_matches(['v', '=']);
        return VersionReq::parse(&format!(">={low}, <={high}")).ok();
    }
    let comparators: Vec<String> = join_operators(alternative)
        .iter()
        .map(|comparator| cargo_comparator(comparator))
        .collect();
    if comparators.is_empty() {
        return Some(VersionReq::STAR);
    }
    VersionReq::parse(&comparators.join(", ")).ok()
}

/// The comparators of an alternative, an operator written apart (`>= 3`) joined to its version.
fn join_operators(alternative: &str) -> Vec<String> {
    let mut comparators: Vec<String> = Vec::new();
    for word in alternative.split_whitespace() {
        match comparators.last_mut() {
            Some(last) if is_operator(last) => last.push_str(word),
            _ => comparators.push(word.to_string()),
        }
    }
    comparators
}

fn is_operator(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| matches!(c, '<' | '>' | '=' | '~' | '^'))
}

/// npm's bare `3.10.0` (exact) becomes Cargo's `=3.10.0`; a wildcard (`3.x`, `*`) and an
/// operator's comparator keep their form, both dialects reading them alike. npm's `v` prefix goes.
fn cargo_comparator(comparator: &str) -> String {
    let operator_end = comparator
        .find(|c: char| !matches!(c, '<' | '>' | '=' | '~' | '^'))
        .unwrap_or(comparator.len());
    let (operator, version) = comparator.split_at(operator_end);
    let version = version.strip_prefix('v').unwrap_or(version);
    let wildcard = version.contains(['x', 'X', '*']);
    match operator {
        "" if !wildcard => format!("={version}"),
        "" => version.replace('X', "x"),
        // npm's `~>` is its tilde.
        "~>" => format!("~{version}"),
        _ => format!("{operator}{version}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(range: &str, version: &str) -> bool {
        satisfies(range, &Version::parse(version).unwrap())
    }

    #[test]
    fn a_star_or_an_empty_range_matches_every_version() {
        assert!(matches("*", "3.11.2"));
        assert!(matches("", "0.0.0"));
        assert!(matches("x", "18.20.4"));
    }

    #[test]
    fn a_bare_version_is_exact_as_in_npm() {
        assert!(matches("3.11.2", "3.11.2"));
        assert!(matches("v3.11.2", "3.11.2"));
        assert!(matches("=3.11.2", "3.11.2"));
        assert!(!matches("3.10.0", "3.11.2"));
        assert!(!matches("3.11.1", "3.11.2"));
    }

    #[test]
    fn partial_versions_and_wildcards_match_what_they_leave_open() {
        assert!(matches("3", "3.11.2"));
        assert!(matches("3.11", "3.11.2"));
        assert!(!matches("3.10", "3.11.2"), "npm's 3.10 is 3.10.x");
        assert!(matches("3.x", "3.11.2"));
        assert!(matches("3.11.x", "3.11.2"));
        assert!(matches("3.11.X", "3.11.2"));
        assert!(matches("3.*", "3.11.2"));
        assert!(!matches("2.x", "3.11.2"));
    }

    #[test]
    fn operators_carets_tildes_and_hyphen_ranges() {
        assert!(matches("^3.9", "3.11.2"));
        assert!(!matches("^2", "3.11.2"));
        assert!(matches("~3.11.0", "3.11.2"));
        assert!(!matches("~3.10.0", "3.11.2"));
        assert!(matches(">=3.10 <4", "3.11.2"));
        assert!(matches(">= 3.10 < 4", "3.11.2"));
        assert!(!matches(">3.11.2", "3.11.2"));
        assert!(matches("3.0.0 - 3.11", "3.11.2"));
        assert!(!matches("1.0.0 - 3.10", "3.11.2"));
    }

    #[test]
    fn alternatives_match_when_one_does() {
        assert!(matches("2.x || 3.11.2", "3.11.2"));
        assert!(!matches("2.x || 4.x", "3.11.2"));
    }

    #[test]
    fn a_range_that_does_not_parse_matches_nothing() {
        assert!(!matches("latest", "3.11.2"));
        assert!(!matches("3.11.2.1", "3.11.2"));
        assert!(!matches("python", "3.11.2"));
    }
}
