//! `parley export`: contracts as Pact files, for a Pact Broker or another Pact verifier.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parley_contracts::load::load_paths;
use parley_contracts::pact::file::{pact_to_string, write_losses};
use parley_contracts::{Contract, Interaction, SpecVersion};

use crate::Exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Spec {
    /// Pact V3: HTTP interactions and asynchronous messages.
    V3,
    /// Pact V4: everything parley's model holds but its own extensions.
    V4,
}

impl From<Spec> for SpecVersion {
    fn from(spec: Spec) -> Self {
        match spec {
            Spec::V3 => SpecVersion::V3,
            Spec::V4 => SpecVersion::V4,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The folder to write the Pact files to (`<consumer>-<provider>.json`), created if needed;
    /// existing files of the same name are replaced.
    #[arg(long)]
    pub to: PathBuf,
    /// The Pact specification version to write.
    #[arg(long, value_enum, default_value = "v4")]
    pub spec: Spec,
    /// Only contracts with this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Only contracts with this consumer.
    #[arg(long)]
    pub consumer: Option<String>,
    /// Contract files or folders (parley YAML/JSON or Pact files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: ExportArgs) -> Exit {
    let contracts = match load_paths(&args.paths) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let selected: Vec<&Contract> = contracts
        .iter()
        .filter(|c| args.provider.as_ref().is_none_or(|p| *p == c.provider))
        .filter(|c| args.consumer.as_ref().is_none_or(|p| *p == c.consumer))
        .collect();
    if selected.is_empty() {
        eprintln!(
            "error: no contract to export{}; the contracts given are: {}",
            filter_text(&args),
            pairs(contracts.iter())
        );
        return Exit::BadInput;
    }
    // One file per pair: two contracts for the same pair would overwrite each other.
    let mut by_file: BTreeMap<String, &Contract> = BTreeMap::new();
    for contract in &selected {
        let name = file_name(contract);
        if let Some(first) = by_file.insert(name.clone(), contract) {
            eprintln!(
                "error: {} and {} are both contracts of {} → {} (one Pact file, {name}); export \
                 them separately (--to another folder) or merge them",
                source(first),
                source(contract),
                contract.consumer,
                contract.provider
            );
            return Exit::BadInput;
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.to) {
        eprintln!("error: cannot create {}: {e}", args.to.display());
        return Exit::BadInput;
    }
    let version = SpecVersion::from(args.spec);
    for (name, contract) in by_file {
        let path = args.to.join(&name);
        if let Err(e) = std::fs::write(&path, pact_to_string(contract, version)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Exit::BadInput;
        }
        let losses = write_losses(contract, version);
        println!(
            "wrote {} ({} → {}, {} interaction(s), Pact {}{})",
            path.display(),
            contract.consumer,
            contract.provider,
            written(contract, version),
            version.pact_string(),
            if losses.is_empty() {
                String::new()
            } else {
                format!(", {} warning(s)", losses.len())
            }
        );
        for loss in losses {
            eprintln!("warning: {}: {loss}", path.display());
        }
    }
    Exit::Passed
}

/// Pact's naming convention, `<consumer>-<provider>.json`, with anything that would leave the
/// folder (a path separator) or not be a file name replaced by `_`.
fn file_name(contract: &Contract) -> String {
    let clean = |name: &str| -> String {
        let cleaned: String = name
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        match cleaned.as_str() {
            "" | "." | ".." => "_".into(),
            _ => cleaned,
        }
    };
    format!(
        "{}-{}.json",
        clean(&contract.consumer),
        clean(&contract.provider)
    )
}

/// How many interactions the file holds (before V4, synchronous messages are left out).
fn written(contract: &Contract, version: SpecVersion) -> usize {
    contract
        .interactions
        .iter()
        .filter(|i| version >= SpecVersion::V4 || !matches!(i, Interaction::SyncMessage(_)))
        .count()
}

fn source(contract: &Contract) -> String {
    contract
        .source
        .as_deref()
        .map(Path::display)
        .map_or_else(|| "a contract".into(), |p| p.to_string())
}

fn filter_text(args: &ExportArgs) -> String {
    match (&args.consumer, &args.provider) {
        (None, None) => String::new(),
        (Some(c), None) => format!(" for consumer {c:?}"),
        (None, Some(p)) => format!(" for provider {p:?}"),
        (Some(c), Some(p)) => format!(" for consumer {c:?} and provider {p:?}"),
    }
}

fn pairs<'a>(contracts: impl Iterator<Item = &'a Contract>) -> String {
    let mut pairs: Vec<String> = contracts
        .map(|c| format!("{} → {}", c.consumer, c.provider))
        .collect();
    pairs.sort();
    pairs.dedup();
    if pairs.is_empty() {
        "none (no contract found)".into()
    } else {
        pairs.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(consumer: &str, provider: &str) -> Contract {
        Contract {
            consumer: consumer.into(),
            provider: provider.into(),
            ..Contract::default()
        }
    }

    #[test]
    fn files_follow_pacts_naming_and_stay_in_the_folder() {
        assert_eq!(
            file_name(&contract("order-service", "payment-service")),
            "order-service-payment-service.json"
        );
        assert_eq!(file_name(&contract("../a", "b/c")), ".._a-b_c.json");
        assert_eq!(file_name(&contract("..", "")), "_-_.json");
    }
}
