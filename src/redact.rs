//! The redaction layer for text the tool prints from files: unified diffs of manifests (bump,
//! rollback) go through [`file_diff`], so no command can print a Secret value by forgetting to
//! mask it.
//!
//! What is a secret value here:
//! - every value under a core Secret's `data` and `stringData` (numbers and booleans
//!   included: `pin: 84736251` is a value too), and its `last-applied-configuration`
//!   annotation, which repeats them;
//! - the values of kustomize `secretGenerator` literals (`KEY=VALUE`);
//! - whole files a `secretGenerator` reads (`files:`, `envs:`), which the caller names.
//!
//! Values are replaced in place, so the diff keeps its lines: an unchanged value reads `***`,
//! a changed one `*** (before)` / `*** (after)`, as `kubectl diff` shows Secrets.

use std::collections::BTreeMap;

use crate::manifest::yaml::{self, Node};

/// The marker for a value that is the same on both sides.
const SAME: &str = "***";

/// A secret value in a text: its byte range and where it sits (document and key path), so the
/// same value before and after can be told apart from a changed one.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    place: String,
}

/// A unified diff of one file with every secret value masked; `whole_secret` for a file that
/// is secret as a whole (a `secretGenerator` input), of which only the line counts show.
pub fn file_diff(path: &str, before: &str, after: &str, whole_secret: bool) -> String {
    let (before, after) = if whole_secret {
        (
            mask_whole(before, after, "before"),
            mask_whole(after, before, "after"),
        )
    } else {
        mask_pair(before, after)
    };
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// The files `secretGenerator`s read (`files:` as `PATH` or `KEY=PATH`, `envs:`, `env:`), as
/// repository paths: secret as a whole.
pub fn generator_inputs(set: &crate::manifest::FileSet) -> std::collections::HashSet<String> {
    use crate::manifest::kustomize::{join, normalize};
    let mut out = std::collections::HashSet::new();
    for entry in &set.files {
        let name = entry.display.rsplit('/').next().unwrap_or(&entry.display);
        if !matches!(
            name,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        ) {
            continue;
        }
        let Ok(bytes) = set.read(entry) else { continue };
        let text = String::from_utf8_lossy(&bytes);
        if !text.contains("secretGenerator") {
            continue;
        }
        let dir = crate::manifest::load::parent(&entry.display);
        let stream = yaml::parse_stream(&text);
        let Some(root) = stream.documents.into_iter().find_map(|d| d.root) else {
            continue;
        };
        for generator in root
            .get("secretGenerator")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            for key in ["files", "envs", "env"] {
                let node = generator.get(key);
                let items: Vec<&Node> = match node.and_then(Node::as_seq) {
                    Some(list) => list.iter().collect(),
                    None => node.into_iter().collect(),
                };
                for item in items {
                    if let Some(v) = item.as_str() {
                        let path = v.rsplit_once('=').map_or(v, |(_, p)| p);
                        out.insert(normalize(&join(dir, path)));
                    }
                }
            }
        }
    }
    out
}

/// The values written in a Secret object (`data`, `stringData`, `immutable`), to keep out of
/// anything printed about it.
pub fn values_of_secret(obj: &Node) -> Vec<String> {
    if obj.get("kind").and_then(Node::as_str) != Some("Secret") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for field in ["data", "stringData", "immutable"] {
        if let Some(node) = obj.get(field) {
            collect_scalars(node, &mut out);
        }
    }
    out
}

fn collect_scalars(node: &Node, out: &mut Vec<String>) {
    if let Some(text) = node.scalar_text() {
        out.push(text.to_string());
    } else if let Some(entries) = node.as_map() {
        for e in entries {
            collect_scalars(&e.value, out);
        }
    } else if let Some(items) = node.as_seq() {
        for i in items {
            collect_scalars(i, out);
        }
    }
}

/// `message` with every one of `values` (of three characters or more; shorter ones would
/// only garble the words around them) replaced by `***`.
pub fn scrub(message: &str, values: &[String]) -> String {
    let mut out = message.to_string();
    let mut longest_first: Vec<&String> =
        values.iter().filter(|v| v.chars().count() >= 3).collect();
    longest_first.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in longest_first {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), SAME);
        }
    }
    out
}

/// The text with its secret values masked, for showing one version on its own.
pub fn text(text: &str) -> String {
    mask_pair(text, text).0
}

