//! Renderings of [`RunResults`](crate::results::RunResults): each format is one module over the
//! same results. They return strings; printing is the binary's business.

pub mod html;
pub mod human;
pub mod junit;

use crate::results::RunResults;

/// The results as pretty JSON.
pub fn json(run: &RunResults) -> String {
    serde_json::to_string_pretty(run).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
