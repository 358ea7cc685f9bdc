use serde_json::json;

use super::*;
use crate::model::{
    HttpRequest, HttpResponse, InteractionCommon, MatchingRule, MessageContents, PayloadSchema,
};

fn http(description: &str, body: Value, rules: &[(&str, MatchingRule)]) -> Interaction {
    let mut response = HttpResponse {
        status: 201,
        body: Body::Json {
            value: body,
            content_type: Some("application/json".into()),
        },
        ..HttpResponse::default()
    };
    for (path, rule) in rules {
        response.rules.add(Category::Body, *path, rule.clone());
    }
    Interaction::Http(HttpInteraction {
        common: InteractionCommon {
            description: description.into(),
            ..InteractionCommon::default()
        },
        request: HttpRequest {
            method: "POST".into(),
            path: "/api/charge".into(),
            ..HttpRequest::default()
        },
        response,
    })
}

fn contract(interactions: Vec<Interaction>) -> Contract {
    Contract {
        consumer: "order-service".into(),
        provider: "payment-service".into(),
        interactions,
        ..Contract::default()
    }
}

fn verdicts(d: &ContractDiff) -> Vec<(Verdict, String)> {
    d.changes
        .iter()
        .map(|c| (c.verdict, c.what.clone()))
        .collect()
}

#[test]
fn no_change_no_findings() {
    let c = contract(vec![http(
        "charge",
        json!({"paymentId": "pay_1"}),
        &[("$.paymentId", MatchingRule::Regex("^pay_".into()))],
    )]);
    assert!(diff_contracts(&c, &c).changes.is_empty());
}

#[test]
fn a_new_field_is_breaking_a_dropped_one_safe() {
    let old = contract(vec![http(
        "charge",
        json!({"paymentId": "pay_1", "status": "approved"}),
        &[],
    )]);
    let new = contract(vec![http(
        "charge",
        json!({"paymentId": "pay_1", "amount": 5}),
        &[],
    )]);
    let d = diff_contracts(&old, &new);
    assert!(d.is_breaking());
    let v = verdicts(&d);
    assert!(
        v.contains(&(
            Verdict::Breaking,
            "response body field $.amount now relied on".into()
        )),
        "{v:?}"
    );
    assert!(
        v.contains(&(
            Verdict::Safe,
            "response body field $.status no longer relied on".into()
        )),
        "{v:?}"
    );
}

#[test]
fn tighter_matchers_break_looser_ones_do_not() {
    let typed = contract(vec![http(
        "charge",
        json!({"paymentId": "pay_1"}),
        &[("$.paymentId", MatchingRule::Type)],
    )]);
    let regex = contract(vec![http(
        "charge",
        json!({"paymentId": "pay_1"}),
        &[("$.paymentId", MatchingRule::Regex("^pay_".into()))],
    )]);
    let d = diff_contracts(&typed, &regex);
    assert_eq!(
        verdicts(&d),
        vec![(
            Verdict::Breaking,
            "response body $.paymentId: type → regex ^pay_".to_string()
        )]
    );
    let d = diff_contracts(&regex, &typed);
    assert_eq!(
        verdicts(&d),
        vec![(
            Verdict::Safe,
            "response body $.paymentId: regex ^pay_ → type".to_string()
        )]
    );
}

#[test]
fn an_exact_value_changed_is_breaking_an_example_under_a_rule_is_not() {
    let old = contract(vec![http(
        "charge",
        json!({"status": "approved", "id": "a"}),
        &[("$.id", MatchingRule::Type)],
    )]);
    let new = contract(vec![http(
        "charge",
        json!({"status": "accepted", "id": "b"}),
        &[("$.id", MatchingRule::Type)],
    )]);
    let d = diff_contracts(&old, &new);
    assert_eq!(
        verdicts(&d),
        vec![(
            Verdict::Breaking,
            "response body $.status: now exactly \"accepted\" (was \"approved\")".to_string()
        )]
    );
}

#[test]
fn type_rules_cascade_to_array_elements() {
    let rules = [("$.items", MatchingRule::MinType(1))];
    let old = contract(vec![http(
        "list",
        json!({"items": [{"sku": "A1"}]}),
        &rules,
    )]);
    let new = contract(vec![http(
        "list",
        json!({"items": [{"sku": "B2"}]}),
        &rules,
    )]);
    assert!(
        diff_contracts(&old, &new).changes.is_empty(),
        "{:?}",
        diff_contracts(&old, &new)
    );
}

#[test]
fn interactions_added_and_dropped() {
    let a = http("charge", json!({}), &[]);
    let b = http("refund", json!({}), &[]);
    let d = diff_contracts(&contract(vec![a.clone()]), &contract(vec![b]));
    let v = verdicts(&d);
    assert!(v.contains(&(Verdict::Breaking, "new HTTP interaction".into())));
    assert!(v.contains(&(Verdict::Safe, "HTTP interaction dropped".into())));
}

