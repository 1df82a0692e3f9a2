//! Secrets are compared by value but never shown: each value becomes `***`, or
//! `*** (before)` / `*** (after)` when it changed, as `kubectl diff` prints them, and the
//! change is summarised by key.

use serde::Serialize;
use serde_json::Value;

/// The fields of a Secret that hold values.
const VALUE_FIELDS: &[&str] = &["data", "stringData"];

/// Which keys of a Secret's `data`/`stringData` changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeyChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl KeyChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// `changed: password; added: token` for messages.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (label, keys) in [
            ("changed", &self.changed),
            ("added", &self.added),
            ("removed", &self.removed),
        ] {
            if !keys.is_empty() {
                parts.push(format!("{label}: {}", keys.join(", ")));
            }
        }
        parts.join("; ")
    }
}

/// True for a core `v1` Secret.
pub fn is_secret(object: &Value) -> bool {
    object.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && object.get("kind").and_then(Value::as_str) == Some("Secret")
}

/// The annotation `kubectl apply` keeps a copy of the whole object in, values included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Masks a Secret's last-applied annotation, which repeats its values.
fn mask_last_applied(object: Option<&mut Value>, mark: &str) {
    if let Some(v) = object
        .and_then(|o| o.pointer_mut("/metadata/annotations"))
        .and_then(Value::as_object_mut)
        .and_then(|a| a.get_mut(LAST_APPLIED))
    {
        *v = Value::String(mark.into());
    }
}

/// Masks the values of a Secret shown on its own (created or deleted).
pub fn mask(object: &mut Value) {
    if !is_secret(object) {
        return;
    }
    mask_last_applied(Some(object), "***");
    for field in VALUE_FIELDS {
        match object.get_mut(*field) {
            Some(Value::Object(map)) => {
                for v in map.values_mut() {
                    *v = Value::String("***".into());
                }
            }
            Some(other) => *other = Value::String("***".into()),
            None => {}
        }
    }
}

/// Replaces a `data`/`stringData` that is not a map (invalid, but it may still be in Git)
/// as a whole, so that no shape of value can slip through unmasked.
fn mask_malformed(before: Option<&mut Value>, after: Option<&mut Value>, field: &str) {
    let malformed = |v: &Option<&mut Value>| {
        v.as_deref()
            .and_then(|o| o.get(field))
            .is_some_and(|f| !f.is_object())
    };
    if !malformed(&before) && !malformed(&after) {
        return;
    }
    let same =
        before.as_deref().and_then(|o| o.get(field)) == after.as_deref().and_then(|o| o.get(field));
    let (old_mark, new_mark) = if same {
        ("***", "***")
    } else {
        ("*** (before)", "*** (after)")
    };
    for (side, mark) in [(before, old_mark), (after, new_mark)] {
        if let Some(value) = side.and_then(|o| o.get_mut(field)) {
            *value = Value::String(mark.into());
        }
    }
}

/// Masks the values of two versions of a Secret, keeping which keys changed visible, and
/// returns the key-level summary. Either side may be absent (created or deleted).
pub fn mask_pair(before: Option<&mut Value>, after: Option<&mut Value>) -> KeyChanges {
    let secret =
        before.as_deref().is_some_and(is_secret) || after.as_deref().is_some_and(is_secret);
    let mut changes = KeyChanges::default();
    if !secret {
        return changes;
    }
    let (mut before, mut after) = (before, after);
    let annotation = |o: &Option<&mut Value>| {
        o.as_deref()
            .and_then(|o| {
                o.pointer(&format!(
                    "/metadata/annotations/{}",
                    LAST_APPLIED.replace('/', "~1")
                ))
            })
            .cloned()
    };
    let (old_mark, new_mark) = if annotation(&before) == annotation(&after) {
        ("***", "***")
    } else {
        ("*** (before)", "*** (after)")
    };
    mask_last_applied(before.as_deref_mut(), old_mark);
    mask_last_applied(after.as_deref_mut(), new_mark);
    for field in VALUE_FIELDS {
        mask_malformed(before.as_deref_mut(), after.as_deref_mut(), field);
        let old = before
            .as_deref_mut()
            .and_then(|o| o.get_mut(*field))
            .and_then(Value::as_object_mut);
        let new = after
            .as_deref_mut()
            .and_then(|o| o.get_mut(*field))
            .and_then(Value::as_object_mut);
        mask_maps(old, new, &mut changes);
    }
    for keys in [
        &mut changes.added,
        &mut changes.removed,
        &mut changes.changed,
    ] {
        keys.sort();
        keys.dedup();
    }
    changes
}

