//! Chains and cycles of synchronous calls: the graph of request paths (one node per call,
//! handler and service), chain depth and worst-case latency (PL003), cycles (PL004).

use super::{Route, normalised, preview};
use crate::lint::Severity;
use crate::lint::graph::{Fact, SyncCall};
use crate::lint::rules::analysis::{Components, Digraph, FxMap, Longest, components, longest};
use crate::lint::rules::{Context, Hit, Rule, RuleInfo};

/// What a node of [`RequestPaths`] beyond the calls stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// The calls a service makes while handling one route (a handler id of the context).
    Handler(usize, usize),
    /// The calls a service makes on any request (no handler named).
    Any(usize),
    /// Everything a service does: where a call of unknown route leads.
    All(usize),
}

/// The graph of request paths: one node per call, per (service, handler) and per service for
/// the calls it makes on any request. A call leads to the handler of its callee that serves
/// its route, and to the callee's calls made on any request; a call whose route is unknown
/// leads to everything its callee does. Linear in calls + handlers.
struct RequestPaths<'g> {
    calls: &'g [SyncCall],
    graph: Digraph,
    /// What each node beyond the calls is.
    entries: Vec<Entry>,
}

impl<'g> RequestPaths<'g> {
    fn build(cx: &Context<'g>) -> Self {
        let calls = &cx.graph.calls[..];
        let n = calls.len();
        let mut entries: Vec<Entry> = Vec::new();
        let mut handler_node: FxMap<(usize, usize), usize> = FxMap::default();
        // (service, normalised path) → the handlers of that path (route id, node).
        let mut by_path: FxMap<(usize, &str), Vec<(usize, usize)>> = FxMap::default();
        let mut handler_nodes: FxMap<usize, Vec<usize>> = FxMap::default();
        let mut any: FxMap<usize, usize> = FxMap::default();
        let mut edges = Vec::with_capacity(2 * n);
        for (i, &(from, _)) in cx.ends.iter().enumerate() {
            let node = match cx.handler[i] {
                Some(h) => *handler_node.entry((from, h)).or_insert_with(|| {
                    let id = n + entries.len();
                    entries.push(Entry::Handler(from, h));
                    handler_nodes.entry(from).or_default().push(id);
                    if let Some(p) = &cx.handlers[h].path {
                        by_path.entry((from, p.as_str())).or_default().push((h, id));
                    }
                    id
                }),
                None => *any.entry(from).or_insert_with(|| {
                    let id = n + entries.len();
                    entries.push(Entry::Any(from));
                    id
                }),
            };
            edges.push((node, i));
        }
        let mut all: FxMap<usize, usize> = FxMap::default();
        for (i, c) in calls.iter().enumerate() {
            let to = cx.ends[i].1;
            match c.path.as_deref().map(normalised) {
                Some(p) => {
                    let method = c.method.as_deref();
                    for &(h, id) in by_path.get(&(to, &*p)).into_iter().flatten() {
                        let m = cx.handlers[h].method.as_deref();
                        if m.is_none()
                            || method.is_none_or(|x| m.is_some_and(|m| m.eq_ignore_ascii_case(x)))
                        {
                            edges.push((i, id));
                        }
                    }
                    if let Some(&a) = any.get(&to) {
                        edges.push((i, a));
                    }
                }
                None => {
                    let id = *all.entry(to).or_insert_with(|| {
                        entries.push(Entry::All(to));
                        n + entries.len() - 1
                    });
                    edges.push((i, id));
                }
            }
        }
        for (&to, &id) in &all {
            if let Some(&a) = any.get(&to) {
                edges.push((id, a));
            }
            for &h in handler_nodes.get(&to).into_iter().flatten() {
                edges.push((id, h));
            }
        }
        let graph = Digraph::from_edges(n + entries.len(), &edges);
        RequestPaths {
            calls,
            graph,
            entries,
        }
    }

