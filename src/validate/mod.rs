//! Offline validation of manifests: YAML, schemas (built-in kinds and CRDs from the same
//! repository), semantic rules the API server enforces, duplicates, and policies.

mod apiserver;
pub mod builtin;
pub mod cel;
mod cel_k8s;
mod component;
pub mod crd;
pub mod report;
pub mod rules;
pub mod schema;
pub mod sources;
pub mod versions;

use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{Level, ValidationConfig};
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::load::load_filtered;
use crate::manifest::object::split_api_version;
use crate::manifest::yaml::{Node, Value};
use crate::manifest::{FileSet, LoadOptions, Manifests, Object};
use builtin::builtins;
use crd::{CrdIndex, External};
use schema::Violation;

/// What a validation run found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// Files read, as displayed.
    pub files: Vec<std::sync::Arc<str>>,
    pub objects: usize,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
}

/// API groups Kubernetes removed; an object in them is an error, not a missing CRD.
const REMOVED_GROUPS: &[&str] = &["extensions"];

/// Validates loaded manifests.
pub fn validate(manifests: &Manifests, config: &ValidationConfig, external: &External) -> Report {
    let crds = CrdIndex::from_objects(&manifests.objects, external);
    let per_object: Vec<Vec<Diagnostic>> = manifests
        .objects
        .par_iter()
        .map(|obj| check_object(obj, &crds, config))
        .collect();
    let identities = manifests
        .objects
        .iter()
        .filter_map(|o| Identity::of(o, &crds))
        .collect();
    let mut diagnostics: Vec<Diagnostic> = per_object.into_iter().flatten().collect();
    diagnostics.extend(crds.skipped_rules());
    diagnostics.extend(external.notes.iter().cloned());
    finish(manifests, diagnostics, identities, manifests.objects.len())
}

/// Loads and validates a file set in one pass. Objects of built-in kinds are checked while
/// their files are parsed and then dropped, keeping only their identity for the duplicate
/// check; CRDs and custom resources wait until every CRD is known. Memory is bounded by the
/// custom resources, not by the whole tree. `None` when `options.stop_at` stopped the reading.
pub fn validate_files(
    set: &FileSet,
    options: &LoadOptions,
    config: &ValidationConfig,
    external: &External,
) -> Option<Report> {
    let builtins = builtins();
    let no_crds = CrdIndex::default();
    let early = Mutex::new((Vec::new(), Vec::new(), 0usize));
    let manifests = load_filtered(set, options, &|obj: Object| {
        let deferred = match (obj.api_version(), obj.kind()) {
            (Some(av), Some(kind)) => {
                kind == "CustomResourceDefinition" || builtins.kind(av, kind).is_none()
            }
            _ => false,
        };
        if deferred {
            return Some(obj);
        }
        let diagnostics = check_object(&obj, &no_crds, config);
        let identity = Identity::of(&obj, &no_crds);
        let mut early = early
            .lock()
            .expect("no thread panics while holding this lock");
        early.0.extend(diagnostics);
        early.1.extend(identity);
        early.2 += 1;
        None
    });
    if manifests.stopped {
        return None;
    }
    let (mut diagnostics, mut identities, checked) = early
        .into_inner()
        .expect("no thread panicked holding the lock");
    let crds = CrdIndex::from_objects(&manifests.objects, external);
    let late: Vec<Vec<Diagnostic>> = manifests
        .objects
        .par_iter()
        .map(|obj| check_object(obj, &crds, config))
        .collect();
    diagnostics.extend(late.into_iter().flatten());
    diagnostics.extend(crds.skipped_rules());
    diagnostics.extend(external.notes.iter().cloned());
    identities.extend(
        manifests
            .objects
            .iter()
            .filter_map(|o| Identity::of(o, &crds)),
    );
    Some(finish(
        &manifests,
        diagnostics,
        identities,
        checked + manifests.objects.len(),
    ))
}

fn finish(
    manifests: &Manifests,
    mut diagnostics: Vec<Diagnostic>,
    identities: Vec<Identity>,
    objects: usize,
) -> Report {
    diagnostics.extend(
        manifests
            .diagnostics
            .iter()
            .cloned()
            .map(Diagnostic::bounded),
    );
    diagnostics.extend(
        duplicates(manifests, identities)
            .into_iter()
            .map(Diagnostic::bounded),
    );
    diagnostics.sort_by_key(Diagnostic::sort_key);
    diagnostics.dedup();
    Report {
        files: manifests.paths.clone(),
        objects,
        diagnostics,
    }
}

