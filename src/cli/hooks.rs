//! `kubectl gitops hooks install|uninstall` and the hook entry points `kubectl gitops hook ...`
//! that the installed shims call.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{GlobalArgs, Outcome};
use crate::hooks::install::{self, Action, Change};
use crate::hooks::pre_push;
use crate::validate::report;

/// Install or remove the companion git hooks (pre-push validation, post-merge bump recording).
#[derive(Debug, Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub command: HooksCommand,
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Install the hooks into this repository (both unless one is named).
    ///
    /// Hooks go where `git rev-parse --git-path hooks` says, so core.hooksPath and worktrees
    /// work. A hook already there is kept as <hook>.legacy and runs first. Under pre-commit or
    /// prek the hook is installed as <hook>.legacy, which they run before their own hooks;
    /// under husky it is added to husky's script (.husky/<hook>).
    Install(InstallArgs),
    /// Remove the hooks (both unless one is named), putting back any hook they replaced.
    ///
    /// A hook that kubectl-gitops did not install is left alone.
    Uninstall(Which),
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub which: Which,
    /// Install even when core.hooksPath points outside this repository (a hooks directory
    /// that other repositories share).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct Which {
    /// Only the pre-push hook (validates what is pushed).
    #[arg(long)]
    pub pre_push: bool,
    /// Only the post-merge hook (records tag bumps that arrived).
    #[arg(long)]
    pub post_merge: bool,
}

impl Which {
    fn hooks(&self) -> Vec<&'static str> {
        match (self.pre_push, self.post_merge) {
            (true, false) => vec!["pre-push"],
            (false, true) => vec!["post-merge"],
            _ => vec!["pre-push", "post-merge"],
        }
    }
}

/// Hook entry points, run by the shims git calls. Never prompts.
#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub command: HookCommand,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Validate the manifests a push sends (git's pre-push hook; reads git's stdin).
    ///
    /// Rejects the push (exit 1) when anything is invalid. Skip once with `git push --no-verify`.
    PrePush {
        /// Name of the remote being pushed to.
        remote: String,
        /// URL of the remote.
        url: Option<String>,
    },
    /// Validate for pre-commit and prek: the named files and what they affect, or at their
    /// pre-push stage (PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF set) the pushed commits.
    PreCommit {
        /// Files the framework passes (changed YAML files).
        files: Vec<String>,
    },
    /// Record the image bumps a merge or pull brought in as git notes (git's post-merge
    /// hook). Never fails the merge: problems are a warning on stderr.
    PostMerge {
        /// 1 when the merge was a squash merge (git passes it).
        #[arg(default_value = "0")]
        squash: String,
    },
}

pub fn run_hooks(args: HooksArgs, _global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let mut out = anstream::stdout().lock();
    match args.command {
        HooksCommand::Install(args) => {
            let (dir, done) = install::install(&cwd, &args.which.hooks(), args.force)
                .context("hooks were not installed")?;
            for (hook, action) in done {
                let what = match action {
                    Action::Husky { script, change } => {
                        let script = shown(&cwd, &script);
                        let what = match change {
                            Change::Unchanged => format!("unchanged in {script}"),
                            Change::Updated => format!("updated in {script}"),
                            Change::Created => format!("created {script}"),
                            _ => format!("added to {script}"),
                        };
                        writeln!(
                            out,
                            "{hook}: {what} (husky runs it; commit it to share the check with your team)"
                        )?;
                        continue;
                    }
                    Action::Unchanged => "unchanged".to_string(),
                    Action::Updated => "updated".to_string(),
                    Action::InstalledKeepingLegacy => {
                        "installed (the previous hook is kept as .legacy and runs first)"
                            .to_string()
                    }
                    Action::UnderFramework(f) => {
                        format!("installed as {hook}.legacy, which {f} runs before its own hooks")
                    }
                    _ => "installed".to_string(),
                };
                writeln!(out, "{hook}: {what} in {}", shown(&cwd, &dir))?;
            }
        }
        HooksCommand::Uninstall(which) => {
            let (dir, done) =
                install::uninstall(&cwd, &which.hooks()).context("hooks were not removed")?;
            for (hook, action) in done {
                let what = match action {
                    Action::Husky { script, change } => {
                        let script = shown(&cwd, &script);
                        let what = match change {
                            Change::Deleted => format!("removed {script} (install had created it)"),
                            Change::NotInstalled => format!("not installed in {script}"),
                            _ => format!("removed from {script}"),
                        };
                        writeln!(out, "{hook}: {what}")?;
                        continue;
                    }
                    Action::RemovedRestoringLegacy => {
                        "removed (the previous hook is back in place)"
                    }
                    Action::NotOurs => "left alone (not installed by kubectl-gitops)",
                    Action::NotInstalled => "not installed",
                    _ => "removed",
                };
                writeln!(out, "{hook}: {what} in {}", shown(&cwd, &dir))?;
            }
        }
    }
    Ok(Outcome::Clean)
}

fn shown(cwd: &Path, dir: &Path) -> String {
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    dir.strip_prefix(&cwd).unwrap_or(dir).display().to_string()
}

pub fn run_hook(args: HookArgs, _global: &GlobalArgs) -> anyhow::Result<Outcome> {
    match args.command {
        HookCommand::PrePush { remote, .. } => pre_push_hook(&remote),
        HookCommand::PreCommit { files } => framework_hook(&files),
        HookCommand::PostMerge { squash } => {
            crate::hooks::post_merge::run(&squash);
            Ok(Outcome::Clean)
        }
    }
}

fn pre_push_hook(remote: &str) -> anyhow::Result<Outcome> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the refs being pushed from stdin")?;
    let updates = pre_push::parse_updates(&input)?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let checks = pre_push::check_push(&cwd, remote, &updates)
        .context("could not check the push; skip the check once with `git push --no-verify`")?;
    // Git shows a hook's output to the user; stderr keeps it apart from any tooling on stdout.
    let mut err = anstream::stderr().lock();
    let mut rejected = false;
    for check in &checks {
        if check.report.diagnostics.is_empty() {
            continue;
        }
        let short = &check.commit[..check.commit.len().min(12)];
        writeln!(
            err,
            "kubectl-gitops pre-push: {} at {short}:",
            check.update.local_ref
        )?;
        report::write_text(&check.report, &mut err)?;
        rejected |= check.report.errors() > 0;
    }
    if rejected {
        writeln!(
            err,
            "push rejected: fix the errors above and commit, or skip this check once with `git push --no-verify`"
        )?;
        return Ok(Outcome::NotClean);
    }
    Ok(Outcome::Clean)
}

/// pre-commit's variables for the pushed range (older releases used SOURCE/ORIGIN names).
fn framework_range() -> Option<(String, String)> {
    let var = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
    };
    let from = var(["PRE_COMMIT_FROM_REF", "PRE_COMMIT_SOURCE"])?;
    let to = var(["PRE_COMMIT_TO_REF", "PRE_COMMIT_ORIGIN"])?;
    Some((from, to))
}

fn framework_hook(files: &[String]) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let report = pre_push::check_framework(&cwd, files, framework_range())
        .context("could not check the manifests")?;
    let mut out = anstream::stdout().lock();
    if !report.diagnostics.is_empty() || report.errors() > 0 {
        report::write_text(&report, &mut out)?;
    }
    Ok(if report.errors() > 0 {
        Outcome::NotClean
    } else {
        Outcome::Clean
    })
}
