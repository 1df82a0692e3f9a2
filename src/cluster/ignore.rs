//! Differences the controller itself ignores, so `status` and `diff` do not report drift it
//! will never correct:
//! - Argo CD `spec.ignoreDifferences` of the app's Application, and the system-wide
//!   `resource.customizations.ignoreDifferences.<group_kind>` / `.all` of `argocd-cm`:
//!   `jsonPointers`, `jqPathExpressions` (evaluated with jaq, a jq implementation in Rust, as
//!   Argo CD evaluates them with gojq: the paths the expression selects are removed), and
//!   `managedFieldsManagers` (fields a listed manager owns in the live object);
//! - annotations on the objects: Flux `kustomize.toolkit.fluxcd.io/ssa: IfNotPresent` (never
//!   corrected once created) and `Ignore` / `reconcile: disabled` (never applied), Flux
//!   `prune: disabled` and Argo CD `compare-options: IgnoreExtraneous` on a live object that
//!   Git no longer has (never removed, never counted).
//!
//! Semantics follow argoproj/argo-cd `util/argo/normalizers/diff_normalizer.go` and
//! fluxcd/kustomize-controller's ssa annotations (docs/spec/v1/kustomizations.md).

use serde::Deserialize;
use serde_json::Value;

/// One Argo CD ignore rule.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    pub group: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub json_pointers: Vec<String>,
    pub jq_path_expressions: Vec<String>,
    pub managed_fields_managers: Vec<String>,
}

impl Rule {
    /// True when the rule is about this object (empty name and namespace match any;
    /// `*` kind matches any kind of the group, as in `.all`).
    fn applies(&self, group: &str, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        (self.group == group || self.group == "*")
            && (self.kind == kind || self.kind == "*" || self.kind.is_empty())
            && (self.name.is_empty() || self.name == name)
            && (self.namespace.is_empty() || Some(self.namespace.as_str()) == namespace)
    }
}

/// The ignore rules of one comparison: per app, and for every app (argocd-cm).
#[derive(Clone, Debug, Default)]
pub struct Ignores {
    /// (app name, rule); `None` app: system-wide.
    rules: Vec<(Option<String>, Rule)>,
    /// Field managers whose changes are expected (`.gitops.yaml` `live.expectedManagers`):
    /// what they write is not drift.
    pub expected_managers: Vec<String>,
    /// What sidecar injectors add to pods (see `injected`).
    pub injected: super::injected::Injected,
    /// Where Argo CD's `argocd-cm` is (`.gitops.yaml` `live.argocdNamespace`; `argocd`).
    pub argocd_namespace: Option<String>,
    /// `--no-ignore`: compare everything.
    pub off: bool,
}

/// Who last wrote a field, from the live object's `managedFields`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Writer {
    pub field: String,
    pub manager: String,
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
}

impl Writer {
    /// `kubectl-edit at 2026-12-01 10:32`, for messages.
    pub fn describe(&self) -> String {
        let when = self
            .time
            .as_deref()
            .map(|t| format!(" at {}", t.replace('T', " ").trim_end_matches('Z')))
            .unwrap_or_default();
        format!("{} ({}){when}", self.manager, self.operation)
    }
}

/// What an annotation makes of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Compared as usual.
    Compare,
    /// The controller never applies it: not Missing, not drift.
    NotApplied(String),
    /// The controller creates it once and never corrects it: drift is not drift.
    CreatedOnly(String),
}

const FLUX_SSA: &str = "kustomize.toolkit.fluxcd.io/ssa";
const FLUX_RECONCILE: &str = "kustomize.toolkit.fluxcd.io/reconcile";
const FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
const ARGO_COMPARE: &str = "argocd.argoproj.io/compare-options";

fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

impl Ignores {
    /// Adds an app's own rules (an Argo CD Application's `spec.ignoreDifferences`).
    pub fn add_app(&mut self, app: &str, rules: &[Value]) {
        for r in rules {
            if let Ok(rule) = serde_json::from_value::<Rule>(r.clone()) {
                self.rules.push((Some(app.to_string()), rule));
            }
        }
    }

