//! Dates and times for Pact's `Date`, `Time` and `DateTime` generators: the current time in
//! UTC, moved by an optional expression (`+1 day`, `now - 2 hours`, `tomorrow`), formatted with
//! a Java `DateTimeFormatter` pattern (what Pact writes: `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Pact's default patterns when a generator gives none.
pub const DEFAULT_DATE: &str = "yyyy-MM-dd";
pub const DEFAULT_TIME: &str = "HH:mm:ss";
pub const DEFAULT_DATE_TIME: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";

/// A moment in UTC, broken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moment {
    /// Seconds since the Unix epoch.
    pub seconds: i64,
    pub nanos: u32,
}

impl Moment {
    pub fn now() -> Moment {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Moment {
            seconds: since.as_secs() as i64,
            nanos: since.subsec_nanos(),
        }
    }

    /// Moved by a Pact-style expression: `now`, `today`, `tomorrow`, `yesterday`, then any
    /// number of `+ N unit` / `- N unit` (units: second, minute, hour, day, week, with or
    /// without a plural `s`); `@ HH:mm` style time parts are not supported.
    pub fn shifted(self, expression: &str) -> Result<Moment, String> {
        let lowered = expression.trim().to_ascii_lowercase();
        let mut words: Vec<String> = Vec::new();
        // Split "+1day" into "+", "1", "day".
        let mut current = String::new();
        let mut kind = 0u8; // 0 none, 1 digits, 2 letters
        for c in lowered.chars() {
            let k = if c.is_ascii_digit() {
                1
            } else if c.is_ascii_alphabetic() {
                2
            } else {
                0
            };
            if (k != kind || k == 0) && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if c == '+' || c == '-' {
                words.push(c.to_string());
            } else if k != 0 {
                current.push(c);
            }
            kind = k;
        }
        if !current.is_empty() {
            words.push(current);
        }
        let mut seconds = self.seconds;
        let mut rest = words.as_slice();
        match rest.first().map(String::as_str) {
            Some("now" | "today") => rest = &rest[1..],
            Some("tomorrow") => {
                seconds += 86_400;
                rest = &rest[1..];
            }
            Some("yesterday") => {
                seconds -= 86_400;
                rest = &rest[1..];
            }
            _ => {}
        }
        while !rest.is_empty() {
            let [sign, n, unit, tail @ ..] = rest else {
                return Err(format!("cannot read the date expression {expression:?}"));
            };
            let sign = match sign.as_str() {
                "+" => 1,
                "-" => -1,
                _ => return Err(format!("cannot read the date expression {expression:?}")),
            };
            let n: i64 = n
                .parse()
                .map_err(|_| format!("cannot read the date expression {expression:?}"))?;
            let unit = match unit.trim_end_matches('s') {
                "second" | "sec" => 1,
                "minute" | "min" => 60,
                "hour" => 3600,
                "day" => 86_400,
                "week" => 7 * 86_400,
                "fortnight" => 14 * 86_400,
                other => {
                    return Err(format!(
                        "unknown unit {other:?} in the date expression {expression:?}"
                    ));
                }
            };
            seconds += sign * n * unit;
            rest = tail;
        }
        Ok(Moment {
            seconds,
            nanos: self.nanos,
        })
    }
}

