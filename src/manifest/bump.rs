//! Setting an image's version in manifest files, in place.
//!
//! Only the bytes of the version change: the rest of the file (comments, quoting, key order,
//! indentation, CRLF line endings, Flux `# {"$imagepolicy": ...}` setter comments) is kept
//! byte for byte. Every edited file is read back and checked before it is offered, so an
//! edit can never produce a file that means something else.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use granit_parser::ScalarStyle;
use regex::Regex;

use super::sites::{self, Fields, Form, ScalarAt, VersionKind, VersionSite};
use super::tree::{FileEntry, FileSet};
use super::yaml;

/// A version to set: a tag, a digest, or both (`1.2@sha256:...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Why a version or an edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum BumpError {
    /// The version is not a valid OCI tag or digest.
    #[error(
        "{0:?} is not a valid tag or digest (a tag is up to 128 of [A-Za-z0-9_.-] not starting with . or -; a digest is ALGO:HEX such as sha256:...)"
    )]
    InvalidVersion(String),
    /// The image name given is not a name (empty, has spaces, or carries a tag).
    #[error(
        "{0:?} is not an image name; give the name without tag or digest (e.g. ghcr.io/org/app)"
    )]
    InvalidImage(String),
    /// The value is written in a way that cannot be edited in place.
    #[error("{file}:{line}: {holder} is written as {how}; change it by hand")]
    Unsupported {
        file: Arc<str>,
        line: u32,
        holder: String,
        how: &'static str,
    },
    /// A kustomize entry pins a digest and the new version has none: setting only the tag
    /// would leave the old digest deployed.
    #[error(
        "{file}:{line}: {holder} pins digest {digest}; pass a digest (or TAG@DIGEST) so the old digest is not kept"
    )]
    DigestPinned {
        file: Arc<str>,
        line: u32,
        holder: String,
        digest: String,
    },
    /// The values block has no digest field, so a digest cannot be set there.
    #[error(
        "{file}:{line}: {holder} has no `digest` field; pass a tag, or add `digest:` if the chart supports it"
    )]
    NoDigestField {
        file: Arc<str>,
        line: u32,
        holder: String,
    },
    /// The edited file did not read back as intended (a safety check; the file is not written).
    #[error("{file}: the edited file would not read back as intended ({detail}); nothing written")]
    Verify { file: Arc<str>, detail: String },
}

impl Version {
    /// Parses `TAG`, `ALGO:HEX` or `TAG@ALGO:HEX`.
    pub fn parse(s: &str) -> Result<Version, BumpError> {
        let invalid = || BumpError::InvalidVersion(s.to_string());
        let (tag, digest) = match s.split_once('@') {
            Some((tag, digest)) => (Some(tag), Some(digest)),
            None if s.contains(':') => (None, Some(s)),
            None => (Some(s), None),
        };
        if tag.is_some_and(|t| !tag_re().is_match(t))
            || digest.is_some_and(|d| !digest_re().is_match(d))
        {
            return Err(invalid());
        }
        Ok(Version {
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => write!(f, "{t}@{d}"),
            (Some(t), None) => f.write_str(t),
            (None, Some(d)) => f.write_str(d),
            (None, None) => f.write_str("latest"),
        }
    }
}

fn tag_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").expect("valid regex"))
}

fn digest_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$").expect("valid regex")
    })
}

/// Checks an image name given on the command line.
pub fn check_image_name(name: &str) -> Result<(), BumpError> {
    match super::image::ImageRef::parse(name) {
        Some(r) if r.tag.is_none() && r.digest.is_none() => Ok(()),
        _ => Err(BumpError::InvalidImage(name.to_string())),
    }
}

