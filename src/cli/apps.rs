//! `kubectl gitops apps`: the apps of the repository as its controllers see them, and
//! `kubectl gitops render`: what one app's controller would apply.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{Outcome, TextOrJson};
use crate::apps::{self, App, Options, Revision};
use crate::diagnostic::{Diagnostic, Severity};
use crate::diff::{compare, secret, yaml};

/// Where to read the apps from, for `apps` and `render`.
#[derive(Debug, Args)]
pub struct RevisionArgs {
    /// Git revision to read [default: the working tree for `apps`, HEAD for `render`].
    #[arg(long = "ref", value_name = "REV", conflicts_with = "working_tree")]
    pub reference: Option<String>,
    /// Read the files on disk, uncommitted changes included.
    #[arg(long)]
    pub working_tree: bool,
}

impl RevisionArgs {
    fn revision(&self, default_working_tree: bool) -> Revision {
        match (&self.reference, self.working_tree || default_working_tree) {
            (Some(r), _) => Revision::Ref(r.clone()),
            (None, true) => Revision::WorkingTree,
            (None, false) => Revision::Ref("HEAD".into()),
        }
    }
}

/// List the apps of the repository the way its controllers see them: Flux Kustomizations and
/// HelmReleases, Argo CD Applications (with those ApplicationSets and apps of apps make),
/// the apps of .gitops.yaml, and the directories no controller claims.
///
/// Exit status: 0 listed (problems are warnings), 2 could not run.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops apps\n  kubectl gitops apps --ref origin/main -o json"
)]
pub struct AppsArgs {
    #[command(flatten)]
    pub revision: RevisionArgs,
    /// Output format (the JSON shape is documented in README).
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: TextOrJson,
}

/// One app in `apps -o json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonApp<'a> {
    name: &'a str,
    controller: &'static str,
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    defined_in: Option<&'a str>,
    /// Repository path it is rendered from; absent when its source is elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a str>,
    /// The kubeconfig Secret a Flux object applies to a remote cluster with.
    #[serde(skip_serializing_if = "Option::is_none")]
    kube_config_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    renderer: &'static str,
    rendered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_rendered: Option<&'a str>,
    objects: usize,
    depends_on: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
    inputs: Vec<&'a str>,
    problems: Vec<JsonProblem<'a>>,
}

#[derive(Serialize)]
struct JsonProblem<'a> {
    severity: Severity,
    #[serde(skip_serializing_if = "str::is_empty")]
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    message: &'a str,
}

pub fn run_apps(args: AppsArgs) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let opened = apps::open(&cwd, &args.revision.revision(true), &Options::default())?;
    let set = &opened.apps;
    let mut counts = vec![0usize; set.apps.len()];
    for o in &set.manifests.objects {
        counts[o.unit] += 1;
    }
    // Problems by app (its own and what rendering it reported), then the rest.
    let problems: Vec<Vec<&Diagnostic>> = set
        .apps
        .iter()
        .map(|a| a.problems.iter().collect())
        .collect();
    let general: Vec<&Diagnostic> = set
        .manifests
        .diagnostics
        .iter()
        .filter(|d| !set.apps.iter().any(|a| a.problems.contains(d)))
        .collect();
    match args.output {
        TextOrJson::Json => {
            let list: Vec<JsonApp> = set
                .apps
                .iter()
                .enumerate()
                .map(|(i, a)| json_app(a, counts[i], &problems[i], &set.apps))
                .collect();
            let warnings: Vec<String> = general.iter().map(|d| describe(d)).collect();
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"revision": opened.label, "apps": list, "warnings": warnings}),
            )?;
            writeln!(out)?;
        }
        TextOrJson::Text => write_table(&set.apps, &counts, &problems)?,
    }
    if matches!(args.output, TextOrJson::Text) {
        let mut err = anstream::stderr().lock();
        for d in general.iter().filter(|d| d.severity == Severity::Error) {
            let _ = writeln!(err, "error: {}", describe(d));
        }
    }
    Ok(Outcome::Clean)
}

fn describe(d: &Diagnostic) -> String {
    match (d.file.is_empty(), d.line) {
        (true, _) => d.message.clone(),
        (false, Some(l)) => format!("{}:{l}: {}", d.file, d.message),
        (false, None) => format!("{}: {}", d.file, d.message),
    }
}

fn json_app<'a>(
    app: &'a App,
    objects: usize,
    problems: &[&'a Diagnostic],
    all: &'a [App],
) -> JsonApp<'a> {
    JsonApp {
        name: &app.name,
        controller: app.controller.as_str(),
        kind: &app.kind,
        defined_in: app.defined_in.as_deref(),
        path: app.path.as_deref(),
        cluster: app.cluster.as_deref(),
        context: app.context.as_deref(),
        kube_config_secret: app.remote.as_deref(),
        namespace: app.namespace.as_deref(),
        renderer: app.recipe.renderer(),
        rendered: app.rendered(),
        not_rendered: match &app.recipe {
            apps::Recipe::None { reason } => Some(reason),
            _ => None,
        },
        objects,
        depends_on: &app.depends_on,
        parent: app.parent.map(|p| all[p].name.as_str()),
        inputs: app.inputs.iter().map(String::as_str).collect(),
        problems: problems
            .iter()
            .map(|d| JsonProblem {
                severity: d.severity,
                file: &d.file,
                line: d.line,
                message: &d.message,
            })
            .collect(),
    }
}

