//! Checks beyond the schema: what the API server would reject (names, labels, selectors,
//! Secret data here; the per-kind validation in [`super::apiserver`]), and policy checks teams
//! opt into (image tags, resource limits). [`check`] is the one entry point.

use regex::Regex;
use std::sync::OnceLock;

use crate::config::{Level, Policies};
use crate::manifest::image::ImageRef;
use crate::manifest::workload::pod_spec;
use crate::manifest::yaml::{Node, Value};

/// A finding inside one object, before it is given a file.
pub struct Finding {
    pub node_line: u32,
    pub column: u32,
    pub field: String,
    pub rule: &'static str,
    pub message: String,
    /// `None` for hard errors; the policy level for policy findings.
    pub level: Option<Level>,
}

fn finding(
    node: &Node,
    field: impl Into<String>,
    rule: &'static str,
    message: impl Into<String>,
) -> Finding {
    Finding {
        node_line: node.start.line,
        column: node.start.col,
        field: field.into(),
        rule,
        message: message.into(),
        level: None,
    }
}

pub(super) fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("pattern is a valid regex"))
}

pub(super) fn dns1123_label(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    s.len() <= 63 && re(&R, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").is_match(s)
}

pub(super) fn dns1123_subdomain(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    s.len() <= 253
        && re(
            &R,
            r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        )
        .is_match(s)
}

fn label_value(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    s.is_empty()
        || (s.len() <= 63 && re(&R, r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$").is_match(s))
}

/// A qualified name: `[prefix/]name` with a DNS subdomain prefix and a 63-character name.
fn qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix
        && (p.is_empty() || !dns1123_subdomain(p))
    {
        return Err(format!(
            "prefix {p:?} must be a DNS subdomain (lowercase letters, digits, '-' and '.')"
        ));
    }
    if name.is_empty() || name.len() > 63 || !label_value(name) {
        return Err(format!(
            "name part {name:?} must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Every check beyond the schema for one object. `sops` marks a SOPS-encrypted file, whose
/// values are ciphertext rather than what the server will see.
pub fn check(
    obj: &Node,
    kind: &str,
    builtin: bool,
    sops: bool,
    policies: &Policies,
    out: &mut Vec<Finding>,
) {
    check_metadata(obj, kind, builtin, out);
    if !builtin {
        return;
    }
    check_selector(obj, kind, out);
    if !sops {
        if kind == "Secret" {
            check_secret_data(obj, out);
        }
        super::apiserver::check(obj, kind, out);
    }
    check_policies(obj, kind, policies, out);
}

/// Kinds whose names are DNS labels rather than subdomains.
const LABEL_NAMED: &[&str] = &["Namespace"];
/// Kinds whose names only need to be valid path segments.
const PATH_NAMED: &[&str] = &["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// metadata.name/generateName/namespace, labels and annotations.
fn check_metadata(obj: &Node, kind: &str, builtin: bool, out: &mut Vec<Finding>) {
    let Some(meta) = obj.get("metadata") else {
        out.push(finding(
            obj,
            "metadata",
            "metadata",
            "missing metadata (every object needs metadata.name)",
        ));
        return;
    };
    let name = meta.get("name");
    match name.and_then(Node::scalar_text) {
        None if meta.get("generateName").is_none() => {
            // Point at the `metadata:` key: a block mapping starts at its first child.
            let key = obj
                .as_map()
                .and_then(|m| m.iter().find(|e| e.key == "metadata"))
                .map_or(meta.start, |e| e.key_pos);
            out.push(Finding {
                node_line: key.line,
                column: key.col,
                ..finding(
                    meta,
                    "metadata.name",
                    "metadata",
                    "missing metadata.name (or generateName)",
                )
            });
        }
        Some(n) => {
            let node = name.expect("scalar_text came from it");
            let bad = if !builtin || PATH_NAMED.contains(&kind) {
                if n.contains('/') || n.contains('%') || n == "." || n == ".." {
                    Some("may not contain '/' or '%' or be '.' or '..'")
                } else {
                    None
                }
            } else if kind == "Service" {
                // A Service name becomes a DNS name: it must start with a letter.
                (!(dns1123_label(n) && n.starts_with(|c: char| c.is_ascii_lowercase()))).then_some(
                    "must be a DNS-1035 label: at most 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit",
                )
            } else if LABEL_NAMED.contains(&kind) {
                (!dns1123_label(n)).then_some(
                    "must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
                )
            } else {
                (!dns1123_subdomain(n)).then_some(
                    "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
                )
            };
            if let Some(why) = bad {
                out.push(finding(
                    node,
                    "metadata.name",
                    "metadata",
                    format!("invalid name {n:?}: {why}"),
                ));
            }
        }
        None => {}
    }
    if let Some(ns_node) = meta.get("namespace")
        && let Some(ns) = ns_node.as_str()
        && !dns1123_label(ns)
    {
        out.push(finding(
            ns_node,
            "metadata.namespace",
            "metadata",
            format!("invalid namespace {ns:?}: must be a DNS-1123 label"),
        ));
    }
    check_labels(meta.get("labels"), "metadata.labels", out);
    if let Some(entries) = meta.get("annotations").and_then(Node::as_map) {
        for e in entries {
            if let Err(why) = qualified_name(&e.key) {
                out.push(Finding {
                    node_line: e.key_pos.line,
                    column: e.key_pos.col,
                    field: format!("metadata.annotations.{}", e.key),
                    rule: "metadata",
                    message: format!("invalid annotation key {:?}: {why}", e.key),
                    level: None,
                });
            }
        }
    }
}

/// Label keys and values of a map (an object's labels, a pod template's, a selector map).
pub(super) fn check_labels(labels: Option<&Node>, field: &str, out: &mut Vec<Finding>) {
    let Some(entries) = labels.and_then(Node::as_map) else {
        return;
    };
    for e in entries {
        if let Err(why) = qualified_name(&e.key) {
            out.push(Finding {
                node_line: e.key_pos.line,
                column: e.key_pos.col,
                field: format!("{field}.{}", e.key),
                rule: "metadata",
                message: format!("invalid label key {:?}: {why}", e.key),
                level: None,
            });
        }
        // Type errors (a boolean `yes`) are the schema's to report.
        if let Some(v) = e.value.as_str()
            && !label_value(v)
        {
            out.push(finding(
                    &e.value,
                    format!("{field}.{}", e.key),
                    "metadata",
                    format!("invalid label value {v:?}: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"),
                ));
        }
    }
}

/// Kinds whose `spec.selector` must select `spec.template`'s labels.
const SELECTING: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

fn check_selector(obj: &Node, kind: &str, out: &mut Vec<Finding>) {
    if !SELECTING.contains(&kind) {
        return;
    }
    let Some(spec) = obj.get("spec") else { return };
    let Some(selector) = spec.get("selector") else {
        out.push(finding(
            spec,
            "spec.selector",
            "selector",
            format!("{kind} needs spec.selector"),
        ));
        return;
    };
    let labels = spec.path(&["template", "metadata", "labels"]);
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Node::scalar_text);
    let match_labels = selector
        .get("matchLabels")
        .and_then(Node::as_map)
        .unwrap_or_default();
    let exprs = selector
        .get("matchExpressions")
        .and_then(Node::as_seq)
        .unwrap_or_default();
    if match_labels.is_empty() && exprs.is_empty() {
        out.push(finding(
            selector,
            "spec.selector",
            "selector",
            "empty selector: it must select the pod template's labels",
        ));
        return;
    }
    check_labels(
        selector.get("matchLabels"),
        "spec.selector.matchLabels",
        out,
    );
    for e in match_labels {
        let want = e.value.scalar_text();
        if want.is_some() && label(&e.key) != want {
            out.push(finding(
                &e.value,
                format!("spec.selector.matchLabels.{}", e.key),
                "selector",
                format!(
                    "selector {}={} does not match the pod template labels (spec.template.metadata.labels {})",
                    e.key,
                    want.unwrap_or_default(),
                    match label(&e.key) {
                        Some(v) => format!("has {}={v}", e.key),
                        None => format!("has no {}", e.key),
                    }
                ),
            ));
        }
    }
    for (i, expr) in exprs.iter().enumerate() {
        let key = expr
            .get("key")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        let op = expr
            .get("operator")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        let values: Vec<&str> = expr
            .get("values")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::scalar_text)
            .collect();
        let have = label(key);
        let ok = match op {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => !have.is_some_and(|h| values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => {
                out.push(finding(
                    expr,
                    format!("spec.selector.matchExpressions[{i}].operator"),
                    "selector",
                    format!("unknown operator {op:?} (In, NotIn, Exists, DoesNotExist)"),
                ));
                continue;
            }
        };
        if !ok {
            out.push(finding(
                expr,
                format!("spec.selector.matchExpressions[{i}]"),
                "selector",
                format!("selector expression {key} {op} does not match the pod template labels"),
            ));
        }
    }
}

/// Secret `data` values must be base64; kubectl rejects anything else.
fn check_secret_data(obj: &Node, out: &mut Vec<Finding>) {
    let Some(entries) = obj.get("data").and_then(Node::as_map) else {
        return;
    };
    for e in entries {
        if let Some(v) = e.value.as_str()
            && !is_base64(v)
        {
            // Never echo the value: it is a secret.
            out.push(finding(
                &e.value,
                format!("data.{}", e.key),
                "secret",
                "value is not valid base64 (use stringData for plain text)",
            ));
        }
    }
}

fn is_base64(s: &str) -> bool {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !s.len().is_multiple_of(4) {
        return false;
    }
    let pad = s.iter().rev().take_while(|b| **b == b'=').count();
    pad <= 2
        && s[..s.len() - pad]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

fn check_policies(obj: &Node, kind: &str, policies: &Policies, out: &mut Vec<Finding>) {
    let Some((spec, base)) = pod_spec(obj, kind) else {
        return;
    };
    for list in ["initContainers", "containers"] {
        for (i, c) in spec
            .get(list)
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let field = format!("{base}.{list}[{i}]");
            if policies.image_tag != Level::Off
                && let Some(image) = c.get("image")
            {
                let text = image.scalar_text().unwrap_or_default();
                let message = match ImageRef::parse(text) {
                    Some(r) if r.tag.is_none() && r.digest.is_none() => Some(format!(
                        "image {text:?} has no tag (means :latest); pin a version"
                    )),
                    Some(r) if r.tag.as_deref() == Some("latest") && r.digest.is_none() => {
                        Some(format!("image {text:?} uses :latest; pin a version"))
                    }
                    _ => None,
                };
                if let Some(message) = message {
                    out.push(Finding {
                        level: Some(policies.image_tag),
                        ..finding(image, format!("{field}.image"), "policy.image-tag", message)
                    });
                }
            }
            if policies.resource_limits != Level::Off {
                let limits = c.path(&["resources", "limits"]);
                let empty = limits.is_none_or(|l| {
                    matches!(&l.value, Value::Map(m) if m.is_empty()) || l.is_null()
                });
                if empty && list == "containers" {
                    let name = c.get("name").and_then(Node::scalar_text).unwrap_or("?");
                    out.push(Finding {
                        level: Some(policies.resource_limits),
                        ..finding(
                            c,
                            format!("{field}.resources.limits"),
                            "policy.resource-limits",
                            format!("container {name:?} has no resource limits"),
                        )
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        assert!(dns1123_subdomain("web.example-1"));
        assert!(!dns1123_subdomain("Web"));
        assert!(!dns1123_label("a.b"));
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("-bad").is_err());
        assert!(qualified_name("UPPER.example.com/x").is_err());
        assert!(label_value(""));
        assert!(!label_value("has space"));
        assert!(is_base64("aGVsbG8="));
        assert!(!is_base64("hello!"));
    }

    #[test]
    fn service_names_start_with_a_letter_namespace_names_need_not() {
        let named = |kind: &str, name: &str| {
            let yaml = format!("kind: {kind}\nmetadata: {{name: \"{name}\"}}\n");
            let root = crate::manifest::yaml::parse_stream(&yaml).documents[0]
                .root
                .clone()
                .expect("one document");
            let mut out = Vec::new();
            check_metadata(&root, kind, true, &mut out);
            out.len()
        };
        assert_eq!(named("Service", "1web"), 1);
        assert_eq!(named("Service", "web-1"), 0);
        assert_eq!(named("Namespace", "1team"), 0);
        assert_eq!(named("Namespace", "Team"), 1);
    }
}
