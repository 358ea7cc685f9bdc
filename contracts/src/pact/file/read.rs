//! Reading a Pact document into the model: the document, its parties and version, interactions
//! of every kind, provider states, message contents, matching rules and generators.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::VERSION_KEYS;
use super::read_http::{request, response, v4_body};
use crate::model::{
    Contract, Generators, HttpInteraction, Interaction, InteractionCommon, MatchingRules,
    MessageContents, MessageInteraction, ProviderState, SpecVersion, SyncMessageInteraction,
};
use crate::pact::body::{self, kind};
use crate::pact::{PactError, rules};

const TYPE_HTTP: &str = "Synchronous/HTTP";
const TYPE_MESSAGE: &str = "Asynchronous/Messages";
const TYPE_SYNC_MESSAGE: &str = "Synchronous/Messages";

/// Keys of an interaction the model holds; any other key goes to `extra`.
const COMMON_KEYS: [&str; 8] = [
    "type",
    "key",
    "description",
    "providerState",
    "provider_state",
    "providerStates",
    "pending",
    "comments",
];
const HTTP_KEYS: [&str; 2] = ["request", "response"];
const MESSAGE_KEYS: [&str; 5] = [
    "contents",
    "metadata",
    "metaData",
    "matchingRules",
    "generators",
];

pub(super) fn read_contract(value: &Value) -> Result<Contract, PactError> {
    let root = as_object(value, "$", "a Pact document (a JSON object)")?;
    let consumer = party(root, "consumer")?;
    let provider = party(root, "provider")?;
    let mut metadata = match root.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(expected("metadata", "an object", other)),
    };
    let declared = spec_version(&metadata)?;
    for key in VERSION_KEYS {
        metadata.remove(key);
    }
    let interactions = optional_array(root, "interactions", "$")?;
    let messages = optional_array(root, "messages", "$")?;
    let spec = declared.unwrap_or_else(|| {
        let typed = interactions
            .iter()
            .flat_map(|a| a.iter())
            .any(|i| i.get("type").is_some_and(Value::is_string));
        if typed {
            SpecVersion::V4
        } else {
            SpecVersion::V2
        }
    });

    let mut read = Vec::new();
    for (index, interaction) in interactions.into_iter().flatten().enumerate() {
        let at = format!("interactions[{index}]");
        read.push(if spec == SpecVersion::V4 {
            v4_interaction(interaction, &at, index)?
        } else {
            Interaction::Http(http_v3(interaction, &at, index)?)
        });
    }
    for (index, message) in messages.into_iter().flatten().enumerate() {
        let at = format!("messages[{index}]");
        read.push(Interaction::Message(message_v3(message, &at, index)?));
    }
    Ok(Contract {
        consumer,
        provider,
        interactions: read,
        spec,
        metadata,
        source: None,
    })
}

/// `consumer` / `provider`: `{"name": "…"}`.
fn party(root: &Map<String, Value>, key: &str) -> Result<String, PactError> {
    let value = root
        .get(key)
        .ok_or_else(|| PactError::invalid("$", format!("missing `{key}` ({{\"name\": …}})")))?;
    let object = as_object(value, key, "an object {\"name\": …}")?;
    let at = join(key, "name");
    match object.get("name") {
        Some(Value::String(name)) => Ok(name.clone()),
        None => Err(PactError::invalid(at, "missing name")),
        Some(other) => Err(expected(&at, "a string", other)),
    }
}

/// The declared specification version, if any.
fn spec_version(metadata: &Map<String, Value>) -> Result<Option<SpecVersion>, PactError> {
    let (value, at) = if let Some(v) = metadata.get("pactSpecification") {
        (v, "metadata.pactSpecification")
    } else if let Some(v) = metadata.get("pact-specification") {
        (v, "metadata.pact-specification")
    } else if let Some(v) = metadata.get("pactSpecificationVersion") {
        (v, "metadata.pactSpecificationVersion")
    } else {
        return Ok(None);
    };
    let (value, at) = match value {
        Value::Object(o) => match o.get("version") {
            Some(v) => (v, format!("{at}.version")),
            None => return Ok(None),
        },
        v => (v, at.to_string()),
    };
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(expected(&at, "a version string such as \"3.0.0\"", other)),
    };
    parse_version(&text).map(Some).ok_or_else(|| {
        PactError::invalid(
            at,
            format!("unknown Pact specification version {text:?} (parley reads 1.0.0 to 4.0)"),
        )
    })
}

