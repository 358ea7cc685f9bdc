//! The canonical rendering of a contract: what snapshot tests and pull-request reviews read.
//!
//! It is parley's own format (YAML), written one way only: interactions sorted (HTTP by method,
//! path and description; events and request/reply messages by subject and description), keys in
//! a fixed order, body keys sorted, header names in lower case, provider states always as
//! `{state, params}`, and every matching rule shown inline as a matcher on the value it applies
//! to (`paymentId: {$match: regex, pattern: "^pay_[0-9a-z]+$", example: pay_7f3a}`), normalised
//! (`type` with `min` on a list of like elements is shown as `eachLike`). A payload schema is
//! shown by reference with a summary of what it requires. Two contracts that mean the same
//! render to the same text, however they were written (or whether they came from a Pact file).
//!
//! Rules that cannot stand inline (a Pact path that names no value of the example, say) are
//! listed under `rules:` beside the part they belong to, so that nothing is hidden.

use std::cell::Cell;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::format::path::{self, Tok};
use crate::model::{
    Body, Category, Contract, Generators, HttpInteraction, Interaction, InteractionCommon,
    MatchingRule, MatchingRules, MessageContents, MessageInteraction, PayloadSchema, ProviderState,
    RuleList, RuleLogic, SpecVersion, StatusClass, SyncMessageInteraction, Trigger,
};
use crate::schema::SchemaSummary;

/// The widest line the renderer aims for (flow style is used only where it fits).
const WIDTH: usize = 100;