    fn call(&self, node: usize) -> Option<&'g SyncCall> {
        self.calls.get(node)
    }

    /// The call that stands for each component: its call, or for a cycle's component its first
    /// call (a cycle counts as one hop); `None` for a handler node.
    fn representatives(&self, cs: &Components) -> Vec<Option<usize>> {
        cs.members
            .iter()
            .map(|m| m.iter().copied().find(|&v| v < self.calls.len()))
            .collect()
    }

    /// For every component, how many calls the heaviest path from it has and its last ones,
    /// in one pass (successors first), so that showing a chain never walks all of it.
    fn ends(&self, l: &Longest, cs: &Components, rep: &[Option<usize>]) -> Ends {
        let k = cs.count();
        let mut count = vec![0usize; k];
        let mut last: Vec<Vec<usize>> = vec![Vec::new(); k];
        for c in 0..k {
            let (below, mut tail) = match l.next[c] {
                Some(w) => (count[cs.of[w]], last[cs.of[w]].clone()),
                None => (0, Vec::new()),
            };
            if let Some(r) = rep[c] {
                if tail.len() < SHOWN_TAIL {
                    tail.insert(0, r);
                }
                count[c] = below + 1;
            } else {
                count[c] = below;
            }
            last[c] = tail;
        }
        Ends { count, last }
    }

    /// The calls of a heaviest path from `start`: the first [`SHOWN_HOPS`], the last
    /// [`SHOWN_TAIL`], and how many in all.
    fn chain(
        &self,
        l: &Longest,
        cs: &Components,
        rep: &[Option<usize>],
        ends: &Ends,
        start: usize,
    ) -> Chain<'g> {
        let mut chain = Chain {
            len: ends.count[cs.of[start]],
            ..Chain::default()
        };
        let mut node = Some(start);
        while let Some(v) = node {
            let c = cs.of[v];
            if chain.head.len() == SHOWN_HOPS {
                // The rest: its last calls, the ones in between counted.
                let rest = ends.count[c];
                let last = &ends.last[c];
                chain.tail = last[last.len().saturating_sub(rest)..]
                    .iter()
                    .map(|&i| &self.calls[i])
                    .collect();
                break;
            }
            if let Some(r) = rep[c] {
                chain.head.push(&self.calls[r]);
            }
            node = l.next[c];
        }
        chain
    }
}

/// See [`RequestPaths::ends`].
struct Ends {
    count: Vec<usize>,
    last: Vec<Vec<usize>>,
}

/// How many hops of a chain a finding shows first; the last [`SHOWN_TAIL`] are shown too, the
/// rest counted. A chain hundreds of calls long is one finding, not a report of its own.
pub(super) const SHOWN_HOPS: usize = 8;
const SHOWN_TAIL: usize = 2;

/// A chain of calls as a finding shows it.
#[derive(Default)]
struct Chain<'g> {
    head: Vec<&'g SyncCall>,
    tail: Vec<&'g SyncCall>,
    len: usize,
}

impl<'g> Chain<'g> {
    /// `a → b → c`, or `a → b → … (n more) → y → z`.
    fn text(&self) -> String {
        let mut names: Vec<&str> = self
            .head
            .first()
            .map(|c| vec![c.from.as_str()])
            .unwrap_or_default();
        names.extend(self.head.iter().map(|c| c.to.as_str()));
        if !self.tail.is_empty() {
            let skipped = self.len - self.head.len() - self.tail.len();
            if skipped > 0 {
                return format!(
                    "{} → … ({skipped} more) → {}",
                    names.join(" → "),
                    self.tail
                        .iter()
                        .map(|c| c.to.as_str())
                        .collect::<Vec<_>>()
                        .join(" → ")
                );
            }
            names.extend(self.tail.iter().map(|c| c.to.as_str()));
        }
        names.join(" → ")
    }

    /// The shown calls with their hop numbers.
    fn shown(&self) -> impl Iterator<Item = (usize, &'g SyncCall)> + '_ {
        let tail_start = self.len - self.tail.len();
        self.head
            .iter()
            .enumerate()
            .map(|(i, c)| (i + 1, *c))
            .chain(
                self.tail
                    .iter()
                    .enumerate()
                    .map(move |(i, c)| (tail_start + i + 1, *c)),
            )
    }

    fn same(&self, other: &Chain<'_>) -> bool {
        let eq = |a: &[&SyncCall], b: &[&SyncCall]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| std::ptr::eq(*x, *y))
        };
        self.len == other.len
            && eq(&self.head, &other.head)
            && self
                .tail
                .iter()
                .zip(&other.tail)
                .all(|(x, y)| std::ptr::eq(*x, *y))
    }
}

