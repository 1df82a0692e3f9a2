//! Pods and pod templates (kubernetes/kubernetes `pkg/apis/core/validation/validation.go`,
//! `ValidatePodSpec` and the container checks it calls).

use std::collections::HashSet;

use super::{
    DNS_LABEL_MSG, DNS_SUBDOMAIN_MSG, Out, PORT_RANGE_MSG, int_field, is_dns_label,
    is_dns_subdomain, is_port, port_name_error, port_or_name, quantity_of, seq, shown,
};
use crate::manifest::yaml::Node;
use crate::validate::rules::check_labels;

pub fn pod(obj: &Node, out: &mut Out) {
    if let Some(spec) = obj.get("spec") {
        pod_spec(spec, "spec", true, &[], out);
    }
}

pub fn pod_template(obj: &Node, out: &mut Out) {
    if let Some(template) = obj.get("template") {
        template_spec(template, "template", &[], out);
    }
}

/// A pod template inside a controller, whose pods must restart as `allowed` says (the server
/// defaults an omitted policy to `Always` first). `claims` are volumes the controller adds
/// (a StatefulSet's claim templates), which containers may mount.
pub fn template(template: &Node, path: &str, allowed: &[&str], claims: &[&str], out: &mut Out) {
    template_spec(template, path, claims, out);
    let Some(spec) = template.get("spec") else {
        return;
    };
    let spec_path = format!("{path}.spec");
    if let Some(policy) = spec.get("restartPolicy")
        && let Some(value) = policy.as_str()
        && RESTART_POLICIES.contains(&value)
        && !allowed.contains(&value)
    {
        out.unsupported(policy, &format!("{spec_path}.restartPolicy"), allowed);
    }
}

