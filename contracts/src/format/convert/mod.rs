//! The tree of a parley contract to the model: structure, provider states, bodies, headers,
//! schemas. Inline matchers are in [`super::matchers`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::matchers::{self, Lowered, Place};
use super::tree::{Map, Node, Seg, Spot};
use crate::model::{
    Body, Category, Contract, Generators, Headers, HttpInteraction, HttpRequest, HttpResponse,
    Interaction, InteractionCommon, Location, MatchingRules, MessageContents, MessageInteraction,
    PayloadSchema, ProviderState, SpecVersion, Trigger,
};
use crate::schema::CompiledSchema;

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

const TOP_KEYS: &[&str] = &["consumer", "provider", "http", "events"];
const HTTP_KEYS: &[&str] = &["description", "given", "request", "response"];
const REQUEST_KEYS: &[&str] = &["method", "path", "query", "headers", "body"];
const RESPONSE_KEYS: &[&str] = &["status", "headers", "body"];
const EVENT_KEYS: &[&str] = &[
    "description",
    "subject",
    "given",
    "trigger",
    "headers",
    "payload",
];
const PAYLOAD_KEYS: &[&str] = &["schema", "example"];
const TRIGGER_KEYS: &[&str] = &["http", "publish"];
const TRIGGER_PUBLISH_KEYS: &[&str] = &["subject", "payload", "headers"];
const TRIGGER_HTTP_KEYS: &[&str] = &["method", "path", "body"];
const STATE_KEYS: &[&str] = &["state", "params"];

/// The whole contract.
pub(crate) fn contract(root: &Node, cx: &Cx) -> R<Contract> {
    let at = At::root();
    let top = Obj::new(root, &at, "a contract")?;
    top.check("a contract", TOP_KEYS)?;
    let consumer_at = at.key("consumer");
    let consumer = non_empty(
        text(
            top.require("consumer", "a contract")?,
            &consumer_at,
            "consumer",
        )?,
        &consumer_at,
        "consumer",
    )?;
    let provider_at = at.key("provider");
    let provider = non_empty(
        text(
            top.require("provider", "a contract")?,
            &provider_at,
            "provider",
        )?,
        &provider_at,
        "provider",
    )?;
    let mut interactions = Vec::new();
    // (kind, description, states) → location of the first, for duplicates.
    let mut seen: BTreeMap<(u8, String, String), Location> = BTreeMap::new();
    if let Some(list) = top.get("http") {
        let list_at = at.key("http");
        for (i, item) in list_items(list, &list_at, "http")?.iter().enumerate() {
            let item_at = list_at.index(i);
            let interaction = http_interaction(item, &item_at, cx)?;
            no_duplicate(&mut seen, 0, &interaction, &item_at)?;
            interactions.push(interaction);
        }
    }
    if let Some(list) = top.get("events") {
        let list_at = at.key("events");
        for (i, item) in list_items(list, &list_at, "events")?.iter().enumerate() {
            let item_at = list_at.index(i);
            let interaction = event(item, &item_at, cx)?;
            no_duplicate(&mut seen, 1, &interaction, &item_at)?;
            interactions.push(interaction);
        }
    }
    Ok(Contract {
        consumer,
        provider,
        interactions,
        spec: SpecVersion::V4,
        metadata: serde_json::Map::new(),
        source: Some(cx.file.to_path_buf()),
    })
}

fn list_items<'n>(node: &'n Node, at: &At, what: &str) -> R<&'n [Node]> {
    match node {
        Node::Seq(items) => Ok(items),
        Node::Null => Ok(&[]),
        other => Err(at.err(format!(
            "expected a list of interactions for {what}, found {}",
            other.kind()
        ))),
    }
}

