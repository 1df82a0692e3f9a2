//! kubectl-gitops: the Git side of a GitOps loop.

pub mod apps;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod git;
pub mod hooks;
pub mod manifest;
pub mod redact;
pub mod validate;
