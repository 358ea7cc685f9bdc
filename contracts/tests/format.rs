//! parley's contract format: what loads into the model, and every error with its location.

use std::path::{Path, PathBuf};

use parley_contracts::format::{self, Document, FormatError};
use parley_contracts::schema::{CompiledSchema, SchemaDraft};
use parley_contracts::{
    ArrayContainsVariant, Body, Category, Contract, Interaction, MatchingRule, ProviderState,
    RuleLogic, StatusClass, Trigger,
};
use serde_json::json;

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/format")
        .join(path)
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample-services/contracts")
}

const FILE: &str = "contracts/payment.yaml";

fn load(text: &str) -> Contract {
    format::load_str(text, Path::new(FILE)).unwrap_or_else(|e| panic!("{e}"))
}

/// The error of loading `text`, as printed.
fn error(text: &str) -> String {
    match format::load_str(text, Path::new(FILE)) {
        Ok(_) => panic!("loaded, but an error was expected:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// A contract with one HTTP interaction whose request and response are given.
fn http(request: &str, response: &str) -> String {
    format!(
        "consumer: a\nprovider: b\nhttp:\n  - description: d\n    request: {request}\n    response: {response}\n"
    )
}

fn only_http(contract: &Contract) -> &parley_contracts::HttpInteraction {
    match &contract.interactions[..] {
        [Interaction::Http(i)] => i,
        other => panic!("expected one HTTP interaction, got {other:?}"),
    }
}

fn only_event(contract: &Contract) -> &parley_contracts::MessageInteraction {
    match &contract.interactions[..] {
        [Interaction::Message(m)] => m,
        other => panic!("expected one event, got {other:?}"),
    }
}

fn body_rules(rules: &parley_contracts::MatchingRules) -> Vec<(String, Vec<MatchingRule>)> {
    rules
        .category(Category::Body)
        .map(|c| {
            c.iter()
                .map(|(p, l)| (p.clone(), l.rules.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Source and locations differ between equivalent files; the rest must not.
fn without_places(mut contract: Contract) -> Contract {
    contract.source = None;
    for i in &mut contract.interactions {
        i.common_mut().location = None;
    }
    contract
}

// ---------------------------------------------------------------------------------------------
// What loads

#[test]
fn the_design_example_loads_into_the_model() {
    let contract = format::load_file(&data("payment.yaml")).expect("loads");
    assert_eq!(contract.consumer, "order-service");
    assert_eq!(contract.provider, "payment-service");
    assert_eq!(
        contract.source.as_deref(),
        Some(data("payment.yaml").as_path())
    );
    let [Interaction::Http(charge), Interaction::Message(event)] = &contract.interactions[..]
    else {
        panic!("{:?}", contract.interactions)
    };

    assert_eq!(charge.common.description, "charge a customer");
    assert_eq!(
        charge.common.provider_states,
        vec![ProviderState {
            name: "customer has funds".into(),
            params: json!({"customerId": "c-42"}).as_object().cloned().unwrap(),
        }]
    );
    let location = charge.common.location.as_ref().expect("a location");
    assert_eq!((location.line, location.column), (Some(4), Some(5)));
    assert_eq!(charge.request.method, "POST");
    assert_eq!(charge.request.path, "/api/charge");
    assert_eq!(
        charge.request.headers.as_ref().unwrap()["content-type"],
        vec!["application/json"]
    );
    assert_eq!(
        charge.request.body,
        Body::Json {
            value: json!({"amount": 1999, "currency": "USD", "customerId": "c-42"}),
            content_type: Some("application/json".into()),
        }
    );
    assert!(charge.request.rules.is_empty());
    assert_eq!(charge.response.status, 201);
    assert_eq!(
        charge.response.body,
        Body::Json {
            value: json!({"paymentId": "pay_7f3a", "status": "approved"}),
            content_type: Some("application/json".into()),
        }
    );
    assert_eq!(
        body_rules(&charge.response.rules),
        vec![(
            "$.paymentId".to_string(),
            vec![MatchingRule::Regex("^pay_[0-9a-z]+$".into())]
        )]
    );

    assert_eq!(event.subject.as_deref(), Some("orders.created"));
    assert_eq!(
        event.common.location.as_ref().map(|l| (l.line, l.column)),
        Some((Some(17), Some(5)))
    );
    assert_eq!(event.message.metadata["subject"], json!("orders.created"));
    assert_eq!(event.message.metadata["x-correlation-id"], json!("c0ffee"));
    assert_eq!(
        event.message.rules.category(Category::Metadata).unwrap()["x-correlation-id"].rules,
        vec![MatchingRule::Type]
    );
    assert_eq!(
        event.message.contents,
        Body::Json {
            value: json!({"orderId": "o-1", "total": 1999, "items": [{"sku": "A1", "qty": 2}]}),
            content_type: Some("application/json".into()),
        }
    );
    let schema = event.schema.as_ref().expect("a schema");
    assert_eq!(schema.reference, "schemas/order-created.json");
    assert_eq!(
        schema.file.as_deref(),
        Some(data("schemas/order-created.json").as_path())
    );
    assert_eq!(
        schema.document["required"],
        json!(["orderId", "total", "items"])
    );
    assert_eq!(event.trigger, None);
}

#[test]
fn json_and_yaml_load_the_same() {
    let yaml = format::load_file(&data("payment.yaml")).expect("yaml");
    let json = format::load_file(&data("payment.json")).expect("json");
    assert_eq!(without_places(yaml), without_places(json));
}

#[test]
fn json_errors_point_into_the_json_file() {
    let text = "{\n  \"consumer\": \"a\",\n  \"provider\": \"b\",\n  \"http\": [\n    {\"description\": \"x\", \"request\": {\"method\": \"GET\", \"pth\": \"/y\"}, \"response\": {\"status\": 200}}\n  ]\n}\n";
    let e = format::load_str(text, Path::new("contracts/x.json")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "contracts/x.json:5:55: unknown key \"pth\" in request (did you mean \"path\"? expected \
         one of: method, path, query, headers, body)"
    );
    let e = format::load_str(
        "{\n  \"consumer\": \"a\",,\n}\n",
        Path::new("contracts/x.json"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "contracts/x.json:2:19: not valid JSON: key must be a string"
    );
}

#[test]
fn given_takes_a_name_a_mapping_or_a_list_of_either() {
    let given = |g: &str| {
        let text = format!(
            "consumer: a\nprovider: b\nhttp:\n  - description: d\n    given: {g}\n    request: {{method: GET, path: /}}\n    response: {{status: 200}}\n"
        );
        only_http(&load(&text)).common.provider_states.clone()
    };
    let state = |name: &str, params: serde_json::Value| ProviderState {
        name: name.into(),
        params: params.as_object().cloned().unwrap(),
    };
    assert_eq!(
        given("customer has funds"),
        vec![state("customer has funds", json!({}))]
    );
    assert_eq!(
        given("{state: customer has funds}"),
        vec![state("customer has funds", json!({}))]
    );
    assert_eq!(
        given("{state: an order exists, params: {orderId: o-1, total: 1998, tags: [a]}}"),
        vec![state(
            "an order exists",
            json!({"orderId": "o-1", "total": 1998, "tags": ["a"]})
        )]
    );
    assert_eq!(
        given("[first, {state: second, params: {n: 2}}]"),
        vec![state("first", json!({})), state("second", json!({"n": 2}))]
    );
    assert_eq!(given("[]"), vec![]);
    assert_eq!(
        error(&http("{method: GET, path: /}", "{status: 200}").replace(
            "    request:",
            "    given: {state: x, parms: {}}\n    request:"
        )),
        "contracts/payment.yaml:5:23: unknown key \"parms\" in a provider state (did you mean \
         \"params\"? expected one of: state, params)"
    );
    assert_eq!(
        error(
            &http("{method: GET, path: /}", "{status: 200}")
                .replace("    request:", "    given: {params: {}}\n    request:")
        ),
        "contracts/payment.yaml:5:5: missing key \"state\" in a provider state"
    );
}

#[test]
fn http_parts_load_with_their_matchers() {
    let contract = load(
        r#"consumer: a
provider: b
http:
  - description: everything
    request:
      method: put
      path: { $match: regex, pattern: "^/orders/o-[0-9a-z]+$", example: /orders/o-1, fromState: "/orders/${orderId}" }
      query:
        page: 2
        tag: [a, b]
        orderId: { $match: regex, pattern: "^o-", example: o-1, fromState: "${orderId}" }
      headers:
        Content-Type: application/json
        X-Count: { $match: integer, example: 5 }
      body: { total: { $match: decimal, example: 19.99 } }
    response:
      status: { $match: statusCode, codes: [200, 204] }
      headers: { content-type: text/plain }
      body: { $match: include, value: done }
"#,
    );
    let i = only_http(&contract);
    let request = &i.request;
    assert_eq!(request.method, "PUT");
    assert_eq!(request.path, "/orders/o-1");
    assert_eq!(
        request.rules.category(Category::Path).unwrap()[""].rules,
        vec![MatchingRule::Regex("^/orders/o-[0-9a-z]+$".into())]
    );
    let query = request.query.as_ref().unwrap();
    assert_eq!(query["page"], vec!["2"]);
    assert_eq!(query["tag"], vec!["a", "b"]);
    assert_eq!(query["orderId"], vec!["o-1"]);
    assert_eq!(
        request.rules.category(Category::Query).unwrap()["orderId"].rules,
        vec![MatchingRule::Regex("^o-".into())]
    );
    let headers = request.headers.as_ref().unwrap();
    assert_eq!(headers["X-Count"], vec!["5"]);
    assert_eq!(
        request.rules.category(Category::Header).unwrap()["X-Count"].rules,
        vec![MatchingRule::Integer]
    );
    assert_eq!(
        body_rules(&request.rules),
        vec![("$.total".to_string(), vec![MatchingRule::Decimal])]
    );
    assert_eq!(
        request.generators.categories["path"],
        json!({"type": "ProviderState", "expression": "/orders/${orderId}", "dataType": "STRING"})
    );
    assert_eq!(
        request.generators.categories["query"],
        json!({"orderId": {"type": "ProviderState", "expression": "${orderId}", "dataType": "STRING"}})
    );
    let response = &i.response;
    assert_eq!(
        response.status, 200,
        "the first code stands for the example"
    );
    assert_eq!(
        response.rules.category(Category::Status).unwrap()[""].rules,
        vec![MatchingRule::StatusCode(StatusClass::Codes(vec![200, 204]))]
    );
    assert_eq!(
        response.body,
        Body::Text {
            text: "done".into(),
            content_type: Some("text/plain".into())
        },
        "a text body, the include matcher's value as its example"
    );
    assert_eq!(
        body_rules(&response.rules),
        vec![("$".to_string(), vec![MatchingRule::Include("done".into())])]
    );
}

#[test]
fn bodies_stated_empty_or_null_are_kept_apart() {
    let empty = load(&http(
        "{method: POST, path: /, body: \"\"}",
        "{status: 204, body: null}",
    ));
    let i = only_http(&empty);
    assert_eq!(i.request.body, Body::Empty);
    assert_eq!(i.response.body, Body::Null);
    let none = load(&http("{method: GET, path: /}", "{status: 200}"));
    assert_eq!(only_http(&none).response.body, Body::Missing);
}

/// The example and the body rules a body written with inline matchers loads into.
fn lowered(body: &str) -> (serde_json::Value, Vec<(String, Vec<MatchingRule>)>) {
    let text = http(
        "{method: GET, path: /}",
        &format!("{{status: 200, body: {body}}}"),
    );
    let contract = load(&text);
    let i = only_http(&contract);
    let Body::Json { value, .. } = &i.response.body else {
        panic!("{:?}", i.response.body)
    };
    (value.clone(), body_rules(&i.response.rules))
}

#[test]
fn inline_matchers_become_the_example_and_rules_at_the_value_path() {
    use MatchingRule::*;
    let rules = |pairs: &[(&str, Vec<MatchingRule>)]| -> Vec<(String, Vec<MatchingRule>)> {
        pairs
            .iter()
            .map(|(p, r)| (p.to_string(), r.clone()))
            .collect()
    };
    // Scalars.
    assert_eq!(
        lowered("{a: {b: {$match: integer, example: 3}}, c: {$match: number, example: 1.5}}"),
        (
            json!({"a": {"b": 3}, "c": 1.5}),
            rules(&[("$.a.b", vec![Integer]), ("$.c", vec![Number])])
        )
    );
    assert_eq!(
        lowered(
            "{ok: {$match: boolean, example: true}, gone: {$match: null}, v: {$match: semver, example: 1.2.3}}"
        ),
        (
            json!({"ok": true, "gone": null, "v": "1.2.3"}),
            rules(&[
                ("$.gone", vec![Null]),
                ("$.ok", vec![Boolean]),
                ("$.v", vec![Semver])
            ])
        )
    );
    assert_eq!(
        lowered(
            "{at: {$match: timestamp, format: \"yyyy-MM-dd'T'HH:mm:ssXXX\", example: \"2026-01-01T00:00:00Z\"}, d: {$match: date, example: \"2026-01-01\"}}"
        ),
        (
            json!({"at": "2026-01-01T00:00:00Z", "d": "2026-01-01"}),
            rules(&[
                ("$.at", vec![Timestamp("yyyy-MM-dd'T'HH:mm:ssXXX".into())]),
                ("$.d", vec![Date(String::new())])
            ])
        )
    );
    // eachLike: a type rule with min at the list, the element's own rules under [*].
    assert_eq!(
        lowered(
            "{items: {$match: eachLike, min: 2, max: 5, example: {sku: {$match: regex, pattern: \"^[A-Z]\", example: A1}, qty: 1}}}"
        ),
        (
            json!({"items": [{"sku": "A1", "qty": 1}, {"sku": "A1", "qty": 1}]}),
            rules(&[
                ("$.items", vec![MinMaxType(2, 5)]),
                ("$.items[*].sku", vec![Regex("^[A-Z]".into())])
            ])
        )
    );
    assert_eq!(
        lowered("{items: {$match: eachLike, example: x}}"),
        (
            json!({"items": ["x"]}),
            rules(&[("$.items", vec![MinType(1)])])
        )
    );
    // type with min on a list: the same as eachLike.
    assert_eq!(
        lowered("{items: {$match: type, min: 2, example: [{sku: {$match: type, example: A1}}]}}"),
        (
            json!({"items": [{"sku": "A1"}, {"sku": "A1"}]}),
            rules(&[
                ("$.items", vec![MinType(2)]),
                ("$.items[*].sku", vec![Type])
            ])
        )
    );
    // A plain list: rules by position; odd keys quoted.
    assert_eq!(
        lowered("{list: [1, {$match: type, example: 2}], \"odd key\": {$match: type, example: x}}"),
        (
            json!({"list": [1, 2], "odd key": "x"}),
            rules(&[("$.list[1]", vec![Type]), ("$['odd key']", vec![Type])])
        )
    );
    // The whole body.
    assert_eq!(
        lowered("{$match: type, example: {a: 1}}"),
        (json!({"a": 1}), rules(&[("$", vec![Type])]))
    );
    // values, eachKey, eachValue: children under .*
    assert_eq!(
        lowered(
            "{prices: {$match: eachKey, rules: [{$match: regex, pattern: \"^[A-Z][0-9]$\"}], example: {A1: {$match: integer, example: 999}}}}"
        ),
        (
            json!({"prices": {"A1": 999}}),
            rules(&[
                (
                    "$.prices",
                    vec![EachKey(vec![Regex("^[A-Z][0-9]$".into())])]
                ),
                ("$.prices.*", vec![Integer])
            ])
        )
    );
    assert_eq!(
        lowered(
            "{stock: {$match: eachValue, rules: [{$match: integer}], example: {A1: 5}}, tags: {$match: values, example: {a: x}}}"
        ),
        (
            json!({"stock": {"A1": 5}, "tags": {"a": "x"}}),
            rules(&[
                ("$.stock", vec![EachValue(vec![Integer])]),
                ("$.tags", vec![Values])
            ])
        )
    );
    // arrayContains: each variant with its own rules, relative to the element.
    let (value, found) = lowered(
        "{events: {$match: arrayContains, variants: [{type: created, at: {$match: integer, example: 1}}, {type: paid}]}}",
    );
    assert_eq!(
        value,
        json!({"events": [{"type": "created", "at": 1}, {"type": "paid"}]})
    );
    assert_eq!(
        found,
        rules(&[(
            "$.events",
            vec![ArrayContains(vec![
                ArrayContainsVariant {
                    index: 0,
                    rules: [(
                        "$.at".to_string(),
                        parley_contracts::RuleList {
                            rules: vec![Integer],
                            logic: RuleLogic::And
                        }
                    )]
                    .into(),
                    generators: Default::default(),
                },
                ArrayContainsVariant {
                    index: 1,
                    ..Default::default()
                },
            ])]
        )])
    );
    // and / or.
    let text = http(
        "{method: GET, path: /}",
        "{status: 200, body: {id: {$match: or, rules: [{$match: integer}, {$match: regex, pattern: \"^[0-9]+$\"}], example: \"42\"}}}",
    );
    let contract = load(&text);
    let list = &only_http(&contract)
        .response
        .rules
        .category(Category::Body)
        .unwrap()["$.id"];
    assert_eq!(list.logic, RuleLogic::Or);
    assert_eq!(list.rules, vec![Integer, Regex("^[0-9]+$".into())]);
}

#[test]
fn events_load_with_subject_trigger_headers_and_payload() {
    let contract = load(
        r#"consumer: payment-service
provider: order-service
events:
  - description: order created
    subject: orders.created
    given: an order can be placed
    trigger: { http: { method: post, path: /orders/async, body: { customerId: c-42 } } }
    headers:
      x-correlation-id: { $match: type, example: c0ffee }
      x-tenant: acme
    payload:
      schema: { type: object, required: [orderId] }
      example: { orderId: { $match: regex, pattern: "^o-", example: o-1 }, total: 1 }
"#,
    );
    let event = only_event(&contract);
    assert_eq!(event.subject.as_deref(), Some("orders.created"));
    assert_eq!(
        event.trigger,
        Some(Trigger::Http {
            method: "POST".into(),
            path: "/orders/async".into(),
            body: Some(json!({"customerId": "c-42"})),
        })
    );
    assert_eq!(
        event.message.metadata,
        [
            ("subject".to_string(), json!("orders.created")),
            ("x-correlation-id".to_string(), json!("c0ffee")),
            ("x-tenant".to_string(), json!("acme")),
        ]
        .into()
    );
    assert_eq!(
        body_rules(&event.message.rules),
        vec![(
            "$.orderId".to_string(),
            vec![MatchingRule::Regex("^o-".into())]
        )]
    );
    let schema = event.schema.as_ref().unwrap();
    assert_eq!(schema.reference, "inline");
    assert_eq!(schema.file.as_deref(), Some(Path::new(FILE)));
    assert_eq!(
        schema.document,
        json!({"type": "object", "required": ["orderId"]})
    );
}

#[test]
fn an_event_can_be_triggered_by_publishing_a_message() {
    let contract = load(
        r#"consumer: inventory-service
provider: payment-service
events:
  - description: charged
    subject: payments.charged
    trigger:
      publish:
        subject: orders.created
        payload: { orderId: o-1, total: 1998 }
        headers: { x-tenant: acme, x-attempt: 1 }
    payload: { example: { orderId: o-1 } }
"#,
    );
    assert_eq!(
        only_event(&contract).trigger,
        Some(Trigger::Publish {
            subject: "orders.created".into(),
            payload: json!({"orderId": "o-1", "total": 1998}),
            headers: [
                ("x-attempt".to_string(), "1".to_string()),
                ("x-tenant".to_string(), "acme".to_string())
            ]
            .into(),
        })
    );
    let both = "consumer: a\nprovider: b\nevents:\n  - description: e\n    subject: s.x\n    trigger: {http: {method: GET, path: /}, publish: {subject: a.b, payload: {}}}\n    payload: {example: {}}\n";
    assert_eq!(
        error(both),
        "contracts/payment.yaml:6:14: a trigger is either http or publish, not both"
    );
    let matcher = "consumer: a\nprovider: b\nevents:\n  - description: e\n    subject: s.x\n    trigger: {publish: {subject: a.b, payload: {id: {$match: type, example: 1}}}}\n    payload: {example: {}}\n";
    assert_eq!(
        error(matcher),
        "contracts/payment.yaml:6:53: matchers are not allowed in a trigger: it is used exactly as written"
    );
}

#[test]
fn the_sample_contracts_load_and_their_examples_satisfy_their_schemas() {
    let documents = format::load_dir(&samples()).expect("the sample contracts load");
    let contracts: Vec<&Contract> = documents.iter().filter_map(Document::contract).collect();
    assert_eq!(contracts.len(), 14, "one file per consumer–provider pair");
    let mut events = 0;
    for contract in &contracts {
        for interaction in &contract.interactions {
            let location = interaction.common().location.as_ref().unwrap();
            assert!(location.line.is_some(), "{location}");
            if let Interaction::Message(m) = interaction {
                events += 1;
                let schema = m.schema.as_ref().expect("every event has a schema");
                let compiled = CompiledSchema::compile(schema).expect("compiles");
                let Body::Json { value, .. } = &m.message.contents else {
                    panic!("{location}: no example")
                };
                assert_eq!(compiled.validate(value), vec![], "{location}");
            }
        }
    }
    assert_eq!(events, 15);
}

// ---------------------------------------------------------------------------------------------
// Errors: each names file, line and column, and what was expected.

#[test]
fn an_unknown_key_is_an_error_at_the_key() {
    let text = "\
consumer: order-service
provider: payment-service
http:
  - description: charge a customer
    given: customer has funds
    request:
      method: POST
      path: /api/charge
      headers:
        content-type: application/json
        idempotency-key: charge-1
      bdy: { amount: 1999 }
    response:
      status: 201
";
    assert_eq!(
        error(text),
        "contracts/payment.yaml:12:7: unknown key \"bdy\" in request (did you mean \"body\"? \
         expected one of: method, path, query, headers, body)"
    );
    assert_eq!(
        error("consumer: a\nprovider: b\nhtp: []\n"),
        "contracts/payment.yaml:3:1: unknown key \"htp\" in a contract (did you mean \"http\"? \
         expected one of: consumer, provider, http, events)"
    );
    assert_eq!(
        error(&http("{method: GET, path: /}", "{status: 200, boddy: {}}")),
        "contracts/payment.yaml:6:29: unknown key \"boddy\" in response (did you mean \"body\"? \
         expected one of: status, headers, body)"
    );
}

#[test]
fn a_missing_key_is_an_error_at_the_mapping_that_lacks_it() {
    assert_eq!(
        error("consumer: a\nhttp: []\n"),
        "contracts/payment.yaml:1:1: missing key \"provider\" in a contract"
    );
    assert_eq!(
        error(
            "consumer: a\nprovider: b\nhttp:\n  - description: d\n    request:\n      method: GET\n    response: {status: 200}\n"
        ),
        "contracts/payment.yaml:5:5: missing key \"path\" in request"
    );
    assert_eq!(
        error(
            "consumer: a\nprovider: b\nhttp:\n  - request: {method: GET, path: /}\n    response: {status: 200}\n"
        ),
        "contracts/payment.yaml:4:5: missing key \"description\" in an HTTP interaction"
    );
    assert_eq!(
        error(
            "consumer: a\nprovider: b\nevents:\n  - description: e\n    subject: s.x\n    payload: {}\n"
        ),
        "contracts/payment.yaml:6:5: payload needs a schema, an example or both (expected one \
         of: schema, example)"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: 200, body: {id: {$match: type}}}"
        )),
        "contracts/payment.yaml:6:36: missing key \"example\" in a type matcher (the value a mock \
         serves and a request sends)"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_an_error_at_the_value() {
    assert_eq!(
        error("consumer: a\nprovider: [b]\n"),
        "contracts/payment.yaml:2:11: expected a string for provider, found a list"
    );
    assert_eq!(
        error(&http("{method: [GET], path: /}", "{status: 200}")),
        "contracts/payment.yaml:5:23: expected a string for method, found a list"
    );
    assert_eq!(
        error(&http("{method: GET, path: /}", "{status: ok}")),
        "contracts/payment.yaml:6:24: expected an HTTP status (100–599) for status, found \"ok\""
    );
    assert_eq!(
        error(&http("{method: GET, path: orders}", "{status: 200}")),
        "contracts/payment.yaml:5:34: a path starts with '/', found \"orders\""
    );
    assert_eq!(
        error("consumer: a\nprovider: b\nhttp: {description: d}\n"),
        "contracts/payment.yaml:3:7: expected a list of interactions for http, found a mapping"
    );
    assert_eq!(
        error(
            "consumer: a\nprovider: b\nevents:\n  - description: e\n    subject: orders.*\n    payload: {example: {}}\n"
        ),
        "contracts/payment.yaml:5:14: \"orders.*\" is not a subject an event is published on \
         (dot-separated tokens such as orders.created, without spaces or wildcards)"
    );
}

#[test]
fn a_bad_matcher_is_an_error_naming_the_valid_ones() {
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: 200, body: {paymentId: {$match: regx, pattern: \"^pay_\", example: pay_1}}}"
        )),
        "contracts/payment.yaml:6:56: unknown matcher \"regx\" (did you mean \"regex\"? expected \
         one of: equality, type, regex, number, integer, decimal, boolean, null, include, date, \
         time, timestamp, semver, contentType, values, notEmpty, eachLike, arrayContains, \
         eachKey, eachValue, statusCode, and, or)"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: 200, body: {id: {$match: regex, patern: \"^a\", example: a}}}"
        )),
        "contracts/payment.yaml:6:56: unknown key \"patern\" in a regex matcher (did you mean \
         \"pattern\"? expected one of: $match, pattern, example, fromState)"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: {$match: statusCode, class: sucess}}"
        )),
        "contracts/payment.yaml:6:52: unknown status class \"sucess\" (did you mean \"success\"? \
         expected one of: information, success, redirect, clientError, serverError, nonError, \
         error)"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /, headers: {accept: {$match: eachLike, example: a}}}",
            "{status: 200}"
        )),
        "contracts/payment.yaml:5:64: the eachLike matcher cannot be used for headers: a header \
         value is a single string (this matcher applies to bodies)"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: 200, body: {$match: statusCode, class: success}}"
        )),
        "contracts/payment.yaml:6:44: the statusCode matcher cannot be used for a body: it \
         applies to a response's status only"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: 200, body: {n: {$match: integer, example: \"7\"}}}"
        )),
        "contracts/payment.yaml:6:66: the example of an integer matcher must be an integer, not \"7\""
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: {$match: statusCode, class: success, example: 404}}"
        )),
        "contracts/payment.yaml:6:70: the example status 404 is not in the matcher's class (success)"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: 200, body: {n: {$match: type, min: 3, max: 1, example: [1]}}}"
        )),
        "contracts/payment.yaml:6:67: max (1) is smaller than min (3)"
    );
}

