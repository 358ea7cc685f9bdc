//! A small YAML writer: block style for structure, flow style where a value is short; scalars
//! quoted only where YAML would read them as something else.

use serde_json::Value;

use super::WIDTH;

/// A value to write.
pub(super) enum Y {
    /// Already formatted (quoted if need be).
    Scalar(String),
    Map(Vec<(String, Y)>, Style),
    Seq(Vec<Y>, Style),
    /// A value followed by comment lines (written after its entry).
    Commented(Box<Y>, Vec<String>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// Always one entry per line (interactions, requests, responses).
    Block,
    /// Flow style (`{a: 1, b: x}`) when every child is a single value and it fits.
    Data,
    /// A matcher: flow style whenever it fits.
    Matcher,
}

/// A string as a YAML scalar.
pub(super) fn scalar_str(s: &str) -> Y {
    Y::Scalar(quote(s))
}

pub(super) fn key_str(s: &str) -> String {
    quote(s)
}

/// A JSON value written as it is (no rules).
pub(super) fn plain(value: &Value) -> Y {
    match value {
        Value::Null => Y::Scalar("null".into()),
        Value::Bool(b) => Y::Scalar(b.to_string()),
        Value::Number(n) => Y::Scalar(n.to_string()),
        Value::String(s) => scalar_str(s),
        Value::Array(items) => Y::Seq(items.iter().map(plain).collect(), Style::Data),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Y::Map(
                keys.into_iter()
                    .map(|k| (key_str(k), plain(&map[k])))
                    .collect(),
                Style::Data,
            )
        }
    }
}

/// Plain when YAML reads it back as the same string, double-quoted (JSON escapes) otherwise.
pub(super) fn quote(s: &str) -> String {
    if plain_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if first.is_whitespace()
        || s.ends_with(char::is_whitespace)
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.chars()
            .any(|c| c.is_control() || ",[]{}".contains(c) || c == '\u{feff}')
    {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | "<<"
    ) {
        return false;
    }
    // Anything that might read as a number (or .inf/.nan) is quoted.
    let numberish = first.is_ascii_digit()
        || ((first == '+' || first == '.') && s[1..].starts_with(|c: char| c.is_ascii_digit()))
        || lower.starts_with(".inf")
        || lower.starts_with(".nan");
    // Dates and times (2026-01-31, 10:15:30) read as strings here, but as dates or sexagesimal
    // numbers in YAML 1.1 tools: quote them for whoever else reads the text.
    if first.is_ascii_digit() && (s.contains(':') || s.contains('-')) {
        return false;
    }
    if numberish {
        return matches!(
            serde_norway::from_str::<serde_norway::Value>(s),
            Ok(serde_norway::Value::String(ref back)) if back == s
        );
    }
    true
}

/// The one-line flow form of a value, if it has one.
fn flow(y: &Y) -> Option<String> {
    flow_within(y, usize::MAX)
}

/// The flow form if it is at most `room` long (stops writing as soon as it is longer).
fn flow_within(y: &Y, room: usize) -> Option<String> {
    let mut out = String::new();
    write_flow(y, room, &mut out).then_some(out)
}

fn write_flow(y: &Y, room: usize, out: &mut String) -> bool {
    match y {
        Y::Scalar(s) => out.push_str(s),
        Y::Commented(..) => return false,
        Y::Map(entries, _) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                if out.len() > room || !write_flow(v, room, out) {
                    return false;
                }
            }
            out.push('}');
        }
        Y::Seq(items, _) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if out.len() > room || !write_flow(item, room, out) {
                    return false;
                }
            }
            out.push(']');
        }
    }
    out.len() <= room
}

/// Whether a container may be written in flow style, given the room left on its line.
fn flow_if_fits(y: &Y, room: usize) -> Option<String> {
    let allowed = match y {
        Y::Map(entries, Style::Data) => entries.iter().all(|(_, v)| is_single(v)),
        Y::Seq(items, Style::Data) => items.iter().all(is_single),
        Y::Map(_, Style::Matcher) => true,
        Y::Map(entries, Style::Block) => entries.is_empty(),
        Y::Seq(items, _) => items.is_empty(),
        _ => false,
    };
    if !allowed {
        return None;
    }
    flow_within(y, room)
}

