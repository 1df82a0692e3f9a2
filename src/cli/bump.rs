//! `kubectl gitops bump`: set an image's tag in the manifests in place, optionally committing
//! it with `Image-Bump` trailers (the CI step of a GitOps flow).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::{ExitError, GlobalArgs, Outcome, short_digests};
use crate::apps::effective::{Kept, KeptReason, Selection};
use crate::apps::{self, effective};
use crate::git::{self, Repo, guard, trailer};
use crate::manifest::bump::{self, Change, Target, Version};
use crate::manifest::sites::VersionKind;
use crate::manifest::tree::Location;
use crate::manifest::{FileSet, image};
use crate::redact;

pub use super::TextOrJson as Format;

/// Set the version of an image (or, with --chart / --source, of a chart or a source) where
/// each app that uses it reads it, editing only the bytes of the version: comments, quotes,
/// key order, indentation, CRLF line endings and Flux setter comments stay exactly as they are.
///
/// For every app (Flux Kustomization or HelmRelease, Argo CD Application, plain directory)
/// that deploys IMAGE, the place that wins is edited: an Argo CD Image Updater override file
/// over the Application's own settings, over an overlay's `images:`, over patches, over the
/// base manifest; for Helm, inline values and parameters over values files over the chart's
/// values. A place an override shadows is left alone (--all-sources edits it too), and an app
/// that holds an older version in an override of its own is reported, not bumped, unless
/// --path names it. Places are workload containers, kustomize `images:` entries, JSON 6902 and
/// strategic-merge patches, Helm values (`image: {repository, tag}` and `image: repo:tag`),
/// Argo CD `kustomize.images`/`helm.parameters` and Image Updater files.
///
/// --chart sets a Flux HelmRelease's `spec.chart.spec.version` (or an Argo CD chart source's
/// `targetRevision`); --source sets a Flux GitRepository/OCIRepository `spec.ref` (NAME is the
/// source's name) or an Argo CD git source's `targetRevision` (NAME is the Application).
///
/// Exit status: 0 changed (or already at VERSION), 1 NAME not found or nothing could be
/// changed, 2 could not run.
///
/// JSON (-o json): {"kind": "image"|"chart"|"source", "image": NAME, "version",
/// "changes": [{"file", "line", "holder", "image", "old", "new", "apps": [...]}],
/// "unchanged": [same], "kept": [{"file", "line", "holder", "version", "apps",
/// "reason": {"kind": "shadowed", "by"} | {"kind": "pinned", "newest"} | {"kind": "shared",
/// "with"}}], "files": [...], "commit": sha or null, "dryRun": bool, "diff": unified diff,
/// "warnings": [...]}.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops bump ghcr.io/acme/web 1.4.2\n  kubectl gitops bump ghcr.io/acme/web 1.4.2 --path clusters/prod --commit\n  kubectl gitops bump nginx sha256:0123...cdef --dry-run\n  kubectl gitops bump --chart podinfo 6.7.1 --commit\n  kubectl gitops bump --source podinfo 6.7.1 --path clusters/staging"
)]
pub struct BumpArgs {
    /// Image name without tag (ghcr.io/acme/web; Docker Hub images may be short: nginx); with
    /// --chart the chart name, with --source the source (or Argo CD Application) name.
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// New tag, digest (sha256:...) or TAG@DIGEST; with --chart a chart version, with --source
    /// a ref (tag, semver range, branch or commit, in the field the source uses).
    #[arg(value_name = "TAG")]
    pub tag: String,
    /// IMAGE names a Helm chart: set the chart version.
    #[arg(long, conflicts_with = "source")]
    pub chart: bool,
    /// IMAGE names a source (Flux GitRepository/OCIRepository, Argo CD Application): set its ref.
    #[arg(long)]
    pub source: bool,
    /// Only the apps under (or around) this path, and loose files under it (repeatable;
    /// default: every app). Naming an app this way also bumps an older version it pins; a path
    /// inside no app (a base overlays share) edits the places under it as they are.
    #[arg(long = "path", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub paths: Vec<PathBuf>,
    /// Also edit places an override shadows (a base tag under an overlay's `images:`).
    #[arg(long)]
    pub all_sources: bool,
    /// Commit the change: one commit with an `Image-Bump: IMAGE OLD -> NEW` trailer per change
    /// (`Chart-Bump`, `Source-Bump` for charts and sources).
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

/// One change, with the apps it bumps.
#[derive(Serialize)]
struct AppChange<'a> {
    #[serde(flatten)]
    change: &'a Change,
    apps: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    kind: VersionKind,
    image: &'a str,
    version: String,
    changes: Vec<AppChange<'a>>,
    unchanged: Vec<AppChange<'a>>,
    kept: &'a [Kept],
    files: Vec<String>,
    commit: Option<String>,
    dry_run: bool,
    diff: String,
    warnings: &'a [String],
}