/// Renders a contract canonically.
pub fn render(contract: &Contract) -> String {
    let mut top = Vec::new();
    top.push(("consumer".to_string(), scalar_str(&contract.consumer)));
    top.push(("provider".to_string(), scalar_str(&contract.provider)));
    if contract.spec != SpecVersion::V4 {
        top.push((
            "pact-specification".to_string(),
            scalar_str(contract.spec.pact_string()),
        ));
    }
    let mut http: Vec<&HttpInteraction> = Vec::new();
    let mut events: Vec<&MessageInteraction> = Vec::new();
    let mut sync: Vec<&SyncMessageInteraction> = Vec::new();
    for interaction in &contract.interactions {
        match interaction {
            Interaction::Http(i) => http.push(i),
            Interaction::Message(i) => events.push(i),
            Interaction::SyncMessage(i) => sync.push(i),
        }
    }
    if !http.is_empty() {
        let mut items: Vec<(String, Y)> = http
            .iter()
            .map(|i| {
                let key = format!(
                    "{}\u{0}{}\u{0}{}\u{0}{}",
                    i.request.method.to_ascii_uppercase(),
                    i.request.path,
                    i.common.description,
                    states_key(&i.common.provider_states)
                );
                (key, http_interaction(i))
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        top.push((
            "http".to_string(),
            Y::Seq(items.into_iter().map(|(_, y)| y).collect(), Style::Block),
        ));
    }
    if !events.is_empty() {
        let mut items: Vec<(String, Y)> = events
            .iter()
            .map(|i| {
                let key = format!(
                    "{}\u{0}{}\u{0}{}",
                    subject_of(i.subject.as_deref(), &i.message).unwrap_or_default(),
                    i.common.description,
                    states_key(&i.common.provider_states)
                );
                (key, event(i))
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        top.push((
            "events".to_string(),
            Y::Seq(items.into_iter().map(|(_, y)| y).collect(), Style::Block),
        ));
    }
    if !sync.is_empty() {
        let mut items: Vec<(String, Y)> = sync
            .iter()
            .map(|i| {
                let key = format!(
                    "{}\u{0}{}\u{0}{}",
                    subject_of(i.subject.as_deref(), &i.request).unwrap_or_default(),
                    i.common.description,
                    states_key(&i.common.provider_states)
                );
                (key, sync_message(i))
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        top.push((
            "sync-messages".to_string(),
            Y::Seq(items.into_iter().map(|(_, y)| y).collect(), Style::Block),
        ));
    }
    let mut out = String::new();
    for (key, value) in &top {
        emit_entry(&mut out, 0, key, value);
    }
    out
}

fn states_key(states: &[ProviderState]) -> String {
    states
        .iter()
        .map(|s| format!("{}{}", s.name, Value::Object(s.params.clone())))
        .collect::<Vec<_>>()
        .join("\u{1}")
}

fn subject_of(subject: Option<&str>, message: &MessageContents) -> Option<String> {
    subject.map(str::to_string).or_else(|| {
        message
            .metadata
            .get("subject")?
            .as_str()
            .map(str::to_string)
    })
}

fn common(common: &InteractionCommon, entries: &mut Vec<(String, Y)>) {
    entries.push(("description".into(), scalar_str(&common.description)));
    if common.pending {
        entries.push(("pending".into(), Y::Scalar("true".into())));
    }
    if !common.provider_states.is_empty() {
        entries.push(("given".into(), given(&common.provider_states)));
    }
    if let Some(comments) = &common.comments {
        entries.push(("comments".into(), plain(comments)));
    }
}

fn given(states: &[ProviderState]) -> Y {
    Y::Seq(
        states
            .iter()
            .map(|s| {
                let mut entries = vec![("state".to_string(), scalar_str(&s.name))];
                if !s.params.is_empty() {
                    entries.push((
                        "params".to_string(),
                        plain(&Value::Object(s.params.clone())),
                    ));
                }
                Y::Map(entries, Style::Data)
            })
            .collect(),
        Style::Data,
    )
}

fn http_interaction(i: &HttpInteraction) -> Y {
    let mut entries = Vec::new();
    common(&i.common, &mut entries);

    let request = &i.request;
    let rules = Ix::new(&request.rules);
    let generators = Gx::new(&request.generators);
    let mut part = Vec::new();
    part.push((
        "method".to_string(),
        scalar_str(&request.method.to_ascii_uppercase()),
    ));
    part.push((
        "path".to_string(),
        named_value(
            &[Value::String(request.path.clone())],
            Category::Path,
            "",
            &rules,
            &generators,
            false,
        ),
    ));
    if let Some(query) = &request.query {
        part.push((
            "query".to_string(),
            named_values(query, Category::Query, &rules, &generators, false),
        ));
    }
    if let Some(headers) = &request.headers {
        part.push((
            "headers".to_string(),
            named_values(headers, Category::Header, &rules, &generators, true),
        ));
    }
    body(&request.body, &rules, &generators, &mut part);
    leftovers(&rules, &generators, &mut part);
    entries.push(("request".into(), Y::Map(part, Style::Block)));

    let response = &i.response;
    let rules = Ix::new(&response.rules);
    let generators = Gx::new(&response.generators);
    let mut part = Vec::new();
    part.push(("status".to_string(), status(response.status, &rules)));
    if let Some(headers) = &response.headers {
        part.push((
            "headers".to_string(),
            named_values(headers, Category::Header, &rules, &generators, true),
        ));
    }
    body(&response.body, &rules, &generators, &mut part);
    leftovers(&rules, &generators, &mut part);
    entries.push(("response".into(), Y::Map(part, Style::Block)));
    Y::Map(entries, Style::Block)
}

fn status(code: u16, rules: &Ix) -> Y {
    match rules.take_named(Category::Status, "", false) {
        Some(list) if list.rules.len() == 1 && list.logic == RuleLogic::And => {
            let rule = &list.rules[0];
            let (kind, mut params) = rule_parts(rule);
            params.insert(0, ("$match".into(), Y::Scalar(kind.into())));
            params.push(("example".into(), Y::Scalar(code.to_string())));
            Y::Map(params, Style::Matcher)
        }
        Some(list) => combined(list, Some(Y::Scalar(code.to_string()))),
        None => Y::Scalar(code.to_string()),
    }
}

fn body(body: &Body, rules: &Ix, generators: &Gx, part: &mut Vec<(String, Y)>) {
    match body {
        Body::Missing => {}
        Body::Null => part.push(("body".into(), Y::Scalar("null".into()))),
        Body::Empty => part.push(("body".into(), Y::Scalar("\"\"".into()))),
        Body::Json { value, .. } => {
            let mut tokens = Vec::new();
            part.push((
                "body".into(),
                template(value, &mut tokens, rules, generators, Category::Body),
            ));
        }
        Body::Text { text, .. } => {
            let mut tokens = Vec::new();
            part.push((
                "body".into(),
                template(
                    &Value::String(text.clone()),
                    &mut tokens,
                    rules,
                    generators,
                    Category::Body,
                ),
            ));
        }
        Body::Binary {
            bytes,
            content_type,
        } => {
            use base64::Engine as _;
            let mut entries = vec![(
                "base64".to_string(),
                scalar_str(&base64::engine::general_purpose::STANDARD.encode(bytes)),
            )];
            if let Some(ct) = content_type {
                entries.push(("contentType".into(), scalar_str(ct)));
            }
            part.push(("body".into(), Y::Map(entries, Style::Block)));
        }
    }
}

fn event(i: &MessageInteraction) -> Y {
    let mut entries = Vec::new();
    common(&i.common, &mut entries);
    let subject = subject_of(i.subject.as_deref(), &i.message);
    if let Some(subject) = &subject {
        entries.push(("subject".into(), scalar_str(subject)));
    }
    if let Some(Trigger::Http { method, path, body }) = &i.trigger {
        let mut http = vec![
            (
                "method".to_string(),
                scalar_str(&method.to_ascii_uppercase()),
            ),
            ("path".to_string(), scalar_str(path)),
        ];
        if let Some(body) = body {
            http.push(("body".to_string(), plain(body)));
        }
        entries.push((
            "trigger".into(),
            Y::Map(
                vec![("http".into(), Y::Map(http, Style::Data))],
                Style::Block,
            ),
        ));
    }
    if let Some(Trigger::Publish {
        subject,
        payload,
        headers,
    }) = &i.trigger
    {
        let mut publish = vec![
            ("subject".to_string(), scalar_str(subject)),
            ("payload".to_string(), plain(payload)),
        ];
        if !headers.is_empty() {
            let h: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            publish.push(("headers".to_string(), plain(&Value::Object(h))));
        }
        entries.push((
            "trigger".into(),
            Y::Map(
                vec![("publish".into(), Y::Map(publish, Style::Data))],
                Style::Block,
            ),
        ));
    }
    message(
        &i.message,
        subject.as_deref(),
        i.schema.as_ref(),
        &mut entries,
    );
    Y::Map(entries, Style::Block)
}

fn sync_message(i: &SyncMessageInteraction) -> Y {
    let mut entries = Vec::new();
    common(&i.common, &mut entries);
    let subject = subject_of(i.subject.as_deref(), &i.request);
    if let Some(subject) = &subject {
        entries.push(("subject".into(), scalar_str(subject)));
    }
    let mut request = Vec::new();
    message(&i.request, subject.as_deref(), None, &mut request);
    entries.push(("request".into(), Y::Map(request, Style::Block)));
    let responses: Vec<Y> = i
        .responses
        .iter()
        .map(|r| {
            let mut part = Vec::new();
            message(r, None, None, &mut part);
            Y::Map(part, Style::Block)
        })
        .collect();
    if !responses.is_empty() {
        entries.push(("responses".into(), Y::Seq(responses, Style::Block)));
    }
    Y::Map(entries, Style::Block)
}

/// Headers (metadata but the subject) and payload of a message.
fn message(
    m: &MessageContents,
    subject: Option<&str>,
    schema: Option<&PayloadSchema>,
    entries: &mut Vec<(String, Y)>,
) {
    let rules = Ix::new(&m.rules);
    let generators = Gx::new(&m.generators);
    let mut metadata: Vec<(String, Y)> = Vec::new();
    let mut names: Vec<&String> = m
        .metadata
        .keys()
        .filter(|k| !(k.as_str() == "subject" && m.metadata[*k].as_str() == subject))
        .collect();
    names.sort_by_key(|k| k.to_ascii_lowercase());
    for name in names {
        let value = &m.metadata[name];
        let values: Vec<Value> = match value {
            Value::Array(items) if items.iter().all(Value::is_string) => items.clone(),
            other => vec![other.clone()],
        };
        metadata.push((
            key_str(name),
            named_value(
                &values,
                Category::Metadata,
                name,
                &rules,
                &generators,
                false,
            ),
        ));
    }
    if !metadata.is_empty() {
        entries.push(("headers".into(), Y::Map(metadata, Style::Data)));
    }
    let mut payload = Vec::new();
    if let Some(schema) = schema {
        payload.push(("schema".into(), schema_entry(schema)));
    }
    let mut part = Vec::new();
    body(&m.contents, &rules, &generators, &mut part);
    for (_, y) in part {
        let key = match &m.contents {
            Body::Text { .. } => "text",
            Body::Binary { .. } => "binary",
            _ => "example",
        };
        payload.push((key.into(), y));
    }
    if let Body::Text {
        content_type: Some(ct),
        ..
    } = &m.contents
    {
        payload.push(("contentType".into(), scalar_str(ct)));
    }
    if !payload.is_empty() {
        entries.push(("payload".into(), Y::Map(payload, Style::Block)));
    }
    leftovers(&rules, &generators, entries);
}

/// `schema: FILE` with a comment summarising it, or an inline schema in full.
fn schema_entry(schema: &PayloadSchema) -> Y {
    let summary = SchemaSummary::of(&schema.document);
    let mut words = Vec::new();
    if let Some(draft) = summary.draft {
        words.push(format!("JSON Schema draft {};", draft.name()));
    }
    if summary.required.is_empty() {
        words.push("requires no property".to_string());
    } else {
        words.push("requires".to_string());
        let count = summary.required.len();
        for (i, (name, ty)) in summary.required.iter().enumerate() {
            let sep = if i + 1 < count { "," } else { "" };
            words.push(match ty {
                Some(ty) => format!("{name} ({ty}){sep}"),
                None => format!("{name}{sep}"),
            });
        }
    }
    let comment = wrap(&words, WIDTH - 10);
    let value = if schema.reference == "inline" {
        plain(&schema.document)
    } else {
        scalar_str(&schema.reference)
    };
    Y::Commented(Box::new(value), comment)
}

fn wrap(words: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
            line.push_str("  ");
        }
        if !line.is_empty() && !line.ends_with("  ") {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        lines.push(line);
    }
    lines
}

/// Headers, query parameters: names sorted (headers in lower case), values or matchers.
fn named_values(
    values: &BTreeMap<String, Vec<String>>,
    category: Category,
    rules: &Ix,
    generators: &Gx,
    fold_case: bool,
) -> Y {
    let mut names: Vec<&String> = values.keys().collect();
    names.sort_by_key(|k| {
        if fold_case {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        }
    });
    Y::Map(
        names
            .into_iter()
            .map(|name| {
                let shown = if fold_case {
                    name.to_ascii_lowercase()
                } else {
                    name.clone()
                };
                let vals: Vec<Value> = values[name].iter().cloned().map(Value::String).collect();
                (
                    key_str(&shown),
                    named_value(&vals, category, name, rules, generators, fold_case),
                )
            })
            .collect(),
        Style::Data,
    )
}

fn named_value(
    values: &[Value],
    category: Category,
    name: &str,
    rules: &Ix,
    generators: &Gx,
    fold_case: bool,
) -> Y {
    let example = if values.len() == 1 {
        plain(&values[0])
    } else {
        Y::Seq(values.iter().map(plain).collect(), Style::Data)
    };
    let Some(list) = rules.take_named(category, name, fold_case) else {
        return example;
    };
    let generator = generators.take_named(category, name, fold_case);
    let mut y = if list.rules.len() == 1 && list.logic == RuleLogic::And {
        let (kind, mut params) = rule_parts(&list.rules[0]);
        params.insert(0, ("$match".into(), Y::Scalar(kind.into())));
        params.push(("example".into(), example));
        Y::Map(params, Style::Matcher)
    } else {
        combined(list, Some(example))
    };
    add_from_state(&mut y, generator);
    y
}

fn add_from_state(y: &mut Y, generator: Option<&Value>) {
    let Some(expression) = generator.and_then(provider_state_expression) else {
        return;
    };
    if let Y::Map(entries, _) = y {
        entries.push(("fromState".into(), scalar_str(expression)));
    }
}

fn provider_state_expression(generator: &Value) -> Option<&str> {
    if generator.get("type")?.as_str()? == "ProviderState" {
        generator.get("expression")?.as_str()
    } else {
        None
    }
}

/// A body with its rules shown inline.
fn template(value: &Value, tokens: &mut Vec<Tok>, rules: &Ix, gens: &Gx, category: Category) -> Y {
    if let Some(list) = rules.take_path(category, tokens) {
        let generator = gens.take_path(category, tokens);
        let mut y = matcher(list, value, tokens, rules, gens, category);
        add_from_state(&mut y, generator);
        return y;
    }
    children(value, tokens, rules, gens, category, CONCRETE)
}

#[derive(Clone, Copy)]
struct Mode {
    arrays: bool,
    objects: bool,
}

const CONCRETE: Mode = Mode {
    arrays: false,
    objects: false,
};

/// Must agree with the loader: where a matcher speaks of every element, its example's
/// children are at `[*]`/`.*`.
fn mode(rules: &[MatchingRule]) -> Mode {
    let mut mode = CONCRETE;
    for rule in rules {
        match rule {
            MatchingRule::Type
            | MatchingRule::MinType(_)
            | MatchingRule::MaxType(_)
            | MatchingRule::MinMaxType(..) => mode.arrays = true,
            MatchingRule::Values | MatchingRule::EachKey(_) | MatchingRule::EachValue(_) => {
                mode.arrays = true;
                mode.objects = true;
            }
            _ => {}
        }
    }
    mode
}

fn children(
    value: &Value,
    tokens: &mut Vec<Tok>,
    rules: &Ix,
    gens: &Gx,
    category: Category,
    mode: Mode,
) -> Y {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Y::Map(
                keys.into_iter()
                    .map(|k| {
                        tokens.push(if mode.objects {
                            Tok::AnyField
                        } else {
                            Tok::Field(k.clone())
                        });
                        let y = template(&map[k], tokens, rules, gens, category);
                        tokens.pop();
                        (key_str(k), y)
                    })
                    .collect(),
                Style::Data,
            )
        }
        Value::Array(items) => Y::Seq(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    tokens.push(if mode.arrays {
                        Tok::AnyIndex
                    } else {
                        Tok::Index(i)
                    });
                    let y = template(item, tokens, rules, gens, category);
                    tokens.pop();
                    y
                })
                .collect(),
            Style::Data,
        ),
        other => plain(other),
    }
}

/// A value with rules: the inline matcher.
fn matcher(
    list: &RuleList,
    value: &Value,
    tokens: &mut Vec<Tok>,
    rules: &Ix,
    gens: &Gx,
    category: Category,
) -> Y {
    if list.rules.len() != 1 || list.logic == RuleLogic::Or {
        let example = children(value, tokens, rules, gens, category, mode(&list.rules));
        return combined(list, Some(example));
    }
    let rule = &list.rules[0];
    match rule {
        MatchingRule::MinType(min) | MatchingRule::MinMaxType(min, _)
            if value
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|e| *e == a[0])) =>
        {
            let element = &value.as_array().expect("checked")[0];
            let mut entries = vec![("$match".to_string(), Y::Scalar("eachLike".into()))];
            if *min != 1 {
                entries.push(("min".into(), Y::Scalar(min.to_string())));
            }
            if let MatchingRule::MinMaxType(_, max) = rule {
                entries.push(("max".into(), Y::Scalar(max.to_string())));
            }
            tokens.push(Tok::AnyIndex);
            let example = template(element, tokens, rules, gens, category);
            tokens.pop();
            entries.push(("example".into(), example));
            Y::Map(entries, Style::Matcher)
        }
        MatchingRule::ArrayContains(variants) => {
            let items = value.as_array().cloned().unwrap_or_default();
            let mut sorted: Vec<_> = variants.iter().collect();
            sorted.sort_by_key(|v| v.index);
            let shown: Vec<Y> = sorted
                .iter()
                .map(|v| {
                    let element = items.get(v.index).cloned().unwrap_or(Value::Null);
                    let inner_rules = MatchingRules {
                        categories: BTreeMap::from([(category, v.rules.clone())]),
                    };
                    let inner_gens = Generators {
                        categories: BTreeMap::from([(
                            category.pact_name().to_string(),
                            Value::Object(v.generators.clone().into_iter().collect()),
                        )]),
                    };
                    let ix = Ix::new(&inner_rules);
                    let gx = Gx::new(&inner_gens);
                    let mut inner_tokens = Vec::new();
                    let mut y = template(&element, &mut inner_tokens, &ix, &gx, category);
                    let mut rest = Vec::new();
                    leftovers(&ix, &gx, &mut rest);
                    if !rest.is_empty() {
                        y = Y::Commented(
                            Box::new(y),
                            vec!["this variant has rules not shown inline:".into()]
                                .into_iter()
                                .chain(rest.iter().map(|(k, v)| format!("  {k}: {}", flat(v))))
                                .collect(),
                        );
                    }
                    y
                })
                .collect();
            let mut entries = vec![
                ("$match".to_string(), Y::Scalar("arrayContains".into())),
                ("variants".to_string(), Y::Seq(shown, Style::Data)),
            ];
            let derived =
                sorted.iter().enumerate().all(|(i, v)| v.index == i) && items.len() == sorted.len();
            if !derived {
                entries.push(("example".into(), plain(value)));
            }
            Y::Map(entries, Style::Matcher)
        }
        other => {
            let (kind, mut params) = rule_parts(other);
            params.insert(0, ("$match".into(), Y::Scalar(kind.into())));
            if !(matches!(other, MatchingRule::Null) && value.is_null()) {
                let example = children(value, tokens, rules, gens, category, mode(&list.rules));
                params.push(("example".into(), example));
            }
            Y::Map(params, Style::Matcher)
        }
    }
}

