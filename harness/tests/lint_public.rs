//! The AsyncAPI and Backstage importers on public examples (copied under
//! `tests/data/lint/public/`, see its `MANIFEST.txt`): the graph each becomes and the findings
//! on it, as snapshots with paths relative to the data folder; and every kind of broken input,
//! each an error of kind `Invalid` at its line and column, shown to load once it is fixed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use parley_harness::lint::graph::ServiceGraph;
use parley_harness::lint::report::{self, HumanOptions};
use parley_harness::lint::{self, Config, ErrorKind, LintError, Location, Registry};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lint")
}

fn public() -> PathBuf {
    data().join("public")
}

fn rel(l: &Location) -> String {
    format!(
        "{}:{}:{}",
        report::display_path(&l.file, &public()),
        l.line,
        l.column
    )
}

fn fact<T: std::fmt::Debug>(f: &lint::graph::Fact<T>) -> String {
    match f.known() {
        Some(v) => format!("{v:?}"),
        None => "?".into(),
    }
}

/// The graph as text: every element, what is known about it, and where it is written.
fn dump(g: &ServiceGraph) -> String {
    let mut s = String::new();
    let at = |o: &lint::graph::Origin| o.primary().map(rel).unwrap_or_else(|| "-".into());
    for svc in g.services.values() {
        let _ = writeln!(
            s,
            "service {} ({}) correlation={} at {}",
            svc.name,
            svc.kind.as_str(),
            fact(&svc.propagates_correlation_id),
            at(&svc.origin)
        );
    }
    for c in &g.calls {
        let _ = writeln!(
            s,
            "call {} timeout={} retries={} breaker={} at {}",
            c.label(),
            fact(&c.timeout_ms),
            fact(&c.retries),
            fact(&c.circuit_breaker),
            at(&c.origin)
        );
    }
    for sub in g.subjects.values() {
        let who: Vec<String> = sub
            .producers
            .iter()
            .map(|p| format!("{} at {}", p.service, at(&p.origin)))
            .collect();
        let _ = writeln!(
            s,
            "subject {} at {}; producers: [{}]",
            sub.name,
            at(&sub.origin),
            who.join("; ")
        );
    }
    for c in &g.consumers {
        let _ = writeln!(
            s,
            "consumer {} on {} durable={} max_deliver={} dlq={} key={} ack={} at {}",
            c.service,
            c.subject,
            fact(&c.durable),
            fact(&c.max_deliver),
            fact(&c.dlq),
            fact(&c.idempotency_key),
            fact(&c.ack),
            at(&c.origin)
        );
    }
    for d in g.datastores.values() {
        let users: Vec<&str> = d.services().iter().map(|u| u.service.as_str()).collect();
        let _ = writeln!(
            s,
            "datastore {} kind={:?} users=[{}] at {}",
            d.name,
            d.kind,
            users.join(", "),
            at(&d.origin)
        );
    }
    s
}

/// The loaded graph and the human report (no colours, no timing) of some inputs.
fn lint_public(paths: &[&str]) -> (String, String) {
    let paths: Vec<PathBuf> = paths.iter().map(|p| public().join(p)).collect();
    let loaded = lint::inputs::load(&paths, &Registry::standard())
        .unwrap_or_else(|e| panic!("{paths:?}: {e}"));
    let report = lint::lint(&loaded.graph, &Config::default(), loaded.inputs);
    let report = report::without_timing(&report);
    (
        dump(&loaded.graph),
        report::human(&report, &public(), HumanOptions::default()),
    )
}

#[test]
fn social_media_five_apps_merged() {
    let (graph, findings) = lint_public(&["asyncapi-social-media"]);
    insta::assert_snapshot!("social_media_graph", graph);
    insta::assert_snapshot!("social_media_findings", findings);
    // Every channel one app sends on, another receives: the parameterised one included.
    assert!(graph.contains("subject comment/*/changed"), "{graph}");
    assert!(
        graph.contains("consumer website-backend on comment/*/changed"),
        "{graph}"
    );
}

#[test]
fn correlation_id_example() {
    let (graph, findings) = lint_public(&["asyncapi/correlation-id-asyncapi.yml"]);
    insta::assert_snapshot!("correlation_id_graph", graph);
    insta::assert_snapshot!("correlation_id_findings", findings);
}

