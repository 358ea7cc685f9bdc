//! The machine-readable renderings of lint reports: SARIF validated against the official SARIF
//! 2.1.0 schema (a copy in `tests/data/lint/`, see its SOURCE note), JSON, JUnit.

use std::path::{Path, PathBuf};

use parley_harness::lint::graph::{Fact, Origin, Service, ServiceGraph, ServiceKind, SyncCall};
use parley_harness::lint::report;
use parley_harness::lint::{self, Config, InputInfo, LintReport, Severity};
use serde_json::Value;

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/lint")
        .join(path)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace exists")
}

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(data("sarif-schema-2.1.0.json")).expect("the schema copy");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid_sarif(text: &str) -> Value {
    let value: Value = serde_json::from_str(text).expect("SARIF is JSON");
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF invalid:\n{}\n{text}",
        errors.join("\n")
    );
    value
}

/// A report on an in-memory graph: an observed call (no file, only a trace) and a declared one.
fn observed_report() -> LintReport {
    let mut g = ServiceGraph::default();
    g.add_service(Service::new("a", ServiceKind::Service));
    g.add_service(Service::new("b", ServiceKind::Service));
    let mut c = SyncCall::new("a", "b");
    c.timeout_ms = Fact::Known(None);
    c.origin = Origin::traced(["0af7651916cd43dd8448eb211c80319c".to_string()]);
    g.calls.push(c);
    lint::lint(&g, &Config::default(), Vec::new())
}

