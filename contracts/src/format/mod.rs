//! parley's own contract format: one YAML (or JSON) file per consumer–provider pair, with
//! HTTP interactions, events and inline matchers. `contracts/FORMAT.md` documents every key.
//!
//! ```yaml
//! consumer: order-service
//! provider: payment-service
//! http:
//!   - description: charge a customer
//!     given: { state: customer has funds, params: { customerId: "c-42" } }
//!     request: { method: POST, path: /api/charge, body: { amount: 1999 } }
//!     response:
//!       status: 201
//!       body: { paymentId: { $match: regex, pattern: "^pay_[0-9a-z]+$", example: pay_7f3a } }
//! ```
//!
//! Every error names the file, line and column of what is wrong and what was expected:
//! `contracts/payment.yaml:12:7: unknown key "bdy" in request (did you mean "body"? expected
//! one of: method, path, query, headers, body)`.

mod convert;
mod matchers;
pub(crate) mod path;
mod tree;

use std::path::{Path, PathBuf};

use crate::model::{Contract, Location};

pub(crate) use matchers::class_name;

/// The largest contract file parley reads.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What can be wrong with a contract file.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file is not a valid contract; `location` points at what is wrong.
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
    /// The file (or folder) cannot be read.
    #[error("{}: cannot read: {source}", .file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FormatError {
    /// Where the error is (file, and line and column when they are known).
    pub fn location(&self) -> Location {
        match self {
            FormatError::Invalid { location, .. } => location.clone(),
            FormatError::Io { file, .. } => Location {
                file: file.clone(),
                line: None,
                column: None,
            },
        }
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> String {
        match self {
            FormatError::Invalid { message, .. } => message.clone(),
            FormatError::Io { source, .. } => format!("cannot read: {source}"),
        }
    }

    fn invalid(file: &Path, position: Option<(usize, usize)>, message: impl Into<String>) -> Self {
        FormatError::Invalid {
            location: Location {
                file: file.to_path_buf(),
                line: position.map(|p| p.0),
                column: position.map(|p| p.1),
            },
            message: message.into(),
        }
    }
}

/// A file of a contracts folder: a parley contract, or a Pact file for the Pact reader.
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    Parley(Contract),
    /// A Pact file (top-level `interactions`/`messages`, `consumer: {name}`): load it with
    /// [`crate::pact`].
    Pact(PathBuf),
}

impl Document {
    pub fn contract(&self) -> Option<&Contract> {
        match self {
            Document::Parley(c) => Some(c),
            Document::Pact(_) => None,
        }
    }
}

/// Loads one parley contract file.
pub fn load_file(path: &Path) -> Result<Contract, FormatError> {
    let text = read(path)?;
    load_str(&text, path)
}

/// Loads a parley contract from text; `file` names it in errors and is the base of relative
/// schema paths.
pub fn load_str(text: &str, file: &Path) -> Result<Contract, FormatError> {
    match load(text, file)? {
        Loaded::Parley(contract) => Ok(contract),
        Loaded::Pact(position) => Err(FormatError::invalid(
            file,
            position,
            "this is a Pact file, not a parley contract: load it with the Pact reader \
             (parley reads both from a contracts folder)",
        )),
        Loaded::Schema => Err(FormatError::invalid(
            file,
            Some((1, 1)),
            "this is a JSON Schema, not a contract (a contract starts with consumer: and \
             provider:)",
        )),
    }
}

/// Loads one file of a contracts folder: a parley contract or a Pact file.
pub fn load_document(path: &Path) -> Result<Document, FormatError> {
    let text = read(path)?;
    if is_pact_json(&text) {
        return Ok(Document::Pact(path.to_path_buf()));
    }
    match load(&text, path)? {
        Loaded::Parley(contract) => Ok(Document::Parley(contract)),
        Loaded::Pact(_) => Ok(Document::Pact(path.to_path_buf())),
        Loaded::Schema => load_str(&text, path).map(Document::Parley),
    }
}

/// Loads every `*.yaml`, `*.yml` and `*.json` of a folder (not its subfolders, where schemas
/// live), in file-name order. Pact files are returned as [`Document::Pact`]; JSON Schemas
/// (a top-level `$schema` and no `consumer`) and hidden files are skipped. The first error
/// (in that order) is returned; [`load_dir_all`] returns them all.
pub fn load_dir(path: &Path) -> Result<Vec<Document>, FormatError> {
    load_dir_all(path)?
        .into_iter()
        .filter_map(|(_, result)| result.transpose())
        .collect()
}

/// One file of a folder and what loading it gave (`Ok(None)`: skipped, not a contract).
pub type FileResult = (PathBuf, Result<Option<Document>, FormatError>);

