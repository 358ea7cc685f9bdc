//! Positions in YAML (and JSON) documents, for errors and findings that point at a line.
//!
//! `serde_norway` gives positions only in its errors. Two of its properties give the rest in one
//! pass: a mapping key read as a string is handed to the visitor as a slice *borrowed from the
//! input* (for plain and quoted keys without escapes), so its byte offset is the slice's
//! address minus the text's; and an error raised by a visitor is stamped with the position of
//! the node being visited. [`index`] walks the document once, recording the offset of every key
//! and sequence item under its path (`services.gateway.calls[0].timeout_ms`), and rejects
//! duplicate keys at their position.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::LintError;
use super::graph::Location;

/// The path of a mapping entry below `parent`: `.key` for plain keys, `["key"]` for keys with
/// dots or other characters (subjects such as `orders.created`).
pub fn child(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        && !key.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    match (plain, parent.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{parent}.{key}"),
        (false, _) => format!("{parent}[{}]", serde_json::Value::String(key.to_string())),
    }
}

/// The path of the `i`-th item of the sequence at `parent`.
pub fn item(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// Line starts of a text, to turn byte offsets into 1-based lines and columns (in characters).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset.min(text.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line, column + 1)
    }
}

/// Where every key and item of one document is.
pub struct Positions<'t> {
    file: &'t Path,
    text: &'t str,
    lines: LineIndex,
    offsets: HashMap<String, usize>,
}

impl fmt::Debug for Positions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Positions")
            .field("file", &self.file)
            .field("entries", &self.offsets.len())
            .finish()
    }
}

impl<'t> Positions<'t> {
    /// The location of the node at `path`, or of its nearest ancestor that has one.
    pub fn locate(&self, path: &str) -> Location {
        let mut p = path;
        loop {
            if let Some(&offset) = self.offsets.get(p) {
                let (line, column) = self.lines.line_col(self.text, offset);
                return Location::new(self.file, line, column, path);
            }
            match parent_of(p) {
                Some(parent) => p = parent,
                None => return Location::new(self.file, 1, 1, path),
            }
        }
    }

    /// The location of `path` only if that exact node is written.
    pub fn exact(&self, path: &str) -> Option<Location> {
        self.offsets.get(path).map(|&offset| {
            let (line, column) = self.lines.line_col(self.text, offset);
            Location::new(self.file, line, column, path)
        })
    }

    pub fn file(&self) -> &'t Path {
        self.file
    }
}

fn parent_of(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    // The last segment starts at the last `.` or `[` outside a quoted key.
    let bytes = path.as_bytes();
    let mut in_quotes = false;
    let mut cut = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'.' | b'[' if !in_quotes => cut = i,
            _ => {}
        }
        i += 1;
    }
    Some(&path[..cut])
}

/// Builds the position index of a document; a YAML error (syntax, duplicate key) comes back
/// with its location.
pub fn index<'t>(file: &'t Path, text: &'t str) -> Result<Positions<'t>, LintError> {
    let mut ctx = Ctx {
        base: text.as_ptr() as usize,
        len: text.len(),
        text,
        offsets: HashMap::new(),
    };
    let de = serde_norway::Deserializer::from_str(text);
    let first = NodeSeed {
        ctx: &mut ctx,
        path: String::new(),
    }
    .deserialize(de)
    .map_err(|e| yaml_error(file, &e))?;
    if let Some(first) = first {
        ctx.offsets.entry(String::new()).or_insert(first);
    }
    Ok(Positions {
        file,
        text,
        lines: LineIndex::new(text),
        offsets: ctx.offsets,
    })
}

/// Builds the position index of every document of a multi-document text (`---` separated, as
/// Backstage catalog files are), in order; an empty document gets an empty index. A YAML error
/// comes back with its location.
pub fn index_all<'t>(file: &'t Path, text: &'t str) -> Result<Vec<Positions<'t>>, LintError> {
    let lines = LineIndex::new(text);
    let mut out = Vec::new();
    for de in serde_norway::Deserializer::from_str(text) {
        let mut ctx = Ctx {
            base: text.as_ptr() as usize,
            len: text.len(),
            text,
            offsets: HashMap::new(),
        };
        let first = NodeSeed {
            ctx: &mut ctx,
            path: String::new(),
        }
        .deserialize(de)
        .map_err(|e| yaml_error(file, &e))?;
        if let Some(first) = first {
            ctx.offsets.entry(String::new()).or_insert(first);
        }
        out.push(Positions {
            file,
            text,
            lines: lines.clone(),
            offsets: ctx.offsets,
        });
    }
    Ok(out)
}

/// A `serde_norway` error as a [`LintError`] at its position, its message without the
/// " at line L column C" suffix.
pub fn yaml_error(file: &Path, e: &serde_norway::Error) -> LintError {
    static AT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r" at line \d+ column \d+").expect("valid regex")
    });
    let message = AT.replace_all(&e.to_string(), "").into_owned();
    let (line, column) = e
        .location()
        .map(|l| (Some(l.line()), Some(l.column())))
        .unwrap_or((None, None));
    LintError {
        kind: super::ErrorKind::Invalid,
        file: Some(file.to_path_buf()),
        line,
        column,
        path: None,
        message,
    }
}

