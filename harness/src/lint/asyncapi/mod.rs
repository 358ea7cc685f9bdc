//! AsyncAPI documents (3.x, and 2.x up to 2.6; YAML or JSON): one document is one application,
//! a service of the graph, whose operations make it a producer or a consumer of subjects. The
//! mapping, the `x-parley-*` extensions and the rules of names are documented in
//! `IMPORTERS.md` beside this module; in short:
//!
//! - the service is named by the root's `x-parley-service`, else by a slug of `info.title`
//!   (lower case, every run of characters other than ASCII letters and digits made one `-`:
//!   `Website Backend` → `website-backend`);
//! - AsyncAPI 3: an operation with `action: send` makes the service a producer on its
//!   channel's address, `action: receive` a consumer (and an operation's `reply` the other way
//!   round on the reply's channel); AsyncAPI 2: a channel's `publish` operation means the
//!   application *receives* (consumes), `subscribe` that it *sends* (produces);
//! - an address's parameters (`comment/{commentId}/changed`) become `*`
//!   (`comment/*/changed`), whatever the parameter is called, so that documents of several
//!   applications describing one channel name the same subject ([`subject_name`]);
//! - what AsyncAPI cannot say about a consumer comes from `x-parley-durable`,
//!   `x-parley-max-deliver`, `x-parley-dlq`, `x-parley-idempotency-key`, `x-parley-ack` on the
//!   receiving operation (or on its channel); when absent the fact is unknown and the rules
//!   about it stay silent.
//!
//! `$ref`s are resolved by [`refs`]; every element points at where it is written.

mod pointer;
mod refs;
mod v2;
mod v3;

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use self::refs::{Node, Refs, Store};
use super::graph::{
    Ack, Consumer, Fact, Origin, Producer, Service, ServiceGraph, ServiceKind, Subject, closest,
};
use super::inputs::{Document, Importer};
use super::{ErrorKind, LintError, yaml};

/// The importer of AsyncAPI 3.x and 2.x documents.
pub struct AsyncApi;

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?m)^["']?asyncapi["']?\s*:"#).expect("valid regex"));

impl Importer for AsyncApi {
    fn kind(&self) -> &'static str {
        "AsyncAPI"
    }

    fn sniff(&self, doc: &Document<'_>) -> bool {
        if MARKER.is_match(doc.text) {
            return true;
        }
        doc.text.contains("\"asyncapi\"") && doc.value().and_then(|v| v.get("asyncapi")).is_some()
    }

    fn import(&self, doc: &Document<'_>) -> Result<ServiceGraph, LintError> {
        import(doc)
    }
}

/// The versions read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    /// 2.0.0 to 2.6.0: `publish`/`subscribe` from the user's point of view.
    V2,
    /// 3.x: `operations` with `action: send | receive`.
    V3,
}

/// Imports one AsyncAPI document (and the files its `$ref`s name).
pub fn import(doc: &Document<'_>) -> Result<ServiceGraph, LintError> {
    let Some(value) = doc.value() else {
        // Not YAML: the index says where.
        return Err(match yaml::index(doc.path, doc.text) {
            Err(e) => e,
            Ok(_) => {
                LintError::in_file(ErrorKind::Invalid, doc.path, "not a YAML or JSON document")
            }
        });
    };
    let store = Store::discover(doc.path, doc.text, value);
    let refs = Refs::new(&store)?;
    let root = refs.root();
    if !root.value.is_object() {
        return Err(refs.invalid(
            &root,
            "an AsyncAPI document is a mapping (asyncapi, info, channels, operations, …)",
        ));
    }
    let version = version(&refs, &root)?;
    refs.check_all()?;
    let mut b = Builder::new(&refs, &root)?;
    match version {
        Version::V2 => v2::import(&mut b, &root)?,
        Version::V3 => v3::import(&mut b, &root)?,
    }
    Ok(b.finish())
}

fn version(refs: &Refs<'_>, root: &Node<'_>) -> Result<Version, LintError> {
    let Some(v) = root.get("asyncapi") else {
        return Err(refs.invalid(root, "no `asyncapi` version key"));
    };
    let text = match v.value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if text.starts_with("3.") {
        return Ok(Version::V3);
    }
    if text.starts_with("2.") {
        return Ok(Version::V2);
    }
    Err(refs.invalid(
        &v,
        format!(
            "`asyncapi: {}` is not a version parley lint reads (3.x, or 2.0 to 2.6)",
            if text.is_empty() {
                v.value.to_string()
            } else {
                text
            }
        ),
    ))
}

