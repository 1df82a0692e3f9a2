//! Apps: the units a controller applies. Every command asks this module for the repository's
//! apps and their objects instead of reading files on its own.
//!
//! An app is a Flux `Kustomization` or `HelmRelease`, an Argo CD `Application` (also those an
//! `ApplicationSet` or an app-of-apps makes), an app of `.gitops.yaml`, or a plain directory
//! (or kustomize/Helm directory) that no controller object claims. Each has a stable name,
//! the repository paths it is built from, how it is rendered, and where it is deployed.

pub mod argocd;
pub mod discover;
pub mod effective;
pub mod flux;
pub mod open;
pub mod render;
pub mod repo;
mod scan_cache;
pub mod substitute;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use crate::config::Config;
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::{self, FileSet, LoadOptions, Manifests, Object, Unit, UnitKind};
pub use open::{OpenError, Opened, Revision, changed_paths, open};
pub use repo::RepoView;

/// Who applies an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Controller {
    Flux,
    Argocd,
    /// An app of `.gitops.yaml`.
    Config,
    /// A directory no controller object claims (`kubectl apply -f`, Portainer).
    Plain,
}

impl Controller {
    pub fn as_str(self) -> &'static str {
        match self {
            Controller::Flux => "flux",
            Controller::Argocd => "argocd",
            Controller::Config => "config",
            Controller::Plain => "plain",
        }
    }
}

/// Settings a controller adds on top of a kustomize build (Flux `Kustomization` spec fields,
/// Argo CD `spec.source.kustomize`). Empty when the directory is built as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overlay {
    pub namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    /// kustomize `patches` entries (`patch`/`path` and `target`), paths as repository paths.
    pub patches: Vec<Json>,
    /// kustomize `images` entries.
    pub images: Vec<Json>,
    /// Component directories (repository paths).
    pub components: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Whether the labels also go into selectors (Argo CD `commonLabels` do; Flux
    /// `commonMetadata` labels do not).
    pub labels_in_selectors: bool,
    pub annotations: BTreeMap<String, String>,
    /// kustomize `replicas` entries.
    pub replicas: Vec<Json>,
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        *self == Overlay::default()
    }

    /// True when nothing but a namespace is set, which we can apply without kustomize.
    pub fn only_namespace(&self) -> bool {
        Overlay {
            namespace: None,
            ..self.clone()
        }
        .is_empty()
    }
}

/// A Helm chart to render (`helm template`).
#[derive(Clone, Debug, PartialEq)]
pub struct HelmChart {
    /// A chart directory in the repository, or a chart reference for `helm template`
    /// (`oci://...`, or a name with `--repo`).
    pub chart: ChartSource,
    pub release: String,
    pub namespace: Option<String>,
    /// Values files (repository paths), in order.
    pub values_files: Vec<String>,
    /// Inline values, applied after the files, in order.
    pub values: Vec<Json>,
    /// `--set` parameters.
    pub parameters: Vec<(String, String)>,
    pub skip_crds: bool,
    /// kustomize patches applied to the output (Flux `postRenderers`).
    pub post_render: Overlay,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ChartSource {
    /// A chart directory of this repository.
    Local(String),
    /// A chart in a Helm or OCI repository.
    Remote {
        name: String,
        version: Option<String>,
        url: String,
    },
}

/// How an app's objects are made.
#[derive(Clone, Debug, PartialEq)]
pub enum Recipe {
    /// The manifests of a directory as they are (Argo CD directory apps, plain directories).
    Directory {
        dir: String,
        recursive: bool,
        include: Vec<String>,
        exclude: Vec<String>,
    },
    /// `kubectl kustomize DIR`, with the controller's overlay on top.
    Kustomize {
        dir: String,
        overlay: Overlay,
    },
    /// A directory without a kustomization that Flux builds with a generated one: every
    /// manifest below it, and the subdirectories that have a kustomization.
    Generated {
        dir: String,
        overlay: Overlay,
    },
    Helm(HelmChart),
    /// Several sources, rendered one after the other (Argo CD `spec.sources`).
    Multi(Vec<Recipe>),
    /// Not rendered, and why (source elsewhere, a chart not available offline).
    None {
        reason: String,
    },
}

impl Recipe {
    pub fn renderer(&self) -> &'static str {
        match self {
            Recipe::Directory { .. } => "directory",
            Recipe::Kustomize { .. } | Recipe::Generated { .. } => "kustomize",
            Recipe::Helm(_) => "helm",
            Recipe::Multi(parts) => parts.first().map_or("none", Recipe::renderer),
            Recipe::None { .. } => "none",
        }
    }
}

