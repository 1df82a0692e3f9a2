//! `kubectl gitops bump`: in-place edits, commits with trailers, no-match and dry-run.

use crate::common::{Repo, deployment, stderr, stdout};

/// A multi-document file with CRLF line endings, comments, both quoting styles and a Flux
/// setter comment: everything but the tag must survive byte for byte.
const TRICKY: &str = "# web and worker\r\napiVersion: apps/v1\r\nkind: Deployment\r\nmetadata:\r\n  name: web   # keep me\r\nspec:\r\n  template:\r\n    spec:\r\n      initContainers:\r\n        - name: migrate\r\n          image: 'ghcr.io/acme/web:1.0'\r\n      containers:\r\n        - name: web\r\n          image: \"ghcr.io/acme/web:1.0\" # {\"$imagepolicy\": \"flux-system:web\"}\r\n        - name: sidecar\r\n          image: ghcr.io/acme/proxy:1.0\r\n---\r\napiVersion: apps/v1\r\nkind: Deployment\r\nmetadata: {name: worker}\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n      - {name: worker, image: ghcr.io/acme/web:0.9}\r\n";

#[test]
fn only_the_tag_bytes_change() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", TRICKY);
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = TRICKY
        .replace("web:1.0", "web:1.1")
        .replace("web:0.9", "web:1.1");
    assert_eq!(repo.read("apps/web.yaml"), expected);
    let text = stdout(&out);
    assert!(
        text.contains(
            "apps/web.yaml:14  Deployment/web container web  ghcr.io/acme/web  1.0 -> 1.1"
        ),
        "{text}"
    );
    assert!(text.contains("0.9 -> 1.1"), "{text}");
}

#[test]
fn commit_has_one_trailer_per_change_and_the_users_identity() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", TRICKY);
    repo.write("README.md", "docs\n");
    repo.commit_all("init");
    // Someone's unrelated staged work must not end up in the bump commit.
    repo.write("README.md", "more docs\n");
    repo.git(&["add", "README.md"]);
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.1", "--commit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("Bump ghcr.io/acme/web to 1.1\n"),
        "{message}"
    );
    assert!(
        message.contains(
            "\nImage-Bump: ghcr.io/acme/web 1.0 -> 1.1\nImage-Bump: ghcr.io/acme/web 0.9 -> 1.1"
        ),
        "{message}"
    );
    assert_eq!(
        repo.git(&["log", "-1", "--format=%an <%ae>"]),
        "Test Author <author@example.com>"
    );
    assert_eq!(
        repo.git(&["show", "--name-only", "--format=", "HEAD"]),
        "apps/web.yaml"
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "M  README.md");
}

#[test]
fn message_flag_commits_with_the_given_subject() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.commit_all("init");
    repo.run()
        .args(["bump", "ghcr.io/acme/web", "2.0", "-m", "Release web 2.0"])
        .assert()
        .success();
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert_eq!(
        message,
        "Release web 2.0\n\nImage-Bump: ghcr.io/acme/web 1.0 -> 2.0"
    );
}

