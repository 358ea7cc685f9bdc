//! The importer on documents written here: 2.x against 3.x, extensions, references.

use std::path::Path;

use super::*;
use crate::lint::graph::Ack;

fn import_str(text: &str) -> Result<ServiceGraph, LintError> {
    import(&Document::new(Path::new("mem/asyncapi.yaml"), text))
}

/// The graph without locations: what it says, not where.
fn summary(g: &ServiceGraph) -> Vec<String> {
    let mut out = Vec::new();
    for s in g.services.values() {
        out.push(format!(
            "service {} {:?} {:?}",
            s.name, s.kind, s.propagates_correlation_id
        ));
    }
    for s in g.subjects.values() {
        let p: Vec<&str> = s.producers.iter().map(|p| p.service.as_str()).collect();
        out.push(format!("subject {} by {p:?}", s.name));
    }
    for c in &g.consumers {
        out.push(format!(
            "consumer {} on {} {:?} {:?} {:?} {:?} {:?}",
            c.service, c.subject, c.durable, c.max_deliver, c.dlq, c.idempotency_key, c.ack
        ));
    }
    out.sort();
    out
}

const V2: &str = r#"
asyncapi: 2.6.0
info:
  title: Account Service
  version: 1.0.0
channels:
  user/{userId}/signedup:
    publish:
      operationId: onUserSignedUp
      x-parley-max-deliver: 5
      x-parley-dlq: dlq.user.signedup
      x-parley-idempotency-key: userId
      message:
        $ref: '#/components/messages/UserSignedUp'
  account/{accountId}/created:
    subscribe:
      message:
        $ref: '#/components/messages/AccountCreated'
components:
  messages:
    UserSignedUp:
      payload: {type: object}
    AccountCreated:
      payload: {type: object}
"#;

const V3: &str = r#"
asyncapi: 3.0.0
info:
  title: Account Service
  version: 1.0.0
channels:
  userSignedUp:
    address: user/{id}/signedup
    messages:
      UserSignedUp:
        $ref: '#/components/messages/UserSignedUp'
  accountCreated:
    address: account/{accountId}/created
    messages:
      AccountCreated:
        $ref: '#/components/messages/AccountCreated'
operations:
  onUserSignedUp:
    action: receive
    channel:
      $ref: '#/channels/userSignedUp'
    x-parley-max-deliver: 5
    x-parley-dlq: dlq.user.signedup
    x-parley-idempotency-key: userId
  sendAccountCreated:
    action: send
    channel:
      $ref: '#/channels/accountCreated'
components:
  messages:
    UserSignedUp:
      payload: {type: object}
    AccountCreated:
      payload: {type: object}
"#;

#[test]
fn a_2_6_document_and_its_3_0_equivalent_give_the_same_graph() {
    let v2 = import_str(V2).expect("2.6 imports");
    let v3 = import_str(V3).expect("3.0 imports");
    assert_eq!(summary(&v2), summary(&v3));
    // And that graph is the inversion: 2.x `publish` is the application receiving.
    assert_eq!(v2.consumers.len(), 1);
    assert_eq!(v2.consumers[0].subject, "user/*/signedup");
    assert_eq!(v2.consumers[0].max_deliver, Fact::Known(Some(5)));
    assert_eq!(v2.consumers[0].ack, Fact::Unknown);
    assert_eq!(
        v2.subjects["account/*/created"].producers[0].service,
        "account-service"
    );
    // A 2.6 document read as if `publish` meant sending would differ.
    let swapped = V2
        .replace("publish:", "PUB:")
        .replace("subscribe:", "publish:")
        .replace("PUB:", "subscribe:");
    let wrong = import_str(&swapped).expect("imports");
    assert_ne!(summary(&wrong), summary(&v3));
}

#[test]
fn the_same_document_as_json_gives_the_same_graph() {
    let value: Value = serde_norway::from_str(V3).expect("YAML");
    let json = serde_json::to_string_pretty(&value).expect("JSON");
    let doc = Document::new(Path::new("mem/asyncapi.json"), &json);
    assert!(AsyncApi.sniff(&doc));
    let g = import(&doc).expect("JSON imports");
    assert_eq!(summary(&g), summary(&import_str(V3).expect("imports")));
    let located = g.consumers[0].origin.primary().expect("located");
    assert!(located.line > 1, "{located:?}");
}

