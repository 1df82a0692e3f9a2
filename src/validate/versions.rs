//! Which apiVersions a Kubernetes release serves: the removals and deprecations of the
//! Kubernetes deprecated API migration guide (every removal from 1.16 on), and when the
//! apiVersions of recent releases arrived. Written from the guide's facts and the release
//! notes; the schemas stay those of the built-in version (see `builtin.rs`).

/// A minor release of Kubernetes 1.x.
pub type Minor = u32;

/// `1.33`, `v1.33`, `1.33.2` or a server's `minor: "33+"` as a minor release.
pub fn parse(version: &str) -> Option<Minor> {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split('.');
    if parts.next()? != "1" {
        return None;
    }
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    minor.parse().ok()
}

/// An apiVersion of a kind that a release stopped serving.
struct Removed {
    api_version: &'static str,
    kinds: &'static [&'static str],
    deprecated: Minor,
    removed: Minor,
    /// What to use instead, or why there is nothing.
    replacement: &'static str,
}

const WORKLOADS: &[&str] = &["Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"];
const FLOWCONTROL: &[&str] = &["FlowSchema", "PriorityLevelConfiguration"];
const RBAC: &[&str] = &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];

const REMOVED: &[Removed] = &[
    // 1.16
    Removed {
        api_version: "extensions/v1beta1",
        kinds: &["Deployment", "DaemonSet", "ReplicaSet"],
        deprecated: 9,
        removed: 16,
        replacement: "apps/v1",
    },
    Removed {
        api_version: "apps/v1beta1",
        kinds: &["Deployment", "StatefulSet", "ControllerRevision"],
        deprecated: 9,
        removed: 16,
        replacement: "apps/v1",
    },
    Removed {
        api_version: "apps/v1beta2",
        kinds: &[
            "Deployment",
            "DaemonSet",
            "ReplicaSet",
            "StatefulSet",
            "ControllerRevision",
        ],
        deprecated: 9,
        removed: 16,
        replacement: "apps/v1",
    },
    Removed {
        api_version: "extensions/v1beta1",
        kinds: &["NetworkPolicy"],
        deprecated: 9,
        removed: 16,
        replacement: "networking.k8s.io/v1",
    },
    Removed {
        api_version: "extensions/v1beta1",
        kinds: &["PodSecurityPolicy"],
        deprecated: 11,
        removed: 16,
        replacement: "policy/v1beta1 (itself removed in 1.25; use Pod Security Admission)",
    },
    // 1.22
    Removed {
        api_version: "admissionregistration.k8s.io/v1beta1",
        kinds: &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
        deprecated: 16,
        removed: 22,
        replacement: "admissionregistration.k8s.io/v1",
    },
    Removed {
        api_version: "apiextensions.k8s.io/v1beta1",
        kinds: &["CustomResourceDefinition"],
        deprecated: 16,
        removed: 22,
        replacement: "apiextensions.k8s.io/v1",
    },
    Removed {
        api_version: "apiregistration.k8s.io/v1beta1",
        kinds: &["APIService"],
        deprecated: 19,
        removed: 22,
        replacement: "apiregistration.k8s.io/v1",
    },
    Removed {
        api_version: "authentication.k8s.io/v1beta1",
        kinds: &["TokenReview"],
        deprecated: 19,
        removed: 22,
        replacement: "authentication.k8s.io/v1",
    },
    Removed {
        api_version: "authorization.k8s.io/v1beta1",
        kinds: &[
            "SubjectAccessReview",
            "LocalSubjectAccessReview",
            "SelfSubjectAccessReview",
            "SelfSubjectRulesReview",
        ],
        deprecated: 19,
        removed: 22,
        replacement: "authorization.k8s.io/v1",
    },
    Removed {
        api_version: "certificates.k8s.io/v1beta1",
        kinds: &["CertificateSigningRequest"],
        deprecated: 19,
        removed: 22,
        replacement: "certificates.k8s.io/v1",
    },
    Removed {
        api_version: "coordination.k8s.io/v1beta1",
        kinds: &["Lease"],
        deprecated: 19,
        removed: 22,
        replacement: "coordination.k8s.io/v1",
    },
    Removed {
        api_version: "extensions/v1beta1",
        kinds: &["Ingress"],
        deprecated: 14,
        removed: 22,
        replacement: "networking.k8s.io/v1",
    },
    Removed {
        api_version: "networking.k8s.io/v1beta1",
        kinds: &["Ingress", "IngressClass"],
        deprecated: 19,
        removed: 22,
        replacement: "networking.k8s.io/v1",
    },
    Removed {
        api_version: "rbac.authorization.k8s.io/v1beta1",
        kinds: RBAC,
        deprecated: 17,
        removed: 22,
        replacement: "rbac.authorization.k8s.io/v1",
    },
    Removed {
        api_version: "scheduling.k8s.io/v1beta1",
        kinds: &["PriorityClass"],
        deprecated: 14,
        removed: 22,
        replacement: "scheduling.k8s.io/v1",
    },
    Removed {
        api_version: "storage.k8s.io/v1beta1",
        kinds: &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
        deprecated: 19,
        removed: 22,
        replacement: "storage.k8s.io/v1",
    },
    // 1.25
    Removed {
        api_version: "batch/v1beta1",
        kinds: &["CronJob"],
        deprecated: 21,
        removed: 25,
        replacement: "batch/v1",
    },
    Removed {
        api_version: "discovery.k8s.io/v1beta1",
        kinds: &["EndpointSlice"],
        deprecated: 21,
        removed: 25,
        replacement: "discovery.k8s.io/v1",
    },
    Removed {
        api_version: "events.k8s.io/v1beta1",
        kinds: &["Event"],
        deprecated: 19,
        removed: 25,
        replacement: "events.k8s.io/v1",
    },
    Removed {
        api_version: "autoscaling/v2beta1",
        kinds: &["HorizontalPodAutoscaler"],
        deprecated: 22,
        removed: 25,
        replacement: "autoscaling/v2",
    },
    Removed {
        api_version: "policy/v1beta1",
        kinds: &["PodDisruptionBudget"],
        deprecated: 21,
        removed: 25,
        replacement: "policy/v1",
    },
    Removed {
        api_version: "policy/v1beta1",
        kinds: &["PodSecurityPolicy"],
        deprecated: 21,
        removed: 25,
        replacement: "nothing: PodSecurityPolicy was removed; use Pod Security Admission or a third-party admission webhook",
    },
    Removed {
        api_version: "node.k8s.io/v1beta1",
        kinds: &["RuntimeClass"],
        deprecated: 20,
        removed: 25,
        replacement: "node.k8s.io/v1",
    },
    // 1.26
    Removed {
        api_version: "flowcontrol.apiserver.k8s.io/v1beta1",
        kinds: FLOWCONTROL,
        deprecated: 23,
        removed: 26,
        replacement: "flowcontrol.apiserver.k8s.io/v1 (v1beta3 before 1.29)",
    },
    Removed {
        api_version: "autoscaling/v2beta2",
        kinds: &["HorizontalPodAutoscaler"],
        deprecated: 23,
        removed: 26,
        replacement: "autoscaling/v2",
    },
    // 1.27
    Removed {
        api_version: "storage.k8s.io/v1beta1",
        kinds: &["CSIStorageCapacity"],
        deprecated: 24,
        removed: 27,
        replacement: "storage.k8s.io/v1",
    },
    // 1.29
    Removed {
        api_version: "flowcontrol.apiserver.k8s.io/v1beta2",
        kinds: FLOWCONTROL,
        deprecated: 26,
        removed: 29,
        replacement: "flowcontrol.apiserver.k8s.io/v1 (v1beta3 before 1.29)",
    },
    // 1.32
    Removed {
        api_version: "flowcontrol.apiserver.k8s.io/v1beta3",
        kinds: FLOWCONTROL,
        deprecated: 29,
        removed: 32,
        replacement: "flowcontrol.apiserver.k8s.io/v1",
    },
];