/// A pod template whose restart policy the caller checks.
pub fn template_spec(template: &Node, path: &str, claims: &[&str], out: &mut Out) {
    check_labels(
        template.path(&["metadata", "labels"]),
        &format!("{path}.metadata.labels"),
        out.0,
    );
    let Some(spec) = template.get("spec") else {
        return;
    };
    pod_spec(spec, &format!("{path}.spec"), false, claims, out);
    if let Some(ephemeral) = spec.get("ephemeralContainers")
        && ephemeral.as_seq().is_some_and(|l| !l.is_empty())
    {
        out.forbidden(
            ephemeral,
            &format!("{path}.spec.ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        );
    }
}

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];

/// Every volume source a volume may name, exactly one of which it holds (none means the server
/// defaults it to `emptyDir`).
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

fn pod_spec(spec: &Node, path: &str, is_pod: bool, claims: &[&str], out: &mut Out) {
    let mut volumes = volumes(spec, path, out);
    volumes.extend(claims);
    if let Some(list) = spec.get("containers")
        && list.as_seq().is_some_and(<[Node]>::is_empty)
    {
        out.required(list, &format!("{path}.containers"), "");
    }
    // Names are unique across regular and init containers.
    let mut names = HashSet::new();
    let host_network = spec
        .get("hostNetwork")
        .is_some_and(|n| n.scalar_text() == Some("true"));
    for list in ["containers", "initContainers"] {
        for (i, c) in seq(spec, list).iter().enumerate() {
            let field = format!("{path}.{list}[{i}]");
            if let Some(name) = c.get("name")
                && let Some(text) = name.as_str()
                && !text.is_empty()
                && !names.insert(text)
            {
                out.duplicate(name, &format!("{field}.name"));
            }
            container(c, &field, list == "initContainers", is_pod, &volumes, out);
            if host_network && list == "containers" {
                host_network_ports(c, &field, out);
            }
        }
    }
    out.one_of(spec, "restartPolicy", path, RESTART_POLICIES);
    out.one_of(
        spec,
        "dnsPolicy",
        path,
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    );
    if spec.get("dnsPolicy").and_then(Node::as_str) == Some("None") {
        let nameservers = spec
            .path(&["dnsConfig", "nameservers"])
            .and_then(Node::as_seq);
        match spec.get("dnsConfig") {
            None => out.required(
                spec,
                &format!("{path}.dnsConfig"),
                "must provide `dnsConfig` when `dnsPolicy` is None",
            ),
            Some(config) if nameservers.is_none_or(<[Node]>::is_empty) => out.required(
                config,
                &format!("{path}.dnsConfig.nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            ),
            Some(_) => {}
        }
    }
    out.one_of(
        spec,
        "preemptionPolicy",
        path,
        &["PreemptLowerPriority", "Never"],
    );
    if let Some((node, v)) = int_field(spec, "activeDeadlineSeconds")
        && !(1..=i64::from(i32::MAX)).contains(&v)
    {
        out.invalid(
            node,
            &format!("{path}.activeDeadlineSeconds"),
            "must be between 1 and 2147483647, inclusive",
        );
    }
    for (key, subdomain) in [
        ("serviceAccountName", true),
        ("nodeName", true),
        ("priorityClassName", true),
        ("hostname", false),
        ("subdomain", false),
    ] {
        if let Some(node) = spec.get(key)
            && let Some(text) = node.as_str()
            && !text.is_empty()
        {
            let field = format!("{path}.{key}");
            if subdomain && !is_dns_subdomain(text) {
                out.invalid(node, &field, DNS_SUBDOMAIN_MSG);
            } else if !subdomain && !is_dns_label(text) {
                out.invalid(node, &field, DNS_LABEL_MSG);
            }
        }
    }
    check_labels(
        spec.get("nodeSelector"),
        &format!("{path}.nodeSelector"),
        out.0,
    );
    tolerations(spec, path, out);
    affinity(spec, path, out);
    topology_spread(spec, path, out);
    if let Some(sc) = spec.get("securityContext") {
        security_context(sc, &format!("{path}.securityContext"), out);
        if let Some((node, v)) = int_field(sc, "fsGroup")
            && !(0..=i64::from(i32::MAX)).contains(&v)
        {
            out.invalid(
                node,
                &format!("{path}.securityContext.fsGroup"),
                "must be between 0 and 2147483647, inclusive",
            );
        }
    }
}

/// Volume names (unique DNS labels) and sources; returns the names for mounts to refer to.
fn volumes<'a>(spec: &'a Node, path: &str, out: &mut Out) -> HashSet<&'a str> {
    let mut names = HashSet::new();
    for (i, v) in seq(spec, "volumes").iter().enumerate() {
        let field = format!("{path}.volumes[{i}]");
        if let Some(name) = v.get("name")
            && let Some(text) = name.as_str()
            && !text.is_empty()
        {
            if !is_dns_label(text) {
                out.invalid(name, &format!("{field}.name"), DNS_LABEL_MSG);
            } else if !names.insert(text) {
                out.duplicate(name, &format!("{field}.name"));
            }
        }
        let sources: Vec<&crate::manifest::yaml::Entry> = v
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter(|e| VOLUME_SOURCES.contains(&e.key.as_str()) && !e.value.is_null())
            .collect();
        for extra in sources.iter().skip(1) {
            out.forbidden(
                &extra.value,
                &format!("{field}.{}", extra.key),
                "may not specify more than 1 volume type",
            );
        }
        if let Some(first) = sources.first() {
            volume_source(
                &first.key,
                &first.value,
                &format!("{field}.{}", first.key),
                out,
            );
        }
    }
    names
}

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// The sources whose fields the server checks beyond the schema: what a Secret, ConfigMap,
/// projected or downward API volume names and the file modes it sets (a decimal `644` where
/// octal `0644` was meant is out of range), and a host path's type.
fn volume_source(kind: &str, source: &Node, path: &str, out: &mut Out) {
    let reference = match kind {
        "secret" => Some("secretName"),
        "configMap" => Some("name"),
        _ => None,
    };
    if let Some(key) = reference
        && source
            .get(key)
            .and_then(Node::as_str)
            .is_none_or(str::is_empty)
    {
        out.required(source, &format!("{path}.{key}"), "");
    }
    match kind {
        "secret" | "configMap" | "downwardAPI" | "projected" => {
            file_mode(source, "defaultMode", path, out);
            key_paths(source, path, out);
        }
        "hostPath" => out.one_of(
            source,
            "type",
            path,
            &[
                "",
                "BlockDevice",
                "CharDevice",
                "Directory",
                "DirectoryOrCreate",
                "File",
                "FileOrCreate",
                "Socket",
            ],
        ),
        _ => {}
    }
    for (i, projection) in seq(source, "sources").iter().enumerate() {
        for inner in ["secret", "configMap", "downwardAPI"] {
            if let Some(node) = projection.get(inner) {
                key_paths(node, &format!("{path}.sources[{i}].{inner}"), out);
            }
        }
    }
}

fn file_mode(parent: &Node, key: &str, path: &str, out: &mut Out) {
    if let Some((node, mode)) = int_field(parent, key)
        && !(0..=0o777).contains(&mode)
    {
        out.invalid(node, &format!("{path}.{key}"), FILE_MODE_MSG);
    }
}

/// `items` of a volume source: files named by relative paths that stay inside the volume.
fn key_paths(source: &Node, path: &str, out: &mut Out) {
    for (i, item) in seq(source, "items").iter().enumerate() {
        let field = format!("{path}.items[{i}]");
        file_mode(item, "mode", &field, out);
        let Some(node) = item.get("path") else {
            continue;
        };
        let Some(text) = node.as_str() else { continue };
        let path_field = format!("{field}.path");
        if text.is_empty() {
            out.required(node, &path_field, "");
        } else if text.starts_with('/') {
            out.invalid(node, &path_field, "must be a relative path");
        } else if text.split('/').any(|part| part == "..") {
            out.invalid(node, &path_field, "must not contain '..'");
        } else if text.starts_with("..") {
            out.invalid(node, &path_field, "must not start with '..'");
        }
    }
}

fn container(
    c: &Node,
    path: &str,
    init: bool,
    is_pod: bool,
    volumes: &HashSet<&str>,
    out: &mut Out,
) {
    if let Some(name) = c.get("name")
        && let Some(text) = name.as_str()
        && !text.is_empty()
        && !is_dns_label(text)
    {
        out.invalid(name, &format!("{path}.name"), DNS_LABEL_MSG);
    }
    match c.get("image") {
        None => out.required(c, &format!("{path}.image"), ""),
        Some(image) if image.is_null() || image.as_str() == Some("") => {
            out.required(image, &format!("{path}.image"), "")
        }
        Some(image) => {
            if is_pod
                && let Some(text) = image.as_str()
                && text.trim() != text
            {
                out.invalid(
                    image,
                    &format!("{path}.image"),
                    "must not have leading or trailing whitespace",
                );
            }
        }
    }
    out.one_of(
        c,
        "imagePullPolicy",
        path,
        &["Always", "IfNotPresent", "Never"],
    );
    out.one_of(
        c,
        "terminationMessagePolicy",
        path,
        &["File", "FallbackToLogsOnError"],
    );
    ports(c, path, out);
    env(c, path, out);
    volume_mounts(c, path, volumes, out);
    resources(c, path, out);
    if let Some(sc) = c.get("securityContext") {
        let sc_path = format!("{path}.securityContext");
        security_context(sc, &sc_path, out);
        if sc.get("privileged").and_then(Node::scalar_text) == Some("true")
            && let Some(ape) = sc.get("allowPrivilegeEscalation")
            && ape.scalar_text() == Some("false")
        {
            out.invalid(
                ape,
                &sc_path,
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            );
        }
        out.one_of(sc, "procMount", &sc_path, &["Default", "Unmasked"]);
    }
    let restartable = init && c.get("restartPolicy").and_then(Node::as_str) == Some("Always");
    for (key, kind) in [
        ("livenessProbe", Probe::Liveness),
        ("readinessProbe", Probe::Readiness),
        ("startupProbe", Probe::Startup),
    ] {
        let Some(p) = c.get(key).filter(|p| !p.is_null()) else {
            continue;
        };
        let field = format!("{path}.{key}");
        if init && !restartable {
            out.forbidden(
                p,
                &field,
                "may not be set for init containers without restartPolicy=Always",
            );
        } else {
            probe(p, &field, kind, out);
        }
    }
    if let Some(lifecycle) = c.get("lifecycle").filter(|l| !l.is_null()) {
        let field = format!("{path}.lifecycle");
        if init && !restartable {
            out.forbidden(
                lifecycle,
                &field,
                "may not be set for init containers without restartPolicy=Always",
            );
        } else {
            for hook in ["postStart", "preStop"] {
                if let Some(h) = lifecycle.get(hook).filter(|h| !h.is_null()) {
                    handler(
                        h,
                        &format!("{field}.{hook}"),
                        &["exec", "httpGet", "tcpSocket", "sleep"],
                        out,
                    );
                }
            }
        }
    }
}

fn ports(c: &Node, path: &str, out: &mut Out) {
    let mut names = HashSet::new();
    for (i, p) in seq(c, "ports").iter().enumerate() {
        let field = format!("{path}.ports[{i}]");
        if let Some(name) = p.get("name")
            && let Some(text) = name.as_str()
            && !text.is_empty()
        {
            if let Some(why) = port_name_error(text) {
                out.invalid(name, &format!("{field}.name"), why);
            } else if !names.insert(text) {
                out.duplicate(name, &format!("{field}.name"));
            }
        }
        if let Some((node, v)) = int_field(p, "containerPort") {
            if v == 0 {
                out.required(node, &format!("{field}.containerPort"), "");
            } else if !is_port(v) {
                out.invalid(node, &format!("{field}.containerPort"), PORT_RANGE_MSG);
            }
        }
        if let Some((node, v)) = int_field(p, "hostPort")
            && v != 0
            && !is_port(v)
        {
            out.invalid(node, &format!("{field}.hostPort"), PORT_RANGE_MSG);
        }
        out.one_of(p, "protocol", &field, &["SCTP", "TCP", "UDP"]);
    }
}

/// With the host's network, a pod's ports are the host's: a host port must be the container
/// port (the server fills an omitted one in).
fn host_network_ports(c: &Node, path: &str, out: &mut Out) {
    for (i, p) in seq(c, "ports").iter().enumerate() {
        if let (Some((node, host)), Some((_, port))) =
            (int_field(p, "hostPort"), int_field(p, "containerPort"))
            && host != 0
            && host != port
        {
            out.invalid(
                node,
                &format!("{path}.ports[{i}].hostPort"),
                "must match `containerPort` when `hostNetwork` is true",
            );
        }
    }
}

/// The downward API fields an environment variable may read (`metadata.labels['k']` and
/// `metadata.annotations['k']` aside).
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const RESOURCE_FIELD_REFS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// Environment variable names: any printable ASCII but `=` (the relaxed rule, on by default
/// since Kubernetes 1.32 and GA since 1.34).
fn env_name_ok(name: &str) -> bool {
    name.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'=')
}

