//! Following the async saga message by message, and printing the tables.

use super::*;

/// The subjects a successful async order passes, in order, and who publishes each.
pub(crate) const SAGA_STAGES: [(&str, &str); 5] = [
    ("orders.created", "order: append, publish"),
    ("payments.charged", "payment consumer"),
    ("inventory.reserved", "inventory consumer"),
    ("shipping.scheduled", "shipping consumer"),
    ("orders.completed", "order consumer"),
];
pub(crate) const COMPLETED: &str = "orders.completed";
pub(crate) const CANCELLED: &str = "orders.cancelled";

/// A message naming an order, as seen on one subject; the first message wins.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) at: Instant,
    pub(crate) reason: String,
}

/// An order's end: `orders.completed` or `orders.cancelled`.
#[derive(Clone, Debug)]
pub(crate) struct Finished {
    pub(crate) at: Instant,
    pub(crate) completed: bool,
    pub(crate) reason: String,
}

/// When each order was first named on each subject.
#[derive(Clone, Default)]
pub(crate) struct Timeline {
    pub(crate) seen: Arc<Mutex<HashMap<&'static str, HashMap<String, Seen>>>>,
}

impl Timeline {
    pub(crate) fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<&'static str, HashMap<String, Seen>>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records every message's order ID with the time it arrived.
    pub(crate) async fn collect(
        self,
        subject: &'static str,
        mut subscriber: async_nats::Subscriber,
    ) {
        while let Some(message) = subscriber.next().await {
            let at = Instant::now();
            let Ok(payload) = serde_json::from_slice::<Value>(&message.payload) else {
                continue;
            };
            let Some(order_id) = payload.get("orderId").and_then(Value::as_str) else {
                continue;
            };
            let reason = payload
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            self.lock()
                .entry(subject)
                .or_default()
                .entry(order_id.to_string())
                .or_insert(Seen { at, reason });
        }
    }

    /// When `order_id` was first seen on `subject`.
    pub(crate) fn at(&self, subject: &str, order_id: &str) -> Option<Instant> {
        self.lock()
            .get(subject)
            .and_then(|m| m.get(order_id))
            .map(|s| s.at)
    }

