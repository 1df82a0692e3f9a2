//! `kubectl gitops validate -o github` (workflow commands) and `-o sarif` (SARIF 2.1.0) on a
//! directory of broken manifests.

use serde_json::Value;

use crate::common::{Repo, deployment, stderr, stdout};

/// A Deployment with an unquoted `yes` label, a misspelt field and a `:latest` image (a
/// warning), and a ConfigMap, in a file whose name has a space, that is not valid YAML.
fn broken_repo() -> Repo {
    let repo = Repo::new();
    let web = deployment("web", "nginx:latest")
        .replace(
            "    app: web\nspec:",
            "    app: web\n    enabled: yes\nspec:",
        )
        .replace("  replicas: 2\n", "  replicas: 2\n  replica: 3\n");
    repo.write("manifests/web.yaml", &web);
    repo.write(
        "manifests/bad file.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  key: [unclosed\n",
    );
    repo
}

fn validate(repo: &Repo, format: &str) -> std::process::Output {
    repo.run()
        .args(["validate", "manifests", "-o", format])
        .output()
        .unwrap()
}

#[test]
fn github_output_is_one_workflow_command_per_finding() {
    let repo = broken_repo();
    let out = validate(&repo, "github");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        // The message's colons are left alone; only property values escape `:` and `,`.
        "::error file=manifests/bad file.yaml,line=6,col=8,title=yaml::\
         YAML syntax: unclosed bracket '[' (column 8)",
        "::error file=manifests/web.yaml,line=7,col=5,title=schema::\
         Deployment/web: metadata.labels.enabled: expected a string, got boolean yes \
         (YAML reads it as a boolean; quote it for a string)",
        "::error file=manifests/web.yaml,line=10,col=3,title=schema::\
         Deployment/web: spec.replica: unknown field \"replica\" (did you mean \"replicas\"?)",
    ] {
        assert!(
            lines.contains(&expected),
            "missing {expected:?} in:\n{text}"
        );
    }
    let warnings: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("::warning file=manifests/web.yaml,line="))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].contains(",title=policy.image-tag::Deployment/web: "),
        "{text}"
    );
    // One command per finding, then a plain summary that is not a workflow command.
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(
        lines[4], "3 errors and 1 warning in 2 files (1 object checked)",
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour: {text:?}");
}

#[test]
fn sarif_output_is_a_sarif_2_1_0_log_with_every_finding() {
    let repo = broken_repo();
    let out = validate(&repo, "sarif");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let sarif: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("sarif is JSON: {e}: {}", stdout(&out)));
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "kubectl-gitops");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut distinct = rules.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), rules.len(), "one rule per id: {rules:?}");
    for id in ["yaml", "schema", "policy.image-tag"] {
        assert!(rules.contains(&id), "{rules:?}");
    }

    // As many results as the JSON report has errors and warnings.
    let json = repo
        .run()
        .args(["validate", "manifests", "-o", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    let summary = &json["summary"];
    let expected = summary["errors"].as_u64().unwrap() + summary["warnings"].as_u64().unwrap();
    assert_eq!(expected, 4);
    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len() as u64, expected, "{results:#?}");

    let found = |rule: &str, uri: &str, line: u64| {
        results
            .iter()
            .find(|r| {
                r["ruleId"] == rule
                    && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri
                    && r["locations"][0]["physicalLocation"]["region"]["startLine"] == line
            })
            .unwrap_or_else(|| panic!("no {rule} result at {uri}:{line} in {results:#?}"))
    };
    let yaml = found("yaml", "manifests/bad%20file.yaml", 6);
    assert_eq!(yaml["level"], "error");
    assert_eq!(
        yaml["locations"][0]["physicalLocation"]["region"]["startColumn"],
        8
    );
    let label = found("schema", "manifests/web.yaml", 7);
    assert_eq!(label["level"], "error");
    assert_eq!(
        label["message"]["text"],
        "Deployment/web: metadata.labels.enabled: expected a string, got boolean yes \
         (YAML reads it as a boolean; quote it for a string)"
    );
    let unknown = found("schema", "manifests/web.yaml", 10);
    assert_eq!(unknown["level"], "error");
    assert!(
        unknown["message"]["text"]
            .as_str()
            .unwrap()
            .contains("unknown field \"replica\""),
        "{unknown}"
    );
    let warning = results
        .iter()
        .find(|r| r["ruleId"] == "policy.image-tag")
        .expect("the :latest image is reported");
    assert_eq!(warning["level"], "warning");

    // Every result points at its rule and has a 1-based line when it has a region.
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(r["ruleId"], rules[index], "{r}");
        let region = &r["locations"][0]["physicalLocation"]["region"];
        if !region.is_null() {
            assert!(region["startLine"].as_u64().unwrap() >= 1, "{r}");
        }
    }
}

#[test]
fn a_clean_directory_gives_a_summary_only_and_an_empty_sarif_run() {
    let repo = Repo::new();
    repo.write("manifests/web.yaml", &deployment("web", "nginx:1.27"));
    let out = validate(&repo, "github");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "1 object in 1 file valid\n");
    let out = validate(&repo, "sarif");
    assert_eq!(out.status.code(), Some(0));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"], Value::Array(Vec::new()));
}
