//! The Backstage importer on catalogs written here: calls through provided and consumed APIs
//! (across the files of a folder), shared datastores, events APIs, and references to entities
//! no file describes.

use std::path::Path;

use parley_harness::lint::graph::{Fact, ServiceKind};
use parley_harness::lint::{self, Config, Registry};

const ORDERS: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  description: Takes orders
spec:
  type: service
  owner: team-a
  providesApis: [order-events]
  consumesApis: ['api:default/payments-api']
  dependsOn: ['resource:shop-db', 'component:legacy-billing']
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: order-events
spec:
  type: asyncapi
  owner: team-a
  lifecycle: production
  definition: |
    asyncapi: 3.0.0
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: shop-db
spec:
  type: database
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-a
";

const PAYMENTS: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
spec:
  type: service
  owner: team-b
  providesApis: [payments-api]
  dependsOn: [resource:shop-db]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments-api
spec:
  type: openapi
  owner: team-b
  lifecycle: production
  definition: 'openapi: 3.0.0'
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shipping
spec:
  type: service
  owner: team-b
  consumesApis: [order-events]
";

fn catalog(dir: &Path) {
    std::fs::write(dir.join("orders.yaml"), ORDERS).expect("write");
    std::fs::write(dir.join("payments.yaml"), PAYMENTS).expect("write");
}

#[test]
fn a_catalog_becomes_calls_subjects_and_datastores() {
    let tmp = tempfile::tempdir().expect("temp dir");
    catalog(tmp.path());
    let loaded =
        lint::inputs::load(&[tmp.path().to_path_buf()], &Registry::standard()).expect("loads");
    let g = &loaded.graph;
    let names: Vec<&str> = g.services.keys().map(String::as_str).collect();
    assert_eq!(names, ["legacy-billing", "orders", "payments", "shipping"]);
    let calls: Vec<String> = g.calls.iter().map(|c| c.label()).collect();
    assert_eq!(calls, ["orders → payments", "orders → legacy-billing"]);
    assert!(g.calls.iter().all(|c| c.timeout_ms == Fact::Unknown));
    let call = &g.calls[0];
    let at = call.origin.primary().expect("located");
    assert!(at.file.ends_with("orders.yaml") && at.line == 10, "{at:?}");
    let events = &g.subjects["order-events"];
    assert_eq!(events.producers[0].service, "orders");
    assert_eq!(g.consumers.len(), 1);
    assert_eq!(
        (
            g.consumers[0].service.as_str(),
            g.consumers[0].subject.as_str()
        ),
        ("shipping", "order-events")
    );
    assert_eq!(g.consumers[0].max_deliver, Fact::Unknown);
    let db = &g.datastores["shop-db"];
    assert_eq!(db.kind.as_deref(), Some("database"));
    let users: Vec<&str> = db.services().iter().map(|u| u.service.as_str()).collect();
    assert_eq!(users, ["orders", "payments"]);
    // The undescribed component is a service with nothing known.
    let legacy = &g.services["legacy-billing"];
    assert_eq!(legacy.kind, ServiceKind::Service);
    assert_eq!(legacy.public, Fact::Unknown);

    // The findings: the shared database, and nothing about unknown settings.
    let report = lint::lint_paths(&[tmp.path().to_path_buf()], &Config::default()).expect("lints");
    let found: Vec<(&str, &str)> = report
        .active()
        .map(|f| (f.rule_id, f.element.as_str()))
        .collect();
    assert_eq!(found, [("PL012", "shop-db")], "{:#?}", report.findings);
}

#[test]
fn one_file_alone_finds_providers_in_its_folder_and_stays_valid() {
    let tmp = tempfile::tempdir().expect("temp dir");
    catalog(tmp.path());
    let loaded = lint::inputs::load(&[tmp.path().join("orders.yaml")], &Registry::standard())
        .expect("one file loads: what it names is there");
    let g = &loaded.graph;
    assert!(g.calls.iter().any(|c| c.to == "payments"), "{:?}", g.calls);
    assert!(g.services.contains_key("payments"));
    // Without the provider's file, the consumed API adds nothing.
    std::fs::remove_file(tmp.path().join("payments.yaml")).expect("rm");
    let loaded = lint::inputs::load(&[tmp.path().join("orders.yaml")], &Registry::standard())
        .expect("loads");
    let calls: Vec<String> = loaded.graph.calls.iter().map(|c| c.label()).collect();
    assert_eq!(calls, ["orders → legacy-billing"]);
}

#[test]
fn a_placeholder_merges_with_the_real_description() {
    let tmp = tempfile::tempdir().expect("temp dir");
    catalog(tmp.path());
    let arch = tmp.path().join("zz-architecture.yaml");
    std::fs::write(
        &arch,
        "parley: architecture/v1\nservices:\n  legacy-billing:\n    kind: external\n    public: true\n",
    )
    .expect("write");
    let loaded =
        lint::inputs::load(&[tmp.path().to_path_buf()], &Registry::standard()).expect("loads");
    let legacy = &loaded.graph.services["legacy-billing"];
    assert_eq!(legacy.kind, ServiceKind::External);
    assert_eq!(legacy.public, Fact::Known(true));
}
