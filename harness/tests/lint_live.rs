//! Findings from a live system (the broker's view, probes) in a lint report: the configuration
//! applies to them as to the rules' own (severity, off, ignore), and every rendering carries
//! their evidence. The probes themselves run against the real samples in
//! `sample-services/tests/lint_probe.rs` and `tests/tests/lint_probe.rs`.

use std::path::Path;

use parley_harness::lint::arch_yaml;
use parley_harness::lint::graph::ServiceGraph;
use parley_harness::lint::report::{self, HumanOptions};
use parley_harness::lint::{Config, ExternalFinding, Severity, lint_with_findings};
use serde_json::Value;

const DESCRIPTION: &str = "parley: architecture/v1
services:
  p: {}
  n: {}
subjects:
  orders.created:
    producers: [p]
    consumers:
      - service: n
        durable: n-orders
        max_deliver: 3
        dlq: dlq.n-orders.orders.created
        idempotency_key: orderId
        probe:
          event: { orderId: \"probe-{{uuid}}\" }
          state: \"GET n /api/notes?orderId={{orderId}}\"
";

fn graph() -> ServiceGraph {
    let g = arch_yaml::parse(Path::new("architecture.yaml"), DESCRIPTION).expect("valid");
    g.validate().expect("names resolve");
    g
}

fn probe_finding(g: &ServiceGraph) -> ExternalFinding {
    let c = &g.consumers[0];
    ExternalFinding {
        rule_id: "PL002",
        element: c.label(),
        message: format!("{} processed the same event twice", c.label()),
        location: c.origin.field("idempotency_key").cloned(),
        evidence: vec![
            "sent: {\"orderId\":\"probe-1\"} on orders.created".into(),
            "seen: after the second delivery: [1, 2]".into(),
        ],
    }
}

fn broker_finding() -> ExternalFinding {
    ExternalFinding {
        rule_id: "PL001",
        element: "n on orders.created (durable n-orders)".into(),
        message: "redelivers without limit (seen on the NATS server at nats://x:1, stream S, consumer n-orders)".into(),
        location: None,
        evidence: vec!["seen on the NATS server at nats://x:1, stream S, consumer n-orders; max_deliver -1".into()],
    }
}

fn config(text: &str) -> Config {
    Config::parse(text, Path::new(".parley.yaml")).expect("valid configuration")
}

#[test]
fn the_probe_block_is_read_with_its_state_query() {
    let g = graph();
    let spec = g.consumers[0].probe.as_ref().expect("a probe");
    assert!(spec.duplicate && spec.poison);
    assert_eq!(spec.subject, "orders.created");
    let state = spec.state.as_ref().expect("a state query");
    assert_eq!(
        (state.service.as_str(), state.path.as_str()),
        ("n", "/api/notes?orderId={{orderId}}")
    );
    // A mistake is an error at its line, and the state's service must be described.
    let bad = DESCRIPTION.replace("GET n /api", "GET nn /api");
    let e = arch_yaml::parse(Path::new("a.yaml"), &bad)
        .expect("parses")
        .validate()
        .expect_err("nn is not described");
    assert!(e.message.contains("did you mean `n`"), "{e}");
    let bad = DESCRIPTION.replace("{{orderId}}\"", "{{order}}\"");
    let e = arch_yaml::parse(Path::new("a.yaml"), &bad).expect_err("unknown placeholder");
    assert_eq!(e.line, Some(16), "{e}");
    assert!(e.message.contains("{{order}}"), "{e}");
}

#[test]
fn live_findings_go_through_the_configuration() {
    let g = graph();
    let extra = vec![probe_finding(&g), broker_finding()];
    let plain = lint_with_findings(&g, &Config::default(), Vec::new(), extra.clone());
    assert_eq!(plain.counts().errors, 2, "{:#?}", plain.findings);
    // Located findings come first, live ones after.
    assert_eq!(plain.findings[0].rule_id, "PL002");
    assert!(plain.findings[1].location.is_none());

    let lowered = lint_with_findings(
        &g,
        &config("lint:\n  rules:\n    PL002: warning\n    consumer-without-dlq: off\n"),
        Vec::new(),
        extra.clone(),
    );
    assert_eq!(lowered.findings.len(), 1);
    assert_eq!(lowered.findings[0].severity, Severity::Warning);
    assert!(!lowered.fails(Severity::Error));

    let ignored = lint_with_findings(
        &g,
        &config(
            "lint:\n  ignore:\n    - rule: PL001\n      element: \"n on orders.created*\"\n      reason: the DLQ is being added\n",
        ),
        Vec::new(),
        extra,
    );
    let c = ignored.counts();
    assert_eq!((c.errors, c.suppressed), (1, 1));
    assert!(ignored.unused_ignores.is_empty());
}

#[test]
fn every_rendering_carries_the_evidence() {
    let g = graph();
    let r = lint_with_findings(
        &g,
        &Config::default(),
        Vec::new(),
        vec![probe_finding(&g), broker_finding()],
    );
    let base = Path::new(".");
    let human = report::human(&r, base, HumanOptions::default());
    assert!(
        human.contains("    sent: {\"orderId\":\"probe-1\"} on orders.created"),
        "{human}"
    );
    assert!(
        human.contains("(live) n on orders.created (durable n-orders)"),
        "{human}"
    );

    let json: Value = serde_json::from_str(&report::json(&r, base)).expect("JSON");
    assert_eq!(
        json["findings"][0]["evidence"][1],
        "seen: after the second delivery: [1, 2]"
    );

    let sarif: Value = serde_json::from_str(&report::sarif(&r, base)).expect("SARIF");
    let schema = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lint/sarif-schema-2.1.0.json"),
    )
    .expect("the SARIF schema copy");
    let schema: Value = serde_json::from_str(&schema).expect("JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = &sarif["runs"][0]["results"];
    assert_eq!(
        results[1]["properties"]["evidence"][0],
        broker_finding().evidence[0]
    );
    assert!(results[1].get("locations").is_none());
    // The same rule and element seen live and written are two results, not one.
    let written = ExternalFinding {
        evidence: Vec::new(),
        ..probe_finding(&g)
    };
    let w = lint_with_findings(&g, &Config::default(), Vec::new(), vec![written]);
    let w: Value = serde_json::from_str(&report::sarif(&w, base)).expect("SARIF");
    assert_ne!(
        results[0]["partialFingerprints"],
        w["runs"][0]["results"][0]["partialFingerprints"]
    );

    let junit = report::junit(&r, Severity::Error, base);
    assert!(junit.contains("seen: after the second delivery"), "{junit}");
}
