//! `diff` against the cluster: what `kubectl apply --server-side --force-conflicts` would
//! change, per object. The merged object comes from a server-side apply dry-run (run
//! concurrently, bounded); where RBAC forbids it, from the live object with Git's fields laid
//! over it, and the result says so.

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::desired::Target;
use super::ignore::{Ignores, Verdict};
use super::live::{self, LiveSet};
use super::plan::{self, Placed};
use super::{CONCURRENCY, Cluster, ClusterError, Discovery, RequestError};
use crate::diff::{ObjectDiff, compare, normalize};
use crate::manifest::ObjectId;

/// The field manager the dry-run applies as, unless told otherwise: not one a real applier
/// uses, so it owns nothing and the dry-run shows exactly what Git's values would change.
pub const FIELD_MANAGER: &str = "kubectl-gitops";

/// How the merged object was worked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A server-side apply dry-run: the server's own answer, with defaults and admission.
    ServerSideDryRun,
    /// The live object with Git's fields laid over it (dry-run forbidden, or nothing to ask).
    ClientSide,
    /// Not asked: the live object already holds exactly what Git sets and the field manager
    /// owns nothing in it, so an apply would change nothing (see `--dry-run-all`).
    LiveMatchesGit,
}

/// What became of one object.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Compared: changed, unchanged, or would be created.
    Compared(Box<ObjectDiff>),
    /// The cluster does not serve its kind and Git does not define it.
    UnknownKind(String),
    /// The server rejected the object (invalid, conflict, missing namespace...).
    Failed(String),
    /// Its controller leaves it alone (Flux `ssa: Ignore`, `reconcile: disabled`), and why.
    Ignored(String),
}

/// One Git object's result.
#[derive(Clone, Debug)]
pub struct ObjectResult {
    pub id: ObjectId,
    pub source: String,
    pub method: Method,
    pub outcome: Outcome,
    /// Why the server-side dry-run was not used, when it was asked and refused.
    pub fallback: Option<String>,
}

/// What `diff` found on one cluster.
#[derive(Clone, Debug)]
pub struct DiffReport {
    pub context: String,
    pub server: String,
    pub results: Vec<ObjectResult>,
    pub warnings: Vec<String>,
}

/// How `diff` asks the server.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// The field manager the dry-run applies as.
    pub field_manager: String,
    /// Dry-run every object, even those whose live version already holds what Git sets.
    pub dry_run_all: bool,
    /// Compare everything, whatever the controllers ignore (`--no-ignore`).
    pub no_ignore: bool,
}

/// Compares every object of a target with the cluster.
pub async fn diff(
    cluster: &Cluster,
    target: &Target,
    options: &DiffOptions,
) -> Result<DiffReport, ClusterError> {
    let mut warnings = Vec::new();
    let mut discovery = Discovery::new(cluster).await?;
    let placed = plan::place(cluster, &mut discovery, &target.objects, &mut warnings).await?;
    let live = live::list(cluster, plan::queries(&placed, false), true).await?;
    let namespaces_in_git: Vec<&str> = placed
        .iter()
        .filter(|p| p.id.group.is_empty() && p.id.kind == "Namespace")
        .map(|p| p.id.name.as_str())
        .collect();

    let ignores =
        super::ignore::for_target(cluster, target, options.no_ignore, &mut warnings).await;
    let context = Shared {
        cluster,
        live: &live,
        options,
        namespaces_in_git: &namespaces_in_git,
        ignores: &ignores,
    };
    let mut results: Vec<(usize, ObjectResult)> = futures::stream::iter(placed.iter().enumerate())
        .map(|(i, p)| {
            let context = &context;
            async move { compare_one(context, p).await.map(|r| (i, r)) }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<ObjectResult> = results.into_iter().map(|(_, r)| r).collect();

    let fallbacks: Vec<&ObjectResult> = results.iter().filter(|r| r.fallback.is_some()).collect();
    if let Some(first) = fallbacks.first() {
        warnings.push(format!(
            "server-side dry-run refused for {} object(s) (first: {}: {}): compared the fields Git sets with the live objects instead (defaults, admission changes and fields Git stopped setting are not shown)",
            fallbacks.len(),
            first.id,
            first.fallback.as_deref().unwrap_or_default()
        ));
    }
    Ok(DiffReport {
        context: cluster.context.clone(),
        server: cluster.server.clone(),
        results,
        warnings,
    })
}

struct Shared<'a> {
    cluster: &'a Cluster,
    live: &'a LiveSet,
    options: &'a DiffOptions,
    namespaces_in_git: &'a [&'a str],
    ignores: &'a Ignores,
}

/// The diff of a live object and what Git makes of it, without what the app's controller
/// ignores (Argo CD ignoreDifferences, argocd-cm rules).
fn diffed(ctx: &Shared<'_>, p: &Placed, live: Option<Value>, after: Option<Value>) -> ObjectDiff {
    match (live, after) {
        (Some(mut live), Some(mut after)) => {
            ctx.ignores.strip(Some(&p.app), &mut after, &mut live);
            ObjectDiff::new(p.id.clone(), Some(live), Some(after))
        }
        (live, after) => ObjectDiff::new(p.id.clone(), live, after),
    }
}

