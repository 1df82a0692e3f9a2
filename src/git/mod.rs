//! The Git side: repository access, history walking, tag-bump detection, trailers and notes,
//! committing, and rollback.
//!
//! Reading goes through libgit2 (blobs, trees, notes, in-memory reverts) and `git log` (one
//! process walks the commits that touched manifests, faster than a libgit2 walk with a diff per
//! commit). Everything that writes a commit or pushes runs the `git` program, so the user's
//! identity, signing configuration, hooks and credential helpers apply as they would by hand.

pub mod commit;
pub mod detect;
pub mod guard;
pub mod history;
pub mod log;
pub mod note;
pub mod rollback;
pub mod trailer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Why a Git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No repository at or above the current directory.
    #[error("not a git repository (or any parent directory); run this inside a clone")]
    NotARepo(#[source] git2::Error),
    /// The repository has no working tree.
    #[error("the repository is bare; run this in a clone with a working tree")]
    Bare,
    /// The branch has no commits yet.
    #[error("the repository has no commits yet")]
    NoCommits,
    /// libgit2 failed while doing `what`.
    #[error("{what}")]
    Lib {
        what: String,
        #[source]
        source: git2::Error,
    },
    /// The `git` program could not be started.
    #[error("cannot run git; is it installed and on PATH?")]
    Spawn(#[source] std::io::Error),
    /// A `git` command exited with an error.
    #[error("`git {command}` failed: {message}")]
    Command { command: String, message: String },
    /// A revision the user named does not exist.
    #[error("unknown revision {0:?}; give a commit sha, branch or tag")]
    UnknownRevision(String),
    /// A path the user gave is outside the repository's working tree.
    #[error("{0} is outside the repository")]
    OutsideRepo(String),
    /// A file in the working tree could not be read or written.
    #[error("cannot {what} {path}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for wrapping libgit2 errors with what was being done.
pub(crate) fn lib(what: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let what = what.into();
    move |source| GitError::Lib { what, source }
}

/// An open repository with a working tree.
pub struct Repo {
    pub repo: git2::Repository,
    /// The top of the working tree.
    pub workdir: PathBuf,
}

impl Repo {
    /// Opens the repository git would use here: `GIT_DIR` when set (as inside a hook),
    /// otherwise the one containing the current directory.
    pub fn open() -> Result<Repo, GitError> {
        let repo = git2::Repository::open_from_env().map_err(GitError::NotARepo)?;
        let workdir = repo.workdir().ok_or(GitError::Bare)?.to_path_buf();
        Ok(Repo { repo, workdir })
    }

    /// A `git` command run at the top of the working tree, with output captured and no
    /// prompts (a credential prompt would hang a non-interactive run).
    pub fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        // Paths in git's output as they are (`apps/café.yaml`), not octal escapes.
        cmd.current_dir(&self.workdir)
            .args(["-c", "core.quotePath=false"])
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `git ARGS` at the top of the working tree and returns stdout.
    pub fn run(&self, args: &[&str]) -> Result<String, GitError> {
        let out = output(self.git().args(args), args)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The sha of HEAD.
    pub fn head(&self) -> Result<git2::Oid, GitError> {
        match self.repo.head() {
            Ok(head) => head
                .peel_to_commit()
                .map(|c| c.id())
                .map_err(lib("cannot read HEAD")),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => Err(GitError::NoCommits),
            Err(e) => Err(lib("cannot read HEAD")(e)),
        }
    }

    /// Resolves a revision (sha, branch, tag, `HEAD~2`) to a commit.
    pub fn resolve(&self, revision: &str) -> Result<git2::Oid, GitError> {
        self.repo
            .revparse_single(revision)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|_| GitError::UnknownRevision(revision.to_string()))
    }

    /// A path the user gave (relative to the current directory) as a repo-relative,
    /// `/`-separated path (empty for the top).
    pub fn relative(&self, path: &Path) -> Result<String, GitError> {
        let shown = path.display().to_string();
        let absolute = std::path::absolute(path).map_err(|source| GitError::Io {
            what: "resolve",
            path: shown.clone(),
            source,
        })?;
        // Canonicalise what exists so symlinked temp dirs and `..` compare equal.
        let absolute = absolute.canonicalize().unwrap_or(absolute);
        let top = self
            .workdir
            .canonicalize()
            .unwrap_or_else(|_| self.workdir.clone());
        let rel = absolute
            .strip_prefix(&top)
            .map_err(|_| GitError::OutsideRepo(shown))?;
        Ok(rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"))
    }

    /// `git status --porcelain` with untracked files: the state a failed operation must leave
    /// exactly as it found it.
    pub fn status_snapshot(&self) -> Result<String, GitError> {
        self.run(&["status", "--porcelain=v1", "--untracked-files=all"])
    }
}

/// Runs a prepared command and fails with its stderr when it exits non-zero.
pub(crate) fn output(cmd: &mut Command, args: &[&str]) -> Result<Output, GitError> {
    let out = cmd.output().map_err(GitError::Spawn)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(command_error(args, &out))
    }
}

pub(crate) fn command_error(args: &[&str], out: &Output) -> GitError {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect::<Vec<_>>()
        .join("; ");
    GitError::Command {
        command: args.first().copied().unwrap_or("").to_string(),
        message: if !message.is_empty() {
            message
        } else {
            // Some refusals (`nothing to commit`) are printed on stdout.
            let stdout = String::from_utf8_lossy(&out.stdout);
            match stdout.lines().map(str::trim).rfind(|l| !l.is_empty()) {
                Some(line) => line.to_string(),
                None => match out.status.code() {
                    Some(code) => format!("git exited with status {code}"),
                    None => "git was stopped by a signal".to_string(),
                },
            }
        },
    }
}

/// The first 7 characters of a sha, as people quote commits.
pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// True for paths inside hidden directories (`.github/`, `.git/`), which hold CI configs
/// and tooling rather than manifests (the same rule the working-tree walk applies).
pub fn in_hidden_dir(path: &str) -> bool {
    path.split('/')
        .rev()
        .skip(1)
        .any(|component| component.starts_with('.'))
}
