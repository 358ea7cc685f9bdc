//! Linting with a live system: the descriptions, plus the broker's view of the consumers
//! ([`super::broker`]) and the active probes ([`super::probe`]), in one [`LintReport`].

use std::path::PathBuf;

use super::probe::{self, ProbeOptions, ProbeOutcome, ProbeTargets};
use super::{
    Config, ErrorKind, ExternalFinding, GraphSize, LintError, LintReport, Registry, ServiceGraph,
    broker, inputs, lint_with_findings,
};

/// What to ask the live system.
#[derive(Clone, Debug, Default)]
pub struct Live {
    /// Read the durable consumers of this NATS server (the broker's view).
    pub nats_url: Option<String>,
    /// Run the probes the descriptions declare (needs `nats_url`, and a URL per service whose
    /// state a probe reads).
    pub probe: bool,
    pub services: std::collections::BTreeMap<String, String>,
    pub probe_options: ProbeOptions,
}

/// A lint run with a live system: the report, and every probe's outcome (passed and
/// inconclusive ones included, for the binary to show).
#[derive(Debug)]
pub struct LiveReport {
    pub report: LintReport,
    pub probes: Vec<ProbeOutcome>,
    /// The consumers seen on the server (0 without `nats_url`).
    pub broker_consumers: usize,
}

/// Loads the inputs (none is fine with a NATS URL: the broker's view alone), reads the
/// broker's consumers, runs the probes, and lints it all under `config`. Unreachable NATS or
/// services are [`ErrorKind::Unreachable`].
pub async fn lint_live(
    paths: &[PathBuf],
    config: &Config,
    live: &Live,
) -> Result<LiveReport, LintError> {
    let loaded = if paths.is_empty() {
        None
    } else {
        Some(inputs::load(paths, &Registry::standard())?)
    };
    if loaded.is_none() && live.nats_url.is_none() {
        return Err(LintError::new(
            ErrorKind::Config,
            "nothing to lint: give architecture descriptions, or a NATS server (--nats-url)",
        ));
    }
    let started = std::time::Instant::now();
    let mut extra: Vec<ExternalFinding> = Vec::new();
    let mut seen = None;
    if let Some(url) = &live.nats_url {
        let (graph, found) = broker::lint_jetstream(url, loaded.as_ref().map(|l| &l.graph)).await?;
        extra.extend(found);
        seen = Some(graph);
    }
    let mut probes = Vec::new();
    if live.probe {
        let (Some(url), Some(loaded)) = (&live.nats_url, &loaded) else {
            return Err(LintError::new(
                ErrorKind::Config,
                "probes need a NATS server (--nats-url) and the architecture description that declares them",
            ));
        };
        let targets = ProbeTargets {
            nats_url: url.clone(),
            services: live.services.clone(),
        };
        probes = probe::run(&loaded.graph, &targets, &live.probe_options).await?;
        extra.extend(probe::findings(&probes));
    }
    let broker_consumers = seen.as_ref().map_or(0, |g| g.consumers.len());
    let mut report = match loaded {
        Some(l) => lint_with_findings(&l.graph, config, l.inputs, extra),
        None => {
            let mut r = lint_with_findings(&ServiceGraph::default(), config, Vec::new(), extra);
            r.graph = seen.as_ref().map(GraphSize::of).unwrap_or_default();
            r
        }
    };
    report.duration = started.elapsed();
    Ok(LiveReport {
        report,
        probes,
        broker_consumers,
    })
}
