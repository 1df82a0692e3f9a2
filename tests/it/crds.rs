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
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json: {e}: {}", stdout(&out)));
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
            - rule: "isCIDR(self.cidr)"
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
        warnings[0].contains("`isCIDR(self.cidr)`") && warnings[0].contains("not evaluated"),
        "{warnings:?}"
    );
}
