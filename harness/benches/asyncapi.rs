//! AsyncAPI import throughput (criterion): 1,000 generated AsyncAPI 3 documents, each about the
//! size of the social-media example's backend (a few channels and operations, messages,
//! schemas, parameters and correlation IDs behind local `$ref`s, some `x-parley-*`
//! extensions), imported (a) from a folder through `lint::inputs::load`, reading, recognising,
//! importing, merging and validating, and (b) from strings in memory through the importer alone.
//! A one-line summary (documents/s, MB/s) is printed first, from a few timed runs.
//!
//! `cargo bench -p parley-harness --bench asyncapi`; `PARLEY_BENCH_DOCS` (1,000) sets the
//! number of documents. Without `--bench` (as `cargo test --benches` runs it) 20 documents run
//! once as a smoke test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use parley_harness::lint::{self, Document, Registry};

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

const DOMAINS: [&str; 8] = [
    "orders", "payments", "shipping", "users", "catalog", "billing", "reviews", "stock",
];
const EVENTS: [&str; 6] = [
    "created", "updated", "deleted", "failed", "approved", "shipped",
];
const FIELDS: [(&str, &str); 8] = [
    ("id", "type: string\n          format: uuid"),
    ("amount", "type: number\n          minimum: 0"),
    ("currency", "type: string\n          enum: [EUR, USD, GBP]"),
    ("customerId", "type: string"),
    ("quantity", "type: integer\n          minimum: 1"),
    ("reason", "type: string\n          maxLength: 200"),
    (
        "sku",
        "type: string\n          pattern: '^[A-Z]{3}-[0-9]{4}$'",
    ),
    ("note", "type: string"),
];

/// The address of subject `k` of the shared pool: some with a parameter.
fn address(k: u64) -> String {
    let d = DOMAINS[(k % 8) as usize];
    let e = EVENTS[((k / 8) % 6) as usize];
    if k.is_multiple_of(3) {
        format!("{d}.{{region}}.{e}.v{}", k / 48)
    } else {
        format!("{d}.{e}.v{}", k / 48)
    }
}

/// One application's document.
fn document(i: usize, rng: &mut Rng) -> String {
    let pool = 400;
    let channels = 2 + rng.below(4) as usize;
    let mut s = String::new();
    let _ = writeln!(s, "asyncapi: 3.0.0");
    if i.is_multiple_of(2) {
        let _ = writeln!(s, "x-parley-service: app-{i:04}");
    }
    let _ = write!(
        s,
        "info:\n  title: Generated Application {i:04}\n  version: 1.{}.0\n  description: >-\n    Application {i} of the benchmark: it sends some events and receives others,\n    with messages, schemas and parameters behind local references.\n",
        rng.below(10)
    );
    let _ = write!(
        s,
        "servers:\n  production:\n    host: broker.example.com:4222\n    protocol: nats\n    description: The production broker\n"
    );
    s.push_str("channels:\n");
    let mut subjects = Vec::new();
    for c in 0..channels {
        let k = rng.below(pool);
        subjects.push(k);
        let addr = address(k);
        let _ = write!(
            s,
            "  ch{c}:\n    address: '{addr}'\n    description: Channel {c} of application {i}.\n    messages:\n      msg{c}:\n        $ref: '#/components/messages/Message{c}'\n"
        );
        if addr.contains('{') {
            s.push_str(
                "    parameters:\n      region:\n        $ref: '#/components/parameters/region'\n",
            );
        }
    }
    s.push_str("operations:\n");
    for c in 0..channels {
        let send = rng.below(2) == 0;
        let (verb, action) = if send {
            ("send", "send")
        } else {
            ("on", "receive")
        };
        let _ = write!(
            s,
            "  {verb}Channel{c}:\n    action: {action}\n    summary: Operation {c} of application {i}.\n    channel:\n      $ref: '#/channels/ch{c}'\n    messages:\n      - $ref: '#/channels/ch{c}/messages/msg{c}'\n"
        );
        if !send {
            match rng.below(4) {
                0 => {}
                1 => s.push_str("    x-parley-max-deliver: 5\n    x-parley-dlq: dlq.generated\n"),
                2 => s.push_str(
                    "    x-parley-durable: true\n    x-parley-idempotency-key: id\n    x-parley-ack: explicit\n",
                ),
                _ => s.push_str("    x-parley-max-deliver: unbounded\n    x-parley-dlq: none\n"),
            }
        }
    }
    s.push_str("components:\n  messages:\n");
    for c in 0..channels {
        let _ = write!(
            s,
            "    Message{c}:\n      name: message{c}\n      title: Message {c}\n      contentType: application/json\n      correlationId:\n        $ref: '#/components/correlationIds/byHeader'\n      payload:\n        $ref: '#/components/schemas/Payload{c}'\n"
        );
    }
    s.push_str("  schemas:\n");
    for c in 0..channels {
        let _ = write!(
            s,
            "    Payload{c}:\n      type: object\n      required: [id]\n      properties:\n        at:\n          $ref: '#/components/schemas/Timestamp'\n"
        );
        for f in 0..2 + rng.below(3) as usize {
            let (name, schema) = FIELDS[(c + f) % FIELDS.len()];
            let _ = write!(s, "        {name}:\n          {schema}\n");
        }
    }
    s.push_str(
        "    Timestamp:\n      type: string\n      format: date-time\n      description: When it happened (RFC 3339).\n  parameters:\n    region:\n      description: The region the event belongs to.\n      enum: [eu, us, ap]\n  correlationIds:\n    byHeader:\n      description: The request's correlation ID.\n      location: '$message.header#/x-correlation-id'\n",
    );
    s
}

