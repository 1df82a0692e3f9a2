//! Rolling back a bump the GitOps way: a new commit on the branch (never a rewrite), which
//! the controller then applies.
//!
//! Three modes:
//! - revert: a real `git revert` of the bump commit;
//! - partial revert: when the commit changed more than the chosen image, only that image's
//!   sites go back to their old version;
//! - tag switch: a new bump commit back to an earlier tag, for an old bump whose revert would
//!   undo later work.
//!
//! Everything is computed in memory first (the `--dry-run` diff is exactly what is committed,
//! and a conflicting revert is found without touching anything). If applying fails anyway
//! (a commit hook refuses, git finds a conflict libgit2 did not), the working tree, index,
//! HEAD and ORIG_HEAD are put back exactly as they were.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use super::detect::Bump;
use super::guard::{self, GuardError, Snapshot};
use super::history::{self, Entry, Person, SiteCache};
use super::{GitError, Repo, commit, lib, log, short, trailer};
use crate::manifest::FileSet;
use crate::manifest::bump::{self, BumpError, Target, Version};
use crate::manifest::image::same_image;
use crate::manifest::sites::{self, VersionKind};

/// Why a rollback was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    /// Tracked files have uncommitted changes, which a rollback commit would mix with.
    #[error("uncommitted changes in {files}; commit or stash them first: git stash")]
    Dirty { files: String },
    /// There is no bump to roll back (or none matching).
    #[error("{0}")]
    Nothing(String),
    /// Every change chosen was already rolled back by a later commit.
    #[error(
        "{commit} was already rolled back by {by}; nothing to do (kubectl gitops history shows it)"
    )]
    AlreadyRolledBack { commit: String, by: String },
    /// The commit cannot be reverted as a bump (a merge, the first commit, not on the branch).
    #[error("{0}")]
    NotRevertible(String),
    /// Reverting would conflict with later changes; nothing was changed.
    #[error(
        "reverting {commit} conflicts with later changes in {files}; nothing was changed{hint}"
    )]
    Conflict {
        commit: String,
        files: String,
        hint: String,
    },
    /// The image has moved on since the commit, so undoing that commit's change is ambiguous.
    #[error(
        "{image} changed again after {commit} ({now}); nothing was changed. Switch the tag instead: kubectl gitops rollback --image {image} --to {to}"
    )]
    MovedOn {
        image: String,
        commit: String,
        now: String,
        to: String,
    },
    /// A file changed between planning and applying.
    #[error("{0} changed while the rollback was prepared; nothing was changed, try again")]
    Changed(String),
    /// Applying failed and the previous state could not be put back exactly.
    #[error(
        "the rollback failed and the working tree was not restored exactly; `git status` before was:\n{before}"
    )]
    NotRestored {
        before: String,
        #[source]
        cause: Box<RollbackError>,
    },
    /// Applying failed; everything was restored.
    #[error("the rollback was not committed; the working tree, index and HEAD are as they were")]
    Restored(#[source] Box<RollbackError>),
    /// The clone is in no state to commit (in-progress operation, detached HEAD, another run,
    /// files that differ from HEAD where nobody can see it).
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// Reading the repository or running git failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The manifests could not be edited in place (for a partial revert or a tag switch).
    #[error(transparent)]
    Bump(#[from] BumpError),
}

/// How the rollback is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Revert,
    PartialRevert,
    TagSwitch,
}

/// The commit a rollback undoes.
#[derive(Clone, Debug, Serialize)]
pub struct Reverted {
    pub commit: String,
    pub subject: String,
    pub author: Person,
    pub committer: Person,
}

/// One file's content before and after the rollback (`None`: absent).
#[derive(Clone, Debug, Serialize)]
pub struct FileDiff {
    /// Repo-relative path.
    pub path: String,
    #[serde(skip)]
    pub before: Option<String>,
    #[serde(skip)]
    pub after: Option<String>,
    /// For a revert: the blob the file gets, so its bytes are written exactly (text or not).
    #[serde(skip)]
    pub after_blob: Option<git2::Oid>,
    /// The file is an input of a kustomize `secretGenerator`: secret as a whole.
    #[serde(skip)]
    pub secret: bool,
}

