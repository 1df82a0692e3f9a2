//! `kubectl gitops rollback`: undo a bump with a new commit (a checked `git revert`, or a
//! switch back to an earlier tag), pushed only when asked.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::{ExitError, GlobalArgs, Outcome, short_digests};
use crate::git::rollback::{self, Mode, Plan, PushTarget, RollbackError};
use crate::git::{Repo, short};
use crate::manifest::bump::{self, Version};

pub use super::TextOrJson as Format;

/// Roll back an image bump the GitOps way: a new commit the controller applies.
///
/// Default: revert the newest bump that is not already rolled back (with --image, that
/// image's newest bump); on a terminal with no target, pick one from a list. A commit that
/// changed more than IMAGE gets only IMAGE's change reverted. `--image I --to TAG` writes a
/// new bump commit back to TAG instead, for an old bump whose revert would undo later work.
///
/// Refuses to run on uncommitted changes, a detached HEAD, or a merge/rebase in progress.
/// If the commit cannot be made (a conflict, a hook refusing it), the working tree, index
/// and HEAD are left exactly as they were.
///
/// Exit status: 0 rolled back (or dry run), 1 nothing to roll back, a conflict, or the push
/// was rejected, 2 could not run.
///
/// JSON (-o json): {"mode": "revert" | "partial-revert" | "tag-switch", "reverted":
/// {"commit", "subject", "author", "committer"} or null, "bumps": [{"image", "old", "new",
/// "files", "objects"}], "files": [{"path"}], "message", "trailers": [...], "automation":
/// [...], "setters": [...], "pinned": [...], "warnings": [...], "dryRun": bool, "diff",
/// "commit": sha or null, "pushed": bool, "push": {"remote", "branch"} or null}.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops rollback --dry-run\n  kubectl gitops rollback --image ghcr.io/acme/web --yes --push\n  kubectl gitops rollback 3f2a1b9\n  kubectl gitops rollback --image ghcr.io/acme/web --to 1.4.1"
)]
pub struct RollbackArgs {
    /// The bump commit to revert (default: the newest bump).
    #[arg(value_name = "COMMIT")]
    pub commit: Option<String>,
    /// Roll back this image only (name without tag).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Switch IMAGE to this earlier tag with a new bump commit instead of reverting.
    #[arg(
        long,
        value_name = "TAG",
        requires = "image",
        conflicts_with = "commit"
    )]
    pub to: Option<String>,
    /// With --to: only files under this path (repeatable; default: the whole repository).
    #[arg(long = "path", value_name = "PATH", requires = "to")]
    pub paths: Vec<PathBuf>,
    /// Show the exact diff the rollback would commit; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation or pick interactively.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Push the current branch afterwards (never with force).
    #[arg(long, conflicts_with = "dry_run")]
    pub push: bool,
    /// Turn Flux setter comments on the rolled-back image into plain comments, so image
    /// automation does not bump it again.
    #[arg(long)]
    pub pin: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Format,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    dry_run: bool,
    diff: String,
    commit: Option<String>,
    pushed: bool,
    push: Option<PushTarget>,
}

