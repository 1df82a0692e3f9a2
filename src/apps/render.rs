//! Rendering an app as its controller would: plain files read here, kustomize builds through
//! `kubectl kustomize` (with the controller's settings in a wrapping kustomization), charts
//! through `helm template`, then Flux's `postBuild` substitution.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value as Json, json};

use super::discover::Sources;
use super::repo::RepoView;
use super::substitute;
use super::{App, ChartSource, HelmChart, Overlay, Recipe, Rendered, problem};
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::load::objects_in_text;
use crate::manifest::object::{Step, follow};
use crate::manifest::render::NOT_INSTALLED;
use crate::manifest::yaml::{Node, Scalar, ScalarStyle, Value, resolve_plain};
use crate::manifest::{Object, Origin};

/// The annotation kustomize adds with `buildMetadata: [originAnnotations]`, naming the file
/// each object came from; read, then removed.
const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";
/// Flux skips substitution for objects labelled or annotated with this set to `disabled`.
const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// What a value substituted from a Secret becomes: Secret values are never shown.
pub const SECRET_MASK: &str = "secret-value-masked";

/// Renders one app.
pub fn render(app: &App, repo: &RepoView, sources: &Sources) -> Rendered {
    let mut out = Rendered::default();
    let at = app
        .defined_file
        .as_ref()
        .map(|f| (f, line_of(app.defined_in.as_deref())));
    render_recipe(&app.recipe, app, repo, &mut out, at);
    if let Some(post) = &app.post_build {
        let vars = sources.substitution_vars(post, app, &mut out.diagnostics);
        if !vars.is_empty() {
            for object in &mut out.objects {
                if substitution_disabled(&object.node) {
                    continue;
                }
                let mut missing = Vec::new();
                substitute_node(&mut object.node, &vars, &mut Vec::new(), &mut missing);
                for Missing { name, line, path } in missing {
                    let (file, line) = match &object.origin {
                        Origin::File => (object.file.clone(), Some(line)),
                        Origin::Built { doc } => {
                            (object.file.clone(), Some(follow(doc, &path).start.line))
                        }
                        Origin::Rendered { .. } => object.locate(&object.node),
                    };
                    out.diagnostics.push(Diagnostic::file(
                        Severity::Warning,
                        file,
                        line,
                        "substitution",
                        format!(
                            "${{{name}}} is not defined by app {} (postBuild.substitute or substituteFrom) and has no default; Flux would substitute an empty string",
                            app.name
                        ),
                    ));
                }
            }
        }
    }
    out
}

fn line_of(defined_in: Option<&str>) -> u32 {
    defined_in
        .and_then(|d| d.rsplit_once(':'))
        .and_then(|(_, l)| l.parse().ok())
        .unwrap_or(1)
}

fn render_recipe(
    recipe: &Recipe,
    app: &App,
    repo: &RepoView,
    out: &mut Rendered,
    at: Option<(&Arc<str>, u32)>,
) {
    match recipe {
        Recipe::None { .. } => {}
        Recipe::Multi(parts) => {
            for part in parts {
                render_recipe(part, app, repo, out, at);
            }
        }
        Recipe::Directory {
            dir,
            recursive,
            include,
            exclude,
        } => {
            let files = manifest_files(repo, dir, *recursive)
                .into_iter()
                .filter(|f| {
                    let rel = f
                        .strip_prefix(dir.as_str())
                        .unwrap_or(f)
                        .trim_start_matches('/');
                    let name = rel.rsplit('/').next().unwrap_or(rel);
                    let hit = |p: &String| {
                        super::argocd::glob_match(p, rel) || super::argocd::glob_match(p, name)
                    };
                    (include.is_empty() || include.iter().any(hit)) && !exclude.iter().any(hit)
                })
                .collect::<Vec<_>>();
            read_files(repo, &files, None, out);
        }
        Recipe::Generated { dir, overlay } => {
            let (files, subdirs) = generated_resources(repo, dir);
            match build_here(repo, &files, &subdirs, overlay) {
                Some(local) => merge(out, local),
                None => {
                    let mut resources = files;
                    resources.extend(subdirs);
                    build(repo, &resources, overlay, None, at, out);
                }
            }
        }
        Recipe::Kustomize { dir, overlay } => {
            match build_here(repo, &[], std::slice::from_ref(dir), overlay) {
                Some(local) => merge(out, local),
                None => build(repo, std::slice::from_ref(dir), overlay, None, at, out),
            }
        }
        Recipe::Helm(chart) => helm(repo, app, chart, at, out),
    }
}

