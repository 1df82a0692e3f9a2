//! Loading manifests: classify files into apply units, parse them in parallel, render
//! kustomize and Helm directories, and turn documents into objects.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use super::object::{Object, Origin};
use super::render::{self, Renderer};
use super::tree::{FileEntry, FileSet};
use super::yaml::{self, Document, Node, Value};
use crate::diagnostic::{Diagnostic, Severity};

/// What `kubectl apply` (or a controller) applies as one piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    /// The plain manifests of one directory.
    Directory,
    /// One `kubectl kustomize` render.
    Kustomize,
    /// One `helm template` render.
    Helm,
}

#[derive(Clone, Debug)]
pub struct Unit {
    /// The directory (display path; empty for the current directory).
    pub dir: Arc<str>,
    pub kind: UnitKind,
    /// The app it is (see `apps`): the directory for plain units.
    pub app: Arc<str>,
}

/// Everything read from a set of inputs.
#[derive(Debug, Default)]
pub struct Manifests {
    pub units: Vec<Unit>,
    pub objects: Vec<Object>,
    /// Problems found while reading: unreadable files, YAML errors, render failures.
    pub diagnostics: Vec<Diagnostic>,
    /// Files read (manifests and renderer inputs), as displayed.
    pub paths: Vec<Arc<str>>,
    /// Reading stopped at a file [`LoadOptions::stop_at`] matched: what was read is partial.
    pub stopped: bool,
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Render kustomize and Helm directories (otherwise their files are skipped).
    pub render: bool,
    /// Load only these plain files and render only these directories (display paths), as the
    /// pre-push hook does for what a push changed. `None` loads everything.
    pub only: Option<Selection>,
    /// Stop reading (and render nothing) as soon as the bytes of a file match: a caller that
    /// would handle such a tree differently learns it from the same read instead of a second
    /// pass over every file.
    pub stop_at: Option<fn(&[u8]) -> bool>,
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub files: HashSet<String>,
    /// Kustomize/Helm directories to render.
    pub roots: HashSet<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            render: true,
            only: None,
            stop_at: None,
        }
    }
}

/// Files that are YAML but never Kubernetes objects, whatever they contain.
const NOT_MANIFESTS: &[&str] = &[
    ".gitops.yaml",
    ".gitops.yml",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
    "Chart.yaml",
    "Chart.lock",
];

/// The one rule for which YAML files can hold Kubernetes objects at all: kustomizations,
/// chart metadata, Helm values and tools' own config files never do, whatever they contain.
/// (Chart templates are excluded by their directory: see [`render_roots`].)
pub fn is_manifest_name(path: &str) -> bool {
    let name = file_name(path);
    !(NOT_MANIFESTS.contains(&name)
        || name.starts_with("kustomization.")
        || name == "values.yaml"
        || name.starts_with(".argocd-source"))
}

/// The objects of one file (documents that are not objects yield nothing), with their
/// document index, or the one diagnostic that says why the file could not be read.
pub fn read_objects(set: &FileSet, entry: &FileEntry) -> (Vec<(usize, Node)>, Option<Diagnostic>) {
    parse_objects(entry, set.read(entry))
}

/// The objects of a file's bytes (already read), as [`read_objects`] gives them.
pub fn parse_objects(
    entry: &FileEntry,
    bytes: Result<Vec<u8>, String>,
) -> (Vec<(usize, Node)>, Option<Diagnostic>) {
    let parsed = parse_file(entry, bytes);
    let objects = parsed
        .documents
        .into_iter()
        .filter_map(|d| d.root.map(|r| (d.index, r)))
        .flat_map(|(i, root)| objects_of(root).into_iter().map(move |n| (i, n)))
        .collect();
    (objects, parsed.error)
}

/// The objects of a YAML stream (a renderer's output), with their document index.
pub fn objects_in_text(text: &str) -> (Vec<(usize, Node)>, Option<yaml::YamlError>) {
    let stream = yaml::parse_stream(text);
    let objects = stream
        .documents
        .into_iter()
        .filter_map(|d| d.root.map(|r| (d.index, r)))
        .flat_map(|(i, root)| objects_of(root).into_iter().map(move |n| (i, n)))
        .collect();
    (objects, stream.error)
}

/// Loads every manifest of a file set.
pub fn load(set: &FileSet, options: &LoadOptions) -> Manifests {
    load_filtered(set, options, &Some)
}

