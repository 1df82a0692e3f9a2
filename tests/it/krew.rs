//! Release archives and the krew manifest: `scripts/release.sh` for real, the committed and
//! the rendered manifests against krew's validation rules, and an install from the archive
//! into a krew-style layout, run through the real kubectl.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{Repo, bin_dir, deployment, stderr, stdout};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What one run of `scripts/release.sh` produced, shared by every test of this binary: the
/// release build takes minutes, so it happens once per test run.
pub struct Release {
    pub dir: PathBuf,
    /// The archive for the machine running the tests.
    pub host_archive: PathBuf,
}

pub fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("release");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("clear the previous release output");
        }
        let out = Command::new(repo_file("scripts/release.sh"))
            .arg(VERSION)
            .arg("--out")
            .arg(&dir)
            .env("CARGO_TARGET_DIR", target_dir())
            .output()
            .expect("scripts/release.sh runs");
        assert!(
            out.status.success(),
            "scripts/release.sh failed:\n{}",
            stderr(&out)
        );
        let host = host_target();
        let host_archive = dir.join(format!("kubectl-gitops-{VERSION}-{host}.tar.gz"));
        assert!(host_archive.is_file(), "no archive for the host {host}");
        Release { dir, host_archive }
    })
}

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The target directory cargo test built into, so nested cargo builds reuse it.
pub fn target_dir() -> PathBuf {
    bin_dir()
        .parent()
        .expect("the binary sits in <target>/debug")
        .to_path_buf()
}

fn host_target() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

/// PATH with `first` in front and without any directory that holds another kubectl-gitops,
/// so kubectl sees exactly the copy under test (and no "overshadowed" warning about others).
pub fn path_with_only(first: &Path) -> String {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let kept = std::env::split_paths(&rest).filter(|dir| {
        !dir.join("kubectl-gitops").exists() && !dir.join("kubectl-gitops.d").exists()
    });
    std::env::join_paths(std::iter::once(first.to_path_buf()).chain(kept))
        .expect("PATH entries join")
        .into_string()
        .expect("PATH is UTF-8")
}

/// `kubectl plugin list` with `path`: asserts the plugin at `expected` is listed and nothing
/// warns about any kubectl-gitops.
pub fn assert_plugin_list_clean(path: &str, expected: &Path) {
    let out = Command::new("kubectl")
        .args(["plugin", "list"])
        .env("PATH", path)
        .output()
        .expect("kubectl runs (Debian package kubernetes-client)");
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(&expected.display().to_string()),
        "{} not listed:\n{all}",
        expected.display()
    );
    let warnings: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("gitops") && l.to_lowercase().contains("warning"))
        .collect();
    assert!(
        warnings.is_empty(),
        "kubectl warns about the plugin:\n{all}"
    );
}

