//! The `kubectl-gitops` binary: parse flags, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use kubectl_gitops::cli;

// Parsing allocates many small strings from several threads; glibc's per-thread arenas spend
// more time growing (mprotect) than mimalloc spends allocating.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let code = if e.use_stderr() { 2 } else { 0 };
            if e.print().is_err() {
                return ExitCode::from(code);
            }
            return ExitCode::from(code);
        }
    };
    match cli::run(cli) {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            cli::print_error(&err);
            ExitCode::from(cli::error_code(&err))
        }
    }
}
