//! `kubectl gitops diff --from/--to`: two Git revisions compared with no cluster at all.

use crate::common::{Repo, deployment, stderr, stdout};

const SECRET_V1: &str = "apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
stringData:
  password: hunter2-first
  user: admin-user-value
";

const SECRET_V2: &str = "apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
data:
  password: c3dvcmRmaXNoLXNlY29uZA==
  user: YWRtaW4tdXNlci12YWx1ZQ==
  token: bmV3LXRva2VuLXZhbHVl
";

/// Values that must never appear in any output: plain and base64 forms.
const SECRET_VALUES: &[&str] = &[
    "hunter2-first",
    "aHVudGVyMi1maXJzdA==",
    "admin-user-value",
    "YWRtaW4tdXNlci12YWx1ZQ==",
    "c3dvcmRmaXNoLXNlY29uZA==",
    "swordfish-second",
    "bmV3LXRva2VuLXZhbHVl",
    "new-token-value",
];

fn two_revisions() -> (Repo, String) {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.25"))
        .write(
            "apps/old.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\ndata:\n  a: \"1\"\n",
        )
        .write("apps/secret.yaml", SECRET_V1)
        .write(
            "other/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
        );
    let first = repo.commit_all("first");
    std::fs::remove_file(repo.path().join("apps/old.yaml")).expect("remove");
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.26"))
        .write(
            "apps/new.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\n",
        )
        .write("apps/secret.yaml", SECRET_V2);
    repo.commit_all("second");
    (repo, first)
}

fn assert_no_secret_values(text: &str) {
    for value in SECRET_VALUES {
        assert!(
            !text.contains(value),
            "secret value {value} leaked:\n{text}"
        );
    }
}

#[test]
fn from_to_shows_changed_created_and_deleted_objects() {
    let (repo, first) = two_revisions();
    let out = repo
        .run()
        .args(["diff", "--from", &first, "--to", "HEAD"])
        .output()
        .expect("runs");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("-      - image: nginx:1.25"), "{text}");
    assert!(text.contains("+      - image: nginx:1.26"), "{text}");
    assert!(text.contains("+++ HEAD/v1.ConfigMap.new"), "{text}");
    assert!(text.contains("+  name: new"), "{text}");
    assert!(text.contains("-  name: old"), "{text}");
    assert!(
        !text.contains("name: other"),
        "unchanged objects are not shown:\n{text}"
    );
    assert!(
        text.contains("# Secret Secret/shop/db: keys changed: password; added: token"),
        "{text}"
    );
    assert!(
        text.contains("*** (before)") && text.contains("*** (after)"),
        "{text}"
    );
    assert_no_secret_values(&text);
    assert_no_secret_values(&stderr(&out));
}

#[test]
fn from_to_json_gives_per_object_results() {
    let (repo, first) = two_revisions();
    let out = repo
        .run()
        .args(["diff", "--from", &first, "-o", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_no_secret_values(&text);
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let result = |kind: &str, name: &str| -> serde_json::Value {
        json["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["kind"] == kind && o["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{kind}/{name} in {text}"))
    };
    assert_eq!(result("Deployment", "web")["result"], "changed");
    assert_eq!(
        result("Deployment", "web")["paths"],
        serde_json::json!(["spec.template.spec.containers[name=web].image"])
    );
    assert_eq!(result("ConfigMap", "new")["result"], "created");
    assert_eq!(result("ConfigMap", "old")["result"], "deleted");
    // Only the apps the change touches are rendered: `other` lives in an untouched one.
    assert!(!text.contains("\"other\""), "{text}");
    let secret = result("Secret", "db");
    assert_eq!(
        secret["secretKeys"]["changed"],
        serde_json::json!(["password"])
    );
    assert_eq!(secret["secretKeys"]["added"], serde_json::json!(["token"]));
    assert_eq!(json["summary"]["changed"], 2);
    assert_eq!(json["to"], "HEAD");
}

#[test]
fn same_revision_is_clean_and_paths_scope() {
    let (repo, first) = two_revisions();
    repo.run()
        .args(["diff", "--from", "HEAD", "--to", "HEAD"])
        .assert()
        .code(0)
        .stdout("");
    // Only `other/` is compared, and it did not change.
    repo.run()
        .args(["diff", "--from", &first, "--path", "other"])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn stringdata_moved_to_data_is_not_a_change() {
    let repo = Repo::new();
    repo.write(
        "s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: value-one\n",
    );
    let first = repo.commit_all("stringData");
    repo.write(
        "s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: dmFsdWUtb25l\n",
    );
    repo.commit_all("data");
    repo.run()
        .args(["diff", "--from", &first])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn external_diff_program_gets_masked_files() {
    let (repo, first) = two_revisions();
    let out = repo
        .run()
        .env("KUBECTL_EXTERNAL_DIFF", "diff -r -u")
        .args(["diff", "--from", &first])
        .output()
        .expect("runs");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("apps.v1.Deployment.web"), "{text}");
    assert!(text.contains("+      - image: nginx:1.26"), "{text}");
    assert_no_secret_values(&text);

    let same = repo
        .run()
        .env("KUBECTL_EXTERNAL_DIFF", "diff -r")
        .args(["diff", "--from", "HEAD"])
        .output()
        .expect("runs");
    assert_eq!(same.status.code(), Some(0));
}

#[test]
fn bad_revisions_and_flags_exit_2_with_one_line() {
    let (repo, _) = two_revisions();
    let out = repo
        .run()
        .args(["diff", "--from", "no-such-branch"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: \"no-such-branch\" is not a commit"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );

    repo.run().args(["diff", "--to", "HEAD"]).assert().code(2);

    let outside = tempfile::tempdir().expect("tmp");
    let out = crate::common::bin()
        .current_dir(outside.path())
        .args(["diff", "--from", "HEAD"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kustomize_bases_are_compared_through_their_overlays_only() {
    let repo = Repo::new();
    repo.write("base/kustomization.yaml", "resources: [deploy.yaml]\n");
    repo.write("base/deploy.yaml", &deployment("web", "nginx:1.27"));
    for env in ["staging", "prod"] {
        repo.write(
            &format!("overlays/{env}/kustomization.yaml"),
            &format!("resources: [../../base]\nnamespace: web-{env}\n"),
        );
    }
    let before = repo.commit_all("web");
    repo.write("base/deploy.yaml", &deployment("web", "nginx:1.28"));
    repo.commit_all("bump");

    let out = repo
        .run()
        .args(["diff", "--from", &before, "--to", "HEAD", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut changed: Vec<String> = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["result"] == "changed")
        .map(|o| {
            format!(
                "{}/{}",
                o["namespace"].as_str().unwrap_or("-"),
                o["name"].as_str().unwrap()
            )
        })
        .collect();
    changed.sort();
    // The base on its own (namespace default) is not an app.
    assert_eq!(changed, ["web-prod/web", "web-staging/web"], "{json}");
}
