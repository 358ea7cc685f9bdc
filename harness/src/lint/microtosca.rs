//! microTOSCA (`tosca_definitions_version: micro_tosca_yaml_1.1`, the models of
//! microFreshener): node templates typed `micro.nodes.*` and their `interaction` requirements.
//! See `IMPORTERS.md` beside this file; in short:
//!
//! - `micro.nodes.Service` is a service, `micro.nodes.MessageRouter` a gateway (an edge router,
//!   an API gateway, a load balancer in front of services), `micro.nodes.Datastore` a datastore;
//! - an interaction of a service or router with a service or router is a synchronous call; its
//!   relationship's properties say whether it has a timeout and a circuit breaker. microTOSCA
//!   says what an interaction has, so a property left out is absent: no `timeout: true` is no
//!   timeout (`Known(None)`), no `circuit_breaker: true` no breaker. `timeout: true` gives no
//!   value, so the timeout is then unknown (rules about its value stay silent);
//! - an interaction with a datastore is a use of it;
//! - an interaction with a `micro.nodes.MessageBroker` adds nothing: the model does not say who
//!   publishes what and who consumes it;
//! - a `micro.groups.Edge` group lists what is reachable from outside: its members are public,
//!   every other node is not. Without one, whether a node is public is unknown.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::graph::{
    Datastore, DatastoreUse, Fact, Origin, Service, ServiceGraph, ServiceKind, SyncCall, closest,
};
use super::inputs::{Document, Importer};
use super::yaml::{self, Positions, child, item};
use super::{ErrorKind, LintError};

/// The importer of microTOSCA models.
pub struct MicroTosca;

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^["']?tosca_definitions_version["']?\s*:\s*["']?micro_tosca"#)
        .expect("valid regex")
});

impl Importer for MicroTosca {
    fn kind(&self) -> &'static str {
        "microTOSCA"
    }

    fn sniff(&self, doc: &Document<'_>) -> bool {
        if MARKER.is_match(doc.text) {
            return true;
        }
        doc.text.contains("tosca_definitions_version")
            && doc.text.contains("micro.nodes.")
            && doc.top("tosca_definitions_version").is_some()
    }

    fn import(&self, doc: &Document<'_>) -> Result<ServiceGraph, LintError> {
        let positions = yaml::index(doc.path, doc.text)?;
        let Some(root) = doc.value() else {
            return Err(LintError::in_file(
                ErrorKind::Invalid,
                doc.path,
                "not a YAML or JSON document",
            ));
        };
        Model {
            p: &positions,
            root,
        }
        .import()
    }
}

/// What a node template is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Node {
    Service,
    Router,
    Datastore,
    Broker,
}

const TYPES: [(&str, Node); 4] = [
    ("micro.nodes.Service", Node::Service),
    ("micro.nodes.MessageRouter", Node::Router),
    ("micro.nodes.Datastore", Node::Datastore),
    ("micro.nodes.MessageBroker", Node::Broker),
];

/// The properties of an interaction's relationship.
#[derive(Clone, Copy, Default)]
struct Props {
    timeout: bool,
    circuit_breaker: bool,
}

struct Model<'p, 't> {
    p: &'p Positions<'t>,
    root: &'p Value,
}

impl Model<'_, '_> {
    fn invalid(&self, path: &str, message: impl Into<String>) -> LintError {
        LintError::at(ErrorKind::Invalid, &self.p.locate(path), message)
    }

