//! Checking an example against its own matcher, so that a contract cannot contradict itself;
//! regular expressions are compiled once and cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;
use serde_json::Value;

use crate::model::{MatchingRule, RuleLogic};

/// Checks an example against its own matcher, so that a contract cannot contradict itself.
pub(super) fn check_all(
    rules: &[MatchingRule],
    logic: RuleLogic,
    value: &Value,
) -> Result<(), String> {
    let mut failures = Vec::new();
    for rule in rules {
        match check(rule, value) {
            Ok(()) if logic == RuleLogic::Or => return Ok(()),
            Ok(()) => {}
            Err(e) if logic == RuleLogic::And => return Err(e),
            Err(e) => failures.push(e),
        }
    }
    if logic == RuleLogic::Or && !failures.is_empty() {
        return Err(format!(
            "the example satisfies none of the rules: {}",
            failures.join("; ")
        ));
    }
    Ok(())
}

pub(super) fn check(rule: &MatchingRule, value: &Value) -> Result<(), String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let shown = short(value);
    match rule {
        MatchingRule::Regex(pattern) => {
            let Some(s) = text(value) else {
                return Err(format!(
                    "the example of a regex matcher must be a string, not {shown}"
                ));
            };
            let regex = compiled(pattern)?;
            if regex.is_match(&s) {
                Ok(())
            } else {
                Err(format!(
                    "the example {s:?} does not match the pattern {pattern:?}"
                ))
            }
        }
        MatchingRule::MinType(n) | MatchingRule::MinMaxType(n, _) if !value.is_array() => {
            let _ = n;
            Err(format!(
                "min and max apply to lists; the example is {shown}"
            ))
        }
        MatchingRule::MaxType(_) if !value.is_array() => Err(format!(
            "min and max apply to lists; the example is {shown}"
        )),
        MatchingRule::MinType(n) | MatchingRule::MinMaxType(n, _)
            if value.as_array().is_some_and(|a| a.len() < *n) =>
        {
            Err(format!(
                "the example has {} element(s), fewer than min {n}",
                value.as_array().map_or(0, Vec::len)
            ))
        }
        MatchingRule::MaxType(m) | MatchingRule::MinMaxType(_, m)
            if value.as_array().is_some_and(|a| a.len() > *m) =>
        {
            Err(format!(
                "the example has {} elements, more than max {m}",
                value.as_array().map_or(0, Vec::len)
            ))
        }
        MatchingRule::Number if !value.is_number() => Err(format!(
            "the example of a number matcher must be a number, not {shown}"
        )),
        MatchingRule::Integer if !(value.is_i64() || value.is_u64()) => Err(format!(
            "the example of an integer matcher must be an integer, not {shown}"
        )),
        MatchingRule::Decimal if !value.is_f64() => Err(format!(
            "the example of a decimal matcher must be a number with a fraction (19.99), not {shown}"
        )),
        MatchingRule::Boolean if !value.is_boolean() => Err(format!(
            "the example of a boolean matcher must be true or false, not {shown}"
        )),
        MatchingRule::Null if !value.is_null() => Err(format!(
            "the example of a null matcher must be null, not {shown}"
        )),
        MatchingRule::Include(part) => match text(value) {
            Some(s) if s.contains(part.as_str()) => Ok(()),
            _ => Err(format!("the example {shown} does not include {part:?}")),
        },
        MatchingRule::Semver => match value.as_str().map(semver::Version::parse) {
            Some(Ok(_)) => Ok(()),
            _ => Err(format!(
                "the example of a semver matcher must be a version such as 1.2.3, not {shown}"
            )),
        },
        MatchingRule::NotEmpty => {
            let empty = match value {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            if empty {
                Err(format!(
                    "the example of a notEmpty matcher is empty ({shown})"
                ))
            } else {
                Ok(())
            }
        }
        MatchingRule::Values if !value.is_object() => Err(format!(
            "the example of a values matcher must be a mapping, not {shown}"
        )),
        MatchingRule::EachKey(rules) => {
            let Some(object) = value.as_object() else {
                return Err(format!(
                    "the example of an eachKey matcher must be a mapping, not {shown}"
                ));
            };
            for key in object.keys() {
                check_all(rules, RuleLogic::And, &Value::String(key.clone()))
                    .map_err(|e| format!("key {key:?}: {e}"))?;
            }
            Ok(())
        }
        MatchingRule::EachValue(rules) => {
            let values: Vec<&Value> = match value {
                Value::Object(o) => o.values().collect(),
                Value::Array(a) => a.iter().collect(),
                _ => {
                    return Err(format!(
                        "the example of an eachValue matcher must be a mapping or a list, not {shown}"
                    ));
                }
            };
            for v in values {
                check_all(rules, RuleLogic::And, v)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// Compiles a pattern, once per process (contracts repeat the same few patterns).
/// Shared (`Arc`), so that every use finds the regex's search cache warm: a cloned `Regex`
/// starts with a cold one, which costs more than the search.
pub(crate) fn compiled(pattern: &str) -> Result<Arc<Regex>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(regex) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
        return Ok(Arc::clone(regex));
    }
    let regex = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let detail = detail.lines().last().unwrap_or(&detail).trim();
            let detail = detail.strip_prefix("error: ").unwrap_or(detail).to_string();
            format!("invalid regex {pattern:?}: {detail}")
        })?;
    let regex = Arc::new(regex);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= 4096 {
        cache.clear();
    }
    cache.insert(pattern.to_string(), Arc::clone(&regex));
    Ok(regex)
}
