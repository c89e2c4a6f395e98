//! Many hosts, one plan (spec §8), over real processes: a 3-member etcd cluster (one
//! member per test host: network namespaces, or 127.0.k.x addresses where namespaces
//! cannot be made), two control replicas, a DNS engine and a front proxy, each a
//! `cdnbroker run` process. Asserted with dig and the control API:
//! - one replica leads; the engine, which only registered as a member, is driven by it;
//! - a write on the follower is refused (`ERR 1:1 not the leader; leader at ...`, API 307);
//! - kill -9 of the leader: the follower leads within `lease_s` + 1 s, with the state the
//!   old leader wrote (its journal), and no DNS query goes unanswered meanwhile;
//! - a leader paused (SIGSTOP) past its lease and resumed: the other replica leads, and
//!   the engine keeps the new leader's tables (the old epoch is refused);
//! - the proxy follows the published plan (its member entry serves the leader's
//!   generation).

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/run_process.rs"]
mod run_process;

use broker_tests::etcd::EtcdCluster;
use broker_tests::hosts::Hosts;
use run_process::Running as Process;

/// Logs the cluster's decisions, warnings of the rest.
const LOG: &str = "warn,broker_cluster=info,broker_control=info";

const LEASE_S: u64 = 2;
const TOKEN: &str = "cluster-test-token";
/// Bound on any wait for a process or a state (each is reached within seconds).
const LIMIT: Duration = Duration::from_secs(30);

/// A control replica: its process and ports.
struct Replica {
    process: Process,
    api: SocketAddr,
    management: SocketAddr,
    config: PathBuf,
}

