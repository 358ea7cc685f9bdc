//! Unit tests of `values.rs`.

use super::*;
use crate::model::StatusClass;
use serde_json::json;

fn ok_json(rule: MatchingRule, e: Value, a: Value) -> bool {
    match_json_value(&CompiledRule::compile(&rule), &e, &a, false).is_ok()
}

fn ok_str(rule: MatchingRule, e: &str, a: &str) -> bool {
    match_str(&CompiledRule::compile(&rule), e, a, false).is_ok()
}

#[test]
fn regexes_match_the_whole_value() {
    let r = || MatchingRule::Regex("\\d+".into());
    assert!(ok_str(r(), "1", "123"));
    assert!(!ok_str(r(), "1", "12a"));
    assert!(!ok_str(r(), "1", "a12"));
    assert!(ok_json(r(), json!(1), json!(4567)));
    assert!(!ok_json(r(), json!(1), json!(4.5)));
    // Alternatives: the longest alternative must be able to span the value.
    let alt = MatchingRule::Regex("^Greater|GreaterOrEqual$".into());
    assert!(ok_str(alt.clone(), "", "Greater"));
    assert!(ok_str(alt, "", "GreaterOrEqual"));
}

#[test]
fn type_matchers_compare_json_types_and_sizes() {
    assert!(ok_json(MatchingRule::Type, json!("a"), json!("b")));
    assert!(!ok_json(MatchingRule::Type, json!("a"), json!(1)));
    assert!(ok_json(MatchingRule::Type, json!(1), json!(2.5)));
    assert!(!ok_json(MatchingRule::Type, json!(null), json!(0)));
    assert!(ok_json(MatchingRule::MinType(2), json!([1]), json!([1, 2])));
    assert!(!ok_json(MatchingRule::MinType(2), json!([1]), json!([1])));
    assert!(!ok_json(
        MatchingRule::MaxType(1),
        json!([1]),
        json!([1, 2])
    ));
    assert!(!ok_json(
        MatchingRule::MinMaxType(1, 2),
        json!([1]),
        json!([])
    ));
    // Cascaded: sizes do not apply.
    let rule = MatchingRule::MinType(5);
    assert!(
        match_json_value(
            &CompiledRule::compile(&rule),
            &json!([1]),
            &json!([1]),
            true
        )
        .is_ok()
    );
}

#[test]
fn number_matchers() {
    assert!(ok_json(MatchingRule::Number, json!(1), json!(2.5)));
    assert!(!ok_json(MatchingRule::Number, json!(1), json!("2")));
    assert!(ok_json(MatchingRule::Integer, json!(1), json!(-7)));
    assert!(!ok_json(MatchingRule::Integer, json!(1), json!(7.5)));
    assert!(ok_json(MatchingRule::Decimal, json!(1.5), json!(7.25)));
    assert!(!ok_json(MatchingRule::Decimal, json!(1.5), json!(7)));
    assert!(ok_str(MatchingRule::Integer, "", "42"));
    assert!(!ok_str(MatchingRule::Integer, "", "4.2"));
    assert!(ok_str(MatchingRule::Decimal, "", "4.2"));
    assert!(!ok_str(MatchingRule::Number, "", "x"));
}

#[test]
fn equality_include_boolean_null() {
    assert!(ok_json(
        MatchingRule::Equality,
        json!({"a": 1}),
        json!({"a": 1})
    ));
    assert!(!ok_json(MatchingRule::Equality, json!(1), json!(1.0)));
    assert!(ok_json(
        MatchingRule::Include("ell".into()),
        json!(""),
        json!("hello")
    ));
    assert!(ok_json(
        MatchingRule::Include("23".into()),
        json!(""),
        json!(1234)
    ));
    assert!(!ok_str(MatchingRule::Include("z".into()), "", "hello"));
    assert!(ok_json(MatchingRule::Boolean, json!(true), json!(false)));
    assert!(ok_json(MatchingRule::Boolean, json!(true), json!("true")));
    assert!(!ok_json(MatchingRule::Boolean, json!(true), json!("yes")));
    assert!(ok_json(MatchingRule::Null, json!(null), json!(null)));
    assert!(!ok_json(MatchingRule::Null, json!(null), json!(0)));
    assert!(!ok_str(MatchingRule::Null, "", ""));
}

#[test]
fn not_empty_and_semver() {
    assert!(!ok_json(MatchingRule::NotEmpty, json!("a"), json!("")));
    assert!(!ok_json(MatchingRule::NotEmpty, json!("a"), json!(null)));
    assert!(!ok_json(MatchingRule::NotEmpty, json!([1]), json!([])));
    assert!(ok_json(MatchingRule::NotEmpty, json!(1), json!(0)));
    assert!(ok_json(
        MatchingRule::Semver,
        json!(""),
        json!("1.2.3-beta.1")
    ));
    assert!(!ok_json(MatchingRule::Semver, json!(""), json!("1.2")));
    assert!(!ok_json(MatchingRule::Semver, json!(""), json!(1)));
}

#[test]
fn dates_times_and_timestamps() {
    assert!(ok_json(
        MatchingRule::Date("yyyy-MM-dd".into()),
        json!(""),
        json!("2024-02-29")
    ));
    assert!(!ok_json(
        MatchingRule::Date("yyyy-MM-dd".into()),
        json!(""),
        json!("2023-02-29")
    ));
    assert!(ok_str(MatchingRule::Time(String::new()), "", "23:59:01"));
    assert!(!ok_str(MatchingRule::Time(String::new()), "", "24:00:01"));
    assert!(ok_str(
        MatchingRule::Timestamp(String::new()),
        "",
        "2020-01-01T10:00:00+01:00"
    ));
    assert!(ok_str(
        MatchingRule::Timestamp("yyyy-MM-dd'T'HH:mm:ss.SSSXXX".into()),
        "",
        "2020-01-01T10:00:00.123Z"
    ));
}

#[test]
fn status_codes() {
    let rule = MatchingRule::StatusCode(StatusClass::Success);
    let c = CompiledRule::compile(&rule);
    assert!(match_status(&c, 200, 204).is_ok());
    assert!(match_status(&c, 200, 404).is_err());
    let rule = MatchingRule::StatusCode(StatusClass::Codes(vec![200, 201]));
    let c = CompiledRule::compile(&rule);
    assert!(match_status(&c, 200, 201).is_ok());
    assert!(match_status(&c, 200, 202).is_err());
    let rule = MatchingRule::StatusCode(StatusClass::NonError);
    assert!(match_status(&CompiledRule::compile(&rule), 0, 399).is_ok());
    let rule = MatchingRule::StatusCode(StatusClass::Error);
    assert!(match_status(&CompiledRule::compile(&rule), 0, 399).is_err());
}

#[test]
fn collections_as_a_whole() {
    let min = MatchingRule::MinType(2);
    let c = CompiledRule::compile(&min);
    assert!(match_collection(&c, &json!([1]), &json!([1]), 1, false, false).is_err());
    assert!(match_collection(&c, &json!([1]), &json!([1]), 1, true, false).is_ok());
    let number = MatchingRule::Number;
    let c = CompiledRule::compile(&number);
    assert!(match_collection(&c, &json!({}), &json!({"a": 1}), 1, false, true).is_err());
    assert!(match_collection(&c, &json!([]), &json!([1]), 1, false, false).is_ok());
}
