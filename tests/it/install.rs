//! install.sh: from source with cargo, from a release archive (checksum verified), uninstall,
//! re-runs, and the messages when cargo or git is missing. Every install is then used the
//! way people use it: `kubectl gitops ...` through the real kubectl.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{stderr, stdout};
use crate::krew::{assert_plugin_runs, release, repo_file, target_dir};

const FILES: [&str; 2] = ["kubectl-gitops", "kubectl_complete-gitops"];

fn install_sh(args: &[&str]) -> Command {
    let mut cmd = Command::new(repo_file("install.sh"));
    cmd.args(args)
        // The workspace's target directory: the release build is shared with release.sh and
        // earlier runs instead of starting from scratch.
        .env("CARGO_TARGET_DIR", target_dir());
    cmd
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("install.sh runs");
    assert!(
        out.status.success(),
        "install.sh failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn prefix_arg(prefix: &Path) -> String {
    format!("--prefix={}", prefix.display())
}

/// The installed plugin works through kubectl: listed without warnings, runs, validates, and
/// its completion answers.
fn assert_usable(prefix: &Path) {
    for name in FILES {
        let meta = std::fs::metadata(prefix.join(name)).expect("installed");
        assert!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0,
            "{name} is not executable"
        );
    }
    let path = assert_plugin_runs(prefix, &prefix.join("kubectl-gitops"));

    let out = Command::new("kubectl")
        .args(["__complete", "gitops", "vers"])
        .env("PATH", &path)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs");
    assert!(stdout(&out).starts_with("version\t"), "{}", stdout(&out));
}

#[test]
fn from_source_into_a_prefix_and_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("bin");
    let out = run_ok(&mut install_sh(&[&prefix_arg(&prefix)]));
    let text = stdout(&out);
    for name in FILES {
        assert!(
            text.contains(&format!("installed: {}", prefix.join(name).display())),
            "{text}"
        );
    }
    assert_usable(&prefix);

    // A second run succeeds and leaves the build's binary in place. Whether it reports the
    // binary "unchanged" depends on the sources not moving between the two builds, so the
    // byte-for-byte check is made against what cargo built; the archive test checks the
    // "unchanged" report on fixed input.
    let again = stdout(&run_ok(&mut install_sh(&[
        "--prefix",
        prefix.to_str().expect("utf-8"),
    ])));
    let completion = prefix.join("kubectl_complete-gitops");
    assert!(
        again.contains(&format!("unchanged: {}", completion.display())),
        "{again}"
    );
    let built = std::fs::read(target_dir().join("release/kubectl-gitops")).expect("the build");
    let installed = std::fs::read(prefix.join("kubectl-gitops")).expect("installed");
    assert!(
        built == installed,
        "the installed binary is not the build's"
    );
    assert_usable(&prefix);
}

/// A copy of the host's release archive (and, when asked, its .sha256) in a fresh directory.
fn archive_copy(dir: &Path, with_sha: bool) -> PathBuf {
    let source = &release().host_archive;
    let name = source.file_name().expect("archive name");
    let archive = dir.join(name);
    std::fs::copy(source, &archive).expect("copy the archive");
    if with_sha {
        let mut sha = source.as_os_str().to_owned();
        sha.push(".sha256");
        let mut target = archive.as_os_str().to_owned();
        target.push(".sha256");
        std::fs::copy(sha, target).expect("copy the .sha256");
    }
    archive
}

#[test]
fn from_a_release_archive_then_uninstall() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = archive_copy(dir.path(), true);
    let archive = archive.to_str().expect("utf-8");
    let prefix = dir.path().join("bin");

    let out = run_ok(&mut install_sh(&[
        "--archive",
        archive,
        &prefix_arg(&prefix),
    ]));
    assert!(stdout(&out).contains("checksum OK"), "{}", stdout(&out));
    assert_usable(&prefix);

    let again = run_ok(&mut install_sh(&[
        &format!("--archive={archive}"),
        &prefix_arg(&prefix),
    ]));
    assert!(stdout(&again).contains("unchanged"), "{}", stdout(&again));

    let out = run_ok(&mut install_sh(&["--uninstall", &prefix_arg(&prefix)]));
    for name in FILES {
        assert!(!prefix.join(name).exists(), "{name} still there");
        assert!(
            stdout(&out).contains(&format!("removed {}", prefix.join(name).display())),
            "{}",
            stdout(&out)
        );
    }
    let out = run_ok(&mut install_sh(&["--uninstall", &prefix_arg(&prefix)]));
    assert!(
        stdout(&out).contains("nothing to remove"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_archive_that_does_not_match_its_checksum_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = archive_copy(dir.path(), false);
    let mut sha = archive.as_os_str().to_owned();
    sha.push(".sha256");
    std::fs::write(
        &sha,
        format!("{}  kubectl-gitops.tar.gz\n", "ab".repeat(32)),
    )
    .expect("write a wrong checksum");
    let prefix = dir.path().join("bin");
    let out = install_sh(&[
        "--archive",
        archive.to_str().expect("utf-8"),
        &prefix_arg(&prefix),
    ])
    .output()
    .expect("install.sh runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    assert!(!prefix.exists(), "nothing may be installed");
}

#[test]
fn an_archive_without_a_checksum_installs_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = archive_copy(dir.path(), false);
    let prefix = dir.path().join("bin");
    let out = run_ok(&mut install_sh(&[
        "--archive",
        archive.to_str().expect("utf-8"),
        &prefix_arg(&prefix),
    ]));
    assert!(stderr(&out).contains("not verified"), "{}", stderr(&out));
    assert!(prefix.join("kubectl-gitops").is_file());
}

/// A PATH with every program of the current PATH except `missing`, as links in one directory.
fn path_without(missing: &str, farm: &Path) -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = farm.join(&name);
            if name == missing || link.exists() {
                continue;
            }
            // First on PATH wins, as in a shell; unreadable entries are skipped.
            let _ = std::os::unix::fs::symlink(entry.path(), link);
        }
    }
    farm.display().to_string()
}

#[test]
fn missing_cargo_or_git_is_explained() {
    for (tool, expected) in [
        (
            "cargo",
            "cargo is not on PATH: install Rust from https://rustup.rs",
        ),
        ("git", "git is not on PATH"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let farm = dir.path().join("path");
        std::fs::create_dir(&farm).expect("mkdir");
        let prefix = dir.path().join("bin");
        let out = install_sh(&[&prefix_arg(&prefix)])
            .env("PATH", path_without(tool, &farm))
            .output()
            .expect("install.sh runs");
        assert_eq!(out.status.code(), Some(1), "without {tool}");
        let err = stderr(&out);
        assert!(err.contains(expected), "without {tool}: {err}");
        assert_eq!(err.lines().count(), 1, "one clear line: {err}");
        assert!(!prefix.exists(), "nothing may be installed without {tool}");
    }
}

#[test]
fn bad_arguments_are_refused_with_a_hint() {
    let out = install_sh(&["--archive"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--archive needs a file"),
        "{}",
        stderr(&out)
    );
    let out = install_sh(&["--uninstall", "--archive", "x.tar.gz"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot be combined"),
        "{}",
        stderr(&out)
    );
    let out = install_sh(&["--frobnicate"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("see ./install.sh --help"),
        "{}",
        stderr(&out)
    );
}
