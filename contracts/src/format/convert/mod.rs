//! The tree of a parley contract to the model: structure, provider states, bodies, headers,
//! schemas. Inline matchers are in [`super::matchers`].
//!
//! This module holds what every part uses: positions (`At`), errors (`Problem`), objects with
//! known keys (`Obj`) and scalars. The contract and its provider states are in `contract`,
//! HTTP interactions in `http`, events with their triggers and schemas in `event`.

mod contract;
mod event;
mod http;

pub(crate) use contract::contract;

use std::path::Path;

use serde_json::Value;

use crate::format::tree::{Map, Node, Seg, Spot};
use crate::model::Location;

/// A conversion error: what is wrong and which node it is about.
#[derive(Debug)]
pub(crate) struct Problem {
    pub spot: Spot,
    pub message: String,
}

pub(crate) type R<T> = Result<T, Problem>;

/// Where a node is, as a path from the root (a linked list on the stack; turned into a
/// [`Spot`] only when something is wrong).
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    parent: Option<&'a At<'a>>,
    seg: Option<SegRef<'a>>,
}

#[derive(Clone, Copy)]
enum SegRef<'a> {
    Key(&'a str, usize),
    Index(usize),
}

impl<'a> At<'a> {
    pub fn root() -> At<'static> {
        At {
            parent: None,
            seg: None,
        }
    }

    /// The first entry with this key.
    pub fn key(&'a self, key: &'a str) -> At<'a> {
        self.key_n(key, 0)
    }

    /// The `n`-th entry with this key (duplicates counted).
    pub fn key_n(&'a self, key: &'a str, n: usize) -> At<'a> {
        At {
            parent: Some(self),
            seg: Some(SegRef::Key(key, n)),
        }
    }

    pub fn index(&'a self, index: usize) -> At<'a> {
        At {
            parent: Some(self),
            seg: Some(SegRef::Index(index)),
        }
    }

    fn path(&self) -> Vec<Seg> {
        let mut segs = Vec::new();
        let mut at = Some(self);
        while let Some(a) = at {
            match a.seg {
                Some(SegRef::Key(k, n)) => segs.push(Seg::Key(k.to_string(), n)),
                Some(SegRef::Index(i)) => segs.push(Seg::Index(i)),
                None => {}
            }
            at = a.parent;
        }
        segs.reverse();
        segs
    }

    /// An error about this node's value.
    pub fn err(&self, message: impl Into<String>) -> Problem {
        Problem {
            spot: Spot {
                path: self.path(),
                key: false,
            },
            message: message.into(),
        }
    }

    /// An error about this entry's key (or, for list elements and the root, the node).
    pub fn key_err(&self, message: impl Into<String>) -> Problem {
        Problem {
            spot: Spot {
                path: self.path(),
                key: matches!(self.seg, Some(SegRef::Key(..))),
            },
            message: message.into(),
        }
    }
}

/// Everything a conversion needs to know about the file.
pub(crate) struct Cx<'a> {
    pub file: &'a Path,
}

impl Cx<'_> {
    fn base_dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new(""))
    }

    fn location(&self, map: &Map) -> Location {
        Location {
            file: self.file.to_path_buf(),
            line: map.first_key.map(|p| p.0),
            column: map.first_key.map(|p| p.1),
        }
    }
}

/// A mapping being read: its keys are checked against the ones allowed.
pub(crate) struct Obj<'m, 'a> {
    pub map: &'m Map,
    pub at: &'a At<'a>,
}

impl<'m, 'a> Obj<'m, 'a> {
    /// `node` must be a mapping (`what` names it in the error).
    pub fn new(node: &'m Node, at: &'a At<'a>, what: &str) -> R<Obj<'m, 'a>> {
        match node {
            Node::Map(map) => Ok(Obj { map, at }),
            other => Err(at.err(format!(
                "expected a mapping for {what}, found {}",
                other.kind()
            ))),
        }
    }

    /// Unknown and repeated keys are errors.
    pub fn check(&self, what: &str, allowed: &[&str]) -> R<()> {
        for (key, _) in &self.map.entries {
            if !allowed.contains(&key.as_str()) {
                return Err(self.at.key(key).key_err(unknown_key(key, what, allowed)));
            }
        }
        if let Some((i, n)) = self.map.first_duplicate(false) {
            let key = &self.map.entries[i].0;
            return Err(self
                .at
                .key_n(key, n)
                .key_err(format!("key {key:?} given twice in {what}")));
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&'m Node> {
        self.map.get(key)
    }

    pub fn require(&self, key: &str, what: &str) -> R<&'m Node> {
        self.get(key)
            .ok_or_else(|| self.at.key_err(format!("missing key {key:?} in {what}")))
    }
}

