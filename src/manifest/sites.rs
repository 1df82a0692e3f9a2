//! Where versions are named in manifest files, with the bytes that name them.
//!
//! Image versions:
//! - containers of workloads (`image: ghcr.io/org/app:1.2`), in every container list, also
//!   in strategic-merge patches (files, or inline `patch:` strings);
//! - kustomize `images:` entries (`name`, `newName`, `newTag`, `digest`) in kustomization files,
//!   in Flux `Kustomization` objects' `spec.images` and HelmRelease post-renderers;
//! - JSON 6902 patches that set an image (`value:` of an op whose path ends in `/image`);
//! - Helm values: `image: {registry, repository, tag, digest}` mappings wherever they sit, and
//!   `image: repo:tag` strings in values files, a HelmRelease's `spec.values` and an Argo CD
//!   Application's `valuesObject`;
//! - Argo CD: an Application's `kustomize.images` and `helm.parameters`, and the
//!   `.argocd-source[-<app>].yaml` files Argo CD Image Updater commits (the same two shapes).
//!
//! Artifact versions: a Flux HelmRelease's (or HelmChart's) chart `version`, an Argo CD chart
//! source's `targetRevision` ([`VersionKind::Chart`]); a Flux `GitRepository`/`OCIRepository`
//! `spec.ref` and an Argo CD git source's `targetRevision` ([`VersionKind::Source`]).
//!
//! Each place is a [`VersionSite`] carrying the byte range of every scalar `bump` may rewrite.

use granit_parser::ScalarStyle;
use serde::{Deserialize, Serialize};

use super::image::{ImageRef, same_image};
use super::workload;
use super::yaml::{self, Entry, Node, YamlError};

/// The version shown for a kustomize entry or values block that sets neither tag nor digest
/// (kustomize then keeps the base's tag, a chart its appVersion).
pub const UNSET: &str = "(unset)";

/// A scalar in the source and where its bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalarAt {
    /// Byte range of the value as written, quotes included.
    pub start: usize,
    pub end: usize,
    pub line: u32,
    /// The value after escape processing.
    pub text: String,
    pub style: ScalarStyle,
    /// Copied from an anchor: the bytes at `start..end` are the alias (`*name`), not the value.
    pub aliased: bool,
}

/// What a version is the version of.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum VersionKind {
    /// A container image's tag or digest.
    #[default]
    Image,
    /// A Helm chart's version.
    Chart,
    /// A source's reference: a Flux `GitRepository`/`OCIRepository` `spec.ref`, an Argo CD
    /// git source's `targetRevision`.
    Source,
}

impl VersionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Image => "image",
            VersionKind::Chart => "chart",
            VersionKind::Source => "source",
        }
    }
}

/// What a site's version applies to, which decides which of several sites of one image wins
/// in a build (see `apps::effective`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One container of one object (`Deployment/web#containers/web`, the namespace left out so
    /// that a patch and the base it patches agree).
    Container(String),
    /// One Helm values path (`image`, `redis.image`).
    Values(String),
    /// Every use of the image in the build it is part of (kustomize `images:` entries, Image
    /// Updater overrides, JSON 6902 patches).
    Image,
    /// The artifact itself (chart and source versions).
    Artifact,
}

/// How a site spells its version.
#[derive(Clone, Debug)]
pub enum Form {
    /// One scalar holds the whole reference (`image: ghcr.io/org/app:1.2`).
    Reference(ScalarAt),
    /// One scalar holds the version and nothing else (a chart version, a source ref).
    Version(ScalarAt),
    /// The version lives in fields of its own (a kustomize `images:` entry, Helm values).
    Fields(Fields),
}

/// The version fields of a kustomize entry or a values block.
#[derive(Clone, Debug)]
pub struct Fields {
    pub tag: Option<ScalarAt>,
    pub digest: Option<ScalarAt>,
    /// The key of the tag field in this shape (`newTag` or `tag`).
    pub tag_key: &'static str,
    /// True when the shape has a digest field by convention even if absent (kustomize
    /// entries always accept `digest`; charts only when they declare it).
    pub digest_supported: bool,
    /// The last name field (`newName`/`name`, `repository`): a missing field goes after it.
    pub after: ScalarAt,
    /// 1-based column of the mapping's keys, for a new field in a block mapping.
    pub key_col: u32,
    /// The mapping is written in flow style (`{name: app, newTag: "1.2"}`).
    pub flow: bool,
}

/// One place a file names a version.
#[derive(Clone, Debug)]
pub struct VersionSite {
    pub kind: VersionKind,
    /// The image name as deployed: `newName` over `name` for kustomize, `registry/repository`
    /// for values, the reference's name for containers. For charts the chart's name, for
    /// sources the source object's (or Argo CD Application's) name.
    pub name: String,
    /// Other names the site answers to (a kustomize entry's original `name`; a source's
    /// `namespace/name` and URL).
    pub aliases: Vec<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// Identity inside the file that survives a version change (object and container, entry
    /// name, values path), used to pair a site before and after a commit.
    pub key: String,
    /// Where it is, for people: `Deployment/web container web`, `images[nginx]`.
    pub holder: String,
    pub line: u32,
    pub form: Form,
    pub scope: Scope,
    /// End offsets of the site's scalars, to find setter comments on their lines.
    pub ends: Vec<usize>,
}

