//! GitOps controllers' view, read only and only where their CRDs are served: Flux
//! `Kustomization` (with its `GitRepository`) and Argo CD `Application`. Which revision each
//! applied, whether it is ready and healthy, which objects it manages, and the commits of this
//! clone it has not applied yet.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::live::{self, LiveKey, Query};
use super::{Cluster, ClusterError, Discovery};

pub const FLUX_KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
pub const FLUX_SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";
pub const ARGO_GROUP: &str = "argoproj.io";

/// Label Flux's kustomize-controller puts on every object it applies (with the Kustomization's
/// name), and its namespace twin.
pub const FLUX_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
pub const FLUX_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// Label Argo CD's default (label) tracking puts on every object (with the Application's name).
pub const ARGO_INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// Annotation of Argo CD's annotation tracking: `<app>:<group>/<kind>:<namespace>/<name>`.
pub const ARGO_TRACKING_ANNOTATION: &str = "argocd.argoproj.io/tracking-id";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ControllerKind {
    /// A Flux `Kustomization`.
    #[serde(rename = "Kustomization")]
    FluxKustomization,
    /// An Argo CD `Application`.
    #[serde(rename = "Application")]
    ArgoApplication,
}

impl ControllerKind {
    pub fn label(self) -> &'static str {
        match self {
            ControllerKind::FluxKustomization => "Flux Kustomization",
            ControllerKind::ArgoApplication => "Argo CD Application",
        }
    }
}

/// One controller object and what it says.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Controller {
    pub kind: ControllerKind,
    pub namespace: String,
    pub name: String,
    /// Repository paths it applies (`apps/prod`; empty for the repository root).
    pub paths: Vec<String>,
    /// The Git repository URL it reads, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The source object (`GitRepository/flux-system/flux-system`) for Flux.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The revision it last applied, as it writes it (`main@sha1:0a1b...`).
    pub applied_revision: Option<String>,
    /// The commit of that revision.
    pub applied_commit: Option<String>,
    /// The revision its source has fetched (Flux `GitRepository`), maybe not applied yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_revision: Option<String>,
    /// Flux: the Ready condition (`True`, `False`, `Unknown`); Argo CD: the sync status
    /// (`Synced`, `OutOfSync`).
    pub ready: Option<String>,
    /// Argo CD's health status (`Healthy`, `Degraded`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// The condition or operation message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Flux conditions beyond Ready: `Healthy`, `Reconciling`, `Stalled` (as `Type=Status`),
    /// with the message of any that is not as it should be.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// Flux: the revision it last tried (`lastAttemptedRevision`), when that is not the one
    /// applied: a new revision that fails to apply, named with its error in `message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_revision: Option<String>,
    /// Flux `spec.suspend`: nothing is applied until it is resumed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Flux `dependsOn` entries (`namespace/name`) that are not Ready: it waits for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<String>,
    /// Argo CD: the last sync operation's phase and message (`Failed: ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Argo CD `spec.syncPolicy.automated`: false when syncs are manual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automated: Option<bool>,
    /// Objects it manages (Flux inventory, Argo CD resource list).
    #[serde(skip)]
    pub inventory: Vec<LiveKey>,
    /// `dependsOn` entries, resolved against the other controllers once all are read.
    #[serde(skip)]
    depends_on: Vec<String>,
}

impl Controller {
    /// The label (key, value) pairs this controller marks its objects with.
    pub fn tracking_labels(&self) -> Vec<(String, String)> {
        match self.kind {
            ControllerKind::FluxKustomization => {
                vec![(FLUX_NAME_LABEL.to_string(), self.name.clone())]
            }
            ControllerKind::ArgoApplication => {
                vec![(ARGO_INSTANCE_LABEL.to_string(), self.name.clone())]
            }
        }
    }
}

