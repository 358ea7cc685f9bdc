//! JSON Schema for event payloads: compile once, validate many.
//!
//! [`CompiledSchema::compile`] builds a validator from a [`PayloadSchema`]: the draft comes from
//! `$schema` (2020-12 when absent; 2019-09, 7, 6 and 4 too), the schema is checked against its
//! meta-schema, and `$ref`s to other files resolve relative to the schema's own file (JSON or
//! YAML; nothing is fetched over a network). `format` is asserted, not just annotated: a
//! consumer that writes `"format": "date-time"` relies on it.
//!
//! Compiled validators are cached by file and document, so the loader (which compiles every
//! schema to reject invalid ones) and the verifier (which validates payloads) compile each
//! schema once per process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::Value;

use crate::model::PayloadSchema;

/// The largest schema file read (referenced or not).
pub const MAX_SCHEMA_BYTES: u64 = 4 * 1024 * 1024;

/// A JSON Schema draft parley understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaDraft {
    Draft4,
    Draft6,
    Draft7,
    Draft201909,
    Draft202012,
}

impl SchemaDraft {
    /// The draft a schema document declares with `$schema` (2020-12 when it declares none).
    pub fn of(document: &Value) -> Result<SchemaDraft, String> {
        let Some(declared) = document.get("$schema") else {
            return Ok(SchemaDraft::Draft202012);
        };
        let Some(uri) = declared.as_str() else {
            return Err("$schema must be a string (the meta-schema's URI)".to_string());
        };
        let uri = uri.trim_end_matches('#');
        Ok(if uri.contains("draft/2020-12") {
            SchemaDraft::Draft202012
        } else if uri.contains("draft/2019-09") {
            SchemaDraft::Draft201909
        } else if uri.contains("draft-07") {
            SchemaDraft::Draft7
        } else if uri.contains("draft-06") {
            SchemaDraft::Draft6
        } else if uri.contains("draft-04") {
            SchemaDraft::Draft4
        } else {
            return Err(format!(
                "unknown $schema {uri:?} (expected draft 2020-12, 2019-09, 7, 6 or 4, e.g. \
                 https://json-schema.org/draft/2020-12/schema)"
            ));
        })
    }

    /// `2020-12`, `7`, …
    pub fn name(self) -> &'static str {
        match self {
            SchemaDraft::Draft4 => "4",
            SchemaDraft::Draft6 => "6",
            SchemaDraft::Draft7 => "7",
            SchemaDraft::Draft201909 => "2019-09",
            SchemaDraft::Draft202012 => "2020-12",
        }
    }

    fn jsonschema(self) -> Draft {
        match self {
            SchemaDraft::Draft4 => Draft::Draft4,
            SchemaDraft::Draft6 => Draft::Draft6,
            SchemaDraft::Draft7 => Draft::Draft7,
            SchemaDraft::Draft201909 => Draft::Draft201909,
            SchemaDraft::Draft202012 => Draft::Draft202012,
        }
    }
}

/// One way a payload fails its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON Pointer into the payload (`/items/0/qty`; empty for the whole payload).
    pub instance_path: String,
    /// JSON Pointer to the failing keyword, from the schema's root through any `$ref`s
    /// (`/properties/items/$ref/items/required`).
    pub schema_path: String,
    /// What is wrong (`"qty" is a required property`).
    pub message: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.instance_path.is_empty() {
            "/"
        } else {
            &self.instance_path
        };
        write!(f, "{at}: {} (schema {})", self.message, self.schema_path)
    }
}

/// A schema that cannot be used: not JSON Schema, a `$ref` that does not resolve, an unknown
/// draft, or a file that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", file_prefix(.file))]
pub struct InvalidSchema {
    /// The schema's file (for inline schemas, the contract's).
    pub file: Option<PathBuf>,
    pub message: String,
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!("{}: ", f.display()))
        .unwrap_or_default()
}