    /// Adds the system-wide rules of Argo CD's `argocd-cm` ConfigMap:
    /// `resource.customizations.ignoreDifferences.<group>_<kind>` (`<kind>` alone for the core
    /// group) and `resource.customizations.ignoreDifferences.all`, each a YAML document of
    /// `jsonPointers`, `jqPathExpressions`, `managedFieldsManagers`.
    pub fn add_argocd_cm(&mut self, configmap: &Value) {
        const PREFIX: &str = "resource.customizations.ignoreDifferences.";
        let Some(data) = configmap.get("data").and_then(Value::as_object) else {
            return;
        };
        for (key, text) in data {
            let (Some(target), Some(text)) = (key.strip_prefix(PREFIX), text.as_str()) else {
                continue;
            };
            let Ok(mut rule) = serde_saphyr::from_str::<Rule>(text) else {
                continue;
            };
            if target == "all" {
                rule.group = "*".into();
                rule.kind = "*".into();
            } else {
                let (group, kind) = target.rsplit_once('_').unwrap_or(("", target));
                rule.group = group.to_string();
                rule.kind = kind.to_string();
            }
            self.rules.push((None, rule));
        }
    }

    /// Splits drifted fields into those someone is expected to change (an autoscaler through
    /// the `scale` subresource, a configured manager) and real drift, naming for each the
    /// manager that last wrote it. Returns (drift, expected, writers of the drift).
    pub fn explain(
        &self,
        live: &Value,
        drifted: Vec<String>,
    ) -> (Vec<String>, Vec<String>, Vec<Writer>) {
        let owners = field_writers(live);
        let mut drift = Vec::new();
        let mut expected = Vec::new();
        let mut writers = Vec::new();
        for field in drifted {
            let writer = owners
                .iter()
                .filter(|(owned, _)| covers_path(owned, &field))
                .max_by(|a, b| a.1.time.cmp(&b.1.time))
                .map(|(_, w)| Writer {
                    field: field.clone(),
                    ..w.clone()
                });
            let is_expected = !self.off
                && writer.as_ref().is_some_and(|w| {
                    w.subresource.as_deref() == Some("scale")
                        || self.expected_managers.contains(&w.manager)
                });
            match writer {
                Some(w) if is_expected => {
                    expected.push(format!("{field} (set by {})", w.manager));
                }
                Some(w) => {
                    drift.push(field);
                    writers.push(w);
                }
                None => drift.push(field),
            }
        }
        (drift, expected, writers)
    }

    /// True when nothing is ignored (no rules and no injected names, or `--no-ignore`).
    pub fn is_empty(&self) -> bool {
        self.off || (self.rules.is_empty() && self.injected.is_empty())
    }

    /// What the annotations of a Git object make of it.
    pub fn verdict(&self, desired: &Value) -> Verdict {
        if self.off {
            return Verdict::Compare;
        }
        match annotation(desired, FLUX_SSA)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("ignore") => {
                return Verdict::NotApplied(format!("{FLUX_SSA}: Ignore: Flux does not apply it"));
            }
            Some("ifnotpresent") => {
                return Verdict::CreatedOnly(format!(
                    "{FLUX_SSA}: IfNotPresent: Flux creates it and never corrects it"
                ));
            }
            _ => {}
        }
        if annotation(desired, FLUX_RECONCILE) == Some("disabled") {
            return Verdict::NotApplied(format!(
                "{FLUX_RECONCILE}: disabled: Flux does not reconcile it"
            ));
        }
        Verdict::Compare
    }

    /// Why a live object that Git does not have is not counted as Extra, if it is not.
    pub fn extraneous_ignored(&self, live: &Value) -> Option<String> {
        if self.off {
            return None;
        }
        if annotation(live, FLUX_PRUNE) == Some("disabled") {
            return Some(format!("{FLUX_PRUNE}: disabled: Flux never removes it"));
        }
        let compare = annotation(live, ARGO_COMPARE).unwrap_or("");
        if compare.split(',').any(|o| o.trim() == "IgnoreExtraneous") {
            return Some(format!("{ARGO_COMPARE}: IgnoreExtraneous"));
        }
        None
    }

    /// Removes from both sides what the rules for this object ignore, and says which fields.
    /// `app` is the app the Git object belongs to.
    pub fn strip(&self, app: Option<&str>, desired: &mut Value, live: &mut Value) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let api = live
            .get("apiVersion")
            .or_else(|| desired.get("apiVersion"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let group = api.rsplit_once('/').map_or("", |(g, _)| g).to_string();
        let kind = string_at(live, "/kind").or_else(|| string_at(desired, "/kind"));
        let name = string_at(live, "/metadata/name").unwrap_or_default();
        let namespace = string_at(live, "/metadata/namespace");
        let kind = kind.unwrap_or_default();
        let mut paths: Vec<Vec<Step>> = Vec::new();
        let mut jq_shown: Vec<String> = Vec::new();
        for (owner, rule) in &self.rules {
            if owner.as_deref().is_some_and(|o| Some(o) != app)
                || !rule.applies(&group, &kind, namespace.as_deref(), &name)
            {
                continue;
            }
            for pointer in &rule.json_pointers {
                paths.push(pointer_steps(pointer));
            }
            for expression in &rule.jq_path_expressions {
                let mut hit = false;
                for side in [&mut *desired, &mut *live] {
                    if let Some(v) = jq_delete(expression, side)
                        && v != *side
                    {
                        *side = v;
                        hit = true;
                    }
                }
                if hit && !jq_shown.contains(expression) {
                    jq_shown.push(expression.clone());
                }
            }
            for manager in &rule.managed_fields_managers {
                paths.extend(managed_paths(live, manager));
            }
        }
        let mut shown: Vec<String> = jq_shown;
        shown.extend(self.injected.strip(desired, live));
        for path in &paths {
            let a = remove(desired, path);
            let b = remove(live, path);
            if a || b {
                let text = display(path);
                if !shown.contains(&text) {
                    shown.push(text);
                }
            }
        }
        shown
    }
}

