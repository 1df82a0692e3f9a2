//! `kubectl gitops history`: the deploy timeline, from Git itself.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::Outcome;
use crate::git::history::{self, Entry, Options};
use crate::git::{Repo, short};

pub use super::TextOrJson as Format;

/// Show every image-tag bump in the history of HEAD, newest first: when, by whom, which
/// image, old -> new, and whether it was rolled back later.
///
/// Reads `Image-Bump` trailers and the notes the post-merge hook writes (refs/notes/gitops),
/// and computes everything else from the manifests each commit changed, so it works on any
/// repository. Only commits that touched YAML files are read. There is no cap on length.
///
/// JSON (-o json): {"bumps": [{"commit": sha, "date": ISO 8601 committer date,
/// "author": {"name", "email"}, "committer": {"name", "email"}, "subject", "image", "old",
/// "new", "files": [...], "objects": [...], "detectedBy": "trailer" | "note" | "diff",
/// "rollbackOf": sha or null, "rolledBackBy": sha or null}]}, newest first.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops history\n  kubectl gitops history --image ghcr.io/acme/web -n 20\n  kubectl gitops history --path clusters/prod -o json"
)]
pub struct HistoryArgs {
    /// Only bumps of this image (name without tag).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Only bumps in files under this path (repeatable).
    #[arg(long = "path", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub paths: Vec<PathBuf>,
    /// Show the N newest bumps only (as `git log -n`).
    #[arg(
        short = 'n',
        long = "max-count",
        visible_alias = "limit",
        value_name = "N"
    )]
    pub max_count: Option<usize>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Format,
}

#[derive(Serialize)]
struct Report<'a> {
    bumps: &'a [Entry],
}

pub fn run(args: HistoryArgs) -> anyhow::Result<Outcome> {
    let limit = args.max_count;
    let repo = Repo::open()?;
    let mut paths = Vec::new();
    for p in &args.paths {
        paths.push(repo.relative(p)?);
    }
    let entries = history::history(
        &repo,
        &Options {
            image: args.image.clone(),
            paths,
            limit,
        },
    )
    .context("cannot read the history")?;

    let mut out = anstream::stdout().lock();
    match args.output {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &Report { bumps: &entries })?;
            writeln!(out)?;
        }
        Format::Text => write_text(&entries, &mut out)?,
    }
    Ok(Outcome::Clean)
}

fn write_text(entries: &[Entry], out: &mut impl Write) -> std::io::Result<()> {
    if entries.is_empty() {
        return writeln!(out, "no image bumps found in the history of HEAD");
    }
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let note = match (&e.rolled_back_by, &e.rollback_of) {
                (Some(by), _) => format!("rolled back by {}", short(by)),
                (None, Some(of)) => format!("rollback of {}", short(of)),
                (None, None) => String::new(),
            };
            [
                short(&e.commit).to_string(),
                e.date.get(..16).unwrap_or(&e.date).replace('T', " "),
                e.author.name.clone(),
                e.image.clone(),
                format!("{} -> {}", e.old, e.new),
                note,
            ]
        })
        .collect();
    let header = ["COMMIT", "DATE", "AUTHOR", "IMAGE", "CHANGE", ""];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 6]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate().take(5) {
            s.push_str(cell);
            s.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
        }
        s.push_str(cells[5]);
        s.trim_end().to_string()
    };
    let bold = anstyle::Style::new().bold();
    writeln!(out, "{bold}{}{bold:#}", line(header))?;
    let warn = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    for r in &rows {
        let text = line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
        if r[5].is_empty() {
            writeln!(out, "{text}")?;
        } else {
            writeln!(out, "{warn}{text}{warn:#}")?;
        }
    }
    Ok(())
}
