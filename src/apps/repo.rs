//! The repository as apps see it: files by repository path, from the working tree or a
//! commit, and the remotes that say which `repoURL`s are this repository.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::manifest::tree::{FileEntry, FileSet, under};

/// Files of one revision, addressed by repository path (`/`-separated, no leading `./`).
pub struct RepoView<'a> {
    pub set: &'a FileSet,
    by_path: HashMap<&'a str, usize>,
    dirs: BTreeSet<String>,
    /// Normalised URLs of the repository's remotes (`github.com/org/repo`).
    remotes: Vec<String>,
    /// Helm chart directories: their files are templates, never manifests.
    charts: Vec<String>,
    /// What each kustomization refers to, read once.
    refs: OnceLock<HashMap<String, Vec<String>>>,
    /// The bytes of every file of a commit, read once through one repository handle (a
    /// handle cannot be shared between threads, and opening one per file costs more than the
    /// file). `None` for the working tree, whose files are read as needed.
    blobs: Option<Vec<crate::manifest::tree::Preloaded>>,
}

impl<'a> RepoView<'a> {
    /// `set` must list the repository with repository-relative display paths
    /// ([`FileSet::from_root`] or [`FileSet::from_git_tree`]).
    pub fn new(set: &'a FileSet, remotes: &[String]) -> RepoView<'a> {
        let by_path = set
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (&*f.display, i))
            .collect();
        let mut dirs = BTreeSet::new();
        for f in &set.files {
            let mut d = crate::manifest::load::parent(&f.display);
            while !d.is_empty() && dirs.insert(d.to_string()) {
                d = crate::manifest::load::parent(d);
            }
        }
        RepoView {
            set,
            by_path,
            dirs,
            remotes: remotes.iter().map(|r| normalize_url(r)).collect(),
            charts: crate::manifest::load::render_roots(&set.files)
                .into_values()
                .filter(|r| r.renderer == crate::manifest::render::Renderer::Helm)
                .map(|r| r.dir.to_string())
                .collect(),
            refs: OnceLock::new(),
            blobs: set
                .is_git()
                .then(|| set.read_wanted(&vec![true; set.files.len()])),
        }
    }

    /// True when a file can hold Kubernetes objects: the loader's classifier, and not inside
    /// a chart directory.
    pub fn is_manifest(&self, path: &str) -> bool {
        crate::manifest::load::is_manifest_name(path) && !self.charts.iter().any(|c| under(path, c))
    }

    /// A listed file's bytes.
    pub fn read_entry(&self, entry: &FileEntry) -> Result<Vec<u8>, String> {
        match (&self.blobs, self.by_path.get(&*entry.display)) {
            (Some(blobs), Some(i)) => match &blobs[*i] {
                Some(bytes) => bytes.clone(),
                None => self.set.read(entry),
            },
            _ => self.set.read(entry),
        }
    }

    /// The objects of a listed file, or the diagnostic that says why it cannot be read.
    pub fn objects(
        &self,
        entry: &FileEntry,
    ) -> (
        Vec<(usize, crate::manifest::yaml::Node)>,
        Option<crate::diagnostic::Diagnostic>,
    ) {
        crate::manifest::load::parse_objects(entry, self.read_entry(entry))
    }

