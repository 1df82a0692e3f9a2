//! Effective versions: of the places an app's inputs name an image (or a chart, or a source),
//! which one decides what the app deploys.
//!
//! Each version site of an app gets a [`Rank`]: how late in the build its controller applies
//! it. For kustomize (kubernetes-sigs/kustomize api/krusty: a base is built, transformers
//! included, before the overlay that lists it; within one kustomization resources come
//! first, then patches, then the `images` transformer), a site in an overlay beats one in its
//! base, and `images:` beats a patch, which beats the resource. The controller's own settings
//! come after the whole build (Flux `spec.images`/`spec.patches`, Argo CD
//! `spec.source.kustomize`/`helm`), and Argo CD Image Updater's `.argocd-source[-<app>].yaml`
//! is merged over those (argoproj/argo-cd reposerver `mergeSourceParameters`). For Helm, the
//! chart's values come first, then values files in order, then inline values and parameters.
//!
//! A later site shadows an earlier one when it sets a version for the same thing: the same
//! container (a strategic-merge patch and its base), the same values path, or every use of the
//! image (a kustomize `images:` entry, an Image Updater override, a JSON 6902 patch).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};

use super::{App, Controller, Recipe, RepoView};
use crate::manifest::kustomize::{join, normalize};
use crate::manifest::sites::{self, Scope, VersionKind, VersionSite};
use crate::manifest::tree::under;
use crate::manifest::yaml::{self, Node};

/// How late a site applies in its app's build; a greater rank overrides a lesser one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    /// 0: the source's files; 1: the controller object's spec; 2: Image Updater overrides.
    pub stage: u8,
    /// Minus the kustomize depth (an overlay is 0, its base -1, ...).
    pub level: i32,
    /// Within a level: resources 0, patches 1, `images:` 2; for Helm the values layers in
    /// the order they are merged.
    pub order: u32,
}

impl Rank {
    /// True for a site that overrides what the manifests themselves say (an overlay's
    /// `images:`, a patch, controller settings, an Image Updater file), as opposed to the
    /// base manifest or the chart's default values.
    pub fn is_override(&self) -> bool {
        self.stage > 0 || self.order != RESOURCE
    }
}

/// One version site of an app, with where it is and how late it applies.
#[derive(Clone, Debug)]
pub struct AppSite {
    /// Repository path of the file.
    pub file: String,
    pub site: VersionSite,
    pub rank: Rank,
}

/// Whether a site decides the app's version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing later sets this version: editing the site changes what the app deploys.
    Wins,
    /// A later site sets it (index into the same list): editing this one changes nothing.
    ShadowedBy(usize),
}

const RESOURCE: u32 = 0;
const PATCH: u32 = 1;
const IMAGES: u32 = 2;

/// Every version site an app's build reads, ranked.
pub fn app_sites(app: &App, repo: &RepoView) -> Vec<AppSite> {
    let mut walk = Walk {
        repo,
        out: Vec::new(),
        seen: BTreeSet::new(),
    };
    walk.recipe(&app.recipe);
    if let Some(file) = &app.defined_file {
        walk.controller_spec(app, file);
    }
    if app.controller == Controller::Argocd
        && let Some(path) = &app.path
    {
        // The repo-server reads `.argocd-source.yaml`, then `.argocd-source-<app>.yaml`.
        for (i, name) in [
            ".argocd-source.yaml".to_string(),
            format!(".argocd-source-{}.yaml", app.name),
        ]
        .iter()
        .enumerate()
        {
            walk.file(&join(path, name), 2, 0, i as u32, |_| true);
        }
    }
    walk.out
}