/// All findings for one object, fit to print: cut to bounded sizes, and for a Secret with
/// none of its values in them (a type error would echo `pin: 84736251`).
pub fn check_object(obj: &Object, crds: &CrdIndex, config: &ValidationConfig) -> Vec<Diagnostic> {
    let secret_values = crate::redact::values_of_secret(&obj.node);
    findings(obj, crds, config)
        .into_iter()
        .map(|mut d| {
            if !secret_values.is_empty() {
                d.message = crate::redact::scrub(&d.message, &secret_values);
            }
            d.bounded()
        })
        .collect()
}

fn findings(obj: &Object, crds: &CrdIndex, config: &ValidationConfig) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let label = obj.label();
    let emit = |out: &mut Vec<Diagnostic>,
                severity,
                at: &Node,
                line: Option<u32>,
                column: Option<u32>,
                field: String,
                rule,
                message: String| {
        let (file, default_line) = obj.locate_at(at, line);
        let rendered = !matches!(obj.origin, crate::manifest::Origin::File);
        out.push(Diagnostic {
            severity,
            file,
            line: if rendered {
                default_line
            } else {
                line.or(default_line)
            },
            column: if rendered { None } else { column },
            object: Some(label.clone()),
            field: (!field.is_empty()).then_some(field),
            rule,
            message,
        });
    };
    let node = &obj.node;
    if node.as_map().is_none() {
        emit(
            &mut out,
            Severity::Error,
            node,
            None,
            None,
            String::new(),
            "schema",
            "a Kubernetes object must be a mapping".into(),
        );
        return out;
    }
    let api_version = node.get("apiVersion");
    let kind_node = node.get("kind");
    let (Some(api_version), Some(kind)) = (
        api_version.and_then(Node::as_str),
        kind_node.and_then(Node::as_str),
    ) else {
        let missing: Vec<&str> = [("apiVersion", api_version), ("kind", kind_node)]
            .iter()
            .filter(|(_, n)| n.and_then(Node::as_str).is_none())
            .map(|(k, _)| *k)
            .collect();
        emit(
            &mut out,
            Severity::Error,
            node,
            None,
            None,
            String::new(),
            "schema",
            format!("missing or non-string {}", missing.join(" and ")),
        );
        return out;
    };
    if config.skip_kinds.iter().any(|k| k == kind)
        || component::is_component_config(api_version, kind)
    {
        return out;
    }
    let (group, version) = split_api_version(api_version);
    let builtins = builtins();
    // SOPS-encrypted files carry a `sops:` block and ciphertext values.
    let sops = node.get("sops").is_some_and(|s| s.as_map().is_some());
    let checked_node;
    let target = if sops {
        checked_node = without_key(node, "sops");
        &checked_node
    } else {
        node
    };
    let builtin = builtins.kind(api_version, kind);
    let release = config
        .kubernetes_version
        .as_deref()
        .and_then(versions::parse)
        .unwrap_or(builtin::KUBERNETES_MINOR);
    match versions::served(api_version, kind, release) {
        versions::Served::Yes => {}
        versions::Served::No(message) => {
            emit(
                &mut out,
                Severity::Error,
                api_version_node(node),
                None,
                None,
                "apiVersion".into(),
                "api-version",
                message,
            );
            return out;
        }
        versions::Served::Deprecated(message) => {
            let unchecked = builtin.is_none();
            emit(
                &mut out,
                Severity::Warning,
                api_version_node(node),
                None,
                None,
                "apiVersion".into(),
                "api-version",
                if unchecked {
                    // Built-in schemas are those of one release, which no longer has it.
                    format!(
                        "{message} (its fields were not checked: the built-in schemas are Kubernetes {}'s)",
                        builtin::KUBERNETES_VERSION
                    )
                } else {
                    message
                },
            );
            if unchecked {
                return out;
            }
        }
    }
    let mut violations: Vec<Violation> = Vec::new();
    let mut path = String::new();
    if let Some(k) = builtin {
        let compiled = builtins.schema(k);
        schema::check(
            &compiled.schemas,
            compiled.root,
            target,
            &mut path,
            &mut violations,
        );
    } else if let Some(crd) = crds.get(group, kind) {
        crd.mark_used();
        match crd.versions.get(version) {
            None => {
                let mut known: Vec<&str> = crd.versions.keys().map(String::as_str).collect();
                known.sort();
                emit(
                    &mut out,
                    Severity::Error,
                    api_version_node(node),
                    None,
                    None,
                    "apiVersion".into(),
                    "schema",
                    format!(
                        "the CRD for {kind}.{group} {} has no version {version:?} (it has {})",
                        crd.origin.source,
                        known.join(", ")
                    ),
                );
            }
            Some(schema_id) => {
                check_custom(target, *schema_id, crds, &mut violations);
            }
        }
    } else if builtins.is_builtin_group(group) || REMOVED_GROUPS.contains(&group) {
        let hint = match builtins.versions_of(kind).as_slice() {
            [] => String::new(),
            versions => format!("; {kind} is served as {}", versions.join(", ")),
        };
        // A known kind under a removed or wrong group is the apiVersion's fault; an unknown
        // kind (a typo) is the kind's.
        let (at, field) = if hint.is_empty() {
            (kind_node.unwrap_or(node), "kind")
        } else {
            (api_version_node(node), "apiVersion")
        };
        emit(
            &mut out,
            Severity::Error,
            at,
            None,
            None,
            field.into(),
            "schema",
            format!(
                "Kubernetes {} has no kind {kind} in {api_version}{hint}",
                builtin::KUBERNETES_VERSION
            ),
        );
        return out;
    } else if !group.is_empty() && !group.contains('.') {
        // A CRD's group is a domain with at least one dot, so this group is a typo of a
        // built-in one (`app/v1` for `apps/v1`) and the server will not know it.
        let hint = match builtins.versions_of(kind).as_slice() {
            [] => String::new(),
            versions => format!("; {kind} is served as {}", versions.join(", ")),
        };
        emit(
            &mut out,
            Severity::Error,
            api_version_node(node),
            None,
            None,
            "apiVersion".into(),
            "schema",
            format!(
                "no API group {group:?}: it is not a Kubernetes group, and a custom resource's group always contains a dot{hint}"
            ),
        );
        return out;
    } else {
        let severity = if config.strict_crds {
            Severity::Error
        } else {
            Severity::Warning
        };
        emit(
            &mut out,
            severity,
            kind_node.unwrap_or(node),
            None,
            None,
            String::new(),
            "crd-missing",
            format!(
                "no CRD for {kind} ({api_version}) in these manifests or the CRDs given (--crds, --crds-from-cluster); its fields were not checked"
            ),
        );
        // Metadata is standard whatever the kind.
        if let Some(meta) = node.get("metadata") {
            let mut path = String::from("metadata");
            let meta_schema = builtins.object_meta();
            schema::check(
                &meta_schema.schemas,
                meta_schema.root,
                meta,
                &mut path,
                &mut violations,
            );
        }
    }
    for v in violations {
        emit(
            &mut out,
            Severity::Error,
            node,
            Some(v.line),
            Some(v.column),
            v.path,
            "schema",
            v.message,
        );
    }

    let mut findings = Vec::new();
    rules::check(
        node,
        kind,
        builtin.is_some(),
        sops,
        &config.policies,
        &mut findings,
    );
    for f in findings {
        let severity = match f.level {
            None | Some(Level::Error) => Severity::Error,
            Some(Level::Warning) => Severity::Warning,
            Some(Level::Off) => continue,
        };
        emit(
            &mut out,
            severity,
            node,
            Some(f.node_line),
            Some(f.column),
            f.field,
            f.rule,
            f.message,
        );
    }
    out
}

