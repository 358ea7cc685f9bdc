//! The samples' own description, `sample-services/architecture.yaml`: it lints with no error
//! finding, and a copy edited to say each lint-related defect of the design's detection matrix
//! produces exactly the finding of that defect's rule.
//!
//! The edited copies are made here from the real file (each edit must find its text), so that
//! they follow the samples' description as it changes.

use std::path::{Path, PathBuf};

use parley_harness::lint::report::{self, GroupBy, HumanOptions};
use parley_harness::lint::{self, Config, LintReport, Severity};

fn samples_file() -> PathBuf {
    workspace().join("sample-services/architecture.yaml")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace exists")
}

fn lint_file(path: &Path) -> LintReport {
    lint::lint_paths(&[path.to_path_buf()], &Config::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_samples_lint_with_no_error_finding() {
    let report = lint_file(&samples_file());
    let errors: Vec<String> = report
        .active()
        .filter(|f| f.severity >= Severity::Error)
        .map(|f| format!("{} {}: {}", f.rule_id, f.element, f.message))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(!report.fails(Severity::Error));
    // What the description says, checked: six services, the gateway the only public one.
    let loaded = lint::inputs::load(&[samples_file()], &lint::Registry::standard()).expect("loads");
    let g = &loaded.graph;
    assert_eq!(g.services.len(), 6);
    let public: Vec<&str> = g
        .services
        .values()
        .filter(|s| s.public.is(&true))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(public, ["gateway"]);
    assert!(g.calls.iter().all(|c| c.timeout_ms.is(&Some(2000))));
    assert!(g.consumers.iter().all(|c| c.max_deliver.is(&Some(3))));
    assert!(g.consumers.iter().all(|c| {
        let durable = c.durable.known().cloned().flatten().unwrap_or_default();
        let dlq = c.dlq.known().cloned().flatten().unwrap_or_default();
        dlq.starts_with(&format!("dlq.{durable}."))
    }));
}

#[test]
fn human_report_of_the_samples() {
    let report = report::without_timing(&lint_file(&samples_file()));
    let text = report::human(&report, &workspace(), HumanOptions::default());
    insta::assert_snapshot!("lint_samples_human", text);
}

/// One defect of the design's table, said in the description: the edits, and the rule that
/// must report it (and only it).
struct Defect {
    name: &'static str,
    edits: &'static [(&'static str, &'static str)],
    rule: &'static str,
    findings: usize,
}

const DEFECTS: &[Defect] = &[
    Defect {
        name: "non-idempotent",
        // payment charges again on a redelivered orders.created: its consumer de-duplicates
        // on nothing.
        edits: &[(
            "        idempotency_key: orderId (charged once per order; a repeat re-announces the first outcome)\n",
            "",
        )],
        rule: "PL002",
        findings: 1,
    },
    Defect {
        name: "no-dlq",
        // notification consumes with unbounded redelivery and no DLQ (both its consumers).
        edits: &[
            (
                "        max_deliver: 3\n        dlq: dlq.notification-orders.orders.>\n",
                "        max_deliver: -1\n",
            ),
            (
                "        max_deliver: 3\n        dlq: dlq.notification-shipping.shipping.scheduled\n",
                "        max_deliver: -1\n",
            ),
        ],
        rule: "PL001",
        findings: 2,
    },
    Defect {
        name: "sync-chain",
        // order → payment → inventory → shipping, each waiting on the next: payment reserves
        // while it charges, inventory ships while it reserves.
        edits: &[
            (
                "  payment-service:\n    description: Charges (once per Idempotency-Key and once per order) and refunds.\n",
                "  payment-service:
    description: Charges, and (sync-chain) reserves the stock while it charges.
    calls:
      - to: inventory-service
        handler: POST /api/charge
        method: POST
        path: /api/reservations
        timeout_ms: 2000
        retries: { max_attempts: 3, on: idempotent-only }
        circuit_breaker: true
        idempotency_key: \"Idempotency-Key: reserve-{orderId}\"
",
            ),
            (
                "  inventory-service:\n    description: Stock and reservations, one reservation per order.\n",
                "  inventory-service:
    description: Stock and reservations, and (sync-chain) ships while it reserves.
    calls:
      - to: shipping-service
        handler: POST /api/reservations
        method: POST
        path: /api/shipments
        timeout_ms: 2000
        retries: { max_attempts: 3, on: idempotent-only }
        circuit_breaker: true
        idempotency_key: \"Idempotency-Key: ship-{orderId}\"
",
            ),
        ],
        rule: "PL003",
        // The two request paths of the gateway that charge: POST /api/orders and
        // POST /api/orders/saga, each now four calls deep.
        findings: 2,
    },
    Defect {
        name: "no-timeout",
        // order calls payment with no timeout: every call of order to payment.
        edits: &[
            (
                "      - to: payment-service\n        handler: POST /orders\n        method: POST\n        path: /api/charge\n        timeout_ms: 2000\n",
                "      - to: payment-service\n        handler: POST /orders\n        method: POST\n        path: /api/charge\n",
            ),
            (
                "      - to: payment-service\n        handler: POST /orders/saga\n        method: POST\n        path: /api/charge\n        timeout_ms: 2000\n",
                "      - to: payment-service\n        handler: POST /orders/saga\n        method: POST\n        path: /api/charge\n",
            ),
            (
                "      - to: payment-service\n        handler: POST /orders/saga\n        method: POST\n        path: /api/refunds\n        timeout_ms: 2000\n",
                "      - to: payment-service\n        handler: POST /orders/saga\n        method: POST\n        path: /api/refunds\n",
            ),
        ],
        rule: "PL005",
        // The charge from two handlers is one call site (the second handler is its related
        // evidence); the refund is the other.
        findings: 2,
    },
];

fn edited(defect: &Defect, dir: &Path) -> PathBuf {
    let mut text = std::fs::read_to_string(samples_file()).expect("reads the samples' description");
    for (find, replace) in defect.edits {
        assert_eq!(
            text.matches(find).count(),
            1,
            "{}: the edit must find exactly one place in sample-services/architecture.yaml:\n{find}",
            defect.name
        );
        text = text.replacen(find, replace, 1);
    }
    let path = dir.join(format!("{}.architecture.yaml", defect.name));
    std::fs::write(&path, text).expect("writes the edited copy");
    path
}

#[test]
fn each_lint_defect_said_in_the_description_gives_exactly_its_finding() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for defect in DEFECTS {
        let path = edited(defect, dir.path());
        let report = lint_file(&path);
        let found: Vec<String> = report
            .active()
            .map(|f| format!("{} {} {}", f.rule_id, f.severity, f.element))
            .collect();
        assert!(
            report.active().all(|f| f.rule_id == defect.rule),
            "{}: only {} may fire, found {found:#?}",
            defect.name,
            defect.rule
        );
        assert_eq!(
            report.active().count(),
            defect.findings,
            "{}: {found:#?}",
            defect.name
        );
        assert!(
            report.fails(Severity::Error),
            "{}: the finding fails the run",
            defect.name
        );
        for f in report.active() {
            let l = f
                .location
                .as_ref()
                .expect("the finding points into the file");
            assert_eq!(l.file, path);
            assert!(l.line > 0 && l.column > 0);
        }
    }
}

#[test]
fn the_no_timeout_copy_points_at_the_calls() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let defect = DEFECTS
        .iter()
        .find(|d| d.name == "no-timeout")
        .expect("defined");
    let path = edited(defect, dir.path());
    let text = std::fs::read_to_string(&path).expect("reads");
    let report = lint_file(&path);
    for f in report.active() {
        let l = f.location.as_ref().expect("located");
        let line = text.lines().nth(l.line - 1).expect("the line exists");
        assert_eq!(line.trim(), "- to: payment-service", "{}", f.message);
        assert!(
            f.element.starts_with("order-service → payment-service"),
            "{}",
            f.element
        );
    }
}

#[test]
fn human_report_of_a_broken_description_grouped_both_ways() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let defect = DEFECTS
        .iter()
        .find(|d| d.name == "sync-chain")
        .expect("defined");
    let path = edited(defect, dir.path());
    let report = report::without_timing(&lint_file(&path));
    let by_rule = report::human(&report, dir.path(), HumanOptions::default());
    insta::assert_snapshot!("lint_sync_chain_human_by_rule", by_rule);
    let by_file = report::human(
        &report,
        dir.path(),
        HumanOptions {
            group_by: GroupBy::File,
            ..HumanOptions::default()
        },
    );
    insta::assert_snapshot!("lint_sync_chain_human_by_file", by_file);
    let colored = report::human(
        &report,
        dir.path(),
        HumanOptions {
            color: true,
            ..HumanOptions::default()
        },
    );
    assert!(colored.contains("\x1b[1;31merror\x1b[0m"));
    assert!(!by_rule.contains('\x1b'));
}
