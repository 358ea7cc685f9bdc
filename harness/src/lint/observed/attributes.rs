//! Reading parley's client-span convention (see the module above), and folding what several
//! spans of one call say into one fact: the riskiest value wins.

use serde_json::Value;

use super::{
    IDEMPOTENCY_HEADER_ATTR, IDEMPOTENCY_KEY_ATTR, LEGACY_TIMEOUT_ATTR, MAX_ATTEMPTS_ATTR,
    RETRY_ON_ATTR, TIMEOUT_ATTR,
};
use crate::lint::graph::{Fact, Retries, RetryOn};
use crate::otlp::Span;

/// An integer attribute, also when written as a decimal string.
pub(super) fn int(span: &Span, key: &str) -> Option<i64> {
    match span.attr(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean attribute, also when written as `"true"`/`"false"`.
pub(super) fn flag(span: &Span, key: &str) -> Option<bool> {
    match span.attr(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn timeout_of(client: &Span) -> Fact<Option<u64>> {
    match int(client, TIMEOUT_ATTR) {
        Some(t) if t <= 0 => Fact::Known(None),
        Some(t) => Fact::Known(Some(t as u64)),
        None => match int(client, LEGACY_TIMEOUT_ATTR) {
            Some(t) if t > 0 => Fact::Known(Some(t as u64)),
            _ => Fact::Unknown,
        },
    }
}

pub(super) fn worst_timeout(a: Fact<Option<u64>>, b: Fact<Option<u64>>) -> Fact<Option<u64>> {
    match (a, b) {
        (Fact::Known(None), _) | (_, Fact::Known(None)) => Fact::Known(None),
        (Fact::Known(Some(x)), Fact::Known(Some(y))) => Fact::Known(Some(x.max(y))),
        (Fact::Unknown, x) | (x, Fact::Unknown) => x,
    }
}

pub(super) fn retries_of(client: &Span) -> Fact<Option<Retries>> {
    let Some(attempts) = int(client, MAX_ATTEMPTS_ATTR) else {
        return Fact::Unknown;
    };
    if attempts <= 1 {
        return Fact::Known(None);
    }
    let on = match client.attr_str(RETRY_ON_ATTR) {
        Some("all") => RetryOn::All,
        Some("idempotent-only") => RetryOn::IdempotentOnly,
        _ => return Fact::Unknown,
    };
    Fact::Known(Some(Retries {
        max_attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        on,
    }))
}

pub(super) fn worst_retries(
    a: Fact<Option<Retries>>,
    b: Fact<Option<Retries>>,
) -> Fact<Option<Retries>> {
    match (a, b) {
        (Fact::Known(Some(x)), Fact::Known(Some(y))) => Fact::Known(Some(Retries {
            max_attempts: x.max_attempts.max(y.max_attempts),
            on: if x.on == RetryOn::All || y.on == RetryOn::All {
                RetryOn::All
            } else {
                RetryOn::IdempotentOnly
            },
        })),
        (Fact::Known(Some(x)), _) | (_, Fact::Known(Some(x))) => Fact::Known(Some(x)),
        (Fact::Known(None), _) | (_, Fact::Known(None)) => Fact::Known(None),
        (Fact::Unknown, Fact::Unknown) => Fact::Unknown,
    }
}

pub(super) fn carries_idempotency_key(client: &Span) -> bool {
    flag(client, IDEMPOTENCY_KEY_ATTR) == Some(true)
        || client
            .attr(IDEMPOTENCY_HEADER_ATTR)
            .is_some_and(|v| match v {
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => false,
            })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::observed::CIRCUIT_BREAKER_ATTR;
    use crate::otlp::SpanKind;

    fn client(attrs: Value) -> Span {
        Span {
            kind: SpanKind::Client,
            attributes: attrs
                .as_object()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            ..Span::default()
        }
    }

    #[test]
    fn attributes_are_read_as_written_or_as_text() {
        let s = client(serde_json::json!({
            "parley.call.timeout_ms": "250", "parley.call.circuit_breaker": "false",
            "parley.call.max_attempts": 1
        }));
        assert_eq!(timeout_of(&s), Fact::Known(Some(250)));
        assert_eq!(flag(&s, CIRCUIT_BREAKER_ATTR), Some(false));
        assert_eq!(retries_of(&s), Fact::Known(None));
        let s = client(serde_json::json!({ "parley.call.max_attempts": 3 }));
        assert_eq!(retries_of(&s), Fact::Unknown, "attempts without a policy");
        let s = client(serde_json::json!({ "parley.http.timeout_ms": 0 }));
        assert_eq!(
            timeout_of(&s),
            Fact::Unknown,
            "the old attribute never says none"
        );
        assert_eq!(timeout_of(&client(serde_json::json!({}))), Fact::Unknown);
    }

    #[test]
    fn the_riskiest_value_wins() {
        let none = Fact::Known(None);
        assert_eq!(worst_timeout(Fact::Known(Some(5)), none), none);
        assert_eq!(
            worst_timeout(Fact::Unknown, Fact::Known(Some(5))),
            Fact::Known(Some(5))
        );
        assert_eq!(
            worst_timeout(Fact::Known(Some(5)), Fact::Known(Some(9))),
            Fact::Known(Some(9))
        );
        let r = |n, on| {
            Fact::Known(Some(Retries {
                max_attempts: n,
                on,
            }))
        };
        assert_eq!(
            worst_retries(r(2, RetryOn::All), r(3, RetryOn::IdempotentOnly)),
            r(3, RetryOn::All)
        );
        assert_eq!(
            worst_retries(Fact::Known(None), r(2, RetryOn::All)),
            r(2, RetryOn::All)
        );
        assert_eq!(
            worst_retries(Fact::Unknown, Fact::Known(None)),
            Fact::Known(None)
        );
    }
}