/// Several rules at one value: `{$match: and|or, rules: [...], example: …}`.
fn combined(list: &RuleList, example: Option<Y>) -> Y {
    let kind = if list.logic == RuleLogic::Or {
        "or"
    } else {
        "and"
    };
    let mut entries = vec![
        ("$match".to_string(), Y::Scalar(kind.into())),
        (
            "rules".to_string(),
            Y::Seq(list.rules.iter().map(rule_only).collect(), Style::Data),
        ),
    ];
    if let Some(example) = example {
        entries.push(("example".into(), example));
    }
    Y::Map(entries, Style::Matcher)
}

/// A rule without an example (inside `rules:`).
fn rule_only(rule: &MatchingRule) -> Y {
    let (kind, mut params) = rule_parts(rule);
    params.insert(0, ("$match".into(), Y::Scalar(kind.into())));
    Y::Map(params, Style::Matcher)
}

/// A rule's matcher name and parameters (without `$match` and `example`).
fn rule_parts(rule: &MatchingRule) -> (&'static str, Vec<(String, Y)>) {
    let n = |v: usize| Y::Scalar(v.to_string());
    match rule {
        MatchingRule::Equality => ("equality", vec![]),
        MatchingRule::Regex(p) => ("regex", vec![("pattern".into(), scalar_str(p))]),
        MatchingRule::Type => ("type", vec![]),
        MatchingRule::MinType(min) => ("type", vec![("min".into(), n(*min))]),
        MatchingRule::MaxType(max) => ("type", vec![("max".into(), n(*max))]),
        MatchingRule::MinMaxType(min, max) => (
            "type",
            vec![("min".into(), n(*min)), ("max".into(), n(*max))],
        ),
        MatchingRule::Number => ("number", vec![]),
        MatchingRule::Integer => ("integer", vec![]),
        MatchingRule::Decimal => ("decimal", vec![]),
        MatchingRule::Boolean => ("boolean", vec![]),
        MatchingRule::Null => ("null", vec![]),
        MatchingRule::Include(v) => ("include", vec![("value".into(), scalar_str(v))]),
        MatchingRule::Date(f) => ("date", format_param(f)),
        MatchingRule::Time(f) => ("time", format_param(f)),
        MatchingRule::Timestamp(f) => ("timestamp", format_param(f)),
        MatchingRule::ContentType(v) => ("contentType", vec![("value".into(), scalar_str(v))]),
        MatchingRule::Values => ("values", vec![]),
        MatchingRule::NotEmpty => ("notEmpty", vec![]),
        MatchingRule::Semver => ("semver", vec![]),
        MatchingRule::StatusCode(StatusClass::Codes(codes)) => (
            "statusCode",
            vec![(
                "codes".into(),
                Y::Seq(
                    codes.iter().map(|c| Y::Scalar(c.to_string())).collect(),
                    Style::Data,
                ),
            )],
        ),
        MatchingRule::StatusCode(class) => (
            "statusCode",
            vec![(
                "class".into(),
                scalar_str(&crate::format::class_name(class)),
            )],
        ),
        MatchingRule::ArrayContains(variants) => (
            "arrayContains",
            vec![(
                "variants".into(),
                Y::Seq(
                    variants
                        .iter()
                        .map(|v| {
                            let rules: serde_json::Map<String, Value> = v
                                .rules
                                .iter()
                                .map(|(p, l)| (p.clone(), Value::String(flat(&rule_list_y(l)))))
                                .collect();
                            Y::Map(
                                vec![
                                    ("index".into(), Y::Scalar(v.index.to_string())),
                                    ("rules".into(), plain(&Value::Object(rules))),
                                ],
                                Style::Data,
                            )
                        })
                        .collect(),
                    Style::Data,
                ),
            )],
        ),
        MatchingRule::EachKey(rules) => (
            "eachKey",
            vec![(
                "rules".into(),
                Y::Seq(rules.iter().map(rule_only).collect(), Style::Data),
            )],
        ),
        MatchingRule::EachValue(rules) => (
            "eachValue",
            vec![(
                "rules".into(),
                Y::Seq(rules.iter().map(rule_only).collect(), Style::Data),
            )],
        ),
    }
}

