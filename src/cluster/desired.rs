//! The desired state to hold the cluster against: the objects of a Git revision (or the
//! working tree), rendered like `validate` renders them, scoped by paths or by the apps of
//! `.gitops.yaml`, grouped by the kube context each app is deployed with.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::config::{self, Config};
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::{self, FileSet, LoadOptions, ObjectId};

/// Where the manifests come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revision {
    /// Files on disk, committed or not.
    WorkingTree,
    /// A commit (`HEAD`, a branch, a tag, a sha).
    Ref(String),
}

/// What to compare.
#[derive(Clone, Debug)]
pub struct Selection {
    pub revision: Revision,
    /// Paths (relative to the current directory); empty means the apps of `.gitops.yaml`,
    /// or the whole repository without them.
    pub paths: Vec<PathBuf>,
    /// Apps of `.gitops.yaml` to limit to (all when empty).
    pub apps: Vec<String>,
    /// Namespace for objects without one (`-n`); otherwise the app's, then the context's.
    pub namespace: Option<String>,
}

/// One object from Git.
#[derive(Clone, Debug)]
pub struct DesiredObject {
    /// Identity as written (the namespace may still be missing).
    pub id: ObjectId,
    /// The JSON kubectl would send.
    pub body: Value,
    /// `file:line` (or the renderer input) for messages.
    pub source: String,
    /// Namespace for it when it has none and its kind is namespaced: `-n` or its app's; the
    /// context's otherwise.
    pub default_namespace: Option<String>,
}

/// The objects deployed with one kube context (`None`: the flag's or the current one).
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub context: Option<String>,
    pub objects: Vec<DesiredObject>,
    /// App names in this target, which controllers may use as tracking values.
    pub apps: Vec<String>,
}

/// Everything read for a run.
pub struct Desired {
    /// The repository, when there is one.
    pub repo: Option<git2::Repository>,
    /// The commit compared (for `Ref`), or HEAD for the working tree when there is one.
    pub commit: Option<git2::Oid>,
    /// `HEAD (1a2b3c4)` or `working tree`, for messages.
    pub label: String,
    pub targets: Vec<Target>,
    /// Repository paths in scope (empty: all), to match controllers against.
    pub scope: Vec<String>,
    /// Problems reading the manifests (errors make the desired state unusable).
    pub diagnostics: Vec<Diagnostic>,
}