#[test]
fn an_invalid_regex_is_an_error_at_the_pattern() {
    let text = r#"consumer: order-service
provider: payment-service
http:
  - description: charge a customer
    request: { method: POST, path: /api/charge }
    response:
      status: 201
      body:
        paymentId: { $match: regex, pattern: "^pay_[0-9a-z+$", example: pay_7f3a }
"#;
    assert_eq!(
        error(text),
        "contracts/payment.yaml:9:46: invalid regex \"^pay_[0-9a-z+$\": unclosed character class"
    );
    assert_eq!(
        error(
            &text
                .replace("[0-9a-z+$", "[0-9a-z]+$")
                .replace("pay_7f3a", "PAY-1")
        ),
        "contracts/payment.yaml:9:74: the example \"PAY-1\" does not match the pattern \
         \"^pay_[0-9a-z]+$\""
    );
}

#[test]
fn schema_errors_point_at_the_schema() {
    let event = |payload: &str| {
        format!(
            "consumer: a\nprovider: b\nevents:\n  - description: e\n    subject: orders.created\n    payload: {payload}\n"
        )
    };
    let load_in = |text: &str| {
        format::load_str(text, &data("contract.yaml"))
            .unwrap_err()
            .to_string()
    };
    let file = data("contract.yaml").display().to_string();

    let e = load_in(&event("{schema: schemas/missing.json}"));
    assert!(
        e.starts_with(&format!("{file}:6:23: schema schemas/missing.json (")),
        "{e}"
    );
    assert!(e.contains("cannot read"), "{e}");

    let e = load_in(&event("{schema: schemas/bad-ref.json}"));
    assert!(
        e.starts_with(&format!(
            "{file}:6:23: schema schemas/bad-ref.json: not a valid JSON Schema"
        )),
        "{e}"
    );
    assert!(e.contains("nowhere.json"), "{e}");

    assert_eq!(
        load_in(&event("{schema: schemas/not-a-schema.json}")),
        format!(
            "{file}:6:23: schema schemas/not-a-schema.json: not a valid JSON Schema: at /type: \
             \"objekt\" is not valid under any of the schemas listed in the 'anyOf' keyword"
        )
    );
    let e = load_in(&event("{schema: schemas/syntax-error.json}"));
    assert!(
        e.starts_with(&format!("{file}:6:23: schema schemas/syntax-error.json (")),
        "{e}"
    );
    assert!(e.contains("3:1: not valid JSON"), "{e}");

    assert_eq!(
        load_in(&event(
            "{schema: schemas/order-created.json, example: {orderId: o-1, total: \"19.99\", items: []}}"
        )),
        format!(
            "{file}:6:60: the example does not satisfy the schema schemas/order-created.json: \
             /items: [] has less than 1 item; /total: \"19.99\" is not of type \"integer\""
        )
    );
    assert_eq!(
        load_in(&event("{schema: 42}")),
        format!(
            "{file}:6:23: expected a schema file (a path relative to this file) or an inline \
             schema (a mapping), found an integer"
        )
    );
}