fn format_param(format: &str) -> Vec<(String, Y)> {
    if format.is_empty() {
        Vec::new()
    } else {
        vec![("format".into(), scalar_str(format))]
    }
}

fn rule_list_y(list: &RuleList) -> Y {
    if list.rules.len() == 1 && list.logic == RuleLogic::And {
        rule_only(&list.rules[0])
    } else {
        combined(list, None)
    }
}

/// Rules and generators no value took, under `rules:` and `generators:`.
fn leftovers(rules: &Ix, generators: &Gx, part: &mut Vec<(String, Y)>) {
    let mut by_category: BTreeMap<Category, Vec<(String, Y)>> = BTreeMap::new();
    for (category, path, list) in rules.unused() {
        by_category
            .entry(category)
            .or_default()
            .push((key_str(path), rule_list_y(list)));
    }
    if !by_category.is_empty() {
        let entries = by_category
            .into_iter()
            .map(|(category, mut items)| {
                items.sort_by(|a, b| a.0.cmp(&b.0));
                (
                    category.pact_name().to_string(),
                    Y::Map(items, Style::Block),
                )
            })
            .collect();
        part.push(("rules".into(), Y::Map(entries, Style::Block)));
    }
    let unused = generators.unused();
    if !unused.is_empty() {
        part.push(("generators".into(), plain(&Value::Object(unused))));
    }
}

