//! Tests for the mock's HTTP side.

use parley_contracts::matching::Part;
use parley_contracts::{HttpResponse, Interaction, InteractionCommon, MatchingRule, ProviderState};

use super::routes::percent_decode;
use super::*;

fn interaction(description: &str, accept: Option<&str>, state: &str) -> Interaction {
    let mut request = HttpRequest {
        path: "/x".into(),
        ..HttpRequest::default()
    };
    if let Some(accept) = accept {
        request.headers = Some([("accept".to_string(), vec![accept.to_string()])].into());
    }
    Interaction::Http(HttpInteraction {
        common: InteractionCommon {
            description: description.into(),
            provider_states: vec![ProviderState {
                name: state.into(),
                ..ProviderState::default()
            }],
            ..InteractionCommon::default()
        },
        request,
        response: HttpResponse::default(),
    })
}

fn shared(interactions: Vec<Interaction>) -> Shared {
    let contract = Contract {
        consumer: "c".into(),
        provider: "p".into(),
        interactions,
        ..Contract::default()
    };
    let http = contract
        .interactions
        .iter()
        .filter_map(|i| match i {
            Interaction::Http(h) => Some(HttpEntry::new(&contract, h)),
            _ => None,
        })
        .collect();
    Shared::new(http, Vec::new(), None, "http://x".into())
}

fn get(accept: Option<&str>) -> HttpRequest {
    HttpRequest {
        path: "/x".into(),
        headers: Some(
            accept
                .map(|a| [("accept".to_string(), vec![a.to_string()])].into())
                .unwrap_or_default(),
        ),
        ..HttpRequest::default()
    }
}

#[test]
fn the_most_specific_match_answers_unless_a_state_is_asked_for() {
    let mut loose = interaction("any accept", Some("text/plain"), "s1");
    if let Interaction::Http(h) = &mut loose {
        h.request.rules.add(
            parley_contracts::Category::Header,
            "accept",
            MatchingRule::Type,
        );
    }
    let shared = shared(vec![
        interaction("anything", None, "s0"),
        loose,
        interaction("json", Some("application/json"), "s2"),
    ]);
    // Stated values first, then fewer rules.
    assert_eq!(shared.choose(&get(Some("application/json")), None), Ok(2));
    assert_eq!(shared.choose(&get(Some("text/html")), None), Ok(1));
    assert_eq!(shared.choose(&get(None), None), Ok(0));
    // The state header picks among the matches; an unknown state changes nothing.
    assert_eq!(
        shared.choose(&get(Some("application/json")), Some("s0")),
        Ok(0)
    );
    assert_eq!(
        shared.choose(&get(Some("application/json")), Some("S1")),
        Ok(1)
    );
    assert_eq!(
        shared.choose(&get(Some("application/json")), Some("nope")),
        Ok(2)
    );
    // A state of an interaction that does not match is no reason to answer with it.
    assert_eq!(shared.choose(&get(None), Some("s2")), Ok(0));
    // Nothing matches: the closest, by path, then method, then the rest.
    let mut other = get(None);
    other.path = "/y".into();
    let Err(Some((_, mismatches))) = shared.choose(&other, None) else {
        panic!("no match");
    };
    assert_eq!(mismatches[0].part, Part::Path);
}

#[test]
fn decodes_paths() {
    assert_eq!(percent_decode("/a%20b/%7Ex"), "/a b/~x");
    assert_eq!(percent_decode("/100%"), "/100%");
    assert_eq!(percent_decode("/%zz"), "/%zz");
    assert_eq!(percent_decode("/%FF"), "/%FF");
}
