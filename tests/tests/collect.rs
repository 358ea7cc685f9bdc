//! `parley collect` end to end: the binary on free ports, fed by the official OpenTelemetry
//! Python SDK exporters (OTLP/gRPC, and OTLP/HTTP protobuf with gzip), forwarding to a second
//! `parley collect`; stopped with SIGTERM, it exits 0 and both files hold the spans. Also its
//! usage errors (exit 2) and a port in use (exit 3).
//!
//! The Python packages (pinned) are installed from PyPI into a venv under the cargo target
//! dir, once (guarded by a file lock; reused by later runs). Without python3 or PyPI the test
//! fails and says why: it never passes without having sent a span.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_e2e::{parley, parley_bin};
use parley_harness::otlp::{Span, read_jsonl, read_jsonl_store};
use serde_json::{Value, json};

const QUICK: Duration = Duration::from_secs(15);

/// The Python packages the test exports with, pinned.
const PYTHON_REQUIREMENTS: &[&str] = &[
    "opentelemetry-api==1.45.0",
    "opentelemetry-sdk==1.45.0",
    "opentelemetry-exporter-otlp-proto-grpc==1.45.0",
    "opentelemetry-exporter-otlp-proto-http==1.45.0",
];

/// Emits one trace of two spans through the official exporter named by argv[1] (`grpc` or
/// `http`), configured by the standard OTEL_EXPORTER_OTLP_* variables; prints what it sent as
/// JSON; exits 1 unless every export succeeded.
const EMIT_PY: &str = r#"
import json, sys
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

protocol, service = sys.argv[1], sys.argv[2]
if protocol == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
exporter = OTLPSpanExporter()
results = []

class Recording(SpanExporter):
    def export(self, spans):
        result = exporter.export(spans)
        results.append(result.name)
        return result
    def shutdown(self):
        exporter.shutdown()
    def force_flush(self, timeout_millis=30000):
        return True

provider = TracerProvider(resource=Resource.create(
    {"service.name": service, "deployment.environment.name": "e2e"}))
provider.add_span_processor(BatchSpanProcessor(Recording()))
tracer = provider.get_tracer("parley-e2e", "0.1.0")
linked = SpanContext(trace_id=0x0af7651916cd43dd8448eb211c80319c, span_id=0xb7ad6b7169203331,
                     is_remote=True, trace_flags=TraceFlags(1))
with tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER, attributes={
        "http.request.method": "POST", "http.response.status_code": 201,
        "order.total": 19.99, "order.express": True,
        "order.skus": ["A1", "B2"], "order.quantities": [2, 1]}) as root:
    root.add_event("order.validated", {"order.items": 2})
    with tracer.start_as_current_span("orders.created publish", kind=SpanKind.PRODUCER,
            links=[Link(linked, {"link.reason": "follows"})],
            attributes={"messaging.system": "nats",
                        "messaging.destination.name": "orders.created"}) as child:
        child.set_status(Status(StatusCode.ERROR, "nats unavailable"))
provider.shutdown()
print(json.dumps({
    "trace_id": format(root.get_span_context().trace_id, "032x"),
    "root": format(root.get_span_context().span_id, "016x"),
    "child": format(child.get_span_context().span_id, "016x"),
    "compression": str(getattr(exporter, "_compression", None)),
    "results": results,
}))
sys.exit(0 if results and all(r == "SUCCESS" for r in results) else 1)
"#;

/// Runs `command` to completion within `timeout`, or kills it and panics.
fn run_bounded(mut command: Command, what: &str, timeout: Duration) -> std::process::Output {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start {:?}: {e}", command.get_program()));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{what}: did not finish within {timeout:?}");
        }
    }
}

