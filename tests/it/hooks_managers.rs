//! `hooks install` beside real hook managers: husky 9 and 8 and lefthook (from the npm
//! registry) and pre-commit and prek (from PyPI), all provided by tests/run.sh. After install a
//! real `git push` runs both the manager's hook (with git's arguments and stdin) and ours, a
//! failure of either blocks it, doctor tells the truth, and uninstall puts every file back
//! byte for byte.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{Repo, deployment, git_cmd, stderr, stdout};

const BROKEN: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: 1}\n";

/// The user's own hook: logs how it was called and its stdin, and fails while
/// `.git/fail-user-hook` exists.
const USER_HOOK: &str = r#"log="$(git rev-parse --git-dir)/user.log"
echo "user-hook $*" >>"$log"
cat >>"$log"
test ! -f "$(git rev-parse --git-dir)/fail-user-hook"
"#;

/// A tool tests/run.sh provides, found on PATH (or named by `env` when set there). It is
/// looked up, not run: `husky --version` would take `--version` for a directory and point the
/// git repository around the test process (this project's own) at it.
fn tool(program: &str, env: Option<&str>) -> PathBuf {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = match env.and_then(std::env::var_os) {
        Some(path) => Some(PathBuf::from(path)).filter(|p| executable(p)),
        None => std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|p| executable(p))
        }),
    };
    found.unwrap_or_else(|| {
        panic!(
            "{program} is not installed; ./tests/run.sh installs it (tests/npm-requirements.txt or tests/requirements.txt) and puts it on PATH"
        )
    })
}

/// A repository with a bare remote `origin` and one good commit, not yet pushed.
struct Setup {
    repo: Repo,
    remote: Repo,
    home: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let setup = Setup {
            repo: Repo::new(),
            remote: Repo::bare(),
            home: tempfile::tempdir().expect("temp dir"),
        };
        let url = setup
            .remote
            .path()
            .to_str()
            .expect("utf-8 path")
            .to_string();
        setup.repo.git(&["remote", "add", "origin", &url]);
        setup
            .repo
            .write("apps/web.yaml", &deployment("web", "nginx:1.27"));
        setup
    }

    /// A command in the repository with git's test identity, the built binary on PATH, and
    /// the frameworks' caches in the test's temp dir.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let template = git_cmd(self.repo.path());
        let mut cmd = Command::new(program);
        cmd.current_dir(self.repo.path());
        for (key, value) in template.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.env("PRE_COMMIT_HOME", self.home.path().join("pre-commit"))
            .env("PREK_HOME", self.home.path().join("prek"))
            .env("KUBECONFIG", self.home.path().join("no-kubeconfig"));
        cmd
    }

    fn ok(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
        let program = program.as_ref().to_owned();
        let out = self.cmd(&program).args(args).output().expect("runs");
        assert!(
            out.status.success(),
            "{program:?} {args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        out
    }

    fn kgo(&self, args: &[&str]) -> Output {
        self.ok("kubectl-gitops", args)
    }

    fn push(&self) -> Output {
        self.cmd("git")
            .args(["push", "origin", "main"])
            .output()
            .expect("git runs")
    }

    /// Commits the manifests only: what `hooks install` changed in husky's scripts stays a
    /// change of the working tree, as it is for a user who has not committed it.
    fn commit_apps(&self, message: &str) -> String {
        self.repo.git(&["add", "-A", "apps"]);
        self.repo
            .git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.repo.git(&["rev-parse", "HEAD"])
    }

    fn user_log(&self) -> String {
        std::fs::read_to_string(self.repo.path().join(".git/user.log")).unwrap_or_default()
    }

    fn remote_main(&self) -> Option<String> {
        let out = git_cmd(self.remote.path())
            .args(["rev-parse", "--verify", "--quiet", "main"])
            .output()
            .expect("git runs");
        out.status
            .success()
            .then(|| stdout(&out).trim().to_string())
    }

    /// The doctor check of one hook, as JSON.
    fn doctor(&self, hook: &str) -> serde_json::Value {
        let out = self
            .cmd("kubectl-gitops")
            .args(["doctor", "-o", "json"])
            .output()
            .expect("doctor runs");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        report["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == format!("{hook} hook")))
            .cloned()
            .expect("a check of the hook")
    }

    /// The good push runs both hooks (the user's with git's arguments and stdin); a broken
    /// manifest is rejected by ours; a failing user hook blocks a good push.
    fn assert_both_run(&self) {
        let sha = self.commit_apps("good");
        let out = self.push();
        assert!(out.status.success(), "good push: {}", stderr(&out));
        assert_eq!(self.remote_main(), Some(sha.clone()));
        let log = self.user_log();
        assert!(
            log.contains(&format!("refs/heads/main {sha} refs/heads/main")),
            "the user's hook did not get git's stdin:\n{log}"
        );
        assert!(
            log.contains(&format!(
                "user-hook origin {}",
                self.remote.path().display()
            )),
            "the user's hook did not get git's arguments:\n{log}"
        );
        self.assert_blocked_by_both();
    }

    /// Ours rejects a broken manifest, and a failing user hook blocks a good push.
    fn assert_blocked_by_both(&self) {
        let before = self.remote_main();
        self.repo.write("apps/settings.yaml", BROKEN);
        self.commit_apps("broken");
        let out = self.push();
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            !out.status.success(),
            "the broken manifest was pushed:\n{text}"
        );
        assert!(text.contains("data.a: expected a string"), "{text}");
        assert_eq!(self.remote_main(), before);
        // --keep: husky's scripts carry our uncommitted block.
        self.repo.git(&["reset", "-q", "--keep", "HEAD~1"]);

        std::fs::write(self.repo.path().join(".git/fail-user-hook"), "").expect("write");
        self.repo
            .write("apps/web.yaml", &deployment("web", "nginx:1.29"));
        self.commit_apps("good, but the user's hook fails");
        let out = self.push();
        assert!(
            !out.status.success(),
            "a failing user hook must block the push:\n{}",
            stderr(&out)
        );
        assert_eq!(self.remote_main(), before);
        std::fs::remove_file(self.repo.path().join(".git/fail-user-hook")).expect("rm");
    }
}

