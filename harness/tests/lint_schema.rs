//! The JSON Schema of `architecture.yaml` (for editors) says what the parser accepts: every
//! description the parser reads validates against it, and what the parser refuses for its
//! shape the schema refuses too.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lint/architecture.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("reads the schema"))
            .expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).expect("YAML")
}

fn descriptions() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![root.join("../sample-services/architecture.yaml")];
    for dir in ["tests/data/lint/rules", "tests/data/lint/config"] {
        for case in std::fs::read_dir(root.join(dir)).expect("the data folder") {
            let file = case.expect("an entry").path().join("architecture.yaml");
            if file.exists() {
                out.push(file);
            }
        }
    }
    out
}

#[test]
fn every_description_the_parser_reads_validates() {
    let validator = schema();
    let files = descriptions();
    assert!(files.len() > 40);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("reads");
        parley_harness::lint::arch_yaml::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
        let value = yaml(&text);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn what_the_parser_refuses_for_its_shape_the_schema_refuses() {
    let validator = schema();
    let head = "parley: architecture/v1\n";
    for body in [
        "services:\n  a:\n    calls:\n      - to: b\n        timeout: 100\n",
        "services:\n  a:\n    kind: gatway\n",
        "services:\n  a:\n    calls:\n      - method: GET\n",
        "services:\n  a:\n    calls:\n      - to: b\n        retries: { max_attempts: 0 }\n",
        "services:\n  a:\n    calls:\n      - to: b\n        timeout_ms: 0\n",
        "services:\n  a:\n    calls:\n      - to: b\n        path: orders\n",
        "subjects:\n  s:\n    consumers:\n      - service: a\n        max_deliver: 0\n",
        "subjects:\n  s:\n    consumers:\n      - service: a\n        ack: sometimes\n",
        "datastores:\n  d:\n    owners: [a]\n",
        "servics: {}\n",
    ] {
        let text = format!("{head}{body}");
        assert!(
            parley_harness::lint::arch_yaml::parse(Path::new("x.yaml"), &text).is_err(),
            "the parser accepts {body}"
        );
        assert!(
            !validator.is_valid(&yaml(&text)),
            "the schema accepts {body}"
        );
    }
    assert!(!validator.is_valid(&yaml("parley: architecture/v2\n")));
}