/// Matching rules by category and parsed path, remembering which were shown.
struct Ix<'a> {
    entries: Vec<IxEntry<'a>>,
    /// Entries by category and parsed path.
    by_path: std::collections::HashMap<(Category, Vec<Tok>), usize>,
}

struct IxEntry<'a> {
    category: Category,
    raw: &'a str,
    tokens: Option<Vec<Tok>>,
    list: &'a RuleList,
    used: Cell<bool>,
}

impl<'a> Ix<'a> {
    fn new(rules: &'a MatchingRules) -> Ix<'a> {
        let mut entries = Vec::new();
        for (category, paths) in &rules.categories {
            for (raw, list) in paths {
                if list.rules.is_empty() {
                    continue;
                }
                let tokens = match category {
                    Category::Body => path::parse(raw).or_else(|| {
                        // Some writers omit `$`: `a.b` means `$.a.b`.
                        path::parse(&format!("$.{raw}"))
                    }),
                    _ => None,
                };
                entries.push(IxEntry {
                    category: *category,
                    raw,
                    tokens,
                    list,
                    used: Cell::new(false),
                });
            }
        }
        let mut by_path = std::collections::HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if let Some(tokens) = &e.tokens {
                by_path.entry((e.category, tokens.clone())).or_insert(i);
            }
        }
        Ix { entries, by_path }
    }

