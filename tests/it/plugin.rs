//! The binary as a kubectl plugin: found by the real `kubectl` on PATH.

use std::path::Path;
use std::process::Command;

use crate::common::{bin_dir, stderr, stdout};

/// kubectl with PATH holding only a copy of the plugin and the system directories, as after an
/// install (cargo's target directory also holds `kubectl-gitops.d`, which kubectl would warn
/// about).
fn kubectl(plugin_dir: &Path) -> Command {
    // Copied once: executing a file right after writing it can fail with ETXTBSY ("text file
    // busy") while another test thread forks with the write still open.
    let plugin = plugin_dir.join("kubectl-gitops");
    if !plugin.exists() {
        std::fs::copy(bin_dir().join("kubectl-gitops"), &plugin).expect("copy the plugin");
    }
    let mut cmd = Command::new("kubectl");
    cmd.env(
        "PATH",
        format!("{}:/usr/local/bin:/usr/bin:/bin", plugin_dir.display()),
    )
    .env("NO_COLOR", "1")
    .env("KUBECONFIG", "/dev/null");
    cmd
}

#[test]
fn kubectl_finds_and_runs_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let kubectl = || kubectl(dir.path());
    let out = kubectl()
        .args(["plugin", "list"])
        .output()
        .expect("kubectl is installed");
    let listed = stdout(&out);
    assert!(
        listed.contains("kubectl-gitops"),
        "{listed}\n{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));

    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let out = kubectl()
        .args(["gitops", "validate"])
        .arg(&examples)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("valid"), "{}", stdout(&out));

    let out = kubectl().args(["gitops", "--help"]).output().unwrap();
    assert!(
        stdout(&out).contains("Usage: kubectl gitops"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_missing_kubectl_is_reported_for_kustomize_directories() {
    let repo = crate::common::Repo::new();
    repo.write("app/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let out = repo
        .run()
        .args(["validate", "app"])
        .env("PATH", "/nonexistent")
        .env_remove("KUBECTL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("app/kustomization.yaml: not rendered: kubectl is needed"),
        "{text}"
    );
}
