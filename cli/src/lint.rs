//! `parley lint [--format human|json|sarif|junit] [--config FILE] [--fail-on SEVERITY]
//! [--nats-url URL [--probe --service NAME=URL… --probe-timeout 5s]] INPUTS…`: wires
//! `parley_harness::lint` to argv, the terminal and the exit code.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use parley_harness::lint::live::{Live, lint_live};
use parley_harness::lint::probe::{ProbeOptions, Verdict};
use parley_harness::lint::report::{self, GroupBy, HumanOptions};
use parley_harness::lint::{self, Config, ErrorKind, LintError, Severity, rules};

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
    /// (a parley architecture.yaml starts with `parley: architecture/v1`). May be left out with
    /// --nats-url (the broker's view alone).
    #[arg(required_unless_present_any = ["list_rules", "nats_url"])]
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
    /// A live NATS server: its durable JetStream consumers are read and judged too (unbounded
    /// redelivery, no ack: PL001, PL014, each finding saying which server and consumer). With
    /// --probe, also where the probes publish. Unreachable: exit 3.
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
    /// Run the active probes the descriptions declare (`probe:` on a consumer) against the
    /// running system: the same event delivered twice must change the consumer's state once
    /// (else PL002), a poison message must reach its DLQ (else PL001). Needs --nats-url and a
    /// --service for each service whose state a probe reads. Probes publish real events: use a
    /// test system.
    #[arg(long, requires = "nats_url")]
    pub probe: bool,
    /// A service's base URL for the probes' state queries, e.g.
    /// `--service payment-service=http://127.0.0.1:8081` (repeatable).
    #[arg(long = "service", value_name = "NAME=URL", value_parser = parse_service)]
    pub services: Vec<(String, String)>,
    /// The longest wait of each probe step (an acknowledgement, a state settling, a poison
    /// message reaching its DLQ): `5s`, `800ms`, or seconds.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub probe_timeout: Duration,
}

fn parse_service(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, url)) if !name.trim().is_empty() && url.starts_with("http") => {
            Ok((name.trim().to_string(), url.trim().to_string()))
        }
        _ => Err(format!(
            "`{s}`: write NAME=URL, e.g. payment-service=http://127.0.0.1:8081"
        )),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * scale <= 3600.0 => {
            Ok(Duration::from_secs_f64(v * scale))
        }
        _ => Err(format!(
            "`{s}` is not a duration such as 5s or 800ms (at most an hour)"
        )),
    }
}

pub async fn run(args: LintArgs) -> Exit {
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
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}", show_error(&e, &base));
            return Exit::BadInput;
        }
    };
    let result = if args.nats_url.is_some() {
        let live = Live {
            nats_url: args.nats_url.clone(),
            probe: args.probe,
            services: args.services.iter().cloned().collect::<BTreeMap<_, _>>(),
            probe_options: ProbeOptions {
                timeout: args.probe_timeout,
                ..ProbeOptions::default()
            },
        };
        lint_live(&args.inputs, &config, &live).await.map(|l| {
            for p in &l.probes {
                let mark = match p.verdict {
                    Verdict::Passed => "ok",
                    Verdict::Failed(_) => "FAILED",
                    Verdict::Inconclusive(_) => "??",
                };
                eprintln!("probe {mark}: {p}");
            }
            l.report
        })
    } else {
        lint::lint_paths(&args.inputs, &config)
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", show_error(&e, &base));
            return match e.kind {
                ErrorKind::Unreachable => Exit::Infrastructure,
                _ => Exit::BadInput,
            };
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
            nats_url: None,
            probe: false,
            services: Vec::new(),
            probe_timeout: Duration::from_secs(5),
        }
    }

    fn run(a: LintArgs) -> Exit {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(super::run(a))
    }

    #[test]
    fn durations_and_services_parse() {
        assert_eq!(parse_duration("800ms"), Ok(Duration::from_millis(800)));
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("soon").is_err() && parse_duration("0s").is_err());
        assert_eq!(
            parse_service("payment-service=http://127.0.0.1:1"),
            Ok(("payment-service".into(), "http://127.0.0.1:1".into()))
        );
        assert!(parse_service("payment-service").is_err());
    }

    #[test]
    fn an_unreachable_nats_server_is_exit_3() {
        let samples =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sample-services/architecture.yaml");
        let a = LintArgs {
            nats_url: Some("nats://127.0.0.1:1".into()),
            ..args(vec![samples])
        };
        assert_eq!(run(a), Exit::Infrastructure);
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
