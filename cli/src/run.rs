//! `parley run SCENARIO.yaml`: drive a scenario against running services and check its traces,
//! or check the traces of a recorded run (`--traces FILE` from `parley collect`).

use std::net::SocketAddr;
use std::path::PathBuf;

use parley_harness::otlp::{Receiver, ReceiverConfig, read_jsonl_store};
use parley_harness::results::RunResults;
use parley_harness::scenario::{self, Context};

use crate::Exit;
use crate::collect::{OtlpForwardArgs, parse_listen_addr};
use crate::output::{self, Format};
use crate::verify::exit_of;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file (YAML or JSON).
    pub scenario: PathBuf,
    /// A variable for `${NAME}` in the scenario (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// NATS, for publish steps and message waits.
    #[arg(long)]
    pub nats_url: Option<String>,
    /// Where the OTLP/gRPC receiver listens (the services export here).
    #[arg(long = "grpc", default_value = "127.0.0.1:4317", value_parser = parse_listen_addr)]
    pub grpc: SocketAddr,
    /// Where the OTLP/HTTP receiver listens.
    #[arg(long = "http", default_value = "127.0.0.1:4318", value_parser = parse_listen_addr)]
    pub http: SocketAddr,
    /// Do not drive the steps: check the traces recorded in this OTLP JSON lines file.
    #[arg(long, requires = "correlation_id")]
    pub traces: Option<PathBuf>,
    /// The correlation ID the run carries (default: a new one); with --traces, the one to
    /// look for.
    #[arg(long)]
    pub correlation_id: Option<String>,
    #[command(flatten)]
    pub forward: OtlpForwardArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Also write the results as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

pub async fn run(args: RunArgs) -> Exit {
    let started = std::time::Instant::now();
    let scenario = match scenario::load_file(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let correlation = args.correlation_id.clone().unwrap_or_else(|| {
        format!(
            "parley-run-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        )
    });
    let mut receiver = None;
    let mut recorder = None;
    let store = match &args.traces {
        Some(file) => match read_jsonl_store(file) {
            Ok(store) => store,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::BadInput;
            }
        },
        None => {
            let sink = match args.forward.sink() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Exit::BadInput;
                }
            };
            let mut builder = Receiver::builder().config(ReceiverConfig {
                grpc_addr: args.grpc,
                http_addr: args.http,
                ..ReceiverConfig::default()
            });
            if let Some(sink) = sink {
                builder = builder.sink(sink);
            }
            match builder.start().await {
                Ok(r) => {
                    eprintln!(
                        "• OTLP receiver on grpc {} and http {}",
                        r.grpc_addr(),
                        r.http_addr()
                    );
                    let store = r.store();
                    recorder = Some(r.recorder());
                    receiver = Some(r);
                    store
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return Exit::Infrastructure;
                }
            }
        }
    };
    let mut ctx = Context::new(store, correlation.clone());
    ctx.drive = args.traces.is_none();
    ctx.recorder = recorder;
    ctx.vars.extend(args.vars.iter().cloned());
    if ctx.drive
        && let Some(url) = &args.nats_url
    {
        match async_nats::connect(url.as_str()).await {
            Ok(c) => ctx.nats = Some(c),
            Err(e) => {
                eprintln!("error: NATS at {url} is unreachable: {e}");
                if let Some(r) = receiver {
                    r.shutdown().await;
                }
                return Exit::Infrastructure;
            }
        }
    }
    eprintln!(
        "• scenario {:?}, correlation ID {correlation}",
        scenario.name
    );
    let checks = scenario::run(&scenario, &mut ctx).await;
    if let Some(r) = receiver {
        r.shutdown().await;
    }
    let results = RunResults {
        title: format!("run {}", scenario.name),
        checks,
        duration: started.elapsed(),
    };
    output::print(&results, args.format);
    if let Some(path) = &args.junit
        && let Err(e) = output::write_file(path, &parley_harness::report::junit::render(&results))
    {
        eprintln!("error: {e}");
        return Exit::BadInput;
    }
    exit_of(results.exit_code())
}
