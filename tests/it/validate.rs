//! `kubectl gitops validate` on real files: a labelled corpus of defects and tricky-but-valid
//! files, the real-world corpus, output formats, and hostile input.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Repo, bin, deployment, stderr, stdout};

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn validate_json(dir: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let out = bin()
        .arg("validate")
        .arg(dir)
        .args(["-o", "json"])
        .args(extra)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json: {e}: {}", stdout(&out)));
    (out.status.code(), json)
}

fn errors_of(json: &Value) -> Vec<&Value> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_labelled_defect_is_flagged_at_its_file_and_line() {
    let dir = fixtures("invalid");
    let (code, json) = validate_json(&dir, &[]);
    assert_eq!(code, Some(1));
    let errors = errors_of(&json);
    let mut checked = 0;
    for file in yaml_files(&dir) {
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file.to_string_lossy().to_string();
        let here: Vec<_> = errors
            .iter()
            .filter(|d| d["file"] == shown.as_str())
            .collect();
        match text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect-line: "))
        {
            Some(line) => {
                let line: u64 = line.trim().parse().unwrap();
                assert!(
                    here.iter().any(|d| d["line"] == line),
                    "{shown}: expected an error at line {line}, got {here:#?}"
                );
                checked += 1;
            }
            // Helper files (a CRD, the first of a duplicate pair) are valid themselves.
            None => assert!(here.is_empty(), "{shown} should have no errors: {here:#?}"),
        }
    }
    assert!(checked >= 30, "only {checked} labelled files");
}

#[test]
fn tricky_but_valid_files_have_no_errors() {
    let (code, json) = validate_json(&fixtures("valid"), &[]);
    assert_eq!(errors_of(&json), Vec::<&Value>::new());
    assert_eq!(code, Some(0));
    assert_eq!(json["valid"], true);
    // The list's two items, both generateName Jobs, the kustomize render, the CRD and its
    // instance... all were read as objects, not skipped.
    assert!(json["summary"]["objects"].as_u64().unwrap() >= 20, "{json}");
    // A custom resource without its CRD is a warning, and an error with --strict-crds.
    let warnings: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "crd-missing")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let (code, _) = validate_json(&fixtures("valid"), &["--strict-crds"]);
    assert_eq!(code, Some(1));
}

#[test]
fn real_world_corpus_has_no_false_positives() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !corpus.exists() {
        eprintln!("../shared/corpus is not present on this machine; nothing to check");
        return;
    }
    let (code, json) = validate_json(&corpus, &[]);
    assert_eq!(errors_of(&json), Vec::<&Value>::new());
    assert_eq!(code, Some(0));
    assert!(json["summary"]["objects"].as_u64().unwrap() > 150);
}

