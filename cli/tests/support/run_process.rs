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
        let mut child = Command::new(env!("CARGO_BIN_EXE_cdnbroker"))
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

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
