//! `kubectl gitops status`: is the cluster at what Git says? One line per object, then what
//! each GitOps controller applied and which commits it has not.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{ClusterArgs, Outcome};
use crate::cluster;
use crate::cluster::controllers::Pending;
use crate::cluster::desired::{self, Desired, Revision, Selection};
use crate::cluster::health::State;
use crate::cluster::sync::{self, GitContext, StatusOptions, StatusReport, Sync};
use crate::diagnostic::Severity;

/// Where the desired state comes from; shared by `status` and `diff`.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Git revision holding the desired state [default: HEAD].
    #[arg(long = "ref", value_name = "REV", conflicts_with = "working_tree")]
    pub reference: Option<String>,
    /// Read the manifests from disk, uncommitted changes included, instead of a commit.
    #[arg(long)]
    pub working_tree: bool,
    /// Only the manifests under PATH (repeatable) [default: the apps of .gitops.yaml, or the
    /// whole repository].
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Files or directories on disk, as `kubectl diff -f` takes them (implies --working-tree).
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "PATH",
        conflicts_with = "reference"
    )]
    pub filenames: Vec<PathBuf>,
    /// Only this app (repeatable): a name from `kubectl gitops apps` or a unique end of one.
    #[arg(long = "app", value_name = "NAME", conflicts_with_all = ["paths", "filenames"])]
    pub apps: Vec<String>,
}

impl SourceArgs {
    pub fn selection(&self, cluster: &ClusterArgs) -> Selection {
        let working_tree = self.working_tree || !self.filenames.is_empty();
        Selection {
            revision: if working_tree {
                Revision::WorkingTree
            } else {
                Revision::Ref(self.reference.clone().unwrap_or_else(|| "HEAD".into()))
            },
            paths: self.paths.iter().chain(&self.filenames).cloned().collect(),
            apps: self.apps.clone(),
            namespace: cluster.namespace.clone(),
            changed: None,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Yaml,
}

/// Show whether the cluster is at what Git says: per object Synced, OutOfSync, Missing (in
/// Git, not live), Extra (live, tracked as the app's, not in Git) or Unknown (kind not
/// served), with workload health and live images; then, where Flux Kustomizations or Argo CD
/// Applications exist, the revision each applied and the commits still pending.
///
/// Exit status: 0 (also with drift, unless --exit-code), 1 drift with --exit-code, 2 could
/// not run.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops status\n  kubectl gitops status --path apps/prod --context prod -o json\n  kubectl gitops status --working-tree --exit-code"
)]
pub struct StatusArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Format,
    /// Exit 1 when anything is not Synced (OutOfSync, Missing, Extra, Unknown).
    #[arg(long)]
    pub exit_code: bool,
    /// A label that marks the app's objects, as KEY=VALUE or as KEY (values taken from the
    /// objects in Git), in addition to the Argo CD, Flux, ApplySet and
    /// app.kubernetes.io/instance|part-of labels (repeatable). Live objects carrying it but
    /// not in Git are Extra.
    #[arg(long = "tracking-label", value_name = "KEY[=VALUE]")]
    pub tracking_labels: Vec<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Also look for Extra objects in every namespace, not only in the namespaces of the
    /// objects in Git.
    #[arg(short = 'A', long, help_heading = "Cluster options")]
    pub all_namespaces: bool,
    /// Compare with every context of the kubeconfig, concurrently (a fleet); `--context`
    /// more than once names them instead.
    #[arg(long, help_heading = "Cluster options")]
    pub all_contexts: bool,
    /// Compare everything: do not leave out what the controllers ignore (Argo CD
    /// ignoreDifferences and argocd-cm rules, Flux ssa/reconcile/prune annotations, Argo CD
    /// IgnoreExtraneous).
    #[arg(long)]
    pub no_ignore: bool,
}

/// The stable `-o json` shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Output<'a> {
    revision: &'a str,
    commit: Option<String>,
    clusters: &'a [StatusReport],
    /// Clusters that did not answer, and why.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    failed: &'a [super::fleet::Failed],
    summary: Summary,
}