impl VersionSite {
    /// The version as written: tag, digest, or `tag@digest`. A reference without either
    /// means `latest`, as Kubernetes reads it; split fields without either are [`UNSET`].
    pub fn version(&self) -> String {
        match (&self.tag, &self.digest, &self.form) {
            (_, _, Form::Version(at)) => at.text.clone(),
            (None, None, Form::Fields(_)) => UNSET.to_string(),
            (tag, digest, _) => ImageRef {
                name: self.name.clone(),
                tag: tag.clone(),
                digest: digest.clone(),
            }
            .version(),
        }
    }

    /// True when the site deploys `name` (Docker Hub spellings compare equal).
    pub fn matches(&self, name: &str) -> bool {
        match self.kind {
            VersionKind::Image => {
                same_image(&self.name, name) || self.aliases.iter().any(|a| same_image(a, name))
            }
            VersionKind::Chart | VersionKind::Source => {
                self.name == name || self.aliases.iter().any(|a| a == name)
            }
        }
    }

    /// True when the version is set here (a kustomize entry or values block may name the image
    /// and leave the version to what it overrides).
    pub fn sets_version(&self) -> bool {
        !matches!(self.form, Form::Fields(_)) || self.tag.is_some() || self.digest.is_some()
    }

    /// The scalars of the site in the source, for moving a site found in embedded text.
    fn scalars_mut(&mut self) -> Vec<&mut ScalarAt> {
        match &mut self.form {
            Form::Reference(at) | Form::Version(at) => vec![at],
            Form::Fields(f) => {
                let mut out: Vec<&mut ScalarAt> = vec![&mut f.after];
                out.extend(f.tag.as_mut());
                out.extend(f.digest.as_mut());
                out
            }
        }
    }
}

/// The version sites of one file, and the YAML error that stopped reading it, if any (sites
/// before the error are still returned).
pub fn find(path: &str, text: &str) -> (Vec<VersionSite>, Option<YamlError>) {
    // Every shape has one of these words in it (images; chart versions beside a `chart:`;
    // source refs; Argo CD revisions); most files have none.
    let charts = text.contains("chart") && text.contains("version:");
    if !(charts
        || ["mage", "ref:", "Revision"]
            .iter()
            .any(|w| text.contains(w)))
    {
        return (Vec::new(), None);
    }
    // Offsets are reported in the file's bytes, so a byte-order mark is counted.
    let (base, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ('\u{feff}'.len_utf8(), rest),
        None => (0, text),
    };
    let stream = yaml::parse_stream(body);
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let mut finder = Finder {
        body,
        base,
        values_file: is_values_file(file_name),
        sites: Vec::new(),
    };
    for doc in &stream.documents {
        let Some(root) = &doc.root else { continue };
        finder.document(root, doc.index, file_name);
    }
    let mut sites = finder.sites;
    dedupe_keys(&mut sites);
    (sites, stream.error)
}

/// Helm values files by the names charts and GitOps repositories give them (`values.yaml`,
/// `values-prod.yaml`, `prod.values.yaml`, `redis-values.yml`).
fn is_values_file(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    let stem = lower
        .strip_suffix(".yaml")
        .or_else(|| lower.strip_suffix(".yml"))
        .unwrap_or(&lower);
    stem.contains("values")
}

struct Finder<'a> {
    body: &'a str,
    base: usize,
    /// The file is a Helm values file, where `image: repo:tag` strings are values.
    values_file: bool,
    sites: Vec<VersionSite>,
}

/// What YAML embedded in a string holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Embedded {
    /// A kustomize patch: strategic-merge objects or JSON 6902 ops.
    Patch,
    /// Helm values (a ConfigMap or Secret that a HelmRelease's `valuesFrom` reads).
    Values,
}

/// Where in a document Helm values start, for documents that carry values.
const VALUES_ROOTS: &[&[&str]] = &[
    // Flux HelmRelease
    &["spec", "values"],
    // Argo CD Application, single and multi-source (the `[i]` is matched as any index)
    &["spec", "source", "helm", "valuesObject"],
    &["spec", "sources", "[]", "helm", "valuesObject"],
    &["spec", "template", "spec", "source", "helm", "valuesObject"],
];

