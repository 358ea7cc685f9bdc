//! `parley lint --nats-url … --probe` through the binary, against the real sample services
//! (each a `parley sample SERVICE` process) on a private nats-server: the clean stack passes
//! (exit 0), `non-idempotent` fails the duplicate probe (PL002, exit 1), `no-dlq` fails the
//! poison probe and the broker's view (PL001, exit 1), each finding with what was sent and
//! seen; NATS or a service that cannot be reached is exit 3 with a clear message.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use parley_e2e::{Run, parley, parley_bin, repo};
use parley_harness::nats::NatsServer;
use parley_samples::defect::{Defect, Service};
use parley_samples::stack::{Launcher, Stack, StackOptions};
use serde_json::Value;

/// Bound of one `parley lint --probe` run (four probes; the failing poison one waits 3 s).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn description() -> PathBuf {
    repo().join("sample-services/architecture.yaml")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A private nats-server and the sample stack with `defects`.
struct Env {
    rt: tokio::runtime::Runtime,
    nats: NatsServer,
    stack: Option<Stack>,
}

impl Env {
    fn start(defects: &[Defect]) -> Env {
        let rt = runtime();
        let nats = NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
        let mut options = StackOptions::new(nats.url());
        options.defects = defects.to_vec();
        let stack = rt
            .block_on(Stack::start(
                Launcher::new(parley_bin(), &["sample"]),
                options,
            ))
            .unwrap_or_else(|e| panic!("the sample stack ({defects:?}) did not start: {e}"));
        Env {
            rt,
            nats,
            stack: Some(stack),
        }
    }

    /// `parley lint DESCRIPTION --nats-url … --probe --service …` in `format`.
    fn lint(&self, format: &str) -> Run {
        let stack = self.stack.as_ref().expect("running");
        let mut p = parley(["lint"])
            .arg(description())
            .arg("--nats-url")
            .arg(self.nats.url())
            .arg("--probe")
            .arg("--probe-timeout")
            .arg("3s")
            .arg("--format")
            .arg(format)
            .timeout(RUN_TIMEOUT);
        for s in [Service::Payment, Service::Notification] {
            p = p
                .arg("--service")
                .arg(format!("{}={}", s.service_name(), stack.url(s)));
        }
        p.run()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(stack) = self.stack.take() {
            self.rt.block_on(stack.shutdown());
        }
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e})\n{}", run.describe()))
}

/// The findings of `rule` about the consumer `durable` that carry evidence (live ones).
fn live<'a>(report: &'a Value, rule: &str, durable: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            f["ruleId"] == rule
                && f["element"]
                    .as_str()
                    .is_some_and(|e| e.contains(&format!("(durable {durable})")))
                && f["evidence"].as_array().is_some_and(|e| !e.is_empty())
        })
        .collect()
}

fn evidence(f: &Value) -> String {
    f["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_clean_samples_pass_the_probes_and_the_brokers_view() {
    let env = Env::start(&[]);
    let run = env.lint("json");
    run.assert_code(0);
    assert_eq!(
        run.stderr.matches("probe ok:").count(),
        4,
        "{}",
        run.describe()
    );
    let report = json(&run);
    assert_eq!(report["summary"]["errors"], 0, "{}", run.describe());
}

#[test]
fn non_idempotent_payment_fails_with_the_duplicate_it_was_sent() {
    let env = Env::start(&[Defect::NonIdempotent]);
    let run = env.lint("json");
    run.assert_code(1);
    let report = json(&run);
    let found = live(&report, "PL002", "payment-orders-created");
    assert_eq!(found.len(), 1, "{}", run.describe());
    let e = evidence(found[0]);
    assert!(
        e.contains("sent: {") && e.contains("\"orderId\":\"probe-") && e.contains("orders.created"),
        "{e}"
    );
    assert!(
        e.contains("after the first delivery") && e.contains("after the second delivery"),
        "{e}"
    );
    assert_eq!(report["summary"]["errors"], 1, "{}", run.describe());
    assert!(
        run.stderr
            .contains("probe FAILED: duplicate delivery probe of payment-service")
    );

    // The human report shows the evidence under the finding.
    let human = env.lint("human");
    human.assert_code(1);
    assert!(
        human.stdout.contains("PL002") && human.stdout.contains("seen: after the second delivery"),
        "{}",
        human.describe()
    );
}

#[test]
fn no_dlq_notification_fails_the_poison_probe_and_the_brokers_view() {
    let env = Env::start(&[Defect::NoDlq]);
    let run = env.lint("json");
    run.assert_code(1);
    let report = json(&run);
    let found = live(&report, "PL001", "notification-orders");
    assert_eq!(found.len(), 2, "{}", run.describe());
    let probe = found
        .iter()
        .find(|f| evidence(f).contains("sent: an undecodable message"))
        .unwrap_or_else(|| panic!("no poison probe finding\n{}", run.describe()));
    assert!(
        evidence(probe)
            .contains("nothing on the dead-letter subject dlq.notification-orders.orders.>"),
        "{}",
        evidence(probe)
    );
    let broker = found
        .iter()
        .find(|f| {
            f["message"].as_str().is_some_and(|m| {
                m.contains(&format!("seen on the NATS server at {}", env.nats.url()))
            })
        })
        .unwrap_or_else(|| panic!("no finding from the broker's view\n{}", run.describe()));
    assert!(broker.get("location").is_none(), "{broker}");

    // SARIF carries the evidence in the result's properties.
    let sarif = env.lint("sarif");
    sarif.assert_code(1);
    let log = json(&sarif);
    let results = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        results.iter().any(|r| r["ruleId"] == "PL001"
            && r["properties"]["evidence"]
                .as_array()
                .is_some_and(|e| !e.is_empty())),
        "{}",
        sarif.describe()
    );
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

#[test]
fn unreachable_nats_or_service_is_exit_3() {
    let run = parley(["lint"])
        .arg(description())
        .arg("--nats-url")
        .arg(format!("nats://127.0.0.1:{}", closed_port()))
        .timeout(Duration::from_secs(20))
        .run();
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("cannot reach the NATS server at nats://127.0.0.1:"),
        "{}",
        run.describe()
    );

    // NATS is there, the service whose state a probe reads is not.
    let nats = NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
    let down = format!("http://127.0.0.1:{}", closed_port());
    let run = parley(["lint"])
        .arg(description())
        .arg("--nats-url")
        .arg(nats.url())
        .arg("--probe")
        .arg("--service")
        .arg(format!("payment-service={down}"))
        .arg("--service")
        .arg(format!("notification-service={down}"))
        .timeout(Duration::from_secs(20))
        .run();
    run.assert_code(3);
    assert!(
        run.stderr.contains("cannot read the state of"),
        "{}",
        run.describe()
    );

    // A probe whose service has no URL is a usage error.
    let run = parley(["lint"])
        .arg(description())
        .arg("--nats-url")
        .arg(nats.url())
        .arg("--probe")
        .timeout(Duration::from_secs(20))
        .run();
    run.assert_code(2);
    assert!(run.stderr.contains("--service"), "{}", run.describe());
}
