//! Benchmark of the sample services' order paths, through the gateway, with tracing export on.
//!
//! Starts a private `nats-server -js`, the embedded OTLP receiver and the six services (the
//! gateway with a rate limit high enough not to interfere), then measures:
//!
//! - the synchronous path (`POST /api/orders`): sequential requests after a warm-up, then the
//!   same number with several in flight;
//! - reading an order (`GET /api/orders/{id}`, rebuilt from its events), sequential and
//!   concurrent, over the orders just placed;
//! - the asynchronous path (`POST /api/orders/async`): orders sent with bounded concurrency,
//!   each followed until `orders.completed` names it (core NATS subscriptions, made before the
//!   first send), end to end; then stage by stage (each saga message's arrival), by span (the
//!   services' own spans of that phase, from the receiver) and by consumer outcome, so that a
//!   bottleneck shows where it is.
//!
//! `cargo bench -p parley-samples --bench order_paths` runs the full sizes; without `--bench`
//! (`cargo test --benches`) or with `--test` a tiny smoke size runs instead. Sizes (full runs
//! only): `PARLEY_BENCH_SYNC` (500), `PARLEY_BENCH_SYNC_CONCURRENCY` (16),
//! `PARLEY_BENCH_ASYNC` (1000), `PARLEY_BENCH_ASYNC_CONCURRENCY` (32), `PARLEY_BENCH_WARMUP`
//! (50), `PARLEY_BENCH_TIMEOUT_SECS` (120, the bound on waiting for async completions).

mod load;
mod report;

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use parley_harness::nats::NatsServer;
use parley_harness::otlp::{Receiver, ReceiverConfig, TraceStore};
use parley_samples::Service;
use parley_samples::stack::{Launcher, Stack, StackOptions};
use serde_json::{Value, json};

use load::*;
use report::*;

pub(crate) const TOKEN: &str = "demo-token";
/// Stock each SKU starts with in the inventory service (`INITIAL_STOCK`); async orders reserve.
pub(crate) const STOCK_PER_SKU: usize = 1000;
pub(crate) const ASYNC_SKUS: [&str; 3] = ["A1", "B2", "C3"];
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    pub(crate) smoke: bool,
    pub(crate) warmup: usize,
    pub(crate) sync: usize,
    pub(crate) sync_concurrency: usize,
    pub(crate) async_orders: usize,
    pub(crate) async_concurrency: usize,
    pub(crate) completion_timeout: Duration,
}

impl Sizes {
    pub(crate) fn from_args_and_env() -> anyhow::Result<Sizes> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let smoke = args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench");
        let sizes = if smoke {
            Sizes {
                smoke,
                warmup: 3,
                sync: 10,
                sync_concurrency: 4,
                async_orders: 10,
                async_concurrency: 4,
                completion_timeout: Duration::from_secs(60),
            }
        } else {
            Sizes {
                smoke,
                warmup: env_usize("PARLEY_BENCH_WARMUP", 50)?,
                sync: env_usize("PARLEY_BENCH_SYNC", 500)?.max(1),
                sync_concurrency: env_usize("PARLEY_BENCH_SYNC_CONCURRENCY", 16)?.max(1),
                async_orders: env_usize("PARLEY_BENCH_ASYNC", 1000)?.max(1),
                async_concurrency: env_usize("PARLEY_BENCH_ASYNC_CONCURRENCY", 32)?.max(1),
                completion_timeout: Duration::from_secs(
                    env_usize("PARLEY_BENCH_TIMEOUT_SECS", 120)?.max(1) as u64,
                ),
            }
        };
        // Async orders reserve stock (one unit each, spread over the SKUs); beyond the initial
        // stock they would be cancelled, not completed.
        let capacity = STOCK_PER_SKU * ASYNC_SKUS.len();
        if sizes.async_orders + sizes.warmup > capacity {
            bail!(
                "PARLEY_BENCH_ASYNC={} is too many: with the warm-up, async orders would exhaust \
                 the inventory's stock ({} units per SKU over {} SKUs); use at most {}",
                sizes.async_orders,
                STOCK_PER_SKU,
                ASYNC_SKUS.len(),
                capacity.saturating_sub(sizes.warmup)
            );
        }
        Ok(sizes)
    }
}

