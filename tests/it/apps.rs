//! Apps: Flux and Argo CD layouts made with the git CLI, seen through `apps`, `render`,
//! `validate`, `diff --from/--to` and the pre-push hook.

use crate::common::{Repo, git_output, stderr, stdout};

const GOTK_SYNC: &str = r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: https://example.com/fleet.git
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/CLUSTER
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"#;

const APPS_KS: &str = r#"apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/CLUSTER
  prune: true
  targetNamespace: web
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      cluster: CLUSTER
    substituteFrom:
      - kind: ConfigMap
        name: cluster-vars
"#;

const VARS: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-vars
  namespace: flux-system
data:
  version: "VERSION"
"#;

const BASE_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    cluster: ${cluster}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:${version}
          resources:
            limits: {cpu: 100m, memory: 64Mi}
"#;

/// Two clusters (staging, production), each bootstrapped by Flux, each with an `apps`
/// Kustomization over an overlay of one base, substituted from a ConfigMap in the repo.
fn flux_repo() -> Repo {
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", "https://example.com/fleet.git"]);
    for (cluster, version, replicas) in [("staging", "1.2.3", 1), ("production", "1.2.0", 3)] {
        repo.write(
            &format!("clusters/{cluster}/flux-system/gotk-sync.yaml"),
            &GOTK_SYNC.replace("CLUSTER", cluster),
        )
        .write(
            &format!("clusters/{cluster}/flux-system/kustomization.yaml"),
            "resources: [gotk-sync.yaml]\n",
        )
        .write(
            &format!("clusters/{cluster}/apps.yaml"),
            &APPS_KS.replace("CLUSTER", cluster),
        )
        .write(
            &format!("clusters/{cluster}/cluster-vars.yaml"),
            &VARS.replace("VERSION", version),
        )
        .write(
            &format!("apps/{cluster}/kustomization.yaml"),
            &format!(
                "resources: [../base]\npatches:\n  - target: {{kind: Deployment, name: web}}\n    patch: |\n      - op: replace\n        path: /spec/replicas\n        value: {replicas}\n"
            ),
        );
    }
    repo.write(
        "apps/base/kustomization.yaml",
        "resources: [deployment.yaml]\n",
    )
    .write("apps/base/deployment.yaml", BASE_DEPLOYMENT);
    repo.commit_all("fleet");
    repo
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

#[test]
fn flux_apps_are_listed_per_cluster_and_rendered_with_substitution() {
    let repo = flux_repo();
    let out = repo.run().args(["apps", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = json(&out);
    let names: Vec<&str> = listed["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for want in [
        "clusters/staging/flux-system/flux-system",
        "clusters/staging/flux-system/apps",
        "clusters/production/flux-system/flux-system",
        "clusters/production/flux-system/apps",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // The base is deployed through the overlays only: no app of its own.
    assert!(!names.iter().any(|n| n.contains("apps/base")), "{names:?}");
    let staging = listed["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "clusters/staging/flux-system/apps")
        .unwrap();
    assert_eq!(staging["controller"], "flux");
    assert_eq!(staging["cluster"], "clusters/staging");
    assert_eq!(staging["namespace"], "web");
    assert_eq!(staging["path"], "apps/staging");
    assert_eq!(staging["objects"], 1);

    // `staging/flux-system/apps` is a unique end of the name; `apps` alone is ambiguous.
    let out = repo
        .run()
        .args(["render", "staging/flux-system/apps", "--working-tree"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("image: ghcr.io/example/web:1.2.3"), "{text}");
    assert!(text.contains("cluster: staging"), "{text}");
    assert!(text.contains("namespace: web"), "{text}");
    assert!(!text.contains("${"), "{text}");
    let out = repo.run().args(["render", "apps"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("matches several apps"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_same_object_in_two_clusters_is_two_objects() {
    let repo = flux_repo();
    let out = repo.run().args(["validate"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!stdout(&out).contains("duplicate"), "{}", stdout(&out));

    let out = repo
        .run()
        .args(["diff", "--from", "HEAD", "--to", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");

    // A one-line change in one overlay is one change, in that cluster's app.
    let overlay = repo.read("apps/production/kustomization.yaml");
    repo.write(
        "apps/production/kustomization.yaml",
        &overlay.replace("value: 3", "value: 5"),
    );
    repo.commit_all("scale production");
    let out = repo
        .run()
        .args(["diff", "--from", "HEAD~1", "--to", "HEAD", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let changed: Vec<(&str, &str)> = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["result"] != "unchanged")
        .map(|o| (o["app"].as_str().unwrap(), o["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changed,
        vec![("clusters/production/flux-system/apps", "web")]
    );

    let out = repo
        .run()
        .args(["diff", "--from", "HEAD~1", "--to", "HEAD", "-o", "markdown"])
        .output()
        .unwrap();
    let md = stdout(&out);
    assert!(
        md.contains("| `clusters/production/flux-system/apps` | 0 | 1 | 0 |"),
        "{md}"
    );
    assert!(!md.contains("clusters/staging"), "{md}");
    assert!(
        md.contains("-  replicas: 3") && md.contains("+  replicas: 5"),
        "{md}"
    );
    assert!(md.contains("<details>"), "{md}");
}

#[test]
fn a_base_change_is_checked_through_every_overlay_by_the_pre_push_hook() {
    let repo = flux_repo();
    let remote = Repo::bare();
    repo.git(&["remote", "add", "push", remote.path().to_str().unwrap()]);
    repo.run().args(["hooks", "install"]).assert().success();
    let out = git_output(repo.path(), &["push", "-q", "push", "main"]);
    assert!(
        out.status.success(),
        "unchanged repository: {}",
        stderr(&out)
    );

    // An unknown field in the base breaks both clusters' apps.
    let base = repo.read("apps/base/deployment.yaml");
    repo.write(
        "apps/base/deployment.yaml",
        &base.replace("  replicas: 1\n", "  replicas: 1\n  replica: 2\n"),
    );
    repo.commit_all("typo");
    let out = git_output(repo.path(), &["push", "-q", "push", "main"]);
    assert!(!out.status.success(), "a broken base was pushed");
    let err = stderr(&out);
    // At the line of the field in the base, once, though both clusters' overlays build it.
    let at_field: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("apps/base/deployment.yaml:9:") && l.contains("replica"))
        .collect();
    assert_eq!(at_field.len(), 1, "{err}");
}

#[test]
fn argocd_app_of_apps_applicationset_and_image_updater_override() {
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", "git@example.com:team/deploy.git"]);
    let app = |name: &str, path: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://example.com/team/deploy.git\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {name}\n"
        )
    };
    repo.write("root.yaml", &app("root", "argocd"))
        .write("argocd/web.yaml", &app("web", "web"))
        .write(
            "argocd/services.yaml",
            r#"apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: services
  namespace: argocd
spec:
  goTemplate: true
  generators:
    - git:
        repoURL: https://example.com/team/deploy.git
        revision: HEAD
        directories:
          - path: services/*
  template:
    metadata:
      name: "svc-{{ .path.basename }}"
    spec:
      project: default
      source:
        repoURL: https://example.com/team/deploy.git
        path: "{{ .path.path }}"
      destination:
        server: https://kubernetes.default.svc
        namespace: "{{ .path.basename }}"
"#,
        )
        .write("web/kustomization.yaml", "resources: [deployment.yaml]\n")
        .write(
            "web/deployment.yaml",
            &BASE_DEPLOYMENT
                .replace("${version}", "1.0.0")
                .replace("${cluster}", "one"),
        )
        .write(
            "web/.argocd-source-web.yaml",
            "kustomize:\n  images:\n    - ghcr.io/example/web:1.1.0\n",
        )
        .write(
            "services/a/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {k: v}\n",
        )
        .write(
            "services/b/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata: {k: v}\n",
        );
    repo.commit_all("apps");

    let out = repo.run().args(["apps", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = json(&out);
    let apps = listed["apps"].as_array().unwrap();
    let find = |name: &str| {
        apps.iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {listed}"))
    };
    assert_eq!(find("web")["parent"], "root");
    assert_eq!(find("web")["renderer"], "kustomize");
    assert_eq!(find("svc-a")["path"], "services/a");
    assert_eq!(find("svc-b")["namespace"], "b");
    assert_eq!(find("svc-b")["cluster"], "in-cluster");

    // The Image Updater write-back file wins over the tag in the manifests.
    let out = repo.run().args(["render", "web"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("image: ghcr.io/example/web:1.1.0"),
        "{}",
        stdout(&out)
    );

    // A write-back commit is a change of the app it belongs to.
    repo.write(
        "web/.argocd-source-web.yaml",
        "kustomize:\n  images:\n    - ghcr.io/example/web:1.2.0\n",
    );
    repo.commit_all("build: automatic update of web");
    let out = repo
        .run()
        .args(["diff", "--from", "HEAD~1", "--to", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("# app web: 0 added, 1 changed, 0 removed"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with('+') && l.ends_with("image: ghcr.io/example/web:1.2.0")),
        "{text}"
    );
}

/// A stand-in for `helm` (no helm binary can be installed here): it records its arguments
/// and prints one ConfigMap, so the arguments and values files we pass are what is tested.
const HELM_STAND_IN: &str = "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$HELM_ARGS_FILE.$2\"\nprintf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: from-chart\\ndata:\\n  k: v\\n'\n";

fn helm_repo() -> Repo {
    let repo = Repo::new();
    repo.write(
        "clusters/dev/flux-system/gotk-sync.yaml",
        &GOTK_SYNC.replace("CLUSTER", "dev"),
    )
    .write(
        "clusters/dev/web.yaml",
        r#"apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: flux-system
spec:
  interval: 10m
  targetNamespace: web
  chart:
    spec:
      chart: ./charts/web
      sourceRef:
        kind: GitRepository
        name: flux-system
      valuesFiles:
        - ./charts/web/values-dev.yaml
  values:
    replicas: 2
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bitnami
  namespace: flux-system
spec:
  url: https://charts.example.com/bitnami
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: redis
  namespace: flux-system
spec:
  interval: 10m
  chart:
    spec:
      chart: redis
      version: 19.0.1
      sourceRef:
        kind: HelmRepository
        name: bitnami
"#,
    )
    .write("charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    .write("charts/web/values.yaml", "replicas: 1\n")
    .write("charts/web/values-dev.yaml", "replicas: 1\n")
    // A template is not YAML: it must never be read as a manifest.
    .write(
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n",
    );
    repo.commit_all("helm");
    repo
}

#[test]
fn helm_releases_without_helm_are_listed_as_not_rendered() {
    let repo = helm_repo();
    let out = repo
        .run()
        .env("PATH", "/usr/bin:/bin")
        .args(["apps", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = json(&out);
    let redis = listed["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "clusters/dev/flux-system/redis")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(redis["rendered"], false);
    let reason = redis["notRendered"].as_str().unwrap();
    assert!(
        reason.contains(
            "chart redis 19.0.1 from https://charts.example.com/bitnami is not available offline"
        ),
        "{reason}"
    );
    let out = repo
        .run()
        .env("PATH", "/usr/bin:/bin")
        .args(["validate"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!stdout(&out).contains("YAML syntax"), "{}", stdout(&out));
}

#[test]
fn helm_releases_from_the_repository_are_rendered_with_their_values() {
    let repo = helm_repo();
    let bin = tempfile::tempdir().unwrap();
    let helm = bin.path().join("helm");
    crate::common::write_script(&helm, HELM_STAND_IN);
    let args_file = bin.path().join("args");
    let out = repo
        .run()
        .env("HELM", &helm)
        .env("HELM_ARGS_FILE", &args_file)
        .args(["render", "dev/flux-system/web", "--working-tree"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("name: from-chart"),
        "{}",
        stdout(&out)
    );
    let args: Vec<String> = std::fs::read_to_string(bin.path().join("args.web-web"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(args[0], "template");
    // helm-controller names the release `<targetNamespace>-<name>`.
    assert_eq!(args[1], "web-web");
    assert!(args[2].ends_with("charts/web"), "{args:?}");
    let at = |flag: &str| args.iter().position(|a| a == flag).unwrap();
    assert_eq!(args[at("--namespace") + 1], "web");
    let values: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i > 0 && args[i - 1] == "--values")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(values.len(), 2, "{args:?}");
    assert!(
        values[0].ends_with("charts/web/values-dev.yaml"),
        "{args:?}"
    );
    // The second is the release's spec.values, written to a temporary file.
    assert!(values[1].ends_with(".json"), "{args:?}");
    assert!(args.contains(&"--include-crds".to_string()), "{args:?}");
}

/// Resources-only kustomizations are built in process; the objects must be exactly what
/// `kubectl kustomize` makes of the same files. A kustomization that differs only by an
/// empty `commonAnnotations` (which changes nothing) goes through kubectl, so the two
/// renders of the same files can be compared.
#[test]
fn kustomizations_built_here_match_kubectl_kustomize() {
    let repo = Repo::new();
    let files = [
        ("deployment.yaml", BASE_DEPLOYMENT.replace("${version}", "1.0").replace("${cluster}", "x")),
        ("namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n".to_string()),
        (
            "role.yaml",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules: []\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: elsewhere\ndata: {replicas: \"3\", enabled: \"yes\"}\n".to_string(),
        ),
    ];
    for app in ["here", "kubectl"] {
        for (name, text) in &files {
            repo.write(&format!("{app}/base/{name}"), text);
        }
        repo.write(
            &format!("{app}/base/kustomization.yaml"),
            "resources: [namespace.yaml, deployment.yaml, role.yaml]\n",
        );
        let extra = if app == "kubectl" {
            "commonAnnotations: {}\n"
        } else {
            ""
        };
        repo.write(
            &format!("{app}/overlay/kustomization.yaml"),
            &format!("namespace: shop\nresources: [../base]\n{extra}"),
        );
        repo.write(
            &format!("{app}.yaml"),
            &format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {app}\n  namespace: argocd\nspec:\n  source:\n    repoURL: https://example.com/x.git\n    path: {app}/overlay\n  destination:\n    server: https://kubernetes.default.svc\n"
            ),
        );
    }
    repo.commit_all("two copies");
    let render = |app: &str| -> Vec<serde_json::Value> {
        let out = repo
            .run()
            .args(["render", app, "-o", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut objects = json(&out)["apps"][app].as_array().unwrap().clone();
        objects.sort_by_key(|o| o.to_string());
        objects
    };
    let here = render("here");
    assert_eq!(here.len(), 4, "{here:?}");
    assert_eq!(here, render("kubectl"));
}

#[test]
fn unresolved_variables_are_warnings_at_their_line_and_defaults_apply() {
    let repo = flux_repo();
    repo.write(
        "apps/base/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  region: ${region:=eu-west-1}\n  owner: ${owner}\n",
    );
    repo.write(
        "apps/base/kustomization.yaml",
        "resources: [deployment.yaml, settings.yaml]\n",
    );
    repo.commit_all("settings");
    let out = repo.run().args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("apps/base/settings.yaml:7: warning: ${owner} is not defined by app clusters/staging/flux-system/apps"),
        "{text}"
    );
    let out = repo
        .run()
        .args(["render", "production/flux-system/apps", "-o", "json"])
        .output()
        .unwrap();
    let objects = json(&out)["apps"]["clusters/production/flux-system/apps"].clone();
    let cm = objects
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .unwrap()
        .clone();
    assert_eq!(cm["data"]["region"], "eu-west-1");
    // `owner: ${owner}` becomes `owner: `, which YAML reads as null, as Flux's re-read does.
    assert!(cm["data"]["owner"].is_null(), "{cm}");
}

#[test]
fn each_cluster_is_compared_with_the_context_gitops_yaml_maps_it_to() {
    let repo = flux_repo();
    repo.write(
        ".gitops.yaml",
        "clusters:\n  - name: clusters/staging\n    context: staging-ctx-that-does-not-exist\n",
    );
    repo.commit_all("map staging");
    let out = repo.run().args(["apps", "-o", "json"]).output().unwrap();
    let listed = json(&out);
    let context = |name: &str| {
        listed["apps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()["context"]
            .clone()
    };
    assert_eq!(
        context("clusters/staging/flux-system/apps"),
        "staging-ctx-that-does-not-exist"
    );
    assert_eq!(
        context("clusters/production/flux-system/apps"),
        serde_json::Value::Null
    );
    let kubeconfig = repo.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    )
    .unwrap();
    let out = repo
        .run()
        .env("KUBECONFIG", &kubeconfig)
        .args(["status", "--app", "staging/flux-system/apps"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("staging-ctx-that-does-not-exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn two_apps_applying_one_object_to_one_cluster_are_a_conflict() {
    let repo = Repo::new();
    let app = |name: &str, server: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  source:\n    repoURL: https://example.com/x.git\n    path: shared\n  destination:\n    server: {server}\n    namespace: web\n"
        )
    };
    repo.write("argocd/a.yaml", &app("a", "https://kubernetes.default.svc"))
        .write("argocd/b.yaml", &app("b", "https://kubernetes.default.svc"))
        .write("argocd/c.yaml", &app("c", "https://prod.example.com"))
        .write(
            "shared/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {k: v}\n",
        );
    repo.commit_all("apps");
    let out = repo.run().args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let conflicts: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.contains("fight over it"))
        .map(str::to_string)
        .collect();
    // a and b share a cluster; c deploys the same object to another one, which is normal.
    assert_eq!(
        conflicts,
        vec![
            "shared/cm.yaml:1: warning: ConfigMap/settings is applied to cluster in-cluster by app a and by app b; the two fight over it"
        ]
    );
}

#[test]
fn the_same_revision_is_empty_even_with_an_object_defined_twice() {
    let repo = Repo::new();
    let cm = |v: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\ndata: {{v: \"{v}\"}}\n")
    };
    repo.write("dir/a.yaml", &cm("1"))
        .write("dir/b.yaml", &cm("2"));
    repo.commit_all("twice");
    for args in [
        &["diff", "--from", "HEAD", "--to", "HEAD"][..],
        &["diff", "--from", "HEAD", "--to", "HEAD", "--all-apps"][..],
    ] {
        let out = repo.run().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stdout(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

/// A push that changes a custom resource is checked against its CRD even when the CRD is in
/// an app the push does not touch.
#[test]
fn the_pre_push_hook_checks_a_custom_resource_against_a_crd_of_another_app() {
    let repo = Repo::new();
    let root = env!("CARGO_MANIFEST_DIR");
    let crd = std::fs::read_to_string(format!("{root}/examples/crds/backupschedule.yaml")).unwrap();
    let backup =
        std::fs::read_to_string(format!("{root}/examples/apps/guestbook/backup.yaml")).unwrap();
    let app = |name: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  source:\n    repoURL: https://example.com/x.git\n    path: {name}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {name}\n"
        )
    };
    repo.write("argocd/crds.yaml", &app("crds"))
        .write("argocd/web.yaml", &app("web"))
        .write("crds/backupschedule.yaml", &crd)
        .write("web/backup.yaml", &backup);
    repo.commit_all("apps");
    let remote = Repo::bare();
    repo.git(&["remote", "add", "push", remote.path().to_str().unwrap()]);
    repo.run().args(["hooks", "install"]).assert().success();
    let out = git_output(repo.path(), &["push", "-q", "push", "main"]);
    assert!(out.status.success(), "valid push: {}", stderr(&out));

    repo.write(
        "web/backup.yaml",
        &backup.replace("kind: StatefulSet", "kind: DaemonSet"),
    );
    repo.commit_all("back up a daemonset");
    let out = git_output(repo.path(), &["push", "-q", "push", "main"]);
    assert!(
        !out.status.success(),
        "pushed a value the CRD's enum refuses"
    );
    let err = stderr(&out);
    assert!(err.contains("web/backup.yaml"), "{err}");
    assert!(err.contains("DaemonSet"), "{err}");
    assert!(!err.contains("crds/backupschedule.yaml"), "{err}");
}

/// The pre-push hook remembers which blobs hold no controller object; a push that adds one
/// is still seen as a repository with apps.
#[test]
fn the_plain_blob_cache_never_hides_a_new_controller_object() {
    let repo = Repo::new();
    let plain = BASE_DEPLOYMENT
        .replace("${version}", "1.0")
        .replace("${cluster}", "dev");
    repo.write("base/kustomization.yaml", "resources: [deployment.yaml]\n")
        .write("base/deployment.yaml", &plain);
    repo.commit_all("plain");
    let remote = Repo::bare();
    repo.git(&["remote", "add", "push", remote.path().to_str().unwrap()]);
    repo.run().args(["hooks", "install"]).assert().success();
    let out = git_output(repo.path(), &["push", "-q", "push", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let git_dir = repo.path().join(".git");
    let cache = std::fs::read_to_string(git_dir.join("kubectl-gitops/plain-blobs")).unwrap();
    // The deployment; kustomization.yaml is never a manifest, so never searched.
    assert_eq!(cache.lines().count(), 1, "{cache}");

    // A Flux Kustomization over the base whose substitution makes replicas a string: an
    // error seen only through the app, which the cache of plain blobs must not hide.
    repo.write(
        "clusters/dev/flux-system/gotk-sync.yaml",
        &GOTK_SYNC.replace("CLUSTER", "dev"),
    )
    .write(
        "clusters/dev/apps.yaml",
        &APPS_KS
            .replace("CLUSTER", "dev")
            .replace("./apps/dev", "./base")
            .replace("cluster: dev", "cluster: dev\n      replicas: many"),
    );
    let base = repo.read("base/deployment.yaml");
    repo.write(
        "base/deployment.yaml",
        &base.replace("replicas: 1", "replicas: ${replicas}"),
    );
    repo.commit_all("a flux app; replicas from a variable");
    let out = git_output(repo.path(), &["push", "-q", "push", "main"]);
    assert!(
        !out.status.success(),
        "replicas: many went through: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("base/deployment.yaml"),
        "{}",
        stderr(&out)
    );
}
