//! `parley lint`: communication anti-patterns found in a service graph, before they hurt.
//!
//! The flow: inputs (files or folders) are recognised from their content by an
//! [`inputs::Importer`] and turned into one [`graph::ServiceGraph`]; every rule of
//! [`rules::REGISTRY`] reads the graph and reports findings; the [`config::Config`] (from
//! `.parley.yaml`) sets each rule's severity or turns it off, sets thresholds, and suppresses
//! findings with a reason; [`report`] renders the [`LintReport`] as human text, JSON, SARIF or
//! JUnit.
//!
//! - [`graph`]: the model every input produces and every rule reads, with source locations.
//! - [`arch_yaml`]: parley's own `architecture.yaml` (see `ARCHITECTURE_YAML.md` beside this
//!   file, and `architecture.schema.json` for editors).
//! - [`inputs`]: the [`inputs::Importer`] trait, the registry of importers, loading paths.
//! - [`rules`]: the rules, one place to add one.
//! - [`config`]: the configuration (`.parley.yaml`).
//! - [`report`]: the renderings.
//! - [`broker`]: the consumers a live NATS server holds (JetStream), as a graph, and the
//!   findings their configuration shows.
//! - [`probe`]: active probes against running consumers (a duplicate delivery, a poison
//!   message); their findings carry what was sent and what was seen.
//!
//! Findings from outside the graph's rules (the broker's view, the probes) go through the same
//! configuration as the rules' own: [`lint_with_findings`].
//!
//! Like the rest of the crate, this never prints and never decides an exit code:
//! [`LintReport::fails`] tells the binary whether a finding reached `--fail-on`.

pub mod arch_yaml;
pub mod asyncapi;
pub mod backstage;
pub mod broker;
pub mod config;
pub mod graph;
pub mod inputs;
pub mod live;
pub mod microtosca;
pub mod observed;
pub mod probe;
pub mod report;
pub mod rules;
pub mod yaml;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use config::{Config, Thresholds};
pub use graph::{Location, ServiceGraph};
pub use inputs::{Document, Importer, Registry};

/// How bad a finding is. Ordered: `Note < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    /// `error`, `warning`, `note`: also SARIF's `level` values.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(Severity::Error),
            "warning" | "warn" => Ok(Severity::Warning),
            "note" | "info" => Ok(Severity::Note),
            _ => Err(format!("`{s}` is not a severity (error, warning, note)")),
        }
    }
}

/// Another place a finding's evidence is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    pub location: Location,
    pub message: String,
}

/// One thing a rule found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule's stable ID (`PL005`).
    pub rule_id: &'static str,
    /// The rule's name (`call-without-timeout`).
    pub rule_name: &'static str,
    /// The severity it was reported at (the rule's default, or the configured one).
    pub severity: Severity,
    /// What it is about: `order-service → payment-service (POST /api/charge)`.
    pub element: String,
    pub message: String,
    /// Where the element is written; `None` for an element only seen in a live run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Further evidence: the other hops of a chain, the other users of a datastore.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// Trace IDs that show it (observed graphs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<String>,
    /// What a live check sent and saw (a probe's message and the state before and after, the
    /// broker's configuration of a consumer), one line each: `sent: …`, `seen: …`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The rule's one-line why.
    pub why: &'static str,
    /// How to fix it.
    pub fix: &'static str,
    /// The reason it is ignored, when a configured ignore matched it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
}

/// The input a graph was read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputInfo {
    pub path: PathBuf,
    /// What it was recognised as (`parley architecture`).
    pub kind: &'static str,
}

/// A rule as it ran: on at a severity, or off.
#[derive(Clone, Copy, Debug)]
pub struct RuleState {
    pub rule: &'static rules::RuleInfo,
    /// `None`: turned off by the configuration.
    pub severity: Option<Severity>,
}

/// Counts of findings by severity, ignored ones apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    pub suppressed: usize,
}

/// How big the linted graph was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GraphSize {
    pub services: usize,
    pub calls: usize,
    pub subjects: usize,
    pub consumers: usize,
    pub datastores: usize,
}

impl GraphSize {
    pub fn of(g: &ServiceGraph) -> Self {
        GraphSize {
            services: g.services.len(),
            calls: g.calls.len(),
            subjects: g.subjects.len(),
            consumers: g.consumers.len(),
            datastores: g.datastores.len(),
        }
    }
}

/// What one lint run found, with what it ran on and how it was configured.
#[derive(Clone, Debug)]
pub struct LintReport {
    pub inputs: Vec<InputInfo>,
    pub graph: GraphSize,
    /// Sorted by file, line, column and rule; ignored findings included, marked.
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleState>,
    pub thresholds: Thresholds,
    /// Configured ignores that matched nothing (probably stale).
    pub unused_ignores: Vec<config::Ignore>,
    pub config_file: Option<PathBuf>,
    pub duration: Duration,
}

impl LintReport {
    /// Findings not ignored.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for f in &self.findings {
            match (&f.suppressed, f.severity) {
                (Some(_), _) => c.suppressed += 1,
                (None, Severity::Error) => c.errors += 1,
                (None, Severity::Warning) => c.warnings += 1,
                (None, Severity::Note) => c.notes += 1,
            }
        }
        c
    }

    /// Whether a finding not ignored is at `fail_on` or above.
    pub fn fails(&self, fail_on: Severity) -> bool {
        self.active().any(|f| f.severity >= fail_on)
    }
}