#[test]
fn text_output_names_file_line_object_and_field() {
    let repo = Repo::new();
    repo.write(
        "apps/web.yaml",
        &deployment("web", "nginx:1.27").replace("replicas: 2", "replicas: two"),
    );
    let out = repo.run().args(["validate", "apps"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("apps/web.yaml:8: Deployment/web: spec.replicas: expected an integer, got string \"two\""),
        "{text}"
    );
    assert!(text.contains("1 error and 0 warnings in 1 file"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour when not on a terminal: {text:?}"
    );
}

#[test]
fn junit_output_reports_failures_per_file() {
    let repo = Repo::new();
    repo.write("good.yaml", &deployment("good", "nginx:1.27"));
    repo.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad}\n",
    );
    let out = repo
        .run()
        .args(["validate", "-o", "junit", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains(r#"tests="2" failures="1""#), "{xml}");
    assert!(
        xml.contains(r#"<testcase classname="manifests" name="good.yaml"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains("bad.yaml:3: ConfigMap/Bad: metadata.name: invalid name"),
        "{xml}"
    );
}

#[test]
fn policies_are_configurable_in_gitops_yaml() {
    let repo = Repo::new();
    repo.write("app.yaml", &deployment("web", "nginx:latest"));
    let out = repo
        .run()
        .args(["validate", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "latest is a warning by default");
    assert!(stdout(&out).contains("policy.image-tag"));

    repo.write(
        ".gitops.yaml",
        "validation:\n  policies:\n    imageTag: error\n",
    );
    let out = repo.run().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    repo.write(
        ".gitops.yaml",
        "validation:\n  policies:\n    imageTag: off\n",
    );
    let out = repo
        .run()
        .args(["validate", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).contains("policy.image-tag"));

    repo.write(".gitops.yaml", "validation:\n  polices: {}\n");
    let out = repo.run().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a misspelt setting is refused");
    assert!(stderr(&out).contains(".gitops.yaml"), "{}", stderr(&out));
}

#[test]
fn hostile_input_gets_one_line_per_file_and_the_run_goes_on() {
    let repo = Repo::new();
    let dir = repo.path();
    repo.write("good.yaml", &deployment("web", "nginx:1.27"));
    std::fs::write(dir.join("binary.yaml"), b"\x7fELF\x02\x01\x01\x00\x00\x00").unwrap();
    std::fs::write(
        dir.join("nul.yaml"),
        b"apiVersion: v1\nkind: ConfigMap\x00\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("latin1.yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n",
    )
    .unwrap();
    repo.write(
        "truncated.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"x",
    );
    repo.write(
        "deep.yaml",
        &format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000)),
    );
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..15 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    repo.write("bomb.yaml", &bomb);
    let big = std::fs::File::create(dir.join("big.yaml")).unwrap();
    big.set_len(100 * 1024 * 1024).unwrap();
    std::fs::create_dir(dir.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("loop/parent")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target.yaml", dir.join("dangling.yaml")).unwrap();

    let out = repo
        .run()
        .args(["validate", "-o", "json", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = errors_of(&json);
    for name in [
        "binary.yaml",
        "nul.yaml",
        "latin1.yaml",
        "truncated.yaml",
        "deep.yaml",
        "bomb.yaml",
        "big.yaml",
        "dangling.yaml",
    ] {
        let here: Vec<_> = errors
            .iter()
            .filter(|d| d["file"].as_str().unwrap().ends_with(name))
            .collect();
        assert_eq!(here.len(), 1, "{name}: {here:?}");
        let message = here[0]["message"].as_str().unwrap();
        assert!(!message.contains('\n'), "{name}: one line: {message}");
    }
    assert!(
        errors
            .iter()
            .any(|d| d["file"].as_str().unwrap().contains("loop")
                && d["message"].as_str().unwrap().contains("loop")),
        "{errors:?}"
    );
    // The good file was still read and checked.
    assert!(json["summary"]["objects"].as_u64().unwrap() >= 1);
}

#[test]
fn bad_flags_and_missing_paths_exit_2() {
    let out = bin().args(["validate", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--no-such-flag"));
    let out = bin()
        .args(["validate", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unreadable input is an error finding"
    );
    assert!(
        stdout(&out).contains("/definitely/not/here: cannot read"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn help_reads_as_a_kubectl_plugin() {
    let out = bin().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("Usage: kubectl gitops"),
        "{}",
        stdout(&out)
    );
    let out = bin().args(["validate", "--help"]).output().unwrap();
    assert!(
        stdout(&out).contains("Usage: kubectl gitops validate"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_named_file_of_a_kustomize_directory_is_checked_rendered() {
    let repo = Repo::new();
    repo.write("base/kustomization.yaml", "resources: [deploy.yaml]\n");
    repo.write("base/deploy.yaml", &deployment("web", "nginx:1.27"));
    repo.write(
        "overlays/prod/kustomization.yaml",
        "resources: [../../base]\npatches:\n  - path: replicas.yaml\n",
    );
    // A patch is a partial Deployment: on its own it lacks selector and template.
    let patch =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n";
    repo.write("overlays/prod/replicas.yaml", patch);
    let out = repo
        .run()
        .args(["validate", "overlays/prod/replicas.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    repo.write(
        "overlays/prod/replicas.yaml",
        &patch.replace("replicas: 3", "replicas: three"),
    );
    let out = repo
        .run()
        .args(["validate", "overlays/prod/replicas.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("spec.replicas: expected an integer"),
        "{text}"
    );
    assert!(text.contains("overlays/prod/replicas.yaml"), "{text}");
}
