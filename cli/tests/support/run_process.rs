//! `cdnbroker run --config FILE` as a child process for tests: its stdout read line by
//! line (each role prints `ROLE ADDR` once bound), killed when dropped.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::Duration;

/// Bound on waiting for a line of the process (it prints within a second when healthy).
const START_LIMIT: Duration = Duration::from_secs(120);

/// A `cdnbroker run` process, killed when dropped.
pub(crate) struct Running {
    pub(crate) child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Starts `cdnbroker run --config config` with `RUST_LOG` = `log`.
    pub(crate) fn start(config: &Path, log: &str) -> Self {
        Self::start_with(Command::new(env!("CARGO_BIN_EXE_cdnbroker")), config, log)
    }

    /// [`Self::start`] through `program`, a command that runs the binary (e.g. on a test
    /// host: `ip netns exec NAME cdnbroker`).
    pub(crate) fn start_with(mut program: Command, config: &Path, log: &str) -> Self {
        let mut child = program
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The address printed on the `ROLE ADDR` line, waiting for it.
    pub(crate) fn addr(&mut self, role: &str) -> SocketAddr {
        let prefix = format!("{role} ");
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.starts_with(&prefix)) {
                return line[prefix.len()..].parse().expect("an address");
            }
            match self.lines.recv_timeout(START_LIMIT) {
                Ok(line) => self.seen.push(line),
                Err(e) => {
                    let status = self.child.try_wait();
                    panic!(
                        "no `{role}` line ({e}); printed {:?}; {status:?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// The program's path, for [`Self::start_with`].
    #[allow(dead_code, reason = "not every test binary starts processes on hosts")]
    pub(crate) fn binary() -> &'static str {
        env!("CARGO_BIN_EXE_cdnbroker")
    }

    /// Sends `sig` (`-KILL`, `-STOP`, `-CONT`...) with kill(1).
    #[allow(dead_code, reason = "not every test binary signals its processes")]
    pub(crate) fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill {sig}");
    }
}

impl Running {
    /// Sends `sig` and waits (bounded) for the process to end; false if it did not.
    #[allow(dead_code, reason = "not every test binary stops its processes")]
    pub(crate) fn stop(&mut self, sig: &str, limit: Duration) -> bool {
        self.signal(sig);
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
