//! A compact schema model shared by built-in kinds (from k8s-openapi's JSON Schemas) and custom
//! resources (from CRDs' `openAPIV3Schema`), and the walk that checks a node tree against it.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::manifest::yaml::{Node, Pos, Scalar, Value};

pub type SchemaId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Extra {
    /// Keys not in `properties` are unknown fields.
    Forbid,
    /// Anything goes (`x-kubernetes-preserve-unknown-fields`, free-form objects).
    Allow,
    /// A map: every value must match this schema.
    Schema(SchemaId),
}

#[derive(Clone, Debug)]
pub struct SchemaNode {
    /// `None` accepts any type.
    pub ty: Option<Type>,
    pub properties: HashMap<String, SchemaId>,
    pub extra: Extra,
    pub items: Option<SchemaId>,
    pub required: Vec<String>,
    pub int_or_string: bool,
    /// A resource.Quantity: a number or a string in quantity syntax.
    pub quantity: bool,
    pub enumeration: Option<Vec<Json>>,
    /// Alternatives (`oneOf`/`anyOf`): the node must match one.
    pub any_of: Vec<SchemaId>,
    /// `x-kubernetes-embedded-resource`: apiVersion, kind and metadata are implied.
    pub embedded_resource: bool,
    /// Value constraints (CRD schemas use them; built-in schemas carry none).
    pub limits: Option<Box<Limits>>,
}

/// Numeric, length and pattern constraints of a schema node.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: bool,
    pub exclusive_maximum: bool,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<regex::Regex>,
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
}

impl SchemaNode {
    fn any() -> Self {
        SchemaNode {
            ty: None,
            properties: HashMap::new(),
            extra: Extra::Allow,
            items: None,
            required: Vec::new(),
            int_or_string: false,
            quantity: false,
            enumeration: None,
            any_of: Vec::new(),
            embedded_resource: false,
            limits: None,
        }
    }
}

/// An arena of schema nodes; ids index into it.
#[derive(Debug, Default)]
pub struct Schemas {
    nodes: Vec<SchemaNode>,
    by_ref: HashMap<String, SchemaId>,
}

/// Definitions whose JSON Schema says less than the API server accepts.
const FREE_FORM: &[&str] = &[
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
];
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

impl Schemas {
    pub fn get(&self, id: SchemaId) -> &SchemaNode {
        &self.nodes[id]
    }

    /// The id of a named definition compiled earlier.
    pub fn by_name(&self, name: &str) -> Option<SchemaId> {
        self.by_ref.get(name).copied()
    }

    /// Compiles a JSON Schema. `defs` resolves `#/$defs/NAME` references; `strict` says whether
    /// an object with `properties` and no `additionalProperties` rejects other keys (true for
    /// built-ins and for structural CRD schemas).
    pub fn compile(&mut self, schema: &Json, defs: &serde_json::Map<String, Json>) -> SchemaId {
        let id = self.nodes.len();
        self.nodes.push(SchemaNode::any());
        let Some(obj) = schema.as_object() else {
            return id;
        };
        if let Some(reference) = obj.get("$ref").and_then(Json::as_str) {
            let name = reference
                .rsplit('/')
                .next()
                .unwrap_or(reference)
                .to_string();
            let target = self.compile_ref(&name, defs);
            self.nodes[id] = self.nodes[target].clone();
            return id;
        }
        let mut node = SchemaNode::any();
        node.ty = match obj.get("type").and_then(Json::as_str) {
            Some("object") => Some(Type::Object),
            Some("array") => Some(Type::Array),
            Some("string") => Some(Type::String),
            Some("integer") => Some(Type::Integer),
            Some("number") => Some(Type::Number),
            Some("boolean") => Some(Type::Boolean),
            _ => None,
        };
        let flag = |key: &str| obj.get(key).and_then(Json::as_bool).unwrap_or(false);
        node.int_or_string = flag("x-kubernetes-int-or-string");
        node.embedded_resource = flag("x-kubernetes-embedded-resource");
        let preserve = flag("x-kubernetes-preserve-unknown-fields");
        if let Some(props) = obj.get("properties").and_then(Json::as_object) {
            for (key, sub) in props {
                let sub_id = self.compile(sub, defs);
                node.properties.insert(key.clone(), sub_id);
            }
        }
        node.extra = match obj.get("additionalProperties") {
            Some(Json::Bool(false)) => Extra::Forbid,
            Some(Json::Bool(true)) => Extra::Allow,
            Some(sub @ Json::Object(_)) => Extra::Schema(self.compile(sub, defs)),
            _ if preserve => Extra::Allow,
            _ if !node.properties.is_empty() => Extra::Forbid,
            _ => Extra::Allow,
        };
        if preserve {
            // Known properties are still checked; only unknown keys are let through.
            if node.extra == Extra::Forbid {
                node.extra = Extra::Allow;
            }
        }
        if let Some(items) = obj.get("items") {
            node.items = Some(self.compile(items, defs));
        }
        if let Some(req) = obj.get("required").and_then(Json::as_array) {
            node.required = req
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
        }
        node.limits = limits(obj);
        if let Some(values) = obj.get("enum").and_then(Json::as_array) {
            node.enumeration = Some(values.clone());
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = obj.get(key).and_then(Json::as_array) {
                // Structural CRD schemas use anyOf/oneOf only to add constraints to a typed
                // node; without a type of their own the alternatives decide the type.
                if node.ty.is_none() && !node.int_or_string {
                    node.any_of = alts.iter().map(|a| self.compile(a, defs)).collect();
                }
            }
        }
        self.nodes[id] = node;
        id
    }

