//! The API server's own validation of built-in kinds, beyond what their OpenAPI schemas say:
//! enumerations, ranges, values required by validation rather than by the schema, uniqueness,
//! name formats and cross-field rules. Written from the Kubernetes API conventions and the
//! documented field rules (the reference is kubernetes/kubernetes `pkg/apis/*/validation`).
//!
//! Every check runs on the object as written, after the server's defaulting would have filled
//! what is omitted, so an omitted field is never reported unless the server requires it. Values
//! of the wrong type are left to the schema check, which reports them already. Messages use the
//! server's words (`Unsupported value: "Never": supported values: "Always"`).

mod data;
mod network;
mod pod;
mod rbac;
mod workloads;

use super::rules::Finding;
use crate::diff::quantity::{self, Quantity};
use crate::manifest::yaml::{Node, Scalar, Value};

/// A check of one kind's objects.
type Check = fn(&Node, &mut Out);

/// The one registry: which check runs for which kind. Pod templates are checked through the
/// kinds that carry them.
const CHECKS: &[(&str, Check)] = &[
    ("Pod", pod::pod),
    ("PodTemplate", pod::pod_template),
    ("Deployment", workloads::deployment),
    ("ReplicaSet", workloads::replica_set),
    ("ReplicationController", workloads::replication_controller),
    ("StatefulSet", workloads::stateful_set),
    ("DaemonSet", workloads::daemon_set),
    ("Job", workloads::job),
    ("CronJob", workloads::cron_job),
    ("HorizontalPodAutoscaler", workloads::hpa),
    ("PodDisruptionBudget", workloads::pdb),
    ("Service", network::service),
    ("Ingress", network::ingress),
    ("NetworkPolicy", network::network_policy),
    ("ConfigMap", data::config_map),
    ("Secret", data::secret),
    ("PersistentVolumeClaim", data::pvc),
    ("Role", rbac::role),
    ("ClusterRole", rbac::cluster_role),
    ("RoleBinding", rbac::role_binding),
    ("ClusterRoleBinding", rbac::cluster_role_binding),
];

/// The rule id of every finding here.
const RULE: &str = "validation";

/// Checks a built-in object the way the API server's validation would.
pub fn check(obj: &Node, kind: &str, out: &mut Vec<Finding>) {
    if let Some((_, check)) = CHECKS.iter().find(|(k, _)| *k == kind) {
        check(obj, &mut Out(out));
    }
}

/// Collects findings, phrased as the API server's field errors.
struct Out<'a>(&'a mut Vec<Finding>);

impl Out<'_> {
    fn push(&mut self, at: &Node, field: &str, message: String) {
        self.0.push(Finding {
            node_line: at.start.line,
            column: at.start.col,
            field: field.to_string(),
            rule: RULE,
            message,
            level: None,
        });
    }

    /// `Required value`; `at` is the node that should hold the field.
    fn required(&mut self, at: &Node, field: &str, detail: &str) {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        self.push(at, field, message);
    }

    fn invalid(&mut self, at: &Node, field: &str, detail: &str) {
        let message = format!("Invalid value: {}: {detail}", shown(at));
        self.push(at, field, message);
    }

    fn unsupported(&mut self, at: &Node, field: &str, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let message = format!(
            "Unsupported value: {}: supported values: {}",
            shown(at),
            list.join(", ")
        );
        self.push(at, field, message);
    }

    fn duplicate(&mut self, at: &Node, field: &str) {
        let message = format!("Duplicate value: {}", shown(at));
        self.push(at, field, message);
    }

    fn forbidden(&mut self, at: &Node, field: &str, detail: &str) {
        self.push(at, field, format!("Forbidden: {detail}"));
    }

    fn not_found(&mut self, at: &Node, field: &str) {
        let message = format!("Not found: {}", shown(at));
        self.push(at, field, message);
    }

    /// A string field that must be one of `supported`, when it is set. An empty string is
    /// left alone: the server defaults most of these fields when they are empty (a chart that
    /// renders `imagePullPolicy: ""` is accepted), so calling it wrong would be a guess.
    fn one_of(&mut self, parent: &Node, key: &str, path: &str, supported: &[&str]) {
        if let Some(node) = parent.get(key)
            && let Some(value) = node.as_str()
            && !value.is_empty()
            && !supported.contains(&value)
        {
            self.unsupported(node, &format!("{path}.{key}"), supported);
        }
    }

    /// An integer field that must not be negative, when it is set.
    fn non_negative(&mut self, parent: &Node, key: &str, path: &str) {
        if let Some((node, v)) = int_field(parent, key)
            && v < 0
        {
            self.invalid(
                node,
                &format!("{path}.{key}"),
                "must be greater than or equal to 0",
            );
        }
    }

    /// A label selector's operators and values (`metav1.LabelSelector`).
    fn label_selector(&mut self, selector: &Node, path: &str) {
        for (i, expr) in seq(selector, "matchExpressions").iter().enumerate() {
            let field = format!("{path}.matchExpressions[{i}]");
            let values = expr
                .get("values")
                .and_then(Node::as_seq)
                .unwrap_or_default();
            match expr.get("operator").and_then(Node::as_str) {
                Some("In" | "NotIn") if values.is_empty() => self.required(
                    expr,
                    &format!("{field}.values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ),
                Some("Exists" | "DoesNotExist") if !values.is_empty() => self.forbidden(
                    expr.get("values").unwrap_or(expr),
                    &format!("{field}.values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ),
                Some("In" | "NotIn" | "Exists" | "DoesNotExist") | None => {}
                Some(_) => {
                    let op = expr.get("operator").expect("matched a value");
                    self.invalid(
                        op,
                        &format!("{field}.operator"),
                        "not a valid selector operator",
                    );
                }
            }
        }
    }
}

/// A value as the server prints it in a message: strings quoted, numbers bare.
fn shown(node: &Node) -> String {
    match &node.value {
        Value::Scalar {
            text,
            kind: Scalar::Str,
        } => format!("{text:?}"),
        Value::Scalar { text, .. } => text.clone(),
        _ => node.to_json().to_string(),
    }
}

/// The items of a list field (empty when absent or not a list).
fn seq<'a>(parent: &'a Node, key: &str) -> &'a [Node] {
    parent.get(key).and_then(Node::as_seq).unwrap_or_default()
}

/// An integer field, with its node.
fn int_field<'a>(parent: &'a Node, key: &str) -> Option<(&'a Node, i64)> {
    let node = parent.get(key)?;
    match node.value {
        Value::Scalar {
            kind: Scalar::Int(v),
            ..
        } => Some((node, v)),
        _ => None,
    }
}

