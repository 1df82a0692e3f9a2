//! Service (kubernetes/kubernetes `pkg/apis/core/validation/validation.go`, `ValidateService`),
//! Ingress and NetworkPolicy (`pkg/apis/networking/validation/validation.go`).

use std::collections::HashSet;
use std::net::IpAddr;

use super::{
    DNS_LABEL_MSG, DNS_SUBDOMAIN_MSG, Out, PORT_RANGE_MSG, int_field, is_dns_label,
    is_dns_subdomain, is_port, port_name_error, port_or_name, seq,
};
use crate::manifest::yaml::Node;
use crate::validate::rules::check_labels;

pub fn service(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    out.one_of(
        spec,
        "type",
        "spec",
        &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    );
    let ty = spec
        .get("type")
        .and_then(Node::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("ClusterIP");
    let cluster_ip = spec.get("clusterIP").and_then(Node::as_str).unwrap_or("");
    let headless = cluster_ip == "None";
    let ports = seq(spec, "ports");
    if ty == "ExternalName" {
        match spec.get("externalName").and_then(Node::as_str) {
            None | Some("") => out.required(spec, "spec.externalName", ""),
            Some(name) if !is_dns_subdomain(name.trim_end_matches('.')) => out.invalid(
                spec.get("externalName").expect("matched a value"),
                "spec.externalName",
                DNS_SUBDOMAIN_MSG,
            ),
            Some(_) => {}
        }
    } else if ports.is_empty() && !headless {
        out.required(spec.get("ports").unwrap_or(spec), "spec.ports", "");
    }
    if let Some(ip) = spec.get("clusterIP")
        && !cluster_ip.is_empty()
        && !headless
        && cluster_ip.parse::<IpAddr>().is_err()
    {
        out.invalid(
            ip,
            "spec.clusterIP",
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        );
    }
    let mut names = HashSet::new();
    let mut seen_ports = HashSet::new();
    let mut node_ports = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        match port.get("name").and_then(Node::as_str) {
            None | Some("") if ports.len() > 1 => out.required(port, &format!("{path}.name"), ""),
            Some(name) if !name.is_empty() => {
                let node = port.get("name").expect("matched a value");
                if !is_dns_label(name) {
                    out.invalid(node, &format!("{path}.name"), DNS_LABEL_MSG);
                } else if !names.insert(name) {
                    out.duplicate(node, &format!("{path}.name"));
                }
            }
            _ => {}
        }
        let protocol = port.get("protocol").and_then(Node::as_str).unwrap_or("TCP");
        out.one_of(port, "protocol", &path, &["SCTP", "TCP", "UDP"]);
        if let Some((node, v)) = int_field(port, "port") {
            if !is_port(v) {
                out.invalid(node, &format!("{path}.port"), PORT_RANGE_MSG);
            } else if !seen_ports.insert((v, protocol)) {
                out.push(
                    node,
                    &path,
                    format!(
                        "Duplicate value: port {v} with protocol {protocol} is already defined"
                    ),
                );
            }
        }
        // A target port of 0 or "" is defaulted to the port.
        if let Some(target) = port.get("targetPort")
            && int_field(port, "targetPort").is_none_or(|(_, v)| v != 0)
            && target.as_str() != Some("")
        {
            port_or_name(out, target, &format!("{path}.targetPort"));
        }
        if let Some((node, v)) = int_field(port, "nodePort")
            && v != 0
        {
            let field = format!("{path}.nodePort");
            if ty == "ClusterIP" || ty == "ExternalName" {
                out.forbidden(
                    node,
                    &field,
                    &format!("may not be used when `type` is '{ty}'"),
                );
            } else if !node_ports.insert((v, protocol)) {
                out.duplicate(node, &field);
            }
        }
    }
    check_labels(spec.get("selector"), "spec.selector", out.0);
    out.one_of(spec, "sessionAffinity", "spec", &["ClientIP", "None"]);
    let client_ip = spec.get("sessionAffinity").and_then(Node::as_str) == Some("ClientIP");
    if let Some(config) = spec.get("sessionAffinityConfig").filter(|c| !c.is_null()) {
        if !client_ip {
            out.forbidden(
                config,
                "spec.sessionAffinityConfig",
                "must not be set when session affinity is None",
            );
        } else if let Some(client) = config.get("clientIP")
            && let Some((node, v)) = int_field(client, "timeoutSeconds")
            && !(1..=86400).contains(&v)
        {
            out.invalid(
                node,
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                "must be greater than 0 and less than 86400",
            );
        }
    }
    out.one_of(spec, "externalTrafficPolicy", "spec", &["Cluster", "Local"]);
    let externally_accessible = ty == "NodePort"
        || ty == "LoadBalancer"
        || (ty == "ClusterIP" && !seq(spec, "externalIPs").is_empty());
    if let Some(policy) = spec.get("externalTrafficPolicy")
        && policy.as_str().is_some_and(|p| !p.is_empty())
        && !externally_accessible
    {
        out.invalid(
            policy,
            "spec.externalTrafficPolicy",
            "may only be set for externally-accessible services",
        );
    }
    out.one_of(spec, "internalTrafficPolicy", "spec", &["Cluster", "Local"]);
    out.one_of(
        spec,
        "ipFamilyPolicy",
        "spec",
        &["PreferDualStack", "RequireDualStack", "SingleStack"],
    );
    for (i, family) in seq(spec, "ipFamilies").iter().enumerate() {
        if let Some(f) = family.as_str()
            && f != "IPv4"
            && f != "IPv6"
        {
            out.unsupported(family, &format!("spec.ipFamilies[{i}]"), &["IPv4", "IPv6"]);
        }
    }
    for key in ["allocateLoadBalancerNodePorts", "loadBalancerClass"] {
        if let Some(node) = spec.get(key).filter(|n| !n.is_null())
            && ty != "LoadBalancer"
        {
            out.forbidden(
                node,
                &format!("spec.{key}"),
                "may only be used when `type` is 'LoadBalancer'",
            );
        }
    }
}

