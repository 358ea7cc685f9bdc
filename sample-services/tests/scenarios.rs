//! The samples' scenarios (sample-services/scenarios/*.yaml) run with `parley_harness::scenario`
//! against the real services: every step, trace check and expectation passes on the clean
//! samples, and a scenario's checks fail where a defect breaks what they assert.

mod support;

use std::path::PathBuf;

use parley_harness::results::{Check, Outcome};
use parley_harness::scenario::{self, Context};
use parley_samples::{Defect, Service};
use support::*;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

async fn run_scenario(env: &Env, file: &str) -> Vec<Check> {
    let s = scenario::load_file(&scenarios_dir().join(file)).expect("the scenario loads");
    let mut ctx = Context::new(
        env.receiver.store(),
        cid(&format!("scn-{}", file.trim_end_matches(".yaml"))),
    );
    ctx.nats = Some(env.nats_client.clone());
    ctx.vars.insert("token".into(), TOKEN.into());
    for service in Service::START_ORDER {
        ctx.vars.insert(service.cli_name().into(), env.url(service));
    }
    scenario::run(&s, &mut ctx).await
}

fn failures(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !matches!(c.outcome, Outcome::Passed | Outcome::Skipped(_)))
        .map(|c| format!("{}: {:?} {:?}", c.name, c.outcome, c.details))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_scenario_passes_on_the_clean_samples() {
    let env = Env::start().await;
    let mut files: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "{files:?}");
    for file in files {
        let checks = run_scenario(&env, &file).await;
        assert!(
            checks.iter().any(|c| c.kind == "assertion"),
            "{file}: no expectation ran"
        );
        let failed = failures(&checks);
        assert!(failed.is_empty(), "{file}: {failed:#?}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_checks_fail_where_a_defect_breaks_them() {
    for (defect, file, check) in [
        (
            Defect::DropTraceContext,
            "async-order.yaml",
            "trace: one connected tree",
        ),
        (
            Defect::DropCorrelationId,
            "saga-success.yaml",
            "trace: correlation ID on every span",
        ),
        (
            Defect::NoCompensation,
            "saga-compensation.yaml",
            "trace: saga compensations",
        ),
        (
            Defect::NonIdempotent,
            "duplicate-delivery.yaml",
            "step 4: GET ${payment}/api/payments?orderId=o-${correlation_id}",
        ),
        (
            Defect::NoDlq,
            "poison-message.yaml",
            "step 2: wait for 2 message(s) on dlq.>",
        ),
    ] {
        let env = Env::start_with(|o| o.defects = vec![defect]).await;
        let checks = run_scenario(&env, file).await;
        let failed = failures(&checks);
        assert!(
            failed.iter().any(|f| f.starts_with(check)),
            "--defect {defect}: {file} should fail `{check}`: {failed:#?}"
        );
        env.shutdown().await;
    }
}