/// A finding made outside the graph's rules (the broker's view, an active probe), under one of
/// the rules' IDs: [`lint_with_findings`] gives it the rule's configured severity (or drops it
/// when the rule is off) and applies the ignores, like any other finding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalFinding {
    /// One of [`rules::REGISTRY`]'s IDs (`PL001`); a finding under an unknown ID is dropped.
    pub rule_id: &'static str,
    /// The element, named as the rules name it (`Consumer::label`), so that ignores written for
    /// the rule's own findings match.
    pub element: String,
    pub message: String,
    /// `None` for what was seen on a live system.
    pub location: Option<Location>,
    /// What was sent and seen, one line each.
    pub evidence: Vec<String>,
}

/// Runs every rule that is on over the graph, applies the configuration's severities and
/// ignores, and sorts the findings.
pub fn lint(graph: &ServiceGraph, config: &Config, inputs: Vec<InputInfo>) -> LintReport {
    lint_with_findings(graph, config, inputs, Vec::new())
}

/// [`lint`], plus findings made elsewhere (the broker's view, probes), which get their rule's
/// configured severity, are dropped when the rule is off, and can be ignored.
pub fn lint_with_findings(
    graph: &ServiceGraph,
    config: &Config,
    inputs: Vec<InputInfo>,
    extra: Vec<ExternalFinding>,
) -> LintReport {
    let started = Instant::now();
    let cx = rules::Context::new(graph, &config.thresholds);
    let mut findings = Vec::new();
    let mut states = Vec::new();
    for rule in rules::REGISTRY {
        let info = rule.info();
        let severity = config.severity(info);
        states.push(RuleState {
            rule: info,
            severity,
        });
        let Some(severity) = severity else { continue };
        for hit in rule.check(&cx) {
            findings.push(Finding {
                rule_id: info.id,
                rule_name: info.name,
                severity,
                element: hit.element,
                message: hit.message,
                location: hit.location,
                related: hit.related,
                traces: hit.traces,
                evidence: Vec::new(),
                why: info.why,
                fix: info.fix,
                suppressed: None,
            });
        }
    }
    for x in extra {
        let Some(rule) = rules::find(x.rule_id) else {
            continue;
        };
        let info = rule.info();
        let Some(severity) = config.severity(info) else {
            continue;
        };
        findings.push(Finding {
            rule_id: info.id,
            rule_name: info.name,
            severity,
            element: x.element,
            message: x.message,
            location: x.location,
            related: Vec::new(),
            traces: Vec::new(),
            evidence: x.evidence,
            why: info.why,
            fix: info.fix,
            suppressed: None,
        });
    }
    let mut used = vec![false; config.ignores.len()];
    for f in &mut findings {
        if let Some(i) = config.ignores.iter().position(|ig| ig.matches(f)) {
            f.suppressed = Some(config.ignores[i].reason.clone());
            used[i] = true;
        }
    }
    fn place(f: &Finding) -> Option<(&std::ffi::OsStr, usize, usize)> {
        f.location
            .as_ref()
            .map(|l| (l.file.as_os_str(), l.line, l.column))
    }
    findings.sort_by(|a, b| {
        (place(a).is_none(), place(a), a.rule_id, &a.element).cmp(&(
            place(b).is_none(),
            place(b),
            b.rule_id,
            &b.element,
        ))
    });
    LintReport {
        inputs,
        graph: GraphSize::of(graph),
        findings,
        rules: states,
        thresholds: config.thresholds,
        unused_ignores: config
            .ignores
            .iter()
            .zip(used)
            .filter(|(_, u)| !u)
            .map(|(i, _)| i.clone())
            .collect(),
        config_file: config.file.clone(),
        duration: started.elapsed(),
    }
}

/// Loads the inputs with the standard importers, merges them, and lints the graph.
pub fn lint_paths(paths: &[PathBuf], config: &Config) -> Result<LintReport, LintError> {
    let loaded = inputs::load(paths, &Registry::standard())?;
    Ok(lint(&loaded.graph, config, loaded.inputs))
}

/// What went wrong with an input or the configuration (exit code 2 in the binary), or with a
/// live system ([`ErrorKind::Unreachable`], exit code 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// A file or folder could not be read.
    Io,
    /// A document is not what it claims: bad YAML, an unknown key, a wrong value.
    Invalid,
    /// A file is not any kind of input parley lint knows.
    UnknownInput,
    /// The inputs describe no service.
    Empty,
    /// The configuration is wrong (or the command line: a probe with no URL for its service).
    Config,
    /// A live system (NATS, a service) could not be reached (exit code 3 in the binary).
    Unreachable,
}

/// An input or configuration error, with where it is when that is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LintError {
    pub kind: ErrorKind,
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The path inside the document (`services.gateway.calls[0]`).
    pub path: Option<String>,
    pub message: String,
}

impl LintError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        LintError {
            kind,
            file: None,
            line: None,
            column: None,
            path: None,
            message: message.into(),
        }
    }

    /// An error about a file as a whole.
    pub fn in_file(kind: ErrorKind, file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        LintError {
            file: Some(file.into()),
            ..LintError::new(kind, message)
        }
    }

    /// An error at a location.
    pub fn at(kind: ErrorKind, location: &Location, message: impl Into<String>) -> Self {
        LintError {
            kind,
            file: Some(location.file.clone()),
            line: (location.line > 0).then_some(location.line),
            column: (location.column > 0).then_some(location.column),
            path: (!location.path.is_empty()).then(|| location.path.clone()),
            message: message.into(),
        }
    }

    /// An invalid document, at a location when there is one.
    pub fn invalid_at(location: Option<&Location>, message: impl Into<String>) -> Self {
        match location {
            Some(l) => LintError::at(ErrorKind::Invalid, l, message),
            None => LintError::new(ErrorKind::Invalid, message),
        }
    }
}

impl fmt::Display for LintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(column) = self.column {
                    write!(f, ":{column}")?;
                }
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)?;
        if let Some(path) = &self.path {
            write!(f, " (at {path})")?;
        }
        Ok(())
    }
}

impl std::error::Error for LintError {}