/// The planned edits of a bump, as the files a rollback changes.
fn file_diffs(repo: &Repo, edits: Vec<crate::manifest::bump::FileEdit>) -> Vec<FileDiff> {
    edits
        .into_iter()
        .map(|e| FileDiff {
            path: relative_display(repo, &e.entry.display),
            before: Some(e.before),
            after: Some(e.after),
            after_blob: None,
            secret: false,
        })
        .collect()
}

impl FileDiff {
    /// A `git diff` style unified diff of the change, with secret values masked.
    pub fn diff(&self) -> String {
        crate::redact::file_diff(
            &self.path,
            self.before.as_deref().unwrap_or(""),
            self.after.as_deref().unwrap_or(""),
            self.secret,
        )
    }
}

/// A rollback, computed and not yet applied.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub mode: Mode,
    /// The bump commit undone (for a tag switch: the one that set the current tag, if known).
    pub reverted: Option<Reverted>,
    /// The version changes the rollback commit makes.
    pub bumps: Vec<Bump>,
    pub files: Vec<FileDiff>,
    /// Subject and body of the rollback commit.
    pub message: String,
    /// `Key: value` trailers of the rollback commit.
    pub trailers: Vec<String>,
    /// Why the undone commit looks like image automation, which may bump the tag again.
    pub automation: Vec<String>,
    /// Flux setter comments on the rolled-back sites (`file:line policy`).
    pub setters: Vec<String>,
    /// Setter comments `--pin` turns into plain comments (`file:line`).
    pub pinned: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(skip)]
    pin_images: Vec<String>,
    /// The commit the plan was computed on; applying refuses if the branch has moved.
    #[serde(skip)]
    head: Option<git2::Oid>,
}

/// Refuses to touch a repository in a state where a new commit could go wrong, or whose
/// tracked files have uncommitted changes (the rollback commit is made on a clean tree).
pub fn preflight(repo: &Repo) -> Result<(), RollbackError> {
    guard::preflight(repo, "roll back")?;
    let status = repo.run(&["status", "--porcelain=v1", "--untracked-files=no"])?;
    let dirty: Vec<&str> = status.lines().filter_map(|l| l.get(3..)).collect();
    if !dirty.is_empty() {
        let mut files = dirty.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        if dirty.len() > 5 {
            files.push_str(&format!(" and {} more", dirty.len() - 5));
        }
        return Err(RollbackError::Dirty { files });
    }
    Ok(())
}

