//! Renderings of a [`LintReport`]: human text (grouped by rule or by file), JSON, SARIF 2.1.0
//! and JUnit (through the common [`RunResults`]). They return strings and compute nothing
//! the report does not hold; printing and colouring decisions are the binary's.
//!
//! File paths are shown relative to a base folder (the binary passes the current one), which
//! is also what SARIF's `artifactLocation.uri` is relative to.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::graph::Location;
use super::{Finding, LintReport, Severity};
use crate::results::{Check, Detail, Outcome, RunResults};

/// The `$schema` of the SARIF files written.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

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

fn location_json(l: &Location, base: &Path) -> Value {
    json!({
        "file": display_path(&l.file, base),
        "line": l.line,
        "column": l.column,
        "path": l.path,
    })
}

/// The report as JSON: inputs, counts, findings (ignored ones marked), rules as they ran.
pub fn json(report: &LintReport, base: &Path) -> String {
    let c = report.counts();
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut v = json!({
                "ruleId": f.rule_id,
                "ruleName": f.rule_name,
                "severity": f.severity,
                "element": f.element,
                "message": f.message,
                "why": f.why,
                "fix": f.fix,
            });
            if let Some(l) = &f.location {
                v["location"] = location_json(l, base);
            }
            if !f.related.is_empty() {
                v["related"] = f
                    .related
                    .iter()
                    .map(|r| json!({ "location": location_json(&r.location, base), "message": r.message }))
                    .collect();
            }
            if !f.traces.is_empty() {
                v["traces"] = json!(f.traces);
            }
            if !f.evidence.is_empty() {
                v["evidence"] = json!(f.evidence);
            }
            if let Some(reason) = &f.suppressed {
                v["suppressed"] = json!(reason);
            }
            v
        })
        .collect();
    let value = json!({
        "tool": "parley lint",
        "version": env!("CARGO_PKG_VERSION"),
        "inputs": report.inputs.iter().map(|i| json!({ "path": display_path(&i.path, base), "kind": i.kind })).collect::<Vec<_>>(),
        "summary": c,
        "graph": report.graph,
        "thresholds": report.thresholds,
        "rules": report.rules.iter().map(|r| json!({
            "id": r.rule.id,
            "name": r.rule.name,
            "severity": r.severity,
            "default": r.rule.severity,
        })).collect::<Vec<_>>(),
        "findings": findings,
        "unusedIgnores": report.unused_ignores.iter().map(|i| json!({
            "rule": i.rule,
            "reason": i.reason,
            "location": i.location.as_ref().map(|l| location_json(l, base)),
        })).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Percent-encodes a relative path for a URI reference (RFC 3986 `pchar`s and `/` kept).
fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The URI SARIF names a file by: relative to `base` when under it, else a `file://` URI.
pub fn sarif_uri(file: &Path, base: &Path) -> String {
    let shown = display_path(file, base);
    if Path::new(&shown).is_absolute() {
        format!("file://{}", encode_uri_path(&shown))
    } else {
        // A relative reference whose first segment holds a `:` would read as a scheme.
        let encoded = encode_uri_path(&shown);
        match encoded.split('/').next() {
            Some(first) if first.contains(':') => format!("./{encoded}"),
            _ => encoded,
        }
    }
}

fn physical(l: &Location, base: &Path) -> Value {
    let mut v = json!({ "artifactLocation": { "uri": sarif_uri(&l.file, base) } });
    if l.line > 0 {
        let mut region = json!({ "startLine": l.line });
        if l.column > 0 {
            region["startColumn"] = json!(l.column);
        }
        v["region"] = region;
    }
    v
}

/// A stable fingerprint of a finding (FNV-1a of rule and element, and `live` for one seen on
/// a live system, which carries evidence), so that code-scanning services follow one finding
/// across runs even when its line moves, and keep a probe's finding apart from the
/// description's.
fn fingerprint(f: &Finding) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let live: &[u8] = if f.evidence.is_empty() {
        b""
    } else {
        b"\0live"
    };
    for b in f
        .rule_id
        .bytes()
        .chain([0])
        .chain(f.element.bytes())
        .chain(live.iter().copied())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The report as a SARIF 2.1.0 log, one run, with every rule's metadata in
/// `tool.driver.rules` and configuration overrides in the invocation.
pub fn sarif(report: &LintReport, base: &Path) -> String {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            let i = r.rule;
            json!({
                "id": i.id,
                "name": i.name,
                "shortDescription": { "text": i.summary },
                "fullDescription": { "text": i.why },
                "help": {
                    "text": i.fix,
                    "markdown": format!("**Why it matters.** {}\n\n**How to fix it.** {}", i.why, i.fix),
                },
                "defaultConfiguration": { "level": i.severity.as_str() },
                "properties": { "tags": ["architecture", "communication"] },
            })
        })
        .collect();
    let index: BTreeMap<&str, usize> = report
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.rule.id, i))
        .collect();
    let overrides: Vec<Value> = report
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.severity != Some(r.rule.severity))
        .map(|(i, r)| {
            let configuration = match r.severity {
                Some(s) => json!({ "level": s.as_str() }),
                None => json!({ "enabled": false }),
            };
            json!({
                "descriptor": { "id": r.rule.id, "index": i },
                "configuration": configuration,
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut v = json!({
                "ruleId": f.rule_id,
                "ruleIndex": index.get(f.rule_id).copied().unwrap_or(0),
                "level": f.severity.as_str(),
                "message": { "text": f.message },
                "partialFingerprints": { "parleyElement/v1": fingerprint(f) },
                "properties": { "element": f.element, "fix": f.fix },
            });
            if let Some(l) = &f.location {
                let mut loc = json!({ "physicalLocation": physical(l, base) });
                if !l.path.is_empty() {
                    loc["logicalLocations"] = json!([{ "fullyQualifiedName": l.path }]);
                }
                v["locations"] = json!([loc]);
            }
            if !f.related.is_empty() {
                v["relatedLocations"] = f
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        json!({
                            "id": i + 1,
                            "physicalLocation": physical(&r.location, base),
                            "message": { "text": r.message },
                        })
                    })
                    .collect();
            }
            if !f.traces.is_empty() {
                v["properties"]["traces"] = json!(f.traces);
            }
            if !f.evidence.is_empty() {
                v["properties"]["evidence"] = json!(f.evidence);
            }
            if let Some(reason) = &f.suppressed {
                v["suppressions"] = json!([{ "kind": "external", "justification": reason }]);
            }
            v
        })
        .collect();
    let mut invocation = json!({ "executionSuccessful": true });
    if !overrides.is_empty() {
        invocation["ruleConfigurationOverrides"] = json!(overrides);
    }
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "parley",
                    "fullName": "parley lint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/parley-dev/parley",
                    "rules": rules,
                }
            },
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The report as checks, for JUnit and the other reporters of [`RunResults`]: one check per
/// finding (failed when at `fail_on` or above, passed with a note below it, skipped when
/// ignored), and one passed check per rule that found nothing.
pub fn run_results(report: &LintReport, fail_on: Severity, base: &Path) -> RunResults {
    let mut checks = Vec::new();
    for state in &report.rules {
        let rule = state.rule;
        let group = format!("lint {} {}", rule.id, rule.name);
        let found: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.rule_id == rule.id)
            .collect();
        if state.severity.is_none() {
            let mut c = Check::new(&group, rule.summary, "lint");
            c.outcome = Outcome::Skipped("turned off in the configuration".into());
            checks.push(c);
            continue;
        }
        if found.iter().all(|f| f.suppressed.is_some()) {
            checks.push(Check::new(&group, rule.summary, "lint"));
        }
        for f in found {
            let mut c = Check::new(&group, &f.element, "lint");
            c.location = f.location.as_ref().map(|l| at(l, base));
            match &f.suppressed {
                Some(reason) => c.outcome = Outcome::Skipped(format!("ignored: {reason}")),
                None if f.severity >= fail_on => {
                    c.outcome = Outcome::Failed;
                    c.details.push(Detail {
                        path: f
                            .location
                            .as_ref()
                            .map(|l| l.path.clone())
                            .unwrap_or_default(),
                        rule: Some(format!("{} {}", f.rule_id, f.severity)),
                        expected: String::new(),
                        // JUnit shows details, not notes: what a live check sent and saw.
                        actual: f.evidence.join("\n    "),
                        message: f.message.clone(),
                    });
                    c.notes.push(format!("fix: {}", f.fix));
                }
                None => {
                    c.notes.push(format!("{}: {}", f.severity, f.message));
                    c.notes.extend(f.evidence.iter().cloned());
                }
            }
            checks.push(c);
        }
    }
    RunResults {
        title: "parley lint".into(),
        checks,
        duration: report.duration,
    }
}

/// JUnit XML of the report.
pub fn junit(report: &LintReport, fail_on: Severity, base: &Path) -> String {
    crate::report::junit::render(&run_results(report, fail_on, base))
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
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        let base = Path::new("/work");
        assert_eq!(
            sarif_uri(Path::new("/work/a b/x.yaml"), base),
            "a%20b/x.yaml"
        );
        assert_eq!(
            sarif_uri(Path::new("sample-services/architecture.yaml"), base),
            "sample-services/architecture.yaml"
        );
        assert_eq!(
            sarif_uri(Path::new("/elsewhere/x.yaml"), base),
            "file:///elsewhere/x.yaml"
        );
        assert_eq!(sarif_uri(Path::new("c:d.yaml"), base), "./c:d.yaml");
        assert_eq!(sarif_uri(Path::new("./x%.yaml"), base), "x%25.yaml");
    }
}
