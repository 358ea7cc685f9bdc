//! Provider verification: replay what consumers rely on against the real running provider.
//!
//! - [`http`]: each HTTP interaction's request sent to the provider after its provider states
//!   are set up, the response matched against the contract.
//! - [`events`]: each event's provider made to emit it (an HTTP trigger, or Pact's message
//!   endpoint), the real message captured on NATS (or from the message endpoint) and matched:
//!   subject, headers, payload (schema and matchers).
//! - [`states`]: Pact's provider-state protocol.
//!
//! Interactions sharing the same provider states run concurrently (bounded); different states
//! run one set after another, so that no interaction sees another's state.

pub mod events;
pub mod http;
pub mod states;

use std::time::{Duration, Instant};

use parley_contracts::matching::Mismatch;
use parley_contracts::{Contract, Interaction};
use regex::Regex;

use crate::results::{Check, Detail, RunResults};

/// What to verify and against what.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Only contracts whose provider has this name are verified.
    pub provider: String,
    /// The provider's HTTP base URL (`http://127.0.0.1:8080`).
    pub base_url: Option<String>,
    /// Pact's provider-state change endpoint.
    pub state_url: Option<String>,
    /// NATS, to capture the events the provider publishes.
    pub nats_url: Option<String>,
    /// Pact's message endpoint (`POST {description, providerStates}` → the message).
    pub message_url: Option<String>,
    /// Interactions in flight at once.
    pub concurrency: usize,
    /// How long one HTTP request may take.
    pub request_timeout: Duration,
    /// How long to wait for an event after triggering it.
    pub event_timeout: Duration,
    /// Extra attempts of a failed interaction (0: none; only when the user asks).
    pub retries: u32,
    pub filters: Filters,
}

impl VerifyOptions {
    pub fn new(provider: impl Into<String>) -> Self {
        VerifyOptions {
            provider: provider.into(),
            base_url: None,
            state_url: None,
            nats_url: None,
            message_url: None,
            concurrency: 8,
            request_timeout: Duration::from_secs(10),
            event_timeout: Duration::from_secs(5),
            retries: 0,
            filters: Filters::default(),
        }
    }
}

/// Which interactions to run.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub consumer: Option<String>,
    pub description: Option<Regex>,
    pub state: Option<String>,
}

impl Filters {
    fn selects(&self, contract: &Contract, interaction: &Interaction) -> bool {
        self.consumer
            .as_ref()
            .is_none_or(|c| *c == contract.consumer)
            && self
                .description
                .as_ref()
                .is_none_or(|r| r.is_match(interaction.description()))
            && self.state.as_ref().is_none_or(|s| {
                interaction
                    .common()
                    .provider_states
                    .iter()
                    .any(|p| &p.name == s)
            })
    }
}

/// Why verification could not start.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "no contract names provider {provider:?}; the contracts given are for: {}",
        if .known.is_empty() { "nothing (no contracts found)".to_string() } else { .known.join(", ") }
    )]
    UnknownProvider {
        provider: String,
        known: Vec<String>,
    },
    #[error("no interaction of provider {provider:?} is selected by the filters")]
    NothingSelected { provider: String },
    #[error("{0}")]
    Usage(String),
}

/// One interaction to verify, with where it came from.
#[derive(Clone, Debug)]
pub struct Job<'a> {
    pub contract: &'a Contract,
    pub interaction: &'a Interaction,
}

impl Job<'_> {
    pub fn group(&self) -> String {
        format!("{} → {}", self.contract.consumer, self.contract.provider)
    }

    pub fn check(&self, kind: &str) -> Check {
        let mut check = Check::new(self.group(), self.interaction.description(), kind);
        check.location = self
            .interaction
            .common()
            .location
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| {
                self.contract
                    .source
                    .as_ref()
                    .map(|p| p.display().to_string())
            });
        check
    }
}

/// Progress callbacks, so that the binary can show a bar; the library never prints.
pub trait Progress: Send + Sync {
    fn start(&self, _total: usize) {}
    fn done(&self, _check: &Check) {}
}

/// No progress display.
pub struct Quiet;
impl Progress for Quiet {}

