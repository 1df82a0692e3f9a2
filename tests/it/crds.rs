//! `validate` on custom resources: the CEL rules, list types and formats of their CRDs, and
//! where CRDs come from (`--crds`, `.gitops.yaml`).

use std::path::Path;

use serde_json::Value;

use crate::common::{bin, stdout};

fn gateway_crd() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crds/gateway.networking.k8s.io_gateways.yaml");
    std::fs::read_to_string(path).expect("fixture")
}

/// A Gateway with these listeners (YAML lines at six spaces) and extra spec lines.
fn gateway(listeners: &str, extra: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: web
  namespace: apps
spec:
  gatewayClassName: envoy
  listeners:
{listeners}{extra}"
    )
}

const HTTP: &str = "  - name: http\n    port: 80\n    protocol: HTTP\n";

fn run(dir: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let out = bin()
        .arg("validate")
        .arg(dir)
        .args(["-o", "json"])
        .args(extra)
        .output()
        .expect("runs");
    // A run that could not start (exit 2) prints its error on stderr and no report.
    let json = if out.stdout.is_empty() && out.status.code() == Some(2) {
        Value::Null
    } else {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("json: {e}: {}", stdout(&out)))
    };
    (out.status.code(), json)
}

fn with_severity<'a>(json: &'a Value, severity: &str) -> Vec<&'a Value> {
    json["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == severity)
        .collect()
}

/// A directory with the Gateway CRD and one Gateway.
fn tree(gateway: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("crd.yaml"), gateway_crd()).expect("write");
    std::fs::write(dir.path().join("gateway.yaml"), gateway).expect("write");
    dir
}

