//! `parley diff OLD NEW`: what changed between two versions of contracts, breaking or safe.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use parley_contracts::diff::{ContractDiff, Verdict, diff_sets};
use parley_contracts::load::load_paths;

use crate::Exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The contracts before (a file or a folder).
    pub old: PathBuf,
    /// The contracts after (a file or a folder).
    pub new: PathBuf,
    #[arg(long, value_enum, default_value = "human")]
    pub format: DiffFormat,
}

pub fn run(args: DiffArgs) -> Exit {
    let load = |p: &PathBuf| load_paths(std::slice::from_ref(p));
    let (old, new) = match (load(&args.old), load(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let diffs = diff_sets(&old, &new);
    match args.format {
        DiffFormat::Human => print!("{}", human(&diffs, std::io::stdout().is_terminal())),
        DiffFormat::Json => println!("{}", json(&diffs)),
    }
    if diffs.iter().any(ContractDiff::is_breaking) {
        Exit::CheckFailed
    } else {
        Exit::Passed
    }
}

fn human(diffs: &[ContractDiff], color: bool) -> String {
    let paint = |code: &str, t: &str| {
        if color {
            format!("\x1b[{code}m{t}\x1b[0m")
        } else {
            t.to_string()
        }
    };
    let mut out = String::new();
    let (mut breaking, mut safe) = (0, 0);
    let mut by_consumer: BTreeMap<&str, Vec<&ContractDiff>> = BTreeMap::new();
    for d in diffs.iter().filter(|d| !d.changes.is_empty()) {
        by_consumer.entry(d.consumer.as_str()).or_default().push(d);
    }
    for (consumer, diffs) in by_consumer {
        out.push_str(&paint("1", &format!("consumer {consumer}\n")));
        for d in diffs {
            out.push_str(&format!("  provider {}\n", d.provider));
            for c in &d.changes {
                let mark = match c.verdict {
                    Verdict::Breaking => {
                        breaking += 1;
                        paint("31", "✗ breaking")
                    }
                    Verdict::Safe => {
                        safe += 1;
                        paint("32", "✓ safe    ")
                    }
                };
                let scope = if c.interaction.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", c.interaction)
                };
                out.push_str(&format!(
                    "    {mark} {scope}{}\n               {}\n",
                    c.what,
                    paint("90", &c.why)
                ));
            }
        }
    }
    if breaking + safe == 0 {
        out.push_str("no changes\n");
    } else {
        out.push_str(&format!("\n{breaking} breaking, {safe} safe change(s)\n"));
    }
    out
}

fn json(diffs: &[ContractDiff]) -> String {
    let changes: Vec<serde_json::Value> = diffs
        .iter()
        .flat_map(|d| {
            d.changes.iter().map(move |c| {
                serde_json::json!({
                    "consumer": d.consumer,
                    "provider": d.provider,
                    "interaction": c.interaction,
                    "verdict": c.verdict.name(),
                    "what": c.what,
                    "why": c.why,
                })
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "changes": changes })).unwrap_or_default()
}
