//! Where manifest files come from: the working tree, or a commit's tree in git.
//!
//! Both give a list of files with repo-relative (or user-given) display paths and their bytes;
//! renderers need directories on disk, which the git source writes out on demand.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::diagnostic::{Diagnostic, Severity};

/// Files larger than this are reported, not read: no manifest is this big, and reading it
/// would make memory use unbounded.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// A file found under the inputs.
#[derive(Clone, Debug)]
pub struct FileEntry {
    /// Path used in messages: as the user gave it joined with the relative part, or
    /// repo-relative for git trees. Always `/`-separated.
    pub display: Arc<str>,
    /// Where to read it from.
    pub location: Location,
    /// True when the user named this file directly (it is loaded whatever its directory is).
    pub explicit: bool,
}

#[derive(Clone, Debug)]
pub enum Location {
    Disk(PathBuf),
    /// A blob in the git repository.
    Blob(git2::Oid),
}

/// A file's bytes read ahead (`None`: not read), or why they could not be.
pub type Preloaded = Option<Result<Vec<u8>, String>>;

/// A set of files to load, from one source.
pub struct FileSet {
    pub files: Vec<FileEntry>,
    /// Problems met while listing (symlink loops, unreadable directories).
    pub problems: Vec<Diagnostic>,
    source: Source,
}

enum Source {
    /// Files on disk; `root` is the directory repository paths are relative to, when the set
    /// was listed from one ([`FileSet::from_root`]).
    WorkTree { root: Option<PathBuf> },
    Git {
        repo_path: PathBuf,
        tree: git2::Oid,
        checkout: OnceLock<Result<tempfile::TempDir, String>>,
    },
}

impl FileSet {
    /// Lists `*.yaml`/`*.yml` under the given paths of the working tree, honouring
    /// `.gitignore` and skipping hidden directories such as `.git` and `.github`.
    pub fn from_paths(paths: &[PathBuf]) -> FileSet {
        let mut files = Vec::new();
        let mut problems = Vec::new();
        for input in paths {
            let shown = display_of(input);
            match std::fs::metadata(input) {
                Err(e) => problems.push(Diagnostic::file(
                    Severity::Error,
                    shown.into(),
                    None,
                    "io",
                    format!("cannot read: {e}"),
                )),
                Ok(meta) if meta.is_file() => {
                    // A file of a kustomize directory (a patch, a base resource) means
                    // something only rendered with its kustomization: name that too, and the
                    // loader renders the directory instead of reading the file on its own.
                    let owner = owning_kustomization(input, &shown);
                    files.push(FileEntry {
                        display: shown.into(),
                        location: Location::Disk(input.clone()),
                        explicit: owner.is_none(),
                    });
                    if let Some((path, display)) = owner
                        && !files.iter().any(|f| *f.display == *display)
                    {
                        files.push(FileEntry {
                            display: display.into(),
                            location: Location::Disk(path),
                            explicit: false,
                        });
                    }
                }
                Ok(meta) if meta.is_dir() => walk_dir(input, &mut files, &mut problems),
                // FIFOs and devices would block or never end; they are never manifests.
                Ok(_) => problems.push(Diagnostic::file(
                    Severity::Error,
                    shown.into(),
                    None,
                    "io",
                    "not a regular file or directory; not read",
                )),
            }
        }
        FileSet {
            files,
            problems,
            source: Source::WorkTree { root: None },
        }
    }

    /// Lists the YAML files of a work tree with paths relative to `root` (as git shows them),
    /// whatever the current directory is.
    pub fn from_root(root: &Path) -> FileSet {
        let mut set = FileSet::from_paths(&[root.to_path_buf()]);
        let prefix = display_of(root);
        let strip = |display: &str| -> Arc<str> {
            display
                .strip_prefix(&prefix)
                .map(|rest| rest.trim_start_matches('/'))
                .unwrap_or(display)
                .into()
        };
        for f in &mut set.files {
            f.display = strip(&f.display);
        }
        for d in &mut set.problems {
            d.file = strip(&d.file);
        }
        set.source = Source::WorkTree {
            root: Some(root.to_path_buf()),
        };
        set
    }

    /// The given files of a work tree (repository paths under `root`), listed or hidden alike,
    /// for editing files chosen elsewhere.
    pub fn worktree_files(root: &Path, paths: &[String]) -> FileSet {
        FileSet {
            files: paths
                .iter()
                .map(|p| FileEntry {
                    display: p.as_str().into(),
                    location: Location::Disk(root.join(p)),
                    explicit: true,
                })
                .collect(),
            problems: Vec::new(),
            source: Source::WorkTree {
                root: Some(root.to_path_buf()),
            },
        }
    }

