//! `parley verify` through the binary, against a real nats-server and the real sample services
//! (each a `parley sample SERVICE` process): the sample contracts pass on the clean build, the
//! two contract defects fail naming the interaction and the JSON path while the seven others do
//! not fail verification, Pact files (written by pact-python, and by `parley export`) verify
//! and fail the same way, and every fault gives its exit code and a clear message, never a
//! pass and never a hang.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use parley_e2e::{Parley, Run, parley, parley_bin, repo};
use parley_harness::nats::NatsServer;
use parley_samples::defect::{Defect, Service};
use parley_samples::http_server::PROVIDER_STATES_PATH;
use parley_samples::stack::{Launcher, Stack, StackOptions};
use serde_json::{Value, json};

/// Every service that is a provider in the sample contracts (the gateway only consumes).
const PROVIDERS: [Service; 5] = [
    Service::Order,
    Service::Payment,
    Service::Inventory,
    Service::Shipping,
    Service::Notification,
];

/// Generous bound for a run against the samples (two cores shared with six services).
const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// Bound for a run that needs no service.
const QUICK: Duration = Duration::from_secs(20);

fn sample_contracts() -> PathBuf {
    repo().join("sample-services/contracts")
}

/// The V4 HTTP pact pact-python 4.2 (Pact Rust core) wrote: order-service → payment-service.
fn pact_python_v4_http() -> PathBuf {
    repo().join("contracts/tests/data/pacts/pact-python-v4-http.json")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A private nats-server and the runtime the sample stacks (and test servers) run on.
struct Env {
    rt: tokio::runtime::Runtime,
    nats: NatsServer,
}

impl Env {
    fn start() -> Env {
        let nats = NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
        Env {
            rt: runtime(),
            nats,
        }
    }

    /// The six sample services, with `defects` switched on, serving provider states.
    fn stack(&self, defects: &[Defect]) -> Stack {
        let mut options = StackOptions::new(self.nats.url());
        options.defects = defects.to_vec();
        options.provider_states = true;
        self.rt
            .block_on(Stack::start(
                Launcher::new(parley_bin(), &["sample"]),
                options,
            ))
            .unwrap_or_else(|e| panic!("the sample stack ({defects:?}) did not start: {e}"))
    }

    /// Every message NATS carries from now on (`time subject x-correlation-id`), to show what
    /// really went over the wire when a check fails.
    fn watch_nats(&self) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = std::sync::Arc::clone(&seen);
        let url = self.nats.url();
        self.rt.block_on(async move {
            let client = async_nats::connect(&url).await.expect("connect to NATS");
            let mut all = client.subscribe(">").await.expect("subscribe");
            client.flush().await.expect("flush");
            let started = Instant::now();
            tokio::spawn(async move {
                let _client = client;
                while let Some(m) = all.next().await {
                    let correlation = m
                        .headers
                        .as_ref()
                        .and_then(|h| h.get("x-correlation-id"))
                        .map(|v| v.as_str().to_string())
                        .unwrap_or_default();
                    record
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!(
                            "{:>9.3?} {} {correlation}",
                            started.elapsed(),
                            m.subject
                        ));
                }
            });
        });
        seen
    }

    fn shutdown(&self, stack: Stack) {
        self.rt.block_on(stack.shutdown());
    }
}

/// `parley verify --provider P --base-url … --state-url … --nats-url … EXTRA… PATHS…` against
/// one sample provider.
fn verify_sample(
    stack: &Stack,
    nats_url: &str,
    provider: Service,
    extra: &[&str],
    paths: &[&Path],
) -> Run {
    let base = stack.url(provider);
    let mut run = parley(["verify", "--provider", provider.service_name()])
        .arg("--base-url")
        .arg(&base)
        .arg("--state-url")
        .arg(format!("{base}{PROVIDER_STATES_PATH}"))
        .arg("--nats-url")
        .arg(nats_url);
    for a in extra {
        run = run.arg(a);
    }
    for p in paths {
        run = run.arg(p);
    }
    run.timeout(RUN_TIMEOUT).run()
}