const ENV_NAME_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";

fn env(c: &Node, path: &str, out: &mut Out) {
    for (i, e) in seq(c, "env").iter().enumerate() {
        let field = format!("{path}.env[{i}]");
        if let Some(name) = e.get("name")
            && let Some(text) = name.as_str()
        {
            if text.is_empty() {
                out.required(name, &format!("{field}.name"), "");
            } else if !env_name_ok(text) {
                out.invalid(name, &format!("{field}.name"), ENV_NAME_MSG);
            }
        }
        let Some(from) = e.get("valueFrom").filter(|v| v.as_map().is_some()) else {
            continue;
        };
        let from_path = format!("{field}.valueFrom");
        let sources: Vec<&str> = from
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter(|s| !s.value.is_null())
            .map(|s| s.key.as_str())
            .collect();
        let has_value = e
            .get("value")
            .and_then(Node::scalar_text)
            .is_some_and(|v| !v.is_empty());
        if sources.is_empty() {
            out.push(
                from,
                &from_path,
                "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`".into(),
            );
        } else if has_value {
            out.push(
                from,
                &from_path,
                "Invalid value: \"\": may not be specified when `value` is not empty".into(),
            );
        } else if sources.len() > 1 {
            out.push(
                from,
                &from_path,
                "Invalid value: \"\": may not have more than one field specified at a time".into(),
            );
        }
        if let Some(fp) = from.path(&["fieldRef", "fieldPath"])
            && let Some(text) = fp.as_str()
            && !ENV_FIELD_PATHS.contains(&text)
            && !is_subscripted_meta(text)
        {
            out.unsupported(
                fp,
                &format!("{from_path}.fieldRef.fieldPath"),
                ENV_FIELD_PATHS,
            );
        }
        if let Some(res) = from.path(&["resourceFieldRef", "resource"])
            && let Some(text) = res.as_str()
            && !text.is_empty()
            && !RESOURCE_FIELD_REFS.contains(&text)
            && !text.starts_with("requests.hugepages-")
            && !text.starts_with("limits.hugepages-")
        {
            out.unsupported(
                res,
                &format!("{from_path}.resourceFieldRef.resource"),
                RESOURCE_FIELD_REFS,
            );
        }
        for selector in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(key) = from.path(&[selector, "key"])
                && let Some(text) = key.as_str()
            {
                let key_path = format!("{from_path}.{selector}.key");
                if text.is_empty() {
                    out.required(key, &key_path, "");
                } else if let Some(why) = super::data::config_key_error(text) {
                    out.invalid(key, &key_path, why);
                }
            }
        }
    }
    for (i, e) in seq(c, "envFrom").iter().enumerate() {
        let field = format!("{path}.envFrom[{i}]");
        let count = ["configMapRef", "secretRef"]
            .iter()
            .filter(|k| e.get(k).is_some_and(|v| !v.is_null()))
            .count();
        if count == 0 {
            out.push(
                e,
                &format!("{path}.envFrom"),
                "Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`".into(),
            );
        } else if count > 1 {
            out.push(
                e,
                &format!("{path}.envFrom"),
                "Invalid value: \"\": may not have more than one field specified at a time".into(),
            );
        }
        if let Some(prefix) = e.get("prefix")
            && let Some(text) = prefix.as_str()
            && !env_name_ok(text)
        {
            out.invalid(prefix, &format!("{field}.prefix"), ENV_NAME_MSG);
        }
    }
}