/// Reads every Flux Kustomization and Argo CD Application the user may list. Kinds whose CRD
/// is not installed are skipped, as are those the user may not list (`warnings` says so).
pub async fn read(
    cluster: &Cluster,
    discovery: &mut Discovery,
    warnings: &mut Vec<String>,
) -> Result<Vec<Controller>, ClusterError> {
    let groups = [FLUX_KUSTOMIZE_GROUP, FLUX_SOURCE_GROUP, ARGO_GROUP];
    let versions: Vec<String> = groups
        .iter()
        .filter_map(|g| discovery.preferred(g))
        .collect();
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    discovery.load(cluster, versions).await?;
    let kinds = [
        (FLUX_KUSTOMIZE_GROUP, "Kustomization"),
        (FLUX_SOURCE_GROUP, "GitRepository"),
        (ARGO_GROUP, "Application"),
    ];
    let mut queries = Vec::new();
    for (group, kind) in kinds {
        if let Some(resource) = discovery.preferred_kind(group, kind) {
            queries.push(Query {
                resource,
                namespace: None,
                label_selector: None,
            });
        }
    }
    let mut listed = Vec::new();
    for query in queries {
        let what = query.resource.display();
        match live::list(cluster, vec![query], true).await {
            Ok(set) => listed.extend(set.objects.into_values()),
            Err(ClusterError::Forbidden { .. }) => warnings.push(format!(
                "not allowed to list {what}; its controller status is not shown"
            )),
            Err(e) => return Err(e),
        }
    }
    Ok(from_objects(&listed))
}

/// Builds the controllers from listed objects (Kustomizations, GitRepositories, Applications).
pub fn from_objects(objects: &[Value]) -> Vec<Controller> {
    let kind_of = |o: &Value| {
        o.get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut out: Vec<Controller> = objects
        .iter()
        .filter_map(|o| match kind_of(o).as_str() {
            "Kustomization" if group_of(o) == FLUX_KUSTOMIZE_GROUP => Some(flux(o, objects)),
            "Application" if group_of(o) == ARGO_GROUP => Some(argo(o)),
            _ => None,
        })
        .collect();
    // A Kustomization waits for the ones it depends on to be Ready (fluxcd/kustomize-controller
    // docs/spec/v1/kustomizations.md, dependsOn).
    let ready: std::collections::HashMap<String, bool> = out
        .iter()
        .filter(|c| c.kind == ControllerKind::FluxKustomization)
        .map(|c| {
            (
                format!("{}/{}", c.namespace, c.name),
                c.ready.as_deref() == Some("True"),
            )
        })
        .collect();
    for c in &mut out {
        c.waiting_for = c
            .depends_on
            .iter()
            .filter(|d| ready.get(*d) != Some(&true))
            .cloned()
            .collect();
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

fn group_of(object: &Value) -> &str {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    crate::manifest::object::split_api_version(api_version).0
}

fn s(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn flux(k: &Value, objects: &[Value]) -> Controller {
    let namespace = s(k, "/metadata/namespace").unwrap_or_default();
    let source_kind = s(k, "/spec/sourceRef/kind").unwrap_or_else(|| "GitRepository".into());
    let source_name = s(k, "/spec/sourceRef/name");
    let source_ns = s(k, "/spec/sourceRef/namespace").unwrap_or_else(|| namespace.clone());
    let repository = source_name.as_ref().and_then(|name| {
        objects.iter().find(|o| {
            o.get("kind").and_then(Value::as_str) == Some(source_kind.as_str())
                && group_of(o) == FLUX_SOURCE_GROUP
                && s(o, "/metadata/name").as_ref() == Some(name)
                && s(o, "/metadata/namespace").as_deref() == Some(source_ns.as_str())
        })
    });
    let ready = k
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        });
    let applied_revision = s(k, "/status/lastAppliedRevision").filter(|r| !r.is_empty());
    let attempted = s(k, "/status/lastAttemptedRevision").filter(|r| !r.is_empty());
    let condition = |kind: &str| {
        k.pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
            })
    };
    // Healthy should be True, Reconciling and Stalled absent or False.
    let mut conditions = Vec::new();
    for (kind, fine) in [
        ("Healthy", "True"),
        ("Reconciling", "False"),
        ("Stalled", "False"),
    ] {
        if let Some(c) = condition(kind) {
            let status = s(c, "/status").unwrap_or_default();
            let mut text = format!("{kind}={status}");
            if status != fine
                && let Some(m) = s(c, "/message").filter(|m| !m.is_empty())
            {
                text.push_str(&format!(" ({})", m.lines().next().unwrap_or("")));
            }
            conditions.push(text);
        }
    }
    // A revision tried and not applied, while not Ready: it fails to apply.
    let failing_revision = attempted.filter(|a| {
        Some(a) != applied_revision.as_ref()
            && ready.and_then(|c| s(c, "/status")).as_deref() != Some("True")
    });
    let depends_on = k
        .pointer("/spec/dependsOn")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let name = d.get("name")?.as_str()?;
            let ns = d
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(&namespace);
            Some(format!("{ns}/{name}"))
        })
        .collect();
    let inventory = k
        .pointer("/status/inventory/entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| flux_inventory_key(e.get("id")?.as_str()?))
        .collect();
    Controller {
        kind: ControllerKind::FluxKustomization,
        name: s(k, "/metadata/name").unwrap_or_default(),
        paths: vec![repo_path(s(k, "/spec/path").as_deref().unwrap_or(""))],
        source_url: repository.and_then(|r| s(r, "/spec/url")),
        source: source_name.map(|n| format!("{source_kind}/{source_ns}/{n}")),
        applied_commit: applied_revision.as_deref().and_then(commit_of),
        applied_revision,
        fetched_revision: repository.and_then(|r| s(r, "/status/artifact/revision")),
        ready: ready.and_then(|c| s(c, "/status")),
        health: None,
        message: ready.and_then(|c| s(c, "/message")),
        failing_revision,
        conditions,
        suspended: k.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true),
        waiting_for: Vec::new(),
        operation: None,
        automated: None,
        inventory,
        depends_on,
        namespace,
    }
}

