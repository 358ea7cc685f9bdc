//! Fan-out: one request handler calling many services synchronously (PL008).

use std::collections::BTreeMap;

use super::chains::SHOWN_HOPS;
use super::{ours, preview};
use crate::lint::Severity;
use crate::lint::graph::SyncCall;
use crate::lint::rules::{Context, Hit, Rule, RuleInfo};

/// PL008: one request handler calling many services synchronously.
pub struct FanOut;

static FAN_OUT: RuleInfo = RuleInfo {
    id: "PL008",
    name: "sync-fan-out",
    severity: Severity::Warning,
    summary: "Request handler calling many services synchronously",
    why: "A request that fans out synchronously is as slow as its slowest callee and fails when any of them does, unless it was built for partial answers.",
    fix: "Fetch in parallel with a deadline and degrade to partial answers, keep a local read model fed by events, or split the request.",
};

impl Rule for FanOut {
    fn info(&self) -> &'static RuleInfo {
        &FAN_OUT
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        let mut groups: BTreeMap<(usize, Option<usize>), Vec<&SyncCall>> = BTreeMap::new();
        for (i, c) in cx.graph.calls.iter().enumerate() {
            if ours(cx, i) {
                groups
                    .entry((cx.ends[i].0, cx.handler[i]))
                    .or_default()
                    .push(c);
            }
        }
        let max = cx.thresholds.max_fan_out;
        let mut hits = Vec::new();
        for ((from, _), calls) in groups {
            if calls.len() <= max {
                continue;
            }
            let from = cx.names[from];
            let mut seen = std::collections::HashSet::new();
            let first_per_target: Vec<&SyncCall> = calls
                .iter()
                .copied()
                .filter(|c| seen.insert(c.to.as_str()))
                .collect();
            if first_per_target.len() <= max {
                continue;
            }
            let handler = calls[0].handler.as_deref();
            let (what, element) = match handler {
                Some(h) => (
                    format!("the request handler {h} of {from}"),
                    format!("{from} ({h})"),
                ),
                None => (
                    format!("{from} (calls not tied to a handler)"),
                    from.to_string(),
                ),
            };
            let targets: Vec<&str> = first_per_target.iter().map(|c| c.to.as_str()).collect();
            let mut hit = Hit::new(
                element,
                format!(
                    "{what} calls {} services synchronously (more than {max}): {}",
                    targets.len(),
                    preview(&targets, 10)
                ),
                &first_per_target[0].origin,
                "",
            );
            for c in first_per_target.iter().skip(1).take(SHOWN_HOPS) {
                hit.related(&c.origin, "", c.label());
            }
            hits.push(hit);
        }
        hits
    }
}
