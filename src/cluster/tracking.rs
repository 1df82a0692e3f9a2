//! Which live objects belong to the app but are not in Git ("Extra"): those carrying a
//! tracking label (or Argo CD tracking annotation) with a value the app's own objects carry,
//! in Git or live, or that a controller lists in its inventory.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::controllers::ARGO_TRACKING_ANNOTATION;

/// Label keys whose value names the app (or apply set) an object belongs to: Argo CD's
/// instance labels, Flux's kustomize and helm controller labels, kubectl's ApplySet label,
/// and the recommended `part-of` label.
pub const TRACKING_LABELS: &[&str] = &[
    "app.kubernetes.io/instance",
    "app.kubernetes.io/part-of",
    "argocd.argoproj.io/instance",
    "kustomize.toolkit.fluxcd.io/name",
    "helm.toolkit.fluxcd.io/name",
    "applyset.kubernetes.io/part-of",
];

/// The tracking values known for the app.
#[derive(Debug)]
pub struct Tracking {
    /// Label keys whose values are learnt from the app's objects.
    keys: Vec<String>,
    labels: BTreeMap<String, BTreeSet<String>>,
    /// Argo CD application names from tracking annotations.
    argo_apps: BTreeSet<String>,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking::with_keys(&[])
    }
}

fn labels_of(object: &Value) -> Option<&serde_json::Map<String, Value>> {
    object.pointer("/metadata/labels")?.as_object()
}

/// The Argo CD application named by an object's tracking annotation.
fn argo_app(object: &Value) -> Option<&str> {
    let id = object
        .pointer("/metadata/annotations")?
        .get(ARGO_TRACKING_ANNOTATION)?
        .as_str()?;
    id.split_once(':').map(|(app, _)| app)
}

impl Tracking {
    /// Tracking by the usual labels and these extra keys.
    pub fn with_keys(extra: &[String]) -> Tracking {
        let mut keys: Vec<String> = TRACKING_LABELS.iter().map(|k| k.to_string()).collect();
        keys.extend(extra.iter().cloned());
        Tracking {
            keys,
            labels: BTreeMap::new(),
            argo_apps: BTreeSet::new(),
        }
    }

    /// Learns the tracking values an object of the app carries (a Git object, or the live
    /// version of one, where controllers add their labels).
    pub fn learn(&mut self, object: &Value) {
        if let Some(labels) = labels_of(object) {
            for key in &self.keys {
                if let Some(value) = labels.get(key).and_then(Value::as_str) {
                    self.labels
                        .entry(key.clone())
                        .or_default()
                        .insert(value.to_string());
                }
            }
        }
        if let Some(app) = argo_app(object) {
            self.argo_apps.insert(app.to_string());
        }
    }

    pub fn add(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.labels
                .entry(key.to_string())
                .or_default()
                .insert(value.to_string());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.argo_apps.is_empty()
    }

    /// Label selectors that find the app's objects server-side, one per label key.
    pub fn selectors(&self) -> Vec<String> {
        self.labels
            .iter()
            .map(|(key, values)| {
                let values: Vec<&str> = values.iter().map(String::as_str).collect();
                format!("{key} in ({})", values.join(","))
            })
            .collect()
    }

    /// Why a live object belongs to the app (`label app.kubernetes.io/instance=web`), if it does.
    pub fn reason(&self, object: &Value) -> Option<String> {
        if let Some(labels) = labels_of(object) {
            for (key, values) in &self.labels {
                if let Some(value) = labels.get(key).and_then(Value::as_str)
                    && values.contains(value)
                {
                    return Some(format!("label {key}={value}"));
                }
            }
        }
        argo_app(object)
            .filter(|app| self.argo_apps.contains(*app))
            .map(|app| format!("annotation {ARGO_TRACKING_ANNOTATION} of app {app}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_keys_are_learnt_too() {
        let mut t = Tracking::with_keys(&["team.example.com/app".to_string()]);
        t.learn(&json!({"metadata": {"labels": {"team.example.com/app": "billing", "app": "x"}}}));
        assert_eq!(t.selectors(), vec!["team.example.com/app in (billing)"]);
    }

    #[test]
    fn learns_from_app_objects_and_recognises_others() {
        let mut t = Tracking::default();
        assert!(t.is_empty());
        t.learn(
            &json!({"metadata": {"labels": {"app.kubernetes.io/instance": "shop", "app": "web"}}}),
        );
        t.learn(&json!({"metadata": {"annotations": {ARGO_TRACKING_ANNOTATION: "guestbook:apps/Deployment:default/ui"}}}));
        t.add("kustomize.toolkit.fluxcd.io/name", "apps");
        assert_eq!(
            t.selectors(),
            vec![
                "app.kubernetes.io/instance in (shop)",
                "kustomize.toolkit.fluxcd.io/name in (apps)"
            ]
        );
        let extra = json!({"metadata": {"labels": {"app.kubernetes.io/instance": "shop"}}});
        assert_eq!(
            t.reason(&extra).as_deref(),
            Some("label app.kubernetes.io/instance=shop")
        );
        let argo = json!({"metadata": {"annotations": {ARGO_TRACKING_ANNOTATION: "guestbook:/ConfigMap:default/x"}}});
        assert!(t.reason(&argo).expect("tracked").contains("guestbook"));
        let other =
            json!({"metadata": {"labels": {"app": "web", "app.kubernetes.io/instance": "blog"}}});
        assert_eq!(t.reason(&other), None);
    }
}