pub fn ingress(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    let rules = seq(spec, "rules");
    let default_backend = spec.get("defaultBackend").filter(|b| !b.is_null());
    if rules.is_empty() && default_backend.is_none() {
        out.push(
            spec,
            "spec",
            "Invalid value: \"\": either `defaultBackend` or `rules` must be specified".into(),
        );
    }
    if let Some(backend) = default_backend {
        ingress_backend(backend, "spec.defaultBackend", out);
    }
    for (i, rule) in rules.iter().enumerate() {
        let path = format!("spec.rules[{i}]");
        if let Some(host) = rule.get("host")
            && let Some(text) = host.as_str()
            && !text.is_empty()
        {
            host_name(host, text, &format!("{path}.host"), out);
        }
        let Some(http) = rule.get("http").filter(|h| !h.is_null()) else {
            continue;
        };
        let paths = seq(http, "paths");
        if paths.is_empty() {
            out.required(http, &format!("{path}.http.paths"), "");
        }
        for (j, p) in paths.iter().enumerate() {
            let p_path = format!("{path}.http.paths[{j}]");
            ingress_path(p, &p_path, out);
            if let Some(backend) = p.get("backend") {
                ingress_backend(backend, &format!("{p_path}.backend"), out);
            }
        }
    }
    for (i, tls) in seq(spec, "tls").iter().enumerate() {
        for (j, host) in seq(tls, "hosts").iter().enumerate() {
            if let Some(text) = host.as_str() {
                dns_name(host, text, &format!("spec.tls[{i}].hosts[{j}]"), out);
            }
        }
    }
}

/// A rule's host: a DNS name (see [`dns_name`]), never an IP address.
fn host_name(node: &Node, host: &str, field: &str, out: &mut Out) {
    if host.parse::<IpAddr>().is_ok() {
        out.invalid(node, field, "must be a DNS name, not an IP address");
    } else {
        dns_name(node, host, field, out);
    }
}