fn errors(gateway: &str) -> Vec<(String, u64, String)> {
    let dir = tree(gateway);
    let (_, json) = run(dir.path(), &[]);
    with_severity(&json, "error")
        .into_iter()
        .map(|d| {
            (
                d["field"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or_default(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_valid_gateway_passes_every_rule() {
    let listeners = format!(
        "{HTTP}  - name: https\n    port: 443\n    protocol: HTTPS\n    hostname: web.example.com\n    tls:\n      certificateRefs:\n      - name: web-tls\n"
    );
    let extra = "  addresses:\n  - value: 10.0.0.1\n  - type: Hostname\n    value: lb.example.com\n  infrastructure:\n    labels:\n      example.com/team: web\n";
    assert_eq!(errors(&gateway(&listeners, extra)), vec![]);
}

#[test]
fn listener_names_must_be_unique_as_the_rule_and_the_list_map_say() {
    let listeners = format!("{HTTP}  - name: http\n    port: 8080\n    protocol: HTTP\n");
    let found = errors(&gateway(&listeners, ""));
    assert!(
        found.contains(&(
            "spec.listeners".into(),
            8,
            "Invalid value: \"array\": Listener name must be unique within the Gateway".into()
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            "spec.listeners[1]".into(),
            12,
            "Duplicate value: {\"name\":\"http\"}".into()
        )),
        "{found:?}"
    );
}

#[test]
fn tls_on_a_plain_http_listener_is_rejected() {
    let listeners = "  - name: http\n    port: 80\n    protocol: http\n    tls:\n      mode: Terminate\n      options: {a: b}\n";
    let found = errors(&gateway(listeners, ""));
    assert_eq!(
        found,
        vec![(
            "spec.listeners".into(),
            8,
            "Invalid value: \"array\": tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']".into()
        )]
    );
}

#[test]
fn an_omitted_address_type_is_defaulted_before_the_rules_run() {
    // `type` defaults to IPAddress, so these two are duplicate IP addresses.
    let extra = "  addresses:\n  - value: 10.0.0.1\n  - value: 10.0.0.1\n";
    let found = errors(&gateway(HTTP, extra));
    assert_eq!(
        found,
        vec![(
            "spec.addresses".into(),
            12,
            "Invalid value: \"array\": IPAddress values must be unique".into()
        )]
    );
    let extra = "  addresses:\n  - value: 10.0.0.1\n  - value: 10.0.0.2\n";
    assert_eq!(errors(&gateway(HTTP, extra)), vec![]);
}

#[test]
fn a_rule_on_list_items_is_reported_at_the_item() {
    let extra = "  addresses:\n  - type: Hostname\n    value: Bad_Host\n";
    let found = errors(&gateway(HTTP, extra));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "spec.addresses[0]");
    assert_eq!(found[0].1, 13);
    assert!(
        found[0]
            .2
            .starts_with("Invalid value: \"object\": Hostname value must be empty"),
        "{found:?}"
    );
}

#[test]
fn map_keys_are_checked_by_the_rules_on_the_map() {
    let extra = "  infrastructure:\n    labels:\n      Bad Key: web\n";
    let found = errors(&gateway(HTTP, extra));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "spec.infrastructure.labels");
    assert!(
        found[0].2.contains("Label keys must be in the form"),
        "{found:?}"
    );
}

/// A CRD with the other extensions: formats, sets, embedded resources, reasons, fieldPath,
/// messageExpression, transition rules and a rule this evaluator cannot run.
const WIDGETS: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
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
            x-kubernetes-validations:
            - rule: "self.minReplicas <= self.maxReplicas"
              messageExpression: "'minReplicas (' + string(self.minReplicas) + ') is above maxReplicas'"
              fieldPath: .minReplicas
              reason: FieldValueForbidden
            - rule: "self.minReplicas == oldSelf.minReplicas"
              message: immutable
            - rule: "url('https://x/?c=' + self.cidr).getQuery().size() == 1"
              message: a cidr
            properties:
              minReplicas: {type: integer, default: 1}
              maxReplicas: {type: integer, default: 10}
              address: {type: string, format: ipv4}
              cidr: {type: string, format: cidr}
              since: {type: string, format: date-time}
              zones:
                type: array
                items: {type: string}
                x-kubernetes-list-type: set
              size:
                x-kubernetes-int-or-string: true
                x-kubernetes-validations:
                - rule: "type(self) == int || self.endsWith('%')"
                  message: a number or a percentage
              template:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
"#;

fn widget_errors(spec: &str) -> (Vec<String>, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("crd.yaml"), WIDGETS).expect("write");
    std::fs::write(
        dir.path().join("widget.yaml"),
        format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n{spec}"),
    )
    .expect("write");
    let (_, json) = run(dir.path(), &[]);
    let text = |d: &&Value| {
        format!(
            "{}:{}: {}",
            d["line"],
            d["field"].as_str().unwrap_or_default(),
            d["message"].as_str().unwrap_or_default()
        )
    };
    (
        with_severity(&json, "error").iter().map(text).collect(),
        with_severity(&json, "warning").iter().map(text).collect(),
    )
}

#[test]
fn formats_sets_and_embedded_resources() {
    let (errors, _) = widget_errors(
        "  address: 10.0.0.300\n  cidr: 10.0.0.0/33\n  since: yesterday\n  zones: [a, b, a]\n  template: {metadata: {name: x}}\n",
    );
    assert_eq!(
        errors,
        vec![
            "6:spec.address: in body must be of type ipv4: \"10.0.0.300\"",
            "7:spec.cidr: in body must be of type cidr: \"10.0.0.0/33\"",
            "8:spec.since: in body must be of type date-time: \"yesterday\"",
            "9:spec.zones[2]: Duplicate value: \"a\"",
            "10:spec.template.apiVersion: Required value: must not be empty",
            "10:spec.template.kind: Required value: must not be empty",
        ]
    );
    let (errors, _) = widget_errors(
        "  address: 10.0.0.3\n  cidr: 10.0.0.0/8\n  since: \"2024-01-02T03:04:05.5+01:00\"\n  zones: [a, b]\n  template: {apiVersion: v1, kind: Pod, spec: {anything: 1}}\n",
    );
    assert_eq!(errors, Vec::<String>::new());
}

#[test]
fn rule_reason_field_path_message_expression_and_int_or_string() {
    let (errors, warnings) = widget_errors("  minReplicas: 5\n  maxReplicas: 2\n  size: ten\n");
    assert_eq!(
        errors,
        vec![
            "6:spec.minReplicas: Forbidden: minReplicas (5) is above maxReplicas",
            "8:spec.size: Invalid value: \"\": a number or a percentage",
        ]
    );
    // The defaulted maximum (10) is what the rule sees; the transition rule is not run on
    // create; the rule using a function this evaluator lacks is named once, as skipped.
    let (errors, warnings_ok) = widget_errors("  minReplicas: 5\n  size: 50%\n");
    assert_eq!(errors, Vec::<String>::new());
    for w in [&warnings, &warnings_ok] {
        assert_eq!(
            w.len(),
            0,
            "no cidr set, so the skipped rule never ran: {w:?}"
        );
    }
    let (_, warnings) = widget_errors("  cidr: 10.0.0.0/8\n");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`url('https://x/?c=' + self.cidr).getQuery().size() == 1`")
            && warnings[0].contains("not evaluated"),
        "{warnings:?}"
    );
}

/// The Gateway CRD as `kubectl get crd -o yaml` prints it: a `List` whose items are indented
/// two more spaces, next to a release manifest's other kinds.
fn crd_list() -> String {
    let body: String = gateway_crd()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("- {l}\n")
            } else {
                format!("  {l}\n")
            }
        })
        .collect();
    format!(
        "apiVersion: v1\nkind: List\nitems:\n{body}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: gateway-system\n"
    )
}

