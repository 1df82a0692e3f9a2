//! The deploy timeline: every image bump in the history, newest first.
//!
//! Each commit's bumps come from the cheapest trustworthy source: its `Image-Bump` trailers,
//! else our note, else the manifests before and after the commit (only the files it
//! touched), so any repository works with no hook ever installed.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::detect::{self, Bump, FileSites};
use super::log::{self, Commit};
use super::note::Record;
use super::{GitError, Repo, in_hidden_dir, lib, trailer};
use crate::manifest::image::same_image;
use crate::manifest::sites::{self, VersionSite};

/// Where a bump record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The commit's `Image-Bump` trailers.
    Trailer,
    /// A `refs/notes/gitops` note written by the post-merge hook.
    Note,
    /// Computed from the manifests the commit changed.
    Diff,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// One image bump in one commit.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Full sha of the commit.
    pub commit: String,
    /// Committer date (ISO 8601): when the bump landed.
    pub date: String,
    pub author: Person,
    pub committer: Person,
    pub subject: String,
    pub image: String,
    pub old: String,
    pub new: String,
    /// Files where the image changed (for trailer records: the YAML files the commit changed).
    pub files: Vec<String>,
    /// Where in those files, when known.
    pub objects: Vec<String>,
    pub detected_by: Source,
    /// The commit this bump rolls back, when it is a rollback.
    pub rollback_of: Option<String>,
    /// The later commit that rolled this bump back, if any.
    pub rolled_back_by: Option<String>,
}

impl Entry {
    /// A rollback itself, or a bump that was rolled back: not a target for another rollback.
    pub fn is_settled(&self) -> bool {
        self.rollback_of.is_some() || self.rolled_back_by.is_some()
    }
}

/// What to walk and keep.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Only this image (Docker Hub spellings compare equal).
    pub image: Option<String>,
    /// Only files under these repo-relative paths.
    pub paths: Vec<String>,
    /// Stop after this many entries.
    pub limit: Option<usize>,
}

/// Commits handled per round: enough to keep both cores busy, small enough that `-n 10`
/// stops early on a long history.
const CHUNK: usize = 400;

/// The bumps reachable from HEAD, newest first.
pub fn history(repo: &Repo, options: &Options) -> Result<Vec<Entry>, GitError> {
    repo.head()?;
    let commits = log::walk(repo, &["HEAD"], &log::yaml_pathspecs(&options.paths))?;
    let mut entries: Vec<Entry> = Vec::new();
    let mut rolled_back: HashMap<String, String> = HashMap::new();
    let mut parsed = SiteCache::default();
    for chunk in commits.chunks(CHUNK) {
        let found = commit_bumps(repo, chunk, &mut parsed)?;
        for (commit, (source, bumps)) in chunk.iter().zip(found) {
            for sha in &commit.rolls_back {
                rolled_back
                    .entry(sha.clone())
                    .or_insert_with(|| commit.id.clone());
            }
            for bump in bumps {
                if options
                    .image
                    .as_deref()
                    .is_some_and(|i| !same_image(i, &bump.image))
                {
                    continue;
                }
                entries.push(entry(commit, source, bump, &rolled_back));
            }
        }
        if options.limit.is_some_and(|n| entries.len() >= n) {
            break;
        }
    }
    mark_returns(&mut entries);
    if let Some(n) = options.limit {
        entries.truncate(n);
    }
    Ok(entries)
}

fn entry(
    commit: &Commit,
    source: Source,
    bump: Bump,
    rolled_back: &HashMap<String, String>,
) -> Entry {
    // Rollback records name the commit by full or abbreviated sha.
    let rolled_back_by = rolled_back
        .iter()
        .find(|(sha, _)| commit.id.starts_with(sha.as_str()))
        .map(|(_, by)| by.clone());
    Entry {
        commit: commit.id.clone(),
        date: commit.date.clone(),
        author: Person {
            name: commit.author_name.clone(),
            email: commit.author_email.clone(),
        },
        committer: Person {
            name: commit.committer_name.clone(),
            email: commit.committer_email.clone(),
        },
        subject: commit.subject.clone(),
        image: bump.image,
        old: bump.old,
        new: bump.new,
        files: bump.files,
        objects: bump.objects,
        detected_by: source,
        rollback_of: commit.rolls_back.first().cloned(),
        rolled_back_by,
    }
}

/// A bump undone by hand (the image's next bump goes straight back from `new` to `old`)
/// is a rollback too, even without a revert message or trailer.
fn mark_returns(entries: &mut [Entry]) {
    // Entries are newest first: walk oldest first and remember each image's latest bump.
    let mut latest: HashMap<String, usize> = HashMap::new();
    for i in (0..entries.len()).rev() {
        let key = crate::manifest::image::canonical_name(&entries[i].image);
        if let Some(&prev) = latest.get(&key) {
            let (earlier, later) = (&entries[prev], &entries[i]);
            if earlier.rolled_back_by.is_none()
                && later.old == earlier.new
                && later.new == earlier.old
                && earlier.rollback_of.is_none()
            {
                let (by, of) = (later.commit.clone(), earlier.commit.clone());
                entries[prev].rolled_back_by = Some(by);
                entries[i].rollback_of.get_or_insert(of);
            }
        }
        latest.insert(key, i);
    }
}

