//! A compact schema model shared by built-in kinds (from k8s-openapi's JSON Schemas) and custom
//! resources (from CRDs' `openAPIV3Schema`), and the walk that checks a node tree against it.

use std::collections::HashMap;

use std::sync::Arc;

use serde_json::Value as Json;

use super::cel::{self, Reason, Rule, Verdict};

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
    /// What only CRD schemas say: CEL rules, list types, formats, defaults.
    pub crd: Option<Box<CrdExtensions>>,
}

/// The parts of a CRD's structural schema the API server enforces beyond types and limits.
/// Built-in schemas never carry them (their rules are in `apiserver/`), so the hot path of
/// built-in kinds pays one null check.
#[derive(Clone, Debug, Default)]
pub struct CrdExtensions {
    /// `x-kubernetes-validations`, shared with the CRD's list of its rules.
    pub rules: Vec<Arc<Rule>>,
    pub list_type: ListType,
    /// A `format` the server checks (see [`format_ok`]).
    pub format: Option<String>,
    /// `default`: what the server fills in before it runs the rules.
    pub default: Option<Json>,
    /// The schema's `type` as written (`object`), which the server names in rule errors.
    pub type_name: &'static str,
}

/// `x-kubernetes-list-type`.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ListType {
    #[default]
    Atomic,
    /// Items are unique.
    Set,
    /// Items are objects unique by these keys.
    Map(Vec<String>),
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
            crd: None,
        }
    }
}

/// An arena of schema nodes; ids index into it.
#[derive(Debug, Default)]
pub struct Schemas {
    nodes: Vec<SchemaNode>,
    by_ref: HashMap<String, SchemaId>,
    /// Every CEL rule compiled so far, in order (a CRD keeps the range of its own).
    pub rules: Vec<Arc<Rule>>,
    /// Set while a CRD schema compiles: only then are CRD extensions read.
    crd_mode: bool,
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

    /// Compiles a CRD's `openAPIV3Schema`, with the extensions only CRDs carry.
    pub fn compile_crd(&mut self, schema: &Json) -> SchemaId {
        self.crd_mode = true;
        let id = self.compile(schema, &serde_json::Map::new());
        self.crd_mode = false;
        id
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
        if self.crd_mode {
            node.crd = self.crd_extensions(obj, node.ty);
        }
        self.nodes[id] = node;
        id
    }

    fn crd_extensions(
        &mut self,
        obj: &serde_json::Map<String, Json>,
        ty: Option<Type>,
    ) -> Option<Box<CrdExtensions>> {
        let rules: Vec<Arc<Rule>> = obj
            .get("x-kubernetes-validations")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Rule::compile)
            .map(Arc::new)
            .collect();
        self.rules.extend(rules.iter().cloned());
        let list_type = match obj.get("x-kubernetes-list-type").and_then(Json::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                obj.get("x-kubernetes-list-map-keys")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => ListType::Atomic,
        };
        let format = obj
            .get("format")
            .and_then(Json::as_str)
            .filter(|f| format_ok(f, "").is_some())
            .map(str::to_string);
        let default = obj.get("default").cloned();
        if rules.is_empty()
            && list_type == ListType::Atomic
            && format.is_none()
            && default.is_none()
        {
            return None;
        }
        Some(Box::new(CrdExtensions {
            rules,
            list_type,
            format,
            default,
            type_name: ty.map(type_name).unwrap_or(""),
        }))
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
            } => {
                if let Some(ext) = &schema.crd {
                    check_crd(schemas, id, ext, node, at, path, out);
                }
            }
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
    if let Some(ext) = &schema.crd {
        check_crd(schemas, id, ext, node, at, path, out);
    }
    if schema.embedded_resource {
        embedded_resource(node, at, path, out);
    }
}

