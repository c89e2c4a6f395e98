//! Harness for end-to-end tests of cdnbroker across many hosts (spec §8).
//!
//! The e2e tests themselves live in `tests/`. This library gives them:
//!
//! - [`hosts`]: test hosts, each with its own address and its own failure (a Linux network
//!   namespace per host, or distinct 127.0.k.x addresses where namespaces cannot be made);
//! - [`relay`]: a TCP relay that a test can cut and heal, for partitions in loopback mode;
//! - [`etcd`]: a real etcd cluster, one member per host, that a test can kill and restart.
//!
//! Every wait here is bounded by a deadline; every process and network object is removed
//! on drop, also when a test panics.

pub mod etcd;
pub mod hosts;
pub mod relay;

use std::io::{self, Read};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub use etcd::EtcdCluster;
pub use hosts::{Host, Hosts, Mode};
pub use relay::Relay;

/// Environment variables that would send a child's traffic to a proxy: a test may talk to
/// its own hosts only, so [`hosts::Host::command`] and the etcd helpers remove them.
pub const PROXY_ENV: [&str; 8] = [
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

/// Runs `cmd` to completion with stdout and stderr captured, killing it (SIGKILL) if it has
/// not exited within `limit`; then the error is `TimedOut` and carries what it printed.
pub fn output_within(cmd: &mut Command, limit: Duration) -> io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{cmd:?} still running after {limit:?}, killed; stdout: {} stderr: {}",
                String::from_utf8_lossy(&stdout).trim(),
                String::from_utf8_lossy(&stderr).trim()
            ),
        )),
    }
}

/// Whether `program` is an executable file on `PATH`.
pub fn installed(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Calls `f` until it succeeds, every 100 ms for at most `limit`; then its last error.
/// For what may fail for a moment, e.g. a write while etcd re-elects its leader.
pub fn retry<T>(limit: Duration, mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        match f() {
            Ok(value) => return Ok(value),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Copies the example deployment's test certificates (`examples/`: C's alert receiver,
/// G's status server, the CA that signed both, for 127.0.0.1) into `dir`.
pub fn copy_example_certs(dir: &std::path::Path) -> io::Result<()> {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for f in [
        "c-alerts.pem",
        "c-alerts.key",
        "g-status.pem",
        "g-status.key",
        "test-ca.pem",
    ] {
        std::fs::copy(examples.join(f), dir.join(f))?;
    }
    Ok(())
}