/// The checks of a `--format json` run.
#[track_caller]
fn json_checks(run: &Run) -> Vec<Value> {
    let value: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("--format json output is not JSON: {e}\n{}", run.describe()));
    value["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no `checks` array\n{}", run.describe()))
        .clone()
}

/// Asserts exit 0 and `expected` checks, every one passed.
#[track_caller]
fn assert_all_passed(run: &Run, expected: usize) {
    run.assert_code(0).assert_nothing_left_in_group();
    let checks = json_checks(run);
    assert_eq!(checks.len(), expected, "checks run\n{}", run.describe());
    for c in &checks {
        assert_eq!(
            c["outcome"]["status"],
            "passed",
            "{} did not pass\n{}",
            c["name"],
            run.describe()
        );
    }
}

/// The last `n` lines of a log.
fn last_lines(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The names of the failed checks in human output (`  ✗ NAME [kind, N ms]`).
fn failed_names(stdout: &str) -> Vec<String> {
    let mut names: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("✗ "))
        .filter_map(|l| l.rsplit_once(" [").map(|(name, _)| name.to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_sample_contract_verifies_against_the_clean_samples() {
    let contracts = parley_contracts::load::load_paths(&[sample_contracts()])
        .expect("the sample contracts load");
    for c in &contracts {
        assert!(
            PROVIDERS.iter().any(|p| p.service_name() == c.provider),
            "{} → {}: a provider this test does not verify",
            c.consumer,
            c.provider
        );
    }
    let env = Env::start();
    let stack = env.stack(&[]);
    let contracts_dir = sample_contracts();
    let mut verified = 0;
    for provider in PROVIDERS {
        let expected: usize = contracts
            .iter()
            .filter(|c| c.provider == provider.service_name())
            .map(|c| c.interactions.len())
            .sum();
        assert!(expected > 0, "no sample contract for {provider}");
        let run = verify_sample(
            &stack,
            &env.nats.url(),
            provider,
            &["--format", "json"],
            &[&contracts_dir],
        );
        assert_all_passed(&run, expected);
        eprintln!(
            "{provider}: {expected} interaction(s) passed in {:.2?}",
            run.elapsed
        );
        verified += expected;
    }
    let total: usize = contracts.iter().map(|c| c.interactions.len()).sum();
    assert_eq!(
        verified, total,
        "every sample interaction was verified once"
    );
    env.shutdown(stack);
}

/// The detection matrix rows of contract verification, every defect against every provider:
/// `breaking-response` fails payment-service on `charge a customer` at `$.paymentId`,
/// `breaking-event` fails order-service on `an order was placed asynchronously` at `$.total`;
/// no other defect makes any provider's verification fail.
///
/// `breaking-response` also fails order-service, and rightly: order calls payment's charge on
/// its synchronous path and in the orchestrated saga, gets an answer without `paymentId`, and
/// answers its own consumers 502 (the gateway's `place an order synchronously`, notification's
/// `an order was confirmed`) or cancels the saga (`an order was completed` never comes). That
/// cell is asserted as the cascade it is: only those interactions, the 502 naming payment.
///
/// Each row gets a fresh nats-server and stack (about 0.6 s), so that rows cannot disturb each
/// other through JetStream's durable state.
#[test]
fn only_the_contract_defects_fail_verification_and_they_name_the_interaction_and_path() {
    let contracts = sample_contracts();
    let mut matrix = String::new();
    let mut problems = Vec::new();
    // Order-service last: verifying it makes it publish (with `breaking-event`, malformed
    // `orders.created` its consumers choke on), and no other provider's verification should
    // depend on what a previous one left behind.
    let order = [
        Service::Payment,
        Service::Inventory,
        Service::Shipping,
        Service::Notification,
        Service::Order,
    ];
    for defect in Defect::ALL {
        let started = Instant::now();
        // A NATS of its own for each row: JetStream keeps streams and durable consumers, so a
        // shared server would carry one row's messages (a poison `orders.created`) into the next.
        let env = Env::start();
        let carried = env.watch_nats();
        let stack = env.stack(&[defect]);
        for provider in order {
            let run = verify_sample(&stack, &env.nats.url(), provider, &[], &[&contracts]);
            let failed = failed_names(&run.stdout);
            for slow in run.stdout.lines().filter(|l| {
                l.rsplit_once(", ")
                    .and_then(|(_, t)| t.split(' ').next()?.parse::<u64>().ok())
                    .is_some_and(|ms| ms >= 1000)
            }) {
                eprintln!("slow ({} / {provider}): {slow}", defect.name());
            }
            matrix.push_str(&format!(
                "{:<20} {:<21} exit {:?} failed {failed:?}\n",
                defect.name(),
                provider.service_name(),
                run.code()
            ));
            let expected = match (defect, provider) {
                (Defect::BreakingResponse, Service::Payment) => {
                    Some(Some(("charge a customer", "$.paymentId")))
                }
                (Defect::BreakingEvent, Service::Order) => {
                    Some(Some(("an order was placed asynchronously", "$.total")))
                }
                // The cascade through order's synchronous call to payment.
                (Defect::BreakingResponse, Service::Order) => Some(None),
                _ => None,
            };
            let problem = match expected {
                None if run.code() != Some(0) || !failed.is_empty() => {
                    Some("must not fail verification".to_string())
                }
                None => None,
                Some(_) if run.code() != Some(1) => Some("must exit 1".to_string()),
                Some(Some((interaction, path))) => (!failed.iter().any(|n| n == interaction)
                    || !run.stdout.contains(path))
                .then(|| format!("must name {interaction:?} and {path}")),
                Some(None) => {
                    let cascade = [
                        "place an order synchronously",
                        "place an order through the orchestrated saga",
                        "an order was confirmed",
                        "an order was completed",
                    ];
                    (!failed.iter().any(|n| n == "place an order synchronously")
                        || !failed.iter().all(|n| cascade.contains(&n.as_str()))
                        || !run.stdout.contains("payment-service answered"))
                    .then(|| {
                        format!(
                            "must fail only what calls payment's charge ({cascade:?}), naming \
                             payment-service"
                        )
                    })
                }
            };
            if let Some(p) = problem {
                problems.push(format!(
                    "--defect {} / {provider}: {p}\n{}\n--- {provider}'s last log lines ---\n{}\n--- the last messages NATS carried ---\n{}",
                    defect.name(),
                    run.describe(),
                    last_lines(&stack.log(provider), 40),
                    last_lines(&carried.lock().unwrap_or_else(|e| e.into_inner()).join("\n"), 40)
                ));
            }
        }
        env.shutdown(stack);
        eprintln!(
            "--defect {}: five providers verified in {:.2?}",
            defect.name(),
            started.elapsed()
        );
    }
    eprintln!("{matrix}");
    assert!(problems.is_empty(), "{matrix}\n{}", problems.join("\n\n"));
}

/// The provider-state handler a payment-service team would write for the pact-python pact:
/// its consumer named the states in its own words (`customer has no funds`, `an order was
/// charged`) and left out parameters the sample needs (`customerId` of a payment). It maps
/// them onto the sample's own state endpoint (`upstream`).
fn pact_python_state(mut change: Value) -> Value {
    let state = change["state"].as_str().unwrap_or_default().to_string();
    let params = change["params"].as_object().cloned().unwrap_or_default();
    let mut params = Value::Object(params);
    let state = match state.as_str() {
        "customer has no funds" => "customer has insufficient funds".to_string(),
        "a payment exists" => {
            params["customerId"] = json!("c-42");
            params["orderId"] = json!("o-1");
            state
        }
        "an order was charged" => {
            params["customerId"] = json!("c-42");
            params["paymentId"] = json!("pay_7f3a9c01e2b4");
            params["amount"] = json!(1999);
            "a payment exists".to_string()
        }
        _ => state,
    };
    change["state"] = json!(state);
    change["params"] = params;
    change
}

/// Serves [`pact_python_state`] on loopback (on `rt`), forwarding to `upstream`.
fn start_state_adapter(rt: &tokio::runtime::Runtime, upstream: String) -> String {
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |axum::Json(change): axum::Json<Value>| {
            let client = client.clone();
            let upstream = upstream.clone();
            async move {
                let answer = client
                    .post(&upstream)
                    .json(&pact_python_state(change))
                    .send()
                    .await;
                match answer {
                    Ok(r) => {
                        let status = axum::http::StatusCode::from_u16(r.status().as_u16())
                            .unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
                        (status, r.text().await.unwrap_or_default())
                    }
                    Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()),
                }
            }
        }),
    );
    let addr = serve(rt, app);
    format!("http://{addr}/")
}