fn mask_maps(
    old: Option<&mut serde_json::Map<String, Value>>,
    new: Option<&mut serde_json::Map<String, Value>>,
    changes: &mut KeyChanges,
) {
    let empty = serde_json::Map::new();
    let old_keys: Vec<String> = old.as_deref().unwrap_or(&empty).keys().cloned().collect();
    let new_keys: Vec<String> = new.as_deref().unwrap_or(&empty).keys().cloned().collect();
    let (mut old, mut new) = (old, new);
    for key in &old_keys {
        let old_value = old.as_deref_mut().and_then(|m| m.get_mut(key));
        let new_value = new.as_deref_mut().and_then(|m| m.get_mut(key));
        match (old_value, new_value) {
            (Some(o), Some(n)) if o == n => {
                *o = Value::String("***".into());
                *n = Value::String("***".into());
            }
            (Some(o), Some(n)) => {
                *o = Value::String("*** (before)".into());
                *n = Value::String("*** (after)".into());
                changes.changed.push(key.clone());
            }
            (Some(o), None) => {
                *o = Value::String("***".into());
                changes.removed.push(key.clone());
            }
            (None, _) => {}
        }
    }
    for key in &new_keys {
        if old_keys.contains(key) {
            continue;
        }
        if let Some(n) = new.as_deref_mut().and_then(|m| m.get_mut(key)) {
            *n = Value::String("***".into());
            changes.added.push(key.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data})
    }

    #[test]
    fn masks_values_and_reports_keys() {
        let mut live = secret(json!({"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}));
        let mut git = secret(json!({"same": "YQ==", "changed": "ZA==", "new": "ZQ=="}));
        let changes = mask_pair(Some(&mut live), Some(&mut git));
        assert_eq!(
            live["data"],
            json!({"same": "***", "changed": "*** (before)", "gone": "***"})
        );
        assert_eq!(
            git["data"],
            json!({"same": "***", "changed": "*** (after)", "new": "***"})
        );
        assert_eq!(changes.changed, vec!["changed"]);
        assert_eq!(changes.added, vec!["new"]);
        assert_eq!(changes.removed, vec!["gone"]);
        assert_eq!(
            changes.summary(),
            "changed: changed; added: new; removed: gone"
        );
    }

    #[test]
    fn a_secret_on_one_side_is_fully_masked() {
        let mut created = secret(json!({"token": "c2VjcmV0"}));
        let changes = mask_pair(None, Some(&mut created));
        assert_eq!(created["data"], json!({"token": "***"}));
        assert_eq!(changes.added, vec!["token"]);
        let mut alone = json!({"apiVersion": "v1", "kind": "Secret", "stringData": {"p": "x"}});
        mask(&mut alone);
        assert_eq!(alone["stringData"], json!({"p": "***"}));
    }

    #[test]
    fn other_kinds_are_left_alone() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}});
        let mut cm2 = cm.clone();
        assert!(mask_pair(Some(&mut cm), Some(&mut cm2)).is_empty());
        assert_eq!(cm["data"]["a"], "1");
    }

    #[test]
    fn malformed_data_is_masked_whole() {
        let mut a = secret(json!("plain-text-value"));
        let mut b = secret(json!({"k": "dg=="}));
        mask_pair(Some(&mut a), Some(&mut b));
        assert_eq!(a["data"], "*** (before)");
        assert_eq!(b["data"], "*** (after)");
        let mut c = secret(json!(["x"]));
        mask(&mut c);
        assert_eq!(c["data"], "***");
    }
}