impl Finder<'_> {
    fn document(&mut self, root: &Node, index: usize, file_name: &str) {
        let kustomization_file = matches!(
            file_name,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        );
        if let Some(ops) = root.as_seq().filter(|ops| is_json6902(ops)) {
            self.json6902(ops, "");
            return;
        }
        let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
        let group = api_version.split('/').next().unwrap_or("");
        let owner = || format!("{} ", object_label(root, index));
        if kustomization_file || group == "kustomize.config.k8s.io" {
            self.kustomize_images(root.get("images"), "");
            self.inline_patches(root, "");
        } else if file_name.starts_with(".argocd-source") {
            self.argocd_overrides(root, "");
        } else {
            match (group, kind) {
                ("kustomize.toolkit.fluxcd.io", "Kustomization") => {
                    let owner = owner();
                    self.kustomize_images(root.path(&["spec", "images"]), &owner);
                    if let Some(spec) = root.get("spec") {
                        self.inline_patches(spec, &owner);
                    }
                }
                ("helm.toolkit.fluxcd.io", "HelmRelease") => self.helm_release(root, &owner()),
                ("source.toolkit.fluxcd.io", "HelmChart") => {
                    let chart = root.path(&["spec", "chart"]).and_then(Node::scalar_text);
                    if let Some(chart) = chart {
                        let at = root.path(&["spec", "version"]);
                        self.artifact(VersionKind::Chart, chart, &[], at, &owner(), "version");
                    }
                }
                ("source.toolkit.fluxcd.io", "GitRepository" | "OCIRepository") => {
                    self.source_ref(root, kind, &owner());
                }
                ("argoproj.io", "Application") => {
                    if let Some(spec) = root.get("spec") {
                        let name = root.path(&["metadata", "name"]).and_then(Node::scalar_text);
                        self.argocd_sources(spec, name.unwrap_or(""), &owner());
                    }
                }
                // Values files kept in a ConfigMap for a HelmRelease's `valuesFrom`
                // (`valuesKey` defaults to `values.yaml`).
                ("v1", "ConfigMap") => {
                    let owner = owner();
                    for entry in root.get("data").and_then(Node::as_map).unwrap_or_default() {
                        if entry.key.ends_with(".yaml") || entry.key.ends_with(".yml") {
                            let prefix = format!("{owner}data[{}] ", entry.key);
                            self.embedded(&entry.value, &prefix, Embedded::Values);
                        }
                    }
                }
                ("argoproj.io", "ApplicationSet") => {
                    if let Some(spec) = root.path(&["spec", "template", "spec"]) {
                        let name = root.path(&["metadata", "name"]).and_then(Node::scalar_text);
                        self.argocd_sources(spec, name.unwrap_or(""), &owner());
                    }
                }
                _ => {}
            }
        }
        let items = root.get("items").and_then(Node::as_seq);
        let objects: Vec<&Node> = match items {
            Some(items) if kind == "List" => items.iter().collect(),
            _ => vec![root],
        };
        for obj in objects {
            self.containers(obj, index);
        }
        self.values(root, &mut vec![format!("doc{index}")]);
    }

    fn scalar(&self, node: &Node) -> Option<ScalarAt> {
        let text = node.scalar_text()?;
        Some(ScalarAt {
            start: self.base + node.start.offset,
            end: self.base + node.end.offset,
            line: node.start.line,
            text: text.to_string(),
            style: node.style?,
            aliased: node.aliased,
        })
    }

    /// A site whose scalar is a whole image reference (`nginx:1.2`).
    fn reference(&mut self, node: &Node, key: String, holder: String, scope: Scope) {
        let Some(at) = self.scalar(node) else {
            return;
        };
        // Templated or otherwise unparsable references are not images we can reason about.
        let Some(reference) = ImageRef::parse(&at.text) else {
            return;
        };
        self.sites.push(VersionSite {
            kind: VersionKind::Image,
            name: reference.name,
            aliases: Vec::new(),
            tag: reference.tag,
            digest: reference.digest,
            key,
            holder,
            line: at.line,
            ends: vec![at.end],
            form: Form::Reference(at),
            scope,
        });
    }

    fn containers(&mut self, obj: &Node, index: usize) {
        let Some(kind) = obj.get("kind").and_then(Node::as_str) else {
            return;
        };
        let Some(spec) = workload::image_pod_spec(obj, kind) else {
            return;
        };
        let owner = object_label(obj, index);
        let name = obj.path(&["metadata", "name"]).and_then(Node::scalar_text);
        for c in workload::containers(spec) {
            let Some(node) = c.node.get("image") else {
                continue;
            };
            let container = c.label();
            let scope = Scope::Container(format!(
                "{kind}/{}#{}/{container}",
                name.unwrap_or(""),
                c.list
            ));
            self.reference(
                node,
                format!("{owner}#{}/{container}", c.list),
                format!("{owner} container {container}"),
                scope,
            );
        }
    }

    fn kustomize_images(&mut self, images: Option<&Node>, owner: &str) {
        for entry in images.and_then(Node::as_seq).unwrap_or_default() {
            let Some(entries) = entry.as_map() else {
                continue;
            };
            let Some(name_entry) = find_entry(entries, "name") else {
                continue;
            };
            let Some(name) = self.scalar(&name_entry.value) else {
                continue;
            };
            let new_name = find_entry(entries, "newName").and_then(|e| self.scalar(&e.value));
            let after = match &new_name {
                Some(n) if n.start > name.start => n.clone(),
                _ => name.clone(),
            };
            let tag = self.field(entries, "newTag");
            let digest = self.field(entries, "digest");
            let deployed = new_name.as_ref().map_or(&name.text, |n| &n.text).clone();
            let mut ends = vec![name.end];
            ends.extend(new_name.iter().map(|n| n.end));
            ends.extend(tag.iter().chain(digest.iter()).map(|s| s.end));
            self.sites.push(VersionSite {
                kind: VersionKind::Image,
                aliases: if deployed == name.text {
                    Vec::new()
                } else {
                    vec![name.text.clone()]
                },
                name: deployed,
                tag: tag.as_ref().map(|t| t.text.clone()),
                digest: digest.as_ref().map(|d| d.text.clone()),
                key: format!("{owner}images[{}]", name.text),
                holder: format!("{owner}images[{}]", name.text),
                line: name.line,
                ends,
                form: Form::Fields(Fields {
                    tag,
                    digest,
                    tag_key: "newTag",
                    digest_supported: true,
                    after,
                    key_col: name_entry.key_pos.col,
                    flow: self.is_flow(entry),
                }),
                scope: Scope::Image,
            });
        }
    }

    /// Argo CD's kustomize image overrides: `ref:tag` or `name=ref:tag` strings.
    fn argocd_images(&mut self, images: Option<&Node>, owner: &str) {
        for item in images.and_then(Node::as_seq).unwrap_or_default() {
            let Some(at) = self.scalar(item) else {
                continue;
            };
            let (original, reference) = match at.text.split_once('=') {
                Some((original, reference)) => (Some(original), reference),
                None => (None, at.text.as_str()),
            };
            let Some(parsed) = ImageRef::parse(reference) else {
                continue;
            };
            let key = format!("{owner}argocd images[{}]", original.unwrap_or(&parsed.name));
            self.sites.push(VersionSite {
                kind: VersionKind::Image,
                aliases: original.map(str::to_string).into_iter().collect(),
                name: parsed.name,
                tag: parsed.tag,
                digest: parsed.digest,
                holder: key.clone(),
                key,
                line: at.line,
                ends: vec![at.end],
                form: Form::Reference(at),
                scope: Scope::Image,
            });
        }
    }

    /// Argo CD Helm parameters that name an image: `P.tag` with `P.name` or `P.repository`
    /// (and `P.registry`), the pairs Image Updater writes (`image.name`, `image.tag` unless
    /// annotated otherwise).
    fn helm_parameters(&mut self, params: Option<&Node>, owner: &str) {
        let mut by_name: Vec<(&str, ScalarAt, &Node)> = Vec::new();
        for p in params.and_then(Node::as_seq).unwrap_or_default() {
            let name = p.get("name").and_then(Node::scalar_text);
            let value = p.get("value");
            if let (Some(name), Some(value)) = (name, value)
                && let Some(at) = self.scalar(value)
            {
                by_name.push((name, at, value));
            }
        }
        let lookup = |n: &str| by_name.iter().find(|(name, _, _)| *name == n);
        for (name, tag, _) in &by_name {
            let Some(prefix) = name.strip_suffix(".tag") else {
                continue;
            };
            let repository = lookup(&format!("{prefix}.repository"))
                .or_else(|| lookup(&format!("{prefix}.name")));
            let Some((_, repo_at, repo_node)) = repository else {
                continue;
            };
            if repo_at.text.is_empty() || tag.text.is_empty() {
                continue;
            }
            let image = match lookup(&format!("{prefix}.registry")) {
                Some((_, r, _)) if !r.text.is_empty() => {
                    format!("{}/{}", r.text.trim_end_matches('/'), repo_at.text)
                }
                _ => repo_at.text.clone(),
            };
            let key = format!("{owner}helm.parameters[{prefix}]");
            self.sites.push(VersionSite {
                kind: VersionKind::Image,
                name: image,
                aliases: Vec::new(),
                tag: Some(tag.text.clone()),
                digest: None,
                holder: key.clone(),
                key,
                line: tag.line,
                ends: vec![repo_at.end, tag.end],
                form: Form::Fields(Fields {
                    tag: Some(tag.clone()),
                    digest: None,
                    tag_key: "value",
                    digest_supported: false,
                    after: repo_at.clone(),
                    key_col: repo_node.start.col,
                    flow: false,
                }),
                scope: Scope::Values(prefix.to_string()),
            });
        }
    }

    /// An Image Updater write-back file: `kustomize.images` and `helm.parameters`.
    fn argocd_overrides(&mut self, root: &Node, owner: &str) {
        self.argocd_images(root.path(&["kustomize", "images"]), owner);
        self.helm_parameters(root.path(&["helm", "parameters"]), owner);
    }

    /// The sources of an Argo CD Application spec: chart versions, git revisions, and the
    /// image overrides each source carries.
    fn argocd_sources(&mut self, spec: &Node, app: &str, owner: &str) {
        let mut sources: Vec<(String, &Node)> = Vec::new();
        if let Some(source) = spec.get("source") {
            sources.push(("source".into(), source));
        }
        for (i, source) in spec
            .get("sources")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            sources.push((format!("sources[{i}]"), source));
        }
        for (label, source) in sources {
            let revision = source.get("targetRevision");
            let url = source
                .get("repoURL")
                .and_then(Node::scalar_text)
                .unwrap_or("");
            let field = format!("{label}.targetRevision");
            match source.get("chart").and_then(Node::scalar_text) {
                Some(chart) => {
                    self.artifact(VersionKind::Chart, chart, &[app], revision, owner, &field)
                }
                None => self.artifact(VersionKind::Source, app, &[url], revision, owner, &field),
            }
            let inner = format!("{owner}{label} ");
            self.argocd_images(source.path(&["kustomize", "images"]), &inner);
            self.helm_parameters(source.path(&["helm", "parameters"]), &inner);
        }
    }

    /// A Flux HelmRelease: the chart version, and its post-renderers' images and patches.
    /// An overlay's patch often sets only the version; it is the chart of the release of
    /// that name, so the release name answers for it too.
    fn helm_release(&mut self, root: &Node, owner: &str) {
        let release = root.path(&["metadata", "name"]).and_then(Node::scalar_text);
        let chart = root
            .path(&["spec", "chart", "spec", "chart"])
            .and_then(Node::scalar_text);
        if let Some(name) = chart.or(release) {
            let namespace = root
                .path(&["metadata", "namespace"])
                .and_then(Node::scalar_text);
            let qualified = namespace.zip(release).map(|(ns, r)| format!("{ns}/{r}"));
            let mut aliases: Vec<&str> = release.into_iter().collect();
            aliases.extend(qualified.as_deref());
            let at = root.path(&["spec", "chart", "spec", "version"]);
            self.artifact(
                VersionKind::Chart,
                name,
                &aliases,
                at,
                owner,
                "chart.spec.version",
            );
        }
        let renderers = root.path(&["spec", "postRenderers"]).and_then(Node::as_seq);
        for (i, r) in renderers.unwrap_or_default().iter().enumerate() {
            if let Some(k) = r.get("kustomize") {
                let inner = format!("{owner}postRenderers[{i}] ");
                self.kustomize_images(k.get("images"), &inner);
                self.inline_patches(k, &inner);
            }
        }
    }

    /// A Flux source's `spec.ref`: the field that decides the revision, in the order the
    /// source-controller reads them (fluxcd/source-controller api/v1 GitRepositoryRef:
    /// commit, name, semver, tag, branch; api/v1beta2 OCIRepositoryRef: digest, semver, tag).
    fn source_ref(&mut self, root: &Node, kind: &str, owner: &str) {
        let Some(name) = root.path(&["metadata", "name"]).and_then(Node::scalar_text) else {
            return;
        };
        let Some(reference) = root.path(&["spec", "ref"]) else {
            return;
        };
        let fields: &[&str] = if kind == "GitRepository" {
            &["commit", "name", "semver", "tag", "branch"]
        } else {
            &["digest", "semver", "tag"]
        };
        let Some(field) = fields.iter().find(|f| reference.get(f).is_some()) else {
            return;
        };
        let namespace = root
            .path(&["metadata", "namespace"])
            .and_then(Node::scalar_text);
        let url = root.path(&["spec", "url"]).and_then(Node::scalar_text);
        let mut aliases: Vec<&str> = url.into_iter().collect();
        let qualified = namespace.map(|ns| format!("{ns}/{name}"));
        aliases.extend(qualified.as_deref());
        self.artifact(
            VersionKind::Source,
            name,
            &aliases,
            reference.get(field),
            owner,
            &format!("ref.{field}"),
        );
    }

    /// A chart or source version held by one scalar.
    fn artifact(
        &mut self,
        kind: VersionKind,
        name: &str,
        aliases: &[&str],
        node: Option<&Node>,
        owner: &str,
        field: &str,
    ) {
        let Some(at) = node.and_then(|n| self.scalar(n)) else {
            return;
        };
        if at.text.is_empty() {
            return;
        }
        self.sites.push(VersionSite {
            kind,
            name: name.to_string(),
            aliases: aliases
                .iter()
                .filter(|a| !a.is_empty())
                .map(|a| a.to_string())
                .collect(),
            tag: None,
            digest: None,
            key: format!("{owner}{field}"),
            holder: format!("{owner}{field}"),
            line: at.line,
            ends: vec![at.end],
            form: Form::Version(at),
            scope: Scope::Artifact,
        });
    }

    /// A JSON 6902 patch: ops that set an image, or add or replace containers.
    fn json6902(&mut self, ops: &[Node], owner: &str) {
        for op in ops {
            let (Some(path), Some(value)) =
                (op.get("path").and_then(Node::scalar_text), op.get("value"))
            else {
                continue;
            };
            let key = format!("{owner}json6902[{path}]");
            let holder = format!("{owner}patch {path}");
            if path.ends_with("/image") {
                self.reference(value, key, holder, Scope::Image);
                continue;
            }
            let containers: Vec<&Node> = match value.as_seq() {
                Some(list) => list.iter().collect(),
                None => vec![value],
            };
            for (i, c) in containers.into_iter().enumerate() {
                if let Some(image) = c.get("image") {
                    let name = c.get("name").and_then(Node::scalar_text);
                    let which = name.map_or_else(|| i.to_string(), str::to_string);
                    self.reference(
                        image,
                        format!("{key}/{which}"),
                        format!("{holder} container {which}"),
                        Scope::Image,
                    );
                }
            }
        }
    }

    /// Patches written inline in a kustomization (`patches[].patch`, `patchesJson6902[].patch`,
    /// `patchesStrategicMerge` strings): their images are found in the embedded YAML.
    fn inline_patches(&mut self, spec: &Node, owner: &str) {
        for key in ["patches", "patchesJson6902"] {
            for (i, p) in spec
                .get(key)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if let Some(patch) = p.get("patch") {
                    self.embedded(patch, &format!("{owner}{key}[{i}] "), Embedded::Patch);
                }
            }
        }
        let merges = spec.get("patchesStrategicMerge").and_then(Node::as_seq);
        for (i, p) in merges.unwrap_or_default().iter().enumerate() {
            if p.scalar_text().is_some_and(|t| t.contains('\n')) {
                self.embedded(
                    p,
                    &format!("{owner}patchesStrategicMerge[{i}] "),
                    Embedded::Patch,
                );
            }
        }
    }

    /// The sites of YAML embedded in a literal block scalar, at their bytes in this file.
    fn embedded(&mut self, node: &Node, prefix: &str, embedded: Embedded) {
        if node.aliased || node.style != Some(ScalarStyle::Literal) {
            return;
        }
        let Some(inner) = node.scalar_text() else {
            return;
        };
        let Some((lines, first_line)) = block_lines(self.body, node, inner) else {
            return;
        };
        let stream = yaml::parse_stream(inner);
        let mut finder = Finder {
            body: inner,
            base: 0,
            values_file: embedded == Embedded::Values,
            sites: Vec::new(),
        };
        for doc in &stream.documents {
            let Some(root) = &doc.root else { continue };
            match (embedded, root.as_seq().filter(|ops| is_json6902(ops))) {
                (Embedded::Values, _) => {
                    finder.values(root, &mut vec![format!("doc{}", doc.index)])
                }
                (Embedded::Patch, Some(ops)) => finder.json6902(ops, ""),
                (Embedded::Patch, None) => finder.containers(root, doc.index),
            }
        }
        let to_file = |offset: usize| -> (usize, u32) {
            let i = lines
                .partition_point(|l| l.inner <= offset)
                .saturating_sub(1);
            let l = &lines[i];
            (self.base + l.file + (offset - l.inner), l.line)
        };
        for mut site in finder.sites {
            for at in site.scalars_mut() {
                let (start, line) = to_file(at.start);
                at.end = to_file(at.end).0;
                at.start = start;
                at.line = line;
            }
            site.ends = site.ends.iter().map(|e| to_file(*e).0).collect();
            site.line = first_line + site.line - 1;
            site.key = format!("{prefix}{}", site.key);
            site.holder = format!("{prefix}{}", site.holder);
            self.sites.push(site);
        }
    }

    /// A version field, ignoring empty values (charts use `tag: ""` for "the appVersion").
    fn field(&self, entries: &[Entry], key: &str) -> Option<ScalarAt> {
        find_entry(entries, key)
            .and_then(|e| self.scalar(&e.value))
            .filter(|s| !s.text.is_empty())
    }

    fn is_flow(&self, map: &Node) -> bool {
        self.body.as_bytes().get(map.start.offset) == Some(&b'{')
    }

    /// Helm-style image values anywhere in the document: `image: {repository, tag}` blocks,
    /// and `image: repo:tag` strings where the document holds values.
    fn values(&mut self, node: &Node, path: &mut Vec<String>) {
        if let Some(items) = node.as_seq() {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                self.values(item, path);
                path.pop();
            }
            return;
        }
        let Some(entries) = node.as_map() else {
            return;
        };
        for entry in entries {
            path.push(entry.key.clone());
            if entry.key.ends_with("image") || entry.key.ends_with("Image") {
                let root = self.values_root(path);
                if entry.value.as_map().is_some() {
                    self.values_image(&entry.value, path, root.unwrap_or(1));
                } else if let Some(root) = root {
                    let (key, holder, scope) = values_names(path, root);
                    self.reference(&entry.value, key, holder, Scope::Values(scope));
                }
            }
            self.values(&entry.value, path);
            path.pop();
        }
    }

    /// Where the values start in `path` (after the `docN` element), when it is inside values.
    fn values_root(&self, path: &[String]) -> Option<usize> {
        let inner = &path[1..path.len() - 1];
        let starts = |root: &[&str]| {
            inner.len() >= root.len()
                && root
                    .iter()
                    .zip(inner)
                    .all(|(r, p)| *r == p || (*r == "[]" && p.starts_with('[')))
        };
        VALUES_ROOTS
            .iter()
            .find(|r| starts(r))
            .map(|r| 1 + r.len())
            .or(self.values_file.then_some(1))
    }

    fn values_image(&mut self, node: &Node, path: &[String], root: usize) {
        let Some(entries) = node.as_map() else {
            return;
        };
        let Some(repo_entry) = find_entry(entries, "repository") else {
            return;
        };
        let Some(repository) = self.scalar(&repo_entry.value) else {
            return;
        };
        if repository.text.is_empty() || repository.text.contains(char::is_whitespace) {
            return;
        }
        let registry = self.field(entries, "registry");
        // `tag: ""` (the chart's appVersion) sets no version but is the field to write.
        let tag_field = find_entry(entries, "tag").and_then(|e| self.scalar(&e.value));
        let tag = tag_field.clone().filter(|t| !t.text.is_empty());
        let digest_entry = find_entry(entries, "digest");
        let digest = self.field(entries, "digest");
        let name = match &registry {
            Some(r) => format!("{}/{}", r.text.trim_end_matches('/'), repository.text),
            None => repository.text.clone(),
        };
        let mut ends = vec![repository.end];
        ends.extend(registry.iter().chain(&tag).chain(&digest).map(|s| s.end));
        let (key, holder, scope) = values_names(path, root);
        self.sites.push(VersionSite {
            kind: VersionKind::Image,
            name,
            aliases: Vec::new(),
            tag: tag.as_ref().map(|t| t.text.clone()),
            digest: digest.as_ref().map(|d| d.text.clone()),
            key,
            holder,
            line: repository.line,
            ends,
            form: Form::Fields(Fields {
                tag: tag_field,
                digest,
                tag_key: "tag",
                digest_supported: digest_entry.is_some(),
                after: repository,
                key_col: repo_entry.key_pos.col,
                flow: self.is_flow(node),
            }),
            scope: Scope::Values(scope),
        });
    }
}

