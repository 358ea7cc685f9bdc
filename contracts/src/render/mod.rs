//! The canonical rendering of a contract: what snapshot tests and pull-request reviews read.
//!
//! It is parley's own format (YAML), written one way only: interactions sorted (HTTP by method,
//! path and description; events and request/reply messages by subject and description), keys in
//! a fixed order, body keys sorted, header names in lower case, provider states always as
//! `{state, params}`, and every matching rule shown inline as a matcher on the value it applies
//! to (`paymentId: {$match: regex, pattern: "^pay_[0-9a-z]+$", example: pay_7f3a}`), normalised
//! (`type` with `min` on a list of like elements is shown as `eachLike`). A payload schema is
//! shown by reference with a summary of what it requires. Two contracts that mean the same
//! render to the same text, however they were written (or whether they came from a Pact file).
//!
//! Rules that cannot stand inline (a Pact path that names no value of the example, say) are
//! listed under `rules:` beside the part they belong to, so that nothing is hidden.
//!
//! The parts: HTTP interactions (`http`), events and request/reply messages (`message`),
//! bodies, headers and other values with their matchers (`values`, `matchers`), the rules
//! and generators of a part indexed by path (`index`), and a small YAML writer (`yaml`).

mod http;
mod index;
mod matchers;
mod message;
mod values;
mod yaml;

#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::model::{
    Contract, HttpInteraction, Interaction, InteractionCommon, MessageContents, MessageInteraction,
    ProviderState, SpecVersion, SyncMessageInteraction,
};

use http::http_interaction;
use message::{event, sync_message};
use yaml::{Style, Y, emit_entry, plain, scalar_str};

/// The widest line the renderer aims for (flow style is used only where it fits).
const WIDTH: usize = 100;

/// Renders a contract canonically.
pub fn render(contract: &Contract) -> String {
    let mut top = Vec::new();
    top.push(("consumer".to_string(), scalar_str(&contract.consumer)));
    top.push(("provider".to_string(), scalar_str(&contract.provider)));
    if contract.spec != SpecVersion::V4 {
        top.push((
            "pact-specification".to_string(),
            scalar_str(contract.spec.pact_string()),
        ));
    }
    let mut http: Vec<&HttpInteraction> = Vec::new();
    let mut events: Vec<&MessageInteraction> = Vec::new();
    let mut sync: Vec<&SyncMessageInteraction> = Vec::new();
    for interaction in &contract.interactions {
        match interaction {
            Interaction::Http(i) => http.push(i),
            Interaction::Message(i) => events.push(i),
            Interaction::SyncMessage(i) => sync.push(i),
        }
    }
    if !http.is_empty() {
        let mut items: Vec<(String, Y)> = http
            .iter()
            .map(|i| {
                let key = format!(
                    "{}\u{0}{}\u{0}{}\u{0}{}",
                    i.request.method.to_ascii_uppercase(),
                    i.request.path,
                    i.common.description,
                    states_key(&i.common.provider_states)
                );
                (key, http_interaction(i))
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        top.push((
            "http".to_string(),
            Y::Seq(items.into_iter().map(|(_, y)| y).collect(), Style::Block),
        ));
    }
    if !events.is_empty() {
        let mut items: Vec<(String, Y)> = events
            .iter()
            .map(|i| {
                let key = format!(
                    "{}\u{0}{}\u{0}{}",
                    subject_of(i.subject.as_deref(), &i.message).unwrap_or_default(),
                    i.common.description,
                    states_key(&i.common.provider_states)
                );
                (key, event(i))
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        top.push((
            "events".to_string(),
            Y::Seq(items.into_iter().map(|(_, y)| y).collect(), Style::Block),
        ));
    }
    if !sync.is_empty() {
        let mut items: Vec<(String, Y)> = sync
            .iter()
            .map(|i| {
                let key = format!(
                    "{}\u{0}{}\u{0}{}",
                    subject_of(i.subject.as_deref(), &i.request).unwrap_or_default(),
                    i.common.description,
                    states_key(&i.common.provider_states)
                );
                (key, sync_message(i))
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        top.push((
            "sync-messages".to_string(),
            Y::Seq(items.into_iter().map(|(_, y)| y).collect(), Style::Block),
        ));
    }
    let mut out = String::new();
    for (key, value) in &top {
        emit_entry(&mut out, 0, key, value);
    }
    out
}

fn states_key(states: &[ProviderState]) -> String {
    states
        .iter()
        .map(|s| format!("{}{}", s.name, Value::Object(s.params.clone())))
        .collect::<Vec<_>>()
        .join("\u{1}")
}

fn subject_of(subject: Option<&str>, message: &MessageContents) -> Option<String> {
    subject.map(str::to_string).or_else(|| {
        message
            .metadata
            .get("subject")?
            .as_str()
            .map(str::to_string)
    })
}

fn common(common: &InteractionCommon, entries: &mut Vec<(String, Y)>) {
    entries.push(("description".into(), scalar_str(&common.description)));
    if common.pending {
        entries.push(("pending".into(), Y::Scalar("true".into())));
    }
    if !common.provider_states.is_empty() {
        entries.push(("given".into(), given(&common.provider_states)));
    }
    if let Some(comments) = &common.comments {
        entries.push(("comments".into(), plain(comments)));
    }
}

fn given(states: &[ProviderState]) -> Y {
    Y::Seq(
        states
            .iter()
            .map(|s| {
                let mut entries = vec![("state".to_string(), scalar_str(&s.name))];
                if !s.params.is_empty() {
                    entries.push((
                        "params".to_string(),
                        plain(&Value::Object(s.params.clone())),
                    ));
                }
                Y::Map(entries, Style::Data)
            })
            .collect(),
        Style::Data,
    )
}
