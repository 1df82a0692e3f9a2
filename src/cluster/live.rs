//! Live objects: one LIST per kind and namespace, run concurrently, filtered locally (one GET
//! per object would be a thousand round trips for a thousand objects).

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::{CONCURRENCY, Cluster, ClusterError, RequestError, Resource};

/// One LIST to make.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Query {
    pub resource: Resource,
    /// The namespace; `None` lists across all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    /// A label selector (`app.kubernetes.io/instance in (web)`).
    pub label_selector: Option<String>,
}

/// What identifies a live object across API versions: group, kind, namespace, name.
pub type LiveKey = (String, String, Option<String>, String);

/// The key of a live object (as listed, so with apiVersion and kind set).
pub fn key_of(object: &Value) -> Option<LiveKey> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let (group, _) = crate::manifest::object::split_api_version(api_version);
    let metadata = object.get("metadata")?;
    Some((
        group.to_string(),
        object.get("kind")?.as_str()?.to_string(),
        metadata
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_string),
        metadata.get("name")?.as_str()?.to_string(),
    ))
}

/// Live objects by key.
#[derive(Debug, Default)]
pub struct LiveSet {
    pub objects: HashMap<LiveKey, Value>,
}

impl LiveSet {
    pub fn get(&self, key: &LiveKey) -> Option<&Value> {
        self.objects.get(key)
    }
}

/// Runs the LISTs concurrently. With `required`, a LIST the user may not make (403) stops
/// the command, since the answer would be wrong without it; otherwise it is skipped.
pub async fn list(
    cluster: &Cluster,
    mut queries: Vec<Query>,
    required: bool,
) -> Result<LiveSet, ClusterError> {
    queries.sort();
    queries.dedup();
    let pages: Vec<Vec<Value>> = futures::stream::iter(queries)
        .map(|query| async move {
            let mut path = query.resource.collection(query.namespace.as_deref());
            if let Some(selector) = &query.label_selector {
                path = format!("{path}?labelSelector={}", encode_query(selector));
            }
            let doing = match &query.namespace {
                Some(ns) if query.resource.namespaced => {
                    format!("listing {} in namespace {ns}", query.resource.display())
                }
                _ => format!("listing {}", query.resource.display()),
            };
            let list = match cluster.get(&path, &doing).await {
                Ok(list) => list,
                Err(RequestError::Status {
                    code: 403 | 404, ..
                }) if !required => {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(e.fatal(&doing)),
            };
            Ok(items_of(list, &query.resource))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut set = LiveSet::default();
    for object in pages.into_iter().flatten() {
        if let Some(key) = key_of(&object) {
            set.objects.insert(key, object);
        }
    }
    Ok(set)
}

/// The items of a LIST answer, with apiVersion and kind filled in (a list of built-in
/// objects leaves them out of each item).
fn items_of(list: Value, resource: &Resource) -> Vec<Value> {
    let Value::Object(mut list) = list else {
        return Vec::new();
    };
    let Some(Value::Array(items)) = list.remove("items") else {
        return Vec::new();
    };
    items
        .into_iter()
        .map(|mut item| {
            if let Some(map) = item.as_object_mut() {
                map.insert("apiVersion".into(), Value::String(resource.api_version()));
                map.insert("kind".into(), Value::String(resource.kind.clone()));
            }
            item
        })
        .collect()
}

/// Percent-encodes a query parameter value.
pub fn encode_query(text: &str) -> String {
    encode(text, b"-_.~")
}

/// Percent-encodes a path segment (names may hold `:`, as RBAC's `system:` ones do).
pub fn encode_segment(text: &str) -> String {
    encode(text, b"-_.~:@")
}

fn encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::client::tests::{mock, status};

    fn deployments() -> Resource {
        Resource {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
            namespaced: true,
        }
    }

    #[test]
    fn encodes_selectors_and_names() {
        assert_eq!(
            encode_query("app.kubernetes.io/instance in (a,b)"),
            "app.kubernetes.io%2Finstance%20in%20%28a%2Cb%29"
        );
        assert_eq!(
            encode_segment("system:auth-delegator"),
            "system:auth-delegator"
        );
    }

    #[tokio::test]
    async fn lists_each_kind_and_namespace_once() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let cluster = mock(move |_, path| {
            log.lock().expect("lock").push(path.to_string());
            match path {
                "/apis/apps/v1/namespaces/a/deployments" => (
                    200,
                    r#"{"items": [{"metadata": {"name": "web", "namespace": "a"}}]}"#.into(),
                ),
                "/apis/apps/v1/namespaces/locked/deployments" => {
                    (403, status(403, "Forbidden", "no"))
                }
                _ => (200, r#"{"items": []}"#.into()),
            }
        });
        let q = |ns: &str| Query {
            resource: deployments(),
            namespace: Some(ns.into()),
            label_selector: None,
        };
        let set = list(&cluster, vec![q("a"), q("a"), q("b")], true)
            .await
            .expect("list");
        let key = (
            "apps".to_string(),
            "Deployment".to_string(),
            Some("a".to_string()),
            "web".to_string(),
        );
        assert_eq!(set.get(&key).expect("listed")["apiVersion"], "apps/v1");
        assert_eq!(seen.lock().expect("lock").len(), 2);

        let err = list(&cluster, vec![q("locked")], true)
            .await
            .expect_err("403");
        assert!(
            err.to_string()
                .contains("listing deployments.apps in namespace locked"),
            "{err}"
        );
        assert!(
            list(&cluster, vec![q("locked")], false)
                .await
                .expect("optional")
                .objects
                .is_empty()
        );
    }
}