/// Serves an axum app on a free loopback port, on `rt`.
fn serve(rt: &tokio::runtime::Runtime, app: axum::Router) -> SocketAddr {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    })
}

/// `parley verify` of payment-service with a Pact file and an explicit state URL.
fn verify_payment_pact(stack: &Stack, state_url: &str, extra: &[&str], pact: &Path) -> Run {
    let mut run = parley(["verify", "--provider", "payment-service", "--base-url"])
        .arg(stack.url(Service::Payment))
        .arg("--state-url")
        .arg(state_url);
    for a in extra {
        run = run.arg(a);
    }
    run.arg(pact).timeout(RUN_TIMEOUT).run()
}

/// A Pact V4 file written by a Pact library (pact-python 4.2, Pact Rust core) and one written
/// by `parley export` both verify against the clean payment service, and both fail against
/// `--defect breaking-response`, naming the field.
#[test]
fn pact_files_from_pact_python_and_from_parley_export_verify_and_catch_the_breaking_response() {
    let exported = tempfile::tempdir().expect("temp dir");
    let export = parley(["export", "--spec", "v4", "--to"])
        .arg(exported.path())
        .args_from([
            "--consumer",
            "order-service",
            "--provider",
            "payment-service",
        ])
        .arg(sample_contracts())
        .timeout(QUICK)
        .run();
    export.assert_code(0);
    let exported_pact = exported.path().join("order-service-payment-service.json");
    assert!(exported_pact.is_file(), "{}", export.describe());
    // parley's triggers have no place in a Pact file, so the exported events cannot be made to
    // happen over NATS (the samples serve no Pact message endpoint): its HTTP interactions are
    // the ones verified.
    let exported_http = ["--description", "^(charge|refund) "];
    let pact = pact_python_v4_http();
    let env = Env::start();

    let stack = env.stack(&[]);
    let sample_states = format!("{}{PROVIDER_STATES_PATH}", stack.url(Service::Payment));
    let adapter = start_state_adapter(&env.rt, sample_states.clone());
    let run = verify_payment_pact(&stack, &adapter, &["--format", "json"], &pact);
    assert_all_passed(&run, 5);
    let run = verify_payment_pact(&stack, &sample_states, &exported_http, &exported_pact);
    run.assert_code(0);
    assert_eq!(
        failed_names(&run.stdout),
        Vec::<String>::new(),
        "{}",
        run.describe()
    );
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("✓ "))
            .count(),
        4,
        "the four HTTP interactions of order-service → payment-service\n{}",
        run.describe()
    );
    env.shutdown(stack);

    let stack = env.stack(&[Defect::BreakingResponse]);
    let sample_states = format!("{}{PROVIDER_STATES_PATH}", stack.url(Service::Payment));
    let adapter = start_state_adapter(&env.rt, sample_states.clone());
    for (run, interaction) in [
        (
            verify_payment_pact(&stack, &adapter, &[], &pact),
            "a charge for a customer with funds",
        ),
        (
            verify_payment_pact(&stack, &sample_states, &exported_http, &exported_pact),
            "charge a customer",
        ),
    ] {
        run.assert_code(1);
        let failed = failed_names(&run.stdout);
        assert!(
            failed.iter().any(|n| n == interaction),
            "{interaction:?} not named (failed: {failed:?})\n{}",
            run.describe()
        );
        assert!(run.stdout.contains("$.paymentId"), "{}", run.describe());
    }
    env.shutdown(stack);
}