/// The verdict on each site of `sites` that names `name` (of `kind`), in the same order;
/// `None` for sites of other names.
pub fn verdicts(sites: &[AppSite], kind: VersionKind, name: &str) -> Vec<Option<Verdict>> {
    let matching = |s: &AppSite| s.site.kind == kind && s.site.matches(name);
    sites
        .iter()
        .map(|s| {
            if !matching(s) {
                return None;
            }
            let by = sites
                .iter()
                .enumerate()
                .filter(|(_, t)| {
                    matching(t)
                        && t.rank > s.rank
                        && t.site.sets_version()
                        && covers(&t.site.scope, &s.site.scope)
                })
                .max_by_key(|(_, t)| t.rank)
                .map(|(i, _)| i);
            Some(by.map_or(Verdict::Wins, Verdict::ShadowedBy))
        })
        .collect()
}

/// True when a version set for `later` also decides `earlier`.
fn covers(later: &Scope, earlier: &Scope) -> bool {
    match (later, earlier) {
        (Scope::Image, Scope::Image | Scope::Container(_)) => true,
        // Helm values are merged by path; a kustomize images entry does not reach them
        // (it applies to rendered containers, which values sites are not).
        (Scope::Image, Scope::Values(_)) => false,
        (a, b) => a == b,
    }
}

struct Walk<'a, 'r> {
    repo: &'a RepoView<'r>,
    out: Vec<AppSite>,
    /// (file, stage) pairs read, so a file reached twice is ranked once, at its first place.
    seen: BTreeSet<(String, u8)>,
}

impl Walk<'_, '_> {
    /// A file's text, listed or not (Image Updater files are hidden files).
    fn text(&self, path: &str) -> Option<String> {
        match self.repo.set.read_path(path)? {
            Ok(bytes) => String::from_utf8(bytes).ok(),
            Err(_) => None,
        }
    }

    /// Reads `path`'s sites at a rank; `keep` filters them (a controller file holds other
    /// objects too).
    fn file(
        &mut self,
        path: &str,
        stage: u8,
        level: i32,
        order: u32,
        keep: impl Fn(&VersionSite) -> bool,
    ) {
        if !self.seen.insert((path.to_string(), stage)) {
            return;
        }
        let Some(text) = self.text(path) else {
            return;
        };
        for site in sites::find(path, &text).0 {
            if keep(&site) {
                let order = if stage == 0 && order == RESOURCE {
                    kustomization_order(path, &site)
                } else {
                    order
                };
                self.out.push(AppSite {
                    file: path.to_string(),
                    site,
                    rank: Rank {
                        stage,
                        level,
                        order,
                    },
                });
            }
        }
    }

    fn recipe(&mut self, recipe: &Recipe) {
        match recipe {
            Recipe::Kustomize { dir, overlay } => {
                self.kustomization(dir, 0);
                for c in &overlay.components {
                    self.kustomization(c, -1);
                }
                self.overlay_patches(&overlay.patches);
            }
            Recipe::Generated { dir, overlay } => {
                let (files, subdirs) = super::render::generated_resources(self.repo, dir);
                for f in files {
                    self.file(&f, 0, 0, RESOURCE, |_| true);
                }
                for d in subdirs {
                    self.kustomization(&d, -1);
                }
                for c in &overlay.components {
                    self.kustomization(c, -1);
                }
                self.overlay_patches(&overlay.patches);
            }
            Recipe::Directory { dir, recursive, .. } => {
                let files: Vec<String> = self
                    .repo
                    .files_under(dir, *recursive)
                    .iter()
                    .map(|f| f.display.to_string())
                    .collect();
                for f in files {
                    self.file(&f, 0, 0, RESOURCE, |_| true);
                }
            }
            Recipe::Helm(chart) => {
                if let super::ChartSource::Local(dir) = &chart.chart {
                    self.file(&join(dir, "values.yaml"), 0, 0, 0, |_| true);
                }
                for (i, f) in chart.values_files.iter().enumerate() {
                    self.file(f, 0, 0, 1 + i as u32, |_| true);
                }
            }
            Recipe::Multi(parts) => {
                for p in parts {
                    self.recipe(p);
                }
            }
            Recipe::None { .. } => {}
        }
    }

