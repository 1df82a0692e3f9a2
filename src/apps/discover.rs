//! Finding the apps: the controller objects in the repository, expanded the way the
//! controllers expand them (a Flux Kustomization applies Kustomizations and HelmReleases; an
//! Argo CD app of apps applies Applications), with the cluster each one lands on.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use super::flux::{self, ConfigValue};
use super::render::{self, SECRET_MASK};
use super::repo::{RepoView, spec_path};
use super::{App, Controller, Options, PostBuild, Recipe, Rendered, argocd, problem, selected};
use crate::config::Config;
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::object::split_api_version;
use crate::manifest::tree::under;
use crate::manifest::yaml::Node;
use crate::manifest::{Object, Origin};

/// What discovery found: the apps, the objects of those it rendered (by app index), and the
/// problems met.
#[derive(Default)]
pub struct Found {
    pub apps: Vec<App>,
    pub rendered: HashMap<usize, Rendered>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files read for the apps.
    pub paths: Vec<Arc<str>>,
}

/// A controller object read from a file.
#[derive(Clone)]
struct Found1 {
    file: Arc<str>,
    line: u32,
    node: Node,
}

/// An object held for reference: its namespace, the cluster of the app that rendered it, and
/// the object.
type Held = (Option<String>, Option<String>, Node);

/// Objects apps refer to: Flux sources, ConfigMaps and Secrets, by kind, namespace and name.
#[derive(Default)]
pub struct Sources {
    /// By kind and name: the namespace, the cluster of the app that renders it (`None`: read
    /// from a file), and the object.
    objects: HashMap<(String, String), Vec<Held>>,
    /// Notes already given about which source is taken to be this repository.
    assumed: std::sync::Mutex<HashSet<String>>,
}

impl Sources {
    fn add(&mut self, node: &Node, cluster: Option<&str>) {
        let Some(kind) = node.get("kind").and_then(Node::as_str) else {
            return;
        };
        if !matches!(
            kind,
            "GitRepository"
                | "HelmRepository"
                | "OCIRepository"
                | "Bucket"
                | "ConfigMap"
                | "Secret"
        ) {
            return;
        }
        let Some(name) = node.path(&["metadata", "name"]).and_then(Node::as_str) else {
            return;
        };
        let ns = node
            .path(&["metadata", "namespace"])
            .and_then(Node::as_str)
            .map(str::to_string);
        self.objects
            .entry((kind.to_string(), name.to_string()))
            .or_default()
            .push((ns, cluster.map(str::to_string), node.clone()));
    }

    /// The object of that kind and name in `namespace` (or one that names no namespace),
    /// preferring one rendered for `cluster`: each cluster has its own ConfigMaps.
    fn get_in(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        cluster: Option<&str>,
    ) -> Option<&Node> {
        let candidates = self.objects.get(&(kind.to_string(), name.to_string()))?;
        let ns_ok = |ns: &Option<String>| ns.as_deref() == Some(namespace) || ns.is_none();
        candidates
            .iter()
            .filter(|(ns, c, _)| ns_ok(ns) && cluster.is_some() && c.as_deref() == cluster)
            .chain(
                candidates
                    .iter()
                    .filter(|(ns, _, _)| ns.as_deref() == Some(namespace)),
            )
            .chain(candidates.iter().filter(|(ns, _, _)| ns.is_none()))
            .map(|(_, _, n)| n)
            .next()
    }

    fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Node> {
        self.get_in(kind, namespace, name, None)
    }

    /// The URL of a Helm or OCI repository.
    pub fn url(&self, kind: &str, namespace: &str, name: &str) -> Option<String> {
        self.get(kind, namespace, name)?
            .path(&["spec", "url"])
            .and_then(Node::scalar_text)
            .map(str::to_string)
    }

