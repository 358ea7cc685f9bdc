//! Reading one matcher object (`{"match": "regex", "regex": "\\d+"}`, `{"min": 1}`, …):
//! every matcher type Pact knows, checked strictly (regular expressions, date patterns, status
//! classes, array-contains variants).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::matching::datetime::{self, JavaPattern};
use crate::matching::{compile_regex, path};
use crate::model::{ArrayContainsVariant, MatchingRule, StatusClass};
use crate::pact::PactError;
use crate::pact::body::kind;

use super::read::parse_list;

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
