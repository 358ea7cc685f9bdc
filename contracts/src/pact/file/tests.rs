use super::locate::{element_offsets, line_col, locate};
use super::read::parse_version;
use super::read_http::split_header;
use crate::model::SpecVersion;

#[test]
fn versions_parse_as_pact_writes_them() {
    assert_eq!(parse_version("1.0.0"), Some(SpecVersion::V1));
    assert_eq!(parse_version("1.1.0"), Some(SpecVersion::V1_1));
    assert_eq!(parse_version("2.0.0"), Some(SpecVersion::V2));
    assert_eq!(parse_version("3.0.0"), Some(SpecVersion::V3));
    assert_eq!(parse_version("4.0"), Some(SpecVersion::V4));
    assert_eq!(parse_version("v4"), Some(SpecVersion::V4));
    assert_eq!(parse_version("5.0.0"), None);
    assert_eq!(parse_version("three"), None);
}

#[test]
fn locate_follows_keys_with_dots_and_indexes() {
    let text = "{\n  \"interactions\": [\n    {\"a\": 1},\n    {\"rules\": {\"$.id\": {\"x\": [1, 2]}}}\n  ]\n}";
    let at = locate(text, "interactions[1].rules.$.id.x[1]").expect("found");
    assert_eq!(line_col(text, at), (4, 34));
    let at = locate(text, "interactions[0]").expect("found");
    assert_eq!(line_col(text, at), (3, 5));
    assert_eq!(element_offsets(text, "interactions").len(), 2);
    // A path that leaves the document stops at its deepest existing part.
    let at = locate(text, "interactions[7].request").expect("the array");
    assert_eq!(line_col(text, at), (2, 19));
}

#[test]
fn multi_value_headers_split_like_pact() {
    assert_eq!(split_header("Accept", "a, b"), vec!["a", "b"]);
    assert_eq!(
        split_header("Date", "Mon, 06 Jan 2025 10:15:30 GMT"),
        vec!["Mon, 06 Jan 2025 10:15:30 GMT"]
    );
}