/// The version argument for a kind: OCI tag/digest rules for images; a single line for chart
/// versions (semver ranges allowed) and source refs.
fn parse_version(kind: VersionKind, text: &str) -> anyhow::Result<Version> {
    match kind {
        VersionKind::Image => Ok(Version::parse(text)?),
        VersionKind::Chart | VersionKind::Source => {
            if text.trim().is_empty() || text.contains(['\n', '\r']) || text.len() > 256 {
                anyhow::bail!(
                    "{text:?} is not a version: give one line such as 6.7.1, >=6.0.0 <7.0.0 or v1.2.3"
                );
            }
            Ok(Version {
                tag: Some(text.to_string()),
                digest: None,
            })
        }
    }
}

pub fn run(args: BumpArgs, _global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let kind = if args.chart {
        VersionKind::Chart
    } else if args.source {
        VersionKind::Source
    } else {
        bump::check_image_name(&args.image)?;
        VersionKind::Image
    };
    let version = parse_version(kind, &args.tag)?;
    let commit = (args.commit || args.message.is_some()) && !args.dry_run;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let repo = if commit {
        Some(Repo::open().context("--commit needs a git repository")?)
    } else {
        Repo::open().ok()
    };
    // A committing bump holds the clone from planning to commit, and checks first that a
    // commit can go on the branch.
    let _lock = match (&repo, commit) {
        (Some(repo), true) => {
            let lock = guard::lock(repo)?;
            guard::preflight(repo, "commit the bump")?;
            Some(lock)
        }
        _ => None,
    };
    let root = match &repo {
        Some(r) => r.workdir.clone(),
        None => cwd.clone(),
    };
    let mut paths = Vec::new();
    for p in &args.paths {
        paths.push(repo_path(&root, &cwd, p)?);
    }

    // Which sites to edit, decided on the apps of the working tree.
    let config = crate::config::Config::load(&root)?;
    let remotes = repo
        .as_ref()
        .map(|r| apps::repo::remotes_of(&r.repo))
        .unwrap_or_default();
    let (selection, edit_set, problems) = effective::select_in_worktree(
        &root,
        &remotes,
        &config,
        &effective::Want {
            kind,
            name: &args.image,
            paths: &paths,
            all_sources: args.all_sources,
        },
    );
    let target = |only| Target {
        kind,
        image: &args.image,
        version: &version,
        expect: None,
        pin: false,
        only,
    };
    let plan = bump::plan(&edit_set, &target(Some(&selection.edit)))?;
    let mut err = anstream::stderr().lock();
    let mut warnings = plan.warnings.clone();
    warnings.extend(problems);
    for w in &warnings {
        writeln!(err, "warning: {w}")?;
    }
    if !selection.found {
        let set = FileSet::from_root(&root);
        // Every name of the kind in the tree, for the suggestions.
        let mut all = bump::plan(&set, &target(None))?;
        all.searched = set.files.len();
        return Err(no_match(kind, &args.image, &args.paths, &all).into());
    }
    for k in &selection.kept {
        writeln!(err, "note: {}", describe_kept(k))?;
    }
    // A field with a Flux setter comment belongs to image automation, which may move it again.
    for s in &plan.setters {
        let (at, policy) = s.split_once(' ').unwrap_or((s, "?"));
        writeln!(
            err,
            "note: {at}: Flux image automation sets this field (image policy {policy}); it may change it again"
        )?;
    }
    if plan.changes.is_empty() && plan.unchanged.is_empty() {
        return Err(ExitError {
            message: format!(
                "{} {}: nothing changed; every place that names it was left alone (see the notes above)",
                kind.as_str(),
                args.image
            ),
            code: 1,
        }
        .into());
    }

    let diff: String = plan
        .edits
        .iter()
        .map(|e| redact::file_diff(&e.entry.display, &e.before, &e.after, false))
        .collect();
    let mut committed = None;
    if let (Some(repo), true) = (&repo, commit) {
        if plan.edits.is_empty() {
            // Already at the version on disk: say so only if that is also what is committed.
            let files: Vec<String> = plan.unchanged.iter().map(|c| c.file.to_string()).collect();
            guard::check_pristine(repo, &files).context(format!(
                "{} is at {version} in the working tree only; commit that yourself",
                args.image
            ))?;
        } else {
            let paths: Vec<String> = plan
                .edits
                .iter()
                .map(|e| e.entry.display.to_string())
                .collect();
            guard::check_pristine(repo, &paths)?;
            let snapshot = guard::Snapshot::take(repo, &paths)?;
            let message = args
                .message
                .clone()
                .unwrap_or_else(|| format!("Bump {} to {version}", args.image));
            let done = write_edits(&plan).and_then(|()| {
                git::commit::commit(repo, &paths, &message, &trailers(kind, &plan), true)
                    .map_err(anyhow::Error::new)
            });
            match done {
                Ok(sha) => committed = Some(sha),
                Err(e) => {
                    let restored = snapshot.restore(repo).is_ok() && snapshot.is_intact(repo);
                    let context = if restored {
                        "the bump was not committed; the files and the index are as they were"
                    } else {
                        "the bump was not committed, and the files could not all be put back; check git status"
                    };
                    return Err(e.context(context));
                }
            }
        }
    } else if !args.dry_run && !plan.edits.is_empty() {
        write_edits(&plan)?;
    }

    let changes = with_apps(&plan.changes, &selection);
    let unchanged = with_apps(&plan.unchanged, &selection);
    let mut out = anstream::stdout().lock();
    match args.output {
        Format::Json => {
            let report = Report {
                kind,
                image: &args.image,
                version: version.to_string(),
                changes,
                unchanged,
                kept: &selection.kept,
                files: plan
                    .edits
                    .iter()
                    .map(|e| e.entry.display.to_string())
                    .collect(),
                commit: committed.clone(),
                dry_run: args.dry_run,
                diff,
                warnings: &warnings,
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
            for AppChange { change: c, apps } in &changes {
                let change = format!("{} -> {}", c.old, c.new);
                writeln!(
                    out,
                    "{}:{}  {}  {}  {}{}",
                    c.file,
                    c.line,
                    c.holder,
                    c.image,
                    short_digests(&change),
                    apps_suffix(apps)
                )?;
            }
            for AppChange { change: c, apps } in &unchanged {
                writeln!(
                    out,
                    "{}:{}  {}  {}  already at {}{}",
                    c.file,
                    c.line,
                    c.holder,
                    c.image,
                    short_digests(&c.new),
                    apps_suffix(apps)
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

/// The planned changes with the apps each one bumps.
fn with_apps<'a>(changes: &'a [Change], selection: &'a Selection) -> Vec<AppChange<'a>> {
    changes
        .iter()
        .map(|change| AppChange {
            change,
            apps: selection
                .apps_of
                .get(&(change.file.to_string(), change.key.clone()))
                .map_or(&[], Vec::as_slice),
        })
        .collect()
}

fn apps_suffix(apps: &[String]) -> String {
    if apps.is_empty() {
        String::new()
    } else {
        format!("  ({})", apps.join(", "))
    }
}

/// A note on a site `bump` left alone, with how to change it anyway.
fn describe_kept(k: &Kept) -> String {
    let at = format!("{}:{} ({}, {})", k.file, k.line, k.holder, k.version);
    let apps = k.apps.join(", ");
    match &k.reason {
        KeptReason::Shadowed { by } => {
            format!("{at} not changed: {by} overrides it in {apps} (--all-sources changes it too)")
        }
        KeptReason::Pinned { newest } => format!(
            "{at} not changed: {apps} holds {} while others run {newest}; name it with --path to bump it",
            k.version
        ),
        KeptReason::Shared { with } => format!(
            "{at} not changed: it also sets the version of {} outside --path; set it in an overlay of {apps}, or bump without --path",
            with.join(", ")
        ),
    }
}

/// A path given on the command line as a repository path.
fn repo_path(root: &Path, cwd: &Path, path: &Path) -> anyhow::Result<String> {
    let full = cwd.join(path);
    let full = full.canonicalize().unwrap_or(full);
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let rel = full.strip_prefix(&root).map_err(|_| {
        anyhow::anyhow!(
            "--path {} is outside the repository {}",
            path.display(),
            root.display()
        )
    })?;
    Ok(rel.to_string_lossy().replace('\\', "/"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn no_match(kind: VersionKind, image: &str, paths: &[PathBuf], plan: &bump::Plan) -> ExitError {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let last = image.rsplit('/').next().unwrap_or(image);
    let seen = one_name_per_image(&plan.images_seen);
    let similar: Vec<&str> = seen
        .iter()
        .copied()
        .filter(|seen| seen.rsplit('/').next() == Some(last))
        .collect();
    let searched = match kind {
        VersionKind::Image => {
            "workload containers, kustomize images:, patches, Helm values, Argo CD and Image Updater overrides"
        }
        VersionKind::Chart => "HelmRelease and HelmChart chart versions, Argo CD chart sources",
        VersionKind::Source => "GitRepository and OCIRepository refs, Argo CD git sources",
    };
    let where_ = if shown.is_empty() {
        "the repository".to_string()
    } else {
        shown.join(", ")
    };
    let mut message = format!(
        "{} {image} not found in {} YAML file{} under {where_} (searched {searched})",
        kind.as_str(),
        plan.searched,
        plural(plan.searched),
    );
    if !similar.is_empty() {
        message.push_str(&format!("; did you mean {}?", similar.join(" or ")));
    } else if !seen.is_empty() {
        message.push_str(&format!(
            "; {}s found: {}",
            kind.as_str(),
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

/// One `Image-Bump` (`Chart-Bump`, `Source-Bump`) trailer per distinct change.
fn trailers(kind: VersionKind, plan: &bump::Plan) -> Vec<String> {
    let mut seen = BTreeSet::new();
    plan.changes
        .iter()
        .filter(|c| seen.insert((c.image.clone(), c.old.clone(), c.new.clone())))
        .map(|c| {
            format!(
                "{}: {}",
                trailer::bump_key(kind),
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
