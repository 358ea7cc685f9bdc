//! `$ref` resolution: local (`#/components/messages/X`), relative files
//! (`../common/messages.yaml#/commentLiked`, relative to the referring file), JSON-pointer
//! escapes (`~1` for `/`, `~0` for `~`, and URI percent-escapes such as `%7B`).
//!
//! It works in two phases so that every file's text outlives the position indexes borrowing
//! it: [`Store::discover`] reads the root and, transitively, every file a `$ref` names
//! (recording a missing or broken file instead of failing, since only a `$ref` that is
//! followed knows where the error is); [`Refs::new`] then indexes the positions of every file.
//! [`Refs::check_all`] follows every `$ref` of every file read, so that a dangling reference
//! (missing file, missing pointer) or a cycle of references is an error at the `$ref` that
//! leads to it, wherever it is. Remote references (`https://…`) are not fetched: they are left
//! alone in schemas, and an error where the importer needs what they point at.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::pointer::{is_remote, normalise, pointer_of, pointer_tokens, relative_to, split};
use crate::lint::graph::Location;
use crate::lint::yaml::{self, Positions, child, item};
use crate::lint::{ErrorKind, LintError};

/// A file read for a document: the root, or one a `$ref` names.
pub(super) struct File<'a> {
    pub path: PathBuf,
    content: Result<(Cow<'a, str>, Cow<'a, Value>), Problem>,
}

/// Why a referenced file cannot be used.
#[derive(Clone)]
enum Problem {
    /// It cannot be read (missing, a folder, not UTF-8).
    Unreadable(String),
    /// It is not YAML or JSON.
    Broken(LintError),
}

/// The root document and every file its `$ref`s reach.
pub(super) struct Store<'a> {
    files: Vec<File<'a>>,
    by_path: HashMap<PathBuf, usize>,
}

impl<'a> Store<'a> {
    /// Reads, from the root, every file a `$ref` names, transitively.
    pub fn discover(root: &Path, text: &'a str, value: &'a Value) -> Self {
        let mut store = Store {
            files: vec![File {
                path: root.to_path_buf(),
                content: Ok((Cow::Borrowed(text), Cow::Borrowed(value))),
            }],
            by_path: HashMap::new(),
        };
        store.by_path.insert(normalise(root), 0);
        let mut next = 0;
        while next < store.files.len() {
            let mut named = Vec::new();
            if let Ok((_, v)) = &store.files[next].content {
                collect_refs(v, &mut named);
            }
            let base = store.files[next].path.clone();
            for r in named {
                let (file, _) = split(&r);
                if file.is_empty() || is_remote(file) {
                    continue;
                }
                let path = normalise(&relative_to(&base, file));
                if !store.by_path.contains_key(&path) {
                    let content = read(&path);
                    store.by_path.insert(path.clone(), store.files.len());
                    store.files.push(File { path, content });
                }
            }
            next += 1;
        }
        store
    }
}

fn read(path: &Path) -> Result<(Cow<'static, str>, Cow<'static, Value>), Problem> {
    let text = std::fs::read_to_string(path).map_err(|e| Problem::Unreadable(e.to_string()))?;
    let value: Value =
        serde_norway::from_str(&text).map_err(|e| Problem::Broken(yaml::yaml_error(path, &e)))?;
    Ok((Cow::Owned(text), Cow::Owned(value)))
}

/// Every `$ref` string under a value.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// A node of one of the files: its value and its path inside its document.
#[derive(Clone, Debug)]
pub(super) struct Node<'s> {
    pub file: usize,
    pub value: &'s Value,
    pub path: String,
}

impl<'s> Node<'s> {
    /// The entry `key` of this mapping node.
    pub fn get(&self, key: &str) -> Option<Node<'s>> {
        self.value.get(key).map(|v| Node {
            file: self.file,
            value: v,
            path: child(&self.path, key),
        })
    }

    /// The entries of a mapping node, in document order.
    pub fn entries(&self) -> Vec<(&'s str, Node<'s>)> {
        match self.value {
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str(),
                        Node {
                            file: self.file,
                            value: v,
                            path: child(&self.path, k),
                        },
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The `$ref` of a reference object.
    pub fn reference(&self) -> Option<&'s Value> {
        self.value.as_object().and_then(|m| m.get("$ref"))
    }
}

