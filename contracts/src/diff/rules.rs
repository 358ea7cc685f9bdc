//! Is one rule list tighter than another? A small lattice over the matchers: what a provider
//! must now satisfy that it did not before.

use crate::model::{MatchingRule, RuleList, RuleLogic};

/// How a rule at one path changed, seen from the provider that must satisfy it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tightness {
    Same,
    /// Accepts everything it accepted before, and maybe more.
    Looser,
    /// Accepts less than before.
    Tighter,
    /// Neither: some values it accepted before it now rejects, and the other way round.
    Different,
}

/// Compares what two rule lists accept. `None` stands for "equality with the example".
pub fn compare(old: Option<&RuleList>, new: Option<&RuleList>) -> Tightness {
    let old_rules = effective(old);
    let new_rules = effective(new);
    if old_rules == new_rules {
        return Tightness::Same;
    }
    let old_in_new = accepts_all(&new_rules, &old_rules);
    let new_in_old = accepts_all(&old_rules, &new_rules);
    match (old_in_new, new_in_old) {
        (true, true) => Tightness::Same,
        (true, false) => Tightness::Looser,
        (false, true) => Tightness::Tighter,
        (false, false) => Tightness::Different,
    }
}

/// The rules that constrain a value: an OR list is treated as its loosest member, an AND list
/// as all of them; no rules means equality with the example.
fn effective(list: Option<&RuleList>) -> Vec<MatchingRule> {
    match list {
        None => vec![MatchingRule::Equality],
        Some(l) if l.rules.is_empty() => vec![MatchingRule::Equality],
        Some(l) if l.logic == RuleLogic::Or && l.rules.len() > 1 => {
            // The union is at least as loose as each member; keep the loosest we can name.
            let mut loosest = l.rules[0].clone();
            for r in &l.rules[1..] {
                if implies(&loosest, r) {
                    loosest = r.clone();
                }
            }
            vec![loosest]
        }
        Some(l) => l.rules.clone(),
    }
}

/// Does every value satisfying all of `narrow` satisfy all of `wide`?
fn accepts_all(wide: &[MatchingRule], narrow: &[MatchingRule]) -> bool {
    wide.iter().all(|w| narrow.iter().any(|n| implies(n, w)))
}

/// Does satisfying `narrow` guarantee satisfying `wide`? Conservative: `false` when unsure.
fn implies(narrow: &MatchingRule, wide: &MatchingRule) -> bool {
    use MatchingRule::*;
    if narrow == wide {
        return true;
    }
    match (narrow, wide) {
        // Equality with the example implies any rule the example itself satisfies; contracts
        // carry examples that satisfy their rules, so equality is the tightest.
        (Equality, Type | MinType(_) | MaxType(_) | MinMaxType(..) | Regex(_) | Include(_)) => true,
        (Equality, Number | Integer | Decimal | Boolean | Null | NotEmpty | Values | Semver) => {
            true
        }
        (
            Equality,
            Date(_) | Time(_) | Timestamp(_) | ContentType(_) | EachKey(_) | EachValue(_),
        ) => true,
        // Anything that pins the kind of a value implies `type`.
        (Regex(_) | Include(_) | Date(_) | Time(_) | Timestamp(_) | Semver, Type) => true,
        (Integer | Decimal | Number | Boolean | Null, Type) => true,
        (Integer | Decimal, Number) => true,
        (MinType(_) | MaxType(_) | MinMaxType(..), Type) => true,
        (MinType(a), MinType(b)) => a >= b,
        (MaxType(a), MaxType(b)) => a <= b,
        (MinMaxType(a, _), MinType(b)) => a >= b,
        (MinMaxType(_, a), MaxType(b)) => a <= b,
        (MinMaxType(a1, a2), MinMaxType(b1, b2)) => a1 >= b1 && a2 <= b2,
        (Semver, Regex(_)) => false,
        (NotEmpty, Type) => true,
        _ => false,
    }
}

/// A rule list in a line, for messages (`type`, `regex ^pay_`, `equality`).
pub fn describe(list: Option<&RuleList>) -> String {
    let rules = effective(list);
    let parts: Vec<String> = rules.iter().map(describe_rule).collect();
    let joiner = if list.is_some_and(|l| l.logic == RuleLogic::Or) {
        " or "
    } else {
        " and "
    };
    parts.join(joiner)
}

pub fn describe_rule(rule: &MatchingRule) -> String {
    use MatchingRule::*;
    match rule {
        Equality => "equality".into(),
        Regex(r) => format!("regex {r}"),
        Type => "type".into(),
        MinType(n) => format!("type, at least {n}"),
        MaxType(n) => format!("type, at most {n}"),
        MinMaxType(a, b) => format!("type, {a} to {b}"),
        Number => "number".into(),
        Integer => "integer".into(),
        Decimal => "decimal".into(),
        Boolean => "boolean".into(),
        Null => "null".into(),
        Include(s) => format!("include {s:?}"),
        Date(f) => format!("date {f}"),
        Time(f) => format!("time {f}"),
        Timestamp(f) => format!("timestamp {f}"),
        ContentType(t) => format!("content type {t}"),
        Values => "values".into(),
        NotEmpty => "not empty".into(),
        Semver => "semver".into(),
        StatusCode(c) => format!("status {c:?}"),
        ArrayContains(v) => format!("array contains {} variant(s)", v.len()),
        EachKey(_) => "each key".into(),
        EachValue(_) => "each value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MatchingRule::*;

    fn list(rules: Vec<MatchingRule>) -> RuleList {
        RuleList {
            rules,
            logic: RuleLogic::And,
        }
    }

    #[test]
    fn the_lattice() {
        let ty = list(vec![Type]);
        let re = list(vec![Regex("^a".into())]);
        assert_eq!(compare(Some(&ty), Some(&re)), Tightness::Tighter);
        assert_eq!(compare(Some(&re), Some(&ty)), Tightness::Looser);
        assert_eq!(
            compare(None, Some(&ty)),
            Tightness::Looser,
            "equality → type"
        );
        assert_eq!(
            compare(Some(&ty), None),
            Tightness::Tighter,
            "type → equality"
        );
        assert_eq!(
            compare(Some(&list(vec![MinType(1)])), Some(&list(vec![MinType(2)]))),
            Tightness::Tighter
        );
        assert_eq!(
            compare(Some(&list(vec![Integer])), Some(&list(vec![Number]))),
            Tightness::Looser
        );
        assert_eq!(
            compare(Some(&re), Some(&list(vec![Regex("^b".into())]))),
            Tightness::Different
        );
        assert_eq!(compare(Some(&ty), Some(&ty)), Tightness::Same);
    }
}
