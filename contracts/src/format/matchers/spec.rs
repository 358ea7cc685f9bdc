//! Reading a matcher as written (`$match` and its parameters) into matching rules, with the
//! status classes and codes a status matcher names.

use crate::format::convert::{At, Obj, R, did_you_mean, string};
use crate::format::tree::{Map, Node};
use crate::model::{MatchingRule, RuleLogic, StatusClass};

use super::check::compiled;
use super::{KINDS, Place, allowed_in, params};

/// A matcher as written.
pub(super) struct Spec<'a> {
    pub(super) kind: &'static str,
    /// The rules it stands for (empty for `eachLike` and `arrayContains`, built from the
    /// example).
    pub(super) rules: Vec<MatchingRule>,
    pub(super) logic: RuleLogic,
    pub(super) example: Option<&'a Node>,
    pub(super) from_state: Option<String>,
    pub(super) min: Option<usize>,
    pub(super) max: Option<usize>,
    pub(super) variants: Option<&'a [Node]>,
}

/// Reads a matcher mapping. `rule_only`: a rule inside `rules:` (no example, no fromState).
pub(super) fn spec<'a>(map: &'a Map, at: &At, place: Place, rule_only: bool) -> R<Spec<'a>> {
    let obj = Obj { map, at };
    let match_at = at.key("$match");
    let name = match obj.require("$match", "a matcher")? {
        // `$match: null` reads as YAML's null.
        Node::Null => "null",
        other => string(other, &match_at, "$match")?,
    };
    let Some(kind) = KINDS.iter().copied().find(|k| *k == name) else {
        let hint = did_you_mean(name, KINDS)
            .map(|s| format!("did you mean {s:?}? "))
            .unwrap_or_default();
        return Err(match_at.err(format!(
            "unknown matcher {name:?} ({hint}expected one of: {})",
            KINDS.join(", ")
        )));
    };
    if !allowed_in(kind, place) {
        let reason = match kind {
            "statusCode" => "it applies to a response's status only".to_string(),
            _ if place == Place::Status => {
                "a status takes a number or a statusCode matcher".to_string()
            }
            _ => format!(
                "a {} value is a single string (this matcher applies to bodies)",
                place.singular()
            ),
        };
        return Err(match_at.err(format!(
            "the {kind} matcher cannot be used for {}: {reason}",
            place.what()
        )));
    }
    if rule_only && matches!(kind, "eachLike" | "arrayContains" | "statusCode") {
        return Err(match_at.err(format!(
            "the {kind} matcher needs an example, so it cannot be a rule inside `rules`"
        )));
    }
    let mut allowed: Vec<&str> = vec!["$match"];
    allowed.extend(params(kind));
    if !rule_only {
        if kind != "arrayContains" {
            allowed.push("example");
        }
        allowed.push("fromState");
    } else if obj.get("example").is_some() {
        return Err(at
            .key("example")
            .key_err("a rule inside `rules` takes no example (the example is the matcher's own)"));
    }
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let what = format!("{article} {kind} matcher");
    obj.check(&what, &allowed)?;

    let count = |key: &str| -> R<Option<usize>> {
        match obj.get(key) {
            None => Ok(None),
            Some(Node::UInt(n)) => Ok(Some(*n as usize)),
            Some(Node::Int(n)) if *n >= 0 => Ok(Some(*n as usize)),
            Some(other) => Err(at.key(key).err(format!(
                "expected a whole number (0 or more) for {key}, found {}",
                other.kind()
            ))),
        }
    };
    let min = count("min")?;
    let max = count("max")?;
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(at
            .key("max")
            .err(format!("max ({max}) is smaller than min ({min})")));
    }
    if place != Place::Body && (min.is_some() || max.is_some()) {
        let key = if min.is_some() { "min" } else { "max" };
        return Err(at.key(key).key_err(format!(
            "{key} applies to lists, and a {} value is not one",
            place.singular()
        )));
    }

    let mut logic = RuleLogic::And;
    let rules = match kind {
        "equality" => vec![MatchingRule::Equality],
        "type" => vec![match (min, max) {
            (None, None) => MatchingRule::Type,
            (Some(n), None) => MatchingRule::MinType(n),
            (None, Some(m)) => MatchingRule::MaxType(m),
            (Some(n), Some(m)) => MatchingRule::MinMaxType(n, m),
        }],
        "regex" => {
            let pattern_at = at.key("pattern");
            let pattern = string(obj.require("pattern", &what)?, &pattern_at, "pattern")?;
            compiled(pattern).map_err(|e| pattern_at.err(e))?;
            vec![MatchingRule::Regex(pattern.to_string())]
        }
        "number" => vec![MatchingRule::Number],
        "integer" => vec![MatchingRule::Integer],
        "decimal" => vec![MatchingRule::Decimal],
        "boolean" => vec![MatchingRule::Boolean],
        "null" => vec![MatchingRule::Null],
        "include" => {
            let value_at = at.key("value");
            let value = string(obj.require("value", &what)?, &value_at, "value")?;
            vec![MatchingRule::Include(value.to_string())]
        }
        "contentType" => {
            let value_at = at.key("value");
            let value = string(obj.require("value", &what)?, &value_at, "value")?;
            vec![MatchingRule::ContentType(value.to_string())]
        }
        "date" | "time" | "timestamp" => {
            let format = match obj.get("format") {
                None => String::new(),
                Some(node) => string(node, &at.key("format"), "format")?.to_string(),
            };
            vec![match kind {
                "date" => MatchingRule::Date(format),
                "time" => MatchingRule::Time(format),
                _ => MatchingRule::Timestamp(format),
            }]
        }
        "semver" => vec![MatchingRule::Semver],
        "values" => vec![MatchingRule::Values],
        "notEmpty" => vec![MatchingRule::NotEmpty],
        "eachKey" | "eachValue" => {
            let inner = rule_list(obj.require("rules", &what)?, &at.key("rules"), kind)?;
            vec![if kind == "eachKey" {
                MatchingRule::EachKey(inner)
            } else {
                MatchingRule::EachValue(inner)
            }]
        }
        "and" | "or" => {
            if kind == "or" {
                logic = RuleLogic::Or;
            }
            let rules_at = at.key("rules");
            let inner = rule_list(obj.require("rules", &what)?, &rules_at, kind)?;
            if inner.len() < 2 {
                return Err(rules_at.err(format!(
                    "{kind} combines two rules or more; for one, write the rule itself"
                )));
            }
            inner
        }
        "statusCode" => {
            let class = match (obj.get("class"), obj.get("codes")) {
                (Some(_), Some(_)) => {
                    return Err(at
                        .key("codes")
                        .key_err("give either class or codes, not both"));
                }
                (None, None) => {
                    return Err(at.key_err(format!(
                        "{what} needs class (success, clientError, …) or codes ([200, 201])"
                    )));
                }
                (Some(class), None) => status_class(class, &at.key("class"))?,
                (None, Some(codes)) => status_codes(codes, &at.key("codes"))?,
            };
            vec![MatchingRule::StatusCode(class)]
        }
        _ => Vec::new(), // eachLike, arrayContains: built by the caller
    };
    let from_state = match obj.get("fromState") {
        None => None,
        Some(node) => {
            let from_at = at.key("fromState");
            let expression = string(node, &from_at, "fromState")?;
            if expression.trim().is_empty() {
                return Err(from_at.err("fromState must not be empty (e.g. \"${orderId}\")"));
            }
            Some(expression.to_string())
        }
    };
    let variants = match (kind, obj.get("variants")) {
        ("arrayContains", Some(Node::Seq(items))) if !items.is_empty() => Some(items.as_slice()),
        ("arrayContains", Some(other)) => {
            return Err(at.key("variants").err(format!(
                "expected a non-empty list of the elements to look for, found {}",
                if let Node::Seq(_) = other {
                    "an empty list"
                } else {
                    other.kind()
                }
            )));
        }
        ("arrayContains", None) => {
            return Err(at.key_err(format!("missing key \"variants\" in {what}")));
        }
        _ => None,
    };
    let example = obj.get("example").or(match kind {
        // The value to include is example enough.
        "include" => obj.get("value"),
        _ => None,
    });
    let needs_example = !rule_only && !matches!(kind, "null" | "statusCode" | "arrayContains");
    if needs_example && example.is_none() {
        return Err(at.key_err(format!(
            "missing key \"example\" in {what} (the value a mock serves and a request sends)"
        )));
    }
    Ok(Spec {
        kind,
        rules,
        logic,
        example,
        from_state,
        min,
        max,
        variants,
    })
}