fn is_subscripted_meta(path: &str) -> bool {
    ["metadata.labels['", "metadata.annotations['"]
        .iter()
        .any(|p| path.starts_with(p) && path.ends_with("']") && path.len() > p.len() + 2)
}

fn volume_mounts(c: &Node, path: &str, volumes: &HashSet<&str>, out: &mut Out) {
    let mut mount_paths = HashSet::new();
    for (i, m) in seq(c, "volumeMounts").iter().enumerate() {
        let field = format!("{path}.volumeMounts[{i}]");
        if let Some(name) = m.get("name")
            && let Some(text) = name.as_str()
            && !text.is_empty()
            && !volumes.contains(text)
        {
            out.not_found(name, &format!("{field}.name"));
        }
        if let Some(mp) = m.get("mountPath")
            && let Some(text) = mp.as_str()
            && !text.is_empty()
            && !mount_paths.insert(text)
        {
            out.invalid(mp, &format!("{field}.mountPath"), "must be unique");
        }
        let sub_path = m.get("subPath").and_then(Node::as_str).unwrap_or_default();
        if !sub_path.is_empty()
            && let Some(expr) = m.get("subPathExpr")
            && expr.as_str().is_some_and(|t| !t.is_empty())
        {
            out.invalid(
                expr,
                &format!("{field}.subPathExpr"),
                "subPathExpr and subPath are mutually exclusive",
            );
        }
        for key in ["subPath", "subPathExpr"] {
            if let Some(node) = m.get(key)
                && let Some(text) = node.as_str()
                && !text.is_empty()
            {
                let key_path = format!("{path}.volumeMounts.{key}");
                if text.starts_with('/') {
                    out.invalid(node, &key_path, "must be a relative path");
                } else if text.split('/').any(|part| part == "..") {
                    out.invalid(node, &key_path, "must not contain '..'");
                }
            }
        }
        out.one_of(
            m,
            "mountPropagation",
            &field,
            &["Bidirectional", "HostToContainer", "None"],
        );
        if let Some(propagation) = m.get("mountPropagation")
            && propagation.as_str() == Some("Bidirectional")
            && c.path(&["securityContext", "privileged"])
                .and_then(Node::scalar_text)
                != Some("true")
        {
            out.forbidden(
                propagation,
                &format!("{field}.mountPropagation"),
                "Bidirectional mount propagation is available only to privileged containers",
            );
        }
    }
}