/// Bumps that can be rolled back (not rollbacks themselves, not already rolled back),
/// newest first.
pub fn candidates(
    repo: &Repo,
    image: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<Entry>, GitError> {
    let all = history::history(
        repo,
        &history::Options {
            image: image.map(str::to_string),
            ..history::Options::default()
        },
    )?;
    let mut out: Vec<Entry> = all.into_iter().filter(|e| !e.is_settled()).collect();
    if let Some(n) = limit {
        out.truncate(n);
    }
    Ok(out)
}

/// Plans reverting `commit` (only `image`'s change when given and the commit did more).
pub fn plan_revert(
    repo: &Repo,
    commit_id: git2::Oid,
    image: Option<&str>,
    pin: bool,
) -> Result<Plan, RollbackError> {
    let sha = commit_id.to_string();
    let target = repo
        .repo
        .find_commit(commit_id)
        .map_err(lib(format!("cannot read commit {sha}")))?;
    let head_id = repo.head()?;
    if target.parent_count() == 0 {
        return Err(RollbackError::NotRevertible(if repo.repo.is_shallow() {
            format!(
                "{} is the oldest commit this shallow clone has; fetch the history first: git fetch --unshallow",
                short(&sha)
            )
        } else {
            format!(
                "{} is the first commit; there is no earlier version to go back to",
                short(&sha)
            )
        }));
    }
    if target.parent_count() > 1 {
        return Err(RollbackError::NotRevertible(format!(
            "{} is a merge; roll back the bump commits it brought in (kubectl gitops history lists them)",
            short(&sha)
        )));
    }
    let reachable = head_id == commit_id
        || repo
            .repo
            .graph_descendant_of(head_id, commit_id)
            .map_err(lib("cannot compare commits"))?;
    if !reachable {
        return Err(RollbackError::NotRevertible(format!(
            "{} is not in the history of the current branch; roll back commits of this branch",
            short(&sha)
        )));
    }

    let walked = log::walk(repo, &["--no-walk", &sha], &log::yaml_pathspecs(&[]))?;
    let bumps = match walked.first() {
        Some(_) => history::commit_bumps(repo, &walked, &mut SiteCache::default())?
            .pop()
            .map(|(_, b)| b)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    if bumps.is_empty() {
        return Err(RollbackError::Nothing(format!(
            "{} changed no image version; for other changes use git revert {}",
            short(&sha),
            short(&sha)
        )));
    }
    let chosen: Vec<Bump> = match image {
        Some(i) => bumps
            .iter()
            .filter(|b| same_image(&b.image, i))
            .cloned()
            .collect(),
        None => bumps.clone(),
    };
    if chosen.is_empty() {
        let changed: Vec<String> = bumps.iter().map(|b| b.image.clone()).collect();
        return Err(RollbackError::Nothing(format!(
            "{} did not change {}; it changed {}",
            short(&sha),
            image.unwrap_or_default(),
            changed.join(", ")
        )));
    }
    // Rolling back twice would re-apply the bump (or fail with an empty commit).
    let settled = history::history(repo, &history::Options::default())?;
    let rolled_back_by = |b: &Bump| {
        settled
            .iter()
            .find(|e| e.commit == sha && e.kind == b.kind && same_image(&e.image, &b.image))
            .and_then(|e| e.rolled_back_by.clone())
    };
    if let Some(by) = chosen
        .iter()
        .map(rolled_back_by)
        .collect::<Option<Vec<_>>>()
        && let Some(by) = by.first()
    {
        return Err(RollbackError::AlreadyRolledBack {
            commit: short(&sha).to_string(),
            by: short(by).to_string(),
        });
    }
    let reverted = Reverted {
        commit: sha.clone(),
        subject: target
            .summary()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string(),
        author: person(&target.author()),
        committer: person(&target.committer()),
    };

    let (mut full, conflicts) = revert_in_memory(repo, &target, head_id)?;
    let secret_files = crate::redact::generator_inputs(&FileSet::from_root(&repo.workdir));
    for f in &mut full {
        f.secret = secret_files.contains(&f.path);
    }
    let mut plan = Plan {
        mode: Mode::Revert,
        reverted: Some(reverted.clone()),
        bumps: chosen.iter().map(reverse).collect(),
        files: full,
        message: format!(
            "Revert \"{}\"\n\nThis reverts commit {sha}.\n",
            reverted.subject
        ),
        trailers: Vec::new(),
        automation: Vec::new(),
        setters: Vec::new(),
        pinned: Vec::new(),
        warnings: Vec::new(),
        head: Some(head_id),
        pin_images: if pin {
            chosen.iter().map(|b| b.image.clone()).collect()
        } else {
            Vec::new()
        },
    };

    let partial_wanted = image.is_some() && (chosen.len() < bumps.len() || !conflicts.is_empty());
    let partial = match image {
        Some(image) if partial_wanted || differs_from_image_only(&plan, &chosen)? => {
            Some(plan_partial(repo, &sha, image, &chosen, pin)?)
        }
        _ => None,
    };
    match partial {
        Some(edit) => {
            plan.mode = Mode::PartialRevert;
            plan.message.push_str(&format!(
                "\nOnly the change to {} is reverted; the commit's other changes stay.\n",
                chosen[0].image
            ));
            plan.files = edit.files;
            plan.setters = edit.setters;
            plan.pinned = edit.pinned;
            plan.warnings = edit.warnings;
        }
        None if !conflicts.is_empty() => {
            let hint = match &chosen[..] {
                [only] => format!(
                    ". Switch the tag instead: kubectl gitops rollback --image {} --to {}",
                    only.image, only.old
                ),
                _ => ". Roll back one image with --image, or switch a tag with --image I --to TAG"
                    .to_string(),
            };
            return Err(RollbackError::Conflict {
                commit: short(&sha).to_string(),
                files: conflicts.join(", "),
                hint,
            });
        }
        None => pin_revert_files(&mut plan),
    }
    plan.trailers = trailers(&plan.bumps, Some(&sha));
    plan.automation = automation_reasons(&target, &plan.setters);
    Ok(plan)
}

/// Plans a new bump commit setting `image` to `to` everywhere under `paths`.
pub fn plan_switch(
    repo: &Repo,
    image: &str,
    to: &Version,
    pin: bool,
    paths: &[String],
) -> Result<Plan, RollbackError> {
    // The same places `bump` would write: what wins in each app that runs the image.
    let config = crate::config::Config::load(&repo.workdir).unwrap_or_default();
    let remotes = crate::apps::repo::remotes_of(&repo.repo);
    let (selection, files, _) = crate::apps::effective::select_in_worktree(
        &repo.workdir,
        &remotes,
        &config,
        &crate::apps::effective::Want {
            kind: VersionKind::Image,
            name: image,
            paths,
            all_sources: false,
        },
    );
    let planned = bump::plan(
        &files,
        &Target {
            kind: VersionKind::Image,
            image,
            version: to,
            expect: None,
            pin,
            only: Some(&selection.edit),
        },
    )?;
    if planned.changes.is_empty() {
        let message = if planned.unchanged.is_empty() {
            format!("{image} is not used in the manifests, so there is nothing to switch")
        } else {
            format!("{image} is already at {to}; nothing to roll back")
        };
        return Err(RollbackError::Nothing(message));
    }
    let mut bumps: Vec<Bump> = Vec::new();
    for c in &planned.changes {
        let file = relative_display(repo, &c.file);
        match bumps
            .iter_mut()
            .find(|b| b.image == c.image && b.old == c.old)
        {
            Some(b) => {
                if !b.files.contains(&file) {
                    b.files.push(file);
                }
                b.objects.push(c.holder.clone());
            }
            None => bumps.push(Bump {
                kind: VersionKind::Image,
                image: c.image.clone(),
                old: c.old.clone(),
                new: c.new.clone(),
                files: vec![file],
                objects: vec![c.holder.clone()],
            }),
        }
    }
    // The bump that set the version being left, so the rollback can name it.
    let history = candidates(repo, Some(image), None)?;
    let introduced = history
        .iter()
        .find(|e| bumps.iter().any(|b| b.old == e.new))
        .cloned();
    let mut reverted = None;
    let automation;
    if let Some(e) = &introduced {
        let id = repo.resolve(&e.commit)?;
        let c = repo
            .repo
            .find_commit(id)
            .map_err(lib(format!("cannot read commit {}", e.commit)))?;
        automation = automation_reasons(&c, &planned.setters);
        reverted = Some(Reverted {
            commit: e.commit.clone(),
            subject: e.subject.clone(),
            author: e.author.clone(),
            committer: e.committer.clone(),
        });
    } else {
        automation = automation_reasons_from_setters(&planned.setters);
    }
    let mut warnings: Vec<String> = planned.warnings.clone();
    let known = history
        .iter()
        .any(|e| e.old == to.to_string() || e.new == to.to_string());
    if !known {
        warnings.push(format!(
            "{to} does not appear in the bump history of {image}; check the tag exists in the registry"
        ));
    }
    let olds: BTreeSet<&str> = bumps.iter().map(|b| b.old.as_str()).collect();
    let mut message = format!("Roll back {image} to {to}\n");
    if let Some(r) = &reverted {
        message.push_str(&format!(
            "\n{} was set by {} \"{}\".\n",
            olds.into_iter().collect::<Vec<_>>().join(", "),
            short(&r.commit),
            r.subject
        ));
    }
    Ok(Plan {
        mode: Mode::TagSwitch,
        trailers: trailers(&bumps, reverted.as_ref().map(|r| r.commit.as_str())),
        reverted,
        bumps,
        files: file_diffs(repo, planned.edits),
        message,
        automation,
        setters: planned.setters,
        pinned: planned.pinned,
        warnings,
        pin_images: Vec::new(),
        head: repo.head().ok(),
    })
}

fn person(sig: &git2::Signature<'_>) -> Person {
    Person {
        name: sig.name().unwrap_or_default().to_string(),
        email: sig.email().unwrap_or_default().to_string(),
    }
}

fn reverse(b: &Bump) -> Bump {
    Bump {
        kind: b.kind,
        image: b.image.clone(),
        old: b.new.clone(),
        new: b.old.clone(),
        files: b.files.clone(),
        objects: b.objects.clone(),
    }
}

fn trailers(bumps: &[Bump], rollback_of: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = rollback_of
        .map(|sha| format!("{}: {sha}", trailer::ROLLBACK_OF))
        .into_iter()
        .collect();
    out.extend(bumps.iter().map(|b| {
        format!(
            "{}: {}",
            trailer::bump_key(b.kind),
            trailer::format_bump(&b.image, &b.old, &b.new)
        )
    }));
    out
}

/// The display path of a file read from the working tree, made repo-relative.
fn relative_display(repo: &Repo, display: &str) -> String {
    let path = std::path::Path::new(display);
    if !path.is_absolute() {
        // Files listed from the top of the work tree are shown repo-relative already.
        return display.to_string();
    }
    repo.relative(path).unwrap_or_else(|_| display.to_string())
}

/// `git revert` computed by libgit2 on an in-memory index: the changed files, or the paths
/// that would conflict.
fn revert_in_memory(
    repo: &Repo,
    target: &git2::Commit<'_>,
    head_id: git2::Oid,
) -> Result<(Vec<FileDiff>, Vec<String>), GitError> {
    let head = repo
        .repo
        .find_commit(head_id)
        .map_err(lib("cannot read HEAD"))?;
    let index = repo
        .repo
        .revert_commit(target, &head, 0, None)
        .map_err(lib("cannot compute the revert"))?;
    if index.has_conflicts() {
        let mut paths = BTreeSet::new();
        for conflict in index.conflicts().map_err(lib("cannot read conflicts"))? {
            let conflict = conflict.map_err(lib("cannot read conflicts"))?;
            for entry in [conflict.our, conflict.their, conflict.ancestor]
                .into_iter()
                .flatten()
            {
                paths.insert(String::from_utf8_lossy(&entry.path).into_owned());
            }
        }
        return Ok((Vec::new(), paths.into_iter().collect()));
    }
    let head_tree = head.tree().map_err(lib("cannot read HEAD's tree"))?;
    let diff = repo
        .repo
        .diff_tree_to_index(Some(&head_tree), Some(&index), None)
        .map_err(lib("cannot diff the revert"))?;
    let text = |oid: git2::Oid| -> Result<Option<String>, GitError> {
        if oid.is_zero() {
            return Ok(None);
        }
        let blob = repo
            .repo
            .find_blob(oid)
            .map_err(lib(format!("cannot read blob {oid}")))?;
        Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
    };
    let mut files = Vec::new();
    for delta in diff.deltas() {
        let path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let after_id = delta.new_file().id();
        files.push(FileDiff {
            path,
            before: text(delta.old_file().id())?,
            after: text(after_id)?,
            after_blob: (!after_id.is_zero()).then_some(after_id),
            secret: false,
        });
    }
    Ok((files, Vec::new()))
}

/// True when the full revert changes more than setting the image back would (then `--image`
/// means a partial revert).
fn differs_from_image_only(plan: &Plan, chosen: &[Bump]) -> Result<bool, RollbackError> {
    let [bump] = chosen else {
        return Ok(true);
    };
    let Ok(version) = Version::parse(&bump.old) else {
        return Ok(true);
    };
    for f in &plan.files {
        let (Some(before), Some(after)) = (&f.before, &f.after) else {
            return Ok(true);
        };
        let file: std::sync::Arc<str> = f.path.as_str().into();
        let (sites, _) = sites::find(&f.path, before);
        let mut splices = Vec::new();
        for site in sites
            .iter()
            .filter(|s| s.matches(&bump.image) && s.version() == bump.new)
        {
            splices.extend(bump::set_version(&file, before, site, &version)?.unwrap_or_default());
        }
        if normalise(&bump::apply(before, &splices)) != normalise(after) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// What a partial revert changes.
struct Partial {
    files: Vec<FileDiff>,
    setters: Vec<String>,
    pinned: Vec<String>,
    warnings: Vec<String>,
}

fn plan_partial(
    repo: &Repo,
    sha: &str,
    image: &str,
    chosen: &[Bump],
    pin: bool,
) -> Result<Partial, RollbackError> {
    let [bump] = chosen else {
        let versions: Vec<String> = chosen
            .iter()
            .map(|b| format!("{} -> {}", b.old, b.new))
            .collect();
        return Err(RollbackError::NotRevertible(format!(
            "{} moved {image} between several versions ({}); switch the tag instead: kubectl gitops rollback --image {image} --to TAG",
            short(sha),
            versions.join(", ")
        )));
    };
    let old = match bump.kind {
        VersionKind::Image => Version::parse(&bump.old).map_err(|_| {
            RollbackError::NotRevertible(format!(
                "{} set {image} where no version was set before ({}); switch the tag instead: kubectl gitops rollback --image {image} --to TAG",
                short(sha),
                bump.old
            ))
        })?,
        // Chart versions and source refs are written back as they were (ranges included).
        VersionKind::Chart | VersionKind::Source => Version {
            tag: Some(bump.old.clone()),
            digest: None,
        },
    };
    let inputs: Vec<PathBuf> = bump
        .files
        .iter()
        .map(|f| repo.workdir.join(f))
        .filter(|p| p.exists())
        .collect();
    let files = FileSet::from_paths(&inputs);
    let planned = bump::plan(
        &files,
        &Target {
            kind: bump.kind,
            image,
            version: &old,
            expect: Some(&bump.new),
            pin,
            only: None,
        },
    )?;
    if planned.changes.is_empty() || !planned.mismatched.is_empty() {
        let now: BTreeSet<String> = planned
            .mismatched
            .iter()
            .chain(&planned.unchanged)
            .map(|c| format!("{} in {}", c.old, relative_display(repo, &c.file)))
            .collect();
        return Err(RollbackError::MovedOn {
            image: image.to_string(),
            commit: short(sha).to_string(),
            now: if now.is_empty() {
                "no longer in the files it changed".into()
            } else {
                now.into_iter().collect::<Vec<_>>().join(", ")
            },
            to: bump.old.clone(),
        });
    }
    Ok(Partial {
        files: file_diffs(repo, planned.edits),
        setters: planned.setters,
        pinned: planned.pinned,
        warnings: planned.warnings,
    })
}

/// Setter comments on the reverted images' sites in the revert's result, pinned when asked.
fn pin_revert_files(plan: &mut Plan) {
    let images: Vec<String> = plan.bumps.iter().map(|b| b.image.clone()).collect();
    for f in &mut plan.files {
        let Some(after) = &f.after else { continue };
        let (pinned, setters, lines) =
            pin_text(&f.path, after, &images, !plan.pin_images.is_empty());
        plan.setters.extend(setters);
        plan.pinned.extend(lines);
        f.after = Some(pinned);
    }
}

/// Finds (and with `pin`, replaces) the setter comments of `images` in a file.
/// Returns the new text, the setters (`file:line policy`) and the pinned lines (`file:line`).
fn pin_text(
    path: &str,
    text: &str,
    images: &[String],
    pin: bool,
) -> (String, Vec<String>, Vec<String>) {
    let (sites, _) = sites::find(path, text);
    let mut splices = Vec::new();
    let mut setters = Vec::new();
    let mut pinned = Vec::new();
    for site in sites.iter().filter(|s| images.iter().any(|i| s.matches(i))) {
        for (start, _, policy) in bump::setters(text, site) {
            let line = 1 + text[..start].matches('\n').count();
            setters.push(format!("{path}:{line} {policy}"));
            if pin {
                pinned.push(format!("{path}:{line}"));
            }
        }
        if pin {
            splices.extend(bump::pin(text, site));
        }
    }
    (bump::apply(text, &splices), setters, pinned)
}

fn bot_identity_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)(\[bot\]|fluxcd|flux-?bot|image-?automation|image-?updater|argocd|renovate|dependabot|github-actions|gitlab-ci|\bci-?bot\b|\bbot@)",
        )
        .expect("valid regex")
    })
}

