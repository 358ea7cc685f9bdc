//! Readable mismatch reports: one numbered entry per mismatch with where, which rule, the
//! message, and a unified-style diff of the expected and actual values at that place (JSON
//! pretty-printed, so a changed key in a large object shows as one changed line).

use std::fmt::Write as _;

use serde_json::Value;

use super::Mismatch;

/// Longest fragment (in lines) shown in a diff; longer ones are cut.
const MAX_LINES: usize = 40;

/// Renders mismatches for people: `No mismatches.` or a numbered list with diffs.
pub fn render_mismatches(mismatches: &[Mismatch]) -> String {
    if mismatches.is_empty() {
        return "No mismatches.\n".to_string();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} mismatch{}:",
        mismatches.len(),
        if mismatches.len() == 1 { "" } else { "es" }
    );
    for (i, m) in mismatches.iter().enumerate() {
        out.push('\n');
        let place = if m.path.is_empty() {
            m.part.to_string()
        } else {
            format!("{} {}", m.part, m.path)
        };
        let _ = write!(out, "{}. {place}", i + 1);
        if let Some(rule) = &m.rule {
            let _ = write!(out, " [{rule}]");
        }
        out.push('\n');
        let _ = writeln!(out, "   {}", m.message);
        if m.expected.is_empty() && m.actual.is_empty() {
            continue;
        }
        let expected = fragment(&m.expected);
        let actual = fragment(&m.actual);
        let _ = writeln!(out, "   --- expected");
        let _ = writeln!(out, "   +++ actual");
        for line in diff(&expected, &actual) {
            let _ = writeln!(out, "   {line}");
        }
    }
    out
}

/// The lines to diff: pretty JSON when the text is JSON, else the text itself. Empty text
/// (absent on that side) has no lines.
fn fragment(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let pretty = match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => {
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())
        }
        _ => text.to_string(),
    };
    let mut lines: Vec<String> = pretty.lines().map(str::to_string).collect();
    if lines.len() > MAX_LINES {
        let more = lines.len() - MAX_LINES;
        lines.truncate(MAX_LINES);
        lines.push(format!("… ({more} more lines)"));
    }
    lines
}

/// A line diff (longest common subsequence): ` ` same, `-` expected only, `+` actual only.
fn diff(expected: &[String], actual: &[String]) -> Vec<String> {
    let (n, m) = (expected.len(), actual.len());
    // lcs[i][j]: LCS length of expected[i..] and actual[j..]. Fragments are at most
    // MAX_LINES + 1 lines, so this stays small.
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            out.push(format!(" {}", expected[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j]) {
            out.push(format!("+{}", actual[j]));
            j += 1;
        } else {
            out.push(format!("-{}", expected[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Part;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn diffs_lines() {
        let d = diff(&lines(&["a", "b", "c"]), &lines(&["a", "x", "c"]));
        assert_eq!(d, vec![" a", "-b", "+x", " c"]);
        assert_eq!(diff(&lines(&["a"]), &[]), vec!["-a"]);
        assert_eq!(diff(&[], &lines(&["a"])), vec!["+a"]);
    }

    #[test]
    fn renders_json_fragments_pretty() {
        let m = Mismatch {
            part: Part::Body,
            path: "$.a".into(),
            rule: Some("type".into()),
            expected: r#"{"name":"Fred","age":3}"#.into(),
            actual: r#"{"name":1,"age":3}"#.into(),
            message: "Expected 1 (Integer) to be the same type as 'Fred' (String)".into(),
        };
        let text = render_mismatches(&[m]);
        assert!(text.starts_with("1 mismatch:\n"), "{text}");
        assert!(text.contains("1. body $.a [type]"), "{text}");
        assert!(text.contains("-  \"name\": \"Fred\""), "{text}");
        assert!(text.contains("+  \"name\": 1"), "{text}");
        assert!(text.contains("   \"age\": 3"), "{text}");
        assert_eq!(render_mismatches(&[]), "No mismatches.\n");
    }

    #[test]
    fn long_fragments_are_cut() {
        let big: Vec<u32> = (0..500).collect();
        let f = fragment(&serde_json::to_string(&big).unwrap_or_default());
        assert_eq!(f.len(), MAX_LINES + 1);
        assert!(f[MAX_LINES].contains("more lines"));
    }
}