/// The release an apiVersion of a kind was first served in (by default, without feature
/// gates), for those introduced since the oldest release the table covers.
const INTRODUCED: &[(&str, &[&str], Minor)] = &[
    ("apps/v1", WORKLOADS, 9),
    ("networking.k8s.io/v1", &["Ingress", "IngressClass"], 19),
    ("events.k8s.io/v1", &["Event"], 19),
    ("node.k8s.io/v1", &["RuntimeClass"], 20),
    ("batch/v1", &["CronJob"], 21),
    ("discovery.k8s.io/v1", &["EndpointSlice"], 21),
    ("policy/v1", &["PodDisruptionBudget"], 21),
    ("autoscaling/v2", &["HorizontalPodAutoscaler"], 23),
    ("storage.k8s.io/v1", &["CSIStorageCapacity"], 24),
    ("authentication.k8s.io/v1", &["SelfSubjectReview"], 28),
    (
        "admissionregistration.k8s.io/v1",
        &[
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        ],
        30,
    ),
    ("flowcontrol.apiserver.k8s.io/v1", FLOWCONTROL, 29),
    (
        "resource.k8s.io/v1beta1",
        &[
            "DeviceClass",
            "ResourceClaim",
            "ResourceClaimTemplate",
            "ResourceSlice",
        ],
        32,
    ),
    (
        "resource.k8s.io/v1beta2",
        &[
            "DeviceClass",
            "ResourceClaim",
            "ResourceClaimTemplate",
            "ResourceSlice",
        ],
        33,
    ),
    (
        "resource.k8s.io/v1",
        &[
            "DeviceClass",
            "ResourceClaim",
            "ResourceClaimTemplate",
            "ResourceSlice",
        ],
        34,
    ),
    ("networking.k8s.io/v1", &["IPAddress", "ServiceCIDR"], 33),
    ("storage.k8s.io/v1", &["VolumeAttributesClass"], 34),
];

