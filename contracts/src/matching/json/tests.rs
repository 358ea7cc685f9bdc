//! Unit tests of JSON matching.

use super::*;
use crate::model::{ArrayContainsVariant, RuleList, RuleLogic};
use serde_json::json;
use std::collections::BTreeMap;

fn run(e: Value, a: Value, rules: &[(&str, MatchingRule)], allow: bool) -> Vec<Mismatch> {
    let lists: Vec<(String, RuleList)> = rules
        .iter()
        .map(|(k, r)| {
            (
                k.to_string(),
                RuleList {
                    rules: vec![r.clone()],
                    logic: RuleLogic::And,
                },
            )
        })
        .collect();
    let index = RuleIndex::build(lists.iter().map(|(k, v)| (k.as_str(), v)));
    let mut sink = Sink::default();
    match_json(&e, &a, &index, allow, &mut sink);
    sink.finish()
}

#[test]
fn objects_and_unexpected_keys() {
    let e = json!({"a": {"name": "Mary"}});
    let a = json!({"a": {"name": "Mary", "phone": "1"}});
    assert!(run(e.clone(), a.clone(), &[], true).is_empty());
    let m = run(e, a, &[], false);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].path, "$.a.phone");
    let m = run(json!({"a": 1, "b": 2}), json!({"a": 1}), &[], true);
    assert_eq!(m[0].path, "$.b");
    assert!(m[0].message.contains("missing"));
}

#[test]
fn arrays_without_rules_need_the_same_items() {
    assert!(run(json!([1, 2]), json!([1, 2]), &[], true).is_empty());
    assert_eq!(run(json!([1, 2]), json!([2, 1]), &[], true).len(), 2);
    let m = run(json!([1, 2]), json!([1]), &[], true);
    assert_eq!(m[0].path, "$[1]");
    let m = run(json!([1]), json!([1, null]), &[], true);
    assert_eq!(m[0].path, "$[1]");
    assert!(!run(json!([]), json!([1]), &[], true).is_empty());
}

#[test]
fn type_rules_cascade_and_pad() {
    let rules = [("$.animals", MatchingRule::MinType(1))];
    let e = json!({"animals": [{"name": "Fred"}]});
    assert!(
        run(
            e.clone(),
            json!({"animals": [{"name": "Mary"}, {"name": "Jo"}]}),
            &rules,
            false
        )
        .is_empty()
    );
    let m = run(e.clone(), json!({"animals": [{"name": 1}]}), &rules, false);
    assert_eq!(m[0].path, "$.animals[0].name");
    assert_eq!(m[0].rule.as_deref(), Some("min 1"));
    let m = run(e, json!({"animals": []}), &rules, false);
    assert_eq!(m[0].rule.as_deref(), Some("min 1"));
}

#[test]
fn values_and_each_key() {
    let rules = [("$.m", MatchingRule::Values)];
    let e = json!({"m": {"a": 1}});
    assert!(
        run(
            e.clone(),
            json!({"m": {"x": 2, "y": 3}}),
            &[("$.m", MatchingRule::Values), ("$.m.*", MatchingRule::Type)],
            false
        )
        .is_empty()
    );
    assert!(!run(e.clone(), json!({"m": {"x": 2}}), &rules, false).is_empty());
    let each_key = MatchingRule::EachKey(vec![MatchingRule::Regex("[a-z]+".into())]);
    let rules = [("$.m", each_key), ("$.m.*", MatchingRule::Type)];
    assert!(run(e.clone(), json!({"m": {"a": 1, "b": 2}}), &rules, false).is_empty());
    let m = run(e, json!({"m": {"a": 1, "B2": 2}}), &rules, false);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].path, "$.m.B2");
}

#[test]
fn each_value_applies_its_rules_to_every_item() {
    let rule = MatchingRule::EachValue(vec![MatchingRule::Regex("\\d+".into())]);
    let rules = [("$.ids", rule)];
    let e = json!({"ids": ["1"]});
    assert!(run(e.clone(), json!({"ids": ["1", "22", "333"]}), &rules, false).is_empty());
    let m = run(e, json!({"ids": ["1", "x"]}), &rules, false);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].path, "$.ids[1]");
}

#[test]
fn array_contains_finds_variants_anywhere() {
    let mut variant_rules = BTreeMap::new();
    variant_rules.insert(
        "$.id".to_string(),
        RuleList {
            rules: vec![MatchingRule::Integer],
            logic: RuleLogic::And,
        },
    );
    let rule = MatchingRule::ArrayContains(vec![
        ArrayContainsVariant {
            index: 0,
            rules: variant_rules,
            generators: BTreeMap::new(),
        },
        ArrayContainsVariant {
            index: 1,
            ..ArrayContainsVariant::default()
        },
    ]);
    let rules = [("$", rule)];
    let e = json!([{"id": 1, "kind": "a"}, {"kind": "b"}]);
    assert!(
        run(
            e.clone(),
            json!([{"kind": "c"}, {"kind": "b"}, {"id": 7, "kind": "a"}]),
            &rules,
            true
        )
        .is_empty()
    );
    let m = run(e, json!([{"id": 7, "kind": "a"}]), &rules, true);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].message.contains("variant 1"));
}

#[test]
fn deep_nesting_is_bounded() {
    let mut v = json!(1);
    for _ in 0..400 {
        v = json!([v]);
    }
    let m = run(v.clone(), v.clone(), &[], true);
    assert_eq!(m.len(), 1);
    assert!(m[0].message.contains("nested deeper"));
    // Unwind iteratively rather than rely on a recursive drop.
    while let Value::Array(mut items) = v {
        v = items.pop().unwrap_or(Value::Null);
    }
}

#[test]
fn or_logic_passes_when_one_rule_passes() {
    let lists = [(
        "$.a".to_string(),
        RuleList {
            rules: vec![MatchingRule::Regex("x+".into()), MatchingRule::Integer],
            logic: RuleLogic::Or,
        },
    )];
    let index = RuleIndex::build(lists.iter().map(|(k, v)| (k.as_str(), v)));
    let mut sink = Sink::default();
    match_json(&json!({"a": 1}), &json!({"a": 5}), &index, true, &mut sink);
    assert!(sink.is_empty());
    match_json(
        &json!({"a": 1}),
        &json!({"a": "y"}),
        &index,
        true,
        &mut sink,
    );
    assert_eq!(sink.len(), 2);
}
