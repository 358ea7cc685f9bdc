//! Lint throughput, printed as figures: every rule over a generated graph of 10,000 services
//! and 50,000 synchronous calls (plus 5,000 subjects and 10,000 consumers), and parsing the
//! same graph written as one `architecture.yaml`.
//!
//! The graph is mostly layered (calls go to higher-numbered services, so chains are long) with
//! one call in fifty going back (so there are cycles, and a large strongly connected part);
//! settings vary so that every rule has work and findings to build.
//!
//! `cargo bench -p parley-harness --bench lint`; `PARLEY_BENCH_SERVICES` (10,000) and
//! `PARLEY_BENCH_CALLS` (50,000) set the size; `PARLEY_BENCH_RULES=1` also times each rule
//! once. Without `--bench` (as `cargo test --benches` runs it) a small size runs as a smoke
//! test. Wall time and the thread's CPU time are both printed: on a shared machine the second
//! is the steadier figure.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use parley_harness::lint::graph::{
    Consumer, Fact, Origin, Producer, Retries, RetryOn, Service, ServiceGraph, ServiceKind,
    Subject, SyncCall,
};
use parley_harness::lint::{self, Config, Location, arch_yaml};

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn at(path: String) -> Origin {
    Origin::at(Location::new("generated.yaml", 1, 1, path))
}

fn generate(services: usize, calls: usize) -> ServiceGraph {
    let mut rng = Rng::seeded();
    let mut g = ServiceGraph::default();
    let name = |i: usize| format!("svc-{i:05}");
    for i in 0..services {
        let mut s = Service::new(
            name(i),
            if i == 0 {
                ServiceKind::Gateway
            } else {
                ServiceKind::Service
            },
        );
        s.public = Fact::Known(i == 0 || rng.below(500) == 0);
        s.propagates_correlation_id = Fact::Known(rng.below(200) != 0);
        s.origin = at(format!("services.{}", name(i)));
        g.add_service(s);
    }
    for k in 0..calls {
        let from = rng.below(services as u64 - 1) as usize;
        let to = if rng.below(50) == 0 {
            rng.below(from as u64 + 1) as usize
        } else {
            from + 1 + rng.below(((services - from - 1) as u64).clamp(1, 40)) as usize
        }
        .min(services - 1);
        let mut c = SyncCall::new(name(from), name(to));
        c.method = Some(if rng.below(3) == 0 { "POST" } else { "GET" }.into());
        c.path = Some(format!("/r{}", rng.below(4)));
        c.handler = (rng.below(2) == 0).then(|| format!("GET /r{}", rng.below(4)));
        c.idempotent = Fact::Known(c.method.as_deref() == Some("GET"));
        c.timeout_ms = Fact::Known((rng.below(100) != 0).then_some(200 + rng.below(2000)));
        c.retries = Fact::Known((rng.below(3) == 0).then_some(Retries {
            max_attempts: 3,
            on: if rng.below(10) == 0 {
                RetryOn::All
            } else {
                RetryOn::IdempotentOnly
            },
        }));
        c.circuit_breaker = Fact::Known(rng.below(20) != 0);
        c.origin = at(format!("services.{}.calls[{k}]", name(from)));
        g.calls.push(c);
    }
    let subjects = services / 2;
    for i in 0..subjects {
        let producer = rng.below(services as u64) as usize;
        let subject = format!("topic{}.event{i}", i % 100);
        g.add_subject(Subject {
            name: subject.clone(),
            producers: if rng.below(50) == 0 {
                Vec::new()
            } else {
                vec![Producer {
                    service: name(producer),
                    origin: Origin::default(),
                }]
            },
            description: None,
            origin: at(format!("subjects[\"{subject}\"]")),
        });
    }
    for k in 0..services {
        let i = rng.below(subjects as u64 + 10) as usize;
        let filter = if rng.below(100) == 0 {
            format!("topic{}.>", i % 100)
        } else {
            format!("topic{}.event{i}", i % 100)
        };
        let mut c = Consumer::new(name(rng.below(services as u64) as usize), filter);
        c.durable = Fact::Known(Some(format!("c{k}")));
        c.max_deliver = Fact::Known((rng.below(30) != 0).then_some(3));
        c.dlq = Fact::Known((rng.below(30) != 0).then(|| format!("dlq.c{k}")));
        c.idempotency_key = Fact::Known((rng.below(30) != 0).then(|| "id".to_string()));
        c.origin = at(format!("consumers[{k}]"));
        g.consumers.push(c);
    }
    g
}

/// The generated graph's services and calls as one `architecture.yaml`.
fn as_yaml(g: &ServiceGraph) -> String {
    let mut out = String::from("parley: architecture/v1\nservices:\n");
    for s in g.services.values() {
        let _ = writeln!(out, "  {}:", s.name);
        if s.kind == ServiceKind::Gateway {
            out.push_str("    kind: gateway\n    public: true\n");
        }
        out.push_str("    calls:\n");
        for c in g.calls.iter().filter(|c| c.from == s.name) {
            let _ = writeln!(
                out,
                "      - to: {}\n        method: {}\n        path: {}\n        timeout_ms: 1000\n        retries: {{ max_attempts: 3, on: idempotent-only }}\n        circuit_breaker: true",
                c.to,
                c.method.as_deref().unwrap_or("GET"),
                c.path.as_deref().unwrap_or("/")
            );
        }
    }
    out
}

/// CPU time of this thread: on a shared machine, what the work cost, whatever else runs.
fn cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given, nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn median(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[0])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (services, calls, runs) = if bench {
        (
            env("PARLEY_BENCH_SERVICES", 10_000),
            env("PARLEY_BENCH_CALLS", 50_000),
            11,
        )
    } else {
        (300, 1_500, 2)
    };
    let graph = generate(services, calls);
    let config = Config::default();
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let cpu_started = cpu_time();
        let report = lint::lint(&graph, &config, Vec::new());
        cpu.push(cpu_time() - cpu_started);
        times.push(started.elapsed());
        findings = report.findings.len();
        std::hint::black_box(&report);
    }
    let (med, min) = median(times);
    let (cpu_med, _) = median(cpu);
    println!(
        "lint: {services} services, {} calls, {} subjects, {} consumers: median {:.1} ms, min {:.1} ms over {runs} runs (CPU time median {:.1} ms; {findings} findings)",
        graph.calls.len(),
        graph.subjects.len(),
        graph.consumers.len(),
        ms(med),
        ms(min),
        ms(cpu_med)
    );
    if std::env::var_os("PARLEY_BENCH_RULES").is_some() {
        let cx = lint::rules::Context::new(&graph, &config.thresholds);
        for rule in lint::rules::REGISTRY {
            let started = Instant::now();
            let hits = rule.check(&cx);
            println!(
                "  {} {:<32} {:>8.1} ms {:>6} hits",
                rule.info().id,
                rule.info().name,
                ms(started.elapsed()),
                hits.len()
            );
        }
    }
    let text = as_yaml(&graph);
    let mut times = Vec::new();
    for _ in 0..runs.min(5) {
        let started = Instant::now();
        let parsed = arch_yaml::parse(Path::new("generated.yaml"), &text)
            .expect("the generated document parses");
        times.push(started.elapsed());
        assert_eq!(parsed.calls.len(), graph.calls.len());
    }
    let (med, min) = median(times);
    println!(
        "parse: architecture.yaml of {services} services and {} calls ({:.1} MB): median {:.1} ms, min {:.1} ms",
        graph.calls.len(),
        text.len() as f64 / 1e6,
        ms(med),
        ms(min)
    );
}
