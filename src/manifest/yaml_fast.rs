//! A fast reader for the block-style YAML nearly every manifest is written in.
//!
//! `granit-parser` is a complete YAML 1.2 parser, and half of a validate run went into its
//! token queue. Manifests use a small part of YAML: block mappings and sequences, plain and
//! quoted one-line scalars, literal block scalars, one-line flow collections and comments.
//! This reader builds the same tree [`super::parse_stream`] builds from granit's events, with
//! the same positions, for exactly that part, and gives up (`None`) on anything else: anchors,
//! aliases, tags, folded or indented block scalars, multi-line plain, quoted or flow scalars,
//! explicit keys, merge keys, duplicate keys, tabs, CRs, directives, document end markers,
//! errors of any kind, and nesting or sizes near the limits. The caller then reads the file
//! with granit, which gives the error or the tree; so a file this reader accepts always gets
//! the tree granit would give (tested side by side on every fixture and on mutants of them).
//!
//! Positions follow granit's conventions, which the tree keeps: a block collection starts at
//! its first key or dash (an indentless sequence, at the same indent as its parent's keys, at
//! its first item's content) and ends where the next token starts; an empty value is a `~`
//! scalar at its key's colon, an empty sequence item one just after its dash; a literal block
//! scalar starts at its first content character and ends where the next token starts.

use super::{
    Document, Entry, MAX_NODES, Node, Pos, ScalarStyle, Stream, Value, key_string, resolve,
};

/// Deepest nesting read here; deeper files go to granit, which enforces the real limit.
const MAX_FAST_DEPTH: usize = 64;
/// Longest implicit key YAML allows (granit reports longer ones as errors).
const MAX_KEY_LEN: usize = 1024;

/// Not in the part of YAML this reader handles (or wrong): read the file with granit.
struct Unhandled;

type R<T> = Result<T, Unhandled>;

/// The tree of `src`, or `None` when the file needs the full parser.
pub(super) fn parse(src: &str) -> Option<Stream> {
    if !admissible(src) {
        return None;
    }
    Reader {
        s: src.as_bytes(),
        src,
        ascii: src.is_ascii(),
        line: 1,
        line_start: 0,
        at_eof: src.is_empty(),
        nodes: 0,
    }
    .stream()
    .ok()
}

/// Characters granit would reject or treats specially anywhere: tabs, CR, other control
/// characters, a byte-order mark, and what YAML calls non-printable.
fn admissible(src: &str) -> bool {
    let ascii_ok = |b: u8| b == b'\n' || (0x20..0x7f).contains(&b);
    if src.is_ascii() {
        return src.bytes().all(ascii_ok);
    }
    src.chars().all(|c| match c as u32 {
        0..=0x7f => ascii_ok(c as u8),
        0x85 | 0xa0..=0xd7ff | 0x10000..=0x10ffff => true,
        0xe000..=0xfffd => c != '\u{feff}',
        _ => false,
    })
}

/// What the next line that is not blank or a comment holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Content at this indent (spaces).
    Content(usize),
    /// `---` at the start of the line.
    DocStart,
    /// `...` at the start of the line: the stream reader gives up on it.
    DocEnd,
    Eof,
}

struct Reader<'a> {
    s: &'a [u8],
    src: &'a str,
    ascii: bool,
    /// 1-based number of the line that starts at `line_start`.
    line: u32,
    line_start: usize,
    /// The last line ended without a line break and has been read.
    at_eof: bool,
    nodes: usize,
}