/// A contract of a provider that no service serves, for the fault tests.
fn write_contract(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the contract");
    path
}

const THING_CONTRACT: &str = "\
consumer: test-client
provider: thing-service
http:
  - description: fetch a thing
    request: { method: GET, path: /things/1 }
    response:
      status: 200
      body: { id: 1 }
";

const STATEFUL_CONTRACT: &str = "\
consumer: test-client
provider: thing-service
http:
  - description: fetch a thing that exists
    given: { state: a thing exists, params: { id: 1 } }
    request: { method: GET, path: /things/1 }
    response:
      status: 200
      body: { id: 1 }
";

const EVENTS_CONTRACT: &str = "\
consumer: test-client
provider: echo-service
events:
  - description: the first echo
    subject: echo.first
    trigger: { publish: { subject: trigger.first, payload: { n: 1 } } }
    payload: { example: { n: 1 } }
  - description: the second echo
    subject: echo.second
    trigger: { publish: { subject: trigger.second, payload: { n: 2 } } }
    payload: { example: { n: 2 } }
  - description: the third echo
    subject: echo.third
    trigger: { publish: { subject: trigger.third, payload: { n: 3 } } }
    payload: { example: { n: 3 } }
";

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port")
        .port()
}

trait ArgsFrom {
    fn args_from<const N: usize>(self, args: [&str; N]) -> Self;
}

