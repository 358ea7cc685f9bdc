//! The demo's lint: the samples' architecture as declared (`sample-services/architecture.yaml`,
//! built in) and as observed while the demo ran (the traces the receiver holds, the consumers
//! the NATS server has, and the active probes the description declares, run against the
//! services).
//!
//! Each view is one [`LintReport`]; both become checks of the run (groups `lint declared …`
//! and `lint observed …`) and SARIF files next to the report.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use parley_harness::lint::probe::{self, ProbeOptions, ProbeOutcome, ProbeTargets};
use parley_harness::lint::report::{self as lint_report};
use parley_harness::lint::{
    self, Config, InputInfo, LintError, LintReport, ServiceGraph, Severity, arch_yaml, broker,
    observed,
};
use parley_harness::otlp::TraceStore;
use parley_harness::results::Check;

/// One view of the architecture, linted.
pub struct View {
    /// `declared` or `observed`.
    pub label: &'static str,
    pub report: LintReport,
}

/// The built-in `architecture.yaml`, parsed and validated.
pub fn description() -> Result<ServiceGraph, LintError> {
    let path = Path::new(parley_samples::ARCHITECTURE_PATH);
    let graph = arch_yaml::parse(path, parley_samples::ARCHITECTURE_YAML)?;
    graph.validate()?;
    Ok(graph)
}

/// The declared view: the built-in `architecture.yaml`.
pub fn declared(described: &ServiceGraph, config: &Config) -> View {
    let report = lint::lint(
        described,
        config,
        vec![InputInfo {
            path: parley_samples::ARCHITECTURE_PATH.into(),
            kind: lint::Importer::kind(&arch_yaml::ArchitectureYaml),
        }],
    );
    View {
        label: "declared",
        report,
    }
}

/// Where the observed view looks: the run's NATS server and the services' base URLs.
pub struct LiveSystem {
    pub nats_url: String,
    /// Base URL by service name (`payment-service` → `http://127.0.0.1:…`).
    pub services: BTreeMap<String, String>,
}

/// The observed view: the service graph in the traces the demo's receiver holds, judged by
/// the rules, plus what the NATS server's consumers and the probes (declared in
/// `described`) show. Returns the view and every probe's outcome.
pub async fn observed(
    store: &TraceStore,
    described: &ServiceGraph,
    live: &LiveSystem,
    config: &Config,
) -> Result<(View, Vec<ProbeOutcome>), LintError> {
    // The graph of the scenarios' traces, before the probes add their own.
    let graph = observed::graph_from_store(store);
    let (_, mut extra) = broker::lint_jetstream(&live.nats_url, Some(described)).await?;
    let targets = ProbeTargets {
        nats_url: live.nats_url.clone(),
        services: live.services.clone(),
    };
    // The samples redeliver after 100 ms and 400 ms: 3 s is well past their whole schedule.
    let options = ProbeOptions {
        timeout: Duration::from_secs(3),
        ..ProbeOptions::default()
    };
    let probes = probe::run(described, &targets, &options).await?;
    extra.extend(probe::findings(&probes));
    let report = lint::lint_with_findings(
        &graph,
        config,
        vec![
            InputInfo {
                path: "traces of this run".into(),
                kind: observed::OtlpTraces::KIND,
            },
            InputInfo {
                path: live.nats_url.clone().into(),
                kind: "JetStream consumers",
            },
        ],
        extra,
    );
    Ok((
        View {
            label: "observed",
            report,
        },
        probes,
    ))
}

/// The checks of a view: one per rule that found nothing, one per finding.
pub fn checks(view: &View, base: &Path) -> Vec<Check> {
    let mut checks = lint_report::run_results(&view.report, Severity::Error, base).checks;
    for c in &mut checks {
        c.group = match c.group.strip_prefix("lint ") {
            Some(rest) => format!("lint {} {rest}", view.label),
            None => format!("lint {} {}", view.label, c.group),
        };
    }
    checks
}

/// `lint-<label>.sarif` in the output folder.
pub fn write_sarif(dir: &Path, view: &View, base: &Path) -> Result<(), String> {
    crate::output::write_file(
        &dir.join(format!("lint-{}.sarif", view.label)),
        &lint_report::sarif(&view.report, base),
    )
}
