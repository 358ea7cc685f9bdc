//! Checks over what was observed. [`trace`]: is a request one connected, correlated tree, with
//! every message consumed after it was produced and a saga's compensations in order?

pub mod trace;
