//! `kubectl gitops bump`: set an image's tag in the manifests in place, optionally committing
//! it with `Image-Bump` trailers (the CI step of a GitOps flow).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::{ExitError, GlobalArgs, Outcome, short_digests};
use crate::git::{self, Repo, trailer};
use crate::manifest::bump::{self, Change, Target, Version};
use crate::manifest::tree::Location;
use crate::manifest::{FileSet, image};

pub use super::TextOrJson as Format;

/// Set the tag (or digest) of an image everywhere it is deployed, editing only the bytes of
/// the version: comments, quotes, key order, indentation, CRLF line endings and Flux setter
/// comments stay exactly as they are.
///
/// Looks in workload containers (all container lists), kustomize `images:` entries (newTag,
/// digest) and Helm-style values (image.repository + image.tag) under --path (default: the
/// whole repository).
///
/// Exit status: 0 changed (or already at TAG), 1 IMAGE not found, 2 could not run.
///
/// JSON (-o json): {"image", "version", "changes": [{"file", "line", "holder", "image",
/// "old", "new"}], "unchanged": [same], "files": [...], "commit": sha or null,
/// "dryRun": bool, "diff": unified diff, "warnings": [...]}.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops bump ghcr.io/acme/web 1.4.2\n  kubectl gitops bump ghcr.io/acme/web 1.4.2 --path clusters/prod --commit\n  kubectl gitops bump nginx sha256:0123...cdef --dry-run\n  kubectl gitops bump ghcr.io/acme/web 1.4.2 --commit -m \"Release web 1.4.2\""
)]
pub struct BumpArgs {
    /// Image name without tag (ghcr.io/acme/web; Docker Hub images may be short: nginx).
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// New tag, digest (sha256:...) or TAG@DIGEST.
    #[arg(value_name = "TAG")]
    pub tag: String,
    /// File or directory to search (repeatable; default: the whole repository).
    #[arg(long = "path", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub paths: Vec<PathBuf>,
    /// Commit the change: one commit with an `Image-Bump: IMAGE OLD -> NEW` trailer per change.
    #[arg(long)]
    pub commit: bool,
    /// Commit message (default: "Bump IMAGE to TAG"); implies --commit.
    #[arg(short = 'm', long = "message", value_name = "MSG")]
    pub message: Option<String>,
    /// Print the diff and change nothing.
    #[arg(long, conflicts_with_all = ["commit", "message"])]
    pub dry_run: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Format,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    image: &'a str,
    version: String,
    changes: &'a [Change],
    unchanged: &'a [Change],
    files: Vec<String>,
    commit: Option<String>,
    dry_run: bool,
    diff: String,
    warnings: &'a [String],
}

