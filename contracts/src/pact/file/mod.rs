//! Pact files (V1–V4) to and from the model.
//!
//! Reading accepts what Pact writers produce:
//! - V1/V1.1/V2 HTTP pacts: `interactions` with `providerState` (a string), `query` as a string,
//!   headers as strings, bodies as JSON values, `matchingRules` in the V2 layout (also the older
//!   `requestMatchingRules`/`responseMatchingRules`);
//! - V3 HTTP pacts: `providerStates` (`[{name, params}]`), `query` as a map of arrays,
//!   `matchingRules` in the V3 layout, `generators`;
//! - V3 message pacts: `messages` with `contents`, `metadata` (pact-jvm: `metaData`),
//!   `matchingRules` (`body`, `metadata`), `generators`;
//! - V4 pacts: `interactions` with a `type` (`Synchronous/HTTP`, `Asynchronous/Messages`,
//!   `Synchronous/Messages`), bodies as `{content, contentType, encoded}`, `key`, `pending`,
//!   `comments`; other interaction keys (`pluginConfiguration`, `interactionMarkup`,
//!   `transport`, …) are kept in [`InteractionCommon::extra`].
//!
//! The version comes from `metadata.pactSpecification.version` (also `pact-specification` and
//! `pactSpecificationVersion`); without one a file is V2, as Pact reads it, unless its
//! interactions carry a V4 `type`. The matching-rule layout is recognised by its keys (V2 keys
//! are paths starting with `$`), so a mislabelled file still reads. Generators are kept as
//! written. parley's `subject` on messages is read from, and written to, the message metadata
//! key `subject`.
//!
//! Errors name the file, the JSON path (`interactions[3].request.method`) and, for a document
//! parley can point into, the line and column.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::model::{
    Body, Contract, Generators, Headers, HttpInteraction, HttpRequest, HttpResponse, Interaction,
    InteractionCommon, Location, MatchingRules, MessageContents, MessageInteraction, ProviderState,
    Query, SpecVersion, SyncMessageInteraction,
};
use crate::pact::body::{self, kind};
use crate::pact::{PactError, rules};

/// The deepest nesting serde_json accepts (its recursion limit).
const MAX_DEPTH: usize = 128;

/// Reads a Pact file.
pub fn read_pact(path: &Path) -> Result<Contract, PactError> {
    let bytes = std::fs::read(path).map_err(|source| PactError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            // The valid prefix is UTF-8 by definition.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let (line, column) = line_col(prefix, prefix.len());
            return Err(PactError::Syntax {
                file: Some(path.to_path_buf()),
                line,
                column,
                message: "the file is not UTF-8 text (invalid byte sequence)".into(),
            });
        }
    };
    parse_pact(text, Some(path))
}

/// Parses a Pact document. `file` is where it came from: errors name it and interactions get
/// their [`Location`].
pub fn parse_pact(text: &str, file: Option<&Path>) -> Result<Contract, PactError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| syntax_error(&e, file))?;
    let mut contract = read_contract(&value).map_err(|e| locate_error(e, text, file))?;
    if let Some(file) = file {
        contract.source = Some(file.to_path_buf());
        set_locations(&mut contract, text, file);
    }
    Ok(contract)
}

