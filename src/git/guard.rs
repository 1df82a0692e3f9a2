//! The one way a command changes a clone: lock it, check its state, check the files it will
//! write are exactly what HEAD has, snapshot them, and put everything back byte for byte if
//! anything fails.
//!
//! `git status` is not trusted for this: it hides edits to `--assume-unchanged` and
//! `--skip-worktree` files and ignored files. The checks compare the bytes on disk with HEAD's
//! blobs (through git's own clean filters), and the snapshot keeps the index file itself, so
//! restoring puts back its flags too. Nothing is ever restored with `git reset --hard`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{GitError, Repo, lib};

/// Why a clone cannot be changed now.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// HEAD is not on a branch, so a new commit would be on no branch.
    #[error("HEAD is detached; switch to the branch to {doing} first: git switch <branch>")]
    Detached { doing: &'static str },
    /// A merge, rebase, bisect or similar is half done.
    #[error("a {what} is in progress; finish or abort it first: {fix}")]
    InProgress {
        what: &'static str,
        fix: &'static str,
    },
    /// Another git process holds the index.
    #[error(
        "another git process is running in this clone ({lock} exists); wait for it, or remove the file if no git is running"
    )]
    IndexLocked { lock: String },
    /// Another kubectl-gitops run is changing this clone.
    #[error(
        "another kubectl-gitops run is changing this clone; wait for it to finish and run again"
    )]
    Busy,
    /// Files to be written differ from HEAD (edited, staged, or hidden from `git status`).
    #[error(
        "uncommitted changes in {files}; commit or stash them first (git stash), so the commit holds only this change{hidden}"
    )]
    Dirty { files: String, hidden: String },
    /// Files to be written are not tracked (a new or ignored file would be swept into the commit
    /// or overwritten).
    #[error(
        "{files} {verb} not tracked by git; commit, move or delete {it} first so nothing of yours is overwritten or committed"
    )]
    Untracked {
        files: String,
        verb: &'static str,
        it: &'static str,
    },
    /// A file to be written is a symlink or not a regular file.
    #[error("{0} is a symlink or not a regular file; it is not edited")]
    NotRegular(String),
    /// The branch moved since the change was planned (another commit landed).
    #[error(
        "the branch moved while the change was prepared (HEAD is now {now}); nothing was changed, run again"
    )]
    Moved { now: String },
    #[error(transparent)]
    Git(#[from] GitError),
}

/// How long a second run waits for the first to finish before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// An exclusive lock on the clone for one kubectl-gitops run, released when dropped (or when
/// the process ends, however it ends: it is an OS file lock, never stale).
pub struct CloneLock {
    _file: File,
}

/// Takes the clone's lock, waiting up to [`LOCK_WAIT`] for another run to finish.
pub fn lock(repo: &Repo) -> Result<CloneLock, GuardError> {
    let dir = repo.repo.path().join("kubectl-gitops");
    let io = |what, path: &Path| {
        let path = path.display().to_string();
        move |source| GitError::Io { what, path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let path = dir.join("lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io("open", &path))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(CloneLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(GuardError::Busy),
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &path)(e).into()),
        }
    }
}

/// Refuses a clone in which a new commit could go wrong: an operation in progress, a detached
/// HEAD, a held index lock. Each refusal names the fix; `doing` says what was asked ("roll
/// back", "commit the bump").
pub fn preflight(repo: &Repo, doing: &'static str) -> Result<(), GuardError> {
    use git2::RepositoryState as S;
    let (what, fix) = match repo.repo.state() {
        S::Clean => ("", ""),
        S::Merge => ("merge", "git merge --abort (or git commit to finish it)"),
        S::Revert | S::RevertSequence => ("revert", "git revert --abort"),
        S::CherryPick | S::CherryPickSequence => ("cherry-pick", "git cherry-pick --abort"),
        S::Rebase | S::RebaseInteractive | S::RebaseMerge => {
            ("rebase", "git rebase --continue or git rebase --abort")
        }
        S::ApplyMailbox | S::ApplyMailboxOrRebase => ("git am", "git am --abort"),
        S::Bisect => ("bisect", "git bisect reset"),
    };
    if !what.is_empty() {
        return Err(GuardError::InProgress { what, fix });
    }
    repo.head()?;
    if repo.repo.head_detached().map_err(lib("cannot read HEAD"))? {
        return Err(GuardError::Detached { doing });
    }
    let index_lock = repo.repo.path().join("index.lock");
    if index_lock.exists() {
        return Err(GuardError::IndexLocked {
            lock: index_lock.display().to_string(),
        });
    }
    Ok(())
}

/// Checks that HEAD is still `planned` (the commit the change was computed on).
pub fn still_at(repo: &Repo, planned: git2::Oid) -> Result<(), GuardError> {
    let now = repo.head()?;
    if now != planned {
        return Err(GuardError::Moved {
            now: super::short(&now.to_string()).to_string(),
        });
    }
    Ok(())
}

