//! parley's own architecture description, `architecture.yaml`: services and their synchronous
//! calls (timeout, retries, circuit breaker, idempotency), subjects with their producers and
//! consumers (durability, max deliveries, DLQ, idempotency key, ack), datastores and who uses
//! them. The format is documented in `ARCHITECTURE_YAML.md` beside this file;
//! `architecture.schema.json` is its JSON Schema, for editor completion.
//!
//! A document is recognised by its first line's marker, `parley: architecture/v1`. Unknown
//! keys and wrong values are errors at their line and column. What a document leaves out is
//! taken as absent, as the runtime's defaults would have it: no `timeout_ms` is no timeout, no
//! `max_deliver` is JetStream's unbounded redelivery, no `dlq` is none.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::graph::{
    Ack, Consumer, Datastore, DatastoreUse, Fact, Origin, Producer, Retries, RetryOn, Service,
    ServiceGraph, ServiceKind, Subject, SyncCall, method_is_idempotent,
};
use super::inputs::{Document, Importer};
use super::yaml::{self, Positions, child, item};
use super::{ErrorKind, LintError};

/// The marker's value for this version of the format.
pub const VERSION: &str = "architecture/v1";

/// The importer of parley's `architecture.yaml`.
pub struct ArchitectureYaml;

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?m)^parley\s*:\s*["']?architecture\b"#).expect("valid regex"));

impl Importer for ArchitectureYaml {
    fn kind(&self) -> &'static str {
        "parley architecture"
    }

    fn sniff(&self, doc: &Document<'_>) -> bool {
        // The marker as the first key of a block-style document: a look at the text, no parse
        // (a broken document that says it is a description is claimed, to say what is wrong).
        if MARKER.is_match(doc.text) {
            return true;
        }
        // JSON or flow style: the marker as a key of the top mapping.
        doc.text.contains("parley")
            && doc
                .value()
                .and_then(|v| v.get("parley"))
                .and_then(|p| p.as_str())
                .is_some_and(|p| p.starts_with("architecture"))
    }

    fn import(&self, doc: &Document<'_>) -> Result<ServiceGraph, LintError> {
        parse(doc.path, doc.text)
    }
}

/// Parses one `architecture.yaml` into a graph whose elements point into it.
pub fn parse(file: &std::path::Path, text: &str) -> Result<ServiceGraph, LintError> {
    let positions = yaml::index(file, text)?;
    let doc: ArchDoc = serde_norway::from_str(text).map_err(|e| yaml::yaml_error(file, &e))?;
    if doc.parley != VERSION {
        return Err(LintError::at(
            ErrorKind::Invalid,
            &positions.locate("parley"),
            format!(
                "`parley: {}` is not a version of the architecture format this parley reads (`parley: {VERSION}`)",
                doc.parley
            ),
        ));
    }
    Converter { positions }.convert(doc)
}

struct Converter<'t> {
    positions: Positions<'t>,
}