fn api_version_node(node: &Node) -> &Node {
    node.get("apiVersion").unwrap_or(node)
}

/// Checks a custom resource: metadata against ObjectMeta, the rest against the CRD's schema.
fn check_custom(
    node: &Node,
    schema_id: Option<schema::SchemaId>,
    crds: &CrdIndex,
    out: &mut Vec<Violation>,
) {
    let builtins = builtins();
    let Some(entries) = node.as_map() else { return };
    for e in entries {
        let mut path = e.key.clone();
        match e.key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => schema::check(
                &builtins.object_meta().schemas,
                builtins.object_meta().root,
                &e.value,
                &mut path,
                out,
            ),
            _ => {
                let Some(root) = schema_id else { continue };
                let root_schema = crds.schemas.get(root);
                match root_schema.properties.get(&e.key) {
                    Some(sub) => schema::check_entry(&crds.schemas, *sub, e, &mut path, out),
                    None if root_schema.extra == schema::Extra::Forbid => out.push(Violation {
                        path,
                        line: e.key_pos.line,
                        column: e.key_pos.col,
                        message: format!("unknown field {:?} (not in the CRD's schema)", e.key),
                    }),
                    None => {}
                }
            }
        }
    }
    if let Some(root) = schema_id {
        if let Some(ext) = &crds.schemas.get(root).crd {
            schema::check_crd(&crds.schemas, root, ext, node, node.start, "", out);
        }
        for req in &crds.schemas.get(root).required {
            if node.get(req).is_none_or(Node::is_null) {
                out.push(Violation {
                    path: String::new(),
                    line: node.start.line,
                    column: node.start.col,
                    message: format!("missing required field {req:?}"),
                });
            }
        }
    }
}

