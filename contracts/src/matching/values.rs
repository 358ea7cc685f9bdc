//! One rule against one value: a JSON value, a string (headers, query, path, XML text and
//! attributes), a status code, or a collection as a whole.
//!
//! Semantics follow Pact's reference implementation: regular expressions must match the whole
//! value, type matchers compare JSON types, `min`/`max` only constrain collections where the
//! rule was written (not where it cascades), and numbers, dates and the like check the actual
//! value only. The checks on JSON values are kept lean; messages are built only on failure.

use serde_json::Value;

use crate::model::MatchingRule;

use super::rules::{CompiledRule, check_content_type, check_status, describe, shorten};

/// The JSON type name Pact prints.
pub fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "Object",
        Value::Array(_) => "Array",
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Decimal",
        Value::String(_) => "String",
    }
}

/// A value as Pact prints it in messages: strings quoted, the rest as JSON (shortened).
pub fn value_of(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", shorten(s, 200)),
        Value::Object(_) | Value::Array(_) => shorten(&value.to_string(), 200),
        other => other.to_string(),
    }
}

/// Pact's string form of a JSON value (strings unquoted).
fn json_text(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

fn same_json_type(e: &Value, a: &Value) -> bool {
    matches!(
        (e, a),
        (Value::Array(_), Value::Array(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::Null, Value::Null)
            | (Value::Object(_), Value::Object(_))
            | (Value::String(_), Value::String(_))
    )
}

fn type_mismatch(e: &Value, a: &Value) -> String {
    format!(
        "Expected {} ({}) to be the same type as {} ({})",
        value_of(a),
        type_of(a),
        value_of(e),
        type_of(e)
    )
}

fn size_check(len: usize, rule: &MatchingRule, cascaded: bool, what: &str) -> Result<(), String> {
    if cascaded {
        return Ok(());
    }
    let (min, max) = match rule {
        MatchingRule::MinType(min) => (Some(*min), None),
        MatchingRule::MaxType(max) => (None, Some(*max)),
        MatchingRule::MinMaxType(min, max) => (Some(*min), Some(*max)),
        _ => (None, None),
    };
    if let Some(min) = min
        && len < min
    {
        return Err(format!(
            "Expected {what} with {len} item(s) to have at least {min} item(s)"
        ));
    }
    if let Some(max) = max
        && len > max
    {
        return Err(format!(
            "Expected {what} with {len} item(s) to have at most {max} item(s)"
        ));
    }
    Ok(())
}

/// Applies one rule to a JSON value (Pact's `DoMatch<&Value>`). The check is kept lean; the
/// message is built only when it fails.
#[inline]
pub(crate) fn match_json_value(
    rule: &CompiledRule<'_>,
    expected: &Value,
    actual: &Value,
    cascaded: bool,
) -> Result<(), String> {
    if json_value_ok(rule, expected, actual, cascaded) {
        Ok(())
    } else {
        json_value_outcome(rule, expected, actual, cascaded)
    }
}

/// Does the rule pass? `false` when unsure (the slow path decides).
#[inline]
fn json_value_ok(
    rule: &CompiledRule<'_>,
    expected: &Value,
    actual: &Value,
    cascaded: bool,
) -> bool {
    match rule.rule {
        MatchingRule::Type => same_json_type(expected, actual),
        MatchingRule::MinType(_) | MatchingRule::MaxType(_) | MatchingRule::MinMaxType(_, _) => {
            same_json_type(expected, actual) && (cascaded || !actual.is_array())
        }
        MatchingRule::Equality | MatchingRule::Values => expected == actual,
        MatchingRule::Regex(_) => match (&rule.regex, actual) {
            (Some(Ok(re)), Value::String(s)) => re.is_match(s),
            _ => false,
        },
        MatchingRule::Integer => actual.is_i64() || actual.is_u64(),
        MatchingRule::Decimal => actual.is_f64(),
        MatchingRule::Number => actual.is_number(),
        MatchingRule::Null => actual.is_null(),
        MatchingRule::Boolean => match actual {
            Value::Bool(_) => true,
            Value::String(s) => s == "true" || s == "false",
            _ => false,
        },
        MatchingRule::Date(_) | MatchingRule::Time(_) | MatchingRule::Timestamp(_) => {
            match (&rule.datetime, actual) {
                (Some(Ok(p)), Value::String(s)) => p.validate(s).is_ok(),
                _ => false,
            }
        }
        MatchingRule::ArrayContains(_) | MatchingRule::EachKey(_) | MatchingRule::EachValue(_) => {
            true
        }
        _ => false,
    }
}

/// The outcome, with the reason, of a JSON rule that failed (or passes: the slow path).
#[cold]
#[inline(never)]
fn json_value_outcome(
    rule: &CompiledRule<'_>,
    expected: &Value,
    actual: &Value,
    cascaded: bool,
) -> Result<(), String> {
    match rule.rule {
        MatchingRule::Regex(pattern) => {
            let re = rule.regex()?;
            let text = json_text(actual);
            if re.is_match(&text) {
                Ok(())
            } else {
                Err(format!(
                    "Expected {} to match '{pattern}'",
                    value_of(actual)
                ))
            }
        }
        MatchingRule::Include(substr) => {
            if json_text(actual).contains(substr.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "Expected {} to include '{substr}'",
                    value_of(actual)
                ))
            }
        }
        MatchingRule::Type
        | MatchingRule::MinType(_)
        | MatchingRule::MaxType(_)
        | MatchingRule::MinMaxType(_, _) => {
            if !same_json_type(expected, actual) {
                return Err(type_mismatch(expected, actual));
            }
            if let Value::Array(items) = actual {
                size_check(items.len(), rule.rule, cascaded, "an array")
            } else {
                Ok(())
            }
        }
        MatchingRule::Equality | MatchingRule::Values => {
            if expected == actual {
                Ok(())
            } else {
                Err(format!(
                    "Expected {} ({}) to be equal to {} ({})",
                    value_of(actual),
                    type_of(actual),
                    value_of(expected),
                    type_of(expected)
                ))
            }
        }
        MatchingRule::Null => match actual {
            Value::Null => Ok(()),
            _ => Err(format!(
                "Expected {} ({}) to be a null value",
                value_of(actual),
                type_of(actual)
            )),
        },
        MatchingRule::Integer => {
            if actual.is_i64() || actual.is_u64() {
                Ok(())
            } else {
                Err(format!(
                    "Expected {} ({}) to be an integer",
                    value_of(actual),
                    type_of(actual)
                ))
            }
        }
        MatchingRule::Decimal => {
            if actual.is_f64() {
                Ok(())
            } else {
                Err(format!(
                    "Expected {} ({}) to be a decimal number",
                    value_of(actual),
                    type_of(actual)
                ))
            }
        }
        MatchingRule::Number => {
            if actual.is_number() {
                Ok(())
            } else {
                Err(format!(
                    "Expected {} ({}) to be a number",
                    value_of(actual),
                    type_of(actual)
                ))
            }
        }
        MatchingRule::Date(_) | MatchingRule::Time(_) | MatchingRule::Timestamp(_) => {
            rule.datetime_check(&json_text(actual))
        }
        MatchingRule::ContentType(expected_type) => {
            check_content_type(json_text(actual).as_bytes(), expected_type)
        }
        MatchingRule::Boolean => match actual {
            Value::Bool(_) => Ok(()),
            Value::String(s) if s == "true" || s == "false" => Ok(()),
            _ => Err(format!(
                "Expected {} ({}) to match a boolean",
                value_of(actual),
                type_of(actual)
            )),
        },
        MatchingRule::NotEmpty => match actual {
            Value::Null => Err("Expected a non-empty value but got null".into()),
            Value::String(s) if s.is_empty() => Err("Expected '' (String) to not be empty".into()),
            Value::Array(a) if a.is_empty() => Err("Expected [] (Array) to not be empty".into()),
            Value::Object(o) if o.is_empty() => Err("Expected {} (Object) to not be empty".into()),
            _ => Ok(()),
        },
        MatchingRule::Semver => match actual {
            Value::String(s) => semver::Version::parse(s)
                .map(|_| ())
                .map_err(|e| format!("'{s}' is not a valid semantic version: {e}")),
            other => Err(format!(
                "Expected a semantic version but got {} ({})",
                value_of(other),
                type_of(other)
            )),
        },
        MatchingRule::StatusCode(class) => match actual.as_u64() {
            Some(code) if code <= u16::MAX as u64 => check_status(code as u16, class),
            _ => Err(format!(
                "Expected {} ({}) to be a status code",
                value_of(actual),
                type_of(actual)
            )),
        },
        MatchingRule::ArrayContains(_) | MatchingRule::EachKey(_) | MatchingRule::EachValue(_) => {
            Ok(())
        }
    }
}