impl ArgsFrom for Parley {
    fn args_from<const N: usize>(mut self, args: [&str; N]) -> Self {
        for a in args {
            self = self.arg(a);
        }
        self
    }
}

#[test]
fn an_unreachable_provider_is_an_infrastructure_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let contract = write_contract(dir.path(), "thing.yaml", THING_CONTRACT);
    let base = format!("http://127.0.0.1:{}", closed_port());
    let run = parley(["verify", "--provider", "thing-service", "--base-url", &base])
        .arg(&contract)
        .timeout(QUICK)
        .run();
    run.assert_code(3).assert_nothing_left_in_group();
    let out = run.output();
    assert!(
        out.contains("fetch a thing")
            && out.contains(&format!("the provider at {base} is unreachable"))
            && out.contains("Connection refused"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_provider_that_hangs_fails_on_the_request_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    // Accepts every connection, reads what comes, never answers.
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
            let _ = s.read(&mut buf);
            held.push(s);
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let contract = write_contract(dir.path(), "thing.yaml", THING_CONTRACT);
    let run = parley([
        "verify",
        "--provider",
        "thing-service",
        "--timeout",
        "500ms",
    ])
    .arg("--base-url")
    .arg(&base)
    .arg(&contract)
    .timeout(QUICK)
    .run();
    run.assert_code(1).assert_nothing_left_in_group();
    assert_eq!(
        failed_names(&run.stdout),
        vec!["fetch a thing"],
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("did not answer") && run.stdout.contains("500ms"),
        "names the timeout\n{}",
        run.describe()
    );
    assert!(
        run.elapsed < Duration::from_secs(3),
        "took {:?}\n{}",
        run.elapsed,
        run.describe()
    );
}

#[test]
fn a_state_change_endpoint_that_fails_fails_the_interaction_naming_the_state() {
    let rt = runtime();
    let app = axum::Router::new().route(
        "/states",
        axum::routing::post(|| async {
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the database is down",
            )
        }),
    );
    let addr = serve(&rt, app);
    let dir = tempfile::tempdir().expect("temp dir");
    let contract = write_contract(dir.path(), "thing.yaml", STATEFUL_CONTRACT);
    let run = parley(["verify", "--provider", "thing-service"])
        .arg("--base-url")
        .arg(format!("http://{addr}"))
        .arg("--state-url")
        .arg(format!("http://{addr}/states"))
        .arg(&contract)
        .timeout(QUICK)
        .run();
    run.assert_code(1).assert_nothing_left_in_group();
    assert_eq!(
        failed_names(&run.stdout),
        vec!["fetch a thing that exists"],
        "{}",
        run.describe()
    );
    assert!(
        run.stdout
            .contains("provider state \"a thing exists\" could not be set up")
            && run.stdout.contains("500")
            && run.stdout.contains("the database is down"),
        "{}",
        run.describe()
    );
}