/// The venv's python, creating the venv (once, under a file lock) when it is missing or was
/// made for other requirements.
fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parley-test-venv");
    let python = root.join("bin").join("python");
    let marker = root.join("parley-requirements.txt");
    let wanted = PYTHON_REQUIREMENTS.join("\n");
    std::fs::create_dir_all(env!("CARGO_TARGET_TMPDIR")).expect("the cargo target tmp dir");
    let lock = File::create(root.with_extension("lock")).expect("the venv lock file");
    lock.lock().expect("locks the venv");
    if python.is_file() && std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return python;
    }
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&root);
    let mut venv = Command::new("python3");
    venv.arg("-m").arg("venv").arg(&root);
    let output = match venv.output() {
        Ok(output) => output,
        Err(e) => panic!(
            "this test exports spans with the OpenTelemetry Python SDK and needs python3 \
             (with its venv module) on PATH: {e}; install it, e.g. `apt-get install python3 \
             python3-venv`"
        ),
    };
    assert!(
        output.status.success(),
        "`python3 -m venv {}` failed (on Debian: `apt-get install python3-venv`):\n{}{}",
        root.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--timeout",
        "60",
        "--retries",
        "2",
    ])
    .args(PYTHON_REQUIREMENTS);
    let output = run_bounded(pip, "pip install", Duration::from_secs(600));
    assert!(
        output.status.success(),
        "could not install the OpenTelemetry Python SDK from PyPI into {} ({}); is PyPI \
         reachable?\n{}{}",
        root.display(),
        PYTHON_REQUIREMENTS.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&marker, &wanted).expect("writes the venv marker");
    eprintln!(
        "created the Python venv {} in {:.1?}",
        root.display(),
        started.elapsed()
    );
    python
}

/// What one run of the Python exporter sent.
#[derive(Debug)]
struct Emitted {
    trace_id: String,
    root: String,
    child: String,
    compression: String,
}

/// Sends one trace for `service` to `endpoint` with the official `protocol` exporter.
fn emit(python: &Path, protocol: &str, endpoint: &str, service: &str, gzip: bool) -> Emitted {
    let mut command = Command::new(python);
    command.arg("-c").arg(EMIT_PY).args([protocol, service]);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env(
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            if protocol == "grpc" {
                "grpc"
            } else {
                "http/protobuf"
            },
        )
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "10")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    if gzip {
        command.env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    }
    let what = format!("the Python {protocol} exporter");
    let output = run_bounded(command, &what, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{what} failed against {endpoint}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).expect("the emitter's JSON");
    let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    Emitted {
        trace_id: field("trace_id"),
        root: field("root"),
        child: field("child"),
        compression: field("compression"),
    }
}

/// A `parley collect` running in the background, in its own process group.
struct Collect {
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
    grpc: SocketAddr,
    http: SocketAddr,
}

impl Collect {
    /// Starts `parley collect --grpc 127.0.0.1:0 --http 127.0.0.1:0 ARGS…`, reads the bound
    /// addresses from its `listening on grpc ADDR http ADDR` line and waits until it says how
    /// to stop it (its last line at startup).
    fn start(args: &[&str]) -> Collect {
        let mut child = Command::new(parley_bin())
            .args(["collect", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("starts parley collect");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (lines_tx, lines) = mpsc::channel();
        let pipe = child.stderr.take().expect("piped stderr");
        let all = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                all.lock().expect("lock").push_str(&format!("{line}\n"));
                let _ = lines_tx.send(line);
            }
        });
        let mut collect = Collect {
            child: Some(child),
            stderr,
            grpc: "0.0.0.0:0".parse().expect("addr"),
            http: "0.0.0.0:0".parse().expect("addr"),
        };
        let deadline = Instant::now() + QUICK;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on grpc ").nth(1) {
                        let mut words = rest.split_whitespace();
                        collect.grpc = words.next().and_then(|a| a.parse().ok()).expect("grpc");
                        assert_eq!(words.next(), Some("http"), "{line}");
                        collect.http = words.next().and_then(|a| a.parse().ok()).expect("http");
                    }
                    // The last line it prints once it is ready.
                    if line.contains("stop with Ctrl-C") {
                        assert_ne!(collect.http.port(), 0, "{}", collect.stderr());
                        return collect;
                    }
                }
                Err(_) => panic!(
                    "parley collect did not say where it listens within {QUICK:?}:\n{}",
                    collect.stderr()
                ),
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// SIGTERM, then its exit status and everything it printed.
    fn stop(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().expect("waits") {
                break status;
            }
            if Instant::now() > deadline {
                kill_group(&pid);
                panic!(
                    "parley collect did not exit within 30 s of SIGTERM:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader thread take the last lines.
        let until = Instant::now() + Duration::from_secs(2);
        while !self.stderr().contains("wrote") && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        (status, self.stderr())
    }
}

fn kill_group(pid: &str) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}

