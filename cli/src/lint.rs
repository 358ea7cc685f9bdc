//! `parley lint [--format human|json|sarif|junit] [--config FILE] [--fail-on SEVERITY] INPUTS…`:
//! wires `parley_harness::lint` to argv, the terminal and the exit code.

use std::io::IsTerminal;
use std::path::PathBuf;

use parley_harness::lint::report::{self, GroupBy, HumanOptions};
use parley_harness::lint::{self, Config, LintError, Severity, rules};

use crate::Exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    Human,
    Json,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Group {
    Rule,
    File,
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Architecture descriptions: files or folders, each file recognised from its content
    /// (a parley architecture.yaml starts with `parley: architecture/v1`).
    #[arg(required_unless_present = "list_rules")]
    pub inputs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: LintFormat,
    /// The configuration (severities, ignores, thresholds); default: ./.parley.yaml if present.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Exit 1 when a finding (not ignored) is at this severity or above.
    #[arg(long, value_enum, default_value = "error", value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// How the human report groups findings.
    #[arg(long, value_enum, default_value = "rule")]
    pub group_by: Group,
    /// Also write the report to this file (in the chosen format).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List the rules (ID, severity, name, why) and exit.
    #[arg(long)]
    pub list_rules: bool,
}

pub fn run(args: LintArgs) -> Exit {
    if args.list_rules {
        print!("{}", list_rules());
        return Exit::Passed;
    }
    let fail_on = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Note => Severity::Note,
    };
    let base = report::current_dir();
    let config = match &args.config {
        Some(file) => Config::load(file),
        None => Config::discover(&base).map_or_else(|| Ok(Config::default()), |f| Config::load(&f)),
    };
    let result = config.and_then(|config| lint::lint_paths(&args.inputs, &config));
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", show_error(&e, &base));
            return Exit::BadInput;
        }
    };
    let text = match args.format {
        LintFormat::Human => report::human(
            &report,
            &base,
            HumanOptions {
                color: std::io::stdout().is_terminal() && args.output.is_none(),
                group_by: match args.group_by {
                    Group::Rule => GroupBy::Rule,
                    Group::File => GroupBy::File,
                },
                timing: true,
            },
        ),
        LintFormat::Json => report::json(&report, &base),
        LintFormat::Sarif => report::sarif(&report, &base),
        LintFormat::Junit => report::junit(&report, fail_on, &base),
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    if let Some(file) = &args.output
        && let Err(e) = crate::output::write_file(file, &text)
    {
        eprintln!("error: {e}");
        return Exit::BadInput;
    }
    if report.fails(fail_on) {
        Exit::CheckFailed
    } else {
        Exit::Passed
    }
}

/// The error with its file shown relative to the current folder.
fn show_error(e: &LintError, base: &std::path::Path) -> String {
    let mut e = e.clone();
    if let Some(f) = &e.file {
        e.file = Some(PathBuf::from(report::display_path(f, base)));
    }
    e.to_string()
}

fn list_rules() -> String {
    let mut out = String::new();
    for r in rules::REGISTRY {
        let i = r.info();
        out.push_str(&format!(
            "{}  {:<7}  {}\n       {}\n       why: {}\n       fix: {}\n",
            i.id, i.severity, i.name, i.summary, i.why, i.fix
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../harness/tests/data/lint")
            .join(path)
    }

    fn args(inputs: Vec<PathBuf>) -> LintArgs {
        LintArgs {
            inputs,
            format: LintFormat::Json,
            config: None,
            fail_on: FailOn::Error,
            group_by: Group::Rule,
            output: None,
            list_rules: false,
        }
    }

    #[test]
    fn exit_codes() {
        let samples =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sample-services/architecture.yaml");
        assert_eq!(run(args(vec![samples])), Exit::Passed);
        assert_eq!(
            run(args(vec![data("rules/PL005-broken/architecture.yaml")])),
            Exit::CheckFailed
        );
        // A warning fails only from --fail-on warning.
        let warning = data("rules/PL007-broken/architecture.yaml");
        assert_eq!(run(args(vec![warning.clone()])), Exit::Passed);
        for format in [LintFormat::Human, LintFormat::Sarif, LintFormat::Junit] {
            let a = LintArgs {
                format,
                fail_on: FailOn::Warning,
                ..args(vec![warning.clone()])
            };
            assert_eq!(run(a), Exit::CheckFailed);
        }
        // An ignored finding does not fail; a configuration error is bad input.
        let case = data("config/ignore-with-reason");
        let a = LintArgs {
            config: Some(case.join(".parley.yaml")),
            ..args(vec![case.join("architecture.yaml")])
        };
        assert_eq!(run(a), Exit::Passed);
        let a = LintArgs {
            config: Some(data("nonexistent.yaml")),
            ..args(vec![case.join("architecture.yaml")])
        };
        assert_eq!(run(a), Exit::BadInput);
        assert_eq!(run(args(vec![data("nonexistent.yaml")])), Exit::BadInput);
        assert_eq!(
            run(args(vec![data("sarif-schema-2.1.0.SOURCE.md")])),
            Exit::BadInput
        );
    }

    #[test]
    fn the_rule_list_names_every_rule() {
        let text = list_rules();
        for r in rules::REGISTRY {
            assert!(text.contains(r.info().id) && text.contains(r.info().name));
        }
    }
}
