//! Renderings of a [`LintReport`]: human text (grouped by rule or by file), JSON, SARIF 2.1.0
//! and JUnit (through the common [`RunResults`](crate::results::RunResults)). They return
//! strings and compute nothing the report does not hold; printing and colouring decisions are
//! the binary's.
//!
//! File paths are shown relative to a base folder (the binary passes the current one), which
//! is also what SARIF's `artifactLocation.uri` is relative to.
//!
//! - `human.rs`: the human text.
//! - `machine.rs`: JSON, SARIF and JUnit (through [`run_results`]).
//!
//! Here: how paths and locations are shown, and what every rendering shares.

mod human;
mod machine;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::LintReport;
use super::graph::Location;

pub use human::{GroupBy, HumanOptions, human};
pub use machine::{SARIF_SCHEMA, json, junit, run_results, sarif, sarif_uri};

/// A path as shown to people and in SARIF: relative to `base` when under it.
pub fn display_path(file: &Path, base: &Path) -> String {
    let rel = if file.is_absolute() {
        file.strip_prefix(base).unwrap_or(file)
    } else {
        file
    };
    let text = rel.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

fn at(l: &Location, base: &Path) -> String {
    let mut s = display_path(&l.file, base);
    if l.line > 0 {
        let _ = write!(s, ":{}", l.line);
        if l.column > 0 {
            let _ = write!(s, ":{}", l.column);
        }
    }
    s
}

/// A report with no timing, for reproducible renderings.
pub fn without_timing(report: &LintReport) -> LintReport {
    LintReport {
        duration: Duration::ZERO,
        ..report.clone()
    }
}

/// The base folder renderings use by default: the current one.
pub fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}

#[cfg(test)]
mod tests;