#[test]
fn sarif_of_findings_with_related_locations_suppressions_and_overrides_is_valid() {
    let case = data("config/ignore-with-reason");
    let mut config = Config::load(&case.join(".parley.yaml")).expect("config");
    config.levels.insert("PL007", Some(Severity::Note));
    config.levels.insert("PL012", None);
    let mut report = lint::lint_paths(&[case.join("architecture.yaml")], &config).expect("lints");
    let chain = lint::lint_paths(
        &[data("rules/PL003-broken-depth/architecture.yaml")],
        &Config::default(),
    )
    .expect("lints");
    report.findings.extend(chain.findings);
    let base = workspace();
    let value = assert_valid_sarif(&report::sarif(&report, &base));
    let run = &value["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), lint::rules::REGISTRY.len());
    for r in rules {
        for key in [
            "id",
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "defaultConfiguration",
        ] {
            assert!(r.get(key).is_some(), "rule without {key}: {r}");
        }
    }
    let results = run["results"].as_array().expect("results");
    let ignored = results
        .iter()
        .find(|r| r["ruleId"] == "PL005")
        .expect("the ignored finding is reported, suppressed");
    assert_eq!(ignored["suppressions"][0]["kind"], "external");
    let chain = results
        .iter()
        .find(|r| r["ruleId"] == "PL003")
        .expect("the chain");
    assert_eq!(chain["level"], "error");
    let loc = &chain["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "harness/tests/data/lint/rules/PL003-broken-depth/architecture.yaml"
    );
    assert_eq!(loc["region"]["startLine"], 5);
    assert_eq!(loc["region"]["startColumn"], 9);
    assert_eq!(chain["relatedLocations"].as_array().map(Vec::len), Some(3));
    let overrides = run["invocations"][0]["ruleConfigurationOverrides"]
        .as_array()
        .expect("overrides");
    assert_eq!(overrides.len(), 2);
    assert_eq!(
        rules[chain["ruleIndex"].as_u64().expect("index") as usize]["id"],
        "PL003"
    );
}

#[test]
fn sarif_of_the_samples_and_of_observed_findings_is_valid() {
    let samples = workspace().join("sample-services/architecture.yaml");
    let report = lint::lint_paths(&[samples], &Config::default()).expect("lints");
    let value = assert_valid_sarif(&report::sarif(&report, &workspace()));
    assert_eq!(
        value["runs"][0]["results"].as_array().map(Vec::len),
        Some(0)
    );
    let value = assert_valid_sarif(&report::sarif(&observed_report(), &workspace()));
    let result = &value["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "PL005");
    assert!(result.get("locations").is_none());
    assert_eq!(
        result["properties"]["traces"][0],
        "0af7651916cd43dd8448eb211c80319c"
    );
}

#[test]
fn the_schema_check_does_reject_bad_sarif() {
    let report = observed_report();
    let mut value: Value =
        serde_json::from_str(&report::sarif(&report, Path::new("/"))).expect("JSON");
    let validator = sarif_validator();
    assert!(validator.is_valid(&value));
    value["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&value), "an unknown level is rejected");
    value["runs"][0]["results"][0]["level"] = Value::from("error");
    value["runs"][0]["results"][0]["locations"] =
        serde_json::json!([{ "physicalLocation": { "region": { "startLine": 0 } } }]);
    assert!(!validator.is_valid(&value), "a line 0 is rejected");
}

#[test]
fn sarif_names_files_outside_the_base_by_absolute_uri() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("my arch.yaml");
    std::fs::copy(data("rules/PL005-broken/architecture.yaml"), &file).expect("copies");
    let report = lint::lint_paths(&[file], &Config::default()).expect("lints");
    let value = assert_valid_sarif(&report::sarif(&report, Path::new("/nonexistent-base")));
    let uri = value["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .expect("uri")
        .to_string();
    assert!(
        uri.starts_with("file:///") && uri.ends_with("my%20arch.yaml"),
        "{uri}"
    );
}

#[test]
fn json_report() {
    let case = data("config/ignore-with-reason");
    let config = Config::load(&case.join(".parley.yaml")).expect("config");
    let report = lint::lint_paths(&[case.join("architecture.yaml")], &config).expect("lints");
    let value: Value = serde_json::from_str(&report::json(&report, &case)).expect("JSON");
    assert_eq!(value["summary"]["suppressed"], 1);
    assert_eq!(value["summary"]["errors"], 0);
    assert_eq!(value["inputs"][0]["path"], "architecture.yaml");
    assert_eq!(value["inputs"][0]["kind"], "parley architecture");
    let f = &value["findings"][0];
    assert_eq!(f["ruleId"], "PL005");
    assert_eq!(f["location"]["file"], "architecture.yaml");
    assert_eq!(f["location"]["line"], 5);
    assert_eq!(f["location"]["path"], "services.a.calls[0]");
    assert!(
        f["suppressed"]
            .as_str()
            .is_some_and(|r| r.contains("legacy client"))
    );
    assert!(f["fix"].as_str().is_some_and(|s| !s.is_empty()));
    let observed: Value =
        serde_json::from_str(&report::json(&observed_report(), Path::new("/"))).expect("JSON");
    assert_eq!(
        observed["findings"][0]["traces"][0],
        "0af7651916cd43dd8448eb211c80319c"
    );
}

#[test]
fn junit_report_follows_fail_on() {
    let report = lint::lint_paths(
        &[data("rules/PL007-broken/architecture.yaml")],
        &Config::default(),
    )
    .expect("lints");
    let base = data("rules/PL007-broken");
    let at_warning = report::junit(&report, Severity::Warning, &base);
    assert!(at_warning.contains("failures=\"1\""), "{at_warning}");
    assert!(
        at_warning.contains(
            "<failure message=\"services.a.calls[0]: a calls b (GET /x) without a circuit breaker"
        ),
        "{at_warning}"
    );
    let at_error = report::junit(&report, Severity::Error, &base);
    assert!(at_error.contains("failures=\"0\""), "{at_error}");
    let rules = lint::rules::REGISTRY.len();
    assert!(
        at_error.contains(&format!("tests=\"{rules}\"")),
        "one check per rule: {at_error}"
    );
}

#[test]
fn reports_of_an_empty_run_still_render() {
    let report = lint::lint(
        &ServiceGraph::default(),
        &Config::default(),
        vec![InputInfo {
            path: PathBuf::from("x.yaml"),
            kind: "parley architecture",
        }],
    );
    assert_valid_sarif(&report::sarif(&report, Path::new("/")));
    assert!(
        report::human(&report, Path::new("/"), report::HumanOptions::default())
            .contains("0 errors")
    );
}
