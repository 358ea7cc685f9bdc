//! Reading matching rules in Pact's V2 layout (one rule per path) and V3/V4 layout (rule lists
//! by category) into the model.

use serde_json::Value;

use crate::matching::path;
use crate::model::{Category, MatchingRules, RuleList, RuleLogic};
use crate::pact::PactError;
use crate::pact::body::kind;

use super::read_rule::parse_rule;

/// Parses a V3/V4 `matchingRules` object. `at` is its JSON path in the document.
pub fn parse_v3(value: &Value, at: &str) -> Result<MatchingRules, PactError> {
    let object = value.as_object().ok_or_else(|| {
        PactError::invalid(
            at,
            format!("matching rules must be an object, found {}", kind(value)),
        )
    })?;
    let mut rules = MatchingRules::default();
    for (name, entries) in object {
        let cat_at = format!("{at}.{name}");
        let category = category(name, &cat_at)?;
        let entries_obj = entries.as_object().ok_or_else(|| {
            PactError::invalid(
                &cat_at,
                format!("a rule category must be an object, found {}", kind(entries)),
            )
        })?;
        if entries_obj.contains_key("matchers") {
            // `path`, `method`, `status` (and any category written without a key).
            insert(
                &mut rules,
                category,
                String::new(),
                parse_list(entries, &cat_at)?,
            );
            continue;
        }
        for (key, list) in entries_obj {
            let list_at = format!("{cat_at}['{key}']");
            if matches!(category, Category::Body) && !key.is_empty() {
                path::parse(key).map_err(|e| PactError::invalid(&list_at, e))?;
            }
            insert(
                &mut rules,
                category,
                key.clone(),
                parse_list(list, &list_at)?,
            );
        }
    }
    Ok(rules)
}

fn category(name: &str, at: &str) -> Result<Category, PactError> {
    if name == "contents" {
        return Ok(Category::Body);
    }
    Category::from_pact_name(name).ok_or_else(|| {
        PactError::invalid(
            at,
            format!(
                "unknown matching rule category \"{name}\" (valid: body, content, header, query, path, method, status, metadata)"
            ),
        )
    })
}

fn insert(rules: &mut MatchingRules, category: Category, key: String, list: RuleList) {
    if list.rules.is_empty() {
        return;
    }
    let entry = rules
        .categories
        .entry(category)
        .or_default()
        .entry(key)
        .or_default();
    if entry.rules.is_empty() {
        entry.logic = list.logic;
    }
    entry.rules.extend(list.rules);
}

/// `{"matchers": [...], "combine": "AND"|"OR"}`.
pub(super) fn parse_list(value: &Value, at: &str) -> Result<RuleList, PactError> {
    let object = value.as_object().ok_or_else(|| {
        PactError::invalid(
            at,
            format!(
                "a rule list must be an object {{\"matchers\": [...]}}, found {}",
                kind(value)
            ),
        )
    })?;
    let logic = match object.get("combine") {
        None | Some(Value::Null) => RuleLogic::And,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("and") => RuleLogic::And,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("or") => RuleLogic::Or,
        Some(other) => {
            return Err(PactError::invalid(
                format!("{at}.combine"),
                format!("expected \"AND\" or \"OR\", found {other}"),
            ));
        }
    };
    let matchers = match object.get("matchers") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(other) => {
            return Err(PactError::invalid(
                format!("{at}.matchers"),
                format!("expected an array of matchers, found {}", kind(other)),
            ));
        }
    };
    let rules = matchers
        .iter()
        .enumerate()
        .map(|(i, m)| parse_rule(m, &format!("{at}.matchers[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RuleList { rules, logic })
}

/// Parses a V2 `matchingRules` object (paths `$.body…`, `$.headers.NAME`, `$.query.NAME`,
/// `$.path`, `$.status`).
pub fn parse_v2(value: &Value, at: &str) -> Result<MatchingRules, PactError> {
    let object = value.as_object().ok_or_else(|| {
        PactError::invalid(
            at,
            format!("matching rules must be an object, found {}", kind(value)),
        )
    })?;
    let mut rules = MatchingRules::default();
    for (key, matcher) in object {
        let rule_at = format!("{at}['{key}']");
        let (category, sub) = v2_target(key).ok_or_else(|| {
            PactError::invalid(
                &rule_at,
                format!(
                    "\"{key}\" is not a V2 rule path (expected $.body…, $.headers.NAME, $.query.NAME, $.path, $.method or $.status)"
                ),
            )
        })?;
        if category == Category::Body {
            path::parse(&sub).map_err(|e| PactError::invalid(&rule_at, e))?;
        }
        let rule = parse_rule(matcher, &rule_at)?;
        rules.add(category, sub, rule);
    }
    Ok(rules)
}

/// The category and sub-path of a V2 rule key.
fn v2_target(key: &str) -> Option<(Category, String)> {
    let rest = key.strip_prefix("$.")?;
    if let Some(body) = rest.strip_prefix("body") {
        if body.is_empty() || body.starts_with('.') || body.starts_with('[') {
            return Some((Category::Body, format!("${body}")));
        }
        return None;
    }
    for (prefix, category) in [
        ("headers", Category::Header),
        ("header", Category::Header),
        ("query", Category::Query),
    ] {
        if let Some(name) = rest.strip_prefix(prefix) {
            let name = if let Some(n) = name.strip_prefix('.') {
                n.to_string()
            } else if let Some(n) = name.strip_prefix("['").and_then(|n| n.strip_suffix("']")) {
                n.to_string()
            } else {
                continue;
            };
            if name.is_empty() {
                return None;
            }
            return Some((category, name));
        }
    }
    match rest {
        "path" => Some((Category::Path, String::new())),
        "method" => Some((Category::Method, String::new())),
        "status" => Some((Category::Status, String::new())),
        _ => None,
    }
}
