//! `parley demo`: the main job on the sample services.
//!
//! Starts a private `nats-server -js`, the embedded OTLP receiver and the six sample services,
//! verifies the built-in contracts, runs the samples' scenarios (sync order, async order, saga
//! success, saga compensation, poison message, duplicate delivery; built in from
//! `sample-services/scenarios/`) with parley's scenario runner, lints the architecture declared
//! and observed ([`crate::demo_lint`]), and reports what each did and what its traces show.
//! Everything is stopped again, whatever happens.

use std::path::PathBuf;
use std::time::Duration;

use parley_contracts::load::load_paths;
use parley_harness::checks::trace as trace_checks;
use parley_harness::nats::NatsServer;
use parley_harness::otlp::{Receiver, ReceiverConfig};
use parley_harness::requests::RequestTraces;
use parley_harness::results::{Check, Outcome, RunResults};
use parley_harness::scenario::{self, Context};
use parley_harness::verify::{Progress, Quiet, VerifyOptions, verify};
use parley_samples::stack::{Launcher, Stack, StackOptions};
use parley_samples::{Defect, Service};
use serde_json::Value;

use crate::Exit;
use crate::demo_lint;
use crate::output;
use crate::progress::Bar;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Switch one defect of the sample services on (see sample-services/README.md).
    #[arg(long, value_enum)]
    pub defect: Option<Defect>,
    /// Where the report (report.html, report.json, junit.xml, lint-*.sarif) and the services' logs go.
    #[arg(long, default_value = "target/parley")]
    pub out_dir: PathBuf,
    #[command(flatten)]
    pub forward: crate::collect::OtlpForwardArgs,
}

const TOKEN: &str = "demo-token";

fn step(message: &str) {
    eprintln!("• {message}");
}