/// Flux `postBuild` substitution settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PostBuild {
    pub substitute: BTreeMap<String, String>,
    /// `substituteFrom` references: kind, name, optional.
    pub substitute_from: Vec<(String, String, bool)>,
}

/// One app.
#[derive(Clone, Debug)]
pub struct App {
    /// Stable and unique in the repository: `<cluster>/<namespace>/<name>` for Flux,
    /// `<name>` for Argo CD, the configured name, or the directory for plain apps.
    pub name: String,
    pub controller: Controller,
    /// The controller object's kind (`Kustomization`, `HelmRelease`, `Application`), or
    /// `Directory`/`Kustomize`/`Helm` for plain apps.
    pub kind: String,
    /// The controller object's namespace and name, for references between apps.
    pub object: Option<(String, String)>,
    /// Where the controller object is defined (`file:line`).
    pub defined_in: Option<String>,
    /// The file that defines the controller object (for changed-only).
    pub defined_file: Option<Arc<str>>,
    /// The repository path it is rendered from (`None`: its source is elsewhere).
    pub path: Option<String>,
    /// The cluster entry directory (Flux) or destination (Argo CD).
    pub cluster: Option<String>,
    /// The kube context it is compared with (from `.gitops.yaml`).
    pub context: Option<String>,
    /// Namespace for its namespaced objects that have none.
    pub namespace: Option<String>,
    pub recipe: Recipe,
    pub post_build: Option<PostBuild>,
    /// Names of the apps it waits for (Flux `dependsOn`).
    pub depends_on: Vec<String>,
    /// Raw `dependsOn` references (namespace, name), resolved into `depends_on` at the end.
    pub depends_refs: Vec<(String, String)>,
    /// The app whose objects define this one (app-of-apps, Flux parent Kustomization).
    pub parent: Option<usize>,
    /// Problems with the app itself: not rendered, unresolved variables.
    pub problems: Vec<Diagnostic>,
    /// Repository paths (files and directories) it is built from.
    pub inputs: BTreeSet<String>,
    /// The kubeconfig Secret a Flux object applies with (`spec.kubeConfig`): its objects go
    /// to that remote cluster, not to the one the controller runs in.
    pub remote: Option<String>,
    /// Differences its controller ignores (Argo CD `spec.ignoreDifferences` entries).
    pub ignore_differences: Vec<Json>,
}

impl App {
    /// An app with nothing set but who applies it, what it is and what it is rendered from;
    /// the readers of each controller fill in the rest.
    pub fn new(controller: Controller, kind: impl Into<String>, recipe: Recipe) -> App {
        App {
            name: String::new(),
            controller,
            kind: kind.into(),
            object: None,
            defined_in: None,
            defined_file: None,
            path: None,
            cluster: None,
            context: None,
            namespace: None,
            recipe,
            post_build: None,
            depends_on: Vec::new(),
            depends_refs: Vec::new(),
            parent: None,
            problems: Vec::new(),
            inputs: BTreeSet::new(),
            remote: None,
            ignore_differences: Vec::new(),
        }
    }

    /// Sets where the controller object is defined.
    pub fn defined_at(mut self, file: &Arc<str>, line: u32) -> App {
        self.defined_in = Some(format!("{file}:{line}"));
        self.defined_file = Some(file.clone());
        self
    }

    /// True when the app's objects were (or can be) rendered here.
    pub fn rendered(&self) -> bool {
        !matches!(self.recipe, Recipe::None { .. })
    }
}

/// The repository's apps with the objects of those that were rendered.
#[derive(Debug, Default)]
pub struct AppSet {
    pub apps: Vec<App>,
    /// Objects of every rendered app (`unit` is the app's index) and of plain files;
    /// `units` has one entry per app.
    pub manifests: Manifests,
}

/// What to load.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Render only the apps whose inputs (or defining file) one of these repository paths
    /// touches, and only these plain files; `None` renders everything.
    pub changed: Option<BTreeSet<String>>,
    /// Do not render kustomize and Helm directories (plain files only).
    pub no_render: bool,
    /// Repository paths to limit to (`validate PATH...`): apps with an input under one of
    /// them, and plain files under them. Empty: everything.
    pub scope: Vec<String>,
}