pub fn run(args: RollbackArgs, _global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let repo = Repo::open()?;
    let to = args.to.as_deref().map(Version::parse).transpose()?;
    if let Some(image) = &args.image {
        bump::check_image_name(image)?;
    }
    // Prompts only for a person at a terminal, never for scripts, pipes or hooks.
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.dry_run {
        rollback::preflight(&repo).map_err(refusal)?;
    }

    let plan = match &to {
        Some(to) => {
            let image = args
                .image
                .as_deref()
                .expect("clap requires --image with --to");
            let mut paths = Vec::new();
            for p in &args.paths {
                paths.push(repo.relative(p)?);
            }
            rollback::plan_switch(&repo, image, to, args.pin, &paths)
        }
        None => {
            let Some(target) = pick_target(&repo, &args, interactive)? else {
                writeln!(anstream::stderr(), "cancelled; nothing changed")?;
                return Ok(Outcome::NotClean);
            };
            rollback::plan_revert(&repo, target, args.image.as_deref(), args.pin)
        }
    }
    .map_err(refusal)?;

    let mut err = anstream::stderr().lock();
    if matches!(args.output, Format::Text) {
        describe(&plan, &mut err)?;
    }
    warn(&plan, &args, &mut err)?;
    let diff: String = plan.files.iter().map(|f| f.diff()).collect();

    let mut committed = None;
    let mut pushed = false;
    let mut push_result = rollback::Pushed::Yes;
    let target = rollback::push_target(&repo).ok();
    if !args.dry_run {
        if interactive && !args.yes {
            let prompt = if args.push {
                "Create the rollback commit and push it?"
            } else {
                "Create the rollback commit?"
            };
            let yes = dialoguer::Confirm::new()
                .with_prompt(prompt)
                .default(true)
                .interact_opt()
                .context("cannot read the answer")?;
            if yes != Some(true) {
                writeln!(err, "cancelled; nothing changed")?;
                return Ok(Outcome::NotClean);
            }
        }
        let sha = rollback::apply(&repo, &plan).map_err(refusal)?;
        committed = Some(sha);
        if args.push {
            let target = rollback::push_target(&repo)
                .context("the rollback commit was made but not pushed")?;
            push_result = rollback::push(&repo, &target)?;
            pushed = push_result == rollback::Pushed::Yes;
        }
    }

    let mut out = anstream::stdout().lock();
    match args.output {
        Format::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &Report {
                    plan: &plan,
                    dry_run: args.dry_run,
                    diff,
                    commit: committed.clone(),
                    pushed,
                    push: target.clone(),
                },
            )?;
            writeln!(out)?;
        }
        Format::Text if args.dry_run => {
            write!(out, "{diff}")?;
            writeln!(err, "dry run: nothing changed")?;
        }
        Format::Text => {
            let sha = committed.as_deref().unwrap_or_default();
            let subject = plan.message.lines().next().unwrap_or_default();
            writeln!(out, "committed {} {subject}", short(sha))?;
            match (&target, args.push, pushed) {
                (Some(t), true, true) => writeln!(
                    out,
                    "pushed to {} {}",
                    t.remote,
                    t.branch.trim_start_matches("refs/heads/")
                )?,
                (_, true, false) => {}
                (Some(t), false, _) => writeln!(out, "push it with: {}", t.command())?,
                (None, false, _) => writeln!(out, "the commit is local; push it when ready")?,
                (None, true, _) => {}
            }
        }
    }
    if args.push && !pushed && !args.dry_run {
        writeln!(
            err,
            "error: the push did not go through; the rollback commit is on your branch: {}",
            push_result.advice()
        )?;
        return Ok(Outcome::NotClean);
    }
    Ok(Outcome::Clean)
}

/// The commit to revert: the one named, the newest rollback candidate, or one picked from
/// a list when a person is at the terminal. `None` when they cancelled the picker.
fn pick_target(
    repo: &Repo,
    args: &RollbackArgs,
    interactive: bool,
) -> anyhow::Result<Option<git2::Oid>> {
    if let Some(commit) = &args.commit {
        return Ok(Some(repo.resolve(commit)?));
    }
    let pick = interactive && !args.yes && args.image.is_none();
    let candidates =
        rollback::candidates(repo, args.image.as_deref(), pick.then_some(200).or(Some(1)))
            .context("cannot read the history")?;
    let Some(first) = candidates.first() else {
        let message = match &args.image {
            Some(i) => format!(
                "no bump of {i} to roll back in the history of HEAD (kubectl gitops history --image {i} shows them)"
            ),
            None => "no image bump to roll back in the history of HEAD".to_string(),
        };
        return Err(ExitError { message, code: 1 }.into());
    };
    if !pick {
        return Ok(Some(repo.resolve(&first.commit)?));
    }
    // One line per commit: a commit bumping several images is reverted as a whole.
    let mut commits: Vec<(String, String)> = Vec::new();
    for e in &candidates {
        let change = format!(
            "{} {}",
            e.image,
            short_digests(&format!("{} -> {}", e.old, e.new))
        );
        match commits.iter_mut().find(|(sha, _)| *sha == e.commit) {
            Some((_, label)) => label.push_str(&format!(", {change}")),
            None => commits.push((
                e.commit.clone(),
                format!(
                    "{}  {}  {change}  ({})",
                    short(&e.commit),
                    e.date.get(..10).unwrap_or(&e.date),
                    e.author.name
                ),
            )),
        }
    }
    let labels: Vec<&str> = commits.iter().map(|(_, l)| l.as_str()).collect();
    let chosen = dialoguer::Select::new()
        .with_prompt("Which bump do you want to roll back?")
        .items(&labels)
        .default(0)
        .max_length(15)
        .interact_opt()
        .context("cannot read the choice")?;
    match chosen {
        Some(i) => Ok(Some(repo.resolve(&commits[i].0)?)),
        None => Ok(None),
    }
}