/// Resource names a container may use without a domain prefix.
fn standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

fn resources(c: &Node, path: &str, out: &mut Out) {
    let Some(res) = c.get("resources") else {
        return;
    };
    let res_path = format!("{path}.resources");
    let limits = res.get("limits").and_then(Node::as_map).unwrap_or_default();
    let requests = res
        .get("requests")
        .and_then(Node::as_map)
        .unwrap_or_default();
    // Each quantity is parsed once; field paths are only built for findings.
    let mut parsed = |list: &str, entries: &'_ [crate::manifest::yaml::Entry]| {
        let mut values = Vec::with_capacity(entries.len());
        for e in entries {
            let value = quantity_of(&e.value);
            let field = || format!("{res_path}.{list}[{}]", e.key);
            if !e.key.contains('/') && !standard_container_resource(&e.key) {
                out.push(
                    &e.value,
                    &field(),
                    format!(
                        "Invalid value: {:?}: must be a standard resource for containers",
                        e.key
                    ),
                );
            }
            if value.is_some_and(|q| q.is_negative()) {
                out.invalid(&e.value, &field(), "must be greater than or equal to 0");
            }
            values.push(value);
        }
        values
    };
    let limit_values = parsed("limits", limits);
    let request_values = parsed("requests", requests);
    for (request, want) in requests.iter().zip(request_values) {
        let Some((limit, cap)) = limits
            .iter()
            .zip(&limit_values)
            .find(|(l, _)| l.key == request.key)
        else {
            // Resources the node cannot overcommit (extended ones, hugepages) need a limit.
            if !overcommit_allowed(&request.key) {
                out.push(
                    &request.value,
                    &format!("{res_path}.limits"),
                    format!(
                        "Required value: Limit must be set for non overcommitable resources (resource {:?})",
                        request.key
                    ),
                );
            }
            continue;
        };
        let (Some(want), Some(cap)) = (want, *cap) else {
            continue;
        };
        let limit_text = limit.value.scalar_text().unwrap_or_default();
        if !overcommit_allowed(&request.key) && want != cap {
            out.push(
                &request.value,
                &format!("{res_path}.requests"),
                format!(
                    "Invalid value: {}: must be equal to {} limit of {limit_text}",
                    shown_quantity(&request.value),
                    request.key
                ),
            );
        } else if want > cap {
            out.push(
                &request.value,
                &format!("{res_path}.requests"),
                format!(
                    "Invalid value: {}: must be less than or equal to {} limit of {limit_text}",
                    shown_quantity(&request.value),
                    request.key
                ),
            );
        }
    }
}

