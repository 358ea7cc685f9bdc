//! Inputs of `parley lint`: recognising files from their content, folders, merging several
//! inputs, importers added through the registry, and bad inputs as clear errors with their
//! location (never a panic).

use std::path::{Path, PathBuf};

use parley_harness::lint::graph::{Fact, Service, ServiceGraph, ServiceKind, SyncCall};
use parley_harness::lint::inputs::{self, Document, Importer, Registry};
use parley_harness::lint::{Config, ErrorKind, LintError};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("creates the folder");
    }
    std::fs::write(&path, text).expect("writes");
    path
}

fn load_err(paths: &[PathBuf]) -> LintError {
    match inputs::load(paths, &Registry::standard()) {
        Ok(l) => panic!("expected an error, loaded {:?}", l.inputs),
        Err(e) => e,
    }
}

#[test]
fn broken_yaml_that_claims_to_be_an_architecture_is_a_syntax_error_at_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(
        dir.path(),
        "architecture.yaml",
        "parley: architecture/v1\nservices:\n  a:\n    calls: [ { to: b\n  b: {}\n",
    );
    let e = load_err(std::slice::from_ref(&f));
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(e.file.as_deref(), Some(f.as_path()));
    assert!(e.line.is_some() && e.column.is_some(), "{e}");
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("{}:", f.display())), "{shown}");
}

#[test]
fn an_unknown_key_is_an_error_at_its_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(
        dir.path(),
        "architecture.yaml",
        "parley: architecture/v1\nservices:\n  a:\n    calls:\n      - to: b\n        timeout_ms: 100\n        circuit_braker: true\n  b: {}\n",
    );
    let e = load_err(std::slice::from_ref(&f));
    assert_eq!(
        (e.kind, e.line, e.column),
        (ErrorKind::Invalid, Some(7), Some(9)),
        "{e}"
    );
    assert!(e.message.contains("unknown field `circuit_braker`"), "{e}");
    assert!(
        e.message.contains("circuit_breaker"),
        "the message lists the known keys: {e}"
    );
    assert_eq!(
        e.to_string().split(": ").next(),
        Some(format!("{}:7:9", f.display()).as_str())
    );
}

#[test]
fn a_misspelt_service_name_points_at_the_reference() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(
        dir.path(),
        "architecture.yaml",
        "parley: architecture/v1\nservices:\n  order-service:\n    calls:\n      - to: paymnet-service\n        timeout_ms: 100\n  payment-service: {}\n",
    );
    let e = load_err(&[f]);
    assert_eq!((e.line, e.column), (Some(5), Some(9)), "{e}");
    assert!(e.message.contains("did you mean `payment-service`"), "{e}");
    assert_eq!(
        e.path.as_deref(),
        Some("services.order-service.calls[0].to")
    );
}

#[test]
fn an_empty_description_is_nothing_to_lint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(
        dir.path(),
        "architecture.yaml",
        "parley: architecture/v1\nservices: {}\n",
    );
    let e = load_err(std::slice::from_ref(&f));
    assert_eq!(e.kind, ErrorKind::Empty);
    assert!(e.message.contains("nothing to lint"), "{e}");
    assert!(e.message.contains(&f.display().to_string()), "{e}");
}

#[test]
fn a_file_of_no_known_kind_is_refused_and_a_folder_without_inputs_is_empty() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(dir.path(), "other.yaml", "consumer: a\nprovider: b\n");
    let e = load_err(&[f]);
    assert_eq!(e.kind, ErrorKind::UnknownInput);
    assert!(e.message.contains("parley: architecture/v1"), "{e}");
    let e = load_err(&[dir.path().to_path_buf()]);
    assert_eq!(e.kind, ErrorKind::Empty, "{e}");
    assert!(e.message.contains("1 file(s) looked at"), "{e}");
    let bin = write(dir.path(), "x.bin", "");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).expect("writes");
    assert_eq!(load_err(&[bin]).kind, ErrorKind::UnknownInput);
    let e = load_err(&[dir.path().join("missing.yaml")]);
    assert_eq!(e.kind, ErrorKind::Io, "{e}");
}

#[test]
fn not_yaml_at_all_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(dir.path(), "notes.txt", "just some words\n: : :\n\t- ]\n");
    let e = load_err(&[f]);
    assert_eq!(e.kind, ErrorKind::UnknownInput, "{e}");
    let f = write(
        dir.path(),
        "v2.yaml",
        "parley: architecture/v9\nservices: {}\n",
    );
    let e = load_err(&[f]);
    assert_eq!((e.kind, e.line), (ErrorKind::Invalid, Some(1)), "{e}");
}

#[test]
fn folders_are_walked_and_inputs_merged() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "services.yaml",
        "parley: architecture/v1\nservices:\n  a: {}\n  b: {}\n",
    );
    // The same system, its calls described in another file, in JSON.
    write(
        dir.path(),
        "calls/calls.json",
        r#"{"parley": "architecture/v1", "services": {"a": {"calls": [{"to": "b", "method": "GET", "path": "/x"}]}}}"#,
    );
    write(
        dir.path(),
        "contracts/pact.yaml",
        "consumer: a\nprovider: b\n",
    );
    write(dir.path(), ".hidden/architecture.yaml", "not even yaml: [");
    let loaded = inputs::load(&[dir.path().to_path_buf()], &Registry::standard()).expect("loads");
    assert_eq!(loaded.inputs.len(), 2);
    assert_eq!(
        loaded.skipped.len(),
        1,
        "the contract is skipped: {:?}",
        loaded.skipped
    );
    assert_eq!(loaded.graph.services.len(), 2);
    assert_eq!(loaded.graph.calls.len(), 1);
    let call = &loaded.graph.calls[0];
    assert_eq!(call.timeout_ms, Fact::Known(None));
    let at = call.origin.primary().expect("located");
    assert!(
        at.file.ends_with("calls/calls.json") && at.line == 1,
        "{at:?}"
    );
    assert_eq!(loaded.graph.services["a"].origin.locations.len(), 2);
}

