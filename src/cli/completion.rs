//! Shell completion, two ways:
//!
//! - `kubectl gitops completion bash|zsh|fish` prints a static script (clap_complete) for the
//!   `kubectl-gitops` binary used on its own.
//! - `kubectl gitops __complete WORDS...` (hidden) answers kubectl's plugin completion. kubectl
//!   (>= 1.26) runs `kubectl_complete-gitops` with the words after `gitops`, the last one being
//!   the word under the cursor, and reads back cobra's protocol: one candidate per line
//!   (`value<TAB>description`), then `:<directive>`. That script execs this command with `--`
//!   first, so the user's words (`--context`, `-n`...) arrive as words and are not parsed as
//!   this command's own global options.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::builder::ValueHint;
use clap::{Arg, ArgAction, Args, CommandFactory};
use clap_complete::Shell;
use kube::config::{Kubeconfig, KubeconfigError};

use super::{Cli, Outcome};
use crate::config;
use crate::manifest::{self, FileSet, LoadOptions, sites};

/// Print a shell completion script for the `kubectl-gitops` binary.
///
/// `kubectl gitops <TAB>` needs no script: kubectl completes plugins itself by running
/// `kubectl_complete-gitops` (installed next to the plugin by install.sh), which also
/// completes context names and image names.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  source <(kubectl-gitops completion bash)
  kubectl-gitops completion bash > ~/.local/share/bash-completion/completions/kubectl-gitops
  kubectl-gitops completion zsh > \"${fpath[1]}/_kubectl-gitops\"
  kubectl-gitops completion fish > ~/.config/fish/completions/kubectl-gitops.fish")]
pub struct CompletionArgs {
    /// The shell to print the script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Answers kubectl's plugin completion protocol (run by `kubectl_complete-gitops`).
#[derive(Debug, Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct CompleteArgs {
    /// The words after `kubectl gitops`; the last is the one being completed (may be empty).
    #[arg(
        num_args = 0..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "WORD"
    )]
    pub words: Vec<String>,
}

/// The binary name the standalone scripts complete. `kubectl gitops` (with a space) cannot be
/// a completion target in any shell; kubectl completes that form through the plugin protocol.
const BIN_NAME: &str = "kubectl-gitops";

pub fn run_completion(args: CompletionArgs) -> anyhow::Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut standalone_command(), BIN_NAME, &mut script);
    let mut script = String::from_utf8(script)?;
    if args.shell == Shell::Bash {
        // clap_complete spells the hyphenated binary name one way in the bash dispatch loop
        // (`kubectl__gitops__subcmd__validate`) and another in the case labels
        // (`kubectl__subcmd__gitops__subcmd__validate`), so nothing after a subcommand
        // completes (clap-rs/clap#6421). Use the loop's spelling; a fixed clap_complete
        // leaves nothing to replace.
        script = script.replace(
            "kubectl__subcmd__gitops__subcmd__",
            "kubectl__gitops__subcmd__",
        );
    }
    let mut out = std::io::stdout().lock();
    out.write_all(script.as_bytes())?;
    out.flush()?;
    Ok(Outcome::Clean)
}

