//! `kubectl gitops validate`: offline validation of manifests.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{GlobalArgs, Outcome};
use crate::apps;
use crate::config::{self, Config};
use crate::manifest::{FileSet, LoadOptions};
use crate::validate::{self, report};

/// A path the user gave as a repository path (`""` for the root).
fn repo_path(root: &std::path::Path, path: &std::path::Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    abs.strip_prefix(&root)
        .map(|p| crate::manifest::kustomize::normalize(&p.to_string_lossy()))
        .unwrap_or_default()
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    /// GitHub Actions workflow commands (`::error file=...,line=...::message`).
    Github,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// Validate manifests offline: YAML, Kubernetes schemas, CRDs in the repo, duplicates,
/// names and labels, selectors, and policies.
///
/// Exit status: 0 valid (warnings allowed), 1 invalid, 2 could not run.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops validate\n  kubectl gitops validate apps/ clusters/prod -o json\n  kubectl gitops validate --strict-crds -o junit > report.xml"
)]
pub struct ValidateArgs {
    /// Files or directories to validate (default: the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Format,
    /// Treat custom resources whose CRD is not in the manifests as errors.
    #[arg(long)]
    pub strict_crds: bool,
    /// Do not render kustomize and Helm directories (their files are skipped).
    #[arg(long)]
    pub no_render: bool,
    /// Kinds to skip (repeatable), in addition to `validation.skipKinds` in .gitops.yaml.
    #[arg(long = "skip-kind", value_name = "KIND")]
    pub skip_kinds: Vec<String>,
    /// More CRDs (repeatable): files or directories of CRDs, `kubectl get crd -o yaml` output,
    /// or a controller's release manifests (other kinds in them are ignored). Added to
    /// `validation.crds` in .gitops.yaml; a CRD in the manifests themselves wins.
    #[arg(long = "crds", value_name = "DIR", value_hint = clap::ValueHint::AnyPath)]
    pub crds: Vec<PathBuf>,
    /// Read the CRDs installed in the cluster of the current kubeconfig context (cached under
    /// .git/kubectl-gitops/ until one changes), and its Kubernetes version.
    #[arg(long)]
    pub crds_from_cluster: bool,
    /// The Kubernetes version the manifests are for (`1.33`): apiVersions it no longer or not
    /// yet serves are errors, deprecated ones warnings [default: validation.kubernetesVersion,
    /// else the cluster's with --crds-from-cluster, else the built-in 1.37].
    #[arg(long, value_name = "X.Y")]
    pub kubernetes_version: Option<String>,
    #[command(flatten)]
    pub connect: super::ConnectArgs,
}

