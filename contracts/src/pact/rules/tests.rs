use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::model::{
    ArrayContainsVariant, Category, MatchingRule, MatchingRules, RuleList, RuleLogic, StatusClass,
};

fn rule(v: Value) -> MatchingRule {
    parse_rule(&v, "m").expect("parses")
}

fn err(v: Value) -> String {
    parse_rule(&v, "interactions[0].matchingRules.body['$.a'].matchers[0]")
        .expect_err("rejected")
        .to_string()
}

#[test]
fn parses_every_matcher() {
    use MatchingRule as R;
    let cases = vec![
        (json!({"match": "equality"}), R::Equality),
        (
            json!({"match": "regex", "regex": "\\d+"}),
            R::Regex("\\d+".into()),
        ),
        (json!({"match": "type"}), R::Type),
        (json!({"match": "type", "min": 1}), R::MinType(1)),
        (json!({"match": "type", "max": "3"}), R::MaxType(3)),
        (
            json!({"match": "type", "min": 1, "max": 3}),
            R::MinMaxType(1, 3),
        ),
        (json!({"min": 2}), R::MinType(2)),
        (json!({"max": 2}), R::MaxType(2)),
        (json!({"match": "min", "min": 2}), R::MinType(2)),
        (json!({"match": "max", "max": 5}), R::MaxType(5)),
        (json!({"match": "number"}), R::Number),
        (json!({"match": "integer"}), R::Integer),
        (json!({"match": "decimal"}), R::Decimal),
        (json!({"match": "real"}), R::Decimal),
        (json!({"match": "boolean"}), R::Boolean),
        (json!({"match": "null"}), R::Null),
        (
            json!({"match": "include", "value": "x"}),
            R::Include("x".into()),
        ),
        (
            json!({"match": "date", "format": "yyyy-MM-dd"}),
            R::Date("yyyy-MM-dd".into()),
        ),
        (
            json!({"match": "date", "date": "dd/MM/yyyy"}),
            R::Date("dd/MM/yyyy".into()),
        ),
        (
            json!({"match": "time", "time": "HH:mm"}),
            R::Time("HH:mm".into()),
        ),
        (
            json!({"match": "timestamp", "timestamp": "yyyy"}),
            R::Timestamp("yyyy".into()),
        ),
        (
            json!({"match": "datetime", "format": "yyyy"}),
            R::Timestamp("yyyy".into()),
        ),
        (json!({"match": "date"}), R::Date(String::new())),
        (
            json!({"timestamp": "yyyy-MM-dd HH:mm"}),
            R::Timestamp("yyyy-MM-dd HH:mm".into()),
        ),
        (json!({"regex": "a+"}), R::Regex("a+".into())),
        (
            json!({"match": "contentType", "value": "image/png"}),
            R::ContentType("image/png".into()),
        ),
        (json!({"match": "values"}), R::Values),
        (json!({"match": "notEmpty"}), R::NotEmpty),
        (json!({"match": "semver"}), R::Semver),
        (
            json!({"match": "statusCode", "status": "clientError"}),
            R::StatusCode(StatusClass::ClientError),
        ),
        (
            json!({"match": "statusCode", "status": "info"}),
            R::StatusCode(StatusClass::Information),
        ),
        (
            json!({"match": "statusCode", "status": [200, "201"]}),
            R::StatusCode(StatusClass::Codes(vec![200, 201])),
        ),
        (
            json!({"match": "statusCode"}),
            R::StatusCode(StatusClass::Success),
        ),
        (
            json!({"match": "eachKey", "rules": [{"match": "regex", "regex": "[a-z]+"}], "value": "x"}),
            R::EachKey(vec![R::Regex("[a-z]+".into())]),
        ),
        (
            json!({"match": "eachValue", "rules": [{"match": "type"}]}),
            R::EachValue(vec![R::Type]),
        ),
    ];
    for (json, want) in cases {
        assert_eq!(rule(json.clone()), want, "{json}");
    }
}

#[test]
fn parses_array_contains_variants() {
    let r = rule(json!({
        "match": "arrayContains",
        "variants": [
            {"index": 0, "rules": {"$.id": {"combine": "AND", "matchers": [{"match": "integer"}]}},
             "generators": {"$.id": {"type": "RandomInt"}}},
            {"index": 1}
        ]
    }));
    let MatchingRule::ArrayContains(variants) = r else {
        panic!("not arrayContains")
    };
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0].rules["$.id"].rules, vec![MatchingRule::Integer]);
    assert!(variants[0].generators.contains_key("$.id"));
    assert_eq!(variants[1].index, 1);
    assert!(variants[1].rules.is_empty());
}

