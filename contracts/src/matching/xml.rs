//! XML bodies, as Pact compares them. Paths: the root element is `$.root`, child elements
//! `$.root.child`, attributes `$.root['@name']`, an element's text `$.root.child['#text']`.
//! Names are namespace-qualified (`urn:ns:local`), so prefixes do not matter.
//!
//! - Elements must have the expected name. A rule at an element's path: type-like rules
//!   check the name and (`min`/`max`) the number of child elements; value rules (regex,
//!   number, …) check the element's text.
//! - Attributes: the expected ones must be there with matching values (requests: no others).
//! - Children are grouped by name, so the order of differently named children does not
//!   matter. With a type rule on a group, every actual child is compared with the example's
//!   first; without one, children pair up in order (requests: no extra children).
//! - Text: the element's own text nodes, trimmed and joined, compared by rule or equality.

use std::collections::HashMap;

use roxmltree::{Document, Node, ParsingOptions};

use super::path::{Seg, push_key};
use super::rules::{self, CompiledRule, apply_list, shorten};
use super::trie::{Chosen, RuleIndex, Sel};
use super::{MAX_DEPTH, Mismatch, Part, Sink};
use crate::model::MatchingRule;

/// Parses an XML document (no DTDs: entity expansion is refused).
pub(crate) fn parse(text: &str) -> Result<Document<'_>, String> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text.trim_start_matches('\u{feff}'), options)
        .map_err(|e| e.to_string())
}

/// Compares two XML documents with the rules in `index`.
pub(crate) fn match_xml(
    expected: &str,
    actual: &str,
    index: &RuleIndex<'_>,
    allow_unexpected: bool,
    sink: &mut Sink,
) {
    let (e, a) = match (parse(expected), parse(actual)) {
        (Ok(e), Ok(a)) => (e, a),
        (e, a) => {
            for (which, result) in [("expected", e.err()), ("actual", a.err())] {
                if let Some(err) = result {
                    sink.push(Mismatch {
                        part: Part::Body,
                        path: "$".into(),
                        rule: None,
                        expected: shorten(expected, 4096),
                        actual: shorten(actual, 4096),
                        message: format!("The {which} body is not valid XML: {err}"),
                    });
                }
            }
            return;
        }
    };
    let mut walker = Walker {
        index,
        allow_unexpected,
        states: Vec::new(),
        display: Vec::new(),
        sink,
    };
    let root_sel = index.root(&mut walker.states);
    let root_states = 0..walker.states.len();
    let (er, ar) = (e.root_element(), a.root_element());
    let name = qname(er);
    walker.enter(&name, None, root_sel, root_states, |w, sel, st| {
        w.element(er, ar, sel, st)
    });
}

/// An element's or attribute's name, qualified by its namespace URI.
fn qname(node: Node<'_, '_>) -> String {
    let tag = node.tag_name();
    match tag.namespace() {
        Some(ns) => format!("{ns}:{}", tag.name()),
        None => tag.name().to_string(),
    }
}

fn attr_name(attr: &roxmltree::Attribute<'_, '_>) -> String {
    match attr.namespace() {
        Some(ns) => format!("{ns}:{}", attr.name()),
        None => attr.name().to_string(),
    }
}

fn child_elements<'a, 'i>(node: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    node.children().filter(Node::is_element).collect()
}

/// The element's own text nodes, each trimmed, joined.
fn own_text(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect()
}

/// All the text inside the element (Pact-JVM's `textContent`), trimmed.
fn all_text(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_string()
}

struct Walker<'a, 'r, 's> {
    index: &'a RuleIndex<'r>,
    allow_unexpected: bool,
    states: Vec<u32>,
    /// The path for reports: names, with the position in the group of same-named siblings
    /// when there are several.
    display: Vec<(String, Option<usize>)>,
    sink: &'s mut Sink,
}

impl<'a, 'r, 's> Walker<'a, 'r, 's> {
    fn here(&self) -> String {
        let mut out = String::from("$");
        for (name, pos) in &self.display {
            push_key(&mut out, name);
            if let Some(i) = pos {
                out.push_str(&format!("[{i}]"));
            }
        }
        out
    }

    fn mismatch(
        &mut self,
        rule: Option<String>,
        expected: String,
        actual: String,
        message: String,
    ) {
        let path = self.here();
        self.sink.push(Mismatch {
            part: Part::Body,
            path,
            rule,
            expected: shorten(&expected, 4096),
            actual: shorten(&actual, 4096),
            message,
        });
    }

