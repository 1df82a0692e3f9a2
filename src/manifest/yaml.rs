//! A YAML reader that keeps positions.
//!
//! Kubernetes tooling needs two things serde's data model drops: the source position of every
//! node (so an error can say `file:line`) and the exact bytes of every scalar (so `bump` can edit
//! a tag in place, and `1.10` stays `1.10`). We build our own node tree from `granit-parser`'s
//! event stream, resolving anchors, aliases and `<<` merge keys ourselves, and we resolve plain
//! scalars the way kubectl does (YAML 1.1: `yes`/`on` are booleans, `0644` is octal).

use std::collections::HashMap;
use std::fmt;

pub use granit_parser::ScalarStyle;
use granit_parser::{Event, Options, Parser, Span, Tag};

#[path = "yaml_fast.rs"]
mod fast;

/// Deepest nesting accepted; deeper input is rejected before it can exhaust a stack.
pub const MAX_DEPTH: usize = 128;
/// Most nodes one file may hold, counting every copy an alias makes. A 32 MiB file of dense
/// manifests holds about 3 million; each node costs about 100 bytes of memory.
pub const MAX_NODES: usize = 4_000_000;
/// Most bytes (scalar text and keys) all aliases of one file may copy: an alias of a large
/// scalar costs its size, however few nodes it is (stops alias bombs made of long strings).
pub const MAX_ALIAS_BYTES: usize = 16 * 1024 * 1024;
/// A mapping with at least this many keys checks duplicates through an index instead of a
/// scan, so a mapping of 100,000 keys is read in linear time.
const KEY_INDEX_FROM: usize = 16;

/// A position in the source: 1-based line and column, 0-based byte offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
    pub offset: usize,
}

/// What a scalar means once resolved with Kubernetes' YAML 1.1 rules.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

/// The shape of a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `text` is the scalar after escape processing; `kind` is what it resolves to.
    Scalar {
        text: String,
        kind: Scalar,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping. Keys are strings, as JSON needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// A node with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub start: Pos,
    /// End of the node's own text (for scalars: the end of the written value, quotes included).
    pub end: Pos,
    /// How a scalar was written; `None` for collections.
    pub style: Option<ScalarStyle>,
    /// True when this node was copied from an anchor (its bytes live elsewhere in the file).
    pub aliased: bool,
}

/// A document of a multi-document stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Position of the document's content (its first node).
    pub start: Pos,
    /// 0-based index among all documents of the stream, empty ones included.
    pub index: usize,
    /// `None` for an empty document (`---` with nothing after it).
    pub root: Option<Node>,
}

/// Why a YAML stream could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
    /// True when a size limit (nodes, alias bytes, depth) stopped reading, not bad syntax.
    pub limit: bool,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.pos.line, self.pos.col, self.message)
    }
}

impl std::error::Error for YamlError {}

/// The result of reading a stream: every document read before the first error, and that error.
#[derive(Debug, Default, PartialEq)]
pub struct Stream {
    pub documents: Vec<Document>,
    pub error: Option<YamlError>,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    /// Follows a path of map keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The string value of a scalar that resolves to a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar {
                text,
                kind: Scalar::Str,
            } => Some(text),
            _ => None,
        }
    }

    /// The text of any scalar as written (after escapes), whatever it resolves to. Image tags
    /// and other identifiers are read this way so `1.10` stays `1.10`.
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, kind } if *kind != Scalar::Null => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(
            self.value,
            Value::Scalar {
                kind: Scalar::Null,
                ..
            }
        )
    }

    /// A short name of the node's JSON type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar { kind, .. } => match kind {
                Scalar::Null => "null",
                Scalar::Bool(_) => "boolean",
                Scalar::Int(_) => "integer",
                Scalar::Float(_) => "number",
                Scalar::Str => "string",
            },
            Value::Seq(_) => "array",
            Value::Map(_) => "object",
        }
    }

    /// The JSON value kubectl would send for this node.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Scalar { text, kind } => match kind {
                Scalar::Null => J::Null,
                Scalar::Bool(b) => J::Bool(*b),
                Scalar::Int(i) => J::from(*i),
                Scalar::Float(f) => serde_json::Number::from_f64(*f)
                    .map(J::Number)
                    .unwrap_or_else(|| J::String(text.clone())),
                Scalar::Str => J::String(text.clone()),
            },
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// Nodes and bytes (scalar text and keys) in this subtree: what a copy of it costs.
    fn weight(&self) -> (usize, usize) {
        match &self.value {
            Value::Scalar { text, .. } => (1, text.len()),
            Value::Seq(items) => items
                .iter()
                .map(Node::weight)
                .fold((1, 0), |a, w| (a.0 + w.0, a.1 + w.1)),
            Value::Map(entries) => entries.iter().fold((1, 0), |a, e| {
                let w = e.value.weight();
                (a.0 + 1 + w.0, a.1 + e.key.len() + w.1)
            }),
        }
    }
}

