//! Backstage catalog files (`apiVersion: backstage.io/v1alpha1`, several entities per file
//! separated by `---`). What maps to what is documented in `IMPORTERS.md` beside this file; in
//! short:
//!
//! - a `Component` is a service (named `name`, or `namespace/name` outside the `default`
//!   namespace);
//! - consuming (`spec.consumesApis`) a synchronous API (`API` of `spec.type` openapi, grpc,
//!   graphql or trpc) that another component provides (`spec.providesApis`) is a synchronous
//!   call from the consumer to the provider, every setting unknown;
//! - an `asyncapi` API is a subject named after the API: its providers publish it, its
//!   consumers consume it (settings unknown);
//! - `spec.dependsOn: [resource:x]` is the use of datastore `x` (so two components on one
//!   database are a shared datastore), `spec.dependsOn: [component:y]` a synchronous call to
//!   `y`; a `Resource` is a datastore (of its `spec.type`), unless its type is a messaging one
//!   (topic, queue, stream, bus, broker);
//! - `System`, `Domain`, `Group`, `User`, `Location`, `Template` and other kinds add nothing.
//!
//! Catalog files are partial: a reference to an entity no input describes is not an error. A
//! component named by a call (a `dependsOn`, the provider of a consumed API) but not described
//! in the file is added as a service of its own with nothing known about it, so that the
//! graph's `validate()` finds it; when another input describes it, the two merge into one. The
//! providers and types of APIs are looked up in the file, then in the other Backstage files of
//! the same folder (an API consumed in one file and provided in another); a consumed API that
//! nothing describes adds nothing, since neither its kind nor its provider is known.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::graph::{
    Consumer, Datastore, DatastoreUse, Location, Origin, Producer, Service, ServiceGraph,
    ServiceKind, Subject, SyncCall,
};
use super::inputs::{Document, Importer};
use super::yaml::{self, Positions, child, item};
use super::{ErrorKind, LintError};

/// The importer of Backstage catalog files.
pub struct Backstage;

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^["']?apiVersion["']?\s*:\s*["']?backstage\.io/"#).expect("valid regex")
});

/// The `apiVersion`s read.
const VERSIONS: [&str; 2] = ["backstage.io/v1alpha1", "backstage.io/v1beta1"];

impl Importer for Backstage {
    fn kind(&self) -> &'static str {
        "Backstage catalog"
    }

    fn sniff(&self, doc: &Document<'_>) -> bool {
        if MARKER.is_match(doc.text) {
            return true;
        }
        doc.text.contains("backstage.io/")
            && doc.values().is_some_and(|vs| {
                vs.iter().any(|v| {
                    v.get("apiVersion")
                        .and_then(Value::as_str)
                        .is_some_and(|a| a.starts_with("backstage.io/"))
                })
            })
    }

    fn import(&self, doc: &Document<'_>) -> Result<ServiceGraph, LintError> {
        let entities = read(doc.path, doc.text, doc.values())?;
        let mut catalog = Catalog::default();
        catalog.add(&entities);
        for sibling in siblings(doc.path) {
            catalog.add(&sibling);
        }
        Ok(build(&entities, &catalog))
    }
}