/// An embedded resource (`x-kubernetes-embedded-resource`) must say what it is, as any object
/// sent to the server must.
fn embedded_resource(node: &Node, at: Pos, path: &str, out: &mut Vec<Violation>) {
    if node.as_map().is_none() {
        return;
    }
    for key in ["apiVersion", "kind"] {
        if node
            .get(key)
            .and_then(Node::as_str)
            .is_none_or(str::is_empty)
        {
            let mut field = path.to_string();
            push_key(&mut field, key);
            push(out, &field, at, "Required value: must not be empty".into());
        }
    }
}

/// What the server checks of a CRD schema node beyond types and limits: its `format`, its
/// list type's uniqueness, and its CEL rules (on the value after defaulting).
pub fn check_crd(
    schemas: &Schemas,
    id: SchemaId,
    ext: &CrdExtensions,
    node: &Node,
    at: Pos,
    path: &str,
    out: &mut Vec<Violation>,
) {
    if let (
        Some(format),
        Value::Scalar {
            kind: Scalar::Str,
            text,
        },
    ) = (&ext.format, &node.value)
        && format_ok(format, text) == Some(false)
    {
        push(
            out,
            path,
            at,
            format!("in body must be of type {format}: {:?}", truncate(text)),
        );
    }
    if let Value::Seq(items) = &node.value {
        let item_schema = schemas.get(id).items.map(|i| schemas.get(i));
        let identity = |item: &Node| -> Option<Json> {
            match &ext.list_type {
                ListType::Atomic => None,
                ListType::Set => Some(item.to_json()),
                ListType::Map(keys) => {
                    let mut key = serde_json::Map::new();
                    for k in keys {
                        let value = item
                            .get(k)
                            .filter(|v| !v.is_null())
                            .map(Node::to_json)
                            .or_else(|| {
                                let sub = item_schema?.properties.get(k)?;
                                schemas.get(*sub).crd.as_ref()?.default.clone()
                            });
                        if let Some(v) = value {
                            key.insert(k.clone(), v);
                        }
                    }
                    Some(Json::Object(key))
                }
            }
        };
        if ext.list_type != ListType::Atomic {
            let mut seen = std::collections::HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let Some(key) = identity(item) else { break };
                if !seen.insert(key.to_string()) {
                    push(
                        out,
                        &format!("{path}[{i}]"),
                        item.start,
                        format!("Duplicate value: {key}"),
                    );
                }
            }
        }
    }
    if ext.rules.is_empty() {
        return;
    }
    let value = to_cel(schemas, Some(id), node);
    for rule in &ext.rules {
        let Verdict::Fail(detail) = rule.check(&value) else {
            continue;
        };
        let (mut field, mut pos) = (path.to_string(), at);
        let mut cursor = node;
        for key in &rule.field_path {
            let Some(entry) = cursor
                .as_map()
                .and_then(|m| m.iter().find(|e| &e.key == key))
            else {
                break;
            };
            push_key(&mut field, key);
            pos = entry.key_pos;
            cursor = &entry.value;
        }
        let message = match rule.reason {
            Reason::Invalid => format!("Invalid value: {:?}: {detail}", ext.type_name),
            Reason::Forbidden => format!("Forbidden: {detail}"),
            Reason::Required => format!("Required value: {detail}"),
            Reason::Duplicate => format!("Duplicate value: {detail:?}"),
        };
        push(out, &field, pos, message);
    }
}

