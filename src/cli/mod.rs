//! Command-line front end: one file per subcommand. Each turns its flags into the library's
//! options, calls the library, and prints; this file holds what every command shares.

use std::io::Write;

use clap::{Args, Parser, Subcommand};

pub mod apps;
pub mod bump;
pub mod completion;
pub mod diff;
pub mod doctor;
pub mod fleet;
pub mod history;
pub mod hooks;
pub mod rollback;
pub mod status;
pub mod validate;
pub mod version;

/// `-o text|json`, for the commands that have no other output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

/// How a command ended when it did its job. The numbers are the process exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// Clean: valid, in sync, nothing to report.
    Clean = 0,
    /// The answer is "not clean": invalid manifests, drift, a diff, a rejected push.
    NotClean = 1,
}

/// The Git side of GitOps: bump image tags, validate manifests, compare Git with the cluster,
/// follow every deploy in the Git log, and roll back with a revert.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl gitops",
    bin_name = "kubectl gitops",
    version,
    about,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Run as if started in DIR (like `git -C`).
    #[arg(
        short = 'C',
        long = "repo",
        global = true,
        value_name = "DIR",
        value_hint = clap::ValueHint::DirPath
    )]
    pub repo: Option<std::path::PathBuf>,
}

/// How to reach the cluster: kubectl's connection flags, which a plugin has to parse itself
/// (kubectl does not pass its own flags on). Only the commands that talk to a cluster take them.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Cluster options")]
pub struct ConnectArgs {
    /// Path to the kubeconfig file [default: $KUBECONFIG, then ~/.kube/config].
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use [default: the current context]. `status` and `diff`
    /// take it more than once, to compare Git with several clusters in one run.
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,
    /// How long each API request may take (`30s`, `500ms`, `2m`; `0` waits forever)
    /// [default: 30s].
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

impl ConnectArgs {
    /// The client options: these flags, else `context` (an app's own, from .gitops.yaml),
    /// else the kubeconfig's current context; `default_timeout` unless --request-timeout.
    pub fn options(
        &self,
        context: Option<&String>,
        default_timeout: &str,
    ) -> anyhow::Result<crate::cluster::ConnectOptions> {
        if self.contexts.len() > 1 {
            anyhow::bail!(
                "this command uses one context at a time; give --context once (kubectl gitops status and diff take several)"
            );
        }
        self.options_for(self.contexts.first().or(context), default_timeout)
    }

    /// The client options for one context (`None`: the kubeconfig's current one).
    pub fn options_for(
        &self,
        context: Option<&String>,
        default_timeout: &str,
    ) -> anyhow::Result<crate::cluster::ConnectOptions> {
        let timeout = self.request_timeout.as_deref().unwrap_or(default_timeout);
        Ok(crate::cluster::ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: context.cloned(),
            request_timeout: crate::cluster::parse_timeout(timeout)
                .map_err(|e| anyhow::anyhow!("--request-timeout: {e}"))?,
        })
    }

    /// The contexts to compare a target with: those given (`--context`, repeatable), every
    /// context of the kubeconfig (`all`), else the target's own (from `.gitops.yaml`) or the
    /// current one.
    pub fn fleet(
        &self,
        target_context: Option<&String>,
        all: bool,
        default_timeout: &str,
    ) -> anyhow::Result<Vec<crate::cluster::ConnectOptions>> {
        let names: Vec<Option<String>> = if !self.contexts.is_empty() {
            // A context given twice is one cluster, compared once.
            let mut seen = std::collections::HashSet::new();
            self.contexts
                .iter()
                .filter(|c| seen.insert(c.as_str()))
                .cloned()
                .map(Some)
                .collect()
        } else if all {
            crate::cluster::kubeconfig_contexts(self.kubeconfig.as_deref())?
                .into_iter()
                .map(Some)
                .collect()
        } else {
            vec![target_context.cloned()]
        };
        names
            .iter()
            .map(|c| self.options_for(c.as_ref(), default_timeout))
            .collect()
    }
}

/// The connection flags and `-n`, for the commands that compare Git with a cluster.
#[derive(Debug, Clone, Args, Default)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Namespace for the objects in Git that set none [default: the context's namespace].
    #[arg(short = 'n', long, value_name = "NS", help_heading = "Cluster options")]
    pub namespace: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Apps(apps::AppsArgs),
    Render(apps::RenderArgs),
    Bump(bump::BumpArgs),
    Validate(validate::ValidateArgs),
    Hooks(hooks::HooksArgs),
    Hook(hooks::HookArgs),
    Status(status::StatusArgs),
    Diff(diff::DiffArgs),
    History(history::HistoryArgs),
    Rollback(rollback::RollbackArgs),
    Doctor(doctor::DoctorArgs),
    Completion(completion::CompletionArgs),
    Version(version::VersionArgs),
    /// Answers kubectl's plugin completion (run by kubectl_complete-gitops).
    #[command(name = "__complete", hide = true)]
    Complete(completion::CompleteArgs),
}