impl Drop for Collect {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&child.id().to_string());
            let _ = child.wait();
        }
    }
}

fn spans_by_id(spans: Vec<Span>) -> BTreeMap<String, Span> {
    spans.into_iter().map(|s| (s.span_id.clone(), s)).collect()
}

/// The two spans of `sent`, with the service, attributes, event, link and status the Python
/// emitter gave them.
fn assert_spans(spans: &BTreeMap<String, Span>, sent: &Emitted, service: &str, file: &Path) {
    let root = spans
        .get(&sent.root)
        .unwrap_or_else(|| panic!("{}: no root span {} ({service})", file.display(), sent.root));
    let child = spans
        .get(&sent.child)
        .unwrap_or_else(|| panic!("{}: no child span {}", file.display(), sent.child));
    for span in [root, child] {
        assert_eq!(span.trace_id, sent.trace_id);
        assert_eq!(span.service_name, service);
        assert_eq!(
            span.resource_attr_str("deployment.environment.name"),
            Some("e2e")
        );
        assert_eq!(
            span.resource_attr_str("telemetry.sdk.language"),
            Some("python")
        );
        assert_eq!(span.scope_name, "parley-e2e");
        assert_eq!(span.scope_version, "0.1.0");
    }
    assert_eq!(root.name, "POST /orders");
    assert!(root.is_root());
    assert_eq!(root.kind.as_str(), "server");
    assert_eq!(root.attr_str("http.request.method"), Some("POST"));
    assert_eq!(root.attr_i64("http.response.status_code"), Some(201));
    assert_eq!(root.attr("order.total"), Some(&json!(19.99)));
    assert_eq!(root.attr("order.express"), Some(&json!(true)));
    assert_eq!(root.attr("order.skus"), Some(&json!(["A1", "B2"])));
    assert_eq!(root.attr("order.quantities"), Some(&json!([2, 1])));
    assert_eq!(root.events.len(), 1);
    assert_eq!(root.events[0].name, "order.validated");
    assert_eq!(
        root.events[0].attributes.get("order.items"),
        Some(&json!(2))
    );
    assert!(root.start_unix_nanos > 0 && root.end_unix_nanos >= root.start_unix_nanos);

    assert_eq!(child.name, "orders.created publish");
    assert_eq!(child.parent_span_id.as_deref(), Some(sent.root.as_str()));
    assert_eq!(child.kind.as_str(), "producer");
    assert_eq!(child.attr_str("messaging.system"), Some("nats"));
    assert_eq!(child.status.code.to_otlp(), 2);
    assert_eq!(child.status.message, "nats unavailable");
    assert_eq!(child.links.len(), 1);
    assert_eq!(child.links[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(child.links[0].span_id, "b7ad6b7169203331");
    assert_eq!(
        child.links[0].attributes.get("link.reason"),
        Some(&json!("follows"))
    );
}

#[test]
fn collects_spans_from_the_official_python_exporters_and_forwards_them() {
    let python = python();
    let dir = tempfile::tempdir().expect("temp dir");
    let (file_a, file_b) = (
        dir.path().join("out").join("a.jsonl"),
        dir.path().join("b.jsonl"),
    );
    let started = Instant::now();
    let upstream = Collect::start(&["--out", file_b.to_str().expect("utf-8")]);
    let forward = format!("http://{}", upstream.http);
    let collect = Collect::start(&[
        "--out",
        file_a.to_str().expect("utf-8"),
        "--otlp-forward",
        &forward,
    ]);
    let ready = started.elapsed();
    assert!(
        collect.stderr().contains(&format!(
            "forwarding to {forward}/v1/traces (OTLP/HTTP protobuf)"
        )),
        "{}",
        collect.stderr()
    );

    let over_grpc = emit(
        &python,
        "grpc",
        &format!("http://{}", collect.grpc),
        "py-grpc",
        false,
    );
    let over_http = emit(
        &python,
        "http",
        &format!("http://{}", collect.http),
        "py-http",
        true,
    );
    assert!(
        over_http.compression.to_lowercase().contains("gzip"),
        "the HTTP exporter compressed with gzip: {over_http:?}"
    );
    let emitted = started.elapsed() - ready;

    let (status, stderr) = collect.stop();
    assert_eq!(
        status.code(),
        Some(0),
        "collect exits 0 on SIGTERM:\n{stderr}"
    );
    for expected in [
        "SIGTERM: flushing",
        "received 4 spans",
        &format!("wrote 2 requests (4 spans) to {}", file_a.display()),
        "forwarded 2 requests (4 spans) to",
        "dropped 0 requests (0 spans)",
    ] {
        assert!(stderr.contains(expected), "{expected:?} missing:\n{stderr}");
    }
    let (status, upstream_stderr) = upstream.stop();
    assert_eq!(status.code(), Some(0), "{upstream_stderr}");
    assert!(
        upstream_stderr.contains(&format!(
            "wrote 2 requests (4 spans) to {}",
            file_b.display()
        )),
        "{upstream_stderr}"
    );

    for file in [&file_a, &file_b] {
        let store = read_jsonl_store(file).expect("the file reads back");
        assert_eq!(store.span_count(), 4, "{}", file.display());
        let spans = spans_by_id(store.spans());
        assert_spans(&spans, &over_grpc, "py-grpc", file);
        assert_spans(&spans, &over_http, "py-http", file);
    }
    assert_eq!(
        read_jsonl(&file_a).expect("a"),
        read_jsonl(&file_b).expect("b"),
        "the forwarded requests arrive unchanged"
    );
    eprintln!(
        "timings: both collectors ready in {ready:.1?}, two Python exports in {emitted:.1?}, \
         total {:.1?}",
        started.elapsed()
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "x").expect("writes");
    let under_a_file = not_a_dir.join("traces.jsonl");
    let out = dir.path().join("t.jsonl");
    let out = out.to_str().expect("utf-8");
    for (args, expected) in [
        (vec!["collect"], "--out FILE"),
        (
            vec!["collect", "--grpc", "nonsense", "--out", out],
            "--grpc",
        ),
        (
            vec!["collect", "--http", "127.0.0.1:99999", "--out", out],
            "--http",
        ),
        (
            vec!["collect", "--grpc", "0", "--http", "0", "--out"],
            "--out",
        ),
        (
            vec!["collect", "--otlp-forward", "https://tempo:4318"],
            "TLS is not supported",
        ),
        (
            vec!["collect", "--otlp-forward", "tempo:4318"],
            "missing scheme",
        ),
        (
            vec![
                "collect",
                "--otlp-forward",
                "grpc://tempo:4317",
                "--otlp-forward-protocol",
                "http/protobuf",
            ],
            "grpc://",
        ),
    ] {
        let run = parley(args.clone()).timeout(QUICK).run();
        run.assert_code(2).assert_nothing_left_in_group();
        assert!(
            run.stderr.contains(expected),
            "{args:?}: {expected:?}\n{}",
            run.describe()
        );
    }
    let run = parley(["collect", "--grpc", "0", "--http", "0", "--out"])
        .arg(&under_a_file)
        .timeout(QUICK)
        .run();
    run.assert_code(2).assert_nothing_left_in_group();
    assert!(
        run.stderr.contains(&not_a_dir.display().to_string()),
        "an unwritable --out names the path\n{}",
        run.describe()
    );
}

#[test]
fn a_port_in_use_exits_3_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    for flag in ["--grpc", "--http"] {
        let other = if flag == "--grpc" { "--http" } else { "--grpc" };
        let run = parley(["collect", flag, &addr, other, "127.0.0.1:0", "--out"])
            .arg(dir.path().join("t.jsonl"))
            .timeout(QUICK)
            .run();
        run.assert_code(3).assert_nothing_left_in_group();
        assert!(
            run.stderr.contains(&addr) && run.stderr.contains("in use"),
            "{}",
            run.describe()
        );
        assert!(
            !dir.path().join("t.jsonl").exists(),
            "no empty file is left behind"
        );
    }
}