/// An importer of a made-up format, as the AsyncAPI / Backstage / OTLP importers plug in.
struct Toy;

impl Importer for Toy {
    fn kind(&self) -> &'static str {
        "toy"
    }

    fn sniff(&self, doc: &Document<'_>) -> bool {
        doc.top("toy").is_some()
    }

    fn import(&self, doc: &Document<'_>) -> Result<ServiceGraph, LintError> {
        let mut g = ServiceGraph::default();
        let Some(calls) = doc.top("toy").and_then(|t| t.as_array()) else {
            return Err(LintError::in_file(
                ErrorKind::Invalid,
                doc.path,
                "toy: expected a list",
            ));
        };
        for pair in calls {
            let (Some(a), Some(b)) = (pair[0].as_str(), pair[1].as_str()) else {
                continue;
            };
            g.add_service(Service::new(a, ServiceKind::Service));
            g.add_service(Service::new(b, ServiceKind::Service));
            let mut c = SyncCall::new(a, b);
            c.timeout_ms = Fact::Known(None);
            g.calls.push(c);
        }
        Ok(g)
    }
}

#[test]
fn an_importer_added_to_the_registry_takes_part() {
    let dir = tempfile::tempdir().expect("temp dir");
    let toy = write(dir.path(), "toy.yaml", "toy: [[a, b]]\n");
    let arch = write(
        dir.path(),
        "architecture.yaml",
        "parley: architecture/v1\nservices:\n  a:\n    calls:\n      - to: b\n        timeout_ms: 100\n  b: {}\n",
    );
    let mut registry = Registry::standard();
    registry.register(Box::new(Toy));
    // Inputs merge in the order given: what the architecture says wins over the toy's unknowns.
    let loaded = inputs::load(&[arch, toy.clone()], &registry).expect("loads");
    assert_eq!(
        loaded.inputs.iter().map(|i| i.kind).collect::<Vec<_>>(),
        ["parley architecture", "toy"]
    );
    // Same caller, callee, method, path and handler: one call; the first input's timeout wins.
    assert_eq!(loaded.graph.calls.len(), 1);
    assert_eq!(loaded.graph.calls[0].timeout_ms, Fact::Known(Some(100)));
    let e = match inputs::load(&[toy], &Registry::standard()) {
        Err(e) => e,
        Ok(_) => panic!("the standard registry does not know toys"),
    };
    assert_eq!(e.kind, ErrorKind::UnknownInput);
    assert!(registry.kinds().contains(&"toy"));
}

#[test]
fn a_config_ignore_without_reason_is_an_error_at_its_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(
        dir.path(),
        ".parley.yaml",
        "lint:\n  rules:\n    PL007: note\n  ignore:\n    - rule: PL005\n      element: a → b*\n",
    );
    let e = Config::load(&f).unwrap_err();
    assert_eq!(
        (e.kind, e.line, e.column),
        (ErrorKind::Config, Some(5), Some(7)),
        "{e}"
    );
    assert!(e.message.contains("no reason"), "{e}");
    assert_eq!(Config::discover(dir.path()).as_deref(), Some(f.as_path()));
    let bad = write(dir.path(), "bad.yaml", "lint: [\n");
    assert_eq!(Config::load(&bad).unwrap_err().kind, ErrorKind::Config);
}

#[test]
fn garbage_never_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let samples = [
        "parley: architecture/v1\nservices: [1, 2]\n",
        "parley: architecture/v1\nservices:\n  a:\n    calls: 3\n",
        "parley: architecture/v1\nservices:\n  a:\n    calls:\n      - {}\n",
        "parley: architecture/v1\nservices:\n  a:\n    calls:\n      - to: a\n        method: \"G T\"\n",
        "parley: architecture/v1\nservices:\n  a:\n    calls:\n      - to: a\n        retries: { max_attempts: 0 }\n",
        "parley: architecture/v1\nservices:\n  a:\n    calls:\n      - to: a\n        timeout_ms: -5\n",
        "parley: architecture/v1\nsubjects:\n  x:\n    consumers:\n      - service: a\n        dlq: x\n",
        "parley: architecture/v1\nservices: &a\n  a: *a\n",
        "parley: architecture/v1\nservices:\n  a: {}\n  a: {}\n",
        "parley: architecture/v1\n? [complex, key]\n: 1\n",
        "parley: architecture/v1\n---\nparley: architecture/v1\n",
        "parley: architecture/v1\nservices:\n  a:\n    kind: !tagged gateway\n",
        "\u{feff}parley: architecture/v1\nservices:\n  'a': {}\n",
    ];
    for (i, text) in samples.iter().enumerate() {
        let f = write(dir.path(), &format!("g{i}.yaml"), text);
        match inputs::load(&[f], &Registry::standard()) {
            Ok(l) => assert!(!l.graph.is_empty(), "{text}"),
            Err(e) => assert!(!e.message.is_empty(), "{text}"),
        }
    }
}
