//! Effective versions: `bump` writes where each app's controller reads the version, `history`
//! sees every change of it wherever it lives, rollbacks keep their books per image. Every
//! layout is a real git repository made with the git CLI.

use crate::common::{Repo, deployment, stderr, stdout};

const REMOTE: &str = "https://github.com/acme/gitops.git";

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

/// `old -> new` of every history entry, newest first, with kind and image.
fn changes(repo: &Repo, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["history", "-o", "json"];
    args.extend(extra);
    let out = repo.run().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    json(&out)["bumps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            format!(
                "{} {} {} -> {}",
                b["kind"].as_str().unwrap(),
                b["image"].as_str().unwrap(),
                b["old"].as_str().unwrap(),
                b["new"].as_str().unwrap()
            )
        })
        .collect()
}

/// An Argo CD kustomize app `web` at apps/web on a base with nginx 1.25.0.
fn image_updater_repo() -> Repo {
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", REMOTE]);
    repo.write("base/deployment.yaml", &deployment("web", "nginx:1.25.0"))
        .write("base/kustomization.yaml", "resources:\n- deployment.yaml\n")
        .write("apps/web/kustomization.yaml", "resources:\n- ../../base\n")
        .write(
            "argocd/web.yaml",
            &format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\n  annotations:\n    argocd-image-updater.argoproj.io/image-list: nginx\nspec:\n  project: default\n  source:\n    repoURL: {REMOTE}\n    path: apps/web\n    targetRevision: main\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n"
            ),
        );
    repo.commit_all("init");
    repo
}