/// Native resources other than hugepages may be requested below their limit.
fn overcommit_allowed(name: &str) -> bool {
    let native = !name.contains('/') || name.contains("kubernetes.io/");
    native && !name.starts_with("hugepages-")
}

fn shown_quantity(node: &Node) -> String {
    format!("{:?}", node.scalar_text().unwrap_or_default())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Probe {
    Liveness,
    Readiness,
    Startup,
}

fn probe(p: &Node, path: &str, kind: Probe, out: &mut Out) {
    handler(p, path, &["exec", "httpGet", "tcpSocket", "grpc"], out);
    for key in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        out.non_negative(p, key, path);
    }
    // An omitted or zero threshold is defaulted to 1.
    if kind != Probe::Readiness
        && let Some((node, v)) = int_field(p, "successThreshold")
        && v > 1
    {
        out.invalid(node, &format!("{path}.successThreshold"), "must be 1");
    }
    if let Some(grace) = p
        .get("terminationGracePeriodSeconds")
        .filter(|g| !g.is_null())
    {
        let field = format!("{path}.terminationGracePeriodSeconds");
        if kind == Probe::Readiness {
            out.invalid(grace, &field, "must not be set for readinessProbes");
        } else if let Some((node, v)) = int_field(p, "terminationGracePeriodSeconds")
            && v <= 0
        {
            out.invalid(node, &field, "must be greater than 0");
        }
    }
}

