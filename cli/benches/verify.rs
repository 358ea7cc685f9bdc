//! How fast `parley verify` is, as a user meets it: the wall time of the whole process.
//!
//! `cargo bench -p parley-cli --bench verify` (a plain binary, `harness = false`; it prints
//! figures, it does not use criterion):
//!
//! 1. **HTTP**: a Pact V4 file with 1,000 HTTP interactions (varied methods, paths, query,
//!    request bodies; a few matchers each: regex, type, integer, `min` arrays, datetime) is
//!    verified against a provider that answers static JSON on loopback (an axum server on its
//!    own runtime in this process), at `--concurrency 1` and `--concurrency 16`; min and median
//!    of several runs of the release binary. For scale: the Rust reference verifier
//!    (pact-verifier 1.4) takes about 8 s for such a file on the machine; parley's
//!    target is 30 times faster (≤ ~270 ms).
//! 2. **Events over NATS**: N event interactions with `trigger: publish` against a private
//!    nats-server and an echo (a task here that republishes each trigger message, headers and
//!    all, to the event subject): events verified per second, whole process and in-process.
//! 3. **Events through Pact's message endpoint** (`--message-url`, served here): the same.
//!
//! `PARLEY_BENCH_DIR=DIR` keeps the generated pact and contracts in DIR; `PARLEY_BENCH_BIN=FILE`
//! measures another `parley` build.
//!
//! Needs `nats-server` (PATH, `/usr/sbin` or `PARLEY_NATS_SERVER`) for part 2; without it that
//! part is skipped and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

const HTTP_INTERACTIONS: usize = 1_000;
const HTTP_RUNS: usize = 7;
const EVENTS: usize = 300;
const EVENT_RUNS: usize = 3;

/// What the provider answers to every request.
fn static_body() -> Value {
    json!({
        "id": "item-42",
        "name": "widget",
        "price": 1999,
        "currency": "USD",
        "status": "active",
        "tags": ["blue", "small"],
        "createdAt": "2025-01-06T10:15:30Z",
        "owner": { "id": "u-7", "email": "owner@example.com" },
        "lines": [ { "sku": "A1", "qty": 2 }, { "sku": "B2", "qty": 1 } ]
    })
}

fn rule(matchers: Value) -> Value {
    json!({ "combine": "AND", "matchers": matchers })
}

/// One HTTP interaction of the generated pact: the shapes vary with `i`.
fn http_interaction(i: usize) -> Value {
    let (method, path) = match i % 5 {
        0 => ("GET", format!("/api/items/{i}")),
        1 => ("GET", format!("/api/orders/o-{i}/lines")),
        2 => ("POST", "/api/items".to_string()),
        3 => ("PUT", format!("/api/items/{i}")),
        _ => ("GET", format!("/api/customers/c-{i}/items")),
    };
    let mut request =
        json!({ "method": method, "path": path, "headers": { "Accept": ["application/json"] } });
    if i % 5 == 4 {
        request["query"] = json!({ "page": [(i % 7).to_string()], "size": ["20"] });
    }
    if method != "GET" {
        request["headers"]["Content-Type"] = json!(["application/json"]);
        request["body"] = json!({
            "content": { "name": format!("widget {i}"), "price": 1000 + i, "tags": ["blue"] },
            "contentType": "application/json",
            "encoded": false
        });
    }
    // The consumer's expectation: its own example values, matchers that make the provider's
    // (different) values acceptable, and a few fields compared by equality.
    let mut body = json!({
        "id": format!("item-{i}"),
        "name": format!("thing {i}"),
        "price": 100 + i,
        "status": "active",
        "tags": ["red"],
    });
    let mut rules = serde_json::Map::new();
    rules.insert(
        "$.id".into(),
        rule(json!([{ "match": "regex", "regex": "^item-[0-9]+$" }])),
    );
    rules.insert("$.name".into(), rule(json!([{ "match": "type" }])));
    rules.insert("$.price".into(), rule(json!([{ "match": "integer" }])));
    rules.insert(
        "$.tags".into(),
        rule(json!([{ "match": "type", "min": 1 }])),
    );
    match i % 3 {
        0 => {
            body["createdAt"] = json!("2024-12-31T23:59:59Z");
            rules.insert(
                "$.createdAt".into(),
                rule(json!([{ "match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ssXXX" }])),
            );
        }
        1 => {
            body["owner"] = json!({ "id": "u-1", "email": "someone@example.org" });
            rules.insert("$.owner.id".into(), rule(json!([{ "match": "type" }])));
            rules.insert(
                "$.owner.email".into(),
                rule(json!([{ "match": "regex", "regex": "^[^@]+@[^@]+$" }])),
            );
        }
        _ => {
            body["lines"] = json!([{ "sku": "Z9", "qty": 5 }]);
            rules.insert(
                "$.lines".into(),
                rule(json!([{ "match": "type", "min": 1 }])),
            );
            rules.insert("$.lines[*].sku".into(), rule(json!([{ "match": "type" }])));
            rules.insert(
                "$.lines[*].qty".into(),
                rule(json!([{ "match": "integer" }])),
            );
        }
    }
    json!({
        "type": "Synchronous/HTTP",
        "description": format!("interaction {i}: {method} {path}"),
        "pending": false,
        "request": request,
        "response": {
            "status": 200,
            "headers": { "Content-Type": ["application/json"] },
            "body": { "content": body, "contentType": "application/json", "encoded": false },
            "matchingRules": { "body": Value::Object(rules) }
        }
    })
}