/// Worst-case milliseconds a caller waits on one call: its timeout times its attempts.
fn worst_ms(c: &SyncCall) -> u64 {
    match c.timeout_ms {
        Fact::Known(Some(t)) => t.saturating_mul(u64::from(c.attempts())),
        _ => 0,
    }
}

/// PL003: a synchronous chain deeper than the threshold, or over its latency budget.
pub struct ChainDepth;

static CHAIN_DEPTH: RuleInfo = RuleInfo {
    id: "PL003",
    name: "sync-chain",
    severity: Severity::Error,
    summary: "Synchronous call chain too deep, or over its latency budget",
    why: "Each synchronous hop adds its latency and multiplies the chance of failure: the request is only as available as the product of every service on the chain, and it waits for the sum of their timeouts.",
    fix: "Make the later steps asynchronous (publish an event and answer 202), call the services in parallel from one orchestrator, or cache what the chain fetches; keep the timeouts of a chain within the caller's budget.",
};

impl Rule for ChainDepth {
    fn info(&self) -> &'static RuleInfo {
        &CHAIN_DEPTH
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        if cx.graph.calls.is_empty() {
            return Vec::new();
        }
        let t = cx.thresholds;
        let rp = RequestPaths::build(cx);
        let cs = components(&rp.graph);
        let n = rp.calls.len();
        let hops = longest(&rp.graph, &cs, |v| u64::from(v < n));
        let ms = longest(&rp.graph, &cs, |v| rp.call(v).map_or(0, worst_ms));
        let in_degree = cs.in_degrees(&rp.graph);
        let rep = rp.representatives(&cs);
        let hops_ends = rp.ends(&hops, &cs, &rep);
        let ms_ends = rp.ends(&ms, &cs, &rep);
        let mut hits = Vec::new();
        for (k, entry) in rp.entries.iter().enumerate() {
            let node = n + k;
            let c = cs.of[node];
            if in_degree[c] > 0 || cs.members[c].len() > 1 {
                continue;
            }
            let depth = hops.value[c];
            let worst = ms.value[c];
            let deep = depth > t.max_chain_depth as u64;
            let slow = worst > t.latency_budget_ms;
            if !deep && !slow {
                continue;
            }
            // The deepest chain when too deep; the slowest when over budget (the same one, more
            // often than not, in which case it is shown once).
            let deepest = rp.chain(&hops, &cs, &rep, &hops_ends, node);
            let slowest = if slow {
                rp.chain(&ms, &cs, &rep, &ms_ends, node)
            } else {
                Chain::default()
            };
            let (what, element) = match *entry {
                Entry::Handler(s, h) => {
                    let h = cx.graph.calls[rp.graph.successors(node)[0]]
                        .handler
                        .as_deref()
                        .map_or_else(|| route_text(&cx.handlers[h]), str::to_string);
                    (
                        format!("the request path {h} of {}", cx.names[s]),
                        format!("{} ({h})", cx.names[s]),
                    )
                }
                Entry::Any(s) | Entry::All(s) => (
                    format!("a request to {}", cx.names[s]),
                    cx.names[s].to_string(),
                ),
            };
            let shown = if deep { &deepest } else { &slowest };
            let mut message = if deep {
                format!(
                    "{what} waits on a synchronous chain of {depth} calls (more than {}): {}",
                    t.max_chain_depth,
                    deepest.text()
                )
            } else {
                format!(
                    "{what} can wait {worst} ms on its synchronous calls at worst (timeouts × attempts), over the budget of {} ms: {}",
                    t.latency_budget_ms,
                    slowest.text()
                )
            };
            if deep && slow {
                message.push_str(&format!(
                    "; at worst it waits {worst} ms (timeouts × attempts), over the budget of {} ms",
                    t.latency_budget_ms
                ));
                if !slowest.same(&deepest) {
                    message.push_str(&format!(" on {}", slowest.text()));
                }
            } else if deep {
                message.push_str(&format!(
                    "; its timeouts × attempts add up to {worst} ms at worst (budget {} ms)",
                    t.latency_budget_ms
                ));
            }
            let Some(first) = shown.head.first() else {
                continue;
            };
            let mut hit = Hit::new(element, message, &first.origin, "");
            for (i, c) in shown.shown().skip(1) {
                hit.related(&c.origin, "", format!("hop {i}: {}", c.label()));
            }
            hits.push(hit);
        }
        hits
    }
}