    /// Steps into `name` (at `pos` among same-named siblings) and runs `f` there.
    fn enter(
        &mut self,
        name: &str,
        pos: Option<usize>,
        parent: Sel<'a, 'r>,
        states: std::ops::Range<usize>,
        f: impl FnOnce(&mut Self, Sel<'a, 'r>, std::ops::Range<usize>),
    ) {
        let start = self.states.len();
        self.index.step(states, Seg::Field(name), &mut self.states);
        let end = self.states.len();
        self.display.push((name.to_string(), pos));
        let sel = self
            .index
            .refine(parent, &self.states[start..end], self.display.len());
        f(self, sel, start..end);
        self.display.pop();
        self.states.truncate(start);
    }

    fn element(
        &mut self,
        e: Node<'_, '_>,
        a: Node<'_, '_>,
        sel: Sel<'a, 'r>,
        st: std::ops::Range<usize>,
    ) {
        if self.sink.full() {
            return;
        }
        if self.display.len() > MAX_DEPTH {
            self.mismatch(
                None,
                String::new(),
                String::new(),
                format!("The document is nested deeper than {MAX_DEPTH} levels; not compared"),
            );
            return;
        }
        let (en, an) = (qname(e), qname(a));
        let depth = self.display.len();
        if en != an {
            let rule = sel
                .chosen(depth)
                .map(|c| rules::describe_list(c.list.rules.iter().map(|r| r.rule), c.list.logic));
            self.mismatch(
                rule,
                format!("<{en}>"),
                format!("<{an}>"),
                format!("Expected element <{en}> but received <{an}>"),
            );
            return;
        }
        if let Some(Chosen { list, cascaded }) = sel.chosen(depth)
            && let Err(f) = apply_list(list, |r| element_rule(r, e, a, cascaded))
        {
            for message in f.messages {
                self.mismatch(Some(f.rule.clone()), all_text(e), all_text(a), message);
            }
            return;
        }
        self.attributes(e, a, sel, st.clone());
        self.children(e, a, sel, st.clone());
        self.text(e, a, sel, st);
    }

    fn attributes(
        &mut self,
        e: Node<'_, '_>,
        a: Node<'_, '_>,
        sel: Sel<'a, 'r>,
        st: std::ops::Range<usize>,
    ) {
        let actual: Vec<(String, &str)> =
            a.attributes().map(|x| (attr_name(&x), x.value())).collect();
        let expected: Vec<(String, &str)> =
            e.attributes().map(|x| (attr_name(&x), x.value())).collect();
        let actual_by_name: HashMap<&str, &str> =
            actual.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let expected_names: std::collections::HashSet<&str> =
            expected.iter().map(|(n, _)| n.as_str()).collect();
        for (name, ev) in &expected {
            let key = format!("@{name}");
            match actual_by_name.get(name.as_str()).map(|v| (name, *v)) {
                None => {
                    self.display.push((key, None));
                    self.mismatch(
                        None,
                        ev.to_string(),
                        String::new(),
                        format!("Expected attribute {name}='{ev}' but it was missing"),
                    );
                    self.display.pop();
                }
                Some((_, av)) => {
                    let ev = *ev;
                    self.enter(&key, None, sel, st.clone(), |w, s, _| {
                        w.value(ev, av, s, &format!("attribute {name}"))
                    });
                }
            }
        }
        if !self.allow_unexpected {
            for (name, av) in &actual {
                if !expected_names.contains(name.as_str()) {
                    self.display.push((format!("@{name}"), None));
                    self.mismatch(
                        None,
                        String::new(),
                        av.to_string(),
                        format!("Unexpected attribute {name}='{av}' (requests may not have attributes the contract does not mention)"),
                    );
                    self.display.pop();
                }
            }
        }
    }

    fn value(&mut self, e: &str, a: &str, sel: Sel<'a, 'r>, what: &str) {
        match sel.chosen(self.display.len()) {
            Some(Chosen { list, cascaded }) => {
                if let Err(f) = apply_list(list, |r| rules::match_str(r, e, a, cascaded)) {
                    for message in f.messages {
                        self.mismatch(Some(f.rule.clone()), e.to_string(), a.to_string(), message);
                    }
                }
            }
            None => {
                if e != a {
                    self.mismatch(
                        Some("equality".into()),
                        e.to_string(),
                        a.to_string(),
                        format!(
                            "Expected {what} '{}' but received '{}'",
                            shorten(e, 200),
                            shorten(a, 200)
                        ),
                    );
                }
            }
        }
    }

    fn text(
        &mut self,
        e: Node<'_, '_>,
        a: Node<'_, '_>,
        sel: Sel<'a, 'r>,
        st: std::ops::Range<usize>,
    ) {
        let (et, at) = (own_text(e), own_text(a));
        self.enter("#text", None, sel, st, |w, s, _| {
            w.value(&et, &at, s, "text")
        });
    }

