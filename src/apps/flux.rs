//! Flux `Kustomization` and `HelmRelease` objects as apps, read the way kustomize-controller
//! and helm-controller read them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use super::discover::Sources;
use super::repo::{RepoView, spec_path};
use super::{
    App, ChartSource, Controller, HelmChart, Overlay, PostBuild, Recipe, json_items, paths_under,
    problem, text,
};
use crate::diagnostic::Severity;
use crate::manifest::yaml::Node;

pub const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
pub const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";
pub const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";

/// Where Flux objects live when they do not say (`flux bootstrap` puts them there).
const DEFAULT_NAMESPACE: &str = "flux-system";

fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e.key.clone(), e.value.scalar_text()?.to_string())))
        .collect()
}

fn namespace_of(node: &Node) -> String {
    text(node.path(&["metadata", "namespace"])).unwrap_or_else(|| DEFAULT_NAMESPACE.into())
}

fn name_of(node: &Node) -> String {
    text(node.path(&["metadata", "name"])).unwrap_or_default()
}

fn blank(kind: &str, node: &Node, at: &(Arc<str>, u32)) -> App {
    let recipe = Recipe::None {
        reason: String::new(),
    };
    App {
        object: Some((namespace_of(node), name_of(node))),
        ..App::new(Controller::Flux, kind, recipe).defined_at(&at.0, at.1)
    }
}

fn depends_refs(node: &Node, namespace: &str) -> Vec<(String, String)> {
    node.path(&["spec", "dependsOn"])
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| {
            let name = text(d.get("name"))?;
            Some((
                text(d.get("namespace")).unwrap_or_else(|| namespace.to_string()),
                name,
            ))
        })
        .collect()
}

/// A `Kustomization` as an app. `sources` says which `GitRepository` is this repository.
pub fn kustomization(node: &Node, at: (Arc<str>, u32), repo: &RepoView, sources: &Sources) -> App {
    let mut app = blank("Kustomization", node, &at);
    let namespace = namespace_of(node);
    let spec = node.get("spec");
    let get = |k: &str| spec.and_then(|s| s.get(k));
    app.depends_refs = depends_refs(node, &namespace);
    // The Secret is the Flux object's own namespace's.
    app.remote = text(get("kubeConfig").and_then(|k| k.path(&["secretRef", "name"])))
        .map(|secret| format!("{namespace}/{secret}"));
    let source_kind = text(get("sourceRef").and_then(|s| s.get("kind")))
        .unwrap_or_else(|| "GitRepository".into());
    let source_name = text(get("sourceRef").and_then(|s| s.get("name"))).unwrap_or_default();
    let source_ns =
        text(get("sourceRef").and_then(|s| s.get("namespace"))).unwrap_or(namespace.clone());
    let path = spec_path(&text(get("path")).unwrap_or_default());
    match sources.git_is_this_repo(&source_kind, &source_ns, &source_name, &path, repo) {
        Err(elsewhere) => {
            app.recipe = Recipe::None {
                reason: format!("source elsewhere: {elsewhere}; not rendered"),
            };
            return app;
        }
        Ok(assumption) => {
            if let Some(note) = assumption {
                app.problems.push(problem(
                    Severity::Warning,
                    Some((&at.0, at.1)),
                    "apps",
                    note,
                ));
            }
        }
    }
    app.path = Some(path.clone());
    let target_namespace = text(get("targetNamespace"));
    app.namespace = target_namespace.clone();
    let common = get("commonMetadata");
    let overlay = Overlay {
        namespace: target_namespace,
        name_prefix: text(get("namePrefix")),
        name_suffix: text(get("nameSuffix")),
        patches: json_items(get("patches")),
        images: json_items(get("images")),
        components: paths_under(&path, get("components")),
        labels: string_map(common.and_then(|c| c.get("labels"))),
        labels_in_selectors: false,
        annotations: string_map(common.and_then(|c| c.get("annotations"))),
        replicas: Vec::new(),
    };
    if !repo.is_dir(&path) {
        app.recipe = Recipe::None {
            reason: format!("spec.path {path:?} does not exist in the repository"),
        };
        // A warning: the files may be read from another root than this one (a subtree).
        app.problems.push(problem(
            Severity::Warning,
            Some((&at.0, at.1)),
            "apps",
            format!(
                "Kustomization {namespace}/{}: spec.path {path:?} is not in the repository; Flux would fail to build it",
                name_of(node)
            ),
        ));
        return app;
    }
    app.recipe = if repo.kustomization_of(&path).is_some() {
        Recipe::Kustomize { dir: path, overlay }
    } else {
        Recipe::Generated { dir: path, overlay }
    };
    if let Some(post) = get("postBuild") {
        let substitute = string_map(post.get("substitute"))
            .into_iter()
            .map(|(k, v)| (k, v.replace('\n', "")))
            .collect();
        let substitute_from = post
            .get("substituteFrom")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| {
                Some((
                    text(r.get("kind")).unwrap_or_else(|| "ConfigMap".into()),
                    text(r.get("name"))?,
                    r.get("optional")
                        .map(|o| o.to_json() == Json::Bool(true))
                        .unwrap_or(false),
                ))
            })
            .collect();
        app.post_build = Some(PostBuild {
            substitute,
            substitute_from,
        });
    }
    app
}