fn no_duplicate(
    seen: &mut BTreeMap<(u8, String, String), Location>,
    kind: u8,
    interaction: &Interaction,
    at: &At,
) -> R<()> {
    let common = interaction.common();
    let states = serde_json::to_string(
        &common
            .provider_states
            .iter()
            .map(|s| (&s.name, &s.params))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let key = (kind, common.description.clone(), states);
    let here = common.location.clone().unwrap_or(Location {
        file: PathBuf::new(),
        line: None,
        column: None,
    });
    if let Some(first) = seen.get(&key) {
        let where_first = first
            .line
            .map(|l| format!(" (the first is at line {l})"))
            .unwrap_or_default();
        let description_at = at.key("description");
        return Err(description_at.err(format!(
            "interaction {:?} is given twice with the same provider states{where_first}; \
             descriptions tell interactions apart",
            common.description
        )));
    }
    seen.insert(key, here);
    Ok(())
}

fn common(obj: &Obj, cx: &Cx, what: &str) -> R<InteractionCommon> {
    let at = obj.at;
    let description_at = at.key("description");
    let description = non_empty(
        text(
            obj.require("description", what)?,
            &description_at,
            "description",
        )?,
        &description_at,
        "description",
    )?;
    let provider_states = match obj.get("given") {
        Some(node) => given(node, &at.key("given"))?,
        None => Vec::new(),
    };
    Ok(InteractionCommon {
        description,
        provider_states,
        location: Some(cx.location(obj.map)),
        ..InteractionCommon::default()
    })
}

/// `given`: a state's name, a `{state, params}` mapping, or a list of either.
pub(crate) fn given(node: &Node, at: &At) -> R<Vec<ProviderState>> {
    match node {
        Node::Seq(items) => {
            let mut states = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let item_at = at.index(i);
                if let Node::Seq(_) = item {
                    return Err(item_at.err(
                        "expected a provider state (a name or {state, params}), found a list",
                    ));
                }
                states.extend(given(item, &item_at)?);
            }
            Ok(states)
        }
        Node::Map(_) => {
            let obj = Obj::new(node, at, "a provider state")?;
            obj.check("a provider state", STATE_KEYS)?;
            let state_at = at.key("state");
            let name = non_empty(
                text(
                    obj.require("state", "a provider state")?,
                    &state_at,
                    "state",
                )?,
                &state_at,
                "state",
            )?;
            let params = match obj.get("params") {
                None | Some(Node::Null) => serde_json::Map::new(),
                Some(params) => {
                    let params_at = at.key("params");
                    match plain(params, &params_at, "provider state params")? {
                        Value::Object(map) => map,
                        _ => {
                            return Err(params_at.err(format!(
                                "expected a mapping for params, found {}",
                                params.kind()
                            )));
                        }
                    }
                }
            };
            Ok(vec![ProviderState { name, params }])
        }
        Node::Null => Ok(Vec::new()),
        other => Ok(vec![ProviderState {
            name: non_empty(text(other, at, "given")?, at, "a provider state")?,
            params: serde_json::Map::new(),
        }]),
    }
}

fn http_interaction(node: &Node, at: &At, cx: &Cx) -> R<Interaction> {
    let obj = Obj::new(node, at, "an HTTP interaction")?;
    obj.check("an HTTP interaction", HTTP_KEYS)?;
    let common = common(&obj, cx, "an HTTP interaction")?;
    let request_at = at.key("request");
    let request = request(obj.require("request", "an HTTP interaction")?, &request_at)?;
    let response_at = at.key("response");
    let response = response(
        obj.require("response", "an HTTP interaction")?,
        &response_at,
    )?;
    Ok(Interaction::Http(HttpInteraction {
        common,
        request,
        response,
    }))
}

fn request(node: &Node, at: &At) -> R<HttpRequest> {
    let obj = Obj::new(node, at, "request")?;
    obj.check("request", REQUEST_KEYS)?;
    let mut rules = MatchingRules::default();
    let mut generators = Generators::default();
    let method_at = at.key("method");
    let method = method(obj.require("method", "request")?, &method_at)?;
    let path_at = at.key("path");
    let path = path(
        obj.require("path", "request")?,
        &path_at,
        &mut rules,
        &mut generators,
    )?;
    let query = match obj.get("query") {
        None => None,
        Some(node) => Some(named_values(
            node,
            &at.key("query"),
            Place::Query,
            &mut rules,
            &mut generators,
        )?),
    };
    let headers = match obj.get("headers") {
        None => None,
        Some(node) => Some(named_values(
            node,
            &at.key("headers"),
            Place::Header,
            &mut rules,
            &mut generators,
        )?),
    };
    let body = match obj.get("body") {
        None => Body::Missing,
        Some(node) => body(
            node,
            &at.key("body"),
            content_type(headers.as_ref()),
            &mut rules,
            &mut generators,
        )?,
    };
    Ok(HttpRequest {
        method,
        path,
        query,
        headers,
        body,
        rules,
        generators,
    })
}

fn response(node: &Node, at: &At) -> R<HttpResponse> {
    let obj = Obj::new(node, at, "response")?;
    obj.check("response", RESPONSE_KEYS)?;
    let mut rules = MatchingRules::default();
    let mut generators = Generators::default();
    let status_at = at.key("status");
    let status = status(obj.require("status", "response")?, &status_at, &mut rules)?;
    let headers = match obj.get("headers") {
        None => None,
        Some(node) => Some(named_values(
            node,
            &at.key("headers"),
            Place::Header,
            &mut rules,
            &mut generators,
        )?),
    };
    let body = match obj.get("body") {
        None => Body::Missing,
        Some(node) => body(
            node,
            &at.key("body"),
            content_type(headers.as_ref()),
            &mut rules,
            &mut generators,
        )?,
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
        rules,
        generators,
    })
}