/// Verifies every selected interaction of `options.provider` in `contracts`.
pub async fn verify(
    contracts: &[Contract],
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<RunResults, VerifyError> {
    let started = Instant::now();
    let mine: Vec<&Contract> = contracts
        .iter()
        .filter(|c| c.provider == options.provider)
        .collect();
    if mine.is_empty() {
        let mut known: Vec<String> = contracts.iter().map(|c| c.provider.clone()).collect();
        known.sort();
        known.dedup();
        return Err(VerifyError::UnknownProvider {
            provider: options.provider.clone(),
            known,
        });
    }
    let jobs: Vec<Job<'_>> = mine
        .iter()
        .flat_map(|c| {
            c.interactions.iter().map(move |i| Job {
                contract: c,
                interaction: i,
            })
        })
        .filter(|j| options.filters.selects(j.contract, j.interaction))
        .collect();
    if jobs.is_empty() {
        return Err(VerifyError::NothingSelected {
            provider: options.provider.clone(),
        });
    }
    let (http_jobs, event_jobs): (Vec<_>, Vec<_>) = jobs
        .into_iter()
        .partition(|j| matches!(j.interaction, Interaction::Http(_)));
    if !http_jobs.is_empty() && options.base_url.is_none() {
        return Err(VerifyError::Usage(format!(
            "{} HTTP interaction(s) to verify: --base-url is required",
            http_jobs.len()
        )));
    }
    check_events_can_run(&event_jobs, options)?;
    check_states_can_be_set(&http_jobs, &event_jobs, options)?;
    progress.start(http_jobs.len() + event_jobs.len());
    let mut checks = http::verify_all(&http_jobs, options, progress).await;
    checks.extend(events::verify_all(&event_jobs, options, progress).await);
    Ok(RunResults {
        title: format!("verify {}", options.provider),
        checks,
        duration: started.elapsed(),
    })
}

/// Events that cannot run with these options are bad usage (exit 2), found before anything
/// runs: not checks that "could not run" (which reads as infrastructure), and never skipped
/// quietly (a run is only a pass when every selected interaction ran).
fn check_events_can_run(jobs: &[Job<'_>], options: &VerifyOptions) -> Result<(), VerifyError> {
    let named = |j: &Job<'_>| {
        let at = j.check("event").location.unwrap_or_default();
        format!("{:?} ({at})", j.interaction.description())
    };
    let sync: Vec<String> = jobs
        .iter()
        .filter(|j| matches!(j.interaction, Interaction::SyncMessage(_)))
        .map(named)
        .collect();
    if !sync.is_empty() {
        return Err(VerifyError::Usage(format!(
            "synchronous message interactions cannot be verified yet: {}; leave them out with \
             --description",
            sync.join(", ")
        )));
    }
    if jobs.is_empty() || options.message_url.is_some() {
        return Ok(());
    }
    if options.nats_url.is_none() {
        return Err(VerifyError::Usage(format!(
            "{} event(s) to verify: give --nats-url to capture them, or --message-url for \
             Pact's message endpoint",
            jobs.len()
        )));
    }
    let untriggered: Vec<String> = jobs
        .iter()
        .filter(|j| matches!(j.interaction, Interaction::Message(m) if m.trigger.is_none()))
        .map(named)
        .collect();
    if !untriggered.is_empty() {
        return Err(VerifyError::Usage(format!(
            "event(s) with no trigger, so parley cannot make the provider emit them over NATS: \
             {}; add `trigger` to the contract, use --message-url (Pact's message endpoint), \
             or leave them out with --description",
            untriggered.join(", ")
        )));
    }
    Ok(())
}

/// Interactions that need provider states with no state-change URL to set them are bad usage
/// (exit 2), said before anything runs. Events captured from Pact's message endpoint are the
/// exception: it receives their states itself (`providerStates`).
fn check_states_can_be_set(
    http_jobs: &[Job<'_>],
    event_jobs: &[Job<'_>],
    options: &VerifyOptions,
) -> Result<(), VerifyError> {
    if options.state_url.is_some() {
        return Ok(());
    }
    let events: &[Job<'_>] = if options.message_url.is_some() {
        &[]
    } else {
        event_jobs
    };
    let mut states: Vec<&str> = http_jobs
        .iter()
        .chain(events)
        .flat_map(|j| j.interaction.common().provider_states.iter())
        .map(|s| s.name.as_str())
        .collect();
    if states.is_empty() {
        return Ok(());
    }
    states.sort();
    states.dedup();
    Err(VerifyError::Usage(format!(
        "interactions need provider states ({}) but no --state-url was given to set them up; \
         give it (Pact's state-change endpoint), or leave them out with --state or --description",
        states
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// A matching engine mismatch as a report detail.
pub fn detail(m: &Mismatch) -> Detail {
    Detail {
        path: m.path.clone(),
        rule: m.rule.clone(),
        expected: m.expected.clone(),
        actual: m.actual.clone(),
        message: m.message.clone(),
    }
}
