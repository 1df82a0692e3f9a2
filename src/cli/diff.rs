//! `kubectl gitops diff`: what applying Git would change in the cluster, per object, or what
//! changed between two Git revisions (no cluster needed).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::status::{self, SourceArgs};
use super::{ClusterArgs, ExitError, Outcome};
use crate::cluster::Cluster;
use crate::cluster::desired::{Desired, DesiredObject, Revision};
use crate::cluster::dryrun::{
    self, DiffOptions, FIELD_MANAGER, Method, ObjectResult, Outcome as Result_,
};
use crate::diff::render::{self, ExternalFile};
use crate::diff::{Change, KeyChanges, ObjectDiff, compare};
use crate::manifest::ObjectId;

pub use super::TextOrJson as Format;

/// Show what `kubectl apply` would change: a unified diff per object between the live object
/// and the result of a server-side apply dry-run of Git's version (falling back to comparing
/// the fields Git sets when RBAC forbids the dry-run). Secret values are never shown.
///
/// With --from, compare two Git revisions instead; no cluster is needed.
///
/// Exit status, as `kubectl diff`: 0 no differences, 1 differences found, >1 error.
/// KUBECTL_EXTERNAL_DIFF names another diff program, run on two directories.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops diff\n  kubectl gitops diff --working-tree --path apps/prod\n  kubectl gitops diff --from origin/main --to HEAD -o json\n  KUBECTL_EXTERNAL_DIFF=\"meld\" kubectl gitops diff"
)]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Compare this Git revision with --to instead of Git with the cluster.
    #[arg(long, value_name = "REV", conflicts_with_all = ["reference", "working_tree", "filenames"])]
    pub from: Option<String>,
    /// The revision to compare --from with [default: HEAD].
    #[arg(long, value_name = "REV", requires = "from")]
    pub to: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Format,
    /// Field manager for the server-side apply dry-run (the one your applier uses, such as
    /// `kubectl` or `kustomize-controller`, also shows fields Git stopped setting).
    #[arg(long, value_name = "NAME", default_value = FIELD_MANAGER)]
    pub field_manager: String,
    /// Dry-run every object on the server, also those whose live version already holds
    /// exactly what Git sets (skipped by default: applying them cannot change anything).
    #[arg(long)]
    pub dry_run_all: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// One object in `-o json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    api_version: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    /// `unchanged`, `changed`, `created`, `deleted`, `unknown-kind`, `failed`.
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<Method>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    paths: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_keys: Option<KeyChanges>,
    #[serde(skip_serializing_if = "String::is_empty")]
    diff: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonOutput {
    from: String,
    to: String,
    objects: Vec<JsonObject>,
    summary: BTreeMap<&'static str, usize>,
    warnings: Vec<String>,
}

