//! Inline matchers: `{ $match: regex, pattern: "^pay_", example: pay_7f3a }` anywhere a value
//! may stand. Loading one gives the example value (what a mock serves, what a request sends)
//! and the matching rule(s) at the value's path.
//!
//! This module holds what lowering produces (`Lowered`), where a matcher stands (`Place`) and
//! which kinds there are. `spec` reads a `$match` object into rules, `lower` turns a value
//! with matchers into its example and rules, `check` checks an example against its own rules.

mod check;
mod lower;
mod spec;

pub(crate) use lower::{body, named};
pub(crate) use spec::class_name;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{Category, MatchingRule, RuleList, RuleLogic};

/// Rules and generators found while lowering a value, by path (JSONPath for bodies, the name
/// for headers, query parameters and metadata, `""` for path and status).
#[derive(Debug, Default)]
pub(crate) struct Lowered {
    pub rules: BTreeMap<String, RuleList>,
    pub generators: serde_json::Map<String, Value>,
}

impl Lowered {
    fn add(&mut self, path: &str, rules: &[MatchingRule], logic: RuleLogic) {
        let list = self.rules.entry(path.to_string()).or_default();
        for rule in rules {
            if !list.rules.contains(rule) {
                list.rules.push(rule.clone());
            }
        }
        if logic == RuleLogic::Or {
            list.logic = RuleLogic::Or;
        }
    }
}

/// Where a matcher stands; some matchers only make sense in some places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Body,
    Header,
    Query,
    Metadata,
    Path,
    Status,
}

impl Place {
    pub fn what(self) -> &'static str {
        match self {
            Place::Body => "a body",
            Place::Header => "headers",
            Place::Query => "query",
            Place::Metadata => "headers",
            Place::Path => "path",
            Place::Status => "status",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Place::Body => "body",
            Place::Header | Place::Metadata => "header",
            Place::Query => "query parameter",
            Place::Path => "path",
            Place::Status => "status",
        }
    }

    pub fn category(self) -> Category {
        match self {
            Place::Body => Category::Body,
            Place::Header => Category::Header,
            Place::Query => Category::Query,
            Place::Metadata => Category::Metadata,
            Place::Path => Category::Path,
            Place::Status => Category::Status,
        }
    }

    /// The category name generators are kept under (Pact's).
    pub fn generator_key(self) -> &'static str {
        self.category().pact_name()
    }
}

/// Every matcher, as written after `$match`.
pub(crate) const KINDS: &[&str] = &[
    "equality",
    "type",
    "regex",
    "number",
    "integer",
    "decimal",
    "boolean",
    "null",
    "include",
    "date",
    "time",
    "timestamp",
    "semver",
    "contentType",
    "values",
    "notEmpty",
    "eachLike",
    "arrayContains",
    "eachKey",
    "eachValue",
    "statusCode",
    "and",
    "or",
];

/// The keys a matcher of `kind` takes besides `$match`, `example` and `fromState`.
fn params(kind: &str) -> &'static [&'static str] {
    match kind {
        "type" | "eachLike" => &["min", "max"],
        "regex" => &["pattern"],
        "include" | "contentType" => &["value"],
        "date" | "time" | "timestamp" => &["format"],
        "arrayContains" => &["variants"],
        "eachKey" | "eachValue" | "and" | "or" => &["rules"],
        "statusCode" => &["class", "codes"],
        _ => &[],
    }
}

/// Whether a matcher can stand in `place`.
fn allowed_in(kind: &str, place: Place) -> bool {
    match place {
        Place::Body => kind != "statusCode",
        Place::Status => kind == "statusCode",
        Place::Header | Place::Query | Place::Metadata | Place::Path => matches!(
            kind,
            "equality"
                | "type"
                | "regex"
                | "number"
                | "integer"
                | "decimal"
                | "boolean"
                | "include"
                | "date"
                | "time"
                | "timestamp"
                | "semver"
                | "contentType"
                | "notEmpty"
                | "and"
                | "or"
        ),
    }
}
