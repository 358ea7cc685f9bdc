//! Writing the model as a Pact document: interactions of every kind in the layout of a
//! specification version, with keys sorted as Pact's own writers do.

use serde_json::{Map, Value};

use crate::model::{
    Generators, Headers, HttpInteraction, HttpRequest, HttpResponse, Interaction,
    InteractionCommon, MatchingRules, MessageContents, MessageInteraction, ProviderState, Query,
    SpecVersion,
};
use crate::pact::body;
use crate::pact::rules;

fn write_states(states: &[ProviderState]) -> Value {
    Value::Array(
        states
            .iter()
            .map(|s| {
                let mut o = Map::new();
                o.insert("name".into(), Value::String(s.name.clone()));
                if !s.params.is_empty() {
                    o.insert("params".into(), Value::Object(s.params.clone()));
                }
                Value::Object(o)
            })
            .collect(),
    )
}

/// Description, provider states, key, pending, comments and extra keys.
fn write_common(o: &mut Map<String, Value>, common: &InteractionCommon, version: SpecVersion) {
    o.insert(
        "description".into(),
        Value::String(common.description.clone()),
    );
    if version <= SpecVersion::V2 {
        if let Some(first) = common.provider_states.first() {
            o.insert("providerState".into(), Value::String(first.name.clone()));
        }
    } else if !common.provider_states.is_empty() {
        o.insert(
            "providerStates".into(),
            write_states(&common.provider_states),
        );
    }
    if let Some(key) = &common.key {
        o.insert("key".into(), Value::String(key.clone()));
    }
    if version == SpecVersion::V4 || common.pending {
        o.insert("pending".into(), Value::Bool(common.pending));
    }
    if let Some(comments) = &common.comments {
        o.insert("comments".into(), comments.clone());
    }
    for (k, v) in &common.extra {
        if !o.contains_key(k) {
            o.insert(k.clone(), v.clone());
        }
    }
}

fn write_rules(o: &mut Map<String, Value>, rules: &MatchingRules, v2: bool) {
    if !rules.is_empty() {
        let written = if v2 {
            rules::write_v2(rules)
        } else {
            rules::write_v3(rules)
        };
        o.insert("matchingRules".into(), written);
    }
}

fn write_generators(o: &mut Map<String, Value>, generators: &Generators) {
    if !generators.is_empty() {
        o.insert(
            "generators".into(),
            Value::Object(
                generators
                    .categories
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        );
    }
}

fn write_headers(headers: &Headers, v4: bool) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(name, values)| {
                let value = if v4 {
                    Value::Array(values.iter().cloned().map(Value::String).collect())
                } else {
                    Value::String(values.join(", "))
                };
                (name.clone(), value)
            })
            .collect(),
    )
}

fn write_query(query: &Query, as_string: bool) -> Value {
    if as_string {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, values) in query {
            for value in values {
                serializer.append_pair(name, value);
            }
        }
        Value::String(serializer.finish())
    } else {
        Value::Object(
            query
                .iter()
                .map(|(name, values)| {
                    (
                        name.clone(),
                        Value::Array(values.iter().cloned().map(Value::String).collect()),
                    )
                })
                .collect(),
        )
    }
}

fn write_request(request: &HttpRequest, version: SpecVersion) -> Value {
    let v4 = version == SpecVersion::V4;
    let mut o = Map::new();
    o.insert("method".into(), Value::String(request.method.clone()));
    o.insert("path".into(), Value::String(request.path.clone()));
    if let Some(query) = &request.query {
        o.insert(
            "query".into(),
            write_query(query, version <= SpecVersion::V2),
        );
    }
    if let Some(headers) = &request.headers {
        o.insert("headers".into(), write_headers(headers, v4));
    }
    let body = if v4 {
        body::to_v4(&request.body)
    } else {
        body::to_v3(&request.body)
    };
    if let Some(body) = body {
        o.insert("body".into(), body);
    }
    write_rules(&mut o, &request.rules, version <= SpecVersion::V2);
    write_generators(&mut o, &request.generators);
    Value::Object(o)
}

fn write_response(response: &HttpResponse, version: SpecVersion) -> Value {
    let v4 = version == SpecVersion::V4;
    let mut o = Map::new();
    o.insert("status".into(), Value::from(response.status));
    if let Some(headers) = &response.headers {
        o.insert("headers".into(), write_headers(headers, v4));
    }
    let body = if v4 {
        body::to_v4(&response.body)
    } else {
        body::to_v3(&response.body)
    };
    if let Some(body) = body {
        o.insert("body".into(), body);
    }
    write_rules(&mut o, &response.rules, version <= SpecVersion::V2);
    write_generators(&mut o, &response.generators);
    Value::Object(o)
}

pub(super) fn write_http_v3(h: &HttpInteraction, version: SpecVersion) -> Value {
    let mut o = Map::new();
    write_common(&mut o, &h.common, version);
    o.insert("request".into(), write_request(&h.request, version));
    o.insert("response".into(), write_response(&h.response, version));
    Value::Object(o)
}

/// Contents, metadata (with parley's subject), rules and generators of a message.
fn write_message_contents(
    o: &mut Map<String, Value>,
    message: &MessageContents,
    subject: Option<&str>,
    v4: bool,
) {
    let contents = if v4 {
        body::to_v4(&message.contents)
    } else {
        body::to_v3(&message.contents)
    };
    if let Some(contents) = contents {
        o.insert("contents".into(), contents);
    }
    let mut metadata: Map<String, Value> = message
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(subject) = subject {
        metadata.insert("subject".into(), Value::String(subject.to_string()));
    }
    if !metadata.is_empty() || !v4 {
        o.insert("metadata".into(), Value::Object(metadata));
    }
    write_rules(o, &message.rules, false);
    write_generators(o, &message.generators);
}

pub(super) fn write_message_v3(m: &MessageInteraction, version: SpecVersion) -> Value {
    let mut o = Map::new();
    write_common(&mut o, &m.common, version);
    write_message_contents(&mut o, &m.message, m.subject.as_deref(), false);
    Value::Object(o)
}

pub(super) fn write_v4_interaction(interaction: &Interaction) -> Value {
    let mut o = Map::new();
    o.insert(
        "type".into(),
        Value::String(interaction.pact_type().to_string()),
    );
    write_common(&mut o, interaction.common(), SpecVersion::V4);
    match interaction {
        Interaction::Http(h) => {
            o.insert("request".into(), write_request(&h.request, SpecVersion::V4));
            o.insert(
                "response".into(),
                write_response(&h.response, SpecVersion::V4),
            );
        }
        Interaction::Message(m) => {
            write_message_contents(&mut o, &m.message, m.subject.as_deref(), true);
        }
        Interaction::SyncMessage(s) => {
            let mut request = Map::new();
            write_message_contents(&mut request, &s.request, s.subject.as_deref(), true);
            o.insert("request".into(), Value::Object(request));
            let responses = s
                .responses
                .iter()
                .map(|r| {
                    let mut response = Map::new();
                    write_message_contents(&mut response, r, None, true);
                    Value::Object(response)
                })
                .collect();
            o.insert("response".into(), Value::Array(responses));
        }
    }
    Value::Object(o)
}

/// The value with the keys of every object in sorted order (whatever order `serde_json::Map`
/// keeps).
pub(super) fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
