//! Pact interop: Pact files (V1–V4) to and from the model, matching rules in Pact's layouts,
//! and the Pact specification's own test cases.

pub mod body;
pub mod file;
pub mod rules;
pub mod spec_case;

use std::path::PathBuf;

/// What can be wrong with a Pact document. `at` is the JSON path inside the document
/// (`interactions[2].request.matchingRules.body.$.id`), `file` the file when there is one.
#[derive(Debug, thiserror::Error)]
pub enum PactError {
    #[error("{}{at}: {message}", file_prefix(.file))]
    Invalid {
        file: Option<PathBuf>,
        at: String,
        message: String,
    },
    #[error("{}line {line}, column {column}: not valid JSON: {message}", file_prefix(.file))]
    Syntax {
        file: Option<PathBuf>,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cannot read {}: {source}", .file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!("{}: ", f.display()))
        .unwrap_or_default()
}

impl PactError {
    /// An error at `at` in the document (the file is added by whoever knows it).
    pub fn invalid(at: impl Into<String>, message: impl Into<String>) -> Self {
        PactError::Invalid {
            file: None,
            at: at.into(),
            message: message.into(),
        }
    }

    /// The same error, naming the file.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        match self {
            PactError::Invalid { at, message, .. } => PactError::Invalid {
                file: Some(path),
                at,
                message,
            },
            PactError::Syntax {
                line,
                column,
                message,
                ..
            } => PactError::Syntax {
                file: Some(path),
                line,
                column,
                message,
            },
            other => other,
        }
    }
}
