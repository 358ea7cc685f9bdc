//! The demo's HTML report in a real browser (Debian's headless Chromium): it loads without a
//! console error and shows the expected sections, traces and service graph. A screenshot is
//! kept as a test artefact in `target/parley-artifacts/report.png`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use parley_e2e::{parley, parley_bin};

fn chromium() -> PathBuf {
    let candidates = [
        std::env::var_os("PARLEY_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "Chromium is needed for the report's browser test: install it with \
                 `apt-get install chromium` (.ci/run does), or set PARLEY_CHROMIUM"
            )
        })
}

/// Runs headless Chromium on the page with the flags this machine needs (no network
/// background traffic, a fresh profile); returns (stdout, stderr).
fn browse(page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_report_loads_without_console_errors_and_shows_the_traces() {
    let out = tempfile::tempdir().expect("out dir");
    let run = parley(["demo", "--out-dir"])
        .arg(out.path())
        .timeout(Duration::from_secs(120))
        .run();
    run.assert_code(0);
    let page = out.path().join("report.html");
    assert!(page.is_file(), "no report at {}", page.display());
    for other in ["report.json", "junit.xml"] {
        assert!(out.path().join(other).is_file(), "no {other}");
    }

    let (dom, log) = browse(&page, &["--dump-dom".to_string()]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE(")).collect();
    assert!(
        console.is_empty(),
        "the page logged to the console: {console:#?}"
    );
    assert!(!log.contains("Uncaught"), "a script error: {log}");
    assert!(dom.contains("id=\"verdict\">passed:"), "the verdict");
    assert!(dom.contains("id=\"service-graph\""), "the service graph");
    assert!(dom.contains("class=\"edge sync\"") && dom.contains("class=\"edge async\""));
    for scenario in [
        "sync order",
        "async order",
        "saga success",
        "saga compensation",
        "poison message",
        "duplicate delivery",
    ] {
        assert!(
            dom.contains(&format!("<b>{scenario}</b> — correlation")),
            "no waterfall for {scenario}"
        );
    }
    for service in [
        "gateway",
        "order-service",
        "payment-service",
        "inventory-service",
        "shipping-service",
        "notification-service",
    ] {
        assert!(dom.contains(service), "{service} missing");
    }

    let artifacts = parley_bin()
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("parley-artifacts"))
        .expect("the target dir");
    std::fs::create_dir_all(&artifacts).expect("artefact dir");
    let shot = artifacts.join("report.png");
    let _ = browse(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,2400".to_string(),
        ],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "the screenshot at {} is empty ({size} bytes)",
        shot.display()
    );
}