/// A DNS name, optionally with a leading `*.` wildcard. TLS hosts are only this, so an IP
/// address (digits and dots) passes there.
fn dns_name(node: &Node, host: &str, field: &str, out: &mut Out) {
    if let Some(rest) = host.strip_prefix("*.") {
        if !is_dns_subdomain(rest) {
            out.invalid(
                node,
                field,
                "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            );
        }
    } else if !is_dns_subdomain(host) {
        out.invalid(node, field, DNS_SUBDOMAIN_MSG);
    }
}

/// Sequences an `Exact` or `Prefix` path may not contain: the ones that normalise away.
const BAD_PATH_PARTS: &[&str] = &["//", "/./", "/../", "%2f", "%2F"];

fn ingress_path(p: &Node, path: &str, out: &mut Out) {
    let path_type = p.get("pathType").and_then(Node::as_str);
    let text = p.get("path").and_then(Node::as_str).unwrap_or_default();
    let path_node = p.get("path").unwrap_or(p);
    match path_type {
        None => out.required(p, &format!("{path}.pathType"), "pathType must be specified"),
        Some("Exact" | "Prefix") => {
            if !text.starts_with('/') {
                out.invalid(
                    path_node,
                    &format!("{path}.path"),
                    "must be an absolute path",
                );
            } else if let Some(bad) = BAD_PATH_PARTS.iter().find(|b| text.contains(**b)) {
                out.invalid(
                    path_node,
                    &format!("{path}.path"),
                    &format!("must not contain '{bad}'"),
                );
            } else if let Some(end) = ["/..", "/."].iter().find(|end| text.ends_with(**end)) {
                out.invalid(
                    path_node,
                    &format!("{path}.path"),
                    &format!("cannot end with '{end}'"),
                );
            }
        }
        Some("ImplementationSpecific") => {
            if !text.is_empty() && !text.starts_with('/') {
                out.invalid(
                    path_node,
                    &format!("{path}.path"),
                    "must be an absolute path",
                );
            }
        }
        Some(_) => out.unsupported(
            p.get("pathType").expect("matched a value"),
            &format!("{path}.pathType"),
            &["Exact", "ImplementationSpecific", "Prefix"],
        ),
    }
}

fn ingress_backend(backend: &Node, path: &str, out: &mut Out) {
    let service = backend.get("service").filter(|s| !s.is_null());
    let resource = backend.get("resource").filter(|s| !s.is_null());
    match (service, resource) {
        (Some(_), Some(_)) => out.push(
            backend,
            path,
            "Invalid value: \"\": cannot set both resource and service backends".into(),
        ),
        (None, None) => out.push(
            backend,
            path,
            "Invalid value: \"\": resource or service backend is required".into(),
        ),
        _ => {}
    }
    let Some(service) = service else { return };
    let service_path = format!("{path}.service");
    if service
        .get("name")
        .and_then(Node::as_str)
        .is_some_and(str::is_empty)
    {
        out.required(service, &format!("{service_path}.name"), "");
    }
    if let Some(name) = service.get("name")
        && let Some(text) = name.as_str()
        && !text.is_empty()
        && !is_dns1035_label(text)
    {
        out.invalid(
            name,
            &format!("{service_path}.name"),
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        );
    }
    let Some(port) = service.get("port") else {
        out.required(service, path, "port name or number is required");
        return;
    };
    let port_path = format!("{service_path}.port");
    let name = port
        .get("name")
        .and_then(Node::as_str)
        .filter(|n| !n.is_empty());
    let number = int_field(port, "number").filter(|(_, v)| *v != 0);
    match (name, number) {
        (Some(_), Some(_)) => out.push(
            port,
            path,
            "Invalid value: \"\": cannot set both port name & port number".into(),
        ),
        (None, None) => out.required(port, path, "port name or number is required"),
        (Some(n), None) => {
            if let Some(why) = port_name_error(n) {
                out.invalid(
                    port.get("name").expect("matched a value"),
                    &format!("{port_path}.name"),
                    why,
                );
            }
        }
        (None, Some((node, v))) => {
            if !is_port(v) {
                out.invalid(node, &format!("{port_path}.number"), PORT_RANGE_MSG);
            }
        }
    }
}

/// An RFC 1035 label: what Service names are.
fn is_dns1035_label(s: &str) -> bool {
    is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

pub fn network_policy(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    if let Some(selector) = spec.get("podSelector") {
        out.label_selector(selector, "spec.podSelector");
    }
    for (i, ty) in seq(spec, "policyTypes").iter().enumerate() {
        if let Some(t) = ty.as_str()
            && t != "Ingress"
            && t != "Egress"
        {
            out.unsupported(
                ty,
                &format!("spec.policyTypes[{i}]"),
                &["Egress", "Ingress"],
            );
        }
    }
    for (direction, peers_key) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in seq(spec, direction).iter().enumerate() {
            let path = format!("spec.{direction}[{i}]");
            for (j, port) in seq(rule, "ports").iter().enumerate() {
                policy_port(port, &format!("{path}.ports[{j}]"), out);
            }
            for (j, peer) in seq(rule, peers_key).iter().enumerate() {
                policy_peer(peer, &format!("{path}.{peers_key}[{j}]"), out);
            }
        }
    }
}

fn policy_port(port: &Node, path: &str, out: &mut Out) {
    out.one_of(port, "protocol", path, &["SCTP", "TCP", "UDP"]);
    let port_node = port.get("port").filter(|p| !p.is_null());
    if let Some(p) = port_node {
        port_or_name(out, p, &format!("{path}.port"));
    }
    let Some((end_node, end)) = int_field(port, "endPort") else {
        return;
    };
    let end_path = format!("{path}.endPort");
    match port_node.map(|_| int_field(port, "port")) {
        None => out.invalid(
            end_node,
            &end_path,
            "may not be specified when `port` is not specified",
        ),
        Some(None) => out.invalid(
            end_node,
            &end_path,
            "may not be specified when `port` is non-numeric",
        ),
        Some(Some((_, start))) => {
            if end < start {
                out.invalid(
                    end_node,
                    &end_path,
                    "must be greater than or equal to `port`",
                );
            } else if !is_port(end) {
                out.invalid(end_node, &end_path, PORT_RANGE_MSG);
            }
        }
    }
}

fn policy_peer(peer: &Node, path: &str, out: &mut Out) {
    let set = |k: &str| peer.get(k).is_some_and(|v| !v.is_null());
    let selectors = set("podSelector") || set("namespaceSelector");
    let ip_block = peer.get("ipBlock").filter(|b| !b.is_null());
    match (ip_block, selectors) {
        (Some(_), true) => {
            out.forbidden(peer, path, "may not specify both ipBlock and another peer")
        }
        (None, false) => out.required(peer, path, "must specify a peer"),
        _ => {}
    }
    for key in ["podSelector", "namespaceSelector"] {
        if let Some(selector) = peer.get(key) {
            out.label_selector(selector, &format!("{path}.{key}"));
        }
    }
    let Some(block) = ip_block else { return };
    let block_path = format!("{path}.ipBlock");
    let cidr = match block.get("cidr") {
        Some(node) => match node.as_str().map(|c| (c, parse_cidr(c))) {
            Some((_, Some(net))) => Some(net),
            Some((text, None)) if !text.is_empty() => {
                out.invalid(
                    node,
                    &format!("{block_path}.cidr"),
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                );
                None
            }
            _ => {
                out.required(node, &format!("{block_path}.cidr"), "");
                None
            }
        },
        None => None,
    };
    for (i, except) in seq(block, "except").iter().enumerate() {
        let field = format!("{block_path}.except[{i}]");
        let Some(text) = except.as_str() else {
            continue;
        };
        match (parse_cidr(text), cidr) {
            (None, _) => out.invalid(
                except,
                &field,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ),
            (Some(inner), Some(outer)) if !strict_subset(inner, outer) => {
                out.invalid(except, &field, "must be a strict subset of `cidr`")
            }
            _ => {}
        }
    }
}

/// A network: its address (host bits cleared) and prefix length.
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let width = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= width).then(|| (mask(addr, prefix), prefix))
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

fn strict_subset(inner: (IpAddr, u8), outer: (IpAddr, u8)) -> bool {
    inner.0.is_ipv4() == outer.0.is_ipv4() && inner.1 > outer.1 && mask(inner.0, outer.1) == outer.0
}
