//! The lint rules. Each has a stable ID, a name, a default severity, a one-line why and a fix
//! hint ([`RuleInfo`]), and reads the [`ServiceGraph`] through a [`Context`].
//!
//! To add a rule: write a unit struct implementing [`Rule`] in the module of its theme
//! ([`messaging`], [`sync`], [`topology`]), give it the next free ID, and add it to
//! [`REGISTRY`]. IDs are never reused or renumbered: configurations and code-scanning
//! histories refer to them.
//!
//! Rules stay silent on what the graph does not know ([`super::graph::Fact::Unknown`]).

pub mod analysis;
pub mod messaging;
pub mod sync;
pub mod topology;

use self::analysis::FxMap;
use super::config::Thresholds;
use super::graph::{Location, Origin, ServiceGraph, ServiceKind};
use super::{Related, Severity};

/// What a rule is, for reports, SARIF's `tool.driver.rules` and the configuration.
#[derive(Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable ID: `PL001`, …
    pub id: &'static str,
    /// Stable kebab-case name, also accepted in the configuration.
    pub name: &'static str,
    pub severity: Severity,
    /// What it finds, in a few words (SARIF `shortDescription`).
    pub summary: &'static str,
    /// Why it matters, in one line (SARIF `fullDescription`).
    pub why: &'static str,
    /// How to fix it (SARIF `help`).
    pub fix: &'static str,
}

/// One thing a rule found; the engine adds the rule's ID, severity, why and fix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hit {
    pub element: String,
    pub message: String,
    pub location: Option<Location>,
    pub related: Vec<Related>,
    pub traces: Vec<String>,
}

impl Hit {
    /// A hit about an element, at the location of one of its fields (or of the element itself
    /// for a field it does not have, e.g. `""`).
    pub fn new(
        element: impl Into<String>,
        message: impl Into<String>,
        origin: &Origin,
        field: &str,
    ) -> Self {
        Hit {
            element: element.into(),
            message: message.into(),
            location: origin.field(field).cloned(),
            related: Vec::new(),
            traces: origin.traces.clone(),
        }
    }

    /// Adds another place of evidence (and its traces).
    pub fn related(&mut self, origin: &Origin, field: &str, message: impl Into<String>) {
        // Cheap fields first: comparing paths component by component is not.
        let same = |a: &Location, b: &Location| {
            a.line == b.line && a.column == b.column && a.path == b.path && a.file == b.file
        };
        if let Some(l) = origin.field(field)
            && !self.location.as_ref().is_some_and(|h| same(h, l))
        {
            self.related.push(Related {
                location: l.clone(),
                message: message.into(),
            });
        }
        for t in &origin.traces {
            if !self.traces.contains(t) {
                self.traces.push(t.clone());
            }
        }
    }
}

/// Hits about synchronous calls, one per call site (`from → to (route)`): a call made while
/// handling several requests is one finding, the other handlers its related evidence (their
/// places and traces), not a finding each.
pub(crate) fn per_call_site<'g>(
    calls: impl IntoIterator<Item = &'g crate::lint::graph::SyncCall>,
    field: &str,
    hit: impl Fn(&crate::lint::graph::SyncCall) -> Hit,
) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    let mut sites: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for call in calls {
        let label = call.label();
        match sites.get(&label) {
            Some(&i) => {
                let also = match &call.handler {
                    Some(h) => format!("also while handling {h}"),
                    None => "also here".to_string(),
                };
                hits[i].related(&call.origin, field, also);
            }
            None => {
                sites.insert(label, hits.len());
                hits.push(hit(call));
            }
        }
    }
    hits
}