/// `rules: [ {$match: regex, pattern: …}, … ]` of eachKey, eachValue, and, or.
fn rule_list(node: &Node, at: &At, kind: &str) -> R<Vec<MatchingRule>> {
    let Node::Seq(items) = node else {
        return Err(at.err(format!(
            "expected a list of rules for {kind} (e.g. [{{$match: regex, pattern: \"^[a-z]+$\"}}]), found {}",
            node.kind()
        )));
    };
    if items.is_empty() {
        return Err(at.err(format!("{kind} needs at least one rule")));
    }
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_at = at.index(i);
        let Node::Map(map) = item else {
            return Err(item_at.err(format!(
                "expected a rule (a mapping with $match), found {}",
                item.kind()
            )));
        };
        let spec = spec(map, &item_at, Place::Body, true)?;
        if spec.logic == RuleLogic::Or || spec.kind == "and" {
            return Err(item_at
                .key("$match")
                .err("and/or cannot be nested inside rules"));
        }
        rules.extend(spec.rules);
    }
    Ok(rules)
}

fn status_class(node: &Node, at: &At) -> R<StatusClass> {
    const CLASSES: &[&str] = &[
        "information",
        "success",
        "redirect",
        "clientError",
        "serverError",
        "nonError",
        "error",
    ];
    let name = string(node, at, "class")?;
    Ok(match name {
        "information" => StatusClass::Information,
        "success" => StatusClass::Success,
        "redirect" => StatusClass::Redirect,
        "clientError" => StatusClass::ClientError,
        "serverError" => StatusClass::ServerError,
        "nonError" => StatusClass::NonError,
        "error" => StatusClass::Error,
        other => {
            let hint = did_you_mean(other, CLASSES)
                .map(|s| format!("did you mean {s:?}? "))
                .unwrap_or_default();
            return Err(at.err(format!(
                "unknown status class {other:?} ({hint}expected one of: {})",
                CLASSES.join(", ")
            )));
        }
    })
}

