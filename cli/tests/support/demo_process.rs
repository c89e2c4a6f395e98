//! `cdnbroker demo` as a child process for tests: started on a free port range, its
//! stdout read line by line, its stderr collected, killed when dropped (a failing
//! assertion leaves nothing behind).

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::demo_ports;

/// Start-up in a debug build draws every picture first: allow for a slow machine.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// A running demo that has printed `demo ready`.
pub(crate) struct DemoProcess {
    pub(crate) child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// What it printed before `demo ready`.
    pub(crate) banner: Vec<String>,
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DemoProcess {
    /// Runs `command(base)` for free port bases until one is ready; a base taken meanwhile
    /// by someone else (the demo exits at once, "in use") means another try. `command`
    /// may prepare things for its base and give them back with the command.
    pub(crate) fn start<T>(mut command: impl FnMut(u16) -> (Command, T)) -> (Self, T) {
        for base in demo_ports::free_bases() {
            let (command, extra) = command(base);
            if let Some(demo) = Self::try_start(command) {
                return (demo, extra);
            }
        }
        panic!("could not start the demo on a free port range");
    }

    fn try_start(mut command: Command) -> Option<Self> {
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Both pipes are drained by threads, so the demo never blocks on them.
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut demo = Self {
            child,
            lines,
            stderr,
            banner: Vec::new(),
        };
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            match demo.next_line(deadline) {
                Some(line) if line == "demo ready" => return Some(demo),
                Some(line) => demo.banner.push(line),
                None => {
                    let _ = demo.child.kill();
                    let _ = demo.child.wait();
                    let err = demo.stderr();
                    if err.contains("in use") {
                        return None; // someone took a port of the range: try another
                    }
                    panic!(
                        "demo not ready; stdout:\n{}\nstderr:\n{err}",
                        demo.banner.join("\n")
                    );
                }
            }
        }
    }

    /// The next stdout line, or `None` when the demo closed stdout or `deadline` passed.
    pub(crate) fn next_line(&self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.lines.recv_timeout(left).ok()
    }

    /// What it wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}