#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    synced: usize,
    out_of_sync: usize,
    missing: usize,
    extra: usize,
    unknown: usize,
    ignored: usize,
}

impl Summary {
    fn of(reports: &[StatusReport]) -> Summary {
        let mut s = Summary::default();
        for o in reports.iter().flat_map(|r| &r.objects) {
            match o.sync {
                Sync::Synced => s.synced += 1,
                Sync::OutOfSync => s.out_of_sync += 1,
                Sync::Missing => s.missing += 1,
                Sync::Extra => s.extra += 1,
                Sync::Unknown => s.unknown += 1,
                Sync::Ignored => s.ignored += 1,
            }
        }
        s
    }

    fn drift(&self) -> bool {
        self.out_of_sync + self.missing + self.extra + self.unknown > 0
    }
}

pub fn run(args: StatusArgs) -> anyhow::Result<Outcome> {
    let desired = read_desired(&args.source.selection(&args.cluster))?;
    let status_options = StatusOptions {
        all_namespaces: args.all_namespaces,
        no_ignore: args.no_ignore,
        tracking_labels: args
            .tracking_labels
            .iter()
            .map(|label| match label.split_once('=') {
                Some((key, value)) => (key.to_string(), Some(value.to_string())),
                None => (label.clone(), None),
            })
            .collect(),
    };
    let runtime = runtime()?;
    let git = GitContext {
        repo: desired.repo.as_ref(),
        head: desired.commit,
        scope: &desired.scope,
    };
    let jobs = super::fleet::jobs(
        &desired,
        &args.cluster.connect,
        args.all_contexts,
        DEFAULT_TIMEOUT,
    )?;
    let answers = super::fleet::run(&runtime, &jobs, |cluster, target| {
        let (git, status_options) = (&git, &status_options);
        async move { sync::status(&cluster, target, git, status_options).await }
    })?;
    let failed = answers.failed;
    let reports: Vec<StatusReport> = answers
        .answered
        .into_iter()
        .map(|(_, report)| {
            warn_all(&report.warnings);
            report
        })
        .collect();
    let summary = Summary::of(&reports);
    let drift = summary.drift();
    let mut out = anstream::stdout().lock();
    match args.output {
        Format::Json | Format::Yaml => {
            let output = Output {
                revision: &desired.label,
                commit: desired.commit.map(|c| c.to_string()),
                clusters: &reports,
                failed: &failed,
                summary,
            };
            let value = serde_json::to_value(&output).context("cannot encode the status")?;
            if matches!(args.output, Format::Json) {
                serde_json::to_writer_pretty(&mut out, &value)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", crate::diff::yaml::to_yaml(&value))?;
            }
        }
        Format::Text => write_text(&mut out, &desired, &reports, &summary)?,
    }
    Ok(if args.exit_code && drift {
        Outcome::NotClean
    } else {
        Outcome::Clean
    })
}

/// Reads the desired state, printing warnings; errors in the manifests stop the command.
pub fn read_desired(selection: &Selection) -> anyhow::Result<Desired> {
    read_desired_with(selection, true)
}

/// Reads the desired state; its warnings are printed only when `warnings` (a diff's older
/// revision says nothing about what is being reviewed). Errors always are.
pub fn read_desired_with(selection: &Selection, warnings: bool) -> anyhow::Result<Desired> {
    let desired = desired::load(selection)?;
    let mut errors = 0;
    for d in desired
        .diagnostics
        .iter()
        .filter(|d| warnings || d.severity == Severity::Error)
    {
        let at = match d.line {
            Some(line) => format!("{}:{line}", d.file),
            None => d.file.to_string(),
        };
        if d.severity == Severity::Error {
            errors += 1;
        }
        let label = if d.severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        let _ = writeln!(anstream::stderr(), "{label}: {at}: {}", d.message);
    }
    if errors > 0 {
        anyhow::bail!(
            "cannot read the desired state from {}: {errors} problem(s) in the manifests (see above; `kubectl gitops validate` checks them)",
            desired.label
        );
    }
    Ok(desired)
}