    fn take_path(&self, category: Category, tokens: &[Tok]) -> Option<&'a RuleList> {
        if self.by_path.is_empty() {
            return None;
        }
        let entry = &self.entries[*self.by_path.get(&(category, tokens.to_vec()))?];
        entry.used.set(true);
        Some(entry.list)
    }

    /// The rules of a header, query parameter, metadata entry (by name), or of the path or
    /// status (`""`; `$` is read the same).
    fn take_named(&self, category: Category, name: &str, fold_case: bool) -> Option<&'a RuleList> {
        let matches = |raw: &str| {
            let raw = if name.is_empty() && raw == "$" {
                ""
            } else {
                raw
            };
            let bare = raw
                .strip_prefix("$.")
                .filter(|_| !name.is_empty())
                .unwrap_or(raw);
            if fold_case {
                raw.eq_ignore_ascii_case(name) || bare.eq_ignore_ascii_case(name)
            } else {
                raw == name || bare == name
            }
        };
        let entry = self
            .entries
            .iter()
            .find(|e| e.category == category && matches(e.raw))?;
        entry.used.set(true);
        Some(entry.list)
    }

    fn unused(&self) -> impl Iterator<Item = (Category, &'a str, &'a RuleList)> + '_ {
        self.entries
            .iter()
            .filter(|e| !e.used.get())
            .map(|e| (e.category, e.raw, e.list))
    }
}

/// Generators by category, remembering which were shown.
struct Gx<'a> {
    entries: Vec<GxEntry<'a>>,
}

struct GxEntry<'a> {
    category: String,
    /// The path or name; `None` for a category's single generator (path).
    key: Option<&'a str>,
    tokens: Option<Vec<Tok>>,
    value: &'a Value,
    used: Cell<bool>,
}

