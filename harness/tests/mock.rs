//! The mock provider in process, from the sample contracts (payment-service) and from a Pact
//! file with generators: consumer-style requests and their answers, unmatched requests and
//! their mismatches, the verification report, state selection, and events published to a
//! private nats-server that satisfy their contract. No sleeps: every wait is on a response or
//! a message, bounded.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use parley_contracts::load::load_paths;
use parley_contracts::matching::{match_message, match_response, render_mismatches};
use parley_contracts::schema::CompiledSchema;
use parley_contracts::{
    Body, Category, Contract, Headers, HttpInteraction, HttpRequest, HttpResponse, Interaction,
    MatchingRule, MessageContents, MessageInteraction,
};
use parley_harness::mock::{
    INTERACTION_HEADER, Kind, MockError, MockOptions, MockReport, MockServer, STATE_HEADER,
};
use parley_harness::nats::NatsServer;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);
const PROVIDER: &str = "payment-service";

fn samples() -> Vec<Contract> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sample-services/contracts");
    load_paths(&[dir]).expect("the sample contracts load")
}

fn options(provider: &str) -> MockOptions {
    MockOptions {
        provider: Some(provider.into()),
        ..MockOptions::default()
    }
}

fn http_interaction<'c>(contracts: &'c [Contract], description: &str) -> &'c HttpInteraction {
    contracts
        .iter()
        .filter(|c| c.provider == PROVIDER)
        .flat_map(|c| &c.interactions)
        .find_map(|i| match i {
            Interaction::Http(h) if h.common.description == description => Some(h),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no HTTP interaction \"{description}\""))
}

fn event<'c>(
    contracts: &'c [Contract],
    consumer: &str,
    description: &str,
) -> &'c MessageInteraction {
    contracts
        .iter()
        .filter(|c| c.provider == PROVIDER && c.consumer == consumer)
        .flat_map(|c| &c.interactions)
        .find_map(|i| match i {
            Interaction::Message(m) if m.common.description == description => Some(m),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no event \"{description}\" of {consumer}"))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .no_proxy()
        .build()
        .expect("an HTTP client")
}

/// Sends a contract's example request (what a consumer sends), with `x-parley-state` when
/// given.
async fn send(mock: &MockServer, request: &HttpRequest, state: Option<&str>) -> reqwest::Response {
    let mut url = reqwest::Url::parse(&format!("{}{}", mock.url(), request.path)).expect("url");
    if let Some(query) = request.query.as_ref().filter(|q| !q.is_empty()) {
        let mut pairs = url.query_pairs_mut();
        for (name, values) in query {
            for value in values {
                pairs.append_pair(name, value);
            }
        }
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
    let mut builder = client().request(method, url);
    for (name, values) in request.headers.iter().flatten() {
        builder = builder.header(name.as_str(), values.join(", "));
    }
    if let Some(state) = state {
        builder = builder.header(STATE_HEADER, state);
    }
    if let Body::Json { value, .. } = &request.body {
        builder = builder.body(serde_json::to_vec(value).expect("json"));
    }
    builder.send().await.expect("the mock answers")
}

/// A response as the model holds it, for `match_response`.
async fn to_model(response: reqwest::Response) -> HttpResponse {
    let status = response.status().as_u16();
    let mut headers = Headers::new();
    for (name, value) in response.headers() {
        headers
            .entry(name.as_str().to_string())
            .or_default()
            .push(value.to_str().expect("ascii").to_string());
    }
    let bytes = response.bytes().await.expect("a body");
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Json {
            value: serde_json::from_slice(&bytes).expect("a JSON body"),
            content_type: Some("application/json".into()),
        }
    };
    HttpResponse {
        status,
        headers: Some(headers),
        body,
        ..HttpResponse::default()
    }
}

async fn verify(mock: &MockServer) -> (u16, MockReport) {
    let response = client()
        .get(format!("{}/__parley/verify", mock.url()))
        .send()
        .await
        .expect("verify answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a report"))
}

