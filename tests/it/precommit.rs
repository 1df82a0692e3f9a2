//! The hooks of `.pre-commit-hooks.yaml` run by the real pre-commit and the real prek (both
//! from PyPI; tests/run.sh installs them), as `repo: local` hooks of a temporary repository: a
//! broken manifest is blocked and a good one passes, at the pre-commit and the pre-push stage.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{Repo, deployment, git_cmd, stderr, stdout};

/// A hook framework: the program and the environment variable naming its cache directory.
#[derive(Clone, Copy)]
struct Framework {
    program: &'static str,
    home_var: &'static str,
}

const PRE_COMMIT: Framework = Framework {
    program: "pre-commit",
    home_var: "PRE_COMMIT_HOME",
};
const PREK: Framework = Framework {
    program: "prek",
    home_var: "PREK_HOME",
};

/// A temporary repository whose `.pre-commit-config.yaml` holds this project's hooks as
/// `repo: local` hooks, installed by the framework for the given hook types.
struct Setup {
    repo: Repo,
    framework: Framework,
    home: tempfile::TempDir,
}

impl Setup {
    fn new(framework: Framework, hook_types: &[&str]) -> Setup {
        let found = Command::new(framework.program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{} is not installed; ./tests/run.sh installs it (tests/requirements.txt) into a virtualenv and puts it on PATH",
            framework.program
        );
        let setup = Setup {
            repo: Repo::new(),
            framework,
            home: tempfile::tempdir().expect("temp dir"),
        };
        setup.repo.write(".pre-commit-config.yaml", &local_config());
        setup.repo.commit_all("hook configuration");
        let mut install = setup.cmd(framework.program);
        install.arg("install");
        for hook_type in hook_types {
            install.args(["--hook-type", hook_type]);
        }
        let out = install.output().expect("the framework runs");
        assert!(
            out.status.success(),
            "{} install: {}",
            framework.program,
            stderr(&out)
        );
        setup
    }

    /// A command in the repository with the built kubectl-gitops on PATH, git's test identity,
    /// and the framework's cache inside the test's temp dir.
    fn cmd(&self, program: &str) -> Command {
        let template = git_cmd(self.repo.path());
        let mut cmd = Command::new(program);
        cmd.current_dir(self.repo.path());
        for (key, value) in template.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.env(self.framework.home_var, self.home.path());
        cmd
    }

    fn git(&self, args: &[&str]) -> Output {
        self.cmd("git").args(args).output().expect("git runs")
    }
}

/// `.pre-commit-hooks.yaml` turned into a `repo: local` configuration: the same hook
/// definitions, inline.
fn local_config() -> String {
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .expect("read .pre-commit-hooks.yaml");
    let mut config = String::from("repos:\n  - repo: local\n    hooks:\n");
    for line in hooks.lines().filter(|l| !l.starts_with('#')) {
        config.push_str("      ");
        config.push_str(line);
        config.push('\n');
    }
    config
}

/// A kustomize base and an overlay whose patch is a partial Deployment: valid only rendered
/// with its kustomization, as every overlay in a GitOps repository is.
fn write_overlay(repo: &Repo) {
    repo.write(
        "kustomize/base/kustomization.yaml",
        "resources: [api.yaml]\n",
    );
    repo.write(
        "kustomize/base/api.yaml",
        &deployment("api", "ghcr.io/acme/api:2.0.0"),
    );
    repo.write(
        "kustomize/overlays/prod/kustomization.yaml",
        "resources: [../../base]\npatches:\n  - path: replicas.yaml\n",
    );
    repo.write(
        "kustomize/overlays/prod/replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 5\n",
    );
}

fn broken_deployment() -> String {
    deployment("web", "ghcr.io/acme/web:1.2.3").replace("replicas: 2", "replicas: two")
}

