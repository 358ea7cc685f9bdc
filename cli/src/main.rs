//! `parley`: the only crate that knows about argv, terminals and exit codes.
//!
//! Exit codes everywhere: 0 every selected check ran and passed; 1 a check failed; 2 bad usage,
//! config or contract; 3 infrastructure unreachable (provider, NATS, receiver).

mod collect;
mod demo;
mod demo_lint;
mod diff;
mod export;
mod lint;
mod mock;
mod output;
mod progress;
mod run;
mod verify;

use std::process::ExitCode;

/// The receiver and the matching engine allocate per span and per value: mimalloc roughly
/// doubles the OTLP receiver's throughput over the system allocator (see harness/benches).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "parley",
    version,
    about = "Checks how services talk to each other: contracts, traces and communication lint",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the main job on the sample services: private NATS, OTLP receiver, the six services,
    /// a happy and a compensated order, and what their traces show.
    Demo(demo::DemoArgs),
    /// Run one sample service (gateway, order, payment, inventory, shipping, notification).
    Sample(Box<parley_samples::SampleArgs>),
    /// Run the OTLP receiver alone (gRPC and HTTP): append every span to a file as OTLP JSON
    /// lines and/or forward it to a real collector, until Ctrl-C or SIGTERM.
    Collect(Box<collect::CollectArgs>),
    /// Verify a provider against its consumers' contracts (HTTP and events).
    Verify(Box<verify::VerifyArgs>),
    /// What changed between two versions of contracts, breaking or safe for each consumer.
    Diff(diff::DiffArgs),
    /// Write contracts as Pact files (`DIR/<consumer>-<provider>.json`, V3 or V4), for a Pact
    /// Broker or another Pact verifier; what Pact cannot hold is reported as a warning.
    Export(export::ExportArgs),
    /// Serve a mock provider from contracts for consumer tests (HTTP, and events to NATS);
    /// on Ctrl-C or SIGTERM, report what was never exercised or matched nothing.
    Mock(Box<mock::MockArgs>),
    /// Lint architecture descriptions for communication anti-patterns (missing DLQs, sync chains,
    /// calls without timeouts, …): human, JSON, SARIF or JUnit.
    Lint(Box<lint::LintArgs>),
    /// Drive a scenario (HTTP requests, NATS publishes, waits) and check its traces.
    Run(Box<run::RunArgs>),
}

/// The documented exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Passed = 0,
    CheckFailed = 1,
    BadInput = 2,
    Infrastructure = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Infrastructure.into();
        }
    };
    let exit = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Collect(args) => collect::run(*args).await,
            Command::Verify(args) => verify::run(*args).await,
            Command::Diff(args) => diff::run(args),
            Command::Export(args) => export::run(args),
            Command::Mock(args) => mock::run(*args).await,
            Command::Lint(args) => lint::run(*args).await,
            Command::Run(args) => run::run(*args).await,
            Command::Sample(args) => match parley_samples::run(*args).await {
                Ok(()) => Exit::Passed,
                Err(e) => {
                    eprintln!("error: {e}");
                    match e {
                        parley_samples::config::SampleError::Messaging(_) => Exit::Infrastructure,
                        _ => Exit::BadInput,
                    }
                }
            },
        }
    });
    exit.into()
}
