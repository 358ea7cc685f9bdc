//! `parley demo` end to end: a real nats-server (from PATH or /usr/sbin), the six sample
//! services as real processes, real OTLP export into the embedded receiver.

use std::path::Path;
use std::time::Duration;

use parley_e2e::{Run, demo_nats, parley, problems, processes_mentioning, scenario_block};
use tempfile::TempDir;

/// The `service.name` of every sample service; each logs to `<out-dir>/logs/<name>.log`.
const SERVICES: [&str; 6] = [
    "gateway",
    "order-service",
    "payment-service",
    "inventory-service",
    "shipping-service",
    "notification-service",
];

/// The scenarios the demo drives, in the order it prints them.
const SCENARIOS: [&str; 4] = [
    "sync order",
    "async order",
    "saga success",
    "saga compensation",
];

/// Runs `parley demo [--defect NAME] --out-dir <tempdir>`.
fn demo(defect: Option<&str>, timeout: Duration) -> (Run, TempDir) {
    let out = tempfile::Builder::new()
        .prefix("parley-e2e-")
        .tempdir()
        .expect("temp dir");
    let mut command = parley(["demo"]);
    if let Some(defect) = defect {
        command = command.arg("--defect").arg(defect);
    }
    let run = command
        .arg("--out-dir")
        .arg(out.path())
        .timeout(timeout)
        .run();
    (run, out)
}

/// Nothing the demo started is still running, and its NATS store is gone.
#[track_caller]
fn assert_cleaned_up(run: &Run) {
    run.assert_nothing_left_in_group();
    let (url, store) = demo_nats(&run.stderr).unwrap_or_else(|| {
        panic!(
            "the demo did not report its nats URL and store dir\n{}",
            run.describe()
        )
    });
    let by_url = processes_mentioning(&url);
    assert!(
        by_url.is_empty(),
        "processes still mention {url} after the demo exited: {by_url:#?}\n{}",
        run.describe()
    );
    let store_text = store.to_string_lossy();
    let by_store = processes_mentioning(&store_text);
    assert!(
        by_store.is_empty(),
        "processes still mention the store {store_text} after the demo exited: {by_store:#?}\n{}",
        run.describe()
    );
    assert!(
        !store.exists(),
        "the JetStream store {} was not removed\n{}",
        store.display(),
        run.describe()
    );
}

/// Every service wrote its log, and exactly `affected` say "DEFECT ON".
#[track_caller]
fn assert_defect_on_only_in(out: &Path, affected: &[&str], run: &Run) {
    for service in SERVICES {
        let path = out.join("logs").join(format!("{service}.log"));
        let log = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the log of {service} at {}: {e}\n{}",
                path.display(),
                run.describe()
            )
        });
        let on = log.contains("DEFECT ON");
        if affected.contains(&service) {
            assert!(on, "{service} should log DEFECT ON; its log:\n{log}");
        } else {
            assert!(!on, "{service} should not log DEFECT ON; its log:\n{log}");
        }
    }
}

#[track_caller]
fn block<'a>(run: &'a Run, scenario: &str) -> &'a str {
    scenario_block(&run.stdout, scenario).unwrap_or_else(|| {
        panic!(
            "the output has no `{scenario} → …` section\n{}",
            run.describe()
        )
    })
}

#[test]
fn demo_passes_every_scenario_and_leaves_nothing_behind() {
    let (run, out) = demo(None, Duration::from_secs(60));
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("all scenarios behaved as expected and every trace check passed"),
        "{}",
        run.describe()
    );
    assert!(problems(&run.stdout).is_empty(), "{}", run.describe());
    let mut last = 0;
    for scenario in SCENARIOS {
        let at = run
            .stdout
            .find(&format!("{scenario} → "))
            .unwrap_or_else(|| panic!("`{scenario}` is not reported\n{}", run.describe()));
        assert!(
            at >= last,
            "`{scenario}` is out of order\n{}",
            run.describe()
        );
        last = at;
        assert!(
            block(&run, scenario).contains(" in 1 trace(s) "),
            "`{scenario}` is not one trace\n{}",
            run.describe()
        );
    }
    assert!(
        block(&run, "saga compensation").contains("compensations, in order: refund → cancel"),
        "{}",
        run.describe()
    );
    assert_cleaned_up(&run);
    for service in SERVICES {
        let log = out.path().join("logs").join(format!("{service}.log"));
        assert!(
            log.is_file(),
            "{} is missing\n{}",
            log.display(),
            run.describe()
        );
    }
    assert_defect_on_only_in(out.path(), &[], &run);
    // The lint ran on both views, every probe passed, and each view is a SARIF log.
    for view in ["declared", "observed"] {
        assert!(
            run.stdout
                .contains(&format!("lint ({view}) → 0 error(s), 0 warning(s)")),
            "{}",
            run.describe()
        );
        let file = out.path().join(format!("lint-{view}.sarif"));
        let sarif: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        )
        .expect("SARIF is JSON");
        assert_eq!(sarif["version"], "2.1.0", "{}", file.display());
        assert!(sarif["runs"][0]["tool"]["driver"]["rules"].is_array());
    }
    let probes = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("probe: "))
        .collect::<Vec<_>>();
    assert_eq!(
        probes.len(),
        4,
        "two probes on each of two consumers\n{}",
        run.describe()
    );
    assert!(
        probes.iter().all(|p| p.contains(": passed (")),
        "{probes:#?}"
    );
}