/// A `HelmRelease` as an app: rendered from a chart in this repository, or listed as not
/// rendered when its chart comes from a Helm or OCI repository and `helm` cannot get it.
pub fn helm_release(node: &Node, at: (Arc<str>, u32), repo: &RepoView, sources: &Sources) -> App {
    let mut app = blank("HelmRelease", node, &at);
    let namespace = namespace_of(node);
    let name = name_of(node);
    let spec = node.get("spec");
    let get = |k: &str| spec.and_then(|s| s.get(k));
    app.depends_refs = depends_refs(node, &namespace);
    // The Secret is the Flux object's own namespace's.
    app.remote = text(get("kubeConfig").and_then(|k| k.path(&["secretRef", "name"])))
        .map(|secret| format!("{namespace}/{secret}"));
    let target_namespace = text(get("targetNamespace"));
    let release_namespace = target_namespace.clone().unwrap_or(namespace.clone());
    app.namespace = Some(release_namespace.clone());
    // helm-controller's default release name: `[targetNamespace-]name`.
    let release = text(get("releaseName")).unwrap_or_else(|| match &target_namespace {
        Some(t) => format!("{t}-{name}"),
        None => name.clone(),
    });
    let chart_spec = get("chart").and_then(|c| c.get("spec"));
    let chart_name = text(chart_spec.and_then(|c| c.get("chart")));
    let version = text(chart_spec.and_then(|c| c.get("version")));
    let source = chart_spec
        .and_then(|c| c.get("sourceRef"))
        .or_else(|| get("chartRef"));
    let source_kind = text(source.and_then(|s| s.get("kind"))).unwrap_or_default();
    let source_name = text(source.and_then(|s| s.get("name"))).unwrap_or_default();
    let source_ns = text(source.and_then(|s| s.get("namespace"))).unwrap_or(namespace.clone());
    let mut values: Vec<Json> = Vec::new();
    let mut values_files: Vec<String> = Vec::new();
    let mut post_render = Overlay::default();
    for renderer in get("postRenderers")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if let Some(k) = renderer.get("kustomize") {
            for key in ["patches", "patchesStrategicMerge", "patchesJson6902"] {
                for p in k.get(key).and_then(Node::as_seq).unwrap_or_default() {
                    post_render.patches.push(match key {
                        "patchesStrategicMerge" => {
                            serde_json::json!({"patch": serde_json::to_string(&p.to_json()).unwrap_or_default()})
                        }
                        "patchesJson6902" => serde_json::json!({
                            "patch": serde_json::to_string(&p.get("patch").map(Node::to_json).unwrap_or(Json::Null)).unwrap_or_default(),
                            "target": p.get("target").map(Node::to_json).unwrap_or(Json::Null),
                        }),
                        _ => p.to_json(),
                    });
                }
            }
            post_render.images.extend(
                k.get("images")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .map(Node::to_json),
            );
        }
    }
    let chart = match source_kind.as_str() {
        "GitRepository" | "Bucket" => {
            let path = spec_path(chart_name.as_deref().unwrap_or(""));
            match sources.git_is_this_repo(&source_kind, &source_ns, &source_name, &path, repo) {
                Ok(_) if repo.chart_of(&path).is_some() => {
                    values_files = chart_spec
                        .and_then(|c| c.get("valuesFiles"))
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Node::scalar_text)
                        .map(spec_path)
                        .collect();
                    app.path = Some(path.clone());
                    ChartSource::Local(path)
                }
                Ok(_) => {
                    app.recipe = Recipe::None {
                        reason: format!("chart directory {path:?} is not in the repository"),
                    };
                    return app;
                }
                Err(elsewhere) => {
                    app.recipe = Recipe::None {
                        reason: format!("source elsewhere: {elsewhere}; not rendered"),
                    };
                    return app;
                }
            }
        }
        "HelmRepository" | "OCIRepository" | "HelmChart" => {
            let url = sources
                .url(&source_kind, &source_ns, &source_name)
                .unwrap_or_else(|| format!("{source_kind} {source_ns}/{source_name}"));
            ChartSource::Remote {
                name: chart_name.clone().unwrap_or_else(|| source_name.clone()),
                version: version.clone(),
                url,
            }
        }
        _ => {
            app.recipe = Recipe::None {
                reason: "no chart source (spec.chart.spec.sourceRef or spec.chartRef)".into(),
            };
            return app;
        }
    };
    for from in get("valuesFrom").and_then(Node::as_seq).unwrap_or_default() {
        let kind = text(from.get("kind")).unwrap_or_default();
        let ref_name = text(from.get("name")).unwrap_or_default();
        let key = text(from.get("valuesKey")).unwrap_or_else(|| "values.yaml".into());
        let optional = from.get("optional").map(|o| o.to_json()) == Some(Json::Bool(true));
        match sources.config_value(&kind, &namespace, &ref_name, &key) {
            Some(ConfigValue::Text(text)) => {
                let parsed = crate::manifest::yaml::parse_stream(&text);
                let v = parsed
                    .documents
                    .into_iter()
                    .find_map(|d| d.root)
                    .map(|r| r.to_json())
                    .unwrap_or(Json::Null);
                let v = match text_target(from) {
                    Some(path) => nest(&path, v),
                    None => v,
                };
                values.push(v);
            }
            Some(ConfigValue::Secret) => app.problems.push(problem(
                Severity::Warning,
                Some((&at.0, at.1)),
                "apps",
                format!(
                    "HelmRelease {namespace}/{name}: values from Secret {ref_name} are not used offline (Secret values are never read)"
                ),
            )),
            None if optional => {}
            None => app.problems.push(problem(
                Severity::Warning,
                Some((&at.0, at.1)),
                "apps",
                format!(
                    "HelmRelease {namespace}/{name}: valuesFrom {kind} {ref_name} (key {key}) is not in the repository"
                ),
            )),
        }
    }
    if let Some(v) = get("values") {
        values.push(v.to_json());
    }
    for f in &values_files {
        app.inputs.insert(f.clone());
    }
    app.recipe = Recipe::Helm(HelmChart {
        chart,
        release,
        namespace: Some(release_namespace),
        values_files,
        values,
        parameters: Vec::new(),
        skip_crds: false,
        post_render,
    });
    app
}

fn text_target(from: &Node) -> Option<String> {
    text(from.get("targetPath"))
}

/// `a.b.c` and a value as `{a: {b: {c: value}}}`.
fn nest(path: &str, value: Json) -> Json {
    path.rsplit('.').fold(value, |inner, key| {
        let mut m = serde_json::Map::new();
        m.insert(key.to_string(), inner);
        Json::Object(m)
    })
}

/// A value read from a ConfigMap or Secret of the repository.
pub enum ConfigValue {
    Text(String),
    /// A Secret's value: it exists, but is never read.
    Secret,
}
