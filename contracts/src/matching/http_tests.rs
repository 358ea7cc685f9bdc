//! Unit tests of `http.rs`.

use super::*;
use crate::model::{MatchingRule, StatusClass};

fn headers(pairs: &[(&str, &str)]) -> Option<Headers> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect(),
    )
}

fn req_headers(e: &[(&str, &str)], a: &[(&str, &str)]) -> Vec<Mismatch> {
    let expected = HttpRequest {
        headers: headers(e),
        ..HttpRequest::default()
    };
    let actual = HttpRequest {
        headers: headers(a),
        ..HttpRequest::default()
    };
    match_request(&expected, &actual, SpecVersion::V4)
}

#[test]
fn headers_by_name_case_insensitively_and_values_by_comma_lists() {
    assert!(req_headers(&[("Accept", "alligators")], &[("ACCEPT", "alligators")]).is_empty());
    assert!(!req_headers(&[("Accept", "alligators")], &[("Accept", "Alligators")]).is_empty());
    assert!(req_headers(&[("X", "a,b")], &[("x", "a, b")]).is_empty());
    assert!(!req_headers(&[("X", "a, b")], &[("x", "b, a")]).is_empty());
    assert!(req_headers(&[], &[("X", "y")]).is_empty());
    assert!(!req_headers(&[("X", "y")], &[]).is_empty());
}

#[test]
fn media_types_by_essence_and_parameters() {
    assert_eq!(
        media_type_difference("application/json", "application/json; charset=UTF-8"),
        None
    );
    assert_eq!(
        media_type_difference(
            "application/json;charset=utf-8",
            "application/json; charset=UTF-8"
        ),
        None
    );
    assert!(
        media_type_difference(
            "application/json; charset=UTF-16",
            "application/json; charset=UTF-8"
        )
        .is_some()
    );
    assert_eq!(
        media_type_difference("Text/x-a; a=1;\n b=\"2\"", "Text/x-a; b=\"2\"; a=1"),
        None
    );
    assert!(media_type_difference("alligators", "Alligators").is_some());
    assert!(media_type_difference("application/json", "application/xml").is_some());
}

#[test]
fn query_parameters() {
    let q = |s: &str| Some(parse_query(s));
    let run = |e: &str, a: &str| {
        let expected = HttpRequest {
            query: q(e),
            ..HttpRequest::default()
        };
        let actual = HttpRequest {
            query: q(a),
            ..HttpRequest::default()
        };
        match_request(&expected, &actual, SpecVersion::V4)
    };
    assert!(run("a=1&b=2", "b=2&a=1").is_empty());
    assert!(!run("a=1&a=2", "a=2&a=1").is_empty());
    assert!(!run("a=1", "a=1&b=2").is_empty());
    assert!(!run("a=1&b=2", "a=1").is_empty());
    assert!(run("o=x=y", "o=x%3Dy").is_empty());
    assert!(run("a=1&", "a=1").is_empty());
}

#[test]
fn query_strings_in_v1() {
    assert!(match_query_string("a=1&b=2", "a=1&b=2").is_empty());
    assert!(match_query_string("o=x=y&b=1", "o=x%3Dy&b=1").is_empty());
    assert!(!match_query_string("a=1&b=2", "b=2&a=1").is_empty());
    assert!(!match_query_string("a=1&b=2", "a=1&b=2&").is_empty());
}

#[test]
fn status_by_equality_or_class() {
    let mut e = HttpResponse {
        status: 200,
        ..HttpResponse::default()
    };
    let a = HttpResponse {
        status: 204,
        ..HttpResponse::default()
    };
    assert!(!match_response(&e, &a, SpecVersion::V4).is_empty());
    e.rules.add(
        Category::Status,
        "",
        MatchingRule::StatusCode(StatusClass::Success),
    );
    assert!(match_response(&e, &a, SpecVersion::V4).is_empty());
}

#[test]
fn method_path_and_their_rules() {
    let mut e = HttpRequest {
        method: "POST".into(),
        path: "/items/1".into(),
        ..HttpRequest::default()
    };
    let a = HttpRequest {
        method: "post".into(),
        path: "/items/42".into(),
        ..HttpRequest::default()
    };
    let m = match_request(&e, &a, SpecVersion::V4);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].part, Part::Path);
    e.rules.add(
        Category::Path,
        "",
        MatchingRule::Regex("/items/\\d+".into()),
    );
    assert!(match_request(&e, &a, SpecVersion::V4).is_empty());
}

#[test]
fn header_rules_by_name() {
    let mut e = HttpRequest {
        headers: headers(&[("X-Id", "1")]),
        ..HttpRequest::default()
    };
    e.rules
        .add(Category::Header, "x-id", MatchingRule::Regex("\\d+".into()));
    let a = HttpRequest {
        headers: headers(&[("x-ID", "123")]),
        ..HttpRequest::default()
    };
    assert!(match_request(&e, &a, SpecVersion::V4).is_empty());
    let a = HttpRequest {
        headers: headers(&[("x-ID", "abc")]),
        ..HttpRequest::default()
    };
    assert_eq!(match_request(&e, &a, SpecVersion::V4).len(), 1);
}