/// Applies one rule to a string value (Pact's `DoMatch<&str>`): headers, query parameters,
/// paths, plain text bodies, XML text and attributes.
pub(crate) fn match_str(
    rule: &CompiledRule<'_>,
    expected: &str,
    actual: &str,
    cascaded: bool,
) -> Result<(), String> {
    match rule.rule {
        MatchingRule::Regex(pattern) => {
            let re = rule.regex()?;
            if re.is_match(actual) {
                Ok(())
            } else {
                Err(format!(
                    "Expected '{}' to match '{pattern}'",
                    shorten(actual, 200)
                ))
            }
        }
        MatchingRule::Equality | MatchingRule::Values => {
            if expected == actual {
                Ok(())
            } else {
                Err(format!(
                    "Expected '{}' to be equal to '{}'",
                    shorten(actual, 200),
                    shorten(expected, 200)
                ))
            }
        }
        MatchingRule::Type
        | MatchingRule::MinType(_)
        | MatchingRule::MaxType(_)
        | MatchingRule::MinMaxType(_, _) => Ok(()),
        MatchingRule::Include(substr) => {
            if actual.contains(substr.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "Expected '{}' to include '{substr}'",
                    shorten(actual, 200)
                ))
            }
        }
        MatchingRule::Number | MatchingRule::Decimal => {
            if actual.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                Ok(())
            } else {
                Err(format!(
                    "Expected '{}' to be a number",
                    shorten(actual, 200)
                ))
            }
        }
        MatchingRule::Integer => {
            let t = actual.trim();
            if t.parse::<i64>().is_ok() || t.parse::<u64>().is_ok() {
                Ok(())
            } else {
                Err(format!(
                    "Expected '{}' to be an integer",
                    shorten(actual, 200)
                ))
            }
        }
        MatchingRule::Date(_) | MatchingRule::Time(_) | MatchingRule::Timestamp(_) => {
            rule.datetime_check(actual)
        }
        MatchingRule::Boolean => {
            if actual == "true" || actual == "false" {
                Ok(())
            } else {
                Err(format!(
                    "Expected '{}' to match a boolean",
                    shorten(actual, 200)
                ))
            }
        }
        MatchingRule::StatusCode(class) => match actual.trim().parse::<u16>() {
            Ok(code) => check_status(code, class),
            Err(_) => Err(format!(
                "Expected '{}' to be a status code",
                shorten(actual, 200)
            )),
        },
        MatchingRule::NotEmpty => {
            if actual.is_empty() {
                Err("Expected '' to not be empty".into())
            } else {
                Ok(())
            }
        }
        MatchingRule::Semver => semver::Version::parse(actual)
            .map(|_| ())
            .map_err(|e| format!("'{actual}' is not a valid semantic version: {e}")),
        MatchingRule::ContentType(expected_type) => {
            check_content_type(actual.as_bytes(), expected_type)
        }
        MatchingRule::Null => Err(format!(
            "Expected '{}' to be a null value",
            shorten(actual, 200)
        )),
        MatchingRule::ArrayContains(_) | MatchingRule::EachKey(_) | MatchingRule::EachValue(_) => {
            if cascaded {
                Ok(())
            } else {
                Err(format!(
                    "{} cannot be applied to the text '{}'",
                    describe(rule.rule),
                    shorten(actual, 200)
                ))
            }
        }
    }
}

