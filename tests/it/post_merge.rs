//! The post-merge hook, run by real `git merge` and `git pull` with the hooks installed.

use crate::common::{Repo, deployment, git, git_cmd, stderr};

const APPS: [&str; 5] = ["web", "api", "worker", "cron", "admin"];

fn manifest(app: &str, tag: &str) -> String {
    deployment(app, &format!("ghcr.io/acme/{app}:{tag}"))
}

/// A repository with the hooks installed and five apps at 1.0.
fn repo_with_hooks() -> Repo {
    let repo = Repo::new();
    for app in APPS {
        repo.write(&format!("apps/{app}.yaml"), &manifest(app, "1.0"));
    }
    repo.commit_all("init");
    repo.run()
        .args(["hooks", "install", "--post-merge"])
        .assert()
        .success();
    repo
}

fn notes(repo: &Repo) -> Vec<String> {
    let list = git_cmd(repo.path())
        .args(["notes", "--ref", "gitops", "list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_merge_bringing_five_bumps_records_them_once() {
    let repo = repo_with_hooks();
    repo.git(&["checkout", "-q", "-b", "release"]);
    for app in APPS {
        repo.write(&format!("apps/{app}.yaml"), &manifest(app, "1.1"));
        repo.commit_all(&format!("{app} 1.1"));
    }
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "diverged\n");
    repo.commit_all("docs");
    let out = git_cmd(repo.path())
        .args(["merge", "--no-edit", "release"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("kubectl-gitops: recorded 5 image bumps from 5 commits in refs/notes/gitops"),
        "{}",
        stderr(&out)
    );
    assert_eq!(notes(&repo).len(), 5);
    let note = repo.git(&["notes", "--ref", "gitops", "show", "release~1"]);
    let record: serde_json::Value = serde_json::from_str(&note).unwrap();
    assert_eq!(record["version"], 1);
    assert_eq!(record["detectedBy"], "diff");
    assert_eq!(record["bumps"][0]["image"], "ghcr.io/acme/cron");
    assert_eq!(record["bumps"][0]["old"], "1.0");
    assert_eq!(record["bumps"][0]["new"], "1.1");
    assert_eq!(record["bumps"][0]["files"][0], "apps/cron.yaml");

    // Running the hook again records nothing new.
    let out = repo
        .run()
        .args(["hook", "post-merge", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
    assert_eq!(notes(&repo).len(), 5);

    // history reads them back from the notes.
    let out = repo.run().args(["history", "-o", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources: Vec<&str> = v["bumps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["detectedBy"].as_str().unwrap())
        .collect();
    assert_eq!(sources, vec!["note"; 5]);
}

#[test]
fn a_pull_records_bumps_without_trailers_only() {
    let upstream = repo_with_hooks();
    let remote = Repo::bare();
    upstream.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    upstream.git(&["push", "-q", "-u", "origin", "main"]);
    let clone = tempfile::tempdir().unwrap();
    git(
        clone.path(),
        &["clone", "-q", remote.path().to_str().unwrap(), "work"],
    );
    let work = clone.path().join("work");
    crate::common::bin()
        .current_dir(&work)
        .args(["hooks", "install", "--post-merge"])
        .assert()
        .success();

    upstream
        .run()
        .args(["bump", "ghcr.io/acme/web", "2.0", "--commit"])
        .assert()
        .success();
    upstream.write("apps/api.yaml", &manifest("api", "2.0"));
    upstream.commit_all("api by hand");
    upstream.git(&["push", "-q", "origin", "main"]);

    let out = git_cmd(&work)
        .args(["pull", "-q", "--ff-only"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("recorded 1 image bump from 1 commit"),
        "{}",
        stderr(&out)
    );
    let list = git(&work, &["notes", "--ref", "gitops", "list"]);
    assert_eq!(list.lines().count(), 1);
}

#[test]
fn a_squash_merge_records_nothing_and_history_still_finds_it() {
    let repo = repo_with_hooks();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("apps/web.yaml", &manifest("web", "3.0"));
    repo.commit_all("web 3.0");
    repo.git(&["checkout", "-q", "main"]);
    let out = git_cmd(repo.path())
        .args(["merge", "--squash", "feature"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(notes(&repo).is_empty());
    repo.git(&["commit", "-q", "-m", "Squashed feature"]);
    let out = repo.run().args(["history", "-o", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["bumps"][0]["subject"], "Squashed feature");
    assert_eq!(v["bumps"][0]["new"], "3.0");
}

#[test]
fn the_hook_never_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::common::bin()
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .args(["hook", "post-merge", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("kubectl-gitops: warning: image bumps of this merge were not recorded: not a git repository"),
        "{}",
        stderr(&out)
    );
}
