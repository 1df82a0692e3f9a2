//! Comparing objects by meaning rather than by spelling: quantities (`1000m` is `1`), numbers
//! (`1.0` is `1`), int-or-string fields (`"8080"` is `8080`), list items matched by their key
//! (`containers` by `name`). Used for the client-side checks: which fields Git sets that the
//! live object does not hold (`status`), and live with Git's fields laid over it (the `diff`
//! fallback when a server-side dry-run is not allowed).

use serde_json::{Map, Value};

use super::quantity;

/// Keys that identify the items of lists of objects in built-in kinds (containers, ports,
/// volumes, mounts, env...), tried in order; the first one every item has is used.
const ITEM_KEYS: &[&str] = &[
    "name",
    "containerPort",
    "port",
    "mountPath",
    "devicePath",
    "ip",
    "key",
    "type",
];

/// Where a value sits: the key of its map and the key of the map holding that map.
#[derive(Clone, Copy, Default)]
struct Context<'a> {
    parent: Option<&'a str>,
    key: Option<&'a str>,
}

impl<'a> Context<'a> {
    fn child(self, key: &'a str) -> Context<'a> {
        Context {
            parent: self.key,
            key: Some(key),
        }
    }
}

/// True when two scalar values mean the same in the field at `ctx`.
fn same_scalar(a: &Value, b: &Value, ctx: Context<'_>) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s))
            if !ctx
                .key
                .is_some_and(|k| quantity::is_quantity_field(ctx.parent, k)) =>
        {
            n.as_i64().is_some_and(|i| s.parse::<i64>() == Ok(i))
        }
        _ if ctx
            .key
            .is_some_and(|k| quantity::is_quantity_field(ctx.parent, k)) =>
        {
            quantity::same(a, b)
        }
        _ => false,
    }
}

/// True when two values mean the same.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    changed_paths(a, b).is_empty()
}

/// The key the items of both lists are matched by, when every item is an object with a
/// scalar value there.
fn item_key(a: &[Value], b: &[Value]) -> Option<&'static str> {
    ITEM_KEYS.iter().copied().find(|key| {
        a.iter().chain(b).all(|item| {
            item.get(*key)
                .is_some_and(|v| v.is_string() || v.is_number())
        })
    })
}

pub fn key_text(item: &Value, key: &str) -> String {
    match item.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `path.key`, with keys that would read ambiguously written `path["a.b"]`.
pub fn join(path: &str, key: &str) -> String {
    let key = if key.contains(['.', '[', ']']) || key.is_empty() {
        format!(
            "[{}]",
            serde_json::to_string(key).expect("strings serialise")
        )
    } else {
        key.to_string()
    };
    match (path.is_empty(), key.starts_with('[')) {
        (true, _) => key,
        (false, true) => format!("{path}{key}"),
        (false, false) => format!("{path}.{key}"),
    }
}

/// `path[key=value]`: a list item by its key, as paths are shown.
pub fn item_path(path: &str, key: &str, value: &str) -> String {
    format!("{path}[{key}={value}]")
}

/// The paths (`spec.replicas`, `spec.template.spec.containers[name=web].image`) where two
/// versions of an object differ in meaning.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_changes(before, after, Context::default(), String::new(), &mut out);
    out
}

fn walk_changes(a: &Value, b: &Value, ctx: Context<'_>, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let p = join(&path, key);
                match (x.get(key), y.get(key)) {
                    (Some(v), Some(w)) => walk_changes(v, w, ctx.child(key), p, out),
                    _ => out.push(p),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.iter().chain(y).all(|v| !v.is_object() && !v.is_array()) {
                if x.len() != y.len() || x.iter().zip(y).any(|(v, w)| !same_scalar(v, w, ctx)) {
                    out.push(path);
                }
                return;
            }
            match item_key(x, y) {
                Some(key) => {
                    for item in x {
                        let id = key_text(item, key);
                        let p = item_path(&path, key, &id);
                        match y.iter().find(|w| key_text(w, key) == id) {
                            Some(w) => walk_changes(item, w, ctx, p, out),
                            None => out.push(p),
                        }
                    }
                    for item in y {
                        let id = key_text(item, key);
                        if !x.iter().any(|v| key_text(v, key) == id) {
                            out.push(item_path(&path, key, &id));
                        }
                    }
                }
                None if x.len() == y.len() => {
                    for (i, (v, w)) in x.iter().zip(y).enumerate() {
                        walk_changes(v, w, ctx, format!("{path}[{i}]"), out);
                    }
                }
                None => out.push(path),
            }
        }
        _ if !same_scalar(a, b, ctx) => out.push(path),
        _ => {}
    }
}