/// Image sites of blobs already parsed, by (path, blob): the "after" of one commit is the
/// "before" of the next one that touches the file.
#[derive(Default)]
pub struct SiteCache {
    sites: HashMap<(String, git2::Oid), Arc<Vec<VersionSite>>>,
}

/// The bumps of each commit, from trailers, notes, or the manifests it changed.
pub fn commit_bumps(
    repo: &Repo,
    commits: &[Commit],
    cache: &mut SiteCache,
) -> Result<Vec<(Source, Vec<Bump>)>, GitError> {
    let recorded: Vec<Option<(Source, Vec<Bump>)>> = commits.iter().map(recorded_bumps).collect();
    let wanted: Vec<(String, git2::Oid)> = commits
        .iter()
        .zip(&recorded)
        .filter(|(_, r)| r.is_none())
        .flat_map(|(c, _)| manifest_changes(c))
        .flat_map(|ch| {
            [ch.old, ch.new]
                .into_iter()
                .flatten()
                .map(|oid| (ch.path.clone(), oid))
        })
        .filter(|key| !cache.sites.contains_key(key))
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    let git_dir = repo.repo.path().to_path_buf();
    let parsed: Vec<((String, git2::Oid), Vec<VersionSite>)> = wanted
        .into_par_iter()
        .map_init(
            || git2::Repository::open(&git_dir),
            |handle, (path, oid)| {
                let handle = handle.as_ref().map_err(|e| {
                    lib("cannot open the repository")(git2::Error::from_str(e.message()))
                })?;
                let blob = handle
                    .find_blob(oid)
                    .map_err(lib(format!("cannot read {path} ({oid})")))?;
                let sites = match std::str::from_utf8(blob.content()) {
                    Ok(text) => sites::find(&path, text).0,
                    Err(_) => Vec::new(),
                };
                Ok(((path, oid), sites))
            },
        )
        .collect::<Result<_, GitError>>()?;
    for (key, sites) in parsed {
        cache.sites.insert(key, Arc::new(sites));
    }
    let empty: Arc<Vec<VersionSite>> = Arc::default();
    let sites_of = |path: &str, oid: Option<git2::Oid>| {
        oid.map(|oid| {
            cache
                .sites
                .get(&(path.to_string(), oid))
                .unwrap_or(&empty)
                .clone()
        })
    };
    Ok(commits
        .iter()
        .zip(recorded)
        .map(|(commit, recorded)| {
            recorded.unwrap_or_else(|| {
                let mut before = Vec::new();
                let mut after = Vec::new();
                for ch in manifest_changes(commit) {
                    before.extend(sites_of(&ch.path, ch.old).map(|s| (ch.path.as_str(), s)));
                    after.extend(sites_of(&ch.path, ch.new).map(|s| (ch.path.as_str(), s)));
                }
                (Source::Diff, detect::bumps(&view(&before), &view(&after)))
            })
        })
        .collect())
}

fn view<'a>(files: &'a [(&'a str, Arc<Vec<VersionSite>>)]) -> Vec<FileSites<'a>> {
    files
        .iter()
        .map(|(path, sites)| FileSites { path, sites })
        .collect()
}

/// The YAML changes of a commit that can hold manifests.
fn manifest_changes(commit: &Commit) -> impl Iterator<Item = &log::FileChange> {
    commit
        .changes
        .iter()
        .filter(|ch| crate::manifest::tree::is_yaml_name(&ch.path) && !in_hidden_dir(&ch.path))
}

/// Bumps a commit records about itself: trailers first, then our note.
fn recorded_bumps(commit: &Commit) -> Option<(Source, Vec<Bump>)> {
    let from_trailers: Vec<Bump> = commit
        .bump_trailers
        .iter()
        .filter_map(|line| trailer::parse_bump_line(line))
        .filter_map(|(kind, v)| trailer::parse_bump(v).map(|b| (kind, b)))
        .map(|(kind, (image, old, new))| Bump {
            kind,
            image,
            old,
            new,
            files: manifest_changes(commit).map(|c| c.path.clone()).collect(),
            objects: Vec::new(),
        })
        .collect();
    if !from_trailers.is_empty() {
        return Some((Source::Trailer, from_trailers));
    }
    let record = commit.note.as_deref().and_then(Record::parse)?;
    Some((Source::Note, record.bumps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(commit: &str, image: &str, old: &str, new: &str) -> Entry {
        Entry {
            commit: commit.into(),
            date: String::new(),
            author: Person {
                name: String::new(),
                email: String::new(),
            },
            committer: Person {
                name: String::new(),
                email: String::new(),
            },
            subject: String::new(),
            image: image.into(),
            old: old.into(),
            new: new.into(),
            files: vec![],
            objects: vec![],
            detected_by: Source::Diff,
            rollback_of: None,
            rolled_back_by: None,
        }
    }

    #[test]
    fn a_bump_straight_back_is_a_rollback() {
        let mut entries = vec![
            e("d", "app", "1.1", "1.0"),
            e("c", "web", "1", "2"),
            e("b", "app", "1.0", "1.1"),
            e("a", "app", "0.9", "1.0"),
        ];
        mark_returns(&mut entries);
        assert_eq!(entries[2].rolled_back_by.as_deref(), Some("d"));
        assert_eq!(entries[0].rollback_of.as_deref(), Some("b"));
        assert!(entries[3].rolled_back_by.is_none());
        assert!(entries[1].rolled_back_by.is_none());
    }
}