    /// Patch files a controller spec lists (Flux `spec.patches[].path` made repository paths).
    fn overlay_patches(&mut self, patches: &[serde_json::Value]) {
        for p in patches {
            if let Some(path) = p.get("path").and_then(|p| p.as_str()) {
                self.file(path, 1, 0, PATCH, |_| true);
            }
        }
    }

    /// A kustomize directory at `level`, and everything it builds on below it.
    fn kustomization(&mut self, dir: &str, level: i32) {
        let Some(file) = self.repo.kustomization_of(dir) else {
            // A plain directory listed as a resource: its manifests, as kustomize reads them.
            let files: Vec<String> = self
                .repo
                .files_under(dir, false)
                .iter()
                .map(|f| f.display.to_string())
                .collect();
            for f in files {
                self.file(&f, 0, level, RESOURCE, |_| true);
            }
            return;
        };
        if self.seen.contains(&(file.to_string(), 0)) {
            return;
        }
        let Some(text) = self.text(&file) else {
            return;
        };
        // The kustomization's own `images:` and inline patches.
        self.file(&file, 0, level, RESOURCE, |_| true);
        let stream = yaml::parse_stream(&text);
        let Some(root) = stream.documents.into_iter().find_map(|d| d.root) else {
            return;
        };
        let local = |item: &Node| -> Option<String> {
            item.as_str()
                .filter(|p| !(p.contains("://") || p.contains("?ref=") || p.contains('\n')))
                .map(|p| normalize(&join(dir, p)))
        };
        for key in ["patches", "patchesJson6902"] {
            for p in root.get(key).and_then(Node::as_seq).unwrap_or_default() {
                if let Some(path) = p.get("path").and_then(local) {
                    self.file(&path, 0, level, PATCH, |_| true);
                }
            }
        }
        for p in root
            .get("patchesStrategicMerge")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            if let Some(path) = local(p) {
                self.file(&path, 0, level, PATCH, |_| true);
            }
        }
        for key in ["resources", "bases", "components"] {
            for item in root.get(key).and_then(Node::as_seq).unwrap_or_default() {
                let Some(path) = local(item) else { continue };
                if self.repo.is_dir(&path) && self.repo.entry(&path).is_none() {
                    self.kustomization(&path, level - 1);
                } else {
                    self.file(&path, 0, level, RESOURCE, |_| true);
                }
            }
        }
    }

    /// The sites of the app's own controller object (its file may hold others).
    fn controller_spec(&mut self, app: &App, file: &str) {
        let Some((namespace, name)) = &app.object else {
            return;
        };
        let owners = [
            format!("{}/{namespace}/{name} ", app.kind),
            format!("{}/{name} ", app.kind),
        ];
        let mine = |s: &VersionSite| owners.iter().any(|o| s.key.starts_with(o.as_str()));
        if !self.seen.insert((file.to_string(), 1)) {
            return;
        }
        let Some(text) = self.text(file) else {
            return;
        };
        for site in sites::find(file, &text).0 {
            if !mine(&site) {
                continue;
            }
            let order = controller_order(&site);
            self.out.push(AppSite {
                file: file.to_string(),
                site,
                rank: Rank {
                    stage: 1,
                    level: 0,
                    order,
                },
            });
        }
    }
}

/// Where a site of a kustomization file applies: its `images:` after its patches.
fn kustomization_order(path: &str, site: &VersionSite) -> u32 {
    let name = path.rsplit('/').next().unwrap_or(path);
    if !matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    ) {
        return RESOURCE;
    }
    if site.key.starts_with("images[") {
        IMAGES
    } else {
        PATCH
    }
}

/// Where a controller spec's site applies: patches, then images (kustomize); values, then
/// parameters (Helm).
fn controller_order(site: &VersionSite) -> u32 {
    let key = &site.key;
    if key.contains("helm.parameters[") {
        3
    } else if key.contains(" images[") || key.contains("argocd images[") {
        IMAGES
    } else if site.kind != VersionKind::Image {
        RESOURCE
    } else if key.contains("patches") || key.contains("json6902") {
        PATCH
    } else {
        // Inline values (`spec.values`, `valuesObject`).
        IMAGES
    }
}

