//! Commit trailers that record tag bumps and rollbacks.
//!
//! `Image-Bump: <image> <old> -> <new>` (one per image change; `Chart-Bump` and `Source-Bump`
//! for chart versions and source refs) is written by `bump` and `rollback`; `Rollback-Of: <sha>`
//! by `rollback`. `git revert`'s own body line
//! `This reverts commit <sha>.` is read too, so reverts made by hand count as rollbacks.

use std::sync::OnceLock;

use regex::Regex;

use crate::manifest::sites::VersionKind;

pub const IMAGE_BUMP: &str = "Image-Bump";
pub const CHART_BUMP: &str = "Chart-Bump";
pub const SOURCE_BUMP: &str = "Source-Bump";
pub const ROLLBACK_OF: &str = "Rollback-Of";

/// The trailer key that records a change of this kind.
pub fn bump_key(kind: VersionKind) -> &'static str {
    match kind {
        VersionKind::Image => IMAGE_BUMP,
        VersionKind::Chart => CHART_BUMP,
        VersionKind::Source => SOURCE_BUMP,
    }
}

/// Reads a `Key: value` bump trailer line into its kind and value.
pub fn parse_bump_line(line: &str) -> Option<(VersionKind, &str)> {
    let (key, value) = line.split_once(':')?;
    let kind = [VersionKind::Image, VersionKind::Chart, VersionKind::Source]
        .into_iter()
        .find(|k| bump_key(*k).eq_ignore_ascii_case(key.trim()))?;
    Some((kind, value.trim()))
}

/// The value of an `Image-Bump` trailer.
pub fn format_bump(image: &str, old: &str, new: &str) -> String {
    format!("{image} {old} -> {new}")
}

/// Reads an `Image-Bump` trailer value into (image, old, new).
pub fn parse_bump(value: &str) -> Option<(String, String, String)> {
    let mut parts = value.split_whitespace();
    let (image, old, arrow, new) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (arrow == "->" && parts.next().is_none())
        .then(|| (image.to_string(), old.to_string(), new.to_string()))
}

/// The commit a `git revert` message says it reverts.
pub fn reverted_commit(body: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?m)^This reverts commit ([0-9a-f]{7,64})\b").expect("valid regex")
    })
    .captures(body)
    .map(|c| c[1].to_string())
}

/// A `Rollback-Of` value, if it is a sha.
pub fn parse_rollback_of(value: &str) -> Option<String> {
    let v = value.trim();
    (v.len() >= 7 && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| v.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_trailers_round_trip() {
        let v = format_bump("ghcr.io/o/app", "1.0", "1.1");
        assert_eq!(v, "ghcr.io/o/app 1.0 -> 1.1");
        assert_eq!(
            parse_bump(&v),
            Some(("ghcr.io/o/app".into(), "1.0".into(), "1.1".into()))
        );
        assert_eq!(parse_bump("app 1.0 1.1"), None);
        assert_eq!(parse_bump("app 1.0 -> 1.1 extra"), None);
    }

    #[test]
    fn reverts_are_recognised() {
        let body =
            "Revert \"x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n";
        assert_eq!(
            reverted_commit(body).as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(reverted_commit("mentions This reverts commit abc"), None);
        assert_eq!(parse_rollback_of(" ABCDEF1 ").as_deref(), Some("abcdef1"));
        assert_eq!(parse_rollback_of("HEAD"), None);
    }
}
