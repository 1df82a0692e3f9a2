//! `version` and `doctor`: what the binary is, and what it relies on.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use serde_json::Value;

use crate::common::{Repo, bin, stderr, stdout};

#[test]
fn version_text_and_json() {
    let out = bin().arg("version").output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("kubectl-gitops {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("kubernetes:  1."), "{text}");

    let out = bin()
        .args(["version", "-o", "json"])
        .output()
        .expect("runs");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        json["kubernetesVersion"],
        kubectl_gitops::validate::builtin::KUBERNETES_VERSION
    );
    let commit = json["gitCommit"].as_str().expect("gitCommit");
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    assert!(json["platform"].as_str().is_some_and(|p| !p.is_empty()));
}

/// An HTTP server answering every request with a Kubernetes `/version` body, on a free port.
fn fake_apiserver() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = r#"{"major":"1","minor":"33","gitVersion":"v1.33.1","gitCommit":"x","gitTreeState":"clean","buildDate":"2025-01-01T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"}"#;
            let _ = write!(
                &stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn kubeconfig(repo: &Repo, reachable_port: u16) -> String {
    // Port 1 on localhost refuses connections at once.
    repo.write(
        "kubeconfig",
        &format!(
            "apiVersion: v1
kind: Config
clusters:
  - name: up
    cluster: {{server: 'http://127.0.0.1:{reachable_port}'}}
  - name: down
    cluster: {{server: 'https://127.0.0.1:1'}}
users:
  - name: u
    user: {{token: t}}
contexts:
  - name: up
    context: {{cluster: up, user: u, namespace: shop}}
  - name: down
    context: {{cluster: down, user: u}}
current-context: up
"
        ),
    );
    repo.path().join("kubeconfig").display().to_string()
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

#[test]
fn doctor_reports_tools_hooks_and_the_cluster() {
    let repo = Repo::new();
    let kubeconfig = kubeconfig(&repo, fake_apiserver());
    let out = repo
        .run()
        .args(["doctor", "-o", "json", "--kubeconfig", &kubeconfig])
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(check(&report, "git")["status"], "ok");
    assert_eq!(check(&report, "kubectl")["status"], "ok");
    assert_eq!(check(&report, "kustomize")["status"], "ok");
    let hook = check(&report, "pre-push hook");
    assert_eq!(hook["status"], "warn");
    assert_eq!(hook["hint"], "kubectl gitops hooks install");
    assert!(
        check(&report, "kubeconfig")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("context up (namespace shop)")),
        "{report:#}"
    );
    let cluster = check(&report, "cluster");
    assert_eq!(cluster["status"], "ok", "{report:#}");
    assert!(
        cluster["detail"]
            .as_str()
            .is_some_and(|d| d.contains("v1.33.1"))
    );

    // Installed hooks are recognised.
    let out = repo
        .run()
        .args(["hooks", "install"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = repo
        .run()
        .args(["doctor", "-o", "json", "--kubeconfig", &kubeconfig])
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for hook in ["pre-push hook", "post-merge hook"] {
        assert_eq!(check(&report, hook)["status"], "ok", "{report:#}");
    }
}

#[test]
fn doctor_fails_when_the_named_context_is_unreachable() {
    let repo = Repo::new();
    let kubeconfig = kubeconfig(&repo, fake_apiserver());
    let out = repo
        .run()
        .args([
            "doctor",
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "down",
            "--request-timeout",
            "3s",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("cluster"))
        .expect("a cluster line");
    assert!(line.starts_with("FAIL"), "{text}");
    assert!(line.contains("https://127.0.0.1:1"), "{text}");

    let out = repo
        .run()
        .args(["doctor", "--kubeconfig", &kubeconfig, "--context", "nope"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("context \"nope\" is not in the kubeconfig"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn doctor_without_a_kubeconfig_only_warns() {
    let repo = Repo::new();
    let out = repo
        .run()
        .args(["doctor", "-o", "json"])
        .env("KUBECONFIG", repo.path().join("absent"))
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(check(&report, "kubeconfig")["status"], "warn");
}

#[test]
fn doctor_fails_without_git() {
    let repo = Repo::new();
    let out = repo
        .run()
        .args(["doctor", "-o", "json"])
        .env("PATH", "/nonexistent")
        .env("KUBECONFIG", repo.path().join("absent"))
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["ok"], false);
    assert_eq!(check(&report, "git")["status"], "fail");
    assert_eq!(check(&report, "kubectl")["status"], "fail");
}