impl Converter<'_> {
    fn invalid(&self, path: &str, message: impl Into<String>) -> LintError {
        LintError::at(ErrorKind::Invalid, &self.positions.locate(path), message)
    }

    /// The origin of the element at `path`, with the locations of the fields that are written.
    fn origin(&self, path: &str, fields: &[&str]) -> Origin {
        let mut origin = Origin::at(self.positions.locate(path));
        for f in fields {
            if let Some(l) = self.positions.exact(&child(path, f)) {
                origin.fields.insert((*f).to_string(), l);
            }
        }
        origin
    }

    fn convert(&self, doc: ArchDoc) -> Result<ServiceGraph, LintError> {
        let mut graph = ServiceGraph::default();
        for (name, service) in doc.services {
            let service = service.unwrap_or_default();
            let path = child("services", &name);
            let mut origin = self.origin(&path, &["kind", "public", "propagates_correlation_id"]);
            origin
                .fields
                .insert("service".into(), self.positions.locate(&path));
            graph.add_service(Service {
                name: name.clone(),
                kind: service.kind.unwrap_or(ServiceKind::Service),
                public: Fact::Known(service.public.unwrap_or(false)),
                propagates_correlation_id: Fact::Known(
                    service.propagates_correlation_id.unwrap_or(true),
                ),
                description: service.description,
                origin,
            });
            for (i, call) in service.calls.into_iter().enumerate() {
                let call_path = item(&child(&path, "calls"), i);
                graph.calls.push(self.call(&name, &path, &call_path, call)?);
            }
        }
        for (name, subject) in doc.subjects {
            let subject = subject.unwrap_or_default();
            let path = child("subjects", &name);
            let producers = subject
                .producers
                .into_iter()
                .enumerate()
                .map(|(j, service)| {
                    let mut origin =
                        Origin::at(self.positions.locate(&item(&child(&path, "producers"), j)));
                    if let Some(l) = origin.primary().cloned() {
                        origin.fields.insert("service".into(), l);
                    }
                    Producer { service, origin }
                })
                .collect();
            for (j, consumer) in subject.consumers.into_iter().enumerate() {
                let consumer_path = item(&child(&path, "consumers"), j);
                graph
                    .consumers
                    .push(self.consumer(&name, &consumer_path, consumer)?);
            }
            graph.add_subject(Subject {
                name,
                producers,
                description: subject.description,
                origin: Origin::at(self.positions.locate(&path)),
            });
        }
        for (name, store) in doc.datastores {
            let store = store.unwrap_or_default();
            let path = child("datastores", &name);
            let used = |p: String, service: String| {
                let l = self.positions.locate(&p);
                let mut origin = Origin::at(l.clone());
                origin.fields.insert("service".into(), l);
                DatastoreUse { service, origin }
            };
            graph.add_datastore(Datastore {
                name: name.clone(),
                kind: store.kind,
                owner: store.owner.map(|o| used(child(&path, "owner"), o)),
                users: store
                    .users
                    .into_iter()
                    .enumerate()
                    .map(|(j, u)| used(item(&child(&path, "users"), j), u))
                    .collect(),
                origin: Origin::at(self.positions.locate(&path)),
            });
        }
        Ok(graph)
    }

    fn call(
        &self,
        from: &str,
        service_path: &str,
        path: &str,
        call: CallDoc,
    ) -> Result<SyncCall, LintError> {
        let method = match call.method {
            Some(m) if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphabetic()) => {
                return Err(self.invalid(
                    &child(path, "method"),
                    format!("`{m}` is not an HTTP method (GET, POST, …)"),
                ));
            }
            m => m.map(|m| m.to_ascii_uppercase()),
        };
        if let Some(p) = &call.path
            && !p.starts_with('/')
        {
            return Err(self.invalid(
                &child(path, "path"),
                format!(
                    "the path `{p}` must start with `/` (a route template such as /orders/{{id}})"
                ),
            ));
        }
        if call.timeout_ms == Some(0) {
            return Err(self.invalid(
                &child(path, "timeout_ms"),
                "timeout_ms must be at least 1 (leave it out to say the call has no timeout)",
            ));
        }
        let retries = match call.retries {
            Some(r) if r.max_attempts == 0 => {
                return Err(self.invalid(
                    &child(&child(path, "retries"), "max_attempts"),
                    "max_attempts counts the first attempt too: at least 1",
                ));
            }
            Some(r) => Some(Retries {
                max_attempts: r.max_attempts,
                on: r.on.unwrap_or(RetryOn::IdempotentOnly),
            }),
            None => None,
        };
        let idempotent = match (
            call.idempotent,
            method.as_deref().and_then(method_is_idempotent),
        ) {
            (Some(i), _) => Fact::Known(i),
            (None, Some(i)) => Fact::Known(i),
            (None, None) => Fact::Unknown,
        };
        let mut origin = self.origin(
            path,
            &[
                "to",
                "method",
                "path",
                "handler",
                "timeout_ms",
                "retries",
                "circuit_breaker",
                "idempotent",
                "idempotency_key",
            ],
        );
        origin
            .fields
            .insert("from".into(), self.positions.locate(service_path));
        Ok(SyncCall {
            from: from.to_string(),
            to: call.to,
            method,
            path: call.path,
            handler: call.handler,
            timeout_ms: Fact::Known(call.timeout_ms),
            retries: Fact::Known(retries),
            circuit_breaker: Fact::Known(call.circuit_breaker.unwrap_or(false)),
            idempotent,
            idempotency_key: call.idempotency_key,
            origin,
        })
    }

    fn consumer(&self, subject: &str, path: &str, c: ConsumerDoc) -> Result<Consumer, LintError> {
        let max_deliver = match c.max_deliver {
            None | Some(-1) => None,
            Some(n) if n >= 1 => Some(n as u64),
            Some(n) => {
                return Err(self.invalid(
                    &child(path, "max_deliver"),
                    format!("max_deliver {n}: deliveries are at least 1, or -1 for unbounded"),
                ));
            }
        };
        let dlq = c.dlq.filter(|d| !d.is_empty());
        if dlq.as_deref() == Some(subject) {
            return Err(self.invalid(
                &child(path, "dlq"),
                "the dead-letter subject is the consumed subject itself: a failed message would come back",
            ));
        }
        let probe = match c.probe {
            Some(doc) => Some(
                doc.build(subject, dlq.as_deref())
                    .map_err(|e| self.invalid(&child(&child(path, "probe"), e.field), e.message))?,
            ),
            None => None,
        };
        Ok(Consumer {
            service: c.service,
            subject: subject.to_string(),
            durable: Fact::Known(c.durable),
            max_deliver: Fact::Known(max_deliver),
            dlq: Fact::Known(dlq),
            idempotency_key: Fact::Known(c.idempotency_key.filter(|k| !k.is_empty())),
            ack: Fact::Known(c.ack.unwrap_or(Ack::Explicit)),
            description: c.description,
            probe,
            origin: self.origin(
                path,
                &[
                    "service",
                    "durable",
                    "max_deliver",
                    "dlq",
                    "idempotency_key",
                    "ack",
                    "probe",
                ],
            ),
        })
    }
}

