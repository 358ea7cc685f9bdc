//! The Grafana dashboards in `dashboards/` stay honest.
//!
//! - The dashboard provider in `dashboards/provisioning/dashboards/` points at a folder of this
//!   repo (read with `/etc/grafana/provisioning` standing for `dashboards/provisioning`); every
//!   dashboard JSON there parses and has what Grafana needs (uid, title, schemaVersion ≥ 39,
//!   panels with a grid position and data-source references, templating for every variable used).
//! - Every data-source uid a dashboard references (panel and target) is provisioned in
//!   `dashboards/provisioning/datasources/*.yaml`, with the type the reference claims.
//! - Every attribute, service and span name a query uses (TraceQL `span."…"`, `resource.…`,
//!   `name = "…"`, literal values compared with `=`/`=~`; Jaeger `service`, `operation` and tag
//!   filters), for every value its template variables can take, is one the sample services
//!   really emit: the recorded run in `tests/data/recorded-run/spans.jsonl` is the reference.
//!
//! The extractor is checked against deliberately wrong queries, so the test cannot pass by
//! finding nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use parley_harness::otlp::{StatusCode, read_jsonl_store};
use regex::Regex;
use serde_json::Value;

/// Where `dashboards/provisioning` lands in Grafana (the provider's path is read against it).
const GRAFANA_PROVISIONING: &str = "/etc/grafana/provisioning";
/// The oldest dashboard schema the dashboards may declare.
const MIN_SCHEMA_VERSION: u64 = 39;
/// Stands around the name of a free-text (textbox) variable once expanded: its value is the
/// user's, so literal checks skip it.
const FREE: char = '\u{1}';

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

// ---------------------------------------------------------------------------------------
// What the samples emit, from the recorded run.

/// Names and values seen in the recorded run.
#[derive(Debug, Default)]
struct Emitted {
    /// Span attribute key → the values it took (strings, numbers and booleans as text).
    span_attrs: BTreeMap<String, BTreeSet<String>>,
    /// Resource attribute key → its values.
    resource_attrs: BTreeMap<String, BTreeSet<String>>,
    services: BTreeSet<String>,
    /// Service → the names of its spans.
    span_names: BTreeMap<String, BTreeSet<String>>,
    /// `client`, `server`, …
    kinds: BTreeSet<String>,
    /// `unset`, `ok`, `error`.
    statuses: BTreeSet<String>,
}

impl Emitted {
    fn all_span_names(&self) -> impl Iterator<Item = &String> {
        self.span_names.values().flatten()
    }

    /// The values of an attribute in a scope (unscoped: span or resource).
    fn values(&self, scope: Scope, key: &str) -> Option<BTreeSet<&String>> {
        let span = self.span_attrs.get(key);
        let resource = self.resource_attrs.get(key);
        let pick: Vec<&BTreeSet<String>> = match scope {
            Scope::Span => span.into_iter().collect(),
            Scope::Resource => resource.into_iter().collect(),
            Scope::Unscoped => span.into_iter().chain(resource).collect(),
        };
        (!pick.is_empty()).then(|| pick.into_iter().flatten().collect())
    }
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn recorded_run() -> Emitted {
    let path = repo_root().join("tests/data/recorded-run/spans.jsonl");
    let store = read_jsonl_store(&path)
        .unwrap_or_else(|e| panic!("cannot read the recorded run {}: {e}", path.display()));
    assert_eq!(
        store.rejected_spans(),
        0,
        "the recorded run has invalid spans"
    );
    let mut emitted = Emitted::default();
    for span in store.spans() {
        for (key, value) in &span.attributes {
            let values = emitted.span_attrs.entry(key.clone()).or_default();
            values.extend(value_text(value));
        }
        for (key, value) in span.resource_attributes.iter() {
            let values = emitted.resource_attrs.entry(key.clone()).or_default();
            values.extend(value_text(value));
        }
        emitted.services.insert(span.service_name.clone());
        emitted
            .span_names
            .entry(span.service_name.clone())
            .or_default()
            .insert(span.name.clone());
        emitted.kinds.insert(span.kind.as_str().to_string());
        emitted.statuses.insert(
            match span.status.code {
                StatusCode::Unset => "unset",
                StatusCode::Ok => "ok",
                StatusCode::Error => "error",
            }
            .to_string(),
        );
    }
    emitted
}

// ---------------------------------------------------------------------------------------
// TraceQL: a small lexer, enough to find every name a query relies on.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Span,
    Resource,
    Unscoped,
}