/// Runs `kubectl gitops ARGS` with `path`, in `cwd`, and returns stdout; panics on failure.
pub fn kubectl_gitops(path: &str, cwd: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .arg("gitops")
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl gitops {args:?} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Every os/arch pair krew installs on (krew's `allPlatforms`).
const KREW_PLATFORMS: &[(&str, &str)] = &[
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("linux", "s390x"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// The platforms the issue requires the committed manifest to cover.
const REQUIRED: &[(&str, &str)] = &[
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

#[derive(Debug)]
struct Platform {
    uri: String,
    sha256: String,
    bin: String,
    selector: Value,
}

/// Checks a plugin manifest with krew's rules (`internal/index/validation` and
/// `validate-krew-manifest`) and returns its version and platforms.
fn krew_check(path: &Path) -> Result<(String, Vec<Platform>), String> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = file_name
        .strip_suffix(".yaml")
        .ok_or_else(|| format!("{file_name}: the manifest must be a .yaml file"))?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{file_name}: {e}"))?;
    let doc: Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{file_name}: not YAML: {e}"))?;

    let safe_name = regex::Regex::new(r"^[\w-]+$").expect("valid regex");
    let windows_reserved = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    if !safe_name.is_match(name)
        || windows_reserved
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
    {
        return Err(format!("plugin name {name:?} is not allowed"));
    }
    if doc["apiVersion"] != "krew.googlecontainertools.github.com/v1alpha2" {
        return Err(format!("unsupported apiVersion {}", doc["apiVersion"]));
    }
    if doc["kind"] != "Plugin" {
        return Err(format!("kind is {}, not Plugin", doc["kind"]));
    }
    if doc["metadata"]["name"] != name {
        return Err(format!(
            "metadata.name {} does not equal the file name {name:?}",
            doc["metadata"]["name"]
        ));
    }
    let spec = &doc["spec"];
    let text_field = |key: &str, max_line: usize| -> Result<String, String> {
        let value = spec[key]
            .as_str()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| format!("spec.{key} must be a non-empty string"))?;
        // krew-index rejects long lines unless they are one word (a URL).
        if let Some(line) = value
            .lines()
            .find(|l| l.len() > max_line && l.trim().contains(' '))
        {
            return Err(format!(
                "spec.{key} has a line over {max_line} characters: {line:?}"
            ));
        }
        Ok(value.to_string())
    };
    let short = text_field("shortDescription", 70)?;
    if short.contains(['\r', '\n']) {
        return Err("spec.shortDescription must be one line".into());
    }
    text_field("description", 80)?;
    let caveats = text_field("caveats", 80)?;
    if !caveats.contains("kubectl gitops hooks install") {
        return Err("spec.caveats must point at `kubectl gitops hooks install`".into());
    }
    let homepage = text_field("homepage", usize::MAX)?;
    if !homepage.starts_with("https://") {
        return Err(format!("spec.homepage {homepage:?} is not an https URL"));
    }
    let version = text_field("version", usize::MAX)?;
    let semver = regex::Regex::new(
        r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$",
    )
    .expect("valid regex");
    if !semver.is_match(&version) {
        return Err(format!(
            "spec.version {version:?} is not semver with a leading v"
        ));
    }

    let sha256 = regex::Regex::new("^[a-f0-9]{64}$").expect("valid regex");
    let list = spec["platforms"]
        .as_array()
        .filter(|p| !p.is_empty())
        .ok_or("spec.platforms must be a non-empty list")?;
    let mut platforms = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let field = |key: &str| -> Result<String, String> {
            p[key]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("spec.platforms[{i}].{key} has to be set"))
        };
        let uri = field("uri")?;
        let sum = field("sha256")?;
        if !sha256.is_match(&sum) {
            return Err(format!(
                "spec.platforms[{i}].sha256 {sum:?} is not 64 lowercase hex"
            ));
        }
        let bin = field("bin")?;
        if bin.starts_with('/') || bin.split(['/', '\\']).any(|part| part == "..") {
            return Err(format!(
                "spec.platforms[{i}].bin {bin:?} leaves the install directory"
            ));
        }
        if let Some(files) = p.get("files") {
            let files = files
                .as_array()
                .filter(|f| !f.is_empty())
                .ok_or_else(|| format!("spec.platforms[{i}].files has to be unset or non-empty"))?;
            if files.iter().any(|f| {
                f["from"].as_str().is_none_or(str::is_empty)
                    || f["to"].as_str().is_none_or(str::is_empty)
            }) {
                return Err(format!("spec.platforms[{i}].files needs from and to"));
            }
        }
        let selector = p["selector"].clone();
        check_selector(&selector).map_err(|e| format!("spec.platforms[{i}].selector: {e}"))?;
        if !KREW_PLATFORMS
            .iter()
            .any(|(os, arch)| selector_matches(&selector, os, arch))
        {
            return Err(format!(
                "spec.platforms[{i}] matches no platform krew supports"
            ));
        }
        platforms.push(Platform {
            uri,
            sha256: sum,
            bin,
            selector,
        });
    }
    for (os, arch) in KREW_PLATFORMS {
        let matching: Vec<usize> = platforms
            .iter()
            .enumerate()
            .filter(|(_, p)| selector_matches(&p.selector, os, arch))
            .map(|(i, _)| i)
            .collect();
        if matching.len() > 1 {
            return Err(format!(
                "platforms {matching:?} overlap: all select os={os}/arch={arch}"
            ));
        }
    }
    Ok((version, platforms))
}

/// krew accepts `matchLabels` and `matchExpressions` on the keys `os` and `arch` only.
fn check_selector(selector: &Value) -> Result<(), String> {
    let labels = selector.get("matchLabels");
    let expressions = selector.get("matchExpressions");
    if selector.is_null() || (labels.is_none() && expressions.is_none()) {
        return Err("an empty selector is not supported".into());
    }
    let mut keys: Vec<&str> = Vec::new();
    if let Some(labels) = labels {
        let map = labels
            .as_object()
            .filter(|m| !m.is_empty())
            .ok_or("matchLabels is specified but empty")?;
        keys.extend(map.keys().map(String::as_str));
    }
    if let Some(expressions) = expressions {
        let list = expressions
            .as_array()
            .filter(|l| !l.is_empty())
            .ok_or("matchExpressions is specified but empty")?;
        for e in list {
            keys.push(e["key"].as_str().ok_or("a matchExpression has no key")?);
        }
    }
    match keys.iter().find(|k| **k != "os" && **k != "arch") {
        Some(key) => Err(format!("key {key:?} is not supported (only os and arch)")),
        None => Ok(()),
    }
}

/// A Kubernetes label selector applied to the labels {os, arch}.
fn selector_matches(selector: &Value, os: &str, arch: &str) -> bool {
    let labels = BTreeMap::from([("os", os), ("arch", arch)]);
    let by_labels = selector["matchLabels"].as_object().is_none_or(|m| {
        m.iter()
            .all(|(k, v)| labels.get(k.as_str()).copied() == v.as_str())
    });
    let by_expressions = selector["matchExpressions"].as_array().is_none_or(|list| {
        list.iter().all(|e| {
            let value = e["key"].as_str().and_then(|k| labels.get(k).copied());
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e["operator"].as_str() {
                Some("In") => value.is_some_and(|v| values.contains(&v)),
                Some("NotIn") => value.is_none_or(|v| !values.contains(&v)),
                Some("Exists") => value.is_some(),
                Some("DoesNotExist") => value.is_none(),
                _ => false,
            }
        })
    });
    by_labels && by_expressions
}

fn platform_for<'a>(platforms: &'a [Platform], os: &str, arch: &str) -> Option<&'a Platform> {
    platforms
        .iter()
        .find(|p| selector_matches(&p.selector, os, arch))
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .split_whitespace()
        .next()
        .expect("a checksum")
        .to_string()
}

