//! Configuration files of Kubernetes components and tools that look like objects (apiVersion,
//! kind) but are read from disk by a program, never sent to an API server: kubelet, kube-proxy,
//! scheduler and apiserver configuration, audit policies, kubeadm, kind, k3d and kops cluster
//! definitions, kubeconfig files, Skaffold. They carry no metadata and have no schema the
//! server knows, so validating them as objects only produces false errors.

/// API groups used only by configuration files. Every `*.config.k8s.io` group is one too.
const CONFIG_GROUPS: &[&str] = &[
    // AdmissionConfiguration, EgressSelectorConfiguration (before apiserver.config.k8s.io).
    "apiserver.k8s.io",
    // The audit Policy passed to --audit-policy-file.
    "audit.k8s.io",
    "client.authentication.k8s.io",
    "eventratelimit.admission.k8s.io",
    "k3d.io",
    "kind.x-k8s.io",
    "kops.k8s.io",
    "kubeadm.k8s.io",
    "skaffold",
];

/// True for a configuration file (by apiVersion and kind) that no API server serves.
pub fn is_component_config(api_version: &str, kind: &str) -> bool {
    let group = match api_version.split_once('/') {
        Some((group, _)) => group,
        // A kubeconfig file is `apiVersion: v1`, `kind: Config`; the core group has no such kind.
        None => return kind == "Config",
    };
    group.ends_with(".config.k8s.io") || CONFIG_GROUPS.contains(&group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_configs_are_recognised() {
        for (av, kind) in [
            (
                "apiserver.config.k8s.io/v1beta1",
                "EgressSelectorConfiguration",
            ),
            ("apiserver.k8s.io/v1alpha1", "EgressSelectorConfiguration"),
            ("audit.k8s.io/v1", "Policy"),
            ("kind.x-k8s.io/v1alpha4", "Cluster"),
            ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"),
            ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration"),
            ("kubeadm.k8s.io/v1beta4", "ClusterConfiguration"),
            ("v1", "Config"),
            ("skaffold/v4beta11", "Config"),
        ] {
            assert!(is_component_config(av, kind), "{av} {kind}");
        }
    }

    #[test]
    fn api_objects_are_not_component_configs() {
        for (av, kind) in [
            ("v1", "ConfigMap"),
            ("apps/v1", "Deployment"),
            // Cluster API's Cluster is a real custom resource, unlike kind's.
            ("cluster.x-k8s.io/v1beta1", "Cluster"),
            ("audit.example.com/v1", "Policy"),
        ] {
            assert!(!is_component_config(av, kind), "{av} {kind}");
        }
    }
}
