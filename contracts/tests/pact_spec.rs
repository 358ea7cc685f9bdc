//! The Pact specification's own test cases (`tests/data/pact-spec`, or the directory named by
//! `PACT_SPEC_CASES`): every case of every `version-*/testcases` folder must get the verdict
//! the specification states.
//!
//! `cargo test -p parley-contracts --test pact_spec -- --nocapture` prints one line per
//! version, and each disagreeing case with its expected verdict and the engine's mismatches
//! (`PACT_SPEC_VERBOSE=1`: every case's mismatches, to review why cases fail).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parley_contracts::matching::render_mismatches;
use parley_contracts::pact::spec_case::{folder_kind, folder_spec, load_case};

fn cases_dir() -> PathBuf {
    std::env::var_os("PACT_SPEC_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pact-spec"))
}

/// Every `.json` file under `dir`, sorted, walking subfolders.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_specification_test_cases_get_their_verdicts() {
    let root = cases_dir();
    let mut versions: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            (name.starts_with("version-") && e.path().join("testcases").is_dir())
                .then(|| (name, e.path().join("testcases")))
        })
        .collect();
    versions.sort();
    assert!(
        !versions.is_empty(),
        "no version-*/testcases folders under {}",
        root.display()
    );

    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut total = 0;
    let verbose = std::env::var_os("PACT_SPEC_VERBOSE").is_some();
    for (version, dir) in &versions {
        let spec =
            folder_spec(version).unwrap_or_else(|| panic!("unknown version folder {version}"));
        let entry = counts.entry(version.clone()).or_default();
        for file in json_files(dir) {
            total += 1;
            let relative = file.strip_prefix(dir).unwrap_or(&file);
            let kind_folder = relative
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .unwrap_or_default();
            let Some(kind) = folder_kind(&kind_folder) else {
                entry.1 += 1;
                failures.push(format!(
                    "{}: not under request/, response/ or message/",
                    file.display()
                ));
                continue;
            };
            match load_case(&file, spec, kind) {
                Ok(case) => {
                    let mismatches = case.run();
                    if verbose {
                        println!(
                            "== {version}/{} ({}): {}",
                            relative.display(),
                            if case.should_match {
                                "match"
                            } else {
                                "mismatch"
                            },
                            render_mismatches(&mismatches).trim_end()
                        );
                    }
                    if mismatches.is_empty() == case.should_match {
                        entry.0 += 1;
                    } else {
                        entry.1 += 1;
                        failures.push(format!(
                            "{}/{}: the specification says {}, the engine says {}\n  ({})\n{}",
                            version,
                            relative.display(),
                            if case.should_match {
                                "match"
                            } else {
                                "mismatch"
                            },
                            if mismatches.is_empty() {
                                "match"
                            } else {
                                "mismatch"
                            },
                            case.comment,
                            render_mismatches(&mismatches)
                        ));
                    }
                }
                Err(e) => {
                    entry.1 += 1;
                    failures.push(format!(
                        "{}/{}: cannot load: {e}",
                        version,
                        relative.display()
                    ));
                }
            }
        }
    }
    for (version, (passed, failed)) in &counts {
        println!("{version}: {passed} passed, {failed} failed");
    }
    println!("total: {total} cases");
    for f in &failures {
        println!("\nFAILED {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} specification cases disagree (run with --nocapture)",
        failures.len()
    );
}
