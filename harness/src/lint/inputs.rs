//! Inputs: what kind each file is (from its content, never its name), the importers that turn
//! them into [`ServiceGraph`]s, and loading files and folders into one merged graph.
//!
//! To add a kind of input (AsyncAPI, Backstage, OTLP JSON lines, …): implement [`Importer`] and
//! add it to [`Registry::standard`]. Order matters only when two importers could claim the same
//! document: the first that sniffs it wins.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::graph::ServiceGraph;
use super::{ErrorKind, InputInfo, LintError};

/// One input file: its path, its text, and its YAML/JSON documents, parsed on first use.
pub struct Document<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    values: OnceCell<Option<Vec<Value>>>,
}

impl<'a> Document<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        Document {
            path,
            text: text.strip_prefix('\u{feff}').unwrap_or(text),
            values: OnceCell::new(),
        }
    }

    /// Every YAML document of the text (a JSON text is one), as JSON values; `None` when the
    /// text is not YAML at all (e.g. JSON lines, or broken YAML). Parsed once, on first use,
    /// and the whole text: a sniffer that can decide from a look at the text should.
    pub fn values(&self) -> Option<&[Value]> {
        self.values
            .get_or_init(|| {
                let mut docs = Vec::new();
                for de in serde_norway::Deserializer::from_str(self.text) {
                    docs.push(Value::deserialize(de).ok()?);
                }
                Some(docs)
            })
            .as_deref()
    }

    /// The first document, when the text is YAML or JSON.
    pub fn value(&self) -> Option<&Value> {
        self.values().and_then(|v| v.first())
    }

    /// A top-level key of the first document.
    pub fn top(&self, key: &str) -> Option<&Value> {
        self.value().and_then(|v| v.get(key))
    }
}

/// A kind of input that becomes a service graph.
pub trait Importer: Send + Sync {
    /// What this input is called in messages and reports (`parley architecture`, `AsyncAPI 3`).
    fn kind(&self) -> &'static str;

