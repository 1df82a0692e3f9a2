//! Argo CD `Application`s and `ApplicationSet`s as apps, read the way the application
//! controller and repo-server read them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::repo::{RepoView, spec_path};
use super::{
    App, ChartSource, Controller, HelmChart, Overlay, Recipe, json_items, paths_under, problem,
    text,
};
use crate::diagnostic::Severity;
use crate::manifest::kustomize::{join, normalize};
use crate::manifest::yaml::{self, Node};

pub const GROUP: &str = "argoproj.io";

/// The in-cluster API server address Argo CD calls `in-cluster`.
const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// An `Application` as an app.
pub fn application(node: &Node, at: (Arc<str>, u32), repo: &RepoView) -> App {
    let name = text(node.path(&["metadata", "name"])).unwrap_or_default();
    let namespace = text(node.path(&["metadata", "namespace"])).unwrap_or_else(|| "argocd".into());
    let spec = node.get("spec");
    let destination = spec.and_then(|s| s.get("destination"));
    let cluster = text(destination.and_then(|d| d.get("name"))).or_else(|| {
        text(destination.and_then(|d| d.get("server"))).map(|s| {
            if s.trim_end_matches('/') == IN_CLUSTER {
                "in-cluster".to_string()
            } else {
                s
            }
        })
    });
    let dest_namespace = text(destination.and_then(|d| d.get("namespace")));
    let no_source = Recipe::None {
        reason: "no source".into(),
    };
    let mut app = App {
        name: name.clone(),
        object: Some((namespace, name.clone())),
        cluster,
        namespace: dest_namespace.clone(),
        ignore_differences: spec
            .and_then(|s| s.get("ignoreDifferences"))
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .map(Node::to_json)
            .collect(),
        ..App::new(Controller::Argocd, "Application", no_source).defined_at(&at.0, at.1)
    };
    let sources: Vec<&Node> = match spec.and_then(|s| s.get("sources")).and_then(Node::as_seq) {
        Some(list) => list.iter().collect(),
        None => spec.and_then(|s| s.get("source")).into_iter().collect(),
    };
    // `ref` sources lend their files to `$ref/...` value files of the others.
    let refs: BTreeMap<String, bool> = sources
        .iter()
        .filter_map(|s| {
            let r = text(s.get("ref"))?;
            let url = text(s.get("repoURL")).unwrap_or_default();
            Some((r, repo.is_this_repo(&url) || !repo.has_remotes()))
        })
        .collect();
    let mut recipes = Vec::new();
    for source in &sources {
        if text(source.get("ref")).is_some()
            && source.get("path").is_none()
            && source.get("chart").is_none()
        {
            continue;
        }
        match source_recipe(
            source,
            &name,
            dest_namespace.as_deref(),
            &refs,
            repo,
            &mut app,
        ) {
            Ok(recipe) => recipes.push(recipe),
            Err(reason) => recipes.push(Recipe::None { reason }),
        }
    }
    let at_ref = (&at.0, at.1);
    app.recipe = match recipes.len() {
        0 => Recipe::None {
            reason: "no source with a path or chart".into(),
        },
        1 => recipes.pop().expect("one recipe"),
        _ if recipes.iter().all(|r| matches!(r, Recipe::None { .. })) => recipes.remove(0),
        _ => Recipe::Multi(
            recipes
                .into_iter()
                .filter(|r| !matches!(r, Recipe::None { .. }))
                .collect(),
        ),
    };
    if let Recipe::None { reason } = &app.recipe
        && !reason.starts_with("source elsewhere")
    {
        app.problems.push(problem(
            Severity::Warning,
            Some(at_ref),
            "apps",
            format!("Application {name}: {reason}"),
        ));
    }
    app
}

