//! Which blobs of a repository hold no Flux or Argo CD object, remembered between runs, so
//! the pre-push hook of a plain repository reads only the blobs a push adds instead of every
//! file of the commit. Blobs are named by content, so an entry never goes stale.
//!
//! The cache is one file in the repository's git directory
//! (`kubectl-gitops/plain-blobs`), one hex object id a line, replaced whole by rename (two
//! hooks at once cannot tear it; the later one wins, which loses nothing but time).

use std::collections::HashSet;
use std::path::Path;

use crate::manifest::FileSet;
use crate::manifest::tree::Location;

const FILE: &str = "kubectl-gitops/plain-blobs";

/// True when a blob of `set` (a commit's files) holds a controller object.
pub fn has_controllers(
    git_dir: &Path,
    set: &FileSet,
    wanted: &[bool],
    marked: &(dyn Fn(&[u8]) -> bool + Sync),
) -> bool {
    let path = git_dir.join(FILE);
    let known: HashSet<git2::Oid> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| git2::Oid::from_str(l.trim()).ok())
        .collect();
    let unknown: Vec<bool> = set
        .files
        .iter()
        .zip(wanted)
        .map(|(f, want)| {
            *want && !matches!(f.location, Location::Blob(oid) if known.contains(&oid))
        })
        .collect();
    let mut plain = Vec::new();
    for (f, bytes) in set.files.iter().zip(set.read_wanted(&unknown)) {
        let Some(Ok(bytes)) = bytes else { continue };
        if marked(&bytes) {
            return true;
        }
        if let Location::Blob(oid) = f.location {
            plain.push(oid);
        }
    }
    if !plain.is_empty() {
        remember(&path, &known, &plain);
    }
    false
}

/// Writes the cache anew with the new plain blobs; a failure only costs the next run time.
fn remember(path: &Path, known: &HashSet<git2::Oid>, plain: &[git2::Oid]) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let mut text = String::with_capacity((known.len() + plain.len()) * 41);
    for oid in known.iter().chain(plain) {
        text.push_str(&oid.to_string());
        text.push('\n');
    }
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    if std::io::Write::write_all(&mut tmp, text.as_bytes()).is_ok() {
        let _ = tmp.persist(path);
    }
}
