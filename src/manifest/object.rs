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
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Read from a manifest file: node positions are positions in that file.
    File,
    /// Produced by a renderer (kustomize, helm) for the unit's directory. Positions are in the
    /// rendered output, so messages point at the source document when it could be found.
    Rendered {
        /// The file and line of the document this object was rendered from, when known.
        source: Option<(Arc<str>, u32)>,
    },
    /// Built by kustomize from one document of the object's `file` (named by kustomize's
    /// origin annotation). The source document is kept, so a field is reported at its own
    /// line there: the line of the same path in the source, or of the nearest parent of it
    /// that the source has (a patch may have added the rest).
    Built { doc: Arc<Node> },
}

/// One step of a path into a YAML tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// The path from `root` to `target` (a node inside it, compared by address).
pub fn path_to(root: &Node, target: &Node) -> Option<Vec<Step>> {
    if std::ptr::eq(root, target) {
        return Some(Vec::new());
    }
    let children: Vec<(Step, &Node)> = match &root.value {
        super::yaml::Value::Map(entries) => entries
            .iter()
            .map(|e| (Step::Key(e.key.clone()), &e.value))
            .collect(),
        super::yaml::Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| (Step::Index(i), n))
            .collect(),
        super::yaml::Value::Scalar { .. } => return None,
    };
    for (step, child) in children {
        if let Some(mut rest) = path_to(child, target) {
            rest.insert(0, step);
            return Some(rest);
        }
    }
    None
}

/// The deepest node that starts on `line` (for a mapping entry, its value).
fn node_on_line(root: &Node, line: u32) -> Option<&Node> {
    let children: Vec<(u32, &Node)> = match &root.value {
        super::yaml::Value::Map(entries) => {
            entries.iter().map(|e| (e.key_pos.line, &e.value)).collect()
        }
        super::yaml::Value::Seq(items) => items.iter().map(|n| (n.start.line, n)).collect(),
        super::yaml::Value::Scalar { .. } => Vec::new(),
    };
    for (start, child) in children {
        if let Some(deeper) = node_on_line(child, line) {
            return Some(deeper);
        }
        if start == line {
            return Some(child);
        }
    }
    (root.start.line == line).then_some(root)
}

/// The node at `path` under `root`, or the deepest one on the way that exists.
pub fn follow<'a>(root: &'a Node, path: &[Step]) -> &'a Node {
    let mut node = root;
    for step in path {
        let next = match step {
            Step::Key(k) => node.get(k),
            Step::Index(i) => node.as_seq().and_then(|items| items.get(*i)),
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node
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
            (Some(name), _) => format!("{kind}/{}", crate::diagnostic::clip(name, 253)),
            (None, Some(g)) => format!("{kind}/{}*", g.scalar_text().unwrap_or("")),
            (None, None) => kind.to_string(),
        }
    }

    /// Where to report a problem found at `line` of this object's text (or at `at`, a node
    /// inside it, when there is no line): for a built object, the line of the same field in
    /// its source document.
    pub fn locate_at(&self, at: &Node, line: Option<u32>) -> (Arc<str>, Option<u32>) {
        if let (Origin::Built { .. }, Some(line)) = (&self.origin, line)
            && let Some(node) = node_on_line(&self.node, line)
        {
            return self.locate(node);
        }
        self.locate(at)
    }

    /// The file and line to report a problem at `node` (a node inside this object).
    pub fn locate(&self, node: &Node) -> (Arc<str>, Option<u32>) {
        match &self.origin {
            Origin::File => (self.file.clone(), Some(node.start.line)),
            Origin::Rendered {
                source: Some((file, line)),
            } => (file.clone(), Some(*line)),
            Origin::Rendered { source: None } => (self.file.clone(), None),
            Origin::Built { doc } => {
                let at = path_to(&self.node, node).map_or(&**doc, |path| follow(doc, &path));
                (self.file.clone(), Some(at.start.line))
            }
        }
    }
}