/// True when applying Git cannot change the live object: it holds exactly the values Git
/// sets, and the field manager owns none of its fields (so nothing would be removed). Asking
/// the server about such objects is most of `diff`'s time in a cluster that is in sync.
fn apply_changes_nothing(p: &Placed, live: &Value, field_manager: &str) -> bool {
    let owns_fields = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries
                .iter()
                .any(|e| e.get("manager").and_then(Value::as_str) == Some(field_manager))
        });
    !owns_fields && compare::holds_exactly(&git_side(p), live)
}

async fn compare_one(ctx: &Shared<'_>, p: &Placed) -> Result<ObjectResult, ClusterError> {
    let result = |method, outcome| ObjectResult {
        id: p.id.clone(),
        source: p.source.clone(),
        method,
        outcome,
        fallback: None,
    };
    let fallback = |live, why: String| ObjectResult {
        fallback: Some(why),
        ..result(
            Method::ClientSide,
            Outcome::Compared(Box::new(client_side(ctx, p, live))),
        )
    };
    let live = ctx.live.get(&p.key).cloned();
    match ctx.ignores.verdict(&p.body) {
        Verdict::NotApplied(why) => return Ok(result(Method::ClientSide, Outcome::Ignored(why))),
        // Created once and never corrected: what it holds now is what the controller keeps.
        Verdict::CreatedOnly(_) if live.is_some() => {
            return Ok(result(
                Method::LiveMatchesGit,
                Outcome::Compared(Box::new(ObjectDiff::new(p.id.clone(), live.clone(), live))),
            ));
        }
        _ => {}
    }
    let resource = match &p.resource {
        Ok(r) => r,
        Err(_) if p.crd_in_git => {
            return Ok(result(
                Method::ClientSide,
                Outcome::Compared(Box::new(ObjectDiff::new(
                    p.id.clone(),
                    None,
                    Some(git_side(p)),
                ))),
            ));
        }
        Err(problem) => {
            return Ok(result(
                Method::ClientSide,
                Outcome::UnknownKind(problem.clone()),
            ));
        }
    };
    if !ctx.options.dry_run_all
        && let Some(current) = &live
        && apply_changes_nothing(p, current, &ctx.options.field_manager)
    {
        return Ok(result(
            Method::LiveMatchesGit,
            Outcome::Compared(Box::new(ObjectDiff::new(p.id.clone(), live.clone(), live))),
        ));
    }
    let path = resource.object(p.id.namespace.as_deref(), &p.id.name);
    let doing = format!("dry-running the apply of {}", p.id);
    match ctx
        .cluster
        .apply_dry_run(&path, &p.body, &ctx.options.field_manager, &doing)
        .await
    {
        Ok(merged) => {
            // The dry-run answers on the object as it is now; the listing may be older (an
            // apply landed in between, and the diff would show its server-written fields).
            // Compare like with like: re-read the live object when the versions differ.
            let version = |v: &Value| v.pointer("/metadata/resourceVersion").cloned();
            let stale =
                |l: &Value| matches!((version(l), version(&merged)), (Some(a), Some(b)) if a != b);
            let live = match &live {
                Some(l) if stale(l) => {
                    let doing = format!("re-reading {}", p.id);
                    match ctx.cluster.get(&path, &doing).await {
                        Ok(fresh) => Some(fresh),
                        Err(_) => live,
                    }
                }
                _ => live,
            };
            Ok(result(
                Method::ServerSideDryRun,
                Outcome::Compared(Box::new(diffed(ctx, p, live, Some(merged)))),
            ))
        }
        // Forbidden (read-only RBAC) or not supported (an API without apply patches).
        Err(RequestError::Status {
            code: code @ (403 | 415),
            message,
            ..
        }) => Ok(fallback(live, format!("{code} {message}"))),
        // The server could not build the merged object for this one: older servers reject
        // some valid objects (Service ports without `protocol`) with a 500, or fail the
        // request so badly that they drop the connection (v1.20 on APIServices). The LISTs
        // just worked, so the server itself is up and the live objects are known.
        Err(RequestError::Fatal(ClusterError::Server { code, message, .. })) => {
            Ok(fallback(live, format!("{code} {message}")))
        }
        Err(RequestError::Fatal(ClusterError::Unreachable { source, .. })) => Ok(fallback(
            live,
            format!("the server dropped the request ({source})"),
        )),
        Err(RequestError::Status {
            code: 404,
            details_kind,
            message,
            ..
        }) if details_kind == "namespaces" => {
            let namespace = p.id.namespace.as_deref().unwrap_or("");
            if ctx.namespaces_in_git.contains(&namespace) {
                Ok(result(
                    Method::ClientSide,
                    Outcome::Compared(Box::new(ObjectDiff::new(
                        p.id.clone(),
                        None,
                        Some(git_side(p)),
                    ))),
                ))
            } else {
                Ok(result(
                    Method::ServerSideDryRun,
                    Outcome::Failed(format!("{message} (and Git does not create it)")),
                ))
            }
        }
        Err(RequestError::Status { code, message, .. }) => Ok(result(
            Method::ServerSideDryRun,
            Outcome::Failed(format!("{code}: {message}")),
        )),
        Err(RequestError::Fatal(e)) => Err(e),
    }
}

