//! `parley mock`: a mock provider served from contracts, for consumer tests, until SIGINT or
//! SIGTERM; then the verification report (what was never exercised, what matched nothing)
//! and its exit code.

use std::net::SocketAddr;
use std::path::PathBuf;

use parley_contracts::load::load_paths;
use parley_harness::mock::{Kind, MockError, MockEvent, MockOptions, MockReport, MockServer};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;

use crate::Exit;
use crate::collect::parse_listen_addr;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Every request is matched against the contracts' HTTP interactions (provider states play no
part) and answered with the example response of the one it matches, Pact generators applied.
When several match, a request header `x-parley-state: NAME` picks the one with that provider
state; otherwise the most specific answers. The response header `x-parley-interaction` names
it. A request that matches nothing gets 500 with the closest interaction's mismatches.

Control endpoints:
  GET  /__parley/verify        the report as JSON: 200 when ok, 409 otherwise
  POST /__parley/reset         forget what was exercised and what matched nothing
  POST /__parley/publish       publish events to NATS (needs --nats-url); optional JSON body
                               {\"description\", \"subject\", \"consumer\", \"correlationId\"}
  GET  /__parley/interactions  what is served, and how often each was exercised

Stop it with Ctrl-C or SIGTERM: it prints the report and exits
  0  every interaction was exercised (HTTP interactions answered; events published, when it
     has --nats-url) and no request went unmatched
  1  an interaction was never exercised, or a request matched nothing
  2  bad arguments or contracts, or nothing selected
  3  the listen address is in use, or NATS is unreachable")]
pub struct MockArgs {
    /// Serve only the contracts of this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Serve only the contracts of this consumer.
    #[arg(long)]
    pub consumer: Option<String>,
    /// Listen address (HOST:PORT, or a port on 127.0.0.1; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_listen_addr)]
    pub listen: SocketAddr,
    /// NATS to publish the contracts' events to (POST /__parley/publish).
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
    /// Contract files or folders (parley YAML/JSON or Pact files).
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
}

fn step(message: &str) {
    eprintln!("• {message}");
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub async fn run(args: MockArgs) -> Exit {
    let contracts = match load_paths(&args.paths) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    // Handlers first: a signal that arrives once we said we listen must be handled.
    let (mut terminate, mut interrupt) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: cannot handle SIGTERM/SIGINT: {e}");
            return Exit::Infrastructure;
        }
    };
    let options = MockOptions {
        listen: args.listen,
        provider: args.provider.clone(),
        consumer: args.consumer.clone(),
        nats_url: args.nats_url.clone(),
    };
    let mock = match MockServer::start(&contracts, options).await {
        Ok(mock) => mock,
        Err(e) => return start_failed(&e, &args.paths),
    };
    let interactions = mock.interactions();
    let http = interactions.iter().filter(|i| i.kind == Kind::Http).count();
    let events = interactions.len() - http;
    let mut providers: Vec<&str> = interactions.iter().map(|i| i.provider.as_str()).collect();
    providers.sort_unstable();
    providers.dedup();
    let mut consumers: Vec<&str> = interactions.iter().map(|i| i.consumer.as_str()).collect();
    consumers.sort_unstable();
    consumers.dedup();
    step(&format!(
        "serving {} and {} of {} (consumers: {})",
        plural(http, "HTTP interaction"),
        plural(events, "event"),
        providers.join(", "),
        consumers.join(", ")
    ));
    if events > 0 {
        match &args.nats_url {
            Some(url) => step(&format!(
                "events are published to {url} on POST /__parley/publish"
            )),
            None => step("events are not published (no --nats-url) and are not required"),
        }
    }
    let mut log = mock.events();
    step(&format!("listening on {}", mock.url()));
    step("report: GET /__parley/verify · reset: POST /__parley/reset");
    step("stop with Ctrl-C or SIGTERM");

    let signal_name = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
            event = log.recv() => match event {
                Ok(event) => print_event(&event),
                Err(RecvError::Lagged(n)) => eprintln!("  … {n} more not shown"),
                Err(RecvError::Closed) => {}
            },
        }
    };
    step(&format!("{signal_name}: stopping"));
    let report = mock.shutdown().await;
    print_report(&report);
    if report.ok {
        Exit::Passed
    } else {
        Exit::CheckFailed
    }
}