/// The paths of fields Git sets whose live value is different or absent: what keeps an
/// object from being in sync, as far as the client can tell. Fields only the live object has
/// (defaults, other managers' fields, status) do not count.
pub fn unmet_fields(git: &Value, live: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_unmet(
        git,
        live,
        Context::default(),
        String::new(),
        false,
        &mut out,
    );
    out
}

/// True when the live object holds every value Git sets and every list of objects Git sets
/// has exactly Git's items: then a server-side apply of Git by a manager that owns nothing
/// yet changes no value (it could only replace a list whose extra live items it does not
/// know the ownership of, which the exact-length rule rules out).
pub fn holds_exactly(git: &Value, live: &Value) -> bool {
    let mut out = Vec::new();
    walk_unmet(git, live, Context::default(), String::new(), true, &mut out);
    out.is_empty()
}

fn walk_unmet(
    git: &Value,
    live: &Value,
    ctx: Context<'_>,
    path: String,
    exact_lists: bool,
    out: &mut Vec<String>,
) {
    match (git, live) {
        (Value::Object(g), Value::Object(l)) => {
            for (key, gv) in g {
                if is_unset(gv) {
                    continue;
                }
                let p = join(&path, key);
                match l.get(key) {
                    Some(lv) => walk_unmet(gv, lv, ctx.child(key), p, exact_lists, out),
                    None => out.push(p),
                }
            }
        }
        (Value::Array(g), Value::Array(l)) => {
            if g.iter().all(|v| !v.is_object() && !v.is_array()) {
                if g.len() != l.len() || g.iter().zip(l).any(|(v, w)| !same_scalar(v, w, ctx)) {
                    out.push(path);
                }
                return;
            }
            if exact_lists && g.len() != l.len() {
                out.push(path);
                return;
            }
            match item_key(g, l) {
                Some(key) => {
                    for item in g {
                        let id = key_text(item, key);
                        let p = item_path(&path, key, &id);
                        match l.iter().find(|w| key_text(w, key) == id) {
                            Some(w) => walk_unmet(item, w, ctx, p, exact_lists, out),
                            None => out.push(p),
                        }
                    }
                }
                None if g.len() <= l.len() => {
                    for (i, (v, w)) in g.iter().zip(l).enumerate() {
                        walk_unmet(v, w, ctx, format!("{path}[{i}]"), exact_lists, out);
                    }
                }
                None => out.push(path),
            }
        }
        _ if is_unset(git) => {}
        _ if !same_scalar(git, live, ctx) => out.push(path),
        _ => {}
    }
}

/// Null, `{}` and `[]` in Git set nothing.
fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The live object with every field Git sets laid over it: maps merged, list items merged by
/// their key (or position), values Git spells differently but means the same kept in the
/// live spelling. What applying Git would give when the server cannot be asked; fields Git
/// stopped setting are not removed, since only the server knows who owns them.
pub fn overlay(live: &Value, git: &Value) -> Value {
    overlay_in(live, git, Context::default())
}

