//! The lint configuration: the `lint:` section of `.parley.yaml` (or the file `--config` names).
//!
//! ```yaml
//! lint:
//!   rules:                       # severity per rule, by ID or name: error, warning, note, off
//!     PL007: note
//!     sync-fan-out: off
//!   thresholds:
//!     max_chain_depth: 3         # hops a synchronous chain may have
//!     latency_budget_ms: 10000   # worst-case timeouts × attempts along a chain
//!     max_fan_out: 4             # services one request handler may call
//!   ignore:                      # a reason is required
//!     - rule: PL008
//!       element: "gateway (GET /api/orders/{id}/summary)"   # `*` matches anything
//!       reason: the summary aggregates four services on purpose and reports partial failures
//! ```
//!
//! An ignore may also name `path` (the path in the document, `services.gateway.calls[3]`) and
//! `file`; every condition given must match. Other top-level sections belong to other verbs
//! and are left alone; an unknown one is an error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::graph::Location;
use super::rules::{self, RuleInfo};
use super::{ErrorKind, Finding, LintError, Severity, yaml};

/// The names `.parley.yaml` is looked for under, in the current folder.
pub const DEFAULT_FILES: [&str; 2] = [".parley.yaml", ".parley.yml"];

/// Numbers some rules compare against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Thresholds {
    /// Hops a synchronous chain may have (PL003).
    pub max_chain_depth: usize,
    /// Worst case of a chain's timeouts × attempts, in milliseconds (PL003).
    pub latency_budget_ms: u64,
    /// Distinct services one request handler may call synchronously (PL008).
    pub max_fan_out: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_chain_depth: 3,
            latency_budget_ms: 10_000,
            max_fan_out: 4,
        }
    }
}

/// A finding to leave out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignore {
    /// The rule's ID.
    pub rule: &'static str,
    /// A pattern over the finding's element (`*` matches any text).
    pub element: Option<String>,
    /// A pattern over the path in the document; a path also matches what is below it.
    pub path: Option<String>,
    /// A pattern over the file (matched against its path, or its trailing components).
    pub file: Option<String>,
    pub reason: String,
    /// Where the ignore is written.
    pub location: Option<Location>,
}

impl Ignore {
    pub fn matches(&self, f: &Finding) -> bool {
        if f.rule_id != self.rule {
            return false;
        }
        if let Some(p) = &self.element
            && !glob(p, &f.element)
        {
            return false;
        }
        if let Some(p) = &self.path
            && !f.location.as_ref().is_some_and(|l| {
                glob(p, &l.path)
                    || l.path
                        .strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
        {
            return false;
        }
        if let Some(p) = &self.file {
            let Some(l) = &f.location else { return false };
            let file = l.file.to_string_lossy().replace('\\', "/");
            let file = file.trim_start_matches("./");
            let p = p.trim_start_matches("./");
            if !(glob(p, file) || file.ends_with(&format!("/{p}"))) {
                return false;
            }
        }
        true
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// How a lint run is configured.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Severity overrides by rule ID; `None` turns the rule off.
    pub levels: HashMap<&'static str, Option<Severity>>,
    pub thresholds: Thresholds,
    pub ignores: Vec<Ignore>,
    /// The file it was read from.
    pub file: Option<PathBuf>,
}

impl Config {
    /// The severity a rule runs at; `None` when it is off.
    pub fn severity(&self, rule: &RuleInfo) -> Option<Severity> {
        self.levels
            .get(rule.id)
            .copied()
            .unwrap_or(Some(rule.severity))
    }

    /// The default configuration file in `dir`, when there is one.
    pub fn discover(dir: &Path) -> Option<PathBuf> {
        DEFAULT_FILES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
    }

    /// Reads a configuration file.
    pub fn load(file: &Path) -> Result<Config, LintError> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            LintError::in_file(
                ErrorKind::Config,
                file,
                format!("cannot read the configuration: {e}"),
            )
        })?;
        Config::parse(&text, file)
    }

