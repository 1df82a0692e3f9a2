//! Never lose work: commands that commit (bump --commit, rollback) lock the clone, refuse
//! states where a commit would go wrong, check the files they write against HEAD byte for byte
//! (not `git status`, which hides assume-unchanged and skip-worktree edits), and put everything
//! back exactly when a commit fails. Real git repositories, real hooks.

use crate::common::{Repo, bin_dir, deployment, git_output, stderr, stdout};

const WEB: &str = "ghcr.io/acme/web";

/// init (web 1.0, README), then a bump to 1.1 with `bump --commit`.
fn bumped() -> Repo {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.write("README.md", "docs\n");
    repo.commit_all("init");
    repo.run()
        .args(["bump", WEB, "1.1", "--commit"])
        .assert()
        .success();
    repo
}

fn failing_pre_commit(repo: &Repo) {
    let hook = repo.path().join(".git/hooks/pre-commit");
    crate::common::write_script(&hook, "#!/bin/sh\necho refused by policy >&2\nexit 1\n");
}

/// Everything a failed command must leave as it was: HEAD, refs, the index file itself (with
/// its assume-unchanged flags), and every file in the work tree, ignored ones included.
fn everything(repo: &Repo) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("HEAD".into(), repo.git(&["rev-parse", "HEAD"]).into_bytes()),
        ("refs".into(), repo.git(&["show-ref"]).into_bytes()),
        (
            "index".into(),
            std::fs::read(repo.path().join(".git/index")).unwrap(),
        ),
    ];
    let mut stack = vec![repo.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(repo.path())
                    .unwrap()
                    .display()
                    .to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_failed_rollback_keeps_an_assume_unchanged_edit() {
    let repo = bumped();
    repo.git(&["update-index", "--assume-unchanged", "README.md"]);
    repo.write("README.md", "docs\nEDIT\n");
    // git status does not show the edit; the rollback must not destroy it either.
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    failing_pre_commit(&repo);
    let before = everything(&repo);
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the working tree, index and HEAD are as they were"),
        "{}",
        stderr(&out)
    );
    assert_eq!(everything(&repo), before);
    assert_eq!(repo.read("README.md"), "docs\nEDIT\n");
}

#[test]
fn a_hidden_edit_in_a_file_to_write_is_refused_before_anything_changes() {
    let repo = bumped();
    repo.git(&["update-index", "--assume-unchanged", "apps/web.yaml"]);
    let edited = repo
        .read("apps/web.yaml")
        .replace("replicas: 2", "replicas: 5");
    repo.write("apps/web.yaml", &edited);
    let before = everything(&repo);
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("uncommitted changes in apps/web.yaml"),
        "{err}"
    );
    assert!(err.contains("--assume-unchanged"), "{err}");
    assert_eq!(everything(&repo), before);

    // The same for bump --commit, which would sweep the edit into the bump commit.
    let out = repo
        .run()
        .args(["bump", WEB, "1.2", "--commit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("uncommitted changes in apps/web.yaml"),
        "{}",
        stderr(&out)
    );
    assert_eq!(everything(&repo), before);
}