/// A probe or lifecycle hook: exactly one of the handler kinds it allows.
fn handler(h: &Node, path: &str, kinds: &[&str], out: &mut Out) {
    let mut found = 0;
    for e in h.as_map().unwrap_or_default() {
        if !kinds.contains(&e.key.as_str()) || e.value.is_null() {
            continue;
        }
        let field = format!("{path}.{}", e.key);
        found += 1;
        if found > 1 {
            out.forbidden(&e.value, &field, "may not specify more than 1 handler type");
            continue;
        }
        let action = &e.value;
        match e.key.as_str() {
            "exec"
                if action
                    .get("command")
                    .and_then(Node::as_seq)
                    .is_none_or(<[Node]>::is_empty) =>
            {
                out.required(action, &format!("{field}.command"), "");
            }
            "httpGet" => {
                if let Some(port) = action.get("port") {
                    port_or_name(out, port, &format!("{field}.port"));
                }
                out.one_of(action, "scheme", &field, &["HTTP", "HTTPS"]);
            }
            "tcpSocket" => {
                if let Some(port) = action.get("port") {
                    port_or_name(out, port, &format!("{field}.port"));
                }
            }
            "grpc" => {
                if let Some((node, v)) = int_field(action, "port")
                    && !is_port(v)
                {
                    out.invalid(node, &format!("{field}.port"), PORT_RANGE_MSG);
                }
            }
            _ => {}
        }
    }
    if found == 0 {
        out.required(h, path, "must specify a handler type");
    }
}

fn security_context(sc: &Node, path: &str, out: &mut Out) {
    for key in ["runAsUser", "runAsGroup"] {
        if let Some((node, v)) = int_field(sc, key)
            && !(0..=i64::from(i32::MAX)).contains(&v)
        {
            out.invalid(
                node,
                &format!("{path}.{key}"),
                "must be between 0 and 2147483647, inclusive",
            );
        }
    }
    if let Some(profile) = sc.get("seccompProfile") {
        let profile_path = format!("{path}.seccompProfile");
        out.one_of(
            profile,
            "type",
            &profile_path,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        );
        let localhost = profile.get("localhostProfile").filter(|n| !n.is_null());
        match (profile.get("type").and_then(Node::as_str), localhost) {
            (Some("Localhost"), None) => out.required(
                profile,
                &format!("{profile_path}.localhostProfile"),
                "must be set when seccomp type is Localhost",
            ),
            (Some("RuntimeDefault" | "Unconfined"), Some(node)) => out.push(
                node,
                &format!("{profile_path}.localhostProfile"),
                format!(
                    "Invalid value: {}: can only be set when seccomp type is Localhost",
                    shown(profile)
                ),
            ),
            _ => {}
        }
    }
}

fn tolerations(spec: &Node, path: &str, out: &mut Out) {
    for (i, t) in seq(spec, "tolerations").iter().enumerate() {
        let field = format!("{path}.tolerations[{i}]");
        let key = t.get("key").and_then(Node::as_str).unwrap_or_default();
        let operator = t.get("operator").and_then(Node::as_str).unwrap_or_default();
        let value = t.get("value").and_then(Node::as_str).unwrap_or_default();
        let effect = t.get("effect").and_then(Node::as_str).unwrap_or_default();
        let operator_node = t.get("operator").unwrap_or(t);
        match operator {
            "Equal" | "" => {
                if key.is_empty() {
                    out.push(
                        operator_node,
                        &format!("{field}.operator"),
                        format!(
                            "Invalid value: {operator:?}: operator must be Exists when `key` is empty, which means \"match all values and all keys\""
                        ),
                    );
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    out.push(
                        t.get("value").unwrap_or(t),
                        &format!("{field}.operator"),
                        format!(
                            "Invalid value: {value:?}: value must be empty when `operator` is 'Exists'"
                        ),
                    );
                }
            }
            _ => out.unsupported(
                operator_node,
                &format!("{field}.operator"),
                &["Equal", "Exists"],
            ),
        }
        if !effect.is_empty() {
            out.one_of(
                t,
                "effect",
                &field,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            );
        }
        if t.get("tolerationSeconds").is_some_and(|s| !s.is_null()) && effect != "NoExecute" {
            out.push(
                t.get("effect").unwrap_or(t),
                &format!("{field}.effect"),
                format!(
                    "Invalid value: {effect:?}: effect must be 'NoExecute' when `tolerationSeconds` is set"
                ),
            );
        }
    }
}

