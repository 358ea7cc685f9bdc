//! `parley verify`: contracts against the real provider.

use std::path::PathBuf;
use std::time::Duration;

use parley_contracts::load::load_paths;
use parley_harness::verify::{Filters, VerifyError, VerifyOptions, verify};

use crate::Exit;
use crate::output::{self, Format};
use crate::progress::Bar;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The provider to verify: only contracts naming it are used.
    #[arg(long)]
    pub provider: String,
    /// The provider's base URL, for HTTP interactions and HTTP triggers of events.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Pact's provider-state endpoint (POST {state, params, action}).
    #[arg(long)]
    pub state_url: Option<String>,
    /// NATS, to capture the events the provider publishes.
    #[arg(long)]
    pub nats_url: Option<String>,
    /// Pact's message endpoint (POST {description, providerStates} → the message).
    #[arg(long)]
    pub message_url: Option<String>,
    /// Interactions in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// How long one request may take.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to wait for an event after its trigger.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub event_timeout: Duration,
    /// Extra attempts of a failed interaction (off unless asked).
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Only this consumer's contracts.
    #[arg(long)]
    pub consumer: Option<String>,
    /// Only interactions whose description matches this regex.
    #[arg(long)]
    pub description: Option<String>,
    /// Only interactions that need this provider state.
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Also write the results as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Contract files or folders (parley YAML/JSON or Pact files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parley_harness::scenario::parse_duration(text)
}

pub async fn run(args: VerifyArgs) -> Exit {
    let contracts = match load_paths(&args.paths) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let description = match args
        .description
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: --description is not a valid regex: {e}");
            return Exit::BadInput;
        }
    };
    let mut options = VerifyOptions::new(args.provider);
    options.base_url = args.base_url;
    options.state_url = args.state_url;
    options.nats_url = args.nats_url;
    options.message_url = args.message_url;
    options.concurrency = args.concurrency.max(1);
    options.request_timeout = args.timeout;
    options.event_timeout = args.event_timeout;
    options.retries = args.retries;
    options.filters = Filters {
        consumer: args.consumer,
        description,
        state: args.state,
    };
    let bar = Bar::new("verifying");
    let result = verify(&contracts, &options, &bar).await;
    bar.finish();
    let results = match result {
        Ok(r) => r,
        Err(
            e @ (VerifyError::UnknownProvider { .. }
            | VerifyError::NothingSelected { .. }
            | VerifyError::Usage(_)),
        ) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
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

pub fn exit_of(code: u8) -> Exit {
    match code {
        0 => Exit::Passed,
        3 => Exit::Infrastructure,
        _ => Exit::CheckFailed,
    }
}