/// Checks that each file (repository path) is tracked, a regular file, and on disk and in the
/// index exactly as HEAD has it. Files HEAD does not have must not exist (a revert that adds a
/// file back must not overwrite an ignored local one).
pub fn check_pristine(repo: &Repo, paths: &[String]) -> Result<(), GuardError> {
    let head = repo
        .repo
        .find_commit(repo.head()?)
        .and_then(|c| c.tree())
        .map_err(lib("cannot read HEAD's tree"))?;
    let index = repo.repo.index().map_err(lib("cannot read the index"))?;
    let mut dirty: Vec<&str> = Vec::new();
    let mut hidden = false;
    let mut untracked: Vec<&str> = Vec::new();
    for path in paths {
        let full = repo.workdir.join(path);
        let on_disk = std::fs::symlink_metadata(&full).ok();
        let in_head = head.get_path(Path::new(path)).ok();
        let Some(entry) = in_head else {
            if on_disk.is_some() {
                untracked.push(path);
            }
            continue;
        };
        let Some(meta) = on_disk else {
            // Deleted locally (or left out by a sparse checkout): not HEAD's bytes.
            dirty.push(path);
            continue;
        };
        if !meta.is_file() || entry.filemode() == 0o120000 {
            return Err(GuardError::NotRegular(path.clone()));
        }
        let staged = index.get_path(Path::new(path), 0);
        let flags_hide = staged.as_ref().is_some_and(|e| {
            // assume-unchanged (CE_VALID) and skip-worktree (extended flag).
            e.flags & 0x8000 != 0 || e.flags_extended & 0x4000 != 0
        });
        let index_differs = staged.as_ref().is_none_or(|e| e.id != entry.id());
        let disk_differs = worktree_id(repo, path)? != entry.id();
        if index_differs || disk_differs {
            hidden |= flags_hide;
            dirty.push(path);
        }
    }
    if !untracked.is_empty() {
        let many = untracked.len() > 1;
        return Err(GuardError::Untracked {
            files: untracked.join(", "),
            verb: if many { "are" } else { "is" },
            it: if many { "them" } else { "it" },
        });
    }
    if !dirty.is_empty() {
        return Err(GuardError::Dirty {
            files: dirty.join(", "),
            hidden: if hidden {
                " (some are marked --assume-unchanged or --skip-worktree, so git status does not show them: git update-index --no-assume-unchanged --no-skip-worktree FILE)".into()
            } else {
                String::new()
            },
        });
    }
    Ok(())
}

/// The blob id the working-tree file would have if added, through git's clean filters
/// (`core.autocrlf`, `.gitattributes`), as `git add` would compute it.
fn worktree_id(repo: &Repo, path: &str) -> Result<git2::Oid, GuardError> {
    let spec = format!("--path={path}");
    let out = repo.run(&["hash-object", &spec, "--", path])?;
    git2::Oid::from_str(out.trim())
        .map_err(|e| GitError::Lib {
            what: format!("git hash-object printed no id for {path}"),
            source: e,
        })
        .map_err(GuardError::from)
}

/// What a change may touch, as it was: the files' bytes, the index file, the branch and the
/// state files git writes during an operation.
pub struct Snapshot {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
    index: Option<Vec<u8>>,
    head: git2::Oid,
    branch: Option<String>,
    git_files: Vec<(PathBuf, Option<Vec<u8>>)>,
}

/// Files in the git directory that a commit or revert may create or change.
const GIT_STATE_FILES: &[&str] = &[
    "ORIG_HEAD",
    "MERGE_MSG",
    "REVERT_HEAD",
    "CHERRY_PICK_HEAD",
    "COMMIT_EDITMSG",
    "AUTO_MERGE",
];

impl Snapshot {
    /// Records `paths` (repository paths) and the repository state around them.
    pub fn take(repo: &Repo, paths: &[String]) -> Result<Snapshot, GuardError> {
        let read = |p: &Path| -> Option<Vec<u8>> { std::fs::read(p).ok() };
        let git_dir = repo.repo.path().to_path_buf();
        let head_ref = repo.repo.head().map_err(lib("cannot read HEAD"))?;
        Ok(Snapshot {
            files: paths
                .iter()
                .map(|p| {
                    let full = repo.workdir.join(p);
                    let bytes = read(&full);
                    (full, bytes)
                })
                .collect(),
            index: read(&git_dir.join("index")),
            head: repo.head()?,
            branch: head_ref.name().ok().map(str::to_string),
            git_files: GIT_STATE_FILES
                .iter()
                .map(|f| {
                    let p = git_dir.join(f);
                    let bytes = read(&p);
                    (p, bytes)
                })
                .collect(),
        })
    }

    /// Puts everything back as it was: the branch at its commit, the index file byte for byte
    /// (flags included), each file's bytes (or its absence), git's state files.
    pub fn restore(&self, repo: &Repo) -> Result<(), GitError> {
        if let Some(branch) = &self.branch
            && repo.head().ok() != Some(self.head)
        {
            repo.repo
                .reference(branch, self.head, true, "kubectl-gitops: restore")
                .map_err(lib("cannot put the branch back"))?;
        }
        let git_dir = repo.repo.path();
        if let Some(index) = &self.index {
            put(&git_dir.join("index"), Some(index))?;
        }
        for (path, bytes) in self.files.iter().chain(&self.git_files) {
            put(path, bytes.as_deref())?;
        }
        Ok(())
    }

    /// True when the files, index and branch are as recorded.
    pub fn is_intact(&self, repo: &Repo) -> bool {
        let same = |p: &Path, b: &Option<Vec<u8>>| std::fs::read(p).ok() == *b;
        repo.head().ok() == Some(self.head)
            && self.files.iter().all(|(p, b)| same(p, b))
            && same(&repo.repo.path().join("index"), &self.index)
    }
}

/// Writes `bytes` to `path`, or removes it for `None`; a file already so is left untouched.
fn put(path: &Path, bytes: Option<&[u8]>) -> Result<(), GitError> {
    let io = |what| {
        let path = path.display().to_string();
        move |source| GitError::Io { what, path, source }
    };
    match bytes {
        Some(b) if std::fs::read(path).ok().as_deref() != Some(b) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io("create"))?;
            }
            std::fs::write(path, b).map_err(io("write"))
        }
        Some(_) => Ok(()),
        None if path.exists() => std::fs::remove_file(path).map_err(io("remove")),
        None => Ok(()),
    }
}