/// An entity reference, normalised: lower case, kind and namespace filled in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl EntityRef {
    /// `[kind:][namespace/]name`, with the kind and namespace used when the text has none.
    pub fn parse(text: &str, default_kind: &str, default_namespace: &str) -> Option<EntityRef> {
        let text = text.trim();
        let (kind, rest) = match text.split_once(':') {
            Some((k, r)) => (k.trim(), r.trim()),
            None => (default_kind, text),
        };
        let (namespace, name) = match rest.split_once('/') {
            Some((n, r)) => (n.trim(), r.trim()),
            None => (default_namespace, rest),
        };
        let ok =
            |s: &str| !s.is_empty() && !s.contains([':', '/']) && !s.contains(char::is_whitespace);
        (ok(kind) && ok(namespace) && ok(name)).then(|| EntityRef {
            kind: kind.to_ascii_lowercase(),
            namespace: namespace.to_ascii_lowercase(),
            name: name.to_ascii_lowercase(),
        })
    }

    /// The graph's name for it: `name`, or `namespace/name` outside `default`.
    pub fn display(&self) -> String {
        if self.namespace == "default" {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

/// A reference written in a spec, with where.
#[derive(Clone, Debug)]
struct Written {
    to: EntityRef,
    at: Location,
}

/// One entity of a file, as the graph needs it.
#[derive(Clone, Debug)]
struct Entity {
    me: EntityRef,
    /// `spec.type`, lower case.
    kind_type: Option<String>,
    description: Option<String>,
    at: Location,
    provides: Vec<Written>,
    consumes: Vec<Written>,
    depends: Vec<Written>,
}

/// Reads every entity of a file; a document that is not a well-formed entity is an error at
/// its line. Documents of another `apiVersion` are left alone.
fn read(path: &Path, text: &str, values: Option<&[Value]>) -> Result<Vec<Entity>, LintError> {
    let positions = yaml::index_all(path, text)?;
    let Some(values) = values else {
        return Err(LintError::in_file(
            ErrorKind::Invalid,
            path,
            "not a YAML or JSON document",
        ));
    };
    let mut out = Vec::new();
    for (v, p) in values.iter().zip(&positions) {
        if let Some(e) = entity(v, p)? {
            out.push(e);
        }
    }
    Ok(out)
}

fn entity(v: &Value, p: &Positions<'_>) -> Result<Option<Entity>, LintError> {
    let invalid =
        |path: &str, message: String| LintError::at(ErrorKind::Invalid, &p.locate(path), message);
    let m = match v {
        Value::Null => return Ok(None),
        Value::Object(m) => m,
        _ => {
            return Err(invalid(
                "",
                "a catalog entity is a mapping (apiVersion, kind, metadata, spec)".into(),
            ));
        }
    };
    let api_version = match m.get("apiVersion") {
        None => return Err(invalid("", "a catalog entity has an `apiVersion`".into())),
        Some(Value::String(a)) => a.as_str(),
        Some(_) => return Err(invalid("apiVersion", "`apiVersion` is a string".into())),
    };
    if !api_version.starts_with("backstage.io/") {
        return Ok(None);
    }
    if !VERSIONS.contains(&api_version) {
        return Err(invalid(
            "apiVersion",
            format!(
                "`apiVersion: {api_version}` is not a version parley lint reads ({})",
                VERSIONS.join(", ")
            ),
        ));
    }
    let Some(kind) = m
        .get("kind")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    else {
        return Err(invalid(
            if m.contains_key("kind") { "kind" } else { "" },
            "a catalog entity has a `kind` (Component, API, Resource, System, …)".into(),
        ));
    };
    let metadata = match m.get("metadata") {
        Some(Value::Object(md)) => md,
        Some(_) => return Err(invalid("metadata", "`metadata` is a mapping".into())),
        None => {
            return Err(invalid(
                "",
                "a catalog entity has `metadata` with a `name`".into(),
            ));
        }
    };
    let Some(name) = metadata.get("name").and_then(Value::as_str) else {
        return Err(invalid(
            if metadata.contains_key("name") {
                "metadata.name"
            } else {
                "metadata"
            },
            "`metadata.name` is the entity's name (a string)".into(),
        ));
    };
    let namespace = match metadata.get("namespace") {
        None => "default",
        Some(Value::String(n)) => n.as_str(),
        Some(_) => {
            return Err(invalid(
                "metadata.namespace",
                "`metadata.namespace` is a string".into(),
            ));
        }
    };
    let Some(me) = EntityRef::parse(name, kind, namespace)
        .filter(|r| r.name == name.trim().to_ascii_lowercase())
    else {
        return Err(invalid(
            "metadata.name",
            format!("`{name}` is not an entity name"),
        ));
    };
    let spec = match m.get("spec") {
        None | Some(Value::Null) => None,
        Some(Value::Object(s)) => Some(s),
        Some(_) => return Err(invalid("spec", "`spec` is a mapping".into())),
    };
    let refs = |key: &str, default_kind: &str| -> Result<Vec<Written>, LintError> {
        let path = child("spec", key);
        let Some(list) = spec.and_then(|s| s.get(key)) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = list else {
            return Err(invalid(
                &path,
                format!("`spec.{key}` is a list of entity references"),
            ));
        };
        let mut out = Vec::new();
        for (i, x) in items.iter().enumerate() {
            let at = item(&path, i);
            let parsed = x
                .as_str()
                .and_then(|s| EntityRef::parse(s, default_kind, namespace));
            let Some(to) = parsed else {
                return Err(invalid(
                    &at,
                    format!(
                        "`{}` is not an entity reference ([kind:][namespace/]name)",
                        match x {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        }
                    ),
                ));
            };
            out.push(Written {
                to,
                at: p.locate(&at),
            });
        }
        Ok(out)
    };
    let kind_type = match spec.and_then(|s| s.get("type")) {
        None => None,
        Some(Value::String(t)) => Some(t.to_ascii_lowercase()),
        Some(_) => return Err(invalid("spec.type", "`spec.type` is a string".into())),
    };
    Ok(Some(Entity {
        kind_type,
        description: metadata
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        at: p.locate("metadata.name"),
        provides: refs("providesApis", "api")?,
        consumes: refs("consumesApis", "api")?,
        depends: refs("dependsOn", "component")?,
        me,
    }))
}

/// The Backstage entities of the other files of a document's folder (the ones that read
/// without error; a broken one is reported when it is linted itself).
fn siblings(path: &Path) -> Vec<Vec<Entity>> {
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name() != path.file_name()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json")
                })
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).ok()?;
            if !text.contains("backstage.io/") {
                return None;
            }
            let doc = Document::new(&f, &text);
            read(&f, doc.text, doc.values()).ok()
        })
        .collect()
}

