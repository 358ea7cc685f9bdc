//! The detection matrix of the design: `parley demo` on the clean samples passes every check;
//! with each defect switched on it exits 1, a failed check names what the defect breaks, and no
//! check of an unrelated kind fails (a check that never fails proves nothing; one that fails
//! for everything proves nothing either). The four lint defects are caught by the lint of the
//! observed system (traces, the NATS server's consumers, the probes); the description the demo
//! lints never says them, so its lint must pass in every row.

use std::time::Duration;

use parley_e2e::{parley, problems};

/// Kinds of checks, by the text the demo prints for a failed one.
const TRACE_TREE: &str = "trace: one connected tree";
const TRACE_CORRELATION: &str = "trace: correlation ID on every span";
const TRACE_SAGA: &str = "trace: saga compensations";
/// The lint of the architecture as described never fails: the defects are not in the
/// description (as in real life), so what catches them is the lint of what was observed.
const LINT_DECLARED: &str = "lint declared ";
const LINT_OBSERVED: &str = "lint observed ";

/// A failed contract verification prints its group `consumer → provider`.
fn is_contract(problem: &str) -> bool {
    problem
        .split(':')
        .next()
        .is_some_and(|group| group.contains(" → ") && group.contains("-service"))
}

struct Row {
    defect: &'static str,
    /// Every one of these appears in one failed check's line.
    caught: &'static [&'static str],
    /// No failed check may be a contract failure.
    contracts_pass: bool,
    /// These trace checks must not fail.
    traces_pass: &'static [&'static str],
}

const ROWS: [Row; 9] = [
    Row {
        defect: "breaking-response",
        caught: &[
            "order-service → payment-service: charge a customer",
            "paymentId",
        ],
        contracts_pass: false,
        traces_pass: &[TRACE_TREE, TRACE_CORRELATION, TRACE_SAGA],
    },
    Row {
        defect: "breaking-event",
        caught: &[
            "payment-service → order-service: an order was placed asynchronously",
            "integer",
        ],
        contracts_pass: false,
        traces_pass: &[TRACE_TREE, TRACE_CORRELATION, TRACE_SAGA],
    },
    Row {
        defect: "drop-trace-context",
        caught: &[
            TRACE_TREE,
            "inventory-service: publish inventory.reserved published without trace context",
        ],
        contracts_pass: true,
        traces_pass: &[TRACE_CORRELATION, TRACE_SAGA],
    },
    Row {
        defect: "drop-correlation-id",
        caught: &[
            TRACE_CORRELATION,
            "shipping-service: publish shipping.scheduled did not pass x-correlation-id on",
        ],
        contracts_pass: true,
        traces_pass: &[TRACE_TREE, TRACE_SAGA],
    },
    Row {
        defect: "non-idempotent",
        caught: &[
            "lint observed PL002 consumer-not-idempotent",
            "payment-service on orders.created",
            "processed the same event twice",
        ],
        contracts_pass: true,
        traces_pass: &[TRACE_TREE, TRACE_CORRELATION, TRACE_SAGA],
    },
    Row {
        defect: "no-dlq",
        caught: &[
            "lint observed PL001 consumer-without-dlq",
            "notification-service on orders.>",
            "did not dead-letter a poison message",
        ],
        contracts_pass: true,
        traces_pass: &[TRACE_TREE, TRACE_CORRELATION, TRACE_SAGA],
    },
    Row {
        defect: "sync-chain",
        caught: &[
            "lint observed PL003 sync-chain",
            "gateway → order-service → payment-service → inventory-service → shipping-service",
        ],
        contracts_pass: true,
        traces_pass: &[TRACE_TREE, TRACE_CORRELATION, TRACE_SAGA],
    },
    Row {
        defect: "no-timeout",
        caught: &[
            "lint observed PL005 call-without-timeout",
            "order-service → payment-service (POST /api/charge)",
        ],
        contracts_pass: true,
        traces_pass: &[TRACE_TREE, TRACE_CORRELATION, TRACE_SAGA],
    },
    Row {
        defect: "no-compensation",
        caught: &[
            TRACE_SAGA,
            "step charge completed but was never compensated",
        ],
        contracts_pass: true,
        traces_pass: &[TRACE_TREE, TRACE_CORRELATION],
    },
];

#[test]
fn clean_samples_pass_every_check() {
    let out = tempfile::tempdir().expect("out dir");
    let run = parley(["demo", "--out-dir"])
        .arg(out.path())
        .timeout(Duration::from_secs(120))
        .run();
    run.assert_code(0);
    assert!(problems(&run.stdout).is_empty(), "{}", run.describe());
    assert!(
        run.stdout.contains(" 0 failed, 0 could not run"),
        "{}",
        run.describe()
    );
}

#[test]
fn every_defect_is_caught_by_its_check_and_only_what_it_breaks_fails() {
    let mut report = Vec::new();
    for row in ROWS {
        let out = tempfile::tempdir().expect("out dir");
        let run = parley(["demo", "--defect", row.defect, "--out-dir"])
            .arg(out.path())
            .timeout(Duration::from_secs(120))
            .run();
        let problems = problems(&run.stdout);
        let caught = problems
            .iter()
            .any(|p| row.caught.iter().all(|c| p.contains(c)));
        let wrong_contracts: Vec<&&str> = problems
            .iter()
            .filter(|p| row.contracts_pass && is_contract(p))
            .collect();
        let wrong_traces: Vec<&&str> = problems
            .iter()
            .filter(|p| row.traces_pass.iter().any(|t| p.contains(t)))
            .collect();
        // A lint row is caught by the observed lint; any other row must leave the lint alone.
        let lint_row = row.caught[0].starts_with(LINT_OBSERVED);
        let wrong_lint: Vec<&&str> = problems
            .iter()
            .filter(|p| p.contains(LINT_DECLARED) || (!lint_row && p.contains(LINT_OBSERVED)))
            .collect();
        if run.code() != Some(1)
            || !caught
            || !wrong_contracts.is_empty()
            || !wrong_traces.is_empty()
            || !wrong_lint.is_empty()
        {
            report.push(format!(
                "--defect {}: exit {:?}, caught {caught}, unrelated contract failures {wrong_contracts:#?}, unrelated trace failures {wrong_traces:#?}, unrelated lint failures {wrong_lint:#?}\nproblems: {problems:#?}",
                row.defect,
                run.code()
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}
