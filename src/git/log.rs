//! Walking the commits that touched manifests, with one `git log` process.
//!
//! `git log --raw -- '*.yaml' '*.yml'` lists, per commit, the blob ids of every YAML file it
//! changed before and after, along with the metadata, trailers and our notes. git prunes the
//! walk to commits touching those paths itself, which is what keeps `history` fast on long
//! histories: nothing else is read, and only the changed blobs are parsed later.

use super::trailer::{self, CHART_BUMP, IMAGE_BUMP, ROLLBACK_OF, SOURCE_BUMP};
use super::{GitError, Repo, note::NOTES_REF};

/// A YAML file a commit changed: its blob before and after (`None` when added or deleted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub old: Option<git2::Oid>,
    pub new: Option<git2::Oid>,
}

/// One commit of the walk.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    pub id: String,
    pub parents: Vec<String>,
    pub author_name: String,
    pub author_email: String,
    pub committer_name: String,
    pub committer_email: String,
    /// Committer date, ISO 8601 with offset: when the change landed on the branch.
    pub date: String,
    pub subject: String,
    pub body: String,
    /// `Image-Bump`, `Chart-Bump` and `Source-Bump` trailers, as `Key: value`.
    pub bump_trailers: Vec<String>,
    /// The commits this one rolls back (`Rollback-Of` trailers, `This reverts commit`).
    pub rolls_back: Vec<String>,
    /// Our note's text, if any.
    pub note: Option<String>,
    pub changes: Vec<FileChange>,
}

/// Field separators git never emits inside the fields we ask for (control characters do not
/// occur in names, dates, subjects or trailers); the body comes last so stray ones there
/// are harmless.
const FIELD: char = '\u{1f}';
const RECORD: char = '\u{1e}';
const LIST: char = '\u{1d}';

/// The pathspecs for YAML files under `paths` (repo-relative; all of the repo when empty).
pub fn yaml_pathspecs(paths: &[String]) -> Vec<String> {
    if paths.is_empty() || paths.iter().any(|p| p.is_empty() || p == ".") {
        return vec![":(top)*.yaml".into(), ":(top)*.yml".into()];
    }
    paths
        .iter()
        .flat_map(|p| {
            if p.ends_with(".yaml") || p.ends_with(".yml") {
                vec![format!(":(top){p}")]
            } else {
                // Without glob magic `*` also matches `/`, so this covers subdirectories.
                let p = p.trim_end_matches('/');
                vec![format!(":(top){p}/*.yaml"), format!(":(top){p}/*.yml")]
            }
        })
        .collect()
}