fn write_http_pact(dir: &Path) -> PathBuf {
    let pact = json!({
        "consumer": { "name": "bench-consumer" },
        "provider": { "name": "bench-provider" },
        "interactions": (0..HTTP_INTERACTIONS).map(http_interaction).collect::<Vec<_>>(),
        "metadata": { "pactSpecification": { "version": "4.0" } }
    });
    let path = dir.join("bench-consumer-bench-provider.json");
    std::fs::write(&path, serde_json::to_string_pretty(&pact).expect("JSON"))
        .expect("write the pact");
    path
}

/// The same event payload for the trigger, the echo and the contract's example.
fn event_payload(i: usize) -> Value {
    json!({ "orderId": format!("o-{i}"), "total": 1000 + i, "items": [ { "sku": "A1", "qty": 2 } ] })
}

/// A parley contract with `EVENTS` events, each triggered by a NATS publish.
fn write_events_contract(dir: &Path) -> PathBuf {
    let mut yaml = String::from("consumer: bench-consumer\nprovider: bench-provider\nevents:\n");
    for i in 0..EVENTS {
        yaml.push_str(&format!(
            "  - description: event {i}\n    subject: bench.event.{i}\n    trigger: {{ publish: {{ subject: bench.trigger.{i}, payload: {} }} }}\n    payload:\n      example:\n        orderId: {{ $match: regex, pattern: \"^o-[0-9]+$\", example: o-1 }}\n        total: {{ $match: integer, example: 1 }}\n        items: {{ $match: eachLike, example: {{ sku: {{ $match: type, example: X }}, qty: {{ $match: integer, example: 1 }} }} }}\n",
            event_payload(i)
        ));
    }
    let path = dir.join("events.yaml");
    std::fs::write(&path, yaml).expect("write the events contract");
    path
}

/// A Pact V4 file with `EVENTS` asynchronous messages, for the message endpoint.
fn write_message_pact(dir: &Path) -> PathBuf {
    let messages: Vec<Value> = (0..EVENTS)
        .map(|i| {
            json!({
                "type": "Asynchronous/Messages",
                "description": format!("message {i}"),
                "pending": false,
                "contents": { "content": event_payload(i), "contentType": "application/json", "encoded": false },
                "metadata": { "contentType": "application/json" },
                "matchingRules": { "body": {
                    "$.orderId": rule(json!([{ "match": "regex", "regex": "^o-[0-9]+$" }])),
                    "$.total": rule(json!([{ "match": "integer" }]))
                } }
            })
        })
        .collect();
    let pact = json!({
        "consumer": { "name": "bench-consumer" },
        "provider": { "name": "bench-provider" },
        "interactions": messages,
        "metadata": { "pactSpecification": { "version": "4.0" } }
    });
    let path = dir.join("messages.json");
    std::fs::write(&path, serde_json::to_string_pretty(&pact).expect("JSON")).expect("write");
    path
}

/// The provider: static JSON for every request; Pact's message endpoint at `/_messages`.
fn start_provider(rt: &tokio::runtime::Runtime) -> String {
    let body = serde_json::to_vec(&static_body()).expect("JSON");
    let app = axum::Router::new()
        .route(
            "/_messages",
            axum::routing::post(|axum::Json(request): axum::Json<Value>| async move {
                let description = request["description"].as_str().unwrap_or_default();
                let i: usize = description
                    .strip_prefix("message ")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_default();
                (
                    [
                        ("content-type", "application/json"),
                        // base64 of {"contentType":"application/json"}
                        (
                            "pact-message-metadata",
                            "eyJjb250ZW50VHlwZSI6ImFwcGxpY2F0aW9uL2pzb24ifQ==",
                        ),
                    ],
                    event_payload(i).to_string(),
                )
            }),
        )
        .fallback(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        });
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    })
}

/// The binary measured: this build's release `parley`, or `PARLEY_BENCH_BIN` (to compare
/// builds).
fn parley_bin() -> PathBuf {
    std::env::var_os("PARLEY_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_parley")))
}

