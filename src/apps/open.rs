//! Opening the apps of a revision: the working tree or a commit of the repository the current
//! directory is in.

use std::path::{Path, PathBuf};

use super::{AppSet, Options, load, repo::remotes_of};
use crate::config::{self, Config};
use crate::manifest::FileSet;

/// Where the files come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revision {
    /// Files on disk, committed or not.
    WorkingTree,
    /// A commit (`HEAD`, a branch, a tag, a sha).
    Ref(String),
}

/// The apps of one revision.
pub struct Opened {
    pub repo: Option<git2::Repository>,
    /// The top of the work tree (or the directory itself outside a repository).
    pub root: PathBuf,
    /// The commit read (for `Ref`), or HEAD for the working tree when there is one.
    pub commit: Option<git2::Oid>,
    /// `HEAD (1a2b3c4)` or `working tree`, for messages.
    pub label: String,
    pub config: Config,
    pub apps: AppSet,
}

/// Why a revision's apps could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A revision was asked for outside a git repository.
    #[error(
        "not a git repository, so there is no {revision} to read: run inside a clone, or pass --working-tree"
    )]
    NotARepo { revision: String },
    /// The revision does not name a commit.
    #[error("{revision:?} is not a commit of this repository")]
    BadRevision {
        revision: String,
        source: git2::Error,
    },
    /// Reading the commit's files failed.
    #[error("cannot read the files of {revision}")]
    Tree {
        revision: String,
        source: git2::Error,
    },
    /// `.gitops.yaml` is invalid.
    #[error("the .gitops.yaml settings are invalid; fix or remove them")]
    Config(#[from] config::ConfigError),
}

/// Reads the apps of `revision` in the repository around `cwd`.
pub fn open(cwd: &Path, revision: &Revision, options: &Options) -> Result<Opened, OpenError> {
    let repo = git2::Repository::discover(cwd).ok();
    let root = repo
        .as_ref()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .unwrap_or_else(|| cwd.to_path_buf());
    let remotes = repo.as_ref().map(remotes_of).unwrap_or_default();
    match revision {
        Revision::WorkingTree => {
            let config = Config::load(&root)?;
            let commit = repo
                .as_ref()
                .and_then(|r| r.head().ok())
                .and_then(|h| h.peel_to_commit().ok())
                .map(|c| c.id());
            let set = FileSet::from_root(&root);
            let apps = load(&set, &remotes, &config, options);
            Ok(Opened {
                repo,
                root,
                commit,
                label: "working tree".into(),
                config,
                apps,
            })
        }
        Revision::Ref(rev) => {
            let git = repo.as_ref().ok_or_else(|| OpenError::NotARepo {
                revision: rev.clone(),
            })?;
            let commit = git
                .revparse_single(rev)
                .and_then(|o| o.peel_to_commit())
                .map_err(|source| OpenError::BadRevision {
                    revision: rev.clone(),
                    source,
                })?;
            let tree = commit.tree().map_err(|source| OpenError::Tree {
                revision: rev.clone(),
                source,
            })?;
            let config = match tree.get_path(Path::new(config::FILE_NAME)) {
                Ok(entry) => match git.find_blob(entry.id()) {
                    Ok(blob) => Config::parse(
                        &String::from_utf8_lossy(blob.content()),
                        &format!("{}:{}", rev, config::FILE_NAME),
                    )?,
                    Err(_) => Config::default(),
                },
                Err(_) => Config::default(),
            };
            let set =
                FileSet::from_git_tree(git, &tree, &[]).map_err(|source| OpenError::Tree {
                    revision: rev.clone(),
                    source,
                })?;
            let apps = load(&set, &remotes, &config, options);
            let id = commit.id();
            let short = id.to_string()[..7].to_string();
            drop(tree);
            drop(commit);
            Ok(Opened {
                repo,
                root,
                commit: Some(id),
                label: format!("{rev} ({short})"),
                config,
                apps,
            })
        }
    }
}

/// Every repository path that differs between two revisions (old and new names both), for
/// rendering only the apps a change touches.
pub fn changed_paths(
    repo: &git2::Repository,
    from: &str,
    to: &str,
) -> Result<std::collections::BTreeSet<String>, OpenError> {
    let tree = |rev: &str| -> Result<git2::Tree<'_>, OpenError> {
        repo.revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .and_then(|c| c.tree())
            .map_err(|source| OpenError::BadRevision {
                revision: rev.to_string(),
                source,
            })
    };
    let (old, new) = (tree(from)?, tree(to)?);
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(|source| OpenError::Tree {
            revision: format!("{from}..{to}"),
            source,
        })?;
    let mut paths = std::collections::BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(p) = file.path().and_then(|p| p.to_str()) {
                paths.insert(p.to_string());
            }
        }
    }
    Ok(paths)
}