#[test]
fn extensions_make_facts_and_their_absence_leaves_them_unknown() {
    let g = import_str(V3).expect("imports");
    let c = &g.consumers[0];
    assert_eq!(c.dlq, Fact::Known(Some("dlq.user.signedup".into())));
    assert_eq!(c.idempotency_key, Fact::Known(Some("userId".into())));
    assert_eq!(c.durable, Fact::Unknown);
    let at = c.origin.field("max_deliver").expect("located");
    assert_eq!((at.line, at.column), (22, 5));
    let all = V3.replace(
        "    x-parley-idempotency-key: userId\n",
        "    x-parley-idempotency-key: none\n    x-parley-durable: true\n    x-parley-ack: none\n",
    )
    .replace("x-parley-max-deliver: 5", "x-parley-max-deliver: unbounded")
    .replace("x-parley-dlq: dlq.user.signedup", "x-parley-dlq: none");
    let g = import_str(&all).expect("imports");
    let c = &g.consumers[0];
    assert_eq!(c.max_deliver, Fact::Known(None));
    assert_eq!(c.dlq, Fact::Known(None));
    assert_eq!(c.idempotency_key, Fact::Known(None));
    assert_eq!(c.durable, Fact::Known(Some("onUserSignedUp".into())));
    assert_eq!(c.ack, Fact::Known(Ack::None));
    // On the channel, when the operation says nothing.
    let on_channel = V3.replace(
        "    address: user/{id}/signedup\n",
        "    address: user/{id}/signedup\n    x-parley-ack: all\n",
    );
    let g = import_str(&on_channel).expect("imports");
    assert_eq!(g.consumers[0].ack, Fact::Known(Ack::All));
    // A DLQ that is the consumed subject is an error.
    let e = import_str(&V3.replace("dlq.user.signedup", "user/{x}/signedup")).unwrap_err();
    assert!(e.message.contains("consumed subject itself"), "{e}");
}

#[test]
fn the_service_name_and_correlation() {
    let named = V3.replacen("info:", "x-parley-service: accounts\ninfo:", 1);
    let g = import_str(&named).expect("imports");
    assert!(
        g.services.contains_key("accounts"),
        "{:?}",
        g.services.keys()
    );
    assert_eq!(
        g.services["accounts"].propagates_correlation_id,
        Fact::Unknown
    );
    let says = V3.replacen(
        "info:",
        "x-parley-propagates-correlation-id: false\ninfo:",
        1,
    );
    let g = import_str(&says).expect("imports");
    assert_eq!(
        g.services["account-service"].propagates_correlation_id,
        Fact::Known(false)
    );
    let e = import_str(&V3.replace("  title: Account Service\n", "")).unwrap_err();
    assert!(e.message.contains("x-parley-service"), "{e}");
}

#[test]
fn pointer_escapes_and_replies() {
    let text = r#"
asyncapi: 3.0.0
info: {title: Escapes, version: '1'}
channels:
  a/b~c:
    address: orders.{region}.created
  replies:
    address: orders.reply
operations:
  ask:
    action: send
    channel:
      $ref: '#/channels/a~1b~0c'
    reply:
      channel:
        $ref: '#/channels/replies'
"#;
    let g = import_str(text).expect("imports");
    assert_eq!(
        summary(&g),
        [
            "consumer escapes on orders.reply Unknown Unknown Unknown Unknown Unknown",
            "service escapes Service Unknown",
            "subject orders.*.created by [\"escapes\"]",
        ]
    );
}

#[test]
fn wrong_shapes_never_panic_and_are_located() {
    let cases = [
        ("asyncapi: 3.0.0\ninfo: {title: x}\noperations: [1]\n", 3),
        (
            "asyncapi: 3.0.0\ninfo: {title: x}\noperations:\n  o: 3\n",
            4,
        ),
        (
            "asyncapi: 3.0.0\ninfo: {title: x}\noperations:\n  o: {action: send}\n",
            4,
        ),
        (
            "asyncapi: 3.0.0\ninfo: {title: x}\noperations:\n  o: {action: send, channel: {$ref: 7}}\n",
            4,
        ),
        (
            "asyncapi: 3.0.0\ninfo: {title: x}\nchannels:\n  c: {address: [1]}\n",
            4,
        ),
        (
            "asyncapi: 2.6.0\ninfo: {title: x}\nchannels:\n  c: {publish: []}\n",
            4,
        ),
        (
            "asyncapi: 2.6.0\ninfo: {title: x}\nchannels:\n  c: [1]\n",
            4,
        ),
        ("asyncapi: true\n", 1),
        ("- asyncapi: 3.0.0\n", 1),
        (
            "asyncapi: 3.0.0\ninfo: {title: x}\nchannels:\n  c: {$ref: 'https://example.com/c.yaml'}\n",
            4,
        ),
        (
            "asyncapi: 3.0.0\ninfo: {title: x}\nchannels:\n  c: {$ref: '#/channels/c'}\n",
            4,
        ),
    ];
    for (text, line) in cases {
        let e = import_str(text).expect_err(text);
        assert_eq!(e.kind, ErrorKind::Invalid, "{text}: {e}");
        assert_eq!(e.line, Some(line), "{text}: {e}");
    }
}

#[test]
fn names_and_subjects() {
    assert_eq!(slug("Website Backend"), "website-backend");
    assert_eq!(
        slug("  Correlation ID Example!! "),
        "correlation-id-example"
    );
    assert_eq!(slug("Ünïcode"), "n-code");
    assert_eq!(
        subject_name("comment/{commentId}/changed"),
        "comment/*/changed"
    );
    assert_eq!(subject_name("orders.{region}.created"), "orders.*.created");
    assert_eq!(subject_name("plain"), "plain");
}