fn method(node: &Node, at: &At) -> R<String> {
    let method = string(node, at, "method")?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(at.err(format!(
            "{method:?} is not an HTTP method (GET, POST, PUT, PATCH, DELETE, …)"
        )));
    }
    Ok(method.to_ascii_uppercase())
}

fn path(node: &Node, at: &At, rules: &mut MatchingRules, generators: &mut Generators) -> R<String> {
    let (example, lowered) = match node {
        Node::Map(map) if map.contains("$match") => matchers::named(map, at, Place::Path, "")?,
        other => (Value::String(string(other, at, "path")?.to_string()), None),
    };
    let Value::String(path) = example else {
        return Err(at.err("the example of a path must be a string"));
    };
    if !path.starts_with('/') {
        return Err(at.err(format!("a path starts with '/', found {path:?}")));
    }
    if let Some(lowered) = lowered {
        merge(lowered, Category::Path, "path", rules, generators);
    }
    Ok(path)
}

fn status(node: &Node, at: &At, rules: &mut MatchingRules) -> R<u16> {
    let example = match node {
        Node::Map(map) if map.contains("$match") => {
            let (example, lowered) = matchers::named(map, at, Place::Status, "")?;
            if let Some(lowered) = lowered {
                merge(
                    lowered,
                    Category::Status,
                    "status",
                    rules,
                    &mut Generators::default(),
                );
            }
            example
        }
        other => scalar(other, at)?,
    };
    match example.as_u64() {
        Some(code @ 100..=599) => Ok(code as u16),
        _ => Err(at.err(format!(
            "expected an HTTP status (100–599) for status, found {example}"
        ))),
    }
}

/// Headers, query parameters and message headers: name → value(s), each maybe a matcher.
fn named_values(
    node: &Node,
    at: &At,
    place: Place,
    rules: &mut MatchingRules,
    generators: &mut Generators,
) -> R<BTreeMap<String, Vec<String>>> {
    let what = place.what();
    let map = match node {
        Node::Map(map) => map,
        Node::Null => return Ok(BTreeMap::new()),
        other => {
            return Err(at.err(format!(
                "expected a mapping of names to values for {what}, found {}",
                other.kind()
            )));
        }
    };
    if let Some((i, n)) = map.first_duplicate(place == Place::Header) {
        let name = &map.entries[i].0;
        return Err(at
            .key_n(name, n)
            .key_err(format!("{} {name:?} given twice", place.singular())));
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &map.entries {
        let entry_at = at.key(name);
        if name.is_empty() {
            return Err(entry_at.key_err(format!("a {} name must not be empty", place.singular())));
        }
        if place == Place::Header
            && !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(entry_at.key_err(format!("{name:?} is not a valid header name")));
        }
        let values = match value {
            Node::Map(map) if map.contains("$match") => {
                let (example, lowered) = matchers::named(map, &entry_at, place, name)?;
                if let Some(lowered) = lowered {
                    merge(
                        lowered,
                        place.category(),
                        place.generator_key(),
                        rules,
                        generators,
                    );
                }
                strings_of(&example)
            }
            Node::Seq(items) => {
                let mut values = Vec::with_capacity(items.len());
                for (j, item) in items.iter().enumerate() {
                    let item_at = entry_at.index(j);
                    values.push(value_text(item, &item_at, &place)?);
                }
                values
            }
            other => vec![value_text(other, &entry_at, &place)?],
        };
        out.insert(name.clone(), values);
    }
    Ok(out)
}

fn value_text(node: &Node, at: &At, place: &Place) -> R<String> {
    match node {
        Node::Null => Err(at.err(format!(
            "a {} value must not be empty (write \"\" for an empty value)",
            place.singular()
        ))),
        Node::Seq(_) | Node::Map(_) => Err(at.err(format!(
            "expected a string for a {} value, found {}",
            place.singular(),
            node.kind()
        ))),
        other => text(other, at, "a value"),
    }
}

fn strings_of(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(strings_of).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// The content type a body is written for (the `content-type` header, any case).
fn content_type(headers: Option<&Headers>) -> Option<String> {
    headers?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, v)| v.first().cloned())
}

/// Whether a content type is JSON (`application/json`, `application/problem+json`, …).
pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.ends_with("/json") || essence.ends_with("+json")
}

