//! Strings that match a regular expression (Pact's `Regex` generator).
//!
//! Supports what contracts write: literals and escapes, `.`, classes (`[a-z0-9_]`, negated,
//! `\d \w \s` and their negations, POSIX `[:alpha:]`), groups (capturing, named,
//! non-capturing, inline flags), alternation, the quantifiers `* + ? {n} {n,} {n,m}` (lazy or
//! possessive too) and anchors. Unbounded repetitions stop a few past their minimum. Lookaround,
//! backreferences and Unicode property classes are refused: the caller keeps the example.
//!
//! Every generated string is checked against the real regex (as a full match) before it is
//! returned, so a construct read differently here never yields a wrong value.

use parley_contracts::matching::compile_regex;

use super::random::Rng;

/// How far past its minimum an unbounded repetition (`*`, `+`, `{n,}`) may go.
const UNBOUNDED_EXTRA: u32 = 4;
/// Attempts before giving up on a pattern whose generated strings the regex rejects.
const ATTEMPTS: usize = 16;
/// Longest string generated (a pattern like `a{100000}` is refused).
const MAX_LEN: usize = 4096;

/// A string the pattern matches in full, or why none could be made.
pub fn generate(pattern: &str, rng: &mut Rng) -> Result<String, String> {
    // Anchored as the matchers read it, and cached per thread.
    let full = compile_regex(pattern)?;
    let node = Parser::new(pattern).parse()?;
    for _ in 0..ATTEMPTS {
        let mut out = String::new();
        emit(&node, rng, &mut out)?;
        if full.is_match(&out) {
            return Ok(out);
        }
    }
    Err(format!(
        "could not generate a string matching {pattern:?} (an unsupported construct?)"
    ))
}

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Literal(char),
    /// Inclusive character ranges; negated: any printable ASCII character outside them.
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    /// `.`
    Any,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: u32,
    },
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
const SPACE: &[(char, char)] = &[(' ', ' '), ('\t', '\t')];
const ALNUM: &[(char, char)] = &[('a', 'z'), ('A', 'Z'), ('0', '9')];

struct Parser<'p> {
    chars: Vec<char>,
    i: usize,
    pattern: &'p str,
}