fn without_key(node: &Node, key: &str) -> Node {
    let mut copy = node.clone();
    if let Value::Map(entries) = &mut copy.value {
        entries.retain(|e| e.key != key);
    }
    copy
}

/// What the duplicate check needs to know of an object, kept small: one is held for every
/// object of the tree until the end of the run (50k objects are 4 MiB, not 25).
struct Identity {
    /// group, kind, namespace (`default` when omitted; empty when cluster-scoped) and name,
    /// each ended by a NUL (none of them can hold one).
    key: Box<str>,
    unit: u32,
    file: Arc<str>,
    line: Option<u32>,
    doc_index: u32,
}

impl Identity {
    /// `None` for objects that cannot collide: no name (generateName) or no kind.
    fn of(obj: &Object, crds: &CrdIndex) -> Option<Identity> {
        let (api_version, kind, name) = (obj.api_version()?, obj.kind()?, obj.name()?);
        if component::is_component_config(api_version, kind) {
            return None;
        }
        let (group, _) = split_api_version(api_version);
        let namespaced = builtins()
            .kind(api_version, kind)
            .map(|k| k.namespaced)
            .or_else(|| crds.get(group, kind).map(|c| c.namespaced))
            .unwrap_or(true);
        let namespace = if namespaced {
            obj.namespace().unwrap_or("default")
        } else {
            ""
        };
        let mut key =
            String::with_capacity(group.len() + kind.len() + namespace.len() + name.len() + 4);
        for part in [group, kind, namespace, name] {
            key.push_str(part);
            key.push('\0');
        }
        let (file, line) = obj.locate(&obj.node);
        Some(Identity {
            key: key.into_boxed_str(),
            unit: u32::try_from(obj.unit).unwrap_or(u32::MAX),
            file,
            line,
            doc_index: u32::try_from(obj.doc_index).unwrap_or(u32::MAX),
        })
    }

    /// `Kind/name`, as [`Object::label`] writes it.
    fn label(&self) -> String {
        let mut parts = self.key.split('\0');
        let (kind, name) = (parts.nth(1).unwrap_or(""), parts.nth(1).unwrap_or(""));
        format!("{kind}/{}", crate::diagnostic::clip(name, 253))
    }
}

/// The same object twice in one apply unit. Identities are ordered by file and position first,
/// so "first" means the same thing whatever order they were checked in.
fn duplicates(manifests: &Manifests, mut identities: Vec<Identity>) -> Vec<Diagnostic> {
    // Unstable: no buffer the size of the list, and no two identities share a position.
    identities.sort_unstable_by(|a, b| {
        (&a.file, a.line, a.doc_index, &a.key).cmp(&(&b.file, b.line, b.doc_index, &b.key))
    });
    let mut seen: HashMap<(u32, &str), &Identity> = HashMap::with_capacity(identities.len());
    let mut out = Vec::new();
    for id in &identities {
        let Some(first) = seen.get(&(id.unit, &*id.key)) else {
            seen.insert((id.unit, &id.key), id);
            continue;
        };
        let at = match first.line {
            Some(l) => format!("{}:{l}", first.file),
            None => first.file.to_string(),
        };
        let label = id.label();
        out.push(Diagnostic {
            severity: Severity::Error,
            file: id.file.clone(),
            line: id.line,
            column: None,
            object: Some(label.clone()),
            field: None,
            rule: "duplicate",
            message: format!(
                "{label} is defined twice in the same apply unit ({}); first at {at}",
                unit_name(manifests, id.unit as usize)
            ),
        });
    }
    out
}

fn unit_name(manifests: &Manifests, unit: usize) -> String {
    let u = &manifests.units[unit];
    let dir: &str = if u.dir.is_empty() { "." } else { &u.dir };
    match u.kind {
        crate::manifest::UnitKind::Directory => format!("directory {dir}"),
        crate::manifest::UnitKind::Kustomize => format!("kustomization {dir}"),
        crate::manifest::UnitKind::Helm => format!("chart {dir}"),
    }
}