struct Ctx<'t> {
    base: usize,
    len: usize,
    text: &'t str,
    offsets: HashMap<String, usize>,
}

impl Ctx<'_> {
    /// The offset of a slice borrowed from the text (pointing at the opening quote of a quoted
    /// scalar), or `None` for a string the parser had to build.
    fn offset_of(&self, s: &str) -> Option<usize> {
        let p = s.as_ptr() as usize;
        if p < self.base || p + s.len() > self.base + self.len {
            return None;
        }
        let offset = p - self.base;
        match self.text.as_bytes().get(offset.wrapping_sub(1)) {
            Some(b'"' | b'\'') if offset > 0 => Some(offset - 1),
            _ => Some(offset),
        }
    }
}

struct NodeSeed<'c, 't> {
    ctx: &'c mut Ctx<'t>,
    path: String,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    /// The offset of the node's first key or string, when it has one.
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(self.ctx.offset_of(v))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(
            "YAML tags (`!name value`) are not supported here",
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut first = None;
        let mut i = 0;
        loop {
            let path = item(&self.path, i);
            let Some(found) = seq.next_element_seed(NodeSeed {
                ctx: &mut *self.ctx,
                path: path.clone(),
            })?
            else {
                break;
            };
            if let Some(offset) = found {
                self.ctx.offsets.insert(path, offset);
                first.get_or_insert(offset);
            }
            i += 1;
        }
        Ok(first)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut first = None;
        let mut seen = HashSet::new();
        while let Some((key, offset)) = map.next_key_seed(KeySeed {
            ctx: &*self.ctx,
            seen: &mut seen,
        })? {
            let path = child(&self.path, &key);
            if let Some(offset) = offset {
                self.ctx.offsets.insert(path.clone(), offset);
                first.get_or_insert(offset);
            }
            map.next_value_seed(NodeSeed {
                ctx: &mut *self.ctx,
                path,
            })?;
        }
        Ok(first)
    }
}

struct KeySeed<'c, 't, 's> {
    ctx: &'c Ctx<'t>,
    seen: &'s mut HashSet<String>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_, '_> {
    type Value = (String, Option<usize>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_, '_> {
    type Value = (String, Option<usize>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if !self.seen.insert(v.to_string()) {
            return Err(E::custom(format!("duplicate key `{v}`")));
        }
        Ok((v.to_string(), None))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        let offset = self.ctx.offset_of(v);
        self.visit_str(v).map(|(k, _)| (k, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
parley: architecture/v1
services:
  gateway:
    calls:
      - to: order-service
        timeout_ms: 2000
      - { to: \"payment-service\", method: GET }
subjects:
  orders.created:
    producers: [order-service]
";

    #[test]
    fn keys_and_items_are_located() {
        let p = index(Path::new("a.yaml"), DOC).expect("indexes");
        let at = |path: &str| {
            let l = p.exact(path).unwrap_or_else(|| panic!("{path} located"));
            (l.line, l.column)
        };
        assert_eq!(at("parley"), (1, 1));
        assert_eq!(at("services.gateway"), (3, 3));
        assert_eq!(at("services.gateway.calls[0]"), (5, 9));
        assert_eq!(at("services.gateway.calls[0].timeout_ms"), (6, 9));
        assert_eq!(at("services.gateway.calls[1]"), (7, 11));
        assert_eq!(at("services.gateway.calls[1].method"), (7, 34));
        assert_eq!(at("subjects[\"orders.created\"]"), (9, 3));
        assert_eq!(at("subjects[\"orders.created\"].producers[0]"), (10, 17));
        // A path not written falls back to its nearest written ancestor.
        let l = p.locate("services.gateway.calls[0].retries");
        assert_eq!((l.line, l.column), (5, 9));
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_have_positions() {
        let e = index(Path::new("d.yaml"), "a: 1\nb:\n  c: 1\n  c: 2\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some(3)), "{e}");
        assert!(e.message.contains("duplicate key `c`"), "{e}");
        let e = index(Path::new("s.yaml"), "a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn every_document_of_a_stream_is_indexed() {
        let text = "a: 1\n---\nb:\n  c: 2\n";
        let docs = index_all(Path::new("m.yaml"), text).expect("indexes");
        assert_eq!(docs.len(), 2);
        let l = docs[1].exact("b.c").expect("located");
        assert_eq!((l.line, l.column), (4, 3));
        assert!(docs[0].exact("b").is_none());
        let e = index_all(Path::new("m.yaml"), "a: 1\n---\nb: [\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn parents_of_paths() {
        assert_eq!(parent_of("a.b[0].c"), Some("a.b[0]"));
        assert_eq!(parent_of("a.b[0]"), Some("a.b"));
        assert_eq!(parent_of("s[\"x.y\"].p"), Some("s[\"x.y\"]"));
        assert_eq!(parent_of("s[\"x.y\"]"), Some("s"));
        assert_eq!(parent_of("a"), Some(""));
        assert_eq!(child("", "orders.created"), "[\"orders.created\"]");
        assert_eq!(child("services", "order-service"), "services.order-service");
    }
}