/// What `bump` should edit for one name across the repository's apps.
#[derive(Debug, Default)]
pub struct Selection {
    /// The sites to edit, as (repository path, site key).
    pub edit: HashSet<(String, String)>,
    /// For each site to edit, the apps whose version it decides.
    pub apps_of: HashMap<(String, String), Vec<String>>,
    /// Sites of the name left alone, and why.
    pub kept: Vec<Kept>,
    /// True when some app (or file) names it at all.
    pub found: bool,
}

/// A site `bump` leaves alone.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kept {
    pub file: String,
    pub line: u32,
    pub holder: String,
    #[serde(skip)]
    pub key: String,
    pub version: String,
    pub apps: Vec<String>,
    pub reason: KeptReason,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum KeptReason {
    /// A later site decides the version (`file:line`); `--all-sources` edits this one too.
    Shadowed { by: String },
    /// The app holds an older version on purpose (an override), while others run `newest`;
    /// `--path` naming the app bumps it.
    Pinned { newest: String },
    /// The site also decides the version of apps outside `--path`.
    Shared { with: Vec<String> },
}

/// One app (or loose file) that names the wanted version: its name, whether it is selected,
/// its sites and their verdicts.
type Unit = (String, bool, Vec<AppSite>, Vec<Option<Verdict>>);

/// What to select.
pub struct Want<'a> {
    pub kind: VersionKind,
    pub name: &'a str,
    /// Repository paths; apps (and loose files) under or around them. Empty: all.
    pub paths: &'a [String],
    /// Edit shadowed sites too.
    pub all_sources: bool,
}