/// Reads every document of a YAML stream: through the fast reader when the file keeps to the
/// block style it handles, through granit otherwise. Both give the same tree.
pub fn parse_stream(src: &str) -> Stream {
    fast::parse(src).unwrap_or_else(|| parse_stream_granit(src))
}

/// The fast reader alone: `None` when the file needs the full parser. For tests that hold the
/// two readers side by side.
#[doc(hidden)]
pub fn parse_stream_fast(src: &str) -> Option<Stream> {
    fast::parse(src)
}

/// Reads every document of a YAML stream with granit, the full parser.
pub fn parse_stream_granit(src: &str) -> Stream {
    let mut options = Options::default();
    options.set_emit_comments(false);
    options.block_nesting_limit = MAX_DEPTH;
    options.flow_nesting_limit = MAX_DEPTH;
    let mut builder = Builder::new();
    for item in Parser::new_from_str_with_options(src, options) {
        match item {
            Ok((event, span)) => {
                if let Err(e) = builder.event(event, span) {
                    builder.stream.error = Some(e);
                    break;
                }
            }
            Err(e) => {
                let m = e.marker();
                builder.stream.error = Some(YamlError {
                    pos: Pos {
                        line: m.line() as u32,
                        col: m.col() as u32 + 1,
                        offset: m.byte_offset().unwrap_or(0),
                    },
                    message: e.info().to_string(),
                    // The parser's own nesting limit is a limit too.
                    limit: e.info().contains("nesting") || e.info().contains("limit"),
                });
                break;
            }
        }
    }
    builder.stream
}

enum Frame {
    Seq(Node),
    /// A mapping under construction; `pending` holds a key waiting for its value.
    Map {
        node: Node,
        pending: Option<Node>,
        merges: Vec<Node>,
        anchor: usize,
        /// Key -> line of its first definition, once the mapping is large (see
        /// [`KEY_INDEX_FROM`]).
        index: Option<HashMap<String, u32>>,
    },
}

struct Builder {
    stream: Stream,
    stack: Vec<Frame>,
    seq_anchors: Vec<usize>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    alias_bytes: usize,
    doc_index: usize,
    doc_start: Option<Pos>,
    root: Option<Node>,
}

fn pos_of(m: &granit_parser::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
        offset: m.byte_offset().unwrap_or(0),
    }
}

