//! Writing a validation report as text, JSON or JUnit XML.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::Report;
use crate::diagnostic::{Diagnostic, Severity};

/// Version of the JSON shape; bumped only on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// `file:line: Kind/name: field: message`, one per line, then a summary line.
pub fn write_text(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let loc = Style::new().bold();
    let err = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
    let warn = Style::new().bold().fg_color(Some(AnsiColor::Yellow.into()));
    for d in &report.diagnostics {
        write!(out, "{loc}{}{loc:#}: ", location(d))?;
        if let Some(obj) = &d.object {
            write!(out, "{obj}: ")?;
        }
        if let Some(field) = &d.field {
            write!(out, "{field}: ")?;
        }
        match d.severity {
            Severity::Error => writeln!(out, "{}", d.message)?,
            Severity::Warning => writeln!(out, "{warn}warning:{warn:#} {}", d.message)?,
        }
    }
    let (errors, warnings) = (report.errors(), report.warnings());
    let files = plural(report.files.len(), "file");
    let objects = plural(report.objects, "object");
    if errors > 0 {
        writeln!(
            out,
            "{err}{} and {} in {files}{err:#} ({objects} checked)",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    } else {
        let good = Style::new().bold().fg_color(Some(AnsiColor::Green.into()));
        writeln!(
            out,
            "{good}{objects} in {files} valid{good:#}{}",
            if warnings > 0 {
                format!(" ({})", plural(warnings, "warning"))
            } else {
                String::new()
            }
        )
    }
}

fn location(d: &Diagnostic) -> String {
    match d.line {
        Some(line) => format!("{}:{line}", d.file),
        None => d.file.to_string(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    valid: bool,
    summary: Summary,
    diagnostics: &'a [Diagnostic],
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    objects: usize,
    errors: usize,
    warnings: usize,
}

/// The JSON report (shape documented in README.md).
pub fn write_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let json = JsonReport {
        version: JSON_SCHEMA_VERSION,
        valid: report.errors() == 0,
        summary: Summary {
            files: report.files.len(),
            objects: report.objects,
            errors: report.errors(),
            warnings: report.warnings(),
        },
        diagnostics: &report.diagnostics,
    };
    serde_json::to_writer_pretty(&mut *out, &json)?;
    writeln!(out)
}

/// JUnit XML: one test case per file, failed when the file has errors.
pub fn write_junit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut by_file: BTreeMap<&str, Vec<&Diagnostic>> =
        report.files.iter().map(|f| (&**f, Vec::new())).collect();
    for d in &report.diagnostics {
        by_file.entry(&d.file).or_default().push(d);
    }
    let failures = by_file
        .values()
        .filter(|ds| ds.iter().any(|d| d.severity == Severity::Error))
        .count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="kubectl gitops validate" tests="{}" failures="{failures}">"#,
        by_file.len()
    )?;
    writeln!(
        out,
        r#"  <testsuite name="manifests" tests="{}" failures="{failures}" errors="0" skipped="0">"#,
        by_file.len()
    )?;
    for (file, diags) in by_file {
        write!(
            out,
            r#"    <testcase classname="manifests" name="{}""#,
            xml(file)
        )?;
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        let warnings: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect();
        if errors.is_empty() && warnings.is_empty() {
            writeln!(out, "/>")?;
            continue;
        }
        writeln!(out, ">")?;
        if !errors.is_empty() {
            let text: Vec<String> = errors.iter().map(|d| one_line(d)).collect();
            writeln!(
                out,
                r#"      <failure message="{}" type="invalid">{}</failure>"#,
                xml(&plural(errors.len(), "error")),
                xml(&text.join("\n"))
            )?;
        }
        if !warnings.is_empty() {
            let text: Vec<String> = warnings.iter().map(|d| one_line(d)).collect();
            writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml(&text.join("\n"))
            )?;
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn one_line(d: &Diagnostic) -> String {
    let mut s = location(d);
    for part in [d.object.as_deref(), d.field.as_deref()]
        .into_iter()
        .flatten()
    {
        s.push_str(": ");
        s.push_str(part);
    }
    s.push_str(": ");
    s.push_str(&d.message);
    s
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            other => other.to_string(),
        })
        .collect()
}
