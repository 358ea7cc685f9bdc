//! Data-driven rule tests: every folder under `tests/data/lint/rules/` and
//! `tests/data/lint/config/` holds an `architecture.yaml`, optionally a `.parley.yaml`, and
//! `expected.txt`: the findings, one a line (`RULE SEVERITY FILE:LINE:COLUMN ELEMENT`, then
//! ` [ignored: REASON]` for an ignored one). An empty `expected.txt` says the rules stay silent.
//!
//! `UPDATE_EXPECT=1 cargo test -p parley-harness --test lint_rules` writes the expectations
//! from what the rules find; review the diff before committing it.
//!
//! Every rule of the registry must fire on at least one `PLxxx-broken…` case and stay silent
//! on at least one `PLxxx-fixed…` case.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use parley_harness::lint::inputs::{self, Registry};
use parley_harness::lint::report::display_path;
use parley_harness::lint::{self, Config, LintReport, rules};

fn data(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/lint")
        .join(dir)
}

fn cases(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(data(dir))
        .expect("the data folder exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn lint_case(case: &Path) -> LintReport {
    let input = case.join("architecture.yaml");
    let config_file = case.join(".parley.yaml");
    let config = if config_file.exists() {
        Config::load(&config_file).unwrap_or_else(|e| panic!("{}: {e}", case.display()))
    } else {
        Config::default()
    };
    let loaded = inputs::load(&[input], &Registry::standard())
        .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
    lint::lint(&loaded.graph, &config, loaded.inputs)
}

fn render(report: &LintReport, base: &Path) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let at = f
            .location
            .as_ref()
            .map(|l| format!("{}:{}:{}", display_path(&l.file, base), l.line, l.column))
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{} {} {} {}",
            f.rule_id, f.severity, at, f.element
        ));
        if let Some(reason) = &f.suppressed {
            out.push_str(&format!(" [ignored: {reason}]"));
        }
        out.push('\n');
    }
    out
}

fn check_dir(dir: &str) -> Vec<(PathBuf, LintReport)> {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let mut reports = Vec::new();
    for case in cases(dir) {
        let report = lint_case(&case);
        let actual = render(&report, &case);
        let expected_file = case.join("expected.txt");
        if update {
            std::fs::write(&expected_file, &actual).expect("writes the expectation");
        } else {
            let expected = std::fs::read_to_string(&expected_file).unwrap_or_else(|_| {
                panic!(
                    "{} has no expected.txt: run with UPDATE_EXPECT=1 and review it",
                    case.display()
                )
            });
            if expected != actual {
                failures.push(format!(
                    "{}\n--- expected\n{expected}--- actual\n{actual}",
                    case.display()
                ));
            }
        }
        reports.push((case, report));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    reports
}

#[test]
fn every_rule_fires_on_its_broken_cases_and_stays_silent_on_fixed_ones() {
    let reports = check_dir("rules");
    let mut fired = BTreeSet::new();
    let mut silent = BTreeSet::new();
    for (case, report) in &reports {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let (id, kind) = name.split_at(5);
        let ids: BTreeSet<&str> = report.findings.iter().map(|f| f.rule_id).collect();
        if kind.starts_with("-broken") {
            assert!(
                ids.contains(id),
                "{name}: {id} does not fire; found {ids:?}"
            );
            assert_eq!(
                ids.len(),
                1,
                "{name}: a broken case shows its rule only, found {ids:?}"
            );
            fired.insert(id.to_string());
        } else if kind.starts_with("-fixed") {
            assert!(ids.is_empty(), "{name}: expected no finding, found {ids:?}");
            silent.insert(id.to_string());
        } else {
            panic!("{name}: a case is named PLxxx-broken-… or PLxxx-fixed-…");
        }
    }
    for r in rules::REGISTRY {
        let id = r.info().id.to_string();
        assert!(fired.contains(&id), "no broken case makes {id} fire");
        assert!(silent.contains(&id), "no fixed case shows {id} silent");
    }
}

#[test]
fn configuration_cases() {
    let reports = check_dir("config");
    let by_name = |n: &str| {
        &reports
            .iter()
            .find(|(c, _)| c.ends_with(n))
            .unwrap_or_else(|| panic!("case {n}"))
            .1
    };
    // Severity override: PL007 reported as a note, which does not fail at the default level.
    let r = by_name("severity-override");
    assert!(
        r.findings
            .iter()
            .all(|f| f.severity == lint::Severity::Note)
    );
    assert!(!r.fails(lint::Severity::Error) && r.fails(lint::Severity::Note));
    // A rule turned off does not run.
    let r = by_name("rule-off");
    assert!(r.findings.is_empty());
    assert!(
        r.rules
            .iter()
            .any(|s| s.rule.id == "PL005" && s.severity.is_none())
    );
    // An ignored finding is kept, marked, and does not fail the run.
    let r = by_name("ignore-with-reason");
    assert_eq!(r.counts().suppressed, 1);
    assert!(!r.fails(lint::Severity::Note));
    // An ignore that matches nothing is reported as unused.
    let r = by_name("unused-ignore");
    assert_eq!(r.unused_ignores.len(), 1);
}
