//! Support for the end-to-end tests: find the built `parley` binary and run it, bounded.
//!
//! The test files (`tests/tests/*.rs`) are compiled as integration tests of `parley-cli`, so
//! `cargo test --workspace` (or `cargo test -p parley-cli`) builds the binary before running
//! them; this library is their dev-dependency.
//!
//! Every run gets its own process group, so that whatever `parley` starts (nats-server, the
//! sample services) can be found and, when it overruns or leaves something behind, killed:
//! a hang fails the test instead of blocking CI, and no test leaks processes into the next.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a run may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the output pipes may stay open after `parley` exited (only a descendant that
/// outlived it could hold them).
const PIPE_GRACE: Duration = Duration::from_secs(5);

/// The repository's root folder (test data and the samples' files are read from it).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `parley` binary of this build: `<target>/<profile>/parley`, next to the `deps/` folder
/// the test executable runs from (so any `CARGO_TARGET_DIR` and profile work).
///
/// Panics with what to do when it has not been built.
pub fn parley_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the path of the running test executable");
    let dir = exe
        .parent()
        .expect("the test executable lives in a directory");
    let profile_dir = if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    };
    let bin = profile_dir.join(format!("parley{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the parley binary is missing at {}: run the end-to-end tests with \
         `cargo test -p parley-cli` or `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// One invocation of `parley`, built up and then [`run`](Parley::run).
#[derive(Clone, Debug)]
pub struct Parley {
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    env_removes: Vec<OsString>,
    timeout: Duration,
    current_dir: Option<PathBuf>,
}

/// `parley ARGS…` with the inherited environment and [`DEFAULT_TIMEOUT`].
pub fn parley<I, S>(args: I) -> Parley
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    Parley {
        args: args.into_iter().map(Into::into).collect(),
        envs: Vec::new(),
        env_removes: Vec::new(),
        timeout: DEFAULT_TIMEOUT,
        current_dir: None,
    }
}

impl Parley {
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env_removes.push(key.into());
        self
    }

    /// How long the run may take before it (and its whole process group) is killed and the
    /// test fails.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// The command line, for messages.
    pub fn display(&self) -> String {
        let mut s = String::from("parley");
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    /// Runs `parley` to completion and returns what it did.
    ///
    /// Panics (failing the test) when it cannot be started or does not exit within the
    /// timeout; in that case its whole process group is killed first.
    pub fn run(self) -> Run {
        let mut command = bounded_command(parley_bin());
        command.args(&self.args);
        for key in &self.env_removes {
            command.env_remove(key);
        }
        for (key, value) in &self.envs {
            command.env(key, value);
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        execute(command, self.display(), self.timeout)
    }
}

/// A command whose output is captured and which leads a process group of its own.
fn bounded_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    command
}

/// Runs a [`bounded_command`] to completion, killing its process group when it overruns.
fn execute(mut command: Command, display: String, timeout: Duration) -> Run {
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{display}`: {e}"));
    // The child leads its own process group (`process_group(0)`), so its pid is the group id.
    let pgid = child.id();
    let stdout = Capture::start(child.stdout.take().expect("piped stdout"));
    let stderr = Capture::start(child.stderr.take().expect("piped stderr"));
    let exited = wait_in_background(child);
    let status = match exited.recv_timeout(timeout) {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            kill_group(pgid);
            panic!("waiting for `{display}` failed: {e}");
        }
        Err(_) => {
            let left = processes_in_group(pgid);
            kill_group(pgid);
            let _ = exited.recv_timeout(PIPE_GRACE);
            panic!(
                "`{display}` did not exit within {timeout:?}; killed it and its process group \
                 (which held: {left:#?})\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
                stdout.finish(PIPE_GRACE).0,
                stderr.finish(PIPE_GRACE).0,
            );
        }
    };
    let elapsed = started.elapsed();
    // `parley` waits for what it started, so whatever is still in its group outlived it:
    // record it, then clean it up.
    let left_behind = processes_in_group(pgid);
    if !left_behind.is_empty() {
        kill_group(pgid);
    }
    let (stdout, stdout_closed) = stdout.finish(PIPE_GRACE);
    let (stderr, stderr_closed) = stderr.finish(PIPE_GRACE);
    if !stdout_closed || !stderr_closed {
        kill_group(pgid);
    }
    Run {
        command: display,
        status,
        stdout,
        stderr,
        elapsed,
        left_behind,
        pipes_held_open: !stdout_closed || !stderr_closed,
    }
}

/// What a finished run of `parley` did.
#[derive(Debug)]
pub struct Run {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Live processes of the run's process group after `parley` exited (`pid: cmdline`); they
    /// have been killed since.
    pub left_behind: Vec<String>,
    /// Its stdout or stderr stayed open after it exited: a descendant kept them.
    pub pipes_held_open: bool,
}

impl Run {
    /// The exit code; `None` when a signal ended it.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Everything it printed, stdout then stderr.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The command, exit status, time and output, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}` ended with {} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.elapsed, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code, showing everything when it differs.
    #[track_caller]
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(expected),
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    /// Asserts that nothing `parley` started outlived it (in its process group or holding its
    /// output pipes).
    #[track_caller]
    pub fn assert_nothing_left_in_group(&self) -> &Self {
        assert!(
            self.left_behind.is_empty() && !self.pipes_held_open,
            "processes outlived `{}`: {:#?} (pipes held open: {})\n{}",
            self.command,
            self.left_behind,
            self.pipes_held_open,
            self.describe()
        );
        self
    }
}

/// Drains a pipe on a thread, so the child never blocks on a full pipe.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Capture {
    fn start(mut pipe: impl Read + Send + 'static) -> Capture {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let sink = Arc::clone(&buf);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&chunk[..n]),
                }
            }
            let _ = tx.send(());
        });
        Capture { buf, done }
    }

    /// What was read, once the pipe closed or `grace` passed; and whether it closed.
    fn finish(self, grace: Duration) -> (String, bool) {
        let closed = self.done.recv_timeout(grace).is_ok();
        let bytes = self.buf.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (String::from_utf8_lossy(&bytes).into_owned(), closed)
    }
}