#[test]
fn unreachable_nats_is_an_infrastructure_error_for_events() {
    let dir = tempfile::tempdir().expect("temp dir");
    let contract = write_contract(dir.path(), "echo.yaml", EVENTS_CONTRACT);
    let url = format!("nats://127.0.0.1:{}", closed_port());
    let run = parley(["verify", "--provider", "echo-service", "--nats-url", &url])
        .arg(&contract)
        .timeout(QUICK)
        .run();
    run.assert_code(3).assert_nothing_left_in_group();
    assert!(
        run.output()
            .contains(&format!("NATS at {url} is unreachable")),
        "{}",
        run.describe()
    );
}

/// NATS stops while verification waits for an event: the run ends, not 0, with NATS named.
/// (Before the fix, the next event's `flush` waited for a reconnect for ever.)
#[test]
fn nats_going_away_mid_run_is_neither_a_pass_nor_a_hang() {
    let rt = runtime();
    let nats = NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
    let url = nats.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let contract = write_contract(dir.path(), "echo.yaml", EVENTS_CONTRACT);
    // Watch the triggers: the first one means verification is waiting for its event.
    let (watcher, mut triggers) = rt.block_on(async {
        let client = async_nats::connect(&url).await.expect("connect to NATS");
        let sub = client.subscribe("trigger.>").await.expect("subscribe");
        client.flush().await.expect("flush");
        (client, sub)
    });
    let verify = parley([
        "verify",
        "--provider",
        "echo-service",
        "--event-timeout",
        "2s",
    ])
    .arg("--nats-url")
    .arg(&url)
    .arg(&contract)
    .timeout(Duration::from_secs(30));
    let running = std::thread::spawn(move || verify.run());
    let first =
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), triggers.next()).await });
    assert!(matches!(first, Ok(Some(_))), "the first trigger never came");
    drop(triggers);
    drop(watcher);
    let stopped = Instant::now();
    drop(nats);
    let run = running.join().expect("the verify thread");
    assert_ne!(run.code(), Some(0), "{}", run.describe());
    run.assert_code(3).assert_nothing_left_in_group();
    // NATS stops while verification waits for the first echo, or (a race) while it still
    // flushes the trigger: either way the first event names NATS, the others do not wait.
    let first = run
        .stdout
        .lines()
        .find(|l| l.contains("the first echo"))
        .unwrap_or_default();
    assert!(
        first.contains("could not run") && first.contains("NATS") && first.contains("disconnected"),
        "{}",
        run.describe()
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "took {:?} after NATS stopped\n{}",
        stopped.elapsed(),
        run.describe()
    );
}

#[test]
fn a_provider_no_contract_names_is_bad_usage_listing_the_providers() {
    let run = parley(["verify", "--provider", "billing-service"])
        .arg("--base-url")
        .arg(format!("http://127.0.0.1:{}", closed_port()))
        .arg(sample_contracts())
        .timeout(QUICK)
        .run();
    run.assert_code(2).assert_nothing_left_in_group();
    assert!(
        run.stderr.contains("\"billing-service\""),
        "{}",
        run.describe()
    );
    for p in PROVIDERS {
        assert!(
            run.stderr.contains(p.service_name()),
            "{} not listed\n{}",
            p.service_name(),
            run.describe()
        );
    }
}