/// The contract as a Pact document of `version`.
///
/// V4 holds everything. V3 writes HTTP interactions to `interactions` and asynchronous messages
/// to `messages` (a V3 message pact); V2 (and V1, V1.1, written in the V2 layout) keep only the
/// first provider state's name. What a version cannot hold is left out or reduced:
/// [`write_losses`] lists it. Keys are sorted at every level, as Pact's own writers do.
pub fn write_pact(contract: &Contract, version: SpecVersion) -> Value {
    let mut root = Map::new();
    root.insert("consumer".into(), json!({ "name": contract.consumer }));
    root.insert("provider".into(), json!({ "name": contract.provider }));
    let mut interactions = Vec::new();
    let mut messages = Vec::new();
    for interaction in &contract.interactions {
        match (version, interaction) {
            (SpecVersion::V4, i) => interactions.push(write_v4_interaction(i)),
            (_, Interaction::Http(h)) => interactions.push(write_http_v3(h, version)),
            (_, Interaction::Message(m)) => messages.push(write_message_v3(m, version)),
            // Not expressible before V4 (see write_losses).
            (_, Interaction::SyncMessage(_)) => {}
        }
    }
    let only_messages = interactions.is_empty() && !messages.is_empty();
    if !only_messages {
        root.insert("interactions".into(), Value::Array(interactions));
    }
    if !messages.is_empty() {
        root.insert("messages".into(), Value::Array(messages));
    }
    let mut metadata = contract.metadata.clone();
    for key in VERSION_KEYS {
        metadata.remove(key);
    }
    metadata.insert(
        "pactSpecification".into(),
        json!({ "version": version.pact_string() }),
    );
    root.insert("metadata".into(), Value::Object(metadata));
    sorted(Value::Object(root))
}