const DUPLICATE_LISTENERS: &str = "  - name: http\n    port: 80\n    protocol: HTTP\n  - name: http\n    port: 81\n    protocol: HTTP\n";

#[test]
fn crds_from_a_directory_with_a_list_file() {
    let crds = tempfile::tempdir().expect("tempdir");
    std::fs::write(crds.path().join("gateway-api.yaml"), crd_list()).expect("write");
    let manifests = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        manifests.path().join("gateway.yaml"),
        gateway(DUPLICATE_LISTENERS, ""),
    )
    .expect("write");
    let cache = tempfile::tempdir().expect("tempdir");
    let run_with = |extra: &[&str]| {
        let out = bin()
            .arg("validate")
            .arg(manifests.path())
            .args(["-o", "json"])
            .args(extra)
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .expect("runs");
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out.status.code(), json)
    };
    // Without the CRD: a warning, an error only with --strict-crds.
    let (code, json) = run_with(&[]);
    assert_eq!(code, Some(0));
    assert_eq!(with_severity(&json, "warning").len(), 1, "{json}");
    let (code, _) = run_with(&["--strict-crds"]);
    assert_eq!(code, Some(1));

    let dir = crds.path().to_str().expect("utf-8");
    for round in ["parsed", "cached"] {
        let (code, json) = run_with(&["--crds", dir, "--strict-crds"]);
        assert_eq!(code, Some(1), "{round}: {json}");
        let errors = with_severity(&json, "error");
        assert!(
            errors.iter().any(|d| d["message"]
                == "Invalid value: \"array\": Listener name must be unique within the Gateway"),
            "{round}: {errors:?}"
        );
        assert!(
            with_severity(&json, "warning").is_empty(),
            "{round}: {json}"
        );
    }
    let cached: Vec<_> = std::fs::read_dir(cache.path().join("kubectl-gitops"))
        .expect("cache dir")
        .collect();
    assert_eq!(cached.len(), 1, "one cache entry for the one --crds source");

    // A changed CRD file is read again, not served from the cache.
    std::fs::write(
        crds.path().join("gateway-api.yaml"),
        crd_list().replace("Listener name must be unique", "Names must differ"),
    )
    .expect("write");
    let (_, json) = run_with(&["--crds", dir]);
    assert!(
        with_severity(&json, "error").iter().any(|d| d["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Names must differ")),
        "{json}"
    );

    let (code, _) = run_with(&["--crds", "/nonexistent/crds"]);
    assert_eq!(code, Some(2));
}

