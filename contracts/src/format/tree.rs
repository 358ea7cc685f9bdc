//! The document as a tree, and where its nodes are in the text.
//!
//! A contract is parsed (YAML, or JSON through the same YAML parser: JSON is YAML's flow
//! style) into a plain [`Node`] tree with duplicate keys kept, so that the conversion to the
//! model is ordinary code on a tree. `serde_norway` tells positions only in errors, so they are
//! not kept for every node; instead an error names the path of the node it is about ([`Spot`])
//! and [`locate`] parses the text again, walking that path and raising an error at the node,
//! whose position is the node's line and column. Only the first key of each interaction is
//! located while parsing (the interaction's location in the model): its key is read, then an
//! error raised and caught, which leaves the parser where it was.
//!
//! Both tricks rest on one property of `serde_norway` (0.9): an error raised by a visitor is
//! stamped with the position of the node being visited. The tests pin every location.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A parsed value. Maps keep their entries in document order, duplicates included.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Map),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct Map {
    pub entries: Vec<(String, Node)>,
    /// Line and column of the first key, when it was located (interactions only).
    pub first_key: Option<(usize, usize)>,
}

impl Map {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// The first key given again (compared ignoring ASCII case with `fold_case`): its index,
    /// and how many entries with exactly that key come before it (for its [`Seg::Key`]).
    /// Linear, so that a mapping of a million keys costs no more than reading it.
    pub fn first_duplicate(&self, fold_case: bool) -> Option<(usize, usize)> {
        let mut seen = std::collections::HashSet::with_capacity(self.entries.len());
        for (i, (key, _)) in self.entries.iter().enumerate() {
            let fresh = if fold_case {
                seen.insert(std::borrow::Cow::Owned(key.to_ascii_lowercase()))
            } else {
                seen.insert(std::borrow::Cow::Borrowed(key.as_str()))
            };
            if !fresh {
                let exact = self.entries[..i].iter().filter(|(k, _)| k == key).count();
                return Some((i, exact));
            }
        }
        None
    }
}

impl Node {
    /// What kind of value this is, for messages (`a string`, `a list`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) | Node::UInt(_) => "an integer",
            Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }
}

/// One step of a path from the root to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    /// The `n`-th (0-based) entry with this key (duplicates are counted).
    Key(String, usize),
    Index(usize),
}

/// What an error points at: the node at `path`, or (with `key`) the key of the entry the path
/// ends in.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Spot {
    pub path: Vec<Seg>,
    pub key: bool,
}

/// The deepest nesting a contract may have (the YAML parser's own limit).
pub(crate) const MAX_DEPTH: usize = 128;

/// A parse failure: where (when the parser knows) and what.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub position: Option<(usize, usize)>,
    pub message: String,
}

/// Parses YAML (or JSON) text into a tree.
pub(crate) fn parse_yaml(text: &str) -> Result<Node, ParseError> {
    let de = serde_norway::Deserializer::from_str(text);
    let slot = Cell::new(None);
    match (NodeSeed {
        depth: 0,
        probe: &slot,
    })
    .deserialize(de)
    {
        Ok(node) => Ok(node),
        Err(e) => Err(ParseError {
            position: e.location().map(|l| (l.line(), l.column())),
            message: yaml_message(&e),
        }),
    }
}

/// Parses JSON text into a tree (used when the YAML parser refuses valid JSON, and to give
/// JSON's own syntax messages).
pub(crate) fn parse_json(text: &str) -> Result<Node, ParseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let slot = Cell::new(None);
    let node = (NodeSeed {
        depth: 0,
        probe: &slot,
    })
    .deserialize(&mut de)
    .and_then(|node| de.end().map(|()| node));
    node.map_err(|e| {
        let text = e.to_string();
        let message = strip_position(&text);
        ParseError {
            position: (e.line() > 0).then(|| (e.line(), e.column())),
            message: if message.ends_with("recursion limit exceeded") {
                format!("nested too deeply (at most {MAX_DEPTH} levels)")
            } else {
                message.to_string()
            },
        }
    })
}

