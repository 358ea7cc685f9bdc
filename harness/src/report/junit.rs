//! JUnit XML, as CI systems read it: one `<testsuite>` per group, one `<testcase>` per check.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::results::{Check, Outcome, RunResults};

pub fn render(run: &RunResults) -> String {
    let mut groups: BTreeMap<&str, Vec<&Check>> = BTreeMap::new();
    for check in &run.checks {
        groups.entry(check.group.as_str()).or_default().push(check);
    }
    let s = run.summary();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        escape(&run.title),
        run.checks.len(),
        s.failed,
        s.errors,
        s.skipped,
        run.duration.as_secs_f64()
    );
    for (group, checks) in groups {
        let failures = checks
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count();
        let errors = checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Error(_)))
            .count();
        let skipped = checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
            .count();
        let time: f64 = checks.iter().map(|c| c.duration.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\">",
            escape(group),
            checks.len()
        );
        for check in checks {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                escape(&check.name),
                escape(&format!("{}.{}", group, check.kind)),
                check.duration.as_secs_f64()
            );
            match &check.outcome {
                Outcome::Passed => out.push_str("/>\n"),
                Outcome::Failed => {
                    let message = check
                        .details
                        .first()
                        .map(|d| format!("{}: {}", d.path, d.message))
                        .unwrap_or_else(|| "failed".into());
                    let body: Vec<String> = check
                        .details
                        .iter()
                        .map(|d| {
                            format!(
                                "{}: {}\n  expected {}\n  actual   {}",
                                d.path, d.message, d.expected, d.actual
                            )
                        })
                        .chain(check.location.iter().map(|l| format!("at {l}")))
                        .collect();
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                        escape(&message),
                        escape(&check.kind),
                        escape(&body.join("\n"))
                    );
                }
                Outcome::Error(reason) => {
                    let _ = write!(
                        out,
                        ">\n      <error message=\"{}\"/>\n    </testcase>\n",
                        escape(reason)
                    );
                }
                Outcome::Skipped(reason) => {
                    let _ = write!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        escape(reason)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 cannot hold.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Detail;

    #[test]
    fn failures_errors_and_escaping() {
        let mut failed = Check::new("a → b", "x <y> & \"z\"", "http");
        failed.outcome = Outcome::Failed;
        failed.details.push(Detail {
            path: "$.id".into(),
            rule: None,
            expected: "1".into(),
            actual: "2\u{1}".into(),
            message: "differs".into(),
        });
        let mut error = Check::new("a → b", "down", "http");
        error.outcome = Outcome::Error("connection refused".into());
        let run = RunResults {
            title: "t".into(),
            checks: vec![failed, error, Check::new("a → b", "ok", "http")],
            duration: std::time::Duration::from_millis(5),
        };
        let xml = render(&run);
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("name=\"x &lt;y&gt; &amp; &quot;z&quot;\""),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"$.id: differs\""), "{xml}");
        assert!(
            xml.contains("<error message=\"connection refused\"/>"),
            "{xml}"
        );
        assert!(!xml.contains('\u{1}'));
    }
}