/// A whole-secret file as one line per line, `***` where the line is also on the other side.
fn mask_whole(text: &str, other: &str, side: &str) -> String {
    let others: std::collections::HashSet<&str> = other.lines().collect();
    text.lines()
        .map(|l| {
            if others.contains(l) {
                format!("{SAME}\n")
            } else {
                format!("{SAME} ({side})\n")
            }
        })
        .collect()
}

/// Both texts with their secret values masked, changed ones marked as such.
fn mask_pair(before: &str, after: &str) -> (String, String) {
    let (spans_before, spans_after) = (spans(before), spans(after));
    let values = |text: &str, spans: &[Span]| -> BTreeMap<String, String> {
        spans
            .iter()
            .map(|s| (s.place.clone(), text[s.start..s.end].to_string()))
            .collect()
    };
    let (vb, va) = (values(before, &spans_before), values(after, &spans_after));
    let masked = |text: &str,
                  spans: &[Span],
                  mine: &BTreeMap<String, String>,
                  theirs: &BTreeMap<String, String>,
                  side: &str| {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in spans {
            if s.start < at {
                continue;
            }
            out.push_str(&text[at..s.start]);
            let same = theirs.get(&s.place) == mine.get(&s.place);
            out.push_str(&marker(&text[s.start..s.end], same, side));
            at = s.end;
        }
        out.push_str(&text[at..]);
        out
    };
    (
        masked(before, &spans_before, &vb, &va, "before"),
        masked(after, &spans_after, &va, &vb, "after"),
    )
}

/// The mask for one written value, keeping a block scalar's line count so the diff stays
/// aligned and quoting so the line still reads as YAML.
fn marker(raw: &str, same: bool, side: &str) -> String {
    let label = if same {
        SAME.to_string()
    } else {
        format!("{SAME} ({side})")
    };
    let lines = raw.matches('\n').count();
    if lines == 0 {
        return format!("'{label}'");
    }
    // A value over several lines (a block scalar's content, a folded scalar): each line is
    // masked at its indentation; a `|`/`>` header, if the span starts with it, is kept.
    let mut out = String::with_capacity(raw.len());
    for (i, line) in raw.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || (i == 0 && trimmed.starts_with(['|', '>'])) {
            out.push_str(line);
        } else {
            out.push_str(&line[..line.len() - trimmed.len()]);
            out.push_str(&label);
        }
    }
    out
}

