//! Rules ready to apply: regexes compiled once (a per-thread cache), date patterns parsed,
//! nested rules compiled; a list of rules applied with its logic (AND/OR); short
//! descriptions of rules for reports. Applying one rule to one value is in
//! [`super::values`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{MatchingRule, RuleLogic, StatusClass};
use regex::Regex;

use super::datetime;
use super::text::sniff_content_type;
use super::trie::{CList, RuleIndex};

pub(crate) use super::values::{
    match_collection, match_json_value, match_status, match_str, type_of, value_of,
};

thread_local! {
    /// Compiled regexes by pattern: rules are compiled once, not once per value or per call.
    /// Shared (`Arc`), so that a regex keeps its search cache from one match call to the next.
    static REGEX_CACHE: RefCell<HashMap<String, Result<Arc<Regex>, String>>> = RefCell::new(HashMap::new());
}

const REGEX_CACHE_LIMIT: usize = 4096;

type DatetimeResult = Result<Arc<datetime::JavaPattern>, String>;

thread_local! {
    /// Compiled date/time patterns by format: each builds a regex, so they are compiled once
    /// per thread, not once per match call.
    static DATETIME_CACHE: RefCell<HashMap<String, DatetimeResult>> = RefCell::new(HashMap::new());
}

/// Compiles a Java date/time pattern (cached per thread, like regexes).
fn compile_datetime(format: &str) -> DatetimeResult {
    DATETIME_CACHE.with(|cache| {
        if let Some(found) = cache.borrow().get(format) {
            return found.clone();
        }
        let compiled = datetime::JavaPattern::parse(format).map(Arc::new);
        let mut cache = cache.borrow_mut();
        if cache.len() >= REGEX_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(format.to_string(), compiled.clone());
        compiled
    })
}

/// Compiles a Pact regex so that it must match the whole value.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    shared_regex(pattern).map(|re| Regex::clone(&re))
}

/// [`compile_regex`], shared with the cache.
fn shared_regex(pattern: &str) -> Result<Arc<Regex>, String> {
    REGEX_CACHE.with(|cache| {
        if let Some(found) = cache.borrow().get(pattern) {
            return found.clone();
        }
        let compiled = regex::RegexBuilder::new(&format!(r"\A(?:{pattern})\z"))
            .size_limit(1 << 24)
            .build()
            .map(Arc::new)
            .map_err(|e| invalid_regex_message(pattern, &e));
        let mut cache = cache.borrow_mut();
        if cache.len() >= REGEX_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(pattern.to_string(), compiled.clone());
        compiled
    })
}

fn invalid_regex_message(pattern: &str, e: &regex::Error) -> String {
    // The builder's message quotes our anchored wrapper; describe the pattern as written.
    let detail = e.to_string();
    let last = detail
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .unwrap_or(detail.as_str());
    format!(
        "'{pattern}' is not a valid regular expression ({})",
        last.trim()
    )
}

/// A rule ready to apply: regexes compiled, date patterns parsed, nested rules compiled.
#[derive(Debug)]
pub(crate) struct CompiledRule<'r> {
    pub rule: &'r MatchingRule,
    pub regex: Option<Result<Arc<Regex>, String>>,
    pub datetime: Option<Result<Arc<datetime::JavaPattern>, String>>,
    /// `eachKey` / `eachValue`: their rules.
    pub inner: Option<Box<CList<'r>>>,
    /// `arrayContains`: each variant's index and rules (relative to the element).
    pub variants: Vec<(usize, RuleIndex<'r>)>,
}

impl<'r> CompiledRule<'r> {
    pub fn compile(rule: &'r MatchingRule) -> Self {
        let mut compiled = CompiledRule {
            rule,
            regex: None,
            datetime: None,
            inner: None,
            variants: Vec::new(),
        };
        match rule {
            MatchingRule::Regex(pattern) => compiled.regex = Some(shared_regex(pattern)),
            MatchingRule::Date(f) => {
                compiled.datetime = Some(compile_datetime(datetime::or_default(
                    f,
                    datetime::Kind::Date,
                )))
            }
            MatchingRule::Time(f) => {
                compiled.datetime = Some(compile_datetime(datetime::or_default(
                    f,
                    datetime::Kind::Time,
                )))
            }
            MatchingRule::Timestamp(f) => {
                compiled.datetime = Some(compile_datetime(datetime::or_default(
                    f,
                    datetime::Kind::Timestamp,
                )))
            }
            MatchingRule::EachKey(rules) | MatchingRule::EachValue(rules) => {
                compiled.inner = Some(Box::new(CList::from_rules(rules, RuleLogic::And)));
            }
            MatchingRule::ArrayContains(variants) => {
                compiled.variants = variants
                    .iter()
                    .map(|v| {
                        let mut index =
                            RuleIndex::build(v.rules.iter().map(|(k, l)| (k.as_str(), l)));
                        if index.is_empty() {
                            // No rules: the variant must equal the example.
                            index.insert(&[], CList::from_rules(EQUALITY, RuleLogic::And));
                        }
                        (v.index, index)
                    })
                    .collect();
            }
            _ => {}
        }
        compiled
    }