/// Builds plain `files` and kustomize `dirs` here, when the overlay sets nothing but a
/// namespace and every kustomization involved lists only resources ([`simple_build`]).
fn build_here(
    repo: &RepoView,
    files: &[String],
    dirs: &[String],
    overlay: &Overlay,
) -> Option<Rendered> {
    if !overlay.only_namespace() {
        return None;
    }
    let mut local = Rendered::default();
    read_files(repo, files, None, &mut local);
    for dir in dirs {
        simple_build(repo, dir, &mut local, 0)?;
    }
    set_namespaces(&mut local, overlay.namespace.as_deref())?;
    Some(local)
}

fn merge(out: &mut Rendered, other: Rendered) {
    out.objects.extend(other.objects);
    out.diagnostics.extend(other.diagnostics);
}

/// Kinds whose references kustomize's namespace transformer also rewrites (binding subjects,
/// webhook and API service references): those builds are left to kustomize.
const NAMESPACE_REFERENCES: &[&str] = &[
    "RoleBinding",
    "ClusterRoleBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "CustomResourceDefinition",
];

/// Sets the namespace on every namespaced object, as kustomize's `namespace:` does; `None`
/// when an object's references would need kustomize itself.
fn set_namespaces(out: &mut Rendered, namespace: Option<&str>) -> Option<()> {
    let Some(ns) = namespace else { return Some(()) };
    if out
        .objects
        .iter()
        .any(|o| o.kind().is_some_and(|k| NAMESPACE_REFERENCES.contains(&k)))
    {
        return None;
    }
    for o in &mut out.objects {
        set_namespace(&mut o.node, ns);
    }
    Some(())
}

/// How deep kustomizations may nest in [`simple_build`] before we leave it to kustomize.
const MAX_SIMPLE_DEPTH: usize = 16;

/// Builds a kustomization here when it only lists local `resources` (files, and directories
/// whose kustomizations are as simple) and maybe a `namespace`: what kustomize does for it is
/// reading the files in order and setting the namespace. This spares a `kubectl kustomize`
/// process (tens of milliseconds) for most Flux and Argo CD directories, and keeps exact
/// file lines. `None` when it holds anything else (patches, generators, transformers...).
fn simple_build(repo: &RepoView, dir: &str, out: &mut Rendered, depth: usize) -> Option<()> {
    if depth > MAX_SIMPLE_DEPTH {
        return None;
    }
    let file = repo.kustomization_of(dir)?;
    let text = repo.read_text(&file).ok()?;
    let root = crate::manifest::yaml::parse_stream(&text)
        .documents
        .into_iter()
        .find_map(|d| d.root)?;
    let entries = root.as_map()?;
    if entries.iter().any(|e| {
        !matches!(
            e.key.as_str(),
            "apiVersion" | "kind" | "resources" | "namespace"
        )
    }) {
        return None;
    }
    let mut local = Rendered::default();
    for item in root
        .get("resources")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let rel = item.as_str()?;
        if rel.contains("://") || rel.contains("?ref=") || rel.starts_with("github.com/") {
            return None;
        }
        let path =
            crate::manifest::kustomize::normalize(&crate::manifest::kustomize::join(dir, rel));
        if repo.entry(&path).is_some() {
            read_files(repo, std::slice::from_ref(&path), None, &mut local);
        } else if repo.is_dir(&path) {
            simple_build(repo, &path, &mut local, depth + 1)?;
        } else {
            // A file that is not YAML, or missing: kustomize says what is wrong.
            return None;
        }
    }
    let namespace = root.get("namespace").and_then(Node::as_str);
    set_namespaces(&mut local, namespace)?;
    merge(out, local);
    Some(())
}

/// Manifest files under a directory, as the one classifier says, leaving out chart
/// directories (templates are not YAML).
fn manifest_files(repo: &RepoView, dir: &str, recursive: bool) -> Vec<String> {
    repo.files_under(dir, recursive)
        .into_iter()
        .map(|e| e.display.to_string())
        .filter(|p| repo.is_manifest(p))
        .collect()
}

