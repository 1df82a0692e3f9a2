//! `status` and `diff` against a Kubernetes API server.
//!
//! The ignored tests need a real cluster: they read `KUBECONFIG` (run
//! `eval "$(tests/cluster/apiserver.sh up)"`, or point it at any cluster where you may create
//! namespaces), create their own uniquely named namespace and delete it. The fault tests at the
//! end need no cluster: they start tiny local servers that refuse, fail or never answer.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Repo, stderr, stdout};

const NEEDS_CLUSTER: &str = "needs a cluster: run tests/cluster/apiserver.sh up";

fn kubeconfig() -> String {
    std::env::var("KUBECONFIG")
        .ok()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| panic!("KUBECONFIG is not set; {NEEDS_CLUSTER}"))
}

fn kubectl_with(config: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new("kubectl");
    cmd.args(args).env("KUBECONFIG", config);
    if let Some(input) = stdin {
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        return child.wait_with_output().expect("kubectl finishes");
    }
    cmd.output().expect("kubectl runs")
}

/// Runs kubectl with the test cluster's kubeconfig; panics when it fails.
fn kubectl(args: &[&str]) -> String {
    let out = kubectl_with(&kubeconfig(), args, None);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

fn kubectl_apply(manifest: &str, extra: &[&str]) {
    let mut args = vec!["apply", "-f", "-"];
    args.extend_from_slice(extra);
    let out = kubectl_with(&kubeconfig(), &args, Some(manifest));
    assert!(
        out.status.success(),
        "kubectl apply failed: {}",
        stderr(&out)
    );
}

/// `kubectl apply --server-side -f PATH` with the given kubeconfig, as a controller applies.
fn apply_server_side(config: &str, path: &std::path::Path) {
    let path = path.display().to_string();
    let out = kubectl_with(config, &["apply", "--server-side", "-f", &path], None);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A namespace of its own, deleted when the test ends (without waiting: a cluster without a
/// controller manager never finishes deleting namespaces).
struct Namespace {
    name: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

impl Namespace {
    fn new() -> Namespace {
        let name = unique("kgo");
        kubectl(&["create", "namespace", &name]);
        Namespace { name }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = kubectl_with(
            &kubeconfig(),
            &["delete", "namespace", &self.name, "--wait=false"],
            None,
        );
    }
}

/// A kubeconfig for the current context that acts as `user` (impersonation), so RBAC can be
/// tested on any cluster whose admin may impersonate.
fn impersonating(dir: &Path, user: &str) -> PathBuf {
    let raw = kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "--flatten",
        "-o",
        "json",
    ]);
    let mut config: Value = serde_json::from_str(&raw).expect("kubeconfig JSON");
    config["users"][0]["user"]["as"] = json!(user);
    let path = dir.join(format!("kubeconfig-{user}.json"));
    std::fs::write(&path, config.to_string()).expect("write kubeconfig");
    path
}

/// A kubeconfig for the current cluster with another user entry.
fn with_user(dir: &Path, name: &str, user: Value) -> PathBuf {
    let raw = kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "--flatten",
        "-o",
        "json",
    ]);
    let mut config: Value = serde_json::from_str(&raw).expect("kubeconfig JSON");
    config["users"][0]["user"] = user;
    let path = dir.join(format!("kubeconfig-{name}.json"));
    std::fs::write(&path, config.to_string()).expect("write kubeconfig");
    path
}

