//! Assertions on the spans a scenario produced: selectors, counts, attributes, durations,
//! status and ordering.

use regex::Regex;
use serde_json::Value;

use super::{Count, Expectation, Selector};
use crate::otlp::{Span, StatusCode};
use crate::requests::RequestTraces;
use crate::results::{Check, Detail, Outcome};

impl Selector {
    /// Whether the span is selected. The scenario's own spans (service `parley`) are selected
    /// only by a selector that names that service.
    pub fn matches(&self, span: &Span) -> bool {
        let scenario_span = span.service_name == super::run::SCENARIO_SERVICE;
        if scenario_span && self.service.as_deref() != Some(super::run::SCENARIO_SERVICE) {
            return false;
        }
        self.service
            .as_ref()
            .is_none_or(|s| *s == span.service_name)
            && self
                .name
                .as_ref()
                .is_none_or(|n| name_matches(n, &span.name))
            && self.kind.as_ref().is_none_or(|k| k == span.kind.as_str())
            && self
                .attributes
                .iter()
                .all(|(k, v)| span.attr(k).is_some_and(|a| same(a, v)))
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.service {
            parts.push(format!("service {s}"));
        }
        if let Some(n) = &self.name {
            parts.push(format!("name {n}"));
        }
        if let Some(k) = &self.kind {
            parts.push(format!("kind {k}"));
        }
        for (k, v) in &self.attributes {
            parts.push(format!("{k}={v}"));
        }
        if parts.is_empty() {
            "every span".into()
        } else {
            parts.join(", ")
        }
    }
}

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
        Some(re) => Regex::new(re).is_ok_and(|r| r.is_match(name)),
        None => pattern == name,
    }
}

/// JSON equality where numbers compare by value (`1` = `1.0`) and a string equals the same
/// text of a number or boolean (attributes written in YAML are often strings).
pub fn same(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::Number(_) | Value::Bool(_)) => {
            a.as_str() == expected.to_string().as_str()
        }
        (Value::Number(_) | Value::Bool(_), Value::String(b)) => {
            b.as_str() == actual.to_string().as_str()
        }
        _ => actual == expected,
    }
}

fn detail(path: String, expected: String, actual: String, message: String) -> Detail {
    Detail {
        path,
        rule: None,
        expected,
        actual,
        message,
    }
}

fn who(span: &Span) -> String {
    format!("{}: {}", span.service_name, span.name)
}

pub fn evaluate(group: &str, e: &Expectation, rt: &RequestTraces) -> Check {
    if !e.order.is_empty() {
        return order(group, e, rt);
    }
    let selector = e.select.clone().unwrap_or_default();
    let label = e
        .name
        .clone()
        .unwrap_or_else(|| format!("spans: {}", selector.describe()));
    let mut check = Check::new(group, label, "assertion");
    let selected: Vec<&Span> = rt.spans().filter(|s| selector.matches(s)).collect();
    let mut fail = |d: Detail| {
        check.outcome = Outcome::Failed;
        check.details.push(d);
    };
    match &e.count {
        Some(Count::Exactly(n)) if selected.len() != *n => fail(detail(
            "count".into(),
            n.to_string(),
            selected.len().to_string(),
            format!(
                "{} span(s) match {}, expected {n}",
                selected.len(),
                selector.describe()
            ),
        )),
        Some(Count::Range { min, max })
            if min.is_some_and(|m| selected.len() < m)
                || max.is_some_and(|m| selected.len() > m) =>
        {
            let range = format!(
                "{}..{}",
                min.map(|m| m.to_string()).unwrap_or_default(),
                max.map(|m| m.to_string()).unwrap_or_default()
            );
            fail(detail(
                "count".into(),
                range.clone(),
                selected.len().to_string(),
                format!(
                    "{} span(s) match {}, expected {range}",
                    selected.len(),
                    selector.describe()
                ),
            ))
        }
        None if selected.is_empty() => fail(detail(
            "count".into(),
            "at least one".into(),
            "0".into(),
            format!("no span matches {}", selector.describe()),
        )),
        _ => {}
    }
    for span in &selected {
        for (key, expected) in &e.attributes {
            match span.attr(key) {
                Some(actual) if same(actual, expected) => {}
                actual => fail(detail(
                    format!("{} {key}", who(span)),
                    expected.to_string(),
                    actual
                        .map(ToString::to_string)
                        .unwrap_or_else(|| "absent".into()),
                    format!("{}: attribute {key} is not {expected}", who(span)),
                )),
            }
        }
        for (key, pattern) in &e.matches {
            let Ok(re) = Regex::new(pattern) else {
                continue;
            };
            let actual = span.attr(key).map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            });
            if !actual.as_deref().is_some_and(|a| re.is_match(a)) {
                fail(detail(
                    format!("{} {key}", who(span)),
                    format!("/{pattern}/"),
                    actual.unwrap_or_else(|| "absent".into()),
                    format!("{}: attribute {key} does not match /{pattern}/", who(span)),
                ));
            }
        }
        if let Some(limit) = e.duration_below
            && span.duration() >= limit
        {
            fail(detail(
                format!("{} duration", who(span)),
                format!("below {limit:?}"),
                format!("{:?}", span.duration()),
                format!(
                    "{} took {:?}, the limit is {limit:?}",
                    who(span),
                    span.duration()
                ),
            ));
        }
        if let Some(status) = &e.status {
            let actual = match span.status.code {
                StatusCode::Ok => "ok",
                StatusCode::Error => "error",
                StatusCode::Unset => "unset",
            };
            if actual != status {
                fail(detail(
                    format!("{} status", who(span)),
                    status.clone(),
                    actual.into(),
                    format!("{} has status {actual}, expected {status}", who(span)),
                ));
            }
        }
    }
    check
}

fn order(group: &str, e: &Expectation, rt: &RequestTraces) -> Check {
    let label = e.name.clone().unwrap_or_else(|| {
        format!(
            "order: {}",
            e.order
                .iter()
                .map(Selector::describe)
                .collect::<Vec<_>>()
                .join(" → ")
        )
    });
    let mut check = Check::new(group, label, "assertion");
    let mut previous: Option<(&Selector, &Span)> = None;
    for selector in &e.order {
        let first = rt
            .spans()
            .filter(|s| selector.matches(s))
            .min_by_key(|s| s.start_unix_nanos);
        let Some(span) = first else {
            check.outcome = Outcome::Failed;
            check.details.push(detail(
                selector.describe(),
                "a span".into(),
                "none".into(),
                format!("no span matches {}", selector.describe()),
            ));
            return check;
        };
        if let Some((prev_sel, prev)) = previous
            && span.start_unix_nanos < prev.start_unix_nanos
        {
            check.outcome = Outcome::Failed;
            check.details.push(detail(
                selector.describe(),
                format!("after {}", prev_sel.describe()),
                "before it".into(),
                format!("{} started before {}", who(span), who(prev)),
            ));
        }
        previous = Some((selector, span));
    }
    check
}