#[test]
fn errors_say_where_and_what() {
    let e = err(json!({"match": "bogus"}));
    assert!(
        e.contains("interactions[0].matchingRules.body['$.a'].matchers[0].match"),
        "{e}"
    );
    assert!(e.contains("unknown matcher type \"bogus\""), "{e}");
    assert!(e.contains("arrayContains") && e.contains("semver"), "{e}");
    let e = err(json!({"match": "regex", "regex": "(unclosed"}));
    assert!(
        e.contains(".regex") && e.contains("not a valid regular expression"),
        "{e}"
    );
    assert!(err(json!({"match": "regex"})).contains("needs \"regex\""));
    assert!(err(json!({"match": "include"})).contains("needs \"value\""));
    assert!(err(json!({"match": "type", "min": -1})).contains("min"));
    assert!(err(json!({"match": "date", "format": "yyyy-bb"})).contains("unknown pattern letter"));
    assert!(err(json!({"match": "statusCode", "status": "teapot"})).contains("teapot"));
    assert!(err(json!({"stuff": 1})).contains("needs \"match\""));
    assert!(err(json!("type")).contains("must be an object"));
    assert!(err(json!({"match": "eachKey", "rules": [{"match": "nope"}]})).contains("rules[0]"));
}

#[test]
fn parses_v3_layout() {
    let rules = parse_v3(
        &json!({
            "path": {"matchers": [{"match": "regex", "regex": "\\w+"}]},
            "query": {"Q1": {"matchers": [{"match": "regex", "regex": "\\d+"}]}},
            "header": {"HEADERY": {"combine": "OR", "matchers": [
                {"match": "include", "value": "ValueA"}, {"match": "include", "value": "ValueB"}]}},
            "body": {
                "$.animals": {"matchers": [{"min": 1, "match": "type"}]},
                "$.animals[*].children": {"matchers": [{"min": 1}]}
            },
            "status": {"matchers": [{"match": "statusCode", "status": "success"}]},
            "metadata": {"topic": {"matchers": [{"match": "type"}]}}
        }),
        "request.matchingRules",
    )
    .expect("parses");
    let path = &rules.categories[&Category::Path][""];
    assert_eq!(path.rules, vec![MatchingRule::Regex("\\w+".into())]);
    let header = &rules.categories[&Category::Header]["HEADERY"];
    assert_eq!(header.logic, RuleLogic::Or);
    assert_eq!(header.rules.len(), 2);
    assert_eq!(
        rules.categories[&Category::Body]["$.animals"].rules,
        vec![MatchingRule::MinType(1)]
    );
    assert_eq!(
        rules.categories[&Category::Body]["$.animals[*].children"].rules,
        vec![MatchingRule::MinType(1)]
    );
    assert!(rules.categories[&Category::Status].contains_key(""));
    assert!(rules.categories[&Category::Metadata].contains_key("topic"));
    let content = parse_v3(
        &json!({"content": {"$.a": {"matchers": [{"match": "type"}]}}}),
        "m",
    )
    .expect("V4 message content");
    assert!(content.categories[&Category::Body].contains_key("$.a"));
}

#[test]
fn v3_errors() {
    let e = parse_v3(&json!({"bogus": {}}), "x.matchingRules")
        .expect_err("category")
        .to_string();
    assert!(
        e.contains("x.matchingRules.bogus") && e.contains("unknown matching rule category"),
        "{e}"
    );
    let e = parse_v3(&json!({"body": {"$a": {"matchers": []}}}), "x")
        .expect_err("path")
        .to_string();
    assert!(e.contains("x.body['$a']"), "{e}");
    let e = parse_v3(
        &json!({"body": {"$.a": {"combine": "XOR", "matchers": []}}}),
        "x",
    )
    .expect_err("combine")
    .to_string();
    assert!(e.contains("combine"), "{e}");
}

