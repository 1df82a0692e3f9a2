//! `kubectl gitops doctor`: is everything kubectl-gitops relies on in place?

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anstyle::{AnsiColor, Style};
use clap::Args;
use kube::config::KubeconfigError;
use serde::Serialize;

use super::{ConnectArgs, Outcome, version};
use crate::cluster::client::{Cluster, ClusterError, ConnectOptions};
use crate::hooks::manager::{Owner, husky_scripts, owner_at};

pub use super::TextOrJson as Format;

/// Check the tools and settings kubectl-gitops relies on: the plugin and its completion on
/// PATH, git, kubectl and its kustomize, helm, this repository's hooks, and the kubeconfig
/// context and whether its cluster answers.
///
/// Exit status: 0 when the essentials (git, kubectl with kustomize, and the kubeconfig and its
/// cluster when --kubeconfig or --context is given) are fine, warnings allowed; 1 when one is
/// missing.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops doctor\n  kubectl gitops doctor --context prod -o json",
    mut_arg("request_timeout", |a| a.help(
        "How long the cluster may take to answer (`5s`, `500ms`, `2m`; `0` waits forever) [default: 5s]"
    ))
)]
pub struct DoctorArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Format,
    #[command(flatten)]
    pub cluster: ConnectArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report. In JSON: `{"name", "status": "ok"|"warn"|"fail", "required",
/// "detail", "hint"?}`.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// A failed required check makes doctor exit 1; other failures are reported only.
    pub required: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            required: false,
            detail: detail.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Check {
        self.hint = Some(hint.into());
        self
    }

    fn required(mut self) -> Check {
        self.required = true;
        self
    }
}

/// The JSON shape of `doctor -o json`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// False when a required check failed (exit status 1).
    pub ok: bool,
    pub checks: Vec<Check>,
}

pub fn run(args: DoctorArgs) -> anyhow::Result<Outcome> {
    let mut checks = vec![plugin(), completion(), git()];
    checks.extend(kubectl());
    checks.push(helm());
    checks.extend(hooks());
    let options = args.cluster.options(None, DEFAULT_TIMEOUT)?;
    checks.extend(kubeconfig(&args.cluster, options));
    let ok = !checks
        .iter()
        .any(|c| c.required && c.status == Status::Fail);
    let report = Report { ok, checks };

    let mut out = anstream::stdout().lock();
    match args.output {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => write_text(&report, &mut out)?,
    }
    Ok(if ok {
        Outcome::Clean
    } else {
        Outcome::NotClean
    })
}

fn write_text(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for check in &report.checks {
        let (style, mark) = match check.status {
            Status::Ok => (Style::new().fg_color(Some(AnsiColor::Green.into())), "ok  "),
            Status::Warn => (
                Style::new().fg_color(Some(AnsiColor::Yellow.into())),
                "warn",
            ),
            Status::Fail => (
                Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
                "FAIL",
            ),
        };
        writeln!(
            out,
            "{style}{mark}{style:#}  {:width$}  {}",
            check.name, check.detail
        )?;
        if let Some(hint) = &check.hint {
            writeln!(out, "      {:width$}  hint: {hint}", "")?;
        }
    }
    let count = |status| report.checks.iter().filter(|c| c.status == status).count();
    let (warnings, failures) = (count(Status::Warn), count(Status::Fail));
    if report.ok {
        let notes = match (warnings, failures) {
            (0, 0) => String::new(),
            (w, 0) => format!(" ({w} warning{})", plural(w)),
            (w, f) => format!(
                " ({w} warning{}, {f} optional check{} failed)",
                plural(w),
                plural(f)
            ),
        };
        writeln!(out, "\nThe essentials are in place{notes}.")
    } else {
        writeln!(
            out,
            "\nSomething kubectl-gitops needs is missing: see the FAIL lines above."
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The first executable called `name` on PATH, as a shell would find it.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Runs a program and returns its trimmed stdout; `Err` says why it could not.
fn output_of(program: &str, args: &[&str]) -> Result<String, String> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(out) => Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message")
                .trim()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{program} is not on PATH"))
        }
        Err(e) => Err(format!("cannot run {program}: {e}")),
    }
}

