//! Matching rules in Pact's layouts: V2 (`{"$.body.a": {"match": "type"}}`, one rule per path)
//! and V3/V4 (`{"body": {"$.a": {"matchers": [...], "combine": "AND"}}}`), to and from the
//! model.
//!
//! Reading is strict where a mistake would silently change a verdict: unknown matcher types,
//! invalid regular expressions, invalid date patterns, invalid body paths and unknown
//! categories are errors naming where they are. Writing produces what Pact's reference
//! implementation writes.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::matching::datetime::{self, JavaPattern};
use crate::matching::{compile_regex, path};
use crate::model::{
    ArrayContainsVariant, Category, MatchingRule, MatchingRules, RuleList, RuleLogic, StatusClass,
};
use crate::pact::PactError;
use crate::pact::body::kind;

/// The matcher type names `parse_rule` accepts.
pub const MATCHER_TYPES: &[&str] = &[
    "equality",
    "regex",
    "type",
    "min",
    "max",
    "number",
    "integer",
    "decimal",
    "real",
    "boolean",
    "null",
    "include",
    "date",
    "time",
    "timestamp",
    "datetime",
    "contentType",
    "content-type",
    "values",
    "notEmpty",
    "not-empty",
    "semver",
    "statusCode",
    "status-code",
    "arrayContains",
    "array-contains",
    "eachKey",
    "each-key",
    "eachValue",
    "each-value",
];

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
fn parse_list(value: &Value, at: &str) -> Result<RuleList, PactError> {
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

fn num(value: Option<&Value>, at: &str, what: &str) -> Result<Option<usize>, PactError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                PactError::invalid(
                    format!("{at}.{what}"),
                    format!("expected a non-negative whole number, found {n}"),
                )
            }),
        Some(Value::String(s)) => s.trim().parse::<usize>().map(Some).map_err(|_| {
            PactError::invalid(
                format!("{at}.{what}"),
                format!("expected a non-negative whole number, found \"{s}\""),
            )
        }),
        Some(other) => Err(PactError::invalid(
            format!("{at}.{what}"),
            format!(
                "expected a non-negative whole number, found {}",
                kind(other)
            ),
        )),
    }
}

fn string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn size_rule(min: Option<usize>, max: Option<usize>) -> MatchingRule {
    match (min, max) {
        (Some(min), Some(max)) => MatchingRule::MinMaxType(min, max),
        (Some(min), None) => MatchingRule::MinType(min),
        (None, Some(max)) => MatchingRule::MaxType(max),
        (None, None) => MatchingRule::Type,
    }
}

fn checked_regex(pattern: String, at: &str) -> Result<MatchingRule, PactError> {
    compile_regex(&pattern).map_err(|e| PactError::invalid(format!("{at}.regex"), e))?;
    Ok(MatchingRule::Regex(pattern))
}

fn checked_datetime(format: String, kind: datetime::Kind, at: &str) -> Result<String, PactError> {
    JavaPattern::parse(datetime::or_default(&format, kind))
        .map_err(|e| PactError::invalid(format!("{at}.format"), e))?;
    Ok(format)
}