/// What a release makes of an apiVersion and kind.
#[derive(Debug, PartialEq)]
pub enum Served {
    /// Nothing in the tables says otherwise.
    Yes,
    /// Served, but deprecated: a warning.
    Deprecated(String),
    /// Not served: an error.
    No(String),
}

/// Whether release `1.<target>` serves `kind` in `api_version`.
pub fn served(api_version: &str, kind: &str, target: Minor) -> Served {
    if let Some(r) = REMOVED
        .iter()
        .find(|r| r.api_version == api_version && r.kinds.contains(&kind))
    {
        if target >= r.removed {
            return Served::No(format!(
                "{api_version} {kind} is no longer served since Kubernetes 1.{} (the cluster runs 1.{target}): use {}",
                r.removed, r.replacement
            ));
        }
        if target >= r.deprecated {
            return Served::Deprecated(format!(
                "{api_version} {kind} is deprecated since Kubernetes 1.{} and removed in 1.{}: use {}",
                r.deprecated, r.removed, r.replacement
            ));
        }
        return Served::Yes;
    }
    if let Some((_, _, since)) = INTRODUCED
        .iter()
        .find(|(av, kinds, _)| *av == api_version && kinds.contains(&kind))
        && target < *since
    {
        let older: Vec<&str> = REMOVED
            .iter()
            .filter(|r| r.kinds.contains(&kind) && r.removed > target)
            .map(|r| r.api_version)
            .chain(
                INTRODUCED
                    .iter()
                    .filter(|(av, kinds, s)| {
                        *av != api_version && kinds.contains(&kind) && *s <= target
                    })
                    .map(|(av, _, _)| *av),
            )
            .collect();
        let hint = match older.as_slice() {
            [] => String::new(),
            versions => format!("; 1.{target} serves it as {}", versions.join(", ")),
        };
        return Served::No(format!(
            "{api_version} {kind} is served from Kubernetes 1.{since} on, and the cluster runs 1.{target}{hint}"
        ));
    }
    Served::Yes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_kubectl_and_servers_write_them() {
        assert_eq!(parse("1.33"), Some(33));
        assert_eq!(parse("v1.36.2"), Some(36));
        assert_eq!(parse("1.30+"), Some(30));
        assert_eq!(parse("2.1"), None);
        assert_eq!(parse("latest"), None);
    }

    #[test]
    fn removals_deprecations_and_arrivals() {
        let psp = served("policy/v1beta1", "PodSecurityPolicy", 25);
        assert!(
            matches!(&psp, Served::No(m) if m.contains("since Kubernetes 1.25")),
            "{psp:?}"
        );
        assert!(matches!(
            served("policy/v1beta1", "PodSecurityPolicy", 24),
            Served::Deprecated(_)
        ));
        assert_eq!(
            served("policy/v1beta1", "PodSecurityPolicy", 20),
            Served::Yes
        );
        let fc = served("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", 32);
        assert!(matches!(&fc, Served::No(m) if m.contains("use flowcontrol.apiserver.k8s.io/v1")));
        assert!(matches!(
            served("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", 31),
            Served::Deprecated(_)
        ));
        let dra = served("resource.k8s.io/v1", "ResourceClaim", 33);
        assert!(
            matches!(&dra, Served::No(m) if m.contains("from Kubernetes 1.34") && m.contains("resource.k8s.io/v1beta1, resource.k8s.io/v1beta2")),
            "{dra:?}"
        );
        assert_eq!(
            served("resource.k8s.io/v1", "ResourceClaim", 34),
            Served::Yes
        );
        assert_eq!(served("apps/v1", "Deployment", 36), Served::Yes);
    }
}