impl Reader<'_> {
    fn pos(&self, offset: usize) -> Pos {
        let col = if self.ascii {
            offset - self.line_start
        } else {
            self.src[self.line_start..offset].chars().count()
        };
        Pos {
            line: self.line,
            col: col as u32 + 1,
            offset,
        }
    }

    fn byte(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(b'\n')
    }

    fn line_end(&self, from: usize) -> usize {
        self.s[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.s.len(), |p| from + p)
    }

    /// Moves past blank and comment lines to the next line with something on it.
    fn peek(&mut self) -> Line {
        loop {
            if self.at_eof || self.line_start >= self.s.len() {
                return Line::Eof;
            }
            let i = self.skip_spaces(self.line_start);
            match self.s.get(i) {
                None => {
                    // Trailing spaces without a line break: the end of the file.
                    self.at_eof = true;
                    return Line::Eof;
                }
                Some(b'\n') | Some(b'#') => self.next_line(),
                Some(_) => {
                    let indent = i - self.line_start;
                    if indent == 0 && self.s[i..].starts_with(b"---") && self.blank_from(i + 3) {
                        return Line::DocStart;
                    }
                    if indent == 0 && self.s[i..].starts_with(b"...") {
                        return Line::DocEnd;
                    }
                    return Line::Content(indent);
                }
            }
        }
    }

    /// The offset of the first character at or after `i` that is not a space.
    fn skip_spaces(&self, mut i: usize) -> usize {
        while self.s.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    }

    /// True when only a line break (or the end) follows `i` on its line, spaces aside.
    fn blank_from(&self, i: usize) -> bool {
        matches!(self.s.get(self.skip_spaces(i)), None | Some(b'\n'))
    }

    /// Moves to the start of the line after the line break at `newline`.
    fn past_break(&mut self, newline: usize) {
        self.line_start = newline + 1;
        self.line += 1;
    }

    /// Moves to the start of the line after the current one. The last line, when no line
    /// break ends it, stays the current line: the end of the file is a position on it.
    fn next_line(&mut self) {
        let end = self.line_end(self.line_start);
        if end >= self.s.len() {
            self.at_eof = true;
            return;
        }
        self.line_start = end + 1;
        self.line += 1;
    }

    /// The rest of the line from `i` holds nothing but spaces and a comment; moves past it.
    fn end_line(&mut self, from: usize) -> R<()> {
        let spaced = self.byte(from) == b' ';
        let i = self.skip_spaces(from);
        match self.s.get(i) {
            None => {
                self.at_eof = true;
                Ok(())
            }
            Some(b'\n') => {
                self.past_break(i);
                Ok(())
            }
            Some(b'#') if spaced => {
                self.next_line();
                Ok(())
            }
            _ => Err(Unhandled),
        }
    }

    /// Where the next token starts: a content line's first character, a `---`, or the end.
    fn next_token(&mut self) -> Pos {
        match self.peek() {
            Line::Content(indent) => self.pos(self.line_start + indent),
            Line::DocStart | Line::DocEnd => self.pos(self.line_start),
            Line::Eof => self.pos(self.s.len().max(self.line_start)),
        }
    }

    fn count(&mut self) -> R<()> {
        self.nodes += 1;
        if self.nodes > MAX_NODES / 2 {
            return Err(Unhandled);
        }
        Ok(())
    }

    fn stream(&mut self) -> R<Stream> {
        let mut stream = Stream::default();
        let mut first = true;
        loop {
            let (doc_start, root) = match self.peek() {
                Line::Eof => return Ok(stream),
                Line::DocEnd => return Err(Unhandled),
                Line::DocStart => {
                    let start = self.pos(self.line_start);
                    self.next_line();
                    match self.peek() {
                        Line::Content(0) => (start, Some(self.block_node(0, 0)?)),
                        Line::Content(_) => return Err(Unhandled),
                        Line::DocStart | Line::Eof => (start, None),
                        Line::DocEnd => return Err(Unhandled),
                    }
                }
                Line::Content(0) if first => {
                    let start = self.pos(self.line_start);
                    (start, Some(self.block_node(0, 0)?))
                }
                Line::Content(_) => return Err(Unhandled),
            };
            first = false;
            if matches!(self.peek(), Line::Content(_)) {
                return Err(Unhandled);
            }
            stream.documents.push(Document {
                start: root.as_ref().map_or(doc_start, |r| r.start),
                index: stream.documents.len(),
                root,
            });
        }
    }

    /// A block collection starting at the current line, whose content is at `indent`.
    fn block_node(&mut self, indent: usize, depth: usize) -> R<Node> {
        let at = self.line_start + indent;
        if self.is_dash(at) {
            self.block_seq(indent, false, depth)
        } else if self.key_end(at).is_some() {
            self.block_map(indent, depth)
        } else {
            Err(Unhandled)
        }
    }

    /// `-` followed by a space or the end of the line.
    fn is_dash(&self, at: usize) -> bool {
        self.byte(at) == b'-' && matches!(self.byte(at + 1), b' ' | b'\n')
    }

    /// Where the key starting at `at` ends (just before its colon), when the line is
    /// `key: ...` with a plain or quoted key.
    fn key_end(&self, at: usize) -> Option<usize> {
        let end = match self.byte(at) {
            b'"' | b'\'' => self.quoted_end(at)?,
            b => {
                if !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$' | b'/')) {
                    return None;
                }
                let mut i = at;
                loop {
                    match self.byte(i) {
                        b'\n' => return None,
                        b':' if matches!(self.byte(i + 1), b' ' | b'\n') => break i,
                        b'#' if self.s[i - 1] == b' ' => return None,
                        b'[' | b']' | b'{' | b'}' | b',' | b'"' | b'\'' => return None,
                        _ => i += 1,
                    }
                }
            }
        };
        if self.byte(end) != b':' || !matches!(self.byte(end + 1), b' ' | b'\n') {
            return None;
        }
        if self.s[end - 1] == b' ' || end - at > MAX_KEY_LEN {
            return None;
        }
        Some(end)
    }

    /// The offset just past the closing quote of the one-line quoted scalar at `at`.
    fn quoted_end(&self, at: usize) -> Option<usize> {
        let quote = self.byte(at);
        let mut i = at + 1;
        loop {
            match self.byte(i) {
                b'\n' => return None,
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && self.byte(i + 1) == b'\'' => i += 2,
                b if b == quote => return Some(i + 1),
                _ => i += 1,
            }
        }
    }

    fn block_map(&mut self, indent: usize, depth: usize) -> R<Node> {
        if depth >= MAX_FAST_DEPTH {
            return Err(Unhandled);
        }
        self.count()?;
        let start = self.pos(self.line_start + indent);
        let mut entries: Vec<Entry> = Vec::new();
        let mut index: Option<std::collections::HashSet<String>> = None;
        loop {
            let at = self.line_start + indent;
            let colon = self.key_end(at).ok_or(Unhandled)?;
            let key = self.scalar_at(at, colon)?;
            let key_text = key_string(&key).map_err(|_| Unhandled)?;
            let colon_pos = self.pos(colon);
            let value = self.value(colon + 1, colon_pos, indent, depth)?;
            // Duplicates are errors granit's path reports.
            if entries.len() >= 16 {
                let index =
                    index.get_or_insert_with(|| entries.iter().map(|e| e.key.clone()).collect());
                if !index.insert(key_text.clone()) {
                    return Err(Unhandled);
                }
            } else if entries.iter().any(|e| e.key == key_text) {
                return Err(Unhandled);
            }
            entries.push(Entry {
                key: key_text,
                key_pos: key.start,
                value,
            });
            match self.peek() {
                Line::Content(i) if i == indent => {
                    if self.is_dash(self.line_start + i) {
                        return Err(Unhandled);
                    }
                }
                Line::Content(i) if i > indent => return Err(Unhandled),
                _ => break,
            }
        }
        let end = self.next_token();
        Ok(Node {
            value: Value::Map(entries),
            start,
            end,
            style: None,
            aliased: false,
        })
    }

    /// A block sequence whose dashes are at `indent`; `indentless` when it is the value of a
    /// key at the same indent.
    fn block_seq(&mut self, indent: usize, indentless: bool, depth: usize) -> R<Node> {
        if depth >= MAX_FAST_DEPTH {
            return Err(Unhandled);
        }
        self.count()?;
        let mut start = None;
        let mut items = Vec::new();
        loop {
            let dash = self.line_start + indent;
            if start.is_none() && !indentless {
                start = Some(self.pos(dash));
            }
            let mut at = dash + 1;
            if self.byte(at) == b'\n' {
                if indentless && start.is_none() {
                    return Err(Unhandled);
                }
                // `-` alone: its item is on the next lines, or empty.
                let empty = self.pos(at);
                self.end_line(at)?;
                let item = match self.peek() {
                    Line::Content(i) if i > indent => self.block_node(i, depth + 1)?,
                    _ => self.empty(empty)?,
                };
                items.push(item);
            } else {
                while self.byte(at) == b' ' {
                    at += 1;
                }
                if matches!(self.byte(at), b'\n' | b'#') || self.is_dash(at) {
                    return Err(Unhandled);
                }
                if start.is_none() {
                    start = Some(self.pos(at));
                }
                let item = if self.key_end(at).is_some() {
                    // `- key: value`: a mapping whose keys line up under the first one.
                    let column = at - self.line_start;
                    self.block_map(column, depth + 1)?
                } else {
                    self.inline_value(at, indent, depth)?
                };
                items.push(item);
            }
            match self.peek() {
                Line::Content(i) if i == indent && self.is_dash(self.line_start + i) => {}
                Line::Content(i) if i == indent && indentless => break,
                Line::Content(i) if i >= indent => return Err(Unhandled),
                _ => break,
            }
        }
        let end = self.next_token();
        Ok(Node {
            value: Value::Seq(items),
            start: start.ok_or(Unhandled)?,
            end,
            style: None,
            aliased: false,
        })
    }

    /// The value after a key's colon (`from` is just past it) of a mapping at `indent`.
    fn value(&mut self, from: usize, colon: Pos, indent: usize, depth: usize) -> R<Node> {
        let at = self.skip_spaces(from);
        if at >= self.s.len() || matches!(self.byte(at), b'\n' | b'#') {
            self.end_line(from)?;
            return match self.peek() {
                Line::Content(i) if i > indent => self.block_node(i, depth + 1),
                Line::Content(i) if i == indent && self.is_dash(self.line_start + i) => {
                    self.block_seq(indent, true, depth + 1)
                }
                _ => self.empty(colon),
            };
        }
        self.inline_value(at, indent, depth)
    }

    /// A value that starts on this line at `at`: a scalar, a flow collection or a literal.
    fn inline_value(&mut self, at: usize, indent: usize, depth: usize) -> R<Node> {
        match self.byte(at) {
            b'|' => self.literal(at, indent),
            b'[' | b'{' => {
                let (node, end) = self.flow(at, depth + 1)?;
                self.end_line(end)?;
                Ok(node)
            }
            b'"' | b'\'' => {
                let end = self.quoted_end(at).ok_or(Unhandled)?;
                let node = self.scalar_at(at, end)?;
                self.end_line(end)?;
                Ok(node)
            }
            _ => {
                let end = self.plain_end(at, false)?;
                let node = self.scalar_at(at, end)?;
                self.end_line(end)?;
                Ok(node)
            }
        }
    }

    /// The end of a plain scalar starting at `at`, trailing spaces excluded. In a flow
    /// collection it also ends at `,`, `]` and `}`.
    fn plain_end(&self, at: usize, flow: bool) -> R<usize> {
        let first = self.byte(at);
        // `-`, `?` and `:` start a plain scalar only before a character that could go on it.
        let safe_after = |b: u8| {
            let ends = matches!(b, b' ' | b'\n');
            let flow_indicator = matches!(b, b',' | b'[' | b']' | b'{' | b'}');
            !(ends || flow && flow_indicator)
        };
        let indicator = matches!(
            first,
            b'&' | b'*'
                | b'!'
                | b'%'
                | b'@'
                | b'`'
                | b'|'
                | b'>'
                | b'#'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'"'
                | b'\''
        ) || (matches!(first, b'-' | b'?' | b':')
            && !safe_after(self.byte(at + 1)));
        if indicator || first == b'\n' {
            return Err(Unhandled);
        }
        let mut i = at;
        let mut end = at;
        loop {
            match self.byte(i) {
                b'\n' => break,
                b' ' => {
                    if self.byte(i + 1) == b'#' {
                        break;
                    }
                    i += 1;
                    continue;
                }
                // `key: value` inside a value: a mapping where a scalar was expected.
                b':' if matches!(self.byte(i + 1), b' ' | b'\n') => {
                    if flow {
                        break;
                    }
                    return Err(Unhandled);
                }
                // In a flow collection `:` before an indicator is a value indicator too.
                b':' if flow && matches!(self.byte(i + 1), b',' | b'[' | b']' | b'{' | b'}') => {
                    break;
                }
                b',' | b'[' | b']' | b'{' | b'}' if flow => break,
                _ => {}
            }
            i += 1;
            end = i;
        }
        Ok(end)
    }

    /// The scalar written at `at..end` (quotes included for a quoted one).
    fn scalar_at(&mut self, at: usize, end: usize) -> R<Node> {
        self.count()?;
        let raw = &self.src[at..end];
        let (text, style) = match self.byte(at) {
            b'"' => (
                unescape_double(&raw[1..raw.len() - 1])?,
                ScalarStyle::DoubleQuoted,
            ),
            b'\'' => (
                raw[1..raw.len() - 1].replace("''", "'"),
                ScalarStyle::SingleQuoted,
            ),
            _ => (raw.to_string(), ScalarStyle::Plain),
        };
        let start = self.pos(at);
        let kind = resolve(&text, style, None, start).map_err(|_| Unhandled)?;
        Ok(Node {
            value: Value::Scalar { text, kind },
            start,
            end: self.pos(end),
            style: Some(style),
            aliased: false,
        })
    }

    /// The `~` scalar granit reads for a missing value, at `at`.
    fn empty(&mut self, at: Pos) -> R<Node> {
        self.count()?;
        Ok(Node {
            value: Value::Scalar {
                text: "~".to_string(),
                kind: super::Scalar::Null,
            },
            start: at,
            end: at,
            style: Some(ScalarStyle::Plain),
            aliased: false,
        })
    }

    /// A literal block scalar (`|`, `|-`, `|+`) whose header is at `at`, in a collection at
    /// `indent`.
    fn literal(&mut self, at: usize, indent: usize) -> R<Node> {
        self.count()?;
        let mut i = at + 1;
        let chomp = match self.byte(i) {
            b'-' | b'+' => {
                i += 1;
                self.byte(i - 1)
            }
            _ => b' ',
        };
        if !self.blank_from(i) || self.line_end(i) >= self.s.len() {
            return Err(Unhandled);
        }
        self.past_break(self.line_end(i));
        // The first line sets the indentation; a blank first line needs the full rules.
        let first = self.line_start;
        let content_indent = self.s[first..].iter().take_while(|&&b| b == b' ').count();
        if content_indent <= indent || matches!(self.byte(first + content_indent), b'\n') {
            return Err(Unhandled);
        }
        if first + content_indent >= self.s.len() {
            return Err(Unhandled);
        }
        let start = self.pos(first + content_indent);
        let mut text = String::new();
        let mut blanks = 0usize;
        loop {
            if self.at_eof || self.line_start >= self.s.len() {
                break;
            }
            let ls = self.line_start;
            let spaces = self.s[ls..].iter().take_while(|&&b| b == b' ').count();
            let after = self.byte(ls + spaces);
            if after == b'\n' && ls + spaces < self.s.len() {
                if spaces > content_indent {
                    return Err(Unhandled);
                }
                blanks += 1;
                self.next_line();
                continue;
            }
            if ls + spaces >= self.s.len() {
                // Spaces and then the end of the file: granit's rules for that line differ.
                return Err(Unhandled);
            }
            if spaces < content_indent {
                if after == b'#' {
                    return Err(Unhandled);
                }
                break;
            }
            for _ in 0..blanks {
                text.push('\n');
            }
            blanks = 0;
            let end = self.line_end(ls);
            text.push_str(&self.src[ls + content_indent..end]);
            text.push('\n');
            self.next_line();
        }
        match chomp {
            b'-' => {
                while text.ends_with('\n') {
                    text.pop();
                }
            }
            b'+' => (0..blanks).for_each(|_| text.push('\n')),
            _ => {}
        }
        let end = self.next_token();
        let kind = resolve(&text, ScalarStyle::Literal, None, start).map_err(|_| Unhandled)?;
        Ok(Node {
            value: Value::Scalar { text, kind },
            start,
            end,
            style: Some(ScalarStyle::Literal),
            aliased: false,
        })
    }

    /// A flow collection on one line, starting at `at`; returns it and the offset after it.
    fn flow(&mut self, at: usize, depth: usize) -> R<(Node, usize)> {
        if depth >= MAX_FAST_DEPTH {
            return Err(Unhandled);
        }
        self.count()?;
        let (open, close) = (
            self.byte(at),
            if self.byte(at) == b'[' { b']' } else { b'}' },
        );
        let mut i = self.skip_spaces(at + 1);
        let mut items = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        if self.byte(i) != close {
            loop {
                if open == b'[' {
                    let (item, next) = self.flow_item(i, depth)?;
                    items.push(item);
                    i = next;
                } else {
                    let (key, colon) = match self.byte(i) {
                        b'"' | b'\'' => {
                            let end = self.quoted_end(i).ok_or(Unhandled)?;
                            (self.scalar_at(i, end)?, end)
                        }
                        b'[' | b'{' => return Err(Unhandled),
                        _ => {
                            let end = self.plain_end(i, true)?;
                            (self.scalar_at(i, end)?, end)
                        }
                    };
                    if self.byte(colon) != b':' || self.byte(colon + 1) != b' ' {
                        return Err(Unhandled);
                    }
                    let key_text = key_string(&key).map_err(|_| Unhandled)?;
                    if entries.iter().any(|e| e.key == key_text) || key_text == "<<" {
                        return Err(Unhandled);
                    }
                    let (value, next) = self.flow_item(self.skip_spaces(colon + 1), depth)?;
                    entries.push(Entry {
                        key: key_text,
                        key_pos: key.start,
                        value,
                    });
                    i = next;
                }
                i = self.skip_spaces(i);
                match self.byte(i) {
                    b',' => {
                        i = self.skip_spaces(i + 1);
                        if matches!(self.byte(i), b']' | b'}') {
                            return Err(Unhandled);
                        }
                    }
                    b if b == close => break,
                    _ => return Err(Unhandled),
                }
            }
        }
        let end = i + 1;
        let value = if open == b'[' {
            Value::Seq(items)
        } else {
            Value::Map(entries)
        };
        Ok((
            Node {
                value,
                start: self.pos(at),
                end: self.pos(end),
                style: None,
                aliased: false,
            },
            end,
        ))
    }

    /// One item of a flow collection at `at`; returns it and the offset after it.
    fn flow_item(&mut self, at: usize, depth: usize) -> R<(Node, usize)> {
        match self.byte(at) {
            b'[' | b'{' => self.flow(at, depth + 1),
            b'"' | b'\'' => {
                let end = self.quoted_end(at).ok_or(Unhandled)?;
                Ok((self.scalar_at(at, end)?, end))
            }
            _ => {
                let end = self.plain_end(at, true)?;
                // `[a: b]` is a mapping in a sequence: granit's business.
                if self.byte(end) == b':' || end == at {
                    return Err(Unhandled);
                }
                Ok((self.scalar_at(at, end)?, end))
            }
        }
    }
}