/// Parses one matcher object (`{"match": "regex", "regex": "\\d+"}`, `{"min": 1}`, …).
pub fn parse_rule(value: &Value, at: &str) -> Result<MatchingRule, PactError> {
    let object = value.as_object().ok_or_else(|| {
        PactError::invalid(
            at,
            format!("a matcher must be an object, found {}", kind(value)),
        )
    })?;
    let min = num(object.get("min"), at, "min")?;
    let max = num(object.get("max"), at, "max")?;
    let Some(kind_value) = object
        .get("match")
        .or_else(|| object.get("pact:matcher:type"))
    else {
        // V2 style: the type is implied by the keys.
        if let Some(r) = string(object.get("regex")) {
            return checked_regex(r, at);
        }
        if min.is_some() || max.is_some() {
            return Ok(size_rule(min, max));
        }
        for (key, k) in [
            ("timestamp", datetime::Kind::Timestamp),
            ("time", datetime::Kind::Time),
            ("date", datetime::Kind::Date),
        ] {
            if let Some(f) = string(object.get(key)) {
                let f = checked_datetime(f, k, at)?;
                return Ok(match k {
                    datetime::Kind::Timestamp => MatchingRule::Timestamp(f),
                    datetime::Kind::Time => MatchingRule::Time(f),
                    datetime::Kind::Date => MatchingRule::Date(f),
                });
            }
        }
        return Err(PactError::invalid(
            at,
            "a matcher needs \"match\" (its type) unless it is a V2 regex, min, max, date, time or timestamp matcher",
        ));
    };
    let Value::String(name) = kind_value else {
        return Err(PactError::invalid(
            format!("{at}.match"),
            format!(
                "the matcher type must be a string, found {}",
                kind(kind_value)
            ),
        ));
    };
    let required = |key: &str| {
        string(object.get(key))
            .ok_or_else(|| PactError::invalid(at, format!("a \"{name}\" matcher needs \"{key}\"")))
    };
    Ok(match name.as_str() {
        "equality" => MatchingRule::Equality,
        "regex" => checked_regex(required("regex")?, at)?,
        "type" => size_rule(min, max),
        "min" => match min {
            Some(min) => size_rule(Some(min), max),
            None => return Err(PactError::invalid(at, "a \"min\" matcher needs \"min\"")),
        },
        "max" => match max {
            Some(max) => size_rule(min, Some(max)),
            None => return Err(PactError::invalid(at, "a \"max\" matcher needs \"max\"")),
        },
        "number" => MatchingRule::Number,
        "integer" => MatchingRule::Integer,
        "decimal" | "real" => MatchingRule::Decimal,
        "boolean" => MatchingRule::Boolean,
        "null" => MatchingRule::Null,
        "include" => MatchingRule::Include(required("value")?),
        "date" | "time" | "timestamp" | "datetime" => {
            let k = match name.as_str() {
                "date" => datetime::Kind::Date,
                "time" => datetime::Kind::Time,
                _ => datetime::Kind::Timestamp,
            };
            let format = string(object.get("format"))
                .or_else(|| string(object.get(name.as_str())))
                .or_else(|| {
                    (name == "datetime")
                        .then(|| string(object.get("timestamp")))
                        .flatten()
                })
                .unwrap_or_default();
            let format = checked_datetime(format, k, at)?;
            match k {
                datetime::Kind::Date => MatchingRule::Date(format),
                datetime::Kind::Time => MatchingRule::Time(format),
                datetime::Kind::Timestamp => MatchingRule::Timestamp(format),
            }
        }
        "contentType" | "content-type" => MatchingRule::ContentType(required("value")?),
        "values" => MatchingRule::Values,
        "notEmpty" | "not-empty" => MatchingRule::NotEmpty,
        "semver" => MatchingRule::Semver,
        "statusCode" | "status-code" => {
            MatchingRule::StatusCode(parse_status(object.get("status"), at)?)
        }
        "arrayContains" | "array-contains" => {
            let variants = match object.get("variants") {
                Some(Value::Array(v)) => v,
                Some(other) => {
                    return Err(PactError::invalid(
                        format!("{at}.variants"),
                        format!("expected an array of variants, found {}", kind(other)),
                    ));
                }
                None => {
                    return Err(PactError::invalid(
                        at,
                        "an \"arrayContains\" matcher needs \"variants\"",
                    ));
                }
            };
            let variants = variants
                .iter()
                .enumerate()
                .map(|(i, v)| parse_variant(v, &format!("{at}.variants[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            MatchingRule::ArrayContains(variants)
        }
        "eachKey" | "each-key" | "eachValue" | "each-value" => {
            let rules = match object.get("rules") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, r)| parse_rule(r, &format!("{at}.rules[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?,
                Some(other) => {
                    return Err(PactError::invalid(
                        format!("{at}.rules"),
                        format!("expected an array of matchers, found {}", kind(other)),
                    ));
                }
            };
            if name.starts_with("eachKey") || name == "each-key" {
                MatchingRule::EachKey(rules)
            } else {
                MatchingRule::EachValue(rules)
            }
        }
        other => {
            return Err(PactError::invalid(
                format!("{at}.match"),
                format!(
                    "unknown matcher type \"{other}\" (valid: {})",
                    MATCHER_TYPES.join(", ")
                ),
            ));
        }
    })
}

fn parse_status(value: Option<&Value>, at: &str) -> Result<StatusClass, PactError> {
    let at = format!("{at}.status");
    Ok(match value {
        None | Some(Value::Null) => StatusClass::Success,
        Some(Value::String(s)) => match s.as_str() {
            "info" | "information" | "informational" => StatusClass::Information,
            "success" => StatusClass::Success,
            "redirect" => StatusClass::Redirect,
            "clientError" => StatusClass::ClientError,
            "serverError" => StatusClass::ServerError,
            "nonError" => StatusClass::NonError,
            "error" => StatusClass::Error,
            other => {
                return Err(PactError::invalid(
                    at,
                    format!(
                        "unknown status class \"{other}\" (valid: info, success, redirect, clientError, serverError, nonError, error, or an array of codes)"
                    ),
                ));
            }
        },
        Some(Value::Array(codes)) => StatusClass::Codes(
            codes
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let code = match c {
                        Value::Number(n) => n.as_u64(),
                        Value::String(s) => s.trim().parse::<u64>().ok(),
                        _ => None,
                    };
                    code.and_then(|c| u16::try_from(c).ok())
                        .filter(|c| (100..=999).contains(c))
                        .ok_or_else(|| {
                            PactError::invalid(
                                format!("{at}[{i}]"),
                                format!("expected an HTTP status code, found {c}"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(PactError::invalid(
                at,
                format!(
                    "expected a status class or an array of codes, found {}",
                    kind(other)
                ),
            ));
        }
    })
}

fn parse_variant(value: &Value, at: &str) -> Result<ArrayContainsVariant, PactError> {
    let object = value.as_object().ok_or_else(|| {
        PactError::invalid(
            at,
            format!("a variant must be an object, found {}", kind(value)),
        )
    })?;
    let index = num(object.get("index"), at, "index")?.unwrap_or(0);
    let mut rules = BTreeMap::new();
    match object.get("rules") {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            let rules_at = format!("{at}.rules");
            if entries.contains_key("matchers") {
                rules.insert(
                    String::new(),
                    parse_list(&Value::Object(entries.clone()), &rules_at)?,
                );
            } else {
                for (key, list) in entries {
                    let list_at = format!("{rules_at}['{key}']");
                    if !key.is_empty() {
                        path::parse(key).map_err(|e| PactError::invalid(&list_at, e))?;
                    }
                    let list = parse_list(list, &list_at)?;
                    if !list.rules.is_empty() {
                        rules.insert(key.clone(), list);
                    }
                }
            }
        }
        Some(other) => {
            return Err(PactError::invalid(
                format!("{at}.rules"),
                format!("expected an object of rules by path, found {}", kind(other)),
            ));
        }
    }
    let generators = match object.get("generators") {
        Some(Value::Object(g)) => g.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => BTreeMap::new(),
    };
    Ok(ArrayContainsVariant {
        index,
        rules,
        generators,
    })
}

fn list_json(list: &RuleList) -> Value {
    json!({
        "combine": match list.logic { RuleLogic::And => "AND", RuleLogic::Or => "OR" },
        "matchers": list.rules.iter().map(write_rule).collect::<Vec<_>>(),
    })
}

/// Writes rules in the V3/V4 layout.
pub fn write_v3(rules: &MatchingRules) -> Value {
    let mut out = Map::new();
    for (category, entries) in &rules.categories {
        if entries.is_empty() {
            continue;
        }
        let value = match category {
            Category::Path | Category::Method | Category::Status
                if entries.len() == 1 && entries.contains_key("") =>
            {
                entries.get("").map(list_json).unwrap_or(Value::Null)
            }
            _ => Value::Object(
                entries
                    .iter()
                    .map(|(k, l)| (k.clone(), list_json(l)))
                    .collect(),
            ),
        };
        out.insert(category.pact_name().to_string(), value);
    }
    Value::Object(out)
}

/// Writes rules in the V2 layout (rules V2 cannot express are written as V3 matchers would be,
/// which V2 readers ignore).
pub fn write_v2(rules: &MatchingRules) -> Value {
    let mut out = Map::new();
    for (category, entries) in &rules.categories {
        for (key, list) in entries {
            let Some(first) = list.rules.first() else {
                continue;
            };
            let path = match category {
                Category::Body => {
                    if key.is_empty() || key == "$" {
                        "$.body".to_string()
                    } else if let Some(rest) = key.strip_prefix('$') {
                        format!("$.body{rest}")
                    } else {
                        format!("$.body.{key}")
                    }
                }
                Category::Header => named_v2("$.headers", key),
                Category::Query => named_v2("$.query", key),
                Category::Metadata => named_v2("$.metadata", key),
                Category::Path => "$.path".to_string(),
                Category::Method => "$.method".to_string(),
                Category::Status => "$.status".to_string(),
            };
            out.insert(path, write_rule(first));
        }
    }
    Value::Object(out)
}

fn named_v2(prefix: &str, name: &str) -> String {
    let mut out = prefix.to_string();
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'));
    if plain {
        out.push('.');
        out.push_str(name);
    } else {
        out.push_str(&format!("['{name}']"));
    }
    out
}

fn status_json(class: &StatusClass) -> Value {
    match class {
        StatusClass::Information => json!("info"),
        StatusClass::Success => json!("success"),
        StatusClass::Redirect => json!("redirect"),
        StatusClass::ClientError => json!("clientError"),
        StatusClass::ServerError => json!("serverError"),
        StatusClass::NonError => json!("nonError"),
        StatusClass::Error => json!("error"),
        StatusClass::Codes(codes) => json!(codes),
    }
}

/// Writes one matcher object.
pub fn write_rule(rule: &MatchingRule) -> Value {
    match rule {
        MatchingRule::Equality => json!({"match": "equality"}),
        MatchingRule::Regex(r) => json!({"match": "regex", "regex": r}),
        MatchingRule::Type => json!({"match": "type"}),
        MatchingRule::MinType(min) => json!({"match": "type", "min": min}),
        MatchingRule::MaxType(max) => json!({"match": "type", "max": max}),
        MatchingRule::MinMaxType(min, max) => json!({"match": "type", "min": min, "max": max}),
        MatchingRule::Number => json!({"match": "number"}),
        MatchingRule::Integer => json!({"match": "integer"}),
        MatchingRule::Decimal => json!({"match": "decimal"}),
        MatchingRule::Boolean => json!({"match": "boolean"}),
        MatchingRule::Null => json!({"match": "null"}),
        MatchingRule::Include(s) => json!({"match": "include", "value": s}),
        MatchingRule::Date(f) => json!({"match": "date", "format": f}),
        MatchingRule::Time(f) => json!({"match": "time", "format": f}),
        MatchingRule::Timestamp(f) => json!({"match": "datetime", "format": f}),
        MatchingRule::ContentType(t) => json!({"match": "contentType", "value": t}),
        MatchingRule::Values => json!({"match": "values"}),
        MatchingRule::NotEmpty => json!({"match": "notEmpty"}),
        MatchingRule::Semver => json!({"match": "semver"}),
        MatchingRule::StatusCode(class) => {
            json!({"match": "statusCode", "status": status_json(class)})
        }
        MatchingRule::ArrayContains(variants) => json!({
            "match": "arrayContains",
            "variants": variants.iter().map(|v| {
                let mut o = Map::new();
                o.insert("index".into(), json!(v.index));
                o.insert(
                    "rules".into(),
                    Value::Object(v.rules.iter().map(|(k, l)| (k.clone(), list_json(l))).collect()),
                );
                if !v.generators.is_empty() {
                    o.insert(
                        "generators".into(),
                        Value::Object(v.generators.iter().map(|(k, g)| (k.clone(), g.clone())).collect()),
                    );
                }
                Value::Object(o)
            }).collect::<Vec<_>>(),
        }),
        MatchingRule::EachKey(rules) => {
            json!({"match": "eachKey", "rules": rules.iter().map(write_rule).collect::<Vec<_>>()})
        }
        MatchingRule::EachValue(rules) => {
            json!({"match": "eachValue", "rules": rules.iter().map(write_rule).collect::<Vec<_>>()})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: Value) -> MatchingRule {
        parse_rule(&v, "m").expect("parses")
    }

    fn err(v: Value) -> String {
        parse_rule(&v, "interactions[0].matchingRules.body['$.a'].matchers[0]")
            .expect_err("rejected")
            .to_string()
    }

    #[test]
    fn parses_every_matcher() {
        use MatchingRule as R;
        let cases = vec![
            (json!({"match": "equality"}), R::Equality),
            (
                json!({"match": "regex", "regex": "\\d+"}),
                R::Regex("\\d+".into()),
            ),
            (json!({"match": "type"}), R::Type),
            (json!({"match": "type", "min": 1}), R::MinType(1)),
            (json!({"match": "type", "max": "3"}), R::MaxType(3)),
            (
                json!({"match": "type", "min": 1, "max": 3}),
                R::MinMaxType(1, 3),
            ),
            (json!({"min": 2}), R::MinType(2)),
            (json!({"max": 2}), R::MaxType(2)),
            (json!({"match": "min", "min": 2}), R::MinType(2)),
            (json!({"match": "max", "max": 5}), R::MaxType(5)),
            (json!({"match": "number"}), R::Number),
            (json!({"match": "integer"}), R::Integer),
            (json!({"match": "decimal"}), R::Decimal),
            (json!({"match": "real"}), R::Decimal),
            (json!({"match": "boolean"}), R::Boolean),
            (json!({"match": "null"}), R::Null),
            (
                json!({"match": "include", "value": "x"}),
                R::Include("x".into()),
            ),
            (
                json!({"match": "date", "format": "yyyy-MM-dd"}),
                R::Date("yyyy-MM-dd".into()),
            ),
            (
                json!({"match": "date", "date": "dd/MM/yyyy"}),
                R::Date("dd/MM/yyyy".into()),
            ),
            (
                json!({"match": "time", "time": "HH:mm"}),
                R::Time("HH:mm".into()),
            ),
            (
                json!({"match": "timestamp", "timestamp": "yyyy"}),
                R::Timestamp("yyyy".into()),
            ),
            (
                json!({"match": "datetime", "format": "yyyy"}),
                R::Timestamp("yyyy".into()),
            ),
            (json!({"match": "date"}), R::Date(String::new())),
            (
                json!({"timestamp": "yyyy-MM-dd HH:mm"}),
                R::Timestamp("yyyy-MM-dd HH:mm".into()),
            ),
            (json!({"regex": "a+"}), R::Regex("a+".into())),
            (
                json!({"match": "contentType", "value": "image/png"}),
                R::ContentType("image/png".into()),
            ),
            (json!({"match": "values"}), R::Values),
            (json!({"match": "notEmpty"}), R::NotEmpty),
            (json!({"match": "semver"}), R::Semver),
            (
                json!({"match": "statusCode", "status": "clientError"}),
                R::StatusCode(StatusClass::ClientError),
            ),
            (
                json!({"match": "statusCode", "status": "info"}),
                R::StatusCode(StatusClass::Information),
            ),
            (
                json!({"match": "statusCode", "status": [200, "201"]}),
                R::StatusCode(StatusClass::Codes(vec![200, 201])),
            ),
            (
                json!({"match": "statusCode"}),
                R::StatusCode(StatusClass::Success),
            ),
            (
                json!({"match": "eachKey", "rules": [{"match": "regex", "regex": "[a-z]+"}], "value": "x"}),
                R::EachKey(vec![R::Regex("[a-z]+".into())]),
            ),
            (
                json!({"match": "eachValue", "rules": [{"match": "type"}]}),
                R::EachValue(vec![R::Type]),
            ),
        ];
        for (json, want) in cases {
            assert_eq!(rule(json.clone()), want, "{json}");
        }
    }

    #[test]
    fn parses_array_contains_variants() {
        let r = rule(json!({
            "match": "arrayContains",
            "variants": [
                {"index": 0, "rules": {"$.id": {"combine": "AND", "matchers": [{"match": "integer"}]}},
                 "generators": {"$.id": {"type": "RandomInt"}}},
                {"index": 1}
            ]
        }));
        let MatchingRule::ArrayContains(variants) = r else {
            panic!("not arrayContains")
        };
        assert_eq!(variants.len(), 2);
        assert_eq!(variants[0].rules["$.id"].rules, vec![MatchingRule::Integer]);
        assert!(variants[0].generators.contains_key("$.id"));
        assert_eq!(variants[1].index, 1);
        assert!(variants[1].rules.is_empty());
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = err(json!({"match": "bogus"}));
        assert!(
            e.contains("interactions[0].matchingRules.body['$.a'].matchers[0].match"),
            "{e}"
        );
        assert!(e.contains("unknown matcher type \"bogus\""), "{e}");
        assert!(e.contains("arrayContains") && e.contains("semver"), "{e}");
        let e = err(json!({"match": "regex", "regex": "(unclosed"}));
        assert!(
            e.contains(".regex") && e.contains("not a valid regular expression"),
            "{e}"
        );
        assert!(err(json!({"match": "regex"})).contains("needs \"regex\""));
        assert!(err(json!({"match": "include"})).contains("needs \"value\""));
        assert!(err(json!({"match": "type", "min": -1})).contains("min"));
        assert!(
            err(json!({"match": "date", "format": "yyyy-bb"})).contains("unknown pattern letter")
        );
        assert!(err(json!({"match": "statusCode", "status": "teapot"})).contains("teapot"));
        assert!(err(json!({"stuff": 1})).contains("needs \"match\""));
        assert!(err(json!("type")).contains("must be an object"));
        assert!(
            err(json!({"match": "eachKey", "rules": [{"match": "nope"}]})).contains("rules[0]")
        );
    }

    #[test]
    fn parses_v3_layout() {
        let rules = parse_v3(
            &json!({
                "path": {"matchers": [{"match": "regex", "regex": "\\w+"}]},
                "query": {"Q1": {"matchers": [{"match": "regex", "regex": "\\d+"}]}},
                "header": {"HEADERY": {"combine": "OR", "matchers": [
                    {"match": "include", "value": "ValueA"}, {"match": "include", "value": "ValueB"}]}},
                "body": {
                    "$.animals": {"matchers": [{"min": 1, "match": "type"}]},
                    "$.animals[*].children": {"matchers": [{"min": 1}]}
                },
                "status": {"matchers": [{"match": "statusCode", "status": "success"}]},
                "metadata": {"topic": {"matchers": [{"match": "type"}]}}
            }),
            "request.matchingRules",
        )
        .expect("parses");
        let path = &rules.categories[&Category::Path][""];
        assert_eq!(path.rules, vec![MatchingRule::Regex("\\w+".into())]);
        let header = &rules.categories[&Category::Header]["HEADERY"];
        assert_eq!(header.logic, RuleLogic::Or);
        assert_eq!(header.rules.len(), 2);
        assert_eq!(
            rules.categories[&Category::Body]["$.animals"].rules,
            vec![MatchingRule::MinType(1)]
        );
        assert_eq!(
            rules.categories[&Category::Body]["$.animals[*].children"].rules,
            vec![MatchingRule::MinType(1)]
        );
        assert!(rules.categories[&Category::Status].contains_key(""));
        assert!(rules.categories[&Category::Metadata].contains_key("topic"));
        let content = parse_v3(
            &json!({"content": {"$.a": {"matchers": [{"match": "type"}]}}}),
            "m",
        )
        .expect("V4 message content");
        assert!(content.categories[&Category::Body].contains_key("$.a"));
    }

    #[test]
    fn v3_errors() {
        let e = parse_v3(&json!({"bogus": {}}), "x.matchingRules")
            .expect_err("category")
            .to_string();
        assert!(
            e.contains("x.matchingRules.bogus") && e.contains("unknown matching rule category"),
            "{e}"
        );
        let e = parse_v3(&json!({"body": {"$a": {"matchers": []}}}), "x")
            .expect_err("path")
            .to_string();
        assert!(e.contains("x.body['$a']"), "{e}");
        let e = parse_v3(
            &json!({"body": {"$.a": {"combine": "XOR", "matchers": []}}}),
            "x",
        )
        .expect_err("combine")
        .to_string();
        assert!(e.contains("combine"), "{e}");
    }

    #[test]
    fn parses_v2_layout() {
        let rules = parse_v2(
            &json!({
                "$.path": {"match": "regex", "regex": "\\w+"},
                "$.query.Q1": {"match": "regex", "regex": "\\d+"},
                "$.headers.Accept": {"match": "regex", "regex": "\\w+"},
                "$.header.HEADERY": {"match": "include", "value": "ValueA"},
                "$.body.animals": {"min": 1, "match": "type"},
                "$.body.animals[*].*": {"match": "type"},
                "$.body['two']['@str']": {"match": "regex", "regex": "\\w+"},
                "$.body[0].id": {"match": "type"},
                "$.body": {"match": "type"}
            }),
            "request.matchingRules",
        )
        .expect("parses");
        assert!(rules.categories[&Category::Path].contains_key(""));
        assert!(rules.categories[&Category::Query].contains_key("Q1"));
        assert!(rules.categories[&Category::Header].contains_key("Accept"));
        assert!(rules.categories[&Category::Header].contains_key("HEADERY"));
        let body = &rules.categories[&Category::Body];
        for key in [
            "$.animals",
            "$.animals[*].*",
            "$['two']['@str']",
            "$[0].id",
            "$",
        ] {
            assert!(body.contains_key(key), "{key} in {body:?}");
        }
        let e = parse_v2(&json!({"$.cookies.x": {"match": "type"}}), "m")
            .expect_err("unknown")
            .to_string();
        assert!(e.contains("$.cookies.x"), "{e}");
    }

    #[test]
    fn writes_what_pact_writes() {
        assert_eq!(
            write_rule(&MatchingRule::MinType(1)),
            json!({"match": "type", "min": 1})
        );
        assert_eq!(
            write_rule(&MatchingRule::Timestamp("yyyy".into())),
            json!({"match": "datetime", "format": "yyyy"})
        );
        assert_eq!(
            write_rule(&MatchingRule::StatusCode(StatusClass::Information)),
            json!({"match": "statusCode", "status": "info"})
        );
        let mut rules = MatchingRules::default();
        rules.add(Category::Body, "$.a.b", MatchingRule::Type);
        rules.add(Category::Path, "", MatchingRule::Regex("/path/\\d+".into()));
        rules.add(Category::Query, "a", MatchingRule::Regex("\\w+".into()));
        rules.add(Category::Header, "item1", MatchingRule::Regex("5".into()));
        assert_eq!(
            write_v3(&rules),
            json!({
                "body": {"$.a.b": {"combine": "AND", "matchers": [{"match": "type"}]}},
                "header": {"item1": {"combine": "AND", "matchers": [{"match": "regex", "regex": "5"}]}},
                "path": {"combine": "AND", "matchers": [{"match": "regex", "regex": "/path/\\d+"}]},
                "query": {"a": {"combine": "AND", "matchers": [{"match": "regex", "regex": "\\w+"}]}}
            })
        );
        assert_eq!(
            write_v2(&rules),
            json!({
                "$.body.a.b": {"match": "type"},
                "$.headers.item1": {"match": "regex", "regex": "5"},
                "$.path": {"match": "regex", "regex": "/path/\\d+"},
                "$.query.a": {"match": "regex", "regex": "\\w+"}
            })
        );
    }

    #[test]
    fn round_trips() {
        let mut rules = MatchingRules::default();
        let all = vec![
            MatchingRule::Equality,
            MatchingRule::Regex("^\\d+$".into()),
            MatchingRule::Type,
            MatchingRule::MinType(1),
            MatchingRule::MaxType(2),
            MatchingRule::MinMaxType(1, 2),
            MatchingRule::Number,
            MatchingRule::Integer,
            MatchingRule::Decimal,
            MatchingRule::Boolean,
            MatchingRule::Null,
            MatchingRule::Include("x".into()),
            MatchingRule::Date("yyyy-MM-dd".into()),
            MatchingRule::Time(String::new()),
            MatchingRule::Timestamp("yyyy-MM-dd'T'HH:mm:ssXXX".into()),
            MatchingRule::ContentType("image/png".into()),
            MatchingRule::Values,
            MatchingRule::NotEmpty,
            MatchingRule::Semver,
            MatchingRule::StatusCode(StatusClass::Codes(vec![200, 204])),
            MatchingRule::EachKey(vec![MatchingRule::Regex("[a-z]+".into())]),
            MatchingRule::EachValue(vec![MatchingRule::Type]),
            MatchingRule::ArrayContains(vec![ArrayContainsVariant {
                index: 0,
                rules: [(
                    "$.id".to_string(),
                    RuleList {
                        rules: vec![MatchingRule::Integer],
                        logic: RuleLogic::And,
                    },
                )]
                .into_iter()
                .collect(),
                generators: BTreeMap::new(),
            }]),
        ];
        for (i, r) in all.into_iter().enumerate() {
            rules.add(Category::Body, format!("$.f{i}"), r);
        }
        rules.add(
            Category::Status,
            "",
            MatchingRule::StatusCode(StatusClass::Error),
        );
        let back = parse_v3(&write_v3(&rules), "m").expect("reads back");
        assert_eq!(back, rules);
    }
}