#[test]
fn a_request_change_and_a_new_state_are_breaking() {
    let old = http("charge", json!({}), &[]);
    let mut new = old.clone();
    if let Interaction::Http(h) = &mut new {
        h.request.path = "/api/v2/charge".into();
        h.common.provider_states.push(ProviderState {
            name: "customer has funds".into(),
            params: Default::default(),
        });
    }
    let d = diff_contracts(&contract(vec![old]), &contract(vec![new]));
    let v = verdicts(&d);
    assert!(v.iter().any(|(verdict, what)| *verdict == Verdict::Breaking && what.contains("/api/v2/charge")), "{v:?}");
    assert!(
        v.iter()
            .any(|(verdict, what)| *verdict == Verdict::Breaking
                && what.contains("customer has funds")),
        "{v:?}"
    );
}

fn event(schema: Value, subject: &str) -> Interaction {
    Interaction::Message(MessageInteraction {
        common: InteractionCommon {
            description: "order created".into(),
            ..InteractionCommon::default()
        },
        message: MessageContents {
            contents: Body::Json {
                value: json!({"orderId": "o-1", "total": 100}),
                content_type: Some("application/json".into()),
            },
            rules: {
                let mut r = MatchingRules::default();
                r.add(Category::Body, "$.orderId", MatchingRule::Type);
                r.add(Category::Body, "$.total", MatchingRule::Integer);
                r
            },
            ..MessageContents::default()
        },
        subject: Some(subject.into()),
        schema: Some(PayloadSchema {
            reference: "schemas/order-created.json".into(),
            document: schema,
            file: None,
        }),
        trigger: None,
    })
}

#[test]
fn payload_schema_changes_say_their_compatibility() {
    let old = json!({"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}}});
    let stricter = json!({"type": "object", "required": ["orderId", "total"], "properties": {"orderId": {"type": "string"}, "total": {"type": "integer"}}});
    let d = diff_contracts(
        &contract(vec![event(old.clone(), "orders.created")]),
        &contract(vec![event(stricter.clone(), "orders.created")]),
    );
    let change = d
        .changes
        .iter()
        .find(|c| c.what.starts_with("payload schema"))
        .expect("a schema finding");
    assert_eq!(change.verdict, Verdict::Breaking);
    assert!(
        change.what.contains("forward compatible only"),
        "{change:?}"
    );
    assert!(change.why.contains("total"), "{change:?}");
    let d = diff_contracts(
        &contract(vec![event(stricter, "orders.created")]),
        &contract(vec![event(old, "orders.created")]),
    );
    let change = d
        .changes
        .iter()
        .find(|c| c.what.starts_with("payload schema"))
        .expect("a schema finding");
    assert_eq!(change.verdict, Verdict::Safe, "{change:?}");
}

#[test]
fn a_moved_subject_is_breaking() {
    let s = json!({"type": "object"});
    let d = diff_contracts(
        &contract(vec![event(s.clone(), "orders.created")]),
        &contract(vec![event(s, "orders.placed")]),
    );
    assert_eq!(
        verdicts(&d),
        vec![(
            Verdict::Breaking,
            "subject orders.created → orders.placed".to_string()
        )]
    );
}

#[test]
fn contracts_pair_by_consumer_and_provider() {
    let a = contract(vec![http("charge", json!({}), &[])]);
    let mut b = a.clone();
    b.consumer = "gateway".into();
    let diffs = diff_sets(std::slice::from_ref(&a), &[a.clone(), b]);
    assert_eq!(diffs.len(), 2);
    let gateway = diffs
        .iter()
        .find(|d| d.consumer == "gateway")
        .expect("gateway");
    assert!(gateway.is_breaking(), "a whole new contract is new demands");
}

#[test]
fn path_tokens() {
    assert_eq!(tokens("$.a[2]['b c'].d"), vec!["a", "2", "b c", "d"]);
    let mut rules = RuleMap::new();
    rules.insert(
        "$.a[*].b".into(),
        RuleList {
            rules: vec![MatchingRule::Integer],
            logic: Default::default(),
        },
    );
    rules.insert(
        "$.a[1].b".into(),
        RuleList {
            rules: vec![MatchingRule::Decimal],
            logic: Default::default(),
        },
    );
    assert_eq!(
        applicable(Some(&rules), "$.a[1].b").map(|l| l.rules),
        Some(vec![MatchingRule::Decimal])
    );
    assert_eq!(
        applicable(Some(&rules), "$.a[0].b").map(|l| l.rules),
        Some(vec![MatchingRule::Integer])
    );
}
