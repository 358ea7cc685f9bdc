//! Tests for the synchronous-call rules.

use super::chains::shortest_cycle;
use super::*;
use crate::lint::graph::SyncCall;
use crate::lint::rules::analysis::{Digraph, components};

#[test]
fn routes_normalise() {
    assert_eq!(
        Route::parse("post /orders/{id}/"),
        Route::parse("POST /orders/:orderId")
    );
    assert_eq!(Route::parse("/a?x=1").path.as_deref(), Some("/a"));
    let mut c = SyncCall::new("a", "b");
    c.method = Some("get".into());
    c.path = Some("/orders/{orderId}".into());
    assert_eq!(Route::of_call(&c), Route::parse("GET /orders/{id}"));
}

#[test]
fn shortest_cycle_is_found() {
    // 0 → 1 → 2 → 0, 1 → 0
    let g = Digraph::from_edges(3, &[(0, 1), (1, 2), (2, 0), (1, 0)]);
    let cs = components(&g);
    let cycle = shortest_cycle(&g, &cs.of, cs.of[0], 0);
    assert_eq!(cycle, vec![0, 1, 0]);
    let g = Digraph::from_edges(1, &[(0, 0)]);
    let cs = components(&g);
    assert_eq!(shortest_cycle(&g, &cs.of, 0, 0), vec![0, 0]);
}
