//! Rendering events and request/reply messages: the trigger, the contents and metadata with
//! their matchers, and a payload schema shown by reference with a summary.

use serde_json::Value;

use crate::model::{
    Body, Category, MessageContents, MessageInteraction, PayloadSchema, SyncMessageInteraction,
    Trigger,
};
use crate::schema::SchemaSummary;

use super::index::{Gx, Ix};
use super::matchers::leftovers;
use super::values::{body, named_value};
use super::yaml::{Style, Y, key_str, plain, scalar_str};
use super::{WIDTH, common, subject_of};

pub(super) fn event(i: &MessageInteraction) -> Y {
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

pub(super) fn sync_message(i: &SyncMessageInteraction) -> Y {
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
pub(super) fn message(
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