    /// Parses a configuration; errors carry the file, line and column.
    pub fn parse(text: &str, file: &Path) -> Result<Config, LintError> {
        let as_config = |mut e: LintError| {
            e.kind = ErrorKind::Config;
            e
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut config = Config {
            file: Some(file.to_path_buf()),
            ..Config::default()
        };
        if text.trim().is_empty() {
            return Ok(config);
        }
        let positions = yaml::index(file, text).map_err(as_config)?;
        let doc: ConfigDoc =
            serde_norway::from_str(text).map_err(|e| as_config(yaml::yaml_error(file, &e)))?;
        let Some(lint) = doc.lint else {
            return Ok(config);
        };
        let err = |path: &str, message: String| {
            LintError::at(ErrorKind::Config, &positions.locate(path), message)
        };
        for (key, level) in &lint.rules {
            let path = yaml::child("lint.rules", key);
            let rule = find_rule(key).map_err(|m| err(&path, m))?;
            let level = match level.to_ascii_lowercase().as_str() {
                "off" | "none" | "false" => None,
                other => Some(other.parse::<Severity>().map_err(|_| {
                    err(
                        &path,
                        format!("`{level}` is not a level for {key} (error, warning, note or off)"),
                    )
                })?),
            };
            config.levels.insert(rule.id, level);
        }
        let t = &lint.thresholds;
        let defaults = Thresholds::default();
        let positive = |value: Option<u64>, name: &str| -> Result<Option<u64>, LintError> {
            match value {
                Some(0) => Err(err(
                    &format!("lint.thresholds.{name}"),
                    format!("{name} must be at least 1"),
                )),
                v => Ok(v),
            }
        };
        config.thresholds = Thresholds {
            max_chain_depth: positive(t.max_chain_depth, "max_chain_depth")?
                .map_or(defaults.max_chain_depth, |v| v as usize),
            latency_budget_ms: positive(t.latency_budget_ms, "latency_budget_ms")?
                .unwrap_or(defaults.latency_budget_ms),
            max_fan_out: positive(t.max_fan_out, "max_fan_out")?
                .map_or(defaults.max_fan_out, |v| v as usize),
        };
        for (i, ig) in lint.ignore.iter().enumerate() {
            let path = yaml::item("lint.ignore", i);
            let rule = find_rule(&ig.rule).map_err(|m| err(&yaml::child(&path, "rule"), m))?;
            let reason = ig.reason.as_deref().map(str::trim).unwrap_or_default();
            if reason.is_empty() {
                return Err(err(
                    &path,
                    format!(
                        "this ignore of {} has no reason: say why the finding does not apply (`reason: …`)",
                        rule.id
                    ),
                ));
            }
            config.ignores.push(Ignore {
                rule: rule.id,
                element: ig.element.clone(),
                path: ig.path.clone(),
                file: ig.file.clone(),
                reason: reason.to_string(),
                location: Some(positions.locate(&path)),
            });
        }
        Ok(config)
    }
}

fn find_rule(key: &str) -> Result<&'static RuleInfo, String> {
    if let Some(r) = rules::find(key) {
        return Ok(r.info());
    }
    let names = rules::REGISTRY
        .iter()
        .flat_map(|r| [r.info().id, r.info().name]);
    let hint = super::graph::closest(key, names)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    Err(format!(
        "`{key}` is not a lint rule{hint}; `parley lint --list-rules` lists them"
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the other verbs' sections are read only to be accepted
struct ConfigDoc {
    #[serde(default)]
    lint: Option<LintDoc>,
    // Sections of other verbs: not lint's business, but not unknown either.
    #[serde(default)]
    verify: Option<IgnoredAny>,
    #[serde(default)]
    mock: Option<IgnoredAny>,
    #[serde(default)]
    run: Option<IgnoredAny>,
    #[serde(default)]
    collect: Option<IgnoredAny>,
    #[serde(default)]
    diff: Option<IgnoredAny>,
    #[serde(default)]
    demo: Option<IgnoredAny>,
    #[serde(default)]
    contracts: Option<IgnoredAny>,
    #[serde(default)]
    probe: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LintDoc {
    #[serde(default)]
    rules: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    thresholds: ThresholdsDoc,
    #[serde(default)]
    ignore: Vec<IgnoreDoc>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ThresholdsDoc {
    max_chain_depth: Option<u64>,
    latency_budget_ms: Option<u64>,
    max_fan_out: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreDoc {
    rule: String,
    element: Option<String>,
    path: Option<String>,
    file: Option<String>,
    reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, LintError> {
        Config::parse(text, Path::new(".parley.yaml"))
    }

    #[test]
    fn globs() {
        assert!(glob("gateway*", "gateway → order-service"));
        assert!(glob("*summary*", "gateway (GET /api/orders/{id}/summary)"));
        assert!(glob("a*b*c", "a-b-c"));
        assert!(!glob("a*b*c", "a-c-b"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }

    #[test]
    fn severities_thresholds_and_ignores() {
        let c = parse(
            "lint:\n  rules:\n    PL007: note\n    sync-fan-out: off\n  thresholds:\n    max_chain_depth: 5\n  ignore:\n    - rule: PL005\n      element: \"a → *\"\n      reason: legacy\n",
        )
        .expect("parses");
        assert_eq!(c.levels.get("PL007"), Some(&Some(Severity::Note)));
        assert_eq!(c.levels.get("PL008"), Some(&None));
        assert_eq!(c.thresholds.max_chain_depth, 5);
        assert_eq!(c.thresholds.max_fan_out, 4);
        assert_eq!(c.ignores[0].rule, "PL005");
        assert_eq!(c.ignores[0].location.as_ref().map(|l| l.line), Some(8));
    }

    #[test]
    fn errors_point_into_the_file() {
        let e = parse("lint:\n  ignore:\n    - rule: PL005\n      element: x\n").unwrap_err();
        assert_eq!(
            (e.kind, e.line, e.column),
            (ErrorKind::Config, Some(3), Some(7)),
            "{e}"
        );
        assert!(e.message.contains("no reason"), "{e}");
        let e = parse("lint:\n  rules:\n    PL05: off\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("did you mean `PL005`"), "{e}");
        let e = parse("lint:\n  rules:\n    PL005: loud\n").unwrap_err();
        assert!(e.message.contains("not a level"), "{e}");
        let e = parse("lint:\n  threshold:\n    max_fan_out: 2\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(3)), "{e}");
        assert!(e.message.contains("unknown field `threshold`"), "{e}");
        let e = parse("lint:\n  thresholds:\n    max_fan_out: 0\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = parse("lnt: {}\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        assert!(parse("verify: { anything: 1 }\n").is_ok());
        assert!(parse("").is_ok());
    }
}