/// Applies one rule to a status code.
pub(crate) fn match_status(
    rule: &CompiledRule<'_>,
    expected: u16,
    actual: u16,
) -> Result<(), String> {
    match rule.rule {
        MatchingRule::StatusCode(class) => check_status(actual, class),
        MatchingRule::Equality | MatchingRule::Values => {
            if expected == actual {
                Ok(())
            } else {
                Err(format!(
                    "Expected status {actual} to be equal to {expected}"
                ))
            }
        }
        MatchingRule::Type
        | MatchingRule::MinType(_)
        | MatchingRule::MaxType(_)
        | MatchingRule::MinMaxType(_, _)
        | MatchingRule::Number
        | MatchingRule::Integer => Ok(()),
        _ => match_str(rule, &expected.to_string(), &actual.to_string(), false),
    }
}

/// Applies one rule to a collection as a whole (Pact applies this before comparing the
/// items): sizes for `min`/`max`, emptiness for `notEmpty`, whole equality for `equality`.
/// `is_map` selects Pact's map semantics, where scalar-only rules do not apply.
pub(crate) fn match_collection(
    rule: &CompiledRule<'_>,
    expected: &Value,
    actual: &Value,
    len: usize,
    cascaded: bool,
    is_map: bool,
) -> Result<(), String> {
    let what = if is_map { "an object" } else { "an array" };
    match rule.rule {
        MatchingRule::MinType(_) | MatchingRule::MaxType(_) | MatchingRule::MinMaxType(_, _) => {
            size_check(len, rule.rule, cascaded, what)
        }
        MatchingRule::Equality => {
            if expected == actual {
                Ok(())
            } else {
                Err(format!(
                    "Expected {} to be equal to {}",
                    value_of(actual),
                    value_of(expected)
                ))
            }
        }
        MatchingRule::NotEmpty => {
            if len == 0 {
                Err(format!(
                    "Expected {} ({}) to not be empty",
                    value_of(actual),
                    type_of(actual)
                ))
            } else {
                Ok(())
            }
        }
        MatchingRule::Regex(_)
        | MatchingRule::Type
        | MatchingRule::ArrayContains(_)
        | MatchingRule::EachKey(_)
        | MatchingRule::EachValue(_)
        | MatchingRule::Values => Ok(()),
        _ if !is_map => Ok(()),
        other => {
            if cascaded {
                Ok(())
            } else {
                Err(format!(
                    "{} cannot be applied to {}",
                    describe(other),
                    value_of(actual)
                ))
            }
        }
    }
}

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