#[test]
fn malformed_yaml_is_an_error_with_its_position() {
    assert_eq!(
        error(
            "consumer: a\nprovider: b\nhttp:\n  - description: x\n    request: {method: GET, path: /y\n    response: {status: 200}\n"
        ),
        "contracts/payment.yaml:6:13: not valid YAML: did not find expected ',' or '}' (while \
         parsing a flow mapping that starts at 5:14)"
    );
    assert_eq!(
        error("consumer: a\n  provider: b\n"),
        "contracts/payment.yaml:2:11: not valid YAML: mapping values are not allowed in this context"
    );
    assert_eq!(
        error("consumer: a\nprovider: b\n---\nconsumer: c\n"),
        "contracts/payment.yaml: more than one YAML document (`---`): a contract \
         file holds one"
    );
    assert_eq!(
        error(""),
        "contracts/payment.yaml:1:1: expected a mapping for a contract, found null"
    );
}

#[test]
fn duplicates_are_errors() {
    assert_eq!(
        error("consumer: a\nprovider: b\nconsumer: c\n"),
        "contracts/payment.yaml:3:1: key \"consumer\" given twice in a contract"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /, headers: {Accept: a, accept: b}}",
            "{status: 200}"
        )),
        "contracts/payment.yaml:5:58: header \"accept\" given twice"
    );
    assert_eq!(
        error(&http(
            "{method: GET, path: /}",
            "{status: 200, body: {a: 1, a: 2}}"
        )),
        "contracts/payment.yaml:6:42: key \"a\" given twice"
    );
    let twice = "consumer: a\nprovider: b\nhttp:\n  - description: d\n    request: {method: GET, path: /}\n    response: {status: 200}\n  - description: d\n    request: {method: GET, path: /x}\n    response: {status: 200}\n";
    assert_eq!(
        error(twice),
        "contracts/payment.yaml:7:18: interaction \"d\" is given twice with the same provider \
         states (the first is at line 4); descriptions tell interactions apart"
    );
}

