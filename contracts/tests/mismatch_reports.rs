//! What `render_mismatches` shows for failing cases of the Pact specification, as reviewed
//! snapshots: the readability of reports is part of the engine.

use std::path::Path;

use parley_contracts::matching::render_mismatches;
use parley_contracts::model::SpecVersion;
use parley_contracts::pact::spec_case::{CaseKind, load_case};

fn report(version: &str, kind: CaseKind, case: &str) -> String {
    let spec = match version {
        "version-2" => SpecVersion::V2,
        _ => SpecVersion::V3,
    };
    let folder = match kind {
        CaseKind::Request => "request",
        CaseKind::Response => "response",
        CaseKind::Message => "message",
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pact-spec")
        .join(version)
        .join("testcases")
        .join(folder)
        .join(case);
    let case = load_case(&path, spec, kind).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !case.should_match,
        "{} should be a failing case",
        path.display()
    );
    let mismatches = case.run();
    assert!(
        !mismatches.is_empty(),
        "{} should not match",
        path.display()
    );
    render_mismatches(&mismatches)
}

#[test]
fn type_mismatch_in_an_array() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Request,
        "body/array with at least one element not matching example type.json"
    ));
}

#[test]
fn regex_mismatch() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Request,
        "body/array with regular expression that does not match in element.json"
    ));
}

#[test]
fn missing_key() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Response,
        "body/missing key.json"
    ));
}

#[test]
fn unexpected_key_in_a_request() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Request,
        "body/unexpected key with not null value.json"
    ));
}

#[test]
fn xml_mismatch() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Request,
        "body/array with regular expression that does not match in element xml.json"
    ));
}

#[test]
fn xml_unexpected_element_under_a_type_rule() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Response,
        "body/array with type matcher mismatch xml.json"
    ));
}

#[test]
fn arrays_of_different_lengths() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Response,
        "body/objects in array with type mismatching.json"
    ));
}

#[test]
fn headers_and_query() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Request,
        "headers/content type parameters do not match.json"
    ));
    insta::assert_snapshot!(
        "query_order",
        report(
            "version-3",
            CaseKind::Request,
            "query/same parameter multiple times in different order.json"
        )
    );
}

#[test]
fn body_of_another_content_type() {
    insta::assert_snapshot!(report(
        "version-3",
        CaseKind::Response,
        "body/property name is different case xml.json"
    ));
}
