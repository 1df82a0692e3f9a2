//! Writing a validation report as text, JSON, JUnit XML, GitHub Actions workflow commands or
//! SARIF 2.1.0.

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
    let summary = SummaryLine::of(report);
    let style = if summary.failed {
        err
    } else {
        Style::new().bold().fg_color(Some(AnsiColor::Green.into()))
    };
    writeln!(out, "{style}{}{style:#}{}", summary.head, summary.tail)
}

/// The last line of the text (and GitHub) output: a headline, styled by the text writer, and a
/// plain note after it.
struct SummaryLine {
    failed: bool,
    head: String,
    tail: String,
}

impl SummaryLine {
    fn of(report: &Report) -> SummaryLine {
        let (errors, warnings) = (report.errors(), report.warnings());
        let files = plural(report.files.len(), "file");
        let objects = plural(report.objects, "object");
        if errors > 0 {
            SummaryLine {
                failed: true,
                head: format!(
                    "{} and {} in {files}",
                    plural(errors, "error"),
                    plural(warnings, "warning")
                ),
                tail: format!(" ({objects} checked)"),
            }
        } else {
            SummaryLine {
                failed: false,
                head: format!("{objects} in {files} valid"),
                tail: if warnings > 0 {
                    format!(" ({})", plural(warnings, "warning"))
                } else {
                    String::new()
                },
            }
        }
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

/// GitHub Actions workflow commands, one per diagnostic, so each shows as an annotation on the
/// file and line: `::error file=F,line=L,col=C,title=RULE::Kind/name: field: message`. A plain
/// summary line (not a command) ends the output.
pub fn write_github(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for d in &report.diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(out, "::{command} file={}", github_property(&d.file))?;
        if let Some(line) = d.line {
            write!(out, ",line={line}")?;
            if let Some(col) = d.column {
                write!(out, ",col={col}")?;
            }
        }
        writeln!(
            out,
            ",title={}::{}",
            github_property(d.rule),
            github_data(&described(d))
        )?;
    }
    let summary = SummaryLine::of(report);
    writeln!(out, "{}{}", summary.head, summary.tail)
}

/// `Kind/name: field: message`, each part only when present.
fn described(d: &Diagnostic) -> String {
    let mut s = String::new();
    for part in [d.object.as_deref(), d.field.as_deref()]
        .into_iter()
        .flatten()
    {
        s.push_str(part);
        s.push_str(": ");
    }
    s.push_str(&d.message);
    s
}

/// A workflow command's message, escaped as `@actions/core` does (`escapeData`).
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value, escaped as `@actions/core` does (`escapeProperty`).
fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/kubectl-gitops/kubectl-gitops";

#[derive(Serialize)]
struct SarifLog<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [SarifRun<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRun<'a> {
    tool: SarifTool<'a>,
    /// Columns count characters, not UTF-16 code units (SARIF's default).
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct SarifTool<'a> {
    driver: SarifDriver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifDriver<'a> {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<SarifRule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRule<'a> {
    id: &'a str,
    short_description: SarifText,
    help_uri: &'static str,
}

#[derive(Serialize)]
struct SarifText {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: SarifText,
    locations: [SarifLocation; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    physical_location: SarifPhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifPhysicalLocation {
    artifact_location: SarifArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<SarifRegion>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifArtifactLocation {
    uri: String,
    /// `%SRCROOT%` for relative paths, as GitHub code scanning expects; none for `file:` URIs.
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRegion {
    start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
}

/// SARIF 2.1.0 (one run, one rule per rule id used), for GitHub code scanning and other tools.
pub fn write_sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut rules: Vec<SarifRule> = Vec::new();
    let mut results = Vec::with_capacity(report.diagnostics.len());
    for d in &report.diagnostics {
        let rule_index = match rules.iter().position(|r| r.id == d.rule) {
            Some(i) => i,
            None => {
                rules.push(SarifRule {
                    id: d.rule,
                    short_description: SarifText {
                        text: rule_description(d.rule).to_string(),
                    },
                    help_uri: INFORMATION_URI,
                });
                rules.len() - 1
            }
        };
        let (uri, uri_base_id) = sarif_uri(&d.file);
        // SARIF lines and columns are 1-based; a region without a line is not allowed.
        let region = d.line.filter(|l| *l >= 1).map(|start_line| SarifRegion {
            start_line,
            start_column: d.column.filter(|c| *c >= 1),
        });
        results.push(SarifResult {
            rule_id: d.rule,
            rule_index,
            level: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            message: SarifText { text: described(d) },
            locations: [SarifLocation {
                physical_location: SarifPhysicalLocation {
                    artifact_location: SarifArtifactLocation { uri, uri_base_id },
                    region,
                },
            }],
        });
    }
    let log = SarifLog {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: [SarifRun {
            tool: SarifTool {
                driver: SarifDriver {
                    name: "kubectl-gitops",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFORMATION_URI,
                    rules,
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// What each check looks for, for SARIF's rule metadata.
fn rule_description(rule: &str) -> &'static str {
    match rule {
        "io" => "The file could not be read",
        "yaml" => "The file is not valid YAML",
        "render" => "The kustomize or Helm directory could not be rendered",
        "schema" => "The object does not match its Kubernetes or CRD schema",
        "crd-missing" => "No CRD for the custom resource was found in the manifests",
        "duplicate" => "Two objects have the same kind, namespace and name",
        "metadata" => "Invalid name, namespace, labels or annotations",
        "selector" => "The selector does not match the pod template's labels",
        "secret" => "A Secret's data is not valid",
        "validation" => {
            "The API server's own validation rejects a value (enums, ranges, required values, names, cross-field rules)"
        }
        "policy.image-tag" => "A container image has no tag or uses :latest",
        "policy.resource-limits" => "A container has no CPU or memory limits",
        _ => "kubectl gitops validate check",
    }
}

/// The file as a URI reference: relative paths stay relative (to `%SRCROOT%`, the repository
/// root), absolute ones become `file://` URIs; both are percent-encoded.
fn sarif_uri(file: &str) -> (String, Option<&'static str>) {
    if file.starts_with('/') {
        (format!("file://{}", percent_encode_path(file)), None)
    } else {
        let mut rel = file;
        while let Some(rest) = rel.strip_prefix("./") {
            rel = rest.trim_start_matches('/');
        }
        (percent_encode_path(rel), Some("%SRCROOT%"))
    }
}

/// Percent-encodes everything but unreserved characters, `/` and the sub-delimiters that are
/// safe in a path (RFC 3986). `:` is encoded so that a first segment never reads as a scheme.
fn percent_encode_path(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@' => s.push(b as char),
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::Value;

    use super::*;

    fn diag(severity: Severity, file: &str, line: Option<u32>, message: &str) -> Diagnostic {
        Diagnostic::file(severity, Arc::from(file), line, "schema", message)
    }

    fn report(diagnostics: Vec<Diagnostic>) -> Report {
        let mut files: Vec<Arc<str>> = diagnostics.iter().map(|d| d.file.clone()).collect();
        files.dedup();
        Report {
            files,
            objects: 3,
            diagnostics,
        }
    }

    fn github(report: &Report) -> String {
        let mut out = Vec::new();
        write_github(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn sarif(report: &Report) -> Value {
        let mut out = Vec::new();
        write_sarif(report, &mut out).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn github_escapes_messages_and_properties_like_actions_core() {
        let mut d = diag(
            Severity::Error,
            "dir,with:odd%name/a.yaml",
            Some(4),
            "100% wrong, see: this\r\nand that",
        );
        d.column = Some(7);
        d.object = Some("ConfigMap/a,b".into());
        d.field = Some("data.key".into());
        let text = github(&report(vec![d]));
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "::error file=dir%2Cwith%3Aodd%25name/a.yaml,line=4,col=7,title=schema::\
             ConfigMap/a,b: data.key: 100%25 wrong, see: this%0D%0Aand that"
        );
        assert_eq!(
            lines.next().unwrap(),
            "1 error and 0 warnings in 1 file (3 objects checked)"
        );
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn github_omits_absent_line_and_column_and_marks_warnings() {
        let mut no_line = diag(Severity::Warning, "a.yaml", None, "no CRD");
        no_line.column = Some(3);
        no_line.rule = "crd-missing";
        let no_col = diag(Severity::Warning, "b.yaml", Some(2), "latest");
        let text = github(&report(vec![no_line, no_col]));
        assert_eq!(
            text,
            "::warning file=a.yaml,title=crd-missing::no CRD\n\
             ::warning file=b.yaml,line=2,title=schema::latest\n\
             3 objects in 2 files valid (2 warnings)\n"
        );
    }

    #[test]
    fn github_output_of_a_clean_report_is_the_summary_alone() {
        let text = github(&Report {
            files: vec![Arc::from("a.yaml")],
            objects: 1,
            diagnostics: Vec::new(),
        });
        assert_eq!(text, "1 object in 1 file valid\n");
    }

    #[test]
    fn sarif_has_one_rule_per_id_and_indexes_into_it() {
        let mut a = diag(Severity::Error, "apps/my app.yaml", Some(5), "bad");
        a.column = Some(3);
        a.object = Some("Deployment/web".into());
        a.field = Some("spec.replicas".into());
        let mut b = diag(Severity::Warning, "./apps/b.yaml", None, "no CRD");
        b.rule = "crd-missing";
        let c = diag(Severity::Error, "/abs/c.yaml", Some(1), "again");
        let json = sarif(&report(vec![a, b, c]));
        assert_eq!(json["version"], "2.1.0");
        assert_eq!(
            json["$schema"],
            "https://json.schemastore.org/sarif-2.1.0.json"
        );
        let run = &json["runs"][0];
        assert_eq!(json["runs"].as_array().unwrap().len(), 1);
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "kubectl-gitops");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let rules: Vec<&str> = driver["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(rules, ["schema", "crd-missing"]);
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);

        let r = &results[0];
        assert_eq!(r["ruleId"], "schema");
        assert_eq!(r["ruleIndex"], 0);
        assert_eq!(r["level"], "error");
        assert_eq!(r["message"]["text"], "Deployment/web: spec.replicas: bad");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "apps/my%20app.yaml");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(loc["region"]["startLine"], 5);
        assert_eq!(loc["region"]["startColumn"], 3);

        let r = &results[1];
        assert_eq!(
            (&r["ruleId"], &r["ruleIndex"]),
            (&"crd-missing".into(), &1.into())
        );
        assert_eq!(r["level"], "warning");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "apps/b.yaml");
        assert!(loc.get("region").is_none(), "no line, no region: {loc}");

        let r = &results[2];
        assert_eq!(r["ruleIndex"], 0);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "file:///abs/c.yaml");
        assert!(loc["artifactLocation"].get("uriBaseId").is_none());
        assert_eq!(loc["region"]["startLine"], 1);
        assert!(loc["region"].get("startColumn").is_none());
    }

    #[test]
    fn sarif_of_a_clean_report_has_an_empty_run() {
        let json = sarif(&report(Vec::new()));
        assert_eq!(json["runs"][0]["results"], Value::Array(Vec::new()));
        assert_eq!(
            json["runs"][0]["tool"]["driver"]["rules"],
            Value::Array(Vec::new())
        );
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(
            percent_encode_path("a b/c#d?e%f:g"),
            "a%20b/c%23d%3Fe%25f%3Ag"
        );
        assert_eq!(percent_encode_path("café.yaml"), "caf%C3%A9.yaml");
        assert_eq!(sarif_uri("././x.yaml").0, "x.yaml");
    }
}
