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
//!
//! `read` turns a document into a contract (its HTTP parts in `read_http`), `write`
//! turns a contract into a document, and `locate` points errors at lines and columns.
//!
//! [`InteractionCommon::extra`]: crate::model::InteractionCommon::extra

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::model::{Body, Contract, Interaction, SpecVersion};
use crate::pact::PactError;

mod locate;
mod read;
mod read_http;
mod write;

#[cfg(test)]
mod tests;

use locate::{line_col, locate_error, set_locations, syntax_error};
use read::read_contract;
use write::{sorted, write_http_v3, write_message_v3, write_v4_interaction};

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
///
/// [`Location`]: crate::model::Location
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
// Shared by reading and writing

/// Metadata keys that carry the specification version.
const VERSION_KEYS: [&str; 3] = [
    "pactSpecification",
    "pact-specification",
    "pactSpecificationVersion",
];