/// Chooses the sites to edit: for each app that uses the name, the site that wins; never a
/// shadowed one (unless asked), never an app's deliberate older pin (unless `--path` names it),
/// never a site shared with an app outside `--path`.
pub fn select(apps: &[App], repo: &RepoView, want: &Want<'_>) -> Selection {
    let mut out = Selection::default();
    let names = |app: &App, p: &str| -> bool {
        app.path
            .as_deref()
            .is_some_and(|path| under(path, p) || under(p, path))
            || app.defined_file.as_deref().is_some_and(|f| under(f, p))
    };
    // A path inside no app (a base that overlays share) names the files under it: their
    // places are edited as they are, whatever overrides them.
    let (app_paths, direct): (Vec<&String>, Vec<&String>) = want
        .paths
        .iter()
        .partition(|p| apps.iter().any(|a| names(a, p)));
    let named = |app: &App| app_paths.iter().any(|p| names(app, p));
    let in_direct = |file: &str| direct.iter().any(|p| under(file, p));
    // Each app's sites of the name, with verdicts; loose files are apps of their own.
    let mut units: Vec<Unit> = Vec::new();
    let mut covered: HashSet<(String, String)> = HashSet::new();
    let mut direct_units: HashSet<usize> = HashSet::new();
    for app in apps {
        let sites = app_sites(app, repo);
        covered.extend(sites.iter().map(|s| (s.file.clone(), s.site.key.clone())));
        let verdicts = verdicts(&sites, want.kind, want.name);
        if verdicts.iter().any(Option::is_some) {
            let selected = want.paths.is_empty() || named(app);
            units.push((app.name.clone(), selected, sites, verdicts));
        }
    }
    for entry in &repo.set.files {
        let file = entry.display.to_string();
        let Ok(text) = repo.read_text(&file) else {
            continue;
        };
        // Sites no app reads (a file of objects no controller applies, objects beside a
        // controller object in its file) stand on their own.
        let sites: Vec<AppSite> = sites::find(&file, &text)
            .0
            .into_iter()
            .filter(|site| in_direct(&file) || !covered.contains(&(file.clone(), site.key.clone())))
            .map(|site| AppSite {
                file: file.clone(),
                site,
                rank: Rank {
                    stage: 0,
                    level: 0,
                    order: RESOURCE,
                },
            })
            .collect();
        let verdicts = verdicts(&sites, want.kind, want.name);
        if verdicts.iter().any(Option::is_some) {
            let selected = want.paths.is_empty() || want.paths.iter().any(|p| under(&file, p));
            units.push((file.clone(), selected, sites, verdicts));
            if in_direct(&file) {
                direct_units.insert(units.len() - 1);
            }
        }
    }
    out.found = !units.is_empty();

    // The version each app deploys: its latest winning site's.
    let deployed = |sites: &[AppSite], verdicts: &[Option<Verdict>]| -> Option<(usize, String)> {
        sites
            .iter()
            .enumerate()
            .filter(|(i, _)| verdicts[*i] == Some(Verdict::Wins))
            .max_by_key(|(_, s)| s.rank)
            .map(|(i, s)| (i, s.site.version()))
    };
    // Only versions that order (not ranges, branches or `latest`) can be older than others.
    let newest = units
        .iter()
        .filter(|u| u.1)
        .filter_map(|u| deployed(&u.2, &u.3).map(|(_, v)| v))
        .filter(|v| is_plain_version(v))
        .max_by(|a, b| compare_versions(a, b));
    let key_of = |s: &AppSite| (s.file.clone(), s.site.key.clone());
    let kept = |s: &AppSite, app: &str, reason: KeptReason| Kept {
        file: s.file.clone(),
        line: s.site.line,
        holder: s.site.holder.clone(),
        key: s.site.key.clone(),
        version: s.site.version(),
        apps: vec![app.to_string()],
        reason,
    };
    // Winning sites of apps not being bumped: editing them would bump those apps too.
    let mut held: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut pinned_apps: HashSet<usize> = HashSet::new();
    for (u, (name, selected, sites, verdicts)) in units.iter().enumerate() {
        let pinned = want.paths.is_empty()
            && deployed(sites, verdicts).is_some_and(|(i, v)| {
                sites[i].rank.is_override()
                    && is_plain_version(&v)
                    && newest
                        .as_ref()
                        .is_some_and(|n| compare_versions(&v, n) == Ordering::Less)
            });
        if pinned {
            pinned_apps.insert(u);
        }
        if !selected || pinned {
            for (i, s) in sites.iter().enumerate() {
                if verdicts[i] == Some(Verdict::Wins) {
                    held.entry(key_of(s)).or_default().push(name.clone());
                }
            }
        }
    }
    for (u, (name, selected, sites, verdicts)) in units.iter().enumerate() {
        if !selected {
            continue;
        }
        for (i, s) in sites.iter().enumerate() {
            let Some(verdict) = &verdicts[i] else {
                continue;
            };
            let key = key_of(s);
            if pinned_apps.contains(&u) {
                if *verdict == Verdict::Wins {
                    let newest = newest.clone().unwrap_or_default();
                    out.kept.push(kept(s, name, KeptReason::Pinned { newest }));
                }
                continue;
            }
            let wins = *verdict == Verdict::Wins;
            if !wins && !want.all_sources {
                if let Verdict::ShadowedBy(j) = verdict {
                    let by = &sites[*j];
                    out.kept.push(kept(
                        s,
                        name,
                        KeptReason::Shadowed {
                            by: format!("{}:{}", by.file, by.site.line),
                        },
                    ));
                }
                continue;
            }
            if let Some(others) = held
                .get(&key)
                .filter(|_| !want.paths.is_empty() && !direct_units.contains(&u))
            {
                out.kept.push(kept(
                    s,
                    name,
                    KeptReason::Shared {
                        with: others.clone(),
                    },
                ));
                continue;
            }
            out.apps_of
                .entry(key.clone())
                .or_default()
                .push(name.clone());
            out.edit.insert(key);
        }
    }
    // A site edited for one app is not "kept" because another app shadows it; a site kept
    // for several apps is listed once.
    let edit = &out.edit;
    let mut merged: Vec<Kept> = Vec::new();
    for k in std::mem::take(&mut out.kept) {
        if edit.contains(&(k.file.clone(), k.key.clone())) {
            continue;
        }
        match merged
            .iter_mut()
            .find(|m| m.file == k.file && m.key == k.key)
        {
            Some(m) => m.apps.extend(k.apps),
            None => merged.push(k),
        }
    }
    out.kept = merged;
    out
}

