//! Flux `postBuild` variable substitution, as kustomize-controller runs it on each rendered
//! object (fluxcd/pkg `kustomize/kustomize_varsub.go`, which uses drone/envsubst): `${var}`,
//! `$var`, `${var:=default}`, `${var:-default}`, `${var=default}`, `${var-default}`, and `$$`
//! for a literal `$`. An unset variable becomes the empty string (Flux without the strict
//! feature gate); we report it so a missing ConfigMap key is not silent.

use std::collections::BTreeMap;

/// A variable that was used but not defined (and had no default), with the 1-based line of
/// the text it was found on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub name: String,
    pub line: u32,
}

/// The text with variables replaced, and the variables it used that had no value.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> (String, Vec<Unresolved>) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut unresolved = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    let mut plain_from = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'$' if bytes.get(i + 1) == Some(&b'$') => {
                // `$$` is an escaped `$` (so `$${var}` stays `${var}`).
                out.push_str(&text[plain_from..i]);
                out.push('$');
                i += 2;
                plain_from = i;
            }
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                let Some(close) = text[i + 2..].find('}') else {
                    i += 1;
                    continue;
                };
                let inner = &text[i + 2..i + 2 + close];
                let Some(value) = expand(inner, vars, line, &mut unresolved) else {
                    i += 1;
                    continue;
                };
                out.push_str(&text[plain_from..i]);
                out.push_str(&value);
                i += 3 + close;
                plain_from = i;
            }
            b'$' if bytes.get(i + 1).is_some_and(|b| is_name_start(*b)) => {
                let end = text[i + 1..]
                    .bytes()
                    .position(|b| !is_name_byte(b))
                    .map_or(bytes.len(), |p| i + 1 + p);
                let name = &text[i + 1..end];
                out.push_str(&text[plain_from..i]);
                out.push_str(&lookup(name, vars, line, &mut unresolved));
                i = end;
                plain_from = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[plain_from..]);
    (out, unresolved)
}

/// True when the text holds anything substitution would change.
pub fn has_variables(text: &str) -> bool {
    text.contains('$')
}

/// `name`, `name:=default`, `name:-default`, `name=default`, `name-default`. `None` when it
/// is not a variable expression at all (left as written).
fn expand(
    inner: &str,
    vars: &BTreeMap<String, String>,
    line: u32,
    unresolved: &mut Vec<Unresolved>,
) -> Option<String> {
    let name_len = inner.bytes().take_while(|b| is_name_byte(*b)).count();
    let name = &inner[..name_len];
    if name.is_empty() || !is_name_start(name.as_bytes()[0]) {
        return None;
    }
    let rest = &inner[name_len..];
    let default = ["=", ":=", "-", ":-"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|d| (*op, d)));
    match default {
        None if rest.is_empty() => Some(lookup(name, vars, line, unresolved)),
        None => None,
        // With a colon the default also replaces an empty value; without, only an unset one.
        Some((op, d)) => Some(match vars.get(name) {
            Some(v) if !(v.is_empty() && op.starts_with(':')) => v.clone(),
            _ => d.to_string(),
        }),
    }
}

fn lookup(
    name: &str,
    vars: &BTreeMap<String, String>,
    line: u32,
    unresolved: &mut Vec<Unresolved>,
) -> String {
    match vars.get(name) {
        Some(v) => v.clone(),
        None => {
            unresolved.push(Unresolved {
                name: name.to_string(),
                line,
            });
            String::new()
        }
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A variable name Flux accepts (`^[_[:alpha:]][_[:alpha:][:digit:]]*$`).
pub fn valid_name(name: &str) -> bool {
    name.bytes().next().is_some_and(is_name_start) && name.bytes().all(is_name_byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes_like_flux() {
        let v = vars(&[("version", "1.2.3"), ("empty", "")]);
        let (out, missing) = substitute(
            "image: app:${version}\nx: ${nope:=d1}\ny: ${empty:-d2}\nz: ${empty-d3}\nw: $${version}\nv: $version\n",
            &v,
        );
        assert_eq!(
            out,
            "image: app:1.2.3\nx: d1\ny: d2\nz: \nw: ${version}\nv: 1.2.3\n"
        );
        assert!(missing.is_empty());
    }

    #[test]
    fn reports_unresolved_with_line() {
        let (out, missing) = substitute("a: 1\nb: ${cluster}-x\n", &vars(&[]));
        assert_eq!(out, "a: 1\nb: -x\n");
        assert_eq!(
            missing,
            vec![Unresolved {
                name: "cluster".into(),
                line: 2
            }]
        );
    }

    #[test]
    fn leaves_non_variables_alone() {
        let v = vars(&[("a", "1")]);
        assert_eq!(
            substitute("cost: $5 ${} ${1x} $", &v).0,
            "cost: $5 ${} ${1x} $"
        );
        assert!(valid_name("CLUSTER_NAME") && !valid_name("1x") && !valid_name("a-b"));
    }
}