/// A schema ready to validate payloads. Cheap to clone.
#[derive(Clone)]
pub struct CompiledSchema {
    validator: Arc<Validator>,
    draft: SchemaDraft,
    file: Option<PathBuf>,
}

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("draft", &self.draft)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl CompiledSchema {
    /// Compiles a contract's payload schema (relative `$ref`s resolve against its file).
    pub fn compile(schema: &PayloadSchema) -> Result<CompiledSchema, InvalidSchema> {
        CompiledSchema::compile_document(&schema.document, schema.file.as_deref())
    }

    /// Compiles a schema document; `file` is where it lives (the base of relative `$ref`s).
    pub fn compile_document(
        document: &Value,
        file: Option<&Path>,
    ) -> Result<CompiledSchema, InvalidSchema> {
        let invalid = |message: String| InvalidSchema {
            file: file.map(Path::to_path_buf),
            message,
        };
        let draft = SchemaDraft::of(document).map_err(invalid)?;
        if !document.is_object() && !document.is_boolean() {
            return Err(invalid(format!(
                "a JSON Schema is an object (or true/false), not {}",
                json_kind(document)
            )));
        }
        let key = CacheKey {
            file: file.map(Path::to_path_buf),
            draft,
        };
        if let Some(validator) = cache_get(&key, document) {
            return Ok(CompiledSchema {
                validator,
                draft,
                file: key.file,
            });
        }
        let mut options = jsonschema::options()
            .with_draft(draft.jsonschema())
            .should_validate_formats(true)
            .with_retriever(LocalFiles);
        if let Some(file) = file {
            options = options.with_base_uri(file_uri(file));
        }
        let validator = options.build(document).map_err(|e| {
            let at = e.instance_path().to_string();
            let message = e.to_string();
            if at.is_empty() {
                invalid(format!("not a valid JSON Schema: {message}"))
            } else {
                invalid(format!("not a valid JSON Schema: at {at}: {message}"))
            }
        })?;
        let validator = Arc::new(validator);
        cache_put(key.clone(), document, Arc::clone(&validator));
        Ok(CompiledSchema {
            validator,
            draft,
            file: key.file,
        })
    }

    /// Every way `payload` fails the schema; empty when it satisfies it.
    pub fn validate(&self, payload: &Value) -> Vec<SchemaError> {
        if self.validator.is_valid(payload) {
            return Vec::new();
        }
        self.validator
            .iter_errors(payload)
            .map(|e| SchemaError {
                instance_path: e.instance_path().to_string(),
                schema_path: e.evaluation_path().to_string(),
                message: e.to_string(),
            })
            .collect()
    }

    /// Whether `payload` satisfies the schema (the fast path of [`validate`](Self::validate)).
    pub fn is_valid(&self, payload: &Value) -> bool {
        self.validator.is_valid(payload)
    }

    pub fn draft(&self) -> SchemaDraft {
        self.draft
    }

    /// The schema's file, if it has one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

/// Reads a schema file: JSON, or YAML for `.yaml`/`.yml`.
pub fn read_schema_file(path: &Path) -> Result<Value, InvalidSchema> {
    read_document(path).map_err(|message| InvalidSchema {
        file: Some(path.to_path_buf()),
        message,
    })
}

fn read_document(path: &Path) -> Result<Value, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if size > MAX_SCHEMA_BYTES {
        return Err(format!(
            "too large ({} bytes; a schema file may have at most {MAX_SCHEMA_BYTES})",
            size
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if yaml {
        serde_norway::from_str::<Value>(&text).map_err(|e| match e.location() {
            Some(l) => format!("{}:{}: not valid YAML: {e}", l.line(), l.column()),
            None => format!("not valid YAML: {e}"),
        })
    } else {
        serde_json::from_str::<Value>(&text).map_err(|e| {
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            format!("{}:{}: not valid JSON: {message}", e.line(), e.column())
        })
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `file:///abs/path%20with%20spaces/schema.json`
fn file_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file://");
    let text = absolute.to_string_lossy().replace('\\', "/");
    if !text.starts_with('/') {
        uri.push('/');
    }
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                uri.push(byte as char)
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri
}

fn percent_decode(text: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolves `$ref`s to local files only (JSON or YAML); never the network.
struct LocalFiles;

impl Retrieve for LocalFiles {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.scheme().as_str() != "file" {
            return Err(format!(
                "{uri} is not a local file: parley resolves $refs to files next to the schema \
                 and never fetches schemas over a network"
            )
            .into());
        }
        let path = PathBuf::from(percent_decode(uri.path().as_str()));
        read_document(&path).map_err(|message| format!("{}: {message}", path.display()).into())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CacheKey {
    file: Option<PathBuf>,
    draft: SchemaDraft,
}

type Cache = HashMap<CacheKey, Vec<(Value, Arc<Validator>)>>;

/// Compiled validators by file and draft, each with the document it was compiled from.
fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// At most this many documents are kept (a long-running process that reloads changing schemas
/// starts over when it is reached).
const CACHE_LIMIT: usize = 512;

fn cache_get(key: &CacheKey, document: &Value) -> Option<Arc<Validator>> {
    let cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    cache
        .get(key)?
        .iter()
        .find(|(d, _)| d == document)
        .map(|(_, v)| Arc::clone(v))
}

fn cache_put(key: CacheKey, document: &Value, validator: Arc<Validator>) {
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    let size: usize = cache.values().map(Vec::len).sum();
    if size >= CACHE_LIMIT {
        cache.clear();
    }
    cache
        .entry(key)
        .or_default()
        .push((document.clone(), validator));
}

/// What a reviewer wants to know of a schema at a glance: its draft and the top-level required
/// properties with their declared types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaSummary {
    pub draft: Option<SchemaDraft>,
    /// `(name, type)`; the type when the schema states one simply (`"type": "integer"`).
    pub required: Vec<(String, Option<String>)>,
}

impl SchemaSummary {
    pub fn of(document: &Value) -> SchemaSummary {
        let draft = SchemaDraft::of(document).ok();
        let properties = document.get("properties").and_then(Value::as_object);
        let required = document
            .get("required")
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|name| {
                        let ty = properties
                            .and_then(|p| p.get(name))
                            .and_then(|p| p.get("type"))
                            .and_then(|t| match t {
                                Value::String(s) => Some(s.clone()),
                                Value::Array(types) => Some(
                                    types
                                        .iter()
                                        .filter_map(Value::as_str)
                                        .collect::<Vec<_>>()
                                        .join("|"),
                                ),
                                _ => None,
                            });
                        (name.to_string(), ty)
                    })
                    .collect()
            })
            .unwrap_or_default();
        SchemaSummary { draft, required }
    }
}