/// The contract as Pact file text of `version`: pretty-printed (two spaces), keys sorted, with
/// a final newline.
pub fn pact_to_string(contract: &Contract, version: SpecVersion) -> String {
    let value = write_pact(contract, version);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// What writing `contract` as `version` leaves out or reduces, one sentence per item (empty:
/// nothing is lost).
pub fn write_losses(contract: &Contract, version: SpecVersion) -> Vec<String> {
    let mut losses = Vec::new();
    let v2_or_older = version <= SpecVersion::V2;
    for interaction in &contract.interactions {
        let name = format!("interaction {:?}", interaction.description());
        let common = interaction.common();
        if version < SpecVersion::V4 {
            if let Interaction::SyncMessage(_) = interaction {
                losses.push(format!(
                    "{name}: synchronous messages need Pact V4; left out"
                ));
                continue;
            }
            let binary = match interaction {
                Interaction::Http(h) => {
                    matches!(h.request.body, Body::Binary { .. })
                        || matches!(h.response.body, Body::Binary { .. })
                }
                Interaction::Message(m) => matches!(m.message.contents, Body::Binary { .. }),
                Interaction::SyncMessage(_) => false,
            };
            if binary {
                losses.push(format!(
                    "{name}: before V4 a binary body is written as base64 text and reads back as text"
                ));
            }
            if common.pending {
                losses.push(format!(
                    "{name}: `pending` is a Pact V4 feature; V3 readers ignore it"
                ));
            }
        }
        if v2_or_older {
            if common.provider_states.len() > 1 {
                losses.push(format!(
                    "{name}: Pact {} has one provider state; only the first is written",
                    version.pact_string()
                ));
            }
            if common.provider_states.iter().any(|s| !s.params.is_empty()) {
                losses.push(format!(
                    "{name}: Pact {} provider states have no parameters; left out",
                    version.pact_string()
                ));
            }
            if let Interaction::Message(_) = interaction {
                losses.push(format!(
                    "{name}: messages are not part of Pact {}; written as a V3 message",
                    version.pact_string()
                ));
            }
            let has_generators = match interaction {
                Interaction::Http(h) => {
                    !h.request.generators.is_empty() || !h.response.generators.is_empty()
                }
                Interaction::Message(m) => !m.message.generators.is_empty(),
                Interaction::SyncMessage(_) => false,
            };
            if has_generators {
                losses.push(format!(
                    "{name}: generators are a Pact V3 feature; written, but older readers ignore them"
                ));
            }
        }
        if version < SpecVersion::V2
            && let Interaction::Http(h) = interaction
            && (!h.request.rules.is_empty() || !h.response.rules.is_empty())
        {
            losses.push(format!(
                "{name}: Pact {} has no matching rules; written in the V2 layout, which older readers ignore",
                version.pact_string()
            ));
        }
        if let Interaction::Message(m) = interaction {
            if m.schema.is_some() {
                losses.push(format!(
                    "{name}: parley's payload schema has no place in a Pact file; left out"
                ));
            }
            if m.trigger.is_some() {
                losses.push(format!(
                    "{name}: parley's trigger has no place in a Pact file; left out"
                ));
            }
        }
    }
    losses
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Metadata keys that carry the specification version.
const VERSION_KEYS: [&str; 3] = [
    "pactSpecification",
    "pact-specification",
    "pactSpecificationVersion",
];

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

fn read_contract(value: &Value) -> Result<Contract, PactError> {
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

fn parse_version(text: &str) -> Option<SpecVersion> {
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

fn request(value: &Value, at: &str, v4: bool) -> Result<HttpRequest, PactError> {
    let object = as_object(value, at, "a request (a JSON object)")?;
    let method = match object.get("method") {
        None | Some(Value::Null) => "GET".to_string(),
        Some(Value::String(m)) => m.to_ascii_uppercase(),
        Some(other) => return Err(expected(&join(at, "method"), "a string", other)),
    };
    let path = match object.get("path") {
        None | Some(Value::Null) => "/".to_string(),
        Some(Value::String(p)) => p.clone(),
        Some(other) => return Err(expected(&join(at, "path"), "a string", other)),
    };
    let query = query(object.get("query"), &join(at, "query"))?;
    let headers = headers(object.get("headers"), &join(at, "headers"))?;
    let body = http_body(object, at, headers.as_ref(), v4)?;
    let rules = rules_of(object, at, &["matchingRules", "requestMatchingRules"])?;
    let generators = generators(object.get("generators"), &join(at, "generators"))?;
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

fn response(value: &Value, at: &str, v4: bool) -> Result<HttpResponse, PactError> {
    let object = as_object(value, at, "a response (a JSON object)")?;
    let status_at = join(at, "status");
    let status = match object.get("status") {
        None | Some(Value::Null) => 200,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| {
                PactError::invalid(
                    status_at.clone(),
                    format!("expected an HTTP status code (100 to 999), found {n}"),
                )
            })?,
        Some(other) => return Err(expected(&status_at, "an HTTP status code", other)),
    };
    let headers = headers(object.get("headers"), &join(at, "headers"))?;
    let body = http_body(object, at, headers.as_ref(), v4)?;
    let rules = rules_of(object, at, &["matchingRules", "responseMatchingRules"])?;
    let generators = generators(object.get("generators"), &join(at, "generators"))?;
    Ok(HttpResponse {
        status,
        headers,
        body,
        rules,
        generators,
    })
}

/// The `body` of a request or response, in the V1–V3 or the V4 layout.
fn http_body(
    object: &Map<String, Value>,
    at: &str,
    headers: Option<&Headers>,
    v4: bool,
) -> Result<Body, PactError> {
    let content_type = body::content_type_of(headers);
    let value = object.get("body");
    if v4 {
        v4_body(value, content_type.as_deref(), &join(at, "body"))
    } else {
        Ok(body::from_v3(value, content_type.as_deref()))
    }
}

/// A V4 body; an object that is not in the V4 layout (a V3 body in a V4 file) is an error
/// rather than a silently missing body.
fn v4_body(value: Option<&Value>, content_type: Option<&str>, at: &str) -> Result<Body, PactError> {
    if let Some(Value::Object(o)) = value
        && !o.contains_key("content")
        && o.keys()
            .any(|k| !matches!(k.as_str(), "contentType" | "encoded" | "contentTypeHint"))
    {
        return Err(PactError::invalid(
            at,
            "a V4 body is {\"content\": …, \"contentType\": …, \"encoded\": false}; this object has no `content` (a V3 body in a V4 file?)",
        ));
    }
    body::from_v4(value, content_type, at)
}

/// A message's contents, metadata, rules and generators (V3 message, V4 message, V4 sync
/// message request or response).
fn message_contents(
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
fn rules_of(
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

fn generators(value: Option<&Value>, at: &str) -> Result<Generators, PactError> {
    match value {
        None | Some(Value::Null) => Ok(Generators::default()),
        Some(Value::Object(m)) => Ok(Generators {
            categories: m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }),
        Some(other) => Err(expected(at, "an object (generators by category)", other)),
    }
}

/// `query`: a string (V1/V2, `a=1&b=2`) or a map of arrays or strings (V3, V4).
fn query(value: Option<&Value>, at: &str) -> Result<Option<Query>, PactError> {
    let mut query = Query::new();
    match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => {
            for (name, value) in form_urlencoded::parse(s.trim_start_matches('?').as_bytes()) {
                query
                    .entry(name.into_owned())
                    .or_default()
                    .push(value.into_owned());
            }
        }
        Some(Value::Object(m)) => {
            for (name, values) in m {
                let name_at = join(at, name);
                let list = query.entry(name.clone()).or_default();
                match values {
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            // Pact writes a parameter without a value (`?flag`) as null.
                            list.push(match item {
                                Value::Null => String::new(),
                                v => scalar(v, &format!("{name_at}[{i}]"))?,
                            });
                        }
                    }
                    v => list.push(scalar(v, &name_at)?),
                }
            }
        }
        Some(other) => {
            return Err(expected(at, "a query string or an object of arrays", other));
        }
    }
    Ok(Some(query))
}

/// `headers`: values as strings (V1–V3; known multi-value headers are split on commas as Pact
/// does) or arrays of strings (V4).
fn headers(value: Option<&Value>, at: &str) -> Result<Option<Headers>, PactError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(expected(at, "an object", other)),
    };
    let mut headers = Headers::new();
    for (name, values) in object {
        let name_at = join(at, name);
        let list: &mut Vec<String> = headers.entry(name.clone()).or_default();
        match values {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    list.push(scalar(item, &format!("{name_at}[{i}]"))?);
                }
            }
            Value::String(s) => list.extend(split_header(name, s)),
            v => list.push(scalar(v, &name_at)?),
        }
    }
    Ok(Some(headers))
}

