//! `kubectl gitops history`: bumps from trailers, notes, and commit diffs.

use crate::common::{Repo, deployment, stderr, stdout};

fn json(repo: &Repo, args: &[&str]) -> serde_json::Value {
    let out = repo.run().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("history prints JSON")
}

fn changes(v: &serde_json::Value) -> Vec<String> {
    v["bumps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            format!(
                "{} {} -> {} ({})",
                b["image"].as_str().unwrap(),
                b["old"].as_str().unwrap(),
                b["new"].as_str().unwrap(),
                b["detectedBy"].as_str().unwrap()
            )
        })
        .collect()
}

/// A repository with bumps made every way: by `bump --commit`, by hand in a multi-document
/// file, in a kustomization, and a commit that changed no image.
fn repo_with_bumps() -> Repo {
    let repo = Repo::new();
    let both = format!(
        "{}---\n{}",
        deployment("web", "ghcr.io/acme/web:1.0"),
        deployment("api", "ghcr.io/acme/api:2.0")
    );
    repo.write("apps/all.yaml", &both);
    repo.write(
        "overlays/prod/kustomization.yaml",
        "resources: [../../apps]\nimages:\n  - name: ghcr.io/acme/web\n    newTag: \"1.0\"\n",
    );
    repo.commit_all("init");
    repo.run()
        .args([
            "bump",
            "ghcr.io/acme/web",
            "1.1",
            "--path",
            "apps",
            "--commit",
        ])
        .assert()
        .success();
    repo.write(
        "apps/all.yaml",
        &both
            .replace("web:1.0", "web:1.1")
            .replace("api:2.0", "api:2.1"),
    );
    repo.commit_all("hand edit of api");
    repo.write(
        "apps/all.yaml",
        &both
            .replace("web:1.0", "web:1.1")
            .replace("api:2.0", "api:2.1")
            .replace("replicas: 2", "replicas: 3"),
    );
    repo.commit_all("scale up");
    repo.write(
        "overlays/prod/kustomization.yaml",
        "resources: [../../apps]\nimages:\n  - name: ghcr.io/acme/web\n    newTag: \"1.2\"\n",
    );
    repo.commit_all("prod to 1.2");
    repo
}

#[test]
fn every_kind_of_bump_is_found_newest_first() {
    let repo = repo_with_bumps();
    let v = json(&repo, &["history", "-o", "json"]);
    assert_eq!(
        changes(&v),
        vec![
            "ghcr.io/acme/web 1.0 -> 1.2 (diff)",
            "ghcr.io/acme/api 2.0 -> 2.1 (diff)",
            "ghcr.io/acme/web 1.0 -> 1.1 (trailer)",
        ]
    );
    let first = &v["bumps"][0];
    assert_eq!(first["subject"], "prod to 1.2");
    assert_eq!(first["author"]["name"], "Test Author");
    assert_eq!(first["files"][0], "overlays/prod/kustomization.yaml");
    assert_eq!(first["objects"][0], "images[ghcr.io/acme/web]");
    assert_eq!(first["commit"].as_str().unwrap().len(), 40);
    assert!(first["date"].as_str().unwrap().contains('T'));
    assert_eq!(first["rolledBackBy"], serde_json::Value::Null);
    assert_eq!(v["bumps"][1]["objects"][0], "Deployment/api container api");
}