/// The ignore rules for one target: its apps' own, and Argo CD's system-wide ones from
/// `argocd-cm` when the cluster has it (read once; absent or forbidden is no rules).
pub async fn for_target(
    cluster: &super::Cluster,
    target: &super::desired::Target,
    no_ignore: bool,
    warnings: &mut Vec<String>,
) -> Ignores {
    let mut ignores = target.ignores.clone();
    ignores.off = no_ignore;
    if no_ignore || !target.argocd {
        return ignores;
    }
    let namespace = ignores
        .argocd_namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or("argocd");
    match cluster
        .get(
            &format!(
                "/api/v1/namespaces/{}/configmaps/argocd-cm",
                super::live::encode_segment(namespace)
            ),
            "reading Argo CD's argocd-cm",
        )
        .await
    {
        Ok(cm) => ignores.add_argocd_cm(&cm),
        Err(e) if matches!(e.code(), Some(403 | 404)) => {}
        Err(e) => warnings.push(format!(
            "cannot read {namespace}/argocd-cm for its ignore rules: {e}"
        )),
    }
    ignores
}

/// Every leaf field a manager owns, as paths are shown (`spec.template.spec.containers[name=web].image`),
/// with who wrote it. List items by key read their key from `k:{...}`; an item with several
/// keys is listed under each, so any spelling of its path finds it.
fn field_writers(live: &Value) -> Vec<(String, Writer)> {
    let mut out = Vec::new();
    let entries = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let text = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_string);
        let writer = Writer {
            field: String::new(),
            manager: text("manager").unwrap_or_else(|| "?".into()),
            operation: text("operation").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource"),
        };
        let mut leaves = Vec::new();
        if let Some(fields) = entry.get("fieldsV1") {
            walk_fields(fields, &mut Vec::new(), &mut leaves);
        }
        for leaf in leaves {
            for path in shown_paths(&leaf) {
                out.push((path, writer.clone()));
            }
        }
    }
    out
}

fn shown_paths(steps: &[Step]) -> Vec<String> {
    let mut paths = vec![String::new()];
    for step in steps {
        paths = match step {
            Step::Key(k) => paths
                .iter()
                .map(|p| crate::diff::compare::join(p, k))
                .collect(),
            Step::Index(i) => paths.iter().map(|p| format!("{p}[{i}]")).collect(),
            Step::Match(m) => paths
                .iter()
                .flat_map(|p| {
                    m.keys().map(move |k| {
                        let v = crate::diff::compare::key_text(&Value::Object(m.clone()), k);
                        crate::diff::compare::item_path(p, k, &v)
                    })
                })
                .collect(),
        };
    }
    paths
}

/// True when owning `owned` means having written `field`: the same field, one inside it, or
/// one containing it.
fn covers_path(owned: &str, field: &str) -> bool {
    let inside = |a: &str, b: &str| {
        a == b || (a.starts_with(b) && matches!(a.as_bytes().get(b.len()), Some(b'.' | b'[')))
    };
    inside(owned, field) || inside(field, owned)
}

fn string_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// One step of a path into a JSON value.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    /// A list element whose fields hold these values (managedFields `k:{...}`).
    Match(serde_json::Map<String, Value>),
}

