//! Bodies in Pact's two layouts: V1–V3 write the body as a JSON value (its type from the
//! `Content-Type` header); V4 writes `{"content": …, "contentType": …, "encoded": false|"base64"}`.

use base64::Engine;
use serde_json::Value;

use crate::model::{Body, Headers};
use crate::pact::PactError;

/// Is this content type JSON (`application/json`, `application/*+json`, `text/json`)?
pub fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence == "text/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The `Content-Type` header's value, if the headers have one.
pub fn content_type_of(headers: Option<&Headers>) -> Option<String> {
    headers?
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, values)| values.first().cloned())
}

/// A V1–V3 body: absent → `Missing`; `null` → `Null`; `""` → `Empty`; a string with a
/// non-JSON content type → text; anything else → JSON.
pub fn from_v3(value: Option<&Value>, content_type: Option<&str>) -> Body {
    let content_type = content_type.map(str::to_string);
    match value {
        None => Body::Missing,
        Some(Value::Null) => Body::Null,
        Some(Value::String(s)) if s.is_empty() => Body::Empty,
        Some(Value::String(s)) if content_type.as_deref().is_some_and(|t| !is_json_type(t)) => {
            Body::Text {
                text: s.clone(),
                content_type,
            }
        }
        Some(v) => Body::Json {
            value: v.clone(),
            content_type,
        },
    }
}

/// A body as V1–V3 write it (`None`: leave the key out).
pub fn to_v3(body: &Body) -> Option<Value> {
    match body {
        Body::Missing => None,
        Body::Null => Some(Value::Null),
        Body::Empty => Some(Value::String(String::new())),
        Body::Json { value, .. } => Some(value.clone()),
        Body::Text { text, .. } => Some(Value::String(text.clone())),
        Body::Binary { bytes, .. } => Some(Value::String(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )),
    }
}

/// A V4 body object. `at` is where it is, for errors.
pub fn from_v4(
    value: Option<&Value>,
    header_type: Option<&str>,
    at: &str,
) -> Result<Body, PactError> {
    let object = match value {
        None => return Ok(Body::Missing),
        Some(Value::Null) => return Ok(Body::Null),
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(PactError::invalid(
                at,
                format!(
                    "a V4 body is an object {{content, contentType, encoded}}, found {}",
                    kind(other)
                ),
            ));
        }
    };
    let content_type = object
        .get("contentType")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| header_type.map(str::to_string));
    let encoded = match object.get("encoded") {
        None | Some(Value::Bool(false)) | Some(Value::Null) => None,
        Some(Value::Bool(true)) => Some("base64".to_string()),
        Some(Value::String(e)) => Some(e.to_ascii_lowercase()),
        Some(other) => {
            return Err(PactError::invalid(
                format!("{at}.encoded"),
                format!("expected false or an encoding name, found {}", kind(other)),
            ));
        }
    };
    let Some(content) = object.get("content") else {
        return Ok(Body::Missing);
    };
    match encoded.as_deref() {
        None => Ok(match content {
            Value::String(s) if s.is_empty() => Body::Empty,
            Value::String(s) if !content_type.as_deref().is_some_and(is_json_type) => Body::Text {
                text: s.clone(),
                content_type,
            },
            Value::String(s) if content_type.as_deref().is_some_and(is_json_type) => {
                // A JSON body written as a string: parse it if it is a document.
                match serde_json::from_str::<Value>(s) {
                    Ok(value) => Body::Json {
                        value,
                        content_type,
                    },
                    Err(_) => Body::Json {
                        value: Value::String(s.clone()),
                        content_type,
                    },
                }
            }
            Value::Null => Body::Null,
            v => Body::Json {
                value: v.clone(),
                content_type,
            },
        }),
        Some("base64") => {
            let text = content.as_str().ok_or_else(|| {
                PactError::invalid(format!("{at}.content"), "base64 content must be a string")
            })?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| {
                    PactError::invalid(format!("{at}.content"), format!("invalid base64: {e}"))
                })?;
            if content_type.as_deref().is_some_and(is_json_type)
                && let Ok(value) = serde_json::from_slice::<Value>(&bytes)
            {
                return Ok(Body::Json {
                    value,
                    content_type,
                });
            }
            match String::from_utf8(bytes) {
                Ok(text) if content_type.as_deref().is_some_and(is_textual) => {
                    Ok(Body::Text { text, content_type })
                }
                Ok(text) => Ok(Body::Binary {
                    bytes: text.into_bytes(),
                    content_type,
                }),
                Err(e) => Ok(Body::Binary {
                    bytes: e.into_bytes(),
                    content_type,
                }),
            }
        }
        Some("json") => Ok(Body::Json {
            value: content.clone(),
            content_type,
        }),
        Some(other) => Err(PactError::invalid(
            format!("{at}.encoded"),
            format!("unknown body encoding {other:?} (expected false or \"base64\")"),
        )),
    }
}