/// serde_norway's message without its trailing position and with friendlier words.
fn yaml_message(e: &serde_norway::Error) -> String {
    let text = e.to_string();
    let message = strip_position(&text);
    if message.ends_with("recursion limit exceeded") {
        return format!("nested too deeply (at most {MAX_DEPTH} levels)");
    }
    if message.ends_with("repetition limit exceeded") {
        return "too many alias expansions (a YAML alias bomb?)".to_string();
    }
    if message.contains("EOF while parsing") {
        return "the document is empty or ends too early".to_string();
    }
    for own in [
        "a mapping key must be a string",
        "binary values are not supported",
    ] {
        if let Some(i) = message.find(own) {
            return message[i..].to_string();
        }
    }
    if message.contains("more than one document") {
        return "more than one YAML document (`---`): a contract file holds one".to_string();
    }
    // libyaml: "PROBLEM at line L column C, while parsing a flow mapping at line L2 column C2".
    match text.split_once(", while ") {
        Some((_, context)) => {
            let context = match context.rsplit_once(" at line ") {
                Some((what, at)) => format!(
                    "while {what} that starts at {}",
                    at.replace(" column ", ":")
                ),
                None => format!("while {context}"),
            };
            format!("not valid YAML: {message} ({context})")
        }
        None => format!("not valid YAML: {message}"),
    }
}

/// `msg at line 3 column 5` → `msg`; a leading serde path (`http[0].request: msg`) is left.
fn strip_position(text: &str) -> &str {
    match text.find(" at line ") {
        Some(i)
            if text[i + 9..]
                .split(' ')
                .next()
                .is_some_and(|n| n.trim_end_matches(',').parse::<usize>().is_ok()) =>
        {
            // Keep libyaml's "…, while parsing a flow node" context out: it repeats positions.
            &text[..i]
        }
        _ => text,
    }
}

/// Parses the position out of an error's text (`… at line 3 column 5`); used for errors of a
/// generic deserializer, whose concrete type (and `location()`) the visitors cannot name.
fn position_in_message(text: &str) -> Option<(usize, usize)> {
    let at = text.rfind(" at line ")?;
    let rest = &text[at + 9..];
    let (line, rest) = rest.split_once(" column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// The marker of a probe error (never shown).
const PROBE: &str = "\u{1}parley-probe";

struct NodeSeed<'a> {
    depth: usize,
    /// Where a key probe leaves the key it read.
    probe: &'a Cell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor {
            depth: self.depth,
            probe: self.probe,
        })
    }
}

struct NodeVisitor<'a> {
    depth: usize,
    probe: &'a Cell<Option<String>>,
}

impl<'de> Visitor<'de> for NodeVisitor<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::UInt(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Float(v as f64))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Float(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, _v: &[u8]) -> Result<Node, E> {
        Err(E::custom("binary values are not supported"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "nested too deeply (at most {MAX_DEPTH} levels)"
            )));
        }
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(NodeSeed {
            depth: self.depth + 1,
            probe: self.probe,
        })? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "nested too deeply (at most {MAX_DEPTH} levels)"
            )));
        }
        let mut out = Map::default();
        // The elements of the top-level lists are the interactions: locate their first key.
        let locate_first = self.depth == 2;
        loop {
            let key = if locate_first && out.entries.is_empty() {
                match map.next_key_seed(KeySeed {
                    probe: Some(self.probe),
                }) {
                    Ok(None) => break,
                    Ok(Some(key)) => key,
                    Err(e) => match self.probe.take() {
                        Some(key) => {
                            out.first_key = position_in_message(&e.to_string()).or(Some((1, 1)));
                            key
                        }
                        None => return Err(e),
                    },
                }
            } else {
                match map.next_key_seed(KeySeed { probe: None })? {
                    None => break,
                    Some(key) => key,
                }
            };
            let value = map.next_value_seed(NodeSeed {
                depth: self.depth + 1,
                probe: self.probe,
            })?;
            out.entries.push((key, value));
        }
        Ok(Node::Map(out))
    }
}