pub fn run(args: BumpArgs, _global: &GlobalArgs) -> anyhow::Result<Outcome> {
    bump::check_image_name(&args.image)?;
    let version = Version::parse(&args.tag)?;
    let commit = (args.commit || args.message.is_some()) && !args.dry_run;
    let repo = if commit {
        Some(Repo::open().context("--commit needs a git repository")?)
    } else {
        Repo::open().ok()
    };
    let paths = if args.paths.is_empty() {
        vec![top_relative(repo.as_ref())]
    } else {
        args.paths.clone()
    };
    let files = FileSet::from_paths(&paths);
    let plan = bump::plan(
        &files,
        &Target {
            image: &args.image,
            version: &version,
            expect: None,
            pin: false,
        },
    )?;
    let mut err = anstream::stderr().lock();
    for w in &plan.warnings {
        writeln!(err, "warning: {w}")?;
    }
    if plan.changes.is_empty() && plan.unchanged.is_empty() {
        return Err(no_match(&args.image, &paths, &plan).into());
    }

    let diff: String = plan
        .edits
        .iter()
        .map(|e| bump::unified_diff(&e.entry.display, &e.before, &e.after))
        .collect();
    let mut committed = None;
    if !args.dry_run && !plan.edits.is_empty() {
        let repo_paths = match (&repo, commit) {
            (Some(repo), true) => Some(check_clean(repo, &plan)?),
            _ => None,
        };
        write_edits(&plan)?;
        if let (Some(repo), Some(repo_paths)) = (&repo, repo_paths) {
            let message = args
                .message
                .clone()
                .unwrap_or_else(|| format!("Bump {} to {version}", args.image));
            match git::commit::commit(repo, &repo_paths, &message, &trailers(&plan), true) {
                Ok(sha) => committed = Some(sha),
                Err(e) => {
                    undo(repo, &plan, &repo_paths);
                    return Err(anyhow::Error::new(e)
                        .context("the bump was not committed; the files are as they were"));
                }
            }
        }
    }

    let mut out = anstream::stdout().lock();
    match args.output {
        Format::Json => {
            let report = Report {
                image: &args.image,
                version: version.to_string(),
                changes: &plan.changes,
                unchanged: &plan.unchanged,
                files: plan
                    .edits
                    .iter()
                    .map(|e| e.entry.display.to_string())
                    .collect(),
                commit: committed.clone(),
                dry_run: args.dry_run,
                diff,
                warnings: &plan.warnings,
            };
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text if args.dry_run => {
            write!(out, "{diff}")?;
            writeln!(
                err,
                "dry run: {} change{} in {} file{}; nothing written",
                plan.changes.len(),
                plural(plan.changes.len()),
                plan.edits.len(),
                plural(plan.edits.len())
            )?;
        }
        Format::Text => {
            for c in &plan.changes {
                let change = format!("{} -> {}", c.old, c.new);
                writeln!(
                    out,
                    "{}:{}  {}  {}  {}",
                    c.file,
                    c.line,
                    c.holder,
                    c.image,
                    short_digests(&change)
                )?;
            }
            for c in &plan.unchanged {
                writeln!(
                    out,
                    "{}:{}  {}  {}  already at {}",
                    c.file,
                    c.line,
                    c.holder,
                    c.image,
                    short_digests(&c.new)
                )?;
            }
            match &committed {
                Some(sha) => writeln!(out, "committed {}", git::short(sha))?,
                None if commit && plan.edits.is_empty() => {
                    writeln!(out, "nothing to commit: already at {version}")?
                }
                None => {}
            }
        }
    }
    Ok(Outcome::Clean)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The top of the repository as a path relative to the current directory, so paths in
/// output stay short (`apps/web.yaml`, or `../apps/web.yaml` from a subdirectory).
fn top_relative(repo: Option<&Repo>) -> PathBuf {
    let depth = repo
        .and_then(|r| r.relative(Path::new(".")).ok())
        .map_or(0, |rel| rel.split('/').filter(|c| !c.is_empty()).count());
    if depth == 0 {
        PathBuf::from(".")
    } else {
        PathBuf::from(vec![".."; depth].join("/"))
    }
}

fn no_match(image: &str, paths: &[PathBuf], plan: &bump::Plan) -> ExitError {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let last = image.rsplit('/').next().unwrap_or(image);
    let seen = one_name_per_image(&plan.images_seen);
    let similar: Vec<&str> = seen
        .iter()
        .copied()
        .filter(|seen| seen.rsplit('/').next() == Some(last))
        .collect();
    let mut message = format!(
        "image {image} not found in {} YAML file{} under {} (searched workload containers, kustomize images: and Helm values)",
        plan.searched,
        plural(plan.searched),
        shown.join(", ")
    );
    if !similar.is_empty() {
        message.push_str(&format!("; did you mean {}?", similar.join(" or ")));
    } else if !seen.is_empty() {
        message.push_str(&format!(
            "; images found: {}",
            list_some(&seen, IMAGES_LISTED)
        ));
    }
    ExitError { message, code: 1 }
}

/// How many image names a not-found message lists before "and N more".
const IMAGES_LISTED: usize = 20;

/// The names of `images`, one per image: `nginx` and `docker.io/library/nginx` pull the same
/// image, and the shorter spelling (the one people write) is kept.
fn one_name_per_image(images: &BTreeSet<String>) -> Vec<&str> {
    let mut by_image: BTreeMap<String, &str> = BTreeMap::new();
    for name in images {
        by_image
            .entry(image::canonical_name(name))
            .and_modify(|kept| {
                if name.len() < kept.len() {
                    *kept = name;
                }
            })
            .or_insert(name);
    }
    let mut names: Vec<&str> = by_image.into_values().collect();
    names.sort_unstable();
    names
}

/// `a, b, c and 7 more`: the first `max` items and the count of the rest, never a silent cut.
fn list_some(items: &[&str], max: usize) -> String {
    let shown = items[..items.len().min(max)].join(", ");
    match items.len().saturating_sub(max) {
        0 => shown,
        rest => format!("{shown} and {rest} more"),
    }
}

/// The repo-relative paths of the files to edit, after checking none has uncommitted
/// changes (they would end up in the bump commit).
fn check_clean(repo: &Repo, plan: &bump::Plan) -> anyhow::Result<Vec<String>> {
    let mut rel = Vec::new();
    for e in &plan.edits {
        rel.push(repo.relative(Path::new(&*e.entry.display))?);
    }
    let mut args = vec!["status", "--porcelain=v1", "--"];
    let specs: Vec<String> = rel.iter().map(|p| format!(":(top,literal){p}")).collect();
    args.extend(specs.iter().map(String::as_str));
    let status = repo.run(&args)?;
    let dirty: BTreeSet<&str> = status
        .lines()
        .filter(|l| !l.starts_with("??"))
        .filter_map(|l| l.get(3..))
        .collect();
    if !dirty.is_empty() {
        anyhow::bail!(
            "uncommitted changes in {}; commit or stash them first (git stash), so the bump commit holds only the bump",
            dirty.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(rel)
}

fn write_edits(plan: &bump::Plan) -> anyhow::Result<()> {
    for e in &plan.edits {
        let Location::Disk(path) = &e.entry.location else {
            anyhow::bail!("{} is not a working-tree file", e.entry.display);
        };
        std::fs::write(path, &e.after)
            .with_context(|| format!("cannot write {}", e.entry.display))?;
    }
    Ok(())
}

/// Puts the files and their index entries back after a failed commit (they were clean).
fn undo(repo: &Repo, plan: &bump::Plan, repo_paths: &[String]) {
    for e in &plan.edits {
        if let Location::Disk(path) = &e.entry.location {
            let _ = std::fs::write(path, &e.before);
        }
    }
    let mut args = vec!["reset", "-q", "--"];
    let specs: Vec<String> = repo_paths
        .iter()
        .map(|p| format!(":(top,literal){p}"))
        .collect();
    args.extend(specs.iter().map(String::as_str));
    let _ = repo.run(&args);
}

/// One `Image-Bump` trailer per distinct change.
fn trailers(plan: &bump::Plan) -> Vec<String> {
    let mut seen = BTreeSet::new();
    plan.changes
        .iter()
        .filter(|c| seen.insert((c.image.clone(), c.old.clone(), c.new.clone())))
        .map(|c| {
            format!(
                "{}: {}",
                trailer::IMAGE_BUMP,
                trailer::format_bump(&c.image, &c.old, &c.new)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_names_are_listed_once() {
        let seen: BTreeSet<String> = [
            "docker.io/library/nginx",
            "nginx",
            "library/nginx",
            "ghcr.io/acme/web",
            "redis",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(
            one_name_per_image(&seen),
            ["ghcr.io/acme/web", "nginx", "redis"]
        );
    }

    #[test]
    fn long_lists_say_how_many_are_left_out() {
        assert_eq!(list_some(&["a", "b"], 2), "a, b");
        assert_eq!(list_some(&["a", "b", "c", "d"], 2), "a, b and 2 more");
    }
}