#[test]
fn backstage_examples() {
    let (graph, findings) = lint_public(&["backstage"]);
    insta::assert_snapshot!("backstage_graph", graph);
    insta::assert_snapshot!("backstage_findings", findings);
}

#[test]
fn microtosca_sockshop() {
    let (graph, findings) = lint_public(&["microfreshener"]);
    insta::assert_snapshot!("microtosca_graph", graph);
    insta::assert_snapshot!("microtosca_findings", findings);
}

#[test]
fn the_json_report_of_the_social_media_apps_is_stable() {
    let report = lint::lint_paths(
        &[public().join("asyncapi-social-media")],
        &Config::default(),
    )
    .expect("lints");
    let json = report::json(&report::without_timing(&report), &public());
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let inputs = v["inputs"].as_array().map(Vec::len);
    assert_eq!(inputs, Some(5), "{json}");
}

// Broken inputs -----------------------------------------------------------------------------

/// A broken fixture: the error it must give, and the edit that fixes it.
struct Bad {
    file: &'static str,
    line: usize,
    column: usize,
    message: &'static str,
    fix: (&'static str, &'static str),
}

const BAD: &[Bad] = &[
    Bad {
        file: "asyncapi-bad/dangling-file.yaml",
        line: 12,
        column: 9,
        message: "cannot read",
        fix: ("./missing.yaml#/Ping", "./shared.yaml#/Ping"),
    },
    Bad {
        file: "asyncapi-bad/dangling-pointer.yaml",
        line: 12,
        column: 9,
        message: "there is no `Pong` in `#/components/messages`",
        fix: ("messages/Pong", "messages/Ping"),
    },
    Bad {
        file: "asyncapi-bad/dangling-in-other-file.yaml",
        line: 3,
        column: 5,
        message: "there is no `Nothing` in the top of",
        fix: ("./broken-shared.yaml#/Ping", "./shared.yaml#/Ping"),
    },
    Bad {
        file: "asyncapi-bad/cycle.yaml",
        line: 10,
        column: 9,
        message: "`$ref`s form a cycle: cycle.yaml#/channels/ping/messages/ping → cycle.yaml#/components/messages/A → cycle.yaml#/components/messages/B → cycle.yaml#/components/messages/A",
        fix: (
            "# back to A: a cycle\n      $ref: '#/components/messages/A'",
            "payload: {type: string}",
        ),
    },
    Bad {
        file: "asyncapi-bad/channels-list.yaml",
        line: 5,
        column: 1,
        message: "`channels` must be a mapping (channels by id), not a list",
        fix: ("  - ping:\n", "  ping:\n"),
    },
    Bad {
        file: "asyncapi-bad/no-action.yaml",
        line: 9,
        column: 3,
        message: "the operation `ping` has no `action` (send or receive)",
        fix: ("    summary: no action\n", "    action: send\n"),
    },
    Bad {
        file: "asyncapi-bad/bad-action.yaml",
        line: 10,
        column: 5,
        message: "`action: publish`: it is send or receive",
        fix: ("action: publish", "action: send"),
    },
    Bad {
        file: "asyncapi-bad/version-1.yaml",
        line: 1,
        column: 1,
        message: "`asyncapi: 1.2.0` is not a version parley lint reads",
        fix: ("asyncapi: 1.2.0", "asyncapi: 2.6.0"),
    },
    Bad {
        file: "asyncapi-bad/bad-extension.yaml",
        line: 12,
        column: 5,
        message: "`x-parley-max-deliver` is a number of deliveries (at least 1), or `unbounded`",
        fix: ("x-parley-max-deliver: 0", "x-parley-max-deliver: 5"),
    },
    Bad {
        file: "asyncapi-bad/misspelt-extension.yaml",
        line: 12,
        column: 5,
        message: "unknown parley extension `x-parley-max-delivery` (did you mean `x-parley-max-deliver`?)",
        fix: ("x-parley-max-delivery", "x-parley-max-deliver"),
    },
    Bad {
        file: "asyncapi-bad/broken-yaml.yaml",
        line: 5,
        column: 1,
        message: "did not find expected ',' or ']'",
        fix: ("[ping", "[ping]"),
    },
    Bad {
        file: "backstage-bad/no-name.yaml",
        line: 10,
        column: 1,
        message: "`metadata.name` is the entity's name",
        fix: ("  title: Orders\n", "  name: orders\n"),
    },
    Bad {
        file: "backstage-bad/apis-not-a-list.yaml",
        line: 8,
        column: 3,
        message: "`spec.consumesApis` is a list of entity references",
        fix: ("consumesApis: payments", "consumesApis: [payments]"),
    },
    Bad {
        file: "backstage-bad/bad-reference.yaml",
        line: 9,
        column: 7,
        message: "`resource:` is not an entity reference",
        fix: ("resource:'", "resource:orders-db'"),
    },
    Bad {
        file: "backstage-bad/version.yaml",
        line: 1,
        column: 1,
        message: "`apiVersion: backstage.io/v2` is not a version parley lint reads",
        fix: ("backstage.io/v2", "backstage.io/v1alpha1"),
    },
];