pub(super) fn parse_version(text: &str) -> Option<SpecVersion> {
    let text = text.trim().trim_start_matches(['v', 'V']);
    let mut parts = text.split('.');
    let major: u32 = parts.next()?.trim().parse().ok()?;
    let minor: u32 = match parts.next() {
        Some(m) => m.trim().parse().ok()?,
        None => 0,
    };
    Some(match (major, minor) {
        (1, 0) => SpecVersion::V1,
        (1, _) => SpecVersion::V1_1,
        (2, _) => SpecVersion::V2,
        (3, _) => SpecVersion::V3,
        (4, _) => SpecVersion::V4,
        _ => return None,
    })
}

/// A V1–V3 HTTP interaction.
fn http_v3(value: &Value, at: &str, index: usize) -> Result<HttpInteraction, PactError> {
    let object = as_object(value, at, "an interaction (a JSON object)")?;
    let common = common(object, at, index, &HTTP_KEYS)?;
    let request_at = join(at, "request");
    let request = match object.get("request") {
        Some(v) => request(v, &request_at, false)?,
        None => return Err(PactError::invalid(request_at, "missing request")),
    };
    let response_at = join(at, "response");
    let response = match object.get("response") {
        Some(v) => response(v, &response_at, false)?,
        None => return Err(PactError::invalid(response_at, "missing response")),
    };
    Ok(HttpInteraction {
        common,
        request,
        response,
    })
}

/// A V4 interaction of any type.
fn v4_interaction(value: &Value, at: &str, index: usize) -> Result<Interaction, PactError> {
    let object = as_object(value, at, "an interaction (a JSON object)")?;
    let type_at = join(at, "type");
    let kind_name = match object.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => return Err(expected(&type_at, "a string", other)),
        // Untyped: tell HTTP from a message by its shape.
        None if object.get("request").is_some_and(Value::is_object)
            && object.get("response").is_some_and(Value::is_object) =>
        {
            TYPE_HTTP
        }
        None if object.contains_key("contents") => TYPE_MESSAGE,
        None => {
            return Err(PactError::invalid(
                type_at,
                format!(
                    "missing interaction type (expected {TYPE_HTTP:?}, {TYPE_MESSAGE:?} or {TYPE_SYNC_MESSAGE:?})"
                ),
            ));
        }
    };
    if kind_name.eq_ignore_ascii_case(TYPE_HTTP) {
        let common = common(object, at, index, &HTTP_KEYS)?;
        let request_at = join(at, "request");
        let request = match object.get("request") {
            Some(v) => request(v, &request_at, true)?,
            None => return Err(PactError::invalid(request_at, "missing request")),
        };
        let response_at = join(at, "response");
        let response = match object.get("response") {
            Some(v) => response(v, &response_at, true)?,
            None => return Err(PactError::invalid(response_at, "missing response")),
        };
        Ok(Interaction::Http(HttpInteraction {
            common,
            request,
            response,
        }))
    } else if kind_name.eq_ignore_ascii_case(TYPE_MESSAGE) {
        let common = common(object, at, index, &MESSAGE_KEYS)?;
        let message = message_contents(object, at, true)?;
        let subject = subject_of(&message.metadata);
        Ok(Interaction::Message(MessageInteraction {
            common,
            message,
            subject,
            schema: None,
            trigger: None,
        }))
    } else if kind_name.eq_ignore_ascii_case(TYPE_SYNC_MESSAGE) {
        let common = common(object, at, index, &HTTP_KEYS)?;
        let request_at = join(at, "request");
        let request = match object.get("request") {
            Some(v) => {
                let o = as_object(v, &request_at, "a message {contents, metadata, …}")?;
                message_contents(o, &request_at, true)?
            }
            None => return Err(PactError::invalid(request_at, "missing request")),
        };
        let response_at = join(at, "response");
        let responses = match object.get("response") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let item_at = format!("{response_at}[{i}]");
                    let o = as_object(item, &item_at, "a message {contents, metadata, …}")?;
                    message_contents(o, &item_at, true)
                })
                .collect::<Result<_, _>>()?,
            Some(Value::Object(o)) => vec![message_contents(o, &response_at, true)?],
            Some(other) => {
                return Err(expected(&response_at, "an array of messages", other));
            }
        };
        let subject = subject_of(&request.metadata);
        Ok(Interaction::SyncMessage(SyncMessageInteraction {
            common,
            request,
            responses,
            subject,
        }))
    } else {
        Err(PactError::invalid(
            type_at,
            format!(
                "unknown interaction type {kind_name:?} (expected {TYPE_HTTP:?}, {TYPE_MESSAGE:?} or {TYPE_SYNC_MESSAGE:?})"
            ),
        ))
    }
}