#[test]
fn demo_without_nats_server_names_the_override_and_the_install_command() {
    let out = tempfile::tempdir().expect("temp dir");
    let run = parley(["demo", "--out-dir"])
        .arg(out.path())
        .env("PARLEY_NATS_SERVER", "/nonexistent/nats-server")
        .timeout(Duration::from_secs(30))
        .run();
    run.assert_code(3).assert_nothing_left_in_group();
    assert!(
        run.stderr.contains("PARLEY_NATS_SERVER"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("apt-get install nats-server"),
        "{}",
        run.describe()
    );
    assert!(
        !out.path().join("logs").exists(),
        "no service should have been started\n{}",
        run.describe()
    );
}

#[test]
fn demo_with_no_compensation_fails_the_saga_compensation() {
    let (run, out) = demo(Some("no-compensation"), Duration::from_secs(60));
    run.assert_code(1);
    let problems = problems(&run.stdout);
    assert!(
        !problems.is_empty() && problems.iter().all(|p| p.starts_with("saga compensation:")),
        "expected problems with the saga compensation only: {problems:#?}\n{}",
        run.describe()
    );
    let compensations = block(&run, "saga compensation")
        .lines()
        .find_map(|l| l.trim().strip_prefix("compensations, in order: "))
        .unwrap_or_else(|| {
            panic!(
                "the saga compensation shows no compensations\n{}",
                run.describe()
            )
        });
    assert!(
        compensations.contains("cancel") && !compensations.contains("refund"),
        "the saga should cancel without refunding, but compensated: {compensations}\n{}",
        run.describe()
    );
    assert_cleaned_up(&run);
    assert_defect_on_only_in(out.path(), &["order-service"], &run);
}

/// The trace checks catch the defects that break traces, naming the service and span at fault.
#[test]
fn demo_trace_checks_catch_their_defects() {
    for (defect, check, culprit) in [
        (
            "drop-trace-context",
            "async order: trace: one connected tree:",
            "inventory-service: publish inventory.reserved published without trace context",
        ),
        (
            "drop-correlation-id",
            "trace: correlation ID on every span:",
            "shipping-service: publish shipping.scheduled did not pass x-correlation-id on",
        ),
        (
            "no-compensation",
            "saga compensation: trace: saga compensations:",
            "order-service: step charge completed but was never compensated",
        ),
    ] {
        let (run, out) = demo(Some(defect), Duration::from_secs(60));
        run.assert_code(1);
        let problems = problems(&run.stdout);
        assert!(
            problems
                .iter()
                .any(|p| p.contains(check) && p.contains(culprit)),
            "--defect {defect}: no problem names `{check}` with `{culprit}`: {problems:#?}\n{}",
            run.describe()
        );
        assert_cleaned_up(&run);
        drop(out);
    }
}

#[test]
fn demo_with_breaking_response_fails_the_sync_order() {
    let (run, out) = demo(Some("breaking-response"), Duration::from_secs(60));
    run.assert_code(1);
    let problems = problems(&run.stdout);
    let sync = problems
        .iter()
        .find(|p| p.starts_with("sync order:"))
        .unwrap_or_else(|| {
            panic!(
                "the sync order is not among the problems: {problems:#?}\n{}",
                run.describe()
            )
        });
    assert!(
        sync.contains("payment-service"),
        "the sync order's problem should name the payment's answer: {sync}\n{}",
        run.describe()
    );
    assert_cleaned_up(&run);
    assert_defect_on_only_in(out.path(), &["payment-service"], &run);
}
