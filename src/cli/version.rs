//! `kubectl gitops version`: what this binary is, for bug reports and CI logs.

use std::io::Write;

use clap::Args;
use serde::Serialize;

use super::Outcome;
use crate::validate::builtin::KUBERNETES_VERSION;

pub use super::TextOrJson as Format;

/// Print the version, the commit it was built from, and the Kubernetes version whose
/// schemas `validate` checks against.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Format,
}

/// The JSON shape of `version -o json` (stable: fields are only ever added).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    /// The crate version, e.g. `0.1.0`.
    pub version: &'static str,
    /// Short commit hash the binary was built from, or `unknown` outside a git checkout.
    pub git_commit: &'static str,
    /// Kubernetes minor version of the built-in schemas, e.g. `1.37`.
    pub kubernetes_version: &'static str,
    /// Rust target triple the binary was built for.
    pub platform: &'static str,
}

pub fn info() -> VersionInfo {
    VersionInfo {
        version: env!("CARGO_PKG_VERSION"),
        git_commit: env!("KUBECTL_GITOPS_GIT_COMMIT"),
        kubernetes_version: KUBERNETES_VERSION,
        platform: env!("KUBECTL_GITOPS_TARGET"),
    }
}

pub fn run(args: VersionArgs) -> anyhow::Result<Outcome> {
    let info = info();
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Text => {
            writeln!(out, "kubectl-gitops {}", info.version)?;
            writeln!(out, "git commit:  {}", info.git_commit)?;
            writeln!(
                out,
                "kubernetes:  {} (built-in schemas used by validate)",
                info.kubernetes_version
            )?;
            writeln!(out, "platform:    {}", info.platform)?;
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &info)?;
            writeln!(out)?;
        }
    }
    Ok(Outcome::Clean)
}
