//! Rules on synchronous calls: chains, cycles, timeouts, retries, circuit breakers, fan-out.
//!
//! - `chains.rs`: request paths through the graph, chain depth and latency (PL003), cycles
//!   (PL004).
//! - `calls.rs`: per-call client settings: timeouts (PL005), retries (PL006), circuit breakers
//!   (PL007).
//! - `fan_out.rs`: one handler calling many services (PL008).
//!
//! Here: [`Route`] and the helpers the families share.

mod calls;
mod chains;
mod fan_out;

use std::borrow::Cow;

use super::Context;
use crate::lint::graph::{ServiceKind, SyncCall};

pub use calls::{CircuitBreaker, RetryIdempotency, Timeout};
pub use chains::{ChainDepth, Cycle};
pub use fan_out::FanOut;

/// A route as written in a call (`method` + `path`) or a handler (`POST /orders/{id}`),
/// normalised: method upper-cased, parameters (`{id}`, `:id`) made anonymous, trailing `/` and
/// query dropped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    pub method: Option<String>,
    pub path: Option<String>,
}

impl Route {
    pub fn of_call(c: &SyncCall) -> Route {
        Route {
            method: c.method.as_deref().map(str::to_ascii_uppercase),
            path: c.path.as_deref().map(normalise_path),
        }
    }

    /// Parses a handler: `POST /orders`, `/orders`, `POST`.
    pub fn parse(handler: &str) -> Route {
        let mut parts = handler.split_whitespace();
        let (a, b) = (parts.next(), parts.next());
        match (a, b) {
            (Some(m), Some(p)) => Route {
                method: Some(m.to_ascii_uppercase()),
                path: Some(normalise_path(p)),
            },
            (Some(p), None) if p.starts_with('/') => Route {
                method: None,
                path: Some(normalise_path(p)),
            },
            (Some(m), None) => Route {
                method: Some(m.to_ascii_uppercase()),
                path: None,
            },
            _ => Route {
                method: None,
                path: None,
            },
        }
    }
}

fn normalise_path(p: &str) -> String {
    normalised(p).into_owned()
}

/// A path normalised, borrowed when it already is (the common case: no parameter, no query,
/// no trailing `/`), so that normalising every call of a large graph allocates little.
fn normalised(p: &str) -> Cow<'_, str> {
    let p = p.split(['?', '#']).next().unwrap_or_default();
    let clean = !p.contains(['{', ':']) && (p == "/" || !p.ends_with('/'));
    if clean && !p.is_empty() {
        return Cow::Borrowed(p);
    }
    let segments: Vec<&str> = p
        .split('/')
        .map(|s| {
            if (s.starts_with('{') && s.ends_with('}')) || s.starts_with(':') {
                "{}"
            } else {
                s
            }
        })
        .collect();
    let joined = segments.join("/");
    Cow::Owned(match joined.trim_end_matches('/') {
        "" => "/".to_string(),
        t => t.to_string(),
    })
}

/// Calls made by a system outside ours (`kind: external`): their client settings are not ours
/// to fix, so the call-level rules leave them alone.
fn ours(cx: &Context<'_>, i: usize) -> bool {
    cx.kinds[cx.ends[i].0] != Some(ServiceKind::External)
}

/// The first names of a long list, and how many more.
fn preview(names: &[&str], max: usize) -> String {
    if names.len() <= max {
        return names.join(", ");
    }
    format!(
        "{}, and {} more",
        names[..max].join(", "),
        names.len() - max
    )
}

#[cfg(test)]
mod tests;