/// Loads a file set, handing each object to `keep` as soon as it is read (in parallel);
/// only the objects it returns are kept. Validation uses this to check most objects while
/// files are parsed, so memory stays bounded by what cross-file checks need.
pub fn load_filtered<F>(set: &FileSet, options: &LoadOptions, keep: &F) -> Manifests
where
    F: Fn(Object) -> Option<Object> + Sync,
{
    let plan = plan(&set.files, options);
    let roles: Vec<Role> = set
        .files
        .iter()
        .map(|f| plan.roles.get(&*f.display).copied().unwrap_or(Role::Skip))
        .collect();
    let wanted: Vec<bool> = roles.iter().map(|r| *r != Role::Skip).collect();

    let mut out = Manifests {
        diagnostics: set.problems.clone(),
        paths: set
            .files
            .iter()
            .zip(&wanted)
            .filter(|(_, w)| **w)
            .map(|(f, _)| f.display.clone())
            .collect(),
        ..Manifests::default()
    };
    // Units are fixed before parsing so objects can be made (and checked) in parallel.
    let mut unit_of_dir: BTreeMap<&str, usize> = BTreeMap::new();
    let units: Vec<usize> = set
        .files
        .iter()
        .zip(&roles)
        .map(|(f, role)| {
            if *role != Role::Manifest {
                return usize::MAX;
            }
            *unit_of_dir.entry(parent(&f.display)).or_insert_with(|| {
                out.units.push(Unit {
                    dir: parent(&f.display).into(),
                    kind: UnitKind::Directory,
                    app: parent(&f.display).into(),
                });
                out.units.len() - 1
            })
        })
        .collect();

    let preloaded = set.preload(&wanted);
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let results: Vec<FileResult> = set
        .files
        .par_iter()
        .zip(preloaded.into_par_iter())
        .zip(roles.par_iter().zip(units.par_iter()))
        .map(|((entry, bytes), (role, unit))| {
            if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                return FileResult::default();
            }
            // Skipped files (chart templates) are looked at by `stop_at` too: it asks about
            // every YAML file given, not only those read as manifests.
            let looked_at = *role != Role::Skip
                || (options.stop_at.is_some() && is_manifest_name(&entry.display));
            if !looked_at {
                return FileResult::default();
            }
            let bytes = bytes.unwrap_or_else(|| set.read(entry));
            if let (Some(stop_at), Ok(bytes)) = (options.stop_at, &bytes)
                && stop_at(bytes)
            {
                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
                return FileResult::default();
            }
            if *role == Role::Skip {
                return FileResult::default();
            }
            let parsed = parse_file(entry, bytes);
            let mut result = FileResult {
                error: parsed.error,
                ..FileResult::default()
            };
            for doc in parsed.documents {
                let Some(root) = doc.root else { continue };
                for node in objects_of(root) {
                    if *role == Role::RendererInput {
                        result
                            .sources
                            .extend(source_key(&node).map(|k| (k, node.start.line)));
                        continue;
                    }
                    let object = Object {
                        file: entry.display.clone(),
                        doc_index: doc.index,
                        node,
                        unit: *unit,
                        origin: Origin::File,
                    };
                    result.objects.extend(keep(object));
                }
            }
            result
        })
        .collect();

    if stopped.into_inner() {
        out.stopped = true;
        return out;
    }
    let mut sources = SourceIndex::new();
    for (entry, result) in set.files.iter().zip(results) {
        out.diagnostics.extend(result.error);
        out.objects.extend(result.objects);
        for (key, line) in result.sources {
            sources
                .entry(key)
                .or_default()
                .push((entry.display.clone(), line));
        }
    }

    let rendered: Vec<(usize, Result<String, String>)> = plan
        .roots
        .par_iter()
        .enumerate()
        .map(|(i, root)| {
            let result = set
                .dir_on_disk(&root.dir)
                .and_then(|disk| render::render(root.renderer, &disk));
            (i, result)
        })
        .collect();
    for (i, result) in rendered {
        let root = &plan.roots[i];
        let unit = out.units.len();
        out.units.push(Unit {
            dir: root.dir.clone(),
            app: root.dir.clone(),
            kind: match root.renderer {
                Renderer::Kustomize => UnitKind::Kustomize,
                Renderer::Helm => UnitKind::Helm,
            },
        });
        let output = match result {
            Ok(output) => output,
            Err(message) => {
                let severity = if message.starts_with(render::NOT_INSTALLED)
                    && root.renderer == Renderer::Helm
                {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                out.diagnostics.push(Diagnostic::file(
                    severity,
                    root.input.clone(),
                    None,
                    "render",
                    message,
                ));
                continue;
            }
        };
        let stream = yaml::parse_stream(&output);
        if let Some(e) = stream.error {
            out.diagnostics.push(Diagnostic::file(
                Severity::Error,
                root.input.clone(),
                None,
                "render",
                format!("renderer output is not valid YAML: {e}"),
            ));
        }
        for doc in stream.documents {
            let Some(node) = doc.root else { continue };
            for node in objects_of(node) {
                let source = find_source(&sources, &root.dir, &node);
                out.objects.extend(keep(Object {
                    file: root.input.clone(),
                    doc_index: doc.index,
                    node,
                    unit,
                    origin: Origin::Rendered { source },
                }));
            }
        }
    }
    out
}