/// The command tree as the `kubectl-gitops` binary, without hidden subcommands: clap_complete
/// would offer `__complete` otherwise, and clap has no way to remove a subcommand.
fn standalone_command() -> clap::Command {
    let cli = Cli::command();
    let mut cmd = clap::Command::new(BIN_NAME)
        .args(cli.get_arguments().cloned())
        .version(env!("CARGO_PKG_VERSION"))
        .subcommands(cli.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = cli.get_about() {
        cmd = cmd.about(about.clone());
    }
    cmd
}

pub fn run_complete(args: CompleteArgs) -> anyhow::Result<Outcome> {
    let answer = complete(&args.words);
    let mut out = std::io::stdout().lock();
    for candidate in &answer.candidates {
        match &candidate.help {
            Some(help) => writeln!(out, "{}\t{help}", candidate.value)?,
            None => writeln!(out, "{}", candidate.value)?,
        }
    }
    writeln!(out, ":{}", answer.directive.0)?;
    out.flush()?;
    Ok(Outcome::Clean)
}

/// cobra's `ShellCompDirective` bits, which kubectl passes on to the shell's script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directive(pub u32);

impl Directive {
    /// Let the shell complete file names when there are no candidates.
    pub const DEFAULT: Directive = Directive(0);
    /// Never fall back to file names.
    pub const NO_FILE_COMP: Directive = Directive(4);
    /// Complete directory names only.
    pub const FILTER_DIRS: Directive = Directive(16);
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub value: String,
    pub help: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub candidates: Vec<Candidate>,
    pub directive: Directive,
}

/// Option values already on the command line that change what other values complete to.
#[derive(Default)]
struct Seen {
    kubeconfig: Option<PathBuf>,
    repo: Option<PathBuf>,
    /// Ids of the options given so far, so a flag set once is not offered again.
    used: BTreeSet<String>,
}

impl Seen {
    fn record(&mut self, arg: &Arg, value: &str) {
        match arg.get_id().as_str() {
            "kubeconfig" => self.kubeconfig = Some(PathBuf::from(value)),
            "repo" => self.repo = Some(PathBuf::from(value)),
            _ => {}
        }
    }
}

/// Completes `words` (the words after `kubectl gitops`, the last being the partial one)
/// against the command tree.
pub fn complete(words: &[String]) -> Answer {
    let mut root = Cli::command();
    root.build();
    let (partial, done) = match words.split_last() {
        Some((last, done)) => (last.as_str(), done),
        None => ("", &[][..]),
    };

    let mut cmd = &root;
    let mut seen = Seen::default();
    let mut pending: Option<&Arg> = None;
    let mut only_positionals = false;
    let mut positionals = 0usize;
    for word in done {
        if let Some(arg) = pending.take() {
            seen.record(arg, word);
            continue;
        }
        if only_positionals {
            positionals += 1;
        } else if word == "--" {
            only_positionals = true;
        } else if let Some(long) = word.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if let Some(arg) = find_long(cmd, name) {
                seen.used.insert(arg.get_id().to_string());
                if takes_value(arg) {
                    match value {
                        Some(value) => seen.record(arg, value),
                        None => pending = Some(arg),
                    }
                }
            }
        } else if word.len() > 1 && word.starts_with('-') {
            // A cluster of short flags (`-An`); the first that takes a value ends it, and the
            // rest of the word, if any, is that value (`-nprod`).
            for (i, c) in word.char_indices().skip(1) {
                let Some(arg) = find_short(cmd, c) else {
                    continue;
                };
                seen.used.insert(arg.get_id().to_string());
                if takes_value(arg) {
                    let rest = &word[i + c.len_utf8()..];
                    if rest.is_empty() {
                        pending = Some(arg);
                    } else {
                        seen.record(arg, rest.strip_prefix('=').unwrap_or(rest));
                    }
                    break;
                }
            }
        } else if let Some(sub) = (positionals == 0)
            .then(|| cmd.find_subcommand(word))
            .flatten()
        {
            cmd = sub;
        } else {
            positionals += 1;
        }
    }

    if let Some(arg) = pending {
        return values(arg, partial, "", &seen);
    }
    if !only_positionals && partial.starts_with('-') {
        if let Some((name, value)) = partial
            .strip_prefix("--")
            .and_then(|long| long.split_once('='))
        {
            return match find_long(cmd, name).filter(|a| takes_value(a)) {
                Some(arg) => values(arg, value, &format!("--{name}="), &seen),
                None => nothing(),
            };
        }
        return flags(cmd, partial, &seen);
    }
    if positionals == 0 && cmd.has_subcommands() {
        let candidates = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name().starts_with(partial))
            .map(|s| Candidate {
                value: s.get_name().to_string(),
                help: s.get_about().map(|a| first_line(&a.to_string())),
            })
            .collect();
        return Answer {
            candidates,
            directive: Directive::NO_FILE_COMP,
        };
    }
    match positional_at(cmd, positionals) {
        Some(arg) => values(arg, partial, "", &seen),
        None => nothing(),
    }
}

fn nothing() -> Answer {
    Answer {
        candidates: Vec::new(),
        directive: Directive::NO_FILE_COMP,
    }
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn find_long<'a>(cmd: &'a clap::Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long_and_visible_aliases()
            .is_some_and(|names| names.contains(&name))
    })
}

fn find_short(cmd: &clap::Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| {
        a.get_short_and_visible_aliases()
            .is_some_and(|shorts| shorts.contains(&c))
    })
}

/// The positional argument that the `index`-th positional word fills; a trailing list takes
/// all the rest.
fn positional_at(cmd: &clap::Command, index: usize) -> Option<&Arg> {
    let positionals: Vec<&Arg> = cmd.get_positionals().collect();
    positionals.get(index).copied().or_else(|| {
        positionals
            .last()
            .copied()
            .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
    })
}