impl<'p> Parser<'p> {
    fn new(pattern: &'p str) -> Self {
        Parser {
            chars: pattern.chars().collect(),
            i: 0,
            pattern,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn unsupported(&self, what: &str) -> String {
        format!(
            "{what} in {:?} is not supported by the generator",
            self.pattern
        )
    }

    fn parse(mut self) -> Result<Node, String> {
        let node = self.alternation()?;
        if self.i < self.chars.len() {
            return Err(format!("unbalanced ')' in {:?}", self.pattern));
        }
        Ok(node)
    }

    fn alternation(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.concat()?];
        while self.eat('|') {
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(items))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.i += 1;
                (0, UNBOUNDED_EXTRA)
            }
            Some('+') => {
                self.i += 1;
                (1, 1 + UNBOUNDED_EXTRA)
            }
            Some('?') => {
                self.i += 1;
                (0, 1)
            }
            // `counted` moves past the braces.
            Some('{') => match self.counted() {
                Some(bounds) => bounds,
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        // Lazy or possessive: the same strings.
        let _ = self.eat('?') || self.eat('+');
        if max as usize > MAX_LEN {
            return Err(self.unsupported("a repetition this long"));
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }

    /// `{n}`, `{n,}`, `{n,m}` at the cursor (consumed); `None` when `{` is a literal.
    fn counted(&mut self) -> Option<(u32, u32)> {
        let start = self.i;
        self.i += 1;
        let number = |p: &mut Self| -> Option<u32> {
            let from = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.chars[from..p.i].iter().collect::<String>().parse().ok()
        };
        let Some(min) = number(self) else {
            self.i = start;
            return None;
        };
        let max = if self.eat(',') {
            number(self).unwrap_or(min.saturating_add(UNBOUNDED_EXTRA))
        } else {
            min
        };
        if !self.eat('}') || max < min {
            self.i = start;
            return None;
        }
        Some((min, max))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let Some(c) = self.next() else {
            return Ok(Node::Empty);
        };
        Ok(match c {
            '(' => self.group()?,
            '[' => self.class()?,
            '.' => Node::Any,
            '^' | '$' => Node::Empty,
            '\\' => self.escape()?,
            '{' => {
                // Not a quantifier here: a literal brace.
                Node::Literal('{')
            }
            other => Node::Literal(other),
        })
    }

    fn group(&mut self) -> Result<Node, String> {
        if self.eat('?') {
            match self.peek() {
                Some('=' | '!') => return Err(self.unsupported("lookahead")),
                Some('<') if matches!(self.chars.get(self.i + 1), Some('=' | '!')) => {
                    return Err(self.unsupported("lookbehind"));
                }
                Some('P' | '<') => {
                    // Named group: skip the name.
                    while let Some(c) = self.next() {
                        if c == '>' {
                            break;
                        }
                    }
                }
                _ => {
                    // Flags: `(?i)` applies to what follows, `(?i:…)` is a group.
                    loop {
                        match self.next() {
                            Some(')') => return Ok(Node::Empty),
                            Some(':') => break,
                            Some(c) if c.is_ascii_alphabetic() || c == '-' => {}
                            _ => return Err(format!("bad group flags in {:?}", self.pattern)),
                        }
                    }
                }
            }
        }
        let inner = self.alternation()?;
        if !self.eat(')') {
            return Err(format!("unclosed group in {:?}", self.pattern));
        }
        Ok(inner)
    }

    /// After `\` outside a class.
    fn escape(&mut self) -> Result<Node, String> {
        let Some(c) = self.next() else {
            return Err(format!("trailing backslash in {:?}", self.pattern));
        };
        let class = |ranges: &[(char, char)], negated: bool| Node::Class {
            ranges: ranges.to_vec(),
            negated,
        };
        Ok(match c {
            'd' => class(DIGIT, false),
            'D' => class(DIGIT, true),
            'w' => class(WORD, false),
            'W' => class(WORD, true),
            's' => class(SPACE, false),
            'S' => class(&[(' ', ' '), ('\t', '\r')], true),
            'b' | 'B' | 'A' | 'z' | 'Z' | 'G' => Node::Empty,
            '1'..='9' => return Err(self.unsupported("a backreference")),
            'p' | 'P' => return Err(self.unsupported("a Unicode class")),
            _ => Node::Literal(self.escaped_char(c)?),
        })
    }

    /// The character an escape such as `\n`, `\x41`, `\u{263A}` or `\.` stands for.
    fn escaped_char(&mut self, c: char) -> Result<char, String> {
        Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'f' => '\u{c}',
            'v' => '\u{b}',
            'a' => '\u{7}',
            'e' => '\u{1b}',
            '0' => '\0',
            'x' | 'u' | 'U' => {
                let digits: String = if self.eat('{') {
                    let mut s = String::new();
                    loop {
                        match self.next() {
                            Some('}') => break,
                            Some(h) => s.push(h),
                            None => return Err(format!("unclosed \\{c}{{ in {:?}", self.pattern)),
                        }
                    }
                    s
                } else {
                    let n = match c {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    (0..n).filter_map(|_| self.next()).collect()
                };
                u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad \\{c} escape in {:?}", self.pattern))?
            }
            other => other,
        })
    }

    /// After `[`.
    fn class(&mut self) -> Result<Node, String> {
        let negated = self.eat('^');
        let mut ranges: Vec<(char, char)> = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.next() else {
                return Err(format!("unclosed class in {:?}", self.pattern));
            };
            if c == ']' && !first {
                break;
            }
            first = false;
            let low = match c {
                '[' if self.peek() == Some(':') => {
                    ranges.extend(self.posix()?);
                    continue;
                }
                '[' => return Err(self.unsupported("a nested class")),
                '&' if self.peek() == Some('&') => {
                    return Err(self.unsupported("class intersection"));
                }
                '\\' => {
                    let Some(e) = self.next() else {
                        return Err(format!("unclosed class in {:?}", self.pattern));
                    };
                    match e {
                        'd' => {
                            ranges.extend_from_slice(DIGIT);
                            continue;
                        }
                        'w' => {
                            ranges.extend_from_slice(WORD);
                            continue;
                        }
                        's' => {
                            ranges.extend_from_slice(SPACE);
                            continue;
                        }
                        'D' | 'W' | 'S' | 'p' | 'P' => {
                            return Err(self.unsupported("a negated or Unicode class in a class"));
                        }
                        other => self.escaped_char(other)?,
                    }
                }
                other => other,
            };
            // A range `a-z` (a `-` before `]` is a literal).
            if self.peek() == Some('-') && self.chars.get(self.i + 1).is_some_and(|&n| n != ']') {
                self.i += 1;
                let high = match self.next() {
                    Some('\\') => {
                        let e = self.next().unwrap_or('\\');
                        self.escaped_char(e)?
                    }
                    Some(h) => h,
                    None => return Err(format!("unclosed class in {:?}", self.pattern)),
                };
                if high < low {
                    return Err(format!("bad range {low}-{high} in {:?}", self.pattern));
                }
                ranges.push((low, high));
            } else {
                ranges.push((low, low));
            }
        }
        Ok(Node::Class { ranges, negated })
    }

