//! Events: subjects, payloads with their examples checked against their schemas, and triggers
//! (an HTTP request or a NATS publish).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::format::matchers::{self, Lowered, Place};
use crate::format::tree::Node;
use crate::model::{
    Body, Category, Generators, Interaction, MatchingRules, MessageContents, MessageInteraction,
    PayloadSchema, Trigger,
};
use crate::schema::CompiledSchema;

use super::contract::common;
use super::http::{merge, method, named_values};
use super::{At, Cx, Obj, R, plain, string};

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

pub(super) fn event(node: &Node, at: &At, cx: &Cx) -> R<Interaction> {
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