/// Gives `user` read-only access (get/list/watch, no patch) in a namespace.
fn grant_read_only(ns: &str, user: &str) {
    kubectl_apply(
        &format!(
            "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: read-only, namespace: {ns}}}
rules:
- apiGroups: [\"*\"]
  resources: [\"*\"]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: read-only, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-only}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}
"
        ),
        &[],
    );
}

/// The binary run in a repository against the test cluster.
fn run(repo: &Repo, config: &str, args: &[&str]) -> Output {
    repo.run()
        .env("KUBECONFIG", config)
        .args(args)
        .output()
        .expect("binary runs")
}

const SECRET_VALUES: &[&str] = &[
    "s3cr3t-from-git",
    "czNjcjN0LWZyb20tZ2l0",
    "changed-live-value",
    "Y2hhbmdlZC1saXZlLXZhbHVl",
];

fn assert_no_secret_values(text: &str) {
    for value in SECRET_VALUES {
        assert!(
            !text.contains(value),
            "secret value {value} leaked:\n{text}"
        );
    }
}

/// An app written the way people write them: quantities in other spellings, int ports,
/// empty maps, `stringData`. The Service carries `protocol` because v1.20's server-side apply
/// cannot merge ports without it, and is headless so that it takes no address from a test
/// cluster's small service range (namespaces there are never fully deleted).
fn app(ns: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {ns}
  labels:
    app.kubernetes.io/instance: shop-{ns}
  annotations: {{}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - name: MODE
          value: production
        ports:
        - containerPort: 8080
        resources:
          limits: {{cpu: 1000m, memory: 1024Mi}}
          requests: {{cpu: 250m, memory: 0.0625Gi}}
        readinessProbe:
          httpGet: {{path: /healthz, port: 8080}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: {ns}
  labels:
    app.kubernetes.io/instance: shop-{ns}
spec:
  clusterIP: None
  selector: {{app: web}}
  ports:
  - port: 80
    targetPort: 8080
    protocol: TCP
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: {ns}
  labels:
    app.kubernetes.io/instance: shop-{ns}
stringData:
  password: s3cr3t-from-git
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {ns}
  labels:
    app.kubernetes.io/instance: shop-{ns}
data:
  level: info
"
    )
}

fn object<'a>(json: &'a Value, kind: &str, name: &str) -> &'a Value {
    json["clusters"][0]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["kind"] == kind && o["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} in {json}"))
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn in_sync_then_live_edits_are_reported_by_diff_and_status() {
    let config = kubeconfig();
    let ns = Namespace::new();
    let repo = Repo::new();
    repo.write("apps/shop.yaml", &app(&ns.name));
    repo.commit_all("shop");
    apply_server_side(&config, &repo.path().join("apps"));

    // Applied exactly: no spurious differences, everything Synced, also when every object
    // goes through the server-side dry-run.
    for args in [&["diff"][..], &["diff", "--dry-run-all"]] {
        let out = run(&repo, &config, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
    }
    let out = run(&repo, &config, &["diff", "--dry-run-all", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let methods: Vec<&str> = json["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["method"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(methods, vec!["server-side-dry-run"; 4], "{json}");
    let out = run(&repo, &config, &["status", "--exit-code", "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    for o in json["clusters"][0]["objects"].as_array().expect("objects") {
        assert_eq!(o["sync"], "Synced", "{o}");
    }
    assert_eq!(
        object(&json, "Deployment", "web")["images"],
        json!(["nginx:1.25"])
    );

    // Live edits to fields Git sets, a deleted object, and an extra tracked object.
    let n = ns.name.as_str();
    kubectl(&["-n", n, "set", "image", "deployment/web", "web=nginx:1.26"]);
    kubectl(&["-n", n, "scale", "deployment/web", "--replicas=5"]);
    kubectl(&["-n", n, "set", "env", "deployment/web", "MODE=debug"]);
    kubectl(&["-n", n, "label", "service/web", "tier=edge"]);
    kubectl(&[
        "-n",
        n,
        "label",
        "service/web",
        &format!("app.kubernetes.io/instance=shop-{n}-edited"),
        "--overwrite",
    ]);
    kubectl(&[
        "-n",
        n,
        "patch",
        "secret",
        "db",
        "-p",
        r#"{"data":{"password":"Y2hhbmdlZC1saXZlLXZhbHVl"}}"#,
    ]);
    kubectl(&["-n", n, "delete", "configmap", "settings"]);
    kubectl(&[
        "-n",
        n,
        "create",
        "configmap",
        "leftover",
        "--from-literal=k=v",
    ]);
    kubectl(&[
        "-n",
        n,
        "label",
        "configmap",
        "leftover",
        &format!("app.kubernetes.io/instance=shop-{n}"),
    ]);
    kubectl(&["-n", n, "create", "configmap", "unrelated"]);

    let out = run(&repo, &config, &["diff"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    for expected in [
        "-        image: nginx:1.26",
        "+        image: nginx:1.25",
        "-  replicas: 5",
        "+  replicas: 2",
        "-          value: debug",
        "+          value: production",
        &format!("+    app.kubernetes.io/instance: shop-{n}\n"),
        "-  password: \"*** (before)\"",
        "+  password: \"*** (after)\"",
        "# Secret Secret/",
        &format!("+++ MERGED/v1.ConfigMap.{n}.settings"),
        "+  level: info",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("generation"), "no generation noise:\n{text}");
    assert!(
        !text.contains("-    tier: edge"),
        "labels Git does not set are not removed:\n{text}"
    );
    assert!(!text.contains("leftover"), "{text}");
    assert_no_secret_values(&text);
    assert_no_secret_values(&stderr(&out));

    let out = run(&repo, &config, &["diff", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_no_secret_values(&text);
    let json: Value = serde_json::from_str(&text).expect("json");
    let results: Vec<(String, String)> = json["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            (
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    o["name"].as_str().unwrap_or("")
                ),
                o["result"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![
            ("Deployment/web".to_string(), "changed".to_string()),
            ("Service/web".to_string(), "changed".to_string()),
            ("Secret/db".to_string(), "changed".to_string()),
            ("ConfigMap/settings".to_string(), "created".to_string()),
        ]
    );
    assert_eq!(json["objects"][0]["method"], "server-side-dry-run");
    assert_eq!(
        json["objects"][2]["secretKeys"]["changed"],
        json!(["password"])
    );

    for format in ["text", "json", "yaml"] {
        let out = run(&repo, &config, &["status", "--exit-code", "-o", format]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_no_secret_values(&stdout(&out));
    }
    let out = run(&repo, &config, &["status", "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "drift alone exits 0 without --exit-code"
    );
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(object(&json, "Deployment", "web")["sync"], "OutOfSync");
    assert_eq!(
        object(&json, "Deployment", "web")["images"],
        json!(["nginx:1.26"])
    );
    assert_eq!(object(&json, "Secret", "db")["sync"], "OutOfSync");
    assert_eq!(object(&json, "ConfigMap", "settings")["sync"], "Missing");
    let leftover = object(&json, "ConfigMap", "leftover");
    assert_eq!(leftover["sync"], "Extra");
    assert!(
        leftover["reason"]
            .as_str()
            .expect("reason")
            .contains("app.kubernetes.io/instance")
    );
    assert!(
        !json["clusters"][0]["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .any(|o| o["name"] == "unrelated"),
        "untracked objects are not Extra"
    );
    let out = run(&repo, &config, &["status"]);
    let text = stdout(&out);
    assert!(
        text.contains("OutOfSync") && text.contains("Extra") && text.contains("Missing"),
        "{text}"
    );

    // A label of the team's own, given on the command line.
    kubectl(&["-n", n, "create", "configmap", "team-extra"]);
    kubectl(&[
        "-n",
        n,
        "label",
        "configmap",
        "team-extra",
        &format!("team={n}"),
    ]);
    let names = |args: &[&str]| -> Vec<String> {
        let out = run(&repo, &config, args);
        let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
        json["clusters"][0]["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .filter(|o| o["sync"] == "Extra")
            .map(|o| o["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(names(&["status", "-o", "json"]), vec!["leftover"]);
    assert_eq!(
        names(&[
            "status",
            "-o",
            "json",
            "--tracking-label",
            &format!("team={n}")
        ]),
        vec!["leftover", "team-extra"]
    );
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn read_only_identity_falls_back_to_a_client_side_comparison() {
    let ns = Namespace::new();
    let n = ns.name.as_str();
    let repo = Repo::new();
    repo.write("apps/shop.yaml", &app(n));
    repo.commit_all("shop");
    kubectl_apply(&app(n), &["--server-side"]);
    kubectl(&["-n", n, "set", "image", "deployment/web", "web=nginx:1.26"]);
    kubectl(&[
        "-n",
        n,
        "patch",
        "secret",
        "db",
        "-p",
        r#"{"data":{"password":"Y2hhbmdlZC1saXZlLXZhbHVl"}}"#,
    ]);
    let user = format!("reader-{n}");
    grant_read_only(n, &user);
    let readonly = impersonating(repo.path(), &user);
    let readonly = readonly.display().to_string();

    let out = run(&repo, &readonly, &["diff"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        stderr(&out).contains("server-side dry-run refused"),
        "{}",
        stderr(&out)
    );
    assert!(
        text.contains("-        image: nginx:1.26") && text.contains("+        image: nginx:1.25"),
        "{text}"
    );
    assert!(text.contains("*** (before)"), "{text}");
    assert!(
        !text.contains("+++ MERGED/v1.ConfigMap"),
        "unchanged objects stay quiet:\n{text}"
    );
    assert_no_secret_values(&text);
    assert_no_secret_values(&stderr(&out));

    let out = run(&repo, &readonly, &["diff", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    for o in json["objects"].as_array().expect("objects") {
        let expected = if o["result"] == "changed" {
            "client-side"
        } else {
            "live-matches-git"
        };
        assert_eq!(o["method"], expected, "{o}");
    }
    assert_no_secret_values(&stdout(&out));

    // Put it back: the fallback agrees that nothing differs.
    kubectl_apply(&app(n), &["--server-side", "--force-conflicts"]);
    let out = run(&repo, &readonly, &["diff"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn namespaces_and_crds_created_in_the_same_change_would_be_created() {
    let config = kubeconfig();
    let new_ns = unique("kgo-new");
    let group = format!("{}.example.com", unique("g"));
    let repo = Repo::new();
    repo.write(
        "apps/all.yaml",
        &format!(
            "apiVersion: v1
kind: Namespace
metadata:
  name: {new_ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {new_ns}
data:
  a: \"1\"
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  names: {{kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: {group}/v1
kind: Widget
metadata:
  name: w
  namespace: {new_ns}
spec:
  size: 3
---
apiVersion: other.{group}/v1
kind: Gadget
metadata:
  name: g
  namespace: {new_ns}
"
        ),
    );
    repo.commit_all("new things");
    let out = run(&repo, &config, &["diff", "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let results: Vec<&str> = json["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["result"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        results,
        vec!["created", "created", "created", "created", "unknown-kind"],
        "{json}"
    );
    let out = run(&repo, &config, &["diff"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("+  size: 3"), "{}", stdout(&out));
    assert!(stderr(&out).contains("Gadget"), "{}", stderr(&out));
    assert!(stderr(&out).contains("CRD"), "{}", stderr(&out));
}

/// A schemaless CRD with a status subresource, standing in for a controller's own.
/// A permissive CRD standing in for a controller's. Argo CD's Application CRD has no status
/// subresource (the controller writes status with the object), Flux's have one; the stand-ins
/// do the same, so the tests work the same way on a cluster with the real ones.
fn stand_in_crd(group: &str, version: &str, kind: &str, plural: &str) -> String {
    let singular = kind.to_lowercase();
    let subresources = if group == "argoproj.io" {
        ""
    } else {
        "\n    subresources: {status: {}}"
    };
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  names: {{kind: {kind}, listKind: {kind}List, plural: {plural}, singular: {singular}}}
  scope: Namespaced
  versions:
  - name: {version}
    served: true
    storage: true{subresources}
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"
    )
}

/// Installs a stand-in CRD unless the real one is there (a cluster running Flux or Argo CD
/// keeps its own).
fn ensure_crd(name: &str, manifest: &str) {
    let present = kubectl_with(&kubeconfig(), &["get", "crd", name], None);
    if !present.status.success() {
        kubectl_apply(manifest, &[]);
    }
    kubectl(&[
        "wait",
        "--for=condition=established",
        "--timeout=30s",
        &format!("crd/{name}"),
    ]);
}

/// Writes an object's status: through the status subresource where its CRD has one (Flux),
/// with the object itself where it has none (Argo CD's Application CRD).
fn write_status(kind: &str, ns: &str, name: &str, status: Value) {
    let body = json!({ "status": status }).to_string();
    let mut args = vec!["-n", ns, "patch", kind, name, "--type=merge", "-p", &body];
    let out = kubectl_with(
        &kubeconfig(),
        &[&args[..], &["--subresource=status"]].concat(),
        None,
    );
    if !out.status.success() {
        args.push("--output=name");
        kubectl(&args);
    }
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn flux_and_argo_show_applied_revision_and_pending_commits() {
    let config = kubeconfig();
    for (group, version, kind, plural) in [
        (
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "Kustomization",
            "kustomizations",
        ),
        (
            "source.toolkit.fluxcd.io",
            "v1",
            "GitRepository",
            "gitrepositories",
        ),
        ("argoproj.io", "v1alpha1", "Application", "applications"),
    ] {
        ensure_crd(
            &format!("{plural}.{group}"),
            &stand_in_crd(group, version, kind, plural),
        );
    }
    let ns = Namespace::new();
    let n = ns.name.as_str();
    let path = format!("deploy/{n}");
    let repo = Repo::new();
    repo.write(
        &format!("{path}/cm.yaml"),
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {n}\ndata:\n  v: \"1\"\n"),
    );
    let applied = repo.commit_all("first release");
    repo.write(
        &format!("{path}/cm.yaml"),
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {n}\ndata:\n  v: \"2\"\n"),
    );
    repo.commit_all("raise v to 2");
    repo.write("README.md", "not under the path\n");
    repo.commit_all("docs only");
    repo.write(
        &format!("{path}/cm.yaml"),
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {n}\ndata:\n  v: \"3\"\n"),
    );
    repo.commit_all("raise v to 3");

    kubectl_apply(
        &format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: repo, namespace: {n}}}
spec: {{interval: 1m, url: https://git.example.com/org/{n}.git, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: {n}}}
spec: {{interval: 5m, path: ./{path}, prune: true, sourceRef: {{kind: GitRepository, name: repo}}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: shop, namespace: {n}}}
spec:
  project: default
  source: {{repoURL: https://git.example.com/org/{n}.git, path: {path}, targetRevision: main}}
  destination: {{server: https://kubernetes.default.svc, namespace: {n}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: elsewhere, namespace: {n}}}
spec:
  project: default
  source: {{repoURL: https://git.example.com/org/{n}.git, path: {path}, targetRevision: main}}
  destination: {{server: https://kubernetes.default.svc, namespace: {n}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {n}
data:
  v: \"1\"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: pruned-later
  namespace: {n}
"
        ),
        &[],
    );
    let condition = |status: &str, message: String| {
        json!([{"type": "Ready", "status": status, "reason": "ReconciliationSucceeded",
                "message": message, "lastTransitionTime": "2026-01-01T00:00:00Z"}])
    };
    write_status(
        "gitrepository",
        n,
        "repo",
        json!({"artifact": {
        "revision": format!("main@sha1:{applied}"), "path": "x", "url": "http://x",
        "digest": "sha256:0", "lastUpdateTime": "2026-01-01T00:00:00Z"}}),
    );
    write_status(
        "kustomization",
        n,
        "apps",
        json!({
        "lastAppliedRevision": format!("main@sha1:{applied}"),
        "conditions": condition("True", format!("Applied revision: main@sha1:{applied}")),
        "inventory": {"entries": [
            {"id": format!("{n}_settings__ConfigMap"), "v": "v1"},
            {"id": format!("{n}_pruned-later__ConfigMap"), "v": "v1"}]}}),
    );
    write_status(
        "application",
        n,
        "shop",
        json!({
        "sync": {"status": "OutOfSync", "revision": applied},
        "health": {"status": "Healthy"}}),
    );
    write_status(
        "application",
        n,
        "elsewhere",
        json!({
        "sync": {"status": "Synced", "revision": "0123456789abcdef0123456789abcdef01234567"},
        "health": {"status": "Healthy"}}),
    );

    let out = run(&repo, &config, &["status", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let controllers = json["clusters"][0]["controllers"]
        .as_array()
        .expect("controllers");
    let find = |kind: &str, name: &str| {
        controllers
            .iter()
            .find(|c| c["kind"] == kind && c["namespace"] == n && c["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name} in {json}"))
    };
    let flux = find("Kustomization", "apps");
    assert_eq!(flux["appliedCommit"], applied.as_str());
    assert_eq!(flux["ready"], "True");
    assert_eq!(flux["paths"], json!([path]));
    let subjects = |c: &Value| -> Vec<String> {
        c["pending"]["commits"]
            .as_array()
            .unwrap_or_else(|| panic!("pending commits in {c}"))
            .iter()
            .map(|commit| commit["subject"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(subjects(flux), vec!["raise v to 3", "raise v to 2"]);
    assert_eq!(flux["pending"]["commits"][0]["author"], "Test Author");
    let argo = find("Application", "shop");
    assert_eq!(argo["ready"], "OutOfSync");
    assert_eq!(argo["health"], "Healthy");
    assert_eq!(subjects(argo), vec!["raise v to 3", "raise v to 2"]);
    assert_eq!(
        find("Application", "elsewhere")["pending"]["state"],
        "not-in-clone"
    );
    // In the Flux inventory, not in Git: Extra.
    assert_eq!(object(&json, "ConfigMap", "pruned-later")["sync"], "Extra");

    let out = run(&repo, &config, &["status"]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("Flux Kustomization {n}/apps")),
        "{text}"
    );
    assert!(text.contains("2 commit(s) not applied"), "{text}");
    assert!(text.contains("raise v to 3"), "{text}");
    assert!(
        !text.contains("docs only"),
        "commits outside the path are not pending:\n{text}"
    );
    assert!(text.contains("not in this clone"), "{text}");
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn bad_credentials_and_forbidden_exit_2_with_one_line() {
    let ns = Namespace::new();
    let repo = Repo::new();
    repo.write(
        "cm.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: {}\n",
            ns.name
        ),
    );
    repo.commit_all("cm");

    let bad = with_user(repo.path(), "bad", json!({"token": "not-a-valid-token"}));
    for command in ["status", "diff"] {
        let out = run(&repo, &bad.display().to_string(), &[command]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("error: the API server at "), "{err}");
        assert!(
            err.contains("rejected the credentials") && err.contains("401"),
            "{err}"
        );
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }

    let nobody = impersonating(repo.path(), &format!("nobody-{}", ns.name));
    let out = run(&repo, &nobody.display().to_string(), &["diff"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: forbidden while listing configmaps"),
        "{err}"
    );
}

/// The sync state and ignored fields of one object in `status -o json`.
fn sync_of(json: &Value, kind: &str, name: &str) -> (String, Value) {
    let o = object(json, kind, name);
    (
        o["sync"].as_str().unwrap_or("").to_string(),
        o["ignored"].clone(),
    )
}

/// The `result` of one object in `diff -o json`.
fn diff_result(json: &Value, kind: &str, name: &str) -> String {
    json["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["kind"] == kind && o["name"] == name)
        .map(|o| o["result"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| "absent".into())
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn what_the_controllers_ignore_is_not_drift_unless_no_ignore() {
    let config = kubeconfig();
    let ns = Namespace::new();
    let n = &ns.name;
    let repo = Repo::new();
    // An Argo CD app that ignores its Deployment's replicas and an injected sidecar.
    repo.write(
        "argocd/web.yaml",
        &format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: https://example.com/none.git, path: apps/web, targetRevision: main}}
  destination: {{server: https://kubernetes.default.svc, namespace: {n}}}
  ignoreDifferences:
  - group: apps
    kind: Deployment
    jsonPointers: [/spec/replicas]
    jqPathExpressions:
    - '.spec.template.spec.containers[] | select(.name == \"injected\")'
"
        ),
    );
    repo.write(
        "apps/web/deployment.yaml",
        &format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {n}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: \"nginx:1.27\"}}
"
        ),
    );
    // Flux: created once and never corrected, and never applied at all.
    repo.write(
        "apps/web/configmaps.yaml",
        &format!(
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: once
  namespace: {n}
  annotations: {{kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}}
data: {{mode: git}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: skipped
  namespace: {n}
  annotations: {{kustomize.toolkit.fluxcd.io/ssa: Ignore}}
data: {{mode: git}}
"
        ),
    );
    repo.commit_all("web");
    let apply = |file: &str| {
        apply_server_side(&config, &repo.path().join(file));
    };
    apply("apps/web/deployment.yaml");
    let once = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: once, namespace: {n}}}\ndata: {{mode: edited-live}}\n"
    );
    let out = kubectl_with(&config, &["apply", "-f", "-"], Some(&once));
    assert!(out.status.success(), "{}", stderr(&out));
    // Live changes the controllers leave alone: a scale, and an injected sidecar.
    let patch = r#"{"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"},{"name":"injected","image":"busybox:1.36"}]}}}}"#;
    let out = kubectl_with(
        &config,
        &[
            "-n",
            n,
            "patch",
            "deployment",
            "web",
            "--type=merge",
            "-p",
            patch,
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run(&repo, &config, &["status", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let (sync, ignored) = sync_of(&json, "Deployment", "web");
    assert_eq!(sync, "Synced", "{json}");
    assert!(ignored.to_string().contains(".spec.replicas"), "{ignored}");
    assert_eq!(sync_of(&json, "ConfigMap", "once").0, "Synced", "{json}");
    assert_eq!(
        sync_of(&json, "ConfigMap", "skipped").0,
        "Ignored",
        "{json}"
    );
    let out = run(&repo, &config, &["diff", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        diff_result(&json, "Deployment", "web"),
        "unchanged",
        "{json}"
    );
    assert_eq!(
        diff_result(&json, "ConfigMap", "once"),
        "unchanged",
        "{json}"
    );
    assert_eq!(
        diff_result(&json, "ConfigMap", "skipped"),
        "absent",
        "{json}"
    );

    // --no-ignore shows all of it.
    let out = run(&repo, &config, &["status", "--no-ignore", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(sync_of(&json, "Deployment", "web").0, "OutOfSync", "{json}");
    assert_eq!(sync_of(&json, "ConfigMap", "once").0, "OutOfSync", "{json}");
    assert_eq!(
        sync_of(&json, "ConfigMap", "skipped").0,
        "Missing",
        "{json}"
    );
    let out = run(&repo, &config, &["diff", "--no-ignore", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(diff_result(&json, "Deployment", "web"), "changed", "{json}");
    assert_eq!(
        diff_result(&json, "ConfigMap", "skipped"),
        "created",
        "{json}"
    );
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn drift_names_who_made_it_and_expected_managers_are_not_drift() {
    let config = kubeconfig();
    let ns = Namespace::new();
    let n = &ns.name;
    let repo = Repo::new();
    repo.write(
        ".gitops.yaml",
        "live:\n  expectedManagers: [autoscaler-like]\n",
    );
    repo.write(
        "apps/web.yaml",
        &format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {n}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: \"nginx:1.27\"}}
"
        ),
    );
    repo.commit_all("web");
    apply_server_side(&config, &repo.path().join("apps"));
    let patch = |manager: &str, body: &str| {
        let out = kubectl_with(
            &config,
            &[
                "-n",
                n,
                "patch",
                "deployment",
                "web",
                "--type=merge",
                "--field-manager",
                manager,
                "-p",
                body,
            ],
            None,
        );
        assert!(out.status.success(), "{}", stderr(&out));
    };
    patch("autoscaler-like", r#"{"spec":{"replicas":4}}"#);
    patch(
        "kubectl-edit",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}"#,
    );
    let out = run(&repo, &config, &["status", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let web = object(&json, "Deployment", "web");
    assert_eq!(web["sync"], "OutOfSync", "{web}");
    assert_eq!(
        web["drifted"],
        json!(["spec.template.spec.containers[name=web].image"]),
        "{web}"
    );
    assert_eq!(web["changedBy"][0]["manager"], "kubectl-edit", "{web}");
    assert!(
        web["ignored"]
            .to_string()
            .contains("spec.replicas (set by autoscaler-like)"),
        "{web}"
    );
    let out = run(&repo, &config, &["status"]);
    assert!(
        stdout(&out).contains(
            "spec.template.spec.containers[name=web].image (changed by kubectl-edit (Update) at "
        ),
        "{}",
        stdout(&out)
    );
}

/// A Deployment as an injecting webhook leaves it: `extra` containers (YAML list items at
/// the containers' indentation) and pod-template annotations added to Git's.
fn deployment(ns: &str, name: &str, annotations: &str, extra: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations: {{{annotations}}}
    spec:
      containers:
      - {{name: web, image: \"nginx:1.27\"}}
{extra}"
    )
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn what_sidecar_injectors_add_is_not_drift_unless_no_ignore() {
    let config = kubeconfig();
    let ns = Namespace::new();
    let n = &ns.name;
    let repo = Repo::new();
    let vault = "vault.hashicorp.com/agent-inject: \"true\", vault.hashicorp.com/agent-inject-status: update";
    repo.write(
        "apps/web.yaml",
        &format!(
            "{}---\n{}",
            deployment(n, "web", "", ""),
            deployment(n, "vaulted", vault, "")
        ),
    );
    repo.commit_all("web");
    // What the injectors' webhooks make of the controller's apply: the webhook changes the
    // request, so its fields belong to the controller's own field manager.
    let istio = "      - {name: istio-proxy, image: \"docker.io/istio/proxyv2:1.24.0\"}
      initContainers:
      - {name: istio-init, image: \"docker.io/istio/proxyv2:1.24.0\"}
      volumes:
      - {name: istio-envoy, emptyDir: {medium: Memory}}
";
    let live = format!(
        "{}---\n{}",
        deployment(
            n,
            "web",
            "sidecar.istio.io/status: '{\"containers\":[\"istio-proxy\"]}'",
            istio
        ),
        deployment(
            n,
            "vaulted",
            "vault.hashicorp.com/agent-inject: \"true\", vault.hashicorp.com/agent-inject-status: injected",
            "      - {name: vault-agent, image: \"hashicorp/vault:1.18\"}\n"
        )
    );
    let out = kubectl_with(
        &config,
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "flux-like",
            "-f",
            "-",
        ],
        Some(&live),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let diff = ["diff", "--field-manager", "flux-like"];
    let out = run(&repo, &config, &[&diff[..], &["-o", "json"]].concat());
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(
        diff_result(&json, "Deployment", "web"),
        "unchanged",
        "{json}"
    );
    let out = run(&repo, &config, &["status", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let (sync, ignored) = sync_of(&json, "Deployment", "web");
    assert_eq!(sync, "Synced", "{json}");
    for field in [
        ".spec.template.spec.containers[name=istio-proxy] (injected by Istio)",
        ".spec.template.spec.initContainers[name=istio-init] (injected by Istio)",
        ".spec.template.spec.volumes[name=istio-envoy] (injected by Istio)",
    ] {
        assert!(ignored.to_string().contains(field), "{field}: {ignored}");
    }
    assert_eq!(
        sync_of(&json, "Deployment", "vaulted").0,
        "Synced",
        "{json}"
    );

    // --no-ignore: applying Git as that manager would remove the sidecar, and the injector's
    // answer differs from the request Git makes.
    let out = run(&repo, &config, &[&diff[..], &["--no-ignore"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with('-') && l.contains("name: istio-proxy")),
        "{text}"
    );
    let out = run(&repo, &config, &["status", "--no-ignore", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let vaulted = object(&json, "Deployment", "vaulted");
    assert_eq!(vaulted["sync"], "OutOfSync", "{vaulted}");
    assert!(
        vaulted["drifted"]
            .to_string()
            .contains("vault.hashicorp.com/agent-inject-status"),
        "{vaulted}"
    );
    assert_eq!(sync_of(&json, "Deployment", "web").1, Value::Null, "{json}");

    // .gitops.yaml turns the known injectors off.
    repo.write(".gitops.yaml", "live:\n  injected: {defaults: false}\n");
    repo.commit_all("no injectors");
    let out = run(&repo, &config, &diff);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("istio-proxy"), "{}", stdout(&out));
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn argocd_cm_ignore_rules_are_read_from_the_cluster() {
    let config = kubeconfig();
    let ns = Namespace::new();
    let n = &ns.name;
    let repo = Repo::new();
    // Argo CD "runs" in the test's namespace: its argocd-cm is read there.
    repo.write(".gitops.yaml", &format!("live:\n  argocdNamespace: {n}\n"));
    repo.write(
        "argocd/web.yaml",
        &format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: {n}}}
spec:
  project: default
  source: {{repoURL: https://example.com/none.git, path: apps/web, targetRevision: main}}
  destination: {{server: https://kubernetes.default.svc, namespace: {n}}}
"
        ),
    );
    repo.write("apps/web/deployment.yaml", &deployment(n, "web", "", ""));
    repo.write(
        "apps/web/settings.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {n}}}\ndata: {{mode: git, tuned: \"1\"}}\n"
        ),
    );
    repo.commit_all("web");
    apply_server_side(&config, &repo.path().join("apps/web"));
    kubectl_apply(
        &format!(
            "apiVersion: v1
kind: ConfigMap
metadata: {{name: argocd-cm, namespace: {n}}}
data:
  resource.customizations.ignoreDifferences.apps_Deployment: |
    jsonPointers:
    - /spec/replicas
  resource.customizations.ignoreDifferences.all: |
    jqPathExpressions:
    - .data.tuned
"
        ),
        &[],
    );
    // Live edits of the fields the rules ignore.
    for (kind, patch) in [
        ("deployment/web", r#"{"spec":{"replicas":3}}"#),
        ("configmap/settings", r#"{"data":{"tuned":"5"}}"#),
    ] {
        kubectl(&["-n", n, "patch", kind, "--type=merge", "-p", patch]);
    }

    let out = run(&repo, &config, &["status", "--app", "web", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let (sync, ignored) = sync_of(&json, "Deployment", "web");
    assert_eq!(sync, "Synced", "{json}");
    assert!(ignored.to_string().contains(".spec.replicas"), "{ignored}");
    let (sync, ignored) = sync_of(&json, "ConfigMap", "settings");
    assert_eq!(sync, "Synced", "{json}");
    assert!(ignored.to_string().contains(".data.tuned"), "{ignored}");
    let out = run(&repo, &config, &["diff", "--app", "web", "-o", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(out.status.code(), Some(0), "{json}");

    // --no-ignore shows both edits.
    let out = run(
        &repo,
        &config,
        &["status", "--app", "web", "--no-ignore", "-o", "json"],
    );
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(sync_of(&json, "Deployment", "web").0, "OutOfSync", "{json}");
    assert_eq!(
        sync_of(&json, "ConfigMap", "settings").0,
        "OutOfSync",
        "{json}"
    );
    let out = run(
        &repo,
        &config,
        &["diff", "--app", "web", "--no-ignore", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(diff_result(&json, "Deployment", "web"), "changed", "{json}");
    assert_eq!(
        diff_result(&json, "ConfigMap", "settings"),
        "changed",
        "{json}"
    );
}

/// A kubeconfig of a fleet: each `(context, namespace)` a context of the test server whose
/// default namespace stands in for a cluster of its own, and `down`, a server that is not
/// there. The first context is the current one.
fn fleet_kubeconfig(dir: &Path, clusters: &[(&str, &str)]) -> String {
    let raw = kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "--flatten",
        "-o",
        "json",
    ]);
    let mut config: Value = serde_json::from_str(&raw).expect("kubeconfig JSON");
    let cluster = config["contexts"][0]["context"]["cluster"].clone();
    let user = config["contexts"][0]["context"]["user"].clone();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    config["clusters"]
        .as_array_mut()
        .expect("clusters")
        .push(json!({"name": "gone", "cluster": {"server": format!("https://127.0.0.1:{port}")}}));
    let mut contexts: Vec<Value> = clusters
        .iter()
        .map(|(name, namespace)| {
            json!({"name": name, "context": {"cluster": cluster, "user": user, "namespace": namespace}})
        })
        .collect();
    contexts.push(json!({"name": "down", "context": {"cluster": "gone", "user": user}}));
    config["contexts"] = json!(contexts);
    config["current-context"] = json!(clusters[0].0);
    let path = dir.join("fleet.json");
    std::fs::write(&path, config.to_string()).expect("write kubeconfig");
    path.display().to_string()
}

/// Two simulated clusters (east and west, a namespace each, plus an unreachable `down`) and a
/// repository with one ConfigMap that names no namespace.
fn two_cluster_fleet() -> (Namespace, Namespace, Repo, String) {
    let (east, west) = (Namespace::new(), Namespace::new());
    let repo = Repo::new();
    repo.write(
        "apps/web/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {v: \"1\"}\n",
    );
    repo.commit_all("web");
    let fleet = fleet_kubeconfig(repo.path(), &[("east", &east.name), ("west", &west.name)]);
    (east, west, repo, fleet)
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn a_fleet_is_compared_at_once_and_one_cluster_down_does_not_stop_the_rest() {
    // The namespaces live until the test ends.
    let (_east, _west, repo, fleet) = two_cluster_fleet();
    let out = kubectl_with(
        &fleet,
        &[
            "apply",
            "-f",
            &repo.path().join("apps/web/cm.yaml").display().to_string(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run(
        &repo,
        &fleet,
        &[
            "status",
            "--all-contexts",
            "--request-timeout",
            "5s",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let state = |context: &str| {
        json["clusters"]
            .as_array()
            .expect("clusters")
            .iter()
            .find(|c| c["context"] == context)
            .map(|c| c["objects"][0]["sync"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(state("east").as_deref(), Some("Synced"), "{json}");
    assert_eq!(state("west").as_deref(), Some("Missing"), "{json}");
    assert_eq!(json["failed"][0]["context"], "down", "{json}");
    assert!(
        stderr(&out).contains("error: context down: cannot reach"),
        "{}",
        stderr(&out)
    );

    // The matrix: which state each app is in where.
    let out = run(
        &repo,
        &fleet,
        &["status", "--context", "east", "--context", "west"],
    );
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.starts_with("apps/web"))
        .unwrap_or_else(|| panic!("no fleet row:\n{text}"));
    assert!(row.contains("Synced") && row.contains("Missing"), "{text}");

    // Nothing answering is a failure to run.
    let out = run(
        &repo,
        &fleet,
        &["status", "--context", "down", "--request-timeout", "5s"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn diff_compares_a_fleet_at_once_and_one_cluster_down_does_not_stop_the_rest() {
    // The namespaces live until the test ends.
    let (_east, west, repo, fleet) = two_cluster_fleet();
    // East is at Git; west has the object with another value.
    let cm = repo.path().join("apps/web/cm.yaml").display().to_string();
    let out = kubectl_with(&fleet, &["--context", "east", "apply", "-f", &cm], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let edited = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {v: \"2\"}\n";
    let out = kubectl_with(
        &fleet,
        &["--context", "west", "apply", "-f", "-"],
        Some(edited),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let results = |json: &Value, context: &str| -> Vec<String> {
        json["clusters"][context]["objects"]
            .as_array()
            .unwrap_or_else(|| panic!("no cluster {context} in {json}"))
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o["name"].as_str().unwrap_or(""),
                    o["result"].as_str().unwrap_or("")
                )
            })
            .collect()
    };

    let two = ["diff", "--context", "east", "--context", "west"];
    let out = run(&repo, &fleet, &[&two[..], &["-o", "json"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(results(&json, "east"), ["settings/unchanged"], "{json}");
    assert_eq!(results(&json, "west"), ["settings/changed"], "{json}");
    assert_eq!(json["failed"], json!([]), "{json}");
    assert_eq!(json["summary"]["changed"], 1, "{json}");
    assert_eq!(json["summary"]["unchanged"], 1, "{json}");

    // Text: a section per cluster, each object's file under its cluster's directory.
    let out = run(&repo, &fleet, &two);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let sections: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("# context "))
        .collect();
    assert_eq!(sections.len(), 2, "{text}");
    assert!(
        sections[0].starts_with("# context east (") && sections[0].ends_with("): no differences"),
        "{text}"
    );
    assert!(
        sections[1].starts_with("# context west (")
            && sections[1].ends_with("): 0 added, 1 changed, 0 removed"),
        "{text}"
    );
    let file = format!("v1.ConfigMap.{}.settings", west.name);
    assert!(text.contains(&format!("--- LIVE/west/{file}")), "{text}");
    assert!(text.contains(&format!("+++ MERGED/west/{file}")), "{text}");
    assert!(
        text.contains("-  v: \"2\"") && text.contains("+  v: \"1\""),
        "{text}"
    );

    // An external diff program gets a directory per cluster.
    let out = repo
        .run()
        .env("KUBECONFIG", &fleet)
        .env("KUBECTL_EXTERNAL_DIFF", "diff -r -u")
        .args(two)
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("/LIVE/west/{file}")), "{text}");
    assert!(
        !text.contains("/LIVE/east/"),
        "east has no differences:\n{text}"
    );

    // Every context: the one that is down is named, the others still answer.
    let out = run(
        &repo,
        &fleet,
        &[
            "diff",
            "--all-contexts",
            "--request-timeout",
            "5s",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(results(&json, "west"), ["settings/changed"], "{json}");
    assert_eq!(json["failed"][0]["context"], "down", "{json}");
    assert!(
        json["failed"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach")),
        "{json}"
    );
    assert!(
        stderr(&out).contains("error: context down: cannot reach"),
        "{}",
        stderr(&out)
    );
    // A cluster down does not make the diff an error: what answered decides (no diff: 0).
    let out = run(
        &repo,
        &fleet,
        &[
            "diff",
            "--context",
            "east",
            "--context",
            "down",
            "--request-timeout",
            "5s",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("# context down: not compared"),
        "{}",
        stdout(&out)
    );
    // Nothing answering is a failure to run.
    let out = run(
        &repo,
        &fleet,
        &["diff", "--context", "down", "--request-timeout", "5s"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // One context: the output is what it always was.
    let out = run(&repo, &fleet, &["diff", "--context", "west", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert!(json.get("clusters").is_none(), "{json}");
    assert_eq!(json["objects"][0]["result"], "changed", "{json}");
    let out = run(&repo, &fleet, &["diff", "--context", "west"]);
    let text = stdout(&out);
    assert!(!text.contains("# context"), "{text}");
    assert!(text.contains(&format!("--- LIVE/{file}")), "{text}");

    // Apps that .gitops.yaml maps to different contexts are a fleet too.
    repo.write(
        ".gitops.yaml",
        "apps:\n- {name: web-east, path: apps/web, context: east}\n- {name: web-west, path: apps/web, context: west}\n",
    );
    repo.commit_all("one app per cluster");
    let out = run(&repo, &fleet, &["diff", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(results(&json, "east"), ["settings/unchanged"], "{json}");
    assert_eq!(results(&json, "west"), ["settings/changed"], "{json}");
}

// Faults that need no cluster: local servers that refuse, fail, or never answer.

fn fake_kubeconfig(dir: &Path, server: &str) -> String {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {server}
users:
- name: fake
  user:
    token: fake-token
contexts:
- name: fake
  context: {{cluster: fake, user: fake}}
current-context: fake
"
        ),
    )
    .expect("write kubeconfig");
    path.display().to_string()
}

fn repo_with_one_object() -> Repo {
    let repo = Repo::new();
    repo.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    repo.commit_all("cm");
    repo
}

fn assert_one_line_error(out: &Output, expected: &str) {
    let err = stderr(out);
    assert!(
        out.status.code().is_some_and(|c| c >= 2),
        "exit {:?}: {err}",
        out.status.code()
    );
    assert!(stdout(out).is_empty(), "{}", stdout(out));
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error: ") && first.contains(expected),
        "{err}"
    );
    assert!(
        err.lines().skip(1).all(|l| l.starts_with("  caused by: ")),
        "one line, then causes:\n{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn unreachable_server_exits_2() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let repo = repo_with_one_object();
    let config = fake_kubeconfig(repo.path(), &format!("https://127.0.0.1:{port}"));
    for command in ["status", "diff"] {
        let out = run(&repo, &config, &[command]);
        assert_one_line_error(&out, "cannot reach the Kubernetes API server");
    }
}

#[test]
fn server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accepts connections and holds them without a byte of answer, for a bounded time.
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut held = Vec::new();
        listener.set_nonblocking(true).expect("nonblocking");
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let repo = repo_with_one_object();
    for scheme in ["https", "http"] {
        let config = fake_kubeconfig(repo.path(), &format!("{scheme}://127.0.0.1:{port}"));
        let started = Instant::now();
        let out = run(&repo, &config, &["diff", "--request-timeout", "1s"]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        assert_one_line_error(&out, "did not answer within 1s");
    }
}

#[test]
fn a_tls_failure_says_so_first() {
    // A plain HTTP server behind an https:// URL: the TLS handshake fails.
    let port = failing_server(500, "InternalError");
    let repo = repo_with_one_object();
    let config = fake_kubeconfig(repo.path(), &format!("https://127.0.0.1:{port}"));
    let out = run(&repo, &config, &["status", "--request-timeout", "5s"]);
    assert_one_line_error(
        &out,
        "TLS with the Kubernetes API server at https://127.0.0.1:",
    );
    let first = stderr(&out).lines().next().unwrap_or("").to_string();
    assert!(first.contains("corrupt message"), "{first}");
}

#[test]
fn an_exec_credential_plugin_that_never_returns_is_bounded_by_the_request_timeout() {
    let repo = repo_with_one_object();
    // The plugin holds on for longer than any timeout here (and then ends on its own).
    let plugin = repo.path().join("hanging-plugin");
    std::fs::write(&plugin, "#!/bin/sh\nsleep 60\n").expect("write plugin");
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let config = repo.path().join("kubeconfig");
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:1
users:
- name: fake
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: {}
      interactiveMode: Never
contexts:
- name: fake
  context: {{cluster: fake, user: fake}}
current-context: fake
",
            plugin.display()
        ),
    )
    .expect("write kubeconfig");
    let config = config.display().to_string();
    for command in ["status", "diff"] {
        let out = run(&repo, &config, &[command, "--request-timeout", "1s"]);
        assert_one_line_error(&out, "credential plugin");
        assert!(stderr(&out).contains("hanging-plugin"), "{}", stderr(&out));
    }
}

/// Serves every request with the same HTTP status and Status body, for a bounded time.
fn failing_server(code: u16, reason: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "code": code, "reason": reason, "message": format!("fake {reason}")})
    .to_string();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        listener.set_nonblocking(true).expect("nonblocking");
        while Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            stream.set_nonblocking(false).expect("blocking");
            stream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .expect("timeout");
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {code} Fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn server_errors_and_rejected_credentials_exit_2() {
    let repo = repo_with_one_object();
    for (code, reason, expected) in [
        (
            500,
            "InternalError",
            "failed while reading the API groups (discovery): 500 fake InternalError",
        ),
        (
            401,
            "Unauthorized",
            "rejected the credentials of context fake (401 Unauthorized)",
        ),
        (
            403,
            "Forbidden",
            "forbidden while reading the API groups (discovery): fake Forbidden",
        ),
    ] {
        let port = failing_server(code, reason);
        let config = fake_kubeconfig(repo.path(), &format!("http://127.0.0.1:{port}"));
        for command in ["status", "diff"] {
            let out = run(&repo, &config, &[command, "--request-timeout", "5s"]);
            assert_one_line_error(&out, expected);
        }
    }
}

#[test]
fn missing_kubeconfig_and_unknown_context_exit_2() {
    let repo = repo_with_one_object();
    let out = run(&repo, "/nonexistent/kubeconfig", &["status"]);
    assert_one_line_error(&out, "cannot load the kubeconfig");
    let config = fake_kubeconfig(repo.path(), "https://127.0.0.1:1");
    let out = run(&repo, &config, &["diff", "--context", "nope"]);
    assert_one_line_error(
        &out,
        "context \"nope\" is not in the kubeconfig (contexts: fake)",
    );
    let out = run(&repo, &config, &["status", "--request-timeout", "soon"]);
    assert_one_line_error(&out, "--request-timeout");
}

/// A CRD this test created, deleted when it ends (CRDs are cluster-wide: no namespace takes
/// it along).
struct CrdGuard(String);

impl Drop for CrdGuard {
    fn drop(&mut self) {
        let _ = kubectl_with(
            &kubeconfig(),
            &["delete", "crd", &self.0, "--wait=false"],
            None,
        );
    }
}

#[test]
#[ignore = "needs a cluster: run tests/cluster/apiserver.sh up"]
fn validate_reads_crds_and_the_version_from_the_cluster() {
    let group = format!("{}.kgo.example.com", unique("crd"));
    let name = format!("widgets.{group}");
    kubectl_apply(
        &format!(
            "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {name}
spec:
  group: {group}
  names: {{kind: Widget, plural: widgets}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {{type: integer, maximum: 5}}
"
        ),
        &[],
    );
    let _guard = CrdGuard(name.clone());
    kubectl(&[
        "wait",
        "--for=condition=established",
        "--timeout=30s",
        &format!("crd/{name}"),
    ]);
    let repo = Repo::new();
    let widget = |replicas: u32| {
        format!(
            "apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: default\nspec:\n  replicas: {replicas}\n"
        )
    };
    repo.write("widget.yaml", &widget(9));
    let config = kubeconfig();
    let out = run(&repo, &config, &["validate", "--strict-crds"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("no CRD for Widget"),
        "{}",
        stdout(&out)
    );

    for round in ["listed", "cached"] {
        let out = run(
            &repo,
            &config,
            &["validate", "--strict-crds", "--crds-from-cluster"],
        );
        assert_eq!(out.status.code(), Some(1), "{round}: {}", stderr(&out));
        assert!(
            stdout(&out)
                .contains("widget.yaml:7: Widget/w: spec.replicas: 9 is above the maximum 5"),
            "{round}: {}",
            stdout(&out)
        );
    }
    let cache = repo.path().join(".git/kubectl-gitops");
    let entries: Vec<String> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        entries.iter().any(|e| e.starts_with("crds-cluster-")),
        "{entries:?}"
    );

    repo.write("widget.yaml", &widget(3));
    let out = run(
        &repo,
        &config,
        &["validate", "--strict-crds", "--crds-from-cluster"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // The cluster's own version decides which apiVersions are served.
    let version: Value =
        serde_json::from_str(&kubectl(&["version", "-o", "json"])).expect("version json");
    let minor: u32 = version["serverVersion"]["minor"]
        .as_str()
        .expect("minor")
        .trim_end_matches('+')
        .parse()
        .expect("a number");
    repo.write(
        "pdb.yaml",
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n  namespace: default\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: web}}\n",
    );
    let out = run(
        &repo,
        &config,
        &["validate", "pdb.yaml", "--crds-from-cluster"],
    );
    // policy/v1 arrived in 1.21 (the local test server is 1.20).
    let expected = if minor < 21 { 1 } else { 0 };
    assert_eq!(
        out.status.code(),
        Some(expected),
        "1.{minor}: {}",
        stdout(&out)
    );
}
