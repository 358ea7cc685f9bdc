//! Bodies that are not JSON or XML: plain text (equality, or the rules at `$`), form bodies
//! (`application/x-www-form-urlencoded`, compared like a query string with the body rules at
//! `$.name`), and bytes. Also content-type sniffing.

use super::path::Seg;
use super::rules::{self, apply_list, check_content_type, shorten};
use super::trie::RuleIndex;
use super::{Mismatch, Part, Sink};
use crate::model::MatchingRule;

/// The content type a body looks like: JSON, XML, a few binary formats by their magic
/// numbers, text, or bytes.
pub fn sniff_content_type(data: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"RIFF", "image/webp"),
        (b"BM", "image/bmp"),
    ];
    for (magic, t) in MAGIC {
        if data.starts_with(magic) {
            return t;
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return "application/octet-stream";
    };
    sniff_text(text)
}

/// The content type some text looks like: `application/json`, `application/xml`,
/// `text/html` or `text/plain`.
pub fn sniff_text(text: &str) -> &'static str {
    let t = text.trim_start_matches('\u{feff}').trim();
    if ((t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']')))
        && serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok()
    {
        return "application/json";
    }
    if looks_like_xml(t) {
        let lower: String = t.chars().take(64).collect::<String>().to_ascii_lowercase();
        if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
            return "text/html";
        }
        return "application/xml";
    }
    if text.bytes().any(|b| b < 0x09 || (0x0e..0x20).contains(&b)) {
        return "application/octet-stream";
    }
    "text/plain"
}

fn looks_like_xml(t: &str) -> bool {
    t.starts_with("<?xml")
        || (t.starts_with('<')
            && t.ends_with('>')
            && t[1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '!' || c == '_'))
}

/// Compares text bodies: the rules at `$` if any, else equality.
pub(crate) fn match_text(expected: &str, actual: &str, index: &RuleIndex<'_>, sink: &mut Sink) {
    let mut states = Vec::new();
    let sel = index.root(&mut states);
    if let Some(chosen) = sel.chosen(0) {
        if let Err(f) = apply_list(chosen.list, |r| {
            rules::match_str(r, expected, actual, chosen.cascaded)
        }) {
            for message in f.messages {
                sink.push(Mismatch {
                    part: Part::Body,
                    path: "$".into(),
                    rule: Some(f.rule.clone()),
                    expected: shorten(expected, 4096),
                    actual: shorten(actual, 4096),
                    message,
                });
            }
        }
    } else if expected != actual {
        sink.push(Mismatch {
            part: Part::Body,
            path: "$".into(),
            rule: Some("equality".into()),
            expected: shorten(expected, 4096),
            actual: shorten(actual, 4096),
            message: format!(
                "Expected body '{}' but received '{}'",
                shorten(expected, 200),
                shorten(actual, 200)
            ),
        });
    }
}

/// Compares bodies as bytes: a `contentType` (or other) rule at `$`, else equality.
pub(crate) fn match_bytes(expected: &[u8], actual: &[u8], index: &RuleIndex<'_>, sink: &mut Sink) {
    let mut states = Vec::new();
    let sel = index.root(&mut states);
    if let Some(chosen) = sel.chosen(0) {
        let expected_text = String::from_utf8_lossy(expected);
        let actual_text = String::from_utf8_lossy(actual);
        if let Err(f) = apply_list(chosen.list, |r| match r.rule {
            MatchingRule::ContentType(t) => check_content_type(actual, t),
            MatchingRule::Equality => {
                if expected == actual {
                    Ok(())
                } else {
                    Err(format!(
                        "Expected the body ({} bytes) to equal the expected body ({} bytes)",
                        actual.len(),
                        expected.len()
                    ))
                }
            }
            _ => rules::match_str(r, &expected_text, &actual_text, chosen.cascaded),
        }) {
            for message in f.messages {
                sink.push(Mismatch {
                    part: Part::Body,
                    path: "$".into(),
                    rule: Some(f.rule.clone()),
                    expected: describe_bytes(expected),
                    actual: describe_bytes(actual),
                    message,
                });
            }
        }
    } else if expected != actual {
        sink.push(Mismatch {
            part: Part::Body,
            path: "$".into(),
            rule: Some("equality".into()),
            expected: describe_bytes(expected),
            actual: describe_bytes(actual),
            message: format!(
                "Expected a body of {} bytes equal to the expected body ({} bytes)",
                actual.len(),
                expected.len()
            ),
        });
    }
}