/// One object to show, from either mode.
struct Item {
    context: Option<String>,
    id: ObjectId,
    source: Option<String>,
    method: Option<Method>,
    result: Result<ObjectDiff, (&'static str, String)>,
}

pub fn run(args: DiffArgs) -> anyhow::Result<Outcome> {
    let (items, from, to, warnings) = match &args.from {
        Some(from) => git_items(&args, &args.cluster, from)?,
        None => cluster_items(&args, &args.cluster)?,
    };
    status::warn_all(&warnings);
    let differs = items.iter().any(|i| match &i.result {
        Ok(d) => d.change != Change::Unchanged,
        Err((kind, _)) => *kind == "unknown-kind",
    });
    let failed: Vec<&Item> = items
        .iter()
        .filter(|i| matches!(&i.result, Err((kind, _)) if *kind == "failed"))
        .collect();

    let external = std::env::var("KUBECTL_EXTERNAL_DIFF")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let found = match (args.output, external) {
        (Format::Json, _) => {
            write_json(&items, from, to, warnings)?;
            report_problems(&items);
            differs
        }
        (Format::Text, Some(program)) => {
            report_problems(&items);
            let files: Vec<ExternalFile<'_>> = items
                .iter()
                .filter_map(|i| {
                    let d = i.result.as_ref().ok()?;
                    Some(ExternalFile {
                        name: render::file_name(&i.id),
                        before: &d.before,
                        after: &d.after,
                    })
                })
                .collect();
            render::run_external(&program, &files).context("KUBECTL_EXTERNAL_DIFF failed")?
        }
        (Format::Text, None) => {
            write_text(&items, &from, &to)?;
            report_problems(&items);
            differs
        }
    };
    if !failed.is_empty() {
        return Err(ExitError {
            message: format!(
                "{} object(s) could not be compared (see above)",
                failed.len()
            ),
            code: 2,
        }
        .into());
    }
    Ok(if found || differs {
        Outcome::NotClean
    } else {
        Outcome::Clean
    })
}

/// Git against the cluster, per target context.
fn cluster_items(
    args: &DiffArgs,
    global: &ClusterArgs,
) -> anyhow::Result<(Vec<Item>, String, String, Vec<String>)> {
    let desired = status::read_desired(&args.source.selection(global))?;
    let runtime = status::runtime()?;
    let multiple = desired.targets.len() > 1;
    let diff_options = DiffOptions {
        field_manager: args.field_manager.clone(),
        dry_run_all: args.dry_run_all,
    };
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for target in &desired.targets {
        let options = global
            .connect
            .options(target.context.as_ref(), status::DEFAULT_TIMEOUT)?;
        let report = runtime.block_on(async {
            let cluster = Cluster::connect(&options).await?;
            dryrun::diff(&cluster, target, &diff_options).await
        })?;
        warnings.extend(report.warnings);
        for ObjectResult {
            id,
            source,
            method,
            outcome,
            ..
        } in report.results
        {
            items.push(Item {
                context: multiple.then(|| report.context.clone()),
                id,
                source: Some(source),
                method: Some(method),
                result: match outcome {
                    Result_::Compared(d) => Ok(*d),
                    Result_::UnknownKind(m) => Err(("unknown-kind", m)),
                    Result_::Failed(m) => Err(("failed", m)),
                },
            });
        }
    }
    Ok((items, "LIVE".into(), "MERGED".into(), warnings))
}

/// Two Git revisions, no cluster.
fn git_items(
    args: &DiffArgs,
    global: &ClusterArgs,
    from: &str,
) -> anyhow::Result<(Vec<Item>, String, String, Vec<String>)> {
    let to = args.to.clone().unwrap_or_else(|| "HEAD".into());
    let mut selection = args.source.selection(global);
    selection.revision = Revision::Ref(from.to_string());
    let before = status::read_desired(&selection)?;
    selection.revision = Revision::Ref(to.clone());
    let after = status::read_desired(&selection)?;

    let index = |d: &Desired| -> Vec<(ObjectId, Value, String)> {
        d.targets
            .iter()
            .flat_map(|t| &t.objects)
            .map(|o| (identity(o), git_value(o), o.source.clone()))
            .collect()
    };
    let old = index(&before);
    let new = index(&after);
    let old_by_id: HashMap<&ObjectId, &Value> = old.iter().map(|(id, v, _)| (id, v)).collect();
    let mut warnings = Vec::new();
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (id, value, source) in &new {
        if !seen.insert(id.clone()) {
            warnings.push(format!(
                "{id} is defined twice in {to}; comparing the first"
            ));
            continue;
        }
        items.push(Item {
            context: None,
            id: id.clone(),
            source: Some(source.clone()),
            method: None,
            result: Ok(ObjectDiff::new(
                id.clone(),
                old_by_id.get(id).map(|v| (*v).clone()),
                Some(value.clone()),
            )),
        });
    }
    for (id, value, source) in &old {
        if seen.insert(id.clone()) {
            items.push(Item {
                context: None,
                id: id.clone(),
                source: Some(source.clone()),
                method: None,
                result: Ok(ObjectDiff::new(id.clone(), Some(value.clone()), None)),
            });
        }
    }
    Ok((items, from.to_string(), to, warnings))
}

/// An object's identity for comparing revisions: the namespace as written, or the one it
/// would get from `-n`/its app (the same on both sides).
fn identity(o: &DesiredObject) -> ObjectId {
    ObjectId {
        namespace: o
            .id
            .namespace
            .clone()
            .or_else(|| o.default_namespace.clone()),
        ..o.id.clone()
    }
}

fn git_value(o: &DesiredObject) -> Value {
    let mut v = o.body.clone();
    compare::fold_string_data(&mut v);
    v
}

fn write_text(items: &[Item], from: &str, to: &str) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    let bold = anstyle::Style::new().bold();
    for item in items {
        let Ok(d) = &item.result else { continue };
        let text = d.unified(from, to);
        if text.is_empty() {
            continue;
        }
        let name = render::file_name(&item.id);
        writeln!(out, "{bold}diff -u -N {from}/{name} {to}/{name}{bold:#}")?;
        if let Some(keys) = &d.secret_keys {
            writeln!(out, "# Secret {}: keys {}", item.id, keys.summary())?;
        }
        render::write_coloured(&mut out, &text)?;
    }
    Ok(())
}

/// Objects that could not be compared, on stderr.
fn report_problems(items: &[Item]) {
    let mut err = anstream::stderr().lock();
    for item in items {
        if let Err((kind, message)) = &item.result {
            let label = if *kind == "failed" {
                "error"
            } else {
                "warning"
            };
            let at = item.source.as_deref().unwrap_or("");
            let _ = writeln!(err, "{label}: {} ({at}): {message}", item.id);
        }
    }
}

fn write_json(
    items: &[Item],
    from: String,
    to: String,
    warnings: Vec<String>,
) -> anyhow::Result<()> {
    let mut summary: BTreeMap<&'static str, usize> = [
        "unchanged",
        "changed",
        "created",
        "deleted",
        "unknown-kind",
        "failed",
    ]
    .into_iter()
    .map(|k| (k, 0))
    .collect();
    let objects: Vec<JsonObject> = items
        .iter()
        .map(|item| {
            let (result, paths, secret_keys, diff, error) = match &item.result {
                Ok(d) => (
                    match d.change {
                        Change::Unchanged => "unchanged",
                        Change::Changed => "changed",
                        Change::Created => "created",
                        Change::Deleted => "deleted",
                    },
                    d.paths.clone(),
                    d.secret_keys.clone(),
                    d.unified(&from, &to),
                    None,
                ),
                Err((kind, message)) => (
                    *kind,
                    Vec::new(),
                    None,
                    String::new(),
                    Some(message.clone()),
                ),
            };
            *summary.entry(result).or_default() += 1;
            JsonObject {
                context: item.context.clone(),
                api_version: item.id.api_version(),
                kind: item.id.kind.clone(),
                namespace: item.id.namespace.clone(),
                name: item.id.name.clone(),
                source: item.source.clone(),
                result,
                method: item.method,
                paths,
                secret_keys,
                diff,
                error,
            }
        })
        .collect();
    let output = JsonOutput {
        from,
        to,
        objects,
        summary,
        warnings,
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &output)?;
    writeln!(out)?;
    Ok(())
}