/// A V3 message (an element of `messages`).
fn message_v3(value: &Value, at: &str, index: usize) -> Result<MessageInteraction, PactError> {
    let object = as_object(value, at, "a message (a JSON object)")?;
    let common = common(object, at, index, &MESSAGE_KEYS)?;
    let message = message_contents(object, at, false)?;
    let subject = subject_of(&message.metadata);
    Ok(MessageInteraction {
        common,
        message,
        subject,
        schema: None,
        trigger: None,
    })
}

/// What every interaction has. `kind_keys`: the keys its kind reads itself.
fn common(
    object: &Map<String, Value>,
    at: &str,
    index: usize,
    kind_keys: &[&str],
) -> Result<InteractionCommon, PactError> {
    let description = match object.get("description") {
        Some(Value::String(d)) => d.clone(),
        // Pact names an interaction without a description by its position.
        None | Some(Value::Null) => format!("Interaction {}", index + 1),
        Some(other) => return Err(expected(&join(at, "description"), "a string", other)),
    };
    let key = match object.get("key") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(other) => return Err(expected(&join(at, "key"), "a string", other)),
    };
    let pending = match object.get("pending") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(expected(&join(at, "pending"), "true or false", other)),
    };
    let comments = object.get("comments").filter(|c| !c.is_null()).cloned();
    let extra = object
        .iter()
        .filter(|(k, _)| !COMMON_KEYS.contains(&k.as_str()) && !kind_keys.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(InteractionCommon {
        description,
        provider_states: provider_states(object, at)?,
        key,
        pending,
        comments,
        extra,
        location: None,
    })
}

fn provider_states(object: &Map<String, Value>, at: &str) -> Result<Vec<ProviderState>, PactError> {
    if let Some(states) = object.get("providerStates").filter(|v| !v.is_null()) {
        let states_at = join(at, "providerStates");
        let Value::Array(items) = states else {
            return Err(expected(&states_at, "an array of {name, params}", states));
        };
        let mut read = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_at = format!("{states_at}[{i}]");
            match item {
                Value::String(name) => read.push(ProviderState {
                    name: name.clone(),
                    params: Map::new(),
                }),
                Value::Object(o) => {
                    let name = match o.get("name") {
                        Some(Value::String(n)) => n.clone(),
                        None => return Err(PactError::invalid(item_at, "missing name")),
                        Some(other) => {
                            return Err(expected(&join(&item_at, "name"), "a string", other));
                        }
                    };
                    let params = match o.get("params") {
                        None | Some(Value::Null) => Map::new(),
                        Some(Value::Object(p)) => p.clone(),
                        Some(other) => {
                            return Err(expected(&join(&item_at, "params"), "an object", other));
                        }
                    };
                    read.push(ProviderState { name, params });
                }
                other => return Err(expected(&item_at, "an object {name, params}", other)),
            }
        }
        return Ok(read);
    }
    for key in ["providerState", "provider_state"] {
        match object.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) => {
                return Ok(vec![ProviderState {
                    name: name.clone(),
                    params: Map::new(),
                }]);
            }
            Some(other) => return Err(expected(&join(at, key), "a string", other)),
        }
    }
    Ok(Vec::new())
}