/// Refusals and conflicts are answers (exit 1 for "nothing to do" and conflicts); the rest
/// are failures (exit 2) with their cause chain.
fn refusal(e: RollbackError) -> anyhow::Error {
    let answer = |e: &RollbackError| {
        matches!(
            e,
            RollbackError::Nothing(_)
                | RollbackError::AlreadyRolledBack { .. }
                | RollbackError::Conflict { .. }
                | RollbackError::MovedOn { .. }
        )
    };
    match e {
        e if answer(&e) => ExitError {
            message: e.to_string(),
            code: 1,
        }
        .into(),
        // A conflict only git (not the in-memory check) found, after everything was restored.
        RollbackError::Restored(inner) if answer(&inner) => ExitError {
            message: inner.to_string(),
            code: 1,
        }
        .into(),
        other => anyhow::Error::new(other),
    }
}

fn describe(plan: &Plan, err: &mut impl Write) -> std::io::Result<()> {
    let what = match (plan.mode, &plan.reverted) {
        (Mode::Revert, Some(r)) => format!("revert of {} \"{}\"", short(&r.commit), r.subject),
        (Mode::PartialRevert, Some(r)) => format!(
            "partial revert of {} \"{}\" (only {})",
            short(&r.commit),
            r.subject,
            plan.bumps
                .first()
                .map(|b| b.image.as_str())
                .unwrap_or_default()
        ),
        (Mode::TagSwitch, Some(r)) => {
            format!(
                "tag switch (the current tag came from {})",
                short(&r.commit)
            )
        }
        _ => "tag switch".to_string(),
    };
    writeln!(err, "rollback: {what}")?;
    for b in &plan.bumps {
        let change = format!("{} -> {}", b.old, b.new);
        writeln!(
            err,
            "  {} {}  {}",
            b.image,
            short_digests(&change),
            b.files.join(", ")
        )?;
    }
    Ok(())
}

fn warn(plan: &Plan, args: &RollbackArgs, err: &mut impl Write) -> std::io::Result<()> {
    let yellow = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    for w in &plan.warnings {
        writeln!(err, "{yellow}warning:{yellow:#} {w}")?;
    }
    if !plan.automation.is_empty() {
        let images: Vec<&str> = plan.bumps.iter().map(|b| b.image.as_str()).collect();
        let advice = if !plan.pinned.is_empty() {
            format!("the setter is pinned ({})", plan.pinned.join(", "))
        } else if !plan.setters.is_empty() {
            "rerun with --pin to turn the setter into a literal, or suspend the automation (flux suspend image update NAME)".to_string()
        } else {
            "pause the automation for this image before the rollback reaches the cluster"
                .to_string()
        };
        writeln!(
            err,
            "{yellow}warning:{yellow:#} image automation may bump {} again ({}); {advice}",
            images.join(", "),
            plan.automation.join("; "),
        )?;
    } else if args.pin && plan.pinned.is_empty() {
        writeln!(
            err,
            "{yellow}warning:{yellow:#} --pin: no Flux setter comments on the rolled-back image; nothing to pin"
        )?;
    }
    Ok(())
}