/// The Git object as the server would store it, as far as the client knows.
fn git_side(p: &Placed) -> Value {
    let mut git = p.body.clone();
    compare::fold_string_data(&mut git);
    normalize::normalize(&mut git);
    git
}

/// Live with Git's fields laid over it (or Git alone when the object is not live).
fn client_side(ctx: &Shared<'_>, p: &Placed, live: Option<Value>) -> ObjectDiff {
    let git = git_side(p);
    match live {
        Some(mut live) => {
            normalize::normalize(&mut live);
            let merged = compare::overlay(&live, &git);
            diffed(ctx, p, Some(live), Some(merged))
        }
        None => ObjectDiff::new(p.id.clone(), None, Some(git)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::client::tests::{mock, status};
    use crate::cluster::desired::DesiredObject;
    use crate::diff::Change;
    use serde_json::json;

    fn configmap(name: &str, namespace: &str, value: &str) -> DesiredObject {
        DesiredObject {
            id: ObjectId {
                group: String::new(),
                version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some(namespace.into()),
                name: name.into(),
            },
            body: json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace}, "data": {"k": value}}),
            source: format!("{name}.yaml:1"),
            default_namespace: None,
            app: "test".into(),
        }
    }

    fn api(method: &str, path: &str) -> (u16, String) {
        let live = |name: &str, value: &str| {
            json!({"metadata": {"name": name, "namespace": "team", "resourceVersion": "7",
                "managedFields": [{"manager": "kubectl"}]}, "data": {"k": value}})
        };
        match (method, path.split('?').next().unwrap_or("")) {
            ("GET", "/api") => (200, r#"{"versions": ["v1"]}"#.into()),
            ("GET", "/apis") => (200, r#"{"groups": []}"#.into()),
            ("GET", "/api/v1") => (200, r#"{"resources": [
                {"name": "configmaps", "kind": "ConfigMap", "namespaced": true}]}"#.into()),
            ("GET", "/api/v1/namespaces/team/configmaps") => (200, json!({"items": [
                live("same", "1"), live("drifted", "live-value"), live("locked", "old")
            ]}).to_string()),
            ("GET", "/api/v1/namespaces/gone/configmaps") => (200, r#"{"items": []}"#.into()),
            // Re-read when the dry-run's resourceVersion is newer than the listing's.
            ("GET", "/api/v1/namespaces/team/configmaps/drifted") => {
                (200, live("drifted", "live-value").to_string())
            }
            ("PATCH", p) if p.ends_with("/locked") => (403, status(403, "Forbidden", "no patch")),
            ("PATCH", p) if p.starts_with("/api/v1/namespaces/gone/") => (404, json!({
                "kind": "Status", "code": 404, "reason": "NotFound", "message": "namespaces \"gone\" not found",
                "details": {"name": "gone", "kind": "namespaces"}}).to_string()),
            ("PATCH", p) => {
                assert!(path.contains("dryRun=All") && path.contains("force=true") && path.contains("fieldManager=kubectl-gitops"), "{path}");
                let name = p.rsplit('/').next().unwrap_or("");
                let value = if name == "same" { "1" } else { "git-value" };
                let mut merged = live(name, value);
                merged["apiVersion"] = json!("v1");
                merged["kind"] = json!("ConfigMap");
                merged["metadata"]["resourceVersion"] = json!("8");
                (200, merged.to_string())
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn dry_run_with_fallback_and_missing_namespaces() {
        let cluster = mock(api);
        let target = Target {
            objects: vec![
                configmap("same", "team", "1"),
                configmap("drifted", "team", "git-value"),
                configmap("locked", "team", "new"),
                configmap("new", "gone", "x"),
            ],
            ..Target::default()
        };
        let options = DiffOptions {
            field_manager: FIELD_MANAGER.into(),
            dry_run_all: false,
            no_ignore: false,
        };
        let report = diff(&cluster, &target, &options).await.expect("diff");
        let changes: Vec<String> = report
            .results
            .iter()
            .map(|r| match &r.outcome {
                Outcome::Compared(d) => format!("{:?}/{:?}", d.change, r.method),
                Outcome::Failed(m) => format!("failed: {m}"),
                Outcome::UnknownKind(m) => format!("unknown: {m}"),
                Outcome::Ignored(m) => format!("ignored: {m}"),
            })
            .collect();
        assert_eq!(
            changes,
            vec![
                "Unchanged/LiveMatchesGit",
                "Changed/ServerSideDryRun",
                "Changed/ClientSide",
                "failed: namespaces \"gone\" not found (and Git does not create it)",
            ]
        );
        assert_eq!(report.warnings.len(), 1);
        let Outcome::Compared(d) = &report.results[2].outcome else {
            panic!("compared");
        };
        assert_eq!(d.change, Change::Changed);
        assert_eq!(d.paths, vec!["data.k"]);
    }
}
