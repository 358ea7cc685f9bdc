//! Rendering HTTP interactions: the request and the response with their parts, and the status
//! (a code, or a class of codes).

use serde_json::Value;

use crate::model::{Category, HttpInteraction, RuleLogic};

use super::common;
use super::index::{Gx, Ix};
use super::matchers::{combined, leftovers, rule_parts};
use super::values::{body, named_value, named_values};
use super::yaml::{Style, Y, scalar_str};

pub(super) fn http_interaction(i: &HttpInteraction) -> Y {
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