/// What [`select`] chooses in the working tree at `root`, with the files holding the sites to
/// edit (hidden Image Updater files included) and the problems met listing the tree.
pub fn select_in_worktree(
    root: &std::path::Path,
    remotes: &[String],
    config: &crate::config::Config,
    want: &Want<'_>,
) -> (Selection, crate::manifest::FileSet, Vec<String>) {
    let set = crate::manifest::FileSet::from_root(root);
    let listing = super::load(
        &set,
        remotes,
        config,
        &super::Options {
            changed: Some(Default::default()),
            ..super::Options::default()
        },
    );
    let mut apps = listing.apps;
    apps.extend(plain_builds(&set, &apps));
    let view = RepoView::new(&set, remotes);
    let selection = select(&apps, &view, want);
    let mut files: Vec<String> = selection.edit.iter().map(|(f, _)| f.clone()).collect();
    files.sort();
    files.dedup();
    let problems = set
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.file, p.message))
        .collect();
    (
        selection,
        crate::manifest::FileSet::worktree_files(root, &files),
        problems,
    )
}

/// The kustomize and Helm directories no controller app builds and no kustomization builds
/// on, as the plain apps a full listing has (without rendering them); loose files are taken
/// one by one by [`select`].
fn plain_builds(set: &crate::manifest::FileSet, apps: &[App]) -> Vec<App> {
    use crate::manifest::load::render_roots;
    use crate::manifest::render::Renderer;
    let included = crate::manifest::kustomize::included(set);
    let claimed = |dir: &str| {
        apps.iter()
            .any(|a| a.rendered() && a.inputs.iter().any(|i| under(dir, i)))
    };
    let mut out = Vec::new();
    for (dir, root) in render_roots(&set.files) {
        if included.contains(&dir) || claimed(&dir) {
            continue;
        }
        let recipe = match root.renderer {
            Renderer::Kustomize => Recipe::Kustomize {
                dir: dir.clone(),
                overlay: super::Overlay::default(),
            },
            Renderer::Helm => Recipe::Helm(super::HelmChart {
                chart: super::ChartSource::Local(dir.clone()),
                release: dir.rsplit('/').next().unwrap_or("release").to_string(),
                namespace: None,
                values_files: Vec::new(),
                values: Vec::new(),
                parameters: Vec::new(),
                skip_crds: false,
                post_render: super::Overlay::default(),
            }),
        };
        let mut app = App::new(Controller::Plain, "Kustomize", recipe);
        app.name = if dir.is_empty() {
            ".".into()
        } else {
            dir.clone()
        };
        app.inputs.insert(dir.clone());
        app.path = Some(dir);
        out.push(app);
    }
    out
}

