//! Pact's path expressions (`$.animals[*].name`, `$['two']['@str']`), concrete paths into
//! documents, and their weights.
//!
//! A rule path matches a document path when each of its tokens matches the document path's
//! token at the same position (the document path may be longer: rules cascade to children).
//! A name or index that matches counts 2, a `*` or `[*]` counts 1; the weight is the product,
//! and the rule with the largest weight × length wins (see `trie.rs` for how that choice
//! is made fast). A rule chosen for a longer document path than its own is *cascaded*: size
//! checks such as `min`/`max` only apply where the rule was written.

use std::fmt::Write as _;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Root,
    Field(String),
    Index(usize),
    /// `.*`: any key or index.
    Star,
    /// `[*]`: any index.
    StarIndex,
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '#' | '@')
}

/// Parses a path expression. `""` has no tokens (it matches everything, with the lowest
/// weight); an expression starting with a name gets an implied `$`.
pub fn parse(expr: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i;
    let Some(&first) = chars.first() else {
        return Ok(tokens);
    };
    tokens.push(Token::Root);
    if first == '$' {
        i = 1;
    } else if first.is_alphanumeric() {
        let (name, next) = identifier(&chars, 0, expr)?;
        tokens.push(Token::Field(name));
        i = next;
    } else {
        return Err(format!(
            "path expression \"{expr}\" does not start with the root marker \"$\""
        ));
    }
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                match chars.get(i) {
                    None => {
                        return Err(format!(
                            "expected a name or \"*\" after \".\" in path expression \"{expr}\" at index {}",
                            i - 1
                        ));
                    }
                    Some('*') => {
                        tokens.push(Token::Star);
                        i += 1;
                    }
                    Some(&c) if is_identifier_char(c) => {
                        let (name, next) = identifier(&chars, i, expr)?;
                        tokens.push(Token::Field(name));
                        i = next;
                    }
                    Some(&c) => {
                        return Err(format!(
                            "expected a name or \"*\" in path expression \"{expr}\" at index {i}, found \"{c}\""
                        ));
                    }
                }
            }
            '[' => {
                i += 1;
                match chars.get(i) {
                    Some('\'') => {
                        i += 1;
                        let mut name = String::new();
                        loop {
                            match chars.get(i) {
                                None => {
                                    return Err(format!(
                                        "unterminated string in path expression \"{expr}\""
                                    ));
                                }
                                Some('\\') => {
                                    if let Some(&c) = chars.get(i + 1) {
                                        name.push(c);
                                        i += 2;
                                    } else {
                                        return Err(format!(
                                            "unterminated string in path expression \"{expr}\""
                                        ));
                                    }
                                }
                                Some('\'') => {
                                    i += 1;
                                    break;
                                }
                                Some(&c) => {
                                    name.push(c);
                                    i += 1;
                                }
                            }
                        }
                        if name.is_empty() {
                            return Err(format!(
                                "empty names are not allowed in path expression \"{expr}\""
                            ));
                        }
                        tokens.push(Token::Field(name));
                    }
                    Some('*') => {
                        tokens.push(Token::StarIndex);
                        i += 1;
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let start = i;
                        while chars.get(i).is_some_and(char::is_ascii_digit) {
                            i += 1;
                        }
                        let digits: String = chars[start..i].iter().collect();
                        let index = digits.parse::<usize>().map_err(|_| {
                            format!("index {digits} is too large in path expression \"{expr}\"")
                        })?;
                        tokens.push(Token::Index(index));
                    }
                    _ => {
                        return Err(format!(
                            "expected a quoted name, a number or \"*\" after \"[\" in path expression \"{expr}\" at index {}",
                            i - 1
                        ));
                    }
                }
                if chars.get(i) != Some(&']') {
                    return Err(format!(
                        "unterminated brackets in path expression \"{expr}\" at index {i}"
                    ));
                }
                i += 1;
            }
            c => {
                return Err(format!(
                    "expected \".\" or \"[\" in path expression \"{expr}\" at index {i}, found \"{c}\""
                ));
            }
        }
    }
    Ok(tokens)
}

fn identifier(chars: &[char], start: usize, expr: &str) -> Result<(String, usize), String> {
    let mut i = start;
    let mut name = String::new();
    while let Some(&c) = chars.get(i) {
        if is_identifier_char(c) {
            name.push(c);
            i += 1;
        } else if matches!(c, '.' | '[') {
            break;
        } else {
            return Err(format!(
                "\"{c}\" is not allowed in a name in path expression \"{expr}\" at index {i}"
            ));
        }
    }
    Ok((name, i))
}

/// A step of a concrete path into a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg<'a> {
    Field(&'a str),
    Index(usize),
}