pub(crate) fn env_usize(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{name}={v:?} is not a non-negative integer")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let sizes = match Sizes::from_args_and_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match run(&sizes).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: some requests or orders failed (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Starts everything, measures, stops everything. `Ok(false)`: measured, but with failures.
pub(crate) async fn run(sizes: &Sizes) -> anyhow::Result<bool> {
    let nats = tokio::task::spawn_blocking(NatsServer::start)
        .await
        .context("the task starting nats-server panicked")?
        .context("starting nats-server")?;
    let receiver = Receiver::start(ReceiverConfig::default())
        .await
        .context("starting the OTLP receiver")?;
    let mut options = StackOptions::new(nats.url());
    options.otlp_endpoint = Some(receiver.http_endpoint());
    options.service_args.insert(
        Service::Gateway,
        ["--rate-limit", "100000", "--rate-burst", "100000"]
            .map(String::from)
            .to_vec(),
    );
    let stack = match Stack::start(
        Launcher::new(env!("CARGO_BIN_EXE_parley-samples"), &[]),
        options,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            receiver.shutdown().await;
            return Err(e).context("starting the sample services");
        }
    };
    let result = measure(sizes, &stack, &nats.url(), &receiver.store()).await;
    if result.is_err() {
        for service in [Service::Gateway, Service::Order] {
            let log = stack.log(service);
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            eprintln!("--- last lines of {} ---", service.service_name());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
    stack.shutdown().await;
    receiver.shutdown().await;
    drop(nats);
    result
}

/// One request's outcome.
pub(crate) struct Sample {
    pub(crate) latency: Duration,
    /// When the request was started (for the async path's per-order latency).
    pub(crate) sent: Instant,
    pub(crate) order_id: Option<String>,
    pub(crate) error: Option<String>,
}

/// What one batch of requests came to.
pub(crate) struct Batch {
    pub(crate) samples: Vec<Sample>,
    pub(crate) wall: Duration,
}

impl Batch {
    pub(crate) fn latencies(&self) -> Vec<Duration> {
        self.samples
            .iter()
            .filter(|s| s.error.is_none())
            .map(|s| s.latency)
            .collect()
    }

    pub(crate) fn errors(&self) -> Vec<&str> {
        self.samples
            .iter()
            .filter_map(|s| s.error.as_deref())
            .collect()
    }
}

pub(crate) async fn measure(
    sizes: &Sizes,
    stack: &Stack,
    nats_url: &str,
    spans: &TraceStore,
) -> anyhow::Result<bool> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let gateway = stack.gateway_url();
    let sync_url = format!("{gateway}/api/orders");
    let async_url = format!("{gateway}/api/orders/async");
    let sync_calls = |n: usize| -> Vec<Call> {
        (0..n)
            .map(|_| {
                let body = json!({ "customerId": "c-42", "items": [{ "sku": "A1", "qty": 1 }] });
                Call::post(&sync_url, body)
            })
            .collect()
    };
    // Async orders reserve stock: spread them over the SKUs.
    let async_calls = |n: usize| -> Vec<Call> {
        (0..n)
            .map(|i| {
                let body = json!({
                    "customerId": "c-42",
                    "items": [{ "sku": ASYNC_SKUS[i % ASYNC_SKUS.len()], "qty": 1 }],
                    "address": { "country": "DE" },
                });
                Call::post(&async_url, body)
            })
            .collect()
    };
    // Reading an order rebuilds it from its events (the replay the order consumer also does).
    let read_calls = |batch: &Batch| -> Vec<Call> {
        batch
            .samples
            .iter()
            .filter_map(|s| s.order_id.as_ref())
            .map(|id| Call::get(format!("{gateway}/api/orders/{id}")))
            .collect()
    };

    // Core NATS subscriptions, live before the first async order is sent.
    let nats = async_nats::connect(nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let timeline = Timeline::default();
    let mut collectors = Vec::new();
    let subjects = SAGA_STAGES.iter().map(|(s, _)| *s).chain([CANCELLED]);
    for subject in subjects {
        let subscriber = nats
            .subscribe(subject)
            .await
            .with_context(|| format!("subscribing to {subject}"))?;
        collectors.push(tokio::spawn(timeline.clone().collect(subject, subscriber)));
    }
    nats.flush().await.context("flushing the subscriptions")?;

    eprintln!(
        "• warm-up: {} sync and {} async orders",
        sizes.warmup, sizes.warmup
    );
    let warm_sync = drive(&client, sync_calls(sizes.warmup), 4, 201).await;
    let warm_async = drive(&client, async_calls(sizes.warmup), 4, 202).await;
    if let Some(e) = warm_sync.errors().first().or(warm_async.errors().first()) {
        bail!("the warm-up failed: {e}");
    }
    // Let the warm-up's async orders finish before measuring.
    let warm_ids: Vec<String> = warm_async
        .samples
        .iter()
        .filter_map(|s| s.order_id.clone())
        .collect();
    timeline
        .wait_for(&warm_ids, sizes.completion_timeout)
        .await
        .context("waiting for the warm-up's async orders")?;

    eprintln!("• sync path, sequential: {} orders", sizes.sync);
    let sync_seq = drive(&client, sync_calls(sizes.sync), 1, 201).await;
    eprintln!(
        "• sync path, {} in flight: {} orders",
        sizes.sync_concurrency, sizes.sync
    );
    let sync_conc = drive(&client, sync_calls(sizes.sync), sizes.sync_concurrency, 201).await;

    eprintln!(
        "• order reads (GET /api/orders/{{id}}), sequential and {} in flight: {} each",
        sizes.sync_concurrency, sizes.sync
    );
    let read_seq = drive(&client, read_calls(&sync_seq), 1, 200).await;
    let read_conc = drive(&client, read_calls(&sync_conc), sizes.sync_concurrency, 200).await;

    // The span breakdown below is of the async phase alone: let the earlier spans arrive
    // (the services export every 100 ms), then forget them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let earlier_spans = spans.span_count();
    spans.clear();

    eprintln!(
        "• async path, {} in flight: {} orders, until each is completed",
        sizes.async_concurrency, sizes.async_orders
    );
    let async_batch = drive(
        &client,
        async_calls(sizes.async_orders),
        sizes.async_concurrency,
        202,
    )
    .await;
    let accepted: Vec<&Sample> = async_batch
        .samples
        .iter()
        .filter(|s| s.error.is_none())
        .collect();
    let ids: Vec<String> = accepted.iter().filter_map(|s| s.order_id.clone()).collect();
    let waited = timeline.wait_for(&ids, sizes.completion_timeout).await;
    for collector in collectors {
        collector.abort();
    }
    let finished = waited.context("waiting for the async orders to complete")?;

    // Per-order latency: send → completion message; end to end: first send → last completion.
    let mut order_latencies = Vec::new();
    let mut cancelled = Vec::new();
    let mut last_completion: Option<Instant> = None;
    for sample in &accepted {
        let Some(done) = sample.order_id.as_ref().and_then(|id| finished.get(id)) else {
            continue;
        };
        if done.completed {
            order_latencies.push(done.at.saturating_duration_since(sample.sent));
        } else {
            cancelled.push(format!(
                "{}: {}",
                sample.order_id.as_deref().unwrap_or_default(),
                done.reason
            ));
        }
        last_completion = Some(last_completion.map_or(done.at, |l| l.max(done.at)));
    }
    let first_send = async_batch
        .samples
        .iter()
        .map(|s| s.sent)
        .min()
        .unwrap_or_else(Instant::now);
    let end_to_end = last_completion.map_or(Duration::ZERO, |last| {
        last.saturating_duration_since(first_send)
    });

    print_table(
        sizes,
        &[
            Row::http("sync, sequential", 1, &sync_seq),
            Row::http("sync, concurrent", sizes.sync_concurrency, &sync_conc),
            Row::http("read, sequential", 1, &read_seq),
            Row::http("read, concurrent", sizes.sync_concurrency, &read_conc),
            Row::http(
                "async, accepted (202)",
                sizes.async_concurrency,
                &async_batch,
            ),
            Row {
                name: "async, end to end".into(),
                n: order_latencies.len(),
                in_flight: sizes.async_concurrency,
                latencies: order_latencies,
                rate_over: end_to_end,
                errors: async_batch.errors().len() + cancelled.len(),
            },
        ],
    );
    print_stages(&timeline, &accepted, first_send);
    // Let the last spans of the async phase arrive.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    print_span_breakdown(spans, earlier_spans);

    let mut ok = true;
    for (name, batch) in [
        ("sync, sequential", &sync_seq),
        ("sync, concurrent", &sync_conc),
        ("read, sequential", &read_seq),
        ("read, concurrent", &read_conc),
        ("async", &async_batch),
    ] {
        let errors = batch.errors();
        if let Some(first) = errors.first() {
            ok = false;
            println!("{name}: {} request(s) failed, first: {first}", errors.len());
        }
    }
    if let Some(first) = cancelled.first() {
        ok = false;
        println!(
            "async: {} order(s) were cancelled instead of completed, first: {first}",
            cancelled.len()
        );
    }
    Ok(ok)
}
