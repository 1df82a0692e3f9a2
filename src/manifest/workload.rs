//! Workloads: the kinds that carry a pod spec, and the containers inside it.

use super::yaml::Node;

/// The container lists of a pod spec, in the order Kubernetes starts them.
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// The pod spec of a workload and its field path, for kinds that carry one.
pub fn pod_spec<'a>(obj: &'a Node, kind: &str) -> Option<(&'a Node, &'static str)> {
    let (path, field): (&[&str], &str) = match kind {
        "Pod" => (&["spec"], "spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => (&["spec", "template", "spec"], "spec.template.spec"),
        "CronJob" => (
            &["spec", "jobTemplate", "spec", "template", "spec"],
            "spec.jobTemplate.spec.template.spec",
        ),
        "PodTemplate" => (&["template", "spec"], "template.spec"),
        _ => return None,
    };
    obj.path(path).map(|n| (n, field))
}

/// A pod spec for images: the built-in workloads, and custom kinds that embed a pod template
/// at `spec.template.spec` (Argo Rollouts, OpenKruise and others), since their images are
/// deployed the same way.
pub fn image_pod_spec<'a>(obj: &'a Node, kind: &str) -> Option<&'a Node> {
    pod_spec(obj, kind).map(|(n, _)| n).or_else(|| {
        obj.path(&["spec", "template", "spec"])
            .filter(|spec| spec.get("containers").is_some_and(|c| c.as_seq().is_some()))
    })
}

/// One container of a pod spec.
pub struct Container<'a> {
    /// `initContainers`, `containers` or `ephemeralContainers`.
    pub list: &'static str,
    pub index: usize,
    pub node: &'a Node,
}

impl Container<'_> {
    /// The container's name, or its position when it has none.
    pub fn label(&self) -> String {
        match self.node.get("name").and_then(Node::scalar_text) {
            Some(name) => name.to_string(),
            None => format!("{}[{}]", self.list, self.index),
        }
    }
}

/// Every container of a pod spec, all lists.
pub fn containers(spec: &Node) -> Vec<Container<'_>> {
    CONTAINER_LISTS
        .iter()
        .flat_map(|list| {
            spec.get(list)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(index, node)| Container { list, index, node })
        })
        .collect()
}