/// A message's contents, metadata, rules and generators (V3 message, V4 message, V4 sync
/// message request or response).
pub(super) fn message_contents(
    object: &Map<String, Value>,
    at: &str,
    v4: bool,
) -> Result<MessageContents, PactError> {
    let (metadata_key, metadata_value) = match object.get("metadata") {
        Some(v) => ("metadata", Some(v)),
        None => ("metaData", object.get("metaData")),
    };
    let metadata: BTreeMap<String, Value> = match metadata_value {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(other) => return Err(expected(&join(at, metadata_key), "an object", other)),
    };
    let content_type = metadata
        .iter()
        .find(|(k, _)| {
            k.eq_ignore_ascii_case("contentType") || k.eq_ignore_ascii_case("content-type")
        })
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string);
    let contents_at = join(at, "contents");
    let contents = if v4 {
        v4_body(
            object.get("contents"),
            content_type.as_deref(),
            &contents_at,
        )?
    } else {
        body::from_v3(object.get("contents"), content_type.as_deref())
    };
    Ok(MessageContents {
        contents,
        metadata,
        rules: rules_of(object, at, &["matchingRules"])?,
        generators: generators(object.get("generators"), &join(at, "generators"))?,
    })
}

fn subject_of(metadata: &BTreeMap<String, Value>) -> Option<String> {
    metadata
        .get("subject")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The first of `keys` present, parsed in the layout its keys show.
pub(super) fn rules_of(
    object: &Map<String, Value>,
    at: &str,
    keys: &[&str],
) -> Result<MatchingRules, PactError> {
    for key in keys {
        let rules_at = join(at, key);
        match object.get(*key) {
            None | Some(Value::Null) => continue,
            Some(Value::Object(m)) if m.is_empty() => return Ok(MatchingRules::default()),
            Some(value @ Value::Object(m)) => {
                return if m.keys().any(|k| k.starts_with('$')) {
                    rules::parse_v2(value, &rules_at)
                } else {
                    rules::parse_v3(value, &rules_at)
                };
            }
            Some(other) => return Err(expected(&rules_at, "an object", other)),
        }
    }
    Ok(MatchingRules::default())
}

pub(super) fn generators(value: Option<&Value>, at: &str) -> Result<Generators, PactError> {
    match value {
        None | Some(Value::Null) => Ok(Generators::default()),
        Some(Value::Object(m)) => Ok(Generators {
            categories: m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }),
        Some(other) => Err(expected(at, "an object (generators by category)", other)),
    }
}

/// A string, or a number or boolean written without quotes.
pub(super) fn scalar(value: &Value, at: &str) -> Result<String, PactError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(expected(at, "a string", other)),
    }
}

fn optional_array<'a>(
    root: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a Vec<Value>>, PactError> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(expected(&join(at, key), "an array", other)),
    }
}

pub(super) fn as_object<'a>(
    value: &'a Value,
    at: &str,
    what: &str,
) -> Result<&'a Map<String, Value>, PactError> {
    match value {
        Value::Object(o) => Ok(o),
        other => Err(expected(at, what, other)),
    }
}

pub(super) fn expected(at: &str, what: &str, found: &Value) -> PactError {
    PactError::invalid(at, format!("expected {what}, found {}", kind(found)))
}

/// `at.key` (`key` alone at the root).
pub(super) fn join(at: &str, key: &str) -> String {
    if at == "$" || at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}
