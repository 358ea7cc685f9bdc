//! Writing matching rules in Pact's V2 and V3/V4 layouts, as Pact's reference implementation
//! writes them.

use serde_json::{Map, Value, json};

use crate::model::{Category, MatchingRule, MatchingRules, RuleList, RuleLogic, StatusClass};

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