/// The krew os/arch of the machine running the tests.
fn host_platform() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    (os, arch)
}

#[test]
fn committed_manifest_passes_krew_validation() {
    let (version, platforms) = krew_check(&repo_file("plugin-manifest/gitops.yaml"))
        .unwrap_or_else(|e| panic!("plugin-manifest/gitops.yaml: {e}"));
    assert_eq!(
        version,
        format!("v{VERSION}"),
        "template version is the crate's"
    );
    for (os, arch) in REQUIRED {
        let p = platform_for(&platforms, os, arch)
            .unwrap_or_else(|| panic!("no platform for {os}/{arch}"));
        let expected_bin = if *os == "windows" {
            "kubectl-gitops.exe"
        } else {
            "kubectl-gitops"
        };
        assert_eq!(p.bin, expected_bin, "{os}/{arch}");
        assert!(
            p.uri.ends_with(".tar.gz") && p.uri.contains(&format!("kubectl-gitops-{VERSION}-")),
            "{os}/{arch} uri {}",
            p.uri
        );
    }
}

#[test]
fn the_krew_check_catches_what_krew_rejects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = std::fs::read_to_string(repo_file("plugin-manifest/gitops.yaml")).expect("read");
    let cases = [
        (
            "gitops.yaml",
            good.replace("version: v", "version: "),
            "semver",
        ),
        ("other.yaml", good.clone(), "file name"),
        (
            "gitops.yaml",
            good.replacen(
                "\"0000000000000000000000000000000000000000000000000000000000000000\"",
                "\"ABC\"",
                1,
            ),
            "sha256",
        ),
        (
            "gitops.yaml",
            good.replacen("arch: arm64", "arch: amd64", 1),
            "overlap",
        ),
        (
            "gitops.yaml",
            good.replacen("os: linux", "distro: linux", 1),
            "not supported",
        ),
        (
            "gitops.yaml",
            good.replacen("bin: kubectl-gitops", "bin: ''", 1),
            "bin",
        ),
    ];
    for (file, text, expected) in cases {
        let path = dir.path().join(file);
        std::fs::write(&path, text).expect("write");
        let err = krew_check(&path).expect_err(expected);
        assert!(err.contains(expected), "{expected}: got {err}");
        std::fs::remove_file(&path).expect("remove");
    }
}