#[test]
fn a_huge_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let e = format::load_file(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: too large to be a contract (50.0 MiB; a contract file may have at most 16 MiB)",
            path.display()
        )
    );
    let text = format!(
        "consumer: a\nprovider: b\n#{}\n",
        "x".repeat(50 * 1024 * 1024)
    );
    let e = format::load_str(&text, Path::new(FILE)).unwrap_err();
    assert!(e.to_string().contains("too large to be a contract"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let yaml = http(
        "{method: GET, path: /}",
        &format!("{{status: 200, body: {deep}}}"),
    );
    assert_eq!(
        error(&yaml),
        "contracts/payment.yaml:6:159: nested too deeply (at most 128 levels)"
    );
    let json = format!("{{\"consumer\": \"a\", \"provider\": \"b\", \"x\": {deep}}}");
    let e = format::load_str(&json, Path::new("contracts/deep.json")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "contracts/deep.json:1:167: not valid JSON: nested too deeply (at most 128 levels)"
    );
    let block = format!("consumer: a\nprovider: b\nx:\n  {}1\n", "- ".repeat(10_000));
    let e = format::load_str(&block, Path::new(FILE)).unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
    let maps = format!(
        "consumer: a\nprovider: b\nx: {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    let e = format::load_str(&maps, Path::new(FILE)).unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
}

#[test]
fn a_wide_file_loads_in_time_proportional_to_its_size() {
    // 100,000 keys in one body (3 MB): every check is linear, never key against key.
    let mut body = String::new();
    for i in 0..100_000 {
        body.push_str(&format!(
            "        k{i}: {{$match: integer, example: {i}}}\n"
        ));
    }
    let text = format!(
        "consumer: a\nprovider: b\nhttp:\n  - description: d\n    request: {{method: GET, path: /}}\n    response:\n      status: 200\n      body:\n{body}"
    );
    let started = std::time::Instant::now();
    let contract = load(&text);
    let rendered = parley_contracts::render::render(&contract);
    assert_eq!(
        body_rules(&only_http(&contract).response.rules).len(),
        100_000
    );
    assert!(rendered.contains("k99999: {$match: integer, example: 99999}"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let twice = format!("{text}        k5: 1\n");
    assert_eq!(
        error(&twice),
        "contracts/payment.yaml:100009:9: key \"k5\" given twice"
    );
}

#[test]
fn an_alias_bomb_is_an_error_not_a_hang() {
    let mut text =
        String::from("consumer: a\nprovider: b\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let list = [prev.as_str(); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{list}]\n"));
    }
    let started = std::time::Instant::now();
    let e = format::load_str(&text, Path::new(FILE)).unwrap_err();
    assert!(e.to_string().contains("too many alias expansions"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_at_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"consumer: a\nprovider: caf\xe9\n").unwrap();
    let e = format::load_file(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:14: not UTF-8 text (contracts are UTF-8 YAML or JSON)",
            path.display()
        )
    );
    let missing = format::load_file(&dir.path().join("missing.yaml")).unwrap_err();
    assert!(matches!(missing, FormatError::Io { .. }), "{missing}");
}

// ---------------------------------------------------------------------------------------------
// Folders

#[test]
fn a_folder_loads_in_name_order_and_hands_pact_files_over() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("b.yaml", "consumer: b\nprovider: p\n");
    write("a.yml", "consumer: a\nprovider: p\n");
    write(
        "c.json",
        r#"{"consumer": {"name": "c"}, "provider": {"name": "p"}, "interactions": [], "metadata": {"pactSpecification": {"version": "3.0.0"}}}"#,
    );
    write(
        "d.json",
        r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}"#,
    );
    write(".hidden.yaml", "not: a contract\n");
    write("notes.txt", "not a contract\n");
    std::fs::create_dir(dir.path().join("schemas")).unwrap();
    write("schemas/x.json", "{}");

    let documents = format::load_dir(dir.path()).expect("loads");
    let names: Vec<String> = documents
        .iter()
        .map(|d| match d {
            Document::Parley(c) => format!("parley {}", c.consumer),
            Document::Pact(p) => format!("pact {}", p.file_name().unwrap().to_string_lossy()),
        })
        .collect();
    assert_eq!(names, ["parley a", "parley b", "pact c.json"]);

    let e = format::load_file(&dir.path().join("c.json")).unwrap_err();
    assert!(e.to_string().contains("this is a Pact file"), "{e}");
    assert!(
        matches!(
            format::load_document(&dir.path().join("c.json")),
            Ok(Document::Pact(_))
        ),
        "load_document hands a Pact file over"
    );

    write("e.yaml", "consumer: e\n");
    let e = format::load_dir(dir.path()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:1:1: missing key \"provider\" in a contract",
            dir.path().join("e.yaml").display()
        )
    );
    let all = format::load_dir_all(dir.path()).unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.iter().filter(|(_, r)| r.is_err()).count() == 1);
}