    /// Lists the YAML files of a git tree (a commit's tree), optionally only those under
    /// `prefixes` (repo-relative).
    pub fn from_git_tree(
        repo: &git2::Repository,
        tree: &git2::Tree<'_>,
        prefixes: &[String],
    ) -> Result<FileSet, git2::Error> {
        let mut files = Vec::new();
        let mut problems = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let Ok(name) = entry.name() else {
                return git2::TreeWalkResult::Ok;
            };
            if entry.kind() == Some(git2::ObjectType::Tree) {
                return if name.starts_with('.') {
                    git2::TreeWalkResult::Skip
                } else {
                    git2::TreeWalkResult::Ok
                };
            }
            // Regular files, and symlinks read as their target in the same tree (git stores a
            // symlink as a blob holding the link text, which is not the manifest). Submodules
            // are not manifests in the commit.
            let regular = matches!(entry.filemode(), 0o100644 | 0o100755);
            let link = entry.filemode() == 0o120000;
            let path = format!("{dir}{name}");
            if (regular || link)
                && is_yaml_name(name)
                && (prefixes.is_empty() || prefixes.iter().any(|p| under(&path, p)))
            {
                let target = if link {
                    resolve_link(repo, tree, &path, entry.id())
                } else {
                    Ok(entry.id())
                };
                match target {
                    Ok(id) => files.push(FileEntry {
                        display: path.into(),
                        location: Location::Blob(id),
                        explicit: false,
                    }),
                    Err(why) => problems.push(Diagnostic::file(
                        Severity::Warning,
                        path.into(),
                        None,
                        "symlink",
                        format!("{why}: not checked"),
                    )),
                }
            }
            git2::TreeWalkResult::Ok
        })?;
        Ok(FileSet {
            files,
            problems,
            source: Source::Git {
                repo_path: repo.path().to_path_buf(),
                tree: tree.id(),
                checkout: OnceLock::new(),
            },
        })
    }

    /// Reads one file's bytes, refusing huge files.
    pub fn read(&self, entry: &FileEntry) -> Result<Vec<u8>, String> {
        match &entry.location {
            Location::Disk(path) => {
                let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                if len > MAX_FILE_BYTES {
                    return Err(too_big(len));
                }
                let mut bytes = Vec::with_capacity(len as usize);
                file.take(MAX_FILE_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read: {e}"))?;
                if bytes.len() as u64 > MAX_FILE_BYTES {
                    return Err(too_big(bytes.len() as u64));
                }
                Ok(bytes)
            }
            Location::Blob(oid) => {
                let Source::Git { repo_path, .. } = &self.source else {
                    return Err("blob outside a git source".into());
                };
                let repo =
                    git2::Repository::open(repo_path).map_err(|e| e.message().to_string())?;
                let blob = repo.find_blob(*oid).map_err(|e| e.message().to_string())?;
                if blob.size() as u64 > MAX_FILE_BYTES {
                    return Err(too_big(blob.size() as u64));
                }
                Ok(blob.content().to_vec())
            }
        }
    }

    /// Bytes read ahead for the wanted files of a git source, whose repository handle cannot
    /// be shared between threads; `None` entries (all of them for the working tree) are read
    /// by the caller, in parallel, with [`FileSet::read`].
    pub fn preload(&self, wanted: &[bool]) -> Vec<Preloaded> {
        match self.source {
            Source::WorkTree { .. } => vec![None; self.files.len()],
            Source::Git { .. } => self.read_wanted(wanted),
        }
    }

    /// Reads the files for which `wanted` is true, in order (`None` for the others). Git
    /// blobs are read through one repository handle.
    pub fn read_wanted(&self, wanted: &[bool]) -> Vec<Preloaded> {
        let repo = match &self.source {
            Source::WorkTree { .. } => None,
            Source::Git { repo_path, .. } => Some(git2::Repository::open(repo_path)),
        };
        self.files
            .iter()
            .zip(wanted)
            .map(|(f, want)| {
                if !want {
                    return None;
                }
                Some(match (&f.location, &repo) {
                    (Location::Blob(oid), Some(repo)) => read_blob(repo, *oid),
                    _ => self.read(f),
                })
            })
            .collect()
    }

    /// The directory on disk holding `dir` (a display path), for renderers. A git source
    /// writes its tree to a temporary directory the first time this is asked.
    pub fn dir_on_disk(&self, dir: &str) -> Result<PathBuf, String> {
        match &self.source {
            Source::WorkTree { root: None } => {
                Ok(PathBuf::from(if dir.is_empty() { "." } else { dir }))
            }
            Source::WorkTree { root: Some(root) } => Ok(root.join(dir)),
            Source::Git {
                repo_path,
                tree,
                checkout,
            } => {
                let root = checkout.get_or_init(|| export_tree(repo_path, *tree));
                match root {
                    Ok(tmp) => Ok(tmp.path().join(dir)),
                    Err(e) => Err(e.clone()),
                }
            }
        }
    }
}

