//! Loading contracts from what a user points at: files or folders, each file a parley contract
//! (YAML or JSON) or a Pact file (V1–V4), recognised by its content, not its name.

use std::path::{Path, PathBuf};

use crate::format::{self, Document, FormatError};
use crate::model::Contract;
use crate::pact::{PactError, file::read_pact};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Pact(#[from] PactError),
    #[error("{}: no such file or folder", .0.display())]
    Missing(PathBuf),
}

/// Every contract in `paths`: files as given, folders' `*.yaml`/`*.yml`/`*.json` files in name
/// order (files that are neither contract nor Pact, such as JSON Schemas, are passed over).
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Contract>, LoadError> {
    let mut contracts = Vec::new();
    for path in paths {
        if path.is_dir() {
            for document in format::load_dir(path)? {
                contracts.push(resolve(document)?);
            }
        } else if path.is_file() {
            contracts.push(resolve(format::load_document(path)?)?);
        } else {
            return Err(LoadError::Missing(path.clone()));
        }
    }
    Ok(contracts)
}

/// One file, parley or Pact.
pub fn load_path(path: &Path) -> Result<Contract, LoadError> {
    if !path.is_file() {
        return Err(LoadError::Missing(path.to_path_buf()));
    }
    resolve(format::load_document(path)?)
}

fn resolve(document: Document) -> Result<Contract, LoadError> {
    match document {
        Document::Parley(contract) => Ok(contract),
        Document::Pact(file) => Ok(read_pact(&file)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sample-services/contracts")
    }

    #[test]
    fn loads_a_folder_of_parley_contracts_and_a_pact_file() {
        let pact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/pacts");
        let mut paths = vec![samples()];
        let first_pact = std::fs::read_dir(&pact)
            .expect("pact data")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .min()
            .expect("a pact file");
        paths.push(first_pact);
        let contracts = load_paths(&paths).expect("loads");
        assert!(contracts.len() >= 10, "{}", contracts.len());
        assert!(contracts.iter().any(|c| c.provider == "payment-service"));
    }

    #[test]
    fn a_missing_path_is_named() {
        let err = load_paths(&[PathBuf::from("/nonexistent/contracts")]).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "/nonexistent/contracts: no such file or folder"
        );
    }
}
