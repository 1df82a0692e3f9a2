//! Removing what is not part of an object's desired state before two versions are compared:
//! fields the API server writes on every change (resource version, managed fields, generation,
//! timestamps), the controller-owned `status`, kubectl's last-applied copy, and empty values
//! that mean the same as absent ones.

use serde_json::{Map, Value};

/// The annotation client-side `kubectl apply` keeps a full copy of the object in. It repeats
/// every value of the object (a Secret's data included), so it is never shown.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Metadata fields the server sets by itself.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
];

/// Normalises an object in place for comparison and display.
pub fn normalize(object: &mut Value) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    map.remove("status");
    if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
        for field in SERVER_METADATA {
            metadata.remove(*field);
        }
        if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
            annotations.remove(LAST_APPLIED);
        }
    }
    prune_empty(object);
}

/// Drops nulls, empty maps and empty lists, bottom-up: `annotations: {}`, `resources: {}` and
/// `args: []` mean the same as leaving the field out, and the server drops many of them.
pub fn prune_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                prune_empty(v);
            }
            map.retain(|_, v| !is_empty(v));
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                prune_empty(v);
            }
        }
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Sets `metadata.namespace` (or removes it for cluster-scoped kinds), as `kubectl apply` does
/// for objects written without one.
pub fn set_namespace(object: &mut Value, namespace: Option<&str>) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    match namespace {
        Some(ns) => {
            metadata.insert("namespace".into(), Value::String(ns.to_string()));
        }
        None => {
            metadata.remove("namespace");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_server_fields_status_and_last_applied() {
        let mut live = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {
                "name": "x", "namespace": "n", "uid": "u", "resourceVersion": "5",
                "generation": 2, "creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {LAST_APPLIED: "{\"data\":{\"secret\":\"s3cr3t\"}}"},
                "labels": {}
            },
            "data": {"a": "1"},
            "status": {"phase": "x"}
        });
        normalize(&mut live);
        assert_eq!(
            live,
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "x", "namespace": "n"},
                "data": {"a": "1"}
            })
        );
    }

    #[test]
    fn empty_values_disappear_bottom_up() {
        let mut v = json!({"spec": {"a": {"b": {}}, "c": [], "d": null, "e": [{}], "f": 0}});
        prune_empty(&mut v);
        assert_eq!(v, json!({"spec": {"e": [{}], "f": 0}}));
    }

    #[test]
    fn namespace_is_set_or_removed() {
        let mut v = json!({"metadata": {"name": "x"}});
        set_namespace(&mut v, Some("team"));
        assert_eq!(v["metadata"]["namespace"], "team");
        set_namespace(&mut v, None);
        assert_eq!(v, json!({"metadata": {"name": "x"}}));
    }
}
