//! The demo's lint: the samples' architecture as declared (`sample-services/architecture.yaml`,
//! built in) and as observed while the demo ran (the traces the receiver holds, the consumers
//! the NATS server has, and the active probes against the running services).
//!
//! Each view is one [`LintReport`]; both become checks of the run (groups `lint declared …`
//! and `lint observed …`) and SARIF files next to the report.

use std::path::Path;

use parley_harness::lint::report::{self as lint_report};
use parley_harness::lint::{self, Config, InputInfo, LintReport, Severity, arch_yaml, observed};
use parley_harness::otlp::TraceStore;
use parley_harness::results::Check;

/// One view of the architecture, linted.
pub struct View {
    /// `declared` or `observed`.
    pub label: &'static str,
    pub report: LintReport,
}

/// The declared view: the built-in `architecture.yaml`.
pub fn declared(config: &Config) -> Result<View, lint::LintError> {
    let path = Path::new(parley_samples::ARCHITECTURE_PATH);
    let graph = arch_yaml::parse(path, parley_samples::ARCHITECTURE_YAML)?;
    graph.validate()?;
    let report = lint::lint(
        &graph,
        config,
        vec![InputInfo {
            path: path.to_path_buf(),
            kind: "parley architecture",
        }],
    );
    Ok(View {
        label: "declared",
        report,
    })
}

/// The observed view: the service graph in the traces the demo's receiver holds.
pub fn observed(store: &TraceStore, config: &Config) -> View {
    let graph = observed::graph_from_store(store);
    let report = lint::lint(
        &graph,
        config,
        vec![InputInfo {
            path: "traces of this run".into(),
            kind: observed::OtlpTraces::KIND,
        }],
    );
    View {
        label: "observed",
        report,
    }
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