    /// Whether the document is of this kind, judged from its content: a marker key
    /// (`asyncapi: 3.0.0`, `apiVersion: backstage.io/v1alpha1`), the shape of its first line.
    /// Cheap, and never an error: a broken document that carries this kind's marker should
    /// sniff as this kind, so that [`Importer::import`] can say what is wrong with it.
    fn sniff(&self, doc: &Document<'_>) -> bool;

    /// Turns the document into a graph. Every element should carry its location (see
    /// [`super::yaml::index`]) or, for observed elements, its trace IDs. A document that is not
    /// what it claims is an error with its location ([`ErrorKind::Invalid`]).
    fn import(&self, doc: &Document<'_>) -> Result<ServiceGraph, LintError>;
}

/// The importers `parley lint` knows.
pub struct Registry {
    importers: Vec<Box<dyn Importer>>,
}

impl Registry {
    /// No importer at all (tests, embedders that bring their own).
    pub fn empty() -> Self {
        Registry {
            importers: Vec::new(),
        }
    }

    /// Every importer parley ships: the one place a new kind of input is added.
    pub fn standard() -> Self {
        let mut r = Registry::empty();
        r.register(Box::new(super::observed::OtlpTraces));
        r.register(Box::new(super::arch_yaml::ArchitectureYaml));
        r.register(Box::new(super::asyncapi::AsyncApi));
        r.register(Box::new(super::backstage::Backstage));
        r.register(Box::new(super::microtosca::MicroTosca));
        r
    }

    pub fn register(&mut self, importer: Box<dyn Importer>) {
        self.importers.push(importer);
    }

    /// The importer that claims the document.
    pub fn recognise(&self, doc: &Document<'_>) -> Option<&dyn Importer> {
        self.importers
            .iter()
            .find(|i| i.sniff(doc))
            .map(|i| i.as_ref())
    }

    /// The kinds of input known, for messages.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.importers.iter().map(|i| i.kind()).collect()
    }
}

/// The inputs of a run, merged.
#[derive(Debug, Default)]
pub struct Loaded {
    pub graph: ServiceGraph,
    pub inputs: Vec<InputInfo>,
    /// Files in folders that no importer claimed.
    pub skipped: Vec<PathBuf>,
}

/// Extensions of the files looked at inside folders (a file named on the command line is read
/// whatever its name).
const FOLDER_EXTENSIONS: [&str; 5] = ["yaml", "yml", "json", "jsonl", "ndjson"];

/// Reads files and folders, recognises each file's kind, imports and merges them. A file named
/// directly must be of a known kind; in a folder, files of no known kind are skipped. The
/// merged graph must describe at least one service, and every name it refers to must be
/// described.
pub fn load(paths: &[PathBuf], registry: &Registry) -> Result<Loaded, LintError> {
    let mut loaded = Loaded::default();
    let mut looked_at = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| LintError::in_file(ErrorKind::Io, path, format!("cannot read: {e}")))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)?;
            for file in files {
                looked_at.push(file.clone());
                if !load_file(&file, registry, &mut loaded, false)? {
                    loaded.skipped.push(file);
                }
            }
        } else {
            looked_at.push(path.clone());
            load_file(path, registry, &mut loaded, true)?;
        }
    }
    if loaded.inputs.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let mut e = LintError::new(
            ErrorKind::Empty,
            format!(
                "nothing to lint: no {} in {} ({} file(s) looked at)",
                registry.kinds().join(", no "),
                names.join(", "),
                looked_at.len()
            ),
        );
        e.file = paths.first().cloned();
        return Err(e);
    }
    if loaded.graph.is_empty() {
        let names: Vec<String> = loaded
            .inputs
            .iter()
            .map(|i| i.path.display().to_string())
            .collect();
        let mut e = LintError::new(
            ErrorKind::Empty,
            format!(
                "nothing to lint: {} describe(s) no service",
                names.join(", ")
            ),
        );
        e.file = loaded.inputs.first().map(|i| i.path.clone());
        return Err(e);
    }
    loaded.graph.validate()?;
    Ok(loaded)
}

/// Loads one file; `Ok(false)` when no importer claims it and `strict` is off.
fn load_file(
    path: &Path,
    registry: &Registry,
    loaded: &mut Loaded,
    strict: bool,
) -> Result<bool, LintError> {
    let bytes = std::fs::read(path)
        .map_err(|e| LintError::in_file(ErrorKind::Io, path, format!("cannot read: {e}")))?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) if !strict => return Ok(false),
        Err(_) => {
            return Err(LintError::in_file(
                ErrorKind::UnknownInput,
                path,
                "not UTF-8 text: not an input parley lint knows",
            ));
        }
    };
    let doc = Document::new(path, &text);
    let Some(importer) = registry.recognise(&doc) else {
        if !strict {
            return Ok(false);
        }
        return Err(LintError::in_file(
            ErrorKind::UnknownInput,
            path,
            format!(
                "not an input parley lint knows (known: {}); a parley architecture description starts with `parley: architecture/v1`, an AsyncAPI document with `asyncapi: 3.0.0` (or 2.x), a Backstage catalog file with `apiVersion: backstage.io/v1alpha1`, a microTOSCA model with `tosca_definitions_version: micro_tosca_yaml_1.1`",
                registry.kinds().join(", ")
            ),
        ));
    };
    let graph = importer.import(&doc)?;
    loaded.graph.merge(graph);
    loaded.inputs.push(InputInfo {
        path: path.to_path_buf(),
        kind: importer.kind(),
    });
    Ok(true)
}

/// Files under a folder, sorted, hidden entries and build folders left out.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LintError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| LintError::in_file(ErrorKind::Io, dir, format!("cannot read: {e}")))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| FOLDER_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
    Ok(())
}
