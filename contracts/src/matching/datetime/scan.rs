//! The direct scanner: a pattern as a sequence of pieces (literals, digit runs, words,
//! offsets) read left to right with no regex search and no allocation. Patterns with
//! optional sections or zone names use the regex instead.

use super::{Calendar, Field};

/// A piece of a pattern for the direct scanner.
#[derive(Clone, Debug)]
pub(super) enum Piece {
    Lit(String),
    Digits {
        min: usize,
        max: usize,
        signed: bool,
        field: Field,
    },
    /// One of these words, case-insensitively (month and day names, AM/PM).
    Words {
        options: &'static [&'static str],
        field: Field,
    },
    /// `Z` (if allowed) or `±HH`, then minutes and seconds as the letter count says.
    Offset {
        z: bool,
        colon: bool,
        minutes_optional: bool,
        seconds_optional: bool,
    },
}

const MONTH_WORDS: &[&str] = &[
    "September",
    "February",
    "November",
    "December",
    "January",
    "October",
    "August",
    "March",
    "April",
    "June",
    "July",
    "May",
];
const MONTH_SHORT_WORDS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAY_WORDS: &[&str] = &[
    "Wednesday",
    "Thursday",
    "Saturday",
    "Tuesday",
    "Monday",
    "Friday",
    "Sunday",
];
const DAY_SHORT_WORDS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const AMPM_WORDS: &[&str] = &["AM", "PM"];

/// The piece for a pattern letter, when the direct scanner handles it.
pub(super) fn fast_piece(c: char, count: usize, field: Field) -> Option<Piece> {
    let digits = |min: usize, max: usize, signed: bool| Piece::Digits {
        min,
        max,
        signed,
        field,
    };
    let words = |options: &'static [&'static str]| Piece::Words { options, field };
    Some(match (c, count) {
        ('u' | 'y' | 'Y', 2) => digits(2, 2, false),
        ('u' | 'y' | 'Y', 1) => digits(1, 9, true),
        ('u' | 'y' | 'Y', n) => digits(n, n.max(9), true),
        ('M' | 'L', 1) | ('d' | 'H' | 'h' | 'K' | 'k' | 'm' | 's' | 'w', 1) => digits(1, 2, false),
        ('M' | 'L', 2) | ('d' | 'H' | 'h' | 'K' | 'k' | 'm' | 's' | 'w', 2) => digits(2, 2, false),
        ('M' | 'L', 3) => words(MONTH_SHORT_WORDS),
        ('M' | 'L', 4) => words(MONTH_WORDS),
        ('D', 1) => digits(1, 3, false),
        ('D', 2) => digits(2, 3, false),
        ('D', 3) => digits(3, 3, false),
        ('S', n) => digits(n, n, false),
        ('A' | 'n' | 'N', n) => digits(n, 19, false),
        ('E', 1..=3) | ('e' | 'c', 3) => words(DAY_SHORT_WORDS),
        ('E', 4) | ('e' | 'c', 4) => words(DAY_WORDS),
        ('e' | 'c', 1) | ('W' | 'F', _) => digits(1, 1, false),
        ('e' | 'c', 2) => digits(2, 2, false),
        ('a', 1) => words(AMPM_WORDS),
        ('X' | 'x', n @ 1..=5) => Piece::Offset {
            z: c == 'X',
            colon: matches!(n, 3 | 5),
            minutes_optional: n == 1,
            seconds_optional: matches!(n, 4 | 5),
        },
        ('Z', 1..=3) => Piece::Offset {
            z: false,
            colon: false,
            minutes_optional: false,
            seconds_optional: false,
        },
        ('Z', 5) => Piece::Offset {
            z: true,
            colon: true,
            minutes_optional: false,
            seconds_optional: false,
        },
        _ => return None,
    })
}

/// Scans `value` with `pieces`, collecting each field's text; `None` if it does not have the
/// pattern's shape.
pub(super) fn scan(pieces: &[Piece], value: &str, cal: &mut Calendar) -> Result<bool, String> {
    let bytes = value.as_bytes();
    let mut pos = 0;
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Lit(lit) => {
                if !bytes[pos..].starts_with(lit.as_bytes()) {
                    return Ok(false);
                }
                pos += lit.len();
            }
            Piece::Digits {
                min,
                max,
                signed,
                field,
            } => {
                let start = pos;
                if *signed && matches!(bytes.get(pos), Some(b'+' | b'-')) {
                    pos += 1;
                }
                // Adjacent numbers (`yyyyMMdd`): take only the minimum width.
                let max = if matches!(pieces.get(i + 1), Some(Piece::Digits { .. })) {
                    *min
                } else {
                    *max
                };
                let digits_start = pos;
                let mut number = 0u64;
                while pos < bytes.len() && pos - digits_start < max && bytes[pos].is_ascii_digit() {
                    number = number.wrapping_mul(10) + u64::from(bytes[pos] - b'0');
                    pos += 1;
                }
                if pos - digits_start < *min {
                    return Ok(false);
                }
                // Unsigned numbers of up to 9 digits are taken as read; the rest (and values
                // out of range, for the message) go through the text.
                if !(start == digits_start && pos - digits_start <= 9 && cal.number(*field, number))
                {
                    cal.add(*field, &value[start..pos])?;
                }
            }
            Piece::Words { options, field } => {
                let rest = &value[pos..];
                let Some(word) = options.iter().find(|w| {
                    rest.len() >= w.len()
                        && rest.is_char_boundary(w.len())
                        && rest[..w.len()].eq_ignore_ascii_case(w)
                }) else {
                    return Ok(false);
                };
                cal.add(*field, &value[pos..pos + word.len()])?;
                pos += word.len();
            }
            Piece::Offset {
                z,
                colon,
                minutes_optional,
                seconds_optional,
            } => {
                let start = pos;
                if *z && bytes.get(pos) == Some(&b'Z') {
                    pos += 1;
                } else {
                    if !matches!(bytes.get(pos), Some(b'+' | b'-')) {
                        return Ok(false);
                    }
                    pos += 1;
                    let two = |p: usize| {
                        bytes
                            .get(p..p + 2)
                            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                    };
                    if !two(pos) {
                        return Ok(false);
                    }
                    pos += 2;
                    let sep = usize::from(*colon);
                    let has_minutes = (!*colon || bytes.get(pos) == Some(&b':')) && two(pos + sep);
                    if has_minutes {
                        pos += sep + 2;
                        let has_seconds =
                            (!*colon || bytes.get(pos) == Some(&b':')) && two(pos + sep);
                        if *seconds_optional && has_seconds {
                            pos += sep + 2;
                        }
                    } else if !*minutes_optional {
                        return Ok(false);
                    }
                }
                cal.add(Field::Offset, &value[start..pos])?;
            }
        }
    }
    Ok(pos == value.len())
}
