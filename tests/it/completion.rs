//! Completion: `kubectl_complete-gitops` called the way kubectl (>= 1.26) calls it, the real
//! kubectl's plugin completion on top of it, and the standalone `completion` scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Repo, bin, bin_dir, deployment, stderr, stdout};

/// A directory holding only `kubectl-gitops` and `kubectl_complete-gitops` (as install.sh
/// and krew lay them out). cargo's own target directory is no good on PATH for kubectl: it
/// reports `kubectl-gitops.d` (cargo's dependency file) as a broken plugin.
pub struct PluginDir {
    pub dir: tempfile::TempDir,
}

impl PluginDir {
    pub fn new() -> PluginDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(
            bin_dir().join("kubectl-gitops"),
            dir.path().join("kubectl-gitops"),
        )
        .expect("link the binary");
        std::os::unix::fs::symlink(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("kubectl_complete-gitops"),
            dir.path().join("kubectl_complete-gitops"),
        )
        .expect("link the completion script");
        PluginDir { dir }
    }

    /// PATH with this directory first.
    pub fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// `kubectl_complete-gitops WORDS...`, run from `cwd`, as kubectl runs it.
    pub fn complete(&self, cwd: &Path, words: &[&str]) -> Completion {
        let out = Command::new(self.dir.path().join("kubectl_complete-gitops"))
            .args(words)
            .current_dir(cwd)
            .env("PATH", self.path())
            .env_remove("KUBECONFIG")
            .output()
            .expect("kubectl_complete-gitops runs");
        assert!(out.status.success(), "failed: {}", stderr(&out));
        assert!(
            stderr(&out).is_empty(),
            "completion must not write to the terminal: {}",
            stderr(&out)
        );
        Completion::parse(&stdout(&out))
    }
}

/// cobra's completion output: candidates (`value<TAB>description`) and the directive.
#[derive(Debug)]
pub struct Completion {
    pub values: Vec<String>,
    pub directive: u32,
}

impl Completion {
    fn parse(out: &str) -> Completion {
        let lines: Vec<&str> = out.lines().collect();
        let (last, candidates) = lines.split_last().expect("at least the directive line");
        let directive = last
            .strip_prefix(':')
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("last line is not a :<directive>: {out:?}"));
        let values = candidates
            .iter()
            .map(|line| {
                assert!(!line.is_empty(), "an empty candidate line in {out:?}");
                line.split('\t').next().expect("a value").to_string()
            })
            .collect();
        Completion { values, directive }
    }

    fn has(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }
}

/// cobra's `ShellCompDirectiveNoFileComp`.
const NO_FILE_COMP: u32 = 4;
/// cobra's `ShellCompDirectiveDefault` (the shell may complete file names).
const DEFAULT: u32 = 0;

const KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster: {server: 'https://127.0.0.1:6443'}
users:
  - name: u
    user: {token: t}
contexts:
  - name: dev
    context: {cluster: c, user: u, namespace: team-dev}
  - name: prod-eu
    context: {cluster: c, user: u}
current-context: dev
";

#[test]
fn subcommands_and_flags() {
    let plugin = PluginDir::new();
    let repo = Repo::new();

    let top = plugin.complete(repo.path(), &[""]);
    for sub in ["validate", "hooks", "completion", "version", "doctor"] {
        assert!(top.has(sub), "{sub} missing from {top:?}");
    }
    assert!(
        !top.values.iter().any(|v| v.starts_with("__")),
        "hidden commands offered: {top:?}"
    );
    assert_eq!(top.directive, NO_FILE_COMP);

    let partial = plugin.complete(repo.path(), &["ver"]);
    assert_eq!(partial.values, ["version"]);

    let flags = plugin.complete(repo.path(), &["validate", "--"]);
    for flag in ["--output", "--strict-crds", "--repo"] {
        assert!(flags.has(flag), "{flag} missing from {flags:?}");
    }
    // validate talks to a cluster only for --crds-from-cluster, and never puts objects in one.
    assert!(!flags.has("--namespace"), "validate offers --namespace");
    assert_eq!(flags.directive, NO_FILE_COMP);
    let flags = plugin.complete(repo.path(), &["history", "--"]);
    for flag in ["--context", "--kubeconfig", "--namespace"] {
        assert!(!flags.has(flag), "history is offline, yet offers {flag}");
    }
    let flags = plugin.complete(repo.path(), &["status", "--"]);
    for flag in [
        "--context",
        "--kubeconfig",
        "--namespace",
        "--all-namespaces",
    ] {
        assert!(flags.has(flag), "{flag} missing from {flags:?}");
    }

    let output = plugin.complete(repo.path(), &["validate", "-o", ""]);
    assert_eq!(output.values, ["text", "json", "junit", "github", "sarif"]);
    let output = plugin.complete(repo.path(), &["version", "--output=j"]);
    assert_eq!(output.values, ["--output=json"]);

    let shells = plugin.complete(repo.path(), &["completion", ""]);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.has(shell), "{shell} missing from {shells:?}");
    }

    // Paths are left to the shell's file completion; directories only for -C.
    let paths = plugin.complete(repo.path(), &["validate", ""]);
    assert!(paths.values.is_empty(), "{paths:?}");
    assert_eq!(paths.directive, DEFAULT);
    assert_eq!(plugin.complete(repo.path(), &["-C", ""]).directive, 16);
}