fn load(path: &Path) -> Result<lint::inputs::Loaded, LintError> {
    lint::inputs::load(&[path.to_path_buf()], &Registry::standard())
}

#[test]
fn broken_inputs_are_located_errors_and_load_once_fixed() {
    // The fixtures are copied to a temporary folder, where each is also fixed.
    let tmp = tempfile::tempdir().expect("temp dir");
    for dir in ["asyncapi-bad", "backstage-bad"] {
        std::fs::create_dir_all(tmp.path().join(dir)).expect("mkdir");
        for e in std::fs::read_dir(data().join(dir)).expect("fixtures") {
            let p = e.expect("entry").path();
            let name = p.file_name().expect("name");
            std::fs::copy(&p, tmp.path().join(dir).join(name)).expect("copy");
        }
    }
    let mut failures = Vec::new();
    for bad in BAD {
        let path = data().join(bad.file);
        match load(&path) {
            Ok(_) => failures.push(format!("{}: loaded, expected an error", bad.file)),
            Err(e) => {
                let ok = e.kind == ErrorKind::Invalid
                    && e.line == Some(bad.line)
                    && e.column == Some(bad.column)
                    && e.message.contains(bad.message)
                    && e.file.is_some();
                if !ok {
                    failures.push(format!(
                        "{}: expected {}:{} containing {:?}, got {:?} {e}",
                        bad.file, bad.line, bad.column, bad.message, e.kind
                    ));
                }
            }
        }
        let copy = tmp.path().join(bad.file);
        let text = std::fs::read_to_string(&copy).expect("copy readable");
        assert!(text.contains(bad.fix.0), "{}: the fix's text", bad.file);
        std::fs::write(&copy, text.replacen(bad.fix.0, bad.fix.1, 1)).expect("write fix");
        if let Err(e) = load(&copy) {
            failures.push(format!("{} fixed: {e}", bad.file));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_dangling_file_error_names_the_missing_file_at_the_ref() {
    let e = load(&data().join("asyncapi-bad/dangling-file.yaml")).unwrap_err();
    assert!(e.message.contains("missing.yaml"), "{e}");
    assert!(
        e.path.as_deref().is_some_and(|p| p.ends_with("$ref")),
        "{e:?}"
    );
    assert!(e.to_string().contains("dangling-file.yaml:12:9"), "{e}");
}

#[test]
fn a_dangling_ref_in_a_referenced_file_is_reported_in_that_file() {
    let e = load(&data().join("asyncapi-bad/dangling-in-other-file.yaml")).unwrap_err();
    let file = e.file.clone().unwrap_or_default();
    assert!(file.ends_with("broken-shared.yaml"), "{e}");
}

/// Every prefix of every public document (a cut at every few bytes: broken YAML, missing
/// sections, dangling references) imports or is an error, and never panics.
#[test]
fn truncated_documents_never_panic() {
    let registry = Registry::standard();
    let mut files = Vec::new();
    for dir in [
        "asyncapi",
        "asyncapi-social-media",
        "backstage",
        "microfreshener",
    ] {
        let mut stack = vec![public().join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("folder") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
    }
    let mut tried = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("text");
        for cut in (0..text.len()).step_by(5) {
            let Some(prefix) = text.get(..cut) else {
                continue;
            };
            let doc = lint::Document::new(&file, prefix);
            if let Some(importer) = registry.recognise(&doc) {
                let _ = importer.import(&doc);
                tried += 1;
            }
        }
    }
    assert!(tried > 500, "{tried} prefixes imported");
}
