//! The optional `.gitops.yaml` at the repository root. Everything works without it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const FILE_NAME: &str = ".gitops.yaml";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// Named apps: a path in the repository and where it is deployed.
    #[serde(default)]
    pub apps: Vec<App>,
    /// Which kube context each cluster is compared with: a Flux cluster entry directory
    /// (`clusters/staging`) or an Argo CD destination (`in-cluster`, a server URL).
    #[serde(default)]
    pub clusters: Vec<ClusterContext>,
    #[serde(default)]
    pub validation: ValidationConfig,
    #[serde(default)]
    pub live: LiveConfig,
}

/// How `status` and `diff` read the cluster.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LiveConfig {
    /// Field managers whose changes are expected (a webhook that injects a sidecar, an
    /// operator that owns a field): the fields they last wrote are not drift. Autoscalers
    /// writing `replicas` through the `scale` subresource always are expected.
    #[serde(default)]
    pub expected_managers: Vec<String>,
    /// What sidecar injectors add to pods (containers, volumes, annotations, labels) that is
    /// not drift: the known injectors' (Istio, Linkerd, Vault Agent, Dapr) unless
    /// `defaults: false`, and the names listed here.
    #[serde(default)]
    pub injected: InjectedConfig,
    /// The namespace Argo CD runs in, where its `argocd-cm` (system-wide ignore rules) is
    /// read [default: argocd].
    #[serde(default)]
    pub argocd_namespace: Option<String>,
}

/// `live.injected`: names a sidecar injector gives what it adds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InjectedConfig {
    /// Use the known injectors' names (false: only those listed here).
    #[serde(default = "yes")]
    pub defaults: bool,
    /// Containers and init containers.
    #[serde(default)]
    pub containers: Vec<String>,
    /// Volumes (and their mounts in the app's containers).
    #[serde(default)]
    pub volumes: Vec<String>,
    /// Pod annotation keys.
    #[serde(default)]
    pub annotations: Vec<String>,
    /// Pod label keys.
    #[serde(default)]
    pub labels: Vec<String>,
}

impl Default for InjectedConfig {
    fn default() -> Self {
        InjectedConfig {
            defaults: true,
            containers: Vec::new(),
            volumes: Vec::new(),
            annotations: Vec::new(),
            labels: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterContext {
    /// The cluster as `kubectl gitops apps` names it.
    pub name: String,
    pub context: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct App {
    pub name: String,
    pub path: String,
    /// Namespace for objects without one.
    pub namespace: Option<String>,
    /// kubeconfig context the app is deployed with.
    pub context: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[derive(Default)]
pub struct ValidationConfig {
    /// Custom resources whose CRD is not in the repository are errors, not warnings.
    #[serde(default)]
    pub strict_crds: bool,
    /// Kinds not validated at all.
    #[serde(default)]
    pub skip_kinds: Vec<String>,
    #[serde(default)]
    pub policies: Policies,
    /// Directories or files with more CRDs (repository-relative), as `--crds` gives them.
    #[serde(default)]
    pub crds: Vec<String>,
    /// The Kubernetes version (`1.33`) the manifests are applied to, as
    /// `--kubernetes-version` gives it.
    #[serde(default)]
    pub kubernetes_version: Option<String>,
}

/// How seriously a policy finding is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Warning,
    Error,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policies {
    /// An image with no tag, or `:latest`.
    #[serde(default = "warning")]
    pub image_tag: Level,
    /// A container without `resources.limits`.
    #[serde(default = "warning")]
    pub resource_limits: Level,
}

fn warning() -> Level {
    Level::Warning
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            image_tag: Level::Warning,
            resource_limits: Level::Warning,
        }
    }
}

/// Why the config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The file is not valid YAML or has unknown or mistyped settings.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    /// Reads `.gitops.yaml` from `root`, or the defaults when there is none.
    pub fn load(root: &Path) -> Result<Config, ConfigError> {
        let path = root.join(FILE_NAME);
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: shown,
                    source,
                });
            }
        };
        Config::parse(&text, &shown)
    }

    /// Parses the text of a `.gitops.yaml` (`shown` names it in errors).
    pub fn parse(text: &str, shown: &str) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Invalid {
            path: shown.to_string(),
            message: e
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid")
                .to_string(),
        })
    }
}

/// The top of the git work tree containing `dir`, or `dir` itself outside a repository.
pub fn repo_root(dir: &Path) -> PathBuf {
    let start = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    git2::Repository::discover(start)
        .ok()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .unwrap_or_else(|| start.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_settings_parse_and_unknown_ones_are_refused() {
        let config = Config::parse(
            "live:\n  argocdNamespace: openshift-gitops\n  injected:\n    defaults: false\n    containers: [otel-agent]\n",
            ".gitops.yaml",
        )
        .expect("valid");
        assert_eq!(
            config.live.argocd_namespace.as_deref(),
            Some("openshift-gitops")
        );
        assert!(!config.live.injected.defaults);
        assert_eq!(config.live.injected.containers, ["otel-agent"]);
        assert!(
            Config::default().live.injected.defaults,
            "on unless turned off"
        );
        let err = Config::parse("live:\n  injected: {sidecars: [x]}\n", ".gitops.yaml")
            .expect_err("unknown key");
        assert!(err.to_string().contains("sidecars"), "{err}");
    }
}
