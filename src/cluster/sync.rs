//! `status`: is each object of Git in the cluster and holding the values Git sets, which live
//! objects belong to the app but are not in Git, how healthy the workloads are, and what the
//! controllers applied.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::controllers::{self, Controller, Pending};
use super::desired::Target;
use super::health::{self, Health};
use super::ignore::{Ignores, Verdict, Writer};
use super::live::{self, LiveKey, LiveSet, Query};
use super::plan::{self, Placed};
use super::tracking::Tracking;
use super::{Cluster, ClusterError, Discovery};
use crate::diff::{compare, normalize};
use crate::manifest::tree::under;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Sync {
    /// Live and holding every value Git sets.
    Synced,
    /// Live, but some values Git sets differ.
    OutOfSync,
    /// In Git, not live.
    Missing,
    /// Live and belonging to the app (tracking label, controller inventory), not in Git.
    Extra,
    /// In Git, but the cluster does not serve its kind.
    Unknown,
    /// Its controller leaves it alone (an annotation or an ignore rule says so): not drift.
    Ignored,
}

/// One object's state.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectStatus {
    /// The app it belongs to (none for Extra objects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub sync: Sync,
    /// Workload health, for kinds that have one.
    pub health: Option<Health>,
    /// Images the live object runs.
    pub images: Vec<String>,
    /// Where Git defines it (`file:line`); none for Extra objects.
    pub source: Option<String>,
    /// Why it is Extra or Unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fields Git sets that the live object does not hold (OutOfSync).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drifted: Vec<String>,
    /// Fields left out of the comparison because the controller ignores them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// Who last wrote each drifted field (from `managedFields`), when the server says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_by: Vec<Writer>,
}

/// A controller with the commits it has not applied.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerStatus {
    #[serde(flatten)]
    pub controller: Controller,
    pub pending: Pending,
}

/// What `status` found for one cluster.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub context: String,
    pub server: String,
    pub objects: Vec<ObjectStatus>,
    pub controllers: Vec<ControllerStatus>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The Git side `status` compares against.
pub struct GitContext<'a> {
    pub repo: Option<&'a git2::Repository>,
    /// The compared commit (pending commits end there).
    pub head: Option<git2::Oid>,
    /// Repository paths in scope (empty: all).
    pub scope: &'a [String],
}

