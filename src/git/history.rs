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
use crate::manifest::image::{ImageRef, same_image};
use crate::manifest::sites::{self, VersionKind, VersionSite};

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
    /// Read from the commit message of Argo CD Image Updater or Flux image automation, for a
    /// change the manifests do not show (the old version is not in the repository).
    Message,
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
    /// What changed: an image, a chart version or a source ref.
    pub kind: VersionKind,
    /// The image, chart or source name.
    pub image: String,
    pub old: String,
    pub new: String,
    /// The apps (at HEAD) whose inputs hold the files; filled in by the caller that knows
    /// the apps.
    pub apps: Vec<String>,
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
    /// Only this image (Docker Hub spellings compare equal), chart or source.
    pub image: Option<String>,
    /// Only changes of this kind.
    pub kind: Option<VersionKind>,
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
    // Commit rolled back -> (rolling-back commit, images it put back; empty: all).
    let mut rolled_back: HashMap<String, Vec<(String, Vec<String>)>> = HashMap::new();
    let mut parsed = SiteCache::default();
    for chunk in commits.chunks(CHUNK) {
        let found = commit_bumps(repo, chunk, &mut parsed)?;
        for (commit, (source, bumps)) in chunk.iter().zip(found) {
            let images: Vec<String> = bumps.iter().map(|b| b.image.clone()).collect();
            for sha in &commit.rolls_back {
                rolled_back
                    .entry(sha.clone())
                    .or_default()
                    .push((commit.id.clone(), images.clone()));
            }
            for bump in bumps {
                if options
                    .image
                    .as_deref()
                    .is_some_and(|i| !same_image(i, &bump.image))
                    || options.kind.is_some_and(|k| k != bump.kind)
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
    rolled_back: &HashMap<String, Vec<(String, Vec<String>)>>,
) -> Entry {
    // Rollback records name the commit by full or abbreviated sha, and a partial rollback
    // puts back only some of its images: the oldest rollback of this image counts.
    let rolled_back_by = rolled_back
        .iter()
        .filter(|(sha, _)| commit.id.starts_with(sha.as_str()))
        .flat_map(|(_, by)| by.iter())
        .filter(|(_, images)| {
            images.is_empty() || images.iter().any(|i| same_image(i, &bump.image))
        })
        .last()
        .map(|(by, _)| by.clone());
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
        kind: bump.kind,
        apps: Vec::new(),
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
                let (before, after) = (view(&before), view(&after));
                let found = detect::detect(&before, &after);
                let mut bumps = found.bumps;
                // An override that appeared replaces what it shadows in the parent; one that
                // vanished gives way to what it shadowed.
                let parent = commit.parents.first();
                for (path, site) in &found.appeared {
                    if let Some(old) = parent.and_then(|p| shadowed_version(repo, p, path, site)) {
                        add_bump(&mut bumps, site, path, old, site.version());
                    }
                }
                for (path, site) in &found.vanished {
                    if let Some(new) = shadowed_version(repo, &commit.id, path, site) {
                        add_bump(&mut bumps, site, path, site.version(), new);
                    }
                }
                let mut source = Source::Diff;
                let described = message_bumps(&commit.body);
                for mut b in described {
                    if bumps.iter().any(|d| same_image(&d.image, &b.image)) {
                        continue;
                    }
                    if bumps.is_empty() {
                        source = Source::Message;
                    }
                    b.files = manifest_changes(commit).map(|c| c.path.clone()).collect();
                    bumps.push(b);
                }
                (source, bumps)
            })
        })
        .collect())
}

/// Adds a bump found outside the paired sites, unless it is no change or already known.
fn add_bump(bumps: &mut Vec<Bump>, site: &VersionSite, path: &str, old: String, new: String) {
    if old == new {
        return;
    }
    match bumps.iter_mut().find(|b| {
        b.kind == site.kind && same_image(&b.image, &site.name) && b.old == old && b.new == new
    }) {
        Some(b) => {
            if !b.files.iter().any(|f| f == path) {
                b.files.push(path.to_string());
            }
        }
        None => bumps.push(Bump {
            kind: site.kind,
            image: site.name.clone(),
            old,
            new,
            files: vec![path.to_string()],
            objects: vec![site.holder.clone()],
        }),
    }
}