/// The CRDs and Kubernetes version of the cluster, from its API (the CRDs from the cache
/// when none changed since they were read).
fn from_cluster(
    connect: &super::ConnectArgs,
    cache: Option<&Path>,
) -> anyhow::Result<(crate::validate::crd::External, Option<String>)> {
    use crate::validate::sources;
    const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let options = connect.options(None, super::status::DEFAULT_TIMEOUT)?;
    let runtime = super::status::runtime()?;
    let (crds, version) = runtime.block_on(async {
        let cluster = crate::cluster::Cluster::connect(&options).await?;
        let doing = "reading the cluster's version";
        let version = cluster
            .get("/version", doing)
            .await
            .map_err(|e| e.fatal(doing))?;
        let doing = "listing the cluster's CRDs";
        let meta = cluster
            .get_metadata(CRDS, doing)
            .await
            .map_err(|e| e.fatal(doing))?;
        let mut versions: Vec<(String, String)> = meta
            .get("items")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .map(|i| {
                let field = |k: &str| {
                    i.pointer(&format!("/metadata/{k}"))
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                (field("name"), field("resourceVersion"))
            })
            .collect();
        versions.sort();
        let key = sources::cluster_key(&cluster.context, &cluster.server, &versions);
        let crds = match sources::cluster_cached(cache, &key) {
            Some(crds) => crds,
            None => {
                let list = cluster.get(CRDS, doing).await.map_err(|e| e.fatal(doing))?;
                sources::cluster_crds(&list, &cluster.context, cache, &key)
            }
        };
        let minor = version
            .get("minor")
            .and_then(serde_json::Value::as_str)
            .map(|m| format!("1.{m}"));
        Ok::<_, crate::cluster::ClusterError>((crds, minor))
    })?;
    Ok((
        crate::validate::crd::External {
            crds,
            notes: Vec::new(),
        },
        version,
    ))
}

/// Outside a repository, paths read from `base` are shown as the user gave `base`
/// (`/tmp/x/apps/web.yaml`, not `apps/web.yaml`); inside one they stay repo-relative.
fn shown_as_given(report: &mut validate::Report, base: &Path) {
    let prefix = base.display().to_string();
    if prefix.is_empty() || prefix == "." {
        return;
    }
    let join = |p: &str| -> std::sync::Arc<str> {
        if p.is_empty() {
            prefix.as_str().into()
        } else {
            format!("{}/{p}", prefix.trim_end_matches('/')).into()
        }
    };
    for d in &mut report.diagnostics {
        d.file = join(&d.file);
    }
    for f in &mut report.files {
        *f = join(f);
    }
}

pub fn run(args: ValidateArgs, _global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    // The repository around the first path; outside one, the directory given (never more
    // than was asked for).
    let first = &paths[0];
    let base = if first.is_dir() {
        first.as_path()
    } else {
        first.parent().unwrap_or(first)
    };
    let root = config::repo_root(base);
    let in_repo = git2::Repository::discover(&root).is_ok_and(|r| r.workdir().is_some());
    let config =
        Config::load(&root).context("the .gitops.yaml settings are invalid; fix or remove them")?;
    let mut validation = config.validation.clone();
    validation.strict_crds |= args.strict_crds;
    validation.skip_kinds.extend(args.skip_kinds);

    // CRDs from outside the manifests: .gitops.yaml's (repository-relative), --crds, the
    // cluster. A path that does not exist is a mistake in the flags, not in the manifests.
    let mut crd_paths: Vec<PathBuf> = validation.crds.iter().map(|d| root.join(d)).collect();
    crd_paths.extend(args.crds.iter().cloned());
    if let Some(missing) = crd_paths.iter().find(|p| !p.exists()) {
        anyhow::bail!(
            "--crds {}: no such file or directory (give a directory or file of CRDs)",
            missing.display()
        );
    }
    let cache = validate::sources::cache_dir(&root);
    let mut external = validate::sources::from_dirs(&crd_paths, cache.as_deref());
    let mut cluster_version = None;
    if args.crds_from_cluster {
        let (cluster, version) = from_cluster(&args.connect, cache.as_deref())
            .context("cannot read the CRDs of the cluster (--crds-from-cluster)")?;
        external.crds.extend(cluster.crds);
        cluster_version = version;
    }
    if let Some(v) = args
        .kubernetes_version
        .or(cluster_version.filter(|_| validation.kubernetes_version.is_none()))
    {
        validation.kubernetes_version = Some(v);
    }
    if let Some(v) = &validation.kubernetes_version
        && validate::versions::parse(v).is_none()
    {
        anyhow::bail!("--kubernetes-version {v:?}: give a Kubernetes 1.x release such as 1.33");
    }

    // A repository with controller objects or .gitops.yaml apps is validated app by app (a
    // base through its overlays, objects as their controller renders them); a plain tree of
    // manifests is read in one streaming pass, as given. Whether a file names a controller is
    // learnt in that same pass: it stops at the first such file, and the apps take over.
    let given = FileSet::from_paths(&paths);
    let plain = if config.apps.is_empty() {
        validate::validate_files(
            &given,
            &LoadOptions {
                render: !args.no_render,
                only: None,
                stop_at: Some(apps::may_hold_controller),
            },
            &validation,
            &external,
        )
    } else {
        None
    };
    let report = match plain {
        Some(report) => report,
        None => {
            let listing = FileSet::from_root(&root);
            let remotes = git2::Repository::discover(&root)
                .map(|r| apps::repo::remotes_of(&r))
                .unwrap_or_default();
            let scope = paths
                .iter()
                .map(|p| repo_path(&root, p))
                .collect::<Vec<_>>();
            let options = apps::Options {
                changed: None,
                no_render: args.no_render,
                scope: if scope.iter().any(String::is_empty) {
                    Vec::new()
                } else {
                    scope
                },
            };
            let set = apps::load(&listing, &remotes, &config, &options);
            let mut report = validate::validate(&set.manifests, &validation, &external);
            if !in_repo {
                shown_as_given(&mut report, base);
            }
            report
        }
    };

    let mut out = anstream::stdout().lock();
    match args.output {
        Format::Text => report::write_text(&report, &mut out)?,
        Format::Json => report::write_json(&report, &mut out)?,
        Format::Junit => report::write_junit(&report, &mut out)?,
        Format::Github => report::write_github(&report, &mut out)?,
        Format::Sarif => report::write_sarif(&report, &mut out)?,
    }
    Ok(if report.errors() > 0 {
        Outcome::NotClean
    } else {
        Outcome::Clean
    })
}
