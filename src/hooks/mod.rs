//! Companion git hooks: installing the shims, and what each hook does when git runs it.

pub mod install;
pub mod manager;
pub mod post_merge;
pub mod pre_push;