/// How one source of an Application is rendered.
fn source_recipe(
    source: &Node,
    app_name: &str,
    dest_namespace: Option<&str>,
    refs: &BTreeMap<String, bool>,
    repo: &RepoView,
    app: &mut App,
) -> Result<Recipe, String> {
    let url = text(source.get("repoURL")).unwrap_or_default();
    let revision = text(source.get("targetRevision"));
    if let Some(chart) = text(source.get("chart")) {
        let helm = source.get("helm");
        return Ok(Recipe::Helm(helm_chart(
            ChartSource::Remote {
                name: chart,
                version: revision,
                url,
            },
            helm,
            app_name,
            dest_namespace,
            "",
            refs,
            None,
        )));
    }
    let path = spec_path(&text(source.get("path")).unwrap_or_default());
    if !repo.is_this_repo(&url) {
        // A repository without a matching remote (a fork, a mirror, a test clone): the source
        // is taken to be this repository when its path exists here.
        if path.is_empty() || !repo.exists(&path) {
            return Err(format!("source elsewhere: {url} {path}"));
        }
    }
    if !repo.is_dir(&path) {
        return Err(format!("source path {path:?} is not in the repository"));
    }
    app.path.get_or_insert(path.clone());
    // Argo CD Image Updater's write-back files, which the repo-server merges into the source
    // (argoproj/argo-cd reposerver: `.argocd-source.yaml`, then `.argocd-source-<app>.yaml`).
    let mut overrides = Vec::new();
    for file in [
        join(&path, ".argocd-source.yaml"),
        join(&path, &format!(".argocd-source-{app_name}.yaml")),
    ] {
        app.inputs.insert(file.clone());
        if let Some(Ok(bytes)) = repo.set.read_path(&file) {
            let stream = yaml::parse_stream(&String::from_utf8_lossy(&bytes));
            if let Some(root) = stream.documents.into_iter().find_map(|d| d.root) {
                overrides.push(root.to_json());
            }
        }
    }
    let is_helm = source.get("helm").is_some() || repo.chart_of(&path).is_some();
    let is_kustomize = source.get("kustomize").is_some() || repo.kustomization_of(&path).is_some();
    if is_helm && repo.chart_of(&path).is_some() {
        let mut chart = helm_chart(
            ChartSource::Local(path.clone()),
            source.get("helm"),
            app_name,
            dest_namespace,
            &path,
            refs,
            Some(app),
        );
        for o in &overrides {
            for p in o
                .pointer("/helm/parameters")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(n), Some(v)) = (p.get("name").and_then(Json::as_str), p.get("value")) {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    chart.parameters.retain(|(name, _)| name != n);
                    chart.parameters.push((n.to_string(), v));
                }
            }
        }
        return Ok(Recipe::Helm(chart));
    }
    if is_kustomize {
        let mut overlay = kustomize_overlay(source.get("kustomize"), &path);
        for o in &overrides {
            if let Some(images) = o.pointer("/kustomize/images").and_then(Json::as_array) {
                for image in images.iter().filter_map(Json::as_str) {
                    set_image(&mut overlay.images, image);
                }
            }
        }
        return Ok(Recipe::Kustomize { dir: path, overlay });
    }
    let dir = source.get("directory");
    let list = |key: &str| -> Vec<String> {
        text(dir.and_then(|d| d.get(key)))
            .map(|s| expand_braces(&s))
            .unwrap_or_default()
    };
    Ok(Recipe::Directory {
        dir: path,
        recursive: dir
            .and_then(|d| d.get("recurse"))
            .map(|r| r.to_json() == Json::Bool(true))
            .unwrap_or(false),
        include: list("include"),
        exclude: list("exclude"),
    })
}

fn helm_chart(
    chart: ChartSource,
    helm: Option<&Node>,
    app_name: &str,
    dest_namespace: Option<&str>,
    chart_path: &str,
    refs: &BTreeMap<String, bool>,
    mut app: Option<&mut App>,
) -> HelmChart {
    let get = |k: &str| helm.and_then(|h| h.get(k));
    let mut values_files = Vec::new();
    for file in get("valueFiles").and_then(Node::as_seq).unwrap_or_default() {
        let Some(f) = file.scalar_text() else {
            continue;
        };
        let resolved = match f.strip_prefix('$') {
            Some(rest) => {
                let (r, inner) = rest.split_once('/').unwrap_or((rest, ""));
                match refs.get(r) {
                    Some(true) => spec_path(inner),
                    _ => continue,
                }
            }
            None => normalize(&join(chart_path, f)),
        };
        if let Some(app) = app.as_deref_mut() {
            app.inputs.insert(resolved.clone());
        }
        values_files.push(resolved);
    }
    let mut values = Vec::new();
    if let Some(v) = get("values").and_then(Node::scalar_text) {
        let stream = yaml::parse_stream(v);
        if let Some(root) = stream.documents.into_iter().find_map(|d| d.root) {
            values.push(root.to_json());
        }
    }
    if let Some(v) = get("valuesObject") {
        values.push(v.to_json());
    }
    let parameters = get("parameters")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            Some((
                text(p.get("name"))?,
                p.get("value")?.scalar_text()?.to_string(),
            ))
        })
        .collect();
    HelmChart {
        chart,
        release: text(get("releaseName")).unwrap_or_else(|| app_name.to_string()),
        namespace: text(get("namespace")).or(dest_namespace.map(str::to_string)),
        values_files,
        values,
        parameters,
        skip_crds: get("skipCrds").map(|s| s.to_json()) == Some(Json::Bool(true)),
        post_render: Overlay::default(),
    }
}

