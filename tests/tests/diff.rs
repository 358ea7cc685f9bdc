//! `parley diff OLD NEW` on copies of the sample contracts: each kind of change classified as
//! breaking or safe for its consumer, with the exit code that gates a deploy (1 when anything
//! breaks), JSON for tools, and exit 2 with the location for a file that does not load.

use std::path::{Path, PathBuf};
use std::time::Duration;

use parley_e2e::{Run, parley};
use serde_json::Value;

const QUICK: Duration = Duration::from_secs(20);

fn sample_contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .join("sample-services/contracts")
}

/// `old/` and `new/`: two copies of the sample contracts (with their schemas).
struct Versions {
    dir: tempfile::TempDir,
}

impl Versions {
    fn new() -> Versions {
        let dir = tempfile::tempdir().expect("temp dir");
        for side in ["old", "new"] {
            copy_dir(&sample_contracts(), &dir.path().join(side));
        }
        Versions { dir }
    }

    fn old(&self) -> PathBuf {
        self.dir.path().join("old")
    }

    fn new_dir(&self) -> PathBuf {
        self.dir.path().join("new")
    }

    /// Replaces the one occurrence of `from` in `new/FILE`.
    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.new_dir().join(file);
        let text = std::fs::read_to_string(&path).expect("read the copy");
        assert_eq!(
            text.matches(from).count(),
            1,
            "{file}: the text to change must occur once: {from:?}"
        );
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write the copy");
    }

    fn diff(&self, extra: &[&str]) -> Run {
        let mut run = parley(["diff"]);
        for a in extra {
            run = run.arg(a);
        }
        run.arg(self.old()).arg(self.new_dir()).timeout(QUICK).run()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the contracts") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("its type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a contract");
        }
    }
}

/// The line of the human output with `needle`, and the line after it (the why).
#[track_caller]
fn change_lines<'a>(run: &'a Run, needle: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}\n{}", run.describe()));
    (lines[at], lines.get(at + 1).copied().unwrap_or_default())
}

#[test]
fn unchanged_contracts_have_no_changes() {
    let v = Versions::new();
    let run = v.diff(&[]);
    run.assert_code(0).assert_nothing_left_in_group();
    assert_eq!(run.stdout.trim(), "no changes", "{}", run.describe());
}

#[test]
fn a_new_required_response_field_is_breaking_and_says_why() {
    let v = Versions::new();
    v.edit(
        "order-service--payment-service.yaml",
        "        currency: USD\n\n  - description: charge a customer without funds",
        "        currency: USD\n        receiptUrl: { $match: type, example: \"https://pay.example/r/1\" }\n\n  - description: charge a customer without funds",
    );
    let run = v.diff(&[]);
    run.assert_code(1);
    let (line, why) = change_lines(&run, "$.receiptUrl");
    assert!(
        line.contains("breaking") && line.contains("charge a customer"),
        "{}",
        run.describe()
    );
    assert!(
        why.contains("the provider must now provide it"),
        "{}",
        run.describe()
    );
    // Grouped by the consumer it concerns.
    let consumer = run
        .stdout
        .find("consumer order-service")
        .expect("the consumer");
    assert!(consumer < run.stdout.find("$.receiptUrl").expect("the change"));
    assert!(
        run.stdout.contains("1 breaking, 0 safe"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_dropped_interaction_is_safe() {
    let v = Versions::new();
    let file = v.new_dir().join("order-service--payment-service.yaml");
    let text = std::fs::read_to_string(&file).expect("read");
    let start = text
        .find("  - description: refund a payment")
        .expect("the refund interaction");
    let end = text.find("\nevents:").expect("the events");
    std::fs::write(&file, format!("{}{}", &text[..start], &text[end + 1..])).expect("write");
    let run = v.diff(&[]);
    run.assert_code(0);
    let (line, why) = change_lines(&run, "refund a payment");
    assert!(
        line.contains("safe") && line.contains("dropped"),
        "{}",
        run.describe()
    );
    assert!(why.contains("no longer relies on it"), "{}", run.describe());
    assert!(
        run.stdout.contains("0 breaking, 1 safe"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_payload_schema_gaining_a_required_property_is_breaking_forward_compatible_only() {
    let v = Versions::new();
    v.edit(
        "schemas/shipping-scheduled.json",
        r#""required": ["orderId", "shipmentId", "carrier"]"#,
        r#""required": ["orderId", "shipmentId", "carrier", "customerId"]"#,
    );
    // The consumer's example must satisfy its schema, so it shows the new field too.
    v.edit(
        "order-service--shipping-service.yaml",
        "example: shp_0c1d2e3f4a5b }\n        carrier: { $match: type, example: parcelfast }\n",
        "example: shp_0c1d2e3f4a5b }\n        carrier: { $match: type, example: parcelfast }\n        \
         customerId: { $match: type, example: c-42 }\n",
    );
    let run = v.diff(&[]);
    run.assert_code(1);
    let (line, why) = change_lines(&run, "forward compatible only");
    assert!(
        line.contains("breaking") && line.contains("a shipment was scheduled for an order"),
        "{}",
        run.describe()
    );
    assert!(
        why.contains("customerId") && why.contains("now required"),
        "{}",
        run.describe()
    );
}

#[test]
fn json_output_parses_and_carries_each_change() {
    let v = Versions::new();
    v.edit(
        "order-service--payment-service.yaml",
        "        currency: USD\n\n  - description: charge a customer without funds",
        "        currency: USD\n        receiptUrl: { $match: type, example: \"https://pay.example/r/1\" }\n\n  - description: charge a customer without funds",
    );
    let run = v.diff(&["--format", "json"]);
    run.assert_code(1);
    let value: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", run.describe()));
    let changes = value["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{}", run.describe());
    let c = &changes[0];
    assert_eq!(c["consumer"], "order-service");
    assert_eq!(c["provider"], "payment-service");
    assert_eq!(c["interaction"], "charge a customer");
    assert_eq!(c["verdict"], "breaking");
    assert!(
        c["what"]
            .as_str()
            .is_some_and(|w| w.contains("$.receiptUrl"))
    );
    assert!(c["why"].as_str().is_some_and(|w| !w.is_empty()));

    let unchanged = Versions::new().diff(&["--format", "json"]);
    unchanged.assert_code(0);
    let value: Value = serde_json::from_str(&unchanged.stdout).expect("JSON");
    assert_eq!(value["changes"], Value::Array(Vec::new()));
}

#[test]
fn a_file_that_does_not_load_is_exit_2_with_its_location() {
    let v = Versions::new();
    let bad = v.new_dir().join("zz-broken.yaml");
    std::fs::write(
        &bad,
        "consumer: a\nprovider: b\nhttp:\n  - description: [\n",
    )
    .expect("write");
    let run = v.diff(&[]);
    run.assert_code(2).assert_nothing_left_in_group();
    let at = format!("{}:", bad.display());
    let located = run.stderr.find(&at).is_some_and(|i| {
        let rest = &run.stderr[i + at.len()..];
        let mut parts = rest.splitn(3, ':');
        parts.next().is_some_and(|l| l.parse::<u32>().is_ok())
            && parts.next().is_some_and(|c| c.parse::<u32>().is_ok())
    });
    assert!(located, "expected {at}LINE:COLUMN\n{}", run.describe());

    let run = parley(["diff"])
        .arg(v.old())
        .arg(v.dir.path().join("missing"))
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("no such file or folder"),
        "{}",
        run.describe()
    );
}