/// Events that cannot be made to happen with the options given are bad usage (exit 2) before
/// anything runs, not "could not run" (3) and never silently skipped.
#[test]
fn events_that_cannot_run_are_bad_usage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let contract = write_contract(dir.path(), "echo.yaml", EVENTS_CONTRACT);
    // No --nats-url and no --message-url.
    let run = parley(["verify", "--provider", "echo-service"])
        .arg(&contract)
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(run.stderr.contains("--nats-url"), "{}", run.describe());

    // A Pact message has no trigger: over NATS parley cannot make the provider emit it.
    let messages = repo().join("contracts/tests/data/pacts/pact-python-v4-messages.json");
    let run = parley(["verify", "--provider", "order-service", "--nats-url"])
        .arg(format!("nats://127.0.0.1:{}", closed_port()))
        .args_from(["--description", "^an order"])
        .arg(&messages)
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("no trigger") && run.stderr.contains("--message-url"),
        "{}",
        run.describe()
    );

    // A synchronous message (request/reply) selected is not verified yet: said, not skipped.
    let run = parley(["verify", "--provider", "order-service", "--message-url"])
        .arg(format!("http://127.0.0.1:{}/messages", closed_port()))
        .arg(&messages)
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("synchronous message") && run.stderr.contains("stock query"),
        "{}",
        run.describe()
    );
}

#[test]
fn bad_contracts_are_bad_input_pointing_into_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "malformed.yaml",
            "consumer: a\nprovider: b\nhttp:\n  - description: x\n    request: { method: GET, path: /x\n    response: { status: 200 }\n",
            ":6:",
            "not valid YAML",
        ),
        (
            "matcher.yaml",
            "consumer: a\nprovider: b\nhttp:\n  - description: x\n    request: { method: GET, path: /x }\n    response:\n      status: 200\n      body:\n        id: { $match: frobnicate, example: 1 }\n",
            ":9:",
            "unknown matcher \"frobnicate\"",
        ),
        (
            "regex.yaml",
            "consumer: a\nprovider: b\nhttp:\n  - description: x\n    request: { method: GET, path: /x }\n    response:\n      status: 200\n      body:\n        id: { $match: regex, pattern: \"^(unclosed\", example: \"(unclosed\" }\n",
            ":9:",
            "invalid regex",
        ),
        (
            "schema.yaml",
            "consumer: a\nprovider: b\nevents:\n  - description: x\n    subject: a.b\n    payload:\n      schema: schemas/nope.json\n      example: { a: 1 }\n",
            ":7:",
            "schemas/nope.json",
        ),
    ];
    let column = regex::Regex::new(r"^:\d+:\d+").expect("regex");
    for (name, text, line, what) in cases {
        let path = write_contract(dir.path(), name, text);
        let run = parley(["verify", "--provider", "b", "--nats-url"])
            .arg(format!("nats://127.0.0.1:{}", closed_port()))
            .arg("--base-url")
            .arg(format!("http://127.0.0.1:{}", closed_port()))
            .arg(&path)
            .timeout(QUICK)
            .run();
        run.assert_code(2).assert_nothing_left_in_group();
        let at = format!("{}{line}", path.display());
        let located = run
            .stderr
            .find(&at)
            .is_some_and(|i| column.is_match(&run.stderr[i + path.display().to_string().len()..]));
        assert!(
            located && run.stderr.contains(what),
            "{name}: expected `{at}COLUMN` and {what:?}\n{}",
            run.describe()
        );
    }
}