/// Writes `n` documents into `dir`, one folder per application; returns them.
fn generate(dir: &Path, n: usize) -> Vec<(PathBuf, String)> {
    let mut rng = Rng::seeded();
    (0..n)
        .map(|i| {
            let text = document(i, &mut rng);
            let folder = dir.join(format!("app-{i:04}"));
            std::fs::create_dir_all(&folder).expect("create the application's folder");
            let path = folder.join("asyncapi.yaml");
            std::fs::write(&path, &text).expect("write the document");
            (path, text)
        })
        .collect()
}

fn load_folder(dir: &Path) -> usize {
    let loaded = lint::inputs::load(&[dir.to_path_buf()], &Registry::standard())
        .expect("the generated documents load");
    loaded.graph.services.len()
}

fn import_strings(docs: &[(PathBuf, String)]) -> usize {
    let mut consumers = 0;
    for (path, text) in docs {
        let g = lint::asyncapi::import(&Document::new(path, text)).expect("imports");
        consumers += g.consumers.len();
    }
    consumers
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n = if bench {
        std::env::var("PARLEY_BENCH_DOCS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000)
    } else {
        20
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let docs = generate(tmp.path(), n);
    let bytes: usize = docs.iter().map(|(_, t)| t.len()).sum();
    assert_eq!(load_folder(tmp.path()), n, "one service per document");

    let runs = if bench { 5 } else { 1 };
    let folder = best_of(runs, || {
        std::hint::black_box(load_folder(tmp.path()));
    });
    let strings = best_of(runs, || {
        std::hint::black_box(import_strings(&docs));
    });
    let rate = |d: Duration| {
        (
            n as f64 / d.as_secs_f64(),
            bytes as f64 / 1e6 / d.as_secs_f64(),
        )
    };
    let (fd, fm) = rate(folder);
    let (sd, sm) = rate(strings);
    println!(
        "asyncapi: {n} documents, {:.2} MB (avg {:.1} KB): folder load {:.1} ms = {fd:.0} docs/s, {fm:.1} MB/s; from strings {:.1} ms = {sd:.0} docs/s, {sm:.1} MB/s (best of {runs})",
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / n as f64,
        folder.as_secs_f64() * 1e3,
        strings.as_secs_f64() * 1e3,
    );

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let mut group = c.benchmark_group("asyncapi");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(format!("load_folder/{n}"), |b| {
        b.iter(|| load_folder(tmp.path()))
    });
    group.bench_function(format!("import_strings/{n}"), |b| {
        b.iter(|| import_strings(&docs))
    });
    group.finish();
    c.final_summary();
}
