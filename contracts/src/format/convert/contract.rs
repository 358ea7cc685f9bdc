//! The contract's structure: its top-level keys, the lists of interactions (no duplicates), what
//! every interaction has, and provider states.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::format::tree::Node;
use crate::model::{
    Contract, Interaction, InteractionCommon, Location, ProviderState, SpecVersion,
};

use super::event::event;
use super::http::http_interaction;
use super::{At, Cx, Obj, R, non_empty, plain, text};

const TOP_KEYS: &[&str] = &["consumer", "provider", "http", "events"];
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

pub(super) fn common(obj: &Obj, cx: &Cx, what: &str) -> R<InteractionCommon> {
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