fn write_table(
    apps: &[App],
    counts: &[usize],
    problems: &[Vec<&Diagnostic>],
) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    let rows: Vec<[String; 7]> = apps
        .iter()
        .enumerate()
        .map(|(i, a)| {
            [
                a.name.clone(),
                a.controller.as_str().to_string(),
                a.path
                    .clone()
                    .map_or("-".into(), |p| if p.is_empty() { ".".into() } else { p }),
                a.context
                    .clone()
                    .or_else(|| a.cluster.clone())
                    .unwrap_or_else(|| "-".into()),
                a.namespace.clone().unwrap_or_else(|| "-".into()),
                if a.rendered() {
                    format!("{} {}", a.recipe.renderer(), counts[i])
                } else {
                    "not rendered".into()
                },
                if a.depends_on.is_empty() {
                    "-".into()
                } else {
                    a.depends_on.join(",")
                },
            ]
        })
        .collect();
    let header = [
        "NAME",
        "CONTROLLER",
        "PATH",
        "CLUSTER",
        "NAMESPACE",
        "OBJECTS",
        "DEPENDS-ON",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let bold = anstyle::Style::new().bold();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{bold}{}{bold:#}", line(&header.map(String::from)))?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    let yellow = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    for (app, ps) in apps.iter().zip(problems) {
        let reason = match &app.recipe {
            apps::Recipe::None { reason } => {
                writeln!(out, "{yellow}{}{yellow:#}: {reason}", app.name)?;
                reason.as_str()
            }
            _ => "",
        };
        for p in ps.iter().filter(|p| !reason.ends_with(p.message.as_str())) {
            writeln!(out, "{yellow}{}{yellow:#}: {}", app.name, describe(p))?;
        }
    }
    writeln!(out, "{} apps", apps.len())?;
    Ok(())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RenderFormat {
    Yaml,
    Json,
}

/// Print the objects an app's controller would apply, like `flux build kustomization` and
/// `argocd app manifests --local`: kustomize builds with the controller's settings, charts,
/// Flux postBuild substitution and Argo CD Image Updater overrides. Secret values are masked.
///
/// APP is an app's name (see `kubectl gitops apps`) or any unique end of it.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops render clusters/staging/flux-system/apps\n  kubectl gitops render apps --working-tree\n  kubectl gitops render guestbook --ref HEAD~1 -o json"
)]
pub struct RenderArgs {
    /// Apps to render.
    #[arg(value_name = "APP", required = true)]
    pub apps: Vec<String>,
    #[command(flatten)]
    pub revision: RevisionArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    pub output: RenderFormat,
    /// Print Secret values instead of `***` (said on stderr).
    #[arg(long)]
    pub show_secrets: bool,
}

pub fn run_render(args: RenderArgs) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    // Names are resolved on a listing first, so only the asked-for apps are rendered.
    let revision = args.revision.revision(false);
    let listing = apps::open(
        &cwd,
        &revision,
        &Options {
            changed: Some(Default::default()),
            ..Options::default()
        },
    )?;
    // Plain apps appear in a full listing only (they are what is left over).
    let listing = if args
        .apps
        .iter()
        .all(|n| apps::find(&listing.apps.apps, n).is_ok())
    {
        listing
    } else {
        apps::open(&cwd, &revision, &Options::default())?
    };
    let mut wanted = Vec::new();
    let mut inputs = std::collections::BTreeSet::new();
    for name in &args.apps {
        let app = apps::find(&listing.apps.apps, name)?;
        wanted.push(app.name.clone());
        inputs.extend(app.inputs.iter().cloned());
        inputs.extend(app.defined_file.as_deref().map(str::to_string));
    }
    let opened = apps::open(
        &cwd,
        &revision,
        &Options {
            changed: Some(inputs),
            ..Options::default()
        },
    )?;
    if args.show_secrets {
        eprintln!("warning: --show-secrets: Secret values are printed");
    }
    let mut out = std::io::stdout().lock();
    let mut json_apps = BTreeMap::new();
    let mut errors = 0;
    for name in &wanted {
        let Some(index) = opened.apps.apps.iter().position(|a| &a.name == name) else {
            continue;
        };
        let app = &opened.apps.apps[index];
        if let apps::Recipe::None { reason } = &app.recipe {
            eprintln!("warning: app {name}: {reason}");
        }
        for d in &app.problems {
            if d.severity == Severity::Error {
                errors += 1;
            }
            eprintln!(
                "{}: {}",
                if d.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                },
                describe(d)
            );
        }
        let mut objects = Vec::new();
        for o in opened
            .apps
            .manifests
            .objects
            .iter()
            .filter(|o| o.unit == index)
        {
            let mut v = o.node.to_json();
            if !args.show_secrets {
                compare::fold_string_data(&mut v);
                secret::mask(&mut v);
            }
            objects.push(v);
        }
        match args.output {
            RenderFormat::Yaml => {
                writeln!(out, "# app: {name}")?;
                for v in &objects {
                    writeln!(out, "---")?;
                    write!(out, "{}", yaml::to_yaml(v))?;
                }
            }
            RenderFormat::Json => {
                json_apps.insert(name.clone(), objects);
            }
        }
    }
    if matches!(args.output, RenderFormat::Json) {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"revision": opened.label, "apps": json_apps}),
        )?;
        writeln!(out)?;
    }
    Ok(if errors > 0 {
        Outcome::NotClean
    } else {
        Outcome::Clean
    })
}