    /// After `[` when `:` follows: `[:alpha:]` (negated `[:^alpha:]` is refused).
    fn posix(&mut self) -> Result<Vec<(char, char)>, String> {
        self.i += 1;
        let from = self.i;
        while self.peek().is_some_and(|c| c != ':') {
            self.i += 1;
        }
        let name: String = self.chars[from..self.i].iter().collect();
        if !(self.eat(':') && self.eat(']')) {
            return Err(format!("bad POSIX class in {:?}", self.pattern));
        }
        Ok(match name.as_str() {
            "alpha" => vec![('a', 'z'), ('A', 'Z')],
            "digit" => DIGIT.to_vec(),
            "alnum" => ALNUM.to_vec(),
            "upper" => vec![('A', 'Z')],
            "lower" => vec![('a', 'z')],
            "space" | "blank" => SPACE.to_vec(),
            "xdigit" => vec![('0', '9'), ('a', 'f'), ('A', 'F')],
            "word" => WORD.to_vec(),
            "punct" => vec![('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
            _ => return Err(self.unsupported(&format!("the POSIX class [:{name}:]"))),
        })
    }
}

fn emit(node: &Node, rng: &mut Rng, out: &mut String) -> Result<(), String> {
    if out.len() > MAX_LEN {
        return Err("the generated string grew too long".into());
    }
    match node {
        Node::Empty => {}
        Node::Literal(c) => out.push(*c),
        Node::Any => out.push(pick_in(ALNUM, rng).unwrap_or('x')),
        Node::Class { ranges, negated } => {
            let c = if *negated {
                let allowed: Vec<char> = (0x21u8..0x7f)
                    .map(char::from)
                    .filter(|c| !ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&c)))
                    .collect();
                rng.pick(&allowed).copied()
            } else {
                pick_in(ranges, rng)
            };
            out.push(c.ok_or("an empty character class")?);
        }
        Node::Concat(items) => {
            for item in items {
                emit(item, rng, out)?;
            }
        }
        Node::Alt(branches) => {
            if let Some(branch) = rng.pick(branches) {
                emit(branch, rng, out)?;
            }
        }
        Node::Repeat { node, min, max } => {
            let n = rng.between(i64::from(*min), i64::from(*max));
            for _ in 0..n {
                emit(node, rng, out)?;
            }
        }
    }
    Ok(())
}

/// A character from the ranges, each character equally likely (surrogates skipped).
fn pick_in(ranges: &[(char, char)], rng: &mut Rng) -> Option<char> {
    let total: u64 = ranges
        .iter()
        .map(|(lo, hi)| u64::from(*hi as u32 - *lo as u32 + 1))
        .sum();
    for _ in 0..8 {
        let mut n = rng.below(total);
        for (lo, hi) in ranges {
            let size = u64::from(*hi as u32 - *lo as u32 + 1);
            if n < size {
                if let Some(c) = char::from_u32(*lo as u32 + n as u32) {
                    return Some(c);
                }
                break;
            }
            n -= size;
        }
    }
    ranges.first().map(|(lo, _)| *lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_strings_the_regex_matches() {
        let mut rng = Rng::seeded(42);
        for pattern in [
            "^pay_[0-9a-z]+$",
            r"^o-[0-9a-z]{12}$",
            r"\d{3}-\d{2,4}",
            "(GET|POST|PUT)",
            r"^[A-Z]{3}$",
            r"(?i)hello\.world",
            r"(?:ab|cd)*x?",
            r"(?P<year>\d{4})-(?<month>0[1-9]|1[0-2])",
            r"[^a-z]{5}",
            r"[[:alpha:]][[:alnum:]_-]{0,7}",
            r"\w+@\w+\.(com|org)",
            r"^charge-o-[0-9a-z]+$",
            r"a{2,}b{0,1}c",
            r"^\S+\s\S+$",
            r"[\d.]+",
            r"^(orders\.[a-z]+|shipping\.scheduled)$",
            "\\x41\\u{263A}\\t",
            r"[a-]x[-z]",
            "",
        ] {
            let full = compile_regex(pattern).expect("valid");
            for _ in 0..50 {
                let s = generate(pattern, &mut rng).unwrap_or_else(|e| panic!("{pattern}: {e}"));
                assert!(full.is_match(&s), "{pattern} generated {s:?}");
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_generate() {
        let mut rng = Rng::seeded(1);
        for pattern in [
            r"(a)\1",
            r"foo(?=bar)",
            r"\p{Greek}+",
            "a{99999}",
            "(unclosed",
            "[",
        ] {
            assert!(generate(pattern, &mut rng).is_err(), "{pattern}");
        }
    }

    #[test]
    fn varies() {
        let mut rng = Rng::seeded(3);
        let values: std::collections::BTreeSet<String> = (0..20)
            .map(|_| generate("[0-9a-f]{8}", &mut rng).expect("generates"))
            .collect();
        assert!(values.len() > 15, "{values:?}");
    }
}