/// What Flux's generated kustomization lists for a directory without one: every manifest
/// below it, except under subdirectories with a kustomization, which are listed themselves
/// (fluxcd/pkg `kustomize/kustomize_generator.go`, `generateKustomization`).
pub fn generated_resources(repo: &RepoView, dir: &str) -> (Vec<String>, Vec<String>) {
    let mut subdirs: Vec<String> = Vec::new();
    let mut stack: Vec<String> = repo.subdirs(dir).into_iter().map(str::to_string).collect();
    let mut plain_dirs = vec![dir.to_string()];
    while let Some(d) = stack.pop() {
        if repo.kustomization_of(&d).is_some() {
            subdirs.push(d);
        } else {
            stack.extend(repo.subdirs(&d).into_iter().map(str::to_string));
            plain_dirs.push(d);
        }
    }
    subdirs.sort();
    let mut files: Vec<String> = plain_dirs
        .iter()
        .flat_map(|d| manifest_files(repo, d, false))
        .collect();
    files.sort();
    (files, subdirs)
}

/// Reads plain files as objects; `namespace` is set on namespaced objects (Flux
/// `targetNamespace` on a generated kustomization, which holds nothing else).
fn read_files(repo: &RepoView, files: &[String], namespace: Option<&str>, out: &mut Rendered) {
    for path in files {
        let Some(entry) = repo.entry(path) else {
            continue;
        };
        let (objects, error) = repo.objects(entry);
        out.diagnostics.extend(error);
        for (doc_index, mut node) in objects {
            if let Some(ns) = namespace {
                set_namespace(&mut node, ns);
            }
            out.objects.push(Object {
                file: entry.display.clone(),
                doc_index,
                node,
                unit: 0,
                origin: Origin::File,
            });
        }
    }
}

/// Sets `metadata.namespace` on a namespaced object, as kustomize's namespace transformer does.
fn set_namespace(node: &mut Node, namespace: &str) {
    let (Some(av), Some(kind)) = (
        node.get("apiVersion").and_then(Node::as_str),
        node.get("kind").and_then(Node::as_str),
    ) else {
        return;
    };
    let namespaced = crate::validate::builtin::builtins()
        .kind(av, kind)
        .map(|k| k.namespaced)
        .unwrap_or(kind != "CustomResourceDefinition");
    if !namespaced {
        return;
    }
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let pos = node.start;
    let meta = match entries.iter_mut().find(|e| e.key == "metadata") {
        Some(e) => &mut e.value,
        None => return,
    };
    let Value::Map(meta_entries) = &mut meta.value else {
        return;
    };
    let value = Node {
        value: Value::Scalar {
            text: namespace.to_string(),
            kind: Scalar::Str,
        },
        start: pos,
        end: pos,
        style: Some(ScalarStyle::Plain),
        aliased: false,
    };
    match meta_entries.iter_mut().find(|e| e.key == "namespace") {
        Some(e) => e.value = value,
        None => meta_entries.push(crate::manifest::yaml::Entry {
            key: "namespace".into(),
            key_pos: pos,
            value,
        }),
    }
}

