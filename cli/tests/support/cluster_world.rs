//! What the multi-host tests (spec §8) share: control replicas as processes, the
//! management port and the API through curl, dig, a query loop that counts unanswered
//! queries, and bounded waits.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::run_process::Running as Process;

/// Logs the cluster's decisions, warnings of the rest.
pub(crate) const LOG: &str = "warn,broker_cluster=info,broker_control=info";
pub(crate) const TOKEN: &str = "cluster-test-token";
/// Bound on any wait for a process or a state (each is reached within seconds).
pub(crate) const LIMIT: Duration = Duration::from_secs(30);

/// A control replica: its process and ports.
pub(crate) struct Replica {
    pub(crate) process: Process,
    pub(crate) api: SocketAddr,
    pub(crate) management: SocketAddr,
    pub(crate) config: PathBuf,
}

impl Replica {
    pub(crate) fn start(config: PathBuf) -> Self {
        let mut process = Process::start(&config, LOG);
        let api = process.addr("control-api");
        let management = process.addr("management");
        Self {
            process,
            api,
            management,
            config,
        }
    }

    /// `leader`, `follower` (or `alone`), as its API says; `None` when it does not answer.
    pub(crate) fn role(&self) -> Option<String> {
        let v = self.get("/api/cluster")?;
        v["role"].as_str().map(str::to_owned)
    }

    /// `GET path` on its API, as JSON.
    pub(crate) fn get(&self, path: &str) -> Option<serde_json::Value> {
        let body = curl(&["-s", &format!("http://{}{path}", self.api)])?;
        serde_json::from_str(&body).ok()
    }
}

/// curl with the API token; its stdout when it succeeded.
pub(crate) fn curl(args: &[&str]) -> Option<String> {
    let out = Command::new("curl")
        .args(["--max-time", "2", "-H"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A §3 batch on the management port; the answer line.
pub(crate) fn manage(addr: SocketAddr, events: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("management connects");
    s.set_read_timeout(Some(LIMIT)).expect("timeout");
    write!(s, "AUTH {TOKEN}\n{events}\nEND\n").expect("write");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.trim().to_owned()
}

/// `dig +short` of `name` at the engine; `None` when it did not answer.
pub(crate) fn dig(dns: SocketAddr, name: &str) -> Option<String> {
    let out = Command::new("dig")
        .args([
            &format!("@{}", dns.ip()),
            "-p",
            &dns.port().to_string(),
            name,
            "A",
            "+short",
            "+time=1",
            "+tries=1",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.contains("timed out")).then_some(text)
}

/// Waits until `f` holds, within `limit`; panics with `what` otherwise.
pub(crate) fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return start.elapsed();
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {limit:?}");
}

/// The one replica that says it leads, if exactly one does.
pub(crate) fn leader_of<'a>(replicas: &[&'a Replica]) -> Option<&'a Replica> {
    let leaders: Vec<&Replica> = replicas
        .iter()
        .copied()
        .filter(|r| r.role().as_deref() == Some("leader"))
        .collect();
    (leaders.len() == 1).then(|| leaders[0])
}

/// Counts dig queries the engines left unanswered while running.
pub(crate) struct QueryLoop {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<()>>,
}

impl QueryLoop {
    /// Asks each engine of `engines` for `name` in turn, every 20 ms.
    pub(crate) fn start(engines: Vec<SocketAddr>, name: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, lost) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (s, se, lo) = (Arc::clone(&stop), Arc::clone(&sent), Arc::clone(&lost));
        let thread = thread::spawn(move || {
            // Bounded: at most LIMIT × 4 of queries, however long the test takes.
            let start = Instant::now();
            'outer: while start.elapsed() < LIMIT * 4 {
                for &dns in &engines {
                    if s.load(Ordering::Relaxed) {
                        break 'outer;
                    }
                    se.fetch_add(1, Ordering::Relaxed);
                    if dig(dns, name).is_none_or(|a| a.is_empty()) {
                        lo.fetch_add(1, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Self {
            stop,
            sent,
            lost,
            thread: Some(thread),
        }
    }

    /// Stops the loop: (queries sent, queries unanswered).
    pub(crate) fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        (
            self.sent.load(Ordering::Relaxed),
            self.lost.load(Ordering::Relaxed),
        )
    }
}