/// A subject name for a channel address: every parameter `{name}` becomes `*`, so that two
/// documents naming one channel's parameter differently (`{id}`, `{commentId}`) name the same
/// subject. In a dot-separated address (`orders.{region}.created`) `*` is then NATS's
/// one-token wildcard, and the rules match it against concrete subjects as NATS would; in a
/// slash-separated one (`comment/{commentId}/changed` → `comment/*/changed`) the address is a
/// single token, and two addresses match when they are equal after this rewriting.
pub fn subject_name(address: &str) -> String {
    static PARAM: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\{[^{}]*\}").expect("valid regex"));
    PARAM.replace_all(address.trim(), "*").into_owned()
}

/// `Website Backend` → `website-backend`.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// What the importer builds: the document's service, its subjects and consumers.
pub(super) struct Builder<'r, 's> {
    refs: &'r Refs<'s>,
    service: String,
    graph: ServiceGraph,
}

/// The consumer extensions.
const EXTENSIONS: [&str; 5] = [
    "x-parley-durable",
    "x-parley-max-deliver",
    "x-parley-dlq",
    "x-parley-idempotency-key",
    "x-parley-ack",
];

/// The root extensions.
const ROOT_EXTENSIONS: [&str; 2] = ["x-parley-service", "x-parley-propagates-correlation-id"];

impl<'r, 's> Builder<'r, 's> {
    fn new(refs: &'r Refs<'s>, root: &Node<'s>) -> Result<Self, LintError> {
        check_extensions(refs, root, &ROOT_EXTENSIONS)?;
        let info = root.get("info").map(|i| refs.resolve(i)).transpose()?;
        let title = info.as_ref().and_then(|i| i.get("title"));
        let (name, at) = match (root.get("x-parley-service"), &title) {
            (Some(n), _) => match n.value.as_str().map(str::trim) {
                Some(s) if !s.is_empty() => (s.to_string(), n),
                _ => {
                    return Err(refs.invalid(&n, "`x-parley-service` must be a service name"));
                }
            },
            (None, Some(t)) => match t.value.as_str().map(slug) {
                Some(s) if !s.is_empty() => (s, t.clone()),
                _ => {
                    return Err(refs.invalid(
                        t,
                        "`info.title` names nothing the service can be named after: add `x-parley-service: NAME` at the top",
                    ));
                }
            },
            (None, None) => {
                return Err(refs.invalid(
                    info.as_ref().unwrap_or(root),
                    "no `info.title` to name the application after: add one, or `x-parley-service: NAME` at the top",
                ));
            }
        };
        let propagates = match root.get("x-parley-propagates-correlation-id") {
            None => Fact::Unknown,
            Some(p) => match p.value.as_bool() {
                Some(b) => Fact::Known(b),
                None => {
                    return Err(
                        refs.invalid(&p, "`x-parley-propagates-correlation-id` is true or false")
                    );
                }
            },
        };
        let location = refs.locate(&at);
        let mut origin = Origin::at(location.clone());
        origin.fields.insert("service".into(), location);
        if let Some(p) = root.get("x-parley-propagates-correlation-id") {
            origin
                .fields
                .insert("propagates_correlation_id".into(), refs.locate(&p));
        }
        let description = info
            .as_ref()
            .and_then(|i| i.get("description"))
            .and_then(|d| d.value.as_str().map(str::to_string));
        let mut graph = ServiceGraph::default();
        graph.add_service(Service {
            name: name.clone(),
            kind: ServiceKind::Service,
            public: Fact::Unknown,
            propagates_correlation_id: propagates,
            description,
            origin,
        });
        Ok(Builder {
            refs,
            service: name,
            graph,
        })
    }

    /// The service is a producer on `address`; `at` is the operation, `channel` the channel.
    fn produces(&mut self, address: &str, at: &Node<'_>, channel: &Node<'_>) {
        let location = self.refs.locate(at);
        let mut origin = Origin::at(location.clone());
        origin.fields.insert("service".into(), location);
        self.graph.add_subject(Subject {
            name: subject_name(address),
            producers: vec![Producer {
                service: self.service.clone(),
                origin,
            }],
            description: description(channel),
            origin: Origin::at(self.refs.locate(channel)),
        });
    }

