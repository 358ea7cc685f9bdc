//! Compatibility of two JSON Schemas for event payloads, in the sense schema registries use:
//!
//! - **backward**: the new schema accepts every payload the old one accepted (consumers on
//!   the new schema read what producers on the old one wrote);
//! - **forward**: the old schema accepts every payload the new one accepts;
//! - **full**: both.
//!
//! Deciding "accepts everything the other accepts" is done structurally over the keywords
//! payload schemas use (`type`, `properties`, `required`, `additionalProperties`, `items`,
//! `enum`/`const`, bounds, `pattern`, `format`, local `$ref`, `anyOf`/`oneOf`/`allOf`).
//! What cannot be proven is reported as not compatible, with the reason.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compatibility {
    Full,
    Backward,
    Forward,
    None,
}

impl Compatibility {
    pub fn name(self) -> &'static str {
        match self {
            Compatibility::Full => "fully compatible",
            Compatibility::Backward => "backward compatible only",
            Compatibility::Forward => "forward compatible only",
            Compatibility::None => "incompatible",
        }
    }
}

/// The verdict on two schemas, with why each direction fails.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaComparison {
    pub compatibility: Compatibility,
    /// Why the new schema may reject an old payload.
    pub backward_problems: Vec<String>,
    /// Why the old schema may reject a new payload.
    pub forward_problems: Vec<String>,
}

pub fn compare_schemas(old: &Value, new: &Value) -> SchemaComparison {
    let mut backward_problems = Vec::new();
    Subset::new(old, new).check(old, new, "$", &mut backward_problems, 0);
    let mut forward_problems = Vec::new();
    Subset::new(new, old).check(new, old, "$", &mut forward_problems, 0);
    let compatibility = match (backward_problems.is_empty(), forward_problems.is_empty()) {
        (true, true) => Compatibility::Full,
        (true, false) => Compatibility::Backward,
        (false, true) => Compatibility::Forward,
        (false, false) => Compatibility::None,
    };
    SchemaComparison {
        compatibility,
        backward_problems,
        forward_problems,
    }
}

const MAX_DEPTH: usize = 64;

/// Proves `narrow ⊆ wide`: every instance valid under `narrow` is valid under `wide`.
struct Subset<'a> {
    narrow_root: &'a Value,
    wide_root: &'a Value,
}

impl<'a> Subset<'a> {
    fn new(narrow_root: &'a Value, wide_root: &'a Value) -> Self {
        Subset {
            narrow_root,
            wide_root,
        }
    }