/// Whether `kubectl gitops` resolves to this binary.
fn plugin() -> Check {
    let info = version::info();
    let me = std::env::current_exe().ok();
    let about = format!("{} ({})", info.version, info.git_commit);
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    match (find_on_path("kubectl-gitops"), me) {
        (Some(found), Some(me)) if same(&found, &me) => Check::new(
            "kubectl-gitops",
            Status::Ok,
            format!("{about} at {}", found.display()),
        ),
        (Some(found), _) => Check::new(
            "kubectl-gitops",
            Status::Warn,
            format!(
                "{about}, but `kubectl gitops` runs {} (first on PATH)",
                found.display()
            ),
        )
        .hint("remove the other copy, or put this one's directory first on PATH"),
        (None, _) => Check::new(
            "kubectl-gitops",
            Status::Warn,
            format!("{about}, not on PATH: `kubectl gitops` cannot find it"),
        )
        .hint("run ./install.sh, or add the binary's directory to PATH"),
    }
}

/// kubectl completes `kubectl gitops <TAB>` through this executable.
fn completion() -> Check {
    match find_on_path("kubectl_complete-gitops") {
        Some(found) => Check::new("completion", Status::Ok, found.display().to_string()),
        None => Check::new(
            "completion",
            Status::Warn,
            "kubectl_complete-gitops is not on PATH: `kubectl gitops <TAB>` completes nothing",
        )
        .hint("install.sh installs it next to the plugin (kubectl 1.26 or later uses it)"),
    }
}

fn git() -> Check {
    match output_of("git", &["--version"]) {
        Ok(version) => Check::new("git", Status::Ok, version).required(),
        Err(e) => Check::new("git", Status::Fail, e)
            .required()
            .hint("install git: hooks, history, bump and rollback need it"),
    }
}

/// kubectl, and the kustomize built into it (what renders kustomize directories).
fn kubectl() -> [Check; 2] {
    let program = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let json = match output_of(&program, &["version", "--client", "-o", "json"]) {
        Ok(text) => serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| format!("`{program} version` printed something unexpected: {e}")),
        Err(e) => Err(e),
    };
    let json = match json {
        Ok(json) => json,
        Err(e) => {
            return [
                Check::new("kubectl", Status::Fail, e)
                    .required()
                    .hint("install kubectl (https://kubernetes.io/docs/tasks/tools/) or set KUBECTL to its path"),
                Check::new(
                    "kustomize",
                    Status::Fail,
                    "comes with kubectl (`kubectl kustomize`), which is missing",
                )
                .required(),
            ];
        }
    };
    let client = &json["clientVersion"];
    let version = client["gitVersion"].as_str().unwrap_or("unknown version");
    let minor = client["minor"]
        .as_str()
        .and_then(|m| m.trim_end_matches('+').parse::<u32>().ok());
    let kubectl = match (client["major"].as_str(), minor) {
        (Some("1"), Some(minor)) if minor < 26 => Check::new(
            "kubectl",
            Status::Warn,
            format!("{version}: plugin completion needs kubectl 1.26 or later"),
        )
        .required(),
        _ => Check::new("kubectl", Status::Ok, version).required(),
    };
    let kustomize = match json["kustomizeVersion"].as_str() {
        Some(v) => Check::new("kustomize", Status::Ok, format!("{v} (kubectl kustomize)")),
        None => Check::new(
            "kustomize",
            Status::Fail,
            format!("{program} did not report a kustomize version"),
        )
        .hint("kustomize directories need `kubectl kustomize`: upgrade kubectl"),
    }
    .required();
    [kubectl, kustomize]
}

fn helm() -> Check {
    let program = std::env::var("HELM").unwrap_or_else(|_| "helm".into());
    match output_of(&program, &["version", "--short"]) {
        Ok(version) => Check::new("helm", Status::Ok, version),
        Err(e) => Check::new(
            "helm",
            Status::Warn,
            format!("{e}: Helm charts are skipped by validate and diff"),
        )
        .hint("install helm (https://helm.sh/docs/intro/install/) or set HELM to its path"),
    }
}

/// The state of the pre-push and post-merge hooks of the repository around the current
/// directory, where git runs them from (`git rev-parse --git-path hooks`, so `core.hooksPath`
/// and worktrees count).
fn hooks() -> Vec<Check> {
    let dir = match output_of("git", &["rev-parse", "--git-path", "hooks"]) {
        Ok(dir) => PathBuf::from(dir),
        Err(_) if find_on_path("git").is_none() => {
            return vec![Check::new(
                "hooks",
                Status::Warn,
                "git is not on PATH, so the hooks cannot be checked",
            )];
        }
        Err(_) => {
            return vec![
                Check::new(
                    "hooks",
                    Status::Warn,
                    "not in a git repository, so no hooks to check",
                )
                .hint("run doctor inside your GitOps repository (or pass -C DIR)"),
            ];
        }
    };
    let framework_config = output_of("git", &["rev-parse", "--show-toplevel"])
        .ok()
        .and_then(|top| {
            std::fs::read_to_string(Path::new(&top).join(".pre-commit-config.yaml")).ok()
        })
        .is_some_and(|config| config.contains("kubectl-gitops"));
    ["pre-push", "post-merge"]
        .into_iter()
        .map(|hook| hook_check(&dir, hook, framework_config))
        .collect()
}