    fn compile_ref(&mut self, name: &str, defs: &serde_json::Map<String, Json>) -> SchemaId {
        if let Some(id) = self.by_ref.get(name) {
            return *id;
        }
        // Reserve the id first so recursive definitions (JSONSchemaProps) terminate.
        let id = self.nodes.len();
        self.nodes.push(SchemaNode::any());
        self.by_ref.insert(name.to_string(), id);
        if FREE_FORM.contains(&name) {
            return id;
        }
        let Some(def) = defs.get(name) else {
            return id;
        };
        let compiled = self.compile(def, defs);
        let mut node = self.nodes[compiled].clone();
        if name == QUANTITY {
            node.quantity = true;
        }
        self.nodes[id] = node;
        id
    }
}

fn limits(obj: &serde_json::Map<String, Json>) -> Option<Box<Limits>> {
    let num = |k: &str| obj.get(k).and_then(Json::as_f64);
    let count = |k: &str| obj.get(k).and_then(Json::as_u64).map(|n| n as usize);
    let flag = |k: &str| obj.get(k).and_then(Json::as_bool).unwrap_or(false);
    let limits = Limits {
        minimum: num("minimum"),
        maximum: num("maximum"),
        exclusive_minimum: flag("exclusiveMinimum"),
        exclusive_maximum: flag("exclusiveMaximum"),
        min_length: count("minLength"),
        max_length: count("maxLength"),
        // A pattern our regex engine cannot compile is skipped rather than guessed at.
        pattern: obj
            .get("pattern")
            .and_then(Json::as_str)
            .and_then(|p| regex::Regex::new(p).ok()),
        min_items: count("minItems"),
        max_items: count("maxItems"),
    };
    let any = limits.minimum.is_some()
        || limits.maximum.is_some()
        || limits.min_length.is_some()
        || limits.max_length.is_some()
        || limits.pattern.is_some()
        || limits.min_items.is_some()
        || limits.max_items.is_some();
    any.then(|| Box::new(limits))
}