/// `unknown key "bdy" in request (did you mean "body"? expected one of: method, path, …)`
pub(crate) fn unknown_key(key: &str, what: &str, allowed: &[&str]) -> String {
    let hint = did_you_mean(key, allowed)
        .map(|s| format!("did you mean {s:?}? "))
        .unwrap_or_default();
    format!(
        "unknown key {key:?} in {what} ({hint}expected one of: {})",
        allowed.join(", ")
    )
}

/// The closest of `candidates`, if it is close (a typo).
pub(crate) fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&word, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut previous = row[0];
        row[0] = i;
        for j in 1..=b.len() {
            let current = row[j];
            row[j] = if a[i - 1] == b[j - 1] {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j - 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

/// A string value (strict: numbers are not strings here).
pub(crate) fn string<'n>(node: &'n Node, at: &At, what: &str) -> R<&'n str> {
    match node {
        Node::Str(s) => Ok(s),
        other => Err(at.err(format!(
            "expected a string for {what}, found {}",
            other.kind()
        ))),
    }
}

/// Text for humans: any scalar reads as text (`description: 404` is "404").
fn text(node: &Node, at: &At, what: &str) -> R<String> {
    match node {
        Node::Str(s) => Ok(s.clone()),
        Node::Int(i) => Ok(i.to_string()),
        Node::UInt(u) => Ok(u.to_string()),
        Node::Float(f) => Ok(f.to_string()),
        Node::Bool(b) => Ok(b.to_string()),
        other => Err(at.err(format!(
            "expected a string for {what}, found {}",
            other.kind()
        ))),
    }
}

fn non_empty(value: String, at: &At, what: &str) -> R<String> {
    if value.trim().is_empty() {
        Err(at.err(format!("{what} must not be empty")))
    } else {
        Ok(value)
    }
}

/// A scalar as JSON.
pub(crate) fn scalar(node: &Node, at: &At) -> R<Value> {
    Ok(match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::from(*i),
        Node::UInt(u) => Value::from(*u),
        Node::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => return Err(at.err(format!("{f} is not a JSON number"))),
        },
        Node::Str(s) => Value::String(s.clone()),
        Node::Seq(_) | Node::Map(_) => return Err(at.err("expected a single value")),
    })
}

/// A value taken as written: matchers are not allowed (`what` says where).
pub(crate) fn plain(node: &Node, at: &At, what: &str) -> R<Value> {
    match node {
        Node::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(plain(item, &at.index(i), what)?);
            }
            Ok(Value::Array(out))
        }
        Node::Map(map) => {
            if map.contains("$match") {
                return Err(at.err(format!(
                    "matchers are not allowed in {what}: it is used exactly as written"
                )));
            }
            if let Some((i, n)) = map.first_duplicate(false) {
                let key = &map.entries[i].0;
                return Err(at.key_n(key, n).key_err(format!("key {key:?} given twice")));
            }
            let mut out = serde_json::Map::new();
            for (key, value) in &map.entries {
                out.insert(key.clone(), plain(value, &at.key(key), what)?);
            }
            Ok(Value::Object(out))
        }
        other => scalar(other, at),
    }
}

/// What a document is.
pub(crate) enum Kind {
    Parley,
    /// A Pact file (the Pact reader's job); `at` is the key that shows it.
    Pact(Spot),
    /// A JSON Schema (it sits beside contracts, but is none).
    Schema,
}

/// Tells a parley contract from a Pact file or a JSON Schema by its top-level keys.
pub(crate) fn kind(root: &Node) -> Kind {
    let Node::Map(map) = root else {
        return Kind::Parley;
    };
    let root_at = At::root();
    for (key, value) in &map.entries {
        let pact = match key.as_str() {
            "interactions" | "messages" => true,
            "consumer" | "provider" => value.as_map().is_some_and(|m| m.contains("name")),
            _ => false,
        };
        if pact {
            return Kind::Pact(root_at.key(key).key_err("").spot);
        }
    }
    if map.contains("$schema") && !map.contains("consumer") {
        return Kind::Schema;
    }
    Kind::Parley
}