/// A Flux inventory id, `<namespace>_<name>_<group>_<kind>` (Kubernetes names cannot hold
/// `_`, so the split is exact).
fn flux_inventory_key(id: &str) -> Option<LiveKey> {
    let parts: Vec<&str> = id.split('_').collect();
    let [namespace, name, group, kind] = parts.as_slice() else {
        return None;
    };
    Some((
        group.to_string(),
        kind.to_string(),
        (!namespace.is_empty()).then(|| namespace.to_string()),
        name.to_string(),
    ))
}

fn argo(a: &Value) -> Controller {
    let sources: Vec<&Value> = match a.pointer("/spec/sources").and_then(Value::as_array) {
        Some(list) => list.iter().collect(),
        None => a.pointer("/spec/source").into_iter().collect(),
    };
    let paths = sources
        .iter()
        .filter_map(|src| src.get("path").and_then(Value::as_str))
        .map(repo_path)
        .collect();
    let applied_revision = s(a, "/status/sync/revision")
        .or_else(|| s(a, "/status/sync/revisions/0"))
        .filter(|r| !r.is_empty());
    let inventory = a
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r.get("group")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                r.get("kind")?.as_str()?.to_string(),
                r.get("namespace")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
                r.get("name")?.as_str()?.to_string(),
            ))
        })
        .collect();
    Controller {
        kind: ControllerKind::ArgoApplication,
        namespace: s(a, "/metadata/namespace").unwrap_or_default(),
        name: s(a, "/metadata/name").unwrap_or_default(),
        paths,
        source_url: sources
            .first()
            .and_then(|src| src.get("repoURL"))
            .and_then(Value::as_str)
            .map(str::to_string),
        source: None,
        applied_commit: applied_revision.as_deref().and_then(commit_of),
        applied_revision,
        fetched_revision: None,
        ready: s(a, "/status/sync/status"),
        health: s(a, "/status/health/status"),
        message: s(a, "/status/health/message").or_else(|| s(a, "/status/operationState/message")),
        conditions: Vec::new(),
        failing_revision: None,
        suspended: false,
        waiting_for: Vec::new(),
        operation: s(a, "/status/operationState/phase").map(|phase| {
            match s(a, "/status/operationState/message").filter(|m| !m.is_empty()) {
                Some(m) => format!("{phase}: {}", m.lines().next().unwrap_or("")),
                None => phase,
            }
        }),
        automated: Some(
            a.pointer("/spec/syncPolicy/automated")
                .is_some_and(|v| !v.is_null()),
        ),
        inventory,
        depends_on: Vec::new(),
    }
}

