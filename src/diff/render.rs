//! Showing differences: unified diffs (coloured on a terminal), and `KUBECTL_EXTERNAL_DIFF`
//! with the same two-directory layout `kubectl diff` gives external programs.

use std::io::{self, Write};
use std::path::Path;
use std::process::Command;

use similar::TextDiff;

use crate::manifest::ObjectId;

/// The name kubectl gives an object's file in its LIVE/MERGED directories:
/// `apps.v1.Deployment.team.web` (`v1.ConfigMap.team.settings` for the core group).
pub fn file_name(id: &ObjectId) -> String {
    let mut parts = Vec::new();
    if !id.group.is_empty() {
        parts.push(id.group.as_str());
    }
    parts.push(&id.version);
    parts.push(&id.kind);
    if let Some(ns) = &id.namespace {
        parts.push(ns);
    }
    parts.push(&id.name);
    parts.join(".").replace('/', "_")
}

/// A unified diff of two YAML texts with `---`/`+++` headers, or an empty string when they
/// are the same.
pub fn unified(before_name: &str, before: &str, after_name: &str, after: &str) -> String {
    let diff = TextDiff::from_lines(before, after);
    let mut out = Vec::new();
    diff.unified_diff()
        .context_radius(3)
        .header(before_name, after_name)
        .to_writer(&mut out)
        .expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("diff of UTF-8 texts is UTF-8")
}

/// Writes a unified diff with ANSI colours (removed red, added green, hunk headers cyan,
/// file headers bold); write it through `anstream` so colours appear only on a terminal.
pub fn write_coloured(out: &mut dyn Write, text: &str) -> io::Result<()> {
    use anstyle::{AnsiColor, Style};
    let bold = Style::new().bold();
    let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let cyan = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
    for line in text.split_inclusive('\n') {
        let (content, newline) = match line.strip_suffix('\n') {
            Some(c) => (c, "\n"),
            None => (line, ""),
        };
        let style = if content.starts_with("---") || content.starts_with("+++") {
            bold
        } else if content.starts_with("@@") {
            cyan
        } else if content.starts_with('-') {
            red
        } else if content.starts_with('+') {
            green
        } else {
            Style::new()
        };
        write!(out, "{style}{content}{style:#}{newline}")?;
    }
    Ok(())
}

/// Why an external diff program could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExternalDiffError {
    /// `KUBECTL_EXTERNAL_DIFF` is set but names no program.
    #[error("KUBECTL_EXTERNAL_DIFF is set but empty")]
    Empty,
    /// The temporary LIVE/MERGED directories could not be written.
    #[error("cannot write the files for the external diff: {0}")]
    Files(#[source] io::Error),
    /// The program could not be started.
    #[error("cannot run the external diff program `{program}`: {source}")]
    Spawn { program: String, source: io::Error },
    /// The program failed (exit status above 1, or killed by a signal).
    #[error("the external diff program `{program}` failed ({status})")]
    Failed { program: String, status: String },
}

/// One object for an external diff: its file name and the two YAML texts (empty when the
/// object is absent on that side).
pub struct ExternalFile<'a> {
    pub name: String,
    pub before: &'a str,
    pub after: &'a str,
}

/// Runs `KUBECTL_EXTERNAL_DIFF` (a program and its arguments, split on whitespace as kubectl
/// does) on a LIVE and a MERGED directory holding one file per object. Returns whether it
/// found differences (its exit status 1), like `diff`.
pub fn run_external(command: &str, files: &[ExternalFile<'_>]) -> Result<bool, ExternalDiffError> {
    let mut words = command.split_whitespace();
    let program = words.next().ok_or(ExternalDiffError::Empty)?.to_string();
    let args: Vec<&str> = words.collect();
    let tmp = tempfile::Builder::new()
        .prefix("kubectl-gitops-diff-")
        .tempdir()
        .map_err(ExternalDiffError::Files)?;
    let live = tmp.path().join("LIVE");
    let merged = tmp.path().join("MERGED");
    write_side(&live, files, |f| f.before)?;
    write_side(&merged, files, |f| f.after)?;
    let status = Command::new(&program)
        .args(&args)
        .arg(&live)
        .arg(&merged)
        .status()
        .map_err(|source| ExternalDiffError::Spawn {
            program: program.clone(),
            source,
        })?;
    match status.code() {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(code) => Err(ExternalDiffError::Failed {
            program,
            status: format!("exit status {code}"),
        }),
        None => Err(ExternalDiffError::Failed {
            program,
            status: "killed by a signal".into(),
        }),
    }
}

fn write_side<'a>(
    dir: &Path,
    files: &'a [ExternalFile<'a>],
    text: impl Fn(&'a ExternalFile<'a>) -> &'a str,
) -> Result<(), ExternalDiffError> {
    std::fs::create_dir(dir).map_err(ExternalDiffError::Files)?;
    for file in files {
        let content = text(file);
        // kubectl leaves an object out of a side where it does not exist.
        if !content.is_empty() {
            let path = dir.join(&file.name);
            // A fleet's objects are under a directory per cluster.
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(ExternalDiffError::Files)?;
            }
            std::fs::write(path, content).map_err(ExternalDiffError::Files)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(group: &str, ns: Option<&str>) -> ObjectId {
        ObjectId {
            group: group.into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: ns.map(str::to_string),
            name: "web".into(),
        }
    }

    #[test]
    fn file_names_match_kubectl() {
        assert_eq!(
            file_name(&id("apps", Some("team"))),
            "apps.v1.Deployment.team.web"
        );
        assert_eq!(file_name(&id("", None)), "v1.Deployment.web");
    }

    #[test]
    fn unified_diff_has_headers_and_hunks() {
        let text = unified("LIVE/x", "a: 1\nb: 2\n", "MERGED/x", "a: 1\nb: 3\n");
        assert_eq!(
            text,
            "--- LIVE/x\n+++ MERGED/x\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n"
        );
        assert_eq!(unified("a", "x\n", "b", "x\n"), "");
    }

    #[test]
    fn colours_by_line_kind() {
        let mut out = Vec::new();
        write_coloured(&mut out, "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n z\n").expect("vec");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("\u{1b}[31m-x"));
        assert!(text.contains("\u{1b}[32m+y"));
        assert!(text.contains(" z"));
    }

    #[test]
    fn external_program_gets_two_directories() {
        // A quiet `diff -r`, so the test output stays clean.
        let dir = tempfile::tempdir().expect("tmp");
        let quiet = dir.path().join("quiet-diff");
        std::fs::write(&quiet, "#!/bin/sh\nexec diff -r \"$1\" \"$2\" >/dev/null\n")
            .expect("script");
        std::fs::set_permissions(&quiet, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let quiet = quiet.display().to_string();
        let files = [ExternalFile {
            name: "v1.ConfigMap.n.c".into(),
            before: "a: 1\n",
            after: "a: 2\n",
        }];
        assert!(run_external(&quiet, &files).expect("diff runs"));
        let same = [ExternalFile {
            name: "v1.ConfigMap.n.c".into(),
            before: "a: 1\n",
            after: "a: 1\n",
        }];
        assert!(!run_external(&quiet, &same).expect("diff runs"));
        assert!(matches!(run_external("false", &same), Ok(true)));
        assert!(matches!(
            run_external("kubectl-gitops-no-such-program", &same),
            Err(ExternalDiffError::Spawn { .. })
        ));
        assert!(matches!(
            run_external("diff --no-such-flag", &same),
            Err(ExternalDiffError::Failed { .. })
        ));
    }
}
