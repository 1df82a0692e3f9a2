//! The pre-push check: validate what a push sends, as it is in the pushed commits.
//!
//! git gives the hook one line per ref being pushed. For each we work out the commits the
//! remote does not have yet, the files they changed, and validate those files as they are in
//! the pushed commit (not the working tree), plus what a change affects: kustomize and Helm
//! directories whose inputs changed (and overlays built on them), the CRDs custom resources
//! need, and the custom resources of a changed CRD.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::Command;

use crate::apps::repo::remotes_of;
use crate::config::Config;
use crate::manifest::kustomize;
use crate::manifest::load::{owning_root, parent, render_roots};
use crate::manifest::object::split_api_version;
use crate::manifest::tree::is_yaml_name;
use crate::manifest::{FileSet, LoadOptions, Selection, load};
use crate::validate::{self, Report, builtin::builtins};

/// One line of git's pre-push input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub local_ref: String,
    pub local_sha: String,
    pub remote_ref: String,
    pub remote_sha: String,
}

impl RefUpdate {
    pub fn is_deletion(&self) -> bool {
        is_zero(&self.local_sha)
    }
}

fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// Why the pushed commits could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum PrePushError {
    /// A stdin line was not `<local-ref> <local-sha> <remote-ref> <remote-sha>`.
    #[error(
        "unexpected pre-push input line {0:?}: expected `<local-ref> <local-sha> <remote-ref> <remote-sha>`"
    )]
    BadInput(String),
    /// Running git failed.
    #[error("git {args} failed: {message}")]
    Git { args: String, message: String },
    /// The repository could not be opened or read with libgit2.
    #[error("cannot read the repository: {0}")]
    Repo(#[from] git2::Error),
    /// The pushed commit's `.gitops.yaml` is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Parses git's pre-push stdin.
pub fn parse_updates(input: &str) -> Result<Vec<RefUpdate>, PrePushError> {
    // The same line twice is the same update: checked once, before any git work.
    let mut seen = HashSet::new();
    input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| seen.insert(l.split_whitespace().collect::<Vec<_>>().join(" ")))
        .map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                [local_ref, local_sha, remote_ref, remote_sha] => Ok(RefUpdate {
                    local_ref: local_ref.to_string(),
                    local_sha: local_sha.to_string(),
                    remote_ref: remote_ref.to_string(),
                    remote_sha: remote_sha.to_string(),
                }),
                _ => Err(PrePushError::BadInput(line.to_string())),
            }
        })
        .collect()
}

/// The result of checking one pushed ref.
pub struct RefCheck {
    pub update: RefUpdate,
    /// The pushed commit.
    pub commit: String,
    /// Files the pushed commits changed.
    pub changed: usize,
    pub report: Report,
}