/// One whole `parley verify` process: its wall time, and the duration it reports itself.
fn run_verify(args: &[String]) -> (Duration, Duration) {
    let started = Instant::now();
    let output = Command::new(parley_bin())
        .arg("verify")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .expect("run parley");
    let wall = started.elapsed();
    assert!(
        output.status.success(),
        "parley verify {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
            .chars()
            .take(3000)
            .collect::<String>(),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("--format json");
    let inner = Duration::from_millis(report["duration"].as_u64().unwrap_or_default());
    (wall, inner)
}

fn stats(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    (times[0], times[times.len() / 2], times[times.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists; nothing to list.
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // PARLEY_BENCH_DIR keeps the generated files (to profile a run by hand).
    let temp = tempfile::tempdir().expect("temp dir");
    let kept = std::env::var_os("PARLEY_BENCH_DIR").map(PathBuf::from);
    let dir = kept.as_deref().unwrap_or(temp.path());
    std::fs::create_dir_all(dir).expect("the bench folder");
    let base = start_provider(&rt);
    println!("parley verify benchmark ({})", parley_bin().display());
    println!(
        "machine: {} CPU(s); provider: static JSON from axum on loopback, in the bench process",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. HTTP.
    let pact = write_http_pact(dir);
    println!(
        "\nHTTP: {HTTP_INTERACTIONS} interactions of one Pact V4 file ({} KiB), {HTTP_RUNS} runs each (after one warm-up)",
        std::fs::metadata(&pact).map_or(0, |m| m.len() / 1024)
    );
    for concurrency in [1usize, 16] {
        let args: Vec<String> = [
            "--provider",
            "bench-provider",
            "--base-url",
            &base,
            "--concurrency",
            &concurrency.to_string(),
            "--format",
            "json",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([pact.display().to_string()])
        .collect();
        run_verify(&args);
        let (walls, inners): (Vec<_>, Vec<_>) = (0..HTTP_RUNS).map(|_| run_verify(&args)).unzip();
        let (min, median, max) = stats(walls);
        let (imin, imedian, _) = stats(inners);
        println!(
            "  --concurrency {concurrency:>2}: whole process min {} median {} max {} \
             (verification as reported: min {} median {}); {:.0} interactions/s at the median",
            ms(min),
            ms(median),
            ms(max),
            ms(imin),
            ms(imedian),
            HTTP_INTERACTIONS as f64 / median.as_secs_f64()
        );
    }

    // 2. Events over NATS.
    println!("\nEvents: {EVENTS} event interactions per run, {EVENT_RUNS} runs");
    match parley_harness::nats::NatsServer::start() {
        Err(e) => println!("  over NATS: skipped ({e})"),
        Ok(nats) => {
            let url = nats.url();
            rt.block_on(async {
                let client = async_nats::connect(&url).await.expect("connect to NATS");
                let mut triggers = client
                    .subscribe("bench.trigger.*")
                    .await
                    .expect("subscribe");
                client.flush().await.expect("flush");
                tokio::spawn(async move {
                    while let Some(m) = triggers.next().await {
                        let suffix = m.subject.rsplit('.').next().unwrap_or_default().to_string();
                        let subject = format!("bench.event.{suffix}");
                        let headers = m.headers.clone().unwrap_or_default();
                        let _ = client
                            .publish_with_headers(subject, headers, m.payload)
                            .await;
                    }
                });
            });
            let contract = write_events_contract(dir);
            let args: Vec<String> = [
                "--provider",
                "bench-provider",
                "--nats-url",
                &url,
                "--format",
                "json",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain([contract.display().to_string()])
            .collect();
            events_figures("over NATS (trigger: publish, echo)", &args);
        }
    }

    // 3. Events through Pact's message endpoint.
    let messages = write_message_pact(dir);
    let endpoint = format!("{base}/_messages");
    let args: Vec<String> = [
        "--provider",
        "bench-provider",
        "--message-url",
        &endpoint,
        "--format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([messages.display().to_string()])
    .collect();
    events_figures("through Pact's message endpoint (--message-url)", &args);
}

fn events_figures(what: &str, args: &[String]) {
    run_verify(args);
    let (walls, inners): (Vec<_>, Vec<_>) = (0..EVENT_RUNS).map(|_| run_verify(args)).unzip();
    let (_, median, _) = stats(walls);
    let (_, imedian, _) = stats(inners);
    println!(
        "  {what}: {:.0} events/s whole process (median {}), {:.0} events/s as reported by the \
         verification itself (median {})",
        EVENTS as f64 / median.as_secs_f64(),
        ms(median),
        EVENTS as f64 / imedian.as_secs_f64().max(1e-9),
        ms(imedian)
    );
}
