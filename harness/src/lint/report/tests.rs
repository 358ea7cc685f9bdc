//! Tests for the lint report renderings.

use super::*;

#[test]
fn uris_are_relative_and_encoded() {
    let base = Path::new("/work");
    assert_eq!(
        sarif_uri(Path::new("/work/a b/x.yaml"), base),
        "a%20b/x.yaml"
    );
    assert_eq!(
        sarif_uri(Path::new("sample-services/architecture.yaml"), base),
        "sample-services/architecture.yaml"
    );
    assert_eq!(
        sarif_uri(Path::new("/elsewhere/x.yaml"), base),
        "file:///elsewhere/x.yaml"
    );
    assert_eq!(sarif_uri(Path::new("c:d.yaml"), base), "./c:d.yaml");
    assert_eq!(sarif_uri(Path::new("./x%.yaml"), base), "x%25.yaml");
}
