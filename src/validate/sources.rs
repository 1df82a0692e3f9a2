//! CRDs from outside the manifests: `--crds` directories (CRD files, `kubectl get crd -o yaml`
//! lists, controllers' release manifests mixing CRDs with other kinds) and the cluster. Both
//! are cached as compact JSON keyed by their source, so the pre-push hook does not re-read
//! megabytes of YAML (or re-download every CRD) on each push.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{Value as Json, json};

use super::crd::{External, Origin, is_crd};
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::FileSet;
use crate::manifest::load::read_objects;

/// A CRD as JSON and where it was read.
type Found = (Json, Origin);

const DIRS_SOURCE: &str = "in --crds";
const CLUSTER_SOURCE: &str = "in the cluster";

/// Where the cache lives: `.git/kubectl-gitops/` of the repository around `root` (shared by
/// its worktrees), else `$XDG_CACHE_HOME/kubectl-gitops` (or `~/.cache/kubectl-gitops`).
pub fn cache_dir(root: &Path) -> Option<PathBuf> {
    if let Ok(repo) = git2::Repository::discover(root) {
        return Some(repo.commondir().join("kubectl-gitops"));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("kubectl-gitops"))
}

/// The CRDs found under `dirs` (files or directories). Files that cannot be read or parsed
/// are warnings in [`External::notes`]: the CRDs of the other files still count.
pub fn from_dirs(dirs: &[PathBuf], cache: Option<&Path>) -> External {
    if dirs.is_empty() {
        return External::default();
    }
    let set = FileSet::from_paths(dirs);
    let mut key = std::hash::DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut key);
    for entry in &set.files {
        entry.display.hash(&mut key);
        if let crate::manifest::tree::Location::Disk(path) = &entry.location
            && let Ok(meta) = std::fs::metadata(path)
        {
            meta.len().hash(&mut key);
            meta.modified().ok().hash(&mut key);
        }
    }
    let key = format!("crds-dirs-{:016x}.json", key.finish());
    let mut notes: Vec<Diagnostic> = set
        .problems
        .iter()
        .cloned()
        .map(|mut d| {
            d.severity = Severity::Warning;
            d.message = format!("--crds: {}", d.message);
            d
        })
        .collect();
    if let Some(crds) = cache.and_then(|c| read_cache(&c.join(&key), DIRS_SOURCE)) {
        return External { crds, notes };
    }
    let per_file: Vec<(Vec<Found>, Option<Diagnostic>)> = set
        .files
        .par_iter()
        .map(|entry| {
            let (objects, problem) = read_objects(&set, entry);
            let crds = objects
                .into_iter()
                .filter(|(_, node)| {
                    node.get("kind").and_then(|k| k.as_str()) == Some("CustomResourceDefinition")
                })
                .map(|(_, node)| {
                    let line = node.start.line;
                    (
                        compact(node.to_json()),
                        Origin {
                            file: entry.display.clone(),
                            line: Some(line),
                            source: DIRS_SOURCE,
                        },
                    )
                })
                .filter(|(crd, _)| is_crd(crd))
                .collect();
            (crds, problem)
        })
        .collect();
    let mut crds = Vec::new();
    for (found, problem) in per_file {
        crds.extend(found);
        notes.extend(problem.map(|mut d| {
            d.severity = Severity::Warning;
            d.message = format!("--crds: {}; its CRDs were not read", d.message);
            d
        }));
    }
    if let Some(c) = cache {
        write_cache(c, "crds-dirs-", &key, &crds);
    }
    External { crds, notes }
}

/// What the CRDs of a cluster are cached under: its context, server, and every CRD's name and
/// resourceVersion (the list's own resourceVersion is the store's revision, which moves with
/// any write anywhere in the cluster, so it would rarely hit).
pub fn cluster_key(context: &str, server: &str, versions: &[(String, String)]) -> String {
    let mut key = std::hash::DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut key);
    (context, server, versions).hash(&mut key);
    format!("crds-cluster-{:016x}.json", key.finish())
}

/// The cluster's CRDs from the cache, when `key` is there.
pub fn cluster_cached(cache: Option<&Path>, key: &str) -> Option<Vec<Found>> {
    read_cache(&cache?.join(key), CLUSTER_SOURCE)
}

/// The CRDs of a `CustomResourceDefinitionList` read from the cluster, cached under `key`.
pub fn cluster_crds(list: &Json, context: &str, cache: Option<&Path>, key: &str) -> Vec<Found> {
    let file: Arc<str> = format!("cluster {context}").into();
    let crds: Vec<Found> = list
        .get("items")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|item| {
            let mut item = item.clone();
            // Items of a list carry no apiVersion/kind of their own.
            item["apiVersion"] = json!("apiextensions.k8s.io/v1");
            item["kind"] = json!("CustomResourceDefinition");
            (
                compact(item),
                Origin {
                    file: file.clone(),
                    line: None,
                    source: CLUSTER_SOURCE,
                },
            )
        })
        .collect();
    if let Some(c) = cache {
        write_cache(c, "crds-cluster-", key, &crds);
    }
    crds
}

/// Only what validation reads of a CRD, without descriptions (most of a CRD's bytes).
fn compact(crd: Json) -> Json {
    let spec = crd.get("spec").cloned().unwrap_or(Json::Null);
    let versions: Vec<Json> = spec
        .get("versions")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|v| {
            let mut schema = v
                .get("schema")
                .and_then(|s| s.get("openAPIV3Schema"))
                .cloned();
            if let Some(s) = &mut schema {
                strip_descriptions(s);
            }
            json!({"name": v.get("name"), "schema": {"openAPIV3Schema": schema}})
        })
        .collect();
    json!({
        "apiVersion": crd.get("apiVersion"),
        "kind": crd.get("kind"),
        "metadata": {"name": crd.get("metadata").and_then(|m| m.get("name"))},
        "spec": {
            "group": spec.get("group"),
            "names": {"kind": spec.get("names").and_then(|n| n.get("kind"))},
            "scope": spec.get("scope"),
            "versions": versions,
        }
    })
}

/// Removes `description` strings of schema nodes (a property named `description` is a schema
/// object, not a string, and stays).
fn strip_descriptions(schema: &mut Json) {
    match schema {
        Json::Object(map) => {
            if map.get("description").is_some_and(Json::is_string) {
                map.remove("description");
            }
            map.values_mut().for_each(strip_descriptions);
        }
        Json::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

fn read_cache(path: &Path, source: &'static str) -> Option<Vec<Found>> {
    let bytes = std::fs::read(path).ok()?;
    let entries: Vec<Json> = serde_json::from_slice(&bytes).ok()?;
    entries
        .into_iter()
        .map(|mut e| {
            let file: Arc<str> = e.get("file")?.as_str()?.into();
            let line = e.get("line").and_then(Json::as_u64).map(|l| l as u32);
            Some((e.get_mut("crd")?.take(), Origin { file, line, source }))
        })
        .collect()
}

/// Writes the cache file (best effort: a read-only `.git` only costs speed) and removes older
/// ones of the same source kind, so the cache holds one entry per kind.
fn write_cache(dir: &Path, prefix: &str, key: &str, crds: &[(Json, Origin)]) {
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(prefix) && name != key {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let body: Vec<Json> = crds
        .iter()
        .map(|(crd, o)| json!({"crd": crd, "file": &*o.file, "line": o.line}))
        .collect();
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    if serde_json::to_writer(&mut tmp, &body).is_ok() {
        let _ = tmp.persist(dir.join(key));
    }
}