// The document, as serde reads it. Every struct denies unknown keys: a misspelt key is an
// error at its line, not a setting silently missing.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchDoc {
    parley: String,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    services: BTreeMap<String, Option<ServiceDoc>>,
    #[serde(default)]
    subjects: BTreeMap<String, Option<SubjectDoc>>,
    #[serde(default)]
    datastores: BTreeMap<String, Option<DatastoreDoc>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ServiceDoc {
    kind: Option<ServiceKind>,
    public: Option<bool>,
    propagates_correlation_id: Option<bool>,
    description: Option<String>,
    #[serde(default)]
    calls: Vec<CallDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallDoc {
    to: String,
    method: Option<String>,
    path: Option<String>,
    handler: Option<String>,
    timeout_ms: Option<u64>,
    retries: Option<RetriesDoc>,
    circuit_breaker: Option<bool>,
    idempotent: Option<bool>,
    idempotency_key: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetriesDoc {
    max_attempts: u32,
    on: Option<RetryOn>,
    #[allow(dead_code)]
    backoff: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SubjectDoc {
    description: Option<String>,
    #[allow(dead_code)]
    stream: Option<String>,
    #[serde(default)]
    producers: Vec<String>,
    #[serde(default)]
    consumers: Vec<ConsumerDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerDoc {
    service: String,
    durable: Option<String>,
    max_deliver: Option<i64>,
    dlq: Option<String>,
    idempotency_key: Option<String>,
    ack: Option<Ack>,
    description: Option<String>,
    probe: Option<super::probe::ProbeDoc>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DatastoreDoc {
    kind: Option<String>,
    owner: Option<String>,
    #[serde(default)]
    users: Vec<String>,
    #[allow(dead_code)]
    description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse_str(text: &str) -> Result<ServiceGraph, LintError> {
        parse(Path::new("architecture.yaml"), text)
    }

    #[test]
    fn elements_carry_their_locations() {
        let g = parse_str(
            "parley: architecture/v1\nservices:\n  a:\n    calls:\n      - to: b\n        method: post\n        timeout_ms: 100\n  b: {}\nsubjects:\n  x.y:\n    producers: [a]\n    consumers:\n      - service: b\n        max_deliver: -1\n",
        )
        .expect("parses");
        let call = &g.calls[0];
        assert_eq!(call.method.as_deref(), Some("POST"));
        assert_eq!(call.idempotent, Fact::Known(false));
        assert_eq!(call.timeout_ms, Fact::Known(Some(100)));
        assert_eq!(call.circuit_breaker, Fact::Known(false));
        let at = call.origin.primary().expect("located");
        assert_eq!((at.line, at.column), (5, 9));
        assert_eq!(at.path, "services.a.calls[0]");
        assert_eq!(call.origin.field("timeout_ms").map(|l| l.line), Some(7));
        let c = &g.consumers[0];
        assert_eq!(c.max_deliver, Fact::Known(None));
        assert_eq!(c.origin.primary().map(|l| l.line), Some(13));
        assert_eq!(
            g.subjects["x.y"].producers[0]
                .origin
                .primary()
                .map(|l| (l.line, l.column)),
            Some((11, 17))
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_located() {
        let e = parse_str("parley: architecture/v1\nservices:\n  a:\n    calls:\n      - to: b\n        timeout: 100\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(6), Some(9)), "{e}");
        assert!(e.message.contains("unknown field `timeout`"), "{e}");
        let e =
            parse_str("parley: architecture/v1\nservices:\n  a:\n    kind: gatway\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        let e = parse_str("parley: architecture/v2\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        let e = parse_str("parley: architecture/v1\nsubjects:\n  s:\n    consumers:\n      - service: a\n        max_deliver: 0\n").unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
    }
}