/// `1.2.3`, `v1.2`, `1.2.3-rc.1`, `8.0`: a version that orders, unlike a range, a branch or
/// `latest`.
fn is_plain_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next().unwrap_or("");
    !core.is_empty()
        && core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Orders versions as people read them: numeric parts as numbers (`1.10` after `1.9`, an
/// optional `v` ignored), anything else as text.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn parts(v: &str) -> Vec<Result<u64, &str>> {
        v.trim_start_matches('v')
            .split(['.', '-', '+', '_'])
            .map(|p| p.parse::<u64>().map_err(|_| p))
            .collect()
    }
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let o = match (x, y) {
            (Ok(x), Ok(y)) => x.cmp(y),
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(_), Ok(_)) => Ordering::Less,
            (Err(x), Err(y)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::FileSet;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        }
        dir
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: \"app:1.0\"}\n      - {name: log, image: \"app:1.0\"}\n";

    /// (file, holder, verdict) of every site of `name` in the app built from `dir`.
    fn judged(dir: &tempfile::TempDir, app_dir: &str, name: &str) -> Vec<(String, String, String)> {
        let set = FileSet::from_root(dir.path());
        let view = RepoView::new(&set, &[]);
        let mut app = App::new(
            Controller::Plain,
            "Kustomize",
            Recipe::Kustomize {
                dir: app_dir.into(),
                overlay: Default::default(),
            },
        );
        app.path = Some(app_dir.into());
        let sites = app_sites(&app, &view);
        let verdicts = verdicts(&sites, VersionKind::Image, name);
        sites
            .iter()
            .zip(verdicts)
            .filter_map(|(s, v)| {
                let v = match v? {
                    Verdict::Wins => "wins".to_string(),
                    Verdict::ShadowedBy(i) => format!("shadowed by {}", sites[i].file),
                };
                Some((s.file.clone(), s.site.holder.clone(), v))
            })
            .collect()
    }

    #[test]
    fn an_overlay_images_entry_shadows_every_container_of_the_base() {
        let dir = tree(&[
            ("base/deployment.yaml", DEPLOYMENT),
            ("base/kustomization.yaml", "resources:\n- deployment.yaml\n"),
            (
                "prod/kustomization.yaml",
                "resources:\n- ../base\nimages:\n- {name: app, newTag: \"2.0\"}\n",
            ),
        ]);
        assert_eq!(
            judged(&dir, "prod", "app"),
            vec![
                (
                    "prod/kustomization.yaml".into(),
                    "images[app]".into(),
                    "wins".into()
                ),
                (
                    "base/deployment.yaml".into(),
                    "Deployment/web container web".into(),
                    "shadowed by prod/kustomization.yaml".into()
                ),
                (
                    "base/deployment.yaml".into(),
                    "Deployment/web container log".into(),
                    "shadowed by prod/kustomization.yaml".into()
                ),
            ]
        );
        // An entry that renames the image and sets no version shadows nothing.
        let dir = tree(&[
            ("base/deployment.yaml", DEPLOYMENT),
            ("base/kustomization.yaml", "resources:\n- deployment.yaml\n"),
            (
                "prod/kustomization.yaml",
                "resources:\n- ../base\nimages:\n- {name: app, newName: app}\n",
            ),
        ]);
        assert!(
            judged(&dir, "prod", "app")
                .iter()
                .filter(|s| s.0.starts_with("base/"))
                .all(|s| s.2 == "wins")
        );
    }

    #[test]
    fn a_strategic_merge_patch_shadows_only_its_container() {
        let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: log, image: \"app:1.1\"}\n";
        let dir = tree(&[
            ("base/deployment.yaml", DEPLOYMENT),
            ("base/kustomization.yaml", "resources:\n- deployment.yaml\n"),
            (
                "prod/kustomization.yaml",
                "resources:\n- ../base\npatches:\n- path: log.yaml\n",
            ),
            ("prod/log.yaml", patch),
        ]);
        let got = judged(&dir, "prod", "app");
        assert!(got.contains(&(
            "base/deployment.yaml".into(),
            "Deployment/web container web".into(),
            "wins".into()
        )));
        assert!(got.contains(&(
            "base/deployment.yaml".into(),
            "Deployment/web container log".into(),
            "shadowed by prod/log.yaml".into()
        )));
    }

    #[test]
    fn versions_order_as_people_read_them() {
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("v2.0.0", "1.99"), Ordering::Greater);
        assert_eq!(compare_versions("1.2", "1.2"), Ordering::Equal);
        assert!(is_plain_version("v1.2.3-rc.1"));
        assert!(!is_plain_version(">=1.0.0"));
        assert!(!is_plain_version("latest"));
    }
}