fn wait_in_background(mut child: Child) -> mpsc::Receiver<std::io::Result<ExitStatus>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    rx
}

fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill(2) on a process group this test created, with a valid signal number; it
    // has no memory effects.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Live (not zombie) processes whose process group is `pgid`, as `pid: cmdline`.
pub fn processes_in_group(pgid: u32) -> Vec<String> {
    live_processes()
        .filter(|p| p.pgrp == Some(pgid))
        .map(|p| format!("{}: {}", p.pid, p.args.join(" ")))
        .collect()
}

/// Live (not zombie) processes with an argument that mentions `needle` (`pid: cmdline`).
///
/// An argument mentions it when it equals it, or contains it not followed by a character that
/// would make it something else (a digit after a port, a path component after a directory
/// name: `nats://127.0.0.1:4222` does not mention `nats://127.0.0.1:422`).
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let me = std::process::id();
    live_processes()
        .filter(|p| p.pid != me)
        .filter(|p| p.args.iter().any(|a| mentions(a, needle)))
        .map(|p| format!("{}: {}", p.pid, p.args.join(" ")))
        .collect()
}

fn mentions(arg: &str, needle: &str) -> bool {
    arg.match_indices(needle).any(|(at, _)| {
        arg[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '-' && c != '_' && c != '.')
    })
}

struct Process {
    pid: u32,
    pgrp: Option<u32>,
    args: Vec<String>,
}

fn live_processes() -> impl Iterator<Item = Process> {
    let entries = std::fs::read_dir("/proc")
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default();
    entries.into_iter().filter_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let dir = entry.path();
        // Processes come and go while we look: any read may fail, and then it is gone.
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
        let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
        let state = fields.next()?;
        if state == "Z" || state == "X" {
            return None;
        }
        let pgrp = fields.nth(1).and_then(|f| f.parse().ok());
        let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
        let args = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        Some(Process { pid, pgrp, args })
    })
}

/// The part of the demo's output about one scenario: the paragraph that starts with
/// `NAME → PATH STATUS`.
pub fn scenario_block<'a>(stdout: &'a str, name: &str) -> Option<&'a str> {
    let header = format!("{name} → ");
    stdout
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .find(|p| p.starts_with(&header))
}