fn regex_rule(response: &HttpResponse, path: &str) -> regex::Regex {
    let rules = &response.rules.categories[&Category::Body][path].rules;
    match rules.as_slice() {
        [MatchingRule::Regex(pattern)] => regex::Regex::new(pattern).expect("a valid regex"),
        other => panic!("{path}: expected one regex rule, found {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_consumer_requests_from_the_contract_and_reports_what_was_missed() {
    let contracts = samples();
    let mock = MockServer::start(&contracts, options(PROVIDER))
        .await
        .expect("the mock starts");
    let charge = http_interaction(&contracts, "charge a customer");

    // A consumer's request, as the contract states it: the contract's response.
    let response = send(&mock, &charge.request, None).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()[INTERACTION_HEADER],
        "charge a customer",
        "names the interaction that answered"
    );
    let actual = to_model(response).await;
    let Body::Json { value, .. } = &actual.body else {
        panic!("a JSON body");
    };
    let payment_id = value["paymentId"].as_str().expect("a paymentId");
    assert!(
        regex_rule(&charge.response, "$.paymentId").is_match(payment_id),
        "{payment_id}"
    );
    let mismatches = match_response(&charge.response, &actual, contracts[0].spec);
    assert!(mismatches.is_empty(), "{}", render_mismatches(&mismatches));

    // Other values where the contract has matchers: still the same interaction.
    let mut request = charge.request.clone();
    request.body = Body::Json {
        value: json!({"amount": 5, "currency": "USD", "customerId": "c-42", "orderId": "o-zz9"}),
        content_type: None,
    };
    request
        .headers
        .as_mut()
        .expect("headers")
        .insert("idempotency-key".into(), vec!["charge-o-zz9".into()]);
    assert_eq!(send(&mock, &request, None).await.status(), 201);

    // A wrong body: 500, naming the closest interaction and the JSON path.
    request.body = Body::Json {
        value: json!({"amount": "lots", "currency": "USD", "customerId": "c-42", "orderId": "o-zz9"}),
        content_type: None,
    };
    let response = send(&mock, &request, None).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(body["closest"]["description"], "charge a customer");
    let mismatches = body["closest"]["mismatches"]
        .as_array()
        .expect("mismatches");
    assert_eq!(mismatches.len(), 1, "{body:#}");
    assert_eq!(mismatches[0]["path"], "$.amount");
    assert_eq!(mismatches[0]["rule"], "integer");
    let report = body["closest"]["report"].as_str().expect("rendered");
    assert!(report.contains("body $.amount [integer]"), "{report}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("POST /api/charge"))
    );

    // Nothing at all like it.
    let response = client()
        .delete(format!("{}/nowhere", mock.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 500);

    // The report: the two unmatched requests, the interactions never exercised.
    let (status, report) = verify(&mock).await;
    assert_eq!(status, 409);
    assert!(!report.ok);
    assert_eq!(report.interactions, 5, "HTTP only: the mock has no NATS");
    assert_eq!(report.matched_requests, 2);
    assert_eq!(report.unmatched.len(), 2);
    assert_eq!(report.unmatched[0].path, "/api/charge");
    assert_eq!(
        report.unmatched[0].body.as_ref().map(|b| &b["amount"]),
        Some(&json!("lots"))
    );
    assert_eq!(report.unmatched[1].method, "DELETE");
    let mut unexercised = report.unexercised.clone();
    unexercised.sort();
    assert_eq!(
        unexercised,
        [
            "charge a customer without funds",
            "charge again with the same idempotency key",
            "list an order's payments",
            "refund a payment",
        ]
    );
    assert_eq!(report, mock.report(), "the endpoint and the API agree");

    // Events need NATS.
    let response = client()
        .post(format!("{}/__parley/publish", mock.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 503);

    // Reset, then every interaction once: ok.
    let response = client()
        .post(format!("{}/__parley/reset", mock.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 204);
    assert_eq!(verify(&mock).await.1.unexercised.len(), 5);
    for interaction in mock
        .interactions()
        .into_iter()
        .filter(|i| i.kind == Kind::Http)
    {
        let http = http_interaction(&contracts, &interaction.description);
        let state = http.common.provider_states.first().map(|s| s.name.as_str());
        let response = send(&mock, &http.request, state).await;
        assert_eq!(
            response.headers()[INTERACTION_HEADER],
            interaction.description.as_str()
        );
        let actual = to_model(response).await;
        let mismatches = match_response(&http.response, &actual, contracts[0].spec);
        assert!(
            mismatches.is_empty(),
            "{}: {}",
            interaction.description,
            render_mismatches(&mismatches)
        );
    }
    let (status, report) = verify(&mock).await;
    assert_eq!((status, report.ok), (200, true), "{report:#?}");
    let final_report = mock.shutdown().await;
    assert!(final_report.ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_header_picks_among_matching_interactions() {
    let contracts = samples();
    let mock = MockServer::start(&contracts, options(PROVIDER))
        .await
        .expect("the mock starts");
    // This request satisfies both "charge again…" (exact values) and "charge a customer"
    // (matchers).
    let again = http_interaction(&contracts, "charge again with the same idempotency key");
    let answered = |r: &reqwest::Response| {
        r.headers()[INTERACTION_HEADER]
            .to_str()
            .unwrap_or("")
            .to_string()
    };
    let most_specific = send(&mock, &again.request, None).await;
    assert_eq!(
        answered(&most_specific),
        "charge again with the same idempotency key"
    );
    let chosen = send(&mock, &again.request, Some("customer has funds")).await;
    assert_eq!(answered(&chosen), "charge a customer");
    let body: Value = chosen.json().await.expect("json");
    assert_eq!(body["paymentId"], "pay_7f3a9c01b2d4");
    // A state no matching interaction has changes nothing.
    let unknown = send(&mock, &again.request, Some("the moon is full")).await;
    assert_eq!(
        answered(&unknown),
        "charge again with the same idempotency key"
    );
    mock.shutdown().await;
}

/// A Pact V3 file whose response has generators of each kind, and matchers for each value.
const PACT_WITH_GENERATORS: &str = r#"{
  "consumer": {"name": "web"},
  "provider": {"name": "ids"},
  "interactions": [{
    "description": "a fresh record",
    "providerState": "records exist",
    "request": {"method": "GET", "path": "/records/new"},
    "response": {
      "status": 200,
      "headers": {"Content-Type": "application/json", "X-Request-Id": "00000000-0000-4000-8000-000000000000"},
      "body": {
        "id": 999, "price": 1.5, "code": "zz", "token": "abc", "hex": "0", "flag": true,
        "uuid": "00000000-0000-4000-8000-000000000000",
        "date": "2000-01-01", "time": "00:00:00", "at": "2000-01-01T00:00:00.000Z",
        "ref": "ord-0000-AA", "fromState": 7,
        "link": "http://localhost:1234/records/7",
        "items": [{"sku": "A"}, {"sku": "B"}]
      },
      "matchingRules": {
        "header": {"X-Request-Id": {"matchers": [{"match": "regex", "regex": "^[0-9a-f-]{36}$"}]}},
        "body": {
          "$.id": {"matchers": [{"match": "integer"}]},
          "$.price": {"matchers": [{"match": "decimal"}]},
          "$.code": {"matchers": [{"match": "regex", "regex": "^[A-Z]{3}-\\d{2,4}$"}]},
          "$.token": {"matchers": [{"match": "type"}]},
          "$.hex": {"matchers": [{"match": "regex", "regex": "^[0-9a-f]{8}$"}]},
          "$.flag": {"matchers": [{"match": "boolean"}]},
          "$.uuid": {"matchers": [{"match": "regex", "regex": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}]},
          "$.date": {"matchers": [{"match": "date", "date": "yyyy-MM-dd"}]},
          "$.time": {"matchers": [{"match": "time", "time": "HH:mm:ss"}]},
          "$.at": {"matchers": [{"match": "timestamp", "timestamp": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"}]},
          "$.ref": {"matchers": [{"match": "regex", "regex": "^ord-\\d{4}-[A-Z]{2}$"}]},
          "$.fromState": {"matchers": [{"match": "integer"}]},
          "$.link": {"matchers": [{"match": "regex", "regex": ".*(/records/\\d+)$"}]},
          "$.items[*].sku": {"matchers": [{"match": "regex", "regex": "^[a-z]{5}$"}]}
        }
      },
      "generators": {
        "header": {"X-Request-Id": {"type": "Uuid"}},
        "body": {
          "$.id": {"type": "RandomInt", "min": 10, "max": 20},
          "$.price": {"type": "RandomDecimal", "digits": 5},
          "$.code": {"type": "Regex", "regex": "^[A-Z]{3}-\\d{2,4}$"},
          "$.token": {"type": "RandomString", "size": 16},
          "$.hex": {"type": "RandomHexadecimal", "digits": 8},
          "$.flag": {"type": "RandomBoolean"},
          "$.uuid": {"type": "Uuid"},
          "$.date": {"type": "Date", "format": "yyyy-MM-dd", "expression": "+1 day"},
          "$.time": {"type": "Time", "format": "HH:mm:ss"},
          "$.at": {"type": "DateTime", "format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"},
          "ref": {"type": "Regex", "regex": "^ord-\\d{4}-[A-Z]{2}$"},
          "$.fromState": {"type": "ProviderState", "expression": "${id}"},
          "$.link": {"type": "MockServerURL", "example": "http://localhost:1234/records/7", "regex": ".*(/records/\\d+)$"},
          "$.items[*].sku": {"type": "Regex", "regex": "^[a-z]{5}$"}
        }
      }
    }
  }],
  "metadata": {"pactSpecification": {"version": "3.0.0"}}
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn generators_produce_values_that_match_their_rules() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("web-ids.json");
    std::fs::write(&file, PACT_WITH_GENERATORS).expect("writes the pact");
    let contracts = load_paths(&[file]).expect("the pact loads");
    let Interaction::Http(interaction) = &contracts[0].interactions[0] else {
        panic!("an HTTP interaction");
    };
    let mock = MockServer::start(&contracts, MockOptions::default())
        .await
        .expect("the mock starts");
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..5 {
        let response = send(&mock, &interaction.request, None).await;
        assert_eq!(response.status(), 200);
        let actual = to_model(response).await;
        let mismatches = match_response(&interaction.response, &actual, contracts[0].spec);
        assert!(mismatches.is_empty(), "{}", render_mismatches(&mismatches));
        let Body::Json { value, .. } = &actual.body else {
            panic!("json");
        };
        let id = value["id"].as_i64().expect("an integer id");
        assert!((10..=20).contains(&id), "{id}");
        assert_eq!(value["token"].as_str().map(str::len), Some(16));
        assert_ne!(value["uuid"], "00000000-0000-4000-8000-000000000000");
        assert_eq!(
            value["fromState"], 7,
            "ProviderState keeps the example in a mock"
        );
        assert_eq!(value["link"], format!("{}/records/7", mock.url()));
        let request_id = &actual.headers.as_ref().expect("headers")["x-request-id"][0];
        assert_ne!(request_id, "00000000-0000-4000-8000-000000000000");
        ids.insert(value["uuid"].as_str().expect("uuid").to_string());
    }
    assert_eq!(ids.len(), 5, "every response gets fresh values");
    assert!(mock.shutdown().await.ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn publishes_events_that_satisfy_their_contract() {
    let nats = tokio::task::spawn_blocking(NatsServer::start)
        .await
        .expect("joins")
        .expect("a private nats-server (install nats-server)");
    let contracts = samples();
    let mock = MockServer::start(
        &contracts,
        MockOptions {
            nats_url: Some(nats.url()),
            ..options(PROVIDER)
        },
    )
    .await
    .expect("the mock starts");
    let consumer = async_nats::connect(nats.url()).await.expect("connects");
    let mut charged = consumer
        .subscribe("payments.charged")
        .await
        .expect("subscribes");
    consumer.flush().await.expect("flushes");

    // Events now count: 5 HTTP interactions + 4 events.
    let (_, report) = verify(&mock).await;
    assert_eq!(report.interactions, 9);

    let response = client()
        .post(format!("{}/__parley/publish", mock.url()))
        .json(&json!({
            "description": "a customer was charged for an order",
            "consumer": "order-service",
            "correlationId": "corr-42",
        }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let published = body["published"].as_array().expect("published");
    assert_eq!(published.len(), 1, "{body:#}");
    assert_eq!(published[0]["subject"], "payments.charged");

    let message = tokio::time::timeout(WAIT, charged.next())
        .await
        .expect("a message within the timeout")
        .expect("the subscription is open");
    let mut metadata = BTreeMap::new();
    for (name, values) in message.headers.iter().flat_map(|h| h.iter()) {
        let name: &str = name.as_ref();
        metadata.insert(
            name.to_string(),
            Value::String(values[0].as_str().to_string()),
        );
    }
    assert_eq!(metadata["x-correlation-id"], "corr-42");
    metadata.insert("subject".into(), Value::String(message.subject.to_string()));
    let payload: Value = serde_json::from_slice(&message.payload).expect("a JSON payload");
    let actual = MessageContents {
        contents: Body::Json {
            value: payload.clone(),
            content_type: Some("application/json".into()),
        },
        metadata,
        ..MessageContents::default()
    };
    let contract = event(
        &contracts,
        "order-service",
        "a customer was charged for an order",
    );
    let mismatches = match_message(&contract.message, &actual, contracts[0].spec);
    assert!(mismatches.is_empty(), "{}", render_mismatches(&mismatches));
    let schema =
        CompiledSchema::compile(contract.schema.as_ref().expect("a schema")).expect("compiles");
    assert!(schema.validate(&payload).is_empty());

    // Unknown events are named, with what there is.
    let response = client()
        .post(format!("{}/__parley/publish", mock.url()))
        .json(&json!({"subject": "orders.*"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 404);
    let error = response.json::<Value>().await.expect("json")["error"].to_string();
    assert!(error.contains("payments.declined"), "{error}");
    let response = client()
        .post(format!("{}/__parley/publish", mock.url()))
        .json(&json!({"desription": "typo"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 400);

    // The API publishes too; the other three events by subject pattern.
    let request = parley_harness::mock::PublishRequest {
        subject: Some("payments.>".into()),
        ..Default::default()
    };
    let published = mock.publish(&request).await.expect("publishes");
    assert_eq!(
        published.len(),
        4,
        "both contracts' payments.charged, declined, refunded"
    );
    let report = mock.shutdown().await;
    let mut unexercised = report.unexercised;
    unexercised.sort();
    assert_eq!(
        unexercised,
        [
            "charge a customer",
            "charge a customer without funds",
            "charge again with the same idempotency key",
            "list an order's payments",
            "refund a payment",
        ],
        "every event was published"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn says_why_it_cannot_start() {
    let contracts = samples();
    let err = MockServer::start(&contracts, options("nobody"))
        .await
        .expect_err("no such provider");
    let message = err.to_string();
    assert!(matches!(err, MockError::NothingSelected(_)));
    assert!(
        message.contains("\"nobody\"") && message.contains("payment-service"),
        "{message}"
    );

    let err = MockServer::start(
        &contracts,
        MockOptions {
            consumer: Some("gateway".into()),
            ..options("inventory-service")
        },
    )
    .await
    .expect_err("no such pair");
    assert!(err.to_string().contains("order-service"), "{err}");

    // Events only, without NATS: nothing to serve.
    let err = MockServer::start(
        &contracts,
        MockOptions {
            consumer: Some("inventory-service".into()),
            ..options(PROVIDER)
        },
    )
    .await
    .expect_err("only events");
    assert!(err.to_string().contains("NATS"), "{err}");

    let taken = MockServer::start(&contracts, options(PROVIDER))
        .await
        .expect("starts");
    let err = MockServer::start(
        &contracts,
        MockOptions {
            listen: taken.addr(),
            ..options(PROVIDER)
        },
    )
    .await
    .expect_err("the port is taken");
    match &err {
        MockError::Bind { addr, source } => {
            assert_eq!(*addr, taken.addr());
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains(&taken.addr().to_string()));
    taken.shutdown().await;
}