    /// Whether a Flux source is this repository: `Ok(None)` yes, `Ok(Some(note))` taken to
    /// be (the note says why), `Err(what)` another source.
    pub fn git_is_this_repo(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        path: &str,
        repo: &RepoView,
    ) -> Result<Option<String>, String> {
        if kind != "GitRepository" {
            return Err(format!("{kind} {namespace}/{name}"));
        }
        let url = self
            .get(kind, namespace, name)
            .and_then(|n| n.path(&["spec", "url"]))
            .and_then(Node::scalar_text);
        let assume = |why: String| -> Result<Option<String>, String> {
            let first = self
                .assumed
                .lock()
                .expect("no thread panics holding this lock")
                .insert(format!("{namespace}/{name}"));
            Ok(first.then_some(why))
        };
        match url {
            Some(url) if repo.is_this_repo(url) => Ok(None),
            // `flux bootstrap` names the repository it writes to `flux-system`; a clone of a
            // fork or a mirror has another remote.
            Some(url) if name == "flux-system" => assume(format!(
                "GitRepository {namespace}/{name} points at {url}, which is no remote of this clone; taken to be this repository (flux bootstrap's)"
            )),
            Some(url) if !repo.has_remotes() && repo.exists(path) => assume(format!(
                "GitRepository {namespace}/{name} ({url}): this clone has no remote to compare with; taken to be this repository"
            )),
            Some(url) => Err(format!("GitRepository {namespace}/{name} ({url})")),
            None if name == "flux-system" || repo.exists(path) => assume(format!(
                "GitRepository {namespace}/{name} is not defined in the repository; taken to be this repository, since the paths exist here"
            )),
            None => Err(format!("GitRepository {namespace}/{name}")),
        }
    }

