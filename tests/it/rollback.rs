//! `kubectl gitops rollback`: reverts, partial reverts, tag switches, refusals, conflicts that
//! leave everything as it was, automation warnings, and pushing.

use crate::common::{Repo, deployment, git_output, stderr, stdout};

const WEB: &str = "ghcr.io/acme/web";

/// init (web 1.0), then a bump to 1.1 with `bump --commit`, then a hand bump to 1.2.
fn bumped() -> Repo {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.write("README.md", "docs\n");
    repo.commit_all("init");
    repo.run()
        .args(["bump", WEB, "1.1", "--commit"])
        .assert()
        .success();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.2"));
    repo.commit_all("web 1.2");
    repo
}

/// What must not change when a rollback fails or is refused.
fn state(repo: &Repo) -> (String, String) {
    (
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        repo.git(&["rev-parse", "HEAD"]),
    )
}

#[test]
fn reverts_the_newest_bump_with_trailers() {
    let repo = bumped();
    let bump_commit = repo.git(&["rev-parse", "HEAD"]);
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        repo.read("apps/web.yaml")
            .contains("image: ghcr.io/acme/web:1.1\n")
    );
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert_eq!(
        message,
        format!(
            "Revert \"web 1.2\"\n\nThis reverts commit {bump_commit}.\n\nRollback-Of: {bump_commit}\nImage-Bump: ghcr.io/acme/web 1.2 -> 1.1"
        )
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert!(
        stdout(&out).contains("the commit is local; push it when ready"),
        "{}",
        stdout(&out)
    );
    // The next rollback goes further back instead of undoing the rollback.
    repo.run().args(["rollback", "--yes"]).assert().success();
    assert!(
        repo.read("apps/web.yaml")
            .contains("image: ghcr.io/acme/web:1.0\n")
    );
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no image bump to roll back"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dry_run_shows_the_exact_diff_and_changes_nothing() {
    let repo = bumped();
    let before = state(&repo);
    let out = repo.run().args(["rollback", "--dry-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "-          image: ghcr.io/acme/web:1.2\n+          image: ghcr.io/acme/web:1.1\n"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(state(&repo), before);
}

#[test]
fn a_conflicting_revert_leaves_everything_as_it_was() {
    let repo = bumped();
    let first_bump = repo.git(&["rev-parse", "HEAD~1"]);
    repo.write("notes.txt", "untracked\n");
    let before = state(&repo);
    let out = repo
        .run()
        .args(["rollback", &first_bump, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("conflicts with later changes in apps/web.yaml"),
        "{err}"
    );
    assert!(err.contains("--image ghcr.io/acme/web --to 1.0"), "{err}");
    assert_eq!(state(&repo), before);
}

#[test]
fn a_failing_commit_hook_restores_index_tree_and_head() {
    let repo = bumped();
    let hook = repo.path().join(".git/hooks/pre-commit");
    crate::common::write_script(&hook, "#!/bin/sh\necho refused by policy >&2\nexit 1\n");
    repo.write("notes.txt", "untracked\n");
    let before = state(&repo);
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the working tree, index and HEAD are as they were"),
        "{err}"
    );
    assert!(err.contains("refused by policy"), "{err}");
    assert_eq!(state(&repo), before);
    assert!(!repo.path().join(".git/REVERT_HEAD").exists());
}

#[test]
fn refuses_dirty_trees_detached_heads_and_merges_in_progress() {
    let repo = bumped();
    repo.write("README.md", "changed\n");
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("uncommitted changes in README.md; commit or stash them first: git stash"),
        "{}",
        stderr(&out)
    );
    repo.git(&["checkout", "-q", "README.md"]);

    repo.git(&["checkout", "-q", "--detach"]);
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("HEAD is detached; switch to the branch to roll back first: git switch"),
        "{}",
        stderr(&out)
    );
    repo.git(&["checkout", "-q", "main"]);

    repo.git(&["checkout", "-q", "-b", "side", "HEAD~1"]);
    repo.write("README.md", "side\n");
    repo.commit_all("side readme");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "main\n");
    repo.commit_all("main readme");
    let _ = git_output(repo.path(), &["merge", "side"]);
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("a merge is in progress; finish or abort it first: git merge --abort"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn image_flag_reverts_only_that_image() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.write("apps/api.yaml", &deployment("api", "ghcr.io/acme/api:2.0"));
    repo.commit_all("init");
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.1"));
    repo.write("apps/api.yaml", &deployment("api", "ghcr.io/acme/api:2.1"));
    let both = repo.commit_all("release");
    let out = repo
        .run()
        .args([
            "rollback",
            "--image",
            "ghcr.io/acme/api",
            "--yes",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "partial-revert");
    assert_eq!(v["reverted"]["commit"], both.as_str());
    assert_eq!(v["bumps"][0]["old"], "2.1");
    assert_eq!(v["bumps"][0]["new"], "2.0");
    assert_eq!(
        v["commit"].as_str().unwrap(),
        repo.git(&["rev-parse", "HEAD"])
    );
    assert!(repo.read("apps/api.yaml").contains("api:2.0"));
    assert!(repo.read("apps/web.yaml").contains("web:1.1"));
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("Revert \"release\"\n\nThis reverts commit "),
        "{message}"
    );
    assert!(
        message.contains("Only the change to ghcr.io/acme/api is reverted"),
        "{message}"
    );
    assert!(
        message.ends_with("Image-Bump: ghcr.io/acme/api 2.1 -> 2.0"),
        "{message}"
    );
}

