//! `parley export`: contracts written as Pact files, one per consumer–provider pair, with what
//! Pact cannot hold reported as warnings; bad input is exit 2. (That an exported pact verifies
//! against a sample provider, and fails against a broken one, is in `verify.rs`.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use parley_contracts::Interaction;
use parley_contracts::load::load_paths;
use parley_e2e::{parley, repo};
use serde_json::Value;

const QUICK: Duration = Duration::from_secs(20);

fn sample_contracts() -> PathBuf {
    repo().join("sample-services/contracts")
}

fn pacts() -> PathBuf {
    repo().join("contracts/tests/data/pacts")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn json_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the export folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_sample_contracts_export_as_one_v4_pact_per_pair_losing_only_what_pact_cannot_hold() {
    let originals = load_paths(&[sample_contracts()]).expect("the sample contracts load");
    let out = tempfile::tempdir().expect("temp dir");
    let to = out.path().join("pacts");
    let run = parley(["export", "--to"])
        .arg(&to)
        .arg(sample_contracts())
        .timeout(QUICK)
        .run();
    run.assert_code(0).assert_nothing_left_in_group();

    // Pact's naming convention, one file per pair, each a V4 pact of that pair.
    let mut expected: Vec<String> = originals
        .iter()
        .map(|c| format!("{}-{}.json", c.consumer, c.provider))
        .collect();
    expected.sort();
    assert_eq!(json_files(&to), expected, "{}", run.describe());
    for c in &originals {
        let file = to.join(format!("{}-{}.json", c.consumer, c.provider));
        let pact = read_json(&file);
        assert_eq!(pact["consumer"]["name"], c.consumer.as_str());
        assert_eq!(pact["provider"]["name"], c.provider.as_str());
        assert_eq!(pact["metadata"]["pactSpecification"]["version"], "4.0");
        let interactions = pact["interactions"].as_array().expect("interactions");
        assert_eq!(
            interactions.len(),
            c.interactions.len(),
            "{}",
            file.display()
        );
        assert!(
            interactions.iter().all(|i| i["type"].is_string()),
            "V4 interactions have a type: {}",
            file.display()
        );
        assert!(
            run.stdout.contains(&file.display().to_string()),
            "says what it wrote\n{}",
            run.describe()
        );
    }

    // Warnings (stderr), one per thing Pact has no place for: every event's schema and trigger.
    let events: Vec<(&str, bool, bool)> = originals
        .iter()
        .flat_map(|c| c.interactions.iter())
        .filter_map(|i| match i {
            Interaction::Message(m) => {
                Some((i.description(), m.schema.is_some(), m.trigger.is_some()))
            }
            _ => None,
        })
        .collect();
    assert!(!events.is_empty());
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    let expected_warnings: usize = events
        .iter()
        .map(|(_, s, t)| *s as usize + *t as usize)
        .sum();
    assert_eq!(warnings.len(), expected_warnings, "{}", run.describe());
    for (description, _, _) in &events {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("{description:?}"))
                    && w.contains("payload schema has no place in a Pact file")),
            "no schema warning for {description:?}\n{}",
            run.describe()
        );
    }
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("trigger has no place in a Pact file")),
        "{}",
        run.describe()
    );

    // Everything else survives: what `parley diff` sees between the originals and the export
    // is only the payload schemas, dropped (safe).
    let diff = parley(["diff", "--format", "json"])
        .arg(sample_contracts())
        .arg(&to)
        .timeout(QUICK)
        .run();
    diff.assert_code(0);
    let changes: Value = serde_json::from_str(&diff.stdout).expect("diff JSON");
    let changes = changes["changes"].as_array().expect("changes");
    assert_eq!(
        changes.len(),
        events.iter().filter(|(_, s, _)| *s).count(),
        "{}",
        diff.describe()
    );
    for c in changes {
        let what = c["what"].as_str().unwrap_or_default();
        assert!(
            c["verdict"] == "safe" && what.contains("payload schema") && what.ends_with("dropped"),
            "{c}"
        );
    }
}