impl Scope {
    fn label(self) -> &'static str {
        match self {
            Scope::Span => "span attribute",
            Scope::Resource => "resource attribute",
            Scope::Unscoped => "attribute",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// `span."a.b"`, `span.a.b`, `resource.service.name`, `.a.b`
    Attr(Scope, String),
    /// An intrinsic, keyword, enum value or function name.
    Word(String),
    Str(String),
    /// A number or a duration (`500ms`, `.95`).
    Num(String),
    /// A free (textbox) variable outside quotes.
    Free,
    Op(&'static str),
}

/// Intrinsics, keywords, enum values and functions of TraceQL the dashboards may use.
const TRACEQL_WORDS: &[&str] = &[
    // intrinsics
    "name",
    "status",
    "statusMessage",
    "kind",
    "duration",
    "rootName",
    "rootServiceName",
    "traceDuration",
    "span:name",
    "span:status",
    "span:statusMessage",
    "span:kind",
    "span:duration",
    "trace:rootName",
    "trace:rootService",
    "trace:duration",
    // values
    "nil",
    "true",
    "false",
    "error",
    "ok",
    "unset",
    "client",
    "server",
    "producer",
    "consumer",
    "internal",
    "unspecified",
    // pipeline stages and metrics functions
    "select",
    "by",
    "count",
    "avg",
    "min",
    "max",
    "sum",
    "coalesce",
    "rate",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
    "sum_over_time",
    "quantile_over_time",
    "histogram_over_time",
    "topk",
    "bottomk",
];

const OPERATORS: &[&str] = &[
    "=~", "!~", "!=", ">=", "<=", "&&", "||", "=", ">", "<", "!", "|", "{", "}", "(", ")", ",",
    "+", "-", "*", "/", "%", "^", "~",
];

fn read_string(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((out, i + 1)),
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i + 1]);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated string".to_string())
}

fn lex_traceql(query: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let (s, end) = read_string(&chars, i)?;
            out.push(Tok::Str(s));
            i = end;
        } else if c == FREE {
            let end = chars[i + 1..]
                .iter()
                .position(|&c| c == FREE)
                .ok_or("unterminated variable marker")?;
            out.push(Tok::Free);
            i += end + 2;
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_ascii_alphabetic() || c == '_' || c == '.' {
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if let Some(scope) = word
                .strip_suffix('.')
                .filter(|_| chars.get(i) == Some(&'"'))
            {
                // `span."a.b"`: the name is the quoted string
                let (name, end) = read_string(&chars, i)?;
                i = end;
                out.push(Tok::Attr(scope_of(scope)?, name));
            } else if let Some(name) = word.strip_prefix("span.") {
                out.push(Tok::Attr(Scope::Span, name.to_string()));
            } else if let Some(name) = word.strip_prefix("resource.") {
                out.push(Tok::Attr(Scope::Resource, name.to_string()));
            } else if let Some(name) = word.strip_prefix('.') {
                out.push(Tok::Attr(Scope::Unscoped, name.to_string()));
            } else if let Some((scope, _)) = word.split_once('.') {
                return Err(format!("unsupported attribute scope `{scope}` in `{word}`"));
            } else {
                out.push(Tok::Word(word));
            }
        } else if let Some(op) = OPERATORS
            .iter()
            .copied()
            .find(|op| chars[i..].iter().take(op.len()).copied().eq(op.chars()))
        {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(out)
}

fn scope_of(scope: &str) -> Result<Scope, String> {
    match scope {
        "span" => Ok(Scope::Span),
        "resource" => Ok(Scope::Resource),
        "" => Ok(Scope::Unscoped),
        other => Err(format!("unsupported attribute scope `{other}`")),
    }
}

/// `^(?:pattern)$`: a regex comparison is checked as a full match (Tempo anchors them).
fn full_match(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("bad regex `{pattern}`: {e}"))
}

/// Whether `op literal` selects one of `values`; `None` when the comparison is not checked.
fn selects<'a>(
    op: &str,
    literal: &str,
    mut values: impl Iterator<Item = &'a String>,
) -> Option<Result<bool, String>> {
    if literal.contains(FREE) {
        return None;
    }
    match op {
        "=" => Some(Ok(values.any(|v| v == literal))),
        "=~" => Some(full_match(literal).map(|re| values.any(|v| re.is_match(v)))),
        _ => None,
    }
}

