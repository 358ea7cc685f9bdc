//! Graph algorithms the rules share, linear in nodes + edges: strongly connected components
//! (Tarjan's, without recursion, so that a chain of ten thousand services cannot overflow the
//! stack) and longest paths over the components' DAG.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A fast, non-cryptographic hasher (the Fx hash of rustc) for the rules' maps of names and
/// ids: inputs are the user's own files, so there is no flooding to defend against, and the
/// default SipHash costs a third of the time of a large graph's chain analysis.
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// A `HashSet` with [`FxHasher`].
pub type FxSet<T> = HashSet<T, BuildHasherDefault<FxHasher>>;

/// A directed graph in compressed adjacency form.
#[derive(Debug, Clone)]
pub struct Digraph {
    offsets: Vec<usize>,
    targets: Vec<usize>,
}

impl Digraph {
    /// Builds the graph of `n` nodes from its edges (kept in their given order per node).
    pub fn from_edges(n: usize, edges: &[(usize, usize)]) -> Self {
        let mut offsets = vec![0usize; n + 1];
        for &(from, _) in edges {
            offsets[from + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0usize; edges.len()];
        for &(from, to) in edges {
            targets[fill[from]] = to;
            fill[from] += 1;
        }
        Digraph { offsets, targets }
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn successors(&self, v: usize) -> &[usize] {
        &self.targets[self.offsets[v]..self.offsets[v + 1]]
    }
}

/// The strongly connected components of a graph.
#[derive(Debug, Clone)]
pub struct Components {
    /// The component of each node. Components are numbered in the order Tarjan's algorithm
    /// closes them: every successor of a component has a smaller number (reverse topological
    /// order), so walking them by increasing number visits successors first.
    pub of: Vec<usize>,
    /// The nodes of each component.
    pub members: Vec<Vec<usize>>,
}

impl Components {
    pub fn count(&self) -> usize {
        self.members.len()
    }

    /// Whether the component holds a cycle: several nodes, or one with an edge to itself.
    pub fn is_cyclic(&self, g: &Digraph, c: usize) -> bool {
        let m = &self.members[c];
        m.len() > 1 || g.successors(m[0]).contains(&m[0])
    }

    /// How many edges from other components enter each component.
    pub fn in_degrees(&self, g: &Digraph) -> Vec<usize> {
        let mut deg = vec![0; self.count()];
        for v in 0..g.len() {
            for &w in g.successors(v) {
                if self.of[v] != self.of[w] {
                    deg[self.of[w]] += 1;
                }
            }
        }
        deg
    }
}

/// Tarjan's strongly connected components, iteratively.
pub fn components(g: &Digraph) -> Components {
    const NONE: usize = usize::MAX;
    let n = g.len();
    let mut index = vec![NONE; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut of = vec![NONE; n];
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut next = 0;
    let mut calls: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        calls.push((root, 0));
        while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
            let succ = g.successors(v);
            if *pos < succ.len() {
                let w = succ[*pos];
                *pos += 1;
                if index[w] == NONE {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let c = members.len();
                let mut m = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    of[w] = c;
                    m.push(w);
                    if w == v {
                        break;
                    }
                }
                m.reverse();
                members.push(m);
            }
        }
    }
    Components { of, members }
}

/// The heaviest path from each component, a node's weight counted once per component (a
/// component's weight is its heaviest node's: cycles are not unrolled).
#[derive(Debug, Clone)]
pub struct Longest {
    /// The weight of the heaviest path starting in each component.
    pub value: Vec<u64>,
    /// The node through which that path enters its next component, if it goes on.
    pub next: Vec<Option<usize>>,
}

/// Longest paths over the components' DAG, in one pass over nodes and edges.
pub fn longest(g: &Digraph, cs: &Components, weight: impl Fn(usize) -> u64) -> Longest {
    let k = cs.count();
    let mut value = vec![0u64; k];
    let mut next = vec![None; k];
    for c in 0..k {
        let mut own = 0;
        let mut best: Option<(u64, usize)> = None;
        for &v in &cs.members[c] {
            own = own.max(weight(v));
            for &w in g.successors(v) {
                let d = cs.of[w];
                if d == c {
                    continue;
                }
                if best.is_none_or(|(b, _)| value[d] > b) {
                    best = Some((value[d], w));
                }
            }
        }
        value[c] = own.saturating_add(best.map_or(0, |(b, _)| b));
        next[c] = best.map(|(_, w)| w);
    }
    Longest { value, next }
}

impl Longest {
    /// The nodes a heaviest path from `start` enters its components by, `start` first.
    pub fn path(&self, cs: &Components, start: usize) -> Vec<usize> {
        let mut out = vec![start];
        let mut c = cs.of[start];
        while let Some(w) = self.next[c] {
            out.push(w);
            c = cs.of[w];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_in_reverse_topological_order() {
        // 0 → 1 → 2 → 1, 2 → 3
        let g = Digraph::from_edges(4, &[(0, 1), (1, 2), (2, 1), (2, 3)]);
        let cs = components(&g);
        assert_eq!(cs.count(), 3);
        assert_eq!(cs.of[1], cs.of[2]);
        assert!(cs.of[3] < cs.of[1] && cs.of[1] < cs.of[0]);
        assert!(cs.is_cyclic(&g, cs.of[1]));
        assert!(!cs.is_cyclic(&g, cs.of[0]));
        assert_eq!(cs.in_degrees(&g)[cs.of[0]], 0);
    }

    #[test]
    fn longest_paths_and_their_nodes() {
        // 0 → 1 → 3, 0 → 2; weights 1 each
        let g = Digraph::from_edges(4, &[(0, 2), (0, 1), (1, 3)]);
        let cs = components(&g);
        let l = longest(&g, &cs, |_| 1);
        assert_eq!(l.value[cs.of[0]], 3);
        assert_eq!(l.path(&cs, 0), vec![0, 1, 3]);
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let n = 200_000;
        let edges: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let g = Digraph::from_edges(n, &edges);
        let cs = components(&g);
        let l = longest(&g, &cs, |_| 1);
        assert_eq!(l.value[cs.of[0]], n as u64);
    }
}