fn affinity(spec: &Node, path: &str, out: &mut Out) {
    let Some(affinity) = spec.get("affinity") else {
        return;
    };
    let base = format!("{path}.affinity");
    if let Some(node_affinity) = affinity.get("nodeAffinity") {
        let na_path = format!("{base}.nodeAffinity");
        if let Some(required) = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        {
            let terms_path = format!(
                "{na_path}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
            );
            match required.get("nodeSelectorTerms").and_then(Node::as_seq) {
                Some([]) => out.required(
                    required,
                    &terms_path,
                    "must have at least one node selector term",
                ),
                Some(terms) => {
                    for (i, term) in terms.iter().enumerate() {
                        node_selector_term(term, &format!("{terms_path}[{i}]"), out);
                    }
                }
                None => {}
            }
        }
        for (i, term) in seq(
            node_affinity,
            "preferredDuringSchedulingIgnoredDuringExecution",
        )
        .iter()
        .enumerate()
        {
            let term_path =
                format!("{na_path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            weight(term, &term_path, out);
            if let Some(pref) = term.get("preference") {
                node_selector_term(pref, &format!("{term_path}.preference"), out);
            }
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = affinity.get(kind) else {
            continue;
        };
        let pa_path = format!("{base}.{kind}");
        for (i, term) in seq(pa, "requiredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            pod_affinity_term(
                term,
                &format!("{pa_path}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"),
                out,
            );
        }
        for (i, term) in seq(pa, "preferredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            let term_path =
                format!("{pa_path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            weight(term, &term_path, out);
            if let Some(inner) = term.get("podAffinityTerm") {
                pod_affinity_term(inner, &format!("{term_path}.podAffinityTerm"), out);
            }
        }
    }
}

fn weight(term: &Node, path: &str, out: &mut Out) {
    if let Some((node, v)) = int_field(term, "weight")
        && !(1..=100).contains(&v)
    {
        out.invalid(
            node,
            &format!("{path}.weight"),
            "must be in the range 1-100",
        );
    }
}

fn pod_affinity_term(term: &Node, path: &str, out: &mut Out) {
    if term
        .get("topologyKey")
        .and_then(Node::as_str)
        .is_some_and(str::is_empty)
    {
        out.required(
            term.get("topologyKey").unwrap_or(term),
            &format!("{path}.topologyKey"),
            "can not be empty",
        );
    }
    if let Some(selector) = term.get("labelSelector") {
        out.label_selector(selector, &format!("{path}.labelSelector"));
    }
}

fn node_selector_term(term: &Node, path: &str, out: &mut Out) {
    for (i, req) in seq(term, "matchExpressions").iter().enumerate() {
        let field = format!("{path}.matchExpressions[{i}]");
        let values = req.get("values").and_then(Node::as_seq).unwrap_or_default();
        let Some(op_node) = req.get("operator") else {
            continue;
        };
        match op_node.as_str() {
            Some("In" | "NotIn") if values.is_empty() => out.required(
                req,
                &format!("{field}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            ),
            Some("Exists" | "DoesNotExist") if !values.is_empty() => out.forbidden(
                req.get("values").unwrap_or(req),
                &format!("{field}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
            Some("Gt" | "Lt") if values.len() != 1 => out.required(
                req,
                &format!("{field}.values"),
                "must be specified single value when `operator` is 'Lt' or 'Gt'",
            ),
            Some("In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt") | None => {}
            Some(_) => out.invalid(
                op_node,
                &format!("{field}.operator"),
                "not a valid selector operator",
            ),
        }
    }
}

fn topology_spread(spec: &Node, path: &str, out: &mut Out) {
    for (i, c) in seq(spec, "topologySpreadConstraints").iter().enumerate() {
        let field = format!("{path}.topologySpreadConstraints[{i}]");
        if let Some((node, v)) = int_field(c, "maxSkew")
            && v <= 0
        {
            out.invalid(
                node,
                &format!("{field}.maxSkew"),
                "must be greater than zero",
            );
        }
        out.one_of(
            c,
            "whenUnsatisfiable",
            &field,
            &["DoNotSchedule", "ScheduleAnyway"],
        );
        if let Some((node, v)) = int_field(c, "minDomains")
            && v <= 0
        {
            out.invalid(
                node,
                &format!("{field}.minDomains"),
                "must be greater than 0",
            );
        }
        out.one_of(c, "nodeAffinityPolicy", &field, &["Honor", "Ignore"]);
        out.one_of(c, "nodeTaintsPolicy", &field, &["Honor", "Ignore"]);
        if let Some(selector) = c.get("labelSelector") {
            out.label_selector(selector, &format!("{field}.labelSelector"));
        }
    }
}