fn describe_bytes(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => shorten(s, 4096),
        Err(_) => {
            let hex: String = data.iter().take(32).map(|b| format!("{b:02x}")).collect();
            if data.len() > 32 {
                format!("0x{hex}… ({} bytes)", data.len())
            } else {
                format!("0x{hex}")
            }
        }
    }
}

/// Parses a query string or form body into names with their values, in order.
pub fn parse_form(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in form_urlencoded::parse(text.as_bytes()) {
        if let Some(entry) = out.iter_mut().find(|(name, _)| *name == k) {
            entry.1.push(v.into_owned());
        } else {
            out.push((k.into_owned(), vec![v.into_owned()]));
        }
    }
    out
}

/// Compares form bodies like query strings; the body rules apply at `$.name` (and
/// `$.name[i]` for the i-th value).
pub(crate) fn match_form(
    expected: &str,
    actual: &str,
    index: &RuleIndex<'_>,
    allow_unexpected: bool,
    sink: &mut Sink,
) {
    let e = parse_form(expected);
    let a = parse_form(actual);
    let mut states = Vec::new();
    let root = index.root(&mut states);
    let root_range = 0..states.len();
    for (name, evals) in &e {
        let path = format!("$.{name}");
        let Some((_, avals)) = a.iter().find(|(n, _)| n == name) else {
            sink.push(Mismatch {
                part: Part::Body,
                path,
                rule: None,
                expected: evals.join(", "),
                actual: String::new(),
                message: format!("Expected form field '{name}' but it was missing"),
            });
            continue;
        };
        let start = states.len();
        index.step(root_range.clone(), Seg::Field(name), &mut states);
        let end = states.len();
        let sel = index.refine(root, &states[start..end], 1);
        let type_rule = sel.chosen(1).filter(|c| c.list.has_type);
        if let Some(chosen) = type_rule {
            let evalue = serde_json::Value::Array(
                evals
                    .iter()
                    .cloned()
                    .map(serde_json::Value::String)
                    .collect(),
            );
            let avalue = serde_json::Value::Array(
                avals
                    .iter()
                    .cloned()
                    .map(serde_json::Value::String)
                    .collect(),
            );
            if let Err(f) = apply_list(chosen.list, |r| {
                rules::match_collection(r, &evalue, &avalue, avals.len(), chosen.cascaded, false)
            }) {
                for message in f.messages {
                    sink.push(Mismatch {
                        part: Part::Body,
                        path: path.clone(),
                        rule: Some(f.rule.clone()),
                        expected: evals.join(", "),
                        actual: avals.join(", "),
                        message,
                    });
                }
            }
        } else if evals.len() != avals.len() {
            sink.push(Mismatch {
                part: Part::Body,
                path: path.clone(),
                rule: None,
                expected: evals.join(", "),
                actual: avals.join(", "),
                message: format!(
                    "Expected {} value(s) for form field '{name}' but received {}",
                    evals.len(),
                    avals.len()
                ),
            });
        }
        for (i, av) in avals.iter().enumerate() {
            let Some(ev) = evals.get(i).or(if type_rule.is_some() {
                evals.first()
            } else {
                None
            }) else {
                continue;
            };
            let vstart = states.len();
            index.step(start..end, Seg::Index(i), &mut states);
            let vend = states.len();
            let vsel = index.refine(sel, &states[vstart..vend], 2);
            let vpath = if avals.len() > 1 {
                format!("{path}[{i}]")
            } else {
                path.clone()
            };
            if let Some(chosen) = vsel.chosen(2) {
                if let Err(f) = apply_list(chosen.list, |r| {
                    rules::match_str(r, ev, av, chosen.cascaded)
                }) {
                    for message in f.messages {
                        sink.push(Mismatch {
                            part: Part::Body,
                            path: vpath.clone(),
                            rule: Some(f.rule.clone()),
                            expected: ev.clone(),
                            actual: av.clone(),
                            message,
                        });
                    }
                }
            } else if ev != av {
                sink.push(Mismatch {
                    part: Part::Body,
                    path: vpath,
                    rule: Some("equality".into()),
                    expected: ev.clone(),
                    actual: av.clone(),
                    message: format!("Expected form field '{name}' to be '{ev}' but was '{av}'"),
                });
            }
            states.truncate(vstart);
        }
        states.truncate(start);
    }
    if !allow_unexpected {
        for (name, avals) in &a {
            if !e.iter().any(|(n, _)| n == name) {
                sink.push(Mismatch {
                    part: Part::Body,
                    path: format!("$.{name}"),
                    rule: None,
                    expected: String::new(),
                    actual: avals.join(", "),
                    message: format!("Unexpected form field '{name}'"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RuleList, RuleLogic};

    #[test]
    fn sniffs_content() {
        assert_eq!(sniff_text("{\"a\": 1}"), "application/json");
        assert_eq!(sniff_text("  [1, 2] "), "application/json");
        assert_eq!(sniff_text("{not json}"), "text/plain");
        assert_eq!(sniff_text("<?xml version=\"1.0\"?><a/>"), "application/xml");
        assert_eq!(sniff_text("<a><b/></a>"), "application/xml");
        assert_eq!(sniff_text("<!DOCTYPE html><html></html>"), "text/html");
        assert_eq!(sniff_text("alligator named mary"), "text/plain");
        assert_eq!(sniff_content_type(b"\x89PNG\r\n\x1a\nxx"), "image/png");
        assert_eq!(
            sniff_content_type(&[0, 159, 146, 150]),
            "application/octet-stream"
        );
    }

    fn regex_index<'r>(rules: &'r [(&str, RuleList)]) -> RuleIndex<'r> {
        RuleIndex::build(rules.iter().map(|(k, v)| (*k, v)))
    }

    #[test]
    fn text_equality_or_root_rules() {
        let mut sink = Sink::default();
        match_text("a", "a", &RuleIndex::empty(), &mut sink);
        assert!(sink.is_empty());
        match_text("a", "b", &RuleIndex::empty(), &mut sink);
        assert_eq!(sink.len(), 1);
        let rules = [(
            "$",
            RuleList {
                rules: vec![MatchingRule::Regex("alligator.*".into())],
                logic: RuleLogic::And,
            },
        )];
        let index = regex_index(&rules);
        let mut sink = Sink::default();
        match_text(
            "alligator named mary",
            "alligator named brent",
            &index,
            &mut sink,
        );
        assert!(sink.is_empty());
        match_text("alligator named mary", "crocodile", &index, &mut sink);
        assert_eq!(sink.len(), 1);
    }

    #[test]
    fn forms_compare_like_queries() {
        let mut sink = Sink::default();
        match_form("a=1&b=2", "b=2&a=1", &RuleIndex::empty(), false, &mut sink);
        assert!(sink.is_empty(), "{:?}", sink.items());
        match_form(
            "a=1&b=2",
            "a=1&b=2&c=3",
            &RuleIndex::empty(),
            true,
            &mut sink,
        );
        assert!(sink.is_empty());
        match_form(
            "a=1&b=2",
            "a=1&b=2&c=3",
            &RuleIndex::empty(),
            false,
            &mut sink,
        );
        assert_eq!(sink.len(), 1);
        let rules = [(
            "$.a",
            RuleList {
                rules: vec![MatchingRule::Regex("\\d+".into())],
                logic: RuleLogic::And,
            },
        )];
        let index = regex_index(&rules);
        let mut sink = Sink::default();
        match_form("a=1", "a=42", &index, false, &mut sink);
        assert!(sink.is_empty());
        match_form("a=1", "a=x", &index, false, &mut sink);
        assert_eq!(sink.len(), 1);
    }

    #[test]
    fn bytes_by_equality_or_content_type() {
        let mut sink = Sink::default();
        match_bytes(&[1, 2], &[1, 2], &RuleIndex::empty(), &mut sink);
        assert!(sink.is_empty());
        match_bytes(&[1, 2], &[1, 3], &RuleIndex::empty(), &mut sink);
        assert_eq!(sink.len(), 1);
        let rules = [(
            "$",
            RuleList {
                rules: vec![MatchingRule::ContentType("image/png".into())],
                logic: RuleLogic::And,
            },
        )];
        let index = regex_index(&rules);
        let mut sink = Sink::default();
        match_bytes(
            b"\x89PNG\r\n\x1a\n1",
            b"\x89PNG\r\n\x1a\n2",
            &index,
            &mut sink,
        );
        assert!(sink.is_empty());
        match_bytes(b"\x89PNG\r\n\x1a\n1", b"GIF89a", &index, &mut sink);
        assert_eq!(sink.len(), 1);
    }
}
