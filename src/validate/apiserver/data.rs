//! ConfigMap, Secret and PersistentVolumeClaim (kubernetes/kubernetes
//! `pkg/apis/core/validation/validation.go`: `ValidateConfigMap`, `ValidateSecret`,
//! `ValidatePersistentVolumeClaimSpec`).

use super::{DNS_SUBDOMAIN_MSG, Out, is_dns_subdomain, quantity_of, seq};
use crate::manifest::yaml::{Entry, Node};

/// ConfigMap and Secret objects may hold at most this many bytes of data.
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// Why a string is not a valid ConfigMap or Secret key.
pub fn config_key_error(key: &str) -> Option<&'static str> {
    if key.len() > 253 {
        Some("must be no more than 253 characters")
    } else if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        Some(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        )
    } else if key == "." {
        Some("must not be '.'")
    } else if key == ".." {
        Some("must not be '..'")
    } else if key.starts_with("..") {
        Some("must not start with '..'")
    } else {
        None
    }
}

fn entries<'a>(obj: &'a Node, key: &str) -> &'a [Entry] {
    obj.get(key).and_then(Node::as_map).unwrap_or_default()
}

/// Keys of `data`-like maps, and the total size the server would store (base64 maps, marked
/// true, count what they decode to).
fn keys(obj: &Node, maps: &[(&str, bool)], out: &mut Out) -> usize {
    let mut size = 0;
    for &(map, base64) in maps {
        for e in entries(obj, map) {
            if let Some(why) = config_key_error(&e.key) {
                out.push(
                    &e.value,
                    &format!("{map}[{}]", e.key),
                    format!("Invalid value: {:?}: {why}", e.key),
                );
            }
            let written = e.value.scalar_text().map_or(0, str::len);
            size += if base64 { written / 4 * 3 } else { written };
        }
    }
    size
}

fn too_big(obj: &Node, size: usize, out: &mut Out) {
    if size > MAX_DATA_BYTES {
        out.push(
            obj,
            "",
            format!("Too long: may not be more than {MAX_DATA_BYTES} bytes"),
        );
    }
}

pub fn config_map(obj: &Node, out: &mut Out) {
    let size = keys(obj, &[("data", false), ("binaryData", true)], out);
    let data = entries(obj, "data");
    for e in entries(obj, "binaryData") {
        if data.iter().any(|d| d.key == e.key) {
            out.push(
                &e.value,
                &format!("binaryData[{}]", e.key),
                format!(
                    "Invalid value: {:?}: duplicate of key present in data",
                    e.key
                ),
            );
        }
    }
    too_big(obj, size, out);
}

pub fn secret(obj: &Node, out: &mut Out) {
    let size = keys(obj, &[("data", true), ("stringData", false)], out);
    too_big(obj, size, out);
    // `stringData` is merged into `data` before the server validates.
    let has = |key: &str| {
        ["data", "stringData"]
            .iter()
            .any(|m| entries(obj, m).iter().any(|e| e.key == key))
    };
    let Some(ty_node) = obj.get("type") else {
        return;
    };
    let required: &[&str] = match ty_node.as_str().unwrap_or_default() {
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/basic-auth" => {
            if !has("username") && !has("password") {
                out.required(ty_node, "data[username]", "");
                out.required(ty_node, "data[password]", "");
            }
            &[]
        }
        "kubernetes.io/service-account-token" => {
            let annotation = "kubernetes.io/service-account.name";
            if obj
                .path(&["metadata", "annotations", annotation])
                .and_then(Node::as_str)
                .is_none_or(str::is_empty)
            {
                out.required(ty_node, &format!("metadata.annotations[{annotation}]"), "");
            }
            &[]
        }
        _ => &[],
    };
    for key in required {
        if !has(key) {
            out.required(ty_node, &format!("data[{key}]"), "");
        }
    }
}

pub fn pvc(obj: &Node, out: &mut Out) {
    if let Some(spec) = obj.get("spec") {
        pvc_spec(spec, "spec", out);
    }
}

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn pvc_spec(spec: &Node, path: &str, out: &mut Out) {
    let modes = seq(spec, "accessModes");
    if modes.is_empty() {
        out.required(
            spec.get("accessModes").unwrap_or(spec),
            &format!("{path}.accessModes"),
            "at least 1 access mode is required",
        );
    }
    for mode in modes {
        if let Some(m) = mode.as_str()
            && !ACCESS_MODES.contains(&m)
        {
            out.unsupported(mode, &format!("{path}.accessModes"), ACCESS_MODES);
        }
    }
    if modes.len() > 1
        && let Some(once_pod) = modes
            .iter()
            .find(|m| m.as_str() == Some("ReadWriteOncePod"))
    {
        out.forbidden(
            once_pod,
            &format!("{path}.accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        );
    }
    let storage = spec.path(&["resources", "requests", "storage"]);
    let storage_path = format!("{path}.resources[storage]");
    match storage {
        None => out.required(spec.get("resources").unwrap_or(spec), &storage_path, ""),
        Some(q) => {
            if let Some(value) = quantity_of(q)
                && value <= crate::diff::quantity::parse("0").expect("0 is a quantity")
            {
                out.invalid(q, &storage_path, "must be greater than zero");
            }
        }
    }
    out.one_of(spec, "volumeMode", path, &["Block", "Filesystem"]);
    if let Some(class) = spec.get("storageClassName")
        && let Some(text) = class.as_str()
        && !text.is_empty()
        && !is_dns_subdomain(text)
    {
        out.invalid(
            class,
            &format!("{path}.storageClassName"),
            DNS_SUBDOMAIN_MSG,
        );
    }
}