fn bot_message_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)(image update automation|imageupdateautomation|automatic update of|argocd-image-updater|\$imagepolicy)",
        )
        .expect("valid regex")
    })
}

/// Why a commit looks like it came from image automation (which may bump the tag again).
fn automation_reasons(commit: &git2::Commit<'_>, setters: &[String]) -> Vec<String> {
    let mut reasons = Vec::new();
    for (role, sig) in [
        ("author", commit.author()),
        ("committer", commit.committer()),
    ] {
        let who = format!(
            "{} <{}>",
            sig.name().unwrap_or_default(),
            sig.email().unwrap_or_default()
        );
        if bot_identity_re().is_match(&who) && !reasons.iter().any(|r: &String| r.contains(&who)) {
            reasons.push(format!(
                "{} was made by {role} {who}",
                short(&commit.id().to_string())
            ));
        }
    }
    if bot_message_re().is_match(commit.message().unwrap_or_default()) {
        reasons.push(format!(
            "{} has an image automation message",
            short(&commit.id().to_string())
        ));
    }
    reasons.extend(automation_reasons_from_setters(setters));
    reasons
}

fn automation_reasons_from_setters(setters: &[String]) -> Vec<String> {
    setters
        .iter()
        .map(|s| format!("Flux setter at {s}"))
        .collect()
}