    /// Waits until every one of `ids` has ended; the bound fails with how many are missing.
    pub(crate) async fn wait_for(
        &self,
        ids: &[String],
        timeout: Duration,
    ) -> anyhow::Result<HashMap<String, Finished>> {
        let deadline = Instant::now() + timeout;
        loop {
            let (found, missing) = {
                let seen = self.lock();
                let mut found = HashMap::new();
                let mut missing = Vec::new();
                for id in ids {
                    let end = [(COMPLETED, true), (CANCELLED, false)]
                        .into_iter()
                        .find_map(|(subject, completed)| {
                            seen.get(subject).and_then(|m| m.get(id)).map(|s| Finished {
                                at: s.at,
                                completed,
                                reason: s.reason.clone(),
                            })
                        });
                    match end {
                        Some(f) => {
                            found.insert(id.clone(), f);
                        }
                        None => missing.push(id.as_str()),
                    }
                }
                (
                    found,
                    missing.into_iter().take(3).collect::<Vec<_>>().join(", "),
                )
            };
            if found.len() == ids.len() {
                return Ok(found);
            }
            if Instant::now() >= deadline {
                bail!(
                    "only {} of {} async orders reached orders.completed or orders.cancelled \
                     within {timeout:?} (raise PARLEY_BENCH_TIMEOUT_SECS?); still open, e.g.: {missing}",
                    found.len(),
                    ids.len(),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Per saga stage: the time from the previous message (the send, for the first) to this one,
/// over the orders that completed, and when the stage's last message came after the first send.
pub(crate) fn print_stages(timeline: &Timeline, accepted: &[&Sample], first_send: Instant) {
    println!("async saga, stage by stage (previous message → this one, completed orders only)");
    println!(
        "{:<20} {:<24} {:>6} {:>9} {:>9} {:>9} {:>11}",
        "message", "published by", "n", "p50 ms", "p99 ms", "max ms", "last at s"
    );
    let mut previous: Vec<(String, Instant)> = accepted
        .iter()
        .filter_map(|s| s.order_id.clone().map(|id| (id, s.sent)))
        .filter(|(id, _)| timeline.at(COMPLETED, id).is_some())
        .collect();
    for (subject, by) in SAGA_STAGES {
        let mut latencies = Vec::new();
        let mut last = first_send;
        let mut next = Vec::with_capacity(previous.len());
        for (id, before) in &previous {
            if let Some(at) = timeline.at(subject, id) {
                latencies.push(at.saturating_duration_since(*before));
                last = last.max(at);
                next.push((id.clone(), at));
            }
        }
        latencies.sort();
        println!(
            "{:<20} {:<24} {:>6} {:>9} {:>9} {:>9} {:>11.2}",
            subject,
            by,
            latencies.len(),
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 99.0)),
            ms(latencies.last().copied().unwrap_or_default()),
            last.saturating_duration_since(first_send).as_secs_f64()
        );
        previous = next;
    }
    println!();
}

/// How many rows of the span breakdown are shown.
pub(crate) const SPAN_ROWS: usize = 16;

/// A span name with order IDs (and other generated IDs) replaced by `*`.
pub(crate) fn span_kind_name(name: &str) -> String {
    name.split(' ')
        .map(|word| {
            word.split('.')
                .map(|part| {
                    let generated = ["o-", "pay_", "res_", "shp_"]
                        .iter()
                        .any(|p| part.starts_with(p) && part.len() > p.len() + 4);
                    if generated { "*" } else { part }
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the async phase's time went, from the services' own spans: per service and span name,
/// the spans with the largest total duration (parents include their children).
pub(crate) fn print_span_breakdown(store: &TraceStore, earlier_spans: usize) {
    let mut groups: HashMap<(String, String), Vec<Duration>> = HashMap::new();
    store.view(|v| {
        for span in v.spans() {
            groups
                .entry((span.service_name.clone(), span_kind_name(&span.name)))
                .or_default()
                .push(span.duration());
        }
    });
    let total: usize = groups.values().map(Vec::len).sum();
    let mut rows: Vec<_> = groups
        .into_iter()
        .map(|(key, mut durations)| {
            durations.sort();
            let sum: Duration = durations.iter().sum();
            (key, durations, sum)
        })
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.2));
    println!(
        "async phase, by span (the services' own spans: {total} received, top {SPAN_ROWS} by \
         total time)"
    );
    println!(
        "{:<21} {:<42} {:>6} {:>9} {:>9} {:>9}",
        "service", "span", "n", "p50 ms", "p99 ms", "total s"
    );
    for ((service, name), durations, sum) in rows.iter().take(SPAN_ROWS) {
        println!(
            "{:<21} {:<42} {:>6} {:>9} {:>9} {:>9.2}",
            service,
            name,
            durations.len(),
            ms(percentile(durations, 50.0)),
            ms(percentile(durations, 99.0)),
            sum.as_secs_f64()
        );
    }
    print_outcomes(store);
    println!(
        "spans received by the OTLP receiver: {} before the async phase, {total} during it \
         ({} dropped by its bound)",
        earlier_spans,
        store.dropped_spans()
    );
    println!();
}

/// The consumers' deliveries in the async phase by outcome (`parley.outcome` on the
/// `process` spans): `retry` is a redelivery to come, `dead-lettered` a message given up on.
pub(crate) fn print_outcomes(store: &TraceStore) {
    let mut outcomes: BTreeMap<(String, String), BTreeMap<String, usize>> = BTreeMap::new();
    // One reason a delivery failed, per consumer: the `reason` of its span's warning.
    let mut reasons: BTreeMap<(String, String), String> = BTreeMap::new();
    store.view(|v| {
        for span in v.spans() {
            if let Some(outcome) = span.attr_str("parley.outcome") {
                let key = (span.service_name.clone(), span_kind_name(&span.name));
                if outcome != "done"
                    && let Some(reason) =
                        span.events.iter().find_map(|e| e.attributes.get("reason"))
                {
                    reasons.entry(key.clone()).or_insert_with(|| {
                        reason
                            .as_str()
                            .map_or_else(|| reason.to_string(), str::to_string)
                    });
                }
                *outcomes
                    .entry(key)
                    .or_default()
                    .entry(outcome.to_string())
                    .or_default() += 1;
            }
        }
    });
    println!("consumer deliveries in the async phase, by outcome");
    for (key, counts) in &outcomes {
        let (service, name) = key;
        let counts: Vec<String> = counts.iter().map(|(o, n)| format!("{o} {n}")).collect();
        println!("  {service:<21} {name:<34} {}", counts.join(", "));
        if let Some(reason) = reasons.get(key) {
            println!("  {:<21} e.g. {reason}", "");
        }
    }
}

pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) n: usize,
    pub(crate) in_flight: usize,
    pub(crate) latencies: Vec<Duration>,
    /// The span the rate is computed over.
    pub(crate) rate_over: Duration,
    pub(crate) errors: usize,
}

impl Row {
    pub(crate) fn http(name: &str, in_flight: usize, batch: &Batch) -> Row {
        let latencies = batch.latencies();
        Row {
            name: name.to_string(),
            n: latencies.len(),
            in_flight,
            latencies,
            rate_over: batch.wall,
            errors: batch.errors().len(),
        }
    }
}

/// The nearest-rank percentile of sorted values.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub(crate) fn print_table(sizes: &Sizes, rows: &[Row]) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!();
    println!(
        "order paths through the gateway ({profile} build{}, {cpus} CPUs shared by the six \
         services, nats-server -js, the OTLP receiver and this load generator)",
        if sizes.smoke { ", SMOKE sizes" } else { "" }
    );
    println!(
        "{:<22} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>6}",
        "path", "n", "in flight", "p50 ms", "p90 ms", "p99 ms", "max ms", "per s", "errors"
    );
    for row in rows {
        let mut sorted = row.latencies.clone();
        sorted.sort();
        let rate = if row.rate_over.is_zero() {
            0.0
        } else {
            row.n as f64 / row.rate_over.as_secs_f64()
        };
        println!(
            "{:<22} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10.1} {:>6}",
            row.name,
            row.n,
            row.in_flight,
            ms(percentile(&sorted, 50.0)),
            ms(percentile(&sorted, 90.0)),
            ms(percentile(&sorted, 99.0)),
            ms(sorted.last().copied().unwrap_or_default()),
            rate,
            row.errors
        );
    }
    let notes = [
        (
            "sync",
            "latency of POST /api/orders → 201; per s = requests / wall time",
        ),
        (
            "read",
            "latency of GET /api/orders/{id} → 200 (the order replayed from its events)",
        ),
        (
            "async, accepted",
            "latency of POST /api/orders/async → 202; per s = accepted / sending time",
        ),
        (
            "async, end to end",
            "latency = send → orders.completed message; per s = orders / (first send → last completion)",
        ),
    ];
    for (name, note) in notes {
        println!("  {name}: {note}");
    }
    println!();
}