/// `./apps/prod/` as the repository path `apps/prod` (`.` and `./` are the root, `""`).
pub fn repo_path(path: &str) -> String {
    let mut p = path.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    let p = p.trim_start_matches('/').trim_end_matches('/');
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

/// The commit in a revision as Flux (`main@sha1:<sha>`, `sha1:<sha>`, older `main/<sha>`) or
/// Argo CD (`<sha>`) write it.
pub fn commit_of(revision: &str) -> Option<String> {
    let tail = revision.rsplit(['@', '/']).next()?;
    let hex = tail
        .strip_prefix("sha1:")
        .or_else(|| tail.strip_prefix("sha256:"))
        .unwrap_or(tail);
    (hex.len() >= 7 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_ascii_lowercase())
}

/// A Git URL reduced to host and path, so `git@github.com:org/repo.git` and
/// `https://github.com/org/repo` compare equal.
pub fn normalize_url(url: &str) -> String {
    let mut u = url.trim();
    for scheme in [
        "https://",
        "http://",
        "ssh://",
        "git://",
        "git+ssh://",
        "file://",
    ] {
        if let Some(rest) = u.strip_prefix(scheme) {
            u = rest;
            break;
        }
    }
    let u = match u.split_once('@') {
        Some((user, rest)) if !user.contains('/') => rest,
        _ => u,
    };
    let u = u.trim_end_matches('/');
    let u = u.strip_suffix(".git").unwrap_or(u);
    match u.split_once(':') {
        Some((host, path)) if !host.contains('/') && !path.starts_with("//") => {
            let path = path.trim_start_matches(|c: char| c.is_ascii_digit());
            format!(
                "{}/{}",
                host.to_ascii_lowercase(),
                path.trim_start_matches('/')
            )
        }
        _ => match u.split_once('/') {
            Some((host, path)) => format!("{}/{path}", host.to_ascii_lowercase()),
            None => u.to_ascii_lowercase(),
        },
    }
}

/// A commit the controller has not applied yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingCommit {
    pub sha: String,
    pub author: String,
    /// Author date, ISO 8601 with the author's offset.
    pub date: String,
    pub subject: String,
}

/// What Git says about a controller's applied revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Pending {
    /// The commits between the applied revision and the compared one that touch the
    /// controller's paths, newest first. `behind` counts commits the controller applied that
    /// this clone's revision does not have (fetch to see them).
    Known {
        commits: Vec<PendingCommit>,
        behind: usize,
    },
    /// The applied revision is not a commit of this clone.
    NotInClone { commit: String },
    /// The controller reports no applied revision.
    NoRevision,
}

