//! Pact generators: the values a mock fills in instead of a contract's examples.
//!
//! Generators are kept in the model as Pact writes them (`generators.body["$.id"] =
//! {"type": "RandomInt", "min": 1, "max": 9}`), by category: `status`, `header`, `body` for
//! responses; `body` (alias `content`) and `metadata` for messages. Applied in consumer mode,
//! as Pact's mock server does:
//!
//! | type | generates | options |
//! |---|---|---|
//! | `RandomInt` | an integer | `min` (0), `max` (2147483647) |
//! | `RandomDecimal` | a decimal number | `digits` (10) |
//! | `RandomHexadecimal` | lower-case hex digits | `digits` (10) |
//! | `RandomString` | letters and digits | `size` (10) |
//! | `RandomBoolean` | `true` or `false` | |
//! | `Regex` | a string matching it (or the example, for constructs it cannot generate) | `regex` |
//! | `Uuid` | a v4 UUID | `format`: `lower-case-hyphenated` (default), `upper-case-hyphenated`, `simple`, `URN` |
//! | `Date`, `Time`, `DateTime` | the current time (UTC) | `format` (Java pattern), `expression` (`+1 day`) |
//! | `MockServerURL` | the mock's base URL + the path the regex captures from the example | `regex`, `example` |
//! | `ProviderState`, `ArrayContains`, others | the example, unchanged | |
//!
//! Numbers stay numbers and strings stay strings: a `RandomInt` over a string example gives a
//! string of digits, so the example's type (and a `type` matcher) still holds. A generator whose
//! path is not in the document is passed over.

use parley_contracts::matching::path::{Token, parse};
use parley_contracts::{Body, Generators, Headers, HttpResponse, MessageContents};
use serde_json::{Number, Value};

use super::datetime::{self, Moment};
use super::random::Rng;
use super::regex_gen;

/// What generators may need from the mock itself.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The mock's base URL (`http://127.0.0.1:8080`), for `MockServerURL`.
    pub base_url: Option<String>,
}

/// A response with its generators applied (the generators are then dropped).
pub fn response(response: &HttpResponse, cx: &Context, rng: &mut Rng) -> HttpResponse {
    let mut out = response.clone();
    out.generators = Generators::default();
    let generators = &response.generators.categories;
    if let Some(generator) = generators.get("status").and_then(single) {
        let current = Value::from(out.status);
        if let Some(status) = value(generator, &current, cx, rng)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=999).contains(s))
        {
            out.status = status;
        }
    }
    if let Some(Value::Object(by_name)) = generators.get("header")
        && let Some(headers) = &mut out.headers
    {
        apply_headers(headers, by_name, cx, rng);
    }
    if let Some(Value::Object(by_path)) = generators.get("body") {
        apply_body(&mut out.body, by_path, cx, rng);
    }
    out
}

/// A message with its generators applied (contents and metadata).
pub fn message(message: &MessageContents, cx: &Context, rng: &mut Rng) -> MessageContents {
    let mut out = message.clone();
    out.generators = Generators::default();
    let generators = &message.generators.categories;
    for category in ["body", "content"] {
        if let Some(Value::Object(by_path)) = generators.get(category) {
            apply_body(&mut out.contents, by_path, cx, rng);
        }
    }
    if let Some(Value::Object(by_name)) = generators.get("metadata") {
        for (key, generator) in by_name {
            let name = name_of(key);
            if let Some(current) = out.metadata.get_mut(name)
                && let Some(new) = value(generator, current, cx, rng)
            {
                *current = new;
            }
        }
    }
    out
}

/// A category's single generator (`status`, `path`): the generator itself, or the only entry
/// of a map of them.
fn single(v: &Value) -> Option<&Value> {
    let object = v.as_object()?;
    if object.contains_key("type") {
        return Some(v);
    }
    object.values().next().filter(|g| g.get("type").is_some())
}

/// `Name`, `$.Name` and `$['Name']` all name `Name`.
fn name_of(key: &str) -> &str {
    if let Some(rest) = key.strip_prefix("$['").and_then(|r| r.strip_suffix("']")) {
        return rest;
    }
    key.strip_prefix("$.").unwrap_or(key)
}

