//! The `parley` command line: help, version, usage errors, and a sample service that cannot
//! start. None of these needs nats-server.

use std::time::Duration;

use parley_e2e::parley;

/// Every defect `parley demo --defect` accepts.
const DEFECTS: [&str; 9] = [
    "breaking-response",
    "breaking-event",
    "drop-trace-context",
    "drop-correlation-id",
    "non-idempotent",
    "no-dlq",
    "sync-chain",
    "no-timeout",
    "no-compensation",
];

const QUICK: Duration = Duration::from_secs(15);

#[test]
fn help_lists_the_subcommands() {
    let run = parley(["--help"]).timeout(QUICK).run();
    run.assert_code(0).assert_nothing_left_in_group();
    assert!(run.stdout.contains("Usage: parley"), "{}", run.describe());
    for subcommand in ["demo", "sample"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{subcommand} "))),
            "`parley --help` does not list `{subcommand}`\n{}",
            run.describe()
        );
    }
}

#[test]
fn version_is_the_workspace_version() {
    let run = parley(["--version"]).timeout(QUICK).run();
    run.assert_code(0);
    assert_eq!(
        run.stdout.trim(),
        format!("parley {}", env!("CARGO_PKG_VERSION")),
        "{}",
        run.describe()
    );
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let run = parley(["frobnicate"]).timeout(QUICK).run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("frobnicate") && run.stderr.contains("Usage: parley"),
        "{}",
        run.describe()
    );
}

#[test]
fn an_unknown_defect_is_a_usage_error_naming_the_valid_ones() {
    // Rejected while parsing arguments: no nats-server or service is started.
    let out = tempfile::tempdir().expect("temp dir");
    let run = parley(["demo", "--defect", "bogus", "--out-dir"])
        .arg(out.path())
        .timeout(QUICK)
        .run();
    run.assert_code(2).assert_nothing_left_in_group();
    assert!(run.stderr.contains("bogus"), "{}", run.describe());
    assert!(run.stderr.contains("--defect"), "{}", run.describe());
    for defect in DEFECTS {
        assert!(
            run.stderr.contains(defect),
            "the usage message does not name the defect `{defect}`\n{}",
            run.describe()
        );
    }
    assert!(
        !out.path().join("logs").exists(),
        "no service should have been started\n{}",
        run.describe()
    );
}

#[test]
fn a_sample_service_without_its_upstream_urls_says_which_flag_is_missing() {
    // order-service checks its payment URL before it connects to NATS (nothing listens on
    // port 1), so this must fail at once, not hang retrying NATS.
    let mut command = parley(["sample", "order", "--nats-url", "nats://127.0.0.1:1"])
        .timeout(QUICK)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    for var in [
        "PARLEY_ORDER_URL",
        "PARLEY_PAYMENT_URL",
        "PARLEY_INVENTORY_URL",
        "PARLEY_SHIPPING_URL",
        "PARLEY_NOTIFICATION_URL",
        "NATS_URL",
    ] {
        command = command.env_remove(var);
    }
    let run = command.run();
    run.assert_code(2).assert_nothing_left_in_group();
    assert!(
        run.stderr.contains("--payment-url"),
        "the error does not name --payment-url\n{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("order-service"),
        "the error does not name the service\n{}",
        run.describe()
    );
    assert!(
        !run.stdout.contains("PARLEY_SAMPLE_READY"),
        "it must not report ready\n{}",
        run.describe()
    );
}

#[test]
fn a_sample_service_that_cannot_reach_nats_exits_3_at_once() {
    // notification calls nothing synchronously, so NATS is the first thing it needs.
    let run = parley(["sample", "notification", "--nats-url", "nats://127.0.0.1:1"])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .timeout(QUICK)
        .run();
    run.assert_code(3).assert_nothing_left_in_group();
    assert!(
        run.stderr.contains("nats://127.0.0.1:1"),
        "the error does not name the NATS URL\n{}",
        run.describe()
    );
}
