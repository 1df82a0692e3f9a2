//! Making commits with the `git` program, so the user's identity, signing configuration
//! (`commit.gpgSign`) and commit hooks apply exactly as they would by hand.

use std::io::Write;
use std::process::Stdio;

use super::{GitError, Repo};

/// Stages `paths` (repo-relative) and commits them with `message` and `trailers`
/// (`Key: value` lines, added with `git commit --trailer` so they join any trailers the
/// message already ends with). With `only`, other staged changes stay out of the commit.
/// Returns the new commit's sha.
pub fn commit(
    repo: &Repo,
    paths: &[String],
    message: &str,
    trailers: &[String],
    only: bool,
) -> Result<String, GitError> {
    let tops: Vec<String> = paths.iter().map(|p| format!(":(top,literal){p}")).collect();
    if !tops.is_empty() {
        let mut add = vec!["add", "--"];
        add.extend(tops.iter().map(String::as_str));
        repo.run(&add)?;
    }
    let mut args = vec!["commit", "-q", "-F", "-"];
    for t in trailers {
        args.push("--trailer");
        args.push(t);
    }
    if only && !tops.is_empty() {
        args.push("--only");
        args.push("--");
        args.extend(tops.iter().map(String::as_str));
    }
    let mut child = repo
        .git()
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(GitError::Spawn)?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(message.as_bytes())
        .map_err(GitError::Spawn)?;
    let out = child.wait_with_output().map_err(GitError::Spawn)?;
    if !out.status.success() {
        return Err(super::command_error(&args, &out));
    }
    Ok(repo.run(&["rev-parse", "HEAD"])?.trim().to_string())
}