/// A replacement of a byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Applies splices (non-overlapping, any order) to a text.
pub fn apply(text: &str, splices: &[Splice]) -> String {
    let mut sorted: Vec<&Splice> = splices.iter().collect();
    sorted.sort_by_key(|s| s.start);
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for s in sorted {
        out.push_str(&text[at..s.start]);
        out.push_str(&s.text);
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The splices that set `site` to `new` in `text`. `Ok(None)` when the site is an alias,
/// whose bytes are the anchor's (the anchor is edited where it is itself a site).
pub fn set_version(
    file: &Arc<str>,
    text: &str,
    site: &VersionSite,
    new: &Version,
) -> Result<Option<Vec<Splice>>, BumpError> {
    let unsupported = |how| BumpError::Unsupported {
        file: file.clone(),
        line: site.line,
        holder: site.holder.clone(),
        how,
    };
    match &site.form {
        Form::Reference(at) => {
            if at.aliased {
                return Ok(None);
            }
            let mut value = at.text[..name_len(&at.text)].to_string();
            if let Some(t) = &new.tag {
                value.push(':');
                value.push_str(t);
            }
            if let Some(d) = &new.digest {
                value.push('@');
                value.push_str(d);
            }
            let raw =
                rewrite_scalar(text, at, &value, false).ok_or_else(|| unsupported(how(at)))?;
            Ok(Some(vec![raw]))
        }
        Form::Version(at) => {
            if at.aliased {
                return Ok(None);
            }
            let raw = rewrite_scalar(text, at, &new.to_string(), true)
                .ok_or_else(|| unsupported(how(at)))?;
            Ok(Some(vec![raw]))
        }
        Form::Fields(fields) => {
            if fields.tag.iter().chain(&fields.digest).any(|s| s.aliased) || fields.after.aliased {
                return Ok(None);
            }
            let mut splices = Vec::new();
            if let Some(old) = &site.digest
                && new.digest.is_none()
            {
                return Err(BumpError::DigestPinned {
                    file: file.clone(),
                    line: site.line,
                    holder: site.holder.clone(),
                    digest: old.clone(),
                });
            }
            if new.digest.is_some() && !fields.digest_supported {
                return Err(BumpError::NoDigestField {
                    file: file.clone(),
                    line: site.line,
                    holder: site.holder.clone(),
                });
            }
            let mut inserts = Vec::new();
            for (key, current, value) in [
                (fields.tag_key, &fields.tag, &new.tag),
                ("digest", &fields.digest, &new.digest),
            ] {
                match (current, value) {
                    (Some(at), Some(v)) => splices.push(
                        rewrite_scalar(text, at, v, true).ok_or_else(|| unsupported(how(at)))?,
                    ),
                    (None, Some(v)) => inserts.push((key, v.as_str())),
                    // A tag left beside a new digest is harmless (the digest wins) and keeps
                    // the human-readable version in the file.
                    (_, None) => {}
                }
            }
            if !inserts.is_empty() {
                splices.push(insert_fields(text, fields, &inserts));
            }
            Ok(Some(splices))
        }
    }
}

fn how(at: &ScalarAt) -> &'static str {
    match at.style {
        ScalarStyle::Literal | ScalarStyle::Folded => "a block scalar",
        _ => "a multi-line or escaped scalar",
    }
}

/// Length of the name part of a reference as written (before `:tag` and `@digest`).
fn name_len(reference: &str) -> usize {
    let before_digest = reference.find('@').unwrap_or(reference.len());
    let last_slash = reference[..before_digest].rfind('/').map_or(0, |i| i + 1);
    reference[last_slash..before_digest]
        .find(':')
        .map_or(before_digest, |i| last_slash + i)
}

/// A new value for a scalar, written in the scalar's own style. Returns `None` when the
/// written form is not a plain copy of its value (block scalars, escapes, line folding),
/// which cannot be rewritten without touching more than the value.
fn rewrite_scalar(
    text: &str,
    at: &ScalarAt,
    value: &str,
    must_stay_string: bool,
) -> Option<Splice> {
    let raw = &text[at.start..at.end];
    let replacement = match at.style {
        ScalarStyle::Plain if raw == at.text => {
            // `newTag: 1.10` as a plain scalar is a number to YAML 1.1 readers; a tag field
            // must stay a string, so such a value is quoted.
            if must_stay_string && !plain_is_string(value) {
                format!("\"{value}\"")
            } else {
                value.to_string()
            }
        }
        ScalarStyle::SingleQuoted if raw.len() >= 2 && raw[1..raw.len() - 1] == at.text => {
            format!("'{value}'")
        }
        ScalarStyle::DoubleQuoted if raw.len() >= 2 && raw[1..raw.len() - 1] == at.text => {
            format!("\"{value}\"")
        }
        _ => return None,
    };
    Some(Splice {
        start: at.start,
        end: at.end,
        text: replacement,
    })
}

/// True when `value` written plain reads back as the same string.
fn plain_is_string(value: &str) -> bool {
    let stream = yaml::parse_stream(&format!("v: {value}\n"));
    stream.error.is_none()
        && stream
            .documents
            .first()
            .and_then(|d| d.root.as_ref())
            .and_then(|r| r.get("v"))
            .and_then(|v| v.as_str())
            == Some(value)
}

/// Adds missing fields right after the name field, in the mapping's own style.
fn insert_fields(text: &str, fields: &Fields, inserts: &[(&str, &str)]) -> Splice {
    let value = |v: &str| {
        if plain_is_string(v) {
            v.to_string()
        } else {
            format!("\"{v}\"")
        }
    };
    if fields.flow {
        let added: String = inserts
            .iter()
            .map(|(k, v)| format!(", {k}: {}", value(v)))
            .collect();
        return Splice {
            start: fields.after.end,
            end: fields.after.end,
            text: added,
        };
    }
    // A block mapping: new lines after the name's line, same indentation, same line ending.
    let line_end = text[fields.after.end..]
        .find('\n')
        .map(|i| fields.after.end + i + 1);
    let eol = match line_end {
        Some(i) if i >= 2 && &text[i - 2..i] == "\r\n" => "\r\n",
        _ => "\n",
    };
    let indent = " ".repeat(fields.key_col.saturating_sub(1) as usize);
    let mut added: String = inserts
        .iter()
        .map(|(k, v)| format!("{indent}{k}: {}{eol}", value(v)))
        .collect();
    let at = match line_end {
        Some(i) => i,
        None => {
            // The name is on the file's last line, which has no line ending yet.
            added.insert_str(0, eol);
            added.truncate(added.len() - eol.len());
            text.len()
        }
    };
    Splice {
        start: at,
        end: at,
        text: added,
    }
}

fn setter_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"#\s*\{\s*"\$imagepolicy"\s*:\s*"([^"]*)"\s*\}"#).expect("valid regex")
    })
}

