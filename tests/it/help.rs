//! `--help` of every command, as a user reads it: cluster flags only where a cluster is used,
//! no flag described as doing something it does not, commands in the order of the GitOps loop.

use crate::common::{Repo, bin, deployment, stderr, stdout};

const CLUSTER_FLAGS: [&str; 5] = [
    "--kubeconfig",
    "--context",
    "--namespace",
    "--all-namespaces",
    "--request-timeout",
];

fn help(args: &[&str]) -> String {
    let out = bin().args(args).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn cluster_flags_only_on_commands_that_talk_to_a_cluster() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["status"], &CLUSTER_FLAGS),
        (
            &["diff"],
            &[
                "--kubeconfig",
                "--context",
                "--namespace",
                "--request-timeout",
            ],
        ),
        (
            &["doctor"],
            &["--kubeconfig", "--context", "--request-timeout"],
        ),
        // Only for --crds-from-cluster (the CRDs and version of a live cluster); no -n.
        (
            &["validate"],
            &["--kubeconfig", "--context", "--request-timeout"],
        ),
        (&["history"], &[]),
        (&["bump"], &[]),
        (&["rollback"], &[]),
        (&["hooks", "install"], &[]),
        (&["hooks", "uninstall"], &[]),
        (&["hook", "pre-push"], &[]),
        (&["hook", "pre-commit"], &[]),
        (&["hook", "post-merge"], &[]),
        (&["completion"], &[]),
        (&["version"], &[]),
    ];
    for (command, want) in cases {
        let text = help(command);
        let words: Vec<&str> = text.split_whitespace().collect();
        for flag in CLUSTER_FLAGS {
            assert_eq!(
                words.contains(&flag),
                want.contains(&flag),
                "`{} --help` and {flag}:\n{text}",
                command.join(" ")
            );
        }
        assert!(text.contains("-C, --repo <DIR>"), "{text}");
    }
    // The top level has only -C: a cluster flag there would be a flag no command reads.
    let top = help(&[]);
    for flag in CLUSTER_FLAGS {
        assert!(!top.contains(flag), "{flag} at the top level:\n{top}");
    }
}

#[test]
fn an_offline_command_refuses_a_cluster_flag() {
    let out = bin()
        .args(["history", "--context", "prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unexpected argument '--context'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_flag_says_what_it_does_for_its_own_command() {
    // uninstall has no --force: it never refused anything that --force would allow.
    assert!(!help(&["hooks", "uninstall"]).contains("--force"));
    let install = help(&["hooks", "install"]);
    assert!(
        install.contains("--force") && install.contains("Install even when core.hooksPath"),
        "{install}"
    );
    // history's -n is the count of `git log -n`, in both the text and the options table.
    let history = help(&["history"]);
    assert!(history.contains("-n, --max-count <N>"), "{history}");
    assert!(!history.contains("namespace"), "{history}");
    // doctor waits 5 s by default, and its --request-timeout says so.
    let doctor = help(&["doctor"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(doctor.contains("[default: 5s]"), "{doctor}");
    assert!(!doctor.contains("30s"), "{doctor}");
}

#[test]
fn top_level_help_follows_the_gitops_loop() {
    let top = help(&[]);
    let order = [
        "bump", "validate", "hooks", "status", "diff", "history", "rollback", "doctor",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|name| {
            top.find(&format!("\n  {name} "))
                .unwrap_or_else(|| panic!("{name} not listed:\n{top}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "order {order:?}:\n{top}"
    );
    assert!(
        !top.contains("\nCommands:\n"),
        "commands listed twice:\n{top}"
    );
    for line in top.lines() {
        assert!(line.chars().count() <= 100, "over 100 columns: {line:?}");
    }
}

#[test]
fn history_dash_n_is_a_count() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0"));
    repo.commit_all("init");
    for i in 1..=7 {
        repo.run()
            .args(["bump", "ghcr.io/acme/web", &format!("1.{i}"), "--commit"])
            .assert()
            .success();
    }
    let out = repo.run().args(["history", "-n", "5"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert!(rows[0].contains("1.6 -> 1.7"), "{text}");
    assert!(rows[4].contains("1.2 -> 1.3"), "{text}");
}