/// The secret values of a YAML text. A text that does not parse is masked from the first
/// secret-looking key on, to be safe.
fn spans(text: &str) -> Vec<Span> {
    if !(text.contains("Secret") || text.contains("secretGenerator")) {
        return Vec::new();
    }
    let stream = yaml::parse_stream(text);
    let mut out = Vec::new();
    for doc in &stream.documents {
        let Some(root) = &doc.root else { continue };
        let d = doc.index;
        let items = root.get("items").and_then(Node::as_seq);
        let objects: Vec<&Node> = match items {
            Some(items) if root.get("kind").and_then(Node::as_str) == Some("List") => {
                items.iter().collect()
            }
            _ => vec![root],
        };
        for (i, obj) in objects.into_iter().enumerate() {
            secret_values(text, obj, &format!("{d}/{i}"), &mut out);
        }
        generator_literals(text, root, &format!("{d}"), &mut out);
    }
    if let Some(e) = &stream.error {
        // The rest of the file was not read: mask it all where a Secret could be.
        let from = line_start(text, e.pos.offset.min(text.len()));
        if text[from..].contains("Secret") || text[..from].contains("kind: Secret") {
            out.push(Span {
                start: from,
                end: text.trim_end_matches('\n').len().max(from),
                place: format!("unread@{from}"),
            });
        }
    }
    out.sort_by_key(|s| s.start);
    out
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Values of a core Secret (`data`, `stringData`) and its last-applied annotation.
fn secret_values(text: &str, obj: &Node, at: &str, out: &mut Vec<Span>) {
    let kind = obj.get("kind").and_then(Node::as_str);
    let api = obj.get("apiVersion").and_then(Node::as_str);
    if kind != Some("Secret") || !matches!(api, Some("v1") | None) {
        return;
    }
    for field in ["data", "stringData"] {
        let Some(node) = obj.get(field) else { continue };
        match node.as_map() {
            Some(entries) => {
                for e in entries {
                    push(text, &e.value, format!("{at}/{field}/{}", e.key), out);
                }
            }
            None => push(text, node, format!("{at}/{field}"), out),
        }
    }
    let annotations = obj
        .path(&["metadata", "annotations"])
        .and_then(Node::as_map);
    for e in annotations.unwrap_or_default() {
        if e.key == "kubectl.kubernetes.io/last-applied-configuration" {
            push(text, &e.value, format!("{at}/last-applied"), out);
        }
    }
}

/// `secretGenerator[].literals` values (`KEY=VALUE`: the part after `=`).
fn generator_literals(text: &str, root: &Node, at: &str, out: &mut Vec<Span>) {
    let generators = root.get("secretGenerator").and_then(Node::as_seq);
    for (g, generator) in generators.unwrap_or_default().iter().enumerate() {
        let literals = generator.get("literals").and_then(Node::as_seq);
        for (l, literal) in literals.unwrap_or_default().iter().enumerate() {
            let place = format!("{at}/gen{g}/{l}");
            let (start, end) = (literal.start.offset, literal.end.offset);
            let raw = &text[start..end];
            match raw.find('=') {
                // Plain `KEY=VALUE`: mask after the `=` (closing quote kept out).
                Some(eq) if !literal.aliased => {
                    let quote = raw.ends_with(['"', '\'']) && raw.len() > eq + 1;
                    let value_end = if quote { end - 1 } else { end };
                    if start + eq < value_end {
                        out.push(Span {
                            start: start + eq + 1,
                            end: value_end,
                            place,
                        });
                    }
                }
                _ => push(text, literal, place, out),
            }
        }
    }
}

/// A node's bytes as a span; an alias's bytes are the alias name (its anchor is masked where
/// it is written, if it is a secret value there, and otherwise the alias is masked too).
fn push(text: &str, node: &Node, place: String, out: &mut Vec<Span>) {
    let (start, end) = (node.start.offset, node.end.offset.min(text.len()));
    // An empty value (`key:`) has nothing to hide.
    if start < end {
        out.push(Span { start, end, place });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"password\":\"aHVudGVyMg==\"}}'\ntype: Opaque\ndata:\n  password: aHVudGVyMg==\n  user: YWRtaW4=\nstringData:\n  pin: 84736251\n  config: |\n    token=s3cr3t\n    other=line\n";

    #[test]
    fn secret_values_never_reach_a_diff() {
        let after = SECRET.replace("aHVudGVyMg==\n", "bmV3cGFzcw==\n");
        let diff = file_diff("db.yaml", SECRET, &after, false);
        for value in [
            "aHVudGVyMg==",
            "bmV3cGFzcw==",
            "84736251",
            "s3cr3t",
            "YWRtaW4=",
        ] {
            assert!(!diff.contains(value), "{value} in:\n{diff}");
        }
        assert!(diff.contains("-  password: '*** (before)'"), "{diff}");
        assert!(diff.contains("+  password: '*** (after)'"), "{diff}");
        // Unchanged values do not show as changes.
        assert!(
            diff.lines()
                .filter(|l| l.starts_with(['-', '+']))
                .all(|l| !l.contains("user") && !l.contains("pin")),
            "{diff}"
        );
    }

    #[test]
    fn generator_literals_and_whole_secret_files_are_masked() {
        let k = "secretGenerator:\n- name: app\n  literals:\n  - API_KEY=abc123\n  - \"TOKEN=xyz789\"\n  files:\n  - key.pem\n";
        let masked = text(k);
        assert!(
            !masked.contains("abc123") && !masked.contains("xyz789"),
            "{masked}"
        );
        assert!(
            masked.contains("API_KEY=") && masked.contains("TOKEN="),
            "{masked}"
        );
        let diff = file_diff(
            "key.pem",
            "-----BEGIN KEY-----\nAAAA\n",
            "-----BEGIN KEY-----\nBBBB\n",
            true,
        );
        assert!(
            !diff.contains("AAAA") && !diff.contains("BBBB") && !diff.contains("BEGIN"),
            "{diff}"
        );
    }

    #[test]
    fn other_text_is_left_as_it_is() {
        let d = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n";
        assert_eq!(text(d), d);
        let not_core = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nspec: {encryptedData: {a: AgB}}\n";
        assert_eq!(text(not_core), not_core);
    }
}