/// A route as people write it: `POST /orders`.
fn route_text(r: &Route) -> String {
    match (&r.method, &r.path) {
        (Some(m), Some(p)) => format!("{m} {p}"),
        (Some(m), None) => m.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => String::new(),
    }
}

/// PL004: services calling each other synchronously in a cycle.
pub struct Cycle;

static CYCLE: RuleInfo = RuleInfo {
    id: "PL004",
    name: "sync-cycle",
    severity: Severity::Error,
    summary: "Cycle of synchronous calls between services",
    why: "Services that call each other synchronously can wait on themselves (a request loop or a deadlock of exhausted thread pools), cannot be deployed or degraded independently, and fail together.",
    fix: "Break the cycle: make one direction asynchronous (an event), move the shared logic into one service, or have the callee receive what it needs in the request.",
};

impl Rule for Cycle {
    fn info(&self) -> &'static RuleInfo {
        &CYCLE
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        let g = cx.graph;
        let names = &cx.names;
        // The first call for each caller → callee pair.
        let mut first_call: FxMap<(usize, usize), usize> = FxMap::default();
        let mut edges = Vec::new();
        for (i, &e) in cx.ends.iter().enumerate() {
            if first_call.insert(e, i).is_none() {
                edges.push(e);
            }
        }
        let graph = Digraph::from_edges(names.len(), &edges);
        let cs = components(&graph);
        let mut hits = Vec::new();
        for c in 0..cs.count() {
            if !cs.is_cyclic(&graph, c) {
                continue;
            }
            let members = &cs.members[c];
            let start = *members.iter().min().unwrap_or(&members[0]);
            let cycle = shortest_cycle(&graph, &cs.of, c, start);
            let calls: Vec<&SyncCall> = cycle
                .windows(2)
                .map(|w| &g.calls[first_call[&(w[0], w[1])]])
                .collect();
            let path: Vec<&str> = cycle.iter().map(|&v| names[v]).collect();
            let mut ids = members.clone();
            ids.sort_unstable();
            let in_cycle: Vec<&str> = ids.iter().map(|&v| names[v]).collect();
            let mut message = format!(
                "synchronous calls go round in a cycle: {}",
                path.join(" → ")
            );
            if in_cycle.len() + 1 > path.len() {
                message.push_str(&format!(
                    " ({} services call each other in cycles: {})",
                    in_cycle.len(),
                    preview(&in_cycle, 10)
                ));
            }
            let Some(first) = calls.first() else { continue };
            let mut hit = Hit::new(path.join(" → "), message, &first.origin, "");
            for c in calls.iter().skip(1).take(SHOWN_HOPS) {
                hit.related(&c.origin, "", c.label());
            }
            hits.push(hit);
        }
        hits
    }
}

/// A shortest cycle through `start` inside its component, by breadth-first search.
pub(super) fn shortest_cycle(g: &Digraph, comp: &[usize], c: usize, start: usize) -> Vec<usize> {
    let mut parent: FxMap<usize, usize> = FxMap::default();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in g.successors(v) {
            if comp[w] != c {
                continue;
            }
            if w == start {
                // Back from v to start through the parents, then reversed: start → … → v → start.
                let mut path = vec![start, v];
                let mut u = v;
                while u != start {
                    u = parent[&u];
                    path.push(u);
                }
                path.reverse();
                if v == start {
                    path.truncate(2);
                }
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(w) {
                e.insert(v);
                queue.push_back(w);
            }
        }
    }
    vec![start, start]
}