#[test]
fn parses_v2_layout() {
    let rules = parse_v2(
        &json!({
            "$.path": {"match": "regex", "regex": "\\w+"},
            "$.query.Q1": {"match": "regex", "regex": "\\d+"},
            "$.headers.Accept": {"match": "regex", "regex": "\\w+"},
            "$.header.HEADERY": {"match": "include", "value": "ValueA"},
            "$.body.animals": {"min": 1, "match": "type"},
            "$.body.animals[*].*": {"match": "type"},
            "$.body['two']['@str']": {"match": "regex", "regex": "\\w+"},
            "$.body[0].id": {"match": "type"},
            "$.body": {"match": "type"}
        }),
        "request.matchingRules",
    )
    .expect("parses");
    assert!(rules.categories[&Category::Path].contains_key(""));
    assert!(rules.categories[&Category::Query].contains_key("Q1"));
    assert!(rules.categories[&Category::Header].contains_key("Accept"));
    assert!(rules.categories[&Category::Header].contains_key("HEADERY"));
    let body = &rules.categories[&Category::Body];
    for key in [
        "$.animals",
        "$.animals[*].*",
        "$['two']['@str']",
        "$[0].id",
        "$",
    ] {
        assert!(body.contains_key(key), "{key} in {body:?}");
    }
    let e = parse_v2(&json!({"$.cookies.x": {"match": "type"}}), "m")
        .expect_err("unknown")
        .to_string();
    assert!(e.contains("$.cookies.x"), "{e}");
}

#[test]
fn writes_what_pact_writes() {
    assert_eq!(
        write_rule(&MatchingRule::MinType(1)),
        json!({"match": "type", "min": 1})
    );
    assert_eq!(
        write_rule(&MatchingRule::Timestamp("yyyy".into())),
        json!({"match": "datetime", "format": "yyyy"})
    );
    assert_eq!(
        write_rule(&MatchingRule::StatusCode(StatusClass::Information)),
        json!({"match": "statusCode", "status": "info"})
    );
    let mut rules = MatchingRules::default();
    rules.add(Category::Body, "$.a.b", MatchingRule::Type);
    rules.add(Category::Path, "", MatchingRule::Regex("/path/\\d+".into()));
    rules.add(Category::Query, "a", MatchingRule::Regex("\\w+".into()));
    rules.add(Category::Header, "item1", MatchingRule::Regex("5".into()));
    assert_eq!(
        write_v3(&rules),
        json!({
            "body": {"$.a.b": {"combine": "AND", "matchers": [{"match": "type"}]}},
            "header": {"item1": {"combine": "AND", "matchers": [{"match": "regex", "regex": "5"}]}},
            "path": {"combine": "AND", "matchers": [{"match": "regex", "regex": "/path/\\d+"}]},
            "query": {"a": {"combine": "AND", "matchers": [{"match": "regex", "regex": "\\w+"}]}}
        })
    );
    assert_eq!(
        write_v2(&rules),
        json!({
            "$.body.a.b": {"match": "type"},
            "$.headers.item1": {"match": "regex", "regex": "5"},
            "$.path": {"match": "regex", "regex": "/path/\\d+"},
            "$.query.a": {"match": "regex", "regex": "\\w+"}
        })
    );
}

#[test]
fn round_trips() {
    let mut rules = MatchingRules::default();
    let all = vec![
        MatchingRule::Equality,
        MatchingRule::Regex("^\\d+$".into()),
        MatchingRule::Type,
        MatchingRule::MinType(1),
        MatchingRule::MaxType(2),
        MatchingRule::MinMaxType(1, 2),
        MatchingRule::Number,
        MatchingRule::Integer,
        MatchingRule::Decimal,
        MatchingRule::Boolean,
        MatchingRule::Null,
        MatchingRule::Include("x".into()),
        MatchingRule::Date("yyyy-MM-dd".into()),
        MatchingRule::Time(String::new()),
        MatchingRule::Timestamp("yyyy-MM-dd'T'HH:mm:ssXXX".into()),
        MatchingRule::ContentType("image/png".into()),
        MatchingRule::Values,
        MatchingRule::NotEmpty,
        MatchingRule::Semver,
        MatchingRule::StatusCode(StatusClass::Codes(vec![200, 204])),
        MatchingRule::EachKey(vec![MatchingRule::Regex("[a-z]+".into())]),
        MatchingRule::EachValue(vec![MatchingRule::Type]),
        MatchingRule::ArrayContains(vec![ArrayContainsVariant {
            index: 0,
            rules: [(
                "$.id".to_string(),
                RuleList {
                    rules: vec![MatchingRule::Integer],
                    logic: RuleLogic::And,
                },
            )]
            .into_iter()
            .collect(),
            generators: BTreeMap::new(),
        }]),
    ];
    for (i, r) in all.into_iter().enumerate() {
        rules.add(Category::Body, format!("$.f{i}"), r);
    }
    rules.add(
        Category::Status,
        "",
        MatchingRule::StatusCode(StatusClass::Error),
    );
    let back = parse_v3(&write_v3(&rules), "m").expect("reads back");
    assert_eq!(back, rules);
}