#[test]
fn image_updater_files_created_changed_and_deleted_are_bumps() {
    let repo = image_updater_repo();
    let file = "apps/web/.argocd-source-web.yaml";
    repo.write(file, "kustomize:\n  images:\n  - nginx:1.27.0\n");
    repo.commit_all("build: automatic update of web");
    repo.write(file, "kustomize:\n  images:\n  - nginx:1.27.1\n");
    repo.commit_all("build: automatic update of web");
    repo.git(&["rm", "-q", file]);
    repo.commit_all("Revert the image updater");
    assert_eq!(
        changes(&repo, &[]),
        vec![
            "image nginx 1.27.1 -> 1.25.0",
            "image nginx 1.27.0 -> 1.27.1",
            "image nginx 1.25.0 -> 1.27.0",
        ]
    );
    // The app is named, and `diff` between the revisions sees the write-back.
    let out = repo.run().args(["history", "-o", "json"]).output().unwrap();
    assert_eq!(json(&out)["bumps"][0]["apps"], serde_json::json!(["web"]));
    let out = repo
        .run()
        .args(["diff", "--from", "HEAD~3", "--to", "HEAD~2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+      - image: nginx:1.27.0"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bump_writes_the_image_updater_file_argo_cd_reads() {
    let repo = image_updater_repo();
    let file = "apps/web/.argocd-source-web.yaml";
    repo.write(file, "kustomize:\n  images:\n  - nginx:1.27.0\n");
    repo.commit_all("build: automatic update of web");
    let out = repo
        .run()
        .args(["bump", "nginx", "1.28.0", "--path", "apps/web", "--commit"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(".argocd-source-web.yaml:3"),
        "{}",
        stdout(&out)
    );
    // The shadowed base is left alone, and said so.
    assert!(repo.read("base/deployment.yaml").contains("nginx:1.25.0"));
    assert!(
        stderr(&out).contains("overrides it in web"),
        "{}",
        stderr(&out)
    );
    assert_eq!(repo.read(file), "kustomize:\n  images:\n  - nginx:1.28.0\n");
    let out = repo.run().args(["render", "web"]).output().unwrap();
    assert!(
        stdout(&out).contains("image: nginx:1.28.0"),
        "{}",
        stdout(&out)
    );
    // One release is one trailer and one history row.
    assert_eq!(
        repo.git(&["log", "-1", "--format=%(trailers:key=Image-Bump,valueonly)"]),
        "nginx 1.27.0 -> 1.28.0"
    );
    assert_eq!(
        changes(&repo, &["-n", "1"]),
        vec!["image nginx 1.27.0 -> 1.28.0"]
    );
    // --all-sources edits the base too.
    let out = repo
        .run()
        .args(["bump", "nginx", "1.29.0", "--all-sources", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("+++ b/base/deployment.yaml"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn image_updater_messages_describe_what_files_cannot() {
    // The chart's default tag is not in the repository; only the message says what it was.
    let repo = Repo::new();
    repo.write(
        "apps/x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    repo.commit_all("init");
    repo.write(
        "apps/.argocd-source-api.yaml",
        "helm:\n  parameters:\n  - name: image.name\n    value: ghcr.io/acme/api\n  - name: image.tag\n    value: 2.1.0\n    forcestring: true\n",
    );
    repo.commit_all(
        "build: automatic update of api\n\nupdates image ghcr.io/acme/api tag '2.0.0' to '2.1.0'\n",
    );
    let out = repo.run().args(["history", "-o", "json"]).output().unwrap();
    let v = json(&out);
    assert_eq!(v["bumps"][0]["old"], "2.0.0");
    assert_eq!(v["bumps"][0]["new"], "2.1.0");
    assert_eq!(v["bumps"][0]["detectedBy"], "message");
}

#[test]
fn helm_values_in_files_and_in_spec_values() {
    let repo = Repo::new();
    repo.write(
        "charts/cache/values.yaml",
        "redis:\n  image: public.ecr.aws/docker/library/redis:8.6.2\nexporter:\n  image:\n    registry: ghcr.io\n    repository: acme/exporter\n    tag: 0.9.0\n",
    )
    .write(
        "releases/api.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: api\n  namespace: apps\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: api\n      version: 1.2.0\n      sourceRef: {kind: HelmRepository, name: acme}\n  values:\n    image: ghcr.io/acme/api:3.0.0\n",
    );
    repo.commit_all("init");
    for (image, tag) in [
        ("public.ecr.aws/docker/library/redis", "8.6.3"),
        ("ghcr.io/acme/exporter", "0.9.1"),
        ("ghcr.io/acme/api", "3.0.1"),
    ] {
        let out = repo
            .run()
            .args(["bump", image, tag, "--commit"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{image}: {}", stderr(&out));
    }
    assert!(
        repo.read("charts/cache/values.yaml")
            .contains("redis:8.6.3")
    );
    assert!(repo.read("charts/cache/values.yaml").contains("tag: 0.9.1"));
    assert!(
        repo.read("releases/api.yaml")
            .contains("image: ghcr.io/acme/api:3.0.1")
    );
    // Edits by hand are seen the same way.
    let text = repo
        .read("releases/api.yaml")
        .replace("api:3.0.1", "api:3.0.2");
    repo.write("releases/api.yaml", &text);
    repo.commit_all("api 3.0.2");
    assert_eq!(
        changes(&repo, &[]),
        vec![
            "image ghcr.io/acme/api 3.0.1 -> 3.0.2",
            "image ghcr.io/acme/api 3.0.0 -> 3.0.1",
            "image ghcr.io/acme/exporter 0.9.0 -> 0.9.1",
            "image public.ecr.aws/docker/library/redis 8.6.2 -> 8.6.3",
        ]
    );
}

#[test]
fn images_in_json6902_and_strategic_merge_patches() {
    let repo = Repo::new();
    repo.write("base/deployment.yaml", &deployment("web", "ghcr.io/acme/web:1.0"))
        .write("base/kustomization.yaml", "resources:\n- deployment.yaml\n")
        .write(
            "prod/kustomization.yaml",
            "resources:\n- ../base\npatches:\n- target: {kind: Deployment, name: web}\n  patch: |-\n    - op: replace\n      path: /spec/template/spec/containers/0/image\n      value: ghcr.io/acme/web:1.1\n- path: sidecar.yaml\n",
        )
        .write(
            "prod/sidecar.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: proxy\n        image: ghcr.io/acme/proxy:0.5\n",
        );
    repo.commit_all("init");
    let sidecar = repo
        .read("prod/sidecar.yaml")
        .replace("proxy:0.5", "proxy:0.6");
    repo.write("prod/sidecar.yaml", &sidecar);
    repo.commit_all("bot: proxy 0.6");
    let k = repo
        .read("prod/kustomization.yaml")
        .replace("web:1.1", "web:1.2");
    repo.write("prod/kustomization.yaml", &k);
    repo.commit_all("web 1.2 in prod");
    assert_eq!(
        changes(&repo, &[]),
        vec![
            "image ghcr.io/acme/web 1.1 -> 1.2",
            "image ghcr.io/acme/proxy 0.5 -> 0.6",
        ]
    );
    // bump edits the inline JSON 6902 patch that wins, not the base it replaces.
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        repo.read("prod/kustomization.yaml")
            .contains("      value: ghcr.io/acme/web:1.3\n")
    );
    assert!(repo.read("base/deployment.yaml").contains("web:1.0"));
    let out = repo
        .run()
        .args(["render", "prod", "--working-tree"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("image: ghcr.io/acme/web:1.3"),
        "{}",
        stdout(&out)
    );
}

/// A base at 1.0 with overlays: staging overrides with `images:` (1.1), prod pins 0.9.
fn overlays_repo() -> Repo {
    let repo = Repo::new();
    repo.write(
        "base/deployment.yaml",
        &deployment("web", "ghcr.io/acme/web:1.0"),
    )
    .write("base/kustomization.yaml", "resources:\n- deployment.yaml\n")
    .write(
        "staging/kustomization.yaml",
        "resources:\n- ../base\nimages:\n- name: ghcr.io/acme/web\n  newTag: \"1.1\"\n",
    )
    .write(
        "prod/kustomization.yaml",
        "resources:\n- ../base\nimages:\n- name: ghcr.io/acme/web\n  newTag: \"0.9\"\n",
    )
    .write("dev/kustomization.yaml", "resources:\n- ../base\n")
    .write("qa/kustomization.yaml", "resources:\n- ../base\n");
    repo.commit_all("init");
    repo
}

#[test]
fn bump_edits_the_overlay_that_wins_and_keeps_a_deliberate_pin() {
    let repo = overlays_repo();
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.2", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    // dev and qa read the base, staging its overlay; prod holds 0.9 on purpose.
    assert_eq!(
        files,
        vec!["base/deployment.yaml", "staging/kustomization.yaml"]
    );
    assert!(repo.read("prod/kustomization.yaml").contains("\"0.9\""));
    let kept = v["kept"].as_array().unwrap();
    assert!(
        kept.iter()
            .any(|k| k["reason"]["kind"] == "pinned" && k["file"] == "prod/kustomization.yaml"),
        "{kept:?}"
    );
    // Named with --path, the pin is bumped, and nothing shared with other apps is touched.
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.2", "--path", "prod"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(repo.read("prod/kustomization.yaml").contains("\"1.2\""));
    // dev alone can only be bumped in the base it shares with qa: refused, and said so.
    repo.write(
        "base/deployment.yaml",
        &deployment("web", "ghcr.io/acme/web:1.0"),
    );
    let out = repo
        .run()
        .args(["bump", "ghcr.io/acme/web", "1.3", "--path", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("outside --path"), "{}", stderr(&out));
    assert!(repo.read("base/deployment.yaml").contains("web:1.0"));
}

#[test]
fn chart_versions_and_source_refs() {
    let repo = Repo::new();
    repo.write(
        "infra/podinfo.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 5m\n  url: https://github.com/stefanprodan/podinfo\n  ref:\n    tag: 6.0.0\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: \"6.0.0\"\n      sourceRef: {kind: HelmRepository, name: podinfo}\n",
    );
    repo.commit_all("init");
    let out = repo
        .run()
        .args(["bump", "--source", "podinfo", "6.1.0", "--commit"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = repo
        .run()
        .args(["bump", "--chart", "podinfo", "6.2.0", "--commit"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = repo.read("infra/podinfo.yaml");
    assert!(text.contains("    tag: 6.1.0\n"), "{text}");
    assert!(text.contains("      version: \"6.2.0\"\n"), "{text}");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%(trailers:key=Chart-Bump,valueonly)"]),
        "podinfo 6.0.0 -> 6.2.0"
    );
    // A bot bumping ref.tag by hand is seen too.
    repo.write(
        "infra/podinfo.yaml",
        &text.replace("tag: 6.1.0", "tag: 6.1.1"),
    );
    repo.commit_all("chore: podinfo 6.1.1");
    assert_eq!(
        changes(&repo, &[]),
        vec![
            "source podinfo 6.1.0 -> 6.1.1",
            "chart podinfo 6.0.0 -> 6.2.0",
            "source podinfo 6.0.0 -> 6.1.0",
        ]
    );
    assert_eq!(
        changes(&repo, &["--kind", "chart"]),
        vec!["chart podinfo 6.0.0 -> 6.2.0"]
    );
    // An image of the same name is another thing.
    let out = repo
        .run()
        .args(["bump", "podinfo", "1.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn partial_rollbacks_keep_books_per_image_and_a_double_rollback_is_refused() {
    let repo = Repo::new();
    let two = |mongo: &str, redis: &str| {
        format!(
            "{}---\n{}",
            deployment("mongodb", &format!("bitnami/mongodb:{mongo}")),
            deployment("redis", &format!("bitnami/redis:{redis}"))
        )
    };
    repo.write("apps/db.yaml", &two("7.0", "7.2"));
    repo.commit_all("init");
    repo.write("apps/db.yaml", &two("8.0", "8.0"));
    let bump = repo.commit_all("upgrade databases");

    let out = repo
        .run()
        .args(["rollback", &bump, "--image", "bitnami/mongodb", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let first = repo.git(&["rev-parse", "HEAD"]);
    assert!(repo.read("apps/db.yaml").contains("mongodb:7.0"));
    assert!(repo.read("apps/db.yaml").contains("redis:8.0"));
    // redis's bump is still open: a second partial rollback undoes it.
    let out = repo.run().args(["history", "-o", "json"]).output().unwrap();
    let v = json(&out);
    let redis = v["bumps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["image"] == "bitnami/redis")
        .unwrap()
        .clone();
    assert!(redis["rolledBackBy"].is_null(), "{redis}");
    let out = repo
        .run()
        .args(["rollback", &bump, "--image", "bitnami/redis", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(repo.read("apps/db.yaml").contains("redis:7.2"));

    // Both are rolled back now: a third try says by whom, changes nothing, exits 1.
    let head = repo.git(&["rev-parse", "HEAD"]);
    for args in [vec!["--dry-run"], vec!["--yes"]] {
        let mut all = vec!["rollback", &bump, "--image", "bitnami/mongodb"];
        all.extend(args);
        let out = repo.run().args(&all).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("already rolled back by {}", &first[..7])),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
}