/// Walks `revisions` (e.g. `HEAD`, `ORIG_HEAD..HEAD`), newest first, keeping commits that
/// changed a file matching `pathspecs`.
pub fn walk(
    repo: &Repo,
    revisions: &[&str],
    pathspecs: &[String],
) -> Result<Vec<Commit>, GitError> {
    let format = format!(
        "--format={RECORD}%H{FIELD}%P{FIELD}%aN{FIELD}%aE{FIELD}%cN{FIELD}%cE{FIELD}%cI{FIELD}%s{FIELD}%(trailers:key={IMAGE_BUMP},key={CHART_BUMP},key={SOURCE_BUMP},separator=%x1d){FIELD}%(trailers:key={ROLLBACK_OF},valueonly,separator=%x1d){FIELD}%N{FIELD}%b"
    );
    let notes = format!("--notes={NOTES_REF}");
    let mut args: Vec<&str> = vec![
        "-c",
        "log.showSignature=false",
        "log",
        "-z",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--no-color",
        "--no-notes",
        &notes,
        &format,
    ];
    args.extend(revisions);
    args.push("--");
    args.extend(pathspecs.iter().map(String::as_str));
    let out = super::output(repo.git().args(&args), &args[2..]).map_err(|e| match e {
        GitError::Command { message, .. }
            if message.contains("unknown revision") || message.contains("bad revision") =>
        {
            GitError::UnknownRevision(revisions.join(" "))
        }
        other => other,
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(parse(&text))
}

/// Parses `git log -z --raw` output in the format [`walk`] asks for.
fn parse(text: &str) -> Vec<Commit> {
    text.split(RECORD)
        .filter(|r| !r.is_empty())
        .filter_map(parse_record)
        .collect()
}

fn parse_record(record: &str) -> Option<Commit> {
    let (header, raw) = record.split_once('\0').unwrap_or((record, ""));
    let mut f = header.splitn(12, FIELD);
    let mut next = || f.next().unwrap_or("").to_string();
    let mut c = Commit {
        id: next(),
        parents: next().split_whitespace().map(str::to_string).collect(),
        author_name: next(),
        author_email: next(),
        committer_name: next(),
        committer_email: next(),
        date: next(),
        subject: next(),
        ..Commit::default()
    };
    if c.id.len() < 40 {
        return None;
    }
    c.bump_trailers = split_list(&next());
    let rollback_trailers = split_list(&next());
    let note = next();
    c.note = (!note.trim().is_empty()).then_some(note);
    c.body = next();
    c.rolls_back = rollback_trailers
        .iter()
        .filter_map(|v| trailer::parse_rollback_of(v))
        .collect();
    if let Some(sha) = trailer::reverted_commit(&c.body)
        && !c.rolls_back.contains(&sha)
    {
        c.rolls_back.push(sha);
    }
    c.changes = parse_raw(raw);
    Some(c)
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split([LIST, '\n'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// `:old_mode new_mode old_sha new_sha STATUS\0path\0` entries.
fn parse_raw(raw: &str) -> Vec<FileChange> {
    let mut out = Vec::new();
    let mut parts = raw.trim_start_matches('\n').split('\0');
    while let Some(meta) = parts.next() {
        let meta = meta.trim_start_matches('\n');
        if !meta.starts_with(':') {
            continue;
        }
        let Some(path) = parts.next() else { break };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [old_mode, new_mode, old, new, _status] = fields[..] else {
            continue;
        };
        // Regular files only: symlinks and submodules are not manifests.
        let blob = |mode: &str, sha: &str| {
            matches!(mode, "100644" | "100755")
                .then(|| git2::Oid::from_str(sha).ok())
                .flatten()
                .filter(|oid| !oid.is_zero())
        };
        let change = FileChange {
            path: path.to_string(),
            old: blob(old_mode.trim_start_matches(':'), old),
            new: blob(new_mode, new),
        };
        if change.old.is_some() || change.new.is_some() {
            out.push(change);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_log_records() {
        let sha = "a45d08ce1105882b4b96b4f93af18e879c032941";
        let blob = "d44bf366e928cd89367d7f0d7d879ccecd1a5129";
        let zero = "0".repeat(40);
        let text = format!(
            "\u{1e}{sha}\u{1f}p1 p2\u{1f}Ann\u{1f}a@x\u{1f}Cid\u{1f}c@x\u{1f}2026-01-02T03:04:05+01:00\u{1f}Bump app\u{1f}Image-Bump: app 1 -> 2\u{1d}Chart-Bump: web 3 -> 4\u{1f}\u{1f}{{\"version\":1}}\n\u{1f}body\n\nThis reverts commit {sha}.\n\u{0}\n:000000 100644 {zero} {blob} A\u{0}apps/x.yaml\u{0}:120000 120000 {blob} {blob} M\u{0}link.yaml\u{0}"
        );
        let commits = parse(&text);
        assert_eq!(commits.len(), 1);
        let c = &commits[0];
        assert_eq!(c.parents, vec!["p1", "p2"]);
        assert_eq!(
            c.bump_trailers,
            vec!["Image-Bump: app 1 -> 2", "Chart-Bump: web 3 -> 4"]
        );
        assert_eq!(c.rolls_back, vec![sha.to_string()]);
        assert!(c.note.is_some());
        assert_eq!(
            c.changes,
            vec![FileChange {
                path: "apps/x.yaml".into(),
                old: None,
                new: Some(git2::Oid::from_str(blob).unwrap()),
            }]
        );
    }

    #[test]
    fn pathspecs_cover_subdirectories() {
        assert_eq!(yaml_pathspecs(&[]), vec![":(top)*.yaml", ":(top)*.yml"]);
        assert_eq!(
            yaml_pathspecs(&["apps/".into(), "x/k.yaml".into()]),
            vec![":(top)apps/*.yaml", ":(top)apps/*.yml", ":(top)x/k.yaml"]
        );
    }
}
