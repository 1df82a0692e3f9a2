//! Writing JSON values as YAML for display (diffs, `-o yaml`), in the layout kubectl prints:
//! keys sorted, lists not indented under their key, multi-line strings as literal blocks, and
//! strings quoted whenever YAML would read them as something else.

use std::fmt::Write;

use serde_json::Value;

/// The value as a YAML document (no `---`), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            write_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn sorted(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Writes `key: value` lines at `level`; the first line's indentation is written by the
/// caller when the map starts a list item.
fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (i, (key, value)) in sorted(map).into_iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str(&scalar_text(key));
        out.push(':');
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                indent(out, level + 2);
                write_map(out, m, level + 2);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                indent(out, level);
                write_seq(out, items, level);
            }
            scalar => {
                out.push(' ');
                write_scalar(out, scalar, level + 2);
                out.push('\n');
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, level + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, level + 2),
            scalar => {
                write_scalar(out, scalar, level + 2);
                out.push('\n');
            }
        }
    }
}

/// Writes a scalar (or an empty collection) without its final newline; `level` is the
/// indentation of a literal block's lines.
fn write_scalar(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) if literal_block_fits(s) => {
            out.push('|');
            if !s.ends_with('\n') {
                out.push('-');
            } else if s.ends_with("\n\n") {
                out.push('+');
            }
            let body = s.strip_suffix('\n').unwrap_or(s);
            for line in body.split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    indent(out, level);
                    out.push_str(line);
                }
            }
        }
        Value::String(s) => out.push_str(&scalar_text(s)),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// A multi-line string that a literal block keeps exactly: no carriage returns or other
/// control characters, no trailing spaces (invisible in a diff), and a first line that does
/// not start with a space (which would need an indentation indicator).
fn literal_block_fits(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with(' ')
        && !s.contains(|c: char| c.is_control() && c != '\n' && c != '\t')
        && s.split('\n')
            .all(|l| !l.ends_with(' ') && !l.ends_with('\t'))
}

/// A string as a plain scalar when YAML reads it back as the same string, otherwise as a
/// double-quoted (JSON-escaped) scalar.
fn scalar_text(s: &str) -> String {
    if needs_quotes(s) {
        serde_json::to_string(s).expect("a string always serialises to JSON")
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    let second = s.chars().nth(1);
    let reserved_start = match first {
        '-' | '?' | ':' => second.is_none_or(|c| c == ' '),
        '[' | ']' | '{' | '}' | ',' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' | ' ' | '\t' => true,
        _ => false,
    };
    // Anything that starts like a number and has only characters that YAML 1.1 numbers and
    // timestamps use is quoted: it reads far more of those as non-strings (`0755`, `1_000`,
    // `1:30`, `.5`, `2026-01-02`) than a short check could tell apart. `500m` stays plain.
    let numeric_start = (first.is_ascii_digit()
        || (matches!(first, '+' | '-' | '.')
            && second.is_some_and(|c| c.is_ascii_digit() || c == '.')))
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() || "_.+-:xXoObBtTzZ ".contains(c));
    let special_word = matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "true"
            | "false"
            | "null"
            | "~"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | "<<"
            | "="
    );
    reserved_start
        || numeric_start
        || special_word
        || s.ends_with(' ')
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.contains(|c: char| c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_kubectl_layout() {
        let v = json!({
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1.25", "args": ["--port=80", "-v"],
                 "ports": [{"containerPort": 80}], "env": []}
            ]}}}
        });
        assert_eq!(
            to_yaml(&v),
            "kind: Deployment\nmetadata:\n  labels:\n    app: web\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - args:\n        - --port=80\n        - -v\n        env: []\n        image: nginx:1.25\n        name: web\n        ports:\n        - containerPort: 80\n"
        );
    }

    #[test]
    fn quotes_what_would_read_back_differently() {
        for s in [
            "",
            "yes",
            "No",
            "on",
            "null",
            "~",
            "123",
            "1.10",
            "0755",
            "-1",
            ".5",
            "a: b",
            "x #y",
            "- a",
            "*ref",
            "trailing ",
            "key:",
        ] {
            assert!(needs_quotes(s), "{s:?} must be quoted");
        }
        for s in [
            "nginx",
            "nginx:1.25",
            "--port=80",
            "-v",
            "a-b",
            "http://x/y",
            "app.kubernetes.io/name",
            "500m",
        ] {
            assert!(!needs_quotes(s), "{s:?} should stay plain");
        }
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        let v = json!({"data": {"conf": "a: 1\nb: 2\n", "script": "echo hi\necho bye"}});
        assert_eq!(
            to_yaml(&v),
            "data:\n  conf: |\n    a: 1\n    b: 2\n  script: |-\n    echo hi\n    echo bye\n"
        );
        let crlf = json!({"x": "a\r\nb"});
        assert_eq!(to_yaml(&crlf), "x: \"a\\r\\nb\"\n");
    }

    #[test]
    fn nested_lists_and_empty_values() {
        let v = json!({"a": [[1, 2], []], "b": {}, "c": null});
        assert_eq!(to_yaml(&v), "a:\n- - 1\n  - 2\n- []\nb: {}\nc: null\n");
    }
}