fn print_event(event: &MockEvent) {
    match event {
        MockEvent::Served {
            method,
            path,
            status,
            description,
        } => eprintln!("  → {method} {path} {status} \"{description}\""),
        MockEvent::Unmatched {
            method,
            path,
            closest,
        } => match closest {
            Some((description, n)) => eprintln!(
                "  ✗ {method} {path} matched nothing (closest \"{description}\": {})",
                if *n == 1 {
                    "1 mismatch".to_string()
                } else {
                    format!("{n} mismatches")
                }
            ),
            None => eprintln!("  ✗ {method} {path} matched nothing"),
        },
        MockEvent::Published {
            subject,
            description,
        } => eprintln!("  ⇢ published {subject} \"{description}\""),
        MockEvent::Reset => eprintln!("  ↺ reset"),
    }
}

/// The report on stdout: what was never exercised, what matched nothing, the verdict.
fn print_report(report: &MockReport) {
    let exercised = report.interactions - report.unexercised_interactions.len();
    let unmatched = report.unmatched.len() + report.unmatched_dropped as usize;
    println!(
        "exercised {exercised} of {}; {} answered, {} matched nothing",
        plural(report.interactions, "interaction"),
        plural(report.matched_requests as usize, "request"),
        unmatched
    );
    if !report.unexercised_interactions.is_empty() {
        println!(
            "\nnever exercised ({}):",
            report.unexercised_interactions.len()
        );
        for i in &report.unexercised_interactions {
            let states = if i.states.is_empty() {
                String::new()
            } else {
                format!(", given {}", i.states.join(" and "))
            };
            println!(
                "  ✗ {} \"{}\" ({} → {}{states})",
                i.summary, i.description, i.consumer, i.provider
            );
            if let Some(location) = &i.location {
                println!("      at {location}");
            }
        }
    }
    if unmatched > 0 {
        println!("\nmatched nothing ({unmatched}):");
        for r in &report.unmatched {
            let query = r
                .query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            println!("  ✗ {} {}{query}", r.method, r.path);
            if let Some(c) = &r.closest {
                println!(
                    "      closest: \"{}\" ({} → {})",
                    c.description, c.consumer, c.provider
                );
                for line in c.report.lines() {
                    if line.is_empty() {
                        println!();
                    } else {
                        println!("      {line}");
                    }
                }
            }
        }
        if report.unmatched_dropped > 0 {
            println!("  … and {} more not kept", report.unmatched_dropped);
        }
    }
    println!();
    if report.ok {
        println!("passed: every interaction exercised, every request matched");
    } else {
        let mut why = Vec::new();
        if !report.unexercised_interactions.is_empty() {
            why.push(format!(
                "{} never exercised",
                plural(report.unexercised_interactions.len(), "interaction")
            ));
        }
        if unmatched > 0 {
            why.push(format!("{} matched nothing", plural(unmatched, "request")));
        }
        println!("FAILED: {}", why.join(", "));
    }
}

/// Nothing selected: bad input (2) naming the paths; a port in use or NATS unreachable:
/// infrastructure (3); an address that cannot be bound at all: bad input (2).
fn start_failed(error: &MockError, paths: &[PathBuf]) -> Exit {
    match error {
        MockError::NothingSelected(why) => {
            let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!("error: {}: {why}", paths.join(", "));
            Exit::BadInput
        }
        MockError::Bind { addr, source } if source.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "error: {error} (another server on {addr}? pick another port with --listen, 0 \
                 for any free one)"
            );
            Exit::Infrastructure
        }
        MockError::Bind { .. } => {
            eprintln!("error: {error}");
            Exit::BadInput
        }
        MockError::Nats { .. } => {
            eprintln!("error: {error}");
            Exit::Infrastructure
        }
    }
}