    /// Every repository path a kustomize directory builds on (itself, its local resources,
    /// bases and components, transitively).
    pub fn kustomize_closure(&self, dir: &str) -> BTreeSet<String> {
        let refs = self.refs.get_or_init(|| {
            crate::manifest::kustomize::references(self.set)
                .into_iter()
                .collect()
        });
        let mut seen = BTreeSet::new();
        let mut stack = vec![dir.to_string()];
        while let Some(d) = stack.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            if let Some(targets) = refs.get(&d) {
                stack.extend(targets.iter().cloned());
            }
        }
        seen
    }

    pub fn entry(&self, path: &str) -> Option<&'a FileEntry> {
        self.by_path.get(path).map(|i| &self.set.files[*i])
    }

    /// A file's bytes, or why it cannot be read.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        match self.entry(path) {
            Some(entry) => self.read_entry(entry),
            None => Err(format!("{path} is not in the repository")),
        }
    }

    pub fn read_text(&self, path: &str) -> Result<String, String> {
        self.read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// True when `path` is a directory holding YAML files (at any depth).
    pub fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.dirs.contains(path)
    }

    pub fn exists(&self, path: &str) -> bool {
        self.by_path.contains_key(path) || self.is_dir(path)
    }

    /// The kustomization file of `dir`, if it has one.
    pub fn kustomization_of(&self, dir: &str) -> Option<Arc<str>> {
        ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .map(|name| crate::manifest::kustomize::join(dir, name))
            .find_map(|p| self.entry(&p).map(|e| e.display.clone()))
    }

    /// The chart file of `dir`, if it is a Helm chart.
    pub fn chart_of(&self, dir: &str) -> Option<Arc<str>> {
        self.entry(&crate::manifest::kustomize::join(dir, "Chart.yaml"))
            .map(|e| e.display.clone())
    }

    /// YAML files under `dir`: all of them, or only those directly in it.
    pub fn files_under(&self, dir: &str, recursive: bool) -> Vec<&'a FileEntry> {
        self.set
            .files
            .iter()
            .filter(|f| {
                under(&f.display, dir)
                    && (recursive || crate::manifest::load::parent(&f.display) == dir)
            })
            .collect()
    }

    /// Directories (repository paths) directly below `dir`.
    pub fn subdirs(&self, dir: &str) -> Vec<&str> {
        self.dirs
            .iter()
            .filter(|d| crate::manifest::load::parent(d) == dir && d.as_str() != dir)
            .map(String::as_str)
            .collect()
    }

    /// Every directory of the repository.
    pub fn all_dirs(&self) -> impl Iterator<Item = &str> {
        self.dirs.iter().map(String::as_str)
    }

    /// True when a `repoURL` names this repository (one of its remotes).
    pub fn is_this_repo(&self, url: &str) -> bool {
        let url = normalize_url(url);
        !url.is_empty() && self.remotes.contains(&url)
    }

    pub fn has_remotes(&self) -> bool {
        !self.remotes.is_empty()
    }

    /// The directory on disk of a repository path, for renderers.
    pub fn dir_on_disk(&self, dir: &str) -> Result<PathBuf, String> {
        self.set.dir_on_disk(dir)
    }
}

/// `https://github.com/org/repo.git`, `git@github.com:org/repo`, `ssh://git@github.com/org/repo`
/// all become `github.com/org/repo` (lower-cased host), so a remote and a `repoURL` compare
/// equal however each was written.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim();
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like `user@host:path`
        None => match url.split_once(':') {
            Some((host, path)) if !host.contains('/') => format!("{host}/{path}"),
            _ => url.to_string(),
        },
    };
    let rest = rest.rsplit_once('@').map_or(rest.as_str(), |(_, r)| r);
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    // A port on an ssh URL (`host:22`) does not change the repository.
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// The URLs of a repository's remotes.
pub fn remotes_of(repo: &git2::Repository) -> Vec<String> {
    let Ok(names) = repo.remotes() else {
        return Vec::new();
    };
    names
        .iter()
        .flatten()
        .flatten()
        .filter_map(|name| repo.find_remote(name).ok())
        .filter_map(|r| r.url().ok().map(str::to_string))
        .collect()
}

/// A path from a controller spec (`./clusters/prod`, `clusters/prod/`, `.`) as a repository
/// path.
pub fn spec_path(path: &str) -> String {
    crate::manifest::kustomize::normalize(path.trim().trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_compare_however_written() {
        let want = "github.com/org/repo";
        for url in [
            "https://github.com/org/repo.git",
            "https://github.com/org/repo",
            "git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo",
            "ssh://git@GitHub.com:22/org/repo.git/",
        ] {
            assert_eq!(normalize_url(url), want, "{url}");
        }
        assert_eq!(spec_path("./clusters/prod/"), "clusters/prod");
        assert_eq!(spec_path("./"), "");
    }
}