/// Like [`load_dir`], with every file's own result.
pub fn load_dir_all(path: &Path) -> Result<Vec<FileResult>, FormatError> {
    let io = |source| FormatError::Io {
        file: path.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let wanted = !name.starts_with('.')
            && [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| name.to_ascii_lowercase().ends_with(ext));
        if wanted && entry.file_type().map_err(io)?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    let results = parallel_map(&files, |file| {
        let text = read(file)?;
        if is_pact_json(&text) {
            return Ok(Some(Document::Pact(file.clone())));
        }
        Ok(match load(&text, file)? {
            Loaded::Parley(contract) => Some(Document::Parley(contract)),
            Loaded::Pact(_) => Some(Document::Pact(file.clone())),
            Loaded::Schema => None,
        })
    });
    Ok(files.into_iter().zip(results).collect())
}

/// Runs `f` over `items` on a few threads (loading is CPU-bound), keeping the order.
fn parallel_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(items.len() / 16 + 1);
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let f = &f;
                scope.spawn(move || part.iter().map(f).collect::<Vec<U>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Reads a file as UTF-8 text, refusing files too large to be a contract.
fn read(path: &Path) -> Result<String, FormatError> {
    let io = |source| FormatError::Io {
        file: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(too_large(path, size));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Err(FormatError::invalid(
                path,
                Some((line, column)),
                "not UTF-8 text (contracts are UTF-8 YAML or JSON)",
            ))
        }
    }
}

fn too_large(path: &Path, size: u64) -> FormatError {
    FormatError::invalid(
        path,
        None,
        format!(
            "too large to be a contract ({:.1} MiB; a contract file may have at most {} MiB)",
            size as f64 / (1024.0 * 1024.0),
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
}

enum Loaded {
    Parley(Contract),
    Pact(Option<(usize, usize)>),
    Schema,
}

/// Whether a text is certainly a Pact file in JSON, judged by `serde_json` without a tree: the
/// positioned YAML tree is for parley contracts, and a Pact file of 1,000 interactions would
/// pay for it only to be read again by the Pact reader. `false` leaves the verdict to [`load`]
/// (which recognises the same keys, and reports errors with positions).
fn is_pact_json(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Top {
        interactions: Option<serde::de::IgnoredAny>,
        messages: Option<serde::de::IgnoredAny>,
        consumer: Option<serde_json::Value>,
        provider: Option<serde_json::Value>,
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() as u64 > MAX_FILE_BYTES || !text.trim_start().starts_with('{') {
        return false;
    }
    let Ok(top) = serde_json::from_str::<Top>(text) else {
        return false;
    };
    let named = |v: &Option<serde_json::Value>| v.as_ref().is_some_and(|v| v.get("name").is_some());
    top.interactions.is_some()
        || top.messages.is_some()
        || named(&top.consumer)
        || named(&top.provider)
}

fn load(text: &str, file: &Path) -> Result<Loaded, FormatError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(file, text.len() as u64));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json_file = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    // JSON goes through the YAML parser too (JSON is YAML's flow style), which gives exact
    // positions; JSON's own parser speaks for JSON files with syntax errors, and takes over if
    // the YAML parser refuses a valid JSON document.
    let (root, json_positions) = match tree::parse_yaml(text) {
        Ok(root) => (root, false),
        Err(yaml_error) if !json_file => {
            return Err(FormatError::invalid(
                file,
                yaml_error.position,
                yaml_error.message,
            ));
        }
        Err(_) => match tree::parse_json(text) {
            Ok(root) => (root, true),
            Err(json_error) => {
                return Err(FormatError::invalid(
                    file,
                    json_error.position,
                    format!("not valid JSON: {}", json_error.message),
                ));
            }
        },
    };
    match convert::kind(&root) {
        convert::Kind::Pact(spot) => {
            return Ok(Loaded::Pact(tree::locate(text, &spot, json_positions)));
        }
        convert::Kind::Schema => return Ok(Loaded::Schema),
        convert::Kind::Parley => {}
    }
    let cx = convert::Cx { file };
    convert::contract(&root, &cx)
        .map(Loaded::Parley)
        .map_err(|problem| {
            let position = tree::locate(text, &problem.spot, json_positions);
            FormatError::invalid(file, position, problem.message)
        })
}

#[cfg(test)]
mod tests {
    use super::is_pact_json;

    #[test]
    fn the_fast_pact_sniff_is_sure_or_silent() {
        assert!(is_pact_json(
            r#"{"consumer":{"name":"a"},"provider":{"name":"b"},"interactions":[]}"#
        ));
        assert!(is_pact_json("\u{feff} {\"messages\": []}"));
        // A parley contract in JSON: consumer and provider are names, not objects.
        assert!(!is_pact_json(
            r#"{"consumer":"a","provider":"b","http":[]}"#
        ));
        // Broken JSON and YAML are left to the positioned parser.
        assert!(!is_pact_json(r#"{"interactions": [}"#));
        assert!(!is_pact_json("interactions: []"));
    }
}
