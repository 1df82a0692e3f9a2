//! The integration tests: one binary (fast to build) that drives the real `kubectl-gitops`
//! binary on real git repositories made with the git CLI.

mod cluster;
mod common;
mod diff;
mod hooks;
mod plugin;
mod validate;
