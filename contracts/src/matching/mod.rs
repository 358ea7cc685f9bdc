//! The matching engine: does an actual request, response or message satisfy the contract?
//!
//! Semantics follow Pact (the specification's test cases for V1–V3 and the reference
//! implementation, `pact_matching`): methods compare case-insensitively, paths exactly, query
//! parameters as names with ordered values, headers by name case-insensitively with values
//! split on commas (media types by essence and parameters), bodies by content type (JSON,
//! XML, form, text, bytes), and matching rules chosen by Pact's path weighting, cascading from
//! a path to everything under it. Requests may not carry unexpected body keys; responses and
//! messages may.
//!
//! ```text
//! match_request / match_response / match_message      http.rs, message.rs
//!   └─ match_body: missing/null/empty, content type   body.rs
//!        ├─ JSON                                       json/ (objects, keys), json/arrays.rs
//!        ├─ XML                                        xml.rs
//!        └─ text, form, bytes                          text.rs
//! path expressions and weights                         path.rs
//! rule selection (a trie walked with the document)     trie.rs
//! compiled rules, AND/OR, descriptions                 rules.rs
//! one rule against one value                           values.rs
//! Java date/time patterns (scanner, chrono checks)     datetime/
//! render_mismatches (report, line diff)                report.rs
//! ```
//!
//! `SpecVersion` does not change these semantics: the specification's cases for V1–V3 agree
//! on them, except V1's query strings, compared in order as written, which the model's query
//! map cannot hold ([`match_query_string`] does that comparison for whoever has the strings).
//!
//! Regular expressions are compiled once (a per-thread cache), rule paths once per call (a
//! trie walked alongside the document), nesting is bounded ([`MAX_DEPTH`]) and the number of
//! mismatches recorded is capped ([`MAX_MISMATCHES`]).

mod body;
pub mod datetime;
mod http;
mod json;
mod message;
pub mod path;
mod report;
pub(crate) mod rules;
mod text;
mod trie;
mod values;
mod xml;

use std::fmt;

use crate::model::{Body, HttpRequest, HttpResponse, MatchingRules, MessageContents, SpecVersion};

pub use http::{match_query_string, match_request, match_response, parse_query};
pub use message::match_message;
pub use report::render_mismatches;
pub use rules::{compile_regex, describe as describe_rule};
pub use text::{sniff_content_type, sniff_text};

/// Documents nested deeper than this are reported as a mismatch rather than compared.
pub const MAX_DEPTH: usize = 256;

/// At most this many mismatches are recorded per call; a final one says how many more there
/// were.
pub const MAX_MISMATCHES: usize = 1000;

/// Which part of a request, response or message a mismatch is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Method,
    Path,
    Query,
    Header,
    Body,
    Status,
    Metadata,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Part::Method => "method",
            Part::Path => "path",
            Part::Query => "query",
            Part::Header => "header",
            Part::Body => "body",
            Part::Status => "status",
            Part::Metadata => "metadata",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One way the actual differs from the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub part: Part,
    /// A JSON path such as `$.animals[1].name` (bodies), a header, query parameter or
    /// metadata name, or empty (method, path, status).
    pub path: String,
    /// The rule that failed (`type`, `regex ^\d+$`, `equality`, `min 2`), if a rule did.
    pub rule: Option<String>,
    /// What was expected at `path` (JSON for JSON bodies), shortened when large.
    pub expected: String,
    /// What was found at `path`, shortened when large.
    pub actual: String,
    /// One readable line.
    pub message: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.part, self.message)
        } else {
            write!(f, "{} {}: {}", self.part, self.path, self.message)
        }
    }
}

/// Collects mismatches, up to [`MAX_MISMATCHES`] (or one, when probing).
#[derive(Debug)]
pub(crate) struct Sink {
    items: Vec<Mismatch>,
    dropped: usize,
    limit: usize,
}

impl Default for Sink {
    fn default() -> Self {
        Sink {
            items: Vec::new(),
            dropped: 0,
            limit: MAX_MISMATCHES,
        }
    }
}

impl Sink {
    /// A sink that only answers "did anything mismatch?".
    pub fn probe() -> Self {
        Sink {
            items: Vec::new(),
            dropped: 0,
            limit: 1,
        }
    }

    pub fn push(&mut self, m: Mismatch) {
        if self.items.len() < self.limit {
            self.items.push(m);
        } else {
            self.dropped += 1;
        }
    }