#[test]
fn filters_and_limits() {
    let repo = repo_with_bumps();
    let v = json(
        &repo,
        &["history", "--image", "ghcr.io/acme/web", "-o", "json"],
    );
    assert_eq!(changes(&v).len(), 2);
    let v = json(&repo, &["history", "-n", "1", "-o", "json"]);
    assert_eq!(changes(&v), vec!["ghcr.io/acme/web 1.0 -> 1.2 (diff)"]);
    let v = json(&repo, &["history", "--max-count", "2", "-o", "json"]);
    assert_eq!(changes(&v).len(), 2);
    let v = json(&repo, &["history", "--path", "apps", "-o", "json"]);
    assert_eq!(changes(&v).len(), 2);
    // From a subdirectory, paths are still relative to where the user is.
    let out = repo
        .run()
        .current_dir(repo.path().join("overlays"))
        .args(["history", "--path", "prod", "-o", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(changes(&v), vec!["ghcr.io/acme/web 1.0 -> 1.2 (diff)"]);
}

#[test]
fn text_table_and_reverts_by_hand() {
    let repo = repo_with_bumps();
    repo.git(&["revert", "--no-edit", "HEAD"]);
    let out = repo.run().args(["history"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("COMMIT   DATE (UTC)"), "{text}");
    assert!(lines[0].ends_with("CHANGE      ROLLBACK"), "{text}");
    assert!(
        lines[1].contains("ghcr.io/acme/web  1.2 -> 1.0  of "),
        "{text}"
    );
    assert!(
        lines[2].contains("ghcr.io/acme/web  1.0 -> 1.2  by "),
        "{text}"
    );
    assert_eq!(lines.len(), 5, "{text}");
}

#[test]
fn notes_are_trusted() {
    let repo = repo_with_bumps();
    let note = r#"{"version":1,"detectedBy":"diff","bumps":[{"image":"ghcr.io/acme/noted","old":"7","new":"8","files":["x.yaml"],"objects":[]}]}"#;
    repo.git(&["notes", "--ref", "gitops", "add", "-m", note, "HEAD~1"]);
    let v = json(&repo, &["history", "-o", "json"]);
    assert_eq!(changes(&v)[0], "ghcr.io/acme/web 1.0 -> 1.2 (diff)");
    // "scale up" changed no image; its note is what history reports for it.
    assert_eq!(changes(&v)[1], "ghcr.io/acme/noted 7 -> 8 (note)");
}

#[test]
fn outside_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::common::bin()
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .args(["history"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn empty_history_says_so() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.27"));
    repo.commit_all("init");
    let out = repo.run().args(["history"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "no version changes found in the history of HEAD\n"
    );
}

#[test]
fn dates_in_utc_and_digests_short_so_rows_fit_100_columns() {
    let repo = Repo::new();
    let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    repo.write(
        "apps/web.yaml",
        &deployment("web", &format!("ghcr.io/acme/web@{}", digest('a'))),
    );
    repo.commit_all("init");
    // Three bumps made in three time zones, each later than the one before.
    let dates = [
        "2026-11-27T09:00:00+09:00", // 00:00 UTC
        "2026-11-27T01:30:00+00:00", // 01:30 UTC
        "2026-11-26T22:00:00-05:00", // 03:00 UTC
    ];
    for (date, c) in dates.iter().zip(['b', 'c', 'd']) {
        let out = repo
            .run()
            .env("GIT_COMMITTER_DATE", date)
            .env("GIT_AUTHOR_DATE", date)
            .args(["bump", "ghcr.io/acme/web", &digest(c), "--commit"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    repo.git(&["revert", "--no-edit", "HEAD"]);

    let out = repo.run().args(["history"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.len()
        );
    }
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(rows[1].contains("2026-11-27 03:00"), "{text}");
    assert!(rows[2].contains("2026-11-27 01:30"), "{text}");
    assert!(rows[3].contains("2026-11-27 00:00"), "{text}");
    assert!(
        rows[1].contains(&format!("@{0} -> @{1}", "c".repeat(12), "d".repeat(12))),
        "{text}"
    );
    assert!(!text.contains(&"d".repeat(13)), "a digest not cut: {text}");

    // JSON keeps the full digests and git's own date with its offset.
    let v = json(&repo, &["history", "-o", "json"]);
    assert_eq!(v["bumps"][1]["new"], digest('d'));
    assert_eq!(v["bumps"][1]["date"], "2026-11-26T22:00:00-05:00");
}