/// Documents of renderer inputs by (kind, name), pointing at (file, line).
type SourceIndex = HashMap<(String, String), Vec<(Arc<str>, u32)>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Loaded as plain manifests of its directory.
    Manifest,
    /// Part of a kustomize/Helm directory: read only to point messages at source lines.
    RendererInput,
    Skip,
}

/// A directory rendered as a whole.
#[derive(Clone, Debug)]
pub struct RenderRoot {
    pub dir: Arc<str>,
    /// The file that makes it a root (`dir/kustomization.yaml`), used in messages.
    pub input: Arc<str>,
    pub renderer: Renderer,
}

struct Plan {
    roles: HashMap<String, Role>,
    roots: Vec<RenderRoot>,
}

/// Decides what each file is: a plain manifest, an input of a kustomize/Helm directory
/// (rendered as a whole), or not a manifest at all.
fn plan(files: &[FileEntry], options: &LoadOptions) -> Plan {
    let all_roots = render_roots(files);
    let rendered: BTreeMap<&String, &RenderRoot> = all_roots
        .iter()
        .filter(|(dir, _)| {
            options.render && options.only.as_ref().is_none_or(|o| o.roots.contains(*dir))
        })
        .collect();
    let mut roles = HashMap::new();
    for f in files {
        let role = if !is_manifest_name(&f.display) {
            Role::Skip
        } else if f.explicit {
            Role::Manifest
        } else if let Some(root) = owning_root(&all_roots, &f.display) {
            // Chart files are templates, not YAML: never parsed, not even to point at lines.
            if rendered.contains_key(&root.dir.to_string()) && root.renderer != Renderer::Helm {
                Role::RendererInput
            } else {
                Role::Skip
            }
        } else if options
            .only
            .as_ref()
            .is_none_or(|o| o.files.contains(&*f.display))
        {
            Role::Manifest
        } else {
            Role::Skip
        };
        roles.insert(f.display.to_string(), role);
    }
    Plan {
        roles,
        roots: rendered.into_values().cloned().collect(),
    }
}

/// The kustomize and Helm directories among the files, by directory.
pub fn render_roots(files: &[FileEntry]) -> BTreeMap<String, RenderRoot> {
    let mut roots: BTreeMap<String, RenderRoot> = BTreeMap::new();
    for f in files {
        let name = file_name(&f.display);
        let renderer = match name {
            "kustomization.yaml" | "kustomization.yml" => Renderer::Kustomize,
            "Chart.yaml" => Renderer::Helm,
            _ => continue,
        };
        let dir = parent(&f.display).to_string();
        roots.entry(dir.clone()).or_insert(RenderRoot {
            dir: dir.into(),
            input: f.display.clone(),
            renderer,
        });
    }
    roots
}

/// The nearest directory at or above the file's that is a kustomize or Helm root.
pub fn owning_root<'a>(
    roots: &'a BTreeMap<String, RenderRoot>,
    file: &str,
) -> Option<&'a RenderRoot> {
    let mut dir = parent(file);
    loop {
        if let Some(root) = roots.get(dir) {
            return Some(root);
        }
        if dir.is_empty() {
            return None;
        }
        dir = parent(dir);
    }
}

pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

struct Parsed {
    documents: Vec<Document>,
    error: Option<Diagnostic>,
}