    /// A key of a ConfigMap in the repository (a Secret's is never read).
    pub fn config_value(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> Option<ConfigValue> {
        let node = self.get(kind, namespace, name)?;
        match kind {
            "Secret" => Some(ConfigValue::Secret),
            _ => node
                .path(&["data", key])
                .and_then(Node::scalar_text)
                .map(|t| ConfigValue::Text(t.to_string())),
        }
    }

    /// The variables of a Flux Kustomization's `postBuild`: `substituteFrom` in order, then
    /// `substitute` on top (kustomize-controller's order). A Secret's keys are used with a
    /// masked value, so no Secret value reaches a rendered object.
    pub fn substitution_vars(
        &self,
        post: &PostBuild,
        app: &App,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> BTreeMap<String, String> {
        let namespace = app
            .object
            .as_ref()
            .map_or("flux-system", |(ns, _)| ns.as_str());
        let at = app.defined_file.as_ref().map(|f| {
            (
                f,
                app.defined_in
                    .as_deref()
                    .and_then(|d| d.rsplit_once(':'))
                    .and_then(|(_, l)| l.parse().ok())
                    .unwrap_or(1),
            )
        });
        let mut vars = BTreeMap::new();
        for (kind, name, optional) in &post.substitute_from {
            match self.get_in(kind, namespace, name, app.cluster.as_deref()) {
                Some(node) => {
                    for key in ["data", "stringData"] {
                        for e in node.get(key).and_then(Node::as_map).unwrap_or_default() {
                            let value = match kind.as_str() {
                                "Secret" => SECRET_MASK.to_string(),
                                _ => e.value.scalar_text().unwrap_or("").replace('\n', ""),
                            };
                            vars.insert(e.key.clone(), value);
                        }
                    }
                }
                None if *optional => {}
                None => diagnostics.push(problem(
                    Severity::Warning,
                    at,
                    "substitution",
                    format!(
                        "app {}: postBuild.substituteFrom {kind} {namespace}/{name} is not in the repository (not optional: Flux would fail until it exists in the cluster)",
                        app.name
                    ),
                )),
            }
        }
        for (k, v) in &post.substitute {
            vars.insert(k.clone(), v.clone());
        }
        vars
    }
}

/// True for the kinds that make apps.
fn controller_kind(node: &Node) -> Option<(&'static str, &str)> {
    let av = node.get("apiVersion").and_then(Node::as_str)?;
    let kind = node.get("kind").and_then(Node::as_str)?;
    let (group, _) = split_api_version(av);
    match (group, kind) {
        (flux::KUSTOMIZE_GROUP, "Kustomization") => Some(("flux", kind)),
        (flux::HELM_GROUP, "HelmRelease") => Some(("flux", kind)),
        (argocd::GROUP, "Application" | "ApplicationSet") => Some(("argocd", kind)),
        _ => None,
    }
}

/// Controller objects and sources in the repository's files, found by a byte search first so
/// a tree without controllers is not parsed twice.
fn scan(repo: &RepoView) -> (Vec<Found1>, Vec<Diagnostic>) {
    let wanted: Vec<bool> = repo
        .set
        .files
        .iter()
        .map(|f| repo.is_manifest(&f.display))
        .collect();
    let results: Vec<(Vec<Found1>, Option<Diagnostic>)> = repo
        .set
        .files
        .par_iter()
        .zip(wanted.par_iter())
        .map(|(entry, want)| {
            if !want {
                return (Vec::new(), None);
            }
            let Ok(bytes) = repo.read_entry(entry) else {
                return (Vec::new(), None);
            };
            if !(contains(&bytes, b"toolkit.fluxcd.io") || contains(&bytes, b"argoproj.io")) {
                return (Vec::new(), None);
            }
            let (objects, error) = crate::manifest::load::parse_objects(entry, Ok(bytes));
            let found = objects
                .into_iter()
                .map(|(_, node)| Found1 {
                    file: entry.display.clone(),
                    line: node.start.line,
                    node,
                })
                .collect();
            (found, error)
        })
        .collect();
    let mut found = Vec::new();
    let mut diagnostics = Vec::new();
    for (f, e) in results {
        found.extend(f);
        diagnostics.extend(e);
    }
    (found, diagnostics)
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The ConfigMaps and Secrets that Flux objects name in `substituteFrom` and `valuesFrom`,
/// from the repository's files: one may be applied by a sibling app rendered at the same time
/// as the app that needs it, or by nothing we render. Found by a byte search for the name.
fn add_referenced_config(repo: &RepoView, raw: &[Found1], sources: &mut Sources) {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for r in raw {
        for key in [["spec", "postBuild"], ["spec", "valuesFrom"]] {
            let Some(node) = r.node.path(&key) else {
                continue;
            };
            let list = node
                .get("substituteFrom")
                .and_then(Node::as_seq)
                .or(node.as_seq());
            for item in list.unwrap_or_default() {
                if let Some(name) = item.get("name").and_then(Node::scalar_text) {
                    names.insert(name.to_string());
                }
            }
        }
    }
    if names.is_empty() {
        return;
    }
    let wanted: Vec<bool> = repo
        .set
        .files
        .iter()
        .map(|f| repo.is_manifest(&f.display))
        .collect();
    for (entry, want) in repo.set.files.iter().zip(&wanted) {
        if !want {
            continue;
        }
        let Ok(bytes) = repo.read_entry(entry) else {
            continue;
        };
        if !names.iter().any(|n| contains(&bytes, n.as_bytes()))
            || !(contains(&bytes, b"ConfigMap") || contains(&bytes, b"Secret"))
        {
            continue;
        }
        for (_, node) in crate::manifest::load::parse_objects(entry, Ok(bytes)).0 {
            let named = node
                .path(&["metadata", "name"])
                .and_then(Node::as_str)
                .is_some_and(|n| names.contains(n));
            if named {
                sources.add(&node, None);
            }
        }
    }
}

/// Apps defined by one controller object (an ApplicationSet makes several).
fn apps_of(object: &Found1, repo: &RepoView, sources: &Sources) -> Vec<App> {
    let at = (object.file.clone(), object.line);
    match controller_kind(&object.node) {
        Some((_, "Kustomization")) => vec![flux::kustomization(&object.node, at, repo, sources)],
        Some((_, "HelmRelease")) => vec![flux::helm_release(&object.node, at, repo, sources)],
        Some((_, "Application")) => vec![argocd::application(&object.node, at, repo)],
        Some((_, "ApplicationSet")) => {
            let set_name = object
                .node
                .path(&["metadata", "name"])
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string();
            let (generated, problems) = argocd::expand_application_set(&object.node, repo);
            let mut apps: Vec<App> = generated
                .iter()
                .map(|node| {
                    let mut app = argocd::application(node, at.clone(), repo);
                    app.kind = format!("Application (ApplicationSet {set_name})");
                    app
                })
                .collect();
            if !problems.is_empty() {
                let mut app = argocd::application(&object.node, at.clone(), repo);
                app.kind = "ApplicationSet".into();
                app.path = None;
                let reason = problems.join("; ");
                app.recipe = Recipe::None {
                    reason: format!("not expandable offline: {reason}"),
                };
                app.problems = vec![problem(
                    Severity::Warning,
                    Some((&at.0, at.1)),
                    "apps",
                    format!("ApplicationSet {set_name}: {reason}"),
                )];
                apps.push(app);
            }
            apps
        }
        _ => Vec::new(),
    }
}

/// The repository paths an app is built from.
fn inputs_of(recipe: &Recipe, repo: &RepoView, inputs: &mut BTreeSet<String>) {
    match recipe {
        Recipe::Directory { dir, .. } => {
            inputs.insert(dir.clone());
        }
        Recipe::Kustomize { dir, overlay } | Recipe::Generated { dir, overlay } => {
            inputs.extend(repo.kustomize_closure(dir));
            for sub in render::generated_resources(repo, dir).1 {
                inputs.extend(repo.kustomize_closure(&sub));
            }
            for c in &overlay.components {
                inputs.extend(repo.kustomize_closure(c));
            }
            for p in &overlay.patches {
                if let Some(path) = p.get("path").and_then(|p| p.as_str()) {
                    inputs.insert(path.to_string());
                }
            }
        }
        Recipe::Helm(chart) => {
            if let super::ChartSource::Local(dir) = &chart.chart {
                inputs.insert(dir.clone());
            }
            inputs.extend(chart.values_files.iter().cloned());
        }
        Recipe::Multi(parts) => {
            for p in parts {
                inputs_of(p, repo, inputs);
            }
        }
        Recipe::None { .. } => {}
    }
}

/// The app for an entry of `.gitops.yaml`.
fn config_app(entry: &crate::config::App, repo: &RepoView) -> App {
    let path = spec_path(&entry.path);
    let recipe = if repo.chart_of(&path).is_some() {
        Recipe::Helm(super::HelmChart {
            chart: super::ChartSource::Local(path.clone()),
            release: entry.name.clone(),
            namespace: entry.namespace.clone(),
            values_files: Vec::new(),
            values: Vec::new(),
            parameters: Vec::new(),
            skip_crds: false,
            post_render: super::Overlay::default(),
        })
    } else if repo.kustomization_of(&path).is_some() {
        Recipe::Kustomize {
            dir: path.clone(),
            overlay: super::Overlay::default(),
        }
    } else {
        Recipe::Generated {
            dir: path.clone(),
            overlay: super::Overlay::default(),
        }
    };
    App {
        name: entry.name.clone(),
        path: Some(path),
        context: entry.context.clone(),
        namespace: entry.namespace.clone(),
        ..App::new(Controller::Config, "App", recipe)
            .defined_at(&crate::config::FILE_NAME.into(), 1)
    }
}

/// Finds every app of the repository and renders those `options` asks for (and those whose
/// objects may define more apps).
pub fn discover(repo: &RepoView, config: &Config, options: &Options) -> Found {
    let (raw, mut diagnostics) = scan(repo);
    let mut sources = Sources::default();
    for r in &raw {
        sources.add(&r.node, None);
    }
    let mut found = Found::default();
    for entry in &config.apps {
        found.apps.push(config_app(entry, repo));
    }
    let controller_files: BTreeSet<Arc<str>> = raw
        .iter()
        .filter(|r| controller_kind(&r.node).is_some())
        .map(|r| r.file.clone())
        .collect();

    add_referenced_config(repo, &raw, &mut sources);
    let mut provisional: Vec<(Found1, Vec<App>)> = raw
        .iter()
        .filter(|r| controller_kind(&r.node).is_some())
        .map(|r| (r.clone(), apps_of(r, repo, &sources)))
        .collect();
    for (_, apps) in &mut provisional {
        for app in apps {
            let mut inputs = std::mem::take(&mut app.inputs);
            inputs_of(&app.recipe, repo, &mut inputs);
            app.inputs = inputs;
        }
    }
    // A root is a controller object that no other controller app's inputs hold: the
    // bootstrap Kustomization (which holds itself) or an Application applied by hand.
    let held_by_other = |file: &str, me: usize| {
        provisional.iter().enumerate().any(|(j, (_, apps))| {
            j != me
                && apps.iter().any(|a| {
                    a.rendered()
                        && a.defined_file.as_deref() != Some(file)
                        && a.inputs.iter().any(|i| under(file, i))
                })
        })
    };
    let mut reached: HashSet<(String, String, Arc<str>)> = HashSet::new();
    // A controller object read from a file is the same as one a render produced when kind,
    // name and source file agree (a render may have set its namespace).
    let key = |app: &App| -> Option<(String, String, Arc<str>)> {
        Some((
            app.kind.clone(),
            app.object.as_ref()?.1.clone(),
            app.defined_file.clone()?,
        ))
    };
    // The same base can be applied by two parents (one overlay per cluster): children are
    // told apart by their parent.
    let mut children_seen: HashSet<(usize, String, String, String)> = HashSet::new();
    let mut next: Vec<usize> = Vec::new();
    let push = |found: &mut Found, mut app: App, parent: Option<usize>, next: &mut Vec<usize>| {
        app.parent = parent;
        // Messages from rendering name the app; `name_apps` makes the names unique at the end.
        app.name = base_name(&app);
        let mut inputs = std::mem::take(&mut app.inputs);
        inputs_of(&app.recipe, repo, &mut inputs);
        app.inputs = inputs;
        found.apps.push(app);
        next.push(found.apps.len() - 1);
    };
    for i in 0..found.apps.len() {
        let mut inputs = std::mem::take(&mut found.apps[i].inputs);
        inputs_of(&found.apps[i].recipe, repo, &mut inputs);
        found.apps[i].inputs = inputs;
        next.push(i);
    }
    let roots: Vec<App> = provisional
        .iter()
        .enumerate()
        .filter(|(i, (r, _))| !held_by_other(&r.file, *i))
        .flat_map(|(_, (_, apps))| apps.iter().cloned())
        .collect();
    for mut app in roots {
        root_cluster(&mut app);
        if let Some(k) = key(&app) {
            reached.insert(k);
        }
        push(&mut found, app, None, &mut next);
    }
    let everything = options.changed.is_none() && options.scope.is_empty();
    loop {
        while !next.is_empty() {
            let level = std::mem::take(&mut next);
            let to_render: Vec<usize> = level
                .into_iter()
                .filter(|i| {
                    let app = &found.apps[*i];
                    app.rendered()
                        && (!options.no_render || matches!(app.recipe, Recipe::Directory { .. }))
                        && (everything
                            || selected(app, options)
                            || controller_files
                                .iter()
                                .any(|f| app.inputs.iter().any(|i| under(f, i))))
                })
                .collect();
            let results: Vec<(usize, Rendered)> = to_render
                .par_iter()
                .map(|i| (*i, render::render(&found.apps[*i], repo, &sources)))
                .collect();
            for (i, rendered) in results {
                for object in &rendered.objects {
                    sources.add(&object.node, found.apps[i].cluster.as_deref());
                }
                let children: Vec<Found1> = rendered
                    .objects
                    .iter()
                    .filter(|o| controller_kind(&o.node).is_some())
                    .map(|o| {
                        let (file, line) = locate_object(o);
                        Found1 {
                            file,
                            line,
                            node: o.node.clone(),
                        }
                    })
                    .collect();
                found.rendered.insert(i, rendered);
                for child in children {
                    for mut app in apps_of(&child, repo, &sources) {
                        let Some(k) = key(&app) else { continue };
                        // The bootstrap Kustomization applies itself: an ancestor with the
                        // same object is the same app, not a child.
                        let mut ancestor = Some(i);
                        let mut cycle = false;
                        while let Some(a) = ancestor {
                            cycle |= key(&found.apps[a]).as_ref() == Some(&k);
                            ancestor = found.apps[a].parent;
                        }
                        if cycle {
                            continue;
                        }
                        let (ns, name) = app.object.clone().unwrap_or_default();
                        if !children_seen.insert((i, app.kind.clone(), ns, name)) {
                            continue;
                        }
                        reached.insert(k);
                        if app.controller == Controller::Flux || app.cluster.is_none() {
                            app.cluster = found.apps[i].cluster.clone();
                        }
                        push(&mut found, app, Some(i), &mut next);
                    }
                }
            }
        }
        // Controller objects no rendered app applied (their parent was not rendered, or they
        // are applied by hand) are apps of their own.
        // A controller object inside what a rendered app is built from, that its render did
        // not produce, is a patch or a file the build leaves out: not an app.
        let built_from_rendered = |file: &str| {
            found
                .rendered
                .keys()
                .any(|i| found.apps[*i].inputs.iter().any(|input| under(file, input)))
        };
        let orphans: Vec<App> = provisional
            .iter()
            .flat_map(|(_, apps)| apps.iter())
            .filter(|a| key(a).is_some_and(|k| !reached.contains(&k)))
            .filter(|a| !a.defined_file.as_deref().is_some_and(built_from_rendered))
            .cloned()
            .collect();
        if orphans.is_empty() {
            break;
        }
        for mut app in orphans {
            if let Some(k) = key(&app) {
                reached.insert(k);
            }
            root_cluster(&mut app);
            push(&mut found, app, None, &mut next);
        }
    }
    name_apps(&mut found.apps, config, &mut diagnostics);
    found.diagnostics = diagnostics;
    found.paths = controller_files.into_iter().collect();
    found
}

/// Where a rendered controller object is defined, for its app's `defined_in`.
fn locate_object(o: &Object) -> (Arc<str>, u32) {
    match &o.origin {
        Origin::File => (o.file.clone(), o.node.start.line),
        Origin::Rendered {
            source: Some((f, l)),
        } => (f.clone(), *l),
        Origin::Rendered { source: None } => (o.file.clone(), 1),
        Origin::Built { doc } => (o.file.clone(), doc.start.line),
    }
}

/// The cluster of an app nothing else applies: the bootstrap Kustomization's path is the
/// cluster's entry directory; otherwise the directory that holds the controller object.
fn root_cluster(app: &mut App) {
    if app.controller != Controller::Flux {
        return;
    }
    let file = app.defined_file.as_deref().unwrap_or("");
    app.cluster = Some(match &app.path {
        Some(p) if under(file, p) => p.clone(),
        _ => crate::manifest::load::parent(file).to_string(),
    })
    .map(|c| if c.is_empty() { ".".into() } else { c });
}

/// An app's name before duplicates are told apart: `<cluster>/<namespace>/<name>` for Flux,
/// the object's name for Argo CD, the configured name for `.gitops.yaml` apps.
fn base_name(app: &App) -> String {
    match app.controller {
        Controller::Flux => {
            let (ns, name) = app.object.clone().unwrap_or_default();
            match app.cluster.as_deref() {
                Some(".") | None => format!("{ns}/{name}"),
                Some(c) => format!("{c}/{ns}/{name}"),
            }
        }
        _ => app.name.clone(),
    }
}

/// Gives every app its unique name, its kube context and its resolved `dependsOn`.
fn name_apps(apps: &mut [App], config: &Config, diagnostics: &mut Vec<Diagnostic>) {
    let mut used: HashMap<String, usize> = HashMap::new();
    for i in 0..apps.len() {
        let app = &apps[i];
        let base = base_name(app);
        let mut name = base.clone();
        if used.contains_key(&name) {
            name = format!(
                "{base}-{}",
                app.kind
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_lowercase()
            );
            let mut n = 2;
            while used.contains_key(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            let first = &apps[used[&base]];
            let at = app.defined_file.as_ref().map(|f| (f, 1));
            diagnostics.push(problem(
                Severity::Warning,
                at,
                "apps",
                format!(
                    "two apps are named {base} (also defined in {}); this one is listed as {name}",
                    first.defined_in.as_deref().unwrap_or("?")
                ),
            ));
        }
        used.insert(name.clone(), i);
        apps[i].name = name;
    }
    for app in apps.iter_mut() {
        if app.context.is_none()
            && let Some(cluster) = &app.cluster
        {
            app.context = config
                .clusters
                .iter()
                .find(|c| &c.name == cluster)
                .map(|c| c.context.clone());
        }
    }
    let by_object: HashMap<(String, String, String), String> = apps
        .iter()
        .filter_map(|a| {
            let (ns, name) = a.object.clone()?;
            Some((
                (a.cluster.clone().unwrap_or_default(), ns, name),
                a.name.clone(),
            ))
        })
        .collect();
    for app in apps.iter_mut() {
        let cluster = app.cluster.clone().unwrap_or_default();
        app.depends_on = app
            .depends_refs
            .iter()
            .map(|(ns, name)| {
                by_object
                    .get(&(cluster.clone(), ns.clone(), name.clone()))
                    .cloned()
                    .unwrap_or_else(|| format!("{ns}/{name}"))
            })
            .collect();
    }
}