fn combined(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

fn head(setup: &Setup) -> String {
    setup.repo.git(&["rev-parse", "HEAD"])
}

fn commit_stage(framework: Framework) {
    let setup = Setup::new(framework, &["pre-commit"]);
    let before = head(&setup);

    setup.repo.write("apps/web.yaml", &broken_deployment());
    setup.repo.git(&["add", "-A"]);
    let out = setup.git(&["commit", "-m", "broken"]);
    let text = combined(&out);
    assert!(
        !out.status.success(),
        "the broken manifest was committed:\n{text}"
    );
    assert!(
        text.contains("apps/web.yaml:") && text.contains("spec.replicas"),
        "the report is missing:\n{text}"
    );
    assert_eq!(head(&setup), before, "no commit may be made");

    setup.repo.write(
        "apps/web.yaml",
        &deployment("web", "ghcr.io/acme/web:1.2.3"),
    );
    write_overlay(&setup.repo);
    setup.repo.git(&["add", "-A"]);
    let out = setup.git(&["commit", "-m", "good"]);
    assert!(
        out.status.success(),
        "the good manifest was blocked:\n{}",
        combined(&out)
    );
    assert!(
        combined(&out).contains("kubectl-gitops validate"),
        "{}",
        combined(&out)
    );
    // A change to one file of a kustomize directory renders the directory: the overlay's
    // partial patch is not checked as a manifest of its own.
    let patch = setup.repo.read("kustomize/overlays/prod/replicas.yaml");
    setup.repo.write(
        "kustomize/overlays/prod/replicas.yaml",
        &patch.replace("replicas: 5", "replicas: 4"),
    );
    setup.repo.git(&["add", "-A"]);
    let out = setup.git(&["commit", "-m", "scale prod"]);
    assert!(out.status.success(), "{}", combined(&out));
    assert_ne!(head(&setup), before);
}

fn push_stage(framework: Framework) {
    let setup = Setup::new(framework, &["pre-push"]);

    // doctor recognises the framework's hook as running kubectl-gitops.
    let out = setup
        .cmd("kubectl-gitops")
        .args(["doctor", "-o", "json"])
        .env("KUBECONFIG", setup.home.path().join("no-kubeconfig"))
        .output()
        .expect("kubectl-gitops runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let hook = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == "pre-push hook"))
        .expect("a pre-push hook check");
    assert_eq!(hook["status"], "ok", "{hook}");
    assert!(
        hook["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("run by {}", framework.program))),
        "{hook}"
    );
    let remote = Repo::bare();
    let remote_path: PathBuf = remote.path().to_path_buf();
    setup.repo.git(&[
        "remote",
        "add",
        "origin",
        remote_path.to_str().expect("utf-8 path"),
    ]);
    let out = setup.git(&["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "first push: {}", combined(&out));

    // --no-verify skips only git's own pre-commit stage here; the push is what is checked.
    setup.repo.write("apps/web.yaml", &broken_deployment());
    setup.repo.git(&["add", "-A"]);
    setup
        .repo
        .git(&["commit", "-q", "--no-verify", "-m", "broken"]);
    // Fixed on disk but not committed: the pushed commit is what counts.
    setup.repo.write(
        "apps/web.yaml",
        &deployment("web", "ghcr.io/acme/web:1.2.3"),
    );
    let out = setup.git(&["push", "origin", "main"]);
    let text = combined(&out);
    assert!(
        !out.status.success(),
        "the broken manifest was pushed:\n{text}"
    );
    assert!(
        text.contains("apps/web.yaml:") && text.contains("spec.replicas"),
        "the report is missing:\n{text}"
    );
    let remote_head = remote.git(&["rev-parse", "main"]);
    assert_ne!(
        remote_head,
        head(&setup),
        "the remote must not have the broken commit"
    );

    setup.repo.write(
        "apps/web.yaml",
        &deployment("web", "ghcr.io/acme/web:1.2.3"),
    );
    setup.repo.git(&["add", "-A"]);
    setup
        .repo
        .git(&["commit", "-q", "--no-verify", "-m", "fixed"]);
    let out = setup.git(&["push", "origin", "main"]);
    assert!(
        out.status.success(),
        "the good push was blocked:\n{}",
        combined(&out)
    );
    assert_eq!(remote.git(&["rev-parse", "main"]), head(&setup));
}

/// The post-merge recorder runs after a merge (no git input, no file names) and never fails it.
fn merge_stage(framework: Framework) {
    let setup = Setup::new(framework, &["post-merge"]);
    setup.repo.write(
        "apps/web.yaml",
        &deployment("web", "ghcr.io/acme/web:1.2.3"),
    );
    setup.repo.commit_all("web 1.2.3");
    setup.repo.git(&["checkout", "-q", "-b", "bump"]);
    setup.repo.write(
        "apps/web.yaml",
        &deployment("web", "ghcr.io/acme/web:1.2.4"),
    );
    setup.repo.commit_all("web 1.2.4");
    setup.repo.git(&["checkout", "-q", "main"]);
    let out = setup.git(&["merge", "--no-ff", "-m", "merge bump", "bump"]);
    let text = combined(&out);
    assert!(out.status.success(), "merge failed:\n{text}");
    assert!(
        text.contains("kubectl-gitops record image-tag bumps") && text.contains("Passed"),
        "the post-merge hook did not run:\n{text}"
    );
}

#[test]
fn pre_commit_blocks_a_broken_manifest_at_commit() {
    commit_stage(PRE_COMMIT);
}

#[test]
fn pre_commit_blocks_a_broken_manifest_at_push() {
    push_stage(PRE_COMMIT);
}

#[test]
fn prek_blocks_a_broken_manifest_at_commit() {
    commit_stage(PREK);
}

#[test]
fn prek_blocks_a_broken_manifest_at_push() {
    push_stage(PREK);
}

#[test]
fn pre_commit_runs_the_post_merge_recorder() {
    merge_stage(PRE_COMMIT);
}

#[test]
fn prek_runs_the_post_merge_recorder() {
    merge_stage(PREK);
}
