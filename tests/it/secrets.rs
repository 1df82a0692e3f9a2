//! No Secret value is ever printed: every output format of every command that reads files,
//! run over a repository of Secrets in every shape (strings, numbers, booleans, block
//! scalars, base64, `.dockerconfigjson`, last-applied annotations, Secrets in Lists and
//! overlays, invalid ones, secretGenerator literals, files and env files), contains none of
//! their values, raw or base64. The cluster commands are covered in cluster.rs.

use base64::Engine;

use crate::common::{Repo, deployment, git_output, stderr, stdout};

/// The secret values planted below, as written (base64 `data` values decoded too).
const PLAIN: &[&str] = &[
    "hunter2-plain",
    "84736251",
    "11223344",
    "tok-55519",
    "PRIVATE-KEY-MATERIAL",
    "env-secret-777",
    "multi-line-secret-line",
    "last-applied-secret",
    "listed-secret-value",
    "overlay-secret-value",
    "invalid-secret-value",
];

/// Every form a value may appear in: as written, and base64-encoded.
fn forbidden() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    PLAIN
        .iter()
        .flat_map(|v| [v.to_string(), b64.encode(v)])
        .collect()
}

fn b64(v: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

fn secrets_repo() -> Repo {
    let repo = Repo::new();
    let docker = b64(&format!(
        "{{\"auths\":{{\"r\":{{\"auth\":\"{}\"}}}}}}",
        b64("user:hunter2-plain")
    ));
    repo.write(
        "apps/secrets.yaml",
        &format!(
            "apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{{\"stringData\":{{\"x\":\"last-applied-secret\"}}}}'
type: Opaque
data:
  password: {pw}
  .dockerconfigjson: {docker}
stringData:
  pin: 84736251
  code: 11223344
  flag: true
  cert: |
    multi-line-secret-line
    second
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {{name: listed}}
  stringData: {{v: listed-secret-value}}
",
            pw = b64("hunter2-plain"),
        ),
    );
    // A Secret the validator rejects (its fields are wrong), whose values must not be echoed.
    repo.write(
        "apps/broken-secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: broken}\nimmutable: sometimes\nstringData:\n  n: 11223344\n  list: [invalid-secret-value]\n",
    );
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.write(
        "apps/kustomization.yaml",
        "resources:\n- secrets.yaml\n- broken-secret.yaml\n- web.yaml\nsecretGenerator:\n- name: gen\n  literals:\n  - API_TOKEN=tok-55519\n  files:\n  - tls.key=keys/tls.key\n  envs:\n  - keys/app.env\n",
    );
    repo.write("apps/keys/tls.key", "PRIVATE-KEY-MATERIAL\n");
    repo.write("apps/keys/app.env", "APP_SECRET=env-secret-777\n");
    repo.write(
        "overlay/kustomization.yaml",
        "resources:\n- ../apps\npatches:\n- patch: |-\n    apiVersion: v1\n    kind: Secret\n    metadata: {name: db}\n    stringData: {extra: overlay-secret-value}\n",
    );
    repo.commit_all("init");
    repo
}

fn assert_clean(what: &str, text: &str) {
    for v in forbidden() {
        assert!(!text.contains(&v), "{what} printed {v:?}:\n{text}");
    }
}

#[test]
fn no_command_or_format_prints_a_secret_value() {
    let repo = secrets_repo();
    // A change touching the Secrets and an image, for diff, history, bump and rollback.
    let text = repo
        .read("apps/secrets.yaml")
        .replace("84736251", "99990000")
        .replace(&b64("hunter2-plain"), &b64("hunter3-plain"));
    repo.write("apps/secrets.yaml", &text);
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.1"));
    repo.write("apps/keys/tls.key", "PRIVATE-KEY-MATERIAL-2\n");
    let change = repo.commit_all("rotate and bump");
    let extra = ["99990000", "hunter3-plain"];
    let forms = ["text", "json", "junit", "github", "sarif"];
    let mut runs: Vec<Vec<String>> = forms
        .iter()
        .map(|f| vec!["validate".into(), ".".into(), "-o".into(), f.to_string()])
        .collect();
    for app in ["overlay"] {
        for f in ["yaml", "json"] {
            runs.push(vec![
                "render".into(),
                app.into(),
                "--working-tree".into(),
                "-o".into(),
                f.into(),
            ]);
        }
    }
    for f in ["text", "json", "markdown"] {
        runs.push(vec![
            "diff".into(),
            "--from".into(),
            "HEAD~1".into(),
            "--to".into(),
            "HEAD".into(),
            "-o".into(),
            f.into(),
        ]);
    }
    for f in ["text", "json"] {
        runs.push(vec!["apps".into(), "-o".into(), f.into()]);
        runs.push(vec!["history".into(), "-o".into(), f.into()]);
        runs.push(vec![
            "bump".into(),
            "ghcr.io/acme/web".into(),
            "1.2".into(),
            "--dry-run".into(),
            "-o".into(),
            f.into(),
        ]);
        runs.push(vec![
            "rollback".into(),
            change.clone(),
            "--dry-run".into(),
            "-o".into(),
            f.into(),
        ]);
    }
    for args in &runs {
        let out = repo.run().args(args).output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0..=1)),
            "{args:?}: exit {:?}: {}",
            out.status.code(),
            stderr(&out)
        );
        let printed = format!("{}{}", stdout(&out), stderr(&out));
        assert_clean(&format!("{args:?}"), &printed);
        for v in extra {
            assert!(!printed.contains(v), "{args:?} printed {v}:\n{printed}");
        }
    }
}

#[test]
fn the_pre_push_rejection_prints_no_secret_value() {
    let remote = Repo::bare();
    let repo = secrets_repo();
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.run().args(["hooks", "install"]).assert().success();
    // The broken Secret is in the pushed commit: the push is refused, its values unprinted.
    let out = git_output(repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success(), "the broken Secret must be refused");
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert!(printed.contains("broken-secret.yaml"), "{printed}");
    assert_clean("pre-push", &printed);
}
