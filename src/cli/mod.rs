//! Command-line front end: one file per subcommand. Each turns its flags into the library's
//! options, calls the library, and prints; this file holds what every command shares.

use std::io::Write;

use clap::{Args, Parser, Subcommand};

pub mod apps;
pub mod bump;
pub mod completion;
pub mod diff;
pub mod doctor;
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

/// The Git side of GitOps: validate, diff, status, history, bump and roll back manifests.
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

/// Flags kubectl would normally handle; kubectl does not pass its own flags to plugins, so we
/// parse them ourselves.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace for objects without one (default: the context's namespace).
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// Look at all namespaces.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Run as if started in DIR (like `git -C`).
    #[arg(
        short = 'C',
        long = "repo",
        global = true,
        value_name = "DIR",
        value_hint = clap::ValueHint::DirPath
    )]
    pub repo: Option<std::path::PathBuf>,
    /// How long each API request may take (`30s`, `500ms`, `2m`; `0` waits forever)
    /// [default: 30s].
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Apps(apps::AppsArgs),
    Render(apps::RenderArgs),
    Validate(validate::ValidateArgs),
    Status(status::StatusArgs),
    Diff(diff::DiffArgs),
    History(history::HistoryArgs),
    Bump(bump::BumpArgs),
    Rollback(rollback::RollbackArgs),
    Hooks(hooks::HooksArgs),
    Hook(hooks::HookArgs),
    Completion(completion::CompletionArgs),
    Version(version::VersionArgs),
    Doctor(doctor::DoctorArgs),
    /// Answers kubectl's plugin completion (run by kubectl_complete-gitops).
    #[command(name = "__complete", hide = true)]
    Complete(completion::CompleteArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Some(dir) = &cli.global.repo {
        std::env::set_current_dir(dir)
            .map_err(|e| anyhow::anyhow!("cannot change to {}: {e}", dir.display()))?;
    }
    match cli.command {
        Command::Apps(args) => apps::run_apps(args),
        Command::Render(args) => apps::run_render(args),
        Command::Validate(args) => validate::run(args, &cli.global),
        Command::Status(args) => status::run(args, &cli.global),
        Command::Diff(args) => diff::run(args, &cli.global),
        Command::Hooks(args) => hooks::run_hooks(args, &cli.global),
        Command::Hook(args) => hooks::run_hook(args, &cli.global),
        Command::Completion(args) => completion::run_completion(args),
        Command::Version(args) => version::run(args),
        Command::Doctor(args) => doctor::run(args, &cli.global),
        Command::Bump(args) => bump::run(args, &cli.global),
        Command::History(args) => history::run(args, &cli.global),
        Command::Rollback(args) => rollback::run(args, &cli.global),
        Command::Complete(args) => completion::run_complete(args),
    }
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
