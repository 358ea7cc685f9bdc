//! `parley mock` end to end: the binary on a free port serving payment-service's sample
//! contracts; a consumer-style request, a request that matches nothing, the verify endpoint;
//! SIGTERM then exits 1 and lists what was never exercised and what matched nothing. Also its
//! usage errors (exit 2) and a port in use (exit 3). No sleeps: every wait is on its output or
//! its exit, bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_e2e::{parley, parley_bin};
use serde_json::{Value, json};

const QUICK: Duration = Duration::from_secs(15);

fn contracts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sample-services/contracts")
}

/// A `parley mock` running in the background, in its own process group.
struct Mock {
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
    stdout: mpsc::Receiver<String>,
    addr: SocketAddr,
}

impl Mock {
    /// Starts `parley mock --listen 127.0.0.1:0 ARGS…` and reads the bound address from its
    /// `• listening on http://ADDR` line.
    fn start(args: &[&str]) -> Mock {
        let mut child = Command::new(parley_bin())
            .args(["mock", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("starts parley mock");
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
        let (stdout_tx, stdout) = mpsc::channel();
        let mut pipe = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            let mut out = String::new();
            let _ = pipe.read_to_string(&mut out);
            let _ = stdout_tx.send(out);
        });
        let mut mock = Mock {
            child: Some(child),
            stderr,
            stdout,
            addr: "0.0.0.0:0".parse().expect("addr"),
        };
        let deadline = Instant::now() + QUICK;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("• listening on http://") {
                        mock.addr = rest.trim().parse().expect("an address");
                        assert_ne!(mock.addr.port(), 0, "{}", mock.stderr());
                        return mock;
                    }
                }
                Err(_) => panic!(
                    "parley mock did not say where it listens within {QUICK:?}:\n{}",
                    mock.stderr()
                ),
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// SIGTERM, then its exit status, stdout and stderr.
    fn stop(mut self) -> (ExitStatus, String, String) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let (tx, exited) = mpsc::channel();
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
        let Ok(status) = exited.recv_timeout(QUICK) else {
            kill_group(&pid);
            panic!(
                "parley mock did not exit within {QUICK:?} of SIGTERM:\n{}",
                self.stderr()
            );
        };
        let stdout = self
            .stdout
            .recv_timeout(QUICK)
            .expect("stdout closes once it exited");
        (status, stdout, self.stderr())
    }
}

fn kill_group(pid: &str) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&child.id().to_string());
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 request (`Connection: close`): the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect_timeout(&addr, QUICK).expect("connects");
    stream.set_read_timeout(Some(QUICK)).expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("sends");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reads the response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, head.to_ascii_lowercase(), body.to_string())
}

const CHARGE_HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("idempotency-key", "charge-o-1a2b3c4d5e6f"),
];

#[test]
fn serves_the_contracts_and_reports_what_was_missed_on_sigterm() {
    let started = Instant::now();
    let path = contracts();
    let mock = Mock::start(&[
        path.to_str().expect("utf-8"),
        "--provider",
        "payment-service",
    ]);
    let ready = started.elapsed();
    assert!(
        mock.stderr()
            .contains("5 HTTP interactions and 4 events of payment-service"),
        "{}",
        mock.stderr()
    );

    let charge = json!({"amount": 1998, "currency": "USD", "customerId": "c-42", "orderId": "o-1a2b3c4d5e6f"});
    let (status, head, body) = http(
        mock.addr,
        "POST",
        "/api/charge",
        CHARGE_HEADERS,
        &charge.to_string(),
    );
    assert_eq!(status, 201, "{head}{body}");
    assert!(
        head.contains("x-parley-interaction: charge a customer"),
        "{head}"
    );
    let body: Value = serde_json::from_str(&body).expect("json");
    let payment_id = body["paymentId"].as_str().expect("a paymentId");
    assert!(
        regex::Regex::new("^pay_[0-9a-z]+$")
            .expect("regex")
            .is_match(payment_id),
        "{payment_id}"
    );

    let wrong = json!({"amount": 1998, "currency": "USD", "customerId": "c-42"});
    let (status, _, body) = http(
        mock.addr,
        "POST",
        "/api/charge",
        CHARGE_HEADERS,
        &wrong.to_string(),
    );
    assert_eq!(status, 500);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body["closest"]["mismatches"][0]["path"], "$.orderId",
        "{body:#}"
    );

    let (status, _, body) = http(mock.addr, "GET", "/__parley/verify", &[], "");
    assert_eq!(status, 409, "{body}");
    let report: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(report["ok"], false);
    assert_eq!(report["unmatched"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        report["unexercised"].as_array().map(Vec::len),
        Some(4),
        "{report:#}"
    );

    let (status, stdout, stderr) = mock.stop();
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("→ POST /api/charge 201 \"charge a customer\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("✗ POST /api/charge matched nothing"),
        "{stderr}"
    );
    for description in [
        "charge a customer without funds",
        "charge again with the same idempotency key",
        "refund a payment",
        "list an order's payments",
    ] {
        assert!(
            stdout.contains(&format!("\"{description}\"")),
            "lists {description}:\n{stdout}"
        );
    }
    assert!(stdout.contains("never exercised (4)"), "{stdout}");
    assert!(stdout.contains("matched nothing (1)"), "{stdout}");
    assert!(stdout.contains("body $.orderId"), "{stdout}");
    assert!(
        stdout.contains("FAILED: 4 interactions never exercised, 1 request matched nothing"),
        "{stdout}"
    );
    eprintln!("ready in {ready:.1?}, whole run {:.1?}", started.elapsed());
}

#[test]
fn exits_0_when_everything_was_exercised() {
    let path = contracts();
    let mock = Mock::start(&[
        path.to_str().expect("utf-8"),
        "--provider",
        "payment-service",
        "--consumer",
        "gateway",
    ]);
    let (status, _, body) = http(mock.addr, "GET", "/api/payments?orderId=o-1", &[], "");
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = http(mock.addr, "GET", "/__parley/verify", &[], "");
    assert_eq!(status, 200);
    let (status, stdout, stderr) = mock.stop();
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("passed"), "{stdout}");
}

#[test]
fn bad_contracts_and_selections_exit_2_and_a_taken_port_3() {
    let run = parley(["mock", "/nonexistent/contracts"])
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("/nonexistent/contracts"),
        "{}",
        run.describe()
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("broken.yaml");
    std::fs::write(
        &bad,
        "consumer: a\nprovider: b\nhttp:\n  - description: x\n    request: { method: GET }\n",
    )
    .expect("writes");
    let run = parley(["mock".into(), bad.clone().into_os_string()])
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("broken.yaml:"),
        "points into the file: {}",
        run.describe()
    );

    let path = contracts();
    let run = parley(["mock", "--listen", "127.0.0.1:0", "--provider", "nobody"])
        .arg(&path)
        .timeout(QUICK)
        .run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("\"nobody\"") && run.stderr.contains("payment-service"),
        "{}",
        run.describe()
    );

    let taken = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = taken.local_addr().expect("addr").to_string();
    let run = parley(["mock", "--listen", &addr, "--provider", "payment-service"])
        .arg(&path)
        .timeout(QUICK)
        .run();
    run.assert_code(3);
    assert!(
        run.stderr.contains(&addr),
        "names the address: {}",
        run.describe()
    );
    run.assert_nothing_left_in_group();
}