/// Key, holder and values path of a values site at `path` whose values start at `root`.
fn values_names(path: &[String], root: usize) -> (String, String, String) {
    let dotted = |parts: &[String]| parts.join(".").replace(".[", "[");
    (
        path.join("."),
        format!("values {}", dotted(&path[1..])),
        dotted(&path[root..]),
    )
}

/// A document that is a JSON 6902 patch: a list of `op`/`path` mappings.
fn is_json6902(ops: &[Node]) -> bool {
    !ops.is_empty()
        && ops
            .iter()
            .all(|op| op.get("op").is_some() && op.get("path").is_some())
}

/// One line of a literal block scalar: where its content starts in the embedded text and in
/// the file, and its line number in the file.
struct BlockLine {
    inner: usize,
    file: usize,
    line: u32,
}

/// Maps the lines of a literal block scalar's text to their bytes in the file, checking that
/// each line is there as written (else the block is not a plain copy and `None` is returned).
/// Also returns the file line of the text's first line.
fn block_lines(body: &str, node: &Node, inner: &str) -> Option<(Vec<BlockLine>, u32)> {
    // The node starts at its first content line (or, for some parsers, at the `|` header).
    let (mut file_at, first_line) = if body.as_bytes().get(node.start.offset) == Some(&b'|') {
        let header_end = node.start.offset + body.get(node.start.offset..)?.find('\n')? + 1;
        (header_end, node.start.line + 1)
    } else {
        let line_start = body
            .get(..node.start.offset)?
            .rfind('\n')
            .map_or(0, |i| i + 1);
        (line_start, node.start.line)
    };
    let mut inner_at = 0;
    let mut indent: Option<usize> = None;
    let mut out = Vec::new();
    for (k, line) in inner.split_inclusive('\n').enumerate() {
        let content = line.strip_suffix('\n').unwrap_or(line);
        let rest = body.get(file_at..)?;
        let file_line_len = rest.find('\n').unwrap_or(rest.len());
        let file_line = rest[..file_line_len].trim_end_matches('\r');
        if content.is_empty() {
            if !file_line.trim().is_empty() {
                return None;
            }
        } else {
            let ind = *indent
                .get_or_insert_with(|| file_line.len() - file_line.trim_start_matches(' ').len());
            if file_line.get(ind..)? != content {
                return None;
            }
            out.push(BlockLine {
                inner: inner_at,
                file: file_at + ind,
                line: first_line + k as u32,
            });
        }
        inner_at += line.len();
        file_at += file_line_len + 1;
    }
    Some((out, first_line))
}

