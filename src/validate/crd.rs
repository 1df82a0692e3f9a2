//! Custom resource definitions found in the manifests, and the schemas of their versions.

use std::collections::HashMap;

use super::schema::{SchemaId, Schemas};
use crate::manifest::Object;
use crate::manifest::yaml::Node;

pub struct Crd {
    pub namespaced: bool,
    /// Schema per served version name; `None` when the version has no schema.
    pub versions: HashMap<String, Option<SchemaId>>,
}

/// The CRDs of a set of manifests, by (group, kind).
#[derive(Default)]
pub struct CrdIndex {
    pub schemas: Schemas,
    crds: HashMap<(String, String), Crd>,
}

impl CrdIndex {
    pub fn from_objects(objects: &[Object]) -> CrdIndex {
        let mut index = CrdIndex::default();
        for obj in objects {
            if obj.kind() == Some("CustomResourceDefinition")
                && obj.api_version() == Some("apiextensions.k8s.io/v1")
            {
                index.add(&obj.node);
            }
        }
        index
    }

    fn add(&mut self, node: &Node) {
        let spec = node.get("spec");
        let text = |n: Option<&Node>| n.and_then(Node::as_str).map(str::to_string);
        let (Some(group), Some(kind)) = (
            text(spec.and_then(|s| s.get("group"))),
            text(spec.and_then(|s| s.path(&["names", "kind"]))),
        ) else {
            return;
        };
        let namespaced = text(spec.and_then(|s| s.get("scope"))).as_deref() != Some("Cluster");
        let mut versions = HashMap::new();
        for version in spec
            .and_then(|s| s.get("versions"))
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(name) = text(version.get("name")) else {
                continue;
            };
            let schema = version
                .path(&["schema", "openAPIV3Schema"])
                .map(|s| self.schemas.compile(&s.to_json(), &serde_json::Map::new()));
            versions.insert(name, schema);
        }
        self.crds.insert(
            (group, kind),
            Crd {
                namespaced,
                versions,
            },
        );
    }

    pub fn get(&self, group: &str, kind: &str) -> Option<&Crd> {
        self.crds.get(&(group.to_string(), kind.to_string()))
    }
}