/// Why apps could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum AppsError {
    /// An app name matches no app.
    #[error("no app {name:?}; apps: {candidates}")]
    Unknown { name: String, candidates: String },
    /// An app name matches several apps.
    #[error("{name:?} matches several apps: {candidates}; give more of the name")]
    Ambiguous { name: String, candidates: String },
}

/// True when a file's bytes may hold a Flux or Argo CD object: they name one of their API
/// groups. A byte search, no parsing.
pub fn may_hold_controller(bytes: &[u8]) -> bool {
    discover::contains(bytes, b"toolkit.fluxcd.io") || discover::contains(bytes, b"argoproj.io")
}

/// True when some file of the listing may hold a Flux or Argo CD object (a byte search, no
/// parsing), so a plain tree of manifests can skip app discovery.
pub fn has_controllers(set: &FileSet) -> bool {
    use rayon::prelude::*;
    let marked = may_hold_controller;
    let wanted: Vec<bool> = set
        .files
        .iter()
        .map(|f| manifest::load::is_manifest_name(&f.display))
        .collect();
    if let Some(git_dir) = set.git_dir() {
        return scan_cache::has_controllers(git_dir, set, &wanted, &marked);
    }
    set.files
        .par_iter()
        .zip(wanted.par_iter())
        .any(|(f, want)| *want && set.read(f).is_ok_and(|b| marked(&b)))
}