    fn check(
        &self,
        narrow: &'a Value,
        wide: &'a Value,
        at: &str,
        problems: &mut Vec<String>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            problems.push(format!(
                "{at}: nested too deeply (or recursively) to compare"
            ));
            return;
        }
        let narrow = resolve(self.narrow_root, narrow);
        let wide = resolve(self.wide_root, wide);
        // Boolean schemas.
        match (narrow, wide) {
            (_, Value::Bool(true)) | (Value::Bool(false), _) => return,
            (_, Value::Object(w)) if w.is_empty() => return,
            (_, Value::Bool(false)) => {
                problems.push(format!("{at}: now accepts nothing"));
                return;
            }
            _ => {}
        }
        let (Some(n), Some(w)) = (as_object(narrow), as_object(wide)) else {
            problems.push(format!("{at}: not a schema"));
            return;
        };
        if n == w {
            return;
        }
        // Combinators.
        if let Some(branches) = w
            .get("anyOf")
            .or_else(|| w.get("oneOf"))
            .and_then(Value::as_array)
        {
            if let Some(nb) = n
                .get("anyOf")
                .or_else(|| n.get("oneOf"))
                .and_then(Value::as_array)
            {
                for (i, b) in nb.iter().enumerate() {
                    if !branches.iter().any(|wb| self.fits(b, wb, depth)) {
                        problems.push(format!(
                            "{at}: alternative {i} is accepted by no alternative of the other"
                        ));
                    }
                }
            } else if !branches.iter().any(|wb| self.fits(narrow, wb, depth)) {
                problems.push(format!("{at}: fits none of the alternatives"));
            }
            return;
        }
        if let Some(all) = w.get("allOf").and_then(Value::as_array) {
            for (i, part) in all.iter().enumerate() {
                self.check(
                    narrow,
                    part,
                    &format!("{at}/allOf/{i}"),
                    problems,
                    depth + 1,
                );
            }
            return;
        }
        if n.contains_key("anyOf") || n.contains_key("oneOf") || n.contains_key("allOf") {
            problems.push(format!(
                "{at}: cannot compare a combined schema with a plain one"
            ));
            return;
        }
        self.check_type(n, w, at, problems);
        self.check_enum(n, w, at, problems);
        self.check_object(n, w, at, problems, depth);
        self.check_array(n, w, at, problems, depth);
        self.check_bounds(n, w, at, problems);
        for key in [
            "pattern",
            "format",
            "multipleOf",
            "contentEncoding",
            "contentMediaType",
        ] {
            if let Some(wv) = w.get(key)
                && n.get(key) != Some(wv)
            {
                problems.push(format!(
                    "{at}: {key} {} where there was {}",
                    wv,
                    n.get(key)
                        .map(ToString::to_string)
                        .unwrap_or_else(|| "none".into())
                ));
            }
        }
    }

    fn fits(&self, narrow: &'a Value, wide: &'a Value, depth: usize) -> bool {
        let mut p = Vec::new();
        self.check(narrow, wide, "", &mut p, depth + 1);
        p.is_empty()
    }

    fn check_type(
        &self,
        n: &Map<String, Value>,
        w: &Map<String, Value>,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        let Some(wide_types) = types(w) else { return };
        match types(n) {
            None if n.get("enum").is_some() || n.get("const").is_some() => {}
            None => problems.push(format!(
                "{at}: must be {} where any type was allowed",
                join(&wide_types)
            )),
            Some(narrow_types) => {
                for t in &narrow_types {
                    let ok =
                        wide_types.contains(t) || (t == "integer" && wide_types.contains("number"));
                    if !ok {
                        problems.push(format!(
                            "{at}: {t} no longer allowed (now {})",
                            join(&wide_types)
                        ));
                    }
                }
            }
        }
    }

    fn check_enum(
        &self,
        n: &Map<String, Value>,
        w: &Map<String, Value>,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        let wide_values = enum_values(w);
        let Some(wide_values) = wide_values else {
            return;
        };
        match enum_values(n) {
            None => problems.push(format!(
                "{at}: restricted to {} value(s)",
                wide_values.len()
            )),
            Some(narrow_values) => {
                for v in narrow_values {
                    if !wide_values.contains(&v) {
                        problems.push(format!("{at}: value {v} no longer allowed"));
                    }
                }
            }
        }
    }

    fn check_object(
        &self,
        n: &'a Map<String, Value>,
        w: &'a Map<String, Value>,
        at: &str,
        problems: &mut Vec<String>,
        depth: usize,
    ) {
        let empty = Map::new();
        let n_props = n
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let w_props = w
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let n_required = required(n);
        for r in required(w) {
            if !n_required.contains(&r) {
                problems.push(format!("{at}/{r}: now required"));
            }
        }
        let n_additional = n.get("additionalProperties");
        let w_additional = w.get("additionalProperties");
        for (name, wp) in w_props {
            let path = format!("{at}/{name}");
            match n_props.get(name) {
                Some(np) => self.check(np, wp, &path, problems, depth + 1),
                None => match n_additional {
                    Some(Value::Bool(false)) => {}
                    Some(extra @ Value::Object(_)) => {
                        self.check(extra, wp, &path, problems, depth + 1)
                    }
                    _ => {
                        if !is_unconstrained(resolve(self.wide_root, wp)) {
                            problems.push(format!(
                                "{path}: now constrained where any value was allowed"
                            ));
                        }
                    }
                },
            }
        }
        for (name, np) in n_props {
            if w_props.contains_key(name) {
                continue;
            }
            let path = format!("{at}/{name}");
            match w_additional {
                Some(Value::Bool(false)) => problems.push(format!("{path}: no longer allowed")),
                Some(extra @ Value::Object(_)) => self.check(np, extra, &path, problems, depth + 1),
                _ => {}
            }
        }
        if matches!(w_additional, Some(Value::Bool(false)))
            && !matches!(n_additional, Some(Value::Bool(false)))
            && (types(n).is_none_or(|t| t.contains("object")))
        {
            problems.push(format!("{at}: other properties no longer allowed"));
        } else if let Some(wa @ Value::Object(_)) = w_additional {
            match n_additional {
                Some(Value::Bool(false)) => {}
                Some(na @ Value::Object(_)) => {
                    self.check(na, wa, &format!("{at}/*"), problems, depth + 1)
                }
                _ => problems.push(format!("{at}: other properties now constrained")),
            }
        }
    }

    fn check_array(
        &self,
        n: &'a Map<String, Value>,
        w: &'a Map<String, Value>,
        at: &str,
        problems: &mut Vec<String>,
        depth: usize,
    ) {
        if let Some(wi) = w.get("items") {
            match n.get("items") {
                Some(ni) => self.check(ni, wi, &format!("{at}[]"), problems, depth + 1),
                None if types(n).is_some_and(|t| !t.contains("array")) => {}
                None => {
                    if !is_unconstrained(resolve(self.wide_root, wi)) {
                        problems.push(format!("{at}[]: items now constrained"));
                    }
                }
            }
        }
    }

    fn check_bounds(
        &self,
        n: &Map<String, Value>,
        w: &Map<String, Value>,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        // Lower bounds: the narrow one must be at least the wide one.
        for key in [
            "minimum",
            "exclusiveMinimum",
            "minLength",
            "minItems",
            "minProperties",
        ] {
            if let Some(wv) = w.get(key).and_then(Value::as_f64) {
                match n.get(key).and_then(Value::as_f64) {
                    Some(nv) if nv >= wv => {}
                    other => problems.push(format!(
                        "{at}: {key} {wv} (was {})",
                        other
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "none".into())
                    )),
                }
            }
        }
        for key in [
            "maximum",
            "exclusiveMaximum",
            "maxLength",
            "maxItems",
            "maxProperties",
        ] {
            if let Some(wv) = w.get(key).and_then(Value::as_f64) {
                match n.get(key).and_then(Value::as_f64) {
                    Some(nv) if nv <= wv => {}
                    other => problems.push(format!(
                        "{at}: {key} {wv} (was {})",
                        other
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "none".into())
                    )),
                }
            }
        }
    }
}