impl FileSet {
    /// Reads a file by repository path whether or not it was listed (hidden files such as
    /// Argo CD's `.argocd-source-<app>.yaml` are not). `None` when there is no such file.
    pub fn read_path(&self, path: &str) -> Option<Result<Vec<u8>, String>> {
        match &self.source {
            Source::WorkTree { root } => {
                let full = match root {
                    Some(root) => root.join(path),
                    None => PathBuf::from(path),
                };
                let meta = std::fs::symlink_metadata(&full).ok()?;
                if !meta.is_file() {
                    return None;
                }
                let entry = FileEntry {
                    display: path.into(),
                    location: Location::Disk(full),
                    explicit: false,
                };
                Some(self.read(&entry))
            }
            Source::Git {
                repo_path, tree, ..
            } => {
                let repo = git2::Repository::open(repo_path).ok()?;
                let id = {
                    let tree = repo.find_tree(*tree).ok()?;
                    let entry = tree.get_path(Path::new(path)).ok()?;
                    match entry.filemode() {
                        0o100644 | 0o100755 => entry.id(),
                        0o120000 => resolve_link(&repo, &tree, path, entry.id()).ok()?,
                        _ => return None,
                    }
                };
                Some(read_blob(&Ok(repo), id))
            }
        }
    }

    /// True when the files come from a commit rather than the working tree.
    pub fn is_git(&self) -> bool {
        matches!(self.source, Source::Git { .. })
    }

    /// The `.git` directory of a commit's files.
    pub fn git_dir(&self) -> Option<&Path> {
        match &self.source {
            Source::Git { repo_path, .. } => Some(repo_path),
            Source::WorkTree { .. } => None,
        }
    }
}

/// How many symlinks in a row are followed before giving up (git's own limit for links in
/// the work tree is of the same order; a cycle ends here too).
const MAX_LINK_HOPS: usize = 16;

/// The blob a symlink at `path` (repo-relative) in `tree` points to, following links to
/// links. `Err` says why it is not a file of the same commit: it points outside the
/// repository (absolute, or above its root), at nothing, or at a directory.
fn resolve_link(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    path: &str,
    id: git2::Oid,
) -> Result<git2::Oid, String> {
    let (mut path, mut id) = (path.to_string(), id);
    for _ in 0..MAX_LINK_HOPS {
        let blob = repo.find_blob(id).map_err(|e| e.message().to_string())?;
        let text = String::from_utf8_lossy(blob.content()).into_owned();
        let outside = || format!("a symlink to {text}, outside the repository");
        if text.starts_with('/') {
            return Err(outside());
        }
        let mut parts: Vec<&str> = path.split('/').collect();
        parts.pop();
        for part in text.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop().ok_or_else(outside)?;
                }
                part => parts.push(part),
            }
        }
        let target = parts.join("/");
        let entry = tree
            .get_path(Path::new(&target))
            .map_err(|_| format!("a symlink to {text}, which is not in the commit"))?;
        match entry.filemode() {
            0o100644 | 0o100755 => return Ok(entry.id()),
            0o120000 => (path, id) = (target, entry.id()),
            _ => return Err(format!("a symlink to {text}, which is not a file")),
        }
    }
    Err(format!("more than {MAX_LINK_HOPS} symlinks in a row"))
}

fn read_blob(
    repo: &Result<git2::Repository, git2::Error>,
    oid: git2::Oid,
) -> Result<Vec<u8>, String> {
    let repo = repo.as_ref().map_err(|e| e.message().to_string())?;
    let odb = repo.odb().map_err(|e| e.message().to_string())?;
    let (len, _) = odb.read_header(oid).map_err(|e| e.message().to_string())?;
    if len as u64 > MAX_FILE_BYTES {
        return Err(too_big(len as u64));
    }
    let obj = odb.read(oid).map_err(|e| e.message().to_string())?;
    Ok(obj.data().to_vec())
}

/// The kustomization of the nearest directory at or above `file` (within its repository),
/// with the display path it gets beside the file's own display path `shown`.
fn owning_kustomization(file: &Path, shown: &str) -> Option<(PathBuf, String)> {
    let abs = std::fs::canonicalize(file).ok()?;
    let mut dir = abs.parent()?;
    loop {
        for name in ["kustomization.yaml", "kustomization.yml"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                if candidate == abs {
                    return None;
                }
                // `shown` ends with the file's path below the kustomization's directory; the
                // part before it is how the user wrote that directory.
                let below = abs
                    .strip_prefix(dir)
                    .ok()?
                    .to_string_lossy()
                    .replace('\\', "/");
                let base = shown.strip_suffix(&below)?.trim_end_matches('/');
                let display = if base.is_empty() {
                    name.to_string()
                } else {
                    format!("{base}/{name}")
                };
                return Some((candidate, display));
            }
        }
        // Never look past the top of the repository the file is in.
        if dir.join(".git").exists() {
            return None;
        }
        dir = dir.parent()?;
    }
}

