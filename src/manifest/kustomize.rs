//! What kustomizations build on: the local directories and files they list as `resources`,
//! `bases`, `components` and `crds`.

use std::collections::HashSet;

use super::load::render_roots;
use super::tree::FileSet;
use super::yaml::{self, Node};

/// For each kustomize directory (display path), the local paths its kustomization refers to,
/// resolved against it. Remote references (`https://...`, `github.com/...?ref=`) are left out.
pub fn references(set: &FileSet) -> Vec<(String, Vec<String>)> {
    let roots = render_roots(&set.files);
    let mut refs = Vec::new();
    for (dir, root) in &roots {
        let Some(entry) = set.files.iter().find(|f| f.display == root.input) else {
            continue;
        };
        let mut targets = Vec::new();
        if let Ok(bytes) = set.read(entry) {
            let stream = yaml::parse_stream(&String::from_utf8_lossy(&bytes));
            if let Some(node) = stream.documents.into_iter().find_map(|d| d.root) {
                for key in ["resources", "bases", "components", "crds"] {
                    for item in node.get(key).and_then(Node::as_seq).unwrap_or_default() {
                        if let Some(path) = item.as_str().filter(|p| is_local(p)) {
                            targets.push(normalize(&join(dir, path)));
                        }
                    }
                }
            }
        }
        refs.push((dir.clone(), targets));
    }
    refs
}

/// Paths (directories or files) that some kustomization builds on. Their objects are deployed
/// through that kustomization, not on their own: a base is not an app.
pub fn included(set: &FileSet) -> HashSet<String> {
    references(set)
        .into_iter()
        .flat_map(|(_, targets)| targets)
        .collect()
}

fn is_local(path: &str) -> bool {
    !(path.contains("://") || path.contains("?ref=") || path.starts_with("github.com/"))
}

pub fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() || dir == "." {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Resolves `.` and `..` in a `/`-separated path; leading `..` that cannot be resolved stay.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize("overlays/prod/../../base"), "base");
        assert_eq!(normalize("a/./b/"), "a/b");
        assert_eq!(normalize("../shared/x/../y"), "../shared/y");
        assert_eq!(normalize("/tmp/a/../b"), "/tmp/b");
    }
}