#[test]
fn crds_named_in_gitops_yaml_are_read_from_the_repository() {
    let repo = crate::common::Repo::new();
    repo.write("vendor/crds/gateway-api.yaml", &crd_list());
    // The CRDs live where no manifest is validated from.
    repo.write("apps/gateway.yaml", &gateway(DUPLICATE_LISTENERS, ""));
    let out = repo
        .run()
        .args(["validate", "apps", "--strict-crds"])
        .output()
        .expect("runs");
    assert!(
        stdout(&out).contains("no CRD for Gateway"),
        "{}",
        stdout(&out)
    );
    repo.write(".gitops.yaml", "validation:\n  crds: [vendor/crds]\n");
    let out = repo
        .run()
        .args(["validate", "apps", "--strict-crds"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("apps/gateway.yaml:8: Gateway/web: spec.listeners: Invalid value: \"array\": Listener name must be unique within the Gateway"),
        "{text}"
    );

    // The release in .gitops.yaml applies too; the flag overrides it.
    repo.write(
        ".gitops.yaml",
        "validation:\n  kubernetesVersion: \"1.33\"\n",
    );
    repo.write("apps/gateway.yaml", CLAIM);
    let out = repo
        .run()
        .args(["validate", "apps"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("served from Kubernetes 1.34 on"));
    let out = repo
        .run()
        .args(["validate", "apps", "--kubernetes-version", "1.34"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

fn versioned(manifest: &str, version: &str) -> (Option<i32>, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("m.yaml"), manifest).expect("write");
    let args: Vec<&str> = if version.is_empty() {
        vec![]
    } else {
        vec!["--kubernetes-version", version]
    };
    run(dir.path(), &args)
}

const PSP: &str = "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: restricted\nspec: {}\n";
const FLOW_SCHEMA: &str = "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata:\n  name: fs\nspec:\n  priorityLevelConfiguration: {name: global-default}\n";
const CLAIM: &str = "apiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata:\n  name: gpu\n  namespace: ml\nspec:\n  devices: {}\n";

#[test]
fn removed_apis_are_errors_for_the_release_that_removed_them() {
    for version in ["1.25", "1.33", ""] {
        let (code, json) = versioned(PSP, version);
        assert_eq!(code, Some(1), "{version}: {json}");
        let errors = with_severity(&json, "error");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0]["line"], 1);
        assert_eq!(errors[0]["field"], "apiVersion");
        let message = errors[0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("no longer served since Kubernetes 1.25")
                && message.contains("Pod Security Admission"),
            "{message}"
        );
    }
    // Served but deprecated in 1.24: a warning.
    let (code, json) = versioned(PSP, "1.24");
    assert_eq!(code, Some(0), "{json}");
    assert!(
        with_severity(&json, "warning")[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("deprecated since Kubernetes 1.21")
    );

    let (code, json) = versioned(FLOW_SCHEMA, "1.32");
    assert_eq!(code, Some(1));
    assert!(
        with_severity(&json, "error")[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(
                "since Kubernetes 1.32 (the cluster runs 1.32): use flowcontrol.apiserver.k8s.io/v1"
            )
    );
    let (code, json) = versioned(FLOW_SCHEMA, "1.31");
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(with_severity(&json, "warning").len(), 1, "{json}");
}

#[test]
fn apis_newer_than_the_release_are_errors() {
    let (code, json) = versioned(CLAIM, "1.33");
    assert_eq!(code, Some(1));
    let message = with_severity(&json, "error")[0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("served from Kubernetes 1.34 on"),
        "{message}"
    );
    for version in ["1.34", "1.36"] {
        let (code, json) = versioned(CLAIM, version);
        assert_eq!(
            with_severity(&json, "error"),
            Vec::<&Value>::new(),
            "{version}"
        );
        assert_eq!(code, Some(0));
    }
    let (code, _) = versioned(CLAIM, "one.thirty");
    assert_eq!(code, Some(2));
}
