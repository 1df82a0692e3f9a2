//! Hooks: install/uninstall, and the pre-push hook run by a real `git push` to a bare remote.

use std::os::unix::fs::PermissionsExt;

use crate::common::{Repo, deployment, git, git_output, stderr, stdout};

const BROKEN: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: three
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
";

/// A repository with a bare remote `origin`, hooks installed, and one good commit pushed.
fn pushed_repo() -> (Repo, Repo) {
    let remote = Repo::bare();
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.run().args(["hooks", "install"]).assert().success();
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.27"));
    repo.commit_all("add web");
    let out = git_output(repo.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "first push: {}", stderr(&out));
    (repo, remote)
}

fn remote_head(remote: &Repo, branch: &str) -> Option<String> {
    let out = git_output(remote.path(), &["rev-parse", "--verify", "--quiet", branch]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn install_keeps_a_foreign_hook_and_uninstall_restores_it() {
    let repo = Repo::new();
    let hooks = repo.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let legacy_script = "#!/bin/sh\necho \"legacy $*\" >> \"$(git rev-parse --git-dir)/legacy.log\"\ncat >> \"$(git rev-parse --git-dir)/legacy.log\"\n";
    std::fs::write(hooks.join("pre-push"), legacy_script).unwrap();
    std::fs::set_permissions(
        hooks.join("pre-push"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();

    let out = repo.run().args(["hooks", "install"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push.legacy")).unwrap(),
        legacy_script
    );
    let shim = std::fs::read_to_string(hooks.join("pre-push")).unwrap();
    assert!(shim.contains("kubectl-gitops hook shim"));
    assert!(hooks.join("post-merge").exists());
    let mode = std::fs::metadata(hooks.join("pre-push"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "hook must be executable");

    // Idempotent: a second install writes nothing, says so, and keeps the legacy hook.
    let out = repo.run().args(["hooks", "install"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "pre-push: unchanged in .git/hooks\npost-merge: unchanged in .git/hooks\n"
    );
    // A shim whose text differs (an older version) is rewritten.
    std::fs::write(
        hooks.join("post-merge"),
        "#!/bin/sh\n# kubectl-gitops hook shim\n",
    )
    .unwrap();
    let out = repo.run().args(["hooks", "install"]).output().unwrap();
    assert!(
        stdout(&out).contains("post-merge: updated in .git/hooks"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push.legacy")).unwrap(),
        legacy_script
    );

    // The legacy hook runs first with the same arguments and stdin.
    let remote = Repo::bare();
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.27"));
    let sha = repo.commit_all("add web");
    let out = git_output(repo.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = std::fs::read_to_string(repo.path().join(".git/legacy.log")).unwrap();
    assert!(log.starts_with("legacy origin "), "{log}");
    assert!(
        log.contains(&format!("refs/heads/main {sha} refs/heads/main")),
        "{log}"
    );

    let out = repo.run().args(["hooks", "uninstall"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).unwrap(),
        legacy_script
    );
    assert!(!hooks.join("pre-push.legacy").exists());
    assert!(!hooks.join("post-merge").exists());
}

#[test]
fn hooks_path_inside_the_repo_is_used_and_outside_is_refused() {
    let repo = Repo::new();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    repo.run()
        .args(["hooks", "install", "--pre-push"])
        .assert()
        .success();
    assert!(repo.path().join(".githooks/pre-push").exists());
    assert!(!repo.path().join(".githooks/post-merge").exists());

    let shared = tempfile::tempdir().unwrap();
    repo.git(&["config", "core.hooksPath", shared.path().to_str().unwrap()]);
    let out = repo.run().args(["hooks", "install"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("outside this repository") && err.contains("--force"),
        "{err}"
    );
    assert!(!shared.path().join("pre-push").exists());
    repo.run()
        .args(["hooks", "install", "--force"])
        .assert()
        .success();
    assert!(shared.path().join("pre-push").exists());
}

#[test]
fn broken_push_is_rejected_and_good_push_goes_through() {
    let (repo, remote) = pushed_repo();
    let good = remote_head(&remote, "main").unwrap();

    repo.write("apps/web.yaml", BROKEN);
    repo.commit_all("break web");
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("apps/web.yaml:6: Deployment/web: spec.replicas: expected an integer"),
        "{err}"
    );
    assert!(err.contains("push rejected"), "{err}");
    assert_eq!(
        remote_head(&remote, "main").unwrap(),
        good,
        "remote must not move"
    );

    // The escape hatch.
    let out = git_output(
        repo.path(),
        &["push", "-q", "--no-verify", "origin", "main"],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    repo.write("apps/web.yaml", &deployment("web", "nginx:1.28"));
    let fixed = repo.commit_all("fix web");
    let out = git_output(repo.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(remote_head(&remote, "main").unwrap(), fixed);
}

#[test]
fn the_pushed_commit_is_checked_not_the_working_tree() {
    let (repo, _remote) = pushed_repo();
    repo.write("apps/web.yaml", BROKEN);
    repo.commit_all("break web");
    // Fixed on disk but not committed: the push still sends the broken commit.
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.28"));
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success(), "a broken commit must be rejected");

    repo.git(&["checkout", "--", "."]);
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.29"));
    repo.commit_all("fix");
    // Broken on disk but not committed: the pushed commit is fine.
    repo.write("apps/web.yaml", BROKEN);
    let out = git_output(repo.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn new_branch_force_push_and_deletion() {
    let (repo, remote) = pushed_repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("apps/api.yaml", BROKEN.replace("web", "api").as_str());
    repo.commit_all("broken api");
    let out = git_output(repo.path(), &["push", "origin", "feature"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("apps/api.yaml:6"), "{}", stderr(&out));
    assert_eq!(remote_head(&remote, "feature"), None);

    // A new branch whose commits the remote already has sends nothing new.
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "copy"]);
    let out = git_output(repo.path(), &["push", "-q", "origin", "copy"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Rewriting history: the force push is checked against what the remote had.
    repo.write("apps/web.yaml", BROKEN);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--amend", "-m", "rewrite"]);
    let out = git_output(repo.path(), &["push", "--force", "origin", "main"]);
    assert!(
        !out.status.success(),
        "force push of a broken commit must be rejected"
    );
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.30"));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--amend", "-m", "rewrite again"]);
    let out = git_output(repo.path(), &["push", "-q", "--force", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = git_output(repo.path(), &["push", "-q", "origin", "--delete", "copy"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(remote_head(&remote, "copy"), None);

    // Tags pointing at good commits go through.
    repo.git(&["tag", "-a", "v1", "-m", "release"]);
    let out = git_output(repo.path(), &["push", "-q", "origin", "v1"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn changes_are_checked_with_what_they_affect() {
    let (repo, _remote) = pushed_repo();
    // A CRD in one file, its custom resource in another directory.
    repo.write(
        "crds/widget.yaml",
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
",
    );
    repo.write(
        "apps/widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n",
    );
    repo.write("base/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.write(
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: \"1\"}\n",
    );
    repo.write(
        "overlays/prod/kustomization.yaml",
        "resources: [../../base]\nnamePrefix: prod-\n",
    );
    repo.commit_all("crd, widget, kustomize");
    let out = git_output(repo.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Only the custom resource changes; its CRD (unchanged) must still be used.
    repo.write("apps/widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1, colour: red}\n");
    repo.commit_all("bad widget");
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("spec.colour: unknown field"),
        "{}",
        stderr(&out)
    );
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);

    // Only the CRD changes (size becomes a string): the unchanged widget is checked again.
    let crd = repo
        .read("crds/widget.yaml")
        .replace("size: {type: integer}", "size: {type: string}");
    repo.write("crds/widget.yaml", &crd);
    repo.commit_all("crd change");
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("apps/widget.yaml"),
        "{}",
        stderr(&out)
    );
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);

    // A base change breaks the overlay built on it.
    repo.write(
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: 1}\n",
    );
    repo.commit_all("bad base");
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("base/cm.yaml") && err.contains("data.a: expected a string"),
        "{err}"
    );
}

#[test]
fn a_duplicate_of_an_unchanged_file_in_the_same_directory_is_rejected() {
    let (repo, _remote) = pushed_repo();
    repo.write(
        "apps/other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
    );
    repo.commit_all("settings");
    let out = git_output(repo.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));

    repo.write(
        "apps/more.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\n",
    );
    repo.commit_all("same object again");
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ConfigMap/settings is defined twice") && err.contains("apps/more.yaml"),
        "{err}"
    );

    // The same object in a sibling directory (another apply unit) is fine.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.write(
        "overlays/prod/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
    );
    repo.commit_all("prod settings");
    let out = git_output(repo.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn hook_refuses_garbage_input_with_exit_2() {
    let repo = Repo::new();
    let out = repo
        .run()
        .args(["hook", "pre-push", "origin", "url"])
        .write_stdin("not four fields\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unexpected pre-push input"),
        "{}",
        stderr(&out)
    );
    let _ = git;
}

#[test]
fn a_file_name_with_a_newline_is_checked() {
    let (repo, remote) = pushed_repo();
    let good = remote_head(&remote, "main").unwrap();
    repo.write("apps/bad\nname.yaml", BROKEN);
    repo.commit_all("a broken manifest with a newline in its name");
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("spec.replicas: expected an integer") && err.contains("push rejected"),
        "{err}"
    );
    assert_eq!(remote_head(&remote, "main").unwrap(), good);
}

#[test]
fn a_symlinked_manifest_is_checked_as_its_target_in_the_pushed_commit() {
    let (repo, remote) = pushed_repo();
    let good = remote_head(&remote, "main").unwrap();
    // The target sits in a hidden directory, which is never listed on its own: only the
    // symlink's name brings it into the check, as `validate` (which follows links) sees it.
    repo.write(".shared/web.yaml", BROKEN);
    std::os::unix::fs::symlink("../.shared/web.yaml", repo.path().join("apps/linked.yaml"))
        .unwrap();
    repo.commit_all("a symlink to a broken manifest");
    let validate = repo.run().args(["validate"]).output().unwrap();
    assert_eq!(validate.status.code(), Some(1), "{}", stdout(&validate));
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("apps/linked.yaml:6: Deployment/web: spec.replicas: expected an integer"),
        "{err}"
    );
    assert_eq!(remote_head(&remote, "main").unwrap(), good);

    // Pointing outside the repository: nothing in the commit to check, and the hook says so.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    std::os::unix::fs::symlink(
        "../../elsewhere/web.yaml",
        repo.path().join("apps/out.yaml"),
    )
    .unwrap();
    repo.commit_all("a symlink out of the repository");
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("apps/out.yaml")
            && err.contains("outside the repository: not checked")
            && err.contains("warning"),
        "{err}"
    );
}