/// A JSON pointer (RFC 6901) as steps: `~1` is `/`, `~0` is `~`; numbers index lists.
fn pointer_steps(pointer: &str) -> Vec<Step> {
    pointer
        .split('/')
        .skip(1)
        .map(|p| {
            let p = p.replace("~1", "/").replace("~0", "~");
            match p.parse::<usize>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Key(p),
            }
        })
        .collect()
}

/// `.spec.replicas`, `.spec.containers[0]` for messages.
fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Match(m) => {
                let keys: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", keys.join(",")));
            }
        }
    }
    if out.is_empty() { ".".into() } else { out }
}

/// Removes the value at `path`; a numeric step on a map is a key (`/data/0`).
fn remove(value: &mut Value, path: &[Step]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut at = value;
    for step in parents {
        let next = match (step, at) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k),
            (Step::Index(i), Value::Object(m)) => m.get_mut(&i.to_string()),
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
            (Step::Match(want), Value::Array(a)) => a.iter_mut().find(|e| matches(e, want)),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return false,
        }
    }
    match (last, at) {
        (Step::Key(k), Value::Object(m)) => m.remove(k).is_some(),
        (Step::Index(i), Value::Object(m)) => m.remove(&i.to_string()).is_some(),
        (Step::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        (Step::Match(want), Value::Array(a)) => {
            let before = a.len();
            a.retain(|e| !matches(e, want));
            a.len() != before
        }
        _ => false,
    }
}

fn matches(element: &Value, want: &serde_json::Map<String, Value>) -> bool {
    want.iter().all(|(k, v)| element.get(k) == Some(v))
}

/// `value` without what a jq expression selects, as Argo CD removes the paths it selects:
/// `del(EXPR)`. An expression that does not compile or fails removes nothing (`None`).
fn jq_delete(expression: &str, value: &Value) -> Option<Value> {
    use jaq_core::load::{Arena, File, Loader};
    use jaq_core::{Compiler, Ctx, RcIter};
    let program = format!("del({expression})");
    let loader = Loader::new(jaq_std::defs().chain(jaq_json::defs()));
    let arena = Arena::default();
    let modules = loader
        .load(
            &arena,
            File {
                code: program.as_str(),
                path: (),
            },
        )
        .ok()?;
    let filter = Compiler::default()
        .with_funs(jaq_std::funs().chain(jaq_json::funs()))
        .compile(modules)
        .ok()?;
    let inputs = RcIter::new(core::iter::empty());
    let mut out = filter.run((Ctx::new([], &inputs), jaq_json::Val::from(value.clone())));
    match out.next()? {
        Ok(v) => Some(Value::from(v)),
        Err(_) => None,
    }
}

/// The leaf paths `manager` owns in a live object's `managedFields` (FieldsV1: `f:name`
/// fields, `k:{...}` list elements by key, `v:...` set values, `i:N` indexes; `.` is the
/// element itself).
fn managed_paths(live: &Value, manager: &str) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    let entries = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        if entry.get("manager").and_then(Value::as_str) != Some(manager) {
            continue;
        }
        if let Some(fields) = entry.get("fieldsV1") {
            walk_fields(fields, &mut Vec::new(), &mut out);
        }
    }
    out
}

