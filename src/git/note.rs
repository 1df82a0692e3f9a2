//! Bump records in git notes under `refs/notes/gitops`, written by the post-merge hook for
//! commits that arrived without `Image-Bump` trailers.
//!
//! A note is one JSON object:
//! `{"version":1,"detectedBy":"diff","bumps":[{"image":..,"old":..,"new":..,"files":[..],"objects":[..]}]}`.

use serde::{Deserialize, Serialize};

use super::detect::Bump;

/// The notes ref kubectl-gitops owns.
pub const NOTES_REF: &str = "refs/notes/gitops";

/// The JSON record of one commit's bumps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Format version; readers skip records with a version they do not know.
    pub version: u32,
    /// How the bumps were found (`diff`: from the manifests before and after the commit).
    pub detected_by: String,
    pub bumps: Vec<Bump>,
}

impl Record {
    pub const VERSION: u32 = 1;

    pub fn from_diff(bumps: Vec<Bump>) -> Record {
        Record {
            version: Self::VERSION,
            detected_by: "diff".into(),
            bumps,
        }
    }

    /// Reads a note; `None` for notes that are not ours or from a newer format.
    pub fn parse(text: &str) -> Option<Record> {
        serde_json::from_str::<Record>(text.trim())
            .ok()
            .filter(|r| r.version == Self::VERSION)
    }
}

/// Writes the record as the note of `commit`, unless the commit already has one (running the
/// hook twice records nothing new). Returns whether a note was written.
pub fn write(
    repo: &git2::Repository,
    commit: git2::Oid,
    record: &Record,
) -> Result<bool, git2::Error> {
    if repo.find_note(Some(NOTES_REF), commit).is_ok() {
        return Ok(false);
    }
    // Notes are metadata written on the user's behalf: their identity when configured, a
    // recognisable fallback otherwise (git itself would refuse to write without one).
    let signature = repo
        .signature()
        .or_else(|_| git2::Signature::now("kubectl-gitops", "kubectl-gitops@localhost"))?;
    let json = serde_json::to_string(record).expect("a record always serialises");
    match repo.note(
        &signature,
        &signature,
        Some(NOTES_REF),
        commit,
        &json,
        false,
    ) {
        Ok(_) => Ok(true),
        // Another run recorded it between our check and our write.
        Err(e) if e.code() == git2::ErrorCode::Exists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_foreign_notes_are_ignored() {
        let r = Record::from_diff(vec![Bump {
            kind: Default::default(),
            image: "app".into(),
            old: "1".into(),
            new: "2".into(),
            files: vec!["a.yaml".into()],
            objects: vec![],
        }]);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.starts_with(
            r#"{"version":1,"detectedBy":"diff","bumps":[{"kind":"image","image":"app""#
        ));
        assert_eq!(Record::parse(&format!("{json}\n")), Some(r));
        assert_eq!(Record::parse("reviewed by alice"), None);
        assert_eq!(
            Record::parse(r#"{"version":9,"detectedBy":"diff","bumps":[]}"#),
            None
        );
    }
}