/// A quantity field (a string or a number), parsed.
fn quantity_of(node: &Node) -> Option<Quantity> {
    match &node.value {
        Value::Scalar {
            text,
            kind: Scalar::Str | Scalar::Int(_) | Scalar::Float(_),
        } => quantity::parse(text),
        _ => None,
    }
}

// The name formats are the ones `rules` checks metadata with: one definition of each.
use super::rules::{dns1123_label as is_dns_label, dns1123_subdomain as is_dns_subdomain, re};

const DNS_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// Why a string is not an IANA service name (RFC 6335), which named ports must be.
fn port_name_error(name: &str) -> Option<&'static str> {
    if name.len() > 15 {
        Some("must be no more than 15 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    } else if name.contains("--") {
        Some("must not contain consecutive hyphens")
    } else if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        Some("must contain at least one letter (a-z)")
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("must not begin or end with a hyphen")
    } else {
        None
    }
}

const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";

fn is_port(v: i64) -> bool {
    (1..=65535).contains(&v)
}

/// An int-or-string port (`targetPort`, probe ports): a number in range or a port name.
fn port_or_name(out: &mut Out, node: &Node, field: &str) {
    match &node.value {
        Value::Scalar {
            kind: Scalar::Int(v),
            ..
        } if !is_port(*v) => out.invalid(node, field, PORT_RANGE_MSG),
        Value::Scalar {
            text,
            kind: Scalar::Str,
        } => {
            if let Some(why) = port_name_error(text) {
                out.invalid(node, field, why);
            }
        }
        _ => {}
    }
}

/// An int-or-string that must be a non-negative count or a percentage (`maxSurge`,
/// `maxUnavailable`, `minAvailable`); returns the integer or percent it holds.
fn count_or_percent(out: &mut Out, node: &Node, field: &str) -> Option<IntOrPercent> {
    match &node.value {
        Value::Scalar {
            kind: Scalar::Int(v),
            ..
        } => {
            if *v < 0 {
                out.invalid(node, field, "must be greater than or equal to 0");
                return None;
            }
            Some(IntOrPercent::Int(*v))
        }
        Value::Scalar {
            text,
            kind: Scalar::Str,
        } => match text
            .strip_suffix('%')
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            Some(n) => Some(IntOrPercent::Percent(n.parse().unwrap_or(u64::MAX))),
            None => {
                out.invalid(
                    node,
                    field,
                    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                );
                None
            }
        },
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum IntOrPercent {
    Int(i64),
    Percent(u64),
}

impl IntOrPercent {
    fn is_zero(self) -> bool {
        matches!(self, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
    }
}

#[cfg(test)]
mod tests;