fn check_limits(limits: &Limits, node: &Node, at: Pos, path: &str, out: &mut Vec<Violation>) {
    match &node.value {
        Value::Scalar {
            kind: Scalar::Int(_) | Scalar::Float(_),
            ..
        } => {
            let Some(v) = node.to_json().as_f64() else {
                return;
            };
            if let Some(min) = limits.minimum
                && (v < min || (limits.exclusive_minimum && v == min))
            {
                push(out, path, at, format!("{v} is below the minimum {min}"));
            }
            if let Some(max) = limits.maximum
                && (v > max || (limits.exclusive_maximum && v == max))
            {
                push(out, path, at, format!("{v} is above the maximum {max}"));
            }
        }
        Value::Scalar {
            kind: Scalar::Str,
            text,
        } => {
            let len = text.chars().count();
            if limits.min_length.is_some_and(|m| len < m) {
                push(
                    out,
                    path,
                    at,
                    format!(
                        "shorter than the minimum length {}",
                        limits.min_length.unwrap_or(0)
                    ),
                );
            }
            if limits.max_length.is_some_and(|m| len > m) {
                push(
                    out,
                    path,
                    at,
                    format!(
                        "longer than the maximum length {}",
                        limits.max_length.unwrap_or(0)
                    ),
                );
            }
            if let Some(re) = &limits.pattern
                && !re.is_match(text)
            {
                push(
                    out,
                    path,
                    at,
                    format!(
                        "{:?} does not match the pattern {}",
                        truncate(text),
                        re.as_str()
                    ),
                );
            }
        }
        Value::Seq(items) => {
            if limits.min_items.is_some_and(|m| items.len() < m) {
                push(
                    out,
                    path,
                    at,
                    format!("needs at least {} items", limits.min_items.unwrap_or(0)),
                );
            }
            if limits.max_items.is_some_and(|m| items.len() > m) {
                push(
                    out,
                    path,
                    at,
                    format!("allows at most {} items", limits.max_items.unwrap_or(0)),
                );
            }
        }
        _ => {}
    }
}

/// One schema violation at a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Checks `node` against schema `id`, appending violations. `path` is the dotted path so far.
pub fn check(
    schemas: &Schemas,
    id: SchemaId,
    node: &Node,
    path: &mut String,
    out: &mut Vec<Violation>,
) {
    check_at(schemas, id, node, node.start, path, out);
}

/// Checks a mapping entry's value, reporting problems with the value as a whole at its key.
pub fn check_entry(
    schemas: &Schemas,
    id: SchemaId,
    entry: &crate::manifest::yaml::Entry,
    path: &mut String,
    out: &mut Vec<Violation>,
) {
    check_at(schemas, id, &entry.value, entry.key_pos, path, out);
}

/// Like [`check`]; problems with the node as a whole are reported at `at`, the position of
/// its key when it is a mapping value (a block mapping itself starts at its first child).
fn check_at(
    schemas: &Schemas,
    id: SchemaId,
    node: &Node,
    at: Pos,
    path: &mut String,
    out: &mut Vec<Violation>,
) {
    let schema = schemas.get(id);
    // `field: null` (or `field:`) means "not set" to the API server.
    if node.is_null() {
        return;
    }
    if !schema.any_of.is_empty() {
        let fits = schema.any_of.iter().any(|alt| {
            let mut scratch = Vec::new();
            check_at(schemas, *alt, node, at, &mut path.clone(), &mut scratch);
            scratch.is_empty()
        });
        if !fits {
            push(
                out,
                path,
                at,
                format!(
                    "{} value does not match any form this field allows",
                    node.type_name()
                ),
            );
        }
        return;
    }
    if schema.quantity {
        match &node.value {
            Value::Scalar {
                kind: Scalar::Int(_) | Scalar::Float(_),
                ..
            } => {}
            Value::Scalar {
                kind: Scalar::Str,
                text,
            } if is_quantity(text) => {}
            Value::Scalar {
                kind: Scalar::Str,
                text,
            } => {
                push(
                    out,
                    path,
                    at,
                    format!("{text:?} is not a valid quantity (e.g. 500m, 1.5, 128Mi, 2Gi)"),
                );
            }
            _ => push(
                out,
                path,
                at,
                format!("expected a quantity, got {}", describe(node)),
            ),
        }
        return;
    }
    if schema.int_or_string {
        match &node.value {
            Value::Scalar {
                kind: Scalar::Int(_) | Scalar::Str,
                ..
            } => {}
            _ => push(
                out,
                path,
                at,
                format!("expected an integer or a string, got {}", describe(node)),
            ),
        }
        return;
    }
    if let Some(ty) = schema.ty
        && !type_matches(ty, node)
    {
        push(
            out,
            path,
            at,
            format!("expected {}, got {}", type_word(ty), describe(node)),
        );
        return;
    }
    if let Some(limits) = &schema.limits {
        check_limits(limits, node, at, path, out);
    }
    if let Some(values) = &schema.enumeration {
        let json = node.to_json();
        if !values.contains(&json) {
            let allowed: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            push(
                out,
                path,
                at,
                format!("{json} is not one of {}", allowed.join(", ")),
            );
        }
    }
    match &node.value {
        Value::Map(entries) => {
            for entry in entries {
                let sub = schema
                    .properties
                    .get(&entry.key)
                    .copied()
                    .or(match schema.extra {
                        Extra::Schema(s) => Some(s),
                        _ => None,
                    });
                let len = path.len();
                push_key(path, &entry.key);
                match sub {
                    Some(sub) => check_at(schemas, sub, &entry.value, entry.key_pos, path, out),
                    None if schema.extra == Extra::Forbid
                        && !(schema.embedded_resource
                            && matches!(
                                entry.key.as_str(),
                                "apiVersion" | "kind" | "metadata"
                            )) =>
                    {
                        let hint = closest(&entry.key, schema.properties.keys())
                            .map(|k| format!(" (did you mean {k:?}?)"))
                            .unwrap_or_default();
                        out.push(Violation {
                            path: path.clone(),
                            line: entry.key_pos.line,
                            column: entry.key_pos.col,
                            message: format!("unknown field {:?}{hint}", entry.key),
                        });
                    }
                    None => {}
                }
                path.truncate(len);
            }
            for req in &schema.required {
                if !entries.iter().any(|e| &e.key == req && !e.value.is_null()) {
                    push(out, path, at, format!("missing required field {req:?}"));
                }
            }
        }
        Value::Seq(items) => {
            if let Some(item_schema) = schema.items {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    check(schemas, item_schema, item, path, out);
                    path.truncate(len);
                }
            }
        }
        Value::Scalar { .. } => {}
    }
}