/// The calendar fields of a moment (UTC).
#[derive(Clone, Copy, Debug)]
struct Fields {
    year: i64,
    month: u32,
    day: u32,
    day_of_year: u32,
    /// ISO: Monday 1 … Sunday 7.
    weekday: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

fn fields(m: Moment) -> Fields {
    let days = m.seconds.div_euclid(86_400);
    let secs = m.seconds.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    Fields {
        year,
        month,
        day,
        day_of_year: day_of_year(year, month, day),
        weekday: (days + 3).rem_euclid(7) as u32 + 1,
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
        nanos: m.nanos,
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn day_of_year(year: i64, month: u32, day: u32) -> u32 {
    const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    BEFORE[(month - 1) as usize] + day + u32::from(month > 2 && is_leap(year))
}

/// ISO 8601 weeks in a year (52 or 53).
fn iso_weeks(year: i64) -> u32 {
    let p = |y: i64| (y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)).rem_euclid(7);
    if p(year) == 4 || p(year - 1) == 3 {
        53
    } else {
        52
    }
}

/// (week-based year, ISO week).
fn iso_week(f: &Fields) -> (i64, u32) {
    let week = (f.day_of_year as i64 - f.weekday as i64 + 10) / 7;
    if week < 1 {
        (f.year - 1, iso_weeks(f.year - 1))
    } else if week as u32 > iso_weeks(f.year) {
        (f.year + 1, 1)
    } else {
        (f.year, week as u32)
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn padded(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0width$}", -n)
    } else {
        format!("{n:0width$}")
    }
}

/// Formats a moment (in UTC) with a Java `DateTimeFormatter` pattern.
pub fn format(pattern: &str, moment: Moment) -> Result<String, String> {
    let f = fields(moment);
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Err(format!("unterminated quote in pattern {pattern:?}")),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&ch) => {
                        out.push(ch);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            match c {
                // Optional sections: their content is printed.
                '[' | ']' => {}
                '#' | '{' | '}' => {
                    return Err(format!("reserved character {c:?} in pattern {pattern:?}"));
                }
                other => out.push(other),
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        i += n;
        out.push_str(&letter(c, n, &f, pattern)?);
    }
    Ok(out)
}

/// One run of a pattern letter (`yyyy`, `MM`, `XXX`, …).
fn letter(c: char, n: usize, f: &Fields, pattern: &str) -> Result<String, String> {
    let month = MONTHS[(f.month - 1) as usize];
    let day = DAYS[(f.weekday - 1) as usize];
    let hour12 = match f.hour % 12 {
        0 => 12,
        h => h,
    };
    let bad = || {
        format!(
            "pattern letter {:?} (×{n}) is not supported in {pattern:?}",
            c
        )
    };
    Ok(match (c, n) {
        ('G', 1..=3) => "AD".into(),
        ('G', 4) => "Anno Domini".into(),
        ('G', 5) => "A".into(),
        ('u' | 'y', 2) => padded(f.year.rem_euclid(100), 2),
        ('u' | 'y', n) => padded(f.year, n),
        ('Y', 2) => padded(iso_week(f).0.rem_euclid(100), 2),
        ('Y', n) => padded(iso_week(f).0, n),
        ('M' | 'L', 1 | 2) => padded(f.month.into(), n),
        ('M' | 'L', 3) => month[..3].into(),
        ('M' | 'L', 4) => month.into(),
        ('M' | 'L', 5) => month[..1].into(),
        ('d', 1 | 2) => padded(f.day.into(), n),
        ('D', 1..=3) => padded(f.day_of_year.into(), n),
        ('Q' | 'q', 1 | 2) => padded(((f.month - 1) / 3 + 1).into(), n),
        ('Q' | 'q', 3) => format!("Q{}", (f.month - 1) / 3 + 1),
        ('Q' | 'q', 4) => ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"]
            [((f.month - 1) / 3) as usize]
            .into(),
        ('E', 1..=3) | ('e' | 'c', 3) => day[..3].into(),
        ('E', 4) | ('e' | 'c', 4) => day.into(),
        ('E', 5) | ('e' | 'c', 5) => day[..1].into(),
        ('e' | 'c', 1 | 2) => padded(f.weekday.into(), n),
        ('w', 1 | 2) => padded(iso_week(f).1.into(), n),
        ('W' | 'F', 1) => ((f.day - 1) / 7 + 1).to_string(),
        ('a', 1) => if f.hour < 12 { "AM" } else { "PM" }.into(),
        ('H', 1 | 2) => padded(f.hour.into(), n),
        ('k', 1 | 2) => padded(if f.hour == 0 { 24 } else { f.hour }.into(), n),
        ('K', 1 | 2) => padded((f.hour % 12).into(), n),
        ('h', 1 | 2) => padded(hour12.into(), n),
        ('m', 1 | 2) => padded(f.minute.into(), n),
        ('s', 1 | 2) => padded(f.second.into(), n),
        ('S', 1..=9) => format!("{:09}", f.nanos)[..n].to_string(),
        ('n', _) => padded(f.nanos.into(), n),
        ('A', _) => padded(
            i64::from(f.hour * 3_600_000 + f.minute * 60_000 + f.second * 1000)
                + i64::from(f.nanos / 1_000_000),
            n,
        ),
        ('N', _) => padded(
            i64::from(f.hour * 3600 + f.minute * 60 + f.second) * 1_000_000_000
                + i64::from(f.nanos),
            n,
        ),
        ('V', 2) => "UTC".into(),
        ('z', 1..=3) => "UTC".into(),
        ('z', 4) => "Coordinated Universal Time".into(),
        ('O', 1 | 4) => "GMT".into(),
        ('X', 1..=5) => "Z".into(),
        ('x', 1) => "+00".into(),
        ('x', 2 | 4) => "+0000".into(),
        ('x', 3 | 5) => "+00:00".into(),
        ('Z', 1..=3) => "+0000".into(),
        ('Z', 4) => "GMT".into(),
        ('Z', 5) => "Z".into(),
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use parley_contracts::matching::datetime::JavaPattern;

    use super::*;

    /// 2024-02-29T13:05:09.123456789Z, a Thursday.
    const LEAP: Moment = Moment {
        seconds: 1_709_211_909,
        nanos: 123_456_789,
    };

    #[test]
    fn formats_java_patterns() {
        assert_eq!(format("yyyy-MM-dd", LEAP).as_deref(), Ok("2024-02-29"));
        assert_eq!(format("HH:mm:ss", LEAP).as_deref(), Ok("13:05:09"));
        assert_eq!(
            format(DEFAULT_DATE_TIME, LEAP).as_deref(),
            Ok("2024-02-29T13:05:09.123Z")
        );
        assert_eq!(
            format("EEE, d MMM yyyy h:mm a 'o''clock' xxx", LEAP).as_deref(),
            Ok("Thu, 29 Feb 2024 1:05 PM o'clock +00:00")
        );
        assert_eq!(
            format("EEEE MMMM yy D", LEAP).as_deref(),
            Ok("Thursday February 24 60")
        );
        assert_eq!(format("YYYY-'W'ww-e", LEAP).as_deref(), Ok("2024-W09-4"));
        assert_eq!(format("[yyyy]", LEAP).as_deref(), Ok("2024"));
        assert!(format("yyyy-MM-dd'T", LEAP).is_err());
        assert!(format("B", LEAP).is_err());
        let epoch = Moment {
            seconds: 0,
            nanos: 0,
        };
        assert_eq!(
            format("yyyy-MM-dd HH:mm:ss EEE", epoch).as_deref(),
            Ok("1970-01-01 00:00:00 Thu")
        );
        // 2021-01-03 is in ISO week 53 of 2020.
        let w53 = Moment {
            seconds: 1_609_632_000,
            nanos: 0,
        };
        assert_eq!(format("YYYY ww", w53).as_deref(), Ok("2020 53"));
    }

    #[test]
    fn what_it_formats_the_matchers_accept() {
        let now = Moment::now();
        for pattern in [
            DEFAULT_DATE,
            DEFAULT_TIME,
            DEFAULT_DATE_TIME,
            "yyyy-MM-dd'T'HH:mm:ssXXX",
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
            "dd/MM/yyyy HH:mm",
            "EEE, dd MMM yyyy HH:mm:ss z",
            "hh:mm a",
            "yyyyMMdd",
            "yyyy-DDD",
        ] {
            let value = format(pattern, now).expect(pattern);
            let compiled = JavaPattern::parse(pattern).expect(pattern);
            assert_eq!(compiled.validate(&value), Ok(()), "{pattern}: {value}");
        }
    }

    #[test]
    fn expressions_move_the_moment() {
        let base = Moment {
            seconds: 1_000_000,
            nanos: 0,
        };
        let at = |e: &str| base.shifted(e).map(|m| m.seconds - base.seconds);
        assert_eq!(at(""), Ok(0));
        assert_eq!(at("now"), Ok(0));
        assert_eq!(at("+1 day"), Ok(86_400));
        assert_eq!(at("now - 2 hours"), Ok(-7200));
        assert_eq!(at("tomorrow + 1 minute"), Ok(86_460));
        assert_eq!(at("+1day-3seconds"), Ok(86_397));
        assert_eq!(at("yesterday"), Ok(-86_400));
        assert!(at("next blue moon").is_err());
        assert!(at("+ 2 eons").is_err());
    }
}