fn body(
    node: &Node,
    at: &At,
    content_type: Option<String>,
    rules: &mut MatchingRules,
    generators: &mut Generators,
) -> R<Body> {
    match node {
        Node::Null => return Ok(Body::Null),
        Node::Str(s) if s.is_empty() => return Ok(Body::Empty),
        _ => {}
    }
    let mut lowered = Lowered::default();
    let value = matchers::body(node, at, &mut lowered)?;
    let json = content_type.as_deref().is_none_or(is_json);
    let body = if json {
        Body::Json {
            value,
            content_type: Some(content_type.unwrap_or_else(|| "application/json".to_string())),
        }
    } else {
        match value {
            Value::String(text) => Body::Text { text, content_type },
            _ => {
                return Err(at.err(format!(
                    "a {} body is text: write it as a string",
                    content_type.unwrap_or_default()
                )));
            }
        }
    };
    merge(lowered, Category::Body, "body", rules, generators);
    Ok(body)
}

/// Adds lowered rules and generators to a part's rules, under `category`.
fn merge(
    lowered: Lowered,
    category: Category,
    generator_key: &str,
    rules: &mut MatchingRules,
    generators: &mut Generators,
) {
    for (path, list) in lowered.rules {
        let slot = rules
            .categories
            .entry(category)
            .or_default()
            .entry(path)
            .or_default();
        for rule in list.rules {
            if !slot.rules.contains(&rule) {
                slot.rules.push(rule);
            }
        }
        slot.logic = list.logic;
    }
    if lowered.generators.is_empty() {
        return;
    }
    if category == Category::Path {
        // Pact writes the path's generator directly under `path`.
        if let Some((_, generator)) = lowered.generators.into_iter().next() {
            generators
                .categories
                .insert(generator_key.to_string(), generator);
        }
        return;
    }
    let entry = generators
        .categories
        .entry(generator_key.to_string())
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Value::Object(map) = entry {
        map.extend(lowered.generators);
    }
}

fn event(node: &Node, at: &At, cx: &Cx) -> R<Interaction> {
    let obj = Obj::new(node, at, "an event")?;
    obj.check("an event", EVENT_KEYS)?;
    let common = common(&obj, cx, "an event")?;
    let subject_at = at.key("subject");
    let subject = subject(obj.require("subject", "an event")?, &subject_at)?;
    let trigger = match obj.get("trigger") {
        None | Some(Node::Null) => None,
        Some(node) => Some(trigger(node, &at.key("trigger"))?),
    };
    let mut rules = MatchingRules::default();
    let mut generators = Generators::default();
    let mut metadata: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(headers) = obj.get("headers") {
        let headers_at = at.key("headers");
        let values = named_values(
            headers,
            &headers_at,
            Place::Metadata,
            &mut rules,
            &mut generators,
        )?;
        for (name, values) in values {
            if name == "subject" {
                let name_at = headers_at.key(&name);
                return Err(name_at.key_err(
                    "a header named \"subject\" would clash with the event's subject; \
                     the subject is given by `subject`",
                ));
            }
            let value = if values.len() == 1 {
                Value::String(values.into_iter().next().unwrap_or_default())
            } else {
                Value::Array(values.into_iter().map(Value::String).collect())
            };
            metadata.insert(name, value);
        }
    }
    metadata.insert("subject".to_string(), Value::String(subject.clone()));
    let payload_at = at.key("payload");
    let payload = Obj::new(obj.require("payload", "an event")?, &payload_at, "payload")?;
    payload.check("payload", PAYLOAD_KEYS)?;
    if payload.get("schema").is_none() && payload.get("example").is_none() {
        return Err(payload_at.key_err(
            "payload needs a schema, an example or both (expected one of: schema, example)",
        ));
    }
    let schema = match payload.get("schema") {
        None | Some(Node::Null) => None,
        Some(node) => Some(schema(node, &payload_at.key("schema"), cx)?),
    };
    let contents = match payload.get("example") {
        None => Body::Missing,
        Some(node) => {
            let example_at = payload_at.key("example");
            let mut lowered = Lowered::default();
            let value = matchers::body(node, &example_at, &mut lowered)?;
            if let Some(schema) = &schema {
                check_example(&value, schema, &example_at)?;
            }
            merge(lowered, Category::Body, "body", &mut rules, &mut generators);
            Body::Json {
                value,
                content_type: Some("application/json".to_string()),
            }
        }
    };
    Ok(Interaction::Message(MessageInteraction {
        common,
        message: MessageContents {
            contents,
            metadata,
            rules,
            generators,
        },
        subject: Some(subject),
        schema: schema.map(|(s, _)| s),
        trigger,
    }))
}