    fn mapping<'v>(
        &self,
        v: Option<&'v Value>,
        path: &str,
    ) -> Result<Option<&'v Map<String, Value>>, LintError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.invalid(path, format!("`{path}` must be a mapping"))),
        }
    }

    fn import(&self) -> Result<ServiceGraph, LintError> {
        let Some(root) = self.root.as_object() else {
            return Err(self.invalid("", "a microTOSCA model is a mapping"));
        };
        let Some(topology) = self.mapping(root.get("topology_template"), "topology_template")?
        else {
            return Err(self.invalid("", "a microTOSCA model has a `topology_template`"));
        };
        let nodes_path = "topology_template.node_templates";
        let nodes = self
            .mapping(topology.get("node_templates"), nodes_path)?
            .cloned()
            .unwrap_or_default();
        let relationships = self.relationships(topology)?;
        let edge = self.edge(topology)?;

        let mut kinds = BTreeMap::new();
        for (name, n) in &nodes {
            let path = child(nodes_path, name);
            let ty = n.get("type").and_then(Value::as_str).unwrap_or_default();
            let kind = match TYPES.iter().find(|(t, _)| *t == ty) {
                Some((_, k)) => Some(*k),
                None if ty.starts_with("micro.nodes.") => {
                    let mut m = format!("`{ty}` is not a microTOSCA node type");
                    if let Some(c) = closest(ty, TYPES.iter().map(|(t, _)| *t)) {
                        m.push_str(&format!(" (did you mean `{c}`?)"));
                    }
                    return Err(self.invalid(&child(&path, "type"), m));
                }
                None if !n.is_object() => {
                    return Err(self.invalid(&path, "a node template is a mapping with a `type`"));
                }
                None => None,
            };
            if let Some(k) = kind {
                kinds.insert(name.as_str(), k);
            }
        }

        let mut g = ServiceGraph::default();
        for (name, kind) in &kinds {
            let path = child(nodes_path, name);
            let location = self.p.locate(&path);
            let mut origin = Origin::at(location.clone());
            origin.fields.insert("service".into(), location.clone());
            let public = match &edge {
                Some(members) => Fact::Known(members.contains(&name.to_string())),
                None => Fact::Unknown,
            };
            match kind {
                Node::Service | Node::Router => g.add_service(Service {
                    name: name.to_string(),
                    kind: if *kind == Node::Router {
                        ServiceKind::Gateway
                    } else {
                        ServiceKind::Service
                    },
                    public,
                    origin,
                    ..Service::default()
                }),
                Node::Datastore => g.add_datastore(Datastore {
                    name: name.to_string(),
                    kind: Some("datastore".into()),
                    owner: None,
                    users: Vec::new(),
                    origin: Origin::at(location),
                }),
                Node::Broker => {}
            }
        }

        for (name, n) in &nodes {
            let Some(&from) = kinds.get(name.as_str()) else {
                continue;
            };
            let path = child(&child(nodes_path, name), "requirements");
            let reqs = match n.get("requirements") {
                None | Some(Value::Null) => continue,
                Some(Value::Array(r)) => r,
                Some(_) => {
                    return Err(
                        self.invalid(&path, "`requirements` is a list of `interaction: NODE`")
                    );
                }
            };
            for (i, r) in reqs.iter().enumerate() {
                let at = item(&path, i);
                let Some(target) = r.get("interaction") else {
                    continue; // another requirement (TOSCA's `host`, …)
                };
                let (to, props, props_at) = self.interaction(target, &at, &relationships)?;
                let Some(&to_kind) = kinds.get(to.as_str()) else {
                    let mut m =
                        format!("the interaction names `{to}`, which is not a node template");
                    if let Some(c) = closest(&to, kinds.keys().copied()) {
                        m.push_str(&format!(" (did you mean `{c}`?)"));
                    }
                    return Err(self.invalid(&child(&at, "interaction"), m));
                };
                let location = self.p.locate(&at);
                match (from, to_kind) {
                    (Node::Service | Node::Router, Node::Service | Node::Router) => {
                        let mut origin = Origin::at(location.clone());
                        origin
                            .fields
                            .insert("from".into(), self.p.locate(&child(nodes_path, name)));
                        origin.fields.insert("to".into(), location.clone());
                        for f in ["timeout_ms", "circuit_breaker"] {
                            origin.fields.insert(
                                f.into(),
                                props_at.clone().unwrap_or_else(|| location.clone()),
                            );
                        }
                        g.calls.push(SyncCall {
                            timeout_ms: if props.timeout {
                                Fact::Unknown
                            } else {
                                Fact::Known(None)
                            },
                            circuit_breaker: Fact::Known(props.circuit_breaker),
                            origin,
                            ..SyncCall::new(name.clone(), to.clone())
                        });
                    }
                    (Node::Service | Node::Router, Node::Datastore) => {
                        let mut origin = Origin::at(location.clone());
                        origin.fields.insert("service".into(), location);
                        g.add_datastore(Datastore {
                            name: to.clone(),
                            kind: Some("datastore".into()),
                            owner: None,
                            users: vec![DatastoreUse {
                                service: name.clone(),
                                origin,
                            }],
                            origin: Origin::at(self.p.locate(&child(nodes_path, &to))),
                        });
                    }
                    _ => {}
                }
            }
        }
        let mut merged = ServiceGraph::default();
        merged.merge(g);
        Ok(merged)
    }

    /// The relationship templates' properties, by name.
    fn relationships(
        &self,
        topology: &Map<String, Value>,
    ) -> Result<BTreeMap<String, (Props, String)>, LintError> {
        let path = "topology_template.relationship_templates";
        let mut out = BTreeMap::new();
        for (name, r) in self
            .mapping(topology.get("relationship_templates"), path)?
            .into_iter()
            .flatten()
        {
            let at = child(path, name);
            out.insert(name.clone(), (self.props(r, &at)?, at));
        }
        Ok(out)
    }

    fn props(&self, r: &Value, at: &str) -> Result<Props, LintError> {
        let path = child(at, "properties");
        let Some(props) = self.mapping(r.get("properties"), &path)? else {
            return Ok(Props::default());
        };
        let flag = |key: &str| match props.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.invalid(&child(&path, key), format!("`{key}` is true or false"))),
        };
        Ok(Props {
            timeout: flag("timeout")?,
            circuit_breaker: flag("circuit_breaker")?,
        })
    }

    /// An interaction's target, its relationship's properties and where they are written.
    fn interaction(
        &self,
        target: &Value,
        at: &str,
        relationships: &BTreeMap<String, (Props, String)>,
    ) -> Result<(String, Props, Option<super::graph::Location>), LintError> {
        let ipath = child(at, "interaction");
        match target {
            Value::String(to) => Ok((to.clone(), Props::default(), None)),
            Value::Object(m) => {
                let Some(to) = m.get("node").and_then(Value::as_str) else {
                    return Err(self.invalid(&ipath, "an interaction names its `node`"));
                };
                let rpath = child(&ipath, "relationship");
                match m.get("relationship") {
                    None | Some(Value::Null) => Ok((to.to_string(), Props::default(), None)),
                    Some(Value::String(name)) => match relationships.get(name) {
                        Some((props, rat)) => {
                            Ok((to.to_string(), *props, Some(self.p.locate(rat))))
                        }
                        None => Err(self.invalid(
                            &rpath,
                            format!("`{name}` is not one of the `relationship_templates`"),
                        )),
                    },
                    Some(r @ Value::Object(_)) => Ok((
                        to.to_string(),
                        self.props(r, &rpath)?,
                        Some(self.p.locate(&rpath)),
                    )),
                    Some(_) => Err(self.invalid(&rpath, "a relationship is a name or a mapping")),
                }
            }
            _ => Err(self.invalid(
                &ipath,
                "an interaction is a node name or `{node, relationship}`",
            )),
        }
    }

    /// The members of the `micro.groups.Edge` groups, when there is one.
    fn edge(&self, topology: &Map<String, Value>) -> Result<Option<Vec<String>>, LintError> {
        let path = "topology_template.groups";
        let mut members: Option<Vec<String>> = None;
        for (name, gr) in self
            .mapping(topology.get("groups"), path)?
            .into_iter()
            .flatten()
        {
            if gr.get("type").and_then(Value::as_str) != Some("micro.groups.Edge") {
                continue;
            }
            let list = members.get_or_insert_with(Vec::new);
            match gr.get("members") {
                None | Some(Value::Null) => {}
                Some(Value::Array(a)) => {
                    list.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
                }
                Some(_) => {
                    return Err(self.invalid(
                        &child(&child(path, name), "members"),
                        "`members` is a list of node names",
                    ));
                }
            }
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn import(text: &str) -> Result<ServiceGraph, LintError> {
        MicroTosca.import(&Document::new(Path::new("m.yml"), text))
    }

    const MODEL: &str = "\
tosca_definitions_version: micro_tosca_yaml_1.1
topology_template:
  node_templates:
    gw:
      type: micro.nodes.MessageRouter
      requirements:
      - interaction: a
    a:
      type: micro.nodes.Service
      requirements:
      - interaction: {node: b, relationship: tc}
      - interaction: db
      - interaction: mq
    b:
      type: micro.nodes.Service
      requirements:
      - interaction: db
    db:
      type: micro.nodes.Datastore
    mq:
      type: micro.nodes.MessageBroker
  groups:
    edge:
      type: micro.groups.Edge
      members: [gw, b]
  relationship_templates:
    tc:
      type: micro.relationships.InteractsWith
      properties: {timeout: true, circuit_breaker: true}
";

    #[test]
    fn interactions_become_calls_and_datastore_uses() {
        let g = import(MODEL).expect("imports");
        assert!(MicroTosca.sniff(&Document::new(Path::new("m.yml"), MODEL)));
        assert_eq!(g.services["gw"].kind, ServiceKind::Gateway);
        assert_eq!(g.services["gw"].public, Fact::Known(true));
        assert_eq!(g.services["a"].public, Fact::Known(false));
        assert_eq!(g.services["b"].public, Fact::Known(true));
        let calls: Vec<String> = g.calls.iter().map(|c| c.label()).collect();
        assert_eq!(calls, ["a → b", "gw → a"]);
        let (ab, gw) = (&g.calls[0], &g.calls[1]);
        assert_eq!(gw.timeout_ms, Fact::Known(None));
        assert_eq!(gw.circuit_breaker, Fact::Known(false));
        assert_eq!(ab.timeout_ms, Fact::Unknown);
        assert_eq!(ab.circuit_breaker, Fact::Known(true));
        let users: Vec<&str> = g.datastores["db"]
            .services()
            .iter()
            .map(|u| u.service.as_str())
            .collect();
        assert_eq!(users, ["a", "b"]);
        assert!(g.subjects.is_empty() && !g.services.contains_key("mq"));
        assert_eq!(gw.origin.primary().map(|l| l.line), Some(7));
        assert_eq!(ab.origin.field("circuit_breaker").map(|l| l.line), Some(27));
    }

    #[test]
    fn broken_models_are_located() {
        let e = import(&MODEL.replace("interaction: a", "interaction: aa")).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("did you mean `a`"), "{e}");
        let e = import(&MODEL.replace("relationship: tc", "relationship: tx")).unwrap_err();
        assert_eq!(e.line, Some(11), "{e}");
        let e =
            import(&MODEL.replace("micro.nodes.Datastore", "micro.nodes.DataStore")).unwrap_err();
        assert_eq!(e.line, Some(19), "{e}");
        let e = import("tosca_definitions_version: micro_tosca_yaml_1.1\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid, "{e}");
    }
}