/// Flux setter comments (`# {"$imagepolicy": "ns:policy[:tag|:name]"}`) on the site's lines:
/// the byte range of each comment and the policy it names.
pub fn setters(text: &str, site: &VersionSite) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    for &end in &site.ends {
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        let rest = &text[end..line_end];
        if let Some(c) = setter_re().captures(rest) {
            let m = c.get(0).expect("group 0 always matches");
            let range = (end + m.start(), end + m.end(), c[1].to_string());
            if !found.contains(&range) {
                found.push(range);
            }
        }
    }
    found
}

/// Splices that turn Flux setter comments on the site's lines into plain comments, so image
/// automation stops moving the value (kubectl-gitops `rollback --pin`).
pub fn pin(text: &str, site: &VersionSite) -> Vec<Splice> {
    setters(text, site)
        .into_iter()
        .map(|(start, end, policy)| Splice {
            start,
            end,
            text: format!("# pinned by kubectl-gitops rollback (was imagepolicy {policy})"),
        })
        .collect()
}

/// One version change at one site.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub file: Arc<str>,
    pub line: u32,
    /// Where in the file: `Deployment/web container web`, `images[nginx]`, `values image`.
    pub holder: String,
    /// The site's key in its file (see [`VersionSite::key`]).
    #[serde(skip)]
    pub key: String,
    pub image: String,
    pub old: String,
    pub new: String,
}

/// One file's content before and after.
#[derive(Clone, Debug)]
pub struct FileEdit {
    pub entry: FileEntry,
    pub before: String,
    pub after: String,
}