/// `git log <applied>..<head> -- <paths>`, with git's default history simplification (a
/// merge that kept one parent's version of the paths is left out).
pub fn pending(
    repo: &git2::Repository,
    applied: Option<&str>,
    head: git2::Oid,
    paths: &[String],
) -> Result<Pending, git2::Error> {
    let Some(applied) = applied else {
        return Ok(Pending::NoRevision);
    };
    let applied_oid = match repo
        .revparse_single(applied)
        .and_then(|o| o.peel_to_commit())
    {
        Ok(commit) => commit.id(),
        Err(_) => {
            return Ok(Pending::NotInClone {
                commit: applied.to_string(),
            });
        }
    };
    let mut walk = repo.revwalk()?;
    walk.push(head)?;
    walk.hide(applied_oid)?;
    let mut commits = Vec::new();
    for oid in walk {
        let commit = repo.find_commit(oid?)?;
        if touches(&commit, paths)? {
            let author = commit.author();
            commits.push(PendingCommit {
                sha: commit.id().to_string(),
                author: author.name().unwrap_or_default().to_string(),
                date: iso_date(author.when()),
                subject: commit.summary().ok().flatten().unwrap_or("").to_string(),
            });
        }
    }
    let mut behind_walk = repo.revwalk()?;
    behind_walk.push(applied_oid)?;
    behind_walk.hide(head)?;
    let behind = behind_walk.count();
    Ok(Pending::Known { commits, behind })
}

/// True when the commit changes one of the paths (any path for an empty list or the root).
fn touches(commit: &git2::Commit<'_>, paths: &[String]) -> Result<bool, git2::Error> {
    let entry = |tree: &git2::Tree<'_>, path: &str| -> Option<git2::Oid> {
        if path.is_empty() {
            Some(tree.id())
        } else {
            tree.get_path(Path::new(path)).ok().map(|e| e.id())
        }
    };
    let tree = commit.tree()?;
    let roots = [String::new()];
    let paths = if paths.is_empty() { &roots[..] } else { paths };
    let parents: Vec<git2::Tree<'_>> = commit
        .parents()
        .map(|p| p.tree())
        .collect::<Result<_, _>>()?;
    if parents.is_empty() {
        return Ok(paths.iter().any(|p| entry(&tree, p).is_some()));
    }
    // Kept when the paths differ from every parent (git log's TREESAME rule).
    Ok(parents
        .iter()
        .all(|parent| paths.iter().any(|p| entry(&tree, p) != entry(parent, p))))
}