impl Builder {
    fn new() -> Self {
        Builder {
            stream: Stream::default(),
            stack: Vec::new(),
            seq_anchors: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            alias_bytes: 0,
            doc_index: 0,
            doc_start: None,
            root: None,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let start = pos_of(&span.start);
        let end = pos_of(&span.end);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Anchor(..) => Ok(()),
            Event::DocumentStart(..) => {
                self.anchors.clear();
                self.doc_start = Some(start);
                Ok(())
            }
            Event::DocumentEnd => {
                // An empty document reads as a null scalar; either way there is no object.
                let root = self.root.take().filter(|r| !r.is_null());
                self.stream.documents.push(Document {
                    start: root
                        .as_ref()
                        .map(|r| r.start)
                        .or(self.doc_start.take())
                        .unwrap_or(start),
                    index: self.doc_index,
                    root,
                });
                self.doc_index += 1;
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let kind = resolve(&text, style, tag.as_deref(), start)?;
                let node = Node {
                    value: Value::Scalar {
                        text: text.into_owned(),
                        kind,
                    },
                    start,
                    end,
                    style: Some(style),
                    aliased: false,
                };
                self.finish(node, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                self.seq_anchors.push(anchor);
                self.stack
                    .push(Frame::Seq(collection(Value::Seq(Vec::new()), start)));
                Ok(())
            }
            Event::MappingStart(_, anchor, _) => {
                self.stack.push(Frame::Map {
                    node: collection(Value::Map(Vec::new()), start),
                    pending: None,
                    merges: Vec::new(),
                    anchor,
                    index: None,
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq(mut node)) => {
                    node.end = end;
                    let anchor = self.seq_anchors.pop().unwrap_or(0);
                    self.finish(node, anchor)
                }
                _ => Err(err(start, "unbalanced sequence end")),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    mut node,
                    merges,
                    anchor,
                    ..
                }) => {
                    node.end = end;
                    apply_merges(&mut node, merges);
                    self.finish(node, anchor)
                }
                _ => Err(err(start, "unbalanced mapping end")),
            },
            Event::Alias(id) => {
                let target = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| err(start, "alias to an unknown anchor"))?;
                let (size, bytes) = target.weight();
                self.nodes += size;
                self.alias_bytes += bytes;
                if self.nodes > MAX_NODES {
                    return Err(limit(
                        start,
                        format!(
                            "limit: aliases expand the file to more than {MAX_NODES} nodes (alias bomb?); not read further"
                        ),
                    ));
                }
                if self.alias_bytes > MAX_ALIAS_BYTES {
                    return Err(limit(
                        start,
                        format!(
                            "limit: aliases copy more than {} MiB of text (alias bomb?); not read further",
                            MAX_ALIAS_BYTES / (1024 * 1024)
                        ),
                    ));
                }
                let mut copy = target.clone();
                mark_aliased(&mut copy);
                copy.start = start;
                copy.end = end;
                self.finish(copy, 0)
            }
            Event::UnresolvedAlias(name) => Err(err(start, format!("unknown anchor *{name}"))),
            // Comments and any presentation-only events a newer parser adds carry no data.
            _ => Ok(()),
        }
    }

    /// Attaches a finished node to its parent, or makes it the document root.
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(limit(
                node.start,
                format!("limit: more than {MAX_NODES} YAML nodes in one file; not read further"),
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq(parent)) => {
                if let Value::Seq(items) = &mut parent.value {
                    items.push(node);
                }
                Ok(())
            }
            Some(Frame::Map {
                node: parent,
                pending,
                merges,
                index,
                ..
            }) => match pending.take() {
                None => {
                    *pending = Some(node);
                    Ok(())
                }
                Some(key) => {
                    let key_text = key_string(&key)?;
                    if key_text == "<<" && matches!(key.style, Some(ScalarStyle::Plain)) {
                        merges.push(node);
                        return Ok(());
                    }
                    let Value::Map(entries) = &mut parent.value else {
                        return Ok(());
                    };
                    if index.is_none() && entries.len() >= KEY_INDEX_FROM {
                        *index = Some(
                            entries
                                .iter()
                                .map(|e| (e.key.clone(), e.key_pos.line))
                                .collect(),
                        );
                    }
                    let first = match index {
                        Some(index) => index.get(&key_text).copied(),
                        None => entries
                            .iter()
                            .find(|e| e.key == key_text)
                            .map(|e| e.key_pos.line),
                    };
                    if let Some(first) = first {
                        return Err(err(
                            key.start,
                            format!("duplicate key {key_text:?} (first defined at line {first})"),
                        ));
                    }
                    if let Some(index) = index {
                        index.insert(key_text.clone(), key.start.line);
                    }
                    entries.push(Entry {
                        key: key_text,
                        key_pos: key.start,
                        value: node,
                    });
                    Ok(())
                }
            },
        }
    }
}

fn err(pos: Pos, message: impl Into<String>) -> YamlError {
    YamlError {
        pos,
        message: message.into(),
        limit: false,
    }
}

/// A size limit stopped reading: reported as a limit, not as bad syntax.
fn limit(pos: Pos, message: impl Into<String>) -> YamlError {
    YamlError {
        limit: true,
        ..err(pos, message)
    }
}

fn collection(value: Value, start: Pos) -> Node {
    Node {
        value,
        start,
        end: start,
        style: None,
        aliased: false,
    }
}

fn mark_aliased(node: &mut Node) {
    node.aliased = true;
    match &mut node.value {
        Value::Scalar { .. } => {}
        Value::Seq(items) => items.iter_mut().for_each(mark_aliased),
        Value::Map(entries) => entries.iter_mut().for_each(|e| mark_aliased(&mut e.value)),
    }
}

