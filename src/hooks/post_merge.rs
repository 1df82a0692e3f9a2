//! The post-merge hook: after `git pull` or `git merge`, records the image bumps that arrived
//! (`ORIG_HEAD..HEAD`) as git notes under `refs/notes/gitops`, for the commits that carry no
//! `Image-Bump` trailers (other people's hand edits, bots).
//!
//! It is quick (only commits touching YAML are looked at, only changed files are parsed),
//! idempotent (a commit with a note is skipped), never prompts, and never fails the merge:
//! its own errors become one warning on stderr.

use std::io::Write;

use crate::git::history::{self, SiteCache, Source};
use crate::git::note::{self, NOTES_REF, Record};
use crate::git::{GitError, Repo, lib, log};

/// What one run recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Commits that got a note.
    pub commits: usize,
    /// Bumps in those notes.
    pub bumps: usize,
}

/// Records the bumps of `ORIG_HEAD..HEAD`. A squash merge made no commit yet, so there is
/// nothing to note: `history` finds the bumps in the squash commit from its diff.
pub fn record(repo: &Repo, squash: bool) -> Result<Recorded, GitError> {
    if squash {
        return Ok(Recorded::default());
    }
    let head = repo.head()?;
    // No ORIG_HEAD: nothing was merged into an existing branch (git sets it on every merge).
    let Ok(orig) = repo.repo.refname_to_id("ORIG_HEAD") else {
        return Ok(Recorded::default());
    };
    if orig == head {
        return Ok(Recorded::default());
    }
    let range = format!("{orig}..{head}");
    let commits = log::walk(repo, &[&range], &log::yaml_pathspecs(&[]))?;
    let found = history::commit_bumps(repo, &commits, &mut SiteCache::default())?;
    let mut out = Recorded::default();
    for (commit, (source, bumps)) in commits.iter().zip(found) {
        if !matches!(source, Source::Diff | Source::Message) || bumps.is_empty() {
            continue;
        }
        let id = git2::Oid::from_str(&commit.id).map_err(lib("git printed an invalid sha"))?;
        let count = bumps.len();
        let written = note::write(&repo.repo, id, &Record::from_diff(bumps))
            .map_err(lib(format!("cannot write the note of {}", commit.id)))?;
        if written {
            out.commits += 1;
            out.bumps += count;
        }
    }
    Ok(out)
}

/// The hook's entry point (`kubectl gitops hook post-merge <squash-flag>`). Never fails:
/// git ignores a post-merge hook's status, and a merge must not look broken because a
/// record could not be written, so problems are one warning on stderr.
pub fn run(squash_flag: &str) {
    let squash = squash_flag.trim() == "1";
    let result = Repo::open().and_then(|repo| record(&repo, squash));
    let mut err = std::io::stderr().lock();
    match result {
        Ok(r) if r.commits > 0 => {
            let _ = writeln!(
                err,
                "kubectl-gitops: recorded {} image bump{} from {} commit{} in {NOTES_REF}",
                r.bumps,
                if r.bumps == 1 { "" } else { "s" },
                r.commits,
                if r.commits == 1 { "" } else { "s" },
            );
        }
        Ok(_) => {}
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            let _ = writeln!(
                err,
                "kubectl-gitops: warning: image bumps of this merge were not recorded: {message}"
            );
        }
    }
}
