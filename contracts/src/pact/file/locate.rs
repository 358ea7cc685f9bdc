//! Pointing into the text of a Pact document: serde_json's syntax errors, JSON paths of errors
//! turned into lines and columns, and the locations of interactions, by a small scanner over a
//! document serde_json has already accepted.

use std::path::Path;

use crate::model::{Contract, Location};
use crate::pact::PactError;

/// The deepest nesting serde_json accepts (its recursion limit).
const MAX_DEPTH: usize = 128;

pub(super) fn syntax_error(e: &serde_json::Error, file: Option<&Path>) -> PactError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let mut message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    if message.contains("recursion limit exceeded") {
        message = format!(
            "nested more than {MAX_DEPTH} levels deep (arrays and objects inside each other); \
             parley reads documents up to that depth"
        );
    }
    PactError::Syntax {
        file: file.map(Path::to_path_buf),
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// Adds the file and, where the JSON path leads, the line and column to an error.
pub(super) fn locate_error(error: PactError, text: &str, file: Option<&Path>) -> PactError {
    let error = match error {
        PactError::Invalid { file, at, message } => {
            let message = match locate(text, &at) {
                Some(offset) => {
                    let (line, column) = line_col(text, offset);
                    format!("{message} (line {line}, column {column})")
                }
                None => message,
            };
            PactError::Invalid { file, at, message }
        }
        other => other,
    };
    match file {
        Some(file) => error.in_file(file),
        None => error,
    }
}

pub(super) fn set_locations(contract: &mut Contract, text: &str, file: &Path) {
    let lines = LineIndex::new(text);
    let offsets: Vec<usize> = ["interactions", "messages"]
        .iter()
        .flat_map(|key| element_offsets(text, key))
        .collect();
    for (interaction, offset) in contract.interactions.iter_mut().zip(offsets) {
        let (line, column) = lines.line_col(text, offset);
        interaction.common_mut().location = Some(Location {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
        });
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(text, offset)
}

/// Byte offsets of line starts.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
}

impl Scanner<'_> {
    fn skip_ws(&self, mut pos: usize) -> usize {
        while let Some(b) = self.bytes.get(pos) {
            if !b.is_ascii_whitespace() {
                break;
            }
            pos += 1;
        }
        pos
    }

    /// The end (exclusive) of the string starting at `pos` (at its opening quote).
    fn string_end(&self, mut pos: usize) -> usize {
        pos += 1;
        while let Some(b) = self.bytes.get(pos) {
            match b {
                b'\\' => pos += 2,
                b'"' => return pos + 1,
                _ => pos += 1,
            }
        }
        pos
    }

    /// The end (exclusive) of the value starting at `pos`; iterative, so any depth is fine.
    fn value_end(&self, pos: usize) -> usize {
        match self.bytes.get(pos) {
            Some(b'"') => self.string_end(pos),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut p = pos;
                while let Some(b) = self.bytes.get(p) {
                    match b {
                        b'"' => {
                            p = self.string_end(p);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return p + 1;
                            }
                        }
                        _ => {}
                    }
                    p += 1;
                }
                p
            }
            _ => {
                let mut p = pos;
                while let Some(b) = self.bytes.get(p) {
                    if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                        break;
                    }
                    p += 1;
                }
                p
            }
        }
    }

    /// The members of the object at `pos`: (key, offset of its value).
    fn members(&self, pos: usize) -> Vec<(String, usize)> {
        let mut members = Vec::new();
        let mut p = self.skip_ws(pos + 1);
        while let Some(b'"') = self.bytes.get(p) {
            let end = self.string_end(p);
            let key = self
                .bytes
                .get(p..end)
                .and_then(|raw| serde_json::from_slice::<String>(raw).ok())
                .unwrap_or_default();
            p = self.skip_ws(end);
            if self.bytes.get(p) != Some(&b':') {
                break;
            }
            let value = self.skip_ws(p + 1);
            members.push((key, value));
            p = self.skip_ws(self.value_end(value));
            if self.bytes.get(p) != Some(&b',') {
                break;
            }
            p = self.skip_ws(p + 1);
        }
        members
    }

    /// Offsets of the elements of the array at `pos`.
    fn elements(&self, pos: usize) -> Vec<usize> {
        let mut elements = Vec::new();
        let mut p = self.skip_ws(pos + 1);
        while p < self.bytes.len() && self.bytes.get(p) != Some(&b']') {
            elements.push(p);
            p = self.skip_ws(self.value_end(p));
            if self.bytes.get(p) != Some(&b',') {
                break;
            }
            p = self.skip_ws(p + 1);
        }
        elements
    }
}

/// Offsets of the elements of the top-level array `key`.
pub(super) fn element_offsets(text: &str, key: &str) -> Vec<usize> {
    let scanner = Scanner {
        bytes: text.as_bytes(),
    };
    let root = scanner.skip_ws(0);
    if scanner.bytes.get(root) != Some(&b'{') {
        return Vec::new();
    }
    scanner
        .members(root)
        .into_iter()
        .find(|(k, _)| k == key)
        .filter(|(_, pos)| scanner.bytes.get(*pos) == Some(&b'['))
        .map(|(_, pos)| scanner.elements(pos))
        .unwrap_or_default()
}

/// The offset of the value at JSON path `at` (`interactions[3].request.method`; `$` is the
/// root), or of the deepest part of it that exists. Keys may contain dots (`$.id` in matching
/// rules): at each object the longest key that fits is taken.
pub(super) fn locate(text: &str, at: &str) -> Option<usize> {
    let scanner = Scanner {
        bytes: text.as_bytes(),
    };
    let mut pos = scanner.skip_ws(0);
    if at == "$" || at.is_empty() {
        return Some(pos);
    }
    let mut rest = at;
    while !rest.is_empty() {
        match scanner.bytes.get(pos) {
            Some(b'{') => {
                let key_part = rest.strip_prefix('.').unwrap_or(rest);
                let found = scanner
                    .members(pos)
                    .into_iter()
                    .filter(|(k, _)| {
                        key_part.strip_prefix(k.as_str()).is_some_and(|after| {
                            after.is_empty() || after.starts_with('.') || after.starts_with('[')
                        })
                    })
                    .max_by_key(|(k, _)| k.len());
                let Some((key, value)) = found else {
                    return Some(pos);
                };
                rest = &key_part[key.len()..];
                pos = value;
            }
            Some(b'[') => {
                let element = rest.strip_prefix('[').and_then(|inner| {
                    let close = inner.find(']')?;
                    let index: usize = inner[..close].parse().ok()?;
                    Some((*scanner.elements(pos).get(index)?, &inner[close + 1..]))
                });
                let Some((element, after)) = element else {
                    return Some(pos);
                };
                pos = element;
                rest = after;
            }
            _ => return Some(pos),
        }
    }
    Some(pos)
}
