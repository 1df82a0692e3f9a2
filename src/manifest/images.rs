//! Where images are named in manifest files, with the bytes that name them.
//!
//! Three shapes cover GitOps repositories:
//! - containers of workloads (`image: ghcr.io/org/app:1.2`), in every container list;
//! - kustomize `images:` entries (`name`, `newName`, `newTag`, `digest`) in kustomization files
//!   and in Flux `Kustomization` objects' `spec.images`;
//! - Helm-style values (`image: {registry, repository, tag, digest}`) wherever they sit: a
//!   chart's values file, a HelmRelease's `spec.values`, an Argo CD Application's values;
//! - the `.argocd-source-<app>.yaml` files Argo CD Image Updater commits
//!   (`kustomize.images: [name=ref:tag]`).
//!
//! Each place is an [`ImageSite`] carrying the byte range of every scalar `bump` may rewrite.

use granit_parser::ScalarStyle;

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

/// How a site spells its version.
#[derive(Clone, Debug)]
pub enum Form {
    /// One scalar holds the whole reference (`image: ghcr.io/org/app:1.2`).
    Reference(ScalarAt),
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

/// One place a file names an image.
#[derive(Clone, Debug)]
pub struct ImageSite {
    /// The image name as deployed: `newName` over `name` for kustomize, `registry/repository`
    /// for values, the reference's name for containers.
    pub name: String,
    /// Other names the site answers to (a kustomize entry's original `name`).
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
    /// End offsets of the site's scalars, to find setter comments on their lines.
    pub ends: Vec<usize>,
}

impl ImageSite {
    /// The version as written: tag, digest, or `tag@digest`. A reference without either
    /// means `latest`, as Kubernetes reads it; split fields without either are [`UNSET`].
    pub fn version(&self) -> String {
        match (&self.tag, &self.digest, &self.form) {
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
        same_image(&self.name, name) || self.aliases.iter().any(|a| same_image(a, name))
    }
}

/// The image sites of one file, and the YAML error that stopped reading it, if any (sites
/// before the error are still returned).
pub fn find(path: &str, text: &str) -> (Vec<ImageSite>, Option<YamlError>) {
    // Every shape has a key containing "image" or "Image"; most files have neither.
    if !text.contains("mage") {
        return (Vec::new(), None);
    }
    // Offsets are reported in the file's bytes, so a byte-order mark is counted.
    let (base, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ('\u{feff}'.len_utf8(), rest),
        None => (0, text),
    };
    let stream = yaml::parse_stream(body);
    let mut finder = Finder {
        body,
        base,
        sites: Vec::new(),
    };
    let file_name = path.rsplit('/').next().unwrap_or(path);
    for doc in &stream.documents {
        let Some(root) = &doc.root else { continue };
        finder.document(root, doc.index, file_name);
    }
    let mut sites = finder.sites;
    dedupe_keys(&mut sites);
    (sites, stream.error)
}

struct Finder<'a> {
    body: &'a str,
    base: usize,
    sites: Vec<ImageSite>,
}

impl Finder<'_> {
    fn document(&mut self, root: &Node, index: usize, file_name: &str) {
        let kustomization_file = matches!(
            file_name,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        );
        let argocd_source = file_name.starts_with(".argocd-source");
        let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
        if kustomization_file || api_version.starts_with("kustomize.config.k8s.io/") {
            self.kustomize_images(root.get("images"), "");
        } else if argocd_source {
            self.argocd_images(root.path(&["kustomize", "images"]));
        } else if kind == "Kustomization" && api_version.starts_with("kustomize.toolkit.fluxcd.io/")
        {
            let owner = format!("{} ", object_label(root, index));
            self.kustomize_images(root.path(&["spec", "images"]), &owner);
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

    fn containers(&mut self, obj: &Node, index: usize) {
        let Some(kind) = obj.get("kind").and_then(Node::as_str) else {
            return;
        };
        let Some(spec) = workload::image_pod_spec(obj, kind) else {
            return;
        };
        let owner = object_label(obj, index);
        for c in workload::containers(spec) {
            let Some(node) = c.node.get("image") else {
                continue;
            };
            let Some(at) = self.scalar(node) else {
                continue;
            };
            // Templated or otherwise unparsable references are not images we can reason about.
            let Some(reference) = ImageRef::parse(&at.text) else {
                continue;
            };
            let name = c.label();
            self.sites.push(ImageSite {
                name: reference.name,
                aliases: Vec::new(),
                tag: reference.tag,
                digest: reference.digest,
                key: format!("{owner}#{}/{name}", c.list),
                holder: format!("{owner} container {name}"),
                line: at.line,
                ends: vec![at.end],
                form: Form::Reference(at),
            });
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
            self.sites.push(ImageSite {
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
            });
        }
    }

    /// Argo CD Image Updater's kustomize overrides: `ref:tag` or `name=ref:tag` strings.
    fn argocd_images(&mut self, images: Option<&Node>) {
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
            let key = format!("argocd images[{}]", original.unwrap_or(&parsed.name));
            self.sites.push(ImageSite {
                aliases: original.map(str::to_string).into_iter().collect(),
                name: parsed.name,
                tag: parsed.tag,
                digest: parsed.digest,
                holder: key.clone(),
                key,
                line: at.line,
                ends: vec![at.end],
                form: Form::Reference(at),
            });
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

    /// Helm-style `image: {repository, tag}` blocks anywhere in the document.
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
                self.values_image(&entry.value, path);
            }
            self.values(&entry.value, path);
            path.pop();
        }
    }

    fn values_image(&mut self, node: &Node, path: &[String]) {
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
        let tag = self.field(entries, "tag");
        let digest_entry = find_entry(entries, "digest");
        let digest = self.field(entries, "digest");
        let name = match &registry {
            Some(r) => format!("{}/{}", r.text.trim_end_matches('/'), repository.text),
            None => repository.text.clone(),
        };
        let mut ends = vec![repository.end];
        ends.extend(registry.iter().chain(&tag).chain(&digest).map(|s| s.end));
        let dotted = path[1..].join(".").replace(".[", "[");
        self.sites.push(ImageSite {
            name,
            aliases: Vec::new(),
            tag: tag.as_ref().map(|t| t.text.clone()),
            digest: digest.as_ref().map(|d| d.text.clone()),
            key: path.join("."),
            holder: format!("values {dotted}"),
            line: repository.line,
            ends,
            form: Form::Fields(Fields {
                tag,
                digest,
                tag_key: "tag",
                digest_supported: digest_entry.is_some(),
                after: repository,
                key_col: repo_entry.key_pos.col,
                flow: self.is_flow(node),
            }),
        });
    }
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
fn dedupe_keys(sites: &mut [ImageSite]) {
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
}