/// What the file and its folder say about APIs: their types and providers.
#[derive(Default)]
struct Catalog {
    api_types: HashMap<EntityRef, String>,
    providers: BTreeMap<EntityRef, Vec<EntityRef>>,
    resource_types: HashMap<EntityRef, String>,
}

impl Catalog {
    fn add(&mut self, entities: &[Entity]) {
        for e in entities {
            match e.me.kind.as_str() {
                "api" => {
                    if let Some(t) = &e.kind_type {
                        self.api_types
                            .entry(e.me.clone())
                            .or_insert_with(|| t.clone());
                    }
                }
                "resource" => {
                    if let Some(t) = &e.kind_type {
                        self.resource_types
                            .entry(e.me.clone())
                            .or_insert_with(|| t.clone());
                    }
                }
                "component" => {
                    for w in &e.provides {
                        let list = self.providers.entry(w.to.clone()).or_default();
                        if !list.contains(&e.me) {
                            list.push(e.me.clone());
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// How an API is used.
#[derive(PartialEq, Eq)]
enum ApiStyle {
    Sync,
    Events,
}

fn style(api_type: &str) -> Option<ApiStyle> {
    match api_type {
        "openapi" | "grpc" | "graphql" | "trpc" => Some(ApiStyle::Sync),
        "asyncapi" => Some(ApiStyle::Events),
        _ => None,
    }
}

/// Whether a resource type is messaging rather than storage.
fn messaging(resource_type: &str) -> bool {
    ["topic", "queue", "stream", "bus", "broker"]
        .iter()
        .any(|m| resource_type.contains(m))
}

fn at(location: &Location, fields: &[&str]) -> Origin {
    let mut origin = Origin::at(location.clone());
    for f in fields {
        origin.fields.insert((*f).to_string(), location.clone());
    }
    origin
}

fn build(entities: &[Entity], catalog: &Catalog) -> ServiceGraph {
    let mut g = ServiceGraph::default();
    let described: Vec<&EntityRef> = entities
        .iter()
        .filter(|e| e.me.kind == "component")
        .map(|e| &e.me)
        .collect();
    // A component named but not described in this file: a service with nothing known.
    let placeholder = |g: &mut ServiceGraph, r: &EntityRef, w: &Written| {
        if !described.contains(&r) && !g.services.contains_key(&r.display()) {
            g.add_service(Service {
                name: r.display(),
                kind: ServiceKind::Service,
                origin: at(&w.at, &["service"]),
                ..Service::default()
            });
        }
    };
    for e in entities {
        match e.me.kind.as_str() {
            "component" => {}
            "resource" => {
                if !e.kind_type.as_deref().is_some_and(messaging) {
                    g.add_datastore(Datastore {
                        name: e.me.display(),
                        kind: e.kind_type.clone(),
                        owner: None,
                        users: Vec::new(),
                        origin: at(&e.at, &["datastore"]),
                    });
                }
                continue;
            }
            "api" => {
                if e.kind_type.as_deref().and_then(style) == Some(ApiStyle::Events) {
                    g.add_subject(Subject {
                        name: e.me.display(),
                        producers: Vec::new(),
                        description: e.description.clone(),
                        origin: at(&e.at, &["subject"]),
                    });
                }
                continue;
            }
            _ => continue,
        }
        let me = e.me.display();
        g.add_service(Service {
            name: me.clone(),
            kind: ServiceKind::Service,
            description: e.description.clone(),
            origin: at(&e.at, &["service"]),
            ..Service::default()
        });
        for w in &e.consumes {
            match catalog.api_types.get(&w.to).and_then(|t| style(t)) {
                Some(ApiStyle::Sync) => {
                    for p in catalog.providers.get(&w.to).into_iter().flatten() {
                        if *p == e.me {
                            continue;
                        }
                        placeholder(&mut g, p, w);
                        g.calls.push(SyncCall {
                            origin: at(&w.at, &["from", "to"]),
                            ..SyncCall::new(me.clone(), p.display())
                        });
                    }
                }
                Some(ApiStyle::Events) => {
                    let mut c = Consumer::new(me.clone(), w.to.display());
                    c.origin = at(&w.at, &["service"]);
                    g.consumers.push(c);
                }
                None => {}
            }
        }
        for w in &e.provides {
            if catalog.api_types.get(&w.to).and_then(|t| style(t)) == Some(ApiStyle::Events) {
                g.add_subject(Subject {
                    name: w.to.display(),
                    producers: vec![Producer {
                        service: me.clone(),
                        origin: at(&w.at, &["service"]),
                    }],
                    description: None,
                    origin: at(&w.at, &["subject"]),
                });
            }
        }
        for w in &e.depends {
            match w.to.kind.as_str() {
                "resource" => {
                    let kind = catalog.resource_types.get(&w.to).cloned();
                    if kind.as_deref().is_some_and(messaging) {
                        continue;
                    }
                    g.add_datastore(Datastore {
                        name: w.to.display(),
                        kind,
                        owner: None,
                        users: vec![DatastoreUse {
                            service: me.clone(),
                            origin: at(&w.at, &["service"]),
                        }],
                        origin: at(&w.at, &["datastore"]),
                    });
                }
                "component" if w.to != e.me => {
                    placeholder(&mut g, &w.to, w);
                    g.calls.push(SyncCall {
                        origin: at(&w.at, &["from", "to"]),
                        ..SyncCall::new(me.clone(), w.to.display())
                    });
                }
                _ => {}
            }
        }
    }
    // Calls and consumers said twice (an API and a dependsOn to one component) made one.
    let mut merged = ServiceGraph::default();
    merged.merge(g);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalised() {
        let r = |t: &str| EntityRef::parse(t, "api", "default");
        let foo = EntityRef {
            kind: "api".into(),
            namespace: "default".into(),
            name: "foo".into(),
        };
        assert_eq!(r("api:default/foo"), Some(foo.clone()));
        assert_eq!(r("foo"), Some(foo.clone()));
        assert_eq!(r("API:Foo"), Some(foo.clone()));
        assert_eq!(r("default/foo"), Some(foo));
        let db = EntityRef::parse("resource:artists-db", "component", "default").expect("parses");
        assert_eq!(
            (db.kind.as_str(), db.display()),
            ("resource", "artists-db".into())
        );
        let other = EntityRef::parse("component:team-b/x", "component", "default").expect("parses");
        assert_eq!(other.display(), "team-b/x");
        assert_eq!(r(""), None);
        assert_eq!(r("a:b:c"), None);
        assert_eq!(r("a b"), None);
    }
}