fn walk_fields(fields: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let Some(map) = fields.as_object() else {
        return;
    };
    let children: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| *k != ".").collect();
    if children.is_empty() {
        if !path.is_empty() {
            out.push(path.clone());
        }
        return;
    }
    for (key, sub) in children {
        let step = if let Some(name) = key.strip_prefix("f:") {
            Step::Key(name.to_string())
        } else if let Some(json) = key.strip_prefix("k:") {
            match serde_json::from_str::<serde_json::Map<String, Value>>(json) {
                Ok(m) => Step::Match(m),
                Err(_) => continue,
            }
        } else if let Some(i) = key.strip_prefix("i:") {
            match i.parse() {
                Ok(i) => Step::Index(i),
                Err(_) => continue,
            }
        } else {
            // `v:` set members are owned as a whole by their list; not removed one by one.
            continue;
        };
        path.push(step);
        walk_fields(sub, path, out);
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: u64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "web", "image": image},
                {"name": "istio-proxy", "image": "proxy:1"}
            ]}}}
        })
    }

    #[test]
    fn json_pointers_and_jq_paths_of_an_apps_rules_are_ignored() {
        let mut ignores = Ignores::default();
        ignores.add_app(
            "web",
            &[json!({"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"],
                     "jqPathExpressions": [".spec.template.spec.containers[] | select(.name == \"istio-proxy\")"]})],
        );
        let (mut git, mut live) = (deployment(2, "web:1"), deployment(5, "web:1"));
        git["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .pop();
        let ignored = ignores.strip(Some("web"), &mut git, &mut live);
        assert_eq!(git, live, "{ignored:?}");
        assert!(
            ignored.contains(&".spec.replicas".to_string()),
            "{ignored:?}"
        );
        // Another app's object is compared in full, and so is everything with --no-ignore.
        let (mut git, mut live) = (deployment(2, "web:1"), deployment(5, "web:1"));
        assert!(ignores.strip(Some("api"), &mut git, &mut live).is_empty());
        ignores.off = true;
        assert!(ignores.strip(Some("web"), &mut git, &mut live).is_empty());
    }

    #[test]
    fn argocd_cm_rules_and_managed_fields_managers() {
        let mut ignores = Ignores::default();
        ignores.add_argocd_cm(&json!({"data": {
            "resource.customizations.ignoreDifferences.apps_Deployment": "managedFieldsManagers:\n- kube-controller-manager\n",
            "resource.customizations.ignoreDifferences.all": "jsonPointers:\n- /metadata/labels/injected\n"
        }}));
        let git = deployment(2, "web:1");
        let mut live = deployment(7, "web:1");
        live["metadata"]["labels"] = json!({"injected": "yes"});
        live["metadata"]["managedFields"] = json!([{
            "manager": "kube-controller-manager", "operation": "Update", "subresource": "scale",
            "fieldsV1": {"f:spec": {"f:replicas": {}}}
        }]);
        let mut git = git;
        let ignored = ignores.strip(None, &mut git, &mut live);
        assert_eq!(git["spec"].get("replicas"), None);
        assert_eq!(live["spec"].get("replicas"), None);
        assert!(
            live["metadata"]["labels"].get("injected").is_none(),
            "{ignored:?}"
        );
    }

    #[test]
    fn drift_is_explained_by_its_writer_and_autoscaling_is_expected() {
        let mut live = deployment(7, "web:2");
        live["metadata"]["managedFields"] = json!([
            {"manager": "kubectl-client-side-apply", "operation": "Update", "time": "2026-12-01T09:00:00Z",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}}}},
            {"manager": "kubectl-edit", "operation": "Update", "time": "2026-12-01T10:32:00Z",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {"f:image": {}}}}}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "scale",
             "time": "2026-12-01T10:40:00Z", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
        ]);
        let ignores = Ignores::default();
        let (drift, expected, writers) = ignores.explain(
            &live,
            vec![
                "spec.replicas".into(),
                "spec.template.spec.containers[name=web].image".into(),
            ],
        );
        assert_eq!(drift, vec!["spec.template.spec.containers[name=web].image"]);
        assert_eq!(
            expected,
            vec!["spec.replicas (set by kube-controller-manager)"]
        );
        assert_eq!(writers[0].manager, "kubectl-edit");
        assert_eq!(
            writers[0].describe(),
            "kubectl-edit (Update) at 2026-12-01 10:32:00"
        );
    }

    #[test]
    fn flux_and_argocd_annotations() {
        let ignores = Ignores::default();
        let with = |k: &str, v: &str| json!({"metadata": {"annotations": {k: v}}});
        assert!(matches!(
            ignores.verdict(&with(FLUX_SSA, "IfNotPresent")),
            Verdict::CreatedOnly(_)
        ));
        assert!(matches!(
            ignores.verdict(&with(FLUX_SSA, "Ignore")),
            Verdict::NotApplied(_)
        ));
        assert!(matches!(
            ignores.verdict(&with(FLUX_RECONCILE, "disabled")),
            Verdict::NotApplied(_)
        ));
        assert_eq!(ignores.verdict(&with(FLUX_SSA, "Merge")), Verdict::Compare);
        assert!(
            ignores
                .extraneous_ignored(&with(ARGO_COMPARE, "IgnoreExtraneous"))
                .is_some()
        );
        assert!(
            ignores
                .extraneous_ignored(&with(FLUX_PRUNE, "disabled"))
                .is_some()
        );
        assert!(
            ignores
                .extraneous_ignored(&with(FLUX_PRUNE, "enabled"))
                .is_none()
        );
    }
}