#[test]
fn release_archives_install_the_krew_way() {
    let release = release();

    // Each archive: its .sha256 beside it, and the four files at the root.
    let archive = &release.host_archive;
    let name = archive.file_name().and_then(|n| n.to_str()).expect("name");
    let recorded = std::fs::read_to_string(release.dir.join(format!("{name}.sha256")))
        .expect("a .sha256 beside the archive");
    assert_eq!(recorded, format!("{}  {name}\n", sha256_of(archive)));
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(archive)
        .output()
        .expect("tar runs");
    let mut entries: Vec<String> = stdout(&listing).lines().map(str::to_string).collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            "LICENSE",
            "README.md",
            "kubectl-gitops",
            "kubectl_complete-gitops"
        ]
    );

    // The rendered manifest: krew's rules, the release version, real checksums.
    let manifest = release.dir.join("gitops.yaml");
    let (version, platforms) =
        krew_check(&manifest).unwrap_or_else(|e| panic!("rendered gitops.yaml: {e}"));
    assert_eq!(version, format!("v{VERSION}"));
    for p in &platforms {
        let file = p.uri.rsplit('/').next().expect("uri has a file name");
        let local = release.dir.join(file);
        assert!(
            local.is_file(),
            "manifest names {file}, which release.sh did not write"
        );
        assert_eq!(p.sha256, sha256_of(&local), "{file}");
    }
    let (os, arch) = host_platform();
    let platform = platform_for(&platforms, os, arch)
        .unwrap_or_else(|| panic!("no platform for this machine ({os}/{arch})"));

    // Install as krew does: check the download, unpack into store/<plugin>/<version>/, link
    // bin/kubectl-<plugin> to the platform's `bin`.
    let file = platform.uri.rsplit('/').next().expect("file name");
    let downloaded = release.dir.join(file);
    assert_eq!(sha256_of(&downloaded), platform.sha256);
    let root = tempfile::tempdir().expect("krew root");
    let store = root.path().join("store/gitops").join(&version);
    std::fs::create_dir_all(&store).expect("mkdir store");
    let unpack = Command::new("tar")
        .arg("-xzf")
        .arg(&downloaded)
        .arg("-C")
        .arg(&store)
        .output()
        .expect("tar runs");
    assert!(unpack.status.success(), "{}", stderr(&unpack));
    assert!(
        store.join("LICENSE").is_file(),
        "LICENSE missing from the archive"
    );
    let bin_dir = root.path().join("bin");
    std::fs::create_dir_all(&bin_dir).expect("mkdir bin");
    let target = store.join(&platform.bin);
    assert!(
        target.is_file(),
        "bin {} is not in the archive",
        platform.bin
    );
    let link = bin_dir.join("kubectl-gitops");
    std::os::unix::fs::symlink(&target, &link).expect("link the plugin");

    assert_plugin_runs(&bin_dir, &link);
}

/// With only `dir` (and the system) on PATH, kubectl lists `plugin` without warnings and runs
/// it: `version` shows this build and `validate` passes on a good manifest. Returns that PATH.
pub fn assert_plugin_runs(dir: &Path, plugin: &Path) -> String {
    let path = path_with_only(dir);
    assert_plugin_list_clean(&path, plugin);
    let repo = Repo::new();
    let shown = kubectl_gitops(&path, repo.path(), &["version"]);
    assert!(
        shown.starts_with(&format!("kubectl-gitops {VERSION}\n")),
        "{shown}"
    );
    repo.write(
        "apps/web.yaml",
        &deployment("web", "ghcr.io/acme/web:1.2.3"),
    );
    kubectl_gitops(&path, repo.path(), &["validate", "apps"]);
    path
}