/// Follows a local `$ref` (`#/$defs/x`, `#/definitions/x`); anything else is left as is.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..32 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return current;
        };
        match root.pointer(pointer) {
            Some(target) => current = target,
            None => return current,
        }
    }
    current
}

fn as_object(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

fn types(schema: &Map<String, Value>) -> Option<BTreeSet<String>> {
    match schema.get("type")? {
        Value::String(t) => Some(BTreeSet::from([t.clone()])),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}

fn enum_values(schema: &Map<String, Value>) -> Option<Vec<Value>> {
    if let Some(c) = schema.get("const") {
        return Some(vec![c.clone()]);
    }
    schema.get("enum").and_then(Value::as_array).cloned()
}

fn required(schema: &Map<String, Value>) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn is_unconstrained(schema: &Value) -> bool {
    match schema {
        Value::Bool(true) => true,
        Value::Object(o) => o.keys().all(|k| {
            matches!(
                k.as_str(),
                "description" | "title" | "$comment" | "examples" | "default"
            )
        }),
        _ => false,
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(extra: Value) -> Value {
        let mut base = json!({
            "type": "object",
            "required": ["orderId", "total"],
            "properties": {
                "orderId": {"type": "string"},
                "total": {"type": "integer", "minimum": 0}
            }
        });
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        base
    }

    #[test]
    fn identical_schemas_are_fully_compatible() {
        let s = order(json!({}));
        assert_eq!(compare_schemas(&s, &s).compatibility, Compatibility::Full);
    }

    #[test]
    fn a_new_required_field_is_forward_only() {
        let old = order(json!({}));
        let mut new = order(json!({}));
        new["required"] = json!(["orderId", "total", "currency"]);
        new["properties"]["currency"] = json!({"type": "string"});
        let c = compare_schemas(&old, &new);
        assert_eq!(c.compatibility, Compatibility::Forward, "{c:?}");
        assert!(
            c.backward_problems
                .iter()
                .any(|p| p.contains("currency") && p.contains("now required")),
            "{c:?}"
        );
    }

    #[test]
    fn a_type_change_is_incompatible() {
        let old = order(json!({}));
        let mut new = order(json!({}));
        new["properties"]["total"] = json!({"type": "string"});
        let c = compare_schemas(&old, &new);
        assert_eq!(c.compatibility, Compatibility::None, "{c:?}");
        assert!(
            c.backward_problems.iter().any(|p| p.contains("$/total")),
            "{c:?}"
        );
    }

    #[test]
    fn widening_integer_to_number_is_backward_compatible() {
        let old = order(json!({}));
        let mut new = order(json!({}));
        new["properties"]["total"] = json!({"type": "number", "minimum": 0});
        assert_eq!(
            compare_schemas(&old, &new).compatibility,
            Compatibility::Backward
        );
    }

    #[test]
    fn closing_the_content_model_is_forward_only() {
        let old = order(json!({}));
        let new = order(json!({"additionalProperties": false}));
        assert_eq!(
            compare_schemas(&old, &new).compatibility,
            Compatibility::Forward
        );
    }

    #[test]
    fn enums_and_refs() {
        let old = json!({"$defs": {"s": {"enum": ["a", "b"]}}, "type": "object", "properties": {"s": {"$ref": "#/$defs/s"}}});
        let new = json!({"$defs": {"s": {"enum": ["a", "b", "c"]}}, "type": "object", "properties": {"s": {"$ref": "#/$defs/s"}}});
        assert_eq!(
            compare_schemas(&old, &new).compatibility,
            Compatibility::Backward
        );
    }

    #[test]
    fn recursion_is_bounded() {
        let s = json!({"$ref": "#"});
        let other = json!({"type": "object", "properties": {"a": {"$ref": "#"}}});
        let _ = compare_schemas(&s, &other); // terminates
    }
}
