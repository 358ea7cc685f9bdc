//! Date, time and timestamp matchers with Java `DateTimeFormatter` patterns (what Pact writes:
//! `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`).
//!
//! A pattern is converted into a strict, anchored regular expression for the shape of the
//! value (field widths as Java's strict parser reads them: `MM` is exactly two digits, `SSS`
//! exactly three), whose captured fields are then checked with chrono: calendar dates
//! (`2023-02-29` fails), clock ranges, offsets, day-of-year and weekday consistency.

use chrono::{Datelike, FixedOffset, Month, NaiveDate, NaiveTime, Weekday};
use regex::Regex;

/// Which matcher, for its default pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Date,
    Time,
    Timestamp,
}

/// The pattern to use: the rule's, or Pact's default when the rule has none.
pub fn or_default(format: &str, kind: Kind) -> &str {
    if !format.is_empty() {
        return format;
    }
    match kind {
        Kind::Date => "yyyy-MM-dd",
        Kind::Time => "HH:mm:ss",
        Kind::Timestamp => "yyyy-MM-dd'T'HH:mm:ssXXX",
    }
}

/// What a captured group holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Year,
    /// Two-digit year (`yy`): 2000–2099 as Java reads it.
    Year2,
    MonthNumber,
    MonthText,
    Day,
    DayOfYear,
    Hour23,
    Hour12,
    Hour11,
    Hour24,
    Minute,
    Second,
    AmPm,
    WeekdayText,
    /// `+01:00`, `+0100`, `+01`, `Z`.
    Offset,
    /// Anything else Java accepts that needs no further check (era, zone names, fractions…).
    Unchecked,
}

mod scan;

use scan::{Piece, fast_piece, scan};

/// A compiled Java date/time pattern.
#[derive(Clone, Debug)]
pub struct JavaPattern {
    regex: Regex,
    fields: Vec<Field>,
    /// The same pattern as a sequence of pieces scanned directly (no regex search, no
    /// allocation): all patterns without optional sections or zone names.
    fast: Option<Vec<Piece>>,
}

const MONTHS: &str =
    "(?i:January|February|March|April|May|June|July|August|September|October|November|December)";
const MONTHS_SHORT: &str = "(?i:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const DAYS: &str = "(?i:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const DAYS_SHORT: &str = "(?i:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";

impl JavaPattern {
    /// Converts a pattern; unknown pattern letters and unbalanced quotes or brackets are errors
    /// (as `DateTimeFormatter.ofPattern` rejects them).
    pub fn parse(pattern: &str) -> Result<JavaPattern, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut re = String::from(r"\A");
        let mut fields = Vec::new();
        let mut fast: Option<Vec<Piece>> = Some(Vec::new());
        let mut depth = 0usize;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                // Quoted literal; '' is a single quote.
                if chars.get(i + 1) == Some(&'\'') {
                    re.push_str(&regex::escape("'"));
                    if let Some(f) = &mut fast {
                        f.push(Piece::Lit("'".into()));
                    }
                    i += 2;
                    continue;
                }
                let mut j = i + 1;
                let mut literal = String::new();
                loop {
                    match chars.get(j) {
                        None => return Err(format!("unterminated quote in pattern '{pattern}'")),
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            literal.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&ch) => {
                            literal.push(ch);
                            j += 1;
                        }
                    }
                }
                re.push_str(&regex::escape(&literal));
                if let Some(f) = &mut fast {
                    f.push(Piece::Lit(literal));
                }
                i = j + 1;
                continue;
            }
            if c == '[' {
                fast = None;
                depth += 1;
                re.push_str("(?:");
                i += 1;
                continue;
            }
            if c == ']' {
                if depth == 0 {
                    return Err(format!("unbalanced ']' in pattern '{pattern}'"));
                }
                depth -= 1;
                re.push_str(")?");
                i += 1;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                if matches!(c, '#' | '{' | '}') {
                    return Err(format!("'{c}' is reserved in pattern '{pattern}'"));
                }
                re.push_str(&regex::escape(&c.to_string()));
                if let Some(f) = &mut fast {
                    f.push(Piece::Lit(c.to_string()));
                }
                i += 1;
                continue;
            }
            let mut count = 1;
            while chars.get(i + count) == Some(&c) {
                count += 1;
            }
            let (fragment, field) = letter(c, count, pattern)?;
            re.push('(');
            re.push_str(&fragment);
            re.push(')');
            fields.push(field);
            fast = fast.and_then(|mut f| {
                f.push(fast_piece(c, count, field)?);
                Some(f)
            });
            i += count;
        }
        if depth != 0 {
            return Err(format!("unbalanced '[' in pattern '{pattern}'"));
        }
        re.push_str(r"\z");
        let regex = Regex::new(&re).map_err(|e| format!("cannot use pattern '{pattern}': {e}"))?;
        Ok(JavaPattern {
            regex,
            fields,
            fast,
        })
    }

    /// Does `value` match the pattern (shape and calendar)?
    pub fn validate(&self, value: &str) -> Result<(), String> {
        let shape = || "it does not have the pattern's shape".to_string();
        let mut cal = Calendar::default();
        if let Some(pieces) = &self.fast {
            if !scan(pieces, value, &mut cal)? {
                return Err(shape());
            }
            return cal.finish();
        }
        let caps = self.regex.captures(value).ok_or_else(shape)?;
        for (field, m) in self.fields.iter().zip(caps.iter().skip(1)) {
            if let Some(m) = m {
                cal.add(*field, m.as_str())?;
            }
        }
        cal.finish()
    }
}