#[test]
fn tag_switch_writes_a_new_bump_commit() {
    let repo = bumped();
    repo.write(
        "apps/other.yaml",
        "kind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
    );
    repo.commit_all("unrelated later work");
    let out = repo
        .run()
        .args(["rollback", "--image", WEB, "--to", "1.0", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(repo.read("apps/web.yaml").contains("web:1.0\n"));
    assert!(repo.path().join("apps/other.yaml").exists());
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("Roll back ghcr.io/acme/web to 1.0\n"),
        "{message}"
    );
    assert!(
        message.contains("Image-Bump: ghcr.io/acme/web 1.2 -> 1.0"),
        "{message}"
    );
    assert!(message.contains("Rollback-Of: "), "{message}");
}

#[test]
fn automation_bumps_warn_and_pin_removes_the_setter() {
    let repo = Repo::new();
    let at = |tag: &str| {
        deployment(
            "web",
            &format!("ghcr.io/acme/web:{tag} # {{\"$imagepolicy\": \"flux-system:web\"}}"),
        )
    };
    repo.write("apps/web.yaml", &at("1.0"));
    repo.commit_all("init");
    repo.write("apps/web.yaml", &at("1.1"));
    repo.git(&["add", "-A"]);
    repo.git(&[
        "-c",
        "user.name=fluxcdbot",
        "-c",
        "user.email=fluxcdbot@users.noreply.github.com",
        "commit",
        "-q",
        "--author",
        "fluxcdbot <fluxcdbot@users.noreply.github.com>",
        "-m",
        "Update from image update automation",
    ]);
    let out = repo.run().args(["rollback", "--dry-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("image automation may bump ghcr.io/acme/web again"),
        "{err}"
    );
    assert!(err.contains("fluxcdbot"), "{err}");
    assert!(err.contains("rerun with --pin"), "{err}");

    let out = repo
        .run()
        .args(["rollback", "--pin", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = repo.read("apps/web.yaml");
    assert!(
        text.contains("image: ghcr.io/acme/web:1.0 # pinned by kubectl-gitops rollback (was imagepolicy flux-system:web)\n"),
        "{text}"
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn push_sends_the_branch_to_its_remote() {
    let remote = Repo::bare();
    let repo = bumped();
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "-u", "origin", "main"]);
    let out = repo
        .run()
        .args(["rollback", "--yes", "--push"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("pushed to origin main"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        crate::common::git(remote.path(), &["rev-parse", "main"]),
        repo.git(&["rev-parse", "HEAD"])
    );
    // Without --push the command to run is printed.
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert!(
        stdout(&out).contains("push it with: git push origin HEAD:main"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_refused_push_says_why_and_what_to_do() {
    let remote = Repo::bare();
    let repo = bumped();
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "-u", "origin", "main"]);
    // A pre-push hook of the user's refuses.
    let hook = repo.path().join(".git/hooks/pre-push");
    crate::common::write_script(&hook, "#!/bin/sh\necho blocked by policy >&2\nexit 1\n");
    let out = repo
        .run()
        .args(["rollback", "--yes", "--push"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("blocked by policy"), "{err}");
    assert!(err.contains("a pre-push hook refused it"), "{err}");
    assert!(!err.contains("Pull"), "{err}");
    std::fs::remove_file(&hook).unwrap();

    // The remote moved on: pull first.
    let other = Repo::new();
    other.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    other.git(&["fetch", "-q", "origin"]);
    other.git(&["checkout", "-q", "-b", "main", "origin/main"]);
    other.write("NOTES.md", "from elsewhere\n");
    other.commit_all("elsewhere");
    other.git(&["push", "-q", "origin", "main"]);
    let out = repo
        .run()
        .args(["rollback", "--yes", "--push"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pull, then push again (never with --force)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_commit_that_bumped_nothing_is_refused() {
    let repo = bumped();
    let readme = repo.git(&["rev-parse", "HEAD~2"]);
    let out = repo
        .run()
        .args(["rollback", &readme, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("there is no earlier version to go back to"),
        "{}",
        stderr(&out)
    );
    repo.write("README.md", "more\n");
    let docs = repo.commit_all("docs");
    let out = repo
        .run()
        .args(["rollback", &docs, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("changed no image version"),
        "{}",
        stderr(&out)
    );
}