fn find_entry<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.key == key)
}

/// `Kind/namespace/name` of an object, or its document index when it has no name.
fn object_label(obj: &Node, index: usize) -> String {
    let kind = obj.get("kind").and_then(Node::as_str).unwrap_or("?");
    let name = obj.path(&["metadata", "name"]).and_then(Node::scalar_text);
    let namespace = obj
        .path(&["metadata", "namespace"])
        .and_then(Node::scalar_text);
    match (namespace, name) {
        (Some(ns), Some(name)) => format!("{kind}/{ns}/{name}"),
        (None, Some(name)) => format!("{kind}/{name}"),
        (_, None) => format!("{kind}#doc{index}"),
    }
}

/// Makes keys unique inside a file (the same object written twice gets `~2`), so pairing
/// sites before and after a change stays one-to-one.
fn dedupe_keys(sites: &mut [VersionSite]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for site in sites {
        let n = seen.entry(site.key.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            site.key = format!("{}~{n}", site.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(path: &str, text: &str) -> Vec<(String, String, String)> {
        let (sites, error) = find(path, text);
        assert!(error.is_none(), "{error:?}");
        sites
            .into_iter()
            .map(|s| (s.name.clone(), s.version(), s.holder))
            .collect()
    }

    #[test]
    fn finds_containers_in_every_list_and_document() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - name: init\n    image: busybox\n  containers:\n  - name: app\n    image: \"registry:5000/app:1.10\"\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: ops}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: job\n            image: ghcr.io/o/job@sha256:0123\n";
        assert_eq!(
            versions("x.yaml", text),
            vec![
                (
                    "busybox".into(),
                    "latest".into(),
                    "Pod/p container init".into()
                ),
                (
                    "registry:5000/app".into(),
                    "1.10".into(),
                    "Pod/p container app".into()
                ),
                (
                    "ghcr.io/o/job".into(),
                    "sha256:0123".into(),
                    "CronJob/ops/c container job".into()
                ),
            ]
        );
    }

    #[test]
    fn byte_ranges_cover_the_written_value() {
        let text = "\u{feff}kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: 'nginx:1.2' # note\n";
        let (sites, _) = find("p.yaml", text);
        let Form::Reference(at) = &sites[0].form else {
            panic!("reference form")
        };
        assert_eq!(&text[at.start..at.end], "'nginx:1.2'");
    }

    #[test]
    fn finds_kustomize_entries() {
        let text = "images:\n- name: nginx\n  newName: ghcr.io/o/nginx\n  newTag: \"1.2\"\n- {name: redis, digest: sha256:ab}\n- name: plain\n";
        let (sites, _) = find("overlays/prod/kustomization.yaml", text);
        let got: Vec<_> = sites
            .iter()
            .map(|s| (s.name.as_str(), s.version(), s.matches("nginx")))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ghcr.io/o/nginx", "1.2".to_string(), true),
                ("redis", "sha256:ab".to_string(), false),
                ("plain", UNSET.to_string(), false),
            ]
        );
        let Form::Fields(f) = &sites[1].form else {
            panic!("fields")
        };
        assert!(f.flow);
        // Outside a kustomization file, `images:` is just data.
        assert!(find("other.yaml", text).0.is_empty());
        let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  images:\n  - name: web\n    newTag: v2\n";
        let (sites, _) = find("clusters/prod/apps.yaml", flux);
        assert_eq!(
            sites[0].holder,
            "Kustomization/flux-system/apps images[web]"
        );
        assert_eq!(sites[0].version(), "v2");
    }

    #[test]
    fn finds_helm_values_anywhere() {
        let text = "image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 7.2.4\nsidecar:\n  metricsImage: {repository: exporter, tag: \"\"}\n";
        assert_eq!(
            versions("values.yaml", text),
            vec![
                (
                    "docker.io/bitnami/redis".into(),
                    "7.2.4".into(),
                    "values image".into()
                ),
                (
                    "exporter".into(),
                    UNSET.into(),
                    "values sidecar.metricsImage".into()
                ),
            ]
        );
        let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: r}\nspec:\n  values:\n    image:\n      repository: ghcr.io/o/app\n      tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
        assert_eq!(versions("r.yaml", release)[0].1, "1.0.0");
    }

    #[test]
    fn finds_argocd_image_updater_overrides() {
        let text = "kustomize:\n  images:\n  - ghcr.io/o/web:1.2\n  - api=ghcr.io/o/api:3.0\n";
        let (sites, _) = find("apps/.argocd-source-web.yaml", text);
        let got: Vec<_> = sites
            .iter()
            .map(|s| (s.name.as_str(), s.version(), s.matches("api")))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ghcr.io/o/web", "1.2".to_string(), false),
                ("ghcr.io/o/api", "3.0".to_string(), true),
            ]
        );
    }

    #[test]
    fn keys_pair_sites_and_stay_unique() {
        let d = "kind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: x:1}\n";
        let text = format!("{d}---\n{d}");
        let (sites, _) = find("w.yaml", &text);
        let keys: Vec<_> = sites.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["Deployment/w#containers/a", "Deployment/w#containers/a~2"]
        );
    }

    #[test]
    fn finds_images_in_patches_inline_and_in_files() {
        let k = "resources:\n- ../base\npatches:\n- target: {kind: Deployment, name: web}\n  patch: |-\n    - op: replace\n      path: /spec/template/spec/containers/0/image\n      value: ghcr.io/acme/web:1.1\n- patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web}\n    spec:\n      template:\n        spec:\n          containers:\n          - {name: proxy, image: \"proxy:0.5\"}\n";
        let (sites, _) = find("prod/kustomization.yaml", k);
        let got: Vec<_> = sites
            .iter()
            .map(|s| (s.name.as_str(), s.version(), s.line, s.scope.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ghcr.io/acme/web", "1.1".to_string(), 8, Scope::Image),
                (
                    "proxy",
                    "0.5".to_string(),
                    17,
                    Scope::Container("Deployment/web#containers/proxy".into())
                ),
            ]
        );
        // The byte ranges are those of the file, so bump can edit in place.
        let Form::Reference(at) = &sites[1].form else {
            panic!("reference")
        };
        assert_eq!(&k[at.start..at.end], "\"proxy:0.5\"");
        let ops = "- op: add\n  path: /spec/template/spec/containers/-\n  value: {name: log, image: fluent/fluent-bit:3.0}\n";
        let (sites, _) = find("patch.yaml", ops);
        assert_eq!(sites[0].name, "fluent/fluent-bit");
        assert_eq!(
            sites[0].holder,
            "patch /spec/template/spec/containers/- container log"
        );
    }

    #[test]
    fn finds_chart_versions_source_refs_and_argocd_parameters() {
        let text = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: podinfo, namespace: flux-system}\nspec:\n  url: https://github.com/stefanprodan/podinfo\n  ref: {branch: main, tag: 6.0.0}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: podinfo}\nspec:\n  chart:\n    spec: {chart: podinfo, version: 6.1.0}\n  values:\n    image: ghcr.io/o/app:1.0\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  sources:\n  - {repoURL: https://charts.example.com, chart: web, targetRevision: 2.0.0, helm: {parameters: [{name: image.repository, value: ghcr.io/o/web}, {name: image.tag, value: 3.1.0}]}}\n  - {repoURL: https://github.com/o/cfg, targetRevision: v1.4.0}\n";
        let (sites, error) = find("apps.yaml", text);
        assert!(error.is_none());
        let got: Vec<_> = sites
            .iter()
            .map(|s| (s.kind, s.name.as_str(), s.version()))
            .collect();
        assert_eq!(
            got,
            vec![
                (VersionKind::Source, "podinfo", "6.0.0".to_string()),
                (VersionKind::Chart, "podinfo", "6.1.0".to_string()),
                (VersionKind::Image, "ghcr.io/o/app", "1.0".to_string()),
                (VersionKind::Chart, "web", "2.0.0".to_string()),
                (VersionKind::Image, "ghcr.io/o/web", "3.1.0".to_string()),
                (VersionKind::Source, "web", "v1.4.0".to_string()),
            ]
        );
        assert!(sites[0].matches("flux-system/podinfo"));
        assert!(!sites[0].matches("other"));
        // `image: repo:tag` strings are values only where values are.
        let compose = "services:\n  web:\n    image: nginx:1.2\n";
        assert!(find("docker-compose.yaml", compose).0.is_empty());
        assert_eq!(find("values-prod.yaml", compose).0.len(), 1);
    }

    #[test]
    fn finds_values_kept_in_configmaps() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: podinfo-values, namespace: apps}\ndata:\n  values.yaml: |\n    image:\n      repository: ghcr.io/stefanprodan/podinfo\n      tag: 6.5.0\n    redis: {image: \"redis:7.2\"}\n  other: |\n    image: {repository: not/values, tag: \"1\"}\n";
        let (sites, _) = find("apps/values.yaml", text);
        let got: Vec<_> = sites
            .iter()
            .map(|s| (s.name.as_str(), s.version(), s.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ghcr.io/stefanprodan/podinfo", "6.5.0".to_string(), 7),
                ("redis", "7.2".to_string(), 9),
            ]
        );
        let Form::Fields(f) = &sites[0].form else {
            panic!("fields")
        };
        let tag = f.tag.as_ref().expect("tag");
        assert_eq!(&text[tag.start..tag.end], "6.5.0");
    }
}