/// Every name a TraceQL query uses that the recorded run does not have, as sentences.
fn traceql_problems(query: &str, emitted: &Emitted) -> Vec<String> {
    let tokens = match lex_traceql(query) {
        Ok(tokens) => tokens,
        Err(e) => return vec![format!("cannot read the TraceQL: {e}")],
    };
    let mut problems = Vec::new();
    for tok in &tokens {
        match tok {
            Tok::Attr(scope, name) if emitted.values(*scope, name).is_none() => problems.push(
                format!("{} \"{name}\" is not emitted by the samples", scope.label()),
            ),
            Tok::Word(word) if !TRACEQL_WORDS.contains(&word.as_str()) => {
                problems.push(format!("unknown TraceQL word `{word}`"))
            }
            _ => {}
        }
    }
    for window in tokens.windows(3) {
        let [lhs, Tok::Op(op), rhs] = window else {
            continue;
        };
        let (verdict, what) = match (lhs, rhs) {
            (Tok::Attr(scope, name), Tok::Str(literal)) => match emitted.values(*scope, name) {
                Some(values) => (
                    selects(op, literal, values.into_iter()),
                    format!("{} \"{name}\" {op} \"{literal}\"", scope.label()),
                ),
                None => continue, // reported above
            },
            (Tok::Word(w), Tok::Str(literal)) if matches!(w.as_str(), "name" | "span:name") => (
                selects(op, literal, emitted.all_span_names()),
                format!("span name {op} \"{literal}\""),
            ),
            (Tok::Word(w), Tok::Str(literal))
                if matches!(w.as_str(), "rootServiceName" | "trace:rootService") =>
            {
                (
                    selects(op, literal, emitted.services.iter()),
                    format!("service {op} \"{literal}\""),
                )
            }
            (Tok::Word(w), Tok::Word(value)) if matches!(w.as_str(), "kind" | "span:kind") => (
                selects(op, value, emitted.kinds.iter()),
                format!("kind {op} {value}"),
            ),
            (Tok::Word(w), Tok::Word(value)) if matches!(w.as_str(), "status" | "span:status") => (
                selects(op, value, emitted.statuses.iter()),
                format!("status {op} {value}"),
            ),
            _ => continue,
        };
        match verdict {
            Some(Ok(true)) | None => {}
            Some(Ok(false)) => problems.push(format!("{what} matches no span the samples emit")),
            Some(Err(e)) => problems.push(e),
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// Jaeger search queries.

/// Tags Jaeger derives from OTLP fields rather than attributes: the tag, and what it must
/// have matched in the recorded run.
fn jaeger_derived_tag(key: &str, value: &str, emitted: &Emitted) -> Option<Result<(), String>> {
    let check = |ok: bool, why: &str| {
        if ok || value.contains(FREE) {
            Ok(())
        } else {
            Err(format!("tag {key}={value}: {why}"))
        }
    };
    match key {
        // OTLP status ERROR becomes error=true (and otel.status_code=ERROR)
        "error" => Some(check(
            value == "true" && emitted.statuses.contains("error"),
            "no span of the samples has status error (or the value is not `true`)",
        )),
        "otel.status_code" => Some(check(
            emitted.statuses.contains(&value.to_ascii_lowercase()),
            "no span of the samples has that status",
        )),
        "span.kind" => Some(check(
            emitted.kinds.contains(value),
            "no span of the samples has that kind",
        )),
        _ => None,
    }
}

/// `k=v k2="v 2"`: the pairs of a logfmt string (Grafana's Jaeger tag filter).
fn logfmt_pairs(tags: &str) -> Result<Vec<(String, String)>, String> {
    let re = Regex::new(r#"^\s*([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)"#).expect("regex");
    let mut rest = tags.trim();
    let mut pairs = Vec::new();
    while !rest.is_empty() {
        let caps = re
            .captures(rest)
            .ok_or_else(|| format!("cannot read the tag filter at `{rest}` (want key=value)"))?;
        let value = caps[2].trim_matches('"').to_string();
        pairs.push((caps[1].to_string(), value));
        rest = rest[caps[0].len()..].trim_start();
    }
    Ok(pairs)
}

fn jaeger_problems(target: &Value, emitted: &Emitted) -> Vec<String> {
    let field = |name: &str| target.get(name).and_then(Value::as_str).unwrap_or("");
    let mut problems = Vec::new();
    let service = field("service");
    if service.is_empty() {
        problems.push("a Jaeger search needs a service".to_string());
    } else if !emitted.services.contains(service) {
        problems.push(format!("service \"{service}\" is not one the samples emit"));
    }
    let operation = field("operation");
    if !operation.is_empty()
        && !operation.contains(FREE)
        && !emitted
            .span_names
            .get(service)
            .is_some_and(|names| names.contains(operation))
    {
        problems.push(format!(
            "operation \"{operation}\" is not a span name of \"{service}\" in the recorded run"
        ));
    }
    match logfmt_pairs(field("tags")) {
        Err(e) => problems.push(e),
        Ok(pairs) => {
            for (key, value) in pairs {
                if let Some(result) = jaeger_derived_tag(&key, &value, emitted) {
                    problems.extend(result.err());
                    continue;
                }
                match emitted.values(Scope::Unscoped, &key) {
                    None => problems.push(format!(
                        "tag \"{key}\" is not an attribute the samples emit"
                    )),
                    Some(values) => {
                        if !value.contains(FREE) && !values.iter().any(|v| **v == value) {
                            problems.push(format!(
                                "tag {key}={value}: the samples never set that value"
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// Template variables.

#[derive(Debug, Default)]
struct Variables {
    /// Custom variables and the values they can take.
    custom: BTreeMap<String, Vec<String>>,
    /// Free-text variables.
    textbox: BTreeSet<String>,
    /// Variables allowing several values (may drive a repeated panel).
    multi: BTreeSet<String>,
}

fn variable_refs() -> Regex {
    Regex::new(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]").expect("regex")
}

fn variable_name<'h>(caps: &regex::Captures<'h>) -> &'h str {
    caps.get(1)
        .or_else(|| caps.get(2))
        .or_else(|| caps.get(3))
        .map_or("", |m| m.as_str())
}

impl Variables {
    fn read(dashboard: &Value, problems: &mut Vec<String>) -> Self {
        let mut vars = Variables::default();
        let Some(list) = dashboard
            .pointer("/templating/list")
            .and_then(Value::as_array)
        else {
            problems.push("no templating.list".to_string());
            return vars;
        };
        for var in list {
            let name = var.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                problems.push(format!("a template variable without a name: {var}"));
                continue;
            }
            if var.get("multi").and_then(Value::as_bool) == Some(true) {
                vars.multi.insert(name.to_string());
            }
            match var.get("type").and_then(Value::as_str) {
                Some("textbox") => {
                    vars.textbox.insert(name.to_string());
                }
                Some("custom") => {
                    let options: Vec<String> = var
                        .get("options")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|o| o.get("value").and_then(Value::as_str))
                        .filter(|v| *v != "$__all")
                        .map(str::to_string)
                        .collect();
                    let query: Vec<String> = var
                        .get("query")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .split(',')
                        .map(|v| v.trim().to_string())
                        .filter(|v| !v.is_empty())
                        .collect();
                    if options.is_empty() || options != query {
                        problems.push(format!(
                            "custom variable `{name}`: options {options:?} differ from its query {query:?}"
                        ));
                    }
                    vars.custom.insert(name.to_string(), query);
                }
                other => problems.push(format!(
                    "variable `{name}` has type {other:?}: this test only understands textbox and custom"
                )),
            }
        }
        vars
    }

    fn defined(&self, name: &str) -> bool {
        self.custom.contains_key(name) || self.textbox.contains(name)
    }

    /// `text` once for every combination of values of the variables it uses (free-text
    /// variables become a marker).
    fn expand(&self, text: &str) -> Result<Vec<String>, String> {
        let refs = variable_refs();
        let used: BTreeSet<&str> = refs
            .captures_iter(text)
            .map(|c| variable_name(&c))
            .collect();
        let mut combos: Vec<BTreeMap<&str, String>> = vec![BTreeMap::new()];
        for name in used {
            let values = if let Some(values) = self.custom.get(name) {
                values.clone()
            } else if self.textbox.contains(name) {
                vec![format!("{FREE}{name}{FREE}")]
            } else {
                return Err(format!("`{text}` uses the undefined variable `{name}`"));
            };
            combos = combos
                .into_iter()
                .flat_map(|combo| {
                    values.iter().map(move |v| {
                        let mut c = combo.clone();
                        c.insert(name, v.clone());
                        c
                    })
                })
                .collect();
        }
        Ok(combos
            .into_iter()
            .map(|combo| {
                refs.replace_all(text, |c: &regex::Captures<'_>| {
                    combo[variable_name(c)].clone()
                })
                .into_owned()
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// Provisioning.

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

#[derive(Debug)]
struct DataSource {
    file: String,
    name: String,
    kind: String,
    url: String,
    json_data: Value,
}

/// Every provisioned data source, by uid.
fn provisioned_data_sources() -> BTreeMap<String, DataSource> {
    let dir = repo_root().join("dashboards/provisioning/datasources");
    let mut sources = BTreeMap::new();
    for file in ["tempo.yaml", "jaeger.yaml"] {
        let doc = read_yaml(&dir.join(file));
        assert_eq!(doc["apiVersion"], 1, "{file}: apiVersion 1");
        let list = doc["datasources"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: no datasources list"));
        assert!(!list.is_empty(), "{file}: an empty datasources list");
        for ds in list {
            let text = |key: &str| {
                ds[key]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| panic!("{file}: a data source without `{key}`: {ds}"))
                    .to_string()
            };
            let uid = text("uid");
            assert_eq!(
                text("access"),
                "proxy",
                "{file}: {uid} is accessed through Grafana"
            );
            let source = DataSource {
                file: file.to_string(),
                name: text("name"),
                kind: text("type"),
                url: text("url"),
                json_data: ds["jsonData"].clone(),
            };
            if let Some(earlier) = sources.insert(uid.clone(), source) {
                panic!(
                    "uid {uid} is provisioned twice ({} and {file})",
                    earlier.file
                );
            }
        }
    }
    sources
}

/// The dashboard folders the providers point at, as folders of this repo.
fn provider_folders() -> Vec<PathBuf> {
    let file = repo_root().join("dashboards/provisioning/dashboards/parley.yaml");
    let doc = read_yaml(&file);
    assert_eq!(doc["apiVersion"], 1, "parley.yaml: apiVersion 1");
    let providers = doc["providers"].as_array().expect("parley.yaml: providers");
    assert!(!providers.is_empty(), "parley.yaml: no provider");
    providers
        .iter()
        .map(|p| {
            assert_eq!(p["type"], "file", "a file provider: {p}");
            assert!(p["name"].as_str().is_some_and(|n| !n.is_empty()), "a name: {p}");
            let path = p.pointer("/options/path").and_then(Value::as_str).unwrap_or("");
            let inside = path
                .strip_prefix(GRAFANA_PROVISIONING)
                .unwrap_or_else(|| {
                    panic!("provider path {path:?} is not under {GRAFANA_PROVISIONING}, where dashboards/provisioning is mounted")
                })
                .trim_start_matches('/');
            let folder = repo_root().join("dashboards/provisioning").join(inside);
            assert!(
                folder.is_dir(),
                "provider path {path:?} is {} in this repo, which is not a folder",
                folder.display()
            );
            folder
        })
        .collect()
}

fn json_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "json") {
            into.push(path);
        }
    }
}

/// Every dashboard the provider loads: (file name, JSON).
fn dashboards() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    for folder in provider_folders() {
        json_files(&folder, &mut files);
    }
    files.sort();
    // no dashboard JSON lies where Grafana would not load it
    let mut everywhere = Vec::new();
    json_files(&repo_root().join("dashboards"), &mut everywhere);
    for file in &everywhere {
        assert!(
            files.contains(file),
            "{} is outside the provider's folder: Grafana would never load it",
            file.display()
        );
    }
    assert!(
        !files.is_empty(),
        "the provider's folder holds no dashboard"
    );
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read dashboard");
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
            (name, json)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The checks.

/// Panels that show no data and so have no data source.
const NO_DATA_PANELS: &[&str] = &["row", "text"];
const DATA_PANELS: &[&str] = &[
    "table",
    "timeseries",
    "nodeGraph",
    "traces",
    "stat",
    "barchart",
];

/// A `{ "type", "uid" }` reference checked against the provisioning; returns the type.
fn check_ref(
    reference: &Value,
    sources: &BTreeMap<String, DataSource>,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    let (Some(uid), Some(kind)) = (
        reference.get("uid").and_then(Value::as_str),
        reference.get("type").and_then(Value::as_str),
    ) else {
        problems.push(format!(
            "{at}: a data source reference needs uid and type, got {reference}"
        ));
        return None;
    };
    match sources.get(uid) {
        None => problems.push(format!("{at}: data source uid `{uid}` is not provisioned")),
        Some(ds) if ds.kind != kind => problems.push(format!(
            "{at}: data source `{uid}` is referenced as {kind} but provisioned as {} in {}",
            ds.kind, ds.file
        )),
        Some(_) => {}
    }
    Some(kind.to_string())
}

/// Structure and data sources of one dashboard; returns the tracing data-source types it uses.
fn structure_problems(
    file: &str,
    dashboard: &Value,
    sources: &BTreeMap<String, DataSource>,
    problems: &mut Vec<String>,
) -> BTreeSet<String> {
    let uid = dashboard["uid"].as_str().unwrap_or("");
    let uid_ok = Regex::new(r"^[A-Za-z0-9_-]{1,40}$").expect("regex");
    if !uid_ok.is_match(uid) {
        problems.push(format!("{file}: uid {uid:?} is not a stable Grafana uid"));
    }
    if dashboard["title"].as_str().is_none_or(str::is_empty) {
        problems.push(format!("{file}: no title"));
    }
    if dashboard["schemaVersion"].as_u64().unwrap_or(0) < MIN_SCHEMA_VERSION {
        problems.push(format!("{file}: schemaVersion below {MIN_SCHEMA_VERSION}"));
    }
    let vars = Variables::read(dashboard, problems);
    let Some(panels) = dashboard["panels"].as_array().filter(|p| !p.is_empty()) else {
        problems.push(format!("{file}: no panels"));
        return BTreeSet::new();
    };
    let mut ids = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("");
        let at = format!("{file}: panel {title:?}");
        match panel["id"].as_u64() {
            Some(id) if ids.insert(id) => {}
            _ => problems.push(format!("{at}: a missing or duplicate id")),
        }
        let grid = ["h", "w", "x", "y"].map(|k| {
            panel
                .pointer(&format!("/gridPos/{k}"))
                .and_then(Value::as_u64)
        });
        match grid {
            [Some(h), Some(w), Some(x), Some(_)] if h > 0 && w > 0 && x + w <= 24 => {}
            _ => problems.push(format!("{at}: gridPos needs h, w, x, y within 24 columns")),
        }
        let kind = panel["type"].as_str().unwrap_or("");
        if NO_DATA_PANELS.contains(&kind) {
            continue;
        }
        if !DATA_PANELS.contains(&kind) {
            problems.push(format!("{at}: unknown panel type {kind:?}"));
        }
        if title.is_empty() {
            problems.push(format!("{at}: no title"));
        }
        let panel_kind = check_ref(&panel["datasource"], sources, &at, problems);
        let targets = panel["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if targets.is_empty() {
            problems.push(format!("{at}: no targets"));
        }
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            let ref_id = target["refId"].as_str().unwrap_or("");
            if ref_id.is_empty() || !ref_ids.insert(ref_id) {
                problems.push(format!("{at}: a target without a unique refId"));
            }
            let target_kind = check_ref(
                &target["datasource"],
                sources,
                &format!("{at}, target {ref_id}"),
                problems,
            );
            if target_kind.is_some() && target_kind != panel_kind {
                problems.push(format!(
                    "{at}: target {ref_id} uses another data source type than its panel"
                ));
            }
            kinds.extend(target_kind);
        }
        if let Some(repeat) = panel["repeat"].as_str()
            && !vars.multi.contains(repeat)
        {
            problems.push(format!(
                "{at}: repeats over `{repeat}`, not a multi-value variable"
            ));
        }
    }
    // every variable used is defined, and every variable defined is used
    let text = serde_json::to_string(&dashboard["panels"]).expect("serialize");
    let used: BTreeSet<String> = variable_refs()
        .captures_iter(&text)
        .map(|c| variable_name(&c).to_string())
        .collect();
    for name in &used {
        if !vars.defined(name) {
            problems.push(format!(
                "{file}: uses `${name}`, which templating does not define"
            ));
        }
    }
    for name in vars.custom.keys().chain(&vars.textbox) {
        if !used.contains(name) {
            problems.push(format!(
                "{file}: variable `{name}` is defined but never used"
            ));
        }
    }
    kinds
}

/// A query of one target, and every problem with the names it uses, for every value of its
/// variables.
struct Query {
    at: String,
    text: String,
    problems: Vec<String>,
}

fn query_checks(file: &str, dashboard: &Value, emitted: &Emitted) -> Vec<Query> {
    let mut sink = Vec::new();
    let vars = Variables::read(dashboard, &mut sink);
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let at = format!(
                "{file}: panel {:?}, target {}",
                panel["title"].as_str().unwrap_or(""),
                target["refId"].as_str().unwrap_or("?")
            );
            let kind = target.pointer("/datasource/type").and_then(Value::as_str);
            let query_type = target["queryType"].as_str().unwrap_or("");
            let mut problems = Vec::new();
            let text = match (kind, query_type) {
                (Some("tempo"), "traceql") => {
                    let query = target["query"].as_str().unwrap_or("");
                    match vars.expand(query) {
                        Err(e) => problems.push(e),
                        Ok(expansions) => {
                            for q in expansions {
                                problems.extend(traceql_problems(&q, emitted));
                            }
                        }
                    }
                    query.to_string()
                }
                (Some("jaeger"), "search") => {
                    let mut expanded = vec![target.clone()];
                    for field in ["service", "operation", "tags", "minDuration", "maxDuration"] {
                        let mut next = Vec::new();
                        for t in expanded {
                            let Some(value) = t[field].as_str() else {
                                next.push(t);
                                continue;
                            };
                            match vars.expand(value) {
                                Err(e) => {
                                    problems.push(e);
                                    next.push(t);
                                }
                                Ok(values) => next.extend(values.into_iter().map(|v| {
                                    let mut t = t.clone();
                                    t[field] = Value::String(v);
                                    t
                                })),
                            }
                        }
                        expanded = next;
                    }
                    for t in &expanded {
                        problems.extend(jaeger_problems(t, emitted));
                    }
                    format!(
                        "service={} operation={} tags={}",
                        target["service"], target["operation"], target["tags"]
                    )
                }
                // the service graph and dependency queries name nothing
                (Some("tempo"), "serviceMap") | (Some("jaeger"), "dependencyGraph") => {
                    query_type.to_string()
                }
                _ => {
                    problems.push(format!(
                        "query type {query_type:?} of a {kind:?} data source: this test cannot check it, extend it"
                    ));
                    String::new()
                }
            };
            problems.sort();
            problems.dedup();
            out.push(Query { at, text, problems });
        }
    }
    out
}

#[test]
fn the_data_sources_are_provisioned_at_the_conventional_local_addresses() {
    let sources = provisioned_data_sources();
    let by_kind = |kind: &str| -> Vec<&DataSource> {
        sources.values().filter(|ds| ds.kind == kind).collect()
    };
    let tempo = by_kind("tempo");
    let jaeger = by_kind("jaeger");
    assert_eq!(tempo.len(), 1, "one Tempo data source");
    assert_eq!(jaeger.len(), 1, "one Jaeger data source");
    assert_eq!(tempo[0].file, "tempo.yaml");
    assert_eq!(jaeger[0].file, "jaeger.yaml");
    assert_eq!(tempo[0].url, "http://localhost:3200", "{}", tempo[0].name);
    assert_eq!(
        jaeger[0].url, "http://localhost:16686",
        "{}",
        jaeger[0].name
    );
    // the service graph's metrics source is provisioned too, as a Prometheus
    let metrics = tempo[0]
        .json_data
        .pointer("/serviceMap/datasourceUid")
        .and_then(Value::as_str)
        .expect("the Tempo data source names its service-graph metrics source");
    assert_eq!(
        sources.get(metrics).map(|ds| ds.kind.as_str()),
        Some("prometheus"),
        "serviceMap.datasourceUid `{metrics}` is a provisioned Prometheus"
    );
}

#[test]
fn every_dashboard_parses_and_references_provisioned_data_sources() {
    let sources = provisioned_data_sources();
    let dashboards = dashboards();
    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    let mut covered = BTreeSet::new();
    for (file, dashboard) in &dashboards {
        if !uids.insert(dashboard["uid"].as_str().unwrap_or("").to_string()) {
            problems.push(format!("{file}: its uid is another dashboard's too"));
        }
        let kinds = structure_problems(file, dashboard, &sources, &mut problems);
        if kinds.len() != 1 {
            problems.push(format!("{file}: uses data sources of types {kinds:?}, want one tracing backend per dashboard"));
        }
        covered.extend(kinds);
    }
    assert!(
        problems.is_empty(),
        "dashboard problems:\n  {}",
        problems.join("\n  ")
    );
    let want: BTreeSet<String> = ["jaeger", "tempo"].map(String::from).into();
    assert_eq!(covered, want, "one dashboard for Tempo and one for Jaeger");
}

#[test]
fn every_name_a_dashboard_queries_is_one_the_samples_emit() {
    let emitted = recorded_run();
    // the recorded run is a whole demo: the six services and the names the panels are about
    let services: BTreeSet<&str> = emitted.services.iter().map(String::as_str).collect();
    assert_eq!(
        services,
        [
            "gateway",
            "inventory-service",
            "notification-service",
            "order-service",
            "payment-service",
            "shipping-service"
        ]
        .into(),
        "the recorded run's services"
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, dashboard) in dashboards() {
        for query in query_checks(&file, &dashboard, &emitted) {
            checked += 1;
            if !query.problems.is_empty() {
                failures.push(format!(
                    "{}\n    query: {}\n    - {}",
                    query.at,
                    query.text,
                    query.problems.join("\n    - ")
                ));
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} queries found: the dashboards lost their panels?"
    );
    assert!(
        failures.is_empty(),
        "queries using names the samples do not emit (recorded run tests/data/recorded-run/spans.jsonl):\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_extractor_sees_the_names_the_dashboards_are_about() {
    // what the queries name, as the extractor reads them: without these, the check above
    // could pass by reading nothing
    let mut attributes = BTreeSet::new();
    let mut jaeger_tags = BTreeSet::new();
    for (file, dashboard) in dashboards() {
        let mut problems = Vec::new();
        let vars = Variables::read(&dashboard, &mut problems);
        assert!(problems.is_empty(), "{file}: {problems:?}");
        for panel in dashboard["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(query) = target["query"].as_str() {
                    for query in vars.expand(query).expect("expands") {
                        for tok in lex_traceql(&query).expect("lexes") {
                            if let Tok::Attr(_, name) = tok {
                                attributes.insert(name);
                            }
                        }
                    }
                }
                if let Some(tags) = target["tags"].as_str() {
                    for (key, _) in logfmt_pairs(tags).expect("logfmt") {
                        jaeger_tags.insert(key);
                    }
                }
            }
        }
    }
    for name in [
        "correlation.id",
        "saga.outcome",
        "parley.outcome",
        "peer.service",
        "service.name",
        "messaging.destination.name",
    ] {
        assert!(
            attributes.contains(name),
            "no TraceQL query names {name}: {attributes:?}"
        );
    }
    for tag in [
        "correlation.id",
        "saga.outcome",
        "parley.outcome",
        "peer.service",
    ] {
        assert!(
            jaeger_tags.contains(tag),
            "no Jaeger query filters on {tag}: {jaeger_tags:?}"
        );
    }
}

#[test]
fn wrong_names_are_reported() {
    let emitted = recorded_run();

    // a correct query has no problem…
    let good = r#"{ span."correlation.id" != nil && resource.service.name = "order-service" && name = "saga order-fulfilment" && kind = client } | rate() by (span."peer.service")"#;
    assert_eq!(traceql_problems(good, &emitted), Vec::<String>::new());

    // …and each wrong name in a wrong one is named
    let wrong = r#"{ span."correlation.idd" = "x" && resource.service.name = "orders-service" && name = "saga order-fulfillment" && .saga.outcom = "completed" && span."saga.outcome" =~ "canceled|aborted" && kind = consumr } | rate() by (span."peer.servce")"#;
    let problems = traceql_problems(wrong, &emitted).join("\n");
    for needle in [
        "\"correlation.idd\"",
        "\"orders-service\"",
        "\"saga order-fulfillment\"",
        "\"saga.outcom\"",
        "\"canceled|aborted\"",
        "`consumr`",
        "\"peer.servce\"",
    ] {
        assert!(
            problems.contains(needle),
            "{needle} not reported in:\n{problems}"
        );
    }
    assert!(
        traceql_problems(r#"{ event."exception.type" = "x" }"#, &emitted)
            .iter()
            .any(|p| p.contains("unsupported attribute scope")),
        "an unchecked scope is not let through"
    );

    // Jaeger: service, operation, tag keys and values
    let jaeger = serde_json::json!({
        "service": "orders",
        "operation": "saga order-fulfillment",
        "tags": "correlation_id=abc saga.outcome=canceled error=true",
    });
    let problems = jaeger_problems(&jaeger, &emitted).join("\n");
    for needle in [
        "\"orders\"",
        "\"saga order-fulfillment\"",
        "\"correlation_id\"",
        "saga.outcome=canceled",
    ] {
        assert!(
            problems.contains(needle),
            "{needle} not reported in:\n{problems}"
        );
    }
    let good = serde_json::json!({
        "service": "order-service",
        "operation": "saga order-fulfilment",
        "tags": "saga.outcome=\"cancelled\" error=true",
    });
    assert_eq!(jaeger_problems(&good, &emitted), Vec::<String>::new());

    // variables: every value is checked, free text is not, undefined ones are an error
    let vars = Variables {
        custom: [(
            "svc".to_string(),
            vec!["order-service".to_string(), "orderz".to_string()],
        )]
        .into(),
        textbox: ["cid".to_string()].into(),
        multi: BTreeSet::new(),
    };
    let expanded = vars
        .expand(r#"{ resource.service.name = "$svc" && span."correlation.id" = "${cid}" }"#)
        .expect("expands");
    assert_eq!(expanded.len(), 2);
    let problems: Vec<String> = expanded
        .iter()
        .flat_map(|q| traceql_problems(q, &emitted))
        .collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("\"orderz\""), "{problems:?}");
    assert!(
        vars.expand("{ span.x = \"$nope\" }")
            .unwrap_err()
            .contains("`nope`")
    );
}
