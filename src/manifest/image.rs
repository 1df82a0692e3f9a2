//! Container image references: `[registry[:port]/]repository[:tag][@digest]`.

use std::fmt;

/// A parsed image reference. `name` is everything before the tag and digest (registry and
/// repository, exactly as written), so `registry:5000/app:1.2` has name `registry:5000/app`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference. Returns `None` for an empty string or a malformed one (spaces,
    /// empty name, a digest without an algorithm).
    pub fn parse(reference: &str) -> Option<ImageRef> {
        let reference = reference.trim();
        if reference.is_empty() || reference.contains(char::is_whitespace) {
            return None;
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => {
                if !digest.contains(':') || digest.ends_with(':') {
                    return None;
                }
                (rest, Some(digest.to_string()))
            }
            None => (reference, None),
        };
        // A ':' after the last '/' starts the tag; one before it is a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].find(':') {
            Some(i) => {
                let at = last_slash + i;
                (&rest[..at], Some(rest[at + 1..].to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() || tag.as_deref() == Some("") {
            return None;
        }
        Some(ImageRef {
            name: name.to_string(),
            tag,
            digest,
        })
    }

    /// The tag or digest that identifies the version (`1.2`, `sha256:...`, `1.2@sha256:...`).
    pub fn version(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => format!("{t}@{d}"),
            (Some(t), None) => t.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => "latest".into(),
        }
    }
}

/// The image name with Docker Hub's implied parts spelled out, so names that pull the same
/// image compare equal: `nginx`, `library/nginx` and `docker.io/library/nginx` are one image.
pub fn canonical_name(name: &str) -> String {
    let Some((first, rest)) = name.split_once('/') else {
        return format!("docker.io/library/{name}");
    };
    // The first component is a registry only when it looks like a host (as Docker decides).
    if first.contains('.') || first.contains(':') || first == "localhost" {
        let registry = match first {
            "index.docker.io" | "registry-1.docker.io" => "docker.io",
            other => other,
        };
        if registry == "docker.io" && !rest.contains('/') {
            return format!("docker.io/library/{rest}");
        }
        format!("{registry}/{rest}")
    } else {
        format!("docker.io/{name}")
    }
}

/// True when two image names pull the same image.
pub fn same_image(a: &str, b: &str) -> bool {
    a == b || canonical_name(a) == canonical_name(b)
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, Option<String>, Option<String>) {
        let r = ImageRef::parse(s).unwrap();
        (r.name, r.tag, r.digest)
    }

    #[test]
    fn parses_references() {
        assert_eq!(p("nginx"), ("nginx".into(), None, None));
        assert_eq!(p("nginx:1.10"), ("nginx".into(), Some("1.10".into()), None));
        assert_eq!(
            p("localhost:5000/team/app:v2"),
            ("localhost:5000/team/app".into(), Some("v2".into()), None)
        );
        assert_eq!(
            p("localhost:5000/app"),
            ("localhost:5000/app".into(), None, None)
        );
        assert_eq!(
            p("ghcr.io/a/b:1.0@sha256:abc"),
            (
                "ghcr.io/a/b".into(),
                Some("1.0".into()),
                Some("sha256:abc".into())
            )
        );
        assert_eq!(
            p("b@sha256:abc"),
            ("b".into(), None, Some("sha256:abc".into()))
        );
        assert!(ImageRef::parse("").is_none());
        assert!(ImageRef::parse("a b").is_none());
        assert!(ImageRef::parse("nginx:").is_none());
    }

    #[test]
    fn docker_hub_names_compare_equal() {
        assert!(same_image("nginx", "docker.io/library/nginx"));
        assert!(same_image("library/nginx", "index.docker.io/nginx"));
        assert!(same_image("bitnami/redis", "docker.io/bitnami/redis"));
        assert!(!same_image("ghcr.io/a/nginx", "nginx"));
        assert!(!same_image("localhost:5000/app", "app"));
        assert_eq!(canonical_name("localhost/app"), "localhost/app");
    }
}