// ---------------------------------------------------------------------------------------------
// JSON Schema

#[test]
fn schemas_of_draft_2020_12_and_7_validate_with_instance_paths() {
    let modern = CompiledSchema::compile(&parley_contracts::PayloadSchema {
        reference: "schemas/order-created.json".into(),
        document: serde_json::from_str(
            &std::fs::read_to_string(data("schemas/order-created.json")).unwrap(),
        )
        .unwrap(),
        file: Some(data("schemas/order-created.json")),
    })
    .expect("compiles, with its $ref to item.json");
    assert_eq!(modern.draft(), SchemaDraft::Draft202012);
    assert!(
        modern
            .validate(&json!({"orderId": "o-1", "total": 1, "items": [{"sku": "A1", "qty": 1}]}))
            .is_empty()
    );
    let errors =
        modern.validate(&json!({"orderId": "o-1", "total": 1, "items": [{"sku": "A1", "qty": 0}]}));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].instance_path, "/items/0/qty");
    assert_eq!(
        errors[0].schema_path,
        "/properties/items/items/$ref/properties/qty/minimum"
    );
    assert_eq!(errors[0].message, "0 is less than the minimum of 1");

    let old = CompiledSchema::compile(&parley_contracts::PayloadSchema {
        reference: "schemas/draft7.json".into(),
        document: serde_json::from_str(
            &std::fs::read_to_string(data("schemas/draft7.json")).unwrap(),
        )
        .unwrap(),
        file: Some(data("schemas/draft7.json")),
    })
    .expect("compiles");
    assert_eq!(old.draft(), SchemaDraft::Draft7);
    // Draft 7: `definitions`, and `items` as a list is a tuple.
    assert!(
        old.validate(&json!({"pair": ["a", 1], "when": "2026-01-01T00:00:00Z"}))
            .is_empty()
    );
    let errors = old.validate(&json!({"pair": [1, 1], "when": "yesterday"}));
    let mut found: Vec<(String, String)> = errors
        .iter()
        .map(|e| (e.instance_path.clone(), e.message.clone()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (
                "/pair/0".to_string(),
                "1 is not of type \"string\"".to_string()
            ),
            (
                "/when".to_string(),
                "\"yesterday\" is not a \"date-time\"".to_string()
            ),
        ],
        "formats are asserted"
    );
}

