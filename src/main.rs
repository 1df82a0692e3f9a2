//! The `kubectl-gitops` binary: parse flags, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use kubectl_gitops::cli;

// Parsing allocates many small strings from several threads; glibc's per-thread arenas spend
// more time growing (mprotect) than mimalloc spends allocating. A heap profiler (valgrind's
// massif, heaptrack) sees only the system allocator: build with
// `RUSTFLAGS="--cfg kgo_system_alloc" cargo build --profile profiling` to profile.
#[cfg(not(kgo_system_alloc))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's defaults, set before it initialises.
#[cfg(not(kgo_system_alloc))]
mod allocator {
    // Indexes in `mi_option_t` (mimalloc v3, include/mimalloc.h), which libmimalloc-sys does
    // not name for v3.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

    /// Memory is committed as it is used and given back as soon as it is freed. By default
    /// mimalloc commits a whole arena up front and purges freed pages a second later, which
    /// doubles the resident size of a validate run (45 MiB instead of 18 at 10k documents)
    /// and gains no measurable speed here. These are defaults: `MIMALLOC_*` variables still
    /// override them.
    extern "C" fn set_defaults() {
        // SAFETY: mi_option_set_default only stores a value in mimalloc's option table.
        unsafe {
            libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0);
            libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 0);
        }
    }

    // The first arena is made by the first allocation, before `main`: the defaults are set by
    // a constructor that runs ahead of mimalloc's own (priority 100 < the default 65535).
    #[cfg(target_os = "linux")]
    #[used]
    #[unsafe(link_section = ".init_array.00100")]
    static SET_DEFAULTS: extern "C" fn() = set_defaults;

    #[cfg(target_os = "macos")]
    #[used]
    #[unsafe(link_section = "__DATA,__mod_init_func")]
    static SET_DEFAULTS: extern "C" fn() = set_defaults;
}

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
