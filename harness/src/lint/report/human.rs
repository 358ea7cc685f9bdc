//! The human rendering of a [`LintReport`]: findings grouped by rule or by file, with their
//! evidence, a summary line, and colours when asked for.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::{at, display_path};
use crate::lint::{Finding, LintReport, Severity};

/// How the human report groups findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupBy {
    #[default]
    Rule,
    File,
}

/// Options of the human report.
#[derive(Clone, Copy, Debug, Default)]
pub struct HumanOptions {
    /// ANSI colours (the binary turns them on for a terminal).
    pub color: bool,
    pub group_by: GroupBy,
    /// Show how long the run took (off for snapshots).
    pub timing: bool,
}

impl HumanOptions {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(&self, s: Severity) -> String {
        self.severity_padded(s, 0)
    }

    /// The severity, coloured, padded to `width` (outside the colour codes).
    fn severity_padded(&self, s: Severity, width: usize) -> String {
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Note => "1;36",
        };
        let pad = " ".repeat(width.saturating_sub(s.as_str().len()));
        format!("{}{pad}", self.paint(code, s.as_str()))
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The human report.
pub fn human(report: &LintReport, base: &Path, o: HumanOptions) -> String {
    let mut out = String::new();
    let g = report.graph;
    let inputs: Vec<String> = report
        .inputs
        .iter()
        .map(|i| format!("{} ({})", display_path(&i.path, base), i.kind))
        .collect();
    let _ = writeln!(
        out,
        "{}",
        o.paint(
            "90",
            &format!(
                "read {}, {}, {}, {}, {} from {}",
                plural(g.services, "service", "services"),
                plural(g.calls, "call", "calls"),
                plural(g.subjects, "subject", "subjects"),
                plural(g.consumers, "consumer", "consumers"),
                plural(g.datastores, "datastore", "datastores"),
                if inputs.is_empty() {
                    "memory".to_string()
                } else {
                    inputs.join(", ")
                }
            )
        )
    );
    out.push('\n');
    let active: Vec<&Finding> = report.active().collect();
    match o.group_by {
        GroupBy::Rule => by_rule(&mut out, report, &active, base, o),
        GroupBy::File => by_file(&mut out, &active, base, o),
    }
    let ignored: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_some())
        .collect();
    if !ignored.is_empty() {
        let _ = writeln!(out, "{}", o.paint("1", "ignored"));
        for f in ignored {
            let place = f.location.as_ref().map(|l| at(l, base)).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {} {}: {}",
                o.paint("90", f.rule_id),
                f.element,
                o.paint("90", &place),
                f.suppressed.as_deref().unwrap_or_default()
            );
        }
        out.push('\n');
    }
    for ig in &report.unused_ignores {
        let place = ig
            .location
            .as_ref()
            .map(|l| at(l, base))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}: the ignore of {} at {place} matched no finding; remove it if it is stale",
            o.paint("1;36", "note"),
            ig.rule
        );
    }
    let c = report.counts();
    let off = report.rules.iter().filter(|r| r.severity.is_none()).count();
    let mut summary = format!(
        "lint: {}, {}, {}",
        plural(c.errors, "error", "errors"),
        plural(c.warnings, "warning", "warnings"),
        plural(c.notes, "note", "notes"),
    );
    if c.suppressed > 0 {
        let _ = write!(summary, ", {} ignored", c.suppressed);
    }
    let _ = write!(
        summary,
        " · {}, {} checked",
        plural(report.inputs.len(), "input", "inputs"),
        plural(report.rules.len() - off, "rule", "rules")
    );
    if off > 0 {
        let _ = write!(summary, " ({off} off)");
    }
    if o.timing {
        let _ = write!(summary, " · {} ms", report.duration.as_millis());
    }
    let _ = writeln!(out, "{summary}");
    out
}

fn by_rule(
    out: &mut String,
    report: &LintReport,
    active: &[&Finding],
    base: &Path,
    o: HumanOptions,
) {
    for state in &report.rules {
        let rule = state.rule;
        let found: Vec<&&Finding> = active.iter().filter(|f| f.rule_id == rule.id).collect();
        if found.is_empty() {
            continue;
        }
        let severity = found[0].severity;
        let _ = writeln!(
            out,
            "{} {} {} · {}",
            o.severity(severity),
            o.paint("1", rule.id),
            o.paint("1", rule.name),
            plural(found.len(), "finding", "findings")
        );
        let _ = writeln!(out, "  {}", o.paint("90", rule.why));
        for f in found {
            let place = f.location.as_ref().map(|l| at(l, base)).unwrap_or_else(|| {
                if f.evidence.is_empty() {
                    "(observed)".into()
                } else {
                    "(live)".into()
                }
            });
            let _ = writeln!(
                out,
                "  {} {}",
                o.paint("4", &place),
                o.paint("1", &f.element)
            );
            let _ = writeln!(out, "    {}", f.message);
            evidence(out, f, base, o, "    ");
        }
        let _ = writeln!(out, "  {} {}\n", o.paint("32", "fix:"), rule.fix);
    }
}

fn by_file(out: &mut String, active: &[&Finding], base: &Path, o: HumanOptions) {
    let mut files: BTreeMap<Option<String>, Vec<&Finding>> = BTreeMap::new();
    for f in active {
        files
            .entry(f.location.as_ref().map(|l| display_path(&l.file, base)))
            .or_default()
            .push(f);
    }
    for (file, found) in files {
        let _ = writeln!(
            out,
            "{}",
            o.paint("1;4", file.as_deref().unwrap_or("(observed, no file)"))
        );
        for f in found {
            let pos = f
                .location
                .as_ref()
                .filter(|l| l.line > 0)
                .map(|l| format!("{}:{}", l.line, l.column))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<7} {} {} {}",
                pos,
                o.severity_padded(f.severity, 7),
                o.paint("90", &format!("{} {}", f.rule_id, f.rule_name)),
                o.paint("1", &f.element)
            );
            let _ = writeln!(out, "          {}", f.message);
            evidence(out, f, base, o, "          ");
            let _ = writeln!(out, "          {} {}", o.paint("32", "fix:"), f.fix);
        }
        out.push('\n');
    }
}

fn evidence(out: &mut String, f: &Finding, base: &Path, o: HumanOptions, indent: &str) {
    if let Some(l) = &f.location
        && !l.path.is_empty()
    {
        let _ = writeln!(out, "{indent}{}", o.paint("90", &format!("at {}", l.path)));
    }
    for r in &f.related {
        let _ = writeln!(
            out,
            "{indent}{}",
            o.paint(
                "90",
                &format!("and {}: {}", at(&r.location, base), r.message)
            )
        );
    }
    if !f.traces.is_empty() {
        let _ = writeln!(
            out,
            "{indent}{}",
            o.paint("90", &format!("seen in trace(s) {}", f.traces.join(", ")))
        );
    }
    for e in &f.evidence {
        let _ = writeln!(out, "{indent}{}", o.paint("90", e));
    }
}