#[test]
fn an_invalid_schema_is_an_error_naming_its_file() {
    let file = data("schemas/not-a-schema.json");
    let document = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let e = CompiledSchema::compile(&parley_contracts::PayloadSchema {
        reference: "schemas/not-a-schema.json".into(),
        document,
        file: Some(file.clone()),
    })
    .unwrap_err();
    assert_eq!(e.file.as_deref(), Some(file.as_path()));
    assert!(
        e.to_string()
            .starts_with(&format!("{}: not a valid JSON Schema", file.display())),
        "{e}"
    );

    let e =
        CompiledSchema::compile_document(&json!({"$schema": "https://example.com/my-meta"}), None)
            .unwrap_err();
    assert!(e.message.starts_with("unknown $schema"), "{e}");
    let e = CompiledSchema::compile_document(&json!({"$ref": "https://example.com/x.json"}), None)
        .unwrap_err();
    assert!(
        e.message.contains("never fetches schemas over a network"),
        "{e}"
    );
}

#[test]
fn every_matcher_example_in_format_md_loads() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("FORMAT.md"))
        .expect("FORMAT.md");
    let table = doc
        .split("| matcher | parameters |")
        .nth(1)
        .expect("the matcher table");
    let mut seen = Vec::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let name = row.split('`').nth(1).expect("a matcher name").to_string();
        let examples = row.rsplit('|').nth(1).expect("the example column");
        for example in examples.split('`').skip(1).step_by(2) {
            let text = if let Some(status) = example.strip_prefix("status: ") {
                http("{method: GET, path: /}", &format!("{{status: {status}}}"))
            } else if name == "statusCode" {
                http("{method: GET, path: /}", &format!("{{status: {example}}}"))
            } else {
                http(
                    "{method: GET, path: /}",
                    &format!("{{status: 200, body: {{v: {example}}}}}"),
                )
            };
            format::load_str(&text, Path::new(FILE))
                .unwrap_or_else(|e| panic!("FORMAT.md's {name} example {example}: {e}"));
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), 23, "{seen:?}");
}