impl<'a> Gx<'a> {
    fn new(generators: &'a Generators) -> Gx<'a> {
        let mut entries = Vec::new();
        for (category, value) in &generators.categories {
            let single = value.get("type").is_some_and(Value::is_string);
            match value {
                Value::Object(map) if !single => {
                    for (key, generator) in map {
                        entries.push(GxEntry {
                            category: category.clone(),
                            key: Some(key),
                            tokens: path::parse(key),
                            value: generator,
                            used: Cell::new(false),
                        });
                    }
                }
                other => entries.push(GxEntry {
                    category: category.clone(),
                    key: None,
                    tokens: None,
                    value: other,
                    used: Cell::new(false),
                }),
            }
        }
        Gx { entries }
    }

    fn take_path(&self, category: Category, tokens: &[Tok]) -> Option<&'a Value> {
        let entry = self.entries.iter().find(|e| {
            Category::from_pact_name(&e.category) == Some(category)
                && e.tokens.as_deref() == Some(tokens)
        })?;
        provider_state_expression(entry.value)?;
        entry.used.set(true);
        Some(entry.value)
    }

    fn take_named(&self, category: Category, name: &str, fold_case: bool) -> Option<&'a Value> {
        let entry = self.entries.iter().find(|e| {
            Category::from_pact_name(&e.category) == Some(category)
                && match e.key {
                    None => name.is_empty(),
                    Some(k) if fold_case => k.eq_ignore_ascii_case(name),
                    Some(k) => k == name,
                }
        })?;
        provider_state_expression(entry.value)?;
        entry.used.set(true);
        Some(entry.value)
    }

    fn unused(&self) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        for e in self.entries.iter().filter(|e| !e.used.get()) {
            match e.key {
                None => {
                    out.insert(e.category.clone(), e.value.clone());
                }
                Some(key) => {
                    let slot = out
                        .entry(e.category.clone())
                        .or_insert_with(|| Value::Object(serde_json::Map::new()));
                    if let Value::Object(map) = slot {
                        map.insert(key.to_string(), e.value.clone());
                    }
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// A small YAML writer: block style for structure, flow style where a value is short.

/// A value to write.
enum Y {
    /// Already formatted (quoted if need be).
    Scalar(String),
    Map(Vec<(String, Y)>, Style),
    Seq(Vec<Y>, Style),
    /// A value followed by comment lines (written after its entry).
    Commented(Box<Y>, Vec<String>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Always one entry per line (interactions, requests, responses).
    Block,
    /// Flow style (`{a: 1, b: x}`) when every child is a single value and it fits.
    Data,
    /// A matcher: flow style whenever it fits.
    Matcher,
}

/// A string as a YAML scalar.
fn scalar_str(s: &str) -> Y {
    Y::Scalar(quote(s))
}

fn key_str(s: &str) -> String {
    quote(s)
}

/// A JSON value written as it is (no rules).
fn plain(value: &Value) -> Y {
    match value {
        Value::Null => Y::Scalar("null".into()),
        Value::Bool(b) => Y::Scalar(b.to_string()),
        Value::Number(n) => Y::Scalar(n.to_string()),
        Value::String(s) => scalar_str(s),
        Value::Array(items) => Y::Seq(items.iter().map(plain).collect(), Style::Data),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Y::Map(
                keys.into_iter()
                    .map(|k| (key_str(k), plain(&map[k])))
                    .collect(),
                Style::Data,
            )
        }
    }
}

/// Plain when YAML reads it back as the same string, double-quoted (JSON escapes) otherwise.
fn quote(s: &str) -> String {
    if plain_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if first.is_whitespace()
        || s.ends_with(char::is_whitespace)
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.chars()
            .any(|c| c.is_control() || ",[]{}".contains(c) || c == '\u{feff}')
    {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | "<<"
    ) {
        return false;
    }
    // Anything that might read as a number (or .inf/.nan) is quoted.
    let numberish = first.is_ascii_digit()
        || ((first == '+' || first == '.') && s[1..].starts_with(|c: char| c.is_ascii_digit()))
        || lower.starts_with(".inf")
        || lower.starts_with(".nan");
    // Dates and times (2026-01-31, 10:15:30) read as strings here, but as dates or sexagesimal
    // numbers in YAML 1.1 tools: quote them for whoever else reads the text.
    if first.is_ascii_digit() && (s.contains(':') || s.contains('-')) {
        return false;
    }
    if numberish {
        return matches!(
            serde_norway::from_str::<serde_norway::Value>(s),
            Ok(serde_norway::Value::String(ref back)) if back == s
        );
    }
    true
}

/// The one-line flow form of a value, if it has one.
fn flow(y: &Y) -> Option<String> {
    flow_within(y, usize::MAX)
}

/// The flow form if it is at most `room` long (stops writing as soon as it is longer).
fn flow_within(y: &Y, room: usize) -> Option<String> {
    let mut out = String::new();
    write_flow(y, room, &mut out).then_some(out)
}

fn write_flow(y: &Y, room: usize, out: &mut String) -> bool {
    match y {
        Y::Scalar(s) => out.push_str(s),
        Y::Commented(..) => return false,
        Y::Map(entries, _) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                if out.len() > room || !write_flow(v, room, out) {
                    return false;
                }
            }
            out.push('}');
        }
        Y::Seq(items, _) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if out.len() > room || !write_flow(item, room, out) {
                    return false;
                }
            }
            out.push(']');
        }
    }
    out.len() <= room
}

