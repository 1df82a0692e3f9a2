//! The desired state to hold the cluster against: the objects of every app of a Git revision
//! (or the working tree), as `apps` renders them, scoped by paths or app names, grouped by the
//! kube context each app is deployed with.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::apps::{self, OpenError};
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::ObjectId;

pub use crate::apps::Revision;

/// What to compare.
#[derive(Clone, Debug)]
pub struct Selection {
    pub revision: Revision,
    /// Paths (relative to the current directory); empty means every app.
    pub paths: Vec<PathBuf>,
    /// Apps to limit to, by name or unique end of one (all when empty).
    pub apps: Vec<String>,
    /// Namespace for objects without one (`-n`); otherwise the app's, then the context's.
    pub namespace: Option<String>,
    /// Render only the apps these repository paths touch (`diff --from/--to`); `None`: all.
    pub changed: Option<BTreeSet<String>>,
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
    /// The app it belongs to: the same object in two apps is two objects.
    pub app: String,
}

/// The objects deployed with one kube context (`None`: the flag's or the current one).
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub context: Option<String>,
    pub objects: Vec<DesiredObject>,
    /// App names in this target, which controllers may use as tracking values.
    pub apps: Vec<String>,
    /// Differences the apps' controllers ignore (Argo CD `ignoreDifferences`), by app.
    pub ignores: crate::cluster::ignore::Ignores,
    /// Some app here is an Argo CD Application (so argocd-cm's rules apply).
    pub argocd: bool,
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
    /// The revision or its apps could not be read.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// `--app` names no app, or several.
    #[error(transparent)]
    App(#[from] apps::AppsError),
    /// The current directory cannot be read.
    #[error("cannot read the current directory")]
    Cwd(#[source] std::io::Error),
}

/// Reads the desired state.
pub fn load(selection: &Selection) -> Result<Desired, DesiredError> {
    let cwd = std::env::current_dir().map_err(DesiredError::Cwd)?;
    let root = crate::config::repo_root(&cwd);
    let scope: Vec<String> = if selection.paths.is_empty() {
        // Run deeper than the root, only what is under the current directory.
        let here = repo_relative(&cwd, &root, Path::new("."));
        if here.is_empty() {
            Vec::new()
        } else {
            vec![here]
        }
    } else {
        selection
            .paths
            .iter()
            .map(|p| repo_relative(&cwd, &root, p))
            .collect()
    };
    let options = apps::Options {
        changed: selection.changed.clone(),
        no_render: false,
        scope: if scope.iter().any(String::is_empty) {
            Vec::new()
        } else {
            scope.clone()
        },
    };
    let opened = apps::open(&cwd, &selection.revision, &options)?;
    let set = &opened.apps;
    let mut wanted: Option<BTreeSet<usize>> = None;
    if !selection.apps.is_empty() {
        let mut chosen = BTreeSet::new();
        for name in &selection.apps {
            let app = apps::find(&set.apps, name)?;
            chosen.insert(
                set.apps
                    .iter()
                    .position(|a| a.name == app.name)
                    .expect("found above"),
            );
        }
        wanted = Some(chosen);
    }
    let mut diagnostics = set.manifests.diagnostics.clone();
    let mut targets: BTreeMap<Option<String>, Target> = BTreeMap::new();
    for (i, app) in set.apps.iter().enumerate() {
        if wanted.as_ref().is_some_and(|w| !w.contains(&i)) {
            continue;
        }
        let target = targets.entry(app.context.clone()).or_default();
        target.context = app.context.clone();
        // Argo CD's tracking label holds the Application's name; a .gitops.yaml app's name is
        // taken to be that too. Plain directories and Flux apps are tracked otherwise.
        let tracking = match app.controller {
            apps::Controller::Argocd => app.object.as_ref().map(|(_, n)| n.clone()),
            apps::Controller::Config => Some(app.name.clone()),
            _ => None,
        };
        if let Some(t) = tracking.filter(|t| is_label_value(t))
            && !target.apps.contains(&t)
        {
            target.apps.push(t);
        }
        target.ignores.add_app(&app.name, &app.ignore_differences);
        target.ignores.expected_managers = opened.config.live.expected_managers.clone();
        target.ignores.injected =
            crate::cluster::injected::Injected::from_config(&opened.config.live.injected);
        target.ignores.argocd_namespace = opened.config.live.argocd_namespace.clone();
        target.argocd |= app.controller == apps::Controller::Argocd;
    }
    for object in &set.manifests.objects {
        if wanted.as_ref().is_some_and(|w| !w.contains(&object.unit)) {
            continue;
        }
        let app = &set.apps[object.unit];
        let target = targets.entry(app.context.clone()).or_default();
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
                .or_else(|| app.namespace.clone()),
            app: app.name.clone(),
        });
    }
    Ok(Desired {
        repo: opened.repo,
        commit: opened.commit,
        label: opened.label,
        targets: targets.into_values().collect(),
        scope: if scope.iter().any(String::is_empty) {
            Vec::new()
        } else {
            scope
        },
        diagnostics,
    })
}

/// A valid label value (what a label selector may hold).
fn is_label_value(v: &str) -> bool {
    v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && v.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
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
