//! Messages: the contents like a response body (unexpected keys allowed), and the metadata
//! like headers but with JSON values: every expected key must be there with an equal value
//! (or one satisfying the `metadata` rules for that key); the content type compares as a
//! media type; other keys are allowed.

use serde_json::Value;

use crate::model::{Category, MessageContents, SpecVersion};

use super::http::{media_type_difference, named_rules};
use super::rules::{self, apply_list, shorten, value_of};
use super::trie::CList;
use super::{Mismatch, Part, Sink, body};

const CONTENT_TYPE_KEYS: [&str; 2] = ["contenttype", "content-type"];

fn content_type(metadata: &std::collections::BTreeMap<String, Value>) -> Option<String> {
    metadata
        .iter()
        .find(|(k, _)| CONTENT_TYPE_KEYS.contains(&k.to_ascii_lowercase().as_str()))
        .and_then(|(_, v)| v.as_str().map(str::to_string))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Does the actual message satisfy the expected one? Empty: yes.
pub fn match_message(
    expected: &MessageContents,
    actual: &MessageContents,
    spec: SpecVersion,
) -> Vec<Mismatch> {
    let _ = spec;
    let mut sink = Sink::default();
    body::match_body(
        &expected.contents,
        &actual.contents,
        content_type(&expected.metadata).as_deref(),
        content_type(&actual.metadata).as_deref(),
        &expected.rules,
        true,
        &mut sink,
    );
    let named = named_rules(&expected.rules, Category::Metadata, false);
    for (key, ev) in &expected.metadata {
        let Some(av) = actual.metadata.get(key).or_else(|| {
            actual
                .metadata
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        }) else {
            sink.push(Mismatch {
                part: Part::Metadata,
                path: key.clone(),
                rule: None,
                expected: shorten(&text(ev), 4096),
                actual: String::new(),
                message: format!("Expected metadata '{key}' but it was missing"),
            });
            continue;
        };
        if let Some(list) = named.get(key.as_str()) {
            let compiled = CList::compile(list);
            if let Err(f) = apply_list(&compiled, |r| rules::match_json_value(r, ev, av, false)) {
                for message in f.messages {
                    sink.push(Mismatch {
                        part: Part::Metadata,
                        path: key.clone(),
                        rule: Some(f.rule.clone()),
                        expected: shorten(&text(ev), 4096),
                        actual: shorten(&text(av), 4096),
                        message: format!("Metadata '{key}': {message}"),
                    });
                }
            }
            continue;
        }
        let problem = if CONTENT_TYPE_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
            media_type_difference(&text(ev), &text(av))
        } else if ev != av {
            Some(format!("{} is not {}", value_of(av), value_of(ev)))
        } else {
            None
        };
        if let Some(problem) = problem {
            sink.push(Mismatch {
                part: Part::Metadata,
                path: key.clone(),
                rule: Some("equality".into()),
                expected: shorten(&text(ev), 4096),
                actual: shorten(&text(av), 4096),
                message: format!(
                    "Expected metadata '{key}' to be {} but received {} ({problem})",
                    value_of(ev),
                    value_of(av)
                ),
            });
        }
    }
    sink.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, MatchingRule};
    use serde_json::json;

    fn message(body: Value, metadata: &[(&str, Value)]) -> MessageContents {
        MessageContents {
            contents: Body::Json {
                value: body,
                content_type: None,
            },
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..MessageContents::default()
        }
    }

    #[test]
    fn contents_allow_unexpected_keys() {
        let e = message(json!({"a": 1}), &[]);
        let a = message(json!({"a": 1, "b": 2}), &[]);
        assert!(match_message(&e, &a, SpecVersion::V4).is_empty());
        let a = message(json!({"b": 2}), &[]);
        assert!(!match_message(&e, &a, SpecVersion::V4).is_empty());
    }

    #[test]
    fn metadata_values_and_rules() {
        let ct = ("contentType", json!("application/json"));
        let e = message(json!({}), &[ct.clone(), ("topic", json!("orders"))]);
        let a = message(
            json!({}),
            &[
                ("contentType", json!("application/json; charset=utf-8")),
                ("topic", json!("orders")),
                ("x", json!(1)),
            ],
        );
        assert!(match_message(&e, &a, SpecVersion::V4).is_empty());
        let a = message(json!({}), &[ct.clone(), ("topic", json!("other"))]);
        assert_eq!(match_message(&e, &a, SpecVersion::V4).len(), 1);
        let a = message(json!({}), std::slice::from_ref(&ct));
        assert_eq!(
            match_message(&e, &a, SpecVersion::V4)[0].part,
            Part::Metadata
        );
        let mut e = e;
        e.rules.add(
            Category::Metadata,
            "topic",
            MatchingRule::Regex("[a-z]+".into()),
        );
        let a = message(json!({}), &[ct, ("topic", json!("other"))]);
        assert!(match_message(&e, &a, SpecVersion::V4).is_empty());
    }
}
