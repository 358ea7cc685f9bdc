//! The canonical rendering: snapshots of every sample contract (what reviewers read), and the
//! same text for contracts that mean the same however they are written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parley_contracts::format;
use parley_contracts::render::render;
use parley_contracts::{
    Body, Category, Contract, Generators, HttpInteraction, HttpRequest, HttpResponse, Interaction,
    InteractionCommon, MatchingRule, MatchingRules, MessageContents, MessageInteraction,
    ProviderState, RuleList, RuleLogic, SpecVersion, SyncMessageInteraction,
};
use serde_json::json;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample-services/contracts")
}

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/format")
        .join(path)
}

fn load(path: &Path) -> Contract {
    format::load_file(path).unwrap_or_else(|e| panic!("{e}"))
}

/// One snapshot test per sample contract.
macro_rules! samples {
    ($($name:ident => $file:literal),* $(,)?) => {
        const SAMPLE_FILES: &[&str] = &[$($file),*];
        $(
            #[test]
            fn $name() {
                let contract = load(&samples().join($file));
                insta::assert_snapshot!(stringify!($name), render(&contract));
            }
        )*
    };
}

samples! {
    sample_gateway_order => "gateway--order-service.yaml",
    sample_gateway_payment => "gateway--payment-service.yaml",
    sample_gateway_shipping => "gateway--shipping-service.yaml",
    sample_gateway_notification => "gateway--notification-service.yaml",
    sample_order_payment => "order-service--payment-service.yaml",
    sample_order_inventory => "order-service--inventory-service.yaml",
    sample_order_shipping => "order-service--shipping-service.yaml",
    sample_payment_order => "payment-service--order-service.yaml",
    sample_payment_inventory => "payment-service--inventory-service.yaml",
    sample_inventory_payment => "inventory-service--payment-service.yaml",
    sample_inventory_shipping => "inventory-service--shipping-service.yaml",
    sample_shipping_inventory => "shipping-service--inventory-service.yaml",
    sample_notification_order => "notification-service--order-service.yaml",
    sample_notification_shipping => "notification-service--shipping-service.yaml",
}

#[test]
fn every_sample_contract_has_a_snapshot() {
    let mut files: Vec<String> = std::fs::read_dir(samples())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".json"))
        .collect();
    files.sort();
    let mut covered: Vec<String> = SAMPLE_FILES.iter().map(|s| s.to_string()).collect();
    covered.sort();
    assert_eq!(files, covered);
}

#[test]
fn contracts_written_differently_render_the_same() {
    // Key order, `given` as a name, a mapping or a list, eachLike or type with min, a statusCode
    // matcher's keys in any order, header names in any case, YAML or JSON.
    let a = render(&load(&data("equivalent/a.yaml")));
    let b = render(&load(&data("equivalent/b.yaml")));
    let c = render(&load(&data("equivalent/c.json")));
    assert_eq!(a, b);
    assert_eq!(a, c);
    insta::assert_snapshot!("equivalent", a);
}

#[test]
fn the_rendering_loads_back_to_a_contract_that_renders_the_same() {
    for file in SAMPLE_FILES {
        let path = samples().join(file);
        let first = render(&load(&path));
        // Loaded from the same place, so that the schema references resolve.
        let again = format::load_str(&first, &path)
            .unwrap_or_else(|e| panic!("the rendering of {file} does not load: {e}\n{first}"));
        assert_eq!(render(&again), first, "{file}");
    }
}

#[test]
fn the_design_example_renders_with_its_matchers_inline() {
    let text = render(&load(&data("payment.yaml")));
    assert!(
        text.contains(
            "paymentId: {$match: regex, pattern: \"^pay_[0-9a-z]+$\", example: pay_7f3a}"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "# JSON Schema draft 2020-12; requires orderId (string), total (integer), items (array)"
        ),
        "{text}"
    );
}

fn rules(entries: &[(Category, &str, Vec<MatchingRule>, RuleLogic)]) -> MatchingRules {
    let mut out = MatchingRules::default();
    for (category, path, list, logic) in entries {
        out.categories.entry(*category).or_default().insert(
            path.to_string(),
            RuleList {
                rules: list.clone(),
                logic: *logic,
            },
        );
    }
    out
}

