//! Stamps the binary with the commit it was built from, for `kubectl gitops version` and bug
//! reports. Builds outside a git checkout (a source tarball, a crates.io download) say "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let commit = git(&manifest_dir, &["rev-parse", "--short", "HEAD"]);
    // Only trust the answer when this crate is the top of the checkout: a tarball unpacked
    // inside some other repository would otherwise report that repository's commit.
    let ours = git(&manifest_dir, &["rev-parse", "--show-toplevel"])
        .is_some_and(|top| same_dir(Path::new(&top), Path::new(&manifest_dir)));
    let commit = commit.filter(|_| ours).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KUBECTL_GITOPS_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=KUBECTL_GITOPS_TARGET={}",
        std::env::var("TARGET").expect("cargo sets TARGET")
    );

    // Rebuild when HEAD moves (a checkout, or a commit on the current branch), not on every
    // build: these are the files git updates when that happens.
    println!("cargo:rerun-if-changed=build.rs");
    if ours {
        for path in ["HEAD", "packed-refs"] {
            if let Some(p) = git(&manifest_dir, &["rev-parse", "--git-path", path]) {
                watch(&manifest_dir, &p);
            }
        }
        if let Some(branch) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"])
            && let Some(p) = git(&manifest_dir, &["rev-parse", "--git-path", &branch])
        {
            watch(&manifest_dir, &p);
        }
    }
}

/// Runs git in `dir`; `None` when git is missing or fails.
fn git(dir: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Prints `rerun-if-changed` for a git file. `git rev-parse --git-path` answers relative to
/// the directory git ran in. A file that does not exist is left out: cargo would rerun this
/// script, and rebuild the crate, on every build.
fn watch(dir: &str, git_path: &str) {
    let path = Path::new(dir).join(git_path);
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