/// Kinds an app commonly has that are searched for by tracking label even when Git has none
/// of them (a ConfigMap removed from Git but left in the cluster is the classic Extra).
const COMMON_KINDS: &[(&str, &str)] = &[
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("", "PersistentVolumeClaim"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
];

/// How `status` looks.
#[derive(Clone, Debug, Default)]
pub struct StatusOptions {
    /// Look for Extra objects in every namespace, not only those of the Git objects.
    pub all_namespaces: bool,
    /// More label keys that name the app an object belongs to, with a value (`key=value`)
    /// or with values learnt from the app's objects (`key`).
    pub tracking_labels: Vec<(String, Option<String>)>,
    /// Compare everything, whatever the controllers ignore (`--no-ignore`).
    pub no_ignore: bool,
}

/// Computes the status of one target on one cluster.
pub async fn status(
    cluster: &Cluster,
    target: &Target,
    git: &GitContext<'_>,
    options: &StatusOptions,
) -> Result<StatusReport, ClusterError> {
    let all_namespaces = options.all_namespaces;
    let mut warnings = Vec::new();
    let mut discovery = Discovery::new(cluster).await?;
    let placed = plan::place(cluster, &mut discovery, &target.objects, &mut warnings).await?;
    let controllers_all = controllers::read(cluster, &mut discovery, &mut warnings).await?;
    let controllers: Vec<Controller> = controllers_all
        .into_iter()
        .filter(|c| related(c, git))
        .collect();

    let mut queries = plan::queries(&placed, all_namespaces);
    // Kinds and namespaces of the controllers' inventories, for their Extra objects.
    let inventory: HashSet<LiveKey> = controllers
        .iter()
        .filter(|c| covered_by_scope(c, git.scope))
        .flat_map(|c| c.inventory.iter().cloned())
        .collect();
    let groups: BTreeSet<String> = inventory
        .iter()
        .filter_map(|(group, ..)| discovery.preferred(group))
        .collect();
    discovery.load(cluster, groups).await?;
    for (group, kind, namespace, _) in &inventory {
        if let Some(resource) = discovery.preferred_kind(group, kind) {
            queries.push(Query {
                namespace: if all_namespaces || !resource.namespaced {
                    None
                } else {
                    namespace.clone()
                },
                resource,
                label_selector: None,
            });
        }
    }
    let live = live::list(cluster, queries.clone(), true).await?;

    let extra_keys: Vec<String> = options
        .tracking_labels
        .iter()
        .map(|(key, _)| key.clone())
        .collect();
    let mut tracking = Tracking::with_keys(&extra_keys);
    for (key, value) in &options.tracking_labels {
        if let Some(value) = value {
            tracking.add(key, value);
        }
    }
    for p in &placed {
        tracking.learn(&p.body);
        if let Some(object) = live.get(&p.key) {
            tracking.learn(object);
        }
    }
    for app in &target.apps {
        tracking.add("app.kubernetes.io/instance", app);
    }
    for c in controllers
        .iter()
        .filter(|c| covered_by_scope(c, git.scope))
    {
        for (key, value) in c.tracking_labels() {
            tracking.add(&key, &value);
        }
    }

    let extra_live = if tracking.is_empty() {
        LiveSet::default()
    } else {
        let listed: HashSet<(String, String, Option<String>)> = queries
            .iter()
            .map(|q| {
                (
                    q.resource.group.clone(),
                    q.resource.kind.clone(),
                    q.namespace.clone(),
                )
            })
            .collect();
        let namespaces: BTreeSet<Option<String>> = if all_namespaces {
            BTreeSet::from([None])
        } else {
            placed
                .iter()
                .filter_map(|p| p.id.namespace.clone())
                .map(Some)
                .collect()
        };
        let groups: BTreeSet<String> = COMMON_KINDS
            .iter()
            .filter_map(|(group, _)| discovery.preferred(group))
            .collect();
        discovery.load(cluster, groups).await?;
        let mut extra_queries = Vec::new();
        for (group, kind) in COMMON_KINDS {
            let Some(resource) = discovery.preferred_kind(group, kind) else {
                continue;
            };
            for namespace in &namespaces {
                if listed.contains(&(group.to_string(), kind.to_string(), namespace.clone())) {
                    continue;
                }
                for selector in tracking.selectors() {
                    extra_queries.push(Query {
                        resource: resource.clone(),
                        namespace: namespace.clone(),
                        label_selector: Some(selector),
                    });
                }
            }
        }
        live::list(cluster, extra_queries, false).await?
    };

    let ignores =
        super::ignore::for_target(cluster, target, options.no_ignore, &mut warnings).await;
    let mut objects: Vec<ObjectStatus> = placed
        .iter()
        .map(|p| object_status(p, &live, &ignores))
        .collect();
    let in_git: HashSet<&LiveKey> = placed.iter().map(|p| &p.key).collect();
    let mut extras: Vec<(&LiveKey, &Value)> = live
        .objects
        .iter()
        .chain(extra_live.objects.iter())
        .filter(|(key, _)| !in_git.contains(key))
        .collect();
    extras.sort_by(|a, b| a.0.cmp(b.0));
    extras.dedup_by(|a, b| a.0 == b.0);
    for (key, object) in extras {
        if generated(object) {
            continue;
        }
        let reason = if inventory.contains(key) {
            Some("in the controller's inventory".to_string())
        } else {
            tracking.reason(object)
        };
        let Some(reason) = reason else { continue };
        let left_alone = ignores.extraneous_ignored(object);
        objects.push(ObjectStatus {
            app: None,
            api_version: object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            kind: key.1.clone(),
            namespace: key.2.clone(),
            name: key.3.clone(),
            sync: if left_alone.is_some() {
                Sync::Ignored
            } else {
                Sync::Extra
            },
            health: health::of(object),
            images: health::images(object),
            source: None,
            reason: Some(match left_alone {
                Some(why) => format!("not in Git, {reason}; {why}"),
                None => reason,
            }),
            drifted: Vec::new(),
            ignored: Vec::new(),
            changed_by: Vec::new(),
        });
    }
    objects.sort_by(|a, b| (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name)));

    let controllers = controllers
        .into_iter()
        .map(|controller| {
            let pending = match (git.repo, git.head) {
                (Some(repo), Some(head)) => controllers::pending(
                    repo,
                    controller.applied_commit.as_deref(),
                    head,
                    &controller.paths,
                )
                .unwrap_or_else(|e| {
                    warnings.push(format!(
                        "cannot walk the history for {} {}/{}: {}",
                        controller.kind.label(),
                        controller.namespace,
                        controller.name,
                        e.message()
                    ));
                    Pending::NoRevision
                }),
                _ => match &controller.applied_commit {
                    Some(commit) => Pending::NotInClone {
                        commit: commit.clone(),
                    },
                    None => Pending::NoRevision,
                },
            };
            ControllerStatus {
                controller,
                pending,
            }
        })
        .collect();

    Ok(StatusReport {
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        objects,
        controllers,
        warnings,
    })
}