/// `kubectl gitops --help` lists the commands in the order of the GitOps loop, one short line
/// each (a command's own `--help` says the rest). Every visible subcommand is in one group; a
/// unit test keeps it that way.
const COMMAND_GROUPS: &[(&str, &[(&str, &str)])] = &[
    (
        "See the repository as the controllers do",
        &[
            (
                "apps",
                "List the apps: Flux, Argo CD, .gitops.yaml and plain directories",
            ),
            (
                "render",
                "Print the objects one app's controller would apply",
            ),
        ],
    ),
    (
        "Change Git (CI or you)",
        &[("bump", "Set an image tag in the manifests, and commit it")],
    ),
    (
        "Check it before it lands",
        &[
            (
                "validate",
                "Validate manifests offline, as the API server would",
            ),
            (
                "hooks",
                "Install the git hooks: pre-push validates, post-merge records bumps",
            ),
            (
                "hook",
                "The hook entry points that git, pre-commit and prek run",
            ),
        ],
    ),
    (
        "Compare with the cluster (after the controller applies)",
        &[
            (
                "status",
                "Is the cluster at what Git says? Per object and per controller",
            ),
            (
                "diff",
                "What applying Git would change; or what changed between two revisions",
            ),
        ],
    ),
    (
        "Follow and undo (the Git log is the deployment log)",
        &[
            (
                "history",
                "Every image-tag bump, newest first, and which were rolled back",
            ),
            (
                "rollback",
                "Undo a bump with a revert commit for the controller to apply",
            ),
        ],
    ),
    (
        "This tool",
        &[
            (
                "doctor",
                "Check the tools, hooks and cluster access it relies on",
            ),
            (
                "completion",
                "Print a shell completion script for kubectl-gitops",
            ),
            (
                "version",
                "Print the version and the Kubernetes version of its schemas",
            ),
            (
                "help",
                "Print this message or the help of the given command",
            ),
        ],
    ),
];

/// The command tree with the grouped command list in its help. Parse with this, not
/// `Cli::parse()`, so `--help` shows the groups.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let width = COMMAND_GROUPS
        .iter()
        .flat_map(|(_, commands)| commands.iter().map(|(name, _)| name.len()))
        .max()
        .unwrap_or(0);
    let mut list = String::new();
    for (heading, commands) in COMMAND_GROUPS {
        list.push_str(&format!("{heading}:\n"));
        for (name, summary) in *commands {
            list.push_str(&format!("  {name:width$}  {summary}\n"));
        }
        list.push('\n');
    }
    Cli::command().help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{list}Options:\n{{options}}{{after-help}}"
    ))
}

/// Parses the process's arguments with [`command`].
pub fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let mut matches = command().try_get_matches()?;
    Cli::from_arg_matches_mut(&mut matches)
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Some(dir) = &cli.global.repo {
        std::env::set_current_dir(dir)
            .map_err(|e| anyhow::anyhow!("cannot change to {}: {e}", dir.display()))?;
    }
    match cli.command {
        Command::Bump(args) => bump::run(args, &cli.global),
        Command::Apps(args) => apps::run_apps(args),
        Command::Render(args) => apps::run_render(args),
        Command::Validate(args) => validate::run(args, &cli.global),
        Command::Hooks(args) => hooks::run_hooks(args, &cli.global),
        Command::Hook(args) => hooks::run_hook(args, &cli.global),
        Command::Status(args) => status::run(args),
        Command::Diff(args) => diff::run(args),
        Command::History(args) => history::run(args),
        Command::Rollback(args) => rollback::run(args, &cli.global),
        Command::Doctor(args) => doctor::run(args),
        Command::Completion(args) => completion::run_completion(args),
        Command::Version(args) => version::run(args),
        Command::Complete(args) => completion::run_complete(args),
    }
}

/// `sha256:` digests in `text` cut to their first 12 hex digits after an `@`
/// (`web@sha256:4f1c…` becomes `web@4f1c0a9b2d3e`, as `docker images` shortens ids), so
/// tables stay narrow. JSON output always has the full value.
pub fn short_digests(text: &str) -> std::borrow::Cow<'_, str> {
    static DIGEST: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new("@?sha256:([0-9a-f]{12})[0-9a-f]{52}").expect("a valid regex")
    });
    DIGEST.replace_all(text, "@$1")
}