pub async fn run(args: DemoArgs) -> Exit {
    let started = std::time::Instant::now();
    let nats = match tokio::task::spawn_blocking(NatsServer::start).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            return Exit::Infrastructure;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Infrastructure;
        }
    };
    step(&format!(
        "nats-server -js on {} (store {})",
        nats.url(),
        nats.store_dir().display()
    ));
    let mut builder = Receiver::builder().config(ReceiverConfig::default());
    match args.forward.sink() {
        Ok(Some(sink)) => builder = builder.sink(sink),
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    }
    let receiver = match builder.start().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Infrastructure;
        }
    };
    step(&format!(
        "OTLP receiver on grpc {} and http {}",
        receiver.grpc_endpoint(),
        receiver.http_endpoint()
    ));
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot find the parley executable to start the samples: {e}");
            return Exit::Infrastructure;
        }
    };
    let mut options = StackOptions::new(nats.url());
    options.otlp_endpoint = Some(receiver.http_endpoint());
    options.log_dir = Some(args.out_dir.join("logs"));
    options.defects = args.defect.into_iter().collect();
    if let Some(defect) = args.defect {
        let services: Vec<&str> = defect.services().iter().map(|s| s.service_name()).collect();
        step(&format!(
            "defect {defect} on in {}: {}",
            services.join(", "),
            defect.breaks()
        ));
    }
    let stack = match Stack::start(Launcher::new(exe, &["sample"]), options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            receiver.shutdown().await;
            return Exit::Infrastructure;
        }
    };
    step(&format!(
        "services up: {}",
        Service::START_ORDER
            .iter()
            .map(|s| format!("{} {}", s.service_name(), stack.url(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let bar = Bar::new("demo");
    let result = drive(&stack, &receiver, &nats.url(), &bar).await;
    bar.finish();
    step("stopping the services, the receiver and nats-server");
    stack.shutdown().await;
    receiver.shutdown().await;
    drop(nats);
    match result {
        Ok(driven) => {
            let run = RunResults {
                title: "parley demo".into(),
                checks: driven.checks,
                duration: started.elapsed(),
            };
            print_summary(&run);
            match write_reports(&args.out_dir, &run, &driven.traces, &driven.lint) {
                Ok(report) => println!("report: {}", report.display()),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Exit::BadInput;
                }
            }
            match run.exit_code() {
                0 => Exit::Passed,
                3 => Exit::Infrastructure,
                _ => Exit::CheckFailed,
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Infrastructure
        }
    }
}

/// The verdict: counts, then each failed check with what is at fault.
fn print_summary(run: &RunResults) {
    let s = run.summary();
    println!(
        "\n{} checks: {} passed, {} failed, {} could not run, {} not applicable",
        run.checks.len(),
        s.passed,
        s.failed,
        s.errors,
        s.skipped
    );
    for check in run
        .checks
        .iter()
        .filter(|c| !c.passed() && !matches!(c.outcome, Outcome::Skipped(_)))
    {
        let first = match &check.outcome {
            Outcome::Error(reason) => reason.as_str(),
            _ => check
                .details
                .first()
                .map(|d| d.message.as_str())
                .unwrap_or("failed"),
        };
        println!("  ✗ {}: {}: {first}", check.group, check.name);
        for d in check.details.iter().skip(1) {
            println!("      {}", d.message);
        }
    }
    if s.failed == 0 && s.errors == 0 {
        println!("all scenarios behaved as expected and every trace check passed");
    }
}

/// Verifies every built-in contract against its provider, running in the stack.
async fn verify_contracts(
    stack: &Stack,
    nats_url: &str,
    progress: &Bar,
) -> Result<Vec<Check>, DriveError> {
    let dir = tempfile::Builder::new()
        .prefix("parley-contracts-")
        .tempdir()
        .map_err(DriveError::Contracts)?;
    parley_samples::contracts::write_to(dir.path()).map_err(DriveError::Contracts)?;
    let contracts = load_paths(&[dir.path().to_path_buf()]).map_err(DriveError::Load)?;
    let mut providers: Vec<String> = contracts.iter().map(|c| c.provider.clone()).collect();
    providers.sort();
    providers.dedup();
    let mut checks = Vec::new();
    for provider in providers {
        let Some(service) = Service::START_ORDER
            .into_iter()
            .find(|s| s.service_name() == provider)
        else {
            continue;
        };
        let base = stack.url(service);
        let mut options = VerifyOptions::new(provider.clone());
        options.state_url = Some(format!(
            "{base}{}",
            parley_samples::http_server::PROVIDER_STATES_PATH
        ));
        options.base_url = Some(base);
        options.nats_url = Some(nats_url.to_string());
        // Generous: the demo shares two cores with six services, NATS and the receiver.
        options.event_timeout = Duration::from_secs(10);
        progress.step(&format!("verify {provider}"));
        let results = match verify(&contracts, &options, &Quiet).await {
            Ok(r) => r,
            Err(e) => {
                let mut c = Check::new(format!("verify {provider}"), "contracts", "http");
                c.outcome = Outcome::Error(e.to_string());
                checks.push(c);
                continue;
            }
        };
        let failed = results.checks.iter().filter(|c| !c.passed()).count();
        println!(
            "\nverify {provider} → {} interaction(s), {failed} not passed",
            results.checks.len()
        );
        for c in results.checks.iter().filter(|c| !c.passed()) {
            let why = c
                .details
                .first()
                .map(|d| format!("{}: {}", d.path, d.message))
                .unwrap_or_default();
            println!("  not passed: {} ({}) {why}", c.name, c.group);
        }
        checks.extend(results.checks);
    }
    Ok(checks)
}

#[derive(Debug, thiserror::Error)]
enum DriveError {
    #[error("cannot lay out the built-in contracts: {0}")]
    Contracts(#[source] std::io::Error),
    #[error("the built-in contracts do not load: {0}")]
    Load(#[source] parley_contracts::load::LoadError),
    #[error("built-in scenario {file} does not load: {source}")]
    Scenario {
        file: &'static str,
        #[source]
        source: scenario::ScenarioError,
    },
    #[error("the samples' architecture cannot be linted: {0}")]
    Lint(#[source] parley_harness::lint::LintError),
    #[error("NATS at {url} is unreachable: {source}")]
    Nats {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
}

/// What the demo ran: its checks, the traces of each scenario, the lint's views.
struct Driven {
    checks: Vec<Check>,
    traces: Vec<(String, RequestTraces)>,
    lint: Vec<demo_lint::View>,
}

/// Verifies the contracts, runs every built-in scenario against the stack and lints the
/// architecture; returns all their checks.
async fn drive(
    stack: &Stack,
    receiver: &Receiver,
    nats_url: &str,
    progress: &Bar,
) -> Result<Driven, DriveError> {
    let nats = async_nats::connect(nats_url)
        .await
        .map_err(|source| DriveError::Nats {
            url: nats_url.to_string(),
            source,
        })?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap_or_default();
    progress.start(parley_samples::scenarios::ALL.len() + 6);
    let mut checks = verify_contracts(stack, nats_url, progress).await?;
    let mut all_traces = Vec::new();
    for (file, yaml) in parley_samples::scenarios::ALL {
        let s = scenario::load_str(yaml, std::path::Path::new(file))
            .map_err(|source| DriveError::Scenario { file, source })?;
        let correlation = format!(
            "demo-{}-{}",
            file.trim_end_matches(".yaml"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut ctx = Context::new(receiver.store(), correlation.clone());
        ctx.recorder = Some(receiver.recorder());
        ctx.http = http.clone();
        ctx.nats = Some(nats.clone());
        ctx.vars.insert("token".into(), TOKEN.into());
        for service in Service::START_ORDER {
            ctx.vars
                .insert(service.cli_name().into(), stack.url(service));
        }
        let results = scenario::run(&s, &mut ctx).await;
        let failed = results
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count();
        println!(
            "\n{} → {} step(s), {} check(s), {failed} failed",
            s.name,
            s.steps.len(),
            results.len()
        );
        if let Some(order_id) = ctx.vars.get("orderId") {
            describe_order(&http, &stack.gateway_url(), order_id).await;
        }
        let traces = receiver
            .store()
            .view(|v| RequestTraces::collect(v, &correlation));
        describe_traces(&traces);
        all_traces.push((s.name.clone(), traces));
        progress.step(&s.name);
        checks.extend(results);
    }
    let config = parley_harness::lint::Config::default();
    let base = parley_harness::lint::report::current_dir();
    let described = demo_lint::description().map_err(DriveError::Lint)?;
    let live = demo_lint::LiveSystem {
        nats_url: nats_url.to_string(),
        services: Service::START_ORDER
            .iter()
            .map(|s| (s.service_name().to_string(), stack.url(*s)))
            .collect(),
    };
    let (observed, probes) = demo_lint::observed(&receiver.store(), &described, &live, &config)
        .await
        .map_err(DriveError::Lint)?;
    for p in &probes {
        println!("probe: {p}");
    }
    let views = vec![demo_lint::declared(&described, &config), observed];
    for view in &views {
        let found = view.report.counts();
        println!(
            "\nlint ({}) → {} error(s), {} warning(s), {} note(s)",
            view.label, found.errors, found.warnings, found.notes
        );
        checks.extend(demo_lint::checks(view, &base));
    }
    progress.step("lint");
    Ok(Driven {
        checks,
        traces: all_traces,
        lint: views,
    })
}

/// `report.html`, `report.json` and `junit.xml` in the output folder; returns the HTML's path.
fn write_reports(
    dir: &std::path::Path,
    run: &RunResults,
    traces: &[(String, RequestTraces)],
    lint: &[demo_lint::View],
) -> Result<PathBuf, String> {
    let html = parley_harness::report::html::render(&parley_harness::report::html::HtmlReport {
        title: "parley demo",
        results: run,
        traces,
        generated: format!(
            "generated {} UTC, {} checks in {:.1} s",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| chrono::DateTime::from_timestamp(d.as_secs() as i64, 0))
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            run.checks.len(),
            run.duration.as_secs_f64()
        ),
    });
    let report = dir.join("report.html");
    output::write_file(&report, &html)?;
    output::write_file(&dir.join("report.json"), &parley_harness::report::json(run))?;
    output::write_file(
        &dir.join("junit.xml"),
        &parley_harness::report::junit::render(run),
    )?;
    let base = parley_harness::lint::report::current_dir();
    for view in lint {
        demo_lint::write_sarif(dir, view, &base)?;
    }
    Ok(report)
}

/// The order a scenario placed, as the gateway shows it.
async fn describe_order(http: &reqwest::Client, gateway: &str, order_id: &str) {
    let order = async {
        http.get(format!("{gateway}/api/orders/{order_id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .ok()?
            .json::<Value>()
            .await
            .ok()
    }
    .await
    .unwrap_or(Value::Null);
    let status = order.get("status").and_then(Value::as_str).unwrap_or("?");
    println!("  order {order_id}: {status}");
    if let Some(reason) = order.get("reason").and_then(Value::as_str) {
        println!("  reason: {reason}");
    }
    let compensations: Vec<&str> = order
        .get("compensations")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !compensations.is_empty() {
        println!("  compensations, in order: {}", compensations.join(" → "));
    }
}

fn describe_traces(traces: &RequestTraces) {
    let ids: Vec<&str> = traces.traces.iter().map(|t| t.trace_id.as_str()).collect();
    println!(
        "  correlation {}: {} span(s) in {} trace(s) {}",
        traces.correlation_id,
        traces.span_count(),
        ids.len(),
        ids.join(", ")
    );
    for service in traces.services() {
        let n = traces.spans().filter(|s| s.service_name == service).count();
        println!("    {service:<22} {n:>3} span(s)");
    }
    if let Some(trace) = traces.traces.first() {
        let shape = trace_checks::sync_shape(trace);
        println!(
            "    synchronous depth {}, fan-out {}",
            shape.depth, shape.fan_out
        );
    }
}
