//! Installing and removing the hook shims in a repository's hooks directory.
//!
//! The directory is what `git rev-parse --git-path hooks` says, so `core.hooksPath` and
//! worktrees work. A hook already there that is not ours is kept as `<hook>.legacy`; our shim
//! runs it first with the same arguments and stdin.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The hooks this tool installs, with the shim text shipped in `hooks/`.
pub const SHIMS: &[(&str, &str)] = &[
    ("pre-push", include_str!("../../hooks/pre-push")),
    ("post-merge", include_str!("../../hooks/post-merge")),
];

/// Marks a hook file as ours.
const MARKER: &str = "kubectl-gitops hook shim";

/// Why hooks could not be installed or removed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// `git` could not be run or refused (not a repository).
    #[error("{0}")]
    Git(String),
    /// core.hooksPath points outside the repository; installing there affects other repos.
    #[error(
        "core.hooksPath points to {0}, outside this repository (hooks there are shared with other repositories); pass --force to install there anyway, or run `git config --unset core.hooksPath`"
    )]
    SharedHooksPath(String),
    /// Both a foreign hook and a `.legacy` copy exist; replacing either would lose one.
    #[error(
        "{hook} and {hook}.legacy both exist in {dir} and neither is ours; move one of them away first"
    )]
    LegacyTaken { hook: String, dir: String },
    /// Reading or writing the hooks directory failed.
    #[error("cannot update {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What happened to one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Installed,
    /// Our shim was already there, byte for byte and executable: nothing was written.
    Unchanged,
    /// Our shim was already there; it was rewritten with the current text.
    Updated,
    /// A foreign hook was moved to `<hook>.legacy` and is chained.
    InstalledKeepingLegacy,
    Removed,
    /// Removed, and the kept `.legacy` hook was put back.
    RemovedRestoringLegacy,
    /// Not ours: left alone.
    NotOurs,
    NotInstalled,
}

fn git(repo: &Path, args: &[&str]) -> Result<String, InstallError> {
    let out = Command::new("git")
        .current_dir(repo)
        .args(args)
        .output()
        .map_err(|e| InstallError::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        return Err(InstallError::Git(
            msg.lines()
                .next()
                .unwrap_or("git failed")
                .trim()
                .to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The hooks directory of the repository at `repo` (absolute).
pub fn hooks_dir(repo: &Path) -> Result<PathBuf, InstallError> {
    let rel = git(repo, &["rev-parse", "--git-path", "hooks"])?;
    let path = repo.join(rel);
    Ok(fs::canonicalize(&path).unwrap_or(path))
}

/// Refuses a `core.hooksPath` outside the work tree and git directory unless forced.
fn check_hooks_path(repo: &Path, dir: &Path, force: bool) -> Result<(), InstallError> {
    if force || git(repo, &["config", "--get", "core.hooksPath"]).is_err() {
        return Ok(());
    }
    let mut inside = Vec::new();
    for arg in ["--show-toplevel", "--git-common-dir"] {
        if let Ok(p) = git(repo, &["rev-parse", arg]) {
            let p = repo.join(p);
            inside.push(fs::canonicalize(&p).unwrap_or(p));
        }
    }
    let dir_abs = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if inside.iter().any(|root| dir_abs.starts_with(root)) {
        Ok(())
    } else {
        Err(InstallError::SharedHooksPath(dir.display().to_string()))
    }
}

fn is_ours(path: &Path) -> bool {
    fs::read_to_string(path).is_ok_and(|t| t.contains(MARKER))
}

/// The file holds exactly `text` and is executable.
fn is_current(path: &Path, text: &str) -> bool {
    let executable = fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 == 0o111);
    executable && fs::read(path).is_ok_and(|bytes| bytes == text.as_bytes())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Installs the named hooks. Returns the hooks directory and what was done per hook.
pub fn install(
    repo: &Path,
    hooks: &[&str],
    force: bool,
) -> Result<(PathBuf, Vec<(String, Action)>), InstallError> {
    let dir = hooks_dir(repo)?;
    check_hooks_path(repo, &dir, force)?;
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut done = Vec::new();
    for (name, text) in SHIMS.iter().filter(|(n, _)| hooks.contains(n)) {
        let path = dir.join(name);
        let legacy = dir.join(format!("{name}.legacy"));
        let action = if is_current(&path, text) {
            done.push((name.to_string(), Action::Unchanged));
            continue;
        } else if path.exists() && is_ours(&path) {
            Action::Updated
        } else if path.exists() || path.is_symlink() {
            if legacy.exists() {
                return Err(InstallError::LegacyTaken {
                    hook: name.to_string(),
                    dir: dir.display().to_string(),
                });
            }
            fs::rename(&path, &legacy).map_err(io(&path))?;
            Action::InstalledKeepingLegacy
        } else {
            Action::Installed
        };
        // Write beside and rename, so a failure never leaves a half-written hook.
        let tmp = dir.join(format!(".{name}.kubectl-gitops.tmp"));
        fs::write(&tmp, text).map_err(io(&tmp))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        done.push((name.to_string(), action));
    }
    Ok((dir, done))
}

/// Removes our hooks, putting back any `.legacy` hook they chained.
pub fn uninstall(
    repo: &Path,
    hooks: &[&str],
) -> Result<(PathBuf, Vec<(String, Action)>), InstallError> {
    let dir = hooks_dir(repo)?;
    let mut done = Vec::new();
    for (name, _) in SHIMS.iter().filter(|(n, _)| hooks.contains(n)) {
        let path = dir.join(name);
        let legacy = dir.join(format!("{name}.legacy"));
        let action = if !path.exists() {
            Action::NotInstalled
        } else if !is_ours(&path) {
            Action::NotOurs
        } else {
            fs::remove_file(&path).map_err(io(&path))?;
            if legacy.exists() || legacy.is_symlink() {
                fs::rename(&legacy, &path).map_err(io(&legacy))?;
                Action::RemovedRestoringLegacy
            } else {
                Action::Removed
            }
        };
        done.push((name.to_string(), action));
    }
    Ok((dir, done))
}
