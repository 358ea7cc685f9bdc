//! Unit tests of date and time patterns.

use super::*;

fn ok(pattern: &str, value: &str) -> bool {
    JavaPattern::parse(pattern)
        .expect("pattern")
        .validate(value)
        .is_ok()
}

#[test]
fn dates() {
    assert!(ok("yyyy-MM-dd", "2015-06-10"));
    assert!(ok("yyyy-MM-dd", "2024-02-29"));
    assert!(!ok("yyyy-MM-dd", "2023-02-29"));
    assert!(!ok("yyyy-MM-dd", "2015-6-10"));
    assert!(!ok("yyyy-MM-dd", "15-06-10"));
    assert!(!ok("yyyy-MM-dd", "2015-13-10"));
    assert!(!ok("yyyy-MM-dd", "2015-06-10 "));
    assert!(ok("dd/MM/yyyy", "29/10/2015"));
    assert!(ok("MM/dd/yy", "06/10/15"));
    assert!(ok("d MMM yyyy", "5 Jan 2021"));
    assert!(ok("EEEE, d MMMM yyyy", "Tuesday, 5 January 2021"));
    assert!(!ok("EEEE, d MMMM yyyy", "Monday, 5 January 2021"));
    assert!(ok("yyyy-DDD", "2020-366"));
    assert!(!ok("yyyy-DDD", "2021-366"));
    assert!(ok("MM-dd", "02-29"));
}

#[test]
fn times() {
    assert!(ok("HH:mm:ss", "23:59:59"));
    assert!(!ok("HH:mm:ss", "24:00:00"));
    assert!(!ok("HH:mm:ss", "12:60:00"));
    assert!(ok("h:mm a", "9:05 PM"));
    assert!(!ok("hh:mm a", "13:05 PM"));
    assert!(ok("HH:mm:ss.SSS", "10:00:00.123"));
    assert!(!ok("HH:mm:ss.SSS", "10:00:00.12"));
    assert!(ok("HH:mm[:ss]", "10:00"));
    assert!(ok("HH:mm[:ss]", "10:00:01"));
}

#[test]
fn timestamps_and_offsets() {
    let iso = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
    assert!(ok(iso, "2020-01-01T10:00:00.123Z"));
    assert!(ok(iso, "2020-01-01T10:00:00.123+05:30"));
    assert!(!ok(iso, "2020-01-01T10:00:00.123+0530"));
    assert!(!ok(iso, "2020-01-01T10:00:00.123+25:00"));
    assert!(ok("yyyy-MM-dd HH:mm:ssZZZ", "2013-12-01 14:00:00+1000"));
    assert!(!ok("yyyy-MM-dd HH:mm:ssZZZ", "2013-12-01 14:00:00+10:00"));
    assert!(ok("yyyy-MM-dd'T'HH:mm:ssX", "2013-12-01T14:00:00+10"));
    assert!(ok("yyyy-MM-dd'T'HH:mm:ssxx", "2013-12-01T14:00:00-0330"));
    assert!(!ok("yyyy-MM-dd'T'HH:mm:ssxx", "2013-12-01T14:00:00Z"));
    assert!(ok("yyyy-MM-dd'T'HH:mm:ss'Z'", "2013-12-01T14:00:00Z"));
    assert!(ok(
        "EEE, dd MMM yyyy HH:mm:ss z",
        "Tue, 01 Dec 2015 14:00:00 GMT"
    ));
}

#[test]
fn quotes_and_literals() {
    assert!(ok("HH 'o''clock'", "10 o'clock"));
    assert!(ok("''yy''", "'15'"));
    assert!(ok("yyyy.MM.dd", "2015.06.10"));
    assert!(!ok("yyyy.MM.dd", "2015x06x10"));
}

#[test]
fn bad_patterns_are_errors() {
    for bad in ["yyyy-MM-dd'T", "HH:mm]", "[HH", "yyyy-bb", "HHH", "yyyy#"] {
        assert!(JavaPattern::parse(bad).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn the_direct_scanner_agrees_with_the_regex() {
    let cases = [
        (
            "yyyy-MM-dd",
            vec![
                "2015-06-10",
                "2015-6-10",
                "2023-02-29",
                "20150610",
                "2015-06-10x",
            ],
        ),
        ("yyyyMMdd", vec!["20150610", "2015061", "201506100"]),
        (
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            vec![
                "2020-01-01T10:00:00.123Z",
                "2020-01-01T10:00:00.123+05:30",
                "2020-01-01T10:00:00.123+0530",
                "2020-01-01T10:00:00.12Z",
            ],
        ),
        (
            "yyyy-MM-dd'T'HH:mm:ssX",
            vec![
                "2013-12-01T14:00:00+10",
                "2013-12-01T14:00:00+1030",
                "2013-12-01T14:00:00Z",
            ],
        ),
        (
            "yyyy-MM-dd HH:mm:ssZZZ",
            vec!["2013-12-01 14:00:00+1000", "2013-12-01 14:00:00+10:00"],
        ),
        (
            "HH:mm:ssxxxxx",
            vec!["10:00:00+01:00", "10:00:00+01:00:30", "10:00:00Z"],
        ),
        (
            "EEE, d MMM yyyy",
            vec![
                "Tue, 5 Jan 2021",
                "tue, 5 jan 2021",
                "Mon, 5 Jan 2021",
                "Tuesday, 5 Jan 2021",
            ],
        ),
        ("h:mm a", vec!["9:05 PM", "9:05 pm", "13:05 PM", "9:05"]),
        ("''yy'' 'at' HH", vec!["'15' at 10", "15 at 10"]),
        ("yyyy-DDD", vec!["2020-366", "2021-366", "2021-36"]),
    ];
    for (pattern, values) in cases {
        let fast = JavaPattern::parse(pattern).expect("pattern");
        assert!(fast.fast.is_some(), "{pattern} should be scanned directly");
        let slow = JavaPattern {
            fast: None,
            ..fast.clone()
        };
        for v in values {
            assert_eq!(
                fast.validate(v).is_ok(),
                slow.validate(v).is_ok(),
                "{pattern} on {v}: scanner {:?}, regex {:?}",
                fast.validate(v),
                slow.validate(v)
            );
        }
    }
    assert!(
        JavaPattern::parse("HH[:mm]")
            .expect("pattern")
            .fast
            .is_none()
    );
    assert!(JavaPattern::parse("HH z").expect("pattern").fast.is_none());
}

#[test]
fn defaults() {
    assert_eq!(or_default("", Kind::Date), "yyyy-MM-dd");
    assert_eq!(or_default("", Kind::Time), "HH:mm:ss");
    assert_eq!(or_default("", Kind::Timestamp), "yyyy-MM-dd'T'HH:mm:ssXXX");
    assert_eq!(or_default("dd", Kind::Date), "dd");
}