fn hook_check(dir: &Path, hook: &'static str, framework_config: bool) -> Check {
    let name = match hook {
        "pre-push" => "pre-push hook",
        _ => "post-merge hook",
    };
    let path = dir.join(hook);
    let shown = path.display();
    let install = "kubectl gitops hooks install";
    let legacy = dir.join(format!("{hook}.legacy"));
    if let Some(scripts) = husky_scripts(dir) {
        return husky_check(name, hook, &path, &scripts.join(hook));
    }
    let Some(owner) = owner_at(&path) else {
        return Check::new(name, Status::Warn, format!("not installed ({shown})")).hint(install);
    };
    if !is_executable(&path) {
        return Check::new(
            name,
            Status::Warn,
            format!("{shown} is not executable, so git skips it"),
        )
        .hint(format!("chmod +x {shown}"));
    }
    match owner {
        Owner::Ours => chained_check(name, hook, &path, &legacy),
        Owner::Framework(f) if owner_at(&legacy) == Some(Owner::Ours) => {
            Check::new(
                name,
                Status::Ok,
                format!("installed as {hook}.legacy, which {f} runs before its own hooks ({shown})"),
            )
        }
        Owner::Framework(f) if framework_config => Check::new(
            name,
            Status::Ok,
            format!("run by {f} from .pre-commit-config.yaml ({shown})"),
        ),
        Owner::Framework(f) => Check::new(
            name,
            Status::Warn,
            format!("a {f} hook that does not run kubectl-gitops ({shown})"),
        )
        .hint(format!(
            "{install} (it takes the {hook}.legacy place {f} runs), or add the kubectl-gitops hooks to .pre-commit-config.yaml (see README)"
        )),
        Owner::Lefthook if owner_at(&dir.join(format!("{hook}.old"))) == Some(Owner::Ours) => {
            Check::new(
                name,
                Status::Warn,
                format!(
                    "lefthook re-installed its hook ({shown}) and moved the kubectl-gitops hook aside as {hook}.old, so it no longer runs"
                ),
            )
            .hint(format!("{install} chains lefthook's hook again"))
        }
        Owner::Husky => Check::new(
            name,
            Status::Warn,
            format!("a husky hook that runs by its file name and does not run kubectl-gitops ({shown})"),
        )
        .hint(format!("add `kubectl-gitops hook {hook}` to your husky configuration, or upgrade to husky 9")),
        Owner::Foreign if runs_us(&path) => Check::new(
            name,
            Status::Ok,
            format!("a hook that runs kubectl-gitops ({shown})"),
        ),
        Owner::Lefthook | Owner::Foreign => Check::new(
            name,
            Status::Warn,
            format!("another hook is installed ({}: {shown})", owner.name()),
        )
        .hint(format!(
            "{install} keeps it as {hook}.legacy and runs it first"
        )),
    }
}

/// A hand-written hook that calls the hook entry point itself.
fn runs_us(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| {
        let text = String::from_utf8_lossy(&b);
        text.contains("kubectl-gitops hook") || text.contains("kubectl gitops hook")
    })
}

/// Our shim at `path`: does the hook it chains still run?
fn chained_check(name: &'static str, hook: &str, path: &Path, legacy: &Path) -> Check {
    let shown = path.display();
    let repair = "kubectl gitops hooks install (it repairs this)";
    match owner_at(legacy) {
        None => Check::new(name, Status::Ok, format!("installed ({shown})")),
        Some(Owner::Husky) => Check::new(
            name,
            Status::Fail,
            format!(
                "{hook}.legacy is husky's dispatcher, which only runs under its own name: the husky {hook} hook no longer runs"
            ),
        )
        .hint(repair),
        Some(Owner::Framework(f)) => Check::new(
            name,
            Status::Fail,
            format!(
                "{hook}.legacy is {f}'s hook, which fails when renamed (it runs {hook}.legacy, itself): {f}'s hooks no longer run"
            ),
        )
        .hint(repair),
        Some(_) if !is_executable(legacy) => Check::new(
            name,
            Status::Warn,
            format!("installed ({shown}); {hook}.legacy is not executable, so it does not run"),
        )
        .hint(format!("chmod +x {}", legacy.display())),
        Some(_) => Check::new(
            name,
            Status::Ok,
            format!("installed ({shown}, runs {hook}.legacy first)"),
        ),
    }
}