/// How long `status` and `diff` let each API request take unless --request-timeout says.
pub const DEFAULT_TIMEOUT: &str = "30s";

pub fn runtime() -> anyhow::Result<AsyncRuntime> {
    // Two workers: the work is waiting on the API server (requests overlap through async
    // concurrency), but kube runs exec credential plugins synchronously inside a request, and
    // the timeout must be able to fire on another worker while one is stuck in a plugin.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map(|rt| AsyncRuntime(Some(rt)))
        .context("cannot start the async runtime")
}

/// The async runtime of a cluster command. Dropping it does not wait for tasks still running:
/// a request abandoned on a timeout may be stuck in a credential plugin that never returns.
pub struct AsyncRuntime(Option<tokio::runtime::Runtime>);

impl AsyncRuntime {
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.0
            .as_ref()
            .expect("the runtime lives until dropped")
            .block_on(future)
    }
}

impl Drop for AsyncRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

pub fn warn_all(warnings: &[String]) {
    let mut err = anstream::stderr().lock();
    let style = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    for w in warnings {
        let _ = writeln!(err, "{style}warning:{style:#} {w}");
    }
}

fn sync_style(sync: Sync) -> anstyle::Style {
    use anstyle::AnsiColor::*;
    let color = match sync {
        Sync::Synced => Green,
        Sync::OutOfSync => Yellow,
        Sync::Missing | Sync::Unknown => Red,
        Sync::Extra => Magenta,
        Sync::Ignored => BrightBlack,
    };
    anstyle::Style::new().fg_color(Some(color.into()))
}

fn health_style(state: State) -> anstyle::Style {
    use anstyle::AnsiColor::*;
    let color = match state {
        State::Healthy => Green,
        State::Progressing | State::Suspended => Yellow,
        State::Degraded => Red,
    };
    anstyle::Style::new().fg_color(Some(color.into()))
}

fn sync_text(sync: Sync) -> &'static str {
    match sync {
        Sync::Synced => "Synced",
        Sync::OutOfSync => "OutOfSync",
        Sync::Missing => "Missing",
        Sync::Extra => "Extra",
        Sync::Unknown => "Unknown",
        Sync::Ignored => "Ignored",
    }
}

fn health_text(state: State) -> &'static str {
    match state {
        State::Healthy => "Healthy",
        State::Progressing => "Progressing",
        State::Degraded => "Degraded",
        State::Suspended => "Suspended",
    }
}

/// The fleet at a glance: one row per app, one column per cluster, each cell the app's worst
/// sync state there and the images it runs.
fn write_fleet(out: &mut dyn Write, reports: &[StatusReport]) -> std::io::Result<()> {
    let apps: std::collections::BTreeSet<&str> = reports
        .iter()
        .flat_map(|r| &r.objects)
        .filter_map(|o| o.app.as_deref())
        .collect();
    let rank = |s: Sync| match s {
        Sync::Synced | Sync::Ignored => 0,
        Sync::Extra => 1,
        Sync::OutOfSync => 2,
        Sync::Unknown => 3,
        Sync::Missing => 4,
    };
    let plain = anstyle::Style::new();
    let bold = anstyle::Style::new().bold();
    let mut rows: Vec<Vec<(String, anstyle::Style)>> = Vec::new();
    let mut header = vec![("APP".to_string(), bold)];
    header.extend(reports.iter().map(|r| (r.context.clone(), bold)));
    rows.push(header);
    for app in apps {
        let mut row = vec![(app.to_string(), plain)];
        for r in reports {
            let objects: Vec<_> = r
                .objects
                .iter()
                .filter(|o| o.app.as_deref() == Some(app))
                .collect();
            let worst = objects.iter().map(|o| o.sync).max_by_key(|s| rank(*s));
            let mut images: Vec<&str> = objects
                .iter()
                .flat_map(|o| o.images.iter().map(String::as_str))
                .collect();
            images.sort_unstable();
            images.dedup();
            row.push(match worst {
                Some(sync) => {
                    let mut cell = sync_text(sync).to_string();
                    if !images.is_empty() {
                        cell.push(' ');
                        cell.push_str(&super::short_digests(&images.join(",")));
                    }
                    (cell, sync_style(sync))
                }
                None => ("-".to_string(), plain),
            });
        }
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].0.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        write_row(out, row, &widths)?;
    }
    Ok(())
}

