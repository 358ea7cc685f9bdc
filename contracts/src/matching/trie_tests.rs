//! Unit tests of `trie.rs`.

use super::*;
use crate::matching::path::render;

fn list(regex: &str) -> RuleList {
    RuleList {
        rules: vec![MatchingRule::Regex(regex.into())],
        logic: RuleLogic::And,
    }
}

fn regex_of(c: &CList<'_>) -> String {
    match c.rules[0].rule {
        MatchingRule::Regex(r) => r.clone(),
        _ => String::new(),
    }
}

/// Walks `path` through the index and returns the chosen list's regex and cascade flag.
fn select(index: &RuleIndex<'_>, path: &[Seg<'_>]) -> Option<(String, bool)> {
    let mut states = Vec::new();
    let mut sel = index.root(&mut states);
    let mut range = 0..states.len();
    for (depth, seg) in path.iter().enumerate() {
        let start = states.len();
        index.step(range.clone(), *seg, &mut states);
        let end = states.len();
        sel = index.refine(sel, &states[start..end], depth + 1);
        range = start..end;
    }
    sel.chosen(path.len())
        .map(|c| (regex_of(c.list), c.cascaded))
}

#[test]
fn selects_the_most_specific_rule_like_pact() {
    let lists: Vec<(&str, RuleList)> = vec![
        ("$", list("1")),
        ("$.item1", list("3")),
        ("$.item2", list("4")),
        ("$.item1.level", list("6")),
        ("$.item1.level[1]", list("7")),
        ("$.item1.level[1].id", list("8")),
        ("$.item1.level[1].name", list("9")),
        ("$.item1.level[2]", list("10")),
        ("$.item1.level[2].id", list("11")),
        ("$.item1.level[*].id", list("12")),
        ("$.*.level[*].id", list("13")),
    ];
    let index = RuleIndex::build(lists.iter().map(|(k, v)| (*k, v)));
    let f = Seg::Field;
    let i = Seg::Index;
    let cases: Vec<(Vec<Seg<'_>>, &str)> = vec![
        (vec![], "1"),
        (vec![f("a")], "1"),
        (vec![f("item1")], "3"),
        (vec![f("item2")], "4"),
        (vec![f("item3")], "1"),
        (vec![f("item1"), f("level")], "6"),
        (vec![f("item1"), f("level"), i(1)], "7"),
        (vec![f("item1"), f("level"), i(2)], "10"),
        (vec![f("item1"), f("level"), i(1), f("id")], "8"),
        (vec![f("item1"), f("level"), i(1), f("name")], "9"),
        (vec![f("item1"), f("level"), i(1), f("other")], "7"),
        (vec![f("item1"), f("level"), i(2), f("id")], "11"),
        (vec![f("item1"), f("level"), i(3), f("id")], "12"),
        (vec![f("item2"), f("level"), i(1), f("id")], "13"),
        (vec![f("item2"), f("level"), i(3), f("id")], "13"),
    ];
    for (path, want) in cases {
        let got = select(&index, &path).map(|(r, _)| r);
        assert_eq!(got.as_deref(), Some(want), "path {}", render(&path));
    }
    let (_, cascaded) = select(&index, &[f("item1"), f("x")]).expect("rule");
    assert!(cascaded);
    let (_, cascaded) = select(&index, &[f("item1")]).expect("rule");
    assert!(!cascaded);
}

#[test]
fn equal_weights_prefer_the_longer_path() {
    let lists: Vec<(&str, RuleList)> = vec![
        ("$.animals", list("1")),
        ("$.animals.*", list("2")),
        ("$.animals.*.alligator['@phoneNumber']", list("3")),
    ];
    let index = RuleIndex::build(lists.iter().map(|(k, v)| (*k, v)));
    let got = select(&index, &[Seg::Field("animals"), Seg::Index(0)]);
    assert_eq!(got.map(|(r, _)| r).as_deref(), Some("2"));
}

#[test]
fn names_and_indices_match_each_other() {
    let lists: Vec<(&str, RuleList)> = vec![("$.animals.0", list("a")), ("$[1]", list("b"))];
    let index = RuleIndex::build(lists.iter().map(|(k, v)| (*k, v)));
    let got = select(&index, &[Seg::Field("animals"), Seg::Index(0)]);
    assert_eq!(got.map(|(r, _)| r).as_deref(), Some("a"));
    let got = select(&index, &[Seg::Field("1")]);
    assert_eq!(got.map(|(r, _)| r).as_deref(), Some("b"));
}

#[test]
fn the_empty_path_matches_everything_with_the_lowest_weight() {
    let lists: Vec<(&str, RuleList)> = vec![("", list("g")), ("$.a", list("a"))];
    let index = RuleIndex::build(lists.iter().map(|(k, v)| (*k, v)));
    assert_eq!(
        select(&index, &[Seg::Field("b")])
            .map(|(r, _)| r)
            .as_deref(),
        Some("g")
    );
    assert_eq!(
        select(&index, &[Seg::Field("a")])
            .map(|(r, _)| r)
            .as_deref(),
        Some("a")
    );
}

#[test]
fn field_tables_find_what_was_inserted() {
    let mut f = Fields::default();
    assert_eq!(f.get("a"), None);
    for i in 0..1000u32 {
        assert_eq!(f.get_or_insert(&format!("name-{i}"), i), i);
    }
    assert_eq!(f.get_or_insert("name-7", 5000), 7);
    for i in 0..1000u32 {
        assert_eq!(f.get(&format!("name-{i}")), Some(i));
    }
    assert_eq!(f.get("name-1000"), None);
    assert_eq!(f.get("a-much-longer-name-than-sixteen-bytes"), None);
    f.get_or_insert("a-much-longer-name-than-sixteen-bytes", 1);
    assert_eq!(f.get("a-much-longer-name-than-sixteen-bytes"), Some(1));
}

#[test]
fn formats_indices_without_allocating() {
    let mut buf = itoa_buf();
    assert_eq!(fmt_usize(&mut buf, 0), "0");
    assert_eq!(fmt_usize(&mut buf, 1234567), "1234567");
    assert_eq!(fmt_usize(&mut buf, usize::MAX), usize::MAX.to_string());
}
