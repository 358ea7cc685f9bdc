//! Launches the six services as child processes, wired to one NATS and one OTLP endpoint.
//!
//! Services start leaves first ([`Service::START_ORDER`]) on ports the OS picks; each prints
//! its address on a ready line once it serves and its consumers exist, and the next is told
//! the addresses of those it calls. [`Stack::shutdown`] sends SIGTERM so that every service
//! flushes its spans; dropping a `Stack` kills whatever is left.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::config::READY_PREFIX;
use crate::defect::{Defect, Service};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const LOG_LINES: usize = 400;

/// How to run a service: a program and the arguments before the service name
/// (`parley sample order …` or `parley-samples order …`).
#[derive(Clone, Debug)]
pub struct Launcher {
    pub program: PathBuf,
    pub prefix: Vec<OsString>,
}

impl Launcher {
    pub fn new(program: impl Into<PathBuf>, prefix: &[&str]) -> Self {
        Launcher {
            program: program.into(),
            prefix: prefix.iter().map(OsString::from).collect(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct StackOptions {
    pub nats_url: String,
    /// OTLP base URL the services export to; `None`: no export.
    pub otlp_endpoint: Option<String>,
    /// `http/protobuf`, `http/json` or `grpc`.
    pub otlp_protocol: String,
    /// Switched on in the services each defect concerns ([`Defect::services`]).
    pub defects: Vec<Defect>,
    /// Arguments for every service.
    pub common_args: Vec<String>,
    /// Arguments for one service.
    pub service_args: BTreeMap<Service, Vec<String>>,
    /// Where each service's log goes (`<dir>/<service>.log`); the last lines are kept anyway.
    pub log_dir: Option<PathBuf>,
    /// `OTEL_BSP_SCHEDULE_DELAY` for the services, in milliseconds.
    pub export_delay_ms: u64,
    /// Serve the provider-state endpoint (for contract verification).
    pub provider_states: bool,
}

impl StackOptions {
    pub fn new(nats_url: impl Into<String>) -> Self {
        StackOptions {
            nats_url: nats_url.into(),
            otlp_endpoint: None,
            otlp_protocol: "http/protobuf".into(),
            defects: Vec::new(),
            common_args: Vec::new(),
            service_args: BTreeMap::new(),
            log_dir: None,
            export_delay_ms: 100,
            provider_states: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("cannot start {service} ({program}): {source}")]
    Spawn {
        service: Service,
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{service} did not become ready within {timeout:?}; its last output:\n{log}")]
    NotReady {
        service: Service,
        timeout: Duration,
        log: String,
    },
    #[error("{service} exited before it was ready; its last output:\n{log}")]
    Exited { service: Service, log: String },
    #[error("{0} is not running")]
    NotRunning(Service),
}

struct Running {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<VecDeque<String>>>,
}

/// The running services.
pub struct Stack {
    launcher: Launcher,
    options: StackOptions,
    addrs: BTreeMap<Service, SocketAddr>,
    running: BTreeMap<Service, Running>,
}

impl Stack {
    /// Starts all six services and waits until each is ready.
    pub async fn start(launcher: Launcher, options: StackOptions) -> Result<Stack, StackError> {
        let mut stack = Stack {
            launcher,
            options,
            addrs: BTreeMap::new(),
            running: BTreeMap::new(),
        };
        for service in Service::START_ORDER {
            stack
                .launch(service, SocketAddr::from(([127, 0, 0, 1], 0)))
                .await?;
        }
        Ok(stack)
    }

    async fn launch(&mut self, service: Service, listen: SocketAddr) -> Result<(), StackError> {
        let mut command = Command::new(&self.launcher.program);
        command
            .args(&self.launcher.prefix)
            .arg(service.cli_name())
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--nats-url")
            .arg(&self.options.nats_url);
        if let Some(endpoint) = &self.options.otlp_endpoint {
            command.arg("--otlp-endpoint").arg(endpoint);
        }
        for defect in &self.options.defects {
            if defect.services().contains(&service) {
                command.arg("--defect").arg(defect.name());
            }
        }
        for (peer, addr) in &self.addrs {
            if *peer != service && *peer != Service::Gateway {
                command
                    .arg(format!("--{}-url", peer.cli_name()))
                    .arg(format!("http://{addr}"));
            }
        }
        if self.options.provider_states {
            command.arg("--provider-states");
        }
        command.args(&self.options.common_args);
        if let Some(args) = self.options.service_args.get(&service) {
            command.args(args);
        }
        command
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", &self.options.otlp_protocol)
            .env(
                "OTEL_BSP_SCHEDULE_DELAY",
                self.options.export_delay_ms.to_string(),
            )
            .env_remove("OTEL_SERVICE_NAME")
            .env(
                "RUST_LOG",
                std::env::var("PARLEY_SAMPLE_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| StackError::Spawn {
            service,
            program: self.launcher.program.display().to_string(),
            source,
        })?;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            let file = match &self.options.log_dir {
                Some(dir) => {
                    let _ = tokio::fs::create_dir_all(dir).await;
                    tokio::fs::File::create(dir.join(format!("{}.log", service.service_name())))
                        .await
                        .ok()
                }
                None => None,
            };
            tokio::spawn(drain_log(stderr, Arc::clone(&log), file));
        }
        let stdout = child.stdout.take();
        let ready = async {
            let stdout = stdout?;
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.strip_prefix(READY_PREFIX)
                    && let Some(addr) = rest
                        .split_whitespace()
                        .find_map(|kv| kv.strip_prefix("addr="))
                    && let Ok(addr) = addr.parse::<SocketAddr>()
                {
                    // Keep draining stdout so the service never blocks on a full pipe.
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    return Some(addr);
                }
            }
            None
        };
        let tail = |log: &Arc<Mutex<VecDeque<String>>>| {
            log.lock()
                .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
                .unwrap_or_default()
        };
        match tokio::time::timeout(READY_TIMEOUT, ready).await {
            Ok(Some(addr)) => {
                self.addrs.insert(service, addr);
                self.running.insert(service, Running { child, addr, log });
                Ok(())
            }
            Ok(None) => {
                let _ = child.wait().await;
                Err(StackError::Exited {
                    service,
                    log: tail(&log),
                })
            }
            Err(_) => {
                let _ = child.kill().await;
                Err(StackError::NotReady {
                    service,
                    timeout: READY_TIMEOUT,
                    log: tail(&log),
                })
            }
        }
    }

    /// `http://127.0.0.1:PORT` of a service.
    pub fn url(&self, service: Service) -> String {
        self.addrs
            .get(&service)
            .map(|a| format!("http://{a}"))
            .unwrap_or_default()
    }

    pub fn gateway_url(&self) -> String {
        self.url(Service::Gateway)
    }

    /// The OS process id of a running service.
    pub fn pid(&self, service: Service) -> Option<u32> {
        self.running.get(&service).and_then(|r| r.child.id())
    }

    /// Every running service's process id.
    pub fn pids(&self) -> Vec<u32> {
        self.running.values().filter_map(|r| r.child.id()).collect()
    }

    /// The last lines a service logged.
    pub fn log(&self, service: Service) -> String {
        self.running
            .get(&service)
            .and_then(|r| {
                r.log
                    .lock()
                    .ok()
                    .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
            })
            .unwrap_or_default()
    }

    /// Stops one service (SIGTERM, then kill), e.g. to see its callers' circuit breakers open.
    pub async fn stop(&mut self, service: Service) -> Result<(), StackError> {
        let running = self
            .running
            .remove(&service)
            .ok_or(StackError::NotRunning(service))?;
        terminate(running.child).await;
        Ok(())
    }

    /// Starts a stopped service again on the address it had.
    pub async fn restart(&mut self, service: Service) -> Result<(), StackError> {
        if self.running.contains_key(&service) {
            self.stop(service).await?;
        }
        let addr = self
            .addrs
            .get(&service)
            .copied()
            .ok_or(StackError::NotRunning(service))?;
        self.launch(service, addr).await
    }

    /// Stops every service, callers first, each flushing its spans on SIGTERM.
    pub async fn shutdown(mut self) {
        let stopping: Vec<Running> = Service::START_ORDER
            .iter()
            .rev()
            .filter_map(|s| self.running.remove(s))
            .collect();
        futures::future::join_all(stopping.into_iter().map(|r| terminate(r.child))).await;
    }

    /// The address of a service, running or not.
    pub fn addr(&self, service: Service) -> Option<SocketAddr> {
        self.running
            .get(&service)
            .map(|r| r.addr)
            .or_else(|| self.addrs.get(&service).copied())
    }
}

async fn terminate(mut child: Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) on our own child's pid with a valid signal has no memory effects.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(STOP_TIMEOUT, child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

async fn drain_log(
    stderr: tokio::process::ChildStderr,
    log: Arc<Mutex<VecDeque<String>>>,
    mut file: Option<tokio::fs::File>,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(f) = file.as_mut() {
            let _ = f.write_all(line.as_bytes()).await;
            let _ = f.write_all(b"\n").await;
        }
        if let Ok(mut log) = log.lock() {
            if log.len() == LOG_LINES {
                log.pop_front();
            }
            log.push_back(line);
        }
    }
}