/// Pact's list of headers whose values are comma-separated lists (others are kept whole, so a
/// date or a user agent is not cut).
const MULTI_VALUE_HEADERS: [&str; 12] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-expose-headers",
    "access-control-request-headers",
    "allow",
    "cache-control",
    "if-match",
    "if-none-match",
    "vary",
];

fn split_header(name: &str, value: &str) -> Vec<String> {
    if MULTI_VALUE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
    {
        value.split(',').map(|v| v.trim().to_string()).collect()
    } else {
        vec![value.trim().to_string()]
    }
}

/// A string, or a number or boolean written without quotes.
fn scalar(value: &Value, at: &str) -> Result<String, PactError> {
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

fn as_object<'a>(
    value: &'a Value,
    at: &str,
    what: &str,
) -> Result<&'a Map<String, Value>, PactError> {
    match value {
        Value::Object(o) => Ok(o),
        other => Err(expected(at, what, other)),
    }
}

fn expected(at: &str, what: &str, found: &Value) -> PactError {
    PactError::invalid(at, format!("expected {what}, found {}", kind(found)))
}

/// `at.key` (`key` alone at the root).
fn join(at: &str, key: &str) -> String {
    if at == "$" || at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn syntax_error(e: &serde_json::Error, file: Option<&Path>) -> PactError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let mut message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    if message.contains("recursion limit exceeded") {
        message = format!(
            "nested more than {MAX_DEPTH} levels deep (arrays and objects inside each other); \
             parley reads documents up to that depth"
        );
    }
    PactError::Syntax {
        file: file.map(Path::to_path_buf),
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// Adds the file and, where the JSON path leads, the line and column to an error.
fn locate_error(error: PactError, text: &str, file: Option<&Path>) -> PactError {
    let error = match error {
        PactError::Invalid { file, at, message } => {
            let message = match locate(text, &at) {
                Some(offset) => {
                    let (line, column) = line_col(text, offset);
                    format!("{message} (line {line}, column {column})")
                }
                None => message,
            };
            PactError::Invalid { file, at, message }
        }
        other => other,
    };
    match file {
        Some(file) => error.in_file(file),
        None => error,
    }
}

fn set_locations(contract: &mut Contract, text: &str, file: &Path) {
    let lines = LineIndex::new(text);
    let offsets: Vec<usize> = ["interactions", "messages"]
        .iter()
        .flat_map(|key| element_offsets(text, key))
        .collect();
    for (interaction, offset) in contract.interactions.iter_mut().zip(offsets) {
        let (line, column) = lines.line_col(text, offset);
        interaction.common_mut().location = Some(Location {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

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

fn write_http_v3(h: &HttpInteraction, version: SpecVersion) -> Value {
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

fn write_message_v3(m: &MessageInteraction, version: SpecVersion) -> Value {
    let mut o = Map::new();
    write_common(&mut o, &m.common, version);
    write_message_contents(&mut o, &m.message, m.subject.as_deref(), false);
    Value::Object(o)
}

fn write_v4_interaction(interaction: &Interaction) -> Value {
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
fn sorted(value: Value) -> Value {
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

// ---------------------------------------------------------------------------------------------
// Pointing into the text: a small scanner over a document serde_json has already accepted.

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(text, offset)
}

/// Byte offsets of line starts.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
}

impl Scanner<'_> {
    fn skip_ws(&self, mut pos: usize) -> usize {
        while let Some(b) = self.bytes.get(pos) {
            if !b.is_ascii_whitespace() {
                break;
            }
            pos += 1;
        }
        pos
    }

    /// The end (exclusive) of the string starting at `pos` (at its opening quote).
    fn string_end(&self, mut pos: usize) -> usize {
        pos += 1;
        while let Some(b) = self.bytes.get(pos) {
            match b {
                b'\\' => pos += 2,
                b'"' => return pos + 1,
                _ => pos += 1,
            }
        }
        pos
    }

    /// The end (exclusive) of the value starting at `pos`; iterative, so any depth is fine.
    fn value_end(&self, pos: usize) -> usize {
        match self.bytes.get(pos) {
            Some(b'"') => self.string_end(pos),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut p = pos;
                while let Some(b) = self.bytes.get(p) {
                    match b {
                        b'"' => {
                            p = self.string_end(p);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return p + 1;
                            }
                        }
                        _ => {}
                    }
                    p += 1;
                }
                p
            }
            _ => {
                let mut p = pos;
                while let Some(b) = self.bytes.get(p) {
                    if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                        break;
                    }
                    p += 1;
                }
                p
            }
        }
    }

    /// The members of the object at `pos`: (key, offset of its value).
    fn members(&self, pos: usize) -> Vec<(String, usize)> {
        let mut members = Vec::new();
        let mut p = self.skip_ws(pos + 1);
        while let Some(b'"') = self.bytes.get(p) {
            let end = self.string_end(p);
            let key = self
                .bytes
                .get(p..end)
                .and_then(|raw| serde_json::from_slice::<String>(raw).ok())
                .unwrap_or_default();
            p = self.skip_ws(end);
            if self.bytes.get(p) != Some(&b':') {
                break;
            }
            let value = self.skip_ws(p + 1);
            members.push((key, value));
            p = self.skip_ws(self.value_end(value));
            if self.bytes.get(p) != Some(&b',') {
                break;
            }
            p = self.skip_ws(p + 1);
        }
        members
    }

    /// Offsets of the elements of the array at `pos`.
    fn elements(&self, pos: usize) -> Vec<usize> {
        let mut elements = Vec::new();
        let mut p = self.skip_ws(pos + 1);
        while p < self.bytes.len() && self.bytes.get(p) != Some(&b']') {
            elements.push(p);
            p = self.skip_ws(self.value_end(p));
            if self.bytes.get(p) != Some(&b',') {
                break;
            }
            p = self.skip_ws(p + 1);
        }
        elements
    }
}

/// Offsets of the elements of the top-level array `key`.
fn element_offsets(text: &str, key: &str) -> Vec<usize> {
    let scanner = Scanner {
        bytes: text.as_bytes(),
    };
    let root = scanner.skip_ws(0);
    if scanner.bytes.get(root) != Some(&b'{') {
        return Vec::new();
    }
    scanner
        .members(root)
        .into_iter()
        .find(|(k, _)| k == key)
        .filter(|(_, pos)| scanner.bytes.get(*pos) == Some(&b'['))
        .map(|(_, pos)| scanner.elements(pos))
        .unwrap_or_default()
}

/// The offset of the value at JSON path `at` (`interactions[3].request.method`; `$` is the
/// root), or of the deepest part of it that exists. Keys may contain dots (`$.id` in matching
/// rules): at each object the longest key that fits is taken.
fn locate(text: &str, at: &str) -> Option<usize> {
    let scanner = Scanner {
        bytes: text.as_bytes(),
    };
    let mut pos = scanner.skip_ws(0);
    if at == "$" || at.is_empty() {
        return Some(pos);
    }
    let mut rest = at;
    while !rest.is_empty() {
        match scanner.bytes.get(pos) {
            Some(b'{') => {
                let key_part = rest.strip_prefix('.').unwrap_or(rest);
                let found = scanner
                    .members(pos)
                    .into_iter()
                    .filter(|(k, _)| {
                        key_part.strip_prefix(k.as_str()).is_some_and(|after| {
                            after.is_empty() || after.starts_with('.') || after.starts_with('[')
                        })
                    })
                    .max_by_key(|(k, _)| k.len());
                let Some((key, value)) = found else {
                    return Some(pos);
                };
                rest = &key_part[key.len()..];
                pos = value;
            }
            Some(b'[') => {
                let element = rest.strip_prefix('[').and_then(|inner| {
                    let close = inner.find(']')?;
                    let index: usize = inner[..close].parse().ok()?;
                    Some((*scanner.elements(pos).get(index)?, &inner[close + 1..]))
                });
                let Some((element, after)) = element else {
                    return Some(pos);
                };
                pos = element;
                rest = after;
            }
            _ => return Some(pos),
        }
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_pact_writes_them() {
        assert_eq!(parse_version("1.0.0"), Some(SpecVersion::V1));
        assert_eq!(parse_version("1.1.0"), Some(SpecVersion::V1_1));
        assert_eq!(parse_version("2.0.0"), Some(SpecVersion::V2));
        assert_eq!(parse_version("3.0.0"), Some(SpecVersion::V3));
        assert_eq!(parse_version("4.0"), Some(SpecVersion::V4));
        assert_eq!(parse_version("v4"), Some(SpecVersion::V4));
        assert_eq!(parse_version("5.0.0"), None);
        assert_eq!(parse_version("three"), None);
    }

    #[test]
    fn locate_follows_keys_with_dots_and_indexes() {
        let text = "{\n  \"interactions\": [\n    {\"a\": 1},\n    {\"rules\": {\"$.id\": {\"x\": [1, 2]}}}\n  ]\n}";
        let at = locate(text, "interactions[1].rules.$.id.x[1]").expect("found");
        assert_eq!(line_col(text, at), (4, 34));
        let at = locate(text, "interactions[0]").expect("found");
        assert_eq!(line_col(text, at), (3, 5));
        assert_eq!(element_offsets(text, "interactions").len(), 2);
        // A path that leaves the document stops at its deepest existing part.
        let at = locate(text, "interactions[7].request").expect("the array");
        assert_eq!(line_col(text, at), (2, 19));
    }

    #[test]
    fn multi_value_headers_split_like_pact() {
        assert_eq!(split_header("Accept", "a, b"), vec!["a", "b"]);
        assert_eq!(
            split_header("Date", "Mon, 06 Jan 2025 10:15:30 GMT"),
            vec!["Mon, 06 Jan 2025 10:15:30 GMT"]
        );
    }
}