/// What to set, and where.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    pub kind: VersionKind,
    /// The image, chart or source name.
    pub image: &'a str,
    pub version: &'a Version,
    /// Change only sites currently at this version (a partial revert must not undo later
    /// bumps); other sites of the image are reported in [`Plan::mismatched`].
    pub expect: Option<&'a str>,
    /// Turn Flux setter comments on the changed sites into plain comments.
    pub pin: bool,
    /// Only these sites, as (file as displayed, site key); `None`: every site of the name.
    /// Chosen by the apps model, so an override's shadowed base is left alone.
    pub only: Option<&'a HashSet<(String, String)>>,
}

/// Everything a bump would do, computed without writing.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Sites of the image already at the version.
    pub unchanged: Vec<Change>,
    /// Sites of the image at another version than [`Target::expect`].
    pub mismatched: Vec<Change>,
    pub edits: Vec<FileEdit>,
    /// Files read.
    pub searched: usize,
    /// Every image name seen, for a "no match" message.
    pub images_seen: BTreeSet<String>,
    /// Setter comments replaced by `pin`, as `file:line`.
    pub pinned: Vec<String>,
    /// Setter comments on the matched sites (`file:line policy`), pinned or not.
    pub setters: Vec<String>,
    /// Things the user should know that did not stop the plan (unreadable files, aliases).
    pub warnings: Vec<String>,
}

/// Plans setting `target` in every file of `files`.
pub fn plan(files: &FileSet, target: &Target<'_>) -> Result<Plan, BumpError> {
    let mut out = Plan::default();
    let contents = files.read_wanted(&vec![true; files.files.len()]);
    for (entry, bytes) in files.files.iter().zip(contents.into_iter().flatten()) {
        out.searched += 1;
        let text = match bytes.map(String::from_utf8) {
            Ok(Ok(t)) => t,
            Ok(Err(_)) => {
                out.warnings
                    .push(format!("{}: not UTF-8; not searched", entry.display));
                continue;
            }
            Err(e) => {
                out.warnings.push(format!("{}: {e}", entry.display));
                continue;
            }
        };
        plan_file(entry, text, target, &mut out)?;
    }
    for p in &files.problems {
        out.warnings.push(format!("{}: {}", p.file, p.message));
    }
    Ok(out)
}

fn plan_file(
    entry: &FileEntry,
    text: String,
    target: &Target<'_>,
    out: &mut Plan,
) -> Result<(), BumpError> {
    let file = &entry.display;
    let (sites, error) = sites::find(file, &text);
    out.images_seen.extend(
        sites
            .iter()
            .filter(|s| s.kind == target.kind)
            .map(|s| s.name.clone()),
    );
    let matched: Vec<&VersionSite> = sites
        .iter()
        .filter(|s| s.kind == target.kind && s.matches(target.image))
        .filter(|s| {
            target
                .only
                .is_none_or(|only| only.contains(&(file.to_string(), s.key.clone())))
        })
        .collect();
    if matched.is_empty() {
        return Ok(());
    }
    if let Some(e) = error {
        out.warnings.push(format!(
            "{file}:{}: not valid YAML ({}); not edited",
            e.pos.line, e.message
        ));
        return Ok(());
    }
    let new = target.version.to_string();
    let mut splices = Vec::new();
    let mut targeted: Vec<Targeted> = Vec::new();
    for site in matched {
        let change = Change {
            file: file.clone(),
            line: site.line,
            holder: site.holder.clone(),
            key: site.key.clone(),
            image: site.name.clone(),
            old: site.version(),
            new: new.clone(),
        };
        for (start, _, policy) in setters(&text, site) {
            out.setters
                .push(format!("{file}:{} {policy}", line_of(&text, start)));
        }
        if change.old == new {
            out.unchanged.push(change);
            continue;
        }
        if target.expect.is_some_and(|e| e != change.old) {
            out.mismatched.push(change);
            continue;
        }
        let edited = match set_version(file, &text, site, target.version)? {
            Some(s) => {
                splices.extend(s);
                if target.pin {
                    let pins = pin(&text, site);
                    out.pinned.extend(
                        pins.iter()
                            .map(|p| format!("{file}:{}", line_of(&text, p.start))),
                    );
                    splices.extend(pins);
                }
                true
            }
            None => false,
        };
        targeted.push(Targeted {
            key: site.key.clone(),
            edited,
            change,
        });
    }
    if splices.is_empty() {
        warn_unfollowed_aliases(&targeted, &BTreeSet::new(), out);
        return Ok(());
    }
    let after = apply(&text, &splices);
    let changed = verify(file, &sites, &after, &targeted, &new)?;
    warn_unfollowed_aliases(&targeted, &changed, out);
    out.changes.extend(
        targeted
            .into_iter()
            .filter(|t| changed.contains(&t.key))
            .map(|t| t.change),
    );
    out.edits.push(FileEdit {
        entry: entry.clone(),
        before: text,
        after,
    });
    Ok(())
}