fn object_status(p: &Placed, live: &LiveSet, ignores: &Ignores) -> ObjectStatus {
    let mut status = ObjectStatus {
        app: Some(p.app.clone()),
        api_version: p.id.api_version(),
        kind: p.id.kind.clone(),
        namespace: p.id.namespace.clone(),
        name: p.id.name.clone(),
        sync: Sync::Missing,
        health: None,
        images: Vec::new(),
        source: Some(p.source.clone()),
        reason: None,
        drifted: Vec::new(),
        ignored: Vec::new(),
        changed_by: Vec::new(),
    };
    let verdict = ignores.verdict(&p.body);
    if let Verdict::NotApplied(why) = &verdict {
        status.sync = Sync::Ignored;
        status.reason = Some(why.clone());
        if let Some(object) = live.get(&p.key) {
            status.health = health::of(object);
            status.images = health::images(object);
        }
        return status;
    }
    if let Err(problem) = &p.resource {
        if p.crd_in_git {
            status.reason = Some("its CRD is in Git but not installed yet".into());
        } else {
            status.sync = Sync::Unknown;
            status.reason = Some(problem.clone());
        }
        return status;
    }
    let Some(object) = live.get(&p.key) else {
        return status;
    };
    let mut git = p.body.clone();
    compare::fold_string_data(&mut git);
    normalize::normalize(&mut git);
    let mut live_copy = object.clone();
    status.ignored = ignores.strip(Some(&p.app), &mut git, &mut live_copy);
    let (drifted, mut expected, writers) =
        ignores.explain(object, compare::unmet_fields(&git, &live_copy));
    status.drifted = drifted;
    status.ignored.append(&mut expected);
    status.changed_by = writers;
    status.sync = match (&verdict, status.drifted.is_empty()) {
        (_, true) => Sync::Synced,
        (Verdict::CreatedOnly(why), false) => {
            status.reason = Some(why.clone());
            status.ignored.append(&mut status.drifted);
            Sync::Synced
        }
        _ => Sync::OutOfSync,
    };
    status.health = health::of(object);
    status.images = health::images(object);
    status
}

/// True for objects another object made (ReplicaSets of a Deployment, Jobs of a CronJob):
/// they inherit tracking labels but are not the app's own.
fn generated(object: &Value) -> bool {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("controller") == Some(&Value::Bool(true)))
        })
}

/// True when a controller deploys from this clone: it applied a commit this clone has, or it
/// reads one of this clone's remotes, or one of its paths is a directory of the compared
/// commit. Limited to controllers whose paths overlap the scope.
fn related(c: &Controller, git: &GitContext<'_>) -> bool {
    let overlaps = git.scope.is_empty()
        || c.paths
            .iter()
            .any(|p| p.is_empty() || git.scope.iter().any(|s| under(p, s) || under(s, p)));
    if !overlaps {
        return false;
    }
    let Some(repo) = git.repo else {
        return false;
    };
    let applied_here = c
        .applied_commit
        .as_deref()
        .is_some_and(|sha| repo.revparse_single(sha).is_ok());
    let remotes: Vec<String> = repo
        .remotes()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| {
                    let name = n.ok().flatten()?;
                    let remote = repo.find_remote(name).ok()?;
                    remote.url().ok().map(controllers::normalize_url)
                })
                .collect()
        })
        .unwrap_or_default();
    let same_url = c
        .source_url
        .as_deref()
        .is_some_and(|u| remotes.contains(&controllers::normalize_url(u)));
    let path_here = git.head.is_some_and(|head| {
        repo.find_commit(head)
            .and_then(|commit| commit.tree())
            .is_ok_and(|tree| {
                c.paths
                    .iter()
                    .any(|p| !p.is_empty() && tree.get_path(Path::new(p)).is_ok())
            })
    });
    applied_here || same_url || path_here
}

/// True when everything the controller applies is in scope, so its inventory and labels
/// speak for the objects compared.
fn covered_by_scope(c: &Controller, scope: &[String]) -> bool {
    scope.is_empty() || c.paths.iter().all(|p| scope.iter().any(|s| under(p, s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owned_objects_are_not_extra() {
        let rs =
            json!({"metadata": {"ownerReferences": [{"kind": "Deployment", "controller": true}]}});
        assert!(generated(&rs));
        assert!(!generated(&json!({"metadata": {}})));
    }
}