    fn children(
        &mut self,
        e: Node<'_, '_>,
        a: Node<'_, '_>,
        sel: Sel<'a, 'r>,
        st: std::ops::Range<usize>,
    ) {
        let expected = child_elements(e);
        let actual = child_elements(a);
        let expected_groups = group_by_name(&expected);
        let actual_groups = group_by_name(&actual);
        let expected_by_name: HashMap<&str, usize> = expected_groups
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        let actual_by_name: HashMap<&str, usize> = actual_groups
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        for (name, agroup) in &actual_groups {
            let egroup = expected_by_name
                .get(name.as_str())
                .map(|&i| &expected_groups[i].1);
            // Is a type rule defined for this group's path?
            let start = self.states.len();
            self.index
                .step(st.clone(), Seg::Field(name), &mut self.states);
            let end = self.states.len();
            let group_sel =
                self.index
                    .refine(sel, &self.states[start..end], self.display.len() + 1);
            self.states.truncate(start);
            let typed = group_sel.type_defined;
            match egroup {
                Some(egroup) if typed => {
                    let first = egroup[0];
                    let several = agroup.len() > 1;
                    for (i, child) in agroup.iter().enumerate() {
                        let pos = several.then_some(i);
                        self.enter(name, pos, sel, st.clone(), |w, s, r| {
                            w.element(first, *child, s, r)
                        });
                    }
                }
                Some(egroup) => {
                    let several = agroup.len().max(egroup.len()) > 1;
                    for i in 0..agroup.len().max(egroup.len()) {
                        let pos = several.then_some(i);
                        match (egroup.get(i), agroup.get(i)) {
                            (Some(ec), Some(ac)) => {
                                let (ec, ac) = (*ec, *ac);
                                self.enter(name, pos, sel, st.clone(), |w, s, r| {
                                    w.element(ec, ac, s, r)
                                });
                            }
                            (Some(ec), None) => {
                                self.display.push((name.clone(), pos));
                                self.mismatch(
                                    None,
                                    shorten(&node_text(*ec), 4096),
                                    String::new(),
                                    format!("Expected child <{name}/> but it was missing"),
                                );
                                self.display.pop();
                            }
                            (None, Some(ac)) => {
                                if !self.allow_unexpected {
                                    self.display.push((name.clone(), pos));
                                    self.mismatch(
                                        None,
                                        String::new(),
                                        shorten(&node_text(*ac), 4096),
                                        format!("Unexpected child <{name}/> (requests may not have elements the contract does not mention)"),
                                    );
                                    self.display.pop();
                                }
                            }
                            (None, None) => {}
                        }
                    }
                }
                None => {
                    if !self.allow_unexpected || typed {
                        self.display.push((name.clone(), None));
                        self.mismatch(
                            None,
                            String::new(),
                            shorten(&node_text(agroup[0]), 4096),
                            format!("Unexpected child <{name}/>"),
                        );
                        self.display.pop();
                    }
                }
            }
        }
        for (name, egroup) in &expected_groups {
            if !actual_by_name.contains_key(name.as_str()) {
                self.display.push((name.clone(), None));
                self.mismatch(
                    None,
                    shorten(&node_text(egroup[0]), 4096),
                    String::new(),
                    format!("Expected child <{name}/> but it was missing"),
                );
                self.display.pop();
            }
        }
    }
}

/// Children grouped by qualified name, in order of first appearance.
fn group_by_name<'a, 'i>(children: &[Node<'a, 'i>]) -> Vec<(String, Vec<Node<'a, 'i>>)> {
    let mut groups: Vec<(String, Vec<Node<'a, 'i>>)> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for child in children {
        let name = qname(*child);
        match by_name.get(&name) {
            Some(&i) => groups[i].1.push(*child),
            None => {
                by_name.insert(name.clone(), groups.len());
                groups.push((name, vec![*child]));
            }
        }
    }
    groups
}

/// The source text of a node, for reports.
fn node_text(node: Node<'_, '_>) -> String {
    let range = node.range();
    node.document()
        .input_text()
        .get(range)
        .unwrap_or_default()
        .to_string()
}