/// Cells padded to column widths; styles wrap the text, padding stays outside.
fn write_row(
    out: &mut dyn Write,
    cells: &[(String, anstyle::Style)],
    widths: &[usize],
) -> std::io::Result<()> {
    let mut line = String::new();
    for (i, (text, style)) in cells.iter().enumerate() {
        let last = i + 1 == cells.len();
        line.push_str(&format!("{style}{text}{style:#}"));
        if !last {
            let pad = widths[i].saturating_sub(text.chars().count()) + 2;
            line.push_str(&" ".repeat(pad));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

fn write_text(
    out: &mut dyn Write,
    desired: &Desired,
    reports: &[StatusReport],
    summary: &Summary,
) -> anyhow::Result<()> {
    let bold = anstyle::Style::new().bold();
    let plain = anstyle::Style::new();
    for report in reports {
        writeln!(
            out,
            "{bold}Context{bold:#} {} ({}), desired state {}",
            report.context, report.server, desired.label
        )?;
        writeln!(out)?;
        if report.objects.is_empty() {
            writeln!(out, "No objects in scope.")?;
        } else {
            let header = [
                "KIND",
                "NAMESPACE",
                "NAME",
                "SYNC",
                "HEALTH",
                "IMAGES",
                "DETAILS",
            ];
            let rows: Vec<Vec<(String, anstyle::Style)>> = report
                .objects
                .iter()
                .map(|o| {
                    let details = match o.sync {
                        Sync::OutOfSync => {
                            let shown: Vec<String> = o
                                .drifted
                                .iter()
                                .take(3)
                                .map(|f| match o.changed_by.iter().find(|w| w.field == *f) {
                                    Some(w) => format!("{f} (changed by {})", w.describe()),
                                    None => f.clone(),
                                })
                                .collect();
                            let more = o.drifted.len().saturating_sub(3);
                            let mut d = format!("differs: {}", shown.join(", "));
                            if more > 0 {
                                d.push_str(&format!(" (+{more})"));
                            }
                            d
                        }
                        _ => o
                            .reason
                            .clone()
                            .or_else(|| {
                                o.health
                                    .as_ref()
                                    .filter(|h| h.state != State::Healthy)
                                    .map(|h| h.message.clone())
                            })
                            .or_else(|| {
                                (!o.ignored.is_empty())
                                    .then(|| format!("ignores {}", o.ignored.join(", ")))
                            })
                            .unwrap_or_default(),
                    };
                    vec![
                        (o.kind.clone(), plain),
                        (o.namespace.clone().unwrap_or_else(|| "-".into()), plain),
                        (o.name.clone(), plain),
                        (sync_text(o.sync).to_string(), sync_style(o.sync)),
                        match &o.health {
                            Some(h) => (health_text(h.state).to_string(), health_style(h.state)),
                            None => ("-".to_string(), plain),
                        },
                        (
                            if o.images.is_empty() {
                                "-".to_string()
                            } else {
                                super::short_digests(&o.images.join(",")).into_owned()
                            },
                            plain,
                        ),
                        (details, plain),
                    ]
                })
                .collect();
            let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
            for row in &rows {
                for (i, (text, _)) in row.iter().enumerate() {
                    widths[i] = widths[i].max(text.chars().count());
                }
            }
            let header_cells: Vec<(String, anstyle::Style)> =
                header.iter().map(|h| (h.to_string(), bold)).collect();
            write_row(out, &header_cells, &widths)?;
            for row in &rows {
                write_row(out, row, &widths)?;
            }
        }
        for c in &report.controllers {
            let ctl = &c.controller;
            writeln!(out)?;
            let paths = if ctl.paths.is_empty() {
                String::new()
            } else {
                let shown: Vec<&str> = ctl
                    .paths
                    .iter()
                    .map(|p| if p.is_empty() { "." } else { p.as_str() })
                    .collect();
                format!("  path {}", shown.join(", "))
            };
            writeln!(
                out,
                "{bold}{} {}/{}{bold:#}{paths}",
                ctl.kind.label(),
                ctl.namespace,
                ctl.name
            )?;
            match (&ctl.source, &ctl.source_url) {
                (Some(source), Some(url)) => writeln!(out, "  source   {source} ({url})")?,
                (Some(source), None) => writeln!(out, "  source   {source}")?,
                (None, Some(url)) => writeln!(out, "  source   {url}")?,
                (None, None) => {}
            }
            let mut state = Vec::new();
            if let Some(ready) = &ctl.ready {
                state.push(match ctl.kind {
                    cluster::controllers::ControllerKind::FluxKustomization => {
                        format!("Ready={ready}")
                    }
                    cluster::controllers::ControllerKind::ArgoApplication => ready.clone(),
                });
            }
            if let Some(health) = &ctl.health {
                state.push(health.clone());
            }
            writeln!(
                out,
                "  applied  {}{}",
                ctl.applied_revision.as_deref().unwrap_or("(none)"),
                if state.is_empty() {
                    String::new()
                } else {
                    format!("  {}", state.join(", "))
                }
            )?;
            if !ctl.conditions.is_empty() {
                writeln!(out, "  state    {}", ctl.conditions.join(", "))?;
            }
            if ctl.suspended {
                writeln!(
                    out,
                    "  suspended: nothing is applied until it is resumed (flux resume)"
                )?;
            }
            if let Some(failing) = &ctl.failing_revision {
                writeln!(out, "  failing  {failing} does not apply")?;
            }
            if !ctl.waiting_for.is_empty() {
                writeln!(
                    out,
                    "  waiting  for {} to be Ready",
                    ctl.waiting_for.join(", ")
                )?;
            }
            if let Some(operation) = &ctl.operation {
                writeln!(out, "  last sync {operation}")?;
            }
            if ctl.automated == Some(false) {
                writeln!(
                    out,
                    "  sync     manual (no syncPolicy.automated): Argo CD applies only when asked"
                )?;
            }
            if let Some(message) = &ctl.message {
                writeln!(out, "  message  {}", message.lines().next().unwrap_or(""))?;
            }
            if let Some(fetched) = &ctl.fetched_revision
                && Some(fetched) != ctl.applied_revision.as_ref()
            {
                writeln!(out, "  fetched  {fetched} (not applied yet)")?;
            }
            match &c.pending {
                Pending::Known { commits, behind } => {
                    if commits.is_empty() {
                        writeln!(out, "  pending  none: {} is applied", desired.label)?;
                    } else {
                        writeln!(out, "  pending  {} commit(s) not applied:", commits.len())?;
                        for commit in commits.iter().take(20) {
                            writeln!(
                                out,
                                "    {}  {}  {}  {}",
                                &commit.sha[..7],
                                &commit.date[..10],
                                commit.author,
                                commit.subject
                            )?;
                        }
                        if commits.len() > 20 {
                            writeln!(out, "    ... and {} more", commits.len() - 20)?;
                        }
                    }
                    if *behind > 0 {
                        writeln!(
                            out,
                            "  note     the controller applied {behind} commit(s) that {} does not have (git fetch?)",
                            desired.label
                        )?;
                    }
                }
                Pending::NotInClone { commit } => writeln!(
                    out,
                    "  pending  unknown: applied revision {} not in this clone (git fetch?)",
                    &commit[..commit.len().min(12)]
                )?,
                Pending::NoRevision => {
                    writeln!(out, "  pending  unknown: no applied revision reported")?
                }
            }
        }
        writeln!(out)?;
    }
    if reports.len() > 1 {
        write_fleet(out, reports)?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} synced, {} out of sync, {} missing, {} extra{}",
        summary.synced,
        summary.out_of_sync,
        summary.missing,
        summary.extra,
        if summary.unknown > 0 {
            format!(", {} unknown kind", summary.unknown)
        } else {
            String::new()
        }
    )?;
    Ok(())
}