/// Writes a concrete path the way Pact prints it: `$.a[0]['b c']`.
pub fn render(path: &[Seg<'_>]) -> String {
    let mut out = String::from("$");
    for seg in path {
        match seg {
            Seg::Field(name) => push_key(&mut out, name),
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// Appends `.name`, or `['name']` when the name is not a plain identifier.
pub fn push_key(out: &mut String, name: &str) {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        out.push('.');
        out.push_str(name);
    } else {
        out.push_str("['");
        for c in name.chars() {
            if c == '\'' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("']");
    }
}

/// The weight of one rule path against one concrete path (`None`: it does not match), as
/// (number of exact tokens, number of tokens). Used where rules are few (headers, tests).
pub fn weight(tokens: &[Token], path: &[Seg<'_>]) -> Option<(u32, usize)> {
    if tokens.is_empty() {
        return Some((0, 0));
    }
    // tokens[0] is the root; the concrete path is implicitly rooted.
    if tokens.len() > path.len() + 1 {
        return None;
    }
    let mut exact = 1;
    for (token, seg) in tokens[1..].iter().zip(path) {
        match token_matches(token, *seg) {
            TokenMatch::Exact => exact += 1,
            TokenMatch::Wild => {}
            TokenMatch::No => return None,
        }
    }
    Some((exact, tokens.len()))
}

enum TokenMatch {
    Exact,
    Wild,
    No,
}

fn token_matches(token: &Token, seg: Seg<'_>) -> TokenMatch {
    match (token, seg) {
        (Token::Root, _) => TokenMatch::No,
        (Token::Field(name), Seg::Field(f)) if name == f => TokenMatch::Exact,
        (Token::Field(name), Seg::Index(i)) if name.parse::<usize>() == Ok(i) => TokenMatch::Exact,
        (Token::Index(n), Seg::Index(i)) if *n == i => TokenMatch::Exact,
        (Token::Index(n), Seg::Field(f)) if f.parse::<usize>() == Ok(*n) => TokenMatch::Exact,
        (Token::Star, _) => TokenMatch::Wild,
        (Token::StarIndex, Seg::Index(_)) => TokenMatch::Wild,
        (Token::StarIndex, Seg::Field(f)) if f.parse::<usize>().is_ok() => TokenMatch::Wild,
        _ => TokenMatch::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(expr: &str) -> Vec<Token> {
        parse(expr).expect("parses")
    }

    #[test]
    fn parses_pact_path_expressions() {
        assert_eq!(t(""), vec![]);
        assert_eq!(t("$"), vec![Token::Root]);
        assert_eq!(
            t("$.a[1].*[*]"),
            vec![
                Token::Root,
                Token::Field("a".into()),
                Token::Index(1),
                Token::Star,
                Token::StarIndex
            ]
        );
        assert_eq!(
            t("$['two']['@str']"),
            vec![
                Token::Root,
                Token::Field("two".into()),
                Token::Field("@str".into())
            ]
        );
        assert_eq!(
            t("$.foo.#text"),
            vec![
                Token::Root,
                Token::Field("foo".into()),
                Token::Field("#text".into())
            ]
        );
        assert_eq!(
            t("Accept"),
            vec![Token::Root, Token::Field("Accept".into())]
        );
        assert_eq!(
            t("$['it\\'s']"),
            vec![Token::Root, Token::Field("it's".into())]
        );
        assert_eq!(
            t("$.user-id.id:test"),
            vec![
                Token::Root,
                Token::Field("user-id".into()),
                Token::Field("id:test".into())
            ]
        );
    }

    #[test]
    fn rejects_bad_expressions() {
        for bad in ["$.", "$a", "$[", "$['a'", "$['']", "$[x]", "$.a!", "!"] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn renders_paths_like_pact() {
        assert_eq!(
            render(&[Seg::Field("animals"), Seg::Index(1), Seg::Field("name")]),
            "$.animals[1].name"
        );
        assert_eq!(render(&[Seg::Field("@id")]), "$['@id']");
        assert_eq!(render(&[Seg::Field("a b")]), "$['a b']");
        assert_eq!(render(&[]), "$");
    }

    #[test]
    fn weights_follow_pact() {
        let p = [
            Seg::Field("item1"),
            Seg::Field("level"),
            Seg::Index(1),
            Seg::Field("id"),
        ];
        assert_eq!(weight(&t("$"), &p), Some((1, 1)));
        assert_eq!(weight(&t("$.item2"), &p), None);
        assert_eq!(weight(&t("$.item1.level[1].id"), &p), Some((5, 5)));
        assert_eq!(weight(&t("$.item1.level[*].id"), &p), Some((4, 5)));
        assert_eq!(weight(&t("$.*.level[*].id"), &p), Some((3, 5)));
        assert_eq!(weight(&t("$.item1.level[2]"), &p), None);
        assert_eq!(weight(&t("$.item1.level.1.id"), &p), Some((5, 5)));
        assert_eq!(weight(&t("$.a.b.c.d.e"), &p), None);
    }
}
