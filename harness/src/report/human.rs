//! The human report: grouped, one line per check, the details of what failed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::results::{Check, Outcome, RunResults};

/// Styling hooks, so the binary can colour on a terminal and not elsewhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub fn render(run: &RunResults, style: Style) -> String {
    let mut out = String::new();
    let mut groups: BTreeMap<&str, Vec<&Check>> = BTreeMap::new();
    for check in &run.checks {
        groups.entry(check.group.as_str()).or_default().push(check);
    }
    for (group, checks) in groups {
        let _ = writeln!(out, "{}", style.paint("1", group));
        for check in checks {
            let (mark, color) = match &check.outcome {
                Outcome::Passed => ("✓", "32"),
                Outcome::Failed => ("✗", "31"),
                Outcome::Error(_) => ("!", "33"),
                Outcome::Skipped(_) => ("-", "90"),
            };
            let _ = write!(out, "  {} {} ", style.paint(color, mark), check.name);
            let _ = write!(
                out,
                "{}",
                style.paint(
                    "90",
                    &format!("[{}, {} ms]", check.kind, check.duration.as_millis())
                )
            );
            match &check.outcome {
                Outcome::Error(reason) => {
                    let _ = write!(
                        out,
                        " {}",
                        style.paint("33", &format!("could not run: {reason}"))
                    );
                }
                Outcome::Skipped(reason) => {
                    let _ = write!(out, " skipped: {reason}");
                }
                _ => {}
            }
            out.push('\n');
            if let Some(location) = &check.location
                && !check.passed()
            {
                let _ = writeln!(out, "      at {location}");
            }
            for d in &check.details {
                let rule = d
                    .rule
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "      {}{rule}: {}",
                    style.paint("1", &d.path),
                    d.message
                );
                if !d.expected.is_empty() || !d.actual.is_empty() {
                    let _ = writeln!(
                        out,
                        "        {} {}",
                        style.paint("32", "- expected"),
                        d.expected
                    );
                    let _ = writeln!(
                        out,
                        "        {} {}",
                        style.paint("31", "+ actual  "),
                        d.actual
                    );
                }
            }
            if !check.passed() {
                for note in &check.notes {
                    let _ = writeln!(out, "      {}", style.paint("90", note));
                }
            }
        }
    }
    let s = run.summary();
    let _ = writeln!(
        out,
        "\n{}: {} passed, {} failed, {} could not run, {} skipped ({} ms)",
        run.title,
        s.passed,
        s.failed,
        s.errors,
        s.skipped,
        run.duration.as_millis()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Detail;

    #[test]
    fn renders_groups_marks_and_details() {
        let mut failed = Check::new(
            "order-service → payment-service",
            "charge a customer",
            "http",
        );
        failed.outcome = Outcome::Failed;
        failed.details.push(Detail {
            path: "$.paymentId".into(),
            rule: Some("regex ^pay_".into()),
            expected: "\"pay_7f3a\"".into(),
            actual: "(missing)".into(),
            message: "expected a value, found none".into(),
        });
        let run = RunResults {
            title: "verify payment-service".into(),
            checks: vec![
                Check::new("order-service → payment-service", "refund", "http"),
                failed,
            ],
            duration: std::time::Duration::from_millis(12),
        };
        let text = render(&run, Style::default());
        assert!(text.contains("order-service → payment-service\n"), "{text}");
        assert!(text.contains("  ✓ refund [http, 0 ms]"), "{text}");
        assert!(text.contains("  ✗ charge a customer"), "{text}");
        assert!(
            text.contains("$.paymentId (regex ^pay_): expected a value, found none"),
            "{text}"
        );
        assert!(
            text.contains("1 passed, 1 failed, 0 could not run"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
    }
}
