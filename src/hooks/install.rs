//! Installing and removing the hook shims in a repository's hooks directory.
//!
//! The directory is what `git rev-parse --git-path hooks` says, so `core.hooksPath` and
//! worktrees work. A hook already there that is not ours is kept as `<hook>.legacy`; our shim
//! runs it first with the same arguments and stdin. Hook managers that this would break get
//! their own way of chaining (see [`super::manager`]): a block in husky's script, the
//! `.legacy` place pre-commit and prek run themselves.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::manager::{
    Owner, block_position, block_range, husky_block, husky_created, husky_scripts, owner_at,
};

/// The hooks this tool installs, with the shim text shipped in `hooks/`.
pub const SHIMS: &[(&str, &str)] = &[
    ("pre-push", include_str!("../../hooks/pre-push")),
    ("post-merge", include_str!("../../hooks/post-merge")),
];

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
    /// The hook dispatches on its own file name (husky v4), so it cannot be kept as `.legacy`.
    #[error(
        "{path} is a husky hook that runs what is configured for its file name, so it cannot be chained; add `kubectl-gitops hook {hook}` to your husky configuration, or upgrade to husky 9"
    )]
    NameBound { hook: String, path: String },
    /// A husky script is not UTF-8 text, so our block cannot be added or removed safely.
    #[error("{0} is not UTF-8 text; add `kubectl-gitops hook` to it by hand")]
    NotText(String),
    /// Reading or writing the hooks directory failed.
    #[error("cannot update {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What happened to our block in a husky script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Added to the user's script.
    Added,
    /// The script did not exist; it was created holding the block.
    Created,
    Unchanged,
    /// An older text of the block was replaced.
    Updated,
    /// Removed from the script, which is otherwise as it was.
    Removed,
    /// The script held only what `install` created: deleted.
    Deleted,
    NotInstalled,
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
    /// Installed as `<hook>.legacy`, which pre-commit or prek (named) runs before its hooks.
    UnderFramework(&'static str),
    /// Our block in husky's script for the hook.
    Husky {
        script: PathBuf,
        change: Change,
    },
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
    owner_at(path) == Some(Owner::Ours)
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

/// `<path>.legacy`: where the hook our shim replaces is kept.
fn legacy_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".legacy");
    path.with_file_name(name)
}

/// Writes `bytes` beside `path` and renames it over, so a failure never leaves a half-written
/// hook.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), InstallError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.kubectl-gitops.tmp"));
    fs::write(&tmp, bytes).map_err(io(&tmp))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode)).map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

/// Puts our shim at `slot`, keeping a foreign file there as `<slot>.legacy`.
fn install_shim(slot: &Path, hook: &str, text: &str) -> Result<Action, InstallError> {
    let legacy = legacy_of(slot);
    let action = if is_current(slot, text) {
        return Ok(Action::Unchanged);
    } else if slot.exists() && is_ours(slot) {
        Action::Updated
    } else if slot.exists() || slot.is_symlink() {
        if legacy.exists() || legacy.is_symlink() {
            return Err(InstallError::LegacyTaken {
                hook: slot
                    .file_name()
                    .map_or(hook.into(), |n| n.to_string_lossy().into_owned()),
                dir: slot.parent().unwrap_or(slot).display().to_string(),
            });
        }
        fs::rename(slot, &legacy).map_err(io(slot))?;
        Action::InstalledKeepingLegacy
    } else {
        Action::Installed
    };
    write_atomic(slot, text.as_bytes(), 0o755)?;
    Ok(action)
}

/// Removes our shim at `slot`, putting back what it chained.
fn remove_shim(slot: &Path) -> Result<Action, InstallError> {
    let legacy = legacy_of(slot);
    fs::remove_file(slot).map_err(io(slot))?;
    if legacy.exists() || legacy.is_symlink() {
        fs::rename(&legacy, slot).map_err(io(&legacy))?;
        Ok(Action::RemovedRestoringLegacy)
    } else {
        Ok(Action::Removed)
    }
}

/// A husky script's text and permission bits; `None` when it does not exist.
fn read_script(script: &Path) -> Result<Option<(String, u32)>, InstallError> {
    match fs::read(script) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(script)(e)),
        Ok(bytes) => {
            let mode = fs::metadata(script).map_err(io(script))?.mode() & 0o7777;
            let text = String::from_utf8(bytes)
                .map_err(|_| InstallError::NotText(script.display().to_string()))?;
            Ok(Some((text, mode)))
        }
    }
}