/// Why the desired state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    /// A revision was asked for outside a git repository.
    #[error(
        "not a git repository, so there is no {revision} to compare: run inside a clone, or pass --working-tree"
    )]
    NotARepo { revision: String },
    /// The revision does not name a commit.
    #[error("{revision:?} is not a commit of this repository")]
    BadRevision {
        revision: String,
        source: git2::Error,
    },
    /// Reading the commit's files failed.
    #[error("cannot read the files of {revision}")]
    Tree {
        revision: String,
        source: git2::Error,
    },
    /// `.gitops.yaml` is invalid.
    #[error("the .gitops.yaml settings are invalid; fix or remove them")]
    Config(#[from] config::ConfigError),
    /// `--app` names an app `.gitops.yaml` does not have.
    #[error("no app {name:?} in .gitops.yaml (apps: {known})")]
    UnknownApp { name: String, known: String },
    /// The current directory cannot be read.
    #[error("cannot read the current directory")]
    Cwd(#[source] std::io::Error),
}

/// One part of the repository to load, with where it is deployed.
struct Scope {
    /// Repository-relative paths (`""` for the whole repository).
    paths: Vec<String>,
    namespace: Option<String>,
    context: Option<String>,
    app: Option<String>,
}

/// Reads the desired state.
pub fn load(selection: &Selection) -> Result<Desired, DesiredError> {
    let cwd = std::env::current_dir().map_err(DesiredError::Cwd)?;
    let repo = git2::Repository::discover(&cwd).ok();
    let workdir = repo
        .as_ref()
        .and_then(|r| r.workdir().map(Path::to_path_buf));
    let root = workdir.clone().unwrap_or_else(|| cwd.clone());
    let config = Config::load(&root)?;

    let scopes = scopes(selection, &config, &cwd, &root)?;
    let mut diagnostics = Vec::new();
    let mut targets: BTreeMap<Option<String>, Target> = BTreeMap::new();

    let (commit, label) = match &selection.revision {
        Revision::WorkingTree => (
            repo.as_ref()
                .and_then(|r| r.head().ok())
                .and_then(|h| h.peel_to_commit().ok())
                .map(|c| c.id()),
            "working tree".to_string(),
        ),
        Revision::Ref(revision) => {
            let repo = repo.as_ref().ok_or_else(|| DesiredError::NotARepo {
                revision: revision.clone(),
            })?;
            let commit = repo
                .revparse_single(revision)
                .and_then(|o| o.peel_to_commit())
                .map_err(|source| DesiredError::BadRevision {
                    revision: revision.clone(),
                    source,
                })?;
            let short = commit.id().to_string()[..7].to_string();
            (Some(commit.id()), format!("{revision} ({short})"))
        }
    };

    for scope in &scopes {
        let files = match (&selection.revision, &repo) {
            (Revision::Ref(revision), Some(repo)) => {
                let commit = repo
                    .find_commit(commit.expect("a Ref revision resolved to a commit above"))
                    .map_err(|source| DesiredError::Tree {
                        revision: revision.clone(),
                        source,
                    })?;
                let tree = commit.tree().map_err(|source| DesiredError::Tree {
                    revision: revision.clone(),
                    source,
                })?;
                let prefixes: Vec<String> = scope
                    .paths
                    .iter()
                    .filter(|p| !p.is_empty())
                    .cloned()
                    .collect();
                FileSet::from_git_tree(repo, &tree, &prefixes).map_err(|source| {
                    DesiredError::Tree {
                        revision: revision.clone(),
                        source,
                    }
                })?
            }
            _ => {
                let paths: Vec<PathBuf> = scope
                    .paths
                    .iter()
                    .map(|p| disk_path(&cwd, &root, p))
                    .collect();
                FileSet::from_paths(&paths)
            }
        };
        let manifests = manifest::load(&files, &LoadOptions::default());
        // Bases and components are deployed through the overlays that build on them; on
        // their own they would show as Missing (or as a second copy in another namespace).
        let included = manifest::kustomize::included(&files);
        diagnostics.extend(manifests.diagnostics);
        let target = targets.entry(scope.context.clone()).or_default();
        target.context = scope.context.clone();
        if let Some(app) = &scope.app {
            target.apps.push(app.clone());
        }
        for object in &manifests.objects {
            let unit_dir = &manifests.units[object.unit].dir;
            if included.contains(&**unit_dir) || included.contains(&*object.file) {
                continue;
            }
            let Some(id) = object.id() else {
                let (file, line) = object.locate(&object.node);
                diagnostics.push(Diagnostic::file(
                    Severity::Warning,
                    file,
                    line,
                    "identity",
                    format!(
                        "{} has no apiVersion, kind or name (generateName objects cannot be compared); skipped",
                        object.label()
                    ),
                ));
                continue;
            };
            let (file, line) = object.locate(&object.node);
            target.objects.push(DesiredObject {
                id,
                body: object.node.to_json(),
                source: match line {
                    Some(line) => format!("{file}:{line}"),
                    None => file.to_string(),
                },
                default_namespace: selection
                    .namespace
                    .clone()
                    .or_else(|| scope.namespace.clone()),
            });
        }
    }
    let scope: Vec<String> = scopes
        .iter()
        .flat_map(|s| s.paths.iter().cloned())
        .collect();
    Ok(Desired {
        repo,
        commit,
        label,
        targets: targets.into_values().collect(),
        scope: if scope.iter().any(String::is_empty) {
            Vec::new()
        } else {
            scope
        },
        diagnostics,
    })
}

fn scopes(
    selection: &Selection,
    config: &Config,
    cwd: &Path,
    root: &Path,
) -> Result<Vec<Scope>, DesiredError> {
    if !selection.paths.is_empty() {
        return Ok(vec![Scope {
            paths: selection
                .paths
                .iter()
                .map(|p| repo_relative(cwd, root, p))
                .collect(),
            namespace: None,
            context: None,
            app: None,
        }]);
    }
    let known = || {
        let names: Vec<&str> = config.apps.iter().map(|a| a.name.as_str()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    for name in &selection.apps {
        if !config.apps.iter().any(|a| &a.name == name) {
            return Err(DesiredError::UnknownApp {
                name: name.clone(),
                known: known(),
            });
        }
    }
    let apps: Vec<_> = config
        .apps
        .iter()
        .filter(|a| selection.apps.is_empty() || selection.apps.contains(&a.name))
        .collect();
    if apps.is_empty() {
        // The whole repository, or what is under the current directory when run deeper.
        return Ok(vec![Scope {
            paths: vec![repo_relative(cwd, root, Path::new("."))],
            namespace: None,
            context: None,
            app: None,
        }]);
    }
    Ok(apps
        .into_iter()
        .map(|a| Scope {
            paths: vec![normalize(Path::new(&a.path))],
            namespace: a.namespace.clone(),
            context: a.context.clone(),
            app: Some(a.name.clone()),
        })
        .collect())
}

/// A path the user gave (relative to `cwd`) as a repository path (`/`-separated, `""` for
/// the root). Lexical, so it works for paths that exist only in the compared commit.
fn repo_relative(cwd: &Path, root: &Path, path: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let absolute = match absolute.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
            cwd.join(path)
        }
    };
    let relative = absolute
        .strip_prefix(&canonical_root)
        .map(Path::to_path_buf)
        .unwrap_or(absolute);
    normalize(&relative)
}

/// `a/./b/../c` as `a/c`.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts.join("/")
}

/// A repository path as a path on disk, shown relative to the current directory when it is
/// under it (so messages name files the way the user sees them).
fn disk_path(cwd: &Path, root: &Path, repo_path: &str) -> PathBuf {
    let full = root.join(repo_path);
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let full_canonical = full.canonicalize().unwrap_or_else(|_| full.clone());
    match full_canonical.strip_prefix(&cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_repository_paths() {
        assert_eq!(normalize(Path::new("./a/./b/../c/")), "a/c");
        assert_eq!(normalize(Path::new(".")), "");
        let root = Path::new("/nonexistent/repo");
        assert_eq!(
            repo_relative(&root.join("apps"), root, Path::new("prod")),
            "apps/prod"
        );
        assert_eq!(repo_relative(root, root, Path::new(".")), "");
    }
}