/// The message a provider's Pact message handler builds for pact-python's message pact, from
/// the provider states it is given; `broken` publishes `total` as a string (as the
/// `breaking-event` defect does).
fn order_message(request: &Value, broken: bool) -> (Value, Value) {
    let description = request["description"].as_str().unwrap_or_default();
    let params = &request["providerStates"][0]["params"];
    match description {
        "an order created event" => (
            json!({
                "orderId": params["orderId"],
                "customerId": params["customerId"],
                "total": if broken { json!("25.00") } else { json!(2500) },
                "currency": "EUR",
                "items": [ { "sku": "B2", "qty": 1 } ],
                "address": { "city": "Paris", "country": "FR" }
            }),
            json!({
                "contentType": "application/json",
                "subject": "orders.created",
                "x-correlation-id": "c0ffee-1",
                "Nats-Msg-Id": format!("{}:orders.created", params["orderId"].as_str().unwrap_or_default())
            }),
        ),
        _ => (
            json!({
                "orderId": params["orderId"],
                "customerId": "c-broke-9",
                "reason": "payment declined",
                "status": "cancelled"
            }),
            json!({ "contentType": "application/json", "subject": "orders.cancelled" }),
        ),
    }
}

/// Pact's message endpoint, answering [`order_message`] and recording the states it was given.
fn start_message_endpoint(
    rt: &tokio::runtime::Runtime,
    broken: bool,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use base64::Engine as _;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/messages",
        axum::routing::post(move |axum::Json(request): axum::Json<Value>| {
            let record = std::sync::Arc::clone(&record);
            async move {
                record
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(request["providerStates"].clone());
                let (body, metadata) = order_message(&request, broken);
                let metadata = base64::engine::general_purpose::STANDARD
                    .encode(metadata.to_string().as_bytes());
                (
                    [
                        ("content-type", "application/json".to_string()),
                        ("pact-message-metadata", metadata),
                    ],
                    body.to_string(),
                )
            }
        }),
    );
    let addr = serve(rt, app);
    (format!("http://{addr}/messages"), seen)
}

/// pact-python's V4 message pact verifies through Pact's message-endpoint convention
/// (`--message-url`), the endpoint receiving each message's provider states (no state-change
/// URL needed), and a provider that breaks a field fails naming it. The synchronous message of
/// that pact (request/reply) is left out with `--description`: parley does not verify those yet.
#[test]
fn a_pact_message_pact_verifies_through_the_message_endpoint_with_its_states() {
    let rt = runtime();
    let messages = repo().join("contracts/tests/data/pacts/pact-python-v4-messages.json");
    let (url, seen) = start_message_endpoint(&rt, false);
    let run = parley(["verify", "--provider", "order-service", "--format", "json"])
        .args_from(["--description", "^an order"])
        .arg("--message-url")
        .arg(&url)
        .arg(&messages)
        .timeout(QUICK)
        .run();
    assert_all_passed(&run, 2);
    let mut states: Vec<String> = seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|s| s[0]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    states.sort();
    assert_eq!(states, ["an order was cancelled", "an order was placed"]);

    let (url, _) = start_message_endpoint(&rt, true);
    let run = parley(["verify", "--provider", "order-service"])
        .args_from(["--description", "^an order"])
        .arg("--message-url")
        .arg(&url)
        .arg(&messages)
        .timeout(QUICK)
        .run();
    run.assert_code(1);
    assert_eq!(
        failed_names(&run.stdout),
        vec!["an order created event"],
        "{}",
        run.describe()
    );
    assert!(run.stdout.contains("$.total"), "{}", run.describe());
}

/// Interactions that need provider states, with no --state-url to set them: bad usage (2),
/// naming the states, not "could not run" (3).
#[test]
fn states_without_a_state_url_are_bad_usage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let contract = write_contract(dir.path(), "thing.yaml", STATEFUL_CONTRACT);
    let run = parley(["verify", "--provider", "thing-service", "--base-url"])
        .arg(format!("http://127.0.0.1:{}", closed_port()))
        .arg(&contract)
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("\"a thing exists\"") && run.stderr.contains("--state-url"),
        "{}",
        run.describe()
    );
}