/// Discovers and renders the apps of a repository listing (repository-relative paths).
pub fn load(set: &FileSet, remotes: &[String], config: &Config, options: &Options) -> AppSet {
    let repo = RepoView::new(set, remotes);
    let mut found = discover::discover(&repo, config, options);
    let mut diagnostics = std::mem::take(&mut found.diagnostics);

    // Plain files: what no controller app claims.
    let claimed: HashSet<&str> = found
        .apps
        .iter()
        .filter(|a| a.rendered())
        .flat_map(|a| a.inputs.iter().map(String::as_str))
        .collect();
    let is_claimed = |path: &str| {
        claimed.contains(path) || {
            let mut d = manifest::load::parent(path);
            loop {
                if claimed.contains(d) {
                    break true;
                }
                if d.is_empty() {
                    break false;
                }
                d = manifest::load::parent(d);
            }
        }
    };
    let in_scope = |path: &str| {
        options.scope.is_empty() || options.scope.iter().any(|s| manifest::tree::under(path, s))
    };
    let roots = manifest::load::render_roots(&set.files);
    let included = manifest::kustomize::included(set);
    let mut selection = manifest::Selection::default();
    for f in &set.files {
        let path = &*f.display;
        if is_claimed(path) || !in_scope(path) {
            continue;
        }
        // A plain directory is applied as a whole: a change to one of its files makes the
        // directory the unit to read (for pairing objects and finding duplicates).
        let changed = |p: &str| {
            let dir = manifest::load::parent(p);
            options
                .changed
                .as_ref()
                .is_none_or(|c| c.iter().any(|c| manifest::load::parent(c) == dir))
        };
        match manifest::load::owning_root(&roots, path) {
            // A base that overlays build on is deployed through them, not on its own.
            Some(root) if !included.contains(&*root.dir) && !is_claimed(&root.dir) => {
                let affected = options.changed.as_ref().is_none_or(|c| {
                    repo.kustomize_closure(&root.dir)
                        .iter()
                        .any(|input| c.iter().any(|c| manifest::tree::under(c, input)))
                });
                if affected {
                    selection.roots.insert(root.dir.to_string());
                }
            }
            Some(_) => {}
            None if changed(path) => {
                selection.files.insert(path.to_string());
            }
            None => {}
        }
    }
    let plain = manifest::load(
        set,
        &LoadOptions {
            render: !options.no_render,
            only: Some(selection),
            stop_at: None,
        },
    );

    let mut manifests = Manifests {
        diagnostics: plain.diagnostics,
        paths: plain.paths,
        ..Manifests::default()
    };
    for i in 0..found.apps.len() {
        let app = &found.apps[i];
        manifests.units.push(Unit {
            dir: app.path.clone().unwrap_or_default().into(),
            kind: match app.recipe.renderer() {
                "helm" => UnitKind::Helm,
                "kustomize" => UnitKind::Kustomize,
                _ => UnitKind::Directory,
            },
            app: app.name.as_str().into(),
        });
        if let Some(rendered) = found.rendered.remove(&i) {
            found.apps[i].problems.extend(rendered.diagnostics);
            manifests
                .objects
                .extend(rendered.objects.into_iter().map(|mut o| {
                    o.unit = i;
                    o
                }));
        }
    }
    let mut apps = found.apps;
    for app in &mut apps {
        // A chart `helm` could not render is listed as not rendered, with the reason.
        let missing_helm = app
            .problems
            .iter()
            .find(|d| d.message.starts_with(manifest::render::NOT_INSTALLED))
            .map(|d| d.message.clone());
        if let Some(reason) = missing_helm {
            app.recipe = Recipe::None { reason };
        }
        diagnostics.extend(app.problems.iter().cloned());
    }
    // Plain units become plain apps, named by their directory.
    let offset = apps.len();
    for unit in &plain.units {
        let name = if unit.dir.is_empty() {
            ".".to_string()
        } else {
            unit.dir.to_string()
        };
        let mut inputs = BTreeSet::new();
        inputs.insert(unit.dir.to_string());
        let recipe = match unit.kind {
            UnitKind::Kustomize => Recipe::Kustomize {
                dir: unit.dir.to_string(),
                overlay: Overlay::default(),
            },
            UnitKind::Helm => Recipe::Helm(HelmChart {
                chart: ChartSource::Local(unit.dir.to_string()),
                release: name.rsplit('/').next().unwrap_or("release").to_string(),
                namespace: None,
                values_files: Vec::new(),
                values: Vec::new(),
                parameters: Vec::new(),
                skip_crds: false,
                post_render: Overlay::default(),
            }),
            UnitKind::Directory => Recipe::Directory {
                dir: unit.dir.to_string(),
                recursive: false,
                include: Vec::new(),
                exclude: Vec::new(),
            },
        };
        let kind = match unit.kind {
            UnitKind::Directory => "Directory",
            UnitKind::Kustomize => "Kustomize",
            UnitKind::Helm => "Helm",
        };
        apps.push(App {
            name: name.clone(),
            path: Some(unit.dir.to_string()),
            inputs,
            ..App::new(Controller::Plain, kind, recipe)
        });
        manifests.units.push(Unit {
            app: name.into(),
            ..unit.clone()
        });
    }
    manifests
        .objects
        .extend(plain.objects.into_iter().map(|mut o| {
            o.unit += offset;
            o
        }));
    let mut seen: HashSet<Arc<str>> = manifests.paths.iter().cloned().collect();
    for path in found.paths {
        if seen.insert(path.clone()) {
            manifests.paths.push(path);
        }
    }
    manifests.diagnostics.extend(diagnostics);
    // Objects of apps that were asked for only to find their children are not reported.
    if options.changed.is_some() || !options.scope.is_empty() {
        let keep: Vec<bool> = apps
            .iter()
            .map(|a| a.controller == Controller::Plain || selected(a, options))
            .collect();
        manifests.objects.retain(|o| keep[o.unit]);
    }
    manifests
        .diagnostics
        .extend(conflicts(&apps, &manifests.objects));
    let mut files: HashSet<Arc<str>> = manifests.paths.iter().cloned().collect();
    for o in &manifests.objects {
        if !matches!(o.origin, manifest::Origin::Rendered { .. }) && files.insert(o.file.clone()) {
            manifests.paths.push(o.file.clone());
        }
    }
    AppSet { apps, manifests }
}