fn overlay_in(live: &Value, git: &Value, ctx: Context<'_>) -> Value {
    match (live, git) {
        (Value::Object(l), Value::Object(g)) => {
            let mut out = l.clone();
            for (key, gv) in g {
                if gv.is_null() {
                    continue;
                }
                let merged = match l.get(key) {
                    Some(lv) => overlay_in(lv, gv, ctx.child(key)),
                    None => gv.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(g)) => {
            if g.iter().all(|v| !v.is_object()) {
                return if g.len() == l.len() && g.iter().zip(l).all(|(v, w)| same_scalar(v, w, ctx))
                {
                    live.clone()
                } else {
                    git.clone()
                };
            }
            match item_key(l, g) {
                Some(key) => {
                    let mut out: Vec<Value> = l
                        .iter()
                        .map(|item| {
                            let id = key_text(item, key);
                            match g.iter().find(|w| key_text(w, key) == id) {
                                Some(w) => overlay_in(item, w, ctx),
                                None => item.clone(),
                            }
                        })
                        .collect();
                    for item in g {
                        let id = key_text(item, key);
                        if !l.iter().any(|v| key_text(v, key) == id) {
                            out.push(item.clone());
                        }
                    }
                    Value::Array(out)
                }
                None if l.len() == g.len() => Value::Array(
                    l.iter()
                        .zip(g)
                        .map(|(v, w)| overlay_in(v, w, ctx))
                        .collect(),
                ),
                None => git.clone(),
            }
        }
        _ if same_scalar(live, git, ctx) => live.clone(),
        _ => git.clone(),
    }
}

/// Moves a Secret's `stringData` into `data`, base64-encoded, as the API server stores it.
pub fn fold_string_data(object: &mut Value) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let Some(Value::Object(strings)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    let data = data.as_object_mut().expect("made an object above");
    for (key, value) in strings {
        let text = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        data.insert(key, Value::String(base64_encode(text.as_bytes())));
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(cpu: Value, port: Value, replicas: Value) -> Value {
        json!({"spec": {"replicas": replicas, "template": {"spec": {"containers": [{
            "name": "web", "image": "nginx",
            "resources": {"limits": {"cpu": cpu}},
            "readinessProbe": {"httpGet": {"port": port}}
        }]}}}})
    }

    #[test]
    fn same_meaning_different_spelling_is_equal() {
        let git = deployment(json!("1000m"), json!("8080"), json!(2.0));
        let live = deployment(json!("1"), json!(8080), json!(2));
        assert!(equivalent(&git, &live));
        assert!(unmet_fields(&git, &live).is_empty());
    }

    #[test]
    fn real_changes_have_paths() {
        let a = deployment(json!("1"), json!(80), json!(2));
        let mut b = deployment(json!("2"), json!(80), json!(3));
        b["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert_eq!(
            changed_paths(&a, &b),
            vec![
                "spec.replicas",
                "spec.template.spec.containers[name=web].image",
                "spec.template.spec.containers[name=web].resources.limits.cpu",
            ]
        );
    }

    #[test]
    fn quantity_spelling_only_counts_in_quantity_fields() {
        let a = json!({"env": [{"name": "A", "value": "1000m"}]});
        let b = json!({"env": [{"name": "A", "value": "1"}]});
        assert!(!equivalent(&a, &b));
    }

    #[test]
    fn live_only_fields_do_not_count_for_sync() {
        let git = json!({"metadata": {"labels": {"app": "x"}, "annotations": {}},
                         "spec": {"ports": [{"port": 80}]}});
        let live = json!({"metadata": {"labels": {"app": "x", "extra": "y"}, "uid": "u"},
                          "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                                   "clusterIP": "10.0.0.4"}});
        assert!(unmet_fields(&git, &live).is_empty());
        let drifted = json!({"metadata": {"labels": {"app": "z"}}, "spec": {"ports": []}});
        assert_eq!(
            unmet_fields(&git, &drifted),
            vec!["metadata.labels.app", "spec.ports[port=80]"]
        );
    }

    #[test]
    fn holding_exactly_needs_the_same_list_items() {
        let git = json!({"spec": {"containers": [{"name": "web", "image": "a"}], "replicas": 1}});
        let live = json!({"spec": {"containers": [{"name": "web", "image": "a", "tty": false}],
                                   "replicas": 1, "paused": false}});
        assert!(holds_exactly(&git, &live));
        let sidecar = json!({"spec": {"containers": [{"name": "web", "image": "a"}, {"name": "proxy"}],
                                      "replicas": 1}});
        assert!(unmet_fields(&git, &sidecar).is_empty());
        assert!(!holds_exactly(&git, &sidecar));
    }

    #[test]
    fn overlay_keeps_defaults_and_live_spelling() {
        let live = json!({"spec": {"replicas": 1, "strategy": {"type": "RollingUpdate"},
        "template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1", "imagePullPolicy": "IfNotPresent",
             "resources": {"limits": {"cpu": "1"}}},
            {"name": "sidecar", "image": "envoy"}
        ]}}}});
        let git = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:2", "resources": {"limits": {"cpu": "1000m"}}}
        ]}}}});
        let merged = overlay(&live, &git);
        assert_eq!(merged["spec"]["replicas"], 3);
        assert_eq!(merged["spec"]["strategy"]["type"], "RollingUpdate");
        let web = &merged["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(web["image"], "nginx:2");
        assert_eq!(web["imagePullPolicy"], "IfNotPresent");
        assert_eq!(web["resources"]["limits"]["cpu"], "1");
        assert_eq!(
            merged["spec"]["template"]["spec"]["containers"][1]["name"],
            "sidecar"
        );
    }

    #[test]
    fn string_data_becomes_data() {
        let mut s = json!({"kind": "Secret", "data": {"a": "YQ=="}, "stringData": {"b": "hello"}});
        fold_string_data(&mut s);
        assert_eq!(
            s,
            json!({"kind": "Secret", "data": {"a": "YQ==", "b": "aGVsbG8="}})
        );
    }

    #[test]
    fn keys_with_dots_are_bracketed() {
        let a = json!({"metadata": {"labels": {"app.kubernetes.io/name": "a"}}});
        let b = json!({"metadata": {"labels": {"app.kubernetes.io/name": "b"}}});
        assert_eq!(
            changed_paths(&a, &b),
            vec!["metadata.labels[\"app.kubernetes.io/name\"]"]
        );
    }
}
