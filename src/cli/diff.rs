//! `kubectl gitops diff`: what applying Git would change in the cluster, per object, or what
//! changed between two Git revisions (no cluster needed).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::fleet::{self, Failed};
use super::status::{self, SourceArgs};
use super::{ClusterArgs, ExitError, Outcome};
use crate::cluster::desired::{Desired, DesiredObject, Revision};
use crate::cluster::dryrun::{
    self, DiffOptions, FIELD_MANAGER, Method, ObjectResult, Outcome as Result_,
};
use crate::diff::render::{self, ExternalFile};
use crate::diff::{Change, KeyChanges, ObjectDiff, compare};
use crate::manifest::ObjectId;

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// A pull-request comment: a table of apps, then each changed app's diff.
    Markdown,
}

/// GitHub refuses comments over 65,536 characters; the rest is cut with a note.
const MARKDOWN_LIMIT: usize = 65_000;

/// Show what `kubectl apply` would change: a unified diff per object between the live object
/// and the result of a server-side apply dry-run of Git's version (falling back to comparing
/// the fields Git sets when RBAC forbids the dry-run). Secret values are never shown.
///
/// With --from, compare two Git revisions instead; no cluster is needed.
///
/// With --context more than once or --all-contexts, compare with every cluster at once: a
/// section per cluster; one that does not answer is named and the others still compare.
///
/// Exit status, as `kubectl diff`: 0 no differences, 1 differences found, >1 error (for a
/// fleet: no cluster answered). KUBECTL_EXTERNAL_DIFF names another diff program, run on two
/// directories.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops diff\n  kubectl gitops diff --context prod-eu --context prod-us\n  kubectl gitops diff --working-tree --path apps/prod\n  kubectl gitops diff --from origin/main --to HEAD -o json\n  KUBECTL_EXTERNAL_DIFF=\"meld\" kubectl gitops diff"
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
    /// With --from: render every app, not only those whose inputs the change touches.
    #[arg(long, requires = "from")]
    pub all_apps: bool,
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
    /// Compare everything: do not leave out what the controllers ignore (Argo CD
    /// ignoreDifferences and argocd-cm rules, Flux ssa/reconcile annotations).
    #[arg(long)]
    pub no_ignore: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Compare with every context of the kubeconfig, concurrently (a fleet); `--context`
    /// more than once names them instead.
    #[arg(long, help_heading = "Cluster options", conflicts_with = "from")]
    pub all_contexts: bool,
}

/// One object in `-o json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<String>,
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

/// `-o json` of a fleet: each cluster's objects under its context, and who did not answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFleet {
    from: String,
    to: String,
    clusters: BTreeMap<String, JsonCluster>,
    failed: Vec<Failed>,
    /// Over every cluster that answered.
    summary: BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonCluster {
    server: String,
    objects: Vec<JsonObject>,
    summary: BTreeMap<&'static str, usize>,
    warnings: Vec<String>,
}

/// The clusters of a fleet run (more than one context), in the order they were asked for.
struct Fleet {
    clusters: Vec<Section>,
    failed: Vec<Failed>,
}

/// One cluster that answered.
struct Section {
    context: String,
    server: String,
    warnings: Vec<String>,
}

/// What `diff` found, to show.
struct Found {
    items: Vec<Item>,
    from: String,
    to: String,
    warnings: Vec<String>,
    /// Set when more than one context was compared.
    fleet: Option<Fleet>,
}