    pub(crate) fn regex(&self) -> Result<&Regex, String> {
        match &self.regex {
            Some(Ok(r)) => Ok(r.as_ref()),
            Some(Err(e)) => Err(e.clone()),
            None => Err("regex rule without a pattern".into()),
        }
    }

    pub(crate) fn datetime_check(&self, value: &str) -> Result<(), String> {
        let (what, format) = match self.rule {
            MatchingRule::Date(f) => ("date", datetime::or_default(f, datetime::Kind::Date)),
            MatchingRule::Time(f) => ("time", datetime::or_default(f, datetime::Kind::Time)),
            MatchingRule::Timestamp(f) => (
                "timestamp",
                datetime::or_default(f, datetime::Kind::Timestamp),
            ),
            _ => return Ok(()),
        };
        match &self.datetime {
            Some(Ok(p)) => p.validate(value).map_err(|e| {
                format!("Expected '{value}' to match a {what} pattern of '{format}': {e}")
            }),
            Some(Err(e)) => Err(format!("invalid {what} pattern '{format}': {e}")),
            None => Ok(()),
        }
    }
}

static EQUALITY: &[MatchingRule] = &[MatchingRule::Equality];

/// A short description of a rule for reports: `type`, `regex ^\d+$`, `min 2`.
pub fn describe(rule: &MatchingRule) -> String {
    match rule {
        MatchingRule::Equality => "equality".into(),
        MatchingRule::Regex(r) => format!("regex {r}"),
        MatchingRule::Type => "type".into(),
        MatchingRule::MinType(n) => format!("min {n}"),
        MatchingRule::MaxType(n) => format!("max {n}"),
        MatchingRule::MinMaxType(a, b) => format!("min {a} max {b}"),
        MatchingRule::Number => "number".into(),
        MatchingRule::Integer => "integer".into(),
        MatchingRule::Decimal => "decimal".into(),
        MatchingRule::Boolean => "boolean".into(),
        MatchingRule::Null => "null".into(),
        MatchingRule::Include(s) => format!("include {s}"),
        MatchingRule::Date(f) => format!("date {}", datetime::or_default(f, datetime::Kind::Date)),
        MatchingRule::Time(f) => format!("time {}", datetime::or_default(f, datetime::Kind::Time)),
        MatchingRule::Timestamp(f) => format!(
            "timestamp {}",
            datetime::or_default(f, datetime::Kind::Timestamp)
        ),
        MatchingRule::ContentType(t) => format!("contentType {t}"),
        MatchingRule::Values => "values".into(),
        MatchingRule::NotEmpty => "notEmpty".into(),
        MatchingRule::Semver => "semver".into(),
        MatchingRule::StatusCode(c) => format!("statusCode {}", describe_status(c)),
        MatchingRule::ArrayContains(_) => "arrayContains".into(),
        MatchingRule::EachKey(_) => "eachKey".into(),
        MatchingRule::EachValue(_) => "eachValue".into(),
    }
}

/// The description of a list of rules (those that failed, usually).
pub fn describe_list<'a>(
    rules: impl IntoIterator<Item = &'a MatchingRule>,
    logic: RuleLogic,
) -> String {
    let parts: Vec<String> = rules.into_iter().map(describe).collect();
    let sep = match logic {
        RuleLogic::And => " and ",
        RuleLogic::Or => " or ",
    };
    parts.join(sep)
}

pub fn describe_status(class: &StatusClass) -> String {
    match class {
        StatusClass::Information => "information (100-199)".into(),
        StatusClass::Success => "success (200-299)".into(),
        StatusClass::Redirect => "redirect (300-399)".into(),
        StatusClass::ClientError => "clientError (400-499)".into(),
        StatusClass::ServerError => "serverError (500-599)".into(),
        StatusClass::NonError => "nonError (below 400)".into(),
        StatusClass::Error => "error (400 and above)".into(),
        StatusClass::Codes(codes) => {
            let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
            format!("[{}]", codes.join(", "))
        }
    }
}

fn status_in_class(code: u16, class: &StatusClass) -> bool {
    match class {
        StatusClass::Information => (100..=199).contains(&code),
        StatusClass::Success => (200..=299).contains(&code),
        StatusClass::Redirect => (300..=399).contains(&code),
        StatusClass::ClientError => (400..=499).contains(&code),
        StatusClass::ServerError => (500..=599).contains(&code),
        StatusClass::NonError => code < 400,
        StatusClass::Error => code >= 400,
        StatusClass::Codes(codes) => codes.contains(&code),
    }
}

