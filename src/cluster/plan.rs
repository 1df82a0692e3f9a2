//! Placing Git objects in the cluster: which resource each kind is, which namespace each
//! object lands in (as `kubectl apply` decides it), and which LISTs fetch their live versions.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::desired::DesiredObject;
use super::live::{LiveKey, Query};
use super::{Cluster, ClusterError, Discovery, Resolution, Resource};
use crate::diff::normalize;
use crate::manifest::ObjectId;

/// A Git object with its place in the cluster.
#[derive(Clone, Debug)]
pub struct Placed {
    /// Identity with the namespace it lands in (none for cluster-scoped kinds).
    pub id: ObjectId,
    pub key: LiveKey,
    /// What `kubectl apply` would send: the Git object with that namespace set.
    pub body: Value,
    pub source: String,
    /// The resource, or why the cluster does not serve the kind.
    pub resource: Result<Resource, String>,
    /// True when the kind is unknown to the cluster but a CRD in Git defines it.
    pub crd_in_git: bool,
    /// The app it belongs to (its ignore rules apply).
    pub app: String,
}

/// Resolves every object's kind (one discovery request per group version used) and
/// namespace. Objects defined twice for the same cluster keep their first definition, with a
/// warning.
pub async fn place(
    cluster: &Cluster,
    discovery: &mut Discovery,
    objects: &[DesiredObject],
    warnings: &mut Vec<String>,
) -> Result<Vec<Placed>, ClusterError> {
    discovery
        .load(cluster, objects.iter().map(|o| o.id.api_version()))
        .await?;
    let crds = crds_in_git(objects);
    let mut seen: HashMap<LiveKey, String> = HashMap::new();
    let mut out = Vec::new();
    for object in objects {
        let api_version = object.id.api_version();
        let resolution = discovery.resolve(&api_version, &object.id.kind);
        let crd_scope = crds.get(&(object.id.group.clone(), object.id.kind.clone()));
        let namespaced = match &resolution {
            Resolution::Found(r) => r.namespaced,
            _ => crd_scope.copied().unwrap_or(true),
        };
        let namespace = namespaced.then(|| {
            object
                .id
                .namespace
                .clone()
                .or_else(|| object.default_namespace.clone())
                .unwrap_or_else(|| cluster.default_namespace.clone())
        });
        let id = ObjectId {
            namespace: namespace.clone(),
            ..object.id.clone()
        };
        let key = (
            id.group.clone(),
            id.kind.clone(),
            namespace.clone(),
            id.name.clone(),
        );
        if let Some(first) = seen.get(&key) {
            warnings.push(format!(
                "{id} is defined twice ({first} and {}); comparing the first (narrow with --path or --app)",
                object.source
            ));
            continue;
        }
        seen.insert(key.clone(), object.source.clone());
        let mut body = object.body.clone();
        normalize::set_namespace(&mut body, namespace.as_deref());
        let resource = match resolution {
            Resolution::Found(r) => Ok(r),
            other => Err(other
                .problem(&api_version, &object.id.kind)
                .expect("only Found has no problem")),
        };
        out.push(Placed {
            crd_in_git: resource.is_err() && crd_scope.is_some(),
            id,
            key,
            body,
            source: object.source.clone(),
            resource,
            app: object.app.clone(),
        });
    }
    Ok(out)
}

/// The kinds the Git objects define as CRDs: (group, kind) to namespaced.
fn crds_in_git(objects: &[DesiredObject]) -> HashMap<(String, String), bool> {
    objects
        .iter()
        .filter(|o| o.id.kind == "CustomResourceDefinition" && o.id.group == "apiextensions.k8s.io")
        .filter_map(|o| {
            let group = o.body.pointer("/spec/group")?.as_str()?.to_string();
            let kind = o.body.pointer("/spec/names/kind")?.as_str()?.to_string();
            let namespaced =
                o.body.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster");
            Some(((group, kind), namespaced))
        })
        .collect()
}

/// The LISTs that fetch the live versions of placed objects: one per kind and namespace, or
/// one per kind across all namespaces with `all_namespaces`.
pub fn queries(placed: &[Placed], all_namespaces: bool) -> Vec<Query> {
    let set: BTreeSet<Query> = placed
        .iter()
        .filter_map(|p| {
            let resource = p.resource.as_ref().ok()?;
            Some(Query {
                resource: resource.clone(),
                namespace: if all_namespaces {
                    None
                } else {
                    p.id.namespace.clone()
                },
                label_selector: None,
            })
        })
        .collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::client::tests::mock;
    use serde_json::json;

    fn object(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> DesiredObject {
        let (group, version) = crate::manifest::object::split_api_version(api_version);
        let mut body = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
        if let Some(ns) = namespace {
            body["metadata"]["namespace"] = json!(ns);
        }
        DesiredObject {
            id: ObjectId {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
                namespace: namespace.map(str::to_string),
                name: name.into(),
            },
            body,
            source: format!("{name}.yaml:1"),
            app: "test".into(),
            default_namespace: None,
        }
    }

    #[tokio::test]
    async fn namespaces_follow_kubectl_apply() {
        let cluster = mock(|_, path| {
            let body = match path {
                "/api" => r#"{"versions": ["v1"]}"#,
                "/apis" => r#"{"groups": []}"#,
                "/api/v1" => {
                    r#"{"resources": [
                    {"name": "configmaps", "kind": "ConfigMap", "namespaced": true},
                    {"name": "namespaces", "kind": "Namespace", "namespaced": false}]}"#
                }
                other => panic!("unexpected {other}"),
            };
            (200, body.to_string())
        });
        let mut discovery = Discovery::new(&cluster).await.expect("discovery");
        let mut crd = object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "widgets.example.com",
        );
        crd.body["spec"] =
            json!({"group": "example.com", "scope": "Cluster", "names": {"kind": "Widget"}});
        let objects = vec![
            object("v1", "ConfigMap", None, "a"),
            object("v1", "ConfigMap", Some("team"), "b"),
            object("v1", "Namespace", Some("ignored"), "team"),
            object("v1", "ConfigMap", Some("default"), "a"),
            object("example.com/v1", "Widget", Some("x"), "w"),
            object("other.io/v1", "Gadget", None, "g"),
            crd,
        ];
        let mut warnings = Vec::new();
        let placed = place(&cluster, &mut discovery, &objects, &mut warnings)
            .await
            .expect("placed");
        let namespaces: Vec<Option<&str>> =
            placed.iter().map(|p| p.id.namespace.as_deref()).collect();
        assert_eq!(
            namespaces,
            vec![
                Some("default"),
                Some("team"),
                None,
                None,
                Some("default"),
                Some("default")
            ]
        );
        assert_eq!(placed[0].body["metadata"]["namespace"], "default");
        assert!(placed[2].body["metadata"].get("namespace").is_none());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("defined twice"));
        assert!(placed[3].crd_in_git);
        assert!(!placed[4].crd_in_git);
        assert!(
            placed[4]
                .resource
                .as_ref()
                .expect_err("unknown")
                .contains("CRD")
        );
        assert_eq!(queries(&placed, false).len(), 3);
        assert_eq!(queries(&placed, true).len(), 2);
    }
}
