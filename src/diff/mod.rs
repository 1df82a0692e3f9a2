//! Comparing two versions of objects: normalisation, comparison by meaning, secret masking,
//! and rendering as unified diffs. Pure: the versions come from the cluster or from Git.

pub mod compare;
pub mod normalize;
pub mod quantity;
pub mod render;
pub mod secret;
pub mod yaml;

use serde::Serialize;
use serde_json::Value;

use crate::manifest::ObjectId;
pub use secret::KeyChanges;

/// What happens to an object between the two versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Unchanged,
    Changed,
    /// Only in the second version (Git has it, the cluster does not).
    Created,
    /// Only in the first version.
    Deleted,
}

/// Two versions of one object, normalised and with Secret values masked, ready to show.
#[derive(Clone, Debug)]
pub struct ObjectDiff {
    pub id: ObjectId,
    pub change: Change,
    /// Where the versions differ in meaning (`spec.replicas`), for summaries and `-o json`.
    pub paths: Vec<String>,
    /// For Secrets that differ: which keys changed (values are never kept).
    pub secret_keys: Option<KeyChanges>,
    /// The first version as YAML (empty when absent), masked.
    pub before: String,
    /// The second version as YAML (empty when absent), masked.
    pub after: String,
}

impl ObjectDiff {
    /// Compares two versions of an object. Both are normalised first (server-written fields,
    /// status and empty values dropped); Secret values are masked before anything is kept.
    pub fn new(id: ObjectId, before: Option<Value>, after: Option<Value>) -> ObjectDiff {
        let (mut before, mut after) = (before, after);
        for side in [&mut before, &mut after].into_iter().flatten() {
            normalize::normalize(side);
        }
        let (change, paths) = match (&before, &after) {
            (Some(b), Some(a)) => {
                let paths = compare::changed_paths(b, a);
                let change = if paths.is_empty() {
                    Change::Unchanged
                } else {
                    Change::Changed
                };
                (change, paths)
            }
            (None, Some(_)) => (Change::Created, Vec::new()),
            (Some(_), None) => (Change::Deleted, Vec::new()),
            (None, None) => (Change::Unchanged, Vec::new()),
        };
        let keys = secret::mask_pair(before.as_mut(), after.as_mut());
        let secret_keys = (change != Change::Unchanged && !keys.is_empty()).then_some(keys);
        let text = |v: &Option<Value>| v.as_ref().map(yaml::to_yaml).unwrap_or_default();
        ObjectDiff {
            change,
            paths,
            secret_keys,
            before: text(&before),
            after: text(&after),
            id,
        }
    }

    /// The unified diff, with headers `<before_dir>/<file>` and `<after_dir>/<file>` named
    /// like kubectl's (`LIVE/apps.v1.Deployment.team.web`). Empty when unchanged.
    pub fn unified(&self, before_dir: &str, after_dir: &str) -> String {
        if self.change == Change::Unchanged {
            return String::new();
        }
        let name = render::file_name(&self.id);
        render::unified(
            &format!("{before_dir}/{name}"),
            &self.before,
            &format!("{after_dir}/{name}"),
            &self.after,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(kind: &str) -> ObjectId {
        ObjectId {
            group: String::new(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: Some("n".into()),
            name: "x".into(),
        }
    }

    #[test]
    fn server_noise_is_not_a_change() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "resourceVersion": "1", "generation": 1, "annotations": {}},
            "data": {"a": "1"}});
        let merged = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "resourceVersion": "2", "generation": 2},
            "data": {"a": "1"}});
        let d = ObjectDiff::new(id("ConfigMap"), Some(live), Some(merged));
        assert_eq!(d.change, Change::Unchanged);
        assert_eq!(d.unified("LIVE", "MERGED"), "");
    }

    #[test]
    fn secret_values_never_reach_the_output() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x",
            "annotations": {normalize::LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}});
        let merged = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
            "data": {"password": "c3dvcmRmaXNo", "user": "YWRtaW4="}});
        let d = ObjectDiff::new(id("Secret"), Some(live), Some(merged));
        assert_eq!(d.change, Change::Changed);
        let text = d.unified("LIVE", "MERGED");
        for value in ["aHVudGVyMg==", "c3dvcmRmaXNo", "YWRtaW4="] {
            assert!(!text.contains(value), "{text}");
        }
        assert!(
            text.contains("-  password: '*** (before)'")
                || text.contains("-  password: \"*** (before)\""),
            "{text}"
        );
        assert_eq!(d.secret_keys.expect("keys").changed, vec!["password"]);
        assert_eq!(d.paths, vec!["data.password"]);
    }

    #[test]
    fn created_objects_diff_against_nothing() {
        let git = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        let d = ObjectDiff::new(id("ConfigMap"), None, Some(git));
        assert_eq!(d.change, Change::Created);
        assert!(d.unified("LIVE", "MERGED").contains("+kind: ConfigMap"));
    }
}