    /// Enough recorded that comparing further is pointless (probes).
    pub fn full(&self) -> bool {
        self.limit == 1 && !self.items.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[cfg(test)]
    pub fn items(&self) -> &[Mismatch] {
        &self.items
    }

    pub fn finish(mut self) -> Vec<Mismatch> {
        if self.dropped > 0 {
            let part = self.items.last().map_or(Part::Body, |m| m.part);
            self.items.push(Mismatch {
                part,
                path: String::new(),
                rule: None,
                expected: String::new(),
                actual: String::new(),
                message: format!(
                    "{} further mismatch(es) not shown (at most {} are reported)",
                    self.dropped, self.limit
                ),
            });
        }
        self.items
    }
}

/// Compares two bodies with the body rules. `allow_unexpected_keys`: may the actual body have
/// keys (and XML attributes or elements) the contract does not mention? (Pact: not in
/// requests, yes in responses and messages.)
pub fn match_body(
    expected: &Body,
    actual: &Body,
    rules: &MatchingRules,
    allow_unexpected_keys: bool,
    spec: SpecVersion,
) -> Vec<Mismatch> {
    let _ = spec;
    let mut sink = Sink::default();
    body::match_body(
        expected,
        actual,
        expected.content_type(),
        actual.content_type(),
        rules,
        allow_unexpected_keys,
        &mut sink,
    );
    sink.finish()
}

#[allow(dead_code)]
fn _api_shape() {
    // The public API others call, kept in one place so that a change shows in review.
    let _: fn(&HttpRequest, &HttpRequest, SpecVersion) -> Vec<Mismatch> = match_request;
    let _: fn(&HttpResponse, &HttpResponse, SpecVersion) -> Vec<Mismatch> = match_response;
    let _: fn(&MessageContents, &MessageContents, SpecVersion) -> Vec<Mismatch> = match_message;
    let _: fn(&Body, &Body, &MatchingRules, bool, SpecVersion) -> Vec<Mismatch> = match_body;
    let _: fn(&[Mismatch]) -> String = render_mismatches;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, MatchingRule};
    use serde_json::{Value, json};
    use std::time::{Duration, Instant};

    fn json_body(value: Value) -> Body {
        Body::Json {
            value,
            content_type: Some("application/json".into()),
        }
    }

    #[test]
    fn large_bodies_are_linear() {
        // ~10 MB of JSON (100,000 objects) under a type rule, in a debug build.
        let item = |i: usize| json!({"id": i, "name": format!("item {i}"), "tags": ["a", "b"], "price": 1.5});
        let expected = json_body(json!({"items": [item(0)]}));
        let actual = json_body(json!({"items": (0..100_000).map(item).collect::<Vec<_>>()}));
        let mut rules = MatchingRules::default();
        rules.add(Category::Body, "$.items", MatchingRule::MinType(1));
        let started = Instant::now();
        assert!(match_body(&expected, &actual, &rules, true, SpecVersion::V4).is_empty());
        assert!(started.elapsed() < Duration::from_secs(60));

        // 50 MB of text.
        let text = "x".repeat(50 << 20);
        let expected = Body::Text {
            text: text.clone(),
            content_type: Some("text/plain".into()),
        };
        let mut other = text.clone();
        other.push('y');
        let actual = Body::Text {
            text: other,
            content_type: Some("text/plain".into()),
        };
        let started = Instant::now();
        let m = match_body(
            &expected,
            &actual,
            &MatchingRules::default(),
            true,
            SpecVersion::V4,
        );
        assert_eq!(m.len(), 1);
        assert!(
            m[0].expected.len() < 5000,
            "large values are shortened in mismatches"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn mismatches_are_capped() {
        let expected = json_body(Value::Array((0..5000).map(|i| json!(i)).collect()));
        let actual = json_body(Value::Array((0..5000).map(|i| json!(i + 1)).collect()));
        let m = match_body(
            &expected,
            &actual,
            &MatchingRules::default(),
            true,
            SpecVersion::V4,
        );
        assert_eq!(m.len(), MAX_MISMATCHES + 1);
        assert!(
            m[MAX_MISMATCHES].message.contains("4000 further mismatch"),
            "{}",
            m[MAX_MISMATCHES].message
        );
    }

    #[test]
    fn mismatches_display_in_one_line() {
        let expected = json_body(json!({"a": 1}));
        let actual = json_body(json!({"a": "1"}));
        let m = match_body(
            &expected,
            &actual,
            &MatchingRules::default(),
            true,
            SpecVersion::V4,
        );
        assert_eq!(
            m[0].to_string(),
            "body $.a: Expected 1 (Integer) but received '1' (String)"
        );
    }
}