/// A matched site and whether its own bytes were edited (an alias's are not).
struct Targeted {
    key: String,
    edited: bool,
    change: Change,
}

/// An alias follows its anchor only when the anchor was itself a changed image field.
fn warn_unfollowed_aliases(targeted: &[Targeted], changed: &BTreeSet<String>, out: &mut Plan) {
    for t in targeted
        .iter()
        .filter(|t| !t.edited && !changed.contains(&t.key))
    {
        out.warnings.push(format!(
            "{}:{}: {} is an alias of an anchor that is not an image field; not changed",
            t.change.file, t.change.line, t.change.holder
        ));
    }
}

/// Reads the edited text back: it must be valid YAML with the same sites, the edited ones at
/// the new version and every other one unchanged (an alias may follow an edited anchor).
/// Returns the keys of the targeted sites that now have the new version.
fn verify(
    file: &Arc<str>,
    before: &[VersionSite],
    after: &str,
    targeted: &[Targeted],
    new: &str,
) -> Result<BTreeSet<String>, BumpError> {
    let fail = |detail: String| BumpError::Verify {
        file: file.clone(),
        detail,
    };
    let (sites, error) = sites::find(file, after);
    if let Some(e) = error {
        return Err(fail(format!(
            "YAML error at line {}: {}",
            e.pos.line, e.message
        )));
    }
    if sites.len() != before.len() {
        return Err(fail(format!(
            "{} image fields before, {} after",
            before.len(),
            sites.len()
        )));
    }
    let mut changed = BTreeSet::new();
    for (old, now) in before.iter().zip(&sites) {
        let at_new = now.version() == new;
        let ok = match targeted.iter().find(|t| t.key == old.key) {
            Some(t) if at_new => {
                changed.insert(t.key.clone());
                true
            }
            Some(t) => !t.edited && now.version() == old.version(),
            None => now.version() == old.version(),
        };
        if !ok || now.key != old.key || now.name != old.name {
            return Err(fail(format!(
                "{} at line {} would read {} {}",
                old.holder,
                old.line,
                now.name,
                now.version()
            )));
        }
    }
    Ok(changed)
}

fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bump(path: &str, text: &str, image: &str, version: &str) -> Result<Plan, BumpError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&file, text).expect("write");
        let set = FileSet::from_paths(&[file]);
        let version = Version::parse(version)?;
        plan(
            &set,
            &Target {
                kind: VersionKind::Image,
                image,
                version: &version,
                expect: None,
                pin: false,
                only: None,
            },
        )
    }

    fn after(plan: &Plan) -> &str {
        &plan.edits[0].after
    }

    #[test]
    fn versions_parse() {
        assert_eq!(
            Version::parse("1.2").unwrap(),
            Version {
                tag: Some("1.2".into()),
                digest: None
            }
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Version::parse(&d).unwrap().digest.as_deref(), Some(&*d));
        let both = Version::parse(&format!("v1@{d}")).unwrap();
        assert_eq!(both.to_string(), format!("v1@{d}"));
        assert!(Version::parse("").is_err());
        assert!(Version::parse("-x").is_err());
        assert!(Version::parse("a b").is_err());
        assert!(Version::parse("sha256:short").is_err());
    }

    #[test]
    fn only_the_tag_bytes_change() {
        let text = "# top comment\r\napiVersion: apps/v1\r\nkind: Deployment\r\nmetadata: {name: web}\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n        - name: web   # the app\r\n          image: \"ghcr.io/o/web:1.0\" # {\"$imagepolicy\": \"flux-system:web\"}\r\n        - name: side\r\n          image: 'ghcr.io/o/side:1.0'\r\n";
        let plan = bump("web.yaml", text, "ghcr.io/o/web", "1.1").unwrap();
        assert_eq!(after(&plan), text.replace("web:1.0", "web:1.1"));
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].old, "1.0");
        assert_eq!(plan.setters.len(), 1);
    }

    #[test]
    fn digests_replace_tags_in_references() {
        let text = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
        let d = format!("sha256:{}", "b".repeat(64));
        let plan = bump("p.yaml", text, "docker.io/library/nginx", &d).unwrap();
        assert!(after(&plan).contains(&format!("image: nginx@{d}\n")));
        let plan = bump("p.yaml", text, "nginx", "1.1").unwrap();
        assert!(after(&plan).contains("image: nginx:1.1\n"));
    }

    #[test]
    fn kustomize_tags_are_set_inserted_and_kept_strings() {
        let text = "resources: [app.yaml]\nimages:\n  - name: app\n    newName: ghcr.io/o/app # moved\n  - name: web\n    newTag: v1\n  - {name: db, newTag: '1.0'}\n";
        let plan = bump("kustomization.yaml", text, "ghcr.io/o/app", "1.10").unwrap();
        assert_eq!(
            after(&plan),
            text.replace("# moved\n", "# moved\n    newTag: \"1.10\"\n")
        );
        let plan = bump("kustomization.yaml", text, "web", "1.10").unwrap();
        assert_eq!(after(&plan), text.replace("newTag: v1", "newTag: \"1.10\""));
        let plan = bump("kustomization.yaml", text, "db", "1.1").unwrap();
        assert_eq!(after(&plan), text.replace("'1.0'", "'1.1'"));
    }

    #[test]
    fn kustomize_digest_pins_need_a_digest() {
        let d = format!("sha256:{}", "c".repeat(64));
        let text = format!("images:\n- name: app\n  digest: {d}\n");
        let err = bump("kustomization.yaml", &text, "app", "2.0").unwrap_err();
        assert!(matches!(err, BumpError::DigestPinned { .. }), "{err}");
        let e = format!("sha256:{}", "e".repeat(64));
        let plan = bump("kustomization.yaml", &text, "app", &e).unwrap();
        assert_eq!(after(&plan), text.replace(&d, &e));
    }

    #[test]
    fn helm_values_keep_layout() {
        let text = "image:\n  repository: ghcr.io/o/app   # the app\n  tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n  pullPolicy: IfNotPresent\n";
        let plan = bump("values.yaml", text, "ghcr.io/o/app", "1.1.0").unwrap();
        assert_eq!(after(&plan), text.replace("1.0.0", "1.1.0"));
        let no_tag = "image:\n  repository: app\nreplicas: 1";
        let plan = bump("values.yaml", no_tag, "app", "2.0").unwrap();
        assert_eq!(
            after(&plan),
            "image:\n  repository: app\n  tag: \"2.0\"\nreplicas: 1"
        );
    }

    #[test]
    fn aliases_are_left_to_their_anchor() {
        let text = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: &img app:1.0\n  - name: b\n    image: *img\n";
        let plan = bump("p.yaml", text, "app", "2.0").unwrap();
        assert_eq!(after(&plan), text.replace("app:1.0", "app:2.0"));
        assert_eq!(plan.changes.len(), 2, "{:?}", plan.changes);
    }

    #[test]
    fn block_scalars_are_refused() {
        let text = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: >-\n      app:1.0\n";
        let err = bump("p.yaml", text, "app", "2.0").unwrap_err();
        assert!(err.to_string().contains("block scalar"), "{err}");
    }

    #[test]
    fn pin_replaces_setter_comments() {
        let text = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1.0 # {\"$imagepolicy\": \"flux-system:app\"}\n";
        let (sites, _) = sites::find("p.yaml", text);
        let out = apply(text, &pin(text, &sites[0]));
        assert!(out.ends_with(
            "image: app:1.0 # pinned by kubectl-gitops rollback (was imagepolicy flux-system:app)\n"
        ));
    }
}
