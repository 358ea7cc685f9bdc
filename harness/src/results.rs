//! The result model every check produces and every reporter renders (human, JSON, JUnit, …).
//! Reporters never recompute a verdict: they read these.

use std::time::Duration;

use serde::Serialize;

/// One run of checks (a `verify`, a `run`, a `lint`, a `demo`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunResults {
    pub title: String,
    pub checks: Vec<Check>,
    #[serde(with = "millis")]
    pub duration: Duration,
}

/// One check: an interaction verified, a trace checked, a rule applied.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What it belongs to, e.g. `order-service → payment-service`.
    pub group: String,
    /// What was checked, e.g. the interaction's description.
    pub name: String,
    /// `http`, `event`, `trace`, `lint`, …
    pub kind: String,
    pub outcome: Outcome,
    #[serde(with = "millis")]
    pub duration: Duration,
    /// Where the checked thing is written (`contracts/payment.yaml:12:7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Why it failed: one entry per mismatch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
    /// Free-form lines worth showing (the request sent, the state set up, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// The check could not run: the provider, NATS or a state endpoint was unreachable.
    Error(String),
    /// Not run, on purpose (filtered out, pending).
    Skipped(String),
}

/// One thing that differs from what was expected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// Where: a JSON path (`$.paymentId`), a header or query name, `status`, `subject`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub expected: String,
    pub actual: String,
    pub message: String,
}

impl Check {
    pub fn new(group: impl Into<String>, name: impl Into<String>, kind: impl Into<String>) -> Self {
        Check {
            group: group.into(),
            name: name.into(),
            kind: kind.into(),
            outcome: Outcome::Passed,
            duration: Duration::ZERO,
            location: None,
            details: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }
}

/// Counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl RunResults {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.outcome {
                Outcome::Passed => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Error(_) => s.errors += 1,
                Outcome::Skipped(_) => s.skipped += 1,
            }
        }
        s
    }

    /// The documented exit code: 0 every selected check ran and passed (and there was at least
    /// one), 1 a check failed, 3 a check could not run because something was unreachable.
    pub fn exit_code(&self) -> u8 {
        let s = self.summary();
        if s.errors > 0 {
            3
        } else if s.failed > 0 || s.passed == 0 {
            1
        } else {
            0
        }
    }
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let mut run = RunResults::default();
        assert_eq!(run.exit_code(), 1, "nothing ran: never 0");
        run.checks.push(Check::new("g", "a", "http"));
        assert_eq!(run.exit_code(), 0);
        let mut failed = Check::new("g", "b", "http");
        failed.outcome = Outcome::Failed;
        run.checks.push(failed);
        assert_eq!(run.exit_code(), 1);
        let mut error = Check::new("g", "c", "http");
        error.outcome = Outcome::Error("connection refused".into());
        run.checks.push(error);
        assert_eq!(run.exit_code(), 3);
    }
}
