//! Custom resource definitions (from the manifests, `--crds` directories or the cluster), and
//! the schemas of their versions.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value as Json;

use super::schema::{SchemaId, Schemas};
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Object;

/// Where a CRD was read, for messages and for its skipped-rule warning.
#[derive(Debug, Clone)]
pub struct Origin {
    /// A file (as shown) or `cluster <context>`.
    pub file: Arc<str>,
    pub line: Option<u32>,
    /// How messages name the source: `in this repository`, `in --crds`, `in the cluster`.
    pub source: &'static str,
}

pub struct Crd {
    pub name: String,
    pub namespaced: bool,
    /// Schema per served version name; `None` when the version has no schema.
    pub versions: HashMap<String, Option<SchemaId>>,
    pub origin: Origin,
    /// The CEL rules of its schemas, in [`Schemas::rules`].
    rules: Range<usize>,
    /// Whether a custom resource of it was checked (only those CRDs' skipped rules matter).
    used: AtomicBool,
}

impl Crd {
    pub fn mark_used(&self) {
        self.used.store(true, Ordering::Relaxed);
    }
}

/// The CRDs of a set of manifests, by (group, kind).
#[derive(Default)]
pub struct CrdIndex {
    pub schemas: Schemas,
    crds: HashMap<(String, String), Crd>,
}

/// CRDs from outside the manifests (`--crds`, `validation.crds`, the cluster), as their JSON.
#[derive(Debug, Default, Clone)]
pub struct External {
    pub crds: Vec<(Json, Origin)>,
    /// What went wrong reading them (files that did not parse), reported with the findings.
    pub notes: Vec<Diagnostic>,
}

impl CrdIndex {
    /// The CRDs of `objects`, over the external ones: a CRD in the manifests is what will be
    /// applied, so it wins over an older copy elsewhere.
    pub fn from_objects(objects: &[Object], external: &External) -> CrdIndex {
        let mut index = CrdIndex::default();
        for (crd, origin) in &external.crds {
            index.add(crd, origin.clone());
        }
        for obj in objects {
            if obj.kind() == Some("CustomResourceDefinition")
                && obj.api_version() == Some("apiextensions.k8s.io/v1")
            {
                let (file, line) = obj.locate(&obj.node);
                index.add(
                    &obj.node.to_json(),
                    Origin {
                        file,
                        line,
                        source: "in this repository",
                    },
                );
            }
        }
        index
    }

    pub fn add(&mut self, crd: &Json, origin: Origin) {
        let spec = crd.get("spec");
        let text = |v: Option<&Json>| v.and_then(Json::as_str).map(str::to_string);
        let (Some(group), Some(kind)) = (
            text(spec.and_then(|s| s.get("group"))),
            text(
                spec.and_then(|s| s.get("names"))
                    .and_then(|n| n.get("kind")),
            ),
        ) else {
            return;
        };
        let namespaced = text(spec.and_then(|s| s.get("scope"))).as_deref() != Some("Cluster");
        let first_rule = self.schemas.rules.len();
        let mut versions = HashMap::new();
        for version in spec
            .and_then(|s| s.get("versions"))
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = text(version.get("name")) else {
                continue;
            };
            let schema = version
                .get("schema")
                .and_then(|s| s.get("openAPIV3Schema"))
                .map(|s| self.schemas.compile_crd(s));
            versions.insert(name, schema);
        }
        let name = text(crd.get("metadata").and_then(|m| m.get("name")))
            .unwrap_or_else(|| format!("{kind}.{group}"));
        self.crds.insert(
            (group, kind),
            Crd {
                name,
                namespaced,
                versions,
                origin,
                rules: first_rule..self.schemas.rules.len(),
                used: AtomicBool::new(false),
            },
        );
    }

    pub fn get(&self, group: &str, kind: &str) -> Option<&Crd> {
        self.crds.get(&(group.to_string(), kind.to_string()))
    }

    pub fn len(&self) -> usize {
        self.crds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.crds.is_empty()
    }

    /// One warning per CRD whose custom resources were checked and that has rules this
    /// evaluator could not run, naming each rule and why.
    pub fn skipped_rules(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut crds: Vec<&Crd> = self.crds.values().collect();
        crds.sort_by(|a, b| a.name.cmp(&b.name));
        for crd in crds {
            if !crd.used.load(Ordering::Relaxed) {
                continue;
            }
            let skipped: Vec<String> = self.schemas.rules[crd.rules.clone()]
                .iter()
                .filter_map(|r| {
                    r.skipped
                        .get()
                        .map(|why| format!("`{}` ({why})", r.source.trim()))
                })
                .collect();
            if skipped.is_empty() {
                continue;
            }
            out.push(Diagnostic {
                severity: Severity::Warning,
                file: crd.origin.file.clone(),
                line: crd.origin.line,
                column: None,
                object: Some(format!("CustomResourceDefinition/{}", crd.name)),
                field: None,
                rule: "crd-rule-skipped",
                message: format!(
                    "{} x-kubernetes-validations rule(s) were not evaluated, so objects may still fail them on the server: {}",
                    skipped.len(),
                    skipped.join("; ")
                ),
            });
        }
        out
    }
}

/// True for an `apiextensions.k8s.io/v1` CustomResourceDefinition.
pub fn is_crd(doc: &Json) -> bool {
    doc.get("kind").and_then(Json::as_str) == Some("CustomResourceDefinition")
        && doc.get("apiVersion").and_then(Json::as_str) == Some("apiextensions.k8s.io/v1")
}