/// A failure the binary maps to a specific exit code (anything else exits 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitError {
    pub message: String,
    pub code: u8,
}

/// The exit code for an error: 2 unless the error says otherwise.
pub fn error_code(err: &anyhow::Error) -> u8 {
    err.downcast_ref::<ExitError>().map_or(2, |e| e.code)
}

/// True when the error is a closed stdout (`| head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error as one line, then its causes, on stderr.
pub fn print_error(err: &anyhow::Error) {
    let mut stderr = anstream::stderr().lock();
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let _ = writeln!(stderr, "{style}error:{style:#} {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_names_each_context_once() {
        let connect = ConnectArgs {
            contexts: vec!["east".into(), "west".into(), "east".into()],
            ..ConnectArgs::default()
        };
        let contexts: Vec<Option<String>> = connect
            .fleet(None, false, "30s")
            .expect("options")
            .into_iter()
            .map(|o| o.context)
            .collect();
        assert_eq!(contexts, [Some("east".into()), Some("west".into())]);
        let one = connect.fleet(Some(&"own".to_string()), false, "30s");
        assert_eq!(
            one.expect("options").len(),
            2,
            "the flags win over an app's own"
        );
        let none = ConnectArgs::default()
            .fleet(Some(&"own".to_string()), false, "30s")
            .expect("options");
        assert_eq!(none[0].context.as_deref(), Some("own"));
    }

    #[test]
    fn digests_are_cut_to_12_hex_digits() {
        let d = "4f1c0a9b2d3e5f60718293a4b5c6d7e8f9031a2b3c4d5e6f708192a3b4c5d6e7";
        assert_eq!(short_digests(&format!("sha256:{d}")), "@4f1c0a9b2d3e");
        assert_eq!(
            short_digests(&format!("ghcr.io/acme/web:1.2@sha256:{d}")),
            "ghcr.io/acme/web:1.2@4f1c0a9b2d3e"
        );
        assert_eq!(short_digests("1.4.2 -> 1.4.3"), "1.4.2 -> 1.4.3");
        assert_eq!(short_digests("sha256:abc"), "sha256:abc", "not a digest");
    }

    #[test]
    fn the_grouped_list_names_every_command_once() {
        let listed: Vec<&str> = COMMAND_GROUPS
            .iter()
            .flat_map(|(_, commands)| commands.iter().map(|(name, _)| *name))
            .collect();
        let mut cmd = command();
        cmd.build();
        let visible: Vec<&str> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name())
            .collect();
        assert_eq!(
            listed, visible,
            "COMMAND_GROUPS and the Command enum disagree"
        );
    }

    /// The kubectl connection flags belong to the commands that talk to a cluster.
    #[test]
    fn cluster_flags_only_where_a_cluster_is_used() {
        let mut cmd = command();
        cmd.build();
        let expect: &[(&str, &[&str])] = &[
            (
                "status",
                &[
                    "kubeconfig",
                    "context",
                    "request-timeout",
                    "namespace",
                    "all-namespaces",
                ],
            ),
            (
                "diff",
                &["kubeconfig", "context", "request-timeout", "namespace"],
            ),
            ("doctor", &["kubeconfig", "context", "request-timeout"]),
            // Only for --crds-from-cluster: the CRDs (and version) of a live cluster.
            ("validate", &["kubeconfig", "context", "request-timeout"]),
        ];
        let cluster = [
            "kubeconfig",
            "context",
            "namespace",
            "all-namespaces",
            "request-timeout",
        ];
        let mut all: Vec<&clap::Command> = Vec::new();
        // `help` holds argument-less copies of every command, for `help <command>`.
        let not_help = |s: &&clap::Command| s.get_name() != "help";
        let mut stack: Vec<&clap::Command> = cmd.get_subcommands().filter(not_help).collect();
        while let Some(sub) = stack.pop() {
            stack.extend(sub.get_subcommands().filter(not_help));
            all.push(sub);
        }
        for sub in all {
            let has: Vec<&str> = sub
                .get_arguments()
                .filter_map(|a| a.get_long())
                .filter(|l| cluster.contains(l))
                .collect();
            let want = expect
                .iter()
                .find(|(name, _)| *name == sub.get_name())
                .map_or(&[][..], |(_, flags)| *flags);
            assert_eq!(has, want, "cluster flags of `{}`", sub.get_name());
        }
    }
}