#[test]
fn no_match_exits_one_and_names_what_was_searched() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/api", "1.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("image ghcr.io/acme/api not found in 1 YAML file under the repository"),
        "{err}"
    );
    assert!(err.contains("images found: ghcr.io/acme/web"), "{err}");
    // A short name gets a suggestion.
    let out = repo.run().args(["bump", "web", "1.1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean ghcr.io/acme/web?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.commit_all("init");
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.1", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(
        diff.contains("--- a/apps/web.yaml\n+++ b/apps/web.yaml\n"),
        "{diff}"
    );
    assert!(
        diff.contains(
            "-          image: ghcr.io/acme/web:1.0\n+          image: ghcr.io/acme/web:1.1\n"
        ),
        "{diff}"
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn kustomize_images_and_digests() {
    let repo = Repo::new();
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nimages:\n  - name: web # from base\n    newName: ghcr.io/acme/web\n    newTag: \"1.0\"\n  - name: ghcr.io/acme/api\n";
    repo.write("overlays/prod/kustomization.yaml", kustomization);
    repo.run()
        .args(["bump", "ghcr.io/acme/web", "1.1"])
        .assert()
        .success();
    assert_eq!(
        repo.read("overlays/prod/kustomization.yaml"),
        kustomization.replace("\"1.0\"", "\"1.1\"")
    );
    let digest = format!("sha256:{}", "ab".repeat(32));
    repo.run()
        .args(["bump", "ghcr.io/acme/api", &digest])
        .assert()
        .success();
    assert!(
        repo.read("overlays/prod/kustomization.yaml")
            .ends_with(&format!(
                "  - name: ghcr.io/acme/api\n    digest: {digest}\n"
            ))
    );
    // A digest-pinned container image gets the new digest in place.
    repo.write(
        "apps/pinned.yaml",
        &deployment(
            "pinned",
            &format!("ghcr.io/acme/db@sha256:{}", "0".repeat(64)),
        ),
    );
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/db", &digest])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        repo.read("apps/pinned.yaml")
            .contains(&format!("image: ghcr.io/acme/db@{digest}\n"))
    );
}

#[test]
fn helm_values_and_json_output() {
    let repo = Repo::new();
    let values = "image:\n  repository: ghcr.io/acme/web\n  tag: \"1.0\" # {\"$imagepolicy\": \"flux-system:web:tag\"}\n  pullPolicy: IfNotPresent\n";
    repo.write("charts/web/values.yaml", values);
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.1", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        repo.read("charts/web/values.yaml"),
        values.replace("1.0", "1.1")
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["changes"][0]["file"], "charts/web/values.yaml");
    assert_eq!(json["changes"][0]["old"], "1.0");
    assert_eq!(json["changes"][0]["new"], "1.1");
    assert_eq!(json["changes"][0]["holder"], "values image");
    assert_eq!(json["commit"], serde_json::Value::Null);
    assert_eq!(json["dryRun"], false);
    // The field belongs to Flux image automation, which may move it again: said on stderr.
    assert!(
        stderr(&out).contains(
            "charts/web/values.yaml:3: Flux image automation sets this field (image policy flux-system:web:tag)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn commit_refuses_files_with_uncommitted_changes() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.commit_all("init");
    let edited = deployment("web", "ghcr.io/acme/web:1.0").replace("replicas: 2", "replicas: 3");
    repo.write("apps/web.yaml", &edited);
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.1", "--commit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("uncommitted changes in apps/web.yaml"),
        "{}",
        stderr(&out)
    );
    assert_eq!(repo.read("apps/web.yaml"), edited);
}

#[test]
fn bad_versions_are_usage_errors() {
    let repo = Repo::new();
    let out = repo
        .run()
        .args(["bump", "app", "not a tag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a valid tag or digest"),
        "{}",
        stderr(&out)
    );
    let out = repo
        .run()
        .args(["bump", "app:1.0", "2.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("give the name without tag"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_images_found_list_is_complete_and_names_each_image_once() {
    let repo = Repo::new();
    repo.write("apps/a.yaml", &deployment("a", "nginx:1.27"));
    repo.write(
        "apps/b.yaml",
        &deployment("b", "docker.io/library/nginx:1.27"),
    );
    let add = |from: usize, to: usize| {
        for i in from..to {
            repo.write(
                &format!("apps/svc{i:02}.yaml"),
                &deployment(
                    &format!("svc{i:02}"),
                    &format!("ghcr.io/acme/svc{i:02}:1.0"),
                ),
            );
        }
    };
    let found = || {
        let out = repo
            .run()
            .args(["bump", "quay.io/other/thing", "2.0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        err.split("images found: ")
            .nth(1)
            .unwrap_or_else(|| panic!("no list: {err}"))
            .trim_end()
            .to_string()
    };
    // 19 images, nginx once under the name people write: all of them are listed.
    add(0, 18);
    let list = found();
    assert_eq!(list.split(", ").count(), 19, "{list}");
    assert!(list.ends_with(", nginx"), "{list}");
    assert!(!list.contains("docker.io/library/nginx"), "{list}");
    // 25 images: 20 named, and the count of the rest.
    add(18, 24);
    let list = found();
    assert!(list.ends_with("ghcr.io/acme/svc19 and 5 more"), "{list}");
}