/// The node as the CEL value `self` the server binds: schema defaults filled in where a
/// field is omitted, nulls dropped, numbers typed by the schema (`number` is a double).
pub fn to_cel(schemas: &Schemas, id: Option<SchemaId>, node: &Node) -> ::cel::Value {
    use ::cel::Value as V;
    let schema = id.map(|i| schemas.get(i));
    match &node.value {
        Value::Map(entries) => {
            let mut fields = HashMap::with_capacity(entries.len());
            for e in entries {
                if e.value.is_null() {
                    continue;
                }
                let sub = schema.and_then(|s| {
                    s.properties.get(&e.key).copied().or(match s.extra {
                        Extra::Schema(x) => Some(x),
                        _ => None,
                    })
                });
                fields.insert(e.key.clone(), to_cel(schemas, sub, &e.value));
            }
            if let Some(s) = schema {
                for (key, sub) in &s.properties {
                    if !fields.contains_key(key)
                        && let Some(default) = schemas
                            .get(*sub)
                            .crd
                            .as_ref()
                            .and_then(|c| c.default.as_ref())
                    {
                        fields.insert(key.clone(), cel::from_json(default));
                    }
                }
            }
            cel::map(fields)
        }
        Value::Seq(items) => {
            let item = schema.and_then(|s| s.items);
            V::List(Arc::new(
                items.iter().map(|i| to_cel(schemas, item, i)).collect(),
            ))
        }
        Value::Scalar { text, kind } => {
            let ty = schema.and_then(|s| s.ty);
            match kind {
                Scalar::Null => V::Null,
                Scalar::Bool(b) => V::Bool(*b),
                Scalar::Int(i) if ty == Some(Type::Number) => V::Float(*i as f64),
                Scalar::Int(i) => V::Int(*i),
                Scalar::Float(f) if ty == Some(Type::Integer) && f.fract() == 0.0 => {
                    V::Int(*f as i64)
                }
                Scalar::Float(f) => V::Float(*f),
                Scalar::Str => V::String(Arc::new(text.clone())),
            }
        }
    }
}

fn type_name(ty: Type) -> &'static str {
    match ty {
        Type::Object => "object",
        Type::Array => "array",
        Type::String => "string",
        Type::Integer => "integer",
        Type::Number => "number",
        Type::Boolean => "boolean",
    }
}

/// Whether `text` has the `format` (the subset of the server's string formats that can be
/// checked exactly); `None` for a format the server does not check or this does not know.
pub fn format_ok(format: &str, text: &str) -> Option<bool> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid = |s: &str| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() == 5 && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(n, p)| hex(p, *n))
    };
    Some(match format {
        "ipv4" => text.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<Ipv6Addr>().is_ok(),
        "cidr" => text.split_once('/').is_some_and(|(ip, bits)| {
            let max = match ip.parse::<IpAddr>() {
                Ok(IpAddr::V4(_)) => 32,
                Ok(IpAddr::V6(_)) => 128,
                Err(_) => return false,
            };
            bits.parse::<u8>().is_ok_and(|b| b <= max) && !bits.starts_with('+')
        }),
        "uuid" => uuid(text),
        "uuid3" | "uuid4" | "uuid5" => {
            uuid(text) && text.as_bytes().get(14) == format.as_bytes().get(4)
        }
        "mac" => {
            let parts: Vec<&str> = text.split([':', '-']).collect();
            matches!(parts.len(), 6 | 8 | 20) && parts.iter().all(|p| hex(p, 2))
        }
        "date" => is_date(text),
        "date-time" | "datetime" => is_date_time(text),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .is_ok()
        }
        _ => return None,
    })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    matches!((num(0..4), num(5..7), num(8..10)), (Some(_), Some(m @ 1..=12), Some(d)) if (1..=31).contains(&d) && m > 0)
}

/// RFC 3339 (`2024-01-02T03:04:05Z`, fractions and offsets allowed).
fn is_date_time(s: &str) -> bool {
    let Some((date, time)) = s.split_once(['T', 't', ' ']) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let (clock, zone) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, None)
    } else {
        match time.rfind(['+', '-']) {
            Some(i) => (&time[..i], Some(&time[i + 1..])),
            None => return false,
        }
    };
    let hms = |t: &str| {
        let p: Vec<&str> = t.split(':').collect();
        p.len() >= 2
            && p.iter()
                .all(|x| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit()))
    };
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    whole.split(':').count() == 3
        && hms(whole)
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && zone.is_none_or(|z| z.split(':').count() == 2 && hms(z))
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