/// Mapping keys become JSON object keys, so non-string scalars are written as JSON would.
fn key_string(key: &Node) -> Result<String, YamlError> {
    match &key.value {
        Value::Scalar { text, kind } => Ok(match kind {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            _ => text.clone(),
        }),
        _ => Err(err(
            key.start,
            "a mapping or sequence used as a key cannot be represented in JSON",
        )),
    }
}

/// Applies `<<` merge keys: keys written in the mapping win, then earlier merge sources win
/// over later ones (YAML 1.1 merge semantics).
fn apply_merges(node: &mut Node, merges: Vec<Node>) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    for source in merges {
        let sources: Vec<Node> = match source.value {
            Value::Seq(items) => items,
            _ => vec![source],
        };
        for src in sources {
            if let Value::Map(src_entries) = src.value {
                for entry in src_entries {
                    if !entries.iter().any(|e| e.key == entry.key) {
                        entries.push(entry);
                    }
                }
            }
        }
    }
}

/// Resolves a scalar the way Kubernetes' YAML 1.1 decoder does.
fn resolve(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Scalar, YamlError> {
    if let Some(tag) = tag {
        if tag.handle() == "tag:yaml.org,2002:" {
            return match tag.suffix() {
                "str" | "binary" | "timestamp" => Ok(Scalar::Str),
                "null" => Ok(Scalar::Null),
                "bool" => resolve_plain(text)
                    .filter(|k| matches!(k, Scalar::Bool(_)))
                    .ok_or_else(|| err(pos, format!("{text:?} is not a !!bool"))),
                "int" => resolve_plain(text)
                    .filter(|k| matches!(k, Scalar::Int(_)))
                    .ok_or_else(|| err(pos, format!("{text:?} is not an !!int"))),
                "float" => match resolve_plain(text) {
                    Some(Scalar::Float(f)) => Ok(Scalar::Float(f)),
                    Some(Scalar::Int(i)) => Ok(Scalar::Float(i as f64)),
                    _ => Err(err(pos, format!("{text:?} is not a !!float"))),
                },
                _ => Ok(Scalar::Str),
            };
        }
        // Local tags (`!foo`) carry no meaning for Kubernetes; the scalar is kept as written.
        return Ok(if style == ScalarStyle::Plain {
            resolve_plain(text).unwrap_or(Scalar::Str)
        } else {
            Scalar::Str
        });
    }
    if style != ScalarStyle::Plain {
        return Ok(Scalar::Str);
    }
    Ok(resolve_plain(text).unwrap_or(Scalar::Str))
}

/// YAML 1.1 plain-scalar resolution (go-yaml v2, which `sigs.k8s.io/yaml` uses).
/// `None` means the scalar is a string.
pub fn resolve_plain(text: &str) -> Option<Scalar> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Scalar::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Scalar::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Scalar::Bool(false));
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Scalar::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Scalar::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Scalar::Float(f64::NAN)),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, digits) = match plain.as_bytes()[0] {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    if digits.is_empty() {
        return None;
    }
    let int = if let Some(hex) = digits.strip_prefix("0x") {
        parse_radix(hex, 16)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        parse_radix(bin, 2)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        parse_radix(oct, 8)
    } else if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        parse_radix(&digits[1..], 8)
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        match digits.parse::<i64>() {
            Ok(v) => Some(v),
            // Too large for an integer: Go falls back to a float.
            Err(_) => {
                return digits
                    .parse::<f64>()
                    .ok()
                    .map(|f| Scalar::Float(if negative { -f } else { f }));
            }
        }
    } else {
        None
    };
    if let Some(v) = int {
        return Some(Scalar::Int(if negative { -v } else { v }));
    }
    if is_float(digits) {
        return digits
            .parse::<f64>()
            .ok()
            .map(|f| Scalar::Float(if negative { -f } else { f }));
    }
    None
}