/// Applies a plan as one new commit on the current branch, holding the clone's lock. The
/// files it writes must be exactly HEAD's; on any failure they, the index and the branch are
/// put back byte for byte (never with `git reset --hard`). Returns the new commit's sha.
pub fn apply(repo: &Repo, plan: &Plan) -> Result<String, RollbackError> {
    let _lock = guard::lock(repo)?;
    preflight(repo)?;
    if let Some(head) = plan.head {
        guard::still_at(repo, head)?;
    }
    let paths: Vec<String> = plan.files.iter().map(|f| f.path.clone()).collect();
    guard::check_pristine(repo, &paths)?;
    let status = repo.status_snapshot()?;
    let snapshot = Snapshot::take(repo, &paths)?;
    match write_and_commit(repo, plan) {
        Ok(sha) => Ok(sha),
        Err(cause) => match snapshot.restore(repo) {
            Ok(()) if snapshot.is_intact(repo) => Err(RollbackError::Restored(Box::new(cause))),
            _ => Err(RollbackError::NotRestored {
                before: if status.is_empty() {
                    "(clean)".into()
                } else {
                    status
                },
                cause: Box::new(cause),
            }),
        },
    }
}

/// Writes the plan's files (a revert's blobs, or the edited texts) and commits exactly them.
fn write_and_commit(repo: &Repo, plan: &Plan) -> Result<String, RollbackError> {
    let mut staged: Vec<String> = Vec::new();
    for f in &plan.files {
        let path = repo.workdir.join(&f.path);
        if plan.mode != Mode::Revert {
            let now = std::fs::read_to_string(&path).ok();
            if now != f.before {
                return Err(RollbackError::Changed(f.path.clone()));
            }
        }
        match (&f.after_blob, &f.after) {
            (Some(id), _) => {
                let blob = repo
                    .repo
                    .find_blob(*id)
                    .map_err(lib(format!("cannot read the reverted {}", f.path)))?;
                write_bytes(&path, blob.content())?;
            }
            (None, Some(text)) => write_bytes(&path, text.as_bytes())?,
            (None, None) => {
                std::fs::remove_file(&path).map_err(|source| GitError::Io {
                    what: "remove",
                    path: f.path.clone(),
                    source,
                })?;
            }
        }
        staged.push(f.path.clone());
    }
    if plan.mode == Mode::Revert && !plan.pin_images.is_empty() {
        for f in &plan.files {
            let path = repo.workdir.join(&f.path);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let (pinned, _, lines) = pin_text(&f.path, &text, &plan.pin_images, true);
            if !lines.is_empty() {
                write_bytes(&path, pinned.as_bytes())?;
            }
        }
    }
    Ok(commit::commit(
        repo,
        &staged,
        &plan.message,
        &plan.trailers,
        true,
    )?)
}