impl Replica {
    fn start(config: PathBuf) -> Self {
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

    fn role(&self) -> Option<String> {
        let body = curl(&["-s", &format!("http://{}/api/cluster", self.api)])?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["role"].as_str().map(str::to_owned)
    }
}

fn curl(args: &[&str]) -> Option<String> {
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
fn manage(addr: SocketAddr, events: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("management connects");
    s.set_read_timeout(Some(LIMIT)).expect("timeout");
    write!(s, "AUTH {TOKEN}\n{events}\nEND\n").expect("write");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.trim().to_owned()
}

/// `dig +short` of img.xyz.com at the engine; `None` when it did not answer.
fn dig(dns: SocketAddr) -> Option<String> {
    let out = Command::new("dig")
        .args([
            &format!("@{}", dns.ip()),
            "-p",
            &dns.port().to_string(),
            "img.xyz.com",
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
fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return start.elapsed();
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {limit:?}");
}

const VIA_C: &str = "192.0.2.10";
const VIA_G: &str = "img.xyz.com.cdn-g.example.";

fn write_world(dir: &Path, etcd: &[String]) -> [PathBuf; 4] {
    fs::write(
        dir.join("regions.txt"),
        "ADD REG FRANCE { 198.54.234.0, 23; }!\n",
    )
    .unwrap();
    fs::write(
        dir.join("cdn.txt"),
        "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; DEFAULT:50; ]!\n\
         ADD CDN G:100000 {C:.cdn-g.example} [ FRANCE:60; DEFAULT:60; ]!\n",
    )
    .unwrap();
    fs::write(dir.join("customer.txt"), "ADD CST img.xyz.com [ G; ]!\n").unwrap();
    let endpoints: Vec<String> = etcd.iter().map(|e| format!("\"{e}\"")).collect();
    let cluster = format!(
        "[cluster]\netcd = [{}]\nprefix = \"/cdnbroker/test{}\"\nlease_s = {LEASE_S}\n",
        endpoints.join(", "),
        std::process::id()
    );
    let customer = "[[partner]]\nname = \"G\"\nform = \"embedded\"\nhost = \"foo.cdn-g.example\"\n\
                    [[customer]]\nname = \"xyz\"\nsite = [\"www.xyz.com\"]\noffload = [\"img.xyz.com\"]\n\
                    dns = [\"img.xyz.com\"]\norigin = { \"www.xyz.com\" = \"http://127.0.0.1:9\" }\n";
    let control = |name: &str| {
        let path = dir.join(format!("{name}.toml"));
        fs::write(
            &path,
            format!(
                "[node]\nname = \"C\"\n[control]\nregions = \"regions.txt\"\ncdns = \"cdn.txt\"\n\
                 customers = \"customer.txt\"\nengines = []\nmanagement = \"127.0.0.1:0\"\n\
                 api = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n{customer}{cluster}"
            ),
        )
        .unwrap();
        path
    };
    let a = control("control-a");
    let b = control("control-b");
    let dns = dir.join("dns.toml");
    fs::write(
        &dns,
        format!(
            "[node]\nname = \"C\"\n[dns]\nlisten = [\"127.0.0.1:0\"]\ncontrol = \"127.0.0.1:0\"\n\
             ns = [\"ns1.cdn-c.example\"]\nttl = 1\n{cluster}"
        ),
    )
    .unwrap();
    let proxy = dir.join("proxy.toml");
    fs::write(
        &proxy,
        format!("[node]\nname = \"C\"\n[proxy]\nlisten = \"127.0.0.1:0\"\n{customer}{cluster}"),
    )
    .unwrap();
    [a, b, dns, proxy]
}

/// Counts dig queries the engine left unanswered while running.
struct QueryLoop {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<()>>,
}

impl QueryLoop {
    fn start(dns: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, lost) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (s, se, lo) = (Arc::clone(&stop), Arc::clone(&sent), Arc::clone(&lost));
        let thread = thread::spawn(move || {
            // Bounded: at most LIMIT of queries, however long the test takes.
            let start = Instant::now();
            while !s.load(Ordering::Relaxed) && start.elapsed() < LIMIT * 4 {
                se.fetch_add(1, Ordering::Relaxed);
                if dig(dns).is_none_or(|a| a.is_empty()) {
                    lo.fetch_add(1, Ordering::Relaxed);
                }
                thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            stop,
            sent,
            lost,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (usize, usize) {
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

fn leader_of<'a>(replicas: &'a [&'a Replica]) -> Option<&'a Replica> {
    let leaders: Vec<&Replica> = replicas
        .iter()
        .copied()
        .filter(|r| r.role().as_deref() == Some("leader"))
        .collect();
    (leaders.len() == 1).then(|| leaders[0])
}

#[test]
fn replicas_fail_over_fence_and_keep_the_state() {
    assert!(
        broker_tests::installed("etcd") && broker_tests::installed("dig"),
        "etcd and dig are needed: run scripts/setup"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let hosts = Hosts::new(3).expect("test hosts");
    let etcd = EtcdCluster::start(&hosts, dir.path()).expect("a 3-member etcd cluster");
    let [a_toml, b_toml, dns_toml, proxy_toml] = write_world(dir.path(), &etcd.endpoints());

    let mut engine = Process::start(&dns_toml, LOG);
    let dns = engine.addr("dns");
    let a = Replica::start(a_toml);
    let b = Replica::start(b_toml);
    let lead_limit = Duration::from_secs(LEASE_S + 1);

    wait_for("one leader", LIMIT, || leader_of(&[&a, &b]).is_some());
    // The engine registered itself; the leader drives it to G-only tables.
    wait_for("the engine on the leader's plan", LIMIT, || {
        dig(dns).as_deref() == Some(VIA_G)
    });
    let (leader, follower) = if a.role().as_deref() == Some("leader") {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let refused = manage(follower.management, "ADD CST img.xyz.com [ C; ]!");
    assert!(
        refused.starts_with("ERR 1:1 not the leader; leader at "),
        "{refused}"
    );
    assert!(
        refused.ends_with(&leader.management.to_string()),
        "{refused}"
    );
    let redirect = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        "-X",
        "POST",
        "--data",
        "ADD CST img.xyz.com [ C; ]!",
        &format!("http://{}/api/events", follower.api),
    ])
    .expect("curl answers");
    assert_eq!(
        redirect,
        format!("307 http://{}/api/events", leader.api),
        "the follower's API redirects writes"
    );

    // A write on the leader: stored, then acted on.
    let ok = manage(leader.management, "ADD CST img.xyz.com [ C; ]!");
    assert!(ok.starts_with("OK"), "{ok}");
    wait_for("the engine on C", LIMIT, || {
        dig(dns).as_deref() == Some(VIA_C)
    });

    // The proxy follows the published plan.
    let mut proxy = Process::start(&proxy_toml, LOG);
    let _ = proxy.addr("proxy");
    wait_for("the proxy serving the leader's generation", LIMIT, || {
        let Some(body) = curl(&["-s", &format!("http://{}/api/members", leader.api)]) else {
            return false;
        };
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let members = v["members"].as_array().cloned().unwrap_or_default();
        let gen_of = |role: &str| {
            members
                .iter()
                .find(|m| m["role"] == role)
                .and_then(|m| m["generation"].as_u64())
        };
        gen_of("proxy").is_some_and(|g| g > 0) && gen_of("dns").is_some()
    });

    // kill -9 the leader: the follower takes over within lease + 1 s, from the journal.
    let queries = QueryLoop::start(dns);
    let (killed_config, survivor) = if std::ptr::eq(leader, &a) {
        a.process.signal("-KILL");
        (a.config.clone(), &b)
    } else {
        b.process.signal("-KILL");
        (b.config.clone(), &a)
    };
    let took = wait_for("the follower leading", LIMIT, || {
        survivor.role().as_deref() == Some("leader")
    });
    assert!(took <= lead_limit, "failover took {took:?}");
    assert_eq!(dig(dns).as_deref(), Some(VIA_C), "the state survived");
    let ok = manage(survivor.management, "ADD CST img.xyz.com [ G; ]!");
    assert!(ok.starts_with("OK"), "{ok}");
    wait_for("the engine on G", LIMIT, || {
        dig(dns).as_deref() == Some(VIA_G)
    });
    let (sent, lost) = queries.finish();
    assert!(sent > 10, "the query loop ran ({sent})");
    assert_eq!(
        lost, 0,
        "{lost} of {sent} queries unanswered during the failover"
    );
    eprintln!("failover after kill -9: {took:?}; {sent} queries, none lost");

    // The killed replica comes back as a follower; then the leader is paused past its
    // lease: the other one leads, and the resumed one changes nothing.
    let restarted = Replica::start(killed_config);
    wait_for("the restarted replica following", LIMIT, || {
        restarted.role().as_deref() == Some("follower")
    });
    survivor.process.signal("-STOP");
    let took = wait_for("the restarted replica leading", LIMIT, || {
        restarted.role().as_deref() == Some("leader")
    });
    assert!(took <= lead_limit, "takeover after a pause took {took:?}");
    let ok = manage(restarted.management, "ADD CST img.xyz.com [ C; ]!");
    assert!(ok.starts_with("OK"), "{ok}");
    wait_for("the engine on C again", LIMIT, || {
        dig(dns).as_deref() == Some(VIA_C)
    });
    survivor.process.signal("-CONT");
    wait_for("the resumed replica following", LIMIT, || {
        survivor.role().as_deref() == Some("follower")
    });
    // For two leases after its resumption, the engine keeps the new leader's tables.
    let until = Instant::now() + Duration::from_secs(2 * LEASE_S);
    while Instant::now() < until {
        assert_eq!(
            dig(dns).as_deref(),
            Some(VIA_C),
            "a fenced leader changed the engine"
        );
        thread::sleep(Duration::from_millis(100));
    }
    drop(engine);
}