/// The version `site`'s name has in the build of the site's directory at `revision`: what an
/// override shadows (read in the parent) or what shows once it is gone (read after).
fn shadowed_version(repo: &Repo, revision: &str, path: &str, site: &VersionSite) -> Option<String> {
    use crate::apps::{self, App, Controller, Recipe, effective};
    let oid = git2::Oid::from_str(revision).ok()?;
    let tree = repo.repo.find_commit(oid).ok()?.tree().ok()?;
    let set = crate::manifest::FileSet::from_git_tree(&repo.repo, &tree, &[]).ok()?;
    let view = apps::RepoView::new(&set, &[]);
    let dir = crate::manifest::load::parent(path).to_string();
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let recipe = if view.kustomization_of(&dir).is_some() {
        Recipe::Kustomize {
            dir: dir.clone(),
            overlay: apps::Overlay::default(),
        }
    } else {
        Recipe::Directory {
            dir: dir.clone(),
            recursive: false,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    };
    // Image Updater files belong to the Argo CD app they are named after.
    let argocd_app = file_name.strip_prefix(".argocd-source").map(|rest| {
        rest.trim_start_matches('-')
            .trim_end_matches(".yaml")
            .to_string()
    });
    let controller = if argocd_app.is_some() {
        Controller::Argocd
    } else {
        Controller::Plain
    };
    let mut app = App::new(controller, "Directory", recipe);
    app.name = argocd_app.unwrap_or_default();
    app.path = Some(dir);
    let sites = effective::app_sites(&app, &view);
    let verdicts = effective::verdicts(&sites, site.kind, &site.name);
    sites
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Some(effective::Verdict::Wins))
        .filter(|(s, _)| {
            s.site.scope == site.scope || site.scope == crate::manifest::sites::Scope::Image
        })
        .max_by_key(|(s, _)| s.rank)
        .map(|(s, _)| s.site.version())
}

/// Image changes a commit message describes in the forms image automation writes: Argo CD
/// Image Updater's default `updates image NAME tag 'OLD' to 'NEW'`
/// (argoproj-labs/argocd-image-updater `DefaultGitCommitMessage`), and `OLD -> NEW` lines of
/// whole references, as Flux image automation templates list `.Changed` changes.
pub fn message_bumps(body: &str) -> Vec<Bump> {
    static UPDATER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static ARROW: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let updater = UPDATER.get_or_init(|| {
        regex::Regex::new(r#"(?m)^\s*updates image "?([^\s"']+)"? tag ['"]?([^\s'"]+)['"]? to ['"]?([^\s'"]+)['"]?\s*$"#)
            .expect("valid regex")
    });
    let arrow = ARROW.get_or_init(|| {
        regex::Regex::new(r"(?m)^[\s*+-]*(\S+)\s+->\s+(\S+)\s*$").expect("valid regex")
    });
    let mut out: Vec<Bump> = Vec::new();
    let mut push = |image: String, old: String, new: String| {
        if old != new && !out.iter().any(|b| same_image(&b.image, &image)) {
            out.push(Bump {
                kind: VersionKind::Image,
                image,
                old,
                new,
                files: Vec::new(),
                objects: Vec::new(),
            });
        }
    };
    for c in updater.captures_iter(body) {
        push(c[1].to_string(), c[2].to_string(), c[3].to_string());
    }
    for c in arrow.captures_iter(body) {
        let (Some(old), Some(new)) = (ImageRef::parse(&c[1]), ImageRef::parse(&c[2])) else {
            continue;
        };
        let versioned = |r: &ImageRef| r.tag.is_some() || r.digest.is_some();
        if same_image(&old.name, &new.name) && versioned(&old) && versioned(&new) {
            let version = |r: &ImageRef| match (&r.tag, &r.digest) {
                (Some(t), Some(d)) => format!("{t}@{d}"),
                (Some(t), None) => t.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => String::new(),
            };
            push(new.name.clone(), version(&old), version(&new));
        }
    }
    out
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
            kind: VersionKind::Image,
            apps: vec![],
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