/// The fields found in a value, checked one by one (ranges), then together (the calendar
/// date, weekday consistency, the time).
#[derive(Default)]
struct Calendar {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    ordinal: Option<u32>,
    weekday: Option<Weekday>,
    hour: Option<u32>,
    minute: Option<u32>,
    second: Option<u32>,
}

fn num(s: &str) -> Result<i64, String> {
    if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(s
            .bytes()
            .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0')));
    }
    s.parse::<i64>()
        .map_err(|_| format!("'{s}' is not a number"))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

impl Calendar {
    /// Records an unsigned number of at most 9 digits read for `field`, if it is a numeric
    /// field and the value is in range (as [`Calendar::add`] would); `false` otherwise.
    #[inline]
    fn number(&mut self, field: Field, v: u64) -> bool {
        let within = |lo: u64, hi: u64| (lo..=hi).contains(&v);
        let v32 = v as u32;
        match field {
            Field::Year => self.year = Some(v as i32),
            Field::Year2 => self.year = Some(2000 + v as i32),
            Field::MonthNumber if within(1, 12) => self.month = Some(v32),
            Field::Day if within(1, 31) => self.day = Some(v32),
            Field::DayOfYear if within(1, 366) => self.ordinal = Some(v32),
            Field::Hour23 if within(0, 23) => self.hour = Some(v32),
            Field::Hour12 if within(1, 12) => {}
            Field::Hour11 if within(0, 11) => {}
            Field::Hour24 if within(1, 24) => {}
            Field::Unchecked => {}
            Field::Minute if within(0, 59) => self.minute = Some(v32),
            Field::Second if within(0, 59) => self.second = Some(v32),
            _ => return false,
        }
        true
    }

    fn add(&mut self, field: Field, s: &str) -> Result<(), String> {
        match field {
            Field::Year => {
                let v = num(s)?;
                self.year =
                    Some(i32::try_from(v).map_err(|_| format!("year {s} is out of range"))?);
            }
            Field::Year2 => self.year = Some(2000 + num(s)? as i32),
            Field::MonthNumber => self.month = Some(range(s, 1, 12, "month")?),
            Field::MonthText => {
                let m: Month = s
                    .parse()
                    .map_err(|_| format!("'{s}' is not a month name"))?;
                self.month = Some(m.number_from_month());
            }
            Field::Day => self.day = Some(range(s, 1, 31, "day")?),
            Field::DayOfYear => self.ordinal = Some(range(s, 1, 366, "day of year")?),
            Field::Hour23 => self.hour = Some(range(s, 0, 23, "hour")?),
            Field::Hour12 => {
                range(s, 1, 12, "hour")?;
            }
            Field::Hour11 => {
                range(s, 0, 11, "hour")?;
            }
            Field::Hour24 => {
                range(s, 1, 24, "hour")?;
            }
            Field::Minute => self.minute = Some(range(s, 0, 59, "minute")?),
            Field::Second => self.second = Some(range(s, 0, 59, "second")?),
            Field::AmPm => {}
            Field::WeekdayText => {
                let w: Weekday = s.parse().map_err(|_| format!("'{s}' is not a day name"))?;
                self.weekday = Some(w);
            }
            Field::Offset => check_offset(s)?,
            Field::Unchecked => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<(), String> {
        let date = match (self.year, self.month, self.day, self.ordinal) {
            (Some(y), Some(m), Some(d), _) => {
                if d > days_in_month(y, m) {
                    return Err(format!("{y:04}-{m:02}-{d:02} is not a date"));
                }
                // chrono for the day of the week, when there is one to check.
                match self.weekday {
                    Some(_) => Some(
                        NaiveDate::from_ymd_opt(y, m, d)
                            .ok_or_else(|| format!("{y:04}-{m:02}-{d:02} is out of range"))?,
                    ),
                    None => None,
                }
            }
            (Some(y), _, _, Some(o)) => Some(
                NaiveDate::from_yo_opt(y, o)
                    .ok_or_else(|| format!("day {o} of {y} is not a date"))?,
            ),
            (None, Some(m), Some(d), _) => {
                // No year: any year will do, so a leap year.
                if d > days_in_month(2000, m) {
                    return Err(format!("{m:02}-{d:02} is not a date"));
                }
                None
            }
            _ => None,
        };
        if let (Some(date), Some(w)) = (date, self.weekday)
            && date.weekday() != w
        {
            return Err(format!("{date} is a {}, not a {w}", date.weekday()));
        }
        // Hours, minutes and seconds were range-checked one by one; check the clock with
        // chrono all the same.
        if let (Some(h), Some(m)) = (self.hour, self.minute) {
            NaiveTime::from_hms_opt(h, m, self.second.unwrap_or(0))
                .ok_or_else(|| format!("{h:02}:{m:02} is not a time"))?;
        }
        Ok(())
    }
}

fn range(s: &str, lo: u32, hi: u32, what: &str) -> Result<u32, String> {
    // Digits only (no sign): the shape allowed them.
    let parsed = if s.len() <= 9 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.bytes()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0')))
    } else {
        s.parse::<u32>()
    };
    match parsed {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!("{what} {s} is out of range")),
    }
}

fn check_offset(s: &str) -> Result<(), String> {
    let body = s
        .strip_prefix("GMT")
        .or_else(|| s.strip_prefix("UTC"))
        .unwrap_or(s);
    if body.is_empty() || body == "Z" {
        return Ok(());
    }
    let (sign, rest) = match body.as_bytes().first() {
        Some(b'+') => (1, &body[1..]),
        Some(b'-') => (-1, &body[1..]),
        _ => return Err(format!("'{s}' is not an offset")),
    };
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let (h, m, sec) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().unwrap_or(99), 0, 0),
        3 => (
            digits[..1].parse::<i32>().unwrap_or(99),
            digits[1..].parse::<i32>().unwrap_or(99),
            0,
        ),
        4 => (
            digits[..2].parse::<i32>().unwrap_or(99),
            digits[2..].parse::<i32>().unwrap_or(99),
            0,
        ),
        6 => (
            digits[..2].parse::<i32>().unwrap_or(99),
            digits[2..4].parse::<i32>().unwrap_or(99),
            digits[4..].parse::<i32>().unwrap_or(99),
        ),
        _ => return Err(format!("'{s}' is not an offset")),
    };
    if h > 18 || m > 59 || sec > 59 {
        return Err(format!("offset {s} is out of range"));
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60 + sec))
        .map(|_| ())
        .ok_or_else(|| format!("offset {s} is out of range"))
}