pub(crate) fn check_status(code: u16, class: &StatusClass) -> Result<(), String> {
    if status_in_class(code, class) {
        Ok(())
    } else {
        Err(format!(
            "Expected status code {code} to be {}",
            describe_status(class)
        ))
    }
}

/// Truncates long text for messages (on a character boundary).
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// The outcome of applying a rule list: `Ok`, or the failing rules' messages and description.
pub(crate) struct Failure {
    pub messages: Vec<String>,
    pub rule: String,
}

/// Applies a list of rules with its logic (AND: all must pass; OR: one must pass).
#[inline]
pub(crate) fn apply_list<'r>(
    list: &CList<'r>,
    mut apply: impl FnMut(&CompiledRule<'r>) -> Result<(), String>,
) -> Result<(), Failure> {
    if let [rule] = list.rules.as_slice() {
        return apply(rule).map_err(|message| Failure {
            messages: vec![message],
            rule: describe(rule.rule),
        });
    }
    let mut messages = Vec::new();
    let mut failed = Vec::new();
    let mut any_ok = false;
    for rule in &list.rules {
        match apply(rule) {
            Ok(()) => any_ok = true,
            Err(m) => {
                messages.push(m);
                failed.push(rule.rule);
            }
        }
    }
    let ok = match list.logic {
        RuleLogic::And => messages.is_empty(),
        RuleLogic::Or => any_ok || list.rules.is_empty(),
    };
    if ok {
        Ok(())
    } else {
        Err(Failure {
            messages,
            rule: describe_list(failed, list.logic),
        })
    }
}

/// Does `data` look like `expected_type`? (Pact's `contentType` matcher, by sniffing.)
pub(crate) fn check_content_type(data: &[u8], expected_type: &str) -> Result<(), String> {
    let detected = sniff_content_type(data);
    let want = essence(expected_type);
    let ok = want == detected
        || (want.ends_with("+json") || want == "text/json") && detected == "application/json"
        || (want.ends_with("+xml") || want == "text/xml") && detected == "application/xml"
        || want.starts_with("text/") && detected == "text/plain"
        || want == "application/octet-stream";
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Expected data to have a content type of '{expected_type}' but it looks like '{detected}'"
        ))
    }
}

/// A content type's `type/subtype`, lower case.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArrayContainsVariant;

    #[test]
    fn invalid_regexes_are_reported() {
        let rule = MatchingRule::Regex("(".into());
        let err = match_str(&CompiledRule::compile(&rule), "", "x", false).expect_err("invalid");
        assert!(err.contains("not a valid regular expression"), "{err}");
        assert!(compile_regex("a(").is_err());
    }

    #[test]
    fn content_types_by_sniffing() {
        assert!(check_content_type(b"{\"a\":1}", "application/json").is_ok());
        assert!(check_content_type(b"<a/>", "application/xml").is_ok());
        assert!(check_content_type(b"hello", "text/plain").is_ok());
        assert!(check_content_type(b"\x89PNG\r\n\x1a\n....", "image/png").is_ok());
        assert!(check_content_type(b"hello", "image/png").is_err());
    }

    #[test]
    fn rule_lists_combine_with_and_or() {
        let rules = vec![
            MatchingRule::Regex("a+".into()),
            MatchingRule::Regex("b+".into()),
        ];
        let and = CList::from_rules(&rules, RuleLogic::And);
        let or = CList::from_rules(&rules, RuleLogic::Or);
        assert!(apply_list(&and, |r| match_str(r, "", "aa", false)).is_err());
        assert!(apply_list(&or, |r| match_str(r, "", "aa", false)).is_ok());
        let failure = apply_list(&or, |r| match_str(r, "", "cc", false)).expect_err("fails");
        assert_eq!(failure.rule, "regex a+ or regex b+");
        assert_eq!(failure.messages.len(), 2);
    }

    #[test]
    fn nested_rules_are_compiled() {
        let rule = MatchingRule::ArrayContains(vec![ArrayContainsVariant::default()]);
        let c = CompiledRule::compile(&rule);
        assert_eq!(c.variants.len(), 1);
        let rule = MatchingRule::EachKey(vec![MatchingRule::Regex("[a-z]+".into())]);
        let c = CompiledRule::compile(&rule);
        assert_eq!(c.inner.as_ref().map(|l| l.rules.len()), Some(1));
    }

    #[test]
    fn descriptions_are_short() {
        assert_eq!(
            describe(&MatchingRule::Regex("^\\d+$".into())),
            "regex ^\\d+$"
        );
        assert_eq!(describe(&MatchingRule::MinType(2)), "min 2");
        assert_eq!(
            describe(&MatchingRule::StatusCode(StatusClass::Codes(vec![
                200, 204
            ]))),
            "statusCode [200, 204]"
        );
        assert_eq!(
            describe(&MatchingRule::Timestamp(String::new())),
            "timestamp yyyy-MM-dd'T'HH:mm:ssXXX"
        );
    }
}