fn write_bytes(path: &std::path::Path, bytes: &[u8]) -> Result<(), GitError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| GitError::Io {
            what: "create",
            path: dir.display().to_string(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| GitError::Io {
        what: "write",
        path: path.display().to_string(),
        source,
    })
}

/// Where `git push` sends the current branch.
#[derive(Clone, Debug, Serialize)]
pub struct PushTarget {
    pub remote: String,
    /// The remote branch (`refs/heads/...`).
    pub branch: String,
}

impl PushTarget {
    /// The command to push, as a person would type it.
    pub fn command(&self) -> String {
        format!(
            "git push {} HEAD:{}",
            self.remote,
            self.branch.trim_start_matches("refs/heads/")
        )
    }
}

/// The remote and branch the current branch pushes to: git's own choice (`pushRemote`,
/// `remote.pushDefault`, the upstream), or `origin` and the same name.
pub fn push_target(repo: &Repo) -> Result<PushTarget, GitError> {
    let head = repo.repo.head().map_err(lib("cannot read HEAD"))?;
    let branch = head.shorthand().unwrap_or("HEAD").to_string();
    let config = repo.repo.config().map_err(lib("cannot read git config"))?;
    let get = |key: String| config.get_string(&key).ok();
    let upstream_remote = get(format!("branch.{branch}.remote"));
    let remote = get(format!("branch.{branch}.pushRemote"))
        .or_else(|| get("remote.pushDefault".into()))
        .or_else(|| upstream_remote.clone())
        .or_else(|| {
            repo.repo
                .find_remote("origin")
                .ok()
                .map(|_| "origin".to_string())
        })
        .ok_or_else(|| GitError::Command {
            command: "push".into(),
            message: format!(
                "branch {branch} has no remote to push to; add one: git remote add origin URL"
            ),
        })?;
    let merge = get(format!("branch.{branch}.merge"));
    let dst = match (upstream_remote, merge) {
        (Some(up), Some(merge)) if up == remote => merge,
        _ => format!("refs/heads/{branch}"),
    };
    Ok(PushTarget {
        remote,
        branch: dst,
    })
}