/// Runs `kubectl kustomize` on a kustomization made in a temporary directory that lists
/// `resources` (repository paths) and the overlay's settings. Objects point at the file they
/// came from, through kustomize's origin annotations.
fn build(
    repo: &RepoView,
    resources: &[String],
    overlay: &Overlay,
    extra_file: Option<&Path>,
    at: Option<(&Arc<str>, u32)>,
    out: &mut Rendered,
) {
    let fail = |out: &mut Rendered, message: String| {
        out.diagnostics
            .push(problem(Severity::Error, at, "render", message));
    };
    let root = match repo.dir_on_disk("").and_then(|r| {
        std::fs::canonicalize(&r).map_err(|e| format!("cannot read {}: {e}", r.display()))
    }) {
        Ok(r) => r,
        Err(e) => return fail(out, e),
    };
    let wrapper = match tempfile::Builder::new()
        .prefix("kubectl-gitops-build-")
        .tempdir()
    {
        Ok(t) => t,
        Err(e) => return fail(out, format!("cannot create a temporary directory: {e}")),
    };
    let wrapper_dir =
        std::fs::canonicalize(wrapper.path()).unwrap_or_else(|_| wrapper.path().into());
    let rel = |repo_path: &str| {
        relative(&wrapper_dir, &root.join(repo_path))
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut k = serde_json::Map::new();
    let mut list: Vec<Json> = resources.iter().map(|r| Json::String(rel(r))).collect();
    if let Some(extra) = extra_file {
        list.push(Json::String(
            relative(&wrapper_dir, extra).to_string_lossy().into_owned(),
        ));
    }
    k.insert("resources".into(), Json::Array(list));
    if let Some(ns) = &overlay.namespace {
        k.insert("namespace".into(), json!(ns));
    }
    if let Some(p) = &overlay.name_prefix {
        k.insert("namePrefix".into(), json!(p));
    }
    if let Some(s) = &overlay.name_suffix {
        k.insert("nameSuffix".into(), json!(s));
    }
    if !overlay.patches.is_empty() {
        let patches: Vec<Json> = overlay
            .patches
            .iter()
            .map(|p| {
                let mut p = p.clone();
                if let Some(path) = p.get("path").and_then(Json::as_str).map(str::to_string) {
                    p["path"] = Json::String(rel(&path));
                }
                p
            })
            .collect();
        k.insert("patches".into(), Json::Array(patches));
    }
    if !overlay.images.is_empty() {
        k.insert("images".into(), Json::Array(overlay.images.clone()));
    }
    if !overlay.components.is_empty() {
        k.insert(
            "components".into(),
            Json::Array(
                overlay
                    .components
                    .iter()
                    .map(|c| Json::String(rel(c)))
                    .collect(),
            ),
        );
    }
    if !overlay.labels.is_empty() {
        k.insert(
            "labels".into(),
            json!([{"pairs": overlay.labels, "includeSelectors": overlay.labels_in_selectors}]),
        );
    }
    if !overlay.annotations.is_empty() {
        k.insert("commonAnnotations".into(), json!(overlay.annotations));
    }
    if !overlay.replicas.is_empty() {
        k.insert("replicas".into(), Json::Array(overlay.replicas.clone()));
    }
    k.insert("buildMetadata".into(), json!(["originAnnotations"]));
    let text = serde_json::to_string_pretty(&Json::Object(k)).expect("JSON values serialise");
    if let Err(e) = std::fs::write(wrapper_dir.join("kustomization.yaml"), text) {
        return fail(out, format!("cannot write a temporary kustomization: {e}"));
    }
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let output = match Command::new(&kubectl)
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(&wrapper_dir)
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(
                out,
                "kubectl is needed to render kustomize directories; install it or set KUBECTL to its path".into(),
            );
        }
        Err(e) => return fail(out, format!("cannot run {kubectl}: {e}")),
    };
    if !output.status.success() {
        let message = crate::manifest::render::first_line(&output.stderr)
            .replace(&*wrapper_dir.to_string_lossy(), "<build>")
            .replace(&*root.to_string_lossy(), ".");
        return fail(out, format!("kustomize build failed: {message}"));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let (objects, error) = objects_in_text(&text);
    if let Some(e) = error {
        fail(out, format!("kustomize output is not valid YAML: {e}"));
    }
    let default_file: Arc<str> = at
        .map(|(f, _)| f.clone())
        .unwrap_or_else(|| resources.first().map(|r| r.as_str()).unwrap_or("").into());
    let mut docs = SourceDocs::default();
    for (doc_index, mut node) in objects {
        let origin = take_origin(&mut node).and_then(|o| {
            let abs = normalize_path(&wrapper_dir.join(o));
            let path = abs
                .strip_prefix(&root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            Some(path)
        });
        let built = origin.and_then(|path| {
            Some((
                Arc::<str>::from(path.as_str()),
                docs.doc(repo, &path, &node)?,
            ))
        });
        out.objects.push(match built {
            Some((file, doc)) => Object {
                file,
                doc_index,
                node,
                unit: 0,
                origin: Origin::Built { doc },
            },
            None => Object {
                file: default_file.clone(),
                doc_index,
                node,
                unit: 0,
                origin: Origin::Rendered { source: None },
            },
        });
    }
}

/// Documents of source files, by kind and name, for the objects kustomize built from them.
#[derive(Default)]
struct SourceDocs {
    files: HashMap<String, Vec<(String, String, Arc<Node>)>>,
}

impl SourceDocs {
    /// The document of `path` a built object came from: same kind, and the same name or
    /// one a prefix or suffix was added to.
    fn doc(&mut self, repo: &RepoView, path: &str, node: &Node) -> Option<Arc<Node>> {
        let docs = self.files.entry(path.to_string()).or_insert_with(|| {
            let Some(entry) = repo.entry(path) else {
                return Vec::new();
            };
            repo.objects(entry)
                .0
                .into_iter()
                .map(|(_, n)| {
                    let text = |keys: &[&str]| {
                        n.path(keys)
                            .and_then(Node::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    (text(&["kind"]), text(&["metadata", "name"]), Arc::new(n))
                })
                .collect()
        });
        let kind = node.get("kind").and_then(Node::as_str).unwrap_or("");
        let name = node
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .unwrap_or("");
        docs.iter()
            .filter(|(k, _, _)| k == kind)
            .filter(|(_, n, _)| n == name || (!n.is_empty() && name.contains(n.as_str())))
            .max_by_key(|(_, n, _)| n.len())
            .or_else(|| docs.iter().find(|(k, _, _)| k == kind))
            .or_else(|| docs.first())
            .map(|(_, _, d)| d.clone())
    }
}

/// Removes kustomize's origin annotation (and an `annotations` map left empty) and returns
/// the path it named.
fn take_origin(node: &mut Node) -> Option<String> {
    let Value::Map(entries) = &mut node.value else {
        return None;
    };
    let meta = entries.iter_mut().find(|e| e.key == "metadata")?;
    let Value::Map(meta_entries) = &mut meta.value.value else {
        return None;
    };
    let at = meta_entries.iter().position(|e| e.key == "annotations")?;
    let Value::Map(annotations) = &mut meta_entries[at].value.value else {
        return None;
    };
    let i = annotations
        .iter()
        .position(|e| e.key == ORIGIN_ANNOTATION)?;
    let origin = annotations.remove(i);
    if annotations.is_empty() {
        meta_entries.remove(at);
    }
    let text = origin.value.scalar_text()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("path:"))
        .map(|p| p.trim().to_string())
}

/// `helm template` for a chart, or one warning saying why it was not rendered.
fn helm(
    repo: &RepoView,
    app: &App,
    chart: &HelmChart,
    at: Option<(&Arc<str>, u32)>,
    out: &mut Rendered,
) {
    let helm = std::env::var("HELM").unwrap_or_else(|_| "helm".into());
    let root = match repo.dir_on_disk("") {
        Ok(r) => r,
        Err(e) => {
            out.diagnostics
                .push(problem(Severity::Error, at, "render", e));
            return;
        }
    };
    let tmp = match tempfile::Builder::new()
        .prefix("kubectl-gitops-helm-")
        .tempdir()
    {
        Ok(t) => t,
        Err(e) => {
            out.diagnostics.push(problem(
                Severity::Error,
                at,
                "render",
                format!("cannot create a temporary directory: {e}"),
            ));
            return;
        }
    };
    let mut args: Vec<String> = vec!["template".into(), chart.release.clone()];
    let chart_file: Arc<str>;
    let what = match &chart.chart {
        ChartSource::Local(dir) => {
            args.push(root.join(dir).to_string_lossy().into_owned());
            chart_file = repo.chart_of(dir).unwrap_or_else(|| dir.as_str().into());
            format!("chart {dir}")
        }
        ChartSource::Remote { name, version, url } => {
            if url.starts_with("oci://") {
                args.push(format!("{}/{}", url.trim_end_matches('/'), name));
            } else {
                args.extend([name.clone(), "--repo".into(), url.clone()]);
            }
            if let Some(v) = version {
                args.extend(["--version".into(), v.clone()]);
            }
            chart_file = app.defined_file.clone().unwrap_or_else(|| "".into());
            format!(
                "chart {name} {} from {url}",
                version.as_deref().unwrap_or("(latest)")
            )
        }
    };
    if let Some(ns) = &chart.namespace {
        args.extend(["--namespace".into(), ns.clone()]);
    }
    for f in &chart.values_files {
        args.extend([
            "--values".into(),
            root.join(f).to_string_lossy().into_owned(),
        ]);
    }
    for (i, v) in chart.values.iter().enumerate() {
        let path = tmp.path().join(format!("values-{i}.json"));
        if std::fs::write(&path, v.to_string()).is_ok() {
            args.extend(["--values".into(), path.to_string_lossy().into_owned()]);
        }
    }
    for (k, v) in &chart.parameters {
        args.extend(["--set".into(), format!("{k}={v}")]);
    }
    args.push(
        if chart.skip_crds {
            "--skip-crds"
        } else {
            "--include-crds"
        }
        .into(),
    );
    let output = match Command::new(&helm).args(&args).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let message = match &chart.chart {
                ChartSource::Remote { .. } => {
                    format!("{NOT_INSTALLED} {what} is not available offline (helm is not on PATH)")
                }
                ChartSource::Local(_) => format!(
                    "{NOT_INSTALLED} helm is not on PATH, so {what} of app {} was not rendered; install helm or set HELM",
                    app.name
                ),
            };
            out.diagnostics
                .push(problem(Severity::Warning, at, "render", message));
            return;
        }
        Err(e) => {
            out.diagnostics.push(problem(
                Severity::Error,
                at,
                "render",
                format!("cannot run {helm}: {e}"),
            ));
            return;
        }
    };
    if !output.status.success() {
        let first = crate::manifest::render::first_line(&output.stderr);
        let severity = if matches!(chart.chart, ChartSource::Remote { .. }) {
            Severity::Warning
        } else {
            Severity::Error
        };
        out.diagnostics.push(problem(
            severity,
            at,
            "render",
            format!("`helm template` of {what} failed: {first}"),
        ));
        return;
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !chart.post_render.is_empty() {
        let file = tmp.path().join("helm-output.yaml");
        if std::fs::write(&file, &text).is_ok() {
            let file = std::fs::canonicalize(&file).unwrap_or(file);
            let mut post = Rendered::default();
            build(repo, &[], &chart.post_render, Some(&file), at, &mut post);
            out.diagnostics.extend(post.diagnostics);
            out.objects.extend(post.objects.into_iter().map(|mut o| {
                o.file = chart_file.clone();
                o.origin = Origin::Rendered {
                    source: Some((chart_file.clone(), 1)),
                };
                o
            }));
            return;
        }
    }
    let (objects, error) = objects_in_text(&text);
    if let Some(e) = error {
        out.diagnostics.push(problem(
            Severity::Error,
            at,
            "render",
            format!("helm output is not valid YAML: {e}"),
        ));
    }
    for (doc_index, node) in objects {
        out.objects.push(Object {
            file: chart_file.clone(),
            doc_index,
            node,
            unit: 0,
            origin: Origin::Rendered {
                source: Some((chart_file.clone(), 1)),
            },
        });
    }
}

fn substitution_disabled(node: &Node) -> bool {
    ["labels", "annotations"].iter().any(|k| {
        node.path(&["metadata", k, SUBSTITUTE_ANNOTATION])
            .and_then(Node::scalar_text)
            == Some("disabled")
    })
}

/// Substitutes variables in every scalar; a plain scalar is resolved again afterwards, as
/// Flux re-reads the substituted YAML (`replicas: ${n}` becomes a number).
fn substitute_node(
    node: &mut Node,
    vars: &BTreeMap<String, String>,
    path: &mut Vec<Step>,
    missing: &mut Vec<Missing>,
) {
    let line = node.start.line;
    match &mut node.value {
        Value::Scalar { text, kind } => {
            if !substitute::has_variables(text) {
                return;
            }
            let (new, unresolved) = substitute::substitute(text, vars);
            missing.extend(unresolved.into_iter().map(|u| Missing {
                name: u.name,
                line: line + u.line - 1,
                path: path.clone(),
            }));
            if node.style == Some(ScalarStyle::Plain) {
                *kind = resolve_plain(&new).unwrap_or(Scalar::Str);
            }
            *text = new;
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(Step::Index(i));
                substitute_node(item, vars, path, missing);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for entry in entries {
                if substitute::has_variables(&entry.key) {
                    let (key, _) = substitute::substitute(&entry.key, vars);
                    entry.key = key;
                }
                path.push(Step::Key(entry.key.clone()));
                substitute_node(&mut entry.value, vars, path, missing);
                path.pop();
            }
        }
    }
}

/// A variable used with no value: its name, the line in the object's text, and the path.
struct Missing {
    name: String,
    line: u32,
    path: Vec<Step>,
}

/// The path from directory `from` to `to` (both absolute).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to_c: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to_c).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to_c[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Resolves `..` and `.` lexically.
fn normalize_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_between_dirs() {
        assert_eq!(
            relative(Path::new("/tmp/a/b"), Path::new("/work/repo/apps")),
            PathBuf::from("../../../work/repo/apps")
        );
        assert_eq!(
            normalize_path(Path::new("/tmp/a/../b/./c")),
            PathBuf::from("/tmp/b/c")
        );
    }
}