#[test]
fn contexts_from_the_kubeconfig() {
    let plugin = PluginDir::new();
    let repo = Repo::new();
    repo.write("kubeconfig.yaml", KUBECONFIG);
    let kubeconfig = repo.path().join("kubeconfig.yaml");
    let kubeconfig = kubeconfig.to_str().expect("utf-8 temp path");

    let all = plugin.complete(
        repo.path(),
        &["status", "--kubeconfig", kubeconfig, "--context", ""],
    );
    assert_eq!(all.values, ["dev", "prod-eu"]);
    assert_eq!(all.directive, NO_FILE_COMP);

    let eq = plugin.complete(
        repo.path(),
        &["diff", "--kubeconfig", kubeconfig, "--context=pr"],
    );
    assert_eq!(eq.values, ["--context=prod-eu"]);

    // KUBECONFIG is honoured when --kubeconfig is not given.
    let out = Command::new(plugin.dir.path().join("kubectl_complete-gitops"))
        .args(["status", "--context", "d"])
        .current_dir(repo.path())
        .env("PATH", plugin.path())
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("runs");
    assert_eq!(stdout(&out), "dev\n:4\n");

    let namespaces = plugin.complete(
        repo.path(),
        &["status", "--kubeconfig", kubeconfig, "-n", ""],
    );
    assert!(namespaces.has("team-dev"), "{namespaces:?}");
}

#[test]
fn images_from_the_repository() {
    let plugin = PluginDir::new();
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.10"));
    repo.write(
        "apps/api.yaml",
        &deployment("api", "ghcr.io/acme/api:2.0.1"),
    );
    repo.write(
        "overlays/prod/kustomization.yaml",
        "resources: [../../apps]\nimages:\n  - name: ghcr.io/acme/web\n    newName: registry.example.com/web\n    newTag: '1.11'\n",
    );
    repo.commit_all("apps");
    let sub = repo.path().join("apps");

    for words in [
        &["bump", ""][..],
        &["history", "--image", ""],
        &["rollback", "--image", ""],
    ] {
        let answer = plugin.complete(&sub, words);
        assert_eq!(
            answer.values,
            [
                "ghcr.io/acme/api",
                "ghcr.io/acme/web",
                "registry.example.com/web"
            ],
            "{words:?}"
        );
        assert_eq!(answer.directive, NO_FILE_COMP);
    }
    let answer = plugin.complete(&sub, &["history", "--image=ghcr.io/acme/w"]);
    assert_eq!(answer.values, ["--image=ghcr.io/acme/web"]);

    // -C points at the repository from anywhere.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let repo_dir = repo.path().to_str().expect("utf-8 path");
    let answer = plugin.complete(elsewhere.path(), &["-C", repo_dir, "bump", "ghcr"]);
    assert_eq!(answer.values, ["ghcr.io/acme/api", "ghcr.io/acme/web"]);
}

/// The real kubectl finds `kubectl_complete-gitops` on PATH and passes our answer through.
#[test]
fn through_kubectl_plugin_completion() {
    let plugin = PluginDir::new();
    let repo = Repo::new();
    let out = Command::new("kubectl")
        .args(["__complete", "gitops", "valid"])
        .current_dir(repo.path())
        .env("PATH", plugin.path())
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs (Debian package kubernetes-client)");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("validate\t"), "{text}");
    assert!(text.ends_with(":4\n"), "{text}");

    let out = Command::new("kubectl")
        .args(["__complete", "gitops", "validate", "--strict"])
        .current_dir(repo.path())
        .env("PATH", plugin.path())
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs");
    assert!(
        stdout(&out).starts_with("--strict-crds\t"),
        "{}",
        stdout(&out)
    );
}

fn script(shell: &str) -> String {
    let out = bin()
        .args(["completion", shell])
        .output()
        .expect("binary runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.trim().is_empty(), "empty {shell} script");
    assert!(
        !text.contains("__complete"),
        "{shell} script offers the hidden command"
    );
    text
}

#[test]
fn standalone_bash_script_completes_subcommands_and_their_options() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join("kubectl-gitops.bash");
    std::fs::write(&path, script("bash")).expect("write script");

    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash runs");
    assert!(syntax.status.success(), "bash -n: {}", stderr(&syntax));

    // Drive the completion function the way bash's `complete -F` does.
    let drive = r#"
        source "$1"
        fn=$(complete -p kubectl-gitops | sed 's/.* -F \([^ ]*\) .*/\1/')
        COMP_WORDS=(kubectl-gitops ver); COMP_CWORD=1
        "$fn" kubectl-gitops ver kubectl-gitops
        echo "top: ${COMPREPLY[*]}"
        COMP_WORDS=(kubectl-gitops validate -o ""); COMP_CWORD=3
        "$fn" kubectl-gitops "" -o
        echo "output: ${COMPREPLY[*]}"
        COMP_WORDS=(kubectl-gitops validate --strict); COMP_CWORD=2
        "$fn" kubectl-gitops --strict validate
        echo "flag: ${COMPREPLY[*]}"
    "#;
    let out = Command::new("bash")
        .args(["-c", drive, "drive"])
        .arg(&path)
        .output()
        .expect("bash runs");
    assert_eq!(
        stdout(&out),
        "top: version\noutput: text json junit github sarif\nflag: --strict-crds\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn standalone_zsh_and_fish_scripts() {
    let zsh = script("zsh");
    assert!(zsh.starts_with("#compdef kubectl-gitops"), "{zsh}");
    assert!(
        zsh.contains("'validate:"),
        "no subcommands in the zsh script"
    );
    let fish = script("fish");
    assert!(fish.contains("complete -c kubectl-gitops"), "{fish}");
    assert!(
        fish.contains("-a \"validate\""),
        "no subcommands in the fish script"
    );

    let bad = bin()
        .args(["completion", "tcsh"])
        .output()
        .expect("binary runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("tcsh"), "{}", stderr(&bad));
}
