//! Kubernetes objects read from manifests, and their identity.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::yaml::Node;

/// group/version/kind/namespace/name: what makes two manifests the same object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectId {
    pub group: String,
    pub version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Where an object's text is, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Read from a manifest file: node positions are positions in that file.
    File,
    /// Produced by a renderer (kustomize, helm) for the unit's directory. Positions are in the
    /// rendered output, so messages point at the source document when it could be found.
    Rendered {
        /// The file and line of the document this object was rendered from, when known.
        source: Option<(Arc<str>, u32)>,
    },
}

/// A Kubernetes object from the manifests.
#[derive(Clone, Debug)]
pub struct Object {
    /// The file (as the user named it, or repo-relative) or, for rendered objects, the unit's
    /// renderer input (`dir/kustomization.yaml`).
    pub file: Arc<str>,
    /// 0-based document index in that file (or in the render output).
    pub doc_index: usize,
    /// The object's root mapping.
    pub node: Node,
    /// Index of the apply unit (directory, kustomize render, chart) it belongs to.
    pub unit: usize,
    pub origin: Origin,
}

impl Object {
    pub fn api_version(&self) -> Option<&str> {
        self.node.get("apiVersion").and_then(Node::as_str)
    }

    pub fn kind(&self) -> Option<&str> {
        self.node.get("kind").and_then(Node::as_str)
    }

    pub fn name(&self) -> Option<&str> {
        self.node.path(&["metadata", "name"]).and_then(Node::as_str)
    }

    pub fn namespace(&self) -> Option<&str> {
        self.node
            .path(&["metadata", "namespace"])
            .and_then(Node::as_str)
    }

    /// The identity as written (namespace as given, possibly none). `None` when apiVersion,
    /// kind or name is missing (e.g. objects with only `generateName`).
    pub fn id(&self) -> Option<ObjectId> {
        let (group, version) = split_api_version(self.api_version()?);
        Some(ObjectId {
            group: group.to_string(),
            version: version.to_string(),
            kind: self.kind()?.to_string(),
            namespace: self.namespace().map(str::to_string),
            name: self.name()?.to_string(),
        })
    }

    /// `Kind/name` for messages (`Kind/<generateName>*` or `Kind` when unnamed).
    pub fn label(&self) -> String {
        let kind = self.kind().unwrap_or("<no kind>");
        match (self.name(), self.node.path(&["metadata", "generateName"])) {
            (Some(name), _) => format!("{kind}/{name}"),
            (None, Some(g)) => format!("{kind}/{}*", g.scalar_text().unwrap_or("")),
            (None, None) => kind.to_string(),
        }
    }

    /// The file and line to report a problem at `node` (a node inside this object).
    pub fn locate(&self, node: &Node) -> (Arc<str>, Option<u32>) {
        match &self.origin {
            Origin::File => (self.file.clone(), Some(node.start.line)),
            Origin::Rendered {
                source: Some((file, line)),
            } => (file.clone(), Some(*line)),
            Origin::Rendered { source: None } => (self.file.clone(), None),
        }
    }
}