#[test]
fn v3_leaves_out_synchronous_messages_and_says_so() {
    let out = tempfile::tempdir().expect("temp dir");
    let run = parley(["export", "--spec", "v3", "--to"])
        .arg(out.path())
        .arg(pacts().join("pact-python-v4-messages.json"))
        .timeout(QUICK)
        .run();
    run.assert_code(0);
    let file = out.path().join("payment-service-order-service.json");
    let pact = read_json(&file);
    assert_eq!(pact["metadata"]["pactSpecification"]["version"], "3.0.0");
    let messages = pact["messages"].as_array().expect("a V3 message pact");
    let mut descriptions: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["description"].as_str())
        .collect();
    descriptions.sort();
    assert_eq!(
        descriptions,
        ["an order cancelled event", "an order created event"]
    );
    assert!(
        run.stderr.contains("warning: ")
            && run.stderr.contains("a stock query over request/reply")
            && run.stderr.contains("synchronous messages need Pact V4"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout
            .contains("2 interaction(s), Pact 3.0.0, 1 warning(s)"),
        "{}",
        run.describe()
    );
    // The same file as V4 loses nothing.
    let v4 = tempfile::tempdir().expect("temp dir");
    let run = parley(["export", "--to"])
        .arg(v4.path())
        .arg(pacts().join("pact-python-v4-messages.json"))
        .timeout(QUICK)
        .run();
    run.assert_code(0);
    assert!(!run.stderr.contains("warning"), "{}", run.describe());
}

#[test]
fn a_pact_file_exports_to_an_equivalent_pact() {
    for name in ["pact-python-v4-http.json", "pact-python-v3-http.json"] {
        let source = pacts().join(name);
        let out = tempfile::tempdir().expect("temp dir");
        let run = parley(["export", "--to"])
            .arg(out.path())
            .arg(&source)
            .timeout(QUICK)
            .run();
        run.assert_code(0);
        let files = json_files(out.path());
        assert_eq!(files.len(), 1, "{}", run.describe());
        let diff = parley(["diff"])
            .arg(&source)
            .arg(out.path().join(&files[0]))
            .timeout(QUICK)
            .run();
        diff.assert_code(0);
        assert_eq!(
            diff.stdout.trim(),
            "no changes",
            "{name}\n{}",
            diff.describe()
        );
    }
}

#[test]
fn filters_select_the_pairs_written() {
    let out = tempfile::tempdir().expect("temp dir");
    let run = parley(["export", "--provider", "payment-service", "--to"])
        .arg(out.path())
        .arg(sample_contracts())
        .timeout(QUICK)
        .run();
    run.assert_code(0);
    let files = json_files(out.path());
    assert!(!files.is_empty());
    assert!(
        files.iter().all(|f| f.ends_with("-payment-service.json")),
        "{files:?}"
    );
    let out = tempfile::tempdir().expect("temp dir");
    let run = parley([
        "export",
        "--consumer",
        "gateway",
        "--provider",
        "order-service",
        "--to",
    ])
    .arg(out.path())
    .arg(sample_contracts())
    .timeout(QUICK)
    .run();
    run.assert_code(0);
    assert_eq!(json_files(out.path()), ["gateway-order-service.json"]);
}

#[test]
fn bad_input_is_exit_2() {
    let out = tempfile::tempdir().expect("temp dir");
    let to = out.path().join("pacts");

    // Nothing selected: the pairs there are listed.
    let run = parley(["export", "--provider", "billing-service", "--to"])
        .arg(&to)
        .arg(sample_contracts())
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("billing-service")
            && run.stderr.contains("order-service → payment-service"),
        "{}",
        run.describe()
    );

    // A contract that does not load: its location.
    let bad = out.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "consumer: a\nprovider: b\nhttp:\n  - description: [\n",
    )
    .expect("write");
    let run = parley(["export", "--to"])
        .arg(&to)
        .arg(&bad)
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains(&format!("{}:", bad.display())),
        "{}",
        run.describe()
    );

    // Two contracts of one pair would be one file: said, nothing overwritten.
    let twice = out.path().join("twice");
    std::fs::create_dir_all(&twice).expect("dir");
    let original = sample_contracts().join("gateway--payment-service.yaml");
    std::fs::copy(&original, twice.join("a.yaml")).expect("copy");
    std::fs::copy(&original, twice.join("b.yaml")).expect("copy");
    let run = parley(["export", "--to"])
        .arg(&to)
        .arg(&twice)
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("a.yaml")
            && run.stderr.contains("b.yaml")
            && run.stderr.contains("gateway → payment-service"),
        "{}",
        run.describe()
    );
    assert!(!to.exists(), "nothing written on bad input");

    // A version parley cannot write as asked.
    let run = parley(["export", "--spec", "v2", "--to"])
        .arg(&to)
        .arg(sample_contracts())
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(run.stderr.contains("v2"), "{}", run.describe());

    // --to is a file.
    let file = out.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let run = parley(["export", "--to"])
        .arg(&file)
        .arg(sample_contracts())
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains(&file.display().to_string()),
        "{}",
        run.describe()
    );
}
