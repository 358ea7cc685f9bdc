//! Pact files to and from the model: real files written by Pact libraries read, written back
//! and read again; errors point into the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parley_contracts::pact::PactError;
use parley_contracts::pact::file::{
    pact_to_string, parse_pact, read_pact, write_losses, write_pact,
};
use parley_contracts::pact::spec_case::{CaseSide, folder_kind, folder_spec, load_case};
use parley_contracts::{
    Body, Category, Contract, Generators, HttpInteraction, HttpRequest, HttpResponse, Interaction,
    InteractionCommon, MessageContents, MessageInteraction, ProviderState, SpecVersion,
    SyncMessageInteraction,
};
use serde_json::{Value, json};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pacts")
}

/// The data file of that name, in whichever subfolder it is.
fn data(name: &str) -> PathBuf {
    data_files()
        .into_iter()
        .find(|f| f.file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("no data file {name}"))
}

/// Every `.json` file under the data folder.
fn data_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![data_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("data folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn read(name: &str) -> Contract {
    read_pact(&data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The contract without what only says where it was read from.
fn normalised(mut contract: Contract) -> Contract {
    contract.source = None;
    for interaction in &mut contract.interactions {
        interaction.common_mut().location = None;
    }
    contract
}

/// Written as `version`, then read again.
fn through(contract: &Contract, version: SpecVersion) -> Contract {
    let text = pact_to_string(contract, version);
    parse_pact(&text, None).unwrap_or_else(|e| panic!("reading back {version:?}: {e}\n{text}"))
}

fn http(contract: &Contract, index: usize) -> &HttpInteraction {
    match &contract.interactions[index] {
        Interaction::Http(h) => h,
        other => panic!("interaction {index} is not HTTP: {other:?}"),
    }
}

fn states(contract: &Contract) -> Vec<Vec<ProviderState>> {
    contract
        .interactions
        .iter()
        .map(|i| i.common().provider_states.clone())
        .collect()
}

fn unwrap_invalid(error: PactError) -> (Option<PathBuf>, String, String) {
    match error {
        PactError::Invalid { file, at, message } => (file, at, message),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

fn write_temp(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const MINIMAL_V3: &str = r#"{
  "consumer": {"name": "order-service"},
  "provider": {"name": "payment-service"},
  "interactions": [
    {
      "description": "a charge",
      "request": {"method": "POST", "path": "/api/charge"},
      "response": {"status": 201}
    }
  ],
  "metadata": {"pactSpecification": {"version": "3.0.0"}}
}"#;

// ---------------------------------------------------------------------------------------------
// Every file reads, as what it is

#[test]
fn every_file_in_the_data_folder_reads() {
    let expected: BTreeMap<&str, (SpecVersion, usize)> = [
        ("pact-python-v3-http.json", (SpecVersion::V3, 3)),
        ("pact-python-v3-messages.json", (SpecVersion::V3, 1)),
        ("pact-python-v4-http.json", (SpecVersion::V4, 5)),
        ("pact-python-v4-messages.json", (SpecVersion::V4, 3)),
        ("pact-jvm-v1.json", (SpecVersion::V1, 1)),
        ("pact-jvm-v3-generators.json", (SpecVersion::V3, 1)),
        ("pact-jvm-v3-message-generators.json", (SpecVersion::V3, 1)),
        ("pact-jvm-v4-combined.json", (SpecVersion::V4, 2)),
        ("pact-jvm-v4-http-comments.json", (SpecVersion::V4, 1)),
        ("pact-jvm-v4-sync-messages.json", (SpecVersion::V4, 1)),
        ("pact-reference-no-spec-version.json", (SpecVersion::V2, 1)),
        (
            "pact-reference-v2-matchers-old-format.json",
            (SpecVersion::V2, 1),
        ),
        ("pact-reference-v2-matchers.json", (SpecVersion::V2, 1)),
        ("pact-reference-v2-query.json", (SpecVersion::V2, 3)),
        (
            "pact-reference-v3-provider-states.json",
            (SpecVersion::V3, 2),
        ),
        (
            "pact-reference-v4-two-interactions.json",
            (SpecVersion::V4, 2),
        ),
        ("bom-v3.json", (SpecVersion::V3, 1)),
    ]
    .into_iter()
    .collect();
    let files = data_files();
    assert!(files.len() >= expected.len(), "{files:?}");
    for file in files {
        let contract = read_pact(&file).unwrap_or_else(|e| panic!("{e}"));
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            !contract.consumer.is_empty() && !contract.provider.is_empty(),
            "{name}"
        );
        assert_eq!(contract.source.as_deref(), Some(file.as_path()));
        for interaction in &contract.interactions {
            let location = interaction.common().location.as_ref().expect("a location");
            assert_eq!(location.file, file);
            assert!(location.line.is_some_and(|l| l > 1), "{name}: {location}");
        }
        if let Some((spec, count)) = expected.get(name) {
            assert_eq!(contract.spec, *spec, "{name}");
            assert_eq!(contract.interactions.len(), *count, "{name}");
        } else {
            panic!("{name}: add it to the table of this test");
        }
    }
}

#[test]
fn pact_python_v4_http_reads_with_states_query_headers_and_rules() {
    let contract = read("pact-python-v4-http.json");
    assert_eq!(contract.consumer, "order-service");
    assert_eq!(contract.provider, "payment-service");
    assert!(
        contract.metadata.contains_key("pactRust"),
        "other metadata kept"
    );
    assert!(!contract.metadata.contains_key("pactSpecification"));

    let charge = contract
        .interactions
        .iter()
        .find(|i| i.description() == "a charge for a customer with funds")
        .expect("charge");
    let Interaction::Http(charge) = charge else {
        panic!("HTTP")
    };
    assert_eq!(charge.common.provider_states[0].name, "customer has funds");
    assert_eq!(
        charge.common.provider_states[0].params.get("customerId"),
        Some(&json!("c-42"))
    );
    assert_eq!(charge.request.method, "POST");
    assert_eq!(charge.request.path, "/api/charge");
    let headers = charge.response.headers.as_ref().expect("headers");
    assert_eq!(headers["Date"], vec!["Mon, 06 Jan 2025 10:15:30 GMT"]);
    assert_eq!(charge.response.status, 201);
    match &charge.response.body {
        Body::Json {
            value,
            content_type,
        } => {
            assert_eq!(value["status"], "approved");
            assert_eq!(content_type.as_deref(), Some("application/json"));
        }
        other => panic!("{other:?}"),
    }
    let body_rules = charge
        .response
        .rules
        .category(Category::Body)
        .expect("body rules");
    assert!(body_rules.contains_key("$.paymentId"), "{body_rules:?}");
    assert!(
        charge.response.rules.category(Category::Header).is_some(),
        "header rules"
    );

    let list = contract
        .interactions
        .iter()
        .find(|i| i.description() == "the payments of an order")
        .expect("list");
    let Interaction::Http(list) = list else {
        panic!("HTTP")
    };
    let query = list.request.query.as_ref().expect("query");
    assert_eq!(query["orderId"], vec!["o-1"]);
    assert_eq!(query["from"], vec!["2025-01-06"]);
    assert!(list.request.rules.category(Category::Query).is_some());

    let by_id = contract
        .interactions
        .iter()
        .find(|i| i.description() == "a payment by its id")
        .expect("by id");
    let Interaction::Http(by_id) = by_id else {
        panic!("HTTP")
    };
    assert_eq!(
        by_id.request.generators.categories.get("path"),
        Some(&json!({"expression": "/api/payments/${paymentId}", "type": "ProviderState"}))
    );
    assert!(by_id.response.generators.categories.contains_key("body"));
}

#[test]
fn pact_python_v4_messages_read_with_subject_metadata_and_sync_responses() {
    let contract = read("pact-python-v4-messages.json");
    let created = contract
        .interactions
        .iter()
        .find(|i| i.description() == "an order created event")
        .expect("created");
    let Interaction::Message(created) = created else {
        panic!("an asynchronous message")
    };
    assert_eq!(created.subject.as_deref(), Some("orders.created"));
    assert_eq!(
        created.message.metadata.get("subject"),
        Some(&json!("orders.created")),
        "the subject stays in the metadata for Pact consumers"
    );
    assert!(matches!(created.message.contents, Body::Json { .. }));
    assert!(created.message.rules.category(Category::Body).is_some());
    assert!(created.message.rules.category(Category::Metadata).is_some());

    let stock = contract
        .interactions
        .iter()
        .find(|i| i.description() == "a stock query over request/reply")
        .expect("sync");
    let Interaction::SyncMessage(stock) = stock else {
        panic!("a synchronous message")
    };
    assert_eq!(stock.subject.as_deref(), Some("inventory.stock.get"));
    assert_eq!(stock.responses.len(), 1);
    match &stock.responses[0].contents {
        Body::Json { value, .. } => assert_eq!(value["price"], json!(9.99)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn v1_and_v2_files_read_query_strings_states_and_headers() {
    let contract = read("pact-reference-v2-query.json");
    let encoded = http(&contract, 1);
    let query = encoded.request.query.as_ref().expect("query");
    assert_eq!(query["datetime"], vec!["2011-12-03T10:15:30+01:00"]);
    assert_eq!(query["description"], vec!["hello world!"]);
    let first = http(&contract, 0);
    assert_eq!(
        first.request.query.as_ref().expect("query")["q"],
        vec!["p", "p2"]
    );
    assert_eq!(first.common.provider_states[0].name, "test state");

    let v1 = read("pact-jvm-v1.json");
    let headers = http(&v1, 0).response.headers.as_ref().expect("headers");
    assert_eq!(
        headers["access-control-allow-methods"],
        vec!["POST", "GET", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH"],
        "a known multi-value header is a list"
    );
    assert!(matches!(http(&v1, 0).response.body, Body::Text { .. }));
}

#[test]
fn v3_message_pacts_read_pact_jvm_metadata_spelling_and_generators() {
    let contract = read("pact-jvm-v3-message-generators.json");
    let Interaction::Message(message) = &contract.interactions[0] else {
        panic!("a message")
    };
    assert_eq!(
        message.message.metadata.get("contentType"),
        Some(&json!("application/json")),
        "`metaData` is read as metadata"
    );
    assert_eq!(
        message.message.generators.categories.get("body"),
        Some(&json!({"a": {"type": "Uuid"}}))
    );
    assert_eq!(message.common.provider_states[0].name, "message exists");
}

#[test]
fn v4_keys_comments_and_binary_bodies_read() {
    let contract = read("pact-jvm-v4-http-comments.json");
    let h = http(&contract, 0);
    assert_eq!(h.common.key.as_deref(), Some("001"));
    assert_eq!(
        h.common.comments.as_ref().and_then(|c| c.get("testname")),
        Some(&json!("example_test.groovy"))
    );
    match &h.response.body {
        Body::Binary {
            bytes,
            content_type,
        } => {
            assert!(bytes.starts_with(b"GIF87a"));
            assert_eq!(content_type.as_deref(), Some("image/gif"));
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips

/// read → write (same version) → read gives the same contract, for every file.
#[test]
fn every_file_round_trips_in_its_own_version() {
    for file in data_files() {
        let contract = normalised(read_pact(&file).unwrap_or_else(|e| panic!("{e}")));
        let again = through(&contract, contract.spec);
        assert_eq!(again, contract, "{}", file.display());
    }
}

/// parley writes a pact the Pact Rust core wrote as the very same JSON document.
#[test]
fn pact_python_files_are_written_back_as_pact_wrote_them() {
    for name in [
        "pact-python-v4-http.json",
        "pact-python-v4-messages.json",
        "pact-python-v3-http.json",
        "pact-python-v3-messages.json",
    ] {
        let path = data(name);
        let original: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let contract = read(name);
        assert_eq!(write_pact(&contract, contract.spec), original, "{name}");
    }
}

#[test]
fn v3_to_v4_preserves_interactions_states_rules_and_generators() {
    for name in [
        "pact-python-v3-http.json",
        "pact-python-v3-messages.json",
        "pact-jvm-v3-generators.json",
        "pact-jvm-v3-message-generators.json",
        "pact-reference-v3-provider-states.json",
        "pact-reference-v2-matchers.json",
    ] {
        let v3 = normalised(read(name));
        let v4 = through(&v3, SpecVersion::V4);
        assert_eq!(v4.spec, SpecVersion::V4);
        assert_eq!(v4.interactions.len(), v3.interactions.len(), "{name}");
        assert_eq!(states(&v4), states(&v3), "{name}");
        for (a, b) in v3.interactions.iter().zip(&v4.interactions) {
            assert_eq!(a.description(), b.description(), "{name}");
            match (a, b) {
                (Interaction::Http(a), Interaction::Http(b)) => {
                    assert_eq!(a.request.method, b.request.method);
                    assert_eq!(a.request.path, b.request.path);
                    assert_eq!(a.request.query, b.request.query);
                    assert_eq!(a.request.headers, b.request.headers);
                    assert_eq!(a.request.rules, b.request.rules, "{name}");
                    assert_eq!(a.request.generators, b.request.generators, "{name}");
                    assert_eq!(payload(&a.request.body), payload(&b.request.body));
                    assert_eq!(a.response.status, b.response.status);
                    assert_eq!(a.response.headers, b.response.headers);
                    assert_eq!(a.response.rules, b.response.rules, "{name}");
                    assert_eq!(a.response.generators, b.response.generators, "{name}");
                    assert_eq!(payload(&a.response.body), payload(&b.response.body));
                }
                (Interaction::Message(a), Interaction::Message(b)) => {
                    assert_eq!(a.subject, b.subject);
                    assert_eq!(a.message.metadata, b.message.metadata);
                    assert_eq!(a.message.rules, b.message.rules, "{name}");
                    assert_eq!(a.message.generators, b.message.generators, "{name}");
                    // A JSON body that is a JSON string holding JSON text (pact-jvm's V3
                    // `"contents": "\"Test Message\""`) is read as that string in V3 but as
                    // the text's JSON in V4, so only other payloads are compared (see
                    // pact::body::from_v4).
                    if !matches!(
                        a.message.contents,
                        Body::Json {
                            value: Value::String(_),
                            ..
                        }
                    ) {
                        assert_eq!(payload(&a.message.contents), payload(&b.message.contents));
                    }
                }
                (a, b) => panic!("{name}: {a:?} became {b:?}"),
            }
        }
    }
}

/// A body's payload, whatever content type the layout implies.
fn payload(body: &Body) -> Option<Value> {
    match body {
        Body::Missing => None,
        Body::Null => Some(Value::Null),
        Body::Empty => Some(json!("")),
        Body::Json { value, .. } => Some(value.clone()),
        Body::Text { text, .. } => Some(json!(text)),
        Body::Binary { bytes, .. } => Some(json!(bytes)),
    }
}

#[test]
fn generators_survive_every_version() {
    let contract = normalised(read("pact-jvm-v3-generators.json"));
    let request = http(&contract, 0).request.generators.clone();
    let response = http(&contract, 0).response.generators.clone();
    assert_eq!(
        response.categories.get("path"),
        Some(&json!({"size": 20, "type": "RandomString"}))
    );
    for version in [SpecVersion::V2, SpecVersion::V3, SpecVersion::V4] {
        let again = through(&contract, version);
        assert_eq!(http(&again, 0).request.generators, request, "{version:?}");
        assert_eq!(http(&again, 0).response.generators, response, "{version:?}");
    }
    let messages = normalised(read("pact-jvm-v4-combined.json"));
    let again = through(&messages, SpecVersion::V4);
    let Interaction::Message(m) = &again.interactions[1] else {
        panic!("a message")
    };
    assert_eq!(
        m.message.generators.categories.get("content"),
        Some(&json!({"a": {"type": "Uuid"}})),
        "kept under the category it was written with"
    );
}

/// A contract built in code, with every kind of interaction and no matching rules.
fn built() -> Contract {
    let mut params = serde_json::Map::new();
    params.insert("customerId".into(), json!("c-42"));
    let mut metadata = BTreeMap::new();
    metadata.insert("contentType".into(), json!("application/json"));
    let mut extra = serde_json::Map::new();
    extra.insert("transport".into(), json!("http"));
    Contract {
        consumer: "order-service".into(),
        provider: "payment-service".into(),
        spec: SpecVersion::V4,
        interactions: vec![
            Interaction::Http(HttpInteraction {
                common: InteractionCommon {
                    description: "a charge".into(),
                    provider_states: vec![ProviderState {
                        name: "customer has funds".into(),
                        params,
                    }],
                    key: Some("k1".into()),
                    comments: Some(json!({"text": ["hello"]})),
                    extra,
                    ..InteractionCommon::default()
                },
                request: HttpRequest {
                    method: "POST".into(),
                    path: "/api/charge".into(),
                    query: Some(
                        [("a b".to_string(), vec!["1&2".to_string(), "é".to_string()])]
                            .into_iter()
                            .collect(),
                    ),
                    headers: Some(
                        [(
                            "Content-Type".to_string(),
                            vec!["application/json".to_string()],
                        )]
                        .into_iter()
                        .collect(),
                    ),
                    body: Body::Json {
                        value: json!({"amount": 1999, "currency": "USD"}),
                        content_type: Some("application/json".into()),
                    },
                    ..HttpRequest::default()
                },
                response: HttpResponse {
                    status: 201,
                    headers: Some(
                        [("Accept".to_string(), vec!["a".to_string(), "b".to_string()])]
                            .into_iter()
                            .collect(),
                    ),
                    body: Body::Json {
                        value: json!({"paymentId": "pay_1", "status": "approved"}),
                        content_type: None,
                    },
                    generators: Generators {
                        categories: [(
                            "body".to_string(),
                            json!({"$.paymentId": {"type": "Uuid"}}),
                        )]
                        .into_iter()
                        .collect(),
                    },
                    ..HttpResponse::default()
                },
            }),
            Interaction::Message(MessageInteraction {
                common: InteractionCommon {
                    description: "order created".into(),
                    pending: true,
                    ..InteractionCommon::default()
                },
                message: MessageContents {
                    contents: Body::Json {
                        value: json!({"orderId": "o-1"}),
                        content_type: Some("application/json".into()),
                    },
                    metadata: metadata.clone(),
                    ..MessageContents::default()
                },
                subject: Some("orders.created".into()),
                ..MessageInteraction::default()
            }),
            Interaction::SyncMessage(SyncMessageInteraction {
                common: InteractionCommon {
                    description: "stock query".into(),
                    ..InteractionCommon::default()
                },
                request: MessageContents {
                    contents: Body::Text {
                        text: "A1".into(),
                        content_type: Some("text/plain".into()),
                    },
                    ..MessageContents::default()
                },
                responses: vec![MessageContents {
                    contents: Body::Binary {
                        bytes: vec![0, 1, 255],
                        content_type: Some("application/octet-stream".into()),
                    },
                    metadata,
                    ..MessageContents::default()
                }],
                subject: Some("inventory.stock.get".into()),
            }),
        ],
        metadata: serde_json::Map::new(),
        source: None,
    }
}

#[test]
fn a_built_contract_round_trips_through_v4() {
    let contract = built();
    let again = through(&contract, SpecVersion::V4);
    let mut expected = contract.clone();
    // Written into the metadata so that Pact consumers see it, and read back from there.
    for interaction in &mut expected.interactions {
        match interaction {
            Interaction::Message(m) => {
                m.message
                    .metadata
                    .insert("subject".into(), json!("orders.created"));
            }
            Interaction::SyncMessage(s) => {
                s.request
                    .metadata
                    .insert("subject".into(), json!("inventory.stock.get"));
            }
            Interaction::Http(h) => {
                // V4 bodies always name their content type.
                if let Body::Json { content_type, .. } = &mut h.response.body {
                    *content_type = Some("application/json".into());
                }
            }
        }
    }
    assert_eq!(again, expected);
    // Writing it again gives the same text.
    assert_eq!(
        pact_to_string(&again, SpecVersion::V4),
        pact_to_string(&expected, SpecVersion::V4)
    );
}

#[test]
fn older_versions_say_what_they_lose() {
    let contract = built();
    assert!(write_losses(&contract, SpecVersion::V4).is_empty());
    let v3 = write_losses(&contract, SpecVersion::V3);
    assert!(
        v3.iter()
            .any(|l| l.contains("stock query") && l.contains("V4")),
        "{v3:?}"
    );
    let v2 = write_losses(&contract, SpecVersion::V2);
    assert!(v2.iter().any(|l| l.contains("parameters")), "{v2:?}");

    let again = through(&contract, SpecVersion::V3);
    assert_eq!(again.interactions.len(), 2, "the sync message is left out");
    assert_eq!(
        again.interactions[0].common().provider_states,
        contract.interactions[0].common().provider_states
    );
    let v2 = through(&contract, SpecVersion::V2);
    assert_eq!(
        v2.interactions[0].common().provider_states,
        vec![ProviderState {
            name: "customer has funds".into(),
            params: serde_json::Map::new()
        }]
    );
    assert_eq!(
        http(&v2, 0).request.query,
        http(&contract, 0).request.query,
        "a V2 query string keeps names and values"
    );
}

// ---------------------------------------------------------------------------------------------
// The written shapes

#[test]
fn each_version_writes_its_own_layout() {
    let contract = built();
    let v4 = write_pact(&contract, SpecVersion::V4);
    assert_eq!(v4["metadata"]["pactSpecification"]["version"], "4.0");
    let i = &v4["interactions"][0];
    assert_eq!(i["type"], "Synchronous/HTTP");
    assert_eq!(i["pending"], false);
    assert_eq!(i["transport"], "http", "extra keys written back");
    assert_eq!(
        i["request"]["headers"]["Content-Type"],
        json!(["application/json"])
    );
    assert_eq!(i["request"]["body"]["contentType"], "application/json");
    assert_eq!(i["providerStates"][0]["params"]["customerId"], "c-42");
    assert_eq!(
        v4["interactions"][1]["metadata"]["subject"],
        "orders.created"
    );
    assert_eq!(
        v4["interactions"][2]["response"][0]["contents"]["encoded"],
        "base64"
    );
    assert!(v4.get("messages").is_none());

    let v3 = write_pact(&contract, SpecVersion::V3);
    assert_eq!(v3["metadata"]["pactSpecification"]["version"], "3.0.0");
    let i = &v3["interactions"][0];
    assert!(i.get("type").is_none());
    assert_eq!(i["request"]["headers"]["Content-Type"], "application/json");
    assert_eq!(i["response"]["headers"]["Accept"], "a, b");
    assert_eq!(i["request"]["query"]["a b"], json!(["1&2", "é"]));
    assert_eq!(i["request"]["body"]["amount"], 1999);
    assert_eq!(v3["messages"][0]["contents"]["orderId"], "o-1");
    assert_eq!(v3["messages"][0]["metadata"]["subject"], "orders.created");
    assert_eq!(v3["interactions"].as_array().map(Vec::len), Some(1));

    let v2 = write_pact(&contract, SpecVersion::V2);
    let i = &v2["interactions"][0];
    assert_eq!(i["providerState"], "customer has funds");
    assert_eq!(i["request"]["query"], "a+b=1%262&a+b=%C3%A9");
}

#[test]
fn written_text_has_sorted_keys_and_a_final_newline() {
    let text = pact_to_string(&built(), SpecVersion::V4);
    assert!(text.ends_with("}\n"));
    let consumer = text.find("\"consumer\"").expect("consumer");
    let interactions = text.find("\"interactions\"").expect("interactions");
    let metadata = text
        .rfind("\"metadata\": {\n    \"pactSpecification\"")
        .expect("metadata");
    let provider = text.rfind("\"provider\"").expect("provider");
    assert!(consumer < interactions && interactions < metadata && metadata < provider);
    // Body keys too, as Pact writers do.
    assert!(text.find("\"amount\"") < text.find("\"currency\""));
}

#[test]
fn a_message_only_contract_is_a_v3_message_pact() {
    let contract = read("pact-python-v3-messages.json");
    let value = write_pact(&contract, SpecVersion::V3);
    assert!(value.get("interactions").is_none());
    assert_eq!(value["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(value["metadata"]["pactRust"]["ffi"], "0.5.12");
}

// ---------------------------------------------------------------------------------------------
// Versions and shapes readers must recognise

#[test]
fn the_version_comes_from_any_spelling_and_defaults_to_v2() {
    for (metadata, spec) in [
        (
            json!({"pactSpecification": {"version": "3.0.0"}}),
            SpecVersion::V3,
        ),
        (
            json!({"pact-specification": {"version": "1.1.0"}}),
            SpecVersion::V1_1,
        ),
        (
            json!({"pactSpecificationVersion": "1.0.0"}),
            SpecVersion::V1,
        ),
        (
            json!({"pactSpecification": {"version": "4.0"}}),
            SpecVersion::V4,
        ),
        (json!({"other": 1}), SpecVersion::V2),
    ] {
        let mut document: Value = serde_json::from_str(MINIMAL_V3).expect("json");
        document["metadata"] = metadata;
        if spec == SpecVersion::V4 {
            document["interactions"][0]["type"] = json!("Synchronous/HTTP");
        }
        let contract = parse_pact(&document.to_string(), None).expect("reads");
        assert_eq!(contract.spec, spec, "{document}");
    }
    let mut typed: Value = serde_json::from_str(MINIMAL_V3).expect("json");
    typed["metadata"] = json!({});
    typed["interactions"][0]["type"] = json!("Synchronous/HTTP");
    let contract = parse_pact(&typed.to_string(), None).expect("reads");
    assert_eq!(contract.spec, SpecVersion::V4, "typed interactions are V4");
}

#[test]
fn a_bom_file_reads() {
    let contract = read("bom-v3.json");
    assert_eq!(contract.consumer, "order-service");
    let text = format!("\u{feff}{MINIMAL_V3}");
    assert_eq!(
        parse_pact(&text, None).expect("reads"),
        parse_pact(MINIMAL_V3, None).expect("reads")
    );
}

// ---------------------------------------------------------------------------------------------
// Errors point into the file

#[test]
fn a_wrong_type_names_the_file_the_json_path_and_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = MINIMAL_V3.replace("\"method\": \"POST\"", "\"method\": 42");
    let path = write_temp(&dir, "wrong.json", &text);
    let error = read_pact(&path).expect_err("a number is no method");
    let shown = error.to_string();
    let (file, at, message) = unwrap_invalid(error);
    assert_eq!(file.as_deref(), Some(path.as_path()));
    assert_eq!(at, "interactions[0].request.method");
    assert!(
        message.contains("expected a string, found a number"),
        "{message}"
    );
    assert!(message.contains("line 7, column 29"), "{message}");
    assert!(shown.starts_with(&path.display().to_string()), "{shown}");
}

#[test]
fn shape_errors_say_what_was_expected() {
    let cases = [
        (
            r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": {}}"#,
            "interactions",
            "expected an array, found an object",
        ),
        (
            r#"{"provider": {"name": "b"}, "interactions": []}"#,
            "$",
            "missing `consumer`",
        ),
        (
            r#"{"consumer": {"name": 1}, "provider": {"name": "b"}}"#,
            "consumer.name",
            "expected a string",
        ),
        (r#"[1, 2]"#, "$", "expected a Pact document"),
        (
            r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": [{"description": "x", "providerStates": [{"params": {}}], "request": {}, "response": {}}]}"#,
            "interactions[0].providerStates[0]",
            "missing name",
        ),
        (
            r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": [{"request": {"query": 3}, "response": {}}]}"#,
            "interactions[0].request.query",
            "expected a query string or an object of arrays, found a number",
        ),
        (
            r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": [{"request": {}, "response": {"status": 20000}}]}"#,
            "interactions[0].response.status",
            "expected an HTTP status code",
        ),
        (
            r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": [{"request": {}, "response": {}}], "metadata": {"pactSpecification": {"version": "9.0.0"}}}"#,
            "metadata.pactSpecification.version",
            "unknown Pact specification version",
        ),
        (
            r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": [{"type": "Synchronous/HTTP", "request": {"headers": {"X": [1, null]}}, "response": {}}], "metadata": {"pactSpecification": {"version": "4.0"}}}"#,
            "interactions[0].request.headers.X[1]",
            "expected a string, found null",
        ),
        (
            r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": [{"type": "Synchronous/HTTP", "request": {}, "response": {"body": {"a": 1}}}], "metadata": {"pactSpecification": {"version": "4.0"}}}"#,
            "interactions[0].response.body",
            "V3 body in a V4 file",
        ),
        (
            r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": [{"type": "Synchronous/Messages", "request": {"contents": {"content": "x"}}, "response": 5}], "metadata": {"pactSpecification": {"version": "4.0"}}}"#,
            "interactions[0].response",
            "expected an array of messages",
        ),
    ];
    for (text, at, message) in cases {
        let (file, got_at, got) = unwrap_invalid(parse_pact(text, None).expect_err(text));
        assert_eq!(file, None);
        assert_eq!(got_at, at, "{text}");
        assert!(got.contains(message), "{text}: {got}");
        assert!(got.contains("(line 1, column "), "{text}: {got}");
    }
}

#[test]
fn an_unknown_interaction_type_is_named() {
    let text = r#"{
  "consumer": {"name": "a"},
  "provider": {"name": "b"},
  "interactions": [
    {"type": "Synchronous/HTTP", "description": "ok", "request": {}, "response": {}},
    {"type": "Synchronous/Plugin", "description": "grpc"}
  ],
  "metadata": {"pactSpecification": {"version": "4.0"}}
}"#;
    let (_, at, message) =
        unwrap_invalid(parse_pact(text, Some(Path::new("p.json"))).expect_err("unknown"));
    assert_eq!(at, "interactions[1].type");
    assert!(message.contains("\"Synchronous/Plugin\""), "{message}");
    assert!(message.contains("Asynchronous/Messages"), "{message}");
    assert!(message.contains("line 6, column 14"), "{message}");
}

#[test]
fn bad_json_gives_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_temp(
        &dir,
        "bad.json",
        "{\n  \"consumer\": {\"name\": \"a\"},\n  \"provider\" {}\n}",
    );
    match read_pact(&path).expect_err("not JSON") {
        PactError::Syntax {
            file,
            line,
            column,
            message,
        } => {
            assert_eq!(file.as_deref(), Some(path.as_path()));
            assert_eq!((line, column), (3, 14));
            assert!(message.contains("expected `:`"), "{message}");
            assert!(!message.contains("at line"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let text =
        "{\"consumer\": {\"name\": \"a\"}, \"provider\": {\"name\": \"b\"}, \"interactions\": [";
    assert!(matches!(
        parse_pact(text, None),
        Err(PactError::Syntax { line: 1, .. })
    ));
}

#[test]
fn a_file_that_is_not_utf8_is_a_syntax_error_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("latin1.json");
    std::fs::write(&path, b"{\n  \"consumer\": {\"name\": \"caf\xe9\"}\n}").expect("write");
    match read_pact(&path).expect_err("not UTF-8") {
        PactError::Syntax {
            line,
            column,
            message,
            ..
        } => {
            assert_eq!((line, column), (2, 28));
            assert!(message.contains("UTF-8"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let error = read_pact(Path::new("/nonexistent/pact.json")).expect_err("missing");
    assert!(matches!(error, PactError::Io { .. }));
    assert!(
        error.to_string().contains("/nonexistent/pact.json"),
        "{error}"
    );
}

#[test]
fn deep_nesting_is_a_clear_error_not_a_stack_overflow() {
    let depth = 10_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let text = format!(
        r#"{{"consumer": {{"name": "a"}}, "provider": {{"name": "b"}}, "interactions": [{{"request": {{}}, "response": {{"body": {body}}}}}]}}"#
    );
    match parse_pact(&text, Some(Path::new("deep.json"))).expect_err("too deep") {
        PactError::Syntax {
            file,
            line,
            message,
            ..
        } => {
            assert_eq!(file.as_deref(), Some(Path::new("deep.json")));
            assert_eq!(line, 1);
            assert!(message.contains("nested more than 128 levels"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Just inside the limit reads.
    let body = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let text = format!(
        r#"{{"consumer": {{"name": "a"}}, "provider": {{"name": "b"}}, "interactions": [{{"request": {{}}, "response": {{"body": {body}}}}}]}}"#
    );
    parse_pact(&text, None).expect("100 levels read");
}

#[test]
fn a_50_mb_pact_reads() {
    let item = r#"{"sku": "A1", "qty": 2, "note": "a line of text to make the file big"},"#;
    let count = 50 * 1024 * 1024 / item.len() + 1;
    let mut items = item.repeat(count);
    items.pop();
    let text = format!(
        r#"{{"consumer": {{"name": "a"}}, "provider": {{"name": "b"}}, "interactions": [{{"description": "big", "request": {{"method": "POST", "path": "/orders", "body": [{items}]}}, "response": {{"status": 201}}}}], "metadata": {{"pactSpecification": {{"version": "3.0.0"}}}}}}"#
    );
    assert!(text.len() > 50 * 1024 * 1024);
    let contract = parse_pact(&text, Some(Path::new("big.json"))).expect("reads");
    match &http(&contract, 0).request.body {
        Body::Json { value, .. } => assert_eq!(value.as_array().map(Vec::len), Some(count)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        contract.interactions[0]
            .common()
            .location
            .as_ref()
            .and_then(|l| l.column),
        Some(73)
    );
}

// ---------------------------------------------------------------------------------------------
// The Pact specification's test cases: each case's `expected` side, as an interaction, written
// in the case's version and read back, is the same.

fn spec_cases_dir() -> PathBuf {
    std::env::var_os("PACT_SPEC_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pact-spec"))
}

/// A contract holding one case side as its only interaction.
fn contract_of(side: &CaseSide, spec: SpecVersion) -> Contract {
    let common = InteractionCommon {
        description: "case".into(),
        ..InteractionCommon::default()
    };
    let interaction = match side {
        CaseSide::Request(request) => Interaction::Http(HttpInteraction {
            common,
            request: request.clone(),
            response: HttpResponse::default(),
        }),
        CaseSide::Response(response) => Interaction::Http(HttpInteraction {
            common,
            request: HttpRequest::default(),
            response: response.clone(),
        }),
        CaseSide::Message(message) => Interaction::Message(MessageInteraction {
            common,
            message: message.clone(),
            subject: message
                .metadata
                .get("subject")
                .and_then(Value::as_str)
                .map(str::to_string),
            ..MessageInteraction::default()
        }),
    };
    Contract {
        consumer: "consumer".into(),
        provider: "provider".into(),
        interactions: vec![interaction],
        spec,
        ..Contract::default()
    }
}

/// Header values as comma-separated lists: the case loader keeps `Accept: a, b` as one value,
/// the Pact file reader splits known multi-value headers into `["a", "b"]` as Pact does; the
/// matching engine treats both alike.
fn comma_lists(mut interactions: Vec<Interaction>) -> Vec<Interaction> {
    let split = |headers: &mut Option<parley_contracts::Headers>| {
        for values in headers.iter_mut().flat_map(|h| h.values_mut()) {
            *values = values
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .collect();
        }
    };
    for interaction in &mut interactions {
        if let Interaction::Http(h) = interaction {
            split(&mut h.request.headers);
            split(&mut h.response.headers);
        }
    }
    interactions
}

#[test]
fn the_pact_spec_cases_expected_sides_round_trip() {
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut versions: Vec<PathBuf> = std::fs::read_dir(spec_cases_dir())
        .expect("the Pact specification's test cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    for version in versions {
        let Some(spec) = version
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(folder_spec)
        else {
            continue;
        };
        for kind_dir in std::fs::read_dir(version.join("testcases"))
            .expect("testcases")
            .filter_map(|e| e.ok().map(|e| e.path()))
        {
            let Some(kind) = kind_dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(folder_kind)
            else {
                continue;
            };
            let mut dirs = vec![kind_dir];
            while let Some(dir) = dirs.pop() {
                for path in std::fs::read_dir(&dir)
                    .expect("dir")
                    .filter_map(|e| e.ok().map(|e| e.path()))
                {
                    if path.is_dir() {
                        dirs.push(path);
                        continue;
                    }
                    if path.extension().is_none_or(|e| e != "json") {
                        continue;
                    }
                    // Cases the loader refuses are the loader's test's business.
                    let Ok(case) = load_case(&path, spec, kind) else {
                        continue;
                    };
                    checked += 1;
                    let contract = contract_of(&case.expected, spec);
                    let text = pact_to_string(&contract, spec);
                    match parse_pact(&text, None) {
                        Ok(again)
                            if comma_lists(again.interactions.clone())
                                == comma_lists(contract.interactions.clone()) => {}
                        Ok(again) => failures.push(format!(
                            "{}: {:?}\n  became {:?}",
                            path.display(),
                            contract.interactions[0],
                            again.interactions[0]
                        )),
                        Err(e) => failures.push(format!("{}: {e}\n{text}", path.display())),
                    }
                }
            }
        }
    }
    assert!(checked > 400, "only {checked} cases found");
    assert!(
        failures.is_empty(),
        "{} of {checked} cases changed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
