//! Tag-bump detection: the image changes a commit made, from the image sites of the files it
//! touched before and after. Works for bumps by hand, by `bump`, by Flux image automation or
//! by Argo CD Image Updater alike, since it only looks at what the manifests say.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::manifest::image::same_image;
use crate::manifest::sites::{Scope, VersionKind, VersionSite};

/// One image's change in a commit. Several places moving the same image from the same old
/// version to the same new one are one bump.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bump {
    /// Image, chart or source (records written before charts and sources were read are
    /// images).
    #[serde(default)]
    pub kind: VersionKind,
    /// The image, chart or source name.
    pub image: String,
    pub old: String,
    pub new: String,
    /// Repo-relative files where it changed.
    #[serde(default)]
    pub files: Vec<String>,
    /// Where in those files: `Deployment/web container web`, `images[nginx]`.
    #[serde(default)]
    pub objects: Vec<String>,
}

/// The image sites of one file version.
pub struct FileSites<'a> {
    pub path: &'a str,
    pub sites: &'a [VersionSite],
}

/// The bumps between the sites of the touched files before and after a commit.
///
/// Sites pair up by file and key (object and container, kustomize entry, values path); what
/// is left pairs by key alone when that is unambiguous, so a manifest moved to another file
/// in the same commit still pairs.
pub fn bumps(before: &[FileSites<'_>], after: &[FileSites<'_>]) -> Vec<Bump> {
    detect(before, after).bumps
}

/// What a commit changed: the bumps of paired sites, and the override sites that appeared or
/// vanished (an Image Updater file created, an `images:` entry added or removed), whose old
/// or new version is whatever they shadow, found by the caller in the other tree.
pub struct Detected<'a> {
    pub bumps: Vec<Bump>,
    pub appeared: Vec<(&'a str, &'a VersionSite)>,
    pub vanished: Vec<(&'a str, &'a VersionSite)>,
}

/// A site that overrides a version set elsewhere, rather than deploying something new.
fn is_override(site: &VersionSite) -> bool {
    site.kind == VersionKind::Image
        && site.sets_version()
        && matches!(site.scope, Scope::Image | Scope::Values(_))
}

