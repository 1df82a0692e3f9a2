//! The integration tests: one binary (fast to build) that drives the real `kubectl-gitops`
//! binary on real git repositories made with the git CLI.

mod apps;
mod bump;
mod cluster;
mod common;
mod completion;
mod crds;
mod diff;
mod fuzz;
mod guard;
mod help;
mod history;
mod hooks;
mod hooks_managers;
mod install;
mod krew;
mod plugin;
mod post_merge;
mod precommit;
mod report_formats;
mod rollback;
mod secrets;
mod validate;
mod version;
mod versions;