fn kustomize_overlay(k: Option<&Node>, path: &str) -> Overlay {
    let get = |key: &str| k.and_then(|k| k.get(key));
    let map = |key: &str| -> BTreeMap<String, String> {
        get(key)
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| Some((e.key.clone(), e.value.scalar_text()?.to_string())))
            .collect()
    };
    let mut overlay = Overlay {
        namespace: text(get("namespace")),
        name_prefix: text(get("namePrefix")),
        name_suffix: text(get("nameSuffix")),
        patches: get("patches")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                let mut j = p.to_json();
                // A patch file is relative to the app's path.
                if let Some(f) = j.get("path").and_then(Json::as_str).map(str::to_string) {
                    j["path"] = Json::String(normalize(&join(path, &f)));
                }
                j
            })
            .collect(),
        images: Vec::new(),
        components: paths_under(path, get("components")),
        labels: map("commonLabels"),
        labels_in_selectors: true,
        annotations: map("commonAnnotations"),
        replicas: json_items(get("replicas")),
    };
    for image in get("images").and_then(Node::as_seq).unwrap_or_default() {
        if let Some(i) = image.scalar_text() {
            set_image(&mut overlay.images, i);
        }
    }
    overlay
}

/// Adds an Argo CD image override (`nginx:1.2`, `nginx=registry/nginx:1.2`, `app@sha256:..`)
/// as a kustomize `images` entry, replacing an entry for the same image.
fn set_image(images: &mut Vec<Json>, spec: &str) {
    let (name, target) = spec.split_once('=').unwrap_or((spec, spec));
    let (target, digest) = match target.split_once('@') {
        Some((t, d)) => (t, Some(d)),
        None => (target, None),
    };
    // A colon after the last `/` starts the tag (a registry port comes before it).
    let slash = target.rfind('/').map_or(0, |i| i + 1);
    let (new_name, tag) = match target[slash..].rfind(':') {
        Some(i) => (&target[..slash + i], Some(&target[slash + i + 1..])),
        None => (target, None),
    };
    let name = if spec.contains('=') {
        name.to_string()
    } else {
        new_name.to_string()
    };
    let mut entry = Map::new();
    entry.insert("name".into(), Json::String(name.clone()));
    if new_name != name {
        entry.insert("newName".into(), Json::String(new_name.to_string()));
    }
    if let Some(tag) = tag {
        entry.insert("newTag".into(), Json::String(tag.to_string()));
    }
    if let Some(d) = digest {
        entry.insert("digest".into(), Json::String(d.to_string()));
    }
    images.retain(|i| i.get("name").and_then(Json::as_str) != Some(&name));
    images.push(Json::Object(entry));
}

/// `{a.yaml,b.yaml}` as its alternatives; anything else as itself.
fn expand_braces(pattern: &str) -> Vec<String> {
    match (pattern.find('{'), pattern.rfind('}')) {
        (Some(open), Some(close)) if open < close => pattern[open + 1..close]
            .split(',')
            .map(|alt| {
                format!(
                    "{}{}{}",
                    &pattern[..open],
                    alt.trim(),
                    &pattern[close + 1..]
                )
            })
            .collect(),
        _ => vec![pattern.to_string()],
    }
}

