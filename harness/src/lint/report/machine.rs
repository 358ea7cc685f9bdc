//! The machine renderings of a [`LintReport`]: JSON, SARIF 2.1.0, and JUnit through the
//! common [`RunResults`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::{at, display_path};
use crate::lint::graph::Location;
use crate::lint::{Finding, LintReport, Severity};
use crate::results::{Check, Detail, Outcome, RunResults};

/// The `$schema` of the SARIF files written.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

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