fn git(repo: &Path, args: &[&str]) -> Result<String, PrePushError> {
    let out = Command::new("git")
        .current_dir(repo)
        .args(args)
        .output()
        .map_err(|e| PrePushError::Git {
            args: args.join(" "),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(PrePushError::Git {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checks every ref of a push. Deletions and refs that are not commits are skipped.
pub fn check_push(
    repo_dir: &Path,
    remote: &str,
    updates: &[RefUpdate],
) -> Result<Vec<RefCheck>, PrePushError> {
    let repo = git2::Repository::discover(repo_dir)?;
    let mut checks = Vec::new();
    let mut seen = HashSet::new();
    for update in updates {
        if update.is_deletion() {
            continue;
        }
        // Tags may point at trees or blobs; only commits carry manifests to check.
        let Ok(commit) = repo
            .revparse_single(&update.local_sha)
            .and_then(|o| o.peel_to_commit())
        else {
            continue;
        };
        let commit = commit.id().to_string();
        let remote_known = !is_zero(&update.remote_sha)
            && repo
                .revparse_single(&update.remote_sha)
                .and_then(|o| o.peel_to_commit())
                .is_ok();
        let changed = changed_files(repo_dir, remote, update, &commit, remote_known)?;
        if !seen.insert((commit.clone(), changed.clone())) {
            continue;
        }
        let report = check_commit(&repo, &commit, &changed)?;
        checks.push(RefCheck {
            update: update.clone(),
            commit,
            changed: changed.len(),
            report,
        });
    }
    Ok(checks)
}

/// Files changed by the commits the remote does not have.
fn changed_files(
    repo: &Path,
    remote: &str,
    update: &RefUpdate,
    commit: &str,
    remote_known: bool,
) -> Result<BTreeSet<String>, PrePushError> {
    if remote_known {
        // Fast-forward or force push: what is reachable from the new tip but not the old one.
        changed_paths(repo, &[commit, &format!("^{}", update.remote_sha)])
    } else {
        // New branch (or a remote tip we never fetched): what no ref of that remote has.
        changed_paths(repo, &[commit, "--not", &format!("--remotes={remote}")])
    }
}

/// Paths changed by the commits `revisions` select (merges against each parent).
fn changed_paths(repo: &Path, revisions: &[&str]) -> Result<BTreeSet<String>, PrePushError> {
    let mut args = vec![
        "log",
        "--format=",
        "--name-only",
        "--no-renames",
        "-m",
        "-z",
    ];
    args.extend(revisions);
    let out = git(repo, &args)?;
    // With `-z` and an empty format every path ends with a NUL and nothing else is printed:
    // a newline is part of a file name, never a separator.
    Ok(out
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect())
}

/// Validates what `changed` affects in `commit`'s tree.
pub fn check_commit(
    repo: &git2::Repository,
    commit: &str,
    changed: &BTreeSet<String>,
) -> Result<Report, PrePushError> {
    let tree = repo.find_commit(git2::Oid::from_str(commit)?)?.tree()?;
    let config = match tree.get_path(Path::new(crate::config::FILE_NAME)) {
        Ok(entry) => {
            let blob = repo.find_blob(entry.id())?;
            Config::parse(
                &String::from_utf8_lossy(blob.content()),
                crate::config::FILE_NAME,
            )?
        }
        Err(_) => Config::default(),
    };
    let set = FileSet::from_git_tree(repo, &tree, &[])?;
    let external = external_crds(repo, &config);
    Ok(check_changes(
        &set,
        changed,
        &config,
        &remotes_of(repo),
        &external,
    ))
}

/// The CRDs of `validation.crds` (repository-relative directories, read from the work tree
/// and cached under `.git/kubectl-gitops/`).
fn external_crds(repo: &git2::Repository, config: &Config) -> validate::crd::External {
    let Some(root) = repo.workdir() else {
        return validate::crd::External::default();
    };
    let dirs: Vec<std::path::PathBuf> = config
        .validation
        .crds
        .iter()
        .map(|d| root.join(d))
        .collect();
    validate::sources::from_dirs(&dirs, Some(&repo.commondir().join("kubectl-gitops")))
}

/// Validates what the changed paths affect in the files `set` lists (a commit's tree, or the
/// working tree listed from the repository root, so both use repo-relative paths).
pub fn check_changes(
    set: &FileSet,
    changed: &BTreeSet<String>,
    config: &Config,
    remotes: &[String],
    external: &validate::crd::External,
) -> Report {
    // With controller objects (or .gitops.yaml apps), what a change affects is the apps
    // whose inputs it touches, rendered as their controllers render them.
    if !config.apps.is_empty() || crate::apps::has_controllers(set) {
        let options = crate::apps::Options {
            changed: Some(changed.clone()),
            ..crate::apps::Options::default()
        };
        let mut loaded = crate::apps::load(set, remotes, config, &options);
        let extra = crds_elsewhere(set, &mut loaded.manifests);
        let mut report = validate::validate(&loaded.manifests, &config.validation, external);
        // The CRDs read only for their schemas are not what the push is about.
        report.diagnostics.retain(|d| !extra.contains(&*d.file));
        return report;
    }
    // Changed paths listed with a problem (a symlink out of the repository) are reported too.
    let in_tree: HashSet<&str> = set
        .files
        .iter()
        .map(|f| &*f.display)
        .chain(set.problems.iter().map(|d| &*d.file))
        .collect();

    let roots = affected_roots(set, changed);
    let changed_dirs: HashSet<&str> = changed.iter().map(|p| parent(p)).collect();
    let mut report_files: HashSet<String> = changed
        .iter()
        .filter(|p| in_tree.contains(p.as_str()))
        .cloned()
        .collect();
    let mut selection = Selection {
        files: report_files.clone(),
        roots: roots.clone(),
    };
    let options = |selection: &Selection| LoadOptions {
        render: true,
        only: Some(selection.clone()),
        stop_at: None,
    };
    let mut manifests = load(set, &options(&selection));

    let mut extra = same_name_siblings(set, &manifests, &selection, &changed_dirs);
    extra.extend(related_files(
        set,
        &manifests,
        &selection,
        &mut report_files,
    ));
    if !extra.is_empty() {
        selection.files.extend(extra);
        manifests = load(set, &options(&selection));
    }
    let mut report = validate::validate(&manifests, &config.validation, external);
    report.diagnostics.retain(|d| {
        report_files.contains(&*d.file)
            || (d.rule == "duplicate" && changed_dirs.contains(parent(&d.file)))
            || roots
                .iter()
                .any(|r| crate::manifest::tree::under(&d.file, r))
    });
    report
}

/// The (group, kind) of every CRD among the objects.
fn crd_kinds(manifests: &crate::manifest::Manifests) -> HashSet<(String, String)> {
    manifests
        .objects
        .iter()
        .filter(|o| o.kind() == Some("CustomResourceDefinition"))
        .filter_map(|o| {
            let group = o.node.path(&["spec", "group"])?.as_str()?;
            let kind = o.node.path(&["spec", "names", "kind"])?.as_str()?;
            Some((group.to_string(), kind.to_string()))
        })
        .collect()
}

/// True when a custom resource among the objects has no CRD among `have`.
fn needs_crd(manifests: &crate::manifest::Manifests, have: &HashSet<(String, String)>) -> bool {
    let builtins = builtins();
    manifests.objects.iter().any(|o| {
        let (Some(av), Some(kind)) = (o.api_version(), o.kind()) else {
            return false;
        };
        let (group, _) = split_api_version(av);
        builtins.kind(av, kind).is_none()
            && !builtins.is_builtin_group(group)
            && !have.contains(&(group.to_string(), kind.to_string()))
    })
}

/// The CRDs of the repository that the rendered custom resources need and the apps a push
/// touches do not hold, added to `manifests` for their schemas. Returns the files they came
/// from. A byte search finds the few files worth parsing.
fn crds_elsewhere(set: &FileSet, manifests: &mut crate::manifest::Manifests) -> HashSet<String> {
    let have = crd_kinds(manifests);
    let needs = needs_crd(manifests, &have);
    let mut files = HashSet::new();
    if !needs {
        return files;
    }
    let loaded: HashSet<&str> = manifests.objects.iter().map(|o| &*o.file).collect();
    let wanted: Vec<bool> = set
        .files
        .iter()
        .map(|f| is_yaml_name(&f.display) && !loaded.contains(&*f.display))
        .collect();
    let mut crds = Vec::new();
    for (entry, bytes) in set.files.iter().zip(set.read_wanted(&wanted)) {
        let Some(Ok(bytes)) = bytes else { continue };
        if !String::from_utf8_lossy(&bytes).contains("CustomResourceDefinition") {
            continue;
        }
        for (doc_index, node) in crate::manifest::load::parse_objects(entry, Ok(bytes)).0 {
            if node.get("kind").and_then(|k| k.as_str()) == Some("CustomResourceDefinition") {
                files.insert(entry.display.to_string());
                crds.push(crate::manifest::Object {
                    file: entry.display.clone(),
                    doc_index,
                    node,
                    unit: 0,
                    origin: crate::manifest::Origin::File,
                });
            }
        }
    }
    // A unit of their own, so they are never taken for duplicates of an app's objects.
    let unit = manifests.units.len();
    manifests.units.push(crate::manifest::Unit {
        dir: "".into(),
        kind: crate::manifest::UnitKind::Directory,
        app: "CRDs read for their schemas".into(),
    });
    manifests.objects.extend(crds.into_iter().map(|mut o| {
        o.unit = unit;
        o
    }));
    files
}

/// Files beside the changed ones that mention a changed object's name: the only ones that can
/// hold a duplicate of it in the same apply unit (a directory). A substring test on the bytes
/// spares parsing the rest of the directory.
fn same_name_siblings(
    set: &FileSet,
    manifests: &crate::manifest::Manifests,
    selection: &Selection,
    changed_dirs: &HashSet<&str>,
) -> Vec<String> {
    let names: HashSet<&str> = manifests.objects.iter().filter_map(|o| o.name()).collect();
    if names.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<bool> = set
        .files
        .iter()
        .map(|f| {
            changed_dirs.contains(parent(&f.display)) && !selection.files.contains(&*f.display)
        })
        .collect();
    set.files
        .iter()
        .zip(set.read_wanted(&wanted))
        .filter_map(|(f, bytes)| {
            let bytes = bytes?.ok()?;
            let text = String::from_utf8_lossy(&bytes);
            names
                .iter()
                .any(|n| text.contains(n))
                .then(|| f.display.to_string())
        })
        .collect()
}

/// The check pre-commit and prek run (`kubectl gitops hook pre-commit FILES...`). At their
/// pre-push stage they set PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF instead of giving git's
/// stdin: the pushed commits are checked as the native hook checks them. Otherwise the named
/// files are checked as they are on disk (the framework has stashed unstaged changes), with
/// what they affect, like a push of them would be.
pub fn check_framework(
    cwd: &Path,
    files: &[String],
    range: Option<(String, String)>,
) -> Result<Report, PrePushError> {
    let repo = git2::Repository::discover(cwd)?;
    let Some(root) = repo.workdir().map(Path::to_path_buf) else {
        return Err(PrePushError::Repo(git2::Error::from_str(
            "a bare repository has no files to check",
        )));
    };
    if let Some((from, to)) = range {
        let commit = repo
            .revparse_single(&to)
            .and_then(|o| o.peel_to_commit())?
            .id()
            .to_string();
        let from_known = repo
            .revparse_single(&from)
            .and_then(|o| o.peel_to_commit())
            .is_ok();
        let range = if from_known && !is_zero(&from) {
            format!("{from}..{commit}")
        } else {
            commit.clone()
        };
        let changed = changed_paths(&root, &[&range])?;
        return check_commit(&repo, &commit, &changed);
    }
    // Names are relative to where the framework ran us; the listing is from the root.
    let cwd_abs = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let root_abs = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let changed: BTreeSet<String> = files
        .iter()
        .map(|f| {
            let abs = cwd_abs.join(f);
            let rel = abs
                .strip_prefix(&root_abs)
                .map(Path::to_path_buf)
                .unwrap_or(abs);
            kustomize::normalize(&rel.to_string_lossy())
        })
        .collect();
    let config = Config::load(&root)?;
    let set = FileSet::from_root(&root);
    let external = external_crds(&repo, &config);
    Ok(check_changes(
        &set,
        &changed,
        &config,
        &remotes_of(&repo),
        &external,
    ))
}

/// Kustomize/Helm directories a change affects: those containing a changed file, those whose
/// kustomization refers to a changed path, and (transitively) overlays built on those.
fn affected_roots(set: &FileSet, changed: &BTreeSet<String>) -> HashSet<String> {
    let roots = render_roots(&set.files);
    let refs = kustomize::references(set);
    let mut affected: HashSet<String> = changed
        .iter()
        .filter_map(|c| owning_root(&roots, c).map(|r| r.dir.to_string()))
        .collect();
    loop {
        let before = affected.len();
        for (dir, targets) in &refs {
            if affected.contains(dir) {
                continue;
            }
            let hit = targets.iter().any(|t| {
                changed.iter().any(|c| crate::manifest::tree::under(c, t))
                    || affected.iter().any(|a| crate::manifest::tree::under(a, t))
            });
            if hit {
                affected.insert(dir.clone());
            }
        }
        if affected.len() == before {
            return affected;
        }
    }
}

/// Files outside the selection that checking it needs: CRDs for its custom resources (read
/// only for their schemas), and the custom resources of CRDs it changes (checked again).
fn related_files(
    set: &FileSet,
    manifests: &crate::manifest::Manifests,
    selection: &Selection,
    report_files: &mut HashSet<String>,
) -> Vec<String> {
    let crd_kinds = crd_kinds(manifests);
    let needs_crd = needs_crd(manifests, &crd_kinds);
    let changed_crd_kinds: Vec<&str> = crd_kinds
        .iter()
        .filter(|_| {
            manifests.objects.iter().any(|o| {
                o.kind() == Some("CustomResourceDefinition") && report_files.contains(&*o.file)
            })
        })
        .map(|(_, k)| k.as_str())
        .collect();
    if !needs_crd && changed_crd_kinds.is_empty() {
        return Vec::new();
    }
    // Only now read the rest of the tree, and only as bytes: a substring test is enough to
    // find the few files worth parsing.
    let wanted: Vec<bool> = set
        .files
        .iter()
        .map(|f| is_yaml_name(&f.display) && !selection.files.contains(&*f.display))
        .collect();
    let contents = set.read_wanted(&wanted);
    let mut extra = Vec::new();
    for (f, bytes) in set.files.iter().zip(contents) {
        let Some(Ok(bytes)) = bytes else { continue };
        let text = String::from_utf8_lossy(&bytes);
        if needs_crd && text.contains("CustomResourceDefinition") {
            extra.push(f.display.to_string());
        }
        if changed_crd_kinds
            .iter()
            .any(|k| text.contains(&format!("kind: {k}")))
        {
            extra.push(f.display.to_string());
            report_files.insert(f.display.to_string());
        }
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_git_input() {
        let updates = parse_updates(
            "refs/heads/main 1111 refs/heads/main 0000\n\nrefs/heads/x 0000 refs/heads/x 2222\n",
        )
        .unwrap();
        assert_eq!(updates.len(), 2);
        assert!(!updates[0].is_deletion());
        assert!(updates[1].is_deletion());
        assert!(parse_updates("garbage\n").is_err());
        let same = "refs/heads/main 1111 refs/heads/main 0000\n".repeat(20_000);
        assert_eq!(parse_updates(&same).unwrap().len(), 1);
    }
}
