//! Roles and bindings (kubernetes/kubernetes `pkg/apis/rbac/validation/validation.go`).

use super::{DNS_SUBDOMAIN_MSG, Out, is_dns_subdomain, seq};
use crate::manifest::yaml::Node;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

pub fn role(obj: &Node, out: &mut Out) {
    rules(obj, true, out);
}

pub fn cluster_role(obj: &Node, out: &mut Out) {
    rules(obj, false, out);
    if let Some(aggregation) = obj.get("aggregationRule").filter(|a| !a.is_null()) {
        let selectors = seq(aggregation, "clusterRoleSelectors");
        if selectors.is_empty() {
            out.required(
                aggregation,
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            );
        }
        for (i, selector) in selectors.iter().enumerate() {
            out.label_selector(
                selector,
                &format!("aggregationRule.clusterRoleSelectors[{i}]"),
            );
        }
    }
}

fn rules(obj: &Node, namespaced: bool, out: &mut Out) {
    for (i, rule) in seq(obj, "rules").iter().enumerate() {
        let path = format!("rules[{i}]");
        let list = |key: &str| seq(rule, key);
        if list("verbs").is_empty() {
            out.required(
                rule.get("verbs").unwrap_or(rule),
                &format!("{path}.verbs"),
                "verbs must contain at least one value",
            );
        }
        if !list("nonResourceURLs").is_empty() {
            let urls = rule.get("nonResourceURLs").expect("the list is not empty");
            if namespaced {
                out.invalid(
                    urls,
                    &format!("{path}.nonResourceURLs"),
                    "namespaced rules cannot apply to non-resource URLs",
                );
            }
            if !list("apiGroups").is_empty()
                || !list("resources").is_empty()
                || !list("resourceNames").is_empty()
            {
                out.invalid(
                    urls,
                    &format!("{path}.nonResourceURLs"),
                    "rules cannot apply to both regular resources and non-resource URLs",
                );
            }
            continue;
        }
        if list("apiGroups").is_empty() {
            out.required(
                rule.get("apiGroups").unwrap_or(rule),
                &format!("{path}.apiGroups"),
                "resource rules must supply at least one api group",
            );
        }
        if list("resources").is_empty() {
            out.required(
                rule.get("resources").unwrap_or(rule),
                &format!("{path}.resources"),
                "resource rules must supply at least one resource",
            );
        }
    }
}

pub fn role_binding(obj: &Node, out: &mut Out) {
    binding(obj, &["ClusterRole", "Role"], true, out);
}

pub fn cluster_role_binding(obj: &Node, out: &mut Out) {
    binding(obj, &["ClusterRole"], false, out);
}

fn binding(obj: &Node, role_kinds: &[&str], namespaced: bool, out: &mut Out) {
    if let Some(role_ref) = obj.get("roleRef") {
        out.one_of(role_ref, "apiGroup", "roleRef", &[RBAC_GROUP]);
        out.one_of(role_ref, "kind", "roleRef", role_kinds);
        if role_ref
            .get("name")
            .and_then(Node::as_str)
            .is_some_and(str::is_empty)
        {
            out.required(role_ref, "roleRef.name", "");
        }
    }
    for (i, subject) in seq(obj, "subjects").iter().enumerate() {
        let path = format!("subjects[{i}]");
        let name = subject.get("name").and_then(Node::as_str);
        if name.is_some_and(str::is_empty) {
            out.required(subject, &format!("{path}.name"), "");
        }
        let api_group = subject.get("apiGroup").and_then(Node::as_str).unwrap_or("");
        let group_node = subject.get("apiGroup").unwrap_or(subject);
        match subject.get("kind").and_then(Node::as_str) {
            Some("ServiceAccount") => {
                if let Some(n) = name
                    && !n.is_empty()
                    && !is_dns_subdomain(n)
                {
                    out.invalid(
                        subject.get("name").expect("has a name"),
                        &format!("{path}.name"),
                        DNS_SUBDOMAIN_MSG,
                    );
                }
                if !api_group.is_empty() {
                    out.unsupported(group_node, &format!("{path}.apiGroup"), &[""]);
                }
                if !namespaced
                    && subject
                        .get("namespace")
                        .and_then(Node::as_str)
                        .is_none_or(str::is_empty)
                {
                    out.required(subject, &format!("{path}.namespace"), "");
                }
            }
            // The server fills in the RBAC group when it is omitted.
            Some("User" | "Group") if !api_group.is_empty() && api_group != RBAC_GROUP => {
                out.unsupported(group_node, &format!("{path}.apiGroup"), &[RBAC_GROUP]);
            }
            Some("User" | "Group") => {}
            Some(_) => out.unsupported(
                subject.get("kind").expect("matched a value"),
                &format!("{path}.kind"),
                &["Group", "ServiceAccount", "User"],
            ),
            None => {}
        }
    }
}