/// A body as V4 writes it (`None`: leave the key out).
pub fn to_v4(body: &Body) -> Option<Value> {
    let object = |content: Value, content_type: Option<&str>, encoded: Value| {
        let mut o = serde_json::Map::new();
        o.insert("content".into(), content);
        if let Some(t) = content_type {
            o.insert("contentType".into(), Value::String(t.to_string()));
        }
        o.insert("encoded".into(), encoded);
        Value::Object(o)
    };
    match body {
        Body::Missing => None,
        Body::Null => Some(Value::Null),
        Body::Empty => Some(object(
            Value::String(String::new()),
            None,
            Value::Bool(false),
        )),
        Body::Json {
            value,
            content_type,
        } => Some(object(
            value.clone(),
            Some(content_type.as_deref().unwrap_or("application/json")),
            Value::Bool(false),
        )),
        Body::Text { text, content_type } => Some(object(
            Value::String(text.clone()),
            Some(content_type.as_deref().unwrap_or("text/plain")),
            Value::Bool(false),
        )),
        Body::Binary {
            bytes,
            content_type,
        } => Some(object(
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
            Some(
                content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
            ),
            Value::String("base64".into()),
        )),
    }
}

/// Text-like content types, kept as text rather than bytes.
pub fn is_textual(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/xml" | "application/x-www-form-urlencoded" | "application/javascript"
        )
}

/// A JSON value's kind, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v3_bodies_take_their_kind_from_the_content_type() {
        assert_eq!(from_v3(None, None), Body::Missing);
        assert_eq!(from_v3(Some(&json!(null)), None), Body::Null);
        assert_eq!(
            from_v3(Some(&json!("")), Some("application/json")),
            Body::Empty
        );
        assert!(matches!(
            from_v3(Some(&json!("<a/>")), Some("application/xml")),
            Body::Text { .. }
        ));
        assert!(matches!(
            from_v3(Some(&json!({"a": 1})), None),
            Body::Json { .. }
        ));
    }

    #[test]
    fn v4_bodies_round_trip() {
        for body in [
            Body::Json {
                value: json!({"a": [1, 2]}),
                content_type: Some("application/json".into()),
            },
            Body::Text {
                text: "hi".into(),
                content_type: Some("text/plain".into()),
            },
            Body::Binary {
                bytes: vec![0, 159, 146, 150],
                content_type: Some("application/octet-stream".into()),
            },
            Body::Empty,
            Body::Null,
        ] {
            let written = to_v4(&body);
            let read = from_v4(written.as_ref(), None, "body").expect("reads back");
            assert_eq!(read, body);
        }
    }

    #[test]
    fn bad_v4_bodies_say_where() {
        let err = from_v4(Some(&json!("text")), None, "interactions[0].request.body")
            .expect_err("not an object");
        assert!(
            err.to_string().contains("interactions[0].request.body"),
            "{err}"
        );
        let err = from_v4(
            Some(&json!({"content": "!!", "encoded": "base64"})),
            None,
            "b",
        )
        .expect_err("bad base64");
        assert!(err.to_string().contains("b.content"), "{err}");
    }
}