/// The flags of `cmd` starting with `partial`, leaving out hidden ones and those already given
/// that cannot repeat.
fn flags(cmd: &clap::Command, partial: &str, seen: &Seen) -> Answer {
    let mut candidates = Vec::new();
    for arg in cmd.get_arguments() {
        if arg.is_positional() || arg.is_hide_set() {
            continue;
        }
        let repeats = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
        if !repeats && seen.used.contains(arg.get_id().as_str()) {
            continue;
        }
        let help = arg.get_help().map(|h| first_line(&h.to_string()));
        let mut names = Vec::new();
        if let Some(long) = arg.get_long() {
            names.push(format!("--{long}"));
        }
        if !partial.starts_with("--")
            && let Some(short) = arg.get_short()
        {
            names.push(format!("-{short}"));
        }
        candidates.extend(
            names
                .into_iter()
                .filter(|n| n.starts_with(partial))
                .map(|value| Candidate {
                    value,
                    help: help.clone(),
                }),
        );
    }
    Answer {
        candidates,
        directive: Directive::NO_FILE_COMP,
    }
}

/// Candidates for the value of `arg`, each written as `prefix` + value (`--context=` when the
/// user typed the `=` form).
fn values(arg: &Arg, partial: &str, prefix: &str, seen: &Seen) -> Answer {
    let plain = |items: Vec<String>| Answer {
        candidates: items
            .into_iter()
            .filter(|v| v.starts_with(partial))
            .map(|v| Candidate {
                value: format!("{prefix}{v}"),
                help: None,
            })
            .collect(),
        directive: Directive::NO_FILE_COMP,
    };
    let value_name = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.as_str().to_ascii_lowercase());
    match (arg.get_id().as_str(), value_name.as_deref()) {
        ("context" | "contexts", _) => return plain(contexts(seen)),
        ("namespace", _) => return plain(namespaces(seen)),
        ("image" | "images", _) | (_, Some("image")) => return plain(image_names(seen)),
        _ => {}
    }
    let possible = arg.get_possible_values();
    if !possible.is_empty() {
        return Answer {
            candidates: possible
                .iter()
                .filter(|p| !p.is_hide_set() && p.get_name().starts_with(partial))
                .map(|p| Candidate {
                    value: format!("{prefix}{}", p.get_name()),
                    help: p.get_help().map(|h| first_line(&h.to_string())),
                })
                .collect(),
            directive: Directive::NO_FILE_COMP,
        };
    }
    let directive = match arg.get_value_hint() {
        ValueHint::DirPath => Directive::FILTER_DIRS,
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::ExecutablePath => Directive::DEFAULT,
        _ => Directive::NO_FILE_COMP,
    };
    Answer {
        candidates: Vec::new(),
        directive,
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// Reads the kubeconfig: `--kubeconfig`, else the `KUBECONFIG` list, else `~/.kube/config`.
fn read_kubeconfig(explicit: Option<&Path>) -> Result<Kubeconfig, KubeconfigError> {
    match explicit {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
}

/// Context names from the kubeconfig in use (`--kubeconfig` on the line, else `KUBECONFIG`,
/// else `~/.kube/config`).
fn contexts(seen: &Seen) -> Vec<String> {
    read_kubeconfig(seen.kubeconfig.as_deref())
        .map(|k| k.contexts.into_iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

/// Namespaces named by the kubeconfig's contexts and by the repository's plain manifests:
/// both are known without asking a cluster or running a renderer, which completion must never
/// wait for.
fn namespaces(seen: &Seen) -> Vec<String> {
    let mut found = BTreeSet::new();
    if let Ok(kubeconfig) = read_kubeconfig(seen.kubeconfig.as_deref()) {
        found.extend(
            kubeconfig
                .contexts
                .into_iter()
                .filter_map(|c| c.context.and_then(|c| c.namespace)),
        );
    }
    let options = LoadOptions {
        render: false,
        ..LoadOptions::default()
    };
    for object in manifest::load(&repo_files(seen), &options).objects {
        if object.kind() == Some("Namespace")
            && let Some(name) = object.name()
        {
            found.insert(name.to_string());
        }
        if let Some(ns) = object.namespace() {
            found.insert(ns.to_string());
        }
    }
    found.into_iter().collect()
}

/// Image names (without tag or digest) that `bump`, `history` and `rollback` can work on:
/// every place a file of the repository names an image (containers, kustomize `images:`,
/// Helm-style values), read from the files as they are.
fn image_names(seen: &Seen) -> Vec<String> {
    let files = repo_files(seen);
    let mut found = BTreeSet::new();
    for entry in &files.files {
        let Ok(bytes) = files.read(entry) else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        found.extend(
            sites::find(&entry.display, text)
                .0
                .into_iter()
                .map(|site| site.name),
        );
    }
    found.into_iter().collect()
}

/// The YAML files of the working tree: of the repository `-C` names, or the one around the
/// current directory.
fn repo_files(seen: &Seen) -> FileSet {
    let start = seen.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    FileSet::from_paths(&[config::repo_root(&start)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(words: &[&str]) -> (Vec<String>, u32) {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let a = complete(&words);
        (
            a.candidates.into_iter().map(|c| c.value).collect(),
            a.directive.0,
        )
    }

    #[test]
    fn subcommands_at_the_top() {
        let (values, directive) = answer(&[""]);
        assert!(values.contains(&"validate".to_string()), "{values:?}");
        assert!(values.contains(&"version".to_string()), "{values:?}");
        assert!(!values.iter().any(|v| v.starts_with("__")), "{values:?}");
        assert_eq!(directive, 4);
        assert_eq!(answer(&["vers"]).0, vec!["version"]);
    }

    #[test]
    fn flags_of_the_subcommand_including_globals() {
        let (values, _) = answer(&["validate", "--"]);
        assert!(values.contains(&"--strict-crds".to_string()), "{values:?}");
        assert!(values.contains(&"--repo".to_string()), "{values:?}");
        assert!(!values.contains(&"-o".to_string()), "{values:?}");
        // validate reads a cluster only for --crds-from-cluster, and has no -n for one.
        assert!(
            !values.contains(&"--namespace".to_string()),
            "validate puts nothing in a namespace: {values:?}"
        );
        let (values, _) = answer(&["history", "--"]);
        assert!(
            !values.contains(&"--context".to_string()),
            "history does not talk to a cluster: {values:?}"
        );
        let (values, _) = answer(&["status", "--"]);
        assert!(values.contains(&"--context".to_string()), "{values:?}");
        let (values, _) = answer(&["history", "-"]);
        assert!(values.contains(&"-n".to_string()), "{values:?}");
        assert!(!values.contains(&"--namespace".to_string()), "{values:?}");
        let (values, _) = answer(&["validate", "-"]);
        assert!(values.contains(&"-o".to_string()), "{values:?}");
        let (values, _) = answer(&["validate", "--strict-crds", "--str"]);
        assert!(
            values.is_empty(),
            "a flag given once is not offered again: {values:?}"
        );
    }

    #[test]
    fn option_values() {
        assert_eq!(
            answer(&["validate", "-o", "j"]),
            (vec!["json".into(), "junit".into()], 4)
        );
        assert_eq!(
            answer(&["validate", "--output=te"]),
            (vec!["--output=text".into()], 4)
        );
        assert_eq!(answer(&["completion", "f"]).0, vec!["fish"]);
        assert_eq!(answer(&["-C", ""]), (vec![], 16));
        assert_eq!(answer(&["status", "--kubeconfig", ""]), (vec![], 0));
        assert_eq!(
            answer(&["history", "-n", ""]),
            (vec![], 4),
            "history -n is a count, not a namespace"
        );
        assert_eq!(
            answer(&["validate", ""]),
            (vec![], 0),
            "paths complete as files"
        );
    }

    #[test]
    fn values_after_a_flag_are_not_subcommands() {
        // `-C` consumes `validate`, so the next word is still a subcommand.
        let (values, _) = answer(&["-C", "validate", "vers"]);
        assert_eq!(values, vec!["version"]);
    }

    #[test]
    fn image_and_namespace_values_come_from_the_repository() {
        let repo = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(repo.path().join("base")).expect("mkdir");
        std::fs::write(
            repo.path().join("app.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.10\n      initContainers:\n        - name: init\n          image: busybox:1.36\n",
        )
        .expect("write");
        std::fs::write(
            repo.path().join("base/kustomization.yaml"),
            "resources: []\nimages:\n  - name: ghcr.io/acme/api\n    newTag: v2\n",
        )
        .expect("write");
        let seen = Seen {
            repo: Some(repo.path().to_path_buf()),
            kubeconfig: Some(repo.path().join("no-kubeconfig")),
            ..Seen::default()
        };
        let image = Arg::new("image").long("image").value_name("IMAGE");
        let names: Vec<String> = values(&image, "", "", &seen)
            .candidates
            .into_iter()
            .map(|c| c.value)
            .collect();
        assert_eq!(names, ["busybox", "ghcr.io/acme/api", "ghcr.io/acme/web"]);
        let filtered = values(&image, "ghcr.io/acme/w", "--image=", &seen);
        assert_eq!(
            filtered.candidates,
            vec![Candidate {
                value: "--image=ghcr.io/acme/web".into(),
                help: None
            }]
        );
        let namespace = Arg::new("namespace").long("namespace");
        let namespaces: Vec<String> = values(&namespace, "", "", &seen)
            .candidates
            .into_iter()
            .map(|c| c.value)
            .collect();
        assert_eq!(namespaces, ["shop"]);
    }
}