/// A model as the Pact reader makes it: spec 3, request/reply messages, text bodies, rules that
/// name no value of the example, generators other than provider state ones, two rules at one
/// path, metadata that is not text.
fn pact_shaped() -> Contract {
    let http = HttpInteraction {
        common: InteractionCommon {
            description: "get an animal".into(),
            provider_states: vec![ProviderState {
                name: "an alligator exists".into(),
                params: json!({"name": "Mary"}).as_object().cloned().unwrap(),
            }],
            pending: true,
            ..InteractionCommon::default()
        },
        request: HttpRequest {
            method: "get".into(),
            path: "/animals/1".into(),
            query: Some(BTreeMap::from([(
                "fields".to_string(),
                vec!["a".to_string(), "b".to_string()],
            )])),
            headers: Some(BTreeMap::from([(
                "Accept".to_string(),
                vec!["text/plain".to_string()],
            )])),
            body: Body::Missing,
            rules: rules(&[(
                Category::Path,
                "$",
                vec![MatchingRule::Regex("^/animals/[0-9]+$".into())],
                RuleLogic::And,
            )]),
            generators: Generators::default(),
        },
        response: HttpResponse {
            status: 200,
            headers: Some(BTreeMap::from([(
                "Content-Type".to_string(),
                vec!["text/plain".to_string()],
            )])),
            body: Body::Text {
                text: "Mary, the alligator".into(),
                content_type: Some("text/plain".into()),
            },
            rules: rules(&[
                (
                    Category::Body,
                    "$",
                    vec![MatchingRule::Include("alligator".into())],
                    RuleLogic::And,
                ),
                (
                    Category::Header,
                    "content-type",
                    vec![
                        MatchingRule::Regex("^text/".into()),
                        MatchingRule::ContentType("text/plain".into()),
                    ],
                    RuleLogic::Or,
                ),
                (
                    Category::Body,
                    "$.legs",
                    vec![MatchingRule::Integer],
                    RuleLogic::And,
                ),
            ]),
            generators: Generators {
                categories: BTreeMap::from([(
                    "body".to_string(),
                    json!({"$": {"type": "RandomString", "size": 20}}),
                )]),
            },
        },
    };
    let event = MessageInteraction {
        common: InteractionCommon {
            description: "an animal was born".into(),
            ..InteractionCommon::default()
        },
        message: MessageContents {
            contents: Body::Json {
                value: json!({"animals": [{"name": "Mary", "legs": 4}, {"name": "Joe", "legs": 4}], "tags": {"zoo": "north"}}),
                content_type: Some("application/json".into()),
            },
            metadata: BTreeMap::from([
                ("contentType".to_string(), json!("application/json")),
                ("subject".to_string(), json!("animals.born")),
                ("priority".to_string(), json!(3)),
            ]),
            rules: rules(&[
                (
                    Category::Body,
                    "$.animals",
                    vec![MatchingRule::MinType(1)],
                    RuleLogic::And,
                ),
                (
                    Category::Body,
                    "$.animals[*].name",
                    vec![MatchingRule::Type],
                    RuleLogic::And,
                ),
                (
                    Category::Body,
                    "$.tags",
                    vec![MatchingRule::EachKey(vec![MatchingRule::Regex(
                        "^[a-z]+$".into(),
                    )])],
                    RuleLogic::And,
                ),
                (
                    Category::Metadata,
                    "priority",
                    vec![MatchingRule::Integer],
                    RuleLogic::And,
                ),
            ]),
            generators: Generators::default(),
        },
        subject: None,
        schema: None,
        trigger: None,
    };
    let sync = SyncMessageInteraction {
        common: InteractionCommon {
            description: "ask for an animal".into(),
            ..InteractionCommon::default()
        },
        request: MessageContents {
            contents: Body::Json {
                value: json!({"id": 1}),
                content_type: Some("application/json".into()),
            },
            ..MessageContents::default()
        },
        responses: vec![MessageContents {
            contents: Body::Json {
                value: json!({"name": "Mary"}),
                content_type: Some("application/json".into()),
            },
            rules: rules(&[(
                Category::Body,
                "$.name",
                vec![MatchingRule::Type],
                RuleLogic::And,
            )]),
            ..MessageContents::default()
        }],
        subject: Some("animals.get".into()),
    };
    Contract {
        consumer: "zoo-app".into(),
        provider: "animal-service".into(),
        interactions: vec![
            Interaction::SyncMessage(sync),
            Interaction::Message(event),
            Interaction::Http(http),
        ],
        spec: SpecVersion::V3,
        metadata: serde_json::Map::new(),
        source: None,
    }
}

#[test]
fn a_pact_shaped_model_renders_with_nothing_hidden() {
    let text = render(&pact_shaped());
    insta::assert_snapshot!("pact_shaped", text);
}