/// Formats a git time as `2026-11-27T13:40:00+01:00`.
pub fn iso_date(time: git2::Time) -> String {
    let offset = time.offset_minutes();
    let local = time.seconds() + i64::from(offset) * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let sign = if offset < 0 { '-' } else { '+' };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        offset.abs() / 60,
        offset.abs() % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn revisions_name_commits() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(commit_of(&format!("main@sha1:{sha}")).as_deref(), Some(sha));
        assert_eq!(commit_of(&format!("main/{sha}")).as_deref(), Some(sha));
        assert_eq!(
            commit_of(&format!("refs/tags/v1@sha1:{sha}")).as_deref(),
            Some(sha)
        );
        assert_eq!(commit_of(sha).as_deref(), Some(sha));
        assert_eq!(commit_of("main"), None);
        assert_eq!(commit_of("latest"), None);
    }

    #[test]
    fn urls_and_paths_normalise() {
        let a = normalize_url("git@github.com:Org/repo.git");
        assert_eq!(a, "github.com/Org/repo");
        assert_eq!(normalize_url("https://github.com/Org/repo"), a);
        assert_eq!(normalize_url("ssh://git@GitHub.com/Org/repo.git/"), a);
        assert_eq!(repo_path("./apps/prod/"), "apps/prod");
        assert_eq!(repo_path("./"), "");
        assert_eq!(repo_path("."), "");
    }

    #[test]
    fn reads_flux_and_argo_objects() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let objects = vec![
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "apps", "namespace": "flux-system"},
                "spec": {"path": "./apps/prod", "sourceRef": {"kind": "GitRepository", "name": "repo"}},
                "status": {"lastAppliedRevision": format!("main@sha1:{sha}"),
                    "conditions": [{"type": "Ready", "status": "True", "message": "Applied revision"}],
                    "inventory": {"entries": [{"id": "shop_web_apps_Deployment", "v": "v1"},
                                              {"id": "_shop__Namespace", "v": "v1"}]}}}),
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "repo", "namespace": "flux-system"},
                "spec": {"url": "https://example.com/org/repo"},
                "status": {"artifact": {"revision": format!("main@sha1:{sha}")}}}),
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": "guestbook", "namespace": "argocd"},
                "spec": {"source": {"repoURL": "https://example.com/org/repo.git", "path": "guestbook"}},
                "status": {"sync": {"status": "OutOfSync", "revision": sha},
                    "health": {"status": "Progressing"},
                    "resources": [{"group": "", "kind": "Service", "namespace": "default", "name": "ui"}]}}),
        ];
        let found = from_objects(&objects);
        assert_eq!(found.len(), 2);
        let argo = &found[0];
        assert_eq!(argo.kind, ControllerKind::ArgoApplication);
        assert_eq!(argo.paths, vec!["guestbook"]);
        assert_eq!(argo.applied_commit.as_deref(), Some(sha));
        assert_eq!(argo.health.as_deref(), Some("Progressing"));
        assert_eq!(argo.inventory[0].1, "Service");
        let flux = &found[1];
        assert_eq!(flux.paths, vec!["apps/prod"]);
        assert_eq!(
            flux.source_url.as_deref(),
            Some("https://example.com/org/repo")
        );
        assert_eq!(
            flux.source.as_deref(),
            Some("GitRepository/flux-system/repo")
        );
        assert_eq!(flux.ready.as_deref(), Some("True"));
        assert_eq!(
            flux.inventory,
            vec![
                (
                    "apps".to_string(),
                    "Deployment".to_string(),
                    Some("shop".to_string()),
                    "web".to_string()
                ),
                (
                    String::new(),
                    "Namespace".to_string(),
                    None,
                    "shop".to_string()
                ),
            ]
        );
    }

    #[test]
    fn failing_revisions_conditions_suspend_dependencies_and_argo_operations() {
        let old = "main@sha1:0123456789abcdef0123456789abcdef01234567";
        let new = "main@sha1:89abcdef0123456789abcdef0123456789abcdef";
        let objects = vec![
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                   "metadata": {"name": "apps", "namespace": "flux-system"},
                   "spec": {"path": "./apps", "suspend": true, "dependsOn": [{"name": "infra"}]},
                   "status": {"lastAppliedRevision": old, "lastAttemptedRevision": new,
                              "conditions": [
                                 {"type": "Ready", "status": "False", "message": "Deployment/web dry-run failed: spec.replicas: Invalid value"},
                                 {"type": "Healthy", "status": "False", "message": "timeout waiting for Deployment/web"},
                                 {"type": "Stalled", "status": "False"}]}}),
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                   "metadata": {"name": "infra", "namespace": "flux-system"},
                   "spec": {"path": "./infra"},
                   "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                   "metadata": {"name": "web", "namespace": "argocd"},
                   "spec": {"source": {"path": "web"}},
                   "status": {"sync": {"status": "OutOfSync"},
                              "operationState": {"phase": "Failed", "message": "one or more objects failed to apply"}}}),
        ];
        let controllers = from_objects(&objects);
        let apps = &controllers[1];
        assert_eq!(apps.name, "apps");
        assert_eq!(apps.failing_revision.as_deref(), Some(new));
        assert!(apps.suspended);
        assert_eq!(apps.waiting_for, vec!["flux-system/infra"]);
        assert_eq!(
            apps.conditions,
            vec![
                "Healthy=False (timeout waiting for Deployment/web)",
                "Stalled=False"
            ]
        );
        let web = &controllers[0];
        assert_eq!(
            web.operation.as_deref(),
            Some("Failed: one or more objects failed to apply")
        );
        assert_eq!(web.automated, Some(false));
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(iso_date(git2::Time::new(0, 0)), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            iso_date(git2::Time::new(1_795_000_000, 60)),
            "2026-11-18T12:06:40+01:00"
        );
        assert_eq!(
            iso_date(git2::Time::new(951_782_400, -300)),
            "2000-02-28T19:00:00-05:00"
        );
    }
}
