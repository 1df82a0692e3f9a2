//! `kubectl gitops history`: the deploy timeline, from Git itself.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::{Outcome, short_digests};
use crate::apps;
use crate::git::history::{self, Entry, Options};
use crate::git::{Repo, short};
use crate::manifest::sites::VersionKind;
use crate::manifest::tree::under;

pub use super::TextOrJson as Format;

/// Show every version change in the history of HEAD, newest first: when, by whom, which
/// image (or chart, or source), old -> new, in which apps, and whether it was rolled back.
///
/// Reads `Image-Bump` (`Chart-Bump`, `Source-Bump`) trailers and the notes the post-merge hook
/// writes (refs/notes/gitops), and computes everything else from the manifests each commit
/// changed, wherever the version lives: containers, kustomize `images:`, patches, Helm values,
/// Argo CD Image Updater files (created, changed or deleted), chart versions and source refs.
/// Image Updater and Flux image automation commit messages fill in what the files cannot
/// show. Only commits that touched YAML files are read. There is no cap on length.
///
/// JSON (-o json): {"bumps": [{"commit": sha, "date": ISO 8601 committer date,
/// "author": {"name", "email"}, "committer": {"name", "email"}, "subject",
/// "kind": "image" | "chart" | "source", "image": name, "old", "new", "apps": [...],
/// "files": [...], "objects": [...], "detectedBy": "trailer" | "note" | "diff" | "message",
/// "rollbackOf": sha or null, "rolledBackBy": sha or null}]}, newest first.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kubectl gitops history\n  kubectl gitops history --image ghcr.io/acme/web -n 20\n  kubectl gitops history --path clusters/prod -o json"
)]
pub struct HistoryArgs {
    /// Only bumps of this image (name without tag).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Only changes of this kind.
    #[arg(long, value_enum, value_name = "KIND")]
    pub kind: Option<KindArg>,
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

/// The kinds of version `--kind` selects.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum KindArg {
    Image,
    Chart,
    Source,
}

impl From<KindArg> for VersionKind {
    fn from(k: KindArg) -> VersionKind {
        match k {
            KindArg::Image => VersionKind::Image,
            KindArg::Chart => VersionKind::Chart,
            KindArg::Source => VersionKind::Source,
        }
    }
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
            kind: args.kind.map(VersionKind::from),
            paths,
            limit,
        },
    )
    .context("cannot read the history")?;
    let mut entries = entries;
    name_apps(&mut entries);

    let mut out = anstream::stdout().lock();
    match args.output {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &Report { bumps: &entries })?;
            writeln!(out)?;
        }
        Format::Text => {
            write_text(&entries, &mut out)?;
            if repo.repo.is_shallow() {
                writeln!(
                    anstream::stderr(),
                    "note: this clone is shallow, so older changes are not in it: git fetch --unshallow"
                )?;
            }
        }
    }
    Ok(Outcome::Clean)
}

/// Names the apps (as HEAD has them) whose inputs hold each entry's files.
fn name_apps(entries: &mut [Entry]) {
    if entries.is_empty() {
        return;
    }
    let Ok(cwd) = std::env::current_dir() else {
        return;
    };
    let listing = apps::Options {
        changed: Some(Default::default()),
        ..apps::Options::default()
    };
    let Ok(opened) = apps::open(&cwd, &apps::Revision::Ref("HEAD".into()), &listing) else {
        return;
    };
    let all = &opened.apps.apps;
    for e in entries {
        let mut names: Vec<String> = all
            .iter()
            // Plain directories are not apps people name; the files say as much.
            .filter(|a| a.controller != apps::Controller::Plain)
            .filter(|a| {
                e.files.iter().any(|f| {
                    a.defined_file.as_deref() == Some(f.as_str())
                        || a.inputs.iter().any(|i| under(f, i))
                })
            })
            .map(|a| a.name.clone())
            .collect();
        names.sort();
        names.dedup();
        e.apps = names;
    }
}

fn write_text(entries: &[Entry], out: &mut impl Write) -> std::io::Result<()> {
    if entries.is_empty() {
        return writeln!(out, "no version changes found in the history of HEAD");
    }
    let kinds = entries.iter().any(|e| e.kind != VersionKind::Image);
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            let rollback = match (&e.rolled_back_by, &e.rollback_of) {
                (Some(by), _) => format!("by {}", short(by)),
                (None, Some(of)) => format!("of {}", short(of)),
                (None, None) => String::new(),
            };
            let what = if kinds {
                format!("{} {}", e.kind.as_str(), e.image)
            } else {
                e.image.clone()
            };
            [
                short(&e.commit).to_string(),
                utc_minutes(&e.date).unwrap_or_else(|| e.date.clone()),
                e.author.name.clone(),
                what,
                short_digests(&format!("{} -> {}", e.old, e.new)).into_owned(),
                e.apps.join(","),
                rollback,
            ]
        })
        .collect();
    let any_rollback = rows.iter().any(|r| !r[6].is_empty());
    let any_apps = rows.iter().any(|r| !r[5].is_empty());
    let header = [
        "COMMIT",
        "DATE (UTC)",
        "AUTHOR",
        if kinds { "WHAT" } else { "IMAGE" },
        "CHANGE",
        if any_apps { "APPS" } else { "" },
        if any_rollback { "ROLLBACK" } else { "" },
    ];
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 7]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate().take(6) {
            if i == 5 && !any_apps {
                continue;
            }
            s.push_str(cell);
            s.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
        }
        s.push_str(cells[6]);
        s.trim_end().to_string()
    };
    let bold = anstyle::Style::new().bold();
    writeln!(out, "{bold}{}{bold:#}", line(header))?;
    let warn = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    for r in &rows {
        let text = line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]]);
        if r[6].is_empty() {
            writeln!(out, "{text}")?;
        } else {
            writeln!(out, "{warn}{text}{warn:#}")?;
        }
    }
    Ok(())
}

/// `2026-11-27T14:02:31+01:00` (git's strict ISO 8601) as `2026-11-27 13:02` in UTC: one
/// clock for every row, so newest-first reads in order whatever zone each commit was made in.
/// JSON keeps the date as git wrote it, offset included.
fn utc_minutes(iso: &str) -> Option<String> {
    let num = |range: std::ops::Range<usize>| iso.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    let offset = match iso.get(19..)? {
        "Z" => 0,
        zone => {
            let sign = match zone.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            sign * (zone.get(1..3)?.parse::<i64>().ok()? * 60
                + zone.get(4..6)?.parse::<i64>().ok()?)
        }
    };
    let minutes = days_from_civil(year, month, day) * 1440 + hour * 60 + minute - offset;
    let (days, rest) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rest / 60,
        rest % 60
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_shown_in_utc() {
        assert_eq!(
            utc_minutes("2026-11-27T14:02:31+01:00").as_deref(),
            Some("2026-11-27 13:02")
        );
        assert_eq!(
            utc_minutes("2026-12-31T20:30:00-05:30").as_deref(),
            Some("2027-01-01 02:00")
        );
        assert_eq!(
            utc_minutes("2024-03-01T00:10:00+02:00").as_deref(),
            Some("2024-02-29 22:10"),
            "leap day"
        );
        assert_eq!(
            utc_minutes("2026-01-02T03:04:05Z").as_deref(),
            Some("2026-01-02 03:04")
        );
        assert_eq!(utc_minutes("yesterday"), None);
    }
}