/// Every file under `dir` (relative path -> bytes and permission bits), symlinks as their
/// link text.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("stat");
            let rel = path
                .strip_prefix(dir)
                .expect("under dir")
                .display()
                .to_string();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                files.insert(rel, (target.display().to_string().into_bytes(), 0));
            } else {
                let bytes = std::fs::read(&path).expect("read");
                files.insert(rel, (bytes, meta.permissions().mode() & 0o7777));
            }
        }
    }
    files
}

fn write_executable(path: &Path, text: &str) {
    crate::common::write_script(path, text);
}

/// The state an older `hooks install` left: our shim in the hook's place, the hook renamed.
fn old_install(hook_path: &Path) {
    let legacy = hook_path.with_file_name("pre-push.legacy");
    std::fs::rename(hook_path, &legacy).expect("rename");
    write_executable(hook_path, include_str!("../../hooks/pre-push"));
}

#[test]
fn husky9_runs_its_hook_and_ours_and_uninstall_restores_it() {
    let husky = tool("husky", None);
    let setup = Setup::new();
    let repo = &setup.repo;
    repo.write(".husky/pre-push", USER_HOOK);
    repo.write(
        ".husky/post-merge",
        "echo \"user-hook post-merge $*\" >>\"$(git rev-parse --git-dir)/user.log\"\n",
    );
    repo.commit_all("husky hooks");
    setup.ok(&husky, &[]);
    assert_eq!(repo.git(&["config", "core.hooksPath"]), ".husky/_");
    let before = snapshot(&repo.path().join(".husky"));

    // What an older install did: husky's dispatcher renamed, so it ran nothing. Doctor says
    // so, and install repairs it.
    old_install(&repo.path().join(".husky/_/pre-push"));
    let check = setup.doctor("pre-push");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("no longer runs"),
        "{check}"
    );

    let out = setup.kgo(&["hooks", "install"]);
    assert!(
        stdout(&out).contains("pre-push: added to .husky/pre-push (husky runs it"),
        "{}",
        stdout(&out)
    );
    let after = snapshot(&repo.path().join(".husky"));
    let generated = |s: &BTreeMap<String, (Vec<u8>, u32)>| {
        s.iter()
            .filter(|(k, _)| k.starts_with("_/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        generated(&after),
        generated(&before),
        "husky's stubs must be as husky made them"
    );
    let check = setup.doctor("pre-push");
    assert_eq!(check["status"], "ok", "{check}");
    // Idempotent.
    let out = setup.kgo(&["hooks", "install"]);
    assert!(
        stdout(&out).contains("pre-push: unchanged in .husky/pre-push"),
        "{}",
        stdout(&out)
    );

    setup.assert_both_run();

    // post-merge: husky's and ours (which records the bump).
    repo.git(&["checkout", "-q", "-b", "bump"]);
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.30"));
    setup.commit_apps("bump web");
    repo.git(&["checkout", "-q", "main"]);
    let out = setup.ok("git", &["merge", "--no-ff", "-m", "merge bump", "bump"]);
    assert!(
        stderr(&out).contains("kubectl-gitops: recorded 1 image bump"),
        "{}{}",
        stdout(&out),
        stderr(&out),
    );
    assert!(
        setup.user_log().contains("user-hook post-merge 0"),
        "{}",
        setup.user_log()
    );

    setup.kgo(&["hooks", "uninstall"]);
    assert_eq!(snapshot(&repo.path().join(".husky")), before);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn husky8_layout_runs_its_hook_and_ours() {
    let husky = tool("husky", Some("HUSKY8"));
    let setup = Setup::new();
    let repo = &setup.repo;
    setup.ok(&husky, &["install"]);
    assert_eq!(repo.git(&["config", "core.hooksPath"]), ".husky");
    setup.ok(&husky, &["add", ".husky/pre-push", USER_HOOK]);
    repo.commit_all("husky hooks");
    let before = snapshot(&repo.path().join(".husky"));

    let out = setup.kgo(&["hooks", "install"]);
    assert!(
        stdout(&out).contains("pre-push: added to .husky/pre-push"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("post-merge: created .husky/post-merge"),
        "{}",
        stdout(&out)
    );
    assert_eq!(setup.doctor("pre-push")["status"], "ok");
    setup.assert_both_run();

    setup.kgo(&["hooks", "uninstall"]);
    assert_eq!(snapshot(&repo.path().join(".husky")), before);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn lefthook_runs_its_hook_and_ours_and_a_resync_is_reported_and_repaired() {
    let lefthook = tool("lefthook", None);
    let setup = Setup::new();
    let repo = &setup.repo;
    repo.write("scripts/user-hook.sh", USER_HOOK);
    let config = "pre-push:\n  commands:\n    user:\n      run: sh scripts/user-hook.sh {1} {2}\n      use_stdin: true\n";
    repo.write("lefthook.yml", config);
    repo.commit_all("lefthook");
    setup.ok(&lefthook, &["install"]);
    let hooks = repo.path().join(".git/hooks");
    let before = snapshot(&hooks);

    let out = setup.kgo(&["hooks", "install", "--pre-push"]);
    assert!(stdout(&out).contains("kept as .legacy"), "{}", stdout(&out));
    assert_eq!(setup.doctor("pre-push")["status"], "ok");
    setup.assert_both_run();

    // A changed configuration makes lefthook re-install its hooks on its next run, moving
    // ours aside: doctor reports it, and install chains lefthook's hook again.
    repo.write(
        "lefthook.yml",
        &format!("{config}    other:\n      run: \"true\"\n"),
    );
    // lefthook trusts an unchanged modification time; make sure it differs from install's.
    setup.ok("touch", &["-d", "+1 hour", "lefthook.yml"]);
    repo.commit_all("lefthook config changed");
    let out = setup.push();
    assert!(out.status.success(), "{}", stderr(&out));
    let check = setup.doctor("pre-push");
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("pre-push.old"),
        "{check}"
    );
    setup.kgo(&["hooks", "install", "--pre-push"]);
    assert_eq!(setup.doctor("pre-push")["status"], "ok");
    setup.assert_blocked_by_both();

    setup.kgo(&["hooks", "uninstall"]);
    let mut now = snapshot(&hooks);
    let mut want = before;
    // lefthook rewrote its own script for the new configuration: compare what we touched.
    now.remove("pre-push");
    want.remove("pre-push");
    assert_eq!(now, want);
    assert!(
        std::fs::read_to_string(hooks.join("pre-push"))
            .unwrap()
            .contains("LEFTHOOK")
    );
}

fn framework_chain(program: &str) {
    let framework = tool(program, None);
    let setup = Setup::new();
    let repo = &setup.repo;
    repo.write("scripts/user-hook.sh", USER_HOOK);
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n  - repo: local\n    hooks:\n      - id: user\n        name: user hook\n        entry: sh scripts/user-hook.sh\n        language: system\n        stages: [pre-push]\n        pass_filenames: false\n        always_run: true\n",
    );
    repo.commit_all("framework config");
    setup.ok(&framework, &["install", "--hook-type", "pre-push"]);
    let hooks = repo.path().join(".git/hooks");
    let before = snapshot(&hooks);

    // What an older install did: the framework's script renamed runs itself as its own
    // legacy hook and fails. Doctor says so, and install repairs it.
    old_install(&hooks.join("pre-push"));
    let check = setup.doctor("pre-push");
    assert_eq!(check["status"], "fail", "{check}");

    let out = setup.kgo(&["hooks", "install", "--pre-push"]);
    assert!(
        stdout(&out).contains(&format!(
            "installed as pre-push.legacy, which {program} runs"
        )),
        "{}",
        stdout(&out)
    );
    let check = setup.doctor("pre-push");
    assert_eq!(check["status"], "ok", "{check}");

    // The framework runs its hooks without git's arguments; they get none here.
    let sha = setup.commit_apps("good");
    let out = setup.push();
    assert!(
        out.status.success(),
        "good push: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(setup.remote_main(), Some(sha));
    assert!(
        setup.user_log().contains("user-hook"),
        "{}",
        setup.user_log()
    );
    setup.assert_blocked_by_both();

    setup.kgo(&["hooks", "uninstall"]);
    assert_eq!(snapshot(&hooks), before);
}

#[test]
fn pre_commit_runs_its_hooks_and_ours() {
    framework_chain("pre-commit");
}

#[test]
fn prek_runs_its_hooks_and_ours() {
    framework_chain("prek");
}