fn apply_headers(
    headers: &mut Headers,
    generators: &serde_json::Map<String, Value>,
    cx: &Context,
    rng: &mut Rng,
) {
    for (key, generator) in generators {
        let name = name_of(key);
        let Some((_, values)) = headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        for v in values.iter_mut() {
            let current = Value::String(v.clone());
            if let Some(new) = value(generator, &current, cx, rng) {
                *v = match new {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
            }
        }
    }
}

fn apply_body(
    body: &mut Body,
    generators: &serde_json::Map<String, Value>,
    cx: &Context,
    rng: &mut Rng,
) {
    match body {
        Body::Json { value: doc, .. } => {
            for (path, generator) in generators {
                let Ok(tokens) = parse(path) else { continue };
                let tokens = match tokens.first() {
                    Some(Token::Root) => &tokens[1..],
                    _ => &tokens[..],
                };
                apply_at(doc, tokens, generator, cx, rng);
            }
        }
        Body::Text { text, .. } => {
            // A text body can only be generated as a whole.
            if let Some(generator) = ["$", ""].iter().find_map(|k| generators.get(*k)) {
                let current = Value::String(text.clone());
                if let Some(new) = value(generator, &current, cx, rng) {
                    *text = match new {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                }
            }
        }
        _ => {}
    }
}

/// Applies a generator at every place of `doc` the path tokens reach.
fn apply_at(doc: &mut Value, tokens: &[Token], generator: &Value, cx: &Context, rng: &mut Rng) {
    let Some((first, rest)) = tokens.split_first() else {
        if let Some(new) = value(generator, doc, cx, rng) {
            *doc = new;
        }
        return;
    };
    match (first, doc) {
        (Token::Field(name), Value::Object(map)) => {
            if let Some(child) = map.get_mut(name) {
                apply_at(child, rest, generator, cx, rng);
            }
        }
        (Token::Index(i), Value::Array(items)) => {
            if let Some(child) = items.get_mut(*i) {
                apply_at(child, rest, generator, cx, rng);
            }
        }
        (Token::Star, Value::Object(map)) => {
            for child in map.values_mut() {
                apply_at(child, rest, generator, cx, rng);
            }
        }
        (Token::Star | Token::StarIndex, Value::Array(items)) => {
            for child in items {
                apply_at(child, rest, generator, cx, rng);
            }
        }
        (Token::Root, doc) => apply_at(doc, rest, generator, cx, rng),
        _ => {}
    }
}

/// The generated value for one place (`current` is the example there); `None`: keep the
/// example.
pub fn value(generator: &Value, current: &Value, cx: &Context, rng: &mut Rng) -> Option<Value> {
    let kind = generator.get("type")?.as_str()?;
    let int = |key: &str, default: i64| {
        generator
            .get(key)
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
            .unwrap_or(default)
    };
    let text = |key: &str| generator.get(key).and_then(Value::as_str);
    let as_text = |s: String| Some(Value::String(s));
    match kind {
        "RandomInt" => {
            let n = rng.between(int("min", 0), int("max", i64::from(i32::MAX)));
            Some(keep_kind(current, Value::from(n)))
        }
        "RandomDecimal" => {
            let digits = int("digits", 10).clamp(2, 15) as usize;
            let s = random_decimal(digits, rng);
            let number = s.parse::<f64>().ok().and_then(Number::from_f64)?;
            Some(if current.is_string() {
                Value::String(s)
            } else {
                Value::Number(number)
            })
        }
        "RandomHexadecimal" => {
            let digits = int("digits", 10).clamp(1, 4096) as usize;
            as_text(
                (0..digits)
                    .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
                    .collect(),
            )
        }
        "RandomString" => {
            let size = int("size", 10).clamp(0, 65_536) as usize;
            const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            as_text(
                (0..size)
                    .map(|_| char::from(ALNUM[rng.below(ALNUM.len() as u64) as usize]))
                    .collect(),
            )
        }
        "RandomBoolean" => Some(keep_kind(current, Value::Bool(rng.bool()))),
        "Regex" => {
            let pattern = text("regex")?;
            regex_gen::generate(pattern, rng).ok().map(Value::String)
        }
        "Uuid" => {
            let id = uuid::Uuid::new_v4();
            as_text(match text("format").unwrap_or("lower-case-hyphenated") {
                "simple" => id.simple().to_string(),
                "upper-case-hyphenated" => id.hyphenated().to_string().to_ascii_uppercase(),
                "URN" | "urn" => id.urn().to_string(),
                _ => id.hyphenated().to_string(),
            })
        }
        "Date" | "Time" | "DateTime" | "Timestamp" => {
            let default = match kind {
                "Date" => datetime::DEFAULT_DATE,
                "Time" => datetime::DEFAULT_TIME,
                _ => datetime::DEFAULT_DATE_TIME,
            };
            let format = text("format").filter(|f| !f.is_empty()).unwrap_or(default);
            let moment = match text("expression").filter(|e| !e.trim().is_empty()) {
                Some(expression) => Moment::now().shifted(expression).ok()?,
                None => Moment::now(),
            };
            datetime::format(format, moment).ok().map(Value::String)
        }
        "MockServerURL" => {
            let base = cx.base_url.as_deref()?;
            let example = text("example").or(current.as_str())?;
            let pattern = regex::Regex::new(text("regex")?).ok()?;
            let captures = pattern.captures(example)?;
            let path = captures.get(1).map_or("", |m| m.as_str());
            as_text(format!("{}{path}", base.trim_end_matches('/')))
        }
        // ProviderState needs the provider's values: a mock serves the example, as Pact's does.
        _ => None,
    }
}

/// A generated number or boolean, as a string when the example was one.
fn keep_kind(current: &Value, generated: Value) -> Value {
    match current {
        Value::String(_) => Value::String(match generated {
            Value::String(s) => s,
            other => other.to_string(),
        }),
        _ => generated,
    }
}

/// `digits` (at least 2) significant digits with a decimal point inside (`4821.07`), no
/// leading zero.
fn random_decimal(digits: usize, rng: &mut Rng) -> String {
    let mut s: String = (0..digits)
        .map(|i| {
            let d = if i == 0 {
                1 + rng.below(9)
            } else {
                rng.below(10)
            };
            char::from(b'0' + d as u8)
        })
        .collect();
    if digits >= 2 {
        let at = 1 + rng.below(digits as u64 - 1) as usize;
        s.insert(at, '.');
        // A trailing zero after the point would not survive as a JSON number: make it non-zero.
        if s.ends_with('0') {
            s.pop();
            s.push(char::from(b'1' + rng.below(9) as u8));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn gen_(generator: Value, current: Value) -> Option<Value> {
        value(
            &generator,
            &current,
            &Context {
                base_url: Some("http://127.0.0.1:9999".into()),
            },
            &mut Rng::seeded(11),
        )
    }

    #[test]
    fn each_type() {
        let n = gen_(json!({"type": "RandomInt", "min": 5, "max": 7}), json!(1)).expect("int");
        assert!((5..=7).contains(&n.as_i64().expect("number")), "{n}");
        let s = gen_(json!({"type": "RandomInt", "min": 5, "max": 7}), json!("1")).expect("int");
        assert!(matches!(s.as_str(), Some("5" | "6" | "7")), "{s}");
        let d = gen_(json!({"type": "RandomDecimal", "digits": 6}), json!(1.5)).expect("decimal");
        let text = d.to_string();
        assert_eq!(
            text.chars().filter(char::is_ascii_digit).count(),
            6,
            "{text}"
        );
        assert!(text.contains('.'), "{text}");
        let h = gen_(
            json!({"type": "RandomHexadecimal", "digits": 8}),
            json!("x"),
        )
        .expect("hex");
        assert!(
            h.as_str()
                .is_some_and(|h| h.len() == 8 && h.chars().all(|c| c.is_ascii_hexdigit()))
        );
        let r = gen_(json!({"type": "RandomString", "size": 12}), json!("x")).expect("string");
        assert_eq!(r.as_str().map(str::len), Some(12));
        let b = gen_(json!({"type": "RandomBoolean"}), json!(true)).expect("bool");
        assert!(b.is_boolean());
        let re = gen_(
            json!({"type": "Regex", "regex": "^ord-\\d{4}$"}),
            json!("x"),
        )
        .expect("re");
        assert!(
            regex::Regex::new("^ord-\\d{4}$")
                .expect("re")
                .is_match(re.as_str().expect("s"))
        );
        assert_eq!(
            gen_(json!({"type": "Regex", "regex": "(a)\\1"}), json!("aa")),
            None
        );
        let u = gen_(json!({"type": "Uuid", "format": "simple"}), json!("x")).expect("uuid");
        assert_eq!(u.as_str().map(str::len), Some(32));
        let u = gen_(json!({"type": "Uuid", "format": "URN"}), json!("x")).expect("uuid");
        assert!(u.as_str().is_some_and(|u| u.starts_with("urn:uuid:")));
        let date = gen_(json!({"type": "Date", "format": "yyyy/MM/dd"}), json!("x")).expect("date");
        assert!(
            regex::Regex::new(r"^\d{4}/\d{2}/\d{2}$")
                .expect("re")
                .is_match(date.as_str().expect("s"))
        );
        let url = gen_(
            json!({"type": "MockServerURL", "example": "http://localhost:1234/orders/1", "regex": ".*(/orders/\\d+)$"}),
            json!("http://localhost:1234/orders/1"),
        )
        .expect("url");
        assert_eq!(url, json!("http://127.0.0.1:9999/orders/1"));
        assert_eq!(
            gen_(
                json!({"type": "ProviderState", "expression": "${id}"}),
                json!(1)
            ),
            None
        );
        assert_eq!(gen_(json!({"type": "Nonsense"}), json!(1)), None);
    }

    #[test]
    fn applies_by_path_header_status_and_metadata() {
        let mut generators = Generators::default();
        generators.categories.insert(
            "body".into(),
            json!({
                "$.id": {"type": "RandomInt", "min": 100, "max": 100},
                "items[*].sku": {"type": "RandomString", "size": 3},
                "$.missing.deep": {"type": "RandomInt"},
                "$['odd key']": {"type": "RandomBoolean"}
            }),
        );
        generators
            .categories
            .insert("header".into(), json!({"X-Id": {"type": "Uuid"}}));
        generators.categories.insert(
            "status".into(),
            json!({"type": "RandomInt", "min": 202, "max": 202}),
        );
        let response = HttpResponse {
            status: 200,
            headers: Some([("x-id".to_string(), vec!["a".to_string()])].into()),
            body: Body::Json {
                value: json!({"id": 1, "items": [{"sku": "A1"}, {"sku": "B2"}], "odd key": "no"}),
                content_type: None,
            },
            generators,
            ..HttpResponse::default()
        };
        let out = super::response(&response, &Context::default(), &mut Rng::seeded(5));
        assert_eq!(out.status, 202);
        assert!(out.generators.is_empty());
        let Body::Json { value, .. } = &out.body else {
            panic!("json body");
        };
        assert_eq!(value["id"], json!(100));
        for item in value["items"].as_array().expect("items") {
            assert_eq!(item["sku"].as_str().map(str::len), Some(3));
        }
        assert!(matches!(value["odd key"].as_str(), Some("true" | "false")));
        assert!(value.get("missing").is_none());
        let id = &out.headers.as_ref().expect("headers")["x-id"][0];
        assert_eq!(id.len(), 36, "{id}");

        let mut generators = Generators::default();
        generators.categories.insert(
            "content".into(),
            json!({"$.n": {"type": "RandomInt", "min": 3, "max": 3}}),
        );
        generators.categories.insert(
            "metadata".into(),
            json!({"trace": {"type": "RandomHexadecimal", "digits": 4}}),
        );
        let message = MessageContents {
            contents: Body::Json {
                value: json!({"n": 0}),
                content_type: None,
            },
            metadata: [("trace".to_string(), json!("x"))].into(),
            generators,
            ..MessageContents::default()
        };
        let out = super::message(&message, &Context::default(), &mut Rng::seeded(5));
        let Body::Json { value, .. } = &out.contents else {
            panic!("json");
        };
        assert_eq!(value["n"], json!(3));
        assert_eq!(out.metadata["trace"].as_str().map(str::len), Some(4));
    }

    #[test]
    fn decimals_keep_their_digits() {
        let mut rng = Rng::seeded(9);
        for digits in 2..=15 {
            for _ in 0..20 {
                let s = random_decimal(digits, &mut rng);
                let n: f64 = s.parse().expect("number");
                let back = Number::from_f64(n).expect("finite").to_string();
                assert_eq!(back, s, "digits {digits}");
            }
        }
    }
}