/// The files of a document with their positions: resolves `$ref`s and locates nodes.
pub(super) struct Refs<'s> {
    store: &'s Store<'s>,
    positions: Vec<Result<Positions<'s>, Problem>>,
}

impl<'s> Refs<'s> {
    /// Indexes the positions of every file read; a YAML error in the root is an error here, one
    /// in a referenced file when a `$ref` leads to it.
    pub fn new(store: &'s Store<'s>) -> Result<Self, LintError> {
        let mut positions = Vec::with_capacity(store.files.len());
        for (i, f) in store.files.iter().enumerate() {
            let p = match &f.content {
                Ok((text, _)) => yaml::index(&f.path, text).map_err(Problem::Broken),
                Err(p) => Err(p.clone()),
            };
            if i == 0
                && let Err(Problem::Broken(e)) = p
            {
                return Err(e);
            }
            positions.push(p);
        }
        Ok(Refs { store, positions })
    }

    /// The root node of the document.
    pub fn root(&self) -> Node<'s> {
        let value = match &self.store.files[0].content {
            Ok((_, v)) => v.as_ref(),
            Err(_) => &Value::Null,
        };
        Node {
            file: 0,
            value,
            path: String::new(),
        }
    }

    pub fn path_of(&self, file: usize) -> &'s Path {
        &self.store.files[file].path
    }

    /// Where a node is (its nearest written ancestor when it is not written itself).
    pub fn locate(&self, node: &Node<'_>) -> Location {
        self.locate_path(node.file, &node.path)
    }

    pub fn locate_path(&self, file: usize, path: &str) -> Location {
        match &self.positions[file] {
            Ok(p) => p.locate(path),
            Err(_) => Location::new(self.path_of(file), 0, 0, path),
        }
    }

    /// An invalid-document error at a node.
    pub fn invalid(&self, node: &Node<'_>, message: impl Into<String>) -> LintError {
        LintError::at(ErrorKind::Invalid, &self.locate(node), message)
    }

    /// Follows a node's `$ref`s (a chain of them) to what they point at; a node that is not a
    /// reference is itself.
    pub fn resolve(&self, node: Node<'s>) -> Result<Node<'s>, LintError> {
        self.follow(node, false)
    }

    fn follow(&self, node: Node<'s>, leave_remote: bool) -> Result<Node<'s>, LintError> {
        let first = node.clone();
        let mut chain: Vec<(usize, String)> = Vec::new();
        let mut at = node;
        while let Some(r) = at.reference() {
            let ref_node = Node {
                file: at.file,
                value: r,
                path: child(&at.path, "$ref"),
            };
            let Some(reference) = r.as_str() else {
                return Err(self.invalid(&ref_node, "`$ref` must be a string (a URI reference)"));
            };
            let (file, pointer) = split(reference);
            if is_remote(file) {
                if leave_remote {
                    return Ok(at);
                }
                return Err(self.invalid(
                    &ref_node,
                    format!("`$ref: {reference}` is remote: parley lint does not fetch it (copy it next to the document and refer to the copy)"),
                ));
            }
            let target_file = if file.is_empty() {
                at.file
            } else {
                let path = normalise(&relative_to(self.path_of(at.file), file));
                match self.store.by_path.get(&path) {
                    Some(&i) => i,
                    None => {
                        return Err(self.invalid(
                            &ref_node,
                            format!(
                                "`$ref: {reference}`: the file {} was not read",
                                path.display()
                            ),
                        ));
                    }
                }
            };
            let key = (target_file, pointer.to_string());
            if chain.contains(&key) || (key.0 == first.file && pointer_is(&first, pointer)) {
                chain.push(key);
                let names: Vec<String> =
                    std::iter::once(self.describe(first.file, &pointer_of(&first.path)))
                        .chain(chain.iter().map(|(f, p)| self.describe(*f, p)))
                        .collect();
                return Err(self.invalid(
                    &Node {
                        path: child(&first.path, "$ref"),
                        ..first.clone()
                    },
                    format!("`$ref`s form a cycle: {}", names.join(" → ")),
                ));
            }
            chain.push(key);
            at = self.pointer(&ref_node, reference, target_file, pointer)?;
        }
        Ok(at)
    }

    fn describe(&self, file: usize, pointer: &str) -> String {
        let name = self
            .path_of(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{name}#{pointer}")
    }

    /// The node a JSON pointer names in a file; an error at the `$ref` naming what is missing.
    fn pointer(
        &self,
        ref_node: &Node<'_>,
        reference: &str,
        file: usize,
        pointer: &str,
    ) -> Result<Node<'s>, LintError> {
        let value = match &self.store.files[file].content {
            Ok((_, v)) => v.as_ref(),
            Err(Problem::Unreadable(why)) => {
                return Err(self.invalid(
                    ref_node,
                    format!(
                        "`$ref: {reference}`: cannot read {}: {why}",
                        self.path_of(file).display()
                    ),
                ));
            }
            Err(Problem::Broken(e)) => {
                return Err(LintError {
                    message: format!("{} (the file `$ref: {reference}` points into)", e.message),
                    ..e.clone()
                });
            }
        };
        let mut node = Node {
            file,
            value,
            path: String::new(),
        };
        let mut walked = String::from("#");
        for token in pointer_tokens(pointer) {
            let next = match node.value {
                Value::Object(m) => m.get(&token).map(|v| (v, child(&node.path, &token))),
                Value::Array(a) => token
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i).map(|v| (v, item(&node.path, i)))),
                _ => None,
            };
            let Some((value, path)) = next else {
                let within = if walked == "#" {
                    format!("the top of {}", self.path_of(file).display())
                } else {
                    format!("`{walked}` of {}", self.path_of(file).display())
                };
                return Err(self.invalid(
                    ref_node,
                    format!(
                        "`$ref: {reference}` points at nothing: there is no `{token}` in {within}"
                    ),
                ));
            };
            walked.push('/');
            walked.push_str(&token.replace('~', "~0").replace('/', "~1"));
            node = Node { file, value, path };
        }
        Ok(node)
    }

    /// Follows every `$ref` of every file read: a dangling one or a cycle is an error at the
    /// `$ref`. Remote references are left alone.
    pub fn check_all(&self) -> Result<(), LintError> {
        for (i, f) in self.store.files.iter().enumerate() {
            if let Ok((_, v)) = &f.content
                && self.positions[i].is_ok()
            {
                self.check_under(i, v, &mut Vec::new())?;
            }
        }
        Ok(())
    }

    fn check_under(
        &self,
        file: usize,
        v: &'s Value,
        at: &mut Vec<Seg<'s>>,
    ) -> Result<(), LintError> {
        match v {
            Value::Object(m) => {
                if m.get("$ref").is_some() {
                    let node = Node {
                        file,
                        value: v,
                        path: render(at),
                    };
                    self.follow(node, true)?;
                }
                for (k, x) in m {
                    if k == "$ref" {
                        continue;
                    }
                    at.push(Seg::Key(k));
                    self.check_under(file, x, at)?;
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    at.push(Seg::Item(i));
                    self.check_under(file, x, at)?;
                    at.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

enum Seg<'s> {
    Key(&'s str),
    Item(usize),
}

fn render(segs: &[Seg<'_>]) -> String {
    let mut path = String::new();
    for s in segs {
        path = match s {
            Seg::Key(k) => child(&path, k),
            Seg::Item(i) => item(&path, *i),
        };
    }
    path
}

/// Whether a pointer names the node at `node.path` (so a chain came back to its start).
fn pointer_is(node: &Node<'_>, pointer: &str) -> bool {
    let canonical: String = pointer_tokens(pointer)
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect();
    pointer_of(&node.path) == canonical
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_and_paths() {
        assert_eq!(
            pointer_tokens("/channels/user~1{id}~1signedup/a~0b"),
            ["channels", "user/{id}/signedup", "a~b"]
        );
        assert_eq!(pointer_tokens("/channels/a%7Bb%7D"), ["channels", "a{b}"]);
        assert!(pointer_tokens("").is_empty());
        assert_eq!(
            pointer_of("channels[\"a/b\"].messages[0]"),
            "/channels/a~1b/messages/0"
        );
        assert_eq!(
            normalise(Path::new("x/backend/../common/./m.yaml")),
            PathBuf::from("x/common/m.yaml")
        );
        assert_eq!(split("a.yaml#/b"), ("a.yaml", "/b"));
        assert_eq!(split("#/b"), ("", "/b"));
    }
}