/// The text of a one-line double-quoted scalar; escapes beyond the common ones go to granit.
fn unescape_double(raw: &str) -> R<String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next().ok_or(Unhandled)? {
            '\\' => '\\',
            '"' => '"',
            '/' => '/',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            _ => return Err(Unhandled),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::parse_stream_granit;
    use super::parse;

    /// Every case the fast reader accepts must read exactly as granit reads it.
    fn same(src: &str) -> bool {
        match parse(src) {
            Some(fast) => {
                assert_eq!(
                    fast,
                    parse_stream_granit(src),
                    "fast reader differs on {src:?}"
                );
                true
            }
            None => false,
        }
    }

    #[test]
    fn reads_what_manifests_use_as_granit_does() {
        let handled = [
            "a: 1\n",
            "a: 1",
            "a: 1   ",
            "a: x  # note\nb:\n  c: \"q\"\n  d: 'it''s'\n",
            "a:\n- b\n- c: |\n    z\n  d: 1\n",
            "a:\n  - x\n  -\nb: -1\n",
            "a: # c\nb:\n  # x\nc:\n  k: |\n    one\n\n    two\n  l: x\n  m: |\n    q\n\n\n",
            "k: |-\n  x\nm: |+\n  y\n\n",
            "a: |\n  x",
            "a: [1, \"two\", {k: v, \"q\": [x]}]\nb: {}\nc: []\n",
            "---\n---\na: b\n---\n",
            "# head\n\n---\n# only a comment\n",
            "x: \"\\\"quoted\\\" \\\\ \\n\"\n",
            "yes: no\n1: 2\n010: x\n",
            "name: café\nnote: ünïcode # ç\nk: [é, \"ü\"]\n",
            "a:\n  b:\n    c:\n    - d: e\n      f:\n      - g\n",
            "spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          args: [\"--port\", \"8080\"]\n",
            "",
            "\n\n",
        ];
        for src in handled {
            assert!(same(src), "not handled by the fast reader: {src:?}");
        }
    }

    #[test]
    fn leaves_the_rest_to_granit() {
        let unhandled = [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: >\n  folded\n",
            "a: plain\n  continued\n",
            "a: 1\na: 2\n",
            "<<: {a: 1}\n",
            "? complex\n: key\n",
            "a:\tb\n",
            "a: 1\r\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n...\n",
            "a: [1,\n  2]\n",
            "a: \"multi\n  line\"\n",
            "a: b: c\n",
            "- - nested\n",
            "a: |2\n   x\n",
            "  a: 1\nb: 2\n",
            "a:\n  - x\n  b: y\n",
            "plain scalar\n",
            "a: \"\\u00e9\"\n",
        ];
        for src in unhandled {
            assert!(parse(src).is_none(), "handled, but should not be: {src:?}");
        }
    }

    /// The repository's own fixtures and examples (and the shared real-world corpus when it
    /// is next to the checkout) read the same both ways; most of them take the fast path.
    #[test]
    fn fixtures_read_the_same_both_ways() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("tests"), root.join("examples")];
        dirs.push(root.join("../shared/corpus"));
        let (mut files, mut fast) = (0, 0);
        let mut stack: Vec<std::path::PathBuf> = dirs.into_iter().filter(|d| d.is_dir()).collect();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && let Ok(src) = std::fs::read_to_string(&path)
                {
                    files += 1;
                    let handled = std::panic::catch_unwind(|| same(&src))
                        .unwrap_or_else(|_| panic!("fast reader differs on {}", path.display()));
                    fast += usize::from(handled);
                }
            }
        }
        assert!(files > 50, "fixtures not found: {files} files");
        eprintln!("{fast} of {files} fixture files read by the fast reader");
    }
}