fn status_codes(node: &Node, at: &At) -> R<StatusClass> {
    let Node::Seq(items) = node else {
        return Err(at.err(format!(
            "expected a list of status codes for codes, found {}",
            node.kind()
        )));
    };
    if items.is_empty() {
        return Err(at.err("codes needs at least one status code"));
    }
    let mut codes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Node::UInt(n @ 100..=599) => codes.push(*n as u16),
            Node::Int(n @ 100..=599) => codes.push(*n as u16),
            other => {
                return Err(at.index(i).err(format!(
                    "expected an HTTP status (100–599), found {}",
                    match other {
                        Node::UInt(n) => n.to_string(),
                        Node::Int(n) => n.to_string(),
                        other => other.kind().to_string(),
                    }
                )));
            }
        }
    }
    Ok(StatusClass::Codes(codes))
}

/// Whether `code` is in `class`.
pub(crate) fn in_class(code: u16, class: &StatusClass) -> bool {
    match class {
        StatusClass::Information => (100..200).contains(&code),
        StatusClass::Success => (200..300).contains(&code),
        StatusClass::Redirect => (300..400).contains(&code),
        StatusClass::ClientError => (400..500).contains(&code),
        StatusClass::ServerError => (500..600).contains(&code),
        StatusClass::NonError => code < 400,
        StatusClass::Error => code >= 400,
        StatusClass::Codes(codes) => codes.contains(&code),
    }
}

/// The status a statusCode matcher stands for when no example is given.
pub(super) fn default_status(class: &StatusClass) -> u16 {
    match class {
        StatusClass::Information => 100,
        StatusClass::Success | StatusClass::NonError => 200,
        StatusClass::Redirect => 300,
        StatusClass::ClientError | StatusClass::Error => 400,
        StatusClass::ServerError => 500,
        StatusClass::Codes(codes) => codes.first().copied().unwrap_or(200),
    }
}

pub(crate) fn class_name(class: &StatusClass) -> String {
    match class {
        StatusClass::Information => "information".into(),
        StatusClass::Success => "success".into(),
        StatusClass::Redirect => "redirect".into(),
        StatusClass::ClientError => "clientError".into(),
        StatusClass::ServerError => "serverError".into(),
        StatusClass::NonError => "nonError".into(),
        StatusClass::Error => "error".into(),
        StatusClass::Codes(codes) => format!(
            "codes {}",
            codes
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