/// [`bumps`], with the unpaired override sites.
pub fn detect<'a>(before: &[FileSites<'a>], after: &[FileSites<'a>]) -> Detected<'a> {
    let mut old_by_place: HashMap<(&str, &str), &VersionSite> = HashMap::new();
    for f in before {
        for s in f.sites {
            old_by_place.insert((f.path, &s.key), s);
        }
    }
    let mut pairs: Vec<(&str, &VersionSite, &VersionSite)> = Vec::new();
    let mut unpaired_new: Vec<(&str, &VersionSite)> = Vec::new();
    for f in after {
        for s in f.sites {
            match old_by_place.remove(&(f.path, s.key.as_str())) {
                Some(old) => pairs.push((f.path, old, s)),
                None => unpaired_new.push((f.path, s)),
            }
        }
    }
    let mut old_by_key: HashMap<&str, Vec<&VersionSite>> = HashMap::new();
    for ((_, key), site) in &old_by_place {
        old_by_key.entry(key).or_default().push(site);
    }
    let new_key_count = unpaired_new
        .iter()
        .fold(HashMap::<&str, usize>::new(), |mut m, (_, s)| {
            *m.entry(&s.key).or_default() += 1;
            m
        });
    let mut appeared = Vec::new();
    let mut paired_old: Vec<*const VersionSite> = Vec::new();
    for (path, new) in unpaired_new {
        if let Some([old]) = old_by_key.get(new.key.as_str()).map(Vec::as_slice)
            && new_key_count[new.key.as_str()] == 1
        {
            pairs.push((path, old, new));
            paired_old.push(*old as *const VersionSite);
        } else if is_override(new) {
            appeared.push((path, new));
        }
    }
    let mut vanished: Vec<(&str, &VersionSite)> = old_by_place
        .iter()
        .filter(|(_, s)| is_override(s) && !paired_old.contains(&(**s as *const VersionSite)))
        .map(|((path, _), s)| (*path, *s))
        .collect();
    vanished.sort_by_key(|(path, s)| (*path, s.line));

    let mut out: Vec<Bump> = Vec::new();
    for (path, old, new) in pairs {
        if old.kind != new.kind || !same_image(&old.name, &new.name) {
            continue;
        }
        let (old_v, new_v) = (old.version(), new.version());
        if old_v == new_v {
            continue;
        }
        let i = match out.iter().position(|b| {
            b.kind == new.kind && b.image == new.name && b.old == old_v && b.new == new_v
        }) {
            Some(i) => i,
            None => {
                out.push(Bump {
                    kind: new.kind,
                    image: new.name.clone(),
                    old: old_v,
                    new: new_v,
                    files: Vec::new(),
                    objects: Vec::new(),
                });
                out.len() - 1
            }
        };
        let b = &mut out[i];
        if !b.files.iter().any(|f| f == path) {
            b.files.push(path.to_string());
        }
        if !b.objects.contains(&new.holder) {
            b.objects.push(new.holder.clone());
        }
    }
    Detected {
        bumps: out,
        appeared,
        vanished,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::sites::find;

    fn deployment(name: &str, image: &str) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: {name}\n        image: {image}\n"
        )
    }

    fn detect(before: &[(&'static str, String)], after: &[(&'static str, String)]) -> Vec<Bump> {
        let b: Vec<_> = before.iter().map(|(p, t)| (*p, find(p, t).0)).collect();
        let a: Vec<_> = after.iter().map(|(p, t)| (*p, find(p, t).0)).collect();
        bumps(&view(&b), &view(&a))
    }

    fn view<'a>(files: &'a [(&'static str, Vec<VersionSite>)]) -> Vec<FileSites<'a>> {
        files
            .iter()
            .map(|(path, sites)| FileSites { path, sites })
            .collect()
    }

    #[test]
    fn a_tag_change_in_a_multi_document_file_is_a_bump() {
        let before = format!(
            "{}---\n{}",
            deployment("web", "ghcr.io/o/web:1.0"),
            deployment("api", "ghcr.io/o/api:2.0")
        );
        let after = before.replace("web:1.0", "web:1.1");
        let got = detect(&[("apps/all.yaml", before)], &[("apps/all.yaml", after)]);
        assert_eq!(
            got,
            vec![Bump {
                kind: VersionKind::Image,
                image: "ghcr.io/o/web".into(),
                old: "1.0".into(),
                new: "1.1".into(),
                files: vec!["apps/all.yaml".into()],
                objects: vec!["Deployment/web container web".into()],
            }]
        );
    }

    #[test]
    fn same_change_in_two_overlays_is_one_bump() {
        let k = |tag: &str| format!("images:\n- name: app\n  newTag: {tag}\n");
        let got = detect(
            &[
                ("a/kustomization.yaml", k("1")),
                ("b/kustomization.yaml", k("1")),
            ],
            &[
                ("a/kustomization.yaml", k("2")),
                ("b/kustomization.yaml", k("2")),
            ],
        );
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].files,
            vec!["a/kustomization.yaml", "b/kustomization.yaml"]
        );
    }

    #[test]
    fn moves_pair_by_key_and_unrelated_changes_are_not_bumps() {
        let got = detect(
            &[("old.yaml", deployment("web", "web:1"))],
            &[("new.yaml", deployment("web", "web:2"))],
        );
        assert_eq!((got[0].old.as_str(), got[0].new.as_str()), ("1", "2"));
        // A different image in the same container is a replacement, not a tag bump.
        let got = detect(
            &[("x.yaml", deployment("web", "web:1"))],
            &[("x.yaml", deployment("web", "other:2"))],
        );
        assert!(got.is_empty());
        // A new workload is not a bump either.
        let got = detect(&[], &[("x.yaml", deployment("web", "web:1"))]);
        assert!(got.is_empty());
    }
}