/// Glob matching as Argo CD uses it: `*` and `?` within a path segment, `**` across segments.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segs(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            // A trailing `**` stands for at least one directory below.
            (Some(&"**"), _) if p.len() == 1 => !s.is_empty(),
            (Some(&"**"), _) => segs(&p[1..], s) || (!s.is_empty() && segs(p, &s[1..])),
            (Some(pp), Some(ss)) => seg(pp.as_bytes(), ss.as_bytes()) && segs(&p[1..], &s[1..]),
            _ => false,
        }
    }
    fn seg(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => seg(&p[1..], s) || (!s.is_empty() && seg(p, &s[1..])),
            (Some(b'?'), Some(_)) => seg(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => seg(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let s: Vec<&str> = path.trim_matches('/').split('/').collect();
    segs(&p, &s)
}

/// What an ApplicationSet makes: the Applications of its generators (as YAML nodes, to be read
/// by [`application`]), and the generators that cannot be expanded offline, with why.
pub fn expand_application_set(node: &Node, repo: &RepoView) -> (Vec<Node>, Vec<String>) {
    let spec = node.get("spec");
    let go = spec.and_then(|s| s.get("goTemplate")).map(|g| g.to_json()) == Some(Json::Bool(true));
    let template = spec
        .and_then(|s| s.get("template"))
        .map(Node::to_json)
        .unwrap_or(Json::Null);
    let mut params: Vec<Json> = Vec::new();
    let mut problems = Vec::new();
    for generator in spec
        .and_then(|s| s.get("generators"))
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let Some(entries) = generator.as_map() else {
            continue;
        };
        for entry in entries {
            match entry.key.as_str() {
                "list" => {
                    for element in entry
                        .value
                        .get("elements")
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                    {
                        params.push(element.to_json());
                    }
                }
                "git" => match git_params(&entry.value, repo, go) {
                    Ok(found) => params.extend(found),
                    Err(why) => problems.push(why),
                },
                "selector" | "values" => {}
                other => problems.push(format!(
                    "the {other} generator needs the live Argo CD (clusters, SCM or pull-request APIs); not expandable offline"
                )),
            }
        }
    }
    let mut apps = Vec::new();
    for p in &params {
        match fill(&template, p, go) {
            Ok(mut app) => {
                if let Json::Object(m) = &mut app {
                    m.insert(
                        "apiVersion".into(),
                        Json::String("argoproj.io/v1alpha1".into()),
                    );
                    m.insert("kind".into(), Json::String("Application".into()));
                }
                let text = serde_json::to_string(&app).unwrap_or_default();
                if let Some(root) = yaml::parse_stream(&text)
                    .documents
                    .into_iter()
                    .find_map(|d| d.root)
                {
                    apps.push(root);
                }
            }
            Err(why) => problems.push(why),
        }
    }
    (apps, problems)
}

/// Parameters of a git generator: one set per matching directory or file.
fn git_params(git: &Node, repo: &RepoView, go: bool) -> Result<Vec<Json>, String> {
    let url = text(git.get("repoURL")).unwrap_or_default();
    if repo.has_remotes() && !repo.is_this_repo(&url) {
        return Err(format!(
            "the git generator reads {url}, another repository; not expandable offline"
        ));
    }
    let mut out = Vec::new();
    let extra = git.get("values").map(Node::to_json);
    if let Some(dirs) = git.get("directories").and_then(Node::as_seq) {
        let (exclude, include): (Vec<&Node>, Vec<&Node>) = dirs
            .iter()
            .partition(|d| d.get("exclude").map(|e| e.to_json()) == Some(Json::Bool(true)));
        let pattern = |d: &&Node| text(d.get("path"));
        let includes: Vec<String> = include.iter().filter_map(pattern).collect();
        let excludes: Vec<String> = exclude.iter().filter_map(pattern).collect();
        for dir in repo.all_dirs() {
            if includes.iter().any(|p| glob_match(p, dir))
                && !excludes.iter().any(|p| glob_match(p, dir))
            {
                out.push(path_params(dir, go));
            }
        }
    }
    if let Some(files) = git.get("files").and_then(Node::as_seq) {
        for pattern in files.iter().filter_map(|f| text(f.get("path"))) {
            let mut matched: Vec<&str> = repo
                .set
                .files
                .iter()
                .map(|f| &*f.display)
                .filter(|f| glob_match(&pattern, f))
                .collect();
            matched.sort_unstable();
            for file in matched {
                let content = repo.read_text(file).map_err(|e| format!("{file}: {e}"))?;
                let root = yaml::parse_stream(&content)
                    .documents
                    .into_iter()
                    .find_map(|d| d.root)
                    .map(|r| r.to_json())
                    .unwrap_or(Json::Null);
                let dir = crate::manifest::load::parent(file);
                let mut p = match root {
                    Json::Object(m) if go => Json::Object(m),
                    Json::Object(m) => Json::Object(flatten(&Json::Object(m))),
                    _ => Json::Object(Map::new()),
                };
                merge(&mut p, path_params(dir, go));
                if let Json::Object(m) = &mut p {
                    let filename = file.rsplit('/').next().unwrap_or(file);
                    if go {
                        if let Some(Json::Object(path)) = m.get_mut("path") {
                            path.insert("filename".into(), Json::String(filename.into()));
                        }
                    } else {
                        m.insert("path.filename".into(), Json::String(filename.into()));
                    }
                }
                out.push(p);
            }
        }
    }
    if let Some(extra) = extra {
        for p in &mut out {
            let filled = fill(&extra, p, go)?;
            if let Json::Object(m) = p {
                if go {
                    m.insert("values".into(), filled);
                } else if let Json::Object(v) = filled {
                    for (k, val) in v {
                        m.insert(format!("values.{k}"), val);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn path_params(dir: &str, go: bool) -> Json {
    let segments: Vec<Json> = dir.split('/').map(|s| Json::String(s.into())).collect();
    let basename = dir.rsplit('/').next().unwrap_or(dir).to_string();
    let normalized: String = basename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if go {
        serde_json::json!({"path": {
            "path": dir, "basename": basename, "basenameNormalized": normalized, "segments": segments,
        }})
    } else {
        let mut m = Map::new();
        m.insert("path".into(), Json::String(dir.into()));
        m.insert("path.basename".into(), Json::String(basename));
        m.insert("path.basenameNormalized".into(), Json::String(normalized));
        for (i, s) in segments.into_iter().enumerate() {
            m.insert(format!("path[{i}]"), s);
        }
        Json::Object(m)
    }
}

fn flatten(v: &Json) -> Map<String, Json> {
    let mut out = Map::new();
    fn walk(prefix: &str, v: &Json, out: &mut Map<String, Json>) {
        match v {
            Json::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => {
                out.insert(
                    prefix.to_string(),
                    match other {
                        Json::String(s) => Json::String(s.clone()),
                        o => Json::String(o.to_string()),
                    },
                );
            }
        }
    }
    walk("", v, &mut out);
    out
}

fn merge(into: &mut Json, from: Json) {
    if let (Json::Object(a), Json::Object(b)) = (into, from) {
        for (k, v) in b {
            a.insert(k, v);
        }
    }
}

/// Fills `{{ ... }}` expressions in every string of a template.
fn fill(template: &Json, params: &Json, go: bool) -> Result<Json, String> {
    Ok(match template {
        Json::String(s) => Json::String(fill_str(s, params, go)?),
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|i| fill(i, params, go))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| Ok((fill_str(k, params, go)?, fill(v, params, go)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn fill_str(s: &str, params: &Json, go: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let expr = rest[open + 2..open + close]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        let value = if go {
            go_expr(expr, params)
        } else {
            params.get(expr).cloned()
        };
        match value {
            Some(Json::String(v)) => out.push_str(&v),
            Some(Json::Null) | None => {
                return Err(format!(
                    "template expression {{{{{expr}}}}} cannot be evaluated offline (only parameters and `index` are)"
                ));
            }
            Some(other) => out.push_str(&other.to_string()),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The Go template subset ApplicationSets use in practice: `.a.b` and `index .a N`.
fn go_expr(expr: &str, params: &Json) -> Option<Json> {
    let lookup = |path: &str| -> Option<Json> {
        let path = path.strip_prefix('.')?;
        if path.is_empty() {
            return Some(params.clone());
        }
        path.split('.')
            .try_fold(params.clone(), |v, k| v.get(k).cloned())
    };
    let words: Vec<&str> = expr.split_whitespace().collect();
    match words.as_slice() {
        [path] => lookup(path),
        ["index", path, keys @ ..] => keys.iter().try_fold(lookup(path)?, |v, k| {
            let k = k.trim_matches('"');
            match k.parse::<usize>() {
                Ok(i) => v.get(i).cloned(),
                Err(_) => v.get(k).cloned(),
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_argocd() {
        assert!(glob_match("apps/*", "apps/web"));
        assert!(!glob_match("apps/*", "apps/web/x"));
        assert!(glob_match("apps/**", "apps/web/x"));
        assert!(glob_match(
            "config/**/config.json",
            "config/a/b/config.json"
        ));
        assert!(glob_match("*.yaml", "a.yaml"));
    }

    #[test]
    fn templates_fill_go_and_plain() {
        let p = path_params("examples/git/resources/folder1", true);
        assert_eq!(
            fill_str(
                "{{ .path.basename }}-{{ index .path.segments 2 }}",
                &p,
                true
            )
            .unwrap(),
            "folder1-resources"
        );
        let p = path_params("apps/web", false);
        assert_eq!(fill_str("{{path.basename}}", &p, false).unwrap(), "web");
        assert!(fill_str("{{ .path.basename | upper }}", &p, true).is_err());
    }

    #[test]
    fn image_overrides_become_kustomize_images() {
        let mut images = Vec::new();
        set_image(&mut images, "nginx:1.27.0");
        set_image(&mut images, "app=registry:5000/team/app:2.0");
        set_image(&mut images, "nginx:1.27.1");
        assert_eq!(
            images,
            vec![
                serde_json::json!({"name": "app", "newName": "registry:5000/team/app", "newTag": "2.0"}),
                serde_json::json!({"name": "nginx", "newTag": "1.27.1"}),
            ]
        );
    }
}