/// husky owns the hooks directory; git runs `stub` (v9: `.husky/_/<hook>`, which runs
/// `script`; v5-v8: the script itself).
fn husky_check(name: &'static str, hook: &str, stub: &Path, script: &Path) -> Check {
    if owner_at(stub) == Some(Owner::Ours) {
        let legacy = stub.with_file_name(format!("{hook}.legacy"));
        return chained_check(name, hook, stub, &legacy);
    }
    if stub != script && !stub.is_file() {
        return Check::new(
            name,
            Status::Warn,
            format!("husky has no {} for git to run", stub.display()),
        )
        .hint("run `npx husky` (or npm install) to set husky's hooks up again");
    }
    let ours = std::fs::read_to_string(script)
        .is_ok_and(|text| crate::hooks::manager::block_range(&text, hook).is_some());
    if ours {
        Check::new(
            name,
            Status::Ok,
            format!("installed in {}, which husky runs", script.display()),
        )
    } else {
        Check::new(
            name,
            Status::Warn,
            format!(
                "husky runs {}, which does not run kubectl-gitops",
                script.display()
            ),
        )
        .hint("kubectl gitops hooks install (it adds the check to husky's script)")
    }
}

/// How long doctor waits for the cluster unless `--request-timeout` says otherwise: it is a
/// quick check, not a command that has to get through a slow link.
const DEFAULT_TIMEOUT: &str = "5s";

/// The kubeconfig context and whether its API server answers `/version`, through the same
/// client `status` and `diff` use. Both are required only when the user named them: the
/// Git-side commands work without a cluster.
fn kubeconfig(global: &ConnectArgs, options: ConnectOptions) -> Vec<Check> {
    let asked = global.kubeconfig.is_some() || !global.contexts.is_empty();
    let mark = |check: Check| if asked { check.required() } else { check };
    let failed = if asked { Status::Fail } else { Status::Warn };
    let source = match &global.kubeconfig {
        Some(path) => path.display().to_string(),
        None => std::env::var("KUBECONFIG")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "~/.kube/config".into()),
    };
    let runtime = match super::status::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            return vec![mark(Check::new(
                "cluster",
                failed,
                format!("cannot start the async runtime: {e}"),
            ))];
        }
    };
    runtime.block_on(async {
        let cluster = match Cluster::connect(&options).await {
            Ok(cluster) => cluster,
            Err(ClusterError::Kubeconfig {
                source: KubeconfigError::ReadConfig(e, path),
                ..
            }) if e.kind() == std::io::ErrorKind::NotFound => {
                return vec![mark(
                    Check::new("kubeconfig", failed, format!("{} does not exist", path.display()))
                        .hint(NO_CLUSTER_NEEDED),
                )];
            }
            Err(e) => {
                return vec![mark(
                    Check::new("kubeconfig", failed, format!("{source}: {}", chain(&e)))
                        .hint(NO_CLUSTER_NEEDED),
                )];
            }
        };
        let kubeconfig = mark(Check::new(
            "kubeconfig",
            Status::Ok,
            format!(
                "context {} (namespace {}) from {source}",
                cluster.context, cluster.default_namespace
            ),
        ));
        let check = match cluster.get("/version", "asking for the server version").await {
            Ok(info) => Check::new(
                "cluster",
                Status::Ok,
                format!(
                    "{} answers: Kubernetes {}",
                    cluster.server,
                    info["gitVersion"].as_str().unwrap_or("(no version given)")
                ),
            ),
            Err(e) => Check::new("cluster", failed, chain(&e)).hint(format!(
                "check the network (VPN), the credentials and `kubectl --context {} version`; only status and diff need the cluster",
                cluster.context
            )),
        };
        vec![kubeconfig, mark(check)]
    })
}

const NO_CLUSTER_NEEDED: &str =
    "status and diff need a cluster; validate, bump, history and rollback do not";

/// An error and its causes on one line: the kube client's own message ("client error
/// (Connect)") says little without the cause underneath ("Connection refused").
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_framework_hook_is_the_frameworks_even_when_its_path_says_kubectl_gitops() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hook = dir.path().join("pre-push");
        std::fs::write(
            &hook,
            "#!/bin/sh\n# File generated by prek: https://github.com/j178/prek\nPREK=\"/home/me/.cache/kubectl-gitops/venv/bin/prek\"\n",
        )
        .expect("write hook");
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let check = hook_check(dir.path(), "pre-push", true);
        assert_eq!(check.status, Status::Ok);
        assert!(check.detail.starts_with("run by prek"), "{}", check.detail);
        let check = hook_check(dir.path(), "pre-push", false);
        assert_eq!(check.status, Status::Warn, "{}", check.detail);
    }
}
