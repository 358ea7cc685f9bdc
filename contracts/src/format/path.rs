//! Matching-rule paths in Pact's JSONPath dialect (`$.items[*].sku`, `$['odd key']`), as
//! tokens, so that the loader writes them and the renderer reads them the same way.

use std::fmt::Write as _;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Tok {
    Field(String),
    Index(usize),
    /// `[*]`: every element of an array.
    AnyIndex,
    /// `.*`: every value of an object.
    AnyField,
}

/// Writes `$` followed by the tokens: `.name` for plain names, `['na me']` otherwise.
pub(crate) fn write(tokens: &[Tok]) -> String {
    let mut out = String::from("$");
    for token in tokens {
        match token {
            Tok::Field(name) if is_plain(name) => {
                out.push('.');
                out.push_str(name);
            }
            Tok::Field(name) => {
                out.push_str("['");
                for c in name.chars() {
                    if c == '\'' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push_str("']");
            }
            Tok::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Tok::AnyIndex => out.push_str("[*]"),
            Tok::AnyField => out.push_str(".*"),
        }
    }
    out
}

fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses a path; `None` when it is not one this dialect reads (such paths stay as written).
/// Accepts `$`, `.name`, `.*`, `[0]`, `[*]`, `['name']` and `["name"]`.
pub(crate) fn parse(path: &str) -> Option<Vec<Tok>> {
    let rest = path.strip_prefix('$')?;
    let bytes = rest.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                i += 1;
                if bytes.get(i) == Some(&b'*') {
                    tokens.push(Tok::AnyField);
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && bytes[i] != b'.' && bytes[i] != b'[' {
                    i += 1;
                }
                if start == i {
                    return None;
                }
                tokens.push(Tok::Field(rest[start..i].to_string()));
            }
            b'[' => {
                i += 1;
                match bytes.get(i) {
                    Some(b'*') => {
                        if bytes.get(i + 1) != Some(&b']') {
                            return None;
                        }
                        tokens.push(Tok::AnyIndex);
                        i += 2;
                    }
                    Some(&quote @ (b'\'' | b'"')) => {
                        i += 1;
                        let mut name = String::new();
                        let mut chars = rest[i..].char_indices();
                        let mut end = None;
                        while let Some((offset, c)) = chars.next() {
                            if c == '\\' {
                                if let Some((_, next)) = chars.next() {
                                    name.push(next);
                                }
                            } else if c == quote as char {
                                end = Some(i + offset + 1);
                                break;
                            } else {
                                name.push(c);
                            }
                        }
                        i = end?;
                        if bytes.get(i) != Some(&b']') {
                            return None;
                        }
                        i += 1;
                        tokens.push(Tok::Field(name));
                    }
                    Some(b'0'..=b'9') => {
                        let start = i;
                        while i < bytes.len() && bytes[i].is_ascii_digit() {
                            i += 1;
                        }
                        let index = rest[start..i].parse().ok()?;
                        if bytes.get(i) != Some(&b']') {
                            return None;
                        }
                        i += 1;
                        tokens.push(Tok::Index(index));
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    Some(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for path in [
            "$",
            "$.a",
            "$.items[*].sku",
            "$.a.*",
            "$['odd key'][0]",
            "$['it\\'s']",
            "$.x-correlation-id",
        ] {
            let tokens = parse(path).expect(path);
            assert_eq!(write(&tokens), path);
        }
        assert_eq!(
            parse("$[\"a b\"].c"),
            Some(vec![Tok::Field("a b".into()), Tok::Field("c".into())])
        );
        assert_eq!(parse("a.b"), None);
        assert_eq!(parse("$..a"), None);
    }
}