/// One object to show, from either mode.
struct Item {
    /// The cluster it was compared in, in a fleet.
    context: Option<String>,
    /// The app it belongs to (comparing revisions).
    app: Option<String>,
    id: ObjectId,
    source: Option<String>,
    method: Option<Method>,
    result: Result<ObjectDiff, (&'static str, String)>,
}

pub fn run(args: DiffArgs) -> anyhow::Result<Outcome> {
    let Found {
        items,
        from,
        to,
        warnings,
        fleet,
    } = match &args.from {
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
            match &fleet {
                Some(fleet) => write_json_fleet(&items, from, to, fleet)?,
                None => write_json(&items, from, to, warnings)?,
            }
            report_problems(&items);
            differs
        }
        (Format::Markdown, _) => {
            write_markdown(&items, &from, &to)?;
            report_problems(&items);
            differs
        }
        (Format::Text, Some(program)) => {
            report_problems(&items);
            let files: Vec<ExternalFile<'_>> = items
                .iter()
                .filter_map(|i| {
                    let d = i.result.as_ref().ok()?;
                    let name = render::file_name(&i.id);
                    Some(ExternalFile {
                        // A fleet's clusters each get a directory: one object is one file
                        // per cluster.
                        name: match &i.context {
                            Some(context) => format!("{}/{name}", directory_name(context)),
                            None => name,
                        },
                        before: &d.before,
                        after: &d.after,
                    })
                })
                .collect();
            render::run_external(&program, &files).context("KUBECTL_EXTERNAL_DIFF failed")?
        }
        (Format::Text, None) => {
            match &fleet {
                Some(fleet) => write_text_fleet(&items, &from, &to, fleet)?,
                None => write_text(&items, &from, &to)?,
            }
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

/// A context name as one directory name: no separators, never `.` or `..` (EKS contexts are
/// ARNs with a `/`).
fn directory_name(context: &str) -> String {
    let name = context.replace(['/', '\\'], "_");
    if name.is_empty() || name.chars().all(|c| c == '.') {
        format!("_{name}")
    } else {
        name
    }
}

/// Git against the cluster: each target with its context, or with every context of the
/// fleet, concurrently (see `fleet`).
fn cluster_items(args: &DiffArgs, global: &ClusterArgs) -> anyhow::Result<Found> {
    let desired = status::read_desired(&args.source.selection(global))?;
    let runtime = status::runtime()?;
    let diff_options = DiffOptions {
        field_manager: args.field_manager.clone(),
        dry_run_all: args.dry_run_all,
        no_ignore: args.no_ignore,
    };
    let jobs = fleet::jobs(
        &desired,
        &global.connect,
        args.all_contexts,
        status::DEFAULT_TIMEOUT,
    )?;
    let is_fleet = fleet::is_fleet(&jobs);
    let answers = fleet::run(&runtime, &jobs, |cluster, target| {
        let diff_options = &diff_options;
        async move { dryrun::diff(&cluster, target, diff_options).await }
    })?;
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    for (_, report) in answers.answered {
        let mut own = report.warnings;
        for ObjectResult {
            id,
            source,
            method,
            outcome,
            ..
        } in report.results
        {
            let result = match outcome {
                Result_::Compared(d) => Ok(*d),
                Result_::UnknownKind(m) => Err(("unknown-kind", m)),
                Result_::Failed(m) => Err(("failed", m)),
                Result_::Ignored(why) => {
                    own.push(format!("{id}: not compared: {why}"));
                    continue;
                }
            };
            items.push(Item {
                context: is_fleet.then(|| report.context.clone()),
                app: None,
                id,
                source: Some(source),
                method: Some(method),
                result,
            });
        }
        if is_fleet {
            warnings.extend(
                own.iter()
                    .map(|w| format!("context {}: {w}", report.context)),
            );
            // Two targets compared in one context are one cluster's section.
            match sections.iter_mut().find(|s| s.context == report.context) {
                Some(section) => section.warnings.extend(own),
                None => sections.push(Section {
                    context: report.context,
                    server: report.server,
                    warnings: own,
                }),
            }
        } else {
            warnings.extend(own);
        }
    }
    Ok(Found {
        items,
        from: "LIVE".into(),
        to: "MERGED".into(),
        warnings,
        fleet: is_fleet.then_some(Fleet {
            clusters: sections,
            failed: answers.failed,
        }),
    })
}

/// Two Git revisions, no cluster: per app, only the apps the change touches (unless
/// `--all-apps`). The same object in two apps is two objects.
fn git_items(args: &DiffArgs, global: &ClusterArgs, from: &str) -> anyhow::Result<Found> {
    let to = args.to.clone().unwrap_or_else(|| "HEAD".into());
    let mut selection = args.source.selection(global);
    if !args.all_apps {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let repo =
            git2::Repository::discover(&cwd).map_err(|_| crate::apps::OpenError::NotARepo {
                revision: from.to_string(),
            })?;
        selection.changed = Some(crate::apps::changed_paths(&repo, from, &to)?);
    }
    selection.revision = Revision::Ref(from.to_string());
    let before = status::read_desired_with(&selection, false)?;
    selection.revision = Revision::Ref(to.clone());
    let after = status::read_desired(&selection)?;

    type Key = (String, ObjectId);
    let index = |d: &Desired| -> Vec<(Key, Value, String)> {
        d.targets
            .iter()
            .flat_map(|t| &t.objects)
            .map(|o| ((o.app.clone(), identity(o)), git_value(o), o.source.clone()))
            .collect()
    };
    let old = index(&before);
    let new = index(&after);
    // The first definition on each side, as on the newer side below: an object defined twice
    // in one app (a warning) is then compared with itself when the revisions are the same.
    let mut old_by_key: HashMap<&Key, &Value> = HashMap::new();
    for (k, v, _) in &old {
        old_by_key.entry(k).or_insert(v);
    }
    let mut warnings = Vec::new();
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (key, value, source) in &new {
        if !seen.insert(key.clone()) {
            warnings.push(format!(
                "{} is defined twice in app {} at {to}; comparing the first",
                key.1, key.0
            ));
            continue;
        }
        items.push(Item {
            context: None,
            app: Some(key.0.clone()),
            id: key.1.clone(),
            source: Some(source.clone()),
            method: None,
            result: Ok(ObjectDiff::new(
                key.1.clone(),
                old_by_key.get(key).map(|v| (*v).clone()),
                Some(value.clone()),
            )),
        });
    }
    for (key, value, source) in &old {
        if seen.insert(key.clone()) {
            items.push(Item {
                context: None,
                app: Some(key.0.clone()),
                id: key.1.clone(),
                source: Some(source.clone()),
                method: None,
                result: Ok(ObjectDiff::new(key.1.clone(), Some(value.clone()), None)),
            });
        }
    }
    items.sort_by(|a, b| a.app.cmp(&b.app));
    Ok(Found {
        items,
        from: from.to_string(),
        to,
        warnings,
        fleet: None,
    })
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
    let mut current_app: Option<&str> = None;
    for item in items {
        let Ok(d) = &item.result else { continue };
        let text = d.unified(from, to);
        if text.is_empty() {
            continue;
        }
        if let Some(app) = item.app.as_deref()
            && current_app != Some(app)
        {
            let (added, changed, removed) = counts(items, app);
            writeln!(
                out,
                "{bold}# app {app}: {added} added, {changed} changed, {removed} removed{bold:#}"
            )?;
            current_app = Some(app);
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

/// Objects added, changed and removed in one app.
fn counts(items: &[Item], app: &str) -> (usize, usize, usize) {
    count(items.iter().filter(|i| i.app.as_deref() == Some(app)))
}

/// Objects added, changed and removed among `items`.
fn count<'a>(items: impl Iterator<Item = &'a Item>) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for item in items {
        match item.result.as_ref().map(|d| d.change) {
            Ok(Change::Created) => c.0 += 1,
            Ok(Change::Changed) => c.1 += 1,
            Ok(Change::Deleted) => c.2 += 1,
            _ => {}
        }
    }
    c
}

/// A fleet's diff: one section per cluster that answered, headed by what would change there,
/// each object's file under the cluster's directory (`LIVE/prod-eu/apps.v1.Deployment...`,
/// the layout `KUBECTL_EXTERNAL_DIFF` gets).
fn write_text_fleet(items: &[Item], from: &str, to: &str, fleet: &Fleet) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    let bold = anstyle::Style::new().bold();
    for section in &fleet.clusters {
        let here = || {
            items
                .iter()
                .filter(|i| i.context.as_deref() == Some(section.context.as_str()))
        };
        let (added, changed, removed) = count(here());
        let what = if added + changed + removed == 0 {
            "no differences".to_string()
        } else {
            format!("{added} added, {changed} changed, {removed} removed")
        };
        writeln!(
            out,
            "{bold}# context {} ({}): {what}{bold:#}",
            section.context, section.server
        )?;
        let dir = directory_name(&section.context);
        let (from, to) = (format!("{from}/{dir}"), format!("{to}/{dir}"));
        for item in here() {
            let Ok(d) = &item.result else { continue };
            let text = d.unified(&from, &to);
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
    }
    for f in &fleet.failed {
        writeln!(out, "{bold}# context {}: not compared{bold:#}", f.context)?;
    }
    Ok(())
}

/// The section of a pull-request comment an object is shown in: its app (comparing
/// revisions), else its cluster (a fleet), else the one cluster.
fn section_of(item: &Item) -> &str {
    item.app
        .as_deref()
        .or(item.context.as_deref())
        .unwrap_or("cluster")
}

/// A pull-request comment: a summary table of the apps that change, then one collapsible
/// section per app with its unified diff, kept under GitHub's size limit.
fn write_markdown(items: &[Item], from: &str, to: &str) -> anyhow::Result<()> {
    let mut apps: Vec<&str> = Vec::new();
    for item in items {
        let app = section_of(item);
        let changed = matches!(&item.result, Ok(d) if d.change != Change::Unchanged);
        if changed && !apps.contains(&app) {
            apps.push(app);
        }
    }
    let mut doc = format!("### kubectl gitops diff `{from}` → `{to}`\n\n");
    if apps.is_empty() {
        doc.push_str("No app changes.\n");
        std::io::stdout().lock().write_all(doc.as_bytes())?;
        return Ok(());
    }
    doc.push_str("| app | added | changed | removed |\n|---|---:|---:|---:|\n");
    for app in &apps {
        let (a, c, r) = count(items.iter().filter(|i| section_of(i) == *app));
        doc.push_str(&format!("| `{app}` | {a} | {c} | {r} |\n"));
    }
    doc.push('\n');
    let mut cut: Vec<&str> = Vec::new();
    for app in &apps {
        let mut section = format!("<details><summary><code>{app}</code></summary>\n\n```diff\n");
        for item in items.iter().filter(|i| section_of(i) == *app) {
            let Ok(d) = &item.result else { continue };
            if let Some(keys) = &d.secret_keys {
                section.push_str(&format!("# Secret {}: keys {}\n", item.id, keys.summary()));
            }
            // A fence inside the diff would end the code block early.
            section.push_str(&d.unified(from, to).replace("```", "`\u{200b}``"));
        }
        section.push_str("```\n\n</details>\n\n");
        if doc.len() + section.len() + 200 > MARKDOWN_LIMIT {
            cut.push(app);
            continue;
        }
        doc.push_str(&section);
    }
    if !cut.is_empty() {
        doc.push_str(&format!(
            "**Cut to stay under {MARKDOWN_LIMIT} characters:** the diffs of {} app(s) are not shown: {}. Run `kubectl gitops diff --from {from} --to {to}` to see them.\n",
            cut.len(),
            cut.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    std::io::stdout().lock().write_all(doc.as_bytes())?;
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

/// The objects of `-o json`, and how many of each result.
fn json_objects(
    items: &[&Item],
    from: &str,
    to: &str,
) -> (Vec<JsonObject>, BTreeMap<&'static str, usize>) {
    let mut summary = empty_summary();
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
                    d.unified(from, to),
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
                app: item.app.clone(),
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
    (objects, summary)
}

fn empty_summary() -> BTreeMap<&'static str, usize> {
    [
        "unchanged",
        "changed",
        "created",
        "deleted",
        "unknown-kind",
        "failed",
    ]
    .into_iter()
    .map(|k| (k, 0))
    .collect()
}

fn write_json(
    items: &[Item],
    from: String,
    to: String,
    warnings: Vec<String>,
) -> anyhow::Result<()> {
    let all: Vec<&Item> = items.iter().collect();
    let (objects, summary) = json_objects(&all, &from, &to);
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

/// `-o json` of a fleet: `{from, to, clusters: {CONTEXT: {server, objects, summary,
/// warnings}}, failed: [{context, error}], summary}`.
fn write_json_fleet(items: &[Item], from: String, to: String, fleet: &Fleet) -> anyhow::Result<()> {
    let mut clusters = BTreeMap::new();
    let mut total = empty_summary();
    for section in &fleet.clusters {
        let here: Vec<&Item> = items
            .iter()
            .filter(|i| i.context.as_deref() == Some(section.context.as_str()))
            .collect();
        let (objects, summary) = json_objects(&here, &from, &to);
        for (k, v) in &summary {
            *total.entry(k).or_default() += v;
        }
        clusters.insert(
            section.context.clone(),
            JsonCluster {
                server: section.server.clone(),
                objects,
                summary,
                warnings: section.warnings.clone(),
            },
        );
    }
    let output = JsonFleet {
        from,
        to,
        clusters,
        failed: fleet.failed.clone(),
        summary: total,
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &output)?;
    writeln!(out)?;
    Ok(())
}