/// A lint rule.
pub trait Rule: Sync {
    fn info(&self) -> &'static RuleInfo;
    fn check(&self, cx: &Context<'_>) -> Vec<Hit>;
}

/// Every rule, in ID order: the one place a rule is added.
pub static REGISTRY: &[&dyn Rule] = &[
    &messaging::DeadLetter,
    &messaging::IdempotentConsumer,
    &sync::ChainDepth,
    &sync::Cycle,
    &sync::Timeout,
    &sync::RetryIdempotency,
    &sync::CircuitBreaker,
    &sync::FanOut,
    &messaging::NoConsumer,
    &messaging::NoProducer,
    &topology::CorrelationId,
    &topology::SharedDatastore,
    &topology::GatewayBypass,
    &messaging::AutoAck,
];

/// A rule by ID (any case) or name.
pub fn find(key: &str) -> Option<&'static dyn Rule> {
    REGISTRY
        .iter()
        .copied()
        .find(|r| r.info().id.eq_ignore_ascii_case(key) || r.info().name == key)
}

/// What rules read: the graph, the thresholds, and indexes built once for every rule.
pub struct Context<'g> {
    pub graph: &'g ServiceGraph,
    pub thresholds: &'g Thresholds,
    /// Every service name, described or only named by a call; a service's id is its index.
    pub names: Vec<&'g str>,
    /// Service ids by name.
    pub ids: FxMap<&'g str, usize>,
    /// The kind of each service id (`None` for a name no input describes).
    pub kinds: Vec<Option<ServiceKind>>,
    /// For each call of `graph.calls`: its caller's and callee's ids.
    pub ends: Vec<(usize, usize)>,
    /// For each call: the id of its normalised handler route (`handlers`), if it names one.
    pub handler: Vec<Option<usize>>,
    /// The distinct normalised handler routes.
    pub handlers: Vec<sync::Route>,
}

impl<'g> Context<'g> {
    pub fn new(graph: &'g ServiceGraph, thresholds: &'g Thresholds) -> Self {
        let mut names: Vec<&str> = graph.services.keys().map(String::as_str).collect();
        let mut kinds: Vec<Option<ServiceKind>> =
            graph.services.values().map(|s| Some(s.kind)).collect();
        let mut ids: FxMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut id = |name: &'g str| {
            *ids.entry(name).or_insert_with(|| {
                names.push(name);
                kinds.push(None);
                names.len() - 1
            })
        };
        let ends = graph
            .calls
            .iter()
            .map(|c| (id(c.from.as_str()), id(c.to.as_str())))
            .collect();
        let mut handlers = Vec::new();
        let mut handler_ids: FxMap<&str, usize> = FxMap::default();
        let mut by_route: FxMap<sync::Route, usize> = FxMap::default();
        let handler = graph
            .calls
            .iter()
            .map(|c| {
                let h = c.handler.as_deref()?;
                // Most calls of one handler repeat its text: parse each text once.
                if let Some(&i) = handler_ids.get(h) {
                    return Some(i);
                }
                let route = sync::Route::parse(h);
                let i = *by_route.entry(route.clone()).or_insert_with(|| {
                    handlers.push(route);
                    handlers.len() - 1
                });
                handler_ids.insert(h, i);
                Some(i)
            })
            .collect();
        Context {
            graph,
            thresholds,
            names,
            ids,
            kinds,
            ends,
            handler,
            handlers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let mut ids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for r in REGISTRY {
            let i = r.info();
            assert!(ids.insert(i.id), "duplicate id {}", i.id);
            assert!(names.insert(i.name), "duplicate name {}", i.name);
            assert!(i.id.len() == 5 && i.id.starts_with("PL"), "{}", i.id);
            assert!(
                i.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                i.name
            );
            assert!(!i.why.is_empty() && !i.fix.is_empty() && !i.summary.is_empty());
            assert!(
                !i.why.contains('\n') && !i.summary.contains('\n'),
                "{}: one line",
                i.id
            );
        }
        let mut sorted: Vec<_> = REGISTRY.iter().map(|r| r.info().id).collect();
        sorted.sort();
        assert_eq!(
            sorted,
            REGISTRY.iter().map(|r| r.info().id).collect::<Vec<_>>()
        );
        assert!(find("pl005").is_some() && find("call-without-timeout").is_some());
    }
}
