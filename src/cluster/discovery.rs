//! Discovery: which API groups, versions and kinds the server serves, with each kind's plural
//! and scope. Asked once per run: the group list first, then only the group versions the
//! manifests use, concurrently.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

use super::{Cluster, ClusterError, RequestError};
use crate::manifest::object::split_api_version;

/// A kind as served: where its objects live in the API.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The plural resource name (`deployments`).
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn base(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection path: in a namespace, or across all namespaces (and for cluster-scoped
    /// kinds) when `namespace` is `None`.
    pub fn collection(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!(
                "{}/namespaces/{}/{}",
                self.base(),
                super::live::encode_segment(ns),
                self.plural
            ),
            _ => format!("{}/{}", self.base(), self.plural),
        }
    }

    /// One object's path.
    pub fn object(&self, namespace: Option<&str>, name: &str) -> String {
        format!(
            "{}/{}",
            self.collection(namespace),
            super::live::encode_segment(name)
        )
    }

    /// `deployments.apps` (`configmaps` for the core group), as kubectl and RBAC name it.
    pub fn display(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// What discovery says about an apiVersion and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Found(Resource),
    /// The API group is not served at all (a CRD not installed).
    UnknownGroup,
    /// The group is served, but not at this version (`served` lists the versions it has).
    VersionNotServed {
        served: Vec<String>,
    },
    /// The group version is served, but has no such kind.
    UnknownKind,
}

impl Resolution {
    /// Why the kind cannot be used, for messages.
    pub fn problem(&self, api_version: &str, kind: &str) -> Option<String> {
        match self {
            Resolution::Found(_) => None,
            Resolution::UnknownGroup => Some(format!(
                "the cluster does not serve {api_version} (is the CRD for {kind} installed?)"
            )),
            Resolution::VersionNotServed { served } => Some(format!(
                "the cluster does not serve {api_version}; it serves {}",
                served.join(", ")
            )),
            Resolution::UnknownKind => Some(format!(
                "the cluster serves {api_version} but has no kind {kind} there"
            )),
        }
    }
}

#[derive(Clone, Debug)]
struct Group {
    preferred: String,
    versions: Vec<String>,
}

/// What the server serves, as far as this run has needed to ask.
#[derive(Debug, Default)]
pub struct Discovery {
    groups: HashMap<String, Group>,
    /// `group/version` to its kinds; an empty list when the version could not be listed.
    resources: HashMap<String, Vec<Resource>>,
}

#[derive(Deserialize)]
struct CoreVersions {
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct GroupList {
    groups: Vec<GroupEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupEntry {
    name: String,
    versions: Vec<VersionEntry>,
    preferred_version: Option<VersionEntry>,
}

#[derive(Deserialize)]
struct VersionEntry {
    version: String,
}

#[derive(Deserialize)]
struct ResourceList {
    resources: Vec<ResourceEntry>,
}

#[derive(Deserialize)]
struct ResourceEntry {
    name: String,
    kind: String,
    namespaced: bool,
}

fn decode<T: serde::de::DeserializeOwned>(
    cluster: &Cluster,
    value: serde_json::Value,
    doing: &str,
) -> Result<T, ClusterError> {
    serde_json::from_value(value).map_err(|e| ClusterError::Protocol {
        server: cluster.server.clone(),
        doing: doing.to_string(),
        source: kube::Error::SerdeError(e),
    })
}

impl Discovery {
    /// Reads the list of API groups (two requests).
    pub async fn new(cluster: &Cluster) -> Result<Discovery, ClusterError> {
        let doing = "reading the API groups (discovery)";
        let (core, groups) =
            futures::try_join!(cluster.get("/api", doing), cluster.get("/apis", doing))
                .map_err(|e| e.fatal(doing))?;
        let core: CoreVersions = decode(cluster, core, doing)?;
        let groups: GroupList = decode(cluster, groups, doing)?;
        let mut discovery = Discovery::default();
        discovery.groups.insert(
            String::new(),
            Group {
                preferred: core
                    .versions
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "v1".into()),
                versions: core.versions,
            },
        );
        for g in groups.groups {
            let versions: Vec<String> = g.versions.into_iter().map(|v| v.version).collect();
            let preferred = g
                .preferred_version
                .map(|v| v.version)
                .or_else(|| versions.first().cloned())
                .unwrap_or_default();
            discovery.groups.insert(
                g.name,
                Group {
                    preferred,
                    versions,
                },
            );
        }
        Ok(discovery)
    }

    /// Lists the kinds of these group versions (`apps/v1`), those not asked for yet and
    /// served, concurrently. A version whose aggregated API is down or gone counts as having
    /// no kinds.
    pub async fn load<I>(&mut self, cluster: &Cluster, api_versions: I) -> Result<(), ClusterError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut wanted: Vec<String> = api_versions
            .into_iter()
            .filter(|av| !self.resources.contains_key(av))
            .filter(|av| {
                let (group, version) = split_api_version(av);
                self.groups
                    .get(group)
                    .is_some_and(|g| g.versions.iter().any(|v| v == version))
            })
            .collect();
        wanted.sort();
        wanted.dedup();
        let lists: Vec<(String, Vec<Resource>)> = futures::stream::iter(wanted)
            .map(|api_version| async move {
                let (group, version) = split_api_version(&api_version);
                let path = if group.is_empty() {
                    format!("/api/{version}")
                } else {
                    format!("/apis/{group}/{version}")
                };
                let doing = format!("reading the kinds of {api_version} (discovery)");
                let list = match cluster.get(&path, &doing).await {
                    Ok(v) => decode::<ResourceList>(cluster, v, &doing)?,
                    Err(RequestError::Status { code: 404, .. })
                    | Err(RequestError::Fatal(ClusterError::Server { code: 503, .. })) => {
                        ResourceList {
                            resources: Vec::new(),
                        }
                    }
                    Err(e) => return Err(e.fatal(&doing)),
                };
                let resources = list
                    .resources
                    .into_iter()
                    .filter(|r| !r.name.contains('/'))
                    .map(|r| Resource {
                        group: group.to_string(),
                        version: version.to_string(),
                        kind: r.kind,
                        plural: r.name,
                        namespaced: r.namespaced,
                    })
                    .collect();
                Ok::<_, ClusterError>((api_version, resources))
            })
            .buffer_unordered(super::CONCURRENCY)
            .try_collect()
            .await?;
        self.resources.extend(lists);
        Ok(())
    }

    /// What the server says about a kind (after [`Discovery::load`] of its apiVersion).
    pub fn resolve(&self, api_version: &str, kind: &str) -> Resolution {
        let (group, version) = split_api_version(api_version);
        let Some(g) = self.groups.get(group) else {
            return Resolution::UnknownGroup;
        };
        if !g.versions.iter().any(|v| v == version) {
            return Resolution::VersionNotServed {
                served: g
                    .versions
                    .iter()
                    .map(|v| {
                        if group.is_empty() {
                            v.clone()
                        } else {
                            format!("{group}/{v}")
                        }
                    })
                    .collect(),
            };
        }
        self.resources
            .get(api_version)
            .and_then(|list| list.iter().find(|r| r.kind == kind))
            .map_or(Resolution::UnknownKind, |r| Resolution::Found(r.clone()))
    }

    /// The server's preferred `group/version` of a group, when it serves the group.
    pub fn preferred(&self, group: &str) -> Option<String> {
        self.groups.get(group).map(|g| {
            if group.is_empty() {
                g.preferred.clone()
            } else {
                format!("{group}/{}", g.preferred)
            }
        })
    }

    /// A kind at its group's preferred version (after [`Discovery::load`] of that version).
    pub fn preferred_kind(&self, group: &str, kind: &str) -> Option<Resource> {
        let api_version = self.preferred(group)?;
        match self.resolve(&api_version, kind) {
            Resolution::Found(r) => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::client::tests::{mock, status};

    fn api(method: &str, path: &str) -> (u16, String) {
        assert_eq!(method, "GET");
        let body = match path {
            "/api" => r#"{"versions": ["v1"]}"#,
            "/apis" => {
                r#"{"groups": [
                {"name": "apps", "versions": [{"version": "v1"}], "preferredVersion": {"version": "v1"}},
                {"name": "autoscaling", "versions": [{"version": "v2"}, {"version": "v1"}],
                 "preferredVersion": {"version": "v2"}},
                {"name": "metrics.k8s.io", "versions": [{"version": "v1beta1"}]}
            ]}"#
            }
            "/api/v1" => {
                r#"{"resources": [
                {"name": "configmaps", "kind": "ConfigMap", "namespaced": true},
                {"name": "namespaces", "kind": "Namespace", "namespaced": false},
                {"name": "namespaces/status", "kind": "Namespace", "namespaced": false}
            ]}"#
            }
            "/apis/apps/v1" => {
                r#"{"resources": [
                {"name": "deployments", "kind": "Deployment", "namespaced": true}
            ]}"#
            }
            "/apis/metrics.k8s.io/v1beta1" => {
                return (
                    503,
                    status(
                        503,
                        "ServiceUnavailable",
                        "the server is currently unable to handle the request",
                    ),
                );
            }
            other => panic!("unexpected request {other}"),
        };
        (200, body.to_string())
    }

    #[tokio::test]
    async fn resolves_kinds_and_explains_unknown_ones() {
        let cluster = mock(api);
        let mut d = Discovery::new(&cluster).await.expect("discovery");
        d.load(
            &cluster,
            [
                "v1",
                "apps/v1",
                "apps/v1",
                "metrics.k8s.io/v1beta1",
                "autoscaling/v2beta1",
                "example.com/v1",
            ]
            .map(String::from),
        )
        .await
        .expect("load");
        let Resolution::Found(deploy) = d.resolve("apps/v1", "Deployment") else {
            panic!("deployments are served");
        };
        assert_eq!(
            deploy.collection(Some("team")),
            "/apis/apps/v1/namespaces/team/deployments"
        );
        assert_eq!(
            deploy.object(Some("team"), "web"),
            "/apis/apps/v1/namespaces/team/deployments/web"
        );
        assert_eq!(deploy.display(), "deployments.apps");
        let Resolution::Found(ns) = d.resolve("v1", "Namespace") else {
            panic!("namespaces are served");
        };
        assert!(!ns.namespaced);
        assert_eq!(ns.collection(Some("ignored")), "/api/v1/namespaces");
        assert_eq!(
            d.resolve("example.com/v1", "Widget"),
            Resolution::UnknownGroup
        );
        assert_eq!(
            d.resolve("autoscaling/v2beta1", "HorizontalPodAutoscaler"),
            Resolution::VersionNotServed {
                served: vec!["autoscaling/v2".into(), "autoscaling/v1".into()]
            }
        );
        assert_eq!(d.resolve("apps/v1", "Widget"), Resolution::UnknownKind);
        assert_eq!(
            d.resolve("metrics.k8s.io/v1beta1", "PodMetrics"),
            Resolution::UnknownKind
        );
        assert_eq!(
            d.preferred("autoscaling").as_deref(),
            Some("autoscaling/v2")
        );
        assert!(
            d.resolve("example.com/v1", "Widget")
                .problem("example.com/v1", "Widget")
                .is_some()
        );
    }
}