    /// The service consumes `address`; the extensions are read on `op` first, then `channel`.
    fn consumes(
        &mut self,
        address: &str,
        at: &Node<'s>,
        op: &Node<'s>,
        channel: &Node<'s>,
        op_name: &str,
    ) -> Result<(), LintError> {
        let subject = subject_name(address);
        let location = self.refs.locate(at);
        let mut origin = Origin::at(location.clone());
        origin.fields.insert("service".into(), location);
        let mut c = Consumer::new(self.service.clone(), subject.clone());
        for (key, field) in
            EXTENSIONS
                .iter()
                .zip(["durable", "max_deliver", "dlq", "idempotency_key", "ack"])
        {
            let Some(n) = op.get(key).or_else(|| channel.get(key)) else {
                continue;
            };
            origin.fields.insert(field.into(), self.refs.locate(&n));
            let text = n.value.as_str().map(str::trim);
            let bad = |what: &str| self.refs.invalid(&n, format!("`{key}` is {what}"));
            match *key {
                "x-parley-durable" => {
                    c.durable = Fact::Known(match (n.value, text) {
                        (Value::Bool(true), _) => Some(op_name.to_string()),
                        (Value::Bool(false), _) | (_, Some("none")) => None,
                        (_, Some(s)) if !s.is_empty() => Some(s.to_string()),
                        _ => {
                            return Err(bad(
                                "a durable name, true (named after the operation), or false/none (ephemeral)",
                            ));
                        }
                    });
                }
                "x-parley-max-deliver" => {
                    c.max_deliver = Fact::Known(match (n.value.as_i64(), text) {
                        (Some(k), _) if k >= 1 => Some(k as u64),
                        (Some(-1), _) | (_, Some("unbounded")) => None,
                        _ => {
                            return Err(bad("a number of deliveries (at least 1), or `unbounded`"));
                        }
                    });
                }
                "x-parley-dlq" => {
                    c.dlq = Fact::Known(match text {
                        Some("none") => None,
                        Some(s) if !s.is_empty() => {
                            let d = subject_name(s);
                            if d == subject {
                                return Err(self.refs.invalid(
                                    &n,
                                    "the dead-letter subject is the consumed subject itself: a failed message would come back",
                                ));
                            }
                            Some(d)
                        }
                        _ => return Err(bad("a dead-letter subject, or `none`")),
                    });
                }
                "x-parley-idempotency-key" => {
                    c.idempotency_key = Fact::Known(match text {
                        Some("none") => None,
                        Some(s) if !s.is_empty() => Some(s.to_string()),
                        _ => return Err(bad("the field the consumer de-duplicates on, or `none`")),
                    });
                }
                _ => {
                    c.ack = Fact::Known(match text {
                        Some("explicit") => Ack::Explicit,
                        Some("all") => Ack::All,
                        Some("none") => Ack::None,
                        _ => return Err(bad("explicit, all or none")),
                    });
                }
            }
        }
        c.description = description(op);
        c.origin = origin;
        self.graph.consumers.push(c);
        Ok(())
    }

    /// The graph, consumers of one subject said twice made one.
    fn finish(self) -> ServiceGraph {
        let mut g = ServiceGraph::default();
        g.merge(self.graph);
        g
    }
}

fn description(n: &Node<'_>) -> Option<String> {
    n.value
        .get("description")
        .or_else(|| n.value.get("summary"))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
}

/// An `x-parley-*` key that is not one of `known` is a typo, at its line.
fn check_extensions(refs: &Refs<'_>, node: &Node<'_>, known: &[&str]) -> Result<(), LintError> {
    for (k, n) in node.entries() {
        if k.starts_with("x-parley-") && !known.contains(&k) {
            let mut message = format!("unknown parley extension `{k}`");
            match closest(k, known.iter().copied()) {
                Some(c) => message.push_str(&format!(" (did you mean `{c}`?)")),
                None => message.push_str(&format!(" (known here: {})", known.join(", "))),
            }
            return Err(refs.invalid(&n, message));
        }
    }
    Ok(())
}

/// A mapping-valued member, resolved; an error when it is there and not a mapping.
fn mapping<'s>(
    refs: &Refs<'s>,
    parent: &Node<'s>,
    key: &str,
    what: &str,
) -> Result<Option<Node<'s>>, LintError> {
    let Some(n) = parent.get(key) else {
        return Ok(None);
    };
    if n.value.is_null() {
        return Ok(None);
    }
    let n = refs.resolve(n)?;
    if !n.value.is_object() {
        return Err(refs.invalid(
            &n,
            format!("`{key}` must be a mapping ({what}), not {}", shape(n.value)),
        ));
    }
    Ok(Some(n))
}

fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests;
