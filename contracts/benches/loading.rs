//! How fast contracts load and payloads validate.
//!
//! - `load/1000 files (folder)`: `format::load_dir` on 1,000 contract files (the 14 sample
//!   contracts, copied round-robin, with their schemas), every event's schema compiled.
//!   Target: under 200 ms.
//! - `load/1000 files (one core)`: the same files one after another on one thread
//!   (`load_file` and `CompiledSchema::compile` for every event).
//! - `schema/validate 100k payloads`: 100,000 distinct `orders.created` payloads against the
//!   compiled `order-created.json` (with its `$ref`s), on one core. Target: ≥ 500k payloads/s.
//!
//! `cargo bench -p parley-contracts --bench loading`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parley_contracts::format::{self, Document};
use parley_contracts::schema::CompiledSchema;
use parley_contracts::{Contract, Interaction};
use serde_json::{Value, json};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample-services/contracts")
}

/// A folder of `n` contract files (the samples, round-robin) with the samples' schemas.
fn contracts_folder(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let schemas = dir.path().join("schemas");
    std::fs::create_dir(&schemas).expect("schemas folder");
    for entry in std::fs::read_dir(samples().join("schemas")).expect("sample schemas") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), schemas.join(entry.file_name())).expect("copy schema");
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir(samples())
        .expect("sample contracts")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    sources.sort();
    for i in 0..n {
        let source = &sources[i % sources.len()];
        let name = format!("{i:04}-{}", source.file_name().unwrap().to_string_lossy());
        std::fs::copy(source, dir.path().join(name)).expect("copy contract");
    }
    dir
}

fn parley(document: Document) -> Option<Contract> {
    match document {
        Document::Parley(contract) => Some(contract),
        Document::Pact(_) => None,
    }
}

fn compile_all(contracts: &[Contract]) -> usize {
    let mut compiled = 0;
    for contract in contracts {
        for interaction in &contract.interactions {
            if let Interaction::Message(m) = interaction
                && let Some(schema) = &m.schema
            {
                CompiledSchema::compile(schema).expect("compiles");
                compiled += 1;
            }
        }
    }
    compiled
}

fn load_sequentially(paths: &[PathBuf]) -> Vec<Contract> {
    paths
        .iter()
        .map(|p| format::load_file(p).expect("loads"))
        .collect()
}

fn loading(c: &mut Criterion) {
    let folder = contracts_folder(1000);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();

    // The first load compiles every schema (later ones find them compiled).
    let started = Instant::now();
    let documents = format::load_dir(folder.path()).expect("loads");
    let cold = started.elapsed();
    let contracts: Vec<Contract> = documents.into_iter().filter_map(parley).collect();
    let schemas = compile_all(&contracts);
    eprintln!(
        "first load of {} files ({} interactions, {schemas} event schemas), schemas compiled cold: {cold:?}",
        contracts.len(),
        contracts
            .iter()
            .map(|c| c.interactions.len())
            .sum::<usize>(),
    );

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(paths.len() as u64));
    group.bench_function("1000 files (folder)", |b| {
        b.iter(|| {
            let documents = format::load_dir(folder.path()).expect("loads");
            let contracts: Vec<Contract> = documents.into_iter().filter_map(parley).collect();
            compile_all(&contracts)
        })
    });
    group.bench_function("1000 files (one core)", |b| {
        b.iter(|| compile_all(&load_sequentially(&paths)))
    });
    group.finish();
}

/// 100,000 distinct `orders.created` payloads, some invalid.
fn payloads(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let items: Vec<Value> = (0..1 + i % 3)
                .map(|j| {
                    let sku = ["A1", "B2", "C3"][(i + j) % 3];
                    json!({"sku": sku, "qty": 1 + (i + j) % 4})
                })
                .collect();
            let mut payload = json!({
                "orderId": format!("o-{i:012x}"),
                "customerId": format!("c-{}", i % 1000),
                "total": 999 + (i % 5000) as i64,
                "currency": "USD",
                "items": items,
            });
            if i % 2 == 0 {
                payload["address"] = json!({"country": "DE", "city": "Berlin"});
            }
            if i % 100 == 99 {
                payload["total"] = json!("19.99"); // the breaking-event defect
            }
            payload
        })
        .collect()
}

fn validating(c: &mut Criterion) {
    let file = samples().join("schemas/order-created.json");
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let schema = CompiledSchema::compile_document(&document, Some(&file)).expect("compiles");
    let payloads = payloads(100_000);
    let invalid = payloads.iter().filter(|p| !schema.is_valid(p)).count();
    assert_eq!(invalid, 1000, "every hundredth payload is invalid");

    let mut group = c.benchmark_group("schema");
    group.sample_size(10);
    group.throughput(Throughput::Elements(payloads.len() as u64));
    group.bench_function("validate 100k payloads", |b| {
        b.iter(|| {
            payloads
                .iter()
                .map(|p| schema.validate(p).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, loading, validating);
criterion_main!(benches);