pub fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn push(out: &mut Vec<Violation>, path: &str, at: Pos, message: String) {
    out.push(Violation {
        path: path.to_string(),
        line: at.line,
        column: at.col,
        message,
    });
}

fn type_matches(ty: Type, node: &Node) -> bool {
    match (&node.value, ty) {
        (Value::Map(_), Type::Object) | (Value::Seq(_), Type::Array) => true,
        (Value::Scalar { kind, .. }, _) => {
            matches!(
                (kind, ty),
                (Scalar::Str, Type::String)
                    | (Scalar::Bool(_), Type::Boolean)
                    | (Scalar::Int(_), Type::Integer | Type::Number)
                    | (Scalar::Float(_), Type::Number)
            ) || matches!((kind, ty), (Scalar::Float(f), Type::Integer) if f.fract() == 0.0 && f.is_finite())
        }
        _ => false,
    }
}

fn type_word(ty: Type) -> &'static str {
    match ty {
        Type::Object => "an object",
        Type::Array => "a list",
        Type::String => "a string",
        Type::Integer => "an integer",
        Type::Number => "a number",
        Type::Boolean => "a boolean",
    }
}

/// Names the node's type, and for YAML 1.1 surprises says how it was read.
fn describe(node: &Node) -> String {
    match &node.value {
        Value::Scalar {
            text,
            kind: Scalar::Bool(_),
        } => format!("boolean {text} (YAML reads it as a boolean; quote it for a string)"),
        Value::Scalar {
            text,
            kind: Scalar::Int(_) | Scalar::Float(_),
        } => format!("number {text} (quote it for a string)"),
        Value::Scalar {
            text,
            kind: Scalar::Str,
        } => format!("string {:?}", truncate(text)),
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "an object".into(),
        Value::Scalar {
            kind: Scalar::Null, ..
        } => "null".into(),
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Kubernetes' quantity syntax: a signed decimal number with an optional binary/decimal
/// suffix or exponent.
pub fn is_quantity(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return false;
    }
    match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T"
        | "P" | "E" => true,
        exp => {
            let Some(rest) = exp.strip_prefix(['e', 'E']) else {
                return false;
            };
            let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// The known key nearest to a misspelt one, when it is close enough to be a likely typo.
fn closest<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    let lower = key.to_ascii_lowercase();
    known
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in [
            "1", "500m", "1.5", "128Mi", "2Gi", "1e3", "-1", "0.5Gi", ".5",
        ] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "abc", "1.2.3", "5 Gi", "1GB", "Mi", "1e"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn typo_hints() {
        let keys = [
            "replicas".to_string(),
            "selector".to_string(),
            "template".to_string(),
        ];
        assert_eq!(
            closest("replica", keys.iter()).map(String::as_str),
            Some("replicas")
        );
        assert_eq!(closest("zzz", keys.iter()), None);
    }
}