fn parse_radix(digits: &str, radix: u32) -> Option<i64> {
    if digits.is_empty() {
        return None;
    }
    i64::from_str_radix(digits, radix).ok()
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the float form go-yaml v2 accepts.
fn is_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Node {
        let s = parse_stream(src);
        assert!(s.error.is_none(), "{:?}", s.error);
        s.documents.into_iter().next().unwrap().root.unwrap()
    }

    #[test]
    fn scalars_resolve_like_kubectl() {
        let n = one(
            "a: yes\nb: 0644\nc: 1.10\nd: \"1.10\"\ne: ~\nf: 0x1f\ng: nginx:1.10\nh: 1e3\ni: .5\n",
        );
        assert_eq!(n.get("a").unwrap().type_name(), "boolean");
        assert_eq!(n.get("b").unwrap().to_json(), serde_json::json!(420));
        assert_eq!(n.get("c").unwrap().type_name(), "number");
        assert_eq!(n.get("c").unwrap().scalar_text(), Some("1.10"));
        assert_eq!(n.get("d").unwrap().as_str(), Some("1.10"));
        assert!(n.get("e").unwrap().is_null());
        assert_eq!(n.get("f").unwrap().to_json(), serde_json::json!(31));
        assert_eq!(n.get("g").unwrap().as_str(), Some("nginx:1.10"));
        assert_eq!(n.get("h").unwrap().type_name(), "number");
        assert_eq!(n.get("i").unwrap().type_name(), "number");
    }

    #[test]
    fn positions_are_kept() {
        let n = one("a: 1\nb:\n  c: \"x\"\n");
        let c = n.path(&["b", "c"]).unwrap();
        assert_eq!((c.start.line, c.start.col), (3, 6));
        assert_eq!(
            &"a: 1\nb:\n  c: \"x\"\n"[c.start.offset..c.end.offset],
            "\"x\""
        );
    }

    #[test]
    fn large_mappings_use_the_key_index_and_still_catch_duplicates() {
        let mut text: String = (0..120_000).map(|i| format!("k{i}: {i}\n")).collect();
        let s = parse_stream(&text);
        assert!(s.error.is_none());
        assert_eq!(one(&text).as_map().unwrap().len(), 120_000);
        text.push_str("k77: again\n");
        let e = parse_stream(&text).error.expect("duplicate");
        assert!(
            e.message
                .contains("duplicate key \"k77\" (first defined at line 78)"),
            "{e:?}"
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let s = parse_stream("a: 1\nb: 2\na: 3\n");
        let e = s.error.unwrap();
        assert_eq!(e.pos.line, 3);
        assert!(e.message.contains("duplicate key"), "{}", e.message);
    }

    #[test]
    fn anchors_and_merge_keys() {
        let n = one("base: &b {x: 1, z: 2}\nderived:\n  <<: *b\n  z: 3\nlist: [*b]\n");
        let d = n.get("derived").unwrap();
        assert_eq!(d.to_json(), serde_json::json!({"z": 3, "x": 1}));
        assert_eq!(
            n.get("list").unwrap().to_json(),
            serde_json::json!([{"x": 1, "z": 2}])
        );
    }

    #[test]
    fn documents_keep_index_and_line() {
        let s = parse_stream("---\n---\na: 1\n---\nb: 2\n");
        assert!(s.error.is_none());
        let docs: Vec<_> = s
            .documents
            .iter()
            .map(|d| (d.index, d.root.is_some(), d.start.line))
            .collect();
        assert_eq!(docs, vec![(0, false, 1), (1, true, 3), (2, true, 5)]);
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let s = parse_stream(&bomb);
        let e = s.error.unwrap();
        assert!(e.message.contains("alias") && e.limit, "{e:?}");
        // Few nodes, many bytes: one long scalar aliased thousands of times.
        let long = format!(
            "big: &big {}\nrefs: [{}]\n",
            "x".repeat(160 * 1024),
            vec!["*big"; 13_000].join(", ")
        );
        let e = parse_stream(&long).error.expect("refused");
        assert!(e.limit && e.message.contains("MiB of text"), "{e:?}");
        let deep = "[".repeat(10_000);
        assert!(parse_stream(&deep).error.is_some());
        let deep_block: String = (0..10_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert!(parse_stream(&deep_block).error.is_some());
    }

    #[test]
    fn tabs_in_indentation_are_errors() {
        assert!(parse_stream("a:\n\tb: 1\n").error.is_some());
        assert!(parse_stream("a: \"\\tquoted tab\"\n").error.is_none());
    }
}