/// A NATS subject a message is published on: dot-separated tokens, no wildcards.
fn subject(node: &Node, at: &At) -> R<String> {
    let subject = string(node, at, "subject")?;
    let bad = subject.is_empty()
        || subject
            .split('.')
            .any(|t| t.is_empty() || t == "*" || t == ">" || t.chars().any(char::is_whitespace));
    if bad {
        return Err(at.err(format!(
            "{subject:?} is not a subject an event is published on (dot-separated tokens \
             such as orders.created, without spaces or wildcards)"
        )));
    }
    Ok(subject.to_string())
}

fn trigger(node: &Node, at: &At) -> R<Trigger> {
    let obj = Obj::new(node, at, "trigger")?;
    obj.check("trigger", TRIGGER_KEYS)?;
    if let Some(publish) = obj.get("publish") {
        if obj.get("http").is_some() {
            return Err(at.err("a trigger is either http or publish, not both".to_string()));
        }
        let publish_at = at.key("publish");
        let p = Obj::new(publish, &publish_at, "trigger.publish")?;
        p.check("trigger.publish", TRIGGER_PUBLISH_KEYS)?;
        let subject = subject(
            p.require("subject", "trigger.publish")?,
            &publish_at.key("subject"),
        )?;
        let payload = plain(
            p.require("payload", "trigger.publish")?,
            &publish_at.key("payload"),
            "a trigger",
        )?;
        let mut headers = std::collections::BTreeMap::new();
        if let Some(h) = p.get("headers") {
            let h_at = publish_at.key("headers");
            match plain(h, &h_at, "trigger headers")? {
                Value::Object(map) => {
                    for (k, v) in map {
                        let text = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        headers.insert(k, text);
                    }
                }
                _ => {
                    return Err(
                        h_at.err("trigger headers are a map of names to values".to_string())
                    );
                }
            }
        }
        return Ok(Trigger::Publish {
            subject,
            payload,
            headers,
        });
    }
    let http_at = at.key("http");
    let http = Obj::new(obj.require("http", "trigger")?, &http_at, "trigger.http")?;
    http.check("trigger.http", TRIGGER_HTTP_KEYS)?;
    let method = method(
        http.require("method", "trigger.http")?,
        &http_at.key("method"),
    )?;
    let path_at = http_at.key("path");
    let path = string(http.require("path", "trigger.http")?, &path_at, "path")?;
    if !path.starts_with('/') {
        return Err(path_at.err(format!("a path starts with '/', found {path:?}")));
    }
    let body = match http.get("body") {
        None => None,
        Some(node) => Some(plain(node, &http_at.key("body"), "a trigger")?),
    };
    Ok(Trigger::Http {
        method,
        path: path.to_string(),
        body,
    })
}

/// `schema: FILE` (relative to the contract) or an inline schema; compiled here so that an
/// invalid schema is a load error.
fn schema(node: &Node, at: &At, cx: &Cx) -> R<(PayloadSchema, CompiledSchema)> {
    let (reference, document, file) = match node {
        Node::Str(reference) => {
            let file = cx.base_dir().join(reference);
            let document = crate::schema::read_schema_file(&file).map_err(|e| {
                at.err(format!(
                    "schema {reference} ({}): {}",
                    file.display(),
                    e.message
                ))
            })?;
            (reference.clone(), document, file)
        }
        Node::Map(_) | Node::Bool(_) => (
            "inline".to_string(),
            plain(node, at, "a schema")?,
            cx.file.to_path_buf(),
        ),
        other => {
            return Err(at.err(format!(
                "expected a schema file (a path relative to this file) or an inline schema \
                 (a mapping), found {}",
                other.kind()
            )));
        }
    };
    let compiled = CompiledSchema::compile_document(&document, Some(&file))
        .map_err(|e| at.err(format!("schema {reference}: {}", e.message)))?;
    Ok((
        PayloadSchema {
            reference,
            document,
            file: Some(file),
        },
        compiled,
    ))
}

/// The consumer's example must satisfy the consumer's own schema.
fn check_example(value: &Value, schema: &(PayloadSchema, CompiledSchema), at: &At) -> R<()> {
    let errors = schema.1.validate(value);
    if errors.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = errors
        .iter()
        .take(3)
        .map(|e| {
            let at = if e.instance_path.is_empty() {
                "/"
            } else {
                &e.instance_path
            };
            format!("{at}: {}", e.message)
        })
        .collect();
    let more = if errors.len() > 3 {
        format!(" (and {} more)", errors.len() - 3)
    } else {
        String::new()
    };
    Err(at.err(format!(
        "the example does not satisfy the schema {}: {}{more}",
        schema.0.reference,
        shown.join("; ")
    )))
}
