//! `parley lint`'s live side against the real samples on a private nats-server: the broker's
//! view of their consumers and the active probes declared in `architecture.yaml`. The clean
//! stack passes every probe; `non-idempotent` fails the duplicate probe of payment's consumer
//! (PL002); `no-dlq` fails notification's poison probe (PL001) and shows unbounded redelivery
//! on the server (PL001).
//!
//! (Here rather than in the harness's tests: cargo builds the `parley-samples` binary only for
//! this package's tests, and the harness knows nothing of the samples.)

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parley_harness::lint::arch_yaml;
use parley_harness::lint::live::{Live, lint_graph_live, lint_live};
use parley_harness::lint::probe::{ProbeKind, ProbeOptions, ProbeOutcome, Verdict};
use parley_harness::lint::{Config, Finding};
use parley_samples::{Defect, Service};
use support::*;

fn description() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("architecture.yaml")
}

/// The samples redeliver after 100 ms and 400 ms: 3 s bounds every step with room to spare.
const TIMEOUT: Duration = Duration::from_secs(3);

fn live(env: &Env, probe: bool) -> Live {
    Live {
        nats_url: Some(env.nats.url()),
        probe,
        services: [Service::Payment, Service::Notification]
            .into_iter()
            .map(|s| (s.service_name().to_string(), env.url(s)))
            .collect(),
        probe_options: ProbeOptions {
            timeout: TIMEOUT,
            ..ProbeOptions::default()
        },
    }
}

fn show(outcomes: &[ProbeOutcome]) -> String {
    outcomes
        .iter()
        .map(|o| format!("{o}\n    {}", o.evidence.join("\n    ")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn outcome<'a>(outcomes: &'a [ProbeOutcome], durable: &str, kind: ProbeKind) -> &'a ProbeOutcome {
    outcomes
        .iter()
        .find(|o| o.kind == kind && o.consumer.contains(&format!("(durable {durable})")))
        .unwrap_or_else(|| panic!("no {kind:?} probe of {durable}:\n{}", show(outcomes)))
}

fn live_findings<'a>(findings: &'a [Finding], rule: &str, durable: &str) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| {
            f.rule_id == rule
                && f.element.contains(&format!("(durable {durable})"))
                && !f.evidence.is_empty()
        })
        .collect()
}

/// As `parley demo` does it: the built-in description, the broker's view and the probes.
async fn run(env: &Env) -> (Vec<Finding>, Vec<ProbeOutcome>) {
    let started = Instant::now();
    let graph = arch_yaml::parse(&description(), parley_samples::ARCHITECTURE_YAML)
        .expect("the samples' description parses");
    graph.validate().expect("and names only described services");
    let result = lint_graph_live(
        Some(&graph),
        Vec::new(),
        &Config::default(),
        &live(env, true),
    )
    .await
    .expect("the live lint runs");
    eprintln!(
        "probes took {} ms:\n{}",
        started.elapsed().as_millis(),
        show(&result.probes)
    );
    assert!(result.broker_consumers >= 12, "{}", result.broker_consumers);
    (result.report.findings, result.probes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_samples_pass_every_probe_and_the_brokers_view() {
    let env = Env::start().await;
    let (findings, probes) = run(&env).await;
    assert_eq!(probes.len(), 4, "{}", show(&probes));
    for p in &probes {
        assert_eq!(p.verdict, Verdict::Passed, "{}", show(&probes));
    }
    assert!(findings.is_empty(), "{findings:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_idempotent_payment_fails_the_duplicate_probe() {
    let env = Env::start_with(|o| o.defects = vec![Defect::NonIdempotent]).await;
    let (findings, probes) = run(&env).await;
    let dup = outcome(&probes, "payment-orders-created", ProbeKind::Duplicate);
    let Verdict::Failed(finding) = &dup.verdict else {
        panic!("the duplicate probe should fail:\n{}", show(&probes));
    };
    assert_eq!(finding.rule_id, "PL002");
    let evidence = finding.evidence.join("\n");
    assert!(evidence.contains("sent: {") && evidence.contains("on orders.created"));
    assert!(evidence.contains("after the second delivery"), "{evidence}");
    // What was seen: one payment after the first copy, two after the second.
    let after = |what: &str| {
        finding
            .evidence
            .iter()
            .find(|e| e.contains(what))
            .map(|e| e.matches("\"paymentId\"").count())
    };
    assert_eq!(after("after the first delivery"), Some(1), "{evidence}");
    assert_eq!(after("after the second delivery"), Some(2), "{evidence}");
    // It is a finding of the report, at the consumer's idempotency_key in the description.
    let reported = live_findings(&findings, "PL002", "payment-orders-created");
    assert_eq!(reported.len(), 1, "{findings:#?}");
    assert!(reported[0].location.is_some());
    // Everything else behaves.
    for p in probes.iter().filter(|p| !std::ptr::eq(*p, dup)) {
        assert_eq!(p.verdict, Verdict::Passed, "{}", show(&probes));
    }
    assert_eq!(findings.len(), 1, "{findings:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_dlq_notification_fails_the_poison_probe_and_the_brokers_view() {
    let env = Env::start_with(|o| o.defects = vec![Defect::NoDlq]).await;
    // The broker's view alone, from the server's configuration: no probe, no description.
    let seen = lint_live(&[], &Config::default(), &live(&env, false))
        .await
        .expect("the broker's view");
    let broker = live_findings(&seen.report.findings, "PL001", "notification-orders");
    assert_eq!(broker.len(), 1, "{:#?}", seen.report.findings);
    assert!(
        broker[0].message.contains("without limit")
            && broker[0]
                .message
                .contains(&format!("seen on the NATS server at {}", env.nats.url()))
            && broker[0].message.contains("consumer notification-orders"),
        "{}",
        broker[0].message
    );
    assert!(broker[0].location.is_none());
    // Only notification's two consumers: the others are bounded and dead-letter.
    assert_eq!(seen.report.findings.len(), 2, "{:#?}", seen.report.findings);

    let (findings, probes) = run(&env).await;
    let poison = outcome(&probes, "notification-orders", ProbeKind::Poison);
    let Verdict::Failed(finding) = &poison.verdict else {
        panic!("the poison probe should fail:\n{}", show(&probes));
    };
    assert_eq!(finding.rule_id, "PL001");
    let evidence = finding.evidence.join("\n");
    assert!(
        evidence.contains("sent: an undecodable message") && evidence.contains("orders.confirmed"),
        "{evidence}"
    );
    assert!(
        evidence.contains("nothing on the dead-letter subject dlq.notification-orders.orders.>"),
        "{evidence}"
    );
    assert!(
        finding.message.contains("still being redelivered"),
        "{}",
        finding.message
    );
    // Reported twice for notification-orders: by the probe, and from the server's configuration.
    let probe = live_findings(&findings, "PL001", "notification-orders");
    assert_eq!(probe.len(), 2, "{findings:#?}");
    for p in probes.iter().filter(|p| !std::ptr::eq(*p, poison)) {
        assert_eq!(p.verdict, Verdict::Passed, "{}", show(&probes));
    }
}