/// How a push ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pushed {
    Yes,
    /// The remote has commits this branch does not: pull first.
    Behind,
    /// A local pre-push hook refused (its message is git's output).
    HookRefused,
    /// The remote refused (a pre-receive hook, branch protection), with git's reason.
    RemoteRefused(String),
    /// Anything else (the remote unreachable, credentials), with git's last line.
    Failed(String),
}

impl Pushed {
    /// What to do next, for the message after a failed push.
    pub fn advice(&self) -> String {
        match self {
            Pushed::Yes => String::new(),
            Pushed::Behind => {
                "the remote has commits this branch does not; pull, then push again (never with --force)".into()
            }
            Pushed::HookRefused => {
                "a pre-push hook refused it (its message is above); fix what it reports, then push again".into()
            }
            Pushed::RemoteRefused(why) => format!(
                "the remote refused it ({why}); ask for the branch to be opened, or push to another branch"
            ),
            Pushed::Failed(why) => format!("git could not push: {why}"),
        }
    }
}

/// Pushes HEAD with the git CLI (credential helpers and the pre-push hook apply), never with
/// force, and says how it went. Git's messages are passed on to stderr as they are.
pub fn push(repo: &Repo, target: &PushTarget) -> Result<Pushed, GitError> {
    let refspec = format!("HEAD:{}", target.branch);
    let out = std::process::Command::new("git")
        .current_dir(&repo.workdir)
        .args(["push", "--porcelain", &target.remote, &refspec])
        .stdin(std::process::Stdio::inherit())
        .output()
        .map_err(GitError::Spawn)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    if out.status.success() {
        return Ok(Pushed::Yes);
    }
    // `--porcelain` prints one `FLAG\tFROM:TO\tSUMMARY (REASON)` line per ref on stdout.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let refs: Vec<&str> = stdout.lines().filter(|l| l.starts_with('!')).collect();
    let reason = |line: &str| {
        line.rsplit_once('(')
            .map(|(_, r)| r.trim_end_matches(')').to_string())
            .unwrap_or_else(|| line.to_string())
    };
    Ok(match refs.first() {
        Some(line) if line.contains("[rejected]") => Pushed::Behind,
        Some(line) if line.contains("[remote rejected]") => Pushed::RemoteRefused(reason(line)),
        Some(line) => Pushed::Failed(reason(line)),
        // No ref was tried: a pre-push hook stopped git before it talked to the remote, or
        // the remote could not be reached at all.
        None if stderr.contains("fatal:") => Pushed::Failed(
            stderr
                .lines()
                .rfind(|l| l.starts_with("fatal:"))
                .unwrap_or("")
                .trim_start_matches("fatal:")
                .trim()
                .to_string(),
        ),
        None => Pushed::HookRefused,
    })
}