/// The problem lines of a failed demo (`  ✗ …`), without the mark.
pub fn problems(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("✗ "))
        .collect()
}

/// The private NATS URL and the JetStream store dir `parley demo` reported on stderr
/// (`• nats-server -js on nats://127.0.0.1:PORT (store DIR)`).
pub fn demo_nats(stderr: &str) -> Option<(String, PathBuf)> {
    let line = stderr.lines().find(|l| l.contains("nats-server -js on "))?;
    let at = line.find("nats://127.0.0.1:")?;
    let rest = &line[at..];
    let port_len = rest["nats://127.0.0.1:".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    if port_len == 0 {
        return None;
    }
    let url = rest[.."nats://127.0.0.1:".len() + port_len].to_string();
    let store = line.split("(store ").nth(1)?.strip_suffix(')')?;
    Some((url, Path::new(store).to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An argument no other process has: `sleep` accepts it as a duration.
    fn unique_sleep(tag: u32) -> String {
        format!("300.{}{tag}", std::process::id())
    }

    #[test]
    fn a_hang_fails_and_its_whole_process_group_is_killed() {
        let marker = unique_sleep(1);
        let mut command = bounded_command("sh");
        command.args(["-c", &format!("sleep {marker} & sleep {marker}")]);
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            execute(command, "hang".into(), Duration::from_millis(300))
        }))
        .expect_err("a run past its timeout fails");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("did not exit within"), "{message}");
        assert!(
            message.contains(&marker),
            "names what was running: {message}"
        );
        assert_eq!(processes_mentioning(&marker), Vec::<String>::new());
    }

    #[test]
    fn what_outlives_the_command_is_reported_and_killed() {
        let marker = unique_sleep(2);
        let mut command = bounded_command("sh");
        command.args(["-c", &format!("sleep {marker} & echo started; exit 4")]);
        let run = execute(command, "leaky".into(), Duration::from_secs(10));
        assert_eq!(run.code(), Some(4));
        assert_eq!(run.stdout, "started\n");
        assert!(
            run.left_behind.len() == 1 && run.left_behind[0].contains(&marker),
            "{:?}",
            run.left_behind
        );
        assert!(!run.pipes_held_open);
        assert_eq!(processes_mentioning(&marker), Vec::<String>::new());
    }

    #[test]
    fn reads_the_nats_url_and_store_from_the_demo_output() {
        let stderr = "• nats-server -js on nats://127.0.0.1:36937 (store /tmp/parley-nats-vBTSKV)\n\
                      • OTLP receiver on grpc http://127.0.0.1:1 and http http://127.0.0.1:2\n";
        let (url, store) = demo_nats(stderr).expect("found");
        assert_eq!(url, "nats://127.0.0.1:36937");
        assert_eq!(store, Path::new("/tmp/parley-nats-vBTSKV"));
        assert_eq!(demo_nats("error: nothing"), None);
    }

    #[test]
    fn a_mention_is_not_a_prefix_of_something_longer() {
        assert!(mentions("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"));
        assert!(mentions(
            "--url=nats://127.0.0.1:4222/",
            "nats://127.0.0.1:4222"
        ));
        assert!(!mentions("nats://127.0.0.1:42221", "nats://127.0.0.1:4222"));
        assert!(mentions(
            "/tmp/parley-nats-ab/jetstream",
            "/tmp/parley-nats-ab"
        ));
        assert!(!mentions("/tmp/parley-nats-abc", "/tmp/parley-nats-ab"));
    }

    #[test]
    fn splits_the_demo_output_into_scenarios_and_problems() {
        let stdout = "\nsync order → /api/orders 502\n\nsaga compensation → /api/orders/saga 201\n  \
                      compensations, in order: cancel\n\n1 problem(s):\n  ✗ saga compensation: x\n";
        assert_eq!(
            scenario_block(stdout, "saga compensation"),
            Some("saga compensation → /api/orders/saga 201\n  compensations, in order: cancel")
        );
        assert_eq!(
            scenario_block(stdout, "sync order"),
            Some("sync order → /api/orders 502")
        );
        assert_eq!(scenario_block(stdout, "async order"), None);
        assert_eq!(problems(stdout), vec!["saga compensation: x"]);
    }
}