/// The regex fragment and field for `count` repetitions of a pattern letter.
fn letter(c: char, count: usize, pattern: &str) -> Result<(String, Field), String> {
    let digits = |min: usize, max: usize| {
        if min == max {
            format!("[0-9]{{{min}}}")
        } else {
            format!("[0-9]{{{min},{max}}}")
        }
    };
    let num12 = |count: usize| {
        if count == 1 {
            digits(1, 2)
        } else {
            digits(2, 2)
        }
    };
    let too_many = || format!("too many pattern letters '{c}' in pattern '{pattern}'");
    Ok(match c {
        'G' => (
            match count {
                1..=3 => "(?:AD|BC|CE|BCE)".to_string(),
                4 => "(?:Anno Domini|Before Christ)".to_string(),
                5 => "[AB]".to_string(),
                _ => return Err(too_many()),
            },
            Field::Unchecked,
        ),
        'u' | 'y' | 'Y' => match count {
            2 => (digits(2, 2), Field::Year2),
            1 => (format!("[+-]?{}", digits(1, 9)), Field::Year),
            n => (format!("[+-]?{}", digits(n, n.max(9))), Field::Year),
        },
        'M' | 'L' => match count {
            1 | 2 => (num12(count), Field::MonthNumber),
            3 => (MONTHS_SHORT.to_string(), Field::MonthText),
            4 => (MONTHS.to_string(), Field::MonthText),
            5 => ("[A-Za-z]".to_string(), Field::Unchecked),
            _ => return Err(too_many()),
        },
        'd' => match count {
            1 | 2 => (num12(count), Field::Day),
            _ => return Err(too_many()),
        },
        'D' => match count {
            1 => (digits(1, 3), Field::DayOfYear),
            2 => (digits(2, 3), Field::DayOfYear),
            3 => (digits(3, 3), Field::DayOfYear),
            _ => return Err(too_many()),
        },
        'Q' | 'q' => (
            match count {
                1 | 2 => "0?[1-4]".to_string(),
                3 => "Q[1-4]".to_string(),
                4 => "(?:1st|2nd|3rd|4th) quarter".to_string(),
                5 => "[1-4]".to_string(),
                _ => return Err(too_many()),
            },
            Field::Unchecked,
        ),
        'w' => match count {
            1 | 2 => (num12(count), Field::Unchecked),
            _ => return Err(too_many()),
        },
        'W' | 'F' => (digits(1, 1), Field::Unchecked),
        'E' => match count {
            1..=3 => (DAYS_SHORT.to_string(), Field::WeekdayText),
            4 => (DAYS.to_string(), Field::WeekdayText),
            5 => ("[A-Za-z]".to_string(), Field::Unchecked),
            _ => return Err(too_many()),
        },
        'e' | 'c' => match count {
            1 => (digits(1, 1), Field::Unchecked),
            2 => (digits(2, 2), Field::Unchecked),
            3 => (DAYS_SHORT.to_string(), Field::WeekdayText),
            4 => (DAYS.to_string(), Field::WeekdayText),
            5 => ("[A-Za-z]".to_string(), Field::Unchecked),
            _ => return Err(too_many()),
        },
        'a' => match count {
            1 => ("(?i:AM|PM)".to_string(), Field::AmPm),
            _ => return Err(too_many()),
        },
        'B' => ("[A-Za-z ]+".to_string(), Field::Unchecked),
        'H' | 'h' | 'K' | 'k' | 'm' | 's' => {
            if count > 2 {
                return Err(too_many());
            }
            let field = match c {
                'H' => Field::Hour23,
                'h' => Field::Hour12,
                'K' => Field::Hour11,
                'k' => Field::Hour24,
                'm' => Field::Minute,
                _ => Field::Second,
            };
            (num12(count), field)
        }
        'S' => {
            if count > 9 {
                return Err(too_many());
            }
            (digits(count, count), Field::Unchecked)
        }
        'A' | 'n' | 'N' => (digits(count, 19), Field::Unchecked),
        'V' => {
            if count != 2 {
                return Err(format!(
                    "pattern letter 'V' must be 'VV' in pattern '{pattern}'"
                ));
            }
            (
                "(?:Z|UTC|GMT|[A-Za-z_]+(?:/[A-Za-z_+-]+)*|[+-][0-9]{2}:?[0-9]{2})".to_string(),
                Field::Unchecked,
            )
        }
        'v' | 'z' => (
            "(?:[A-Za-z][A-Za-z ]*[A-Za-z]|[A-Za-z]+(?:/[A-Za-z_]+)*)".to_string(),
            Field::Unchecked,
        ),
        'O' => (
            "GMT(?:[+-][0-9]{1,2}(?::[0-9]{2})?)?".to_string(),
            Field::Offset,
        ),
        'X' | 'x' => {
            let offset = match count {
                1 => "[+-][0-9]{2}(?:[0-9]{2})?",
                2 => "[+-][0-9]{4}",
                3 => "[+-][0-9]{2}:[0-9]{2}",
                4 => "[+-][0-9]{4}(?:[0-9]{2})?",
                5 => "[+-][0-9]{2}:[0-9]{2}(?::[0-9]{2})?",
                _ => return Err(too_many()),
            };
            let fragment = if c == 'X' {
                format!("Z|{offset}")
            } else {
                offset.to_string()
            };
            (fragment, Field::Offset)
        }
        'Z' => (
            match count {
                1..=3 => "[+-][0-9]{4}".to_string(),
                4 => "GMT(?:[+-][0-9]{2}:[0-9]{2})?".to_string(),
                5 => "Z|[+-][0-9]{2}:[0-9]{2}".to_string(),
                _ => return Err(too_many()),
            },
            Field::Offset,
        ),
        other => {
            return Err(format!(
                "unknown pattern letter '{other}' in pattern '{pattern}'"
            ));
        }
    })
}

#[cfg(test)]
mod tests;
