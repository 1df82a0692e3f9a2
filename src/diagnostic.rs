//! Findings about manifests: what is wrong, where, and how bad.

use std::sync::Arc;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding, located at a file and (where the defect has one) a line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The path as the user gave it, or repo-relative.
    pub file: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// `Kind/name` of the object at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Dotted field path inside the object (`spec.template.spec.containers[0].image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Stable identifier of the check (`yaml`, `schema`, `duplicate`, `policy.image-tag`...).
    pub rule: &'static str,
    pub message: String,
}

/// The longest message a finding prints, in characters; the rest is cut with a count.
pub const MAX_MESSAGE: usize = 1000;
/// The longest object label (`Kind/name`) a finding prints.
pub const MAX_LABEL: usize = 300;

/// `text` cut to `max` characters, saying how much was left out (a value in a message may be
/// megabytes long: an 8 MB `metadata.name` must not become a 16 MB error line).
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!(
            "{}... ({} more bytes)",
            &text[..cut],
            text.len() - cut
        )),
    }
}

impl Diagnostic {
    /// The finding with its message and object label cut to printable sizes.
    pub fn bounded(mut self) -> Self {
        if let std::borrow::Cow::Owned(m) = clip(&self.message, MAX_MESSAGE) {
            self.message = m;
        }
        if let Some(o) = &self.object
            && let std::borrow::Cow::Owned(c) = clip(o, MAX_LABEL)
        {
            self.object = Some(c);
        }
        self
    }

    /// A problem with a whole file (unreadable, not YAML...).
    pub fn file(
        severity: Severity,
        file: Arc<str>,
        line: Option<u32>,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            file,
            line,
            column: None,
            object: None,
            field: None,
            rule,
            message: message.into(),
        }
    }

    /// Sort order for reports: by file, then line, then message.
    pub fn sort_key(&self) -> (Arc<str>, u32, u32, String) {
        (
            self.file.clone(),
            self.line.unwrap_or(0),
            self.column.unwrap_or(0),
            self.message.clone(),
        )
    }
}