/// Decodes and parses one file; every failure becomes one diagnostic with the file's path.
fn parse_file(entry: &FileEntry, bytes: Result<Vec<u8>, String>) -> Parsed {
    let fail = |line: Option<u32>, column: Option<u32>, rule, message: String| Parsed {
        documents: Vec::new(),
        error: Some(Diagnostic {
            column,
            ..Diagnostic::file(Severity::Error, entry.display.clone(), line, rule, message)
        }),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(message) => return fail(None, None, "io", message),
    };
    if let Some(at) = memchr_nul(&bytes) {
        let line = line_at(&bytes, at);
        return fail(
            Some(line),
            None,
            "yaml",
            "binary content (NUL byte); not a YAML manifest".into(),
        );
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = line_at(&bytes, e.valid_up_to());
            return fail(
                Some(line),
                None,
                "yaml",
                format!(
                    "not valid UTF-8 (byte {}); YAML manifests must be UTF-8",
                    e.valid_up_to()
                ),
            );
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let stream = yaml::parse_stream(text);
    Parsed {
        documents: stream.documents,
        error: stream.error.map(|e| Diagnostic {
            column: Some(e.pos.col),
            ..if e.limit {
                // A limit, named as one: the file may well be valid YAML.
                Diagnostic::file(
                    Severity::Error,
                    entry.display.clone(),
                    Some(e.pos.line),
                    "limit",
                    e.message.clone(),
                )
            } else {
                Diagnostic::file(
                    Severity::Error,
                    entry.display.clone(),
                    Some(e.pos.line),
                    "yaml",
                    format!("YAML syntax: {} (column {})", e.message, e.pos.col),
                )
            }
        }),
    }
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == 0)
}

fn line_at(bytes: &[u8], offset: usize) -> u32 {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
}

/// The Kubernetes objects in a document: the document itself, or the items of a `List`.
/// Documents that are not objects at all (no apiVersion, kind, metadata or spec: a values file,
/// a CI config) yield nothing.
fn objects_of(root: Node) -> Vec<Node> {
    let Value::Map(entries) = &root.value else {
        return Vec::new();
    };
    let has = |k: &str| entries.iter().any(|e| e.key == k);
    // `v1/List` and typed lists (`ConfigMapList`...) are flattened by kubectl; a list of
    // objects is what tells them from a custom kind that merely ends in "List".
    let kind = root.get("kind").and_then(Node::as_str).unwrap_or_default();
    let is_list = root
        .get("items")
        .and_then(Node::as_seq)
        .is_some_and(|items| {
            kind == "List"
                || (kind.ends_with("List")
                    && items
                        .iter()
                        .all(|i| i.get("kind").is_some() || i.get("apiVersion").is_some()))
        });
    if is_list {
        let Value::Map(entries) = root.value else {
            unreachable!("checked above")
        };
        return entries
            .into_iter()
            .find(|e| e.key == "items")
            .and_then(|e| match e.value.value {
                Value::Seq(items) => Some(items),
                _ => None,
            })
            .unwrap_or_default();
    }
    if has("apiVersion") || has("kind") || has("metadata") {
        vec![root]
    } else {
        Vec::new()
    }
}

/// The (kind, name) a renderer input document is known by, for pointing messages at it.
fn source_key(node: &Node) -> Option<(String, String)> {
    let kind = node.get("kind").and_then(Node::as_str)?;
    let name = node.path(&["metadata", "name"]).and_then(Node::as_str)?;
    Some((kind.to_string(), name.to_string()))
}

/// What reading one file produced.
#[derive(Default)]
struct FileResult {
    error: Option<Diagnostic>,
    objects: Vec<Object>,
    sources: Vec<((String, String), u32)>,
}

/// Finds the document a rendered object most likely came from: same kind, and the same name
/// or one the renderer decorated (`namePrefix`/`nameSuffix`); files under the root first.
fn find_source(sources: &SourceIndex, root_dir: &str, node: &Node) -> Option<(Arc<str>, u32)> {
    let kind = node.get("kind").and_then(Node::as_str)?;
    let name = node.path(&["metadata", "name"]).and_then(Node::as_str)?;
    let pick = |candidates: &Vec<(Arc<str>, u32)>| {
        candidates
            .iter()
            .find(|(f, _)| super::tree::under(f, root_dir))
            .or_else(|| candidates.first())
            .cloned()
    };
    if let Some(c) = sources.get(&(kind.to_string(), name.to_string())) {
        return pick(c);
    }
    sources
        .iter()
        .filter(|((k, n), _)| k == kind && !n.is_empty() && name.contains(n.as_str()))
        .max_by_key(|((_, n), _)| n.len())
        .and_then(|(_, c)| pick(c))
}