/// Adds (or refreshes) our block in husky's script for `hook`.
fn add_block(script: &Path, hook: &str) -> Result<Change, InstallError> {
    let block = husky_block(hook).expect("every shim has a husky block");
    let Some((text, mode)) = read_script(script)? else {
        write_atomic(script, husky_created(block).as_bytes(), 0o755)?;
        return Ok(Change::Created);
    };
    let (new, change) = match block_range(&text, hook) {
        Some(range) if text[range.clone()] == *block => return Ok(Change::Unchanged),
        Some(range) => {
            let mut new = text.clone();
            new.replace_range(range, block);
            (new, Change::Updated)
        }
        None => {
            let at = block_position(&text);
            (
                format!("{}{block}{}", &text[..at], &text[at..]),
                Change::Added,
            )
        }
    };
    write_atomic(script, new.as_bytes(), mode)?;
    Ok(change)
}

/// Takes our block out of husky's script for `hook`, byte for byte what `add_block` added.
fn remove_block(script: &Path, hook: &str) -> Result<Change, InstallError> {
    let Some((text, mode)) = read_script(script)? else {
        return Ok(Change::NotInstalled);
    };
    let Some(range) = block_range(&text, hook) else {
        return Ok(Change::NotInstalled);
    };
    if text == husky_created(&text[range.clone()]) {
        fs::remove_file(script).map_err(io(script))?;
        return Ok(Change::Deleted);
    }
    let mut new = text;
    new.replace_range(range, "");
    write_atomic(script, new.as_bytes(), mode)?;
    Ok(Change::Removed)
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
    let husky = husky_scripts(&dir);
    let mut done = Vec::new();
    for (name, text) in SHIMS.iter().filter(|(n, _)| hooks.contains(n)) {
        let path = dir.join(name);
        if let Some(scripts) = &husky {
            // An older install put our shim in place of husky's stub, which then ran nothing
            // (it dispatches on its file name): put the stub back first.
            if is_ours(&path) {
                remove_shim(&path)?;
            }
            let script = scripts.join(name);
            let change = add_block(&script, name)?;
            done.push((name.to_string(), Action::Husky { script, change }));
            continue;
        }
        let legacy = legacy_of(&path);
        let slot = match owner_at(&path) {
            Some(Owner::Framework(_)) => legacy,
            // An older install renamed the framework's script, which then ran itself as its
            // own legacy hook and failed: undo that, then take the `.legacy` place.
            Some(Owner::Ours) if matches!(owner_at(&legacy), Some(Owner::Framework(_))) => {
                remove_shim(&path)?;
                legacy
            }
            Some(Owner::Husky) => {
                return Err(InstallError::NameBound {
                    hook: name.to_string(),
                    path: path.display().to_string(),
                });
            }
            Some(Owner::Lefthook) => {
                // lefthook re-installed its hooks (its configuration changed): ours was moved
                // to `.old`, and `.legacy` is an older copy of the script now in place.
                let old = path.with_file_name(format!("{name}.old"));
                if is_ours(&old) {
                    fs::remove_file(&old).map_err(io(&old))?;
                    if owner_at(&legacy) == Some(Owner::Lefthook) {
                        fs::remove_file(&legacy).map_err(io(&legacy))?;
                    }
                }
                path
            }
            _ => path,
        };
        let mut action = install_shim(&slot, name, text)?;
        if let (Some(Owner::Framework(f)), Action::Installed | Action::InstalledKeepingLegacy) =
            (owner_at(&dir.join(name)), &action)
        {
            action = Action::UnderFramework(f);
        }
        done.push((name.to_string(), action));
    }
    Ok((dir, done))
}

/// Removes our hooks, putting back any hook they chained.
pub fn uninstall(
    repo: &Path,
    hooks: &[&str],
) -> Result<(PathBuf, Vec<(String, Action)>), InstallError> {
    let dir = hooks_dir(repo)?;
    let husky = husky_scripts(&dir);
    let mut done = Vec::new();
    for (name, _) in SHIMS.iter().filter(|(n, _)| hooks.contains(n)) {
        let path = dir.join(name);
        let legacy = legacy_of(&path);
        let action = if let Some(scripts) = &husky {
            if is_ours(&path) {
                remove_shim(&path)?;
            }
            let script = scripts.join(name);
            let change = remove_block(&script, name)?;
            Action::Husky { script, change }
        } else if is_ours(&path) {
            remove_shim(&path)?
        } else if matches!(owner_at(&path), Some(Owner::Framework(_))) && is_ours(&legacy) {
            remove_shim(&legacy)?
        } else if path.exists() {
            Action::NotOurs
        } else {
            Action::NotInstalled
        };
        done.push((name.to_string(), action));
    }
    Ok((dir, done))
}
