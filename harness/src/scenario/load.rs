//! Reading scenario files: YAML (or JSON), unknown keys refused, every error located.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::{Scenario, Step};

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {}: {source}", .file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}{}: {message}", .file.display(), location(*.line, *.column))]
    Invalid {
        file: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// Scenario files larger than this are refused (a scenario is a page of YAML).
const MAX_BYTES: u64 = 4 * 1024 * 1024;

pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let io = |source| ScenarioError::Io {
        file: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_BYTES {
        return Err(ScenarioError::Invalid {
            file: path.to_path_buf(),
            line: None,
            column: None,
            message: format!("{size} bytes: too large for a scenario (at most {MAX_BYTES})"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    load_str(&text, path)
}

pub fn load_str(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let scenario: Scenario = serde_norway::from_str(text).map_err(|e| {
        let loc = e.location();
        ScenarioError::Invalid {
            file: file.to_path_buf(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    })?;
    validate(&scenario).map_err(|message| ScenarioError::Invalid {
        file: file.to_path_buf(),
        line: None,
        column: None,
        message,
    })?;
    Ok(scenario)
}

fn validate(s: &Scenario) -> Result<(), String> {
    if s.steps.is_empty() {
        return Err("steps: a scenario needs at least one step".into());
    }
    for (i, step) in s.steps.iter().enumerate() {
        if let Step::Wait(w) = step {
            match (&w.http, &w.message) {
                (Some(_), None) if w.until.is_empty() => {
                    return Err(format!("steps[{i}].wait: an http wait needs `until`"));
                }
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return Err(format!(
                        "steps[{i}].wait: give either `http` (with `until`) or `message`"
                    ));
                }
            }
        }
        if let Step::Publish(p) = step
            && p.payload.is_some() == p.raw.is_some()
        {
            return Err(format!(
                "steps[{i}].publish: give either `payload` or `raw`"
            ));
        }
    }
    for (i, e) in s.expect.iter().enumerate() {
        match (&e.select, e.order.is_empty()) {
            (Some(_), true) => {}
            (None, false)
                if e.count.is_none()
                    && e.attributes.is_empty()
                    && e.matches.is_empty()
                    && e.duration_below.is_none()
                    && e.status.is_none() => {}
            (None, false) => return Err(format!("expect[{i}]: `order` takes no other assertion")),
            _ => {
                return Err(format!(
                    "expect[{i}]: give either `select` (with what must hold) or `order`"
                ));
            }
        }
        for (attr, pattern) in &e.matches {
            regex::Regex::new(pattern)
                .map_err(|err| format!("expect[{i}].matches.{attr}: invalid regex: {err}"))?;
        }
        for sel in e.select.iter().chain(&e.order) {
            if let Some(name) = &sel.name
                && let Some(pattern) = name.strip_prefix('/').and_then(|n| n.strip_suffix('/'))
            {
                regex::Regex::new(pattern)
                    .map_err(|err| format!("expect[{i}]: invalid name pattern {name}: {err}"))?;
            }
            if let Some(kind) = &sel.kind
                && !matches!(
                    kind.as_str(),
                    "server" | "client" | "producer" | "consumer" | "internal"
                )
            {
                return Err(format!(
                    "expect[{i}]: unknown span kind {kind:?} (server, client, producer, consumer, internal)"
                ));
            }
        }
        if let Some(status) = &e.status
            && !matches!(status.as_str(), "ok" | "error" | "unset")
        {
            return Err(format!(
                "expect[{i}].status: {status:?} is not ok, error or unset"
            ));
        }
    }
    Ok(())
}

/// `250ms`, `10s`, `2m`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms or 10s"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (ms, s, m)"
            ));
        }
    };
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(f64),
    }
    match Raw::deserialize(d)? {
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
        Raw::Number(n) => parse_duration(&n.to_string()).map_err(serde::de::Error::custom),
    }
}

pub fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Scenario, ScenarioError> {
        load_str(text, Path::new("s.yaml"))
    }

    #[test]
    fn a_scenario_loads() {
        let s = load(
            "name: x\nsteps:\n  - http: { method: POST, url: http://h/a, body: {a: 1}, expect: { status: 201 }, save: { id: $.id } }\n  - wait: { message: { subject: dlq.> }, timeout: 2s }\nexpect:\n  - select: { service: a, kind: consumer }\n    count: { min: 1 }\n    duration_below: 500ms\n",
        )
        .expect("loads");
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.checks.len(), 5);
        assert_eq!(s.expect[0].duration_below, Some(Duration::from_millis(500)));
    }

    #[test]
    fn unknown_keys_are_errors_with_a_location() {
        let err = load("name: x\nsteps:\n  - http: { url: http://h, bdy: 1 }\n")
            .expect_err("unknown key");
        let text = err.to_string();
        assert!(text.starts_with("s.yaml:3:"), "{text}");
        assert!(text.contains("unknown field `bdy`"), "{text}");
    }

    #[test]
    fn bad_values_are_explained() {
        for (text, expected) in [
            ("name: x\nsteps: []\n", "at least one step"),
            (
                "name: x\nsteps:\n  - wait: { timeout: 1s }\n",
                "either `http`",
            ),
            (
                "name: x\nsteps:\n  - wait: { message: { subject: a }, timeout: soon }\n",
                "not a duration",
            ),
            (
                "name: x\nsteps:\n  - publish: { subject: a }\n",
                "either `payload` or `raw`",
            ),
            (
                "name: x\nsteps:\n  - publish: { subject: a, raw: x }\nexpect:\n  - select: { kind: sideways }\n",
                "unknown span kind",
            ),
            (
                "name: x\nsteps:\n  - publish: { subject: a, raw: x }\nexpect:\n  - select: { name: a }\n    matches: { a: \"(\" }\n",
                "invalid regex",
            ),
        ] {
            let err = load(text).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5h").is_err());
    }
}