/// Objects that two controller apps apply to the same cluster: the controllers fight over
/// them (each reverts the other). The same object in apps of different clusters is normal.
fn conflicts(apps: &[App], objects: &[Object]) -> Vec<Diagnostic> {
    let builtins = crate::validate::builtin::builtins();
    // cluster, remote kubeconfig, group, kind, namespace, name -> first object
    type Where = (String, Option<String>, String, String, String, String);
    let mut first: std::collections::HashMap<Where, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let app = &apps[o.unit];
        if !matches!(app.controller, Controller::Flux | Controller::Argocd) {
            continue;
        }
        let (Some(cluster), Some(av), Some(kind), Some(name)) =
            (&app.cluster, o.api_version(), o.kind(), o.name())
        else {
            continue;
        };
        let namespaced = builtins.kind(av, kind).is_none_or(|k| k.namespaced);
        let namespace = if namespaced {
            o.namespace()
                .or(app.namespace.as_deref())
                .unwrap_or("default")
                .to_string()
        } else {
            String::new()
        };
        let group = manifest::object::split_api_version(av).0.to_string();
        let key = (
            cluster.clone(),
            app.remote.clone(),
            group,
            kind.to_string(),
            namespace,
            name.to_string(),
        );
        match first.get(&key) {
            Some(j) if objects[*j].unit != o.unit => {
                let other = &apps[objects[*j].unit];
                let (file, line) = o.locate(&o.node);
                out.push(Diagnostic::file(
                    Severity::Warning,
                    file,
                    line,
                    "conflict",
                    format!(
                        "{} is applied to cluster {cluster} by app {} and by app {}; the two fight over it",
                        o.label(),
                        other.name,
                        app.name
                    ),
                ));
            }
            Some(_) => {}
            None => {
                first.insert(key, i);
            }
        }
    }
    out
}

/// True when an app is in the scope and touched by the change of `options`.
pub fn selected(app: &App, options: &Options) -> bool {
    let touches = |paths: &[String]| {
        app.inputs.iter().any(|i| {
            paths
                .iter()
                .any(|p| manifest::tree::under(p, i) || manifest::tree::under(i, p))
        }) || app
            .defined_file
            .as_deref()
            .is_some_and(|f| paths.iter().any(|p| manifest::tree::under(f, p)))
    };
    let in_scope = options.scope.is_empty() || touches(&options.scope);
    let changed = options
        .changed
        .as_ref()
        .is_none_or(|c| touches(&c.iter().cloned().collect::<Vec<_>>()));
    in_scope && changed
}

/// The app a name means: the exact name, or the only app whose name ends with it at a `/`.
pub fn find<'a>(apps: &'a [App], name: &str) -> Result<&'a App, AppsError> {
    if let Some(app) = apps.iter().find(|a| a.name == name) {
        return Ok(app);
    }
    let matches: Vec<&App> = apps
        .iter()
        .filter(|a| {
            a.name
                .strip_suffix(name)
                .is_some_and(|head| head.is_empty() || head.ends_with('/'))
        })
        .collect();
    let list = |apps: &[&App]| {
        let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(AppsError::Unknown {
            name: name.to_string(),
            candidates: list(&apps.iter().collect::<Vec<_>>()),
        }),
        many => Err(AppsError::Ambiguous {
            name: name.to_string(),
            candidates: list(many),
        }),
    }
}

/// The text of a scalar, when it is set and not empty.
pub(crate) fn text(node: Option<&crate::manifest::yaml::Node>) -> Option<String> {
    node.and_then(crate::manifest::yaml::Node::scalar_text)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// A sequence's items as JSON (kustomize `patches`, `images`, `replicas` entries).
pub(crate) fn json_items(node: Option<&crate::manifest::yaml::Node>) -> Vec<Json> {
    node.and_then(crate::manifest::yaml::Node::as_seq)
        .unwrap_or_default()
        .iter()
        .map(crate::manifest::yaml::Node::to_json)
        .collect()
}

/// A sequence of paths relative to `dir`, as repository paths (kustomize `components`).
pub(crate) fn paths_under(dir: &str, node: Option<&crate::manifest::yaml::Node>) -> Vec<String> {
    node.and_then(crate::manifest::yaml::Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(crate::manifest::yaml::Node::scalar_text)
        .map(|c| manifest::kustomize::normalize(&manifest::kustomize::join(dir, c)))
        .collect()
}

/// A problem with an app, as a diagnostic at the file that defines it.
pub(crate) fn problem(
    severity: Severity,
    at: Option<(&Arc<str>, u32)>,
    rule: &'static str,
    message: String,
) -> Diagnostic {
    match at {
        Some((file, line)) => Diagnostic::file(severity, file.clone(), Some(line), rule, message),
        None => Diagnostic::file(severity, "".into(), None, rule, message),
    }
}

/// The objects (with their origin) rendered for one app, and the problems met.
#[derive(Debug, Default)]
pub struct Rendered {
    pub objects: Vec<Object>,
    pub diagnostics: Vec<Diagnostic>,
}