/// A scalar, an empty container or a matcher: what may stand inside a flow-style data value.
fn is_single(y: &Y) -> bool {
    match y {
        Y::Scalar(_) => true,
        Y::Map(entries, Style::Matcher) => entries.iter().all(|(_, v)| is_single(v)),
        Y::Map(entries, _) => entries.is_empty(),
        Y::Seq(items, _) => items.is_empty() || items.iter().all(|i| matches!(i, Y::Scalar(_))),
        Y::Commented(..) => false,
    }
}

pub(super) fn flat(y: &Y) -> String {
    flow(y).unwrap_or_else(|| "…".into())
}

pub(super) fn emit_entry(out: &mut String, indent: usize, key: &str, value: &Y) {
    let pad = " ".repeat(indent);
    let (value, comments) = match value {
        Y::Commented(inner, comments) => (inner.as_ref(), comments.as_slice()),
        other => (other, &[][..]),
    };
    let room = WIDTH.saturating_sub(indent + key.len() + 2);
    match value {
        Y::Scalar(s) => out.push_str(&format!("{pad}{key}: {s}\n")),
        container => match flow_if_fits(container, room) {
            Some(f) => out.push_str(&format!("{pad}{key}: {f}\n")),
            None => {
                out.push_str(&format!("{pad}{key}:\n"));
                emit_block(out, indent + 2, container);
            }
        },
    }
    for comment in comments {
        out.push_str(&format!("{pad}# {comment}\n"));
    }
}

/// Writes a container's contents in block style at `indent`.
fn emit_block(out: &mut String, indent: usize, y: &Y) {
    match y {
        Y::Map(entries, _) => {
            for (k, v) in entries {
                emit_entry(out, indent, k, v);
            }
        }
        Y::Seq(items, _) => {
            for item in items {
                emit_item(out, indent, item);
            }
        }
        Y::Scalar(s) => out.push_str(&format!("{}{s}\n", " ".repeat(indent))),
        Y::Commented(inner, comments) => {
            emit_block(out, indent, inner);
            for comment in comments {
                out.push_str(&format!("{}# {comment}\n", " ".repeat(indent)));
            }
        }
    }
}

/// Writes one list element (`- …`) at `indent`.
fn emit_item(out: &mut String, indent: usize, item: &Y) {
    let pad = " ".repeat(indent);
    let (item, comments) = match item {
        Y::Commented(inner, comments) => (inner.as_ref(), comments.as_slice()),
        other => (other, &[][..]),
    };
    let room = WIDTH.saturating_sub(indent + 2);
    match item {
        Y::Scalar(s) => out.push_str(&format!("{pad}- {s}\n")),
        container => {
            if let Some(f) = flow_if_fits(container, room) {
                out.push_str(&format!("{pad}- {f}\n"));
            } else {
                match container {
                    Y::Map(entries, _) if !entries.is_empty() => {
                        // The first entry on the dash's line, the others under it.
                        let mut first = String::new();
                        emit_entry(&mut first, indent + 2, &entries[0].0, &entries[0].1);
                        out.push_str(&format!("{pad}- {}", &first[indent + 2..]));
                        for (k, v) in &entries[1..] {
                            emit_entry(out, indent + 2, k, v);
                        }
                    }
                    Y::Seq(items, _) if !items.is_empty() => {
                        out.push_str(&format!("{pad}-\n"));
                        for inner in items {
                            emit_item(out, indent + 2, inner);
                        }
                    }
                    other => out.push_str(&format!("{pad}- {}\n", flat(other))),
                }
            }
        }
    }
    for comment in comments {
        out.push_str(&format!("{pad}  # {comment}\n"));
    }
}