/// Reads a mapping key as a string (YAML allows scalars of any type as keys: `200: ok` has the
/// key `"200"`). With `probe`, the key is left there and an error raised, which the parser
/// stamps with the key's position.
struct KeySeed<'a> {
    probe: Option<&'a Cell<Option<String>>>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl KeySeed<'_> {
    fn done<E: de::Error>(self, key: String) -> Result<String, E> {
        match self.probe {
            Some(slot) => {
                slot.set(Some(key));
                Err(E::custom(PROBE))
            }
            None => Ok(key),
        }
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key (a string)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.done(v.to_string())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        self.done(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        self.done(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.done(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.done(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        self.done(v.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.done("null".to_string())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<String, A::Error> {
        Err(de::Error::custom(
            "a mapping key must be a string, not a list",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<String, A::Error> {
        Err(de::Error::custom(
            "a mapping key must be a string, not a mapping",
        ))
    }
}

/// The line and column of the node (or key) at `spot` in `text`, found by parsing the text
/// again and raising an error when the walk reaches it. `json`: the text is JSON that the YAML
/// parser refused, so walk it with the JSON parser (whose positions are just after a token).
pub(crate) fn locate(text: &str, spot: &Spot, json: bool) -> Option<(usize, usize)> {
    let seed = Walk {
        path: &spot.path,
        key: spot.key,
    };
    if json {
        let mut de = serde_json::Deserializer::from_str(text);
        match seed.deserialize(&mut de) {
            Err(e) if e.to_string().starts_with(HERE) => Some((e.line(), e.column())),
            _ => None,
        }
    } else {
        let de = serde_norway::Deserializer::from_str(text);
        match seed.deserialize(de) {
            Err(e) if e.to_string().contains(HERE) => e
                .location()
                .map(|l| (l.line(), l.column()))
                .or(Some((1, 1))),
            _ => None,
        }
    }
}

const HERE: &str = "\u{1}parley-here";
const LOST: &str = "\u{1}parley-lost";

/// Walks `path`; raises [`HERE`] at the target, [`LOST`] if the path is not in the document.
struct Walk<'p> {
    path: &'p [Seg],
    key: bool,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Walk<'_> {
    fn scalar<E: de::Error>(self) -> Result<(), E> {
        if self.path.is_empty() && !self.key {
            Err(E::custom(HERE))
        } else {
            Err(E::custom(LOST))
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<(), E> {
        self.scalar()
    }

    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_i128<E: de::Error>(self, _v: i128) -> Result<(), E> {
        self.scalar()
    }

    fn visit_u128<E: de::Error>(self, _v: u128) -> Result<(), E> {
        self.scalar()
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<(), E> {
        self.scalar()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return if self.key {
                Err(de::Error::custom(LOST))
            } else {
                Err(de::Error::custom(HERE))
            };
        };
        let Seg::Index(target) = first else {
            return Err(de::Error::custom(LOST));
        };
        for _ in 0..*target {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom(LOST));
            }
        }
        seq.next_element_seed(Walk {
            path: rest,
            key: self.key,
        })?;
        Err(de::Error::custom(LOST))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return if self.key {
                Err(de::Error::custom(LOST))
            } else {
                Err(de::Error::custom(HERE))
            };
        };
        let Seg::Key(name, occurrence) = first else {
            return Err(de::Error::custom(LOST));
        };
        let seen = Cell::new(0usize);
        loop {
            let found = map.next_key_seed(WalkKey {
                name,
                occurrence: *occurrence,
                seen: &seen,
                here: rest.is_empty() && self.key,
            })?;
            match found {
                None => return Err(de::Error::custom(LOST)),
                Some(true) => {
                    map.next_value_seed(Walk {
                        path: rest,
                        key: self.key,
                    })?;
                    return Err(de::Error::custom(LOST));
                }
                Some(false) => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
    }
}

/// A key on the walk: is it the one wanted (raising [`HERE`] when the key itself is the
/// target)?
struct WalkKey<'a> {
    name: &'a str,
    occurrence: usize,
    seen: &'a Cell<usize>,
    here: bool,
}

impl<'de> DeserializeSeed<'de> for WalkKey<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl WalkKey<'_> {
    /// Decides inside the key's visitor, so that an error raised for the key carries the
    /// key's own position.
    fn check<E: de::Error>(self, key: &str) -> Result<bool, E> {
        if key != self.name {
            return Ok(false);
        }
        let n = self.seen.get();
        self.seen.set(n + 1);
        if n != self.occurrence {
            return Ok(false);
        }
        if self.here {
            return Err(E::custom(HERE));
        }
        Ok(true)
    }
}

impl<'de> Visitor<'de> for WalkKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.check(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.check(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.check(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.check(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.check(&v.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.check("null")
    }
}