/// A rule at an element's path: type-like rules check the element's name (already equal)
/// and the number of its child elements; value rules check its text.
fn element_rule(
    rule: &CompiledRule<'_>,
    e: Node<'_, '_>,
    a: Node<'_, '_>,
    cascaded: bool,
) -> Result<(), String> {
    let children = || a.children().filter(Node::is_element).count();
    match rule.rule {
        MatchingRule::Type | MatchingRule::Equality => Ok(()),
        MatchingRule::MinType(_) | MatchingRule::MaxType(_) | MatchingRule::MinMaxType(_, _) => {
            if cascaded {
                return Ok(());
            }
            let n = children();
            let (min, max) = match rule.rule {
                MatchingRule::MinType(min) => (*min, usize::MAX),
                MatchingRule::MaxType(max) => (0, *max),
                MatchingRule::MinMaxType(min, max) => (*min, *max),
                _ => (0, usize::MAX),
            };
            if n < min {
                Err(format!(
                    "Expected <{}> to have at least {min} child element(s) but it has {n}",
                    qname(a)
                ))
            } else if n > max {
                Err(format!(
                    "Expected <{}> to have at most {max} child element(s) but it has {n}",
                    qname(a)
                ))
            } else {
                Ok(())
            }
        }
        MatchingRule::NotEmpty => {
            if children() == 0 && all_text(a).is_empty() {
                Err(format!("Expected <{}> to not be empty", qname(a)))
            } else {
                Ok(())
            }
        }
        MatchingRule::Values
        | MatchingRule::EachKey(_)
        | MatchingRule::EachValue(_)
        | MatchingRule::ArrayContains(_) => Ok(()),
        _ => rules::match_str(rule, &all_text(e), &all_text(a), cascaded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RuleList, RuleLogic};

    fn run(e: &str, a: &str, rules: &[(&str, MatchingRule)], allow: bool) -> Vec<Mismatch> {
        let lists: Vec<(String, RuleList)> = rules
            .iter()
            .map(|(k, r)| {
                (
                    k.to_string(),
                    RuleList {
                        rules: vec![r.clone()],
                        logic: RuleLogic::And,
                    },
                )
            })
            .collect();
        let index = RuleIndex::build(lists.iter().map(|(k, v)| (k.as_str(), v)));
        let mut sink = Sink::default();
        match_xml(e, a, &index, allow, &mut sink);
        sink.finish()
    }

    #[test]
    fn attributes_children_and_text() {
        let e = r#"<a x="1"><b>red</b><b>blue</b></a>"#;
        assert!(run(e, r#"<a x="1"><b>red</b><b>blue</b></a>"#, &[], false).is_empty());
        let m = run(e, r#"<a x="2"><b>red</b><b>blue</b></a>"#, &[], false);
        assert_eq!(m[0].path, "$.a['@x']");
        let m = run(e, r#"<a x="1"><b>blue</b><b>red</b></a>"#, &[], false);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].path, "$.a.b[0]['#text']");
        let m = run(
            e,
            r#"<a x="1" y="2"><b>red</b><b>blue</b><b>x</b></a>"#,
            &[],
            false,
        );
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            run(
                e,
                r#"<a x="1" y="2"><b>red</b><b>blue</b><b>x</b></a>"#,
                &[],
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn namespaces_by_uri_not_prefix() {
        let e = r#"<a xmlns="urn:x" xmlns:n="urn:n" n:id="1"/>"#;
        let a = r#"<p:a xmlns:p="urn:x" xmlns:m="urn:n" m:id="1"/>"#;
        assert!(run(e, a, &[], false).is_empty());
        assert!(!run(r#"<a/>"#, r#"<a xmlns="urn:x"/>"#, &[], true).is_empty());
    }

    #[test]
    fn type_rules_compare_every_child_with_the_example() {
        let rules = [("$.people", MatchingRule::MinType(1))];
        let e = "<people><person>Fred</person></people>";
        assert!(
            run(
                e,
                "<people><person>A</person><person>B</person></people>",
                &rules,
                false
            )
            .is_empty()
        );
        assert!(!run(e, "<people><person>A</person><cat/></people>", &rules, true).is_empty());
        assert!(!run(e, "<people></people>", &rules, true).is_empty());
    }

    #[test]
    fn value_rules_at_elements_check_their_text() {
        let rules = [("$.a.b", MatchingRule::Regex("red|blue".into()))];
        let e = "<a><b>red</b><b>blue</b></a>";
        assert!(run(e, "<a><b>blue</b><b>red</b></a>", &rules, false).is_empty());
        assert!(!run(e, "<a><b>blue</b><b>green</b></a>", &rules, false).is_empty());
    }

    #[test]
    fn invalid_xml_and_dtds_are_mismatches() {
        assert!(!run("<a/>", "<a>", &[], true).is_empty());
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>"#;
        assert!(!run("<a>lol</a>", bomb, &[], true).is_empty());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}{}", "<a>".repeat(300), "</a>".repeat(300));
        let m = run(&deep, &deep, &[], true);
        assert!(
            m.iter().any(|m| m.message.contains("nested deeper")),
            "{m:?}"
        );
    }
}
