//! Matching throughput: a ~1 MB JSON response body against a contract with 1,000 body rules
//! (an array with a `min` rule, 49 rules on every item's fields, 950 rules on single items).
//!
//! `cargo bench -p parley-contracts --bench matching` (target: at least 200 MB/s for
//! `match_response`). The throughput is in bytes of the actual body's JSON text.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

use parley_contracts::matching::match_response;
use parley_contracts::model::{
    Body, Category, HttpResponse, MatchingRule, SpecVersion, StatusClass,
};

const FIELDS: usize = 49;
const ITEM_RULES: usize = 950;

fn item(i: usize, variant: bool) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("id".into(), json!(i));
    for k in 0..FIELDS {
        let v = match k % 7 {
            0 => json!(if variant {
                format!("name {i}-{k}")
            } else {
                format!("n{k}")
            }),
            1 => json!(if variant { (i * k) as i64 } else { 1 }),
            2 => json!(if variant { i as f64 + 0.25 } else { 1.5 }),
            3 => json!(if variant { "2024-02-29" } else { "2020-01-01" }),
            4 => json!(variant),
            5 => json!(if variant {
                format!("ord-{:06}", i)
            } else {
                "ord-000001".into()
            }),
            _ => json!({"a": if variant { i } else { 0 }, "b": [1, 2, 3]}),
        };
        o.insert(format!("f{k}"), v);
    }
    Value::Object(o)
}

fn body(items: usize, variant: bool) -> Value {
    json!({
        "count": items,
        "items": (0..items).map(|i| item(i, variant)).collect::<Vec<_>>(),
    })
}

fn contract(example_items: usize) -> HttpResponse {
    let mut r = HttpResponse {
        status: 200,
        body: Body::Json {
            value: body(example_items, false),
            content_type: Some("application/json".into()),
        },
        ..HttpResponse::default()
    };
    r.rules.add(
        Category::Status,
        "",
        MatchingRule::StatusCode(StatusClass::Success),
    );
    r.rules
        .add(Category::Body, "$.items", MatchingRule::MinType(1));
    r.rules
        .add(Category::Body, "$.count", MatchingRule::Integer);
    for k in 0..FIELDS {
        let rule = match k % 7 {
            0 => MatchingRule::Type,
            1 => MatchingRule::Integer,
            2 => MatchingRule::Number,
            3 => MatchingRule::Date("yyyy-MM-dd".into()),
            4 => MatchingRule::Boolean,
            5 => MatchingRule::Regex("ord-\\d{6}".into()),
            _ => MatchingRule::Type,
        };
        r.rules
            .add(Category::Body, format!("$.items[*].f{k}"), rule);
    }
    let rules_so_far: usize = r.rules.categories[&Category::Body].len();
    for i in 0..(1000 - rules_so_far) {
        r.rules.add(
            Category::Body,
            format!("$.items[{i}].id"),
            MatchingRule::Integer,
        );
    }
    assert_eq!(r.rules.categories[&Category::Body].len(), 1000);
    r
}

fn bench(c: &mut Criterion) {
    let expected = contract(1);
    let actual_value = body(1_000, true);
    let size = actual_value.to_string().len();
    let actual = HttpResponse {
        status: 200,
        body: Body::Json {
            value: actual_value,
            content_type: Some("application/json".into()),
        },
        ..HttpResponse::default()
    };
    let mismatches = match_response(&expected, &actual, SpecVersion::V4);
    assert!(
        mismatches.is_empty(),
        "the bench body should match: {mismatches:?}"
    );
    println!(
        "actual body: {size} bytes of JSON; contract: {ITEM_RULES}+{} body rules",
        1000 - ITEM_RULES
    );
    // Profiling aid: `PARLEY_BENCH_LOOP=5 valgrind --tool=cachegrind …` runs a fixed number of
    // matches (instruction counts do not depend on the machine's load) and stops;
    // `PARLEY_BENCH_BASELINE=1` runs serde_json's equality of the two documents instead.
    if let Some(n) = std::env::var("PARLEY_BENCH_LOOP")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let baseline = std::env::var_os("PARLEY_BENCH_BASELINE").is_some();
        let copy = actual.clone();
        for _ in 0..n {
            if baseline {
                black_box(black_box(&actual.body) == black_box(&copy.body));
            } else {
                black_box(match_response(
                    black_box(&expected),
                    black_box(&actual),
                    SpecVersion::V4,
                ));
            }
        }
        std::process::exit(0);
    }
    // On a shared machine: `PARLEY_BENCH_COMPARE=200` alternates matching with serde_json's own
    // equality walk of the same two documents and prints both medians, so that load changes
    // affect both alike.
    if let Some(n) = std::env::var("PARLEY_BENCH_COMPARE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let copy = actual.clone();
        let (mut ours, mut base) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let t = std::time::Instant::now();
            black_box(match_response(
                black_box(&expected),
                black_box(&actual),
                SpecVersion::V4,
            ));
            ours.push(t.elapsed());
            let t = std::time::Instant::now();
            black_box(black_box(&actual.body) == black_box(&copy.body));
            base.push(t.elapsed());
        }
        ours.sort();
        base.sort();
        let (o, b) = (ours[n / 2], base[n / 2]);
        let mbs = |d: std::time::Duration| size as f64 / d.as_secs_f64() / 1e6;
        println!(
            "median match_response {o:?} ({:.0} MB/s); serde_json equality {b:?} ({:.0} MB/s); ratio {:.2}",
            mbs(o),
            mbs(b),
            o.as_secs_f64() / b.as_secs_f64()
        );
        std::process::exit(0);
    }

    let mut group = c.benchmark_group("match_response");
    group.throughput(Throughput::Bytes(size as u64));
    group.sample_size(30);
    group.bench_function("1MB JSON, 1000 rules", |b| {
        b.iter(|| {
            black_box(match_response(
                black_box(&expected),
                black_box(&actual),
                SpecVersion::V4,
            ))
        })
    });
    // Calibration: walking both documents with serde_json's own equality.
    let copy = actual.clone();
    group.bench_function("baseline: serde_json equality of the two documents", |b| {
        b.iter(|| black_box(black_box(&actual.body) == black_box(&copy.body)))
    });
    // The same with a mismatch in every item (the report path).
    let mut broken = actual.clone();
    if let Body::Json { value, .. } = &mut broken.body
        && let Some(items) = value.get_mut("items").and_then(Value::as_array_mut)
    {
        for item in items {
            item["f5"] = json!("not an order");
        }
    }
    group.bench_function("1MB JSON, 1000 rules, 1000 mismatches", |b| {
        b.iter(|| {
            black_box(match_response(
                black_box(&expected),
                black_box(&broken),
                SpecVersion::V4,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