fn too_big(len: u64) -> String {
    format!(
        "file is {} MiB, over the {} MiB limit for a manifest; not read",
        len / (1024 * 1024),
        MAX_FILE_BYTES / (1024 * 1024)
    )
}

fn export_tree(repo_path: &Path, tree: git2::Oid) -> Result<tempfile::TempDir, String> {
    let tmp = tempfile::Builder::new()
        .prefix("kubectl-gitops-tree-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let repo = git2::Repository::open(repo_path).map_err(|e| e.message().to_string())?;
    let tree = repo.find_tree(tree).map_err(|e| e.message().to_string())?;
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.target_dir(tmp.path()).force().update_index(false);
    repo.checkout_tree(tree.as_object(), Some(&mut opts))
        .map_err(|e| {
            format!(
                "cannot write the commit's files out for rendering: {}",
                e.message()
            )
        })?;
    Ok(tmp)
}

/// True when `path` is `prefix` or inside it (both repo-relative, `/`-separated).
pub fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || prefix == "."
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

pub fn is_yaml_name(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// How a path is shown: `/`-separated, and with control characters escaped (`\n`, `\u{1b}`),
/// so a file name can never forge an output line or a terminal escape. Files are still read
/// through their real path ([`Location`]).
fn display_of(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let s = if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        s
    };
    let s = s.strip_prefix("./").unwrap_or(&s).to_string();
    if s.len() > 1 {
        s.trim_end_matches('/').to_string()
    } else {
        s
    }
}

fn walk_dir(root: &Path, files: &mut Vec<FileEntry>, problems: &mut Vec<Diagnostic>) {
    // Symbolic links are followed while they stay inside the directory walked: one pointing
    // out of it (`ln -s /etc`) is not read, and never edited by `bump`. Submodules (a
    // directory with its own `.git`) are other repositories and are not walked either.
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let left_out: std::sync::Arc<std::sync::Mutex<Vec<(PathBuf, &'static str)>>> =
        std::sync::Arc::default();
    let note = left_out.clone();
    let walk_root = root.to_path_buf();
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(true)
        .hidden(true)
        .require_git(false)
        .git_global(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |entry| {
            let path = entry.path();
            if path == walk_root {
                return true;
            }
            let leave = |why| {
                note.lock()
                    .expect("no walker thread panics holding this lock")
                    .push((path.to_path_buf(), why));
                false
            };
            if entry.path_is_symlink() {
                match path.canonicalize() {
                    Ok(target) if target.starts_with(&canonical_root) => {}
                    Ok(_) => return leave("a symbolic link out of the directory; not followed"),
                    Err(_) => return leave("a symbolic link to nothing; not read"),
                }
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if is_dir && path.join(".git").exists() {
                return leave("a submodule or nested repository; not read");
            }
            true
        })
        .build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|t| t.is_file());
                let name = entry.file_name().to_string_lossy();
                if is_file && is_yaml_name(&name) {
                    files.push(FileEntry {
                        display: display_of(entry.path()).into(),
                        location: Location::Disk(entry.path().to_path_buf()),
                        explicit: false,
                    });
                }
            }
            Err(err) => {
                let (path, message) = describe_walk_error(&err);
                problems.push(Diagnostic::file(
                    Severity::Error,
                    path.unwrap_or_else(|| display_of(root)).into(),
                    None,
                    "io",
                    message,
                ));
            }
        }
    }
    let left_out = left_out
        .lock()
        .expect("the walk is over")
        .drain(..)
        .collect::<Vec<_>>();
    for (path, why) in left_out {
        problems.push(Diagnostic::file(
            Severity::Warning,
            display_of(&path).into(),
            None,
            "io",
            why,
        ));
    }
}

fn describe_walk_error(err: &ignore::Error) -> (Option<String>, String) {
    match err {
        ignore::Error::WithPath { path, err } => {
            (Some(display_of(path)), describe_walk_error(err).1)
        }
        ignore::Error::Loop { child, ancestor } => (
            Some(display_of(child)),
            format!(
                "symbolic link loop (points back to {}); not followed",
                display_of(ancestor)
            ),
        ),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            describe_walk_error(err)
        }
        ignore::Error::Io(e) => (None, format!("cannot read: {e}")),
        other => (None, other.to_string()),
    }
}