/// Whether a container may be written in flow style, given the room left on its line.
fn flow_if_fits(y: &Y, room: usize) -> Option<String> {
    let allowed = match y {
        Y::Map(entries, Style::Data) => entries.iter().all(|(_, v)| is_single(v)),
        Y::Seq(items, Style::Data) => items.iter().all(is_single),
        Y::Map(_, Style::Matcher) => true,
        Y::Map(entries, Style::Block) => entries.is_empty(),
        Y::Seq(items, _) => items.is_empty(),
        _ => false,
    };
    if !allowed {
        return None;
    }
    flow_within(y, room)
}

/// A scalar, an empty container or a matcher: what may stand inside a flow-style data value.
fn is_single(y: &Y) -> bool {
    match y {
        Y::Scalar(_) => true,
        Y::Map(entries, Style::Matcher) => entries.iter().all(|(_, v)| is_single(v)),
        Y::Map(entries, _) => entries.is_empty(),
        Y::Seq(items, _) => items.is_empty() || items.iter().all(|i| matches!(i, Y::Scalar(_))),
        Y::Commented(..) => false,
    }
}

fn flat(y: &Y) -> String {
    flow(y).unwrap_or_else(|| "…".into())
}

fn emit_entry(out: &mut String, indent: usize, key: &str, value: &Y) {
    let pad = " ".repeat(indent);
    let (value, comments) = match value {
        Y::Commented(inner, comments) => (inner.as_ref(), comments.as_slice()),
        other => (other, &[][..]),
    };
    let room = WIDTH.saturating_sub(indent + key.len() + 2);
    match value {
        Y::Scalar(s) => out.push_str(&format!("{pad}{key}: {s}\n")),
        container => match flow_if_fits(container, room) {
            Some(f) => out.push_str(&format!("{pad}{key}: {f}\n")),
            None => {
                out.push_str(&format!("{pad}{key}:\n"));
                emit_block(out, indent + 2, container);
            }
        },
    }
    for comment in comments {
        out.push_str(&format!("{pad}# {comment}\n"));
    }
}

/// Writes a container's contents in block style at `indent`.
fn emit_block(out: &mut String, indent: usize, y: &Y) {
    match y {
        Y::Map(entries, _) => {
            for (k, v) in entries {
                emit_entry(out, indent, k, v);
            }
        }
        Y::Seq(items, _) => {
            for item in items {
                emit_item(out, indent, item);
            }
        }
        Y::Scalar(s) => out.push_str(&format!("{}{s}\n", " ".repeat(indent))),
        Y::Commented(inner, comments) => {
            emit_block(out, indent, inner);
            for comment in comments {
                out.push_str(&format!("{}# {comment}\n", " ".repeat(indent)));
            }
        }
    }
}

/// Writes one list element (`- …`) at `indent`.
fn emit_item(out: &mut String, indent: usize, item: &Y) {
    let pad = " ".repeat(indent);
    let (item, comments) = match item {
        Y::Commented(inner, comments) => (inner.as_ref(), comments.as_slice()),
        other => (other, &[][..]),
    };
    let room = WIDTH.saturating_sub(indent + 2);
    match item {
        Y::Scalar(s) => out.push_str(&format!("{pad}- {s}\n")),
        container => {
            if let Some(f) = flow_if_fits(container, room) {
                out.push_str(&format!("{pad}- {f}\n"));
            } else {
                match container {
                    Y::Map(entries, _) if !entries.is_empty() => {
                        // The first entry on the dash's line, the others under it.
                        let mut first = String::new();
                        emit_entry(&mut first, indent + 2, &entries[0].0, &entries[0].1);
                        out.push_str(&format!("{pad}- {}", &first[indent + 2..]));
                        for (k, v) in &entries[1..] {
                            emit_entry(out, indent + 2, k, v);
                        }
                    }
                    Y::Seq(items, _) if !items.is_empty() => {
                        out.push_str(&format!("{pad}-\n"));
                        for inner in items {
                            emit_item(out, indent + 2, inner);
                        }
                    }
                    other => out.push_str(&format!("{pad}- {}\n", flat(other))),
                }
            }
        }
    }
    for comment in comments {
        out.push_str(&format!("{pad}  # {comment}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_the_same_string() {
        for s in [
            "plain",
            "customer has funds",
            "application/json",
            "^pay_[0-9a-z]+$",
            "1999",
            "19.99",
            "1.0.0",
            "0x1f",
            "true",
            "No",
            "~",
            "",
            " lead",
            "a: b",
            "a #b",
            "-x",
            "${orderId}",
            "/orders/${orderId}",
            "multi\nline",
            "tab\there",
            "c0ffee",
            "2024-01-01",
            "10:15:30",
            "1e3",
            "+1",
            ".5",
            "o-1a2b3c4d5e6f",
            "it's",
            "\"quoted\"",
            "https://parley.dev/problems/payment-declined",
        ] {
            let text = format!("k: {}\nf: {{k: {}}}\n", quote(s), quote(s));
            let back: serde_json::Value = serde_norway::from_str(&text).expect(&text);
            assert_eq!(back["k"], Value::String(s.to_string()), "{text}");
            assert_eq!(back["f"]["k"], Value::String(s.to_string()), "{text}");
        }
    }
}