#[test]
fn a_revert_never_overwrites_an_ignored_local_file() {
    let repo = Repo::new();
    repo.write(".gitignore", "local/\n");
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.write("local/web.yaml", &deployment("web", "ghcr.io/acme/web:0.9"));
    repo.git(&["add", "-f", "local/web.yaml"]);
    repo.commit_all("init");
    // One commit bumps web and deletes the tracked file under an ignored directory.
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.1"));
    repo.git(&["rm", "-q", "--cached", "local/web.yaml"]);
    std::fs::remove_file(repo.path().join("local/web.yaml")).unwrap();
    let bump = repo.commit_all("web 1.1, drop local copy");
    // Someone keeps their own ignored file at that path.
    repo.write("local/web.yaml", "mine\n");
    let before = everything(&repo);
    let out = repo
        .run()
        .args(["rollback", &bump, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("local/web.yaml is not tracked by git"),
        "{}",
        stderr(&out)
    );
    assert_eq!(everything(&repo), before);
}

/// Something done to a repository (setting up a state, and undoing it).
type Step = Box<dyn Fn(&Repo)>;

#[test]
fn bump_commit_refuses_states_where_a_commit_goes_wrong() {
    let repo = bumped();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.2"));
    repo.commit_all("web 1.2");

    let bump = |repo: &Repo| {
        repo.run()
            .args(["bump", WEB, "1.3", "--commit"])
            .output()
            .unwrap()
    };
    let cases: Vec<(&str, Step, Step)> = vec![
        (
            "a bisect is in progress; finish or abort it first: git bisect reset",
            Box::new(|r: &Repo| {
                r.git(&["bisect", "start"]);
            }),
            Box::new(|r: &Repo| {
                r.git(&["bisect", "reset"]);
            }),
        ),
        (
            "HEAD is detached; switch to the branch to commit the bump first: git switch",
            Box::new(|r: &Repo| {
                r.git(&["checkout", "-q", "--detach"]);
            }),
            Box::new(|r: &Repo| {
                r.git(&["checkout", "-q", "main"]);
            }),
        ),
        (
            "another git process is running in this clone",
            Box::new(|r: &Repo| {
                std::fs::write(r.path().join(".git/index.lock"), "").unwrap();
            }),
            Box::new(|r: &Repo| {
                std::fs::remove_file(r.path().join(".git/index.lock")).unwrap();
            }),
        ),
    ];
    for (message, set_up, tear_down) in cases {
        set_up(&repo);
        let before = everything(&repo);
        let out = bump(&repo);
        assert_eq!(out.status.code(), Some(2), "{message}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
        assert_eq!(everything(&repo), before, "{message}");
        tear_down(&repo);
    }

    // A conflicted rebase keeps its MERGE_MSG.
    repo.git(&["checkout", "-q", "-b", "side", "HEAD~1"]);
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:9.9"));
    repo.commit_all("side");
    let _ = git_output(repo.path(), &["rebase", "main"]);
    let before = everything(&repo);
    let out = bump(&repo);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a rebase is in progress"),
        "{}",
        stderr(&out)
    );
    assert_eq!(everything(&repo), before);
}

#[test]
fn bump_commit_never_sweeps_in_untracked_files_or_calls_the_working_tree_committed() {
    let repo = bumped();
    repo.write("apps/new.yaml", &deployment("new", "ghcr.io/acme/web:1.1"));
    let out = repo
        .run()
        .args(["bump", WEB, "1.2", "--commit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("apps/new.yaml is not tracked by git"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(repo.path().join("apps/new.yaml")).unwrap();

    // At the tag only in the working tree: not "nothing to commit".
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.2"));
    let out = repo
        .run()
        .args(["bump", WEB, "1.2", "--commit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is at 1.2 in the working tree only"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("nothing to commit"));
}

#[test]
fn a_failed_bump_commit_puts_files_and_index_back() {
    let repo = bumped();
    failing_pre_commit(&repo);
    let before = everything(&repo);
    let out = repo
        .run()
        .args(["bump", WEB, "1.2", "--commit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the files and the index are as they were"),
        "{}",
        stderr(&out)
    );
    assert_eq!(everything(&repo), before);
}

#[test]
fn two_rollbacks_at_once_never_mix() {
    for _ in 0..3 {
        let repo = Repo::new();
        let two = |web: &str, api: &str| {
            format!(
                "{}---\n{}",
                deployment("web", &format!("ghcr.io/acme/web:{web}")),
                deployment("api", &format!("ghcr.io/acme/api:{api}"))
            )
        };
        repo.write("apps/all.yaml", &two("1.0", "2.0"));
        repo.commit_all("init");
        repo.write("apps/all.yaml", &two("1.1", "2.0"));
        repo.commit_all("web 1.1");
        repo.write("apps/api.yaml", "");
        repo.write("apps/all.yaml", &two("1.1", "2.1"));
        repo.commit_all("api 2.1");
        let start = repo.git(&["rev-parse", "HEAD"]);
        let spawn = |image: &str| {
            let mut cmd = std::process::Command::new(bin_dir().join("kubectl-gitops"));
            cmd.current_dir(repo.path())
                .env("NO_COLOR", "1")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_AUTHOR_NAME", "Test Author")
                .env("GIT_AUTHOR_EMAIL", "author@example.com")
                .env("GIT_COMMITTER_NAME", "Test Committer")
                .env("GIT_COMMITTER_EMAIL", "committer@example.com")
                .args(["rollback", "--image", image, "--yes"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("ghcr.io/acme/web"), spawn("ghcr.io/acme/api"));
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let ok: Vec<_> = outs.iter().filter(|o| o.status.success()).collect();
        for o in &outs {
            assert!(matches!(o.status.code(), Some(0..=2)), "{}", stderr(o));
        }
        // Every commit made is on the branch, one per success, each with one image's trailers.
        let made = repo.git(&["rev-list", &format!("{start}..HEAD")]);
        assert_eq!(made.lines().count(), ok.len(), "{made}");
        for sha in made.lines() {
            let trailers = repo.git(&[
                "log",
                "-1",
                "--format=%(trailers:key=Image-Bump,valueonly)",
                sha,
            ]);
            assert_eq!(trailers.lines().count(), 1, "{sha}: {trailers}");
        }
        for o in &ok {
            let said = stdout(o);
            assert!(
                made.lines().any(|sha| said.contains(&sha[..7])),
                "{said}\n{made}"
            );
        }
    }
}

#[test]
fn rollback_and_bump_output_never_show_secret_values() {
    let repo = Repo::new();
    let secret = |pass: &str, pin: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: {pass}\n  .dockerconfigjson: eyJhdXRocyI6e319\nstringData:\n  pin: {pin}\n"
        )
    };
    let app = |tag: &str, pass: &str, pin: &str| {
        format!(
            "{}---\n{}",
            secret(pass, pin),
            deployment("web", &format!("ghcr.io/acme/web:{tag}"))
        )
    };
    repo.write("apps/all.yaml", &app("1.0", "aHVudGVyMg==", "84736251"));
    repo.write(
        "apps/kustomization.yaml",
        "resources:\n- all.yaml\nsecretGenerator:\n- name: keys\n  files:\n  - tls.key=keys/tls.key\n  literals:\n  - API_TOKEN=tok-55519\n",
    );
    repo.write("apps/keys/tls.key", "PRIVATE-KEY-AAAA\n");
    repo.commit_all("init");
    repo.write("apps/all.yaml", &app("1.1", "bmV3cGFzcw==", "11112222"));
    repo.write("apps/keys/tls.key", "PRIVATE-KEY-BBBB\n");
    let bump = repo.commit_all("web 1.1 and new credentials");
    let values = [
        "aHVudGVyMg==",
        "bmV3cGFzcw==",
        "84736251",
        "11112222",
        "eyJhdXRocyI6e319",
        "tok-55519",
        "PRIVATE-KEY",
    ];
    let runs: Vec<Vec<&str>> = vec![
        vec!["rollback", &bump, "--dry-run"],
        vec!["rollback", &bump, "--dry-run", "-o", "json"],
        vec!["bump", WEB, "1.2", "--dry-run"],
        vec!["bump", WEB, "1.2", "--dry-run", "-o", "json"],
    ];
    for args in runs {
        let out = repo.run().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let printed = format!("{}{}", stdout(&out), stderr(&out));
        for v in values {
            assert!(!printed.contains(v), "{args:?} printed {v}:\n{printed}");
        }
    }
    // The diff still says what changed.
    let out = repo
        .run()
        .args(["rollback", &bump, "--dry-run"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("password: '*** (after)'"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("ghcr.io/acme/web:1.0"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn file_names_are_shown_as_they_are_not_as_octal_escapes() {
    let repo = bumped();
    repo.write("apps/café.yaml", &deployment("cafe", "nginx:1.27"));
    repo.commit_all("café");
    repo.write("apps/café.yaml", &deployment("cafe", "nginx:1.28"));
    let out = repo.run().args(["rollback", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("uncommitted changes in apps/café.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bump_never_edits_through_a_link_out_of_the_repository_or_in_a_submodule() {
    let outside = tempfile::tempdir().unwrap();
    let elsewhere = outside.path().join("web.yaml");
    std::fs::write(&elsewhere, deployment("web", "ghcr.io/acme/web:1.0")).unwrap();
    let repo = bumped();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("linked")).unwrap();
    // A nested repository (as a submodule checkout is) with the same image.
    let nested = repo.path().join("vendor/other");
    std::fs::create_dir_all(&nested).unwrap();
    crate::common::git(&nested, &["init", "-q"]);
    std::fs::write(
        nested.join("web.yaml"),
        deployment("web", "ghcr.io/acme/web:1.0"),
    )
    .unwrap();
    let out = repo.run().args(["bump", WEB, "1.5"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(repo.read("apps/web.yaml").contains("web:1.5"));
    assert!(
        std::fs::read_to_string(&elsewhere)
            .unwrap()
            .contains("web:1.0")
    );
    assert!(
        std::fs::read_to_string(nested.join("web.yaml"))
            .unwrap()
            .contains("web:1.0")
    );
    let err = stderr(&out);
    assert!(
        err.contains("linked: a symbolic link out of the directory; not followed"),
        "{err}"
    );
    assert!(
        err.contains("vendor/other: a submodule or nested repository; not read"),
        "{err}"
    );
}

#[test]
fn control_characters_in_file_names_are_shown_escaped() {
    let repo = Repo::new();
    let name = "apps/evil\u{1b}[31m\nforged: line.yaml";
    repo.write(
        name,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: three\n",
    );
    let out = repo.run().args(["validate", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(!printed.contains('\u{1b}'), "{printed:?}");
    assert!(
        printed.contains("apps/evil\\u{1b}[31m\\nforged: line.yaml:5"),
        "{printed:?}"
    );
    assert!(
        !printed.lines().any(|l| l.starts_with("forged")),
        "{printed:?}"
    );
}
